#!/usr/bin/env bash
# Writes the git commit this tree is at (12 hex digits, "-dirty" when tracked files differ) into BINARY's
# `preflight_commit` section (Sources/CBuildStamp), so that `preflight --version` says "0.1.0 (commit …)".
# Outside a git checkout the binary keeps "unknown". objcopy replaces the section's 64 bytes in place after
# the link: no compiler flag changes with each commit, so nothing is rebuilt for it.
#   scripts/stamp-commit.sh BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:?usage: scripts/stamp-commit.sh BINARY}
commit=$(git rev-parse --short=12 HEAD 2>/dev/null) || exit 0
git diff --quiet HEAD -- 2>/dev/null || commit="$commit-dirty"
stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT
# The section is 64 bytes: the commit, then zeros (a C string).
python3 -c 'import sys; b = sys.argv[1].encode(); open(sys.argv[2], "wb").write(b + bytes(64 - len(b)))' "$commit" "$stamp"
objcopy --update-section "preflight_commit=$stamp" "$binary"
