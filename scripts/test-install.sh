#!/usr/bin/env bash
# The documented install command, tested: `make install PREFIX=<temporary folder>`, then the installed binary
# runs from another folder with a bare environment, has no RPATH into .build, and its completions and man
# page are there and load. Ends with "install: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "PASS install: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL install: $1"; }

if make -s install PREFIX="$prefix" >"$prefix.log" 2>&1; then ok "make install PREFIX=…"; else bad "make install PREFIX=…"; sed 's/^/    /' "$prefix.log"; fi
rm -f "$prefix.log"
bin=$prefix/bin/preflight

if [ -x "$bin" ] && ! readelf -d "$bin" | grep -E 'RPATH|RUNPATH' | grep -q '\.build'; then
  ok "no RPATH into .build ($(readelf -d "$bin" | grep -cE 'RPATH|RUNPATH') RPATH/RUNPATH entries)"
else
  bad "the installed binary is missing or has an RPATH into .build"; readelf -d "$bin" 2>&1 | grep -E 'RPATH|RUNPATH'
fi

# From anywhere, with nothing from the build on the environment.
out=$(cd / && env -i PATH=/usr/bin:/bin HOME=/nonexistent "$bin" --version 2>&1)
[ "$out" = "$("$repo/.build/debug/preflight" --version 2>/dev/null || echo "$out")" ] && [ -n "$out" ] && ok "runs from / with a bare environment (version $out)" || bad "--version from /: $out"
closed=$("$repo/Tests/Fixtures/pg-cluster.sh" free-port)
(cd / && env -i PATH=/usr/bin:/bin "$bin" --target "http://127.0.0.1:$closed" --only port --no-color >/dev/null 2>&1)
rc=$?
[ "$rc" -eq 1 ] && ok "a run against a closed port is no-go (exit 1)" || bad "a run against a closed port exited $rc"

f=$prefix/share/bash-completion/completions/preflight
if [ -s "$f" ] && bash -c "source '$f' && complete -p preflight" >/dev/null 2>&1; then ok "bash completion loads"; else bad "bash completion $f"; fi
f=$prefix/share/zsh/site-functions/_preflight
if head -1 "$f" 2>/dev/null | grep -q '^#compdef preflight'; then ok "zsh completion (#compdef preflight)"; else bad "zsh completion $f"; fi
f=$prefix/share/fish/vendor_completions.d/preflight.fish
if grep -qE "complete -c '?preflight'?" "$f" 2>/dev/null; then ok "fish completion"; else bad "fish completion $f"; fi
f=$prefix/share/man/man1/preflight.1
page=$(MANWIDTH=100 man -l "$f" 2>/dev/null)
if echo "$page" | grep -q 'PREFLIGHT(1)' && echo "$page" | grep -q 'merge' && echo "$page" | grep -q 'schema'; then
  ok "man page renders (man -l), with merge and schema"
else
  bad "man page $f"
fi

# action.yml's install step in its build mode is the same make install, into $RUNNER_TEMP.
runner_temp=$(mktemp -d)
touch "$runner_temp/output" "$runner_temp/path"
if (RUNNER_TEMP=$runner_temp GITHUB_OUTPUT=$runner_temp/output GITHUB_PATH=$runner_temp/path INPUT_INSTALL=build \
      bash scripts/action/install.sh >"$runner_temp/log" 2>&1) \
   && grep -qx "bin=$runner_temp/preflight/bin/preflight" "$runner_temp/output" \
   && grep -qx "$runner_temp/preflight/bin" "$runner_temp/path" \
   && "$runner_temp/preflight/bin/preflight" --version >/dev/null; then
  ok "action.yml install step, build mode (bin output, GITHUB_PATH)"
else
  bad "action.yml install step, build mode"; sed 's/^/    /' "$runner_temp/log" "$runner_temp/output"
fi
rm -rf "$runner_temp"

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
