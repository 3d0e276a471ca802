#!/usr/bin/env bash
# What each way of handing preflight a k6 run costs k6 (issue 36): k6 requests/s with each output arm against
# http-fixture.py (json 200) on loopback, VUS without sleep for DURATION, the arms interleaved and rotated every
# round so the shared machine's load falls on all of them alike. Prints one Markdown row per arm and VU count:
# the median of ROUNDS, min and max, the ratio of medians to bare k6 in the same run, and the CPU time (user +
# sys) k6 (and, for exec, preflight) spent per request, median: a busy shared machine moves throughput much more
# than it moves the work done per request.
#   ROUNDS=3 VUS="20 200" DURATION=10s ARMS="bare json.gz csv" scripts/bench-k6-outputs.sh
# Arms: bare (k6 alone), json.gz / json (--out json, today's exec adds json.gz), csv.gz / csv (--out csv),
# *-tags (the same with --system-tags cut to what explain reads), rest (bare k6, its REST API polled once a
# second as a watcher would), dashboard (k6's web dashboard, its event stream read), exec / exec-no-watch
# (`preflight exec` at its defaults / with --no-watch, PREFLIGHT_BIN or the release build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3} VUS=${VUS:-"20 200"} DURATION=${DURATION:-10s}
ARMS=${ARMS:-"bare json.gz json csv.gz csv json.gz-tags csv.gz-tags csv-tags rest dashboard"}
BIN=${PREFLIGHT_BIN:-$PWD/.build/release/preflight}
TAGS=${TAGS:-status,error,error_code,url,name,expected_response,check,method,scenario}
work=$(mktemp -d); poller=""
trap 'kill "$fixture" $poller 2>/dev/null || true; rm -rf "$work"' EXIT
mkfifo "$work/in"
python3 Tests/Fixtures/http-fixture.py json 200 '{"status":"ok"}' <"$work/in" >"$work/port" 2>/dev/null &
fixture=$!
exec 3>"$work/in"                     # the fixture serves until this closes
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(awk '{print $2}' "$work/port")"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_arm() {  # arm vus → requests/s from k6's summary
  local arm=$1 vus=$2 out=() env=() k6=(k6 run --no-usage-report -q --summary-export "$work/s.json")
  rm -f "$work"/out.* "$work/s.json"
  case $arm in
    bare) ;;
    json.gz) out=(--out "json=$work/out.json.gz") ;;
    json) out=(--out "json=$work/out.json") ;;
    csv.gz) out=(--out "csv=$work/out.csv.gz") ;;
    csv) out=(--out "csv=$work/out.csv") ;;
    csv-nano) out=(--out "csv=fileName=$work/out.csv,timeFormat=unix_nano") ;;
    json.gz-tags) out=(--out "json=$work/out.json.gz" --system-tags "$TAGS") ;;
    csv.gz-tags) out=(--out "csv=$work/out.csv.gz" --system-tags "$TAGS") ;;
    csv-tags) out=(--out "csv=$work/out.csv" --system-tags "$TAGS") ;;
    json-tags) out=(--out "json=$work/out.json" --system-tags "$TAGS") ;;
    csv-fewest) out=(--out "csv=$work/out.csv" --system-tags status,error_code,name,expected_response) ;;
    rest) local p; p=$(free_port); out=(--address "127.0.0.1:$p")
      (while sleep 1; do curl -s "http://127.0.0.1:$p/v1/metrics" >/dev/null || true; done) & poller=$! ;;
    dashboard) local p; p=$(free_port)
      env=(K6_WEB_DASHBOARD=true K6_WEB_DASHBOARD_HOST=127.0.0.1 K6_WEB_DASHBOARD_PORT="$p" K6_WEB_DASHBOARD_PERIOD=1s)
      # k6 waits for a connected dashboard client at the end: the reader stops after the run
      (sleep 1; exec curl -sN --max-time "$(( ${DURATION%s} + 1 ))" "http://127.0.0.1:$p/events" >/dev/null 2>&1) & poller=$! ;;
    exec) k6=("$BIN" exec --target "$url" --only port -- "${k6[@]}") ;;
    exec-no-watch) k6=("$BIN" exec --target "$url" --only port --no-watch -- "${k6[@]}") ;;
    *) echo "unknown arm $arm" >&2; exit 2 ;;
  esac
  cat >"$work/load.js" <<JS
import http from 'k6/http';
export const options = { vus: $vus, duration: '$DURATION' };
export default function () { http.get('$url/health'); }
JS
  (cd "$work" && /usr/bin/time -f "%U %S" -o "$work/cpu" env "${env[@]}" "${k6[@]}" "${out[@]}" load.js >"$work/log" 2>&1) || true
  [ -n "$poller" ] && { kill "$poller" 2>/dev/null || true; wait "$poller" 2>/dev/null || true; poller=""; }
  python3 -c 'import json,sys
m = json.load(open(sys.argv[1]))["metrics"]["http_reqs"]
u, s = map(float, open(sys.argv[2]).read().split()[-2:])
print(round(m["rate"]), round((u + s) * 1e6 / max(m["count"], 1)))' "$work/s.json" "$work/cpu" 2>/dev/null || echo "0 0"
}

read -ra arms <<<"$ARMS"
declare -A rps cpu
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq "$ROUNDS"); do
  for vus in $VUS; do
    for i in "${!arms[@]}"; do
      a=${arms[$(( (i + r) % ${#arms[@]} ))]}
      read -r v c < <(run_arm "$a" "$vus"); rps[$a/$vus]+="$v "; cpu[$a/$vus]+="$c "
      echo "round $r, $vus VUs, $a: $v req/s, $c µs CPU a request (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for vus in $VUS; do
  base=""
  for a in "${arms[@]}"; do
    read -r med min max < <(echo "${rps[$a/$vus]}" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[1], a[NR]}')
    c=$(echo "${cpu[$a/$vus]}" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    [ -z "$base" ] && { base=$med; cbase=$c; }
    echo "| $a | $vus | $med (min $min, max $max) | $(python3 -c "print(f'{$med/max($base,1):.2f}')")× | $c µs ($(python3 -c "print(f'{$c/max($cbase,1):.2f}')")×) |"
  done
done
