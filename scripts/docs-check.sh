#!/usr/bin/env bash
# make docs-check: loads GET /docs in headless Chromium (Debian's; installed when missing)
# with no network but loopback, and checks that the page renders every route of
# /openapi.json and logs no console error. DOCS_SCREENSHOT=path.png keeps a screenshot.
set -euo pipefail
source "$(dirname "$0")/serve-temp.sh"

if ! command -v chromium >/dev/null 2>&1; then
  echo "docs-check: installing chromium (Debian package)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

start_server
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking
  --disable-component-update --disable-sync --no-first-run --disable-extensions
  --user-data-dir="$TMP/chromium" --enable-logging=stderr --v=0)
timeout 60 chromium "${flags[@]}" --dump-dom "$BASE/docs" >"$TMP/dom.html" 2>"$TMP/chromium.log" || {
  cat "$TMP/chromium.log" >&2; echo "docs-check: chromium failed" >&2; exit 1; }
if [ -n "${DOCS_SCREENSHOT:-}" ]; then
  timeout 60 chromium "${flags[@]}" --window-size=1280,2400 --screenshot="$DOCS_SCREENSHOT" \
    "$BASE/docs" >/dev/null 2>&1 || true
fi

curl -sf "$BASE/openapi.json" >"$TMP/openapi.json"
failures=0
routes=$(python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
for path, item in doc["paths"].items():
    for method in item:
        print(method.upper(), path)
' "$TMP/openapi.json")
count=0
while read -r method path; do
  count=$((count + 1))
  if ! grep -qF "$method</span> <code class=\"path\">$path</code>" "$TMP/dom.html"; then
    echo "docs-check: $method $path is not on the rendered page" >&2
    failures=$((failures + 1))
  fi
done <<<"$routes"
grep -q "<h1>auth-server API reference</h1>" "$TMP/dom.html" || { echo "docs-check: no title" >&2; failures=$((failures + 1)); }
if grep -E "CONSOLE|Refused to|Uncaught|ERR_" "$TMP/chromium.log" >&2; then
  echo "docs-check: the browser logged errors (above)" >&2
  failures=$((failures + 1))
fi
if [ "$failures" -ne 0 ]; then exit 1; fi
echo "docs-check: /docs renders all $count operations, no console errors"
