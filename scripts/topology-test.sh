#!/usr/bin/env bash
# make topology-test: PostgreSQL primary + synchronous standby + PgBouncer (transaction
# pooling) in a temporary folder, two auth-server instances under load, a failover mid-load.
# Everything it starts is stopped and its folder removed, also on failure (examples/topology).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  echo "topology-test: installing pgbouncer (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
  fi
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${PG_BIN:-}" ]; then
  echo "topology-test: no PostgreSQL server binaries (apt-get install postgresql, or set PG_BIN)" >&2
  exit 1
fi

CARGO=${CARGO:-cargo}
$CARGO build --bin auth-server --example topology
start=$(date +%s)
./target/debug/examples/topology
echo "topology-test: took $(( $(date +%s) - start ))s"
