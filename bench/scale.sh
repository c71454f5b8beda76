#!/usr/bin/env bash
# make bench-scale: how cost grows with the data. Two PostgreSQL databases generated in SQL
# (generate_series: seconds, not hours) — SCALE_USERS users (default 1,000,000) with 3 sessions
# and 5 audit events per user, and a 1,000-user one shaped alike — then, against each, the
# same figures: login, refresh and GET / (p50/p99), the first and the deepest page of
# GET /users (the deepest reached through `after`), a prefix search, a user's audit page (first
# and deepest), and `auth-server prune` of the expired sessions (two thirds of them) with GET /
# p99 measured while it runs; plus the index sizes of users and sessions. Results go into
# bench/RESULTS.md, between the "scale" markers (make bench keeps that section).
#
# Environment: SCALE_USERS (1000000), SCALE_SMALL (1000), BENCH_DURATION (5s per figure),
# TEST_DATABASE_URL (admin URL), BENCH_BIN (a prebuilt binary), BENCH_RESULTS (bench/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export BENCH_DIR="$ROOT/bench"
DURATION=${BENCH_DURATION:-5s}
BIG=${SCALE_USERS:-1000000}
SMALL=${SCALE_SMALL:-1000}
PG_ADMIN=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
RESULTS=${BENCH_RESULTS:-bench/RESULTS.md}
SECRET="bench-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
DATA_KEY="$(head -c 32 /dev/urandom | base64)"
PASSWORD="scalepassword1"
ADMIN_EMAIL="root@scale.example"
ADMIN_PASSWORD="scale admin password 1"
# Per-request figures are about the data, not bcrypt: every hash at cost 4.
COST=4

for tool in wrk curl psql; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench-scale: $tool is needed (see bench/run.sh)" >&2; exit 1; }
done
if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$BENCH_BIN
else
  echo "bench-scale: building the release binary" >&2
  cargo build --release --bin auth-server >&2
  BIN="$ROOT/target/release/auth-server"
fi

WORK=$(mktemp -d)
SERVER_PID=""
DBS=()
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  for db in "${DBS[@]}"; do
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

LINES="$WORK/lines.txt"
: >"$LINES"
emit() { echo "$*" | tee -a "$LINES"; }

start_server() { # start_server URL LOG
  env DATABASE_URL="$1" JWT_SECRET="$SECRET" DATA_ENCRYPTION_KEY="$DATA_KEY" BCRYPT_COST=$COST HOST=127.0.0.1 PORT=0 \
    LOGIN_MAX_FAILURES=1000 PRUNE_INTERVAL=0 RUST_LOG=warn "$BIN" serve >"$2.out" 2>"$2.err" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    if grep -q "listening on" "$2.out" 2>/dev/null; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$2.err" >&2; exit 1; }
    sleep 0.1
  done
  BASE=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$2.out" | head -n 1)
  [ -n "$BASE" ] || { echo "bench-scale: the server did not start" >&2; cat "$2.err" >&2; exit 1; }
}
stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

