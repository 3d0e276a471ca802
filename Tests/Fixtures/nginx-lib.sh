# Shared by nginx-limiter.sh and nginx-proxy.sh (sourced): a real nginx in its own prefix DIR on loopback.
NGINX=${NGINX:-/usr/sbin/nginx}
# Close descriptors inherited from the caller, so the daemon never holds a test's pipe open.
for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done; true

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# nginx_launch DIR PORT: start nginx with DIR/nginx.conf and wait until it listens on PORT; prints PORT=n and
# PID=n. Fails (logs in DIR/start.log, DIR/error.log) when it does not start or listen within 2 s.
nginx_launch() {
  local dir=$1 port=$2
  "$NGINX" -p "$dir" -c "$dir/nginx.conf" -g "pid $dir/nginx.pid; error_log $dir/error.log;" 2>"$dir/start.log" || return 1
  for _ in $(seq 1 100); do
    [ -s "$dir/nginx.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && {
      echo "PORT=$port"; echo "PID=$(cat "$dir/nginx.pid")"; return 0; }
    sleep 0.02
  done
  return 1
}

# nginx_port_taken DIR: the last launch lost its port to another process (worth another free port).
nginx_port_taken() { grep -q "Address already in use" "$1/start.log" "$1/error.log" 2>/dev/null; }

nginx_launch_failed() {  # nginx_launch_failed DIR: say why, exit 1
  cat "$1/start.log" "$1/error.log" >&2 2>/dev/null || true
  exit 1
}

# nginx_stop DIR: stop the nginx started in DIR (by its PID, only if it is still our nginx master), remove DIR.
nginx_stop() {
  local dir=$1 pid
  [ -f "$dir/nginx.pid" ] || { rm -rf "$dir"; return 0; }
  pid=$(cat "$dir/nginx.pid")
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "nginx: master process"; then
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
    [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
