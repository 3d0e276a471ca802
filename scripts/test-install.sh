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
# The version is the debug build's; the installed binary also names the commit it was built from (stamp-commit.sh).
out=$(cd / && env -i PATH=/usr/bin:/bin HOME=/nonexistent "$bin" --version 2>&1)
want="$("$repo/.build/debug/preflight" --version 2>/dev/null | cut -d' ' -f1) (commit $(git -C "$repo" rev-parse --short=12 HEAD)"
case $out in
  "$want)" | "$want-dirty)") ok "runs from / with a bare environment (version $out)" ;;
  *) bad "--version from /: $out (expected $want…)" ;;
esac
closed=$("$repo/Tests/Fixtures/pg-cluster.sh" free-port)
(cd / && env -i PATH=/usr/bin:/bin "$bin" --target "http://127.0.0.1:$closed" --only port --no-color >/dev/null 2>&1)
rc=$?
[ "$rc" -eq 1 ] && ok "a run against a closed port is no-go (exit 1)" || bad "a run against a closed port exited $rc"

# libpq and libcurl are opened on first use (Sources/CLazyLibs): not in NEEDED, not loaded by --version or a
# dead-port run (ld.so's own trace says what a run initialised), loaded and working for real PostgreSQL and HTTP.
needed=$(readelf -dW "$bin" 2>&1 | grep NEEDED)
if [ -n "$needed" ] && ! echo "$needed" | grep -qE 'libpq|libcurl'; then
  ok "neither libpq nor libcurl in NEEDED ($(echo "$needed" | grep -oE '\[[^]]+\]' | tr -d '[]' | tr '\n' ' '))"
else
  bad "NEEDED lists libpq or libcurl:"; echo "$needed" | sed 's/^/    /'
fi
inits() { (cd / && env -i PATH=/usr/bin:/bin LD_DEBUG=libs "$bin" "$@" 2>&1 >/dev/null) | grep 'calling init:' | grep -oE '[^/]+\.so[.0-9]*$'; }
heavy='^(libpq|libcurl|libcrypto|libssl)'
for run in "--version" "--target http://127.0.0.1:$closed --only port"; do
  # shellcheck disable=SC2086  # $run is the argument list
  loaded=$(inits $run)
  if [ -n "$loaded" ] && ! echo "$loaded" | grep -qE "$heavy"; then
    ok "preflight $run loads neither libpq nor libcurl ($(echo "$loaded" | wc -l) libraries initialised)"
  else
    bad "preflight $run initialised: $(echo "$loaded" | tr '\n' ' ')"
  fi
done
pgdir=$(mktemp -d)
coproc FIXTURE { exec python3 "$repo/Tests/Fixtures/http-fixture.py" json 200 '{"status":"ok"}'; }
read -r _ api_port <&"${FIXTURE[0]}"
if pg_env=$("$repo/Tests/Fixtures/pg-cluster.sh" start "$pgdir" 2>&1) && [ -n "$api_port" ]; then
  pg_url=$(echo "$pg_env" | sed -n 's/^PG_URL=//p')
  args=(--target "http://127.0.0.1:$api_port" --database-url "$pg_url" --only port,health,database --no-color)
  out=$(cd / && env -i PATH=/usr/bin:/bin "$bin" "${args[@]}" 2>&1); rc=$?
  loaded=$(inits "${args[@]}")
  if [ "$rc" -eq 0 ] && echo "$loaded" | grep -qx 'libpq.so.5' && echo "$loaded" | grep -qx 'libcurl.so.4'; then
    ok "a run against real PostgreSQL and HTTP loads libpq and libcurl and is go"
  else
    bad "a run against real PostgreSQL and HTTP: exit $rc, initialised $(echo "$loaded" | tr '\n' ' ')"; echo "$out" | sed 's/^/    /'
  fi
  # A library that cannot be loaded: one line at the check that needs it, and runs that need neither still work.
  # Root only: a private mount namespace hides the real file behind /dev/null ("file too short").
  if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    hide() {  # hide SONAME, then run the binary with the rest
      local real; real=$(readlink -f "$(ldconfig -p | awk -v n="$1" '$1 == n {print $NF; exit}')"); shift
      unshare -m sh -c 'mount --bind /dev/null "$1" && shift && cd / && exec env -i PATH=/usr/bin:/bin "$@"' sh "$real" "$bin" "$@" 2>&1
    }
    out=$(hide libpq.so.5 "${args[@]}"); rc=$?
    if [ "$rc" -eq 2 ] && [ "$(echo "$out" | grep -c .)" -eq 1 ] && echo "$out" | grep -q 'cannot load libpq (libpq.so.5): .*; install libpq5'; then
      ok "without libpq a database URL is one config error (exit 2)"
    else
      bad "without libpq: exit $rc"; echo "$out" | sed 's/^/    /'
    fi
    out=$(hide libcurl.so.4 --target "http://127.0.0.1:$api_port" --only port,health --no-color); rc=$?
    if [ "$rc" -eq 1 ] && echo "$out" | grep -q 'preflight cannot send HTTP requests: cannot load libcurl (libcurl.so.4): .*; install libcurl4'; then
      ok "without libcurl the health check fails with one line (exit 1)"
    else
      bad "without libcurl: exit $rc"; echo "$out" | sed 's/^/    /'
    fi
    out=$(hide libpq.so.5 --version); rc=$?
    out2=$(hide libcurl.so.4 --target "http://127.0.0.1:$closed" --only port --no-color); rc2=$?
    if [ "$rc" -eq 0 ] && [ "$rc2" -eq 1 ] && echo "$out2" | grep -q 'connection refused'; then
      ok "without libpq --version works, without libcurl a dead-port run works"
    else
      bad "without libpq --version exit $rc ($out); without libcurl dead port exit $rc2"; echo "$out2" | sed 's/^/    /'
    fi
  else
    echo "SKIP install: a missing libpq/libcurl (needs root and unshare -m)"
  fi
