#!/usr/bin/env bash
# A throwaway PgBouncer on loopback in front of a test cluster, owned by whoever starts it.
#   pgbouncer.sh start DIR PGPORT MODE USER PASSWORD [MAX_CLIENT_CONN]
#                                                      MODE: session or transaction; prints PORT=N
#                                                      USER may read the admin console (stats_users: SHOW only)
#   pgbouncer.sh stop DIR                              stops that PgBouncer (its pid file), nothing else
# PgBouncer refuses to run as root: it runs as postgres. Its ini lists no ignore_startup_parameters,
# as a user's PgBouncer usually does not (libpq's `options` is then refused).
set -euo pipefail
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done; true
cmd=${1:-}; shift || true
case "$cmd" in
  start)
    dir=$1 pgport=$2 mode=$3 user=$4 password=$5 maxclients=${6:-50}
    command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || { echo "pgbouncer.sh: pgbouncer not installed (apt-get install pgbouncer)" >&2; exit 1; }
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    printf '"%s" "%s"\n' "$user" "$password" >"$dir/userlist.txt"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$pgport
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = $mode
max_client_conn = $maxclients
stats_users = $user
default_pool_size = 5
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
unix_socket_dir =
INI
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
    bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bin" -d "$dir/pgbouncer.ini"; else "$bin" -d "$dir/pgbouncer.ini"; fi
    for _ in $(seq 1 100); do
      python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$port)))" 2>/dev/null && { echo "PORT=$port"; exit 0; }
      sleep 0.05
    done
    echo "pgbouncer.sh: PgBouncer did not listen on $port" >&2; cat "$dir/pgbouncer.log" >&2 || true; exit 1 ;;
  stop)
    dir=$1
    # SIGTERM first; then SIGKILL: started from a test runner's thread, PgBouncer inherits a signal mask that
    # blocks SIGTERM (SigBlk in /proc/PID/status), and the daemon would outlive the test.
    [ -f "$dir/pgbouncer.pid" ] || exit 0
    pid=$(cat "$dir/pgbouncer.pid")
    kill "$pid" 2>/dev/null || exit 0
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true ;;
  *) echo "usage: pgbouncer.sh start DIR PGPORT MODE USER PASSWORD [MAX_CLIENT_CONN] | stop DIR" >&2; exit 2 ;;
esac
