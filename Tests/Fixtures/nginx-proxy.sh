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
NGINX=${NGINX:-/usr/sbin/nginx}
# Close descriptors inherited from the caller, so the daemon never holds a test's pipe open.
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done; true

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

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
  *) sed -n '2,11p' "$0" >&2; exit 2 ;;
esac
