#!/usr/bin/env bash
# `preflight merge` across real network boundaries (issue 36): network namespaces this test makes, joined by a
# bridge in a hub namespace, addresses from 10.213.0.0/24 inside them only. The target (http-fixture.py) listens
# in one; three runner namespaces run `preflight --only port,health,generator --format json` from their side; the
# third is cut off from the target (its route to the target goes through a next hop that does not exist, so its
# SYNs go nowhere); `preflight merge` must name exactly that runner, by its address. Namespaces and the fixture are
# removed on every exit. Root and `ip` are needed: otherwise one SKIPPED line. Ends "netns merge: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
bin=${PREFLIGHT_BIN:-$repo/.build/debug/preflight}
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
  echo "SKIPPED netns merge: needs root and ip (iproute2) to make network namespaces"; exit 0
fi
[ -x "$bin" ] || { echo "FAIL netns merge: no binary at $bin (build first)"; exit 1; }
tag=pf$$
hub=$tag-hub target=$tag-target runners=("$tag-r1" "$tag-r2" "$tag-r3")
fixture="" work=$(mktemp -d)
cleanup() {
  [ -n "$fixture" ] && kill "$fixture" 2>/dev/null
  for ns in "$hub" "$target" "${runners[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
if ! ip netns add "$hub" 2>/dev/null; then
  echo "SKIPPED netns merge: ip netns add is not permitted here"; exit 0
fi
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "PASS netns merge: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL netns merge: $1"; }

ip -n "$hub" link add br0 type bridge && ip -n "$hub" link set br0 up
join() {  # namespace address: a veth pair, one end in the namespace, the other on the hub's bridge
  local ns=$1 addr=$2 end=v$RANDOM
  ip netns add "$ns"
  ip link add "$end" netns "$ns" type veth peer name "b$end" netns "$hub"
  ip -n "$hub" link set "b$end" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/24" dev "$end"
  ip -n "$ns" link set "$end" up
}
join "$target" 10.213.0.1
for i in 1 2 3; do join "${runners[$((i - 1))]}" "10.213.0.1$i"; done
# The cut-off runner: its route to the target goes through 10.213.0.99, which no namespace answers for.
ip -n "${runners[2]}" route add 10.213.0.1/32 via 10.213.0.99

mkfifo "$work/in"
ip netns exec "$target" python3 Tests/Fixtures/http-fixture.py --host 10.213.0.1 json 200 '{"status":"ok"}' \
  <"$work/in" >"$work/port" 2>/dev/null &
fixture=$!
exec 3>"$work/in"
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(awk '{print $2}' "$work/port")
[ -n "$port" ] || { bad "the target did not start in $target"; exit 1; }

files=()
for i in 1 2 3; do
  ns=${runners[$((i - 1))]}
  ip netns exec "$ns" "$bin" --target "http://10.213.0.1:$port" --only port,health,generator --timeout 2s \
    --format json >"$work/runner-$i.json" 2>"$work/runner-$i.err"
  rc=$?
  addresses=$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["runner"]["addresses"]))' "$work/runner-$i.json" 2>/dev/null)
  want=0; [ "$i" = 3 ] && want=1
  if [ "$rc" = "$want" ] && [ "$addresses" = "10.213.0.1$i" ]; then
    ok "runner $i in its namespace: exit $rc, its address toward the target $addresses"
  else
    bad "runner $i: exit $rc (expected $want), addresses '$addresses'"; sed 's/^/    /' "$work/runner-$i.err"
  fi
  files+=("$work/runner-$i.json")
done

out=$("$bin" merge "${files[@]}" --no-color 2>&1); rc=$?
if [ "$rc" = 1 ] && echo "$out" | grep -q "from 1 of 3 runners (10.213.0.13)" && ! echo "$out" | grep -qE "10\.213\.0\.1[12]\b.*(fail|timed out)"; then
  ok "merge: no-go, naming exactly the cut-off runner 10.213.0.13"
else
  bad "merge: exit $rc"; echo "$out" | sed 's/^/    /'
fi
[ "${NETNS_SHOW:-}" = 1 ] && echo "$out"
echo "netns merge: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
