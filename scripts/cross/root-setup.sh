# SPDX-License-Identifier: MIT
# Run inside a fresh Debian 12 root (tests/package/debian12-root.sh) by cross-test.sh: the
# arm64 and armhf cross compilers, the build dependencies for both through multiarch, and
# qemu-user-static to run what they build.
set -eu
mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
# Release and updates only: their Packages agree across architectures (multiarch needs the
# same version of a library for every architecture), which a security index being refreshed
# on a mirror need not.
cat > /etc/apt/sources.list <<LIST
deb $mirror bookworm main
deb $mirror bookworm-updates main
LIST
dpkg --add-architecture arm64
dpkg --add-architecture armhf
apt-get -qq update
libs="libc6-dev libsystemd-dev libjson-c-dev libconfig-dev libgpiod-dev libpaho-mqtt-dev libsqlite3-dev
      libasound2-dev libpq5 libssl-dev"
apt-get install -y -q --no-install-recommends \
        gcc make libc6-dev gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf qemu-user-static \
        meson ninja-build pkg-config cmake scdoc python3 nodejs npm debhelper dpkg-dev fakeroot systemd udev \
        $(for l in $libs; do echo $l:arm64 $l:armhf; done) libpq-dev:arm64
# libpq-dev is not multiarch co-installable (its two architectures conflict): one is
# installed, both are kept here, and cross-test.sh swaps in the one each build needs.
mkdir -p /var/cache/tphub-cross
(cd /var/cache/tphub-cross && apt-get download libpq-dev:arm64 libpq-dev:armhf)
