#!/usr/bin/env bash
# A real nginx on a free loopback port, in its own temporary prefix, in front of (or instead of) an upstream.
#
#   nginx-proxy.sh start DIR proxy UPSTREAM   proxy_pass every request to http://UPSTREAM (host:port)
#   nginx-proxy.sh start DIR login            /health redirects (302) to /login, an HTML login form
#   nginx-proxy.sh start DIR redirect URL     /health redirects (301) to URL (http → https)
#   nginx-proxy.sh start DIR h2 CERT KEY      https with HTTP/2 (ALPN h2), /health answers {"status":"ok"}
#   nginx-proxy.sh start DIR close            /health answers {"status":"ok"} with keep-alive off (Connection: close)
#   nginx-proxy.sh stop DIR                   stop the nginx started in DIR (by its PID), remove DIR
#
# start prints PORT=n and PID=n.
set -euo pipefail
# shellcheck source=Tests/Fixtures/nginx-lib.sh
. "$(dirname "$0")/nginx-lib.sh"

start() {
  local dir=$1 mode=$2 upstream=${3:-} key=${4:-} port attempt locations keepalive="keepalive_timeout 65;" tls=""
  mkdir -p "$dir/html" "$dir/tmp"
  dir=$(cd "$dir" && pwd)
  printf '{"status":"ok"}' >"$dir/html/health"
  printf '<!DOCTYPE html><html><head><title>Sign in</title></head><body><form method="post" action="/login"><input name="user"><input type="password" name="password"><button>Sign in</button></form></body></html>' >"$dir/html/login"
  case $mode in
    proxy) [ -n "$upstream" ] || { echo "nginx-proxy.sh: proxy needs UPSTREAM" >&2; exit 2; }
           locations="location / { proxy_pass http://$upstream; proxy_connect_timeout 2s; }" ;;
    redirect) [ -n "$upstream" ] || { echo "nginx-proxy.sh: redirect needs URL" >&2; exit 2; }
           locations="location = /health { return 301 $upstream; }" ;;
    login) locations="location = /health { return 302 /login?next=/health; } location = /login { root $dir/html; default_type text/html; }" ;;
    h2) [ -n "$key" ] || { echo "nginx-proxy.sh: h2 needs CERT KEY" >&2; exit 2; }
        tls=" ssl http2; ssl_certificate $upstream; ssl_certificate_key $key"
        locations="location / { root $dir/html; default_type application/json; }" ;;
    close) keepalive="keepalive_timeout 0;"
           locations="location / { root $dir/html; default_type application/json; }" ;;
    *) echo "nginx-proxy.sh: unknown mode $mode (proxy, redirect, login, h2, close)" >&2; exit 2 ;;
  esac
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    cat >"$dir/nginx.conf" <<CONF
user root;
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    $keepalive
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$port$tls;
        $locations
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
  *) sed -n '2,11p' "$0" >&2; exit 2 ;;
esac
