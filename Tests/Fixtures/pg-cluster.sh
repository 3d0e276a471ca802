#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, owned by whoever starts it.
#   pg-cluster.sh start DIR [--port N] [--max-connections N] [--password P]
#       initdb into DIR (as the postgres user when run as root), start on a free
#       loopback port, create role "preflight" (LOGIN, password P) owning database
#       "preflight". Prints KEY=VALUE lines (PGPORT, PGHOST, PG_URL, PG_ADMIN_URL)
#       and writes them to DIR/env.
#   pg-cluster.sh standby PRIMARY_DIR DIR [--port N]
#       a hot standby of the cluster in PRIMARY_DIR (pg_basebackup -R over its socket, as
#       the postgres user, whom initdb's "local replication all trust" line lets in), started
#       on its own port and data dir; prints and writes the same KEY=VALUE lines
#   pg-cluster.sh stop DIR     stop that cluster (pg_ctl -D DIR/data stop), nothing else
#   pg-cluster.sh free-port    print a free loopback TCP port
set -euo pipefail
# Close descriptors inherited from the caller (Swift's Process passes its pipes on): a postmaster
# holding the caller's stdout pipe would keep it from ever seeing end-of-file.
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done; true

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$bindir" ] || { echo "pg-cluster.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

as_owner() {  # run a command as the cluster owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}; shift || true
case "$cmd" in
  free-port) free_port ;;
  start)
    dir=${1:?DIR}; shift
    port=; maxconn=100; password=preflight-test-pw
    while [ $# -gt 0 ]; do
      case $1 in
        --port) port=$2; shift ;;
        --max-connections) maxconn=$2; shift ;;
        --password) password=$2; shift ;;
        *) echo "pg-cluster.sh: unknown option $1" >&2; exit 2 ;;
      esac; shift
    done
    [ -n "$port" ] || port=$(free_port)
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    echo "admin-$password" >"$dir/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/pwfile"
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --pwfile="$dir/pwfile" >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/pwfile"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=$maxconn -c superuser_reserved_connections=3 -c fsync=off" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
      -c "CREATE ROLE preflight LOGIN PASSWORD '$password'" \
      -c "CREATE DATABASE preflight OWNER preflight" >/dev/null
    {
      echo "PGHOST=$dir"
      echo "PGPORT=$port"
      echo "PG_URL=postgresql://preflight:$password@127.0.0.1:$port/preflight"
      echo "PG_ADMIN_URL=postgresql://postgres:admin-$password@127.0.0.1:$port/postgres"
    } | tee "$dir/env"
    ;;
  standby)
    primary=${1:?PRIMARY_DIR}; dir=${2:?DIR}; shift 2
    port=
    while [ $# -gt 0 ]; do
      case $1 in
        --port) port=$2; shift ;;
        *) echo "pg-cluster.sh: unknown option $1" >&2; exit 2 ;;
      esac; shift
    done
    primary=$(cd "$primary" && pwd)
    # shellcheck disable=SC1091
    . "$primary/env"
    primary_port=$PGPORT
    [ -n "$port" ] || port=$(free_port)
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    # A hot standby needs max_connections at least the primary's.
    maxconn=$(as_owner "$bindir/psql" -h "$primary" -p "$primary_port" -U postgres -d postgres -X -A -t -c "SHOW max_connections")
    # -c fast: without it pg_basebackup waits for a spread checkpoint (minutes on an idle cluster).
    as_owner "$bindir/pg_basebackup" -h "$primary" -p "$primary_port" -U postgres -D "$dir/data" -R -X stream -c fast \
      >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 1; }
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=$maxconn -c superuser_reserved_connections=3 -c fsync=off" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    {
      echo "PGHOST=$dir"
      echo "PGPORT=$port"
      echo "PG_URL=${PG_URL/:$primary_port\//:$port/}"
      echo "PG_ADMIN_URL=${PG_ADMIN_URL/:$primary_port\//:$port/}"
    } | tee "$dir/env"
    ;;
  stop)
    dir=${1:?DIR}
    [ -d "$dir/data" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
