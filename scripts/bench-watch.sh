#!/usr/bin/env bash
# The watcher's cost to the load test: k6 requests/s under `preflight exec` with the watch off, at the default
# 1 s interval and at 100 ms, against http-fixture.py (json 200) on loopback; rounds alternate so the shared
# machine's load hits every mode alike. Prints one Markdown row per mode (median of ROUNDS, min and max), then
# the watcher's own CPU time around a 10 s `sleep` (the part of it that is not machine noise).
#   PREFLIGHT_BIN=.build/debug/preflight ROUNDS=5 scripts/bench-watch.sh   # defaults: ROUNDS=3 VUS=20 DURATION=10s
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3} VUS=${VUS:-20} DURATION=${DURATION:-10s}
BIN=${PREFLIGHT_BIN:-$PWD/.build/release/preflight}
[ -x "$BIN" ] || { echo "build first: swift build -c release (or set PREFLIGHT_BIN)" >&2; exit 1; }
work=$(mktemp -d); trap 'kill "$fixture" 2>/dev/null || true; rm -rf "$work"' EXIT
mkfifo "$work/in"
python3 Tests/Fixtures/http-fixture.py json 200 '{"status":"ok"}' <"$work/in" >"$work/port" 2>/dev/null &
fixture=$!
exec 3>"$work/in"                     # the fixture serves until this closes
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(awk '{print $2}' "$work/port")"
cat >"$work/load.js" <<JS
import http from 'k6/http';
export const options = { vus: $VUS, duration: '$DURATION' };
export default function () { http.get('$url/health'); }
JS
declare -A rps
modes=("--no-watch" "--watch-interval=1s" "--watch-interval=100ms" "bare")
for r in $(seq "$ROUNDS"); do
  # Each round starts with another mode, so no mode always runs first (or last) on the shared machine.
  for i in "${!modes[@]}"; do
    m=${modes[$(( (i + r) % ${#modes[@]} ))]}
    if [ "$m" = bare ]; then          # k6 alone, without the --out json file exec adds
      (cd "$work" && k6 run --no-usage-report -q --summary-export "$work/s.json" load.js >/dev/null 2>&1) || true
    else
      (cd "$work" && "$BIN" exec --target "$url" --only port $m -- k6 run --no-usage-report -q \
          --summary-export "$work/s.json" load.js >/dev/null 2>&1) || true
    fi
    rps[$m]+="$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["metrics"]["http_reqs"]["rate"]))' "$work/s.json") "
  done
done
base=""
for m in "${modes[@]}"; do
  read -r med min max < <(echo "${rps[$m]}" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[1], a[NR]}')
  [ -z "$base" ] && base=$med
  cmd="preflight exec $m -- k6 run"; [ "$m" = bare ] && cmd="k6 run (alone: no preflight, no --out json)"
  echo "| \`$cmd\` ($VUS VUs, $DURATION) | $med req/s (min $min, max $max) | $(python3 -c "print(f'{$med/$base:.2f}')")× of --no-watch |"
done

# The watcher's own CPU (what it can take from k6 on the same cores), without k6: exec around `sleep 10`.
for m in "--no-watch" "--watch-interval=1s" "--watch-interval=100ms"; do
  cpu=$( (cd "$work" && /usr/bin/time -f "%U %S" "$BIN" exec --target "$url" --only port $m -- sleep 10 2>&1 >/dev/null) | tail -1 \
        | awk '{printf "%.0f", ($1 + $2) * 1000}')
  echo "| \`preflight exec $m -- sleep 10\` | CPU (user+sys) $cpu ms for the whole run | $(python3 -c "print(f'{$cpu/10000*100:.2f}')") % of one core |"
done
