#!/usr/bin/env bash
# A real nginx with limit_req on a free loopback port, in its own temporary prefix.
#
#   nginx-limiter.sh start DIR MODE [RATE] [BURST]   start nginx in DIR (created), print PORT=n and PID=n
#       MODE 503    limit_req with nginx's default refusal status (503, no rate-limit header)
#       MODE 429    the same with limit_req_status 429
#       MODE open   no limiter (for benchmarks)
#       RATE        limit_req_zone rate (default 5r/s); BURST: limit_req burst, nodelay (default 10)
#   nginx-limiter.sh stop DIR                         stop the nginx started in DIR (by its PID), remove DIR
#
# Every location serves DIR/html (GET /index.json answers {"status":"ok"}).
set -euo pipefail
NGINX=${NGINX:-/usr/sbin/nginx}
# Close descriptors inherited from the caller, so the daemon never holds a test's pipe open.
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done; true

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local dir=$1 mode=$2 rate=${3:-5r/s} burst=${4:-10} limit="" port attempt
  mkdir -p "$dir/html" "$dir/tmp"
  dir=$(cd "$dir" && pwd)
  printf '{"status":"ok"}' >"$dir/html/index.json"
  case $mode in
    503) limit="limit_req zone=one burst=$burst nodelay;" ;;
    429) limit="limit_req zone=one burst=$burst nodelay; limit_req_status 429;" ;;
    open) ;;
    *) echo "nginx-limiter.sh: unknown mode $mode (503, 429, open)" >&2; exit 2 ;;
  esac
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    cat >"$dir/nginx.conf" <<CONF
user root;
worker_processes 1;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 100000;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    limit_req_zone \$binary_remote_addr zone=one:1m rate=$rate;
    server {
        listen 127.0.0.1:$port;
        location / {
            $limit
            root $dir/html;
            default_type application/json;
        }
    }
}
CONF
    if "$NGINX" -p "$dir" -c "$dir/nginx.conf" -g "pid $dir/nginx.pid; error_log $dir/error.log;" 2>"$dir/start.log"; then
      for _ in $(seq 1 100); do
        [ -s "$dir/nginx.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && {
          echo "PORT=$port"; echo "PID=$(cat "$dir/nginx.pid")"; return 0; }
        sleep 0.02
      done
    fi
    grep -q "Address already in use" "$dir/start.log" "$dir/error.log" 2>/dev/null || break
  done
  cat "$dir/start.log" "$dir/error.log" >&2 2>/dev/null || true
  exit 1
}

stop() {
  local dir=$1 pid
  [ -f "$dir/nginx.pid" ] || { rm -rf "$dir"; return 0; }
  pid=$(cat "$dir/nginx.pid")
  # Only signal the PID if it is still our nginx master (no PID reuse).
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "nginx: master process"; then
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
    [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

cmd=${1:-}; shift || true
case $cmd in
  start) start "${1:?DIR}" "${2:?MODE}" "${3:-}" "${4:-}" ;;
  stop) stop "${1:?DIR}" ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
