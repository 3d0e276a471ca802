#!/usr/bin/env bash
# Throughput of `preflight explain` against jq doing the same aggregation (counts by status and
# error_code over http_reqs Points) on one ~1 GiB --out json file under /tmp (not committed).
# Needs a release build: swift build -c release --scratch-path .build-explain
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${BIN:-$here/../../.build-explain/release/preflight}"
big="${BIG:-/tmp/explain-big.out.json}"
if [ ! -f "$big" ]; then
  python3 - "$here/../../Tests/PreflightExplainTests/Fixtures/cursor.out.json" "$big" <<'PY'
import sys
src = open(sys.argv[1], 'rb').read()
with open(sys.argv[2], 'wb') as f:
    for _ in range((1 << 30) // len(src)):
        f.write(src)
PY
fi
cat "$big" > /dev/null  # warm the page cache for both
/usr/bin/time -v "$bin" --format json "$big" > /tmp/explain-bench.json 2> /tmp/explain-bench.time || true
/usr/bin/time -v jq -n -c 'reduce (inputs | select(.type == "Point" and .metric == "http_reqs") | .data.tags) as $t
  ({status: {}, error_code: {}}; .status[$t.status] += 1 | .error_code[$t.error_code // "none"] += 1)' \
  "$big" > /tmp/jq-bench.json 2> /tmp/jq-bench.time
for t in explain jq; do
  echo "$t: $(grep -E 'Elapsed' /tmp/$t-bench.time | awk '{print $NF}') wall, $(grep -E 'Maximum resident' /tmp/$t-bench.time | awk '{print $NF}') KB peak RSS"
done
cat /tmp/jq-bench.json
