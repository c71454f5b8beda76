#!/usr/bin/env bash
# make bench: the release server on SQLite and on PostgreSQL, driven by wrk on loopback.
# Prints one parseable line per figure (`bench <db> <figure> key=value…`) and writes
# bench/RESULTS.md. Every load run is bounded (BENCH_DURATION, 10s by default).
#
# Environment: BENCH_DURATION (10s), BENCH_USERS (200), BENCH_BACKENDS ("sqlite postgres"),
# TEST_DATABASE_URL (an admin URL of the PostgreSQL server, allowed to create databases),
# BENCH_RESULTS (bench/RESULTS.md), BENCH_BIN (use this binary instead of building one),
# BENCH_FILL (9900: users filling the caches for the peak-memory figure), BENCH_QUICK=1 (only
# GET /health and GET /, cache off then on: no login, create, refresh, isolation or memory
# figure), BENCH_INSTRUCTIONS=0 (no callgrind run: no instructions per request).
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

# Debian packages: wrk (the load) and valgrind (callgrind: the instructions per request).
for package in wrk valgrind; do
  if ! command -v "$package" >/dev/null 2>&1; then
    echo "bench: installing $package (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
    fi
  fi
done
for tool in curl psql python3; do
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
# SERVER_PID and BASE. The cache size defaults to the server's own default. With WRAP set
# (a command and its arguments), the binary runs under it (valgrind: see instructions()).
WRAP=()
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
    "${WRAP[@]}" "$BIN" serve >"$log.out" 2>"$log.err" &
  SERVER_PID=$!
  for _ in $(seq 1 900); do
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

