#!/usr/bin/env bash
# preflight against the tools people use instead, side by side in one run (issue 10, "Benchmarks").
#
#   scripts/bench.sh [--write FILE]
#
# Installs what is missing (apt), builds `swift build -c release --static-swift-stdlib` (the shipped form), starts its own sample stack, loopback
# fixtures and nginx, measures with hyperfine (-N, warmup, >= RUNS runs, JSON exports) and /usr/bin/time -v,
# stops everything it started by PID, and prints a Markdown report (table, machine, command) on stdout.
# Progress goes to stderr. --write FILE also writes the report to FILE, only when every section ran,
# keeping FILE's hand-written "## Notes" section.
#
# Environment: RUNS (default 10), BURST (default 250: the healthy run's burst and hey -n),
# EXPLAIN_MB (default 1024: size of the generated k6 --out json file), EXPLAIN_RUNS (default 3),
# THROUGHPUT_N (default 5000), IDLE_PROCS (default 2000: idle processes started for row 1b),
# SCRIPT_REQUESTS (default 200000: requests in the generated k6 script of row 6),
# BENCH_DIR (default a fresh /tmp/preflight-bench.XXXXXX; its hyperfine JSON files are kept).
# Short commands (dead port, start-up) are timed paired and interleaved (scripts/bench-paired.py): on a shared
# machine a burst of load then falls on preflight and curl alike.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

write_to=
while [ $# -gt 0 ]; do
  case $1 in
    --write) write_to=${2:?--write needs a file}; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac; shift
done

RUNS=${RUNS:-10}
BURST=${BURST:-250}
EXPLAIN_MB=${EXPLAIN_MB:-1024}
EXPLAIN_RUNS=${EXPLAIN_RUNS:-3}
THROUGHPUT_N=${THROUGHPUT_N:-5000}
IDLE_PROCS=${IDLE_PROCS:-2000}
SCRIPT_REQUESTS=${SCRIPT_REQUESTS:-200000}
say() { echo "bench: $*" >&2; }

# ------------------------------------------------------------------ dependencies
scripts/install-deps.sh --bench   # build, PostgreSQL, the Flask stack, nginx; hyperfine, hey, jq, curl, …
for tool in hey wait-for-it check_postgres hyperfine jq /usr/bin/time curl pg_isready python3; do
  command -v "$tool" >/dev/null || { say "$tool missing after scripts/install-deps.sh --bench"; exit 1; }
done

