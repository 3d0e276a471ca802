#!/usr/bin/env bash
# `make install PREFIX=…`: the release binary (Swift's standard library linked in, no RPATH), its shell
# completions and its man page, under PREFIX (DESTDIR is prepended, for packagers).
#
#   scripts/install.sh PREFIX [BINARY]     BINARY defaults to the static release build, built here if needed
#
# Layout: PREFIX/bin/preflight
#         PREFIX/share/bash-completion/completions/preflight
#         PREFIX/share/zsh/site-functions/_preflight
#         PREFIX/share/fish/vendor_completions.d/preflight.fish
#         PREFIX/share/man/man1/preflight.1
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${1:?usage: scripts/install.sh PREFIX [BINARY]}
root="${DESTDIR:-}$prefix"
release_flags=(-c release --static-swift-stdlib --disable-local-rpath)
if [ $# -ge 2 ]; then
  binary=$2
else
  set +e
  swift build "${release_flags[@]}" --product preflight 2>&1 | grep -E 'error|warning: unre|Build of product'
  built=${PIPESTATUS[0]}
  set -e
  [ "$built" -eq 0 ] || { echo "install: the release build failed" >&2; exit 1; }
  binary="$(swift build "${release_flags[@]}" --show-bin-path)/preflight"
fi
[ -x "$binary" ] || { echo "install: no binary at $binary (the build failed?)" >&2; exit 1; }

# The installed binary runs from anywhere: no RPATH/RUNPATH into the build tree.
if command -v readelf >/dev/null; then
  if readelf -d "$binary" | grep -E 'RPATH|RUNPATH' | grep -q '\.build'; then
    echo "install: $binary has an RPATH into .build:" >&2
    readelf -d "$binary" | grep -E 'RPATH|RUNPATH' >&2
    exit 1
  fi
fi

install -d "$root/bin" "$root/share/bash-completion/completions" "$root/share/zsh/site-functions" \
  "$root/share/fish/vendor_completions.d" "$root/share/man/man1"
install -m 0755 "$binary" "$root/bin/preflight"
scripts/stamp-commit.sh "$root/bin/preflight"   # --version names the commit it was built from

# Completions from swift-argument-parser (--generate-completion-script), by the binary just installed.
"$root/bin/preflight" --generate-completion-script bash >"$root/share/bash-completion/completions/preflight"
"$root/bin/preflight" --generate-completion-script zsh >"$root/share/zsh/site-functions/_preflight"
"$root/bin/preflight" --generate-completion-script fish >"$root/share/fish/vendor_completions.d/preflight.fish"

# The man page from swift-argument-parser's generate-manual plugin. Its tool is run directly on the installed
# binary: `swift package plugin generate-manual` would build preflight again, without the static flags.
set +e
swift build --product generate-manual 2>&1 | grep -E 'error'
built=${PIPESTATUS[0]}
set -e
[ "$built" -eq 0 ] || { echo "install: building swift-argument-parser's generate-manual tool failed" >&2; exit 1; }
bin=$(swift build --show-bin-path)
tool=$bin/generate-manual  # the product's name; a build folder that ran the plugin also has generate-manual-tool
[ -x "$tool" ] || tool=$bin/generate-manual-tool
[ -x "$tool" ] || { echo "install: swift-argument-parser's generate-manual was not built (looked in $bin)" >&2; exit 1; }
manual=$(mktemp -d)
trap 'rm -rf "$manual"' EXIT
"$tool" "$root/bin/preflight" --output-directory "$manual" >/dev/null
install -m 0644 "$manual/preflight.1" "$root/share/man/man1/preflight.1"

echo "installed preflight $("$root/bin/preflight" --version) under $root:"
echo "  bin/preflight, share/man/man1/preflight.1, completions for bash, zsh and fish"
