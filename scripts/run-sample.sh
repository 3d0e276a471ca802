#!/usr/bin/env bash
# `make run [SCENARIO=…]`: start the sample chat stack (PostgreSQL + Flask backend) with one fault
# switched on, run preflight against it as a user would, show the verdict, stop the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-backend-down}
stack=Tests/SampleStack/stack.sh
if ! "$stack" list | tr ' ' '\n' | grep -qx "$scenario"; then
  echo "make run: unknown SCENARIO=$scenario; one of: $("$stack" list | tr '\n' ' ')" >&2
  exit 2
fi
dir=$(mktemp -d /tmp/preflight-sample.XXXXXX)
chmod 755 "$dir"
trap '"$stack" down --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

echo "== starting the sample stack with fault: $scenario" >&2
config=$("$stack" up "$scenario" --dir "$dir" | tail -n1)
echo "== $config:" >&2
grep -vE '^\s*#|^\s*$' "$config" | sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#; s/^/   /' >&2
echo "== .build/debug/preflight --config $config" >&2
echo >&2
set +e
.build/debug/preflight --config "$config"
rc=$?
set -e
echo >&2
case $rc in
  0) echo "== exit 0: go" >&2 ;;
  1) echo "== exit 1: no-go (try another fault: make run SCENARIO=db-down; list: $("$stack" list | tr '\n' ' '))" >&2 ;;
  *) echo "== exit $rc: usage or config error" >&2 ;;
esac
exit 0
