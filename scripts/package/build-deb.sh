#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the tphub Debian package from this checkout's working tree (committed or not) with
# dpkg-buildpackage -us -uc -b, on a copy under the output directory so that nothing is
# written outside the checkout. Prints the path of the .deb.
#   scripts/package/build-deb.sh [--arch ARCH] [--out DIR]
#     --arch ARCH   cross-build for a Debian architecture (arm64, armhf): needs the
#                   multiarch build dependencies (scripts/cross/setup-root.sh has them)
#     --out DIR     where to build and leave the .deb (default: build-deb/ in the checkout)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
arch="" out="$src/build-deb"
while [ $# -gt 0 ]; do
        case "$1" in
        --arch) arch=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-deb.sh: unknown argument $1" >&2; exit 2 ;;
        esac
done
host_arch=$(dpkg --print-architecture)
[ -n "$arch" ] || arch=$host_arch
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)

work="$out/$arch"
rm -rf "$work"
mkdir -p "$work/tphub-$version"
# The tracked files plus new ones not yet committed, never build trees or other ignored files.
(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
        (cd "$src" && xargs -0 cp --parents -t "$work/tphub-$version" 2>/dev/null || true)
(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
        while IFS= read -r -d '' f; do
                [ -e "$src/$f" ] || continue
                [ -e "$work/tphub-$version/$f" ] || { echo "build-deb.sh: could not copy $f" >&2; exit 1; }
        done

args=(-us -uc -b)
if [ "$arch" != "$host_arch" ]; then
        args+=(-a"$arch" -Pcross,nocheck)
        export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }nocheck"
fi
(cd "$work/tphub-$version" && dpkg-buildpackage "${args[@]}") > "$work/build.log" 2>&1 || {
        tail -40 "$work/build.log" >&2
        echo "build-deb.sh: dpkg-buildpackage failed for $arch (log: $work/build.log)" >&2
        exit 1
}
deb="$work/tphub_${version}_${arch}.deb"
[ -f "$deb" ] || { echo "build-deb.sh: $deb was not made" >&2; exit 1; }
echo "$deb"