# ---- instructions per request (callgrind) ----------------------------------------------------
# The figure that a noisy machine does not move: the server runs under callgrind; for each
# figure its counters are zeroed, exactly N requests are sent one after another on one
# connection (bench/requests.py), and the counters dumped. The instructions the idle server
# spends meanwhile (its session-cache watcher, timers; measured alone over 2 s) are taken off
# at their rate over the run's duration. Counted: every thread of the server, user space only
# (not the kernel's socket work). Valgrind's CPU has no SHA extensions, so the SHA-256 of the
# verified-token cache (a few hundred instructions with SHA-NI) counts about 30,000 here.
cg_dump() { # cg_dump NAME: dumps the counters; prints the instructions since the last zeroing
  local before file
  before=$(find "$WORK" -maxdepth 1 -name 'callgrind.out.*' | wc -l)
  HOST=127.0.0.1 callgrind_control "--vgdb-prefix=$WORK/vgdb" "--dump=$1" "$SERVER_PID" >/dev/null
  file="$WORK/callgrind.out.$((before + 1))"   # dumps are numbered from 1
  for _ in $(seq 1 100); do grep -q '^totals' "$file" 2>/dev/null && break; sleep 0.1; done
  sed -n 's/^summary: *//p' "$file"
}
instructions() { # instructions DB NAME N METHOD PATH [requests.py options…]
  local db=$1 name=$2 n=$3 method=$4 path=$5 t0 t1 ir
  shift 5
  HOST=127.0.0.1 callgrind_control "--vgdb-prefix=$WORK/vgdb" -z "$SERVER_PID" >/dev/null
  t0=$(date +%s.%N)
  python3 bench/requests.py "$BASE" "$method" "$path" "$n" "$@" \
    || { echo "bench: $db: $name under callgrind failed" >&2; return 0; }
  t1=$(date +%s.%N)
  ir=$(cg_dump "$name")
  emit "bench $db instructions_$name per_request=$(awk -v ir="$ir" -v idle="$IDLE_RATE" -v a="$t0" -v b="$t1" -v n="$n" \
    'BEGIN { printf "%.0f", (ir - idle * (b - a)) / n }') requests=$n total=$ir seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
}
measure_instructions() { # measure_instructions DB URL: the server (default configuration) under callgrind
  local db=$1 url=$2
  echo "bench: $db: instructions per request (callgrind; a few minutes)" >&2
  # vgdb (which callgrind_control talks through) names its files after $HOST, which the
  # server's environment sets to its listening address: the controls say the same.
  WRAP=(valgrind --tool=callgrind "--vgdb-prefix=$WORK/vgdb" "--callgrind-out-file=$WORK/callgrind.out")
  rm -f "$WORK"/callgrind.out*
  start_server "$url" 12 "$WORK/$db-callgrind"
  WRAP=()
  # Warm: the caches hold every token and session of the run.
  python3 bench/requests.py "$BASE" GET / 400 --token-file "$WORK/$db-access.txt" >/dev/null
  python3 bench/requests.py "$BASE" GET /health 200 >/dev/null
  HOST=127.0.0.1 callgrind_control "--vgdb-prefix=$WORK/vgdb" -z "$SERVER_PID" >/dev/null
  local t0 t1 ir
  t0=$(date +%s.%N); sleep 2; t1=$(date +%s.%N)
  ir=$(cg_dump idle)
  IDLE_RATE=$(awk -v ir="$ir" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", ir / (b - a) }')
  emit "bench $db instructions_idle per_second=$IDLE_RATE"
  instructions "$db" get_health 2000 GET /health
  instructions "$db" get_home 2000 GET / --token-file "$WORK/$db-access.txt"
  if [ "${QUICK_INSTRUCTIONS:-0}" = 1 ]; then stop_server; return; fi
  instructions "$db" post_refresh 50 POST /refresh-access --token-file "$WORK/$db-cg-refresh.txt" --refresh-key refresh_token
  instructions "$db" post_login 2 POST /login --body-file "$WORK/$db-cg-login.json"
  instructions "$db" post_create 2 POST /create --body-file "$WORK/$db-cg-create.json"
  stop_server
}

# Peak memory with both caches full at their default size (SESSION_CACHE_SIZE, 10000; the
# verified-token cache has the same capacity): BENCH_FILL users (9900: just under the size, at
# which a cache starts over empty) each log in once, then GET / with all their tokens, at
# random, until every one has been seen (about 30 times each). bcrypt at cost 4: the figure is
# about the caches.
measure_full_caches() { # measure_full_caches DB URL
  local db=$1 url=$2 n=${BENCH_FILL:-9900} entries
  echo "bench: $db: filling the caches ($n users, sessions and tokens)" >&2
  start_server "$url" 4 "$WORK/$db-fill"
  if ! python3 bench/fill.py "$BASE" "$n" "$WORK/$db-fill.txt" "fill$$-"; then
    echo "bench: $db: filling the caches failed" >&2
    stop_server
    return 0
  fi
  wrk_run "$THREADS" "$db-fill-home" 64 home.lua / "$WORK/$db-fill.txt" >/dev/null
  entries=$(curl -s "$BASE/metrics" | sed -n 's/^session_cache_entries //p')
  emit "bench $db peak_rss_full_caches_mib=$(awk -v k="$(peak_rss_kib)" 'BEGIN { printf "%.1f", k / 1024 }') session_cache_entries=$entries tokens=$n target=40"
  stop_server
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

  # The measured server: default configuration (bcrypt cost 12, pool 4 on SQLite and 10 on PostgreSQL, one worker per core,
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
    if [ "${BENCH_INSTRUCTIONS:-1}" = 1 ]; then
      QUICK_INSTRUCTIONS=1 measure_instructions "$db" "$url"
    fi
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
  # For callgrind: fresh refresh tokens (wrk's were rotated), login and create bodies.
  : >"$WORK/$db-cg-refresh.txt"
  for i in 1 2 3 4 5; do
    post /login "{\"email\":\"login$i@bench.example\",\"password\":\"loginpassword$i\"}" "$WORK/cg-login.out" >/dev/null
    grep -o '"refresh_token":"[^"]*"' "$WORK/cg-login.out" | cut -d'"' -f4 >>"$WORK/$db-cg-refresh.txt"
  done
  stop_server
  for i in 6 7; do echo "{\"email\":\"login$i@bench.example\",\"password\":\"loginpassword$i\"}"; done >"$WORK/$db-cg-login.json"
  for i in 1 2; do echo "{\"email\":\"callgrind$i-$$@bench.example\",\"password\":\"callgrindpassword$i\"}"; done >"$WORK/$db-cg-create.json"
  measure_full_caches "$db" "$url"
  if [ "${BENCH_INSTRUCTIONS:-1}" = 1 ]; then
    measure_instructions "$db" "$url"
  fi
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
  echo "with its default configuration (bcrypt cost 12, pool of 4 connections on SQLite and 10 on PostgreSQL, one worker per"
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
  row "instructions per request (callgrind): GET /health" "instructions_get_health "
  row "instructions per request (callgrind): GET /" "instructions_get_home "
  row "instructions per request (callgrind): POST /refresh-access" "instructions_post_refresh "
  row "instructions per request (callgrind): POST /login (bcrypt cost 12)" "instructions_post_login "
  row "instructions per request (callgrind): POST /create (bcrypt cost 12)" "instructions_post_create "
  row "instructions of the idle server, per second" "instructions_idle "
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
  row "server peak RSS, both caches full (VmHWM)" "peak_rss_full_caches_mib" "< 40 MiB"
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
