#!/usr/bin/env bash
# What the run's one burst (the pool-traffic ramp, read by rate-limit too) costs on the sample stack:
#   Tests/SampleStack/ramp-cost.sh [RUNS] [SCENARIO...]    (default 3 runs of healthy and pool-too-small)
# Prints one line per run: requests sent, the ramp's seconds, its steps, and the whole preflight run's seconds.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PREFLIGHT_BIN=${PREFLIGHT_BIN:-$REPO/.build/debug/preflight}
DIR=${STACK_DIR:-$HERE/.run/ramp-cost}
runs=${1:-3}; shift || true
scenarios=${*:-healthy pool-too-small}
trap '"$HERE/stack.sh" down --dir "$DIR" >/dev/null 2>&1' EXIT
for s in $scenarios; do
  config=$("$HERE/stack.sh" up "$s" --dir "$DIR" 2>/dev/null | tail -n1) || { echo "$s: stack.sh up failed" >&2; exit 1; }
  for i in $(seq 1 "$runs"); do
    t0=$(date +%s.%N)
    out=$(timeout 120 "$PREFLIGHT_BIN" --config "$config" --format json 2>/dev/null)
    t1=$(date +%s.%N)
    OUT=$out python3 - "$s" "$i" "$t0" "$t1" <<'PY'
import json, os, sys
doc = json.loads(os.environ["OUT"])
c = {x["id"]: x for x in doc["checks"]}
t = c.get("pool-traffic", {}).get("evidence", {}).get("traffic") or c.get("rate-limit", {}).get("evidence", {}).get("traffic") or {}
steps = " ".join("%sx%s (p95 %s ms)" % (x["concurrency"], x["sent"], x.get("p95Ms", "-")) for x in t.get("steps", []))
print("%s run %s: verdict %s, pool-traffic %s, sent %s %s in %s s [%s], whole run %.2f s" % (
    sys.argv[1], sys.argv[2], doc["verdict"], c.get("pool-traffic", {}).get("status"), t.get("sent"),
    t.get("request", "").split(" ")[0], t.get("seconds"), steps, float(sys.argv[4]) - float(sys.argv[3])))
PY
  done
  "$HERE/stack.sh" down --dir "$DIR" >/dev/null 2>&1
done
