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
# shellcheck source=Tests/Fixtures/nginx-lib.sh
. "$(dirname "$0")/nginx-lib.sh"

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
    nginx_launch "$dir" "$port" && return 0
    nginx_port_taken "$dir" || break
  done
  nginx_launch_failed "$dir"
}

cmd=${1:-}; shift || true
case $cmd in
  start) start "${1:?DIR}" "${2:?MODE}" "${3:-}" "${4:-}" ;;
  stop) nginx_stop "${1:?DIR}" ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
