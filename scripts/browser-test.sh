#!/usr/bin/env bash
# make browser-test: passkeys in a real browser. Headless Chromium (Debian's; installed when
# missing) driven by playwright-core (tests/browser, `npm ci` when missing) with a CDP virtual
# authenticator registers a passkey on a page served on http://localhost:<port> and logs in
# with it without a password, against the server built here (WEBAUTHN_RP_ID=localhost, the
# page's origin in WEBAUTHN_ORIGINS and CORS_ALLOWED_ORIGINS).
set -euo pipefail
source "$(dirname "$0")/serve-temp.sh"
started=$(date +%s)

if ! command -v chromium >/dev/null 2>&1; then
  echo "browser-test: installing chromium (Debian package)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "browser-test: installing node and npm (Debian packages)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
BROWSER_DIR="$ROOT/tests/browser"
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
  (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi

PAGE_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export WEBAUTHN_RP_ID=localhost
export WEBAUTHN_ORIGINS="http://localhost:$PAGE_PORT"
export CORS_ALLOWED_ORIGINS="http://localhost:$PAGE_PORT"
start_server

API_BASE="$BASE" PAGE_PORT="$PAGE_PORT" CHROMIUM="$(command -v chromium)" \
  timeout 120 node "$BROWSER_DIR/passkeys.mjs" || {
    echo "browser-test: failed; the server's log:" >&2; tail -n 40 "$TMP/server.err" >&2; exit 1; }
echo "browser-test: took $(( $(date +%s) - started ))s in all"
