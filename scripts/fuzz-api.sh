#!/usr/bin/env bash
# make fuzz-api: schemathesis (PyPI; installed when missing) against /openapi.json of a running
# server on a throw-away SQLite file. Fails on any 5xx or any response contradicting the
# document. FUZZ_MAX_EXAMPLES (default 50) bounds the examples per operation.
set -euo pipefail
source "$(dirname "$0")/serve-temp.sh"

if ! command -v schemathesis >/dev/null 2>&1; then
  echo "fuzz-api: installing schemathesis" >&2
  python3 -m pip install -q schemathesis >&2
fi

start_server
# An administrator's token, so that the protected and the administration operations are
# exercised past the middleware and the role check.
ADMIN_PASSWORD="fuzz-admin-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
DATABASE_URL="sqlite://$TMP/auth.db" JWT_SECRET="fuzz-api-create-superuser-0123456789" \
  AUTH_SUPERUSER_PASSWORD="$ADMIN_PASSWORD" RUST_LOG=warn \
  "${AUTH_SERVER_BIN:-$ROOT/target/debug/auth-server}" create-superuser --email fuzz@example.com >/dev/null
token=$(curl -sf -X POST "$BASE/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"fuzz@example.com\",\"password\":\"$ADMIN_PASSWORD\"}" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
[ -n "$token" ] || { echo "fuzz-api: could not log in as the administrator" >&2; exit 1; }

# Checks: every response-conformance check, plus rejection of schema-invalid data, 405 for
# undocumented methods and 401 without credentials. positive_data_acceptance is left out: a
# schema-valid login with random credentials is rightly a 401, a second registration of one
# email a 409.
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,unsupported_method,ignored_auth,missing_required_header
# The operations that end sessions (/logout, /logout-all, DELETE /sessions/{id}) would revoke
# the token the others use: they run afterwards, in a second run.
set +e
schemathesis run "$BASE/openapi.json" \
  --checks "$checks" \
  --max-examples "${FUZZ_MAX_EXAMPLES:-50}" \
  --request-timeout 10 \
  --exclude-path /logout --exclude-path /logout-all --exclude-path '/sessions/{id}' \
  -H "Authorization: Bearer $token" \
  --no-color "$@" | tee "$TMP/fuzz.log"
status=${PIPESTATUS[0]}
schemathesis run "$BASE/openapi.json" \
  --checks "$checks" \
  --max-examples "${FUZZ_MAX_EXAMPLES:-50}" \
  --request-timeout 10 \
  --include-path /logout --include-path /logout-all --include-path '/sessions/{id}' \
  -H "Authorization: Bearer $token" \
  --no-color "$@" | tee -a "$TMP/fuzz.log"
status_logout=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ] || [ "$status_logout" -ne 0 ]; then
  echo "fuzz-api: schemathesis found problems (above)" >&2
  exit 1
fi
echo "fuzz-api: no 5xx, no response contradicting the schema"
