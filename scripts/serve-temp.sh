# Sourced by the scripts here: starts target/debug/auth-server on a throw-away SQLite file
# on a free loopback port (BASE, SERVER_PID, TMP), and stops it on exit.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d)
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap stop_server EXIT

start_server() {
  # AUTH_SERVER_BIN: an already built binary to use instead of building one.
  local bin=${AUTH_SERVER_BIN:-}
  if [ -z "$bin" ]; then
    (cd "$ROOT" && cargo build --bin auth-server >&2)
    bin="$ROOT/target/debug/auth-server"
  fi
  DATABASE_URL="${SERVE_DATABASE_URL:-sqlite://$TMP/auth.db}" \
    JWT_SECRET="temp-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    BCRYPT_COST=4 HOST=127.0.0.1 PORT=0 RUST_LOG="${RUST_LOG:-warn}" \
    "$bin" serve >"$TMP/server.out" 2>"$TMP/server.err" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    grep -q "listening on" "$TMP/server.out" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.err" >&2; exit 1; }
    sleep 0.1
  done
  BASE=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$TMP/server.out" | head -n 1)
  [ -n "$BASE" ] || { echo "the server did not start" >&2; cat "$TMP/server.err" >&2; exit 1; }
}
