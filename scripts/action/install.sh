#!/usr/bin/env bash
# action.yml, step "install": finds or builds preflight; writes bin=PATH to $GITHUB_OUTPUT and its folder to
# $GITHUB_PATH. INPUT_INSTALL: auto (PATH, else build), build (make install into $RUNNER_TEMP), path (PATH only).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mode=${INPUT_INSTALL:-auto}
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set (run by GitHub Actions, or point it at a file)}"

case $mode in
  auto|build|path) ;;
  *) echo "::error title=preflight action::install must be auto, build or path, not \"$mode\""; exit 2 ;;
esac

bin=
if [ "$mode" != build ]; then
  bin=$(command -v preflight || true)
  if [ -z "$bin" ] && [ "$mode" = path ]; then
    echo "::error title=preflight action::install: path, but preflight is not on PATH"
    exit 2
  fi
fi
if [ -z "$bin" ]; then
  prefix=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/preflight
  echo "building preflight from $here into $prefix (make install)"
  make -s -C "$here" install PREFIX="$prefix"
  bin=$prefix/bin/preflight
  [ -z "${GITHUB_PATH:-}" ] || echo "$prefix/bin" >>"$GITHUB_PATH"
fi
echo "preflight: $bin ($("$bin" --version))"
echo "bin=$bin" >>"$GITHUB_OUTPUT"
