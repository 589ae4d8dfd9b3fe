#!/bin/bash
# SPDX-License-Identifier: MIT
# Installs what tphub needs on Debian 12 / Raspberry Pi OS bookworm.
#   scripts/install-deps.sh          build + run
#   scripts/install-deps.sh --test   also what the tests need
set -euo pipefail

build=(meson ninja-build pkg-config gcc libsystemd-dev libgpiod-dev gpiod libpaho-mqtt-dev
       libjson-c-dev libconfig-dev cmake python3 mosquitto mosquitto-clients dbus-daemon
       python3-dbus python3-dbusmock python3-gi systemd util-linux procps scdoc udev
       libsqlite3-dev libpq-dev libasound2-dev espeak-ng)
test=(clang valgrind openssl chromium debhelper dpkg-dev debootstrap python3-seccomp
      postgresql-15 sqlite3 alsa-utils)
# The dashboard is built from npm packages (by lockfile): node and npm. A node from elsewhere
# (e.g. NodeSource, whose nodejs package carries npm) is fine: only what is missing is asked for.
command -v node >/dev/null || build+=(nodejs)
command -v npm >/dev/null || build+=(npm)

want=("${build[@]}")
[ "${1:-}" = "--test" ] && want+=("${test[@]}")

missing=()
for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
echo "Installing: ${missing[*]}"
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "${missing[@]}"
