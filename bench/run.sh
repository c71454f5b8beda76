#!/usr/bin/env bash
# make bench: the release server on SQLite and on PostgreSQL, driven by wrk on loopback.
# Prints one parseable line per figure (`bench <db> <figure> key=value…`) and writes
# bench/RESULTS.md. Every load run is bounded (BENCH_DURATION, 10s by default).
#
# Environment: BENCH_DURATION (10s), BENCH_USERS (200), BENCH_BACKENDS ("sqlite postgres"),
# TEST_DATABASE_URL (an admin URL of the PostgreSQL server, allowed to create databases),
# BENCH_RESULTS (bench/RESULTS.md), BENCH_BIN (use this binary instead of building one),
# BENCH_QUICK=1 (only GET /health and GET /, cache off then on: no login, create, refresh or
# isolation figure).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export BENCH_DIR="$ROOT/bench"
DURATION=${BENCH_DURATION:-10s}
USERS=${BENCH_USERS:-200}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
PG_ADMIN=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
RESULTS=${BENCH_RESULTS:-bench/RESULTS.md}
THREADS=2
LOGIN_USERS=16
SECRET="bench-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# Required with PostgreSQL (it encrypts TOTP secrets): 32 random bytes, base64.
DATA_KEY="$(head -c 32 /dev/urandom | base64)"

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  fi
fi
for tool in curl psql; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool is needed" >&2; exit 1; }
done

if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$BENCH_BIN   # a binary built elsewhere (smoke-testing this script)
else
  echo "bench: building the release binary" >&2
  cargo build --release --bin auth-server >&2
  BIN="$ROOT/target/release/auth-server"
fi

WORK=$(mktemp -d)
SERVER_PID=""
PG_DB=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$PG_DB" ]; then psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

LINES="$WORK/lines.txt"
: >"$LINES"
emit() { echo "$*" | tee -a "$LINES"; }