say "swift build -c release --static-swift-stdlib"
swift build -c release --static-swift-stdlib --scratch-path .build-static >&2
BIN=$(swift build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)/preflight
[ -x "$BIN" ] || { say "no $BIN"; exit 1; }
started=$(date +%s)   # the benchmarks' time, without installs and the build
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ workspace, cleanup
W=${BENCH_DIR:-$(mktemp -d /tmp/preflight-bench.XXXXXX)}
mkdir -p "$W"; chmod 755 "$W"
STACK=$REPO/Tests/SampleStack/stack.sh
NGINX_FIX=$REPO/Tests/Fixtures/nginx-limiter.sh
FIXTURE=$REPO/Tests/Fixtures/http-fixture.py
fixture_pids=()
idle_pids=()
stop_idle() {  # the idle processes of row 1b, by PID, only while each is still our sleep
  local pid
  for pid in "${idle_pids[@]}"; do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] && kill "$pid" 2>/dev/null
  done
  if [ ${#idle_pids[@]} -gt 0 ]; then wait "${idle_pids[@]}" 2>/dev/null || true; fi
  idle_pids=()
}
cleanup() {
  set +e
  stop_idle
  exec 7>&- 8>&- 2>/dev/null
  for pid in "${fixture_pids[@]}"; do
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q http-fixture.py; then kill "$pid" 2>/dev/null; fi
  done
  [ -d "$W/nginx" ] && "$NGINX_FIX" stop "$W/nginx" >/dev/null 2>&1
  [ -d "$W/stack" ] && "$STACK" down --dir "$W/stack" >/dev/null 2>&1
  rm -f "$W/big.out.json" "$W/big-script.js"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$REPO/Tests/Fixtures/pg-cluster.sh" free-port; }
# hyperfine with the common options; every command runs without a shell (-N)
hf() { local name=$1; shift; hyperfine -N --style basic --export-json "$W/$name.json" "$@" >&2; }
# median in ms of command number I (0-based) of a hyperfine export
med() { jq -r ".results[$2].median * 1000" "$W/$1.json"; }
mn() { jq -r ".results[$2].min * 1000" "$W/$1.json"; }
fmt() { awk -v v="$1" 'BEGIN { if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
maxrss() {  # maxrss CMD...: peak resident set size in MiB (ignores the exit code)
  /usr/bin/time -v "$@" 2>"$W/time.txt" >/dev/null || true
  awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$W/time.txt"
}
rows=()   # Markdown table rows
row() { local IFS='|'; rows+=("| $* |"); }

# ------------------------------------------------------------------ 1. dead port
# paired RUNS WARMUP NAME NAME1 CMD1 NAME2 CMD2 …: interleaved runs, JSON in $W/NAME.json (results[i].median, .min,
# .ratio_to_first: the median of per-round ratios to the first command)
paired() { local runs=$1 warmup=$2 name=$3; shift 3; python3 "$REPO/scripts/bench-paired.py" "$runs" "$warmup" "$W/$name.json" -- "$@" >&2; }
pmed() { jq -r ".results[$2].median" "$W/$1.json"; }
pmin() { jq -r ".results[$2].min" "$W/$1.json"; }
pratio() { jq -r ".results[$2].ratio_to_first" "$W/$1.json" | awk '{ printf "%.2f×", $1 }'; }
verdict() {  # verdict RATIO GOAL: "met" or "missed by N %"
  awk -v r="${1%×}" -v g="$2" 'BEGIN { if (r <= g) printf "met"; else printf "**missed** by %.0f %%", (r / g - 1) * 100 }'
}
say "1/6 dead port"
dead=$(free_port)
paired $((RUNS * 3)) 3 dead \
  "curl --max-time 1" "curl -sS --max-time 1 http://127.0.0.1:$dead/" \
  "preflight --only port" "$BIN --only port --target http://127.0.0.1:$dead --no-color" \
  "pg_isready -t 1" "pg_isready -h 127.0.0.1 -p $dead -t 1"
hf waitforit --warmup 0 --runs 3 -i -n "wait-for-it -t 1" "wait-for-it -t 1 127.0.0.1:$dead"
r=$(pratio dead 1)
row "1. dead port (ECONNREFUSED), start to exit" "\`preflight --only port\`" "$(fmt "$(pmed dead 1)") ms (min $(fmt "$(pmin dead 1)"))" \
    "$r of curl" "goal ≤ 1.5×: $(verdict "$r" 1.5)"
row "" "\`curl -sS --max-time 1\`" "$(fmt "$(pmed dead 0)") ms (min $(fmt "$(pmin dead 0)"))" "1×" ""
row "" "\`pg_isready -t 1\`" "$(fmt "$(pmed dead 2)") ms (min $(fmt "$(pmin dead 2)"))" "$(pratio dead 2) of curl" ""
row "" "\`wait-for-it -t 1\` (retries until its timeout)" "$(fmt "$(med waitforit 0)") ms" "" ""
rss_dead=$(maxrss "$BIN" --only port --target "http://127.0.0.1:$dead" --no-color)
rss_curl=$(maxrss curl -sS --max-time 1 "http://127.0.0.1:$dead/")

say "1/6 dead port with $IDLE_PROCS more idle processes"
# A near miss too: a listener one port below the dead one, started after the idle processes (so the owner
# search meets them first), is the case where preflight names an owner.
for _ in $(seq 1 "$IDLE_PROCS"); do
  sleep 600 </dev/null >/dev/null 2>&1 3</dev/null 4</dev/null 5</dev/null &
  idle_pids+=($!)
done
rm -f "$W/near.fifo"; mkfifo "$W/near.fifo"
python3 "$FIXTURE" json 200 '{}' <"$W/near.fifo" >"$W/near.port" 2>/dev/null &
fixture_pids+=($!)
exec 6>"$W/near.fifo"   # the fixture serves until this shell closes it
for _ in $(seq 1 100); do grep -q PORT "$W/near.port" 2>/dev/null && break; sleep 0.05; done
near=$(awk '/PORT/ { print $2 }' "$W/near.port")
[ -n "$near" ] || { say "near-miss fixture did not start"; exit 1; }
dead_near=$((near + 1))
rc=0; curl -sS --max-time 1 -o /dev/null "http://127.0.0.1:$dead_near/" 2>/dev/null || rc=$?
[ "$rc" = 7 ] || { dead_near=$((near - 1)); rc=0; curl -sS --max-time 1 -o /dev/null "http://127.0.0.1:$dead_near/" 2>/dev/null || rc=$?; }
[ "$rc" = 7 ] || { say "no refused port next to $near"; exit 1; }
"$BIN" --only port --target "http://127.0.0.1:$dead_near" --no-color >"$W/near-run.txt" || true
grep -q "python3 (pid" "$W/near-run.txt" || { say "the near miss did not name its listener: $(head -3 "$W/near-run.txt")"; exit 1; }
procs=$(ls /proc | grep -c '^[0-9]')
paired $((RUNS * 3)) 3 crowd \
  "curl --max-time 1" "curl -sS --max-time 1 http://127.0.0.1:$dead/" \
  "preflight --only port" "$BIN --only port --target http://127.0.0.1:$dead --no-color" \
  "curl, near miss" "curl -sS --max-time 1 http://127.0.0.1:$dead_near/" \
  "preflight, near miss" "$BIN --only port --target http://127.0.0.1:$dead_near --no-color"
stop_idle
exec 6>&-
r=$(pratio crowd 1)
rn=$(awk -v a="$(pmed crowd 3)" -v b="$(pmed crowd 2)" 'BEGIN { printf "%.2f×", a / b }')
row "1b. dead port, $IDLE_PROCS more idle processes ($procs in all)" "\`preflight --only port\`" \
    "$(fmt "$(pmed crowd 1)") ms (min $(fmt "$(pmin crowd 1)"))" "$r of curl" "goal ≤ 2×: $(verdict "$r" 2)"
row "" "\`curl -sS --max-time 1\`" "$(fmt "$(pmed crowd 0)") ms (min $(fmt "$(pmin crowd 0)"))" "1×" ""
row "" "\`preflight --only port\`, near miss: python3 listens one port away, named (pid after the idle ones)" \
    "$(fmt "$(pmed crowd 3)") ms (min $(fmt "$(pmin crowd 3)"))" "$rn of curl" "goal ≤ 2×: $(verdict "$rn" 2)"
# ------------------------------------------------------------------ 2. healthy stack
say "2/6 healthy sample stack (burst $BURST)"
mkdir -p "$W/stack"
cfg=$("$STACK" up healthy --dir "$W/stack" | tail -n1)
# shellcheck disable=SC1091
. "$W/stack/env"
sed -E "s/^  burst: .*/  burst: $BURST/" "$cfg" >"$W/healthy.yml"
request=$(sed -nE 's/^  request: "?([A-Z]+) ([^"]*)"?$/\1 \2/p' "$W/healthy.yml")
method=${request%% *}; path=${request#* }
body=$(sed -nE "s/^  body: '(.*)'\$/\1/p" "$W/healthy.yml")
[ -n "$method" ] && [ -n "$path" ] && [ -n "$body" ] || { say "no rate_limit request in $cfg"; exit 1; }
post_url=$BACKEND_URL$path
"$BIN" --config "$W/healthy.yml" --format json >"$W/healthy-run.json" || true
verdict=$(jq -r .verdict "$W/healthy-run.json")
say "healthy run: verdict $verdict; $(jq -r '[.checks[] | "\(.id)=\(.status)"] | join(" ")' "$W/healthy-run.json")"
stack_rps=$(jq -r '.checks[] | select(.id == "rate-limit") | .evidence.requestsPerSecond // empty' "$W/healthy-run.json")
printf '%s\n' "$body" >"$W/body.json"
peers="pg_isready -h 127.0.0.1 -p $PGPORT -t 1 >/dev/null; curl -sf -o /dev/null $BACKEND_URL/health; \
PGPASSWORD=chat-secret check_postgres --action=backends --host=127.0.0.1 --port=$PGPORT --dbuser=chat --dbname=chat_backend_db >/dev/null; \
hey -n $BURST -c 25 -m $method -T application/json -D $W/body.json $post_url >$W/hey-stack.txt"
hf healthy --warmup 1 --runs "$RUNS" -i \
  -n "preflight (every check, burst $BURST)" "$BIN --config $W/healthy.yml --no-color" \
  -n "peers one after another" "bash -c '$peers'"
hey_stack_rps=$(awk '/Requests\/sec/ { print $2 }' "$W/hey-stack.txt")
# the peers one at a time, to show where the sum goes (3 runs: a breakdown, not a comparison)
hf peers --warmup 0 --runs 3 -i \
  -n "pg_isready" "pg_isready -h 127.0.0.1 -p $PGPORT -t 1" \
  -n "curl health" "curl -sf -o /dev/null $BACKEND_URL/health" \
  -n "check_postgres backends" "env PGPASSWORD=chat-secret check_postgres --action=backends --host=127.0.0.1 --port=$PGPORT --dbuser=chat --dbname=chat_backend_db" \
  -n "hey -n $BURST -c 25" "hey -n $BURST -c 25 -m $method -T application/json -D $W/body.json $post_url"
p=$(med healthy 0); s=$(med healthy 1)
row "2. healthy stack, every check (verdict: $verdict)" "\`preflight --config healthy.yml\` (burst $BURST)" "$(fmt "$p") ms" \
    "$(ratio "$p" "$s") of peers' sum" "target < 1×"
row "" "peers in one shell: pg_isready; curl health; check_postgres backends; hey -n $BURST -c 25 POST" "$(fmt "$s") ms" "1×" ""
for i in 0 1 2 3; do
  row "" "↳ $(jq -r ".results[$i].command" "$W/peers.json") alone" "$(fmt "$(med peers $i)") ms" "" ""
done
# peak memory of the same full run (section 5), while the stack is up
rss_full=$(maxrss "$BIN" --config "$W/healthy.yml" --no-color)
rss_hey=$(maxrss hey -n "$BURST" -c 25 -m "$method" -T application/json -D "$W/body.json" "$post_url")
"$STACK" down --dir "$W/stack" >/dev/null 2>&1; rm -rf "$W/stack"

# ------------------------------------------------------------------ 3. blackholed targets
say "3/6 every target blackholed, --timeout 1s"
hang() {  # hang FD VAR: start http-fixture.py hang, its stdin a fifo this shell holds open as FD; VAR=its port
  local fifo=$W/hang-$1.fifo port=
  rm -f "$fifo"; mkfifo "$fifo"
  python3 "$FIXTURE" hang <"$fifo" >"$W/hang-$1.port" 2>/dev/null &
  fixture_pids+=($!)
  eval "exec $1>\"\$fifo\""   # in this shell, not a subshell: the fixture serves until it is closed
  for _ in $(seq 1 100); do grep -q PORT "$W/hang-$1.port" 2>/dev/null && break; sleep 0.05; done
  port=$(awk '/PORT/ { print $2 }' "$W/hang-$1.port")
  [ -n "$port" ] || { say "hang fixture did not start"; exit 1; }
  printf -v "$2" %s "$port"
}
hang 7 hang_http; hang 8 hang_pg
mkdir -p "$W/empty"   # no preflight.yml there
(cd "$W/empty" && "$BIN" --target "http://127.0.0.1:$hang_http/api/v1" \
   --database-url "postgresql://chat:chat-secret@127.0.0.1:$hang_pg/chat_backend_db" --timeout 1s --format json \
   >"$W/blackhole-run.json" || true)
say "blackhole run: $(jq -r '[.checks[] | "\(.id)=\(.status)"] | join(" ")' "$W/blackhole-run.json")"
timed_out=$(jq -r '[.checks[] | select(.status == "fail")] | length' "$W/blackhole-run.json")
hf blackhole --warmup 1 --runs "$RUNS" -i \
  -n "preflight, every target hangs, --timeout 1s" \
  "$BIN --target http://127.0.0.1:$hang_http/api/v1 --database-url postgresql://chat:chat-secret@127.0.0.1:$hang_pg/chat_backend_db --timeout 1s --no-color" \
  -n "peers: curl --max-time 1 health; pg_isready -t 1" \
  "bash -c 'curl -sS --max-time 1 -o /dev/null http://127.0.0.1:$hang_http/api/v1/health; pg_isready -h 127.0.0.1 -p $hang_pg -t 1'"
b=$(med blackhole 0); bp=$(med blackhole 1)
row "3. every target hangs, --timeout 1s ($timed_out checks fail)" "\`preflight --target … --database-url … --timeout 1s\`" \
    "$(fmt "$b") ms" "$(ratio "$b" 1000) of one timeout" "target ≈ 1×, not $timed_out×"
row "" "peers: \`curl --max-time 1; pg_isready -t 1\` (libpq's connect_timeout is at least 2 s)" "$(fmt "$bp") ms" "$(ratio "$bp" 1000) of one timeout" ""
exec 7>&- 8>&-

# ------------------------------------------------------------------ 4. explain vs jq, burst vs hey
say "4/6 explain on a ${EXPLAIN_MB} MB --out json file vs jq"
src=$REPO/Tests/PreflightExplainTests/Fixtures/cursor.out.json
big=$W/big.out.json
copies=$(python3 - "$src" "$big" "$EXPLAIN_MB" <<'PY'
import sys
one = open(sys.argv[1], 'rb').read()
n = int(sys.argv[3]) * 1024 * 1024 // len(one) + 1
with open(sys.argv[2], 'wb') as f:
    for _ in range(n):
        f.write(one)
print(n)
PY
)
size_mb=$(( $(stat -c %s "$big") / 1024 / 1024 ))
cat "$big" >/dev/null   # the page cache holds it for both
jq_prog='reduce (inputs | select(.type == "Point" and .metric == "http_reqs") | .data.tags) as $t ({status: {}, error_code: {}}; .status[$t.status] += 1 | .error_code[$t.error_code // "none"] += 1)'
hf explain --warmup 0 --runs "$EXPLAIN_RUNS" -i \
  -n "preflight explain --format json" "$BIN explain $big --format json" \
  -n "jq aggregation" "jq -n -c '$jq_prog' $big"
e=$(med explain 0); j=$(med explain 1)
rss_explain=$(maxrss "$BIN" explain "$big" --format json)
rss_jq=$(maxrss jq -n -c "$jq_prog" "$big")
speed=$(ratio "$j" "$e")
row "4a. explain a $size_mb MiB k6 --out json ($copies × cursor.out.json)" "\`preflight explain FILE --format json\`" \
    "$(fmt "$e") ms, peak $rss_explain MiB" "$speed jq's speed" \
    "goal ≥ 10× jq: $(awk -v r="${speed%×}" 'BEGIN { if (r >= 10) printf "met"; else printf "**missed** by %.0f %%", (1 - r / 10) * 100 }'); peak ≤ 16 MiB: $(verdict "$rss_explain" 16)"
row "" "\`jq -n -c 'reduce (inputs \| select(Point, http_reqs)) … counts by status, error_code'\`" "$(fmt "$j") ms, peak $rss_jq MiB" "1×" ""
rm -f "$big"

say "4/6 burst throughput vs hey (nginx, open mode)"
eval "$("$NGINX_FIX" start "$W/nginx" open)"   # PORT, PID
cat >"$W/nginx.yml" <<YML
target: http://127.0.0.1:$PORT
timeout: 3s
health:
  path: /index.json
rate_limit:
  request: GET /index.json
  burst: $THROUGHPUT_N
  concurrency: 25
YML
pf_rps=(); hey_rps=()
"$BIN" --config "$W/nginx.yml" --only port,health,rate-limit --format json >/dev/null 2>&1 || true   # warm-up
hey -n "$THROUGHPUT_N" -c 25 "http://127.0.0.1:$PORT/index.json" >/dev/null
for _ in $(seq 1 5); do
  "$BIN" --config "$W/nginx.yml" --only port,health,rate-limit --format json >"$W/nginx-run.json" || true
  pf_rps+=("$(jq -r '.checks[] | select(.id == "rate-limit") | .evidence.requestsPerSecond // 0' "$W/nginx-run.json")")
  hey_rps+=("$(hey -n "$THROUGHPUT_N" -c 25 "http://127.0.0.1:$PORT/index.json" | awk '/Requests\/sec/ { print $2 }')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
pr=$(median "${pf_rps[@]}"); hr=$(median "${hey_rps[@]}")
say "rate-limit evidence: $(jq -c '.checks[] | select(.id == "rate-limit") | .evidence' "$W/nginx-run.json" | cut -c1-400)"
"$NGINX_FIX" stop "$W/nginx" >/dev/null

row "4b. burst throughput, nginx static GET, $THROUGHPUT_N requests over 25 connections, median of 5" \
    "preflight \`rate-limit\` evidence.requestsPerSecond" "$(printf '%.0f' "$pr") req/s" "$(ratio "$pr" "$hr") of hey" "target ≥ 0.8×"
row "" "\`hey -n $THROUGHPUT_N -c 25\`" "$(printf '%.0f' "$hr") req/s" "1×" ""
if [ -n "$stack_rps" ] && [ -n "$hey_stack_rps" ]; then
  row "4c. burst throughput, sample stack POST (Flask dev server), $BURST requests" "preflight \`rate-limit\` evidence.requestsPerSecond" \
      "$(printf '%.0f' "$stack_rps") req/s" "$(ratio "$stack_rps" "$hey_stack_rps") of hey" "(server-bound)"
  row "" "\`hey -n $BURST -c 25 -m POST\` (last run of section 2)" "$(printf '%.0f' "$hey_stack_rps") req/s" "1×" ""
fi

# ------------------------------------------------------------------ 5. memory, start-up
say "5/6 start-up"
paired $((RUNS * 3)) 3 startup \
  "curl --version" "curl --version" \
  "preflight --version" "$BIN --version" \
  "preflight --help" "$BIN --help" \
  "hey (usage)" "hey"
row "5a. peak memory, dead port" "\`/usr/bin/time -v preflight --only port\`" "$rss_dead MiB" "" \
    "goal ≤ 15 MiB: $(verdict "$rss_dead" 15); curl: $rss_curl MiB"
row "5b. peak memory, full healthy run (burst $BURST)" "\`/usr/bin/time -v preflight --config healthy.yml\`" "$rss_full MiB" "" \
    "goal ≤ 25 MiB: $(verdict "$rss_full" 25); hey alone: $rss_hey MiB"
for i in 1 2; do
  r=$(pratio startup $i)
  row "$([ $i = 1 ] && echo "5c. start-up")" "\`$(jq -r ".results[$i].name" "$W/startup.json")\`" \
      "$(fmt "$(pmed startup $i)") ms (min $(fmt "$(pmin startup $i)"))" "$r of curl --version" "goal ≤ 1.1×: $(verdict "$r" 1.1)"
done
row "" "\`curl --version\`" "$(fmt "$(pmed startup 0)") ms (min $(fmt "$(pmin startup 0)"))" "1×" "hey's usage: $(fmt "$(pmed startup 3)") ms"

# ------------------------------------------------------------------ 6. a big k6 script
say "6/6 a generated k6 script, $SCRIPT_REQUESTS requests"
script=$W/big-script.js
python3 - "$script" "$SCRIPT_REQUESTS" <<'PY'
import sys
n = int(sys.argv[2])
kinds = [
    "  http.get(`${BASE}/items/%d?page=${__ITER}`);\n",
    "  http.post(`${BASE}/orders`, JSON.stringify({ id: %d }));\n",
    "  check(http.get(`${BASE}/feed?c=%d`), { ok: isOK });\n",
    "  http.get('http://127.0.0.1:3000/api/v1/users/%d');\n",
]
with open(sys.argv[1], 'w') as f:
    f.write("import http from 'k6/http';\nimport { check, sleep } from 'k6';\n\n"
            "const BASE = __ENV.BASE || 'http://127.0.0.1:3000';\n"
            "export const options = {\n  vus: 50, duration: '1m',\n"
            "  thresholds: { http_req_failed: ['rate<0.01'], http_req_duration: ['p(95)<250'] },\n};\n"
            "const isOK = (r) => r.status === 200;\n\nexport default function () {\n")
    for i in range(n):
        f.write(kinds[i % 4] % i)
    f.write("  sleep(1);\n}\n")
PY
script_mb=$(awk -v b="$(stat -c %s "$script")" 'BEGIN { printf "%.1f", b / 1048576 }')
printf 'target: http://127.0.0.1:3000/api/v1\nload:\n  script: big-script.js\n' >"$W/script.yml"
# preflight's own reading: without k6 on PATH (with it, the check also runs `k6 inspect`, which is k6's cost)
nok6=$(printf '%s\n' "$PATH" | tr ':' '\n' | { if command -v k6 >/dev/null; then grep -v -x -F "$(dirname "$(command -v k6)")"; else cat; fi; } | paste -sd: -)
env PATH="$nok6" "$BIN" --config "$W/script.yml" --only script --format json >"$W/script-run.json" || true
requests=$(jq -r '.checks[] | select(.id == "script") | .evidence.requests // empty' "$W/script-run.json")
say "script check: $(jq -r '.checks[] | select(.id == "script") | "\(.status): \(.summary)"' "$W/script-run.json" | cut -c1-300)"
hf script --warmup 1 --runs 5 -i -n "preflight --only script" "env PATH=$nok6 $BIN --config $W/script.yml --only script --no-color"
sm=$(med script 0)
rss_script=$(maxrss env PATH="$nok6" "$BIN" --config "$W/script.yml" --only script --no-color)
row "6. a generated $script_mb MiB k6 script, $SCRIPT_REQUESTS requests${requests:+ ($requests read)}" \
    "\`preflight --only script\` (whole process, k6 not on PATH)" "$(fmt "$sm") ms, peak $rss_script MiB" "" \
    "goal ≤ 1 s: $(verdict "$(awk -v m="$sm" 'BEGIN { print m / 1000 }')" 1); ≤ 50 MiB: $(verdict "$rss_script" 50)"
rm -f "$script"

# ------------------------------------------------------------------ report
elapsed=$(( $(date +%s) - started ))
swift_version=$(swift --version 2>&1 | grep -m1 -o 'Swift version [^ ]*')
report() {
  echo "# Benchmarks"
  echo
  echo "preflight side by side with the tools people use instead, in one run of \`scripts/bench.sh\`"
  echo "(medians, min in brackets; short commands timed paired and interleaved by \`scripts/bench-paired.py\`, the"
  echo "others by hyperfine \`-N\`; every ratio is taken within the same run)."
  echo "Produced by:"
  echo
  echo '```sh'
  echo "scripts/bench.sh --write BENCHMARKS.md   # RUNS=$RUNS BURST=$BURST EXPLAIN_MB=$EXPLAIN_MB EXPLAIN_RUNS=$EXPLAIN_RUNS THROUGHPUT_N=$THROUGHPUT_N IDLE_PROCS=$IDLE_PROCS SCRIPT_REQUESTS=$SCRIPT_REQUESTS"
  echo '```'
  echo
  echo "| scenario | command | median | ratio | goal / note |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), \
$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, \
$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), $swift_version, \
$(hyperfine --version), $(hey 2>&1 | head -0; dpkg-query -W -f='hey ${Version}' hey 2>/dev/null), \
$(jq --version), $(dpkg-query -W -f='nginx ${Version}' nginx-light 2>/dev/null || true). \
Runs: $RUNS per command ($((RUNS * 3)) paired rounds for dead port and start-up, $EXPLAIN_RUNS for explain, 5 for the script, 3 for the per-peer breakdown). \
Load average (1/5/15 min) before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg). \
Benchmarks took ${elapsed} s (after the build). Date: $(date -u +%Y-%m-%d)."
}
report
if [ -n "$write_to" ]; then
  # keep the hand-written "## Notes" section (from that heading to the end) of an existing FILE
  { report; if [ -f "$write_to" ] && grep -q '^## Notes' "$write_to"; then echo; sed -n '/^## Notes/,$p' "$write_to"; fi; } >"$write_to.tmp"
  mv "$write_to.tmp" "$write_to"; say "wrote $write_to"
fi
say "hyperfine exports: $W/*.json"
