#!/usr/bin/env bash
# The package on a fresh Debian 12 root: make deb here, then ../shared/tools/fresh-root.sh (a debootstrap root,
# every run pristine) installs it with apt and checks it (packaging/fresh-root-check.sh). Needs root and apt's network.
#   scripts/deb-fresh-root.sh            FRESH_ROOT_TOOL=… to point at fresh-root.sh elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
tool=${FRESH_ROOT_TOOL:-../shared/tools/fresh-root.sh}
[ -x "$tool" ] || { echo "deb-fresh-root: no $tool (set FRESH_ROOT_TOOL)" >&2; exit 1; }
deb=$(scripts/deb.sh --no-lintian | tail -1)
shared=$(mktemp -d)
trap 'rm -rf "$shared"' EXIT
cp "$deb" packaging/fresh-root-check.sh "$shared/"
"$tool" run --shared "$shared" --branch "$(git rev-parse --abbrev-ref HEAD)" . -- bash /src/shared/fresh-root-check.sh