# start_server URL COST LOG [SESSION_CACHE_SIZE]: starts the binary on a free port; sets
# SERVER_PID and BASE. The cache size defaults to the server's own default.
start_server() {
  local url=$1 cost=$2 log=$3 cache=${4:-}
  # Every bench client is 127.0.0.1: with the default LOGIN_MAX_FAILURES (5) the login
  # throttle lets at most 4 logins of that one address be in flight and queues the rest
  # (before that queue existed it answered them 429). A threshold out of reach keeps the
  # figures about bcrypt and the server, not about one address's queue; the throttle still
  # runs its queries.
  env DATABASE_URL="$url" JWT_SECRET="$SECRET" DATA_ENCRYPTION_KEY="$DATA_KEY" \
    BCRYPT_COST="$cost" HOST=127.0.0.1 PORT=0 \
    LOGIN_MAX_FAILURES=1000 RUST_LOG=warn ${cache:+SESSION_CACHE_SIZE=$cache} \
    "$BIN" serve >"$log.out" 2>"$log.err" &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    if grep -q "listening on" "$log.out" 2>/dev/null; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log.err" >&2; exit 1; }
    sleep 0.1
  done
  BASE=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$log.out" | head -n 1)
  [ -n "$BASE" ] || { echo "bench: the server did not start" >&2; cat "$log.err" >&2; exit 1; }
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status"; }

post() { curl -s -o "${3:-/dev/null}" -w '%{http_code}' -X POST "$BASE$1" -H 'Content-Type: application/json' -d "$2"; }

# wrk_run THREADS NAME CONNECTIONS SCRIPT PATH [ARGS…]: prints the WRK summary line of one run.
wrk_run() {
  local threads=$1 name=$2 connections=$3 script=$4 path=$5
  shift 5
  wrk -t"$threads" -c"$connections" -d"$DURATION" --timeout 10s -s "bench/$script" "$BASE$path" -- "$@" \
    >"$WORK/$name.wrk" 2>&1 || true
  grep '^WRK ' "$WORK/$name.wrk" || { cat "$WORK/$name.wrk" >&2; echo "WRK requests=0 duration_us=1 non2xx=0 socket_errors=0 p50_us=0 p99_us=0"; }
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
rps() { awk -v r="$(field "$1" requests)" -v n="$(field "$1" non2xx)" -v d="$(field "$1" duration_us)" 'BEGIN { printf "%.1f", (r - n) / (d / 1e6) }'; }
ms() { awk -v us="$(field "$1" "$2")" 'BEGIN { printf "%.2f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
figure() { # figure DB NAME SUMMARY: the standard line of one wrk run
  emit "bench $1 $2 rps=$(rps "$3") p50_ms=$(ms "$3" p50_us) p99_ms=$(ms "$3" p99_us) requests=$(field "$3" requests) non2xx=$(field "$3" non2xx) socket_errors=$(field "$3" socket_errors)"
}

bench_backend() {
  local db=$1 url
  case "$db" in
    sqlite) mkdir -p "$WORK/sqlite"; url="sqlite://$WORK/sqlite/auth.db" ;;
    postgres)
      PG_DB="auth_bench_$$_$RANDOM"
      psql "$PG_ADMIN" -qc "CREATE DATABASE $PG_DB" >/dev/null
      url="${PG_ADMIN%/*}/$PG_DB"
      ;;
  esac

  # Set-up at bcrypt cost 4 (cheap): USERS users, two sessions each — access tokens for
  # GET /, refresh tokens for /refresh-access. Tokens stay valid across the restart below
  # (same database, same key).
  echo "bench: $db: creating $USERS users and their sessions" >&2
  start_server "$url" 4 "$WORK/$db-setup"
  seq 1 "$USERS" | xargs -P 8 -I{} sh -c "curl -s -o /dev/null -X POST '$BASE/create' -H 'Content-Type: application/json' -d '{\"email\":\"user{}@bench.example\",\"password\":\"benchpassword{}\"}'"
  for set in access refresh; do
    mkdir -p "$WORK/$db-$set"
    seq 1 "$USERS" | xargs -P 8 -I{} sh -c "curl -s -o '$WORK/$db-$set/{}.json' -X POST '$BASE/login' -H 'Content-Type: application/json' -d '{\"email\":\"user{}@bench.example\",\"password\":\"benchpassword{}\"}'"
    for f in "$WORK/$db-$set"/*.json; do
      grep -o "\"${set}_token\":\"[^\"]*\"" "$f" | cut -d'"' -f4
    done >"$WORK/$db-$set.txt"
  done
  stop_server
  [ "$(wc -l <"$WORK/$db-access.txt")" -eq "$USERS" ] && [ "$(wc -l <"$WORK/$db-refresh.txt")" -eq "$USERS" ] \
    || { echo "bench: set-up logins failed" >&2; exit 1; }

  # First the session cache off (SESSION_CACHE_SIZE=0: every GET / reads the database), for
  # comparison.
  start_server "$url" 12 "$WORK/$db-nocache" 0
  echo "bench: $db: measuring, session cache off ($DURATION per figure)" >&2
  local health_off home_off
  health_off=$(wrk_run "$THREADS" "$db-health-off" 64 health.lua /health)
  figure "$db" get_health_cache_off "$health_off"
  home_off=$(wrk_run "$THREADS" "$db-home-off" 64 home.lua / "$WORK/$db-access.txt")
  figure "$db" get_home_cache_off "$home_off"
  emit "bench $db ratio_home_vs_health_cache_off=$(ratio "$(rps "$home_off")" "$(rps "$health_off")")"
  stop_server

  # The measured server: default configuration (bcrypt cost 12, pool 10, one worker per core,
  # session cache of 10000).
  start_server "$url" 12 "$WORK/$db"
  echo "bench: $db: measuring ($DURATION per figure)" >&2
  : >"$WORK/$db-login-users.txt"
  for i in $(seq 1 "$LOGIN_USERS"); do
    echo "login$i@bench.example loginpassword$i" >>"$WORK/$db-login-users.txt"
  done
  # Login users hashed at the configured cost (what /login then verifies).
  seq 1 "$LOGIN_USERS" | xargs -P 2 -I{} sh -c "curl -s -o /dev/null -X POST '$BASE/create' -H 'Content-Type: application/json' -d '{\"email\":\"login{}@bench.example\",\"password\":\"loginpassword{}\"}'"

  local health home login create refresh alone flooded
  health=$(wrk_run "$THREADS" "$db-health" 64 health.lua /health)
  figure "$db" get_health "$health"
  home=$(wrk_run "$THREADS" "$db-home" 64 home.lua / "$WORK/$db-access.txt")
  figure "$db" get_home "$home"
  emit "bench $db ratio_home_vs_health=$(ratio "$(rps "$home")" "$(rps "$health")") target=0.7"
  emit "bench $db session_cache $(curl -s "$BASE/metrics" | grep '^session_cache_' | tr ' ' '=' | tr '\n' ' ')"
  if [ "${BENCH_QUICK:-0}" = 1 ]; then
    stop_server
    if [ "$db" = postgres ]; then
      psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
      PG_DB=""
    fi
    return
  fi

  login=$(wrk_run "$THREADS" "$db-login" 16 login.lua /login "$WORK/$db-login-users.txt")
  figure "$db" post_login "$login"
  local cost_ms ceiling
  cost_ms=$(BCRYPT_COST=12 "$BIN" bcrypt-time --rounds 8 | sed -n 's/.*ms_per_hash=\([0-9.]*\).*/\1/p')
  ceiling=$(awk -v c="$(nproc)" -v ms="$cost_ms" 'BEGIN { printf "%.1f", c * 1000 / ms }')
  emit "bench $db bcrypt_ceiling rps=$ceiling ms_per_hash=$cost_ms cost=12 cores=$(nproc)"
  emit "bench $db ratio_login_vs_ceiling=$(ratio "$(rps "$login")" "$ceiling") target=0.9"

  create=$(wrk_run "$THREADS" "$db-create" 16 create.lua /create "$db$$")
  figure "$db" post_create "$create"
  refresh=$(wrk_run "$THREADS" "$db-refresh" 64 refresh.lua /refresh-access "$WORK/$db-refresh.txt" "$THREADS")
  figure "$db" post_refresh "$refresh"

  # Isolation: GET / at a modest concurrency (8), alone, then under a /login flood at 64.
  alone=$(wrk_run 1 "$db-alone" 8 home.lua / "$WORK/$db-access.txt")
  figure "$db" isolation_get_home_alone "$alone"
  local flood_pid
  ( wrk_run 1 "$db-flood" 64 login.lua /login "$WORK/$db-login-users.txt" >"$WORK/$db-flood.line" ) &
  flood_pid=$!
  sleep 1
  flooded=$(wrk_run 1 "$db-flooded" 8 home.lua / "$WORK/$db-access.txt")
  wait "$flood_pid"
  figure "$db" isolation_get_home_under_login_flood "$flooded"
  figure "$db" isolation_login_flood "$(cat "$WORK/$db-flood.line")"
  emit "bench $db isolation_p99_ratio=$(ratio "$(ms "$flooded" p99_us)" "$(ms "$alone" p99_us)") target=2"

  local rss
  rss=$(peak_rss_kib)
  emit "bench $db peak_rss_mib=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') target=40"
  stop_server
  if [ "$db" = postgres ]; then
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
    PG_DB=""
  fi
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for db in $BACKENDS; do
  bench_backend "$db"
done

# ---- bench/RESULTS.md -----------------------------------------------------------------------
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
pg_version=$(psql "$PG_ADMIN" -Atqc 'SHOW server_version' 2>/dev/null || echo unknown)
{
  echo "# Benchmark results"
  echo
  echo "Generated by \`make bench\` (\`bash bench/run.sh\`) on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  echo "| machine | |"
  echo "|---|---|"
  echo "| cores (nproc) | $(nproc) |"
  echo "| memory | $mem |"
  echo "| CPU | $cpu |"
  echo "| PostgreSQL | $pg_version (same machine) |"
  echo "| load average before / after the run | $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) |"
  echo "| load generator | $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2), $THREADS threads, on the same machine |"
  echo "| commit | $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)') |"
  echo
  echo "Each figure is one wrk run of $DURATION on loopback against \`target/release/auth-server\`"
  echo "with its default configuration (bcrypt cost 12, pool of 10 connections, one worker per"
  echo "core, session cache of 10000; the \"cache off\" rows: a server of the same configuration"
  echo "with SESSION_CACHE_SIZE=0, run just before); users and sessions are created beforehand. \`GET /\` uses the tokens of $USERS users,"
  echo "each request picking one at random. \`rps\` counts 2xx answers only."
  echo
  echo "| figure | sqlite | postgres | target |"
  echo "|---|---|---|---|"
  row() { # row LABEL KEY [TARGET]
    local s p
    s=$(grep "^bench sqlite $2" "$LINES" | head -n 1 | cut -d' ' -f3- || true)
    p=$(grep "^bench postgres $2" "$LINES" | head -n 1 | cut -d' ' -f3- || true)
    echo "| $1 | ${s:-–} | ${p:-–} | ${3:-} |"
  }
  row "GET /health, c=64, session cache off" "get_health_cache_off "
  row "GET / (200 users), c=64, session cache off" "get_home_cache_off "
  row "GET / ÷ GET /health (rps), session cache off" "ratio_home_vs_health_cache_off"
  row "GET /health, c=64" "get_health "
  row "GET / (200 users), c=64" "get_home "
  row "GET / ÷ GET /health (rps)" "ratio_home_vs_health=" "≥ 0.7 on both"
  row "session cache after the runs" "session_cache "
  row "POST /login, c=16" "post_login "
  row "bcrypt ceiling (cores ÷ one hash)" "bcrypt_ceiling "
  row "login ÷ ceiling" "ratio_login_vs_ceiling" "≥ 0.9"
  row "POST /create (unique users), c=16" "post_create "
  row "POST /refresh-access, c=64" "post_refresh "
  row "isolation: GET /, c=8, alone" "isolation_get_home_alone "
  row "isolation: GET /, c=8, during a /login flood at c=64" "isolation_get_home_under_login_flood "
  row "isolation: the /login flood itself" "isolation_login_flood "
  row "isolation: p99 under flood ÷ p99 alone" "isolation_p99_ratio" "≤ 2"
  row "server peak RSS (VmHWM)" "peak_rss_mib" "< 40 MiB"
  echo
  echo "## Raw lines"
  echo
  echo '```'
  cat "$LINES"
  echo '```'
  echo
  echo "## Reproduce"
  echo
  echo '```sh'
  echo "make bench    # = bash bench/run.sh; needs PostgreSQL at TEST_DATABASE_URL (default $PG_ADMIN)"
  echo "BENCH_BACKENDS=postgres BENCH_DURATION=10s bash bench/run.sh   # one backend"
  echo '```'
} >"$RESULTS.tmp"
if [ -f bench/NOTES.md ]; then
  { echo; cat bench/NOTES.md; } >>"$RESULTS.tmp"
fi
# make bench-scale's section (bench/scale.sh) is kept as it was.
if [ -f "$RESULTS" ] && grep -q '^<!-- scale' "$RESULTS"; then
  { echo; sed -n '/^<!-- scale/,/^<!-- \/scale -->/p' "$RESULTS"; } >>"$RESULTS.tmp"
fi
mv "$RESULTS.tmp" "$RESULTS"
echo "bench: wrote $RESULTS" >&2
