#!/usr/bin/env bash
# Regenerates the README's checks table from `preflight checks --format markdown` (ChecksListingTests keeps it current).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PREFLIGHT_BIN:-.build/debug/preflight}
table=$("$bin" checks --format markdown)
TABLE="$table" python3 - <<'PY'
import os
s = open("README.md").read()
b = "<!-- checks-table:begin (generated: preflight checks --format markdown) -->\n"
e = "<!-- checks-table:end -->"
i, j = s.index(b) + len(b), s.index(e)
t = os.environ["TABLE"] + "\n"
open("README.md", "w").write(s[:i] + t + s[j:])
PY
