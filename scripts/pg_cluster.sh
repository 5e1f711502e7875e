#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for tests, on loopback only.
#
#   eval "$(scripts/pg_cluster.sh start)"   # sets CD_PG_DIR and CD_PG_URL
#   scripts/pg_cluster.sh stop "$CD_PG_DIR"
#
# start: initdb into a new temp dir (trust auth, for 127.0.0.1 and the
# dir's own socket only), pg_ctl on a free loopback port, and prints the
# two exports. CD_PG_URL names the server's "postgres" database; tests
# create a database of their own on it. initdb refuses to run as root, so
# as root the cluster runs as the "postgres" user (Debian's package makes
# it). stop: pg_ctl stop (fast) and removes the dir. CD_PG_OPTS adds
# server options (e.g. "-c max_pred_locks_per_transaction=1024" for
# bench/nodes.mjs; docs/SCALING.md).
set -euo pipefail

BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start() {
  local dir port
  [ -x "$BIN/initdb" ] || { echo "pg_cluster: no $BIN/initdb (apt-get install postgresql)" >&2; exit 1; }
  dir=$(mktemp -d /tmp/creditd-pg.XXXXXX)
  chmod 700 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  as_owner "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 trust
HBA
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/data/pg_hba.conf"
  port=$(free_port)
  # fsync off: a throw-away cluster; a crash of the machine loses it anyway.
  as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200 ${CD_PG_OPTS:-}" \
    start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  echo "export CD_PG_DIR=$dir"
  echo "export CD_PG_URL=postgres://postgres@127.0.0.1:$port/postgres"
}

stop() {
  local dir=${1:-${CD_PG_DIR:-}}
  [ -n "$dir" ] && [ -d "$dir/data" ] || { echo "pg_cluster: no cluster dir" >&2; exit 1; }
  as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
