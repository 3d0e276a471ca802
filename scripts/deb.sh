#!/usr/bin/env bash
# `make deb`: dist/preflight_<version>_<arch>.deb with dpkg-deb, from what `make install` installs under /usr:
# the stripped static release binary (its commit stamped in), the man page, bash/zsh/fish completions, the
# Debian copyright and changelog; Depends from the binary's own NEEDED libraries (dpkg-shlibdeps),
# Recommends libpq5 and libcurl4 (opened on first use: Sources/CLazyLibs). Then lintian must pass.
#   scripts/deb.sh [--no-lintian]      prints the .deb's path on its last line
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root

DESTDIR=$root scripts/install.sh /usr >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }
bin=$root/usr/bin/preflight
version=$("$bin" --version | cut -d' ' -f1)
arch=$(dpkg --print-architecture)
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$bin"

# Debian's places: zsh's vendor completions (site-functions is the local admin's), a compressed man page.
mkdir -p "$root/usr/share/zsh/vendor-completions"
mv "$root/usr/share/zsh/site-functions/_preflight" "$root/usr/share/zsh/vendor-completions/_preflight"
rmdir "$root/usr/share/zsh/site-functions"
gzip -9n "$root/usr/share/man/man1/preflight.1"
# bash sources its completions: swift-argument-parser's script starts with a #! line it does not need.
sed -i '1{/^#!/d}' "$root/usr/share/bash-completion/completions/preflight"

# Documentation: copyright (machine-readable format) and, for a native package, changelog.gz in Debian's format.
doc=$root/usr/share/doc/preflight
install -d "$doc" "$root/usr/share/lintian/overrides"
install -m 0644 packaging/debian/copyright "$doc/copyright"
gzip -9nc packaging/debian/changelog >"$doc/changelog.gz"
install -m 0644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/preflight"
chmod -R u=rwX,go=rX "$root"

# Depends: what the binary needs to start, as dpkg-shlibdeps reads its NEEDED entries and symbol versions.
mkdir -p "$work/src/debian"
printf 'Source: preflight\n\nPackage: preflight\nArchitecture: any\n' >"$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O -e"$bin" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb: dpkg-shlibdeps found no dependencies for $bin" >&2; exit 1; }
# Packed relative relocations (Package.swift) need glibc 2.36's loader; Debian's symbols file does not list the
# GLIBC_ABI_DT_RELR version the binary requires, so dpkg-shlibdeps says 2.35: raise it.
if readelf -V "$bin" | grep -q GLIBC_ABI_DT_RELR; then
  depends=$(echo "$depends" | sed -E 's/libc6 \(>= 2\.3[0-5]\)/libc6 (>= 2.36)/')
fi

mkdir -p "$root/DEBIAN"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$depends/" \
    -e "s/@SIZE@/$(du -sk --exclude=DEBIAN "$root" | cut -f1)/" packaging/debian/control >"$root/DEBIAN/control"
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

mkdir -p dist
deb=dist/preflight_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null

if [ "${1:-}" != --no-lintian ]; then
  command -v lintian >/dev/null || { echo "deb: lintian is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
  # Errors and warnings fail; each override in packaging/debian/lintian-overrides says why it is there.
  lintian --fail-on error,warning --tag-display-limit 0 "$deb" >&2
fi
echo "$repo/$deb"
