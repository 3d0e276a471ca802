#!/usr/bin/env bash
# `make dist`: for systems without dpkg, dist/preflight-<version>-linux-<arch>.tar.gz holding what `make install`
# installs (bin/, share/: the stripped binary with its commit stamped in, completions, man page), README.md and
# CHANGELOG.md, under one preflight-<version>/ folder; then the .deb (scripts/deb.sh) and dist/SHA256SUMS for both.
# Unpack and copy bin/ and share/ under a prefix (/usr/local, ~/.local); libpq5 and libcurl4 as the README says.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(scripts/deb.sh "$@" | tail -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
DESTDIR=$work/stage scripts/install.sh /p >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }
version=$("$work/stage/p/bin/preflight" --version | cut -d' ' -f1)
arch=$(uname -m)
name=preflight-$version
mv "$work/stage/p" "$work/$name"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$work/$name/bin/preflight"
cp README.md CHANGELOG.md "$work/$name/"
tarball=preflight-$version-linux-$arch.tar.gz
# Reproducible: fixed owner, order and times (the commit's), no gzip timestamp.
when=$(git log -1 --format=%ct 2>/dev/null || date +%s)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$when" -C "$work" -cf - "$name" | gzip -9n >"dist/$tarball"
(cd dist && sha256sum "$(basename "$deb")" "$tarball" >SHA256SUMS)
echo "dist/$tarball"; echo "$deb"; echo "dist/SHA256SUMS:"; cat dist/SHA256SUMS