else
  bad "could not start PostgreSQL and the HTTP fixture for the real run"; echo "$pg_env" | sed 's/^/    /'
fi
"$repo/Tests/Fixtures/pg-cluster.sh" stop "$pgdir" >/dev/null 2>&1
rm -rf "$pgdir"
fixture_pid=$FIXTURE_PID
eval "exec ${FIXTURE[1]}>&-"
wait "$fixture_pid" 2>/dev/null

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

# make deb from the same (warm) release build: lintian passes (scripts/deb.sh runs it: --fail-on error,warning),
# the package holds the binary stripped, the man page, the three completions in Debian's places, copyright and
# changelog, and says what it depends on and recommends.
if deb=$(scripts/deb.sh 2>"$prefix.lintian" | tail -1) && [ -f "$deb" ]; then
  ok "make deb: $(basename "$deb"), lintian --fail-on error,warning passes"
  contents=$(dpkg-deb --contents "$deb" | awk '{print $NF}')
  missing=""
  for f in ./usr/bin/preflight ./usr/share/man/man1/preflight.1.gz ./usr/share/bash-completion/completions/preflight \
           ./usr/share/zsh/vendor-completions/_preflight ./usr/share/fish/vendor_completions.d/preflight.fish \
           ./usr/share/doc/preflight/copyright ./usr/share/doc/preflight/changelog.gz; do
    echo "$contents" | grep -qx "$f" || missing+=" $f"
  done
  [ -z "$missing" ] && ok "the package holds the binary, man page, completions, copyright and changelog" || bad "the package lacks:$missing"
  recommends=$(dpkg-deb --field "$deb" Recommends) depends=$(dpkg-deb --field "$deb" Depends)
  if [ "$recommends" = "libpq5, libcurl4" ] && echo "$depends" | grep -q 'libc6' && ! echo "$depends" | grep -qE 'libpq|libcurl'; then
    ok "Depends: $depends; Recommends: $recommends"
  else
    bad "Depends: $depends; Recommends: $recommends"
  fi
  unpacked=$(mktemp -d)
  dpkg-deb --extract "$deb" "$unpacked"
  if file "$unpacked/usr/bin/preflight" | grep -q ', stripped' && "$unpacked/usr/bin/preflight" --version | grep -q '(commit [0-9a-f]'; then
    ok "the packaged binary is stripped and names its commit ($("$unpacked/usr/bin/preflight" --version))"
  else
    bad "the packaged binary: $(file -b "$unpacked/usr/bin/preflight"); $("$unpacked/usr/bin/preflight" --version 2>&1)"
  fi
  rm -rf "$unpacked"
else
  bad "make deb (lintian or the build failed)"; sed 's/^/    /' "$prefix.lintian"
fi
rm -f "$prefix.lintian"

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