wrk_run() { # wrk_run NAME CONNECTIONS SCRIPT PATH [ARGS…]
  local name=$1 connections=$2 script=$3 path=$4
  shift 4
  wrk -t2 -c"$connections" -d"$DURATION" --timeout 10s -s "bench/$script" "$BASE$path" -- "$@" \
    >"$WORK/$name.wrk" 2>&1 || true
  grep '^WRK ' "$WORK/$name.wrk" || { cat "$WORK/$name.wrk" >&2; echo "WRK requests=0 duration_us=1 non2xx=0 socket_errors=0 p50_us=0 p99_us=0"; }
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ms() { awk -v us="$(field "$1" "$2")" 'BEGIN { printf "%.2f", us / 1000 }'; }
rps() { awk -v r="$(field "$1" requests)" -v n="$(field "$1" non2xx)" -v d="$(field "$1" duration_us)" 'BEGIN { printf "%.1f", (r - n) / (d / 1e6) }'; }
figure() { # figure SIZE NAME SUMMARY
  emit "scale $1 $2 p50_ms=$(ms "$3" p50_us) p99_ms=$(ms "$3" p99_us) rps=$(rps "$3") requests=$(field "$3" requests) non2xx=$(field "$3" non2xx)"
}
token_of() { grep -o "\"$1\":\"[^\"]*\"" "$2" | cut -d'"' -f4; }

generate() { # generate URL USERS: the data, in SQL
  local url=$1 n=$2 hash
  hash=$(psql "$url" -Atqc "SELECT password_hash FROM users WHERE email = 'seed@scale.example'")
  psql "$url" -q -v ON_ERROR_STOP=1 -v n="$n" -v hash="$hash" <<'SQL'
-- Users: registration one second apart, the seed user's password hash (cost 4).
INSERT INTO users (id, email, username, username_key, role, is_active, is_verified, is_staff,
                   is_superuser, password_hash, date_joined)
SELECT md5('u' || i)::uuid, 'user' || i || '@scale.example', 'user' || i, 'user' || i,
       'user', TRUE, FALSE, FALSE, FALSE, :'hash', TIMESTAMP '2020-01-01' + i * INTERVAL '1 second'
FROM generate_series(1, :n) AS i;
-- Bulk rows need no trigger or foreign-key check (the counter is kept by the users insert).
SET session_replication_role = replica;
-- Sessions: two expired per user (distinct expiries in the past), one live.
INSERT INTO sessions (id, user_id, refresh_jti, created_at, last_used_at, expires_at)
SELECT md5('s' || i)::uuid, md5('u' || (1 + i % :n))::uuid, md5('j' || i)::uuid,
       TIMESTAMP '2021-01-01' + i * INTERVAL '1 second', TIMESTAMP '2021-01-01' + i * INTERVAL '1 second',
       CASE WHEN i <= 2 * :n THEN TIMESTAMP '2022-01-01' + i * INTERVAL '1 second'
            ELSE (now() AT TIME ZONE 'UTC') + INTERVAL '20 days' + i * INTERVAL '1 millisecond' END
FROM generate_series(1, 3 * :n) AS i;
-- Audit: five events per user, and 10,000 more about user 42 (the audit page measured).
INSERT INTO audit_events (id, at, event, user_id, client_addr)
SELECT md5('a' || i)::uuid, TIMESTAMP '2022-01-01' + i * INTERVAL '1 second',
       'login_succeeded', md5('u' || CASE WHEN i > 5 * :n THEN 42 ELSE 1 + i % :n END)::uuid,
       '127.0.0.1'
FROM generate_series(1, 5 * :n + 10000) AS i;
SET session_replication_role = origin;
ANALYZE;
SQL
}

index_bytes() { # index_bytes URL: the size of each index of users and sessions
  psql "$1" -Atqc "SELECT string_agg(indexrelname || '=' || pg_relation_size(indexrelid), ' ' ORDER BY indexrelname) FROM pg_stat_user_indexes WHERE relname IN ('users', 'sessions')"
}

table_bytes() { # table_bytes URL: users and sessions, their tables and all their indexes
  psql "$1" -Atqc "SELECT 'users=' || pg_table_size('users') || ' sessions=' || pg_table_size('sessions') || ' users_indexes=' || pg_indexes_size('users') || ' sessions_indexes=' || pg_indexes_size('sessions')"
}

measure() { # measure SIZE USERS
  local size=$1 n=$2 db url
  db="auth_scale_$$_$size"
  DBS+=("$db")
  psql "$PG_ADMIN" -qc "CREATE DATABASE $db" >/dev/null
  url="${PG_ADMIN%/*}/$db"
  env DATABASE_URL="$url" JWT_SECRET="$SECRET" DATA_ENCRYPTION_KEY="$DATA_KEY" RUST_LOG=warn "$BIN" migrate >/dev/null
  env DATABASE_URL="$url" JWT_SECRET="$SECRET" DATA_ENCRYPTION_KEY="$DATA_KEY" BCRYPT_COST=$COST RUST_LOG=warn \
    AUTH_SUPERUSER_PASSWORD="$ADMIN_PASSWORD" "$BIN" create-superuser --email "$ADMIN_EMAIL" >/dev/null
  start_server "$url" "$WORK/$size-seed"
  curl -s -o /dev/null -X POST "$BASE/create" -H 'Content-Type: application/json' \
    -d "{\"email\":\"seed@scale.example\",\"password\":\"$PASSWORD\"}"
  stop_server
  echo "bench-scale: $size: generating $n users, $((3 * n)) sessions, $((5 * n + 10000)) audit events" >&2
  local t0 t1
  t0=$(date +%s.%N)
  generate "$url" "$n"
  t1=$(date +%s.%N)
  emit "scale $size generated users=$n sessions=$((3 * n)) audit_events=$((5 * n + 10000)) seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
  # Native uuid ids (migration 000150, applied by `migrate` above): taken back to text and
  # forward again, which rebuilds every index each time, so that both sizes are of freshly
  # built indexes, side by side; and how long the migration of existing rows takes.
  local native="$ROOT/migrations/postgres/2026-12-01-000150_native_uuid_ids"
  psql "$url" -q -v ON_ERROR_STOP=1 -f "$native/down.sql"
  emit "scale $size text_ids index_bytes $(index_bytes "$url")"
  emit "scale $size text_ids table_bytes $(table_bytes "$url")"
  t0=$(date +%s.%N)
  psql "$url" -q -v ON_ERROR_STOP=1 -f "$native/up.sql"
  t1=$(date +%s.%N)
  emit "scale $size uuid_migration seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
  # Steady state, as autovacuum leaves a table: the visibility map set (index-only scans), the
  # statistics fresh; otherwise autovacuum runs on the new rows during the measurements.
  psql "$url" -q -c "VACUUM (ANALYZE)"
  emit "scale $size index_bytes $(index_bytes "$url")"
  emit "scale $size table_bytes $(table_bytes "$url")"

  start_server "$url" "$WORK/$size"
  local admin
  admin=$(curl -s -X POST "$BASE/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | grep -o '"access_token":"[^"]*"' | cut -d'"' -f4)
  [ -n "$admin" ] || { echo "bench-scale: admin login failed" >&2; exit 1; }
  : >"$WORK/$size-users.txt"
  for i in $(seq 1 16); do echo "user$(( (i * 37) % n + 1 ))@scale.example $PASSWORD" >>"$WORK/$size-users.txt"; done
  for set in access refresh; do
    : >"$WORK/$size-$set.txt"
    for i in $(seq 1 50); do
      curl -s -o "$WORK/login.json" -X POST "$BASE/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"user$(( (i * 13) % n + 1 ))@scale.example\",\"password\":\"$PASSWORD\"}"
      token_of "${set}_token" "$WORK/login.json" >>"$WORK/$size-$set.txt"
    done
  done

  echo "bench-scale: $size: measuring ($DURATION per figure)" >&2
  figure "$size" post_login "$(wrk_run "$size-login" 8 login.lua /login "$WORK/$size-users.txt")"
  figure "$size" post_refresh "$(wrk_run "$size-refresh" 16 refresh.lua /refresh-access "$WORK/$size-refresh.txt" 2)"
  local home
  home=$(wrk_run "$size-home" 16 home.lua / "$WORK/$size-access.txt")
  figure "$size" get_home "$home"
  figure "$size" users_first_page "$(wrk_run "$size-first" 2 get_as.lua /users "$admin" "/users?limit=20")"
  # The deepest page: the cursor of the page before the last, found once by offset.
  local total deep_cursor offset_page
  total=$(curl -s "$BASE/users?limit=1" -H "Authorization: Bearer $admin" | grep -o '"total":[0-9]*' | cut -d: -f2)
  offset_page=$(curl -s -o "$WORK/offset.json" -w '%{time_total}' "$BASE/users?limit=20&offset=$((total - 40))" -H "Authorization: Bearer $admin")
  deep_cursor=$(token_of next "$WORK/offset.json")
  emit "scale $size users_deepest_page_by_offset_once seconds=$offset_page offset=$((total - 40))"
  figure "$size" users_deepest_page_by_after "$(wrk_run "$size-deep" 2 get_as.lua /users "$admin" "/users?limit=20&after=$deep_cursor")"
  figure "$size" users_prefix_search_selective "$(wrk_run "$size-q1" 2 get_as.lua /users "$admin" "/users?limit=20&q=USER42")"
  figure "$size" users_prefix_search_broad "$(wrk_run "$size-q2" 2 get_as.lua /users "$admin" "/users?limit=20&q=user1")"
  local heavy audit_cursor
  heavy=$(psql "$url" -Atqc "SELECT md5('u42')::uuid::text")
  figure "$size" audit_first_page "$(wrk_run "$size-audit" 2 get_as.lua /users "$admin" "/users/$heavy/audit?limit=20")"
  curl -s -o "$WORK/audit.json" "$BASE/users/$heavy/audit?limit=20&offset=9960" -H "Authorization: Bearer $admin"
  audit_cursor=$(token_of next "$WORK/audit.json")
  figure "$size" audit_deepest_page_by_after "$(wrk_run "$size-audit-deep" 2 get_as.lua /users "$admin" "/users/$heavy/audit?limit=20&after=$audit_cursor")"

  # prune (another process) of the expired sessions, GET / measured while it runs.
  local before_prune prune_pid p0 p1 during
  p0=$(date +%s.%N)
  env DATABASE_URL="$url" JWT_SECRET="$SECRET" DATA_ENCRYPTION_KEY="$DATA_KEY" RUST_LOG=warn "$BIN" prune >"$WORK/$size-prune.out" 2>&1 &
  prune_pid=$!
  during=$(wrk_run "$size-home-prune" 16 home.lua / "$WORK/$size-access.txt")
  wait "$prune_pid"
  p1=$(date +%s.%N)
  figure "$size" get_home_during_prune "$during"
  emit "scale $size prune seconds=$(awk -v a="$p0" -v b="$p1" 'BEGIN { printf "%.1f", b - a }') output=\"$(tr '\n' ' ' <"$WORK/$size-prune.out" | sed 's/ *$//')\""
  emit "scale $size get_home_p99_prune_vs_idle=$(awk -v a="$(ms "$during" p99_us)" -v b="$(ms "$home" p99_us)" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }') target=2"
  stop_server
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
measure small "$SMALL"
measure big "$BIG"

# ---- the "scale" section of bench/RESULTS.md ------------------------------------------------
value() { grep "^scale $1 $2 " "$LINES" | head -n 1 | tr ' ' '\n' | sed -n "s/^$3=//p"; }
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
{
  echo "<!-- scale: written by make bench-scale (bench/scale.sh); make bench keeps it -->"
  echo "## Scale: $SMALL vs $BIG users (\`make bench-scale\`)"
  echo
  echo "Run on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($cpu), PostgreSQL"
  echo "$(psql "$PG_ADMIN" -Atqc 'SHOW server_version') on the same machine, load average before / after"
  echo "$LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo "Data generated in SQL: per user 3 sessions (2 expired) and 5 audit events, and 10,000 more"
  echo "events about one user (the audit page). bcrypt cost $COST (the figures are about the data);"
  echo "wrk, $DURATION per figure, c=16 for login/refresh/GET / (c=8 login), c=2 for the administration pages."
  echo
  echo "| figure (ms) | $SMALL users p50 / p99 | $BIG users p50 / p99 | big ÷ small (p50) |"
  echo "|---|---|---|---|"
  for key in post_login post_refresh get_home users_first_page users_deepest_page_by_after \
             users_prefix_search_selective users_prefix_search_broad audit_first_page \
             audit_deepest_page_by_after get_home_during_prune; do
    s50=$(value small "$key" p50_ms); s99=$(value small "$key" p99_ms)
    b50=$(value big "$key" p50_ms); b99=$(value big "$key" p99_ms)
    echo "| $key | $s50 / $s99 | $b50 / $b99 | $(awk -v a="$b50" -v b="$s50" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }') |"
  done
  echo
  echo "Deepest page by offset, once: $(value small users_deepest_page_by_offset_once seconds) s / $(value big users_deepest_page_by_offset_once seconds) s."
  echo "Prune of the expired sessions: $(value small prune seconds) s / $(value big prune seconds) s;"
  echo "GET / p99 during it ÷ idle: $(grep '^scale small get_home_p99_prune_vs_idle' "$LINES" | sed 's/.*=\([0-9.a-z/]*\) target.*/\1/') / $(grep '^scale big get_home_p99_prune_vs_idle' "$LINES" | sed 's/.*=\([0-9.a-z/]*\) target.*/\1/') (target ≤ 2)."
  echo
  echo "Ids as text → as native \`uuid\` (migration 000150), $BIG users, each index freshly rebuilt;"
  echo "the migration of the existing rows took $(value big uuid_migration seconds) s:"
  echo
  echo "| index, table (without its indexes), all indexes of a table | text (MB) | uuid (MB) | uuid ÷ text |"
  echo "|---|---|---|---|"
  for index in users_pkey users_date_joined_id_idx sessions_pkey sessions_user_id_idx \
               users sessions users_indexes sessions_indexes; do
    t=$(grep "^scale big text_ids [a-z]*_bytes " "$LINES" | tr ' ' '\n' | sed -n "s/^$index=//p")
    u=$(grep "^scale big [a-z]*_bytes " "$LINES" | tr ' ' '\n' | sed -n "s/^$index=//p")
    echo "| $index | $(awk -v x="$t" 'BEGIN { printf "%.1f", x / 1e6 }') | $(awk -v x="$u" 'BEGIN { printf "%.1f", x / 1e6 }') | $(awk -v a="$u" -v b="$t" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }') |"
  done
  echo
  echo '```'
  cat "$LINES"
  echo '```'
  echo "<!-- /scale -->"
} >"$WORK/scale.md"
if [ -f "$RESULTS" ] && grep -q '^<!-- scale' "$RESULTS"; then
  awk -v f="$WORK/scale.md" '
    /^<!-- scale/ { while ((getline line < f) > 0) print line; skip = 1; next }
    /^<!-- \/scale -->/ { skip = 0; next }
    !skip { print }' "$RESULTS" >"$RESULTS.tmp"
  mv "$RESULTS.tmp" "$RESULTS"
else
  { [ -f "$RESULTS" ] && cat "$RESULTS" && echo; cat "$WORK/scale.md"; } >"$RESULTS.tmp"
  mv "$RESULTS.tmp" "$RESULTS"
fi
echo "bench-scale: wrote the scale section of $RESULTS" >&2
