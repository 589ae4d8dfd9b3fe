#!/bin/bash
# SPDX-License-Identifier: MIT
# Cross-builds tphub for the Raspberry Pi's architectures and runs the C unit suites there:
# for each of arm64 and armhf, in a throwaway Debian 12 root with the cross toolchain and the
# :arm64/:armhf build dependencies (multiarch; made once by root-setup.sh and cached as a
# tarball), dpkg-buildpackage -a ARCH builds the .deb with meson and this directory's cross
# file, whose exe_wrapper runs each test binary under qemu-user (dh_auto_test: the suites of
# debian/rules' override_dh_auto_test: engine, config, drivers, store, MQTT parsing, cue
# patterns). Code that breaks only there (alignment, unsigned char, 32-bit long and time_t on
# armhf, byte order in decoders) fails here. Prints TAP: one line per test per architecture
# and one per .deb; the .debs are left in BUILD_DIR/cross/.
#   cross-test.sh SRC BUILD_DIR [ARCH...]   (root; skipped unless TPHUB_CROSS_TESTS=1)
set -uo pipefail
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
shift 2
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(arm64 armhf)
if [ "${TPHUB_CROSS_TESTS:-}" != 1 ] || [ "$(id -u)" -ne 0 ]; then
        echo "1..0 # SKIP needs root and TPHUB_CROSS_TESTS=1 (scripts/test.sh sets it)"
        exit 0
fi
. "$src/tests/package/debian12-root.sh"

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
        n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
        [ $# -gt 1 ] && printf '%s\n' "$2" | tail -40 | sed 's/^/# /'
        return 0
}
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; exit $?; }

work=$build/cross
cache=$build/debian12-cache
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work/root"' EXIT

t0=$(date +%s)
if ! out=$( { make_base "$cache" && make_flavour "$cache" "$src/scripts/cross/root-setup.sh" cross &&
              root_unpack "$cache/bookworm-cross.tar" "$work/root"; } 2>&1); then
        notok "a Debian 12 root with the arm64 and armhf cross toolchains" "$out"
        finish
fi
root=$work/root
ok "a Debian 12 root with the arm64 and armhf cross toolchains ($(( $(date +%s) - t0 )) s)"

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
for arch in "${archs[@]}"; do
        t0=$(date +%s)
        tree=$root/build/$arch/tphub-$version
        mkdir -p "$tree"
        (cd "$src" && git ls-files -z --cached --others --exclude-standard |
                while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
                xargs -0 cp --parents -t "$tree")
        # Fewer random engine traces under emulation (the native suite runs 2000). libpq-dev
        # of this architecture first (root-setup.sh: the two cannot be installed together).
        root_run "$root" /bin/sh -c "dpkg -s libpq-dev:$arch >/dev/null 2>&1 ||
                { dpkg -r --force-depends libpq-dev && dpkg -i /var/cache/tphub-cross/libpq-dev_*_$arch.deb; }" \
                > "$work/$arch-libpq.log" 2>&1
        root_run "$root" /bin/sh -c "cd /build/$arch/tphub-$version &&
                DH_MESON_CROSS_FILE=/build/$arch/tphub-$version/scripts/cross/$arch.ini \
                TPHUB_RANDOM_TRACES=200 TPHUB_MESON_OPTIONS=-Dwerror=true \
                DEB_BUILD_OPTIONS='parallel=2 crossbuildcanrunhostbinaries' \
                dpkg-buildpackage -us -uc -b -d -a$arch -Pcross" > "$work/$arch-build.log" 2>&1
        rc=$?
        secs=$(( $(date +%s) - t0 ))
        obj=$(ls -d "$tree"/obj-* 2>/dev/null | head -1)
        logs=$(ls "$obj"/meson-logs/testlog*.json 2>/dev/null)
        if [ -n "$logs" ]; then
                # every test that ran, as it ended
                python3 - "$arch" $logs <<'EOF'
import json, sys
arch = sys.argv[1]
for log in sys.argv[2:]:
    for line in open(log):
        t = json.loads(line)
        status = "ok" if t["result"] in ("OK", "EXPECTEDFAIL") else "skip" if t["result"] == "SKIP" else "not ok"
        print("%s\t%s %s under qemu-user (%.2f s)" % (status, arch, t["name"], t["duration"]))
EOF
        fi > "$work/$arch-tests.txt"
        while IFS=$'\t' read -r status name; do
                case $status in
                ok) ok "$name" ;;
                skip) n=$((n + 1)); echo "ok $n - $name # SKIP" ;;
                *) notok "$name" "$(grep -A30 "$(sed 's/ under.*//; s/^[^ ]* //' <<< "$name")" "$obj/meson-logs/testlog.txt" | head -30)" ;;
                esac
        done < "$work/$arch-tests.txt"
        deb=$root/build/$arch/tphub_${version}_$arch.deb
        if [ $rc -eq 0 ] && [ -f "$deb" ] && [ -s "$work/$arch-tests.txt" ] &&
           [ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ]; then
                mkdir -p "$work/debs"
                cp "$deb" "$work/debs/"
                ok "the $arch .deb builds with its unit suites under qemu-user ($secs s)"
        else
                notok "the $arch .deb builds with its unit suites under qemu-user" "$(tail -30 "$work/$arch-build.log")"
        fi
done
finish
