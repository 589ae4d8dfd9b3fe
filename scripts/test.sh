#!/bin/bash
# SPDX-License-Identifier: MIT
# Sets up and runs every test: installs the Debian packages, builds with -Werror under
# ASan+UBSan and runs the whole suite, runs the C tests once more under valgrind, and ends
# with "N passed, N failed". Usage: scripts/test.sh   (from anywhere in the checkout)
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test || exit 1

builds=()
run_suite() { # dir, meson setup args..., -- meson test args...
        local dir=$1; shift
        local setup=() testargs=()
        while [ $# -gt 0 ] && [ "$1" != "--" ]; do setup+=("$1"); shift; done
        [ "${1:-}" = "--" ] && shift
        testargs=("$@")
        if [ ! -d "$dir" ]; then
                meson setup "$dir" --werror "${setup[@]}" >/dev/null || { echo "meson setup $dir failed"; return 1; }
        fi
        ninja -C "$dir" >/dev/null || { ninja -C "$dir" | tail -30; echo "build in $dir failed"; return 1; }
        meson test -C "$dir" --print-errorlogs "${testargs[@]}"
        builds+=("$dir")
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# The QEMU test lab (real kernel: gpio-sim, btvirt + bluetoothd) needs root to build; without
# it the VM tests report themselves skipped.
if [ "$(id -u)" -eq 0 ] && scripts/vm/build.sh; then
        export TPHUB_VM_TESTS=1
else
        echo "VM test lab not built (needs root): VM tests will be skipped."
fi

# Everything, under ASan+UBSan.
run_suite build-test -Db_sanitize=address,undefined -Db_lundef=false -- --num-processes 2 \
        --no-suite package --no-suite cross

# The C tests again under valgrind (memcheck, leaks are errors); fewer random traces there.
# Child processes (python, dbus-daemon, mosquitto) are not traced: only our code is checked.
if command -v valgrind >/dev/null; then
        TPHUB_RANDOM_TRACES=200 run_suite build-valgrind -- --num-processes 2 \
                --suite shared --suite engine --suite config --suite drivers --suite gpio --suite store --suite mqtt --suite ble --suite hub \
                --wrapper "valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no" \
                --timeout-multiplier 10
fi

# The Debian package, built and installed into a throwaway Debian 12 root (upgrade, remove,
# purge), and the arm64/armhf cross builds with their C unit suites under qemu-user. Both
# need root (debootstrap, chroot); the roots are cached under build-test/debian12-cache.
if [ "$(id -u)" -eq 0 ]; then
        TPHUB_PACKAGE_TESTS=1 TPHUB_CROSS_TESTS=1 meson test -C build-test --no-rebuild --print-errorlogs \
                --logbase testlog-package --suite package --suite cross
fi

scripts/test-summary.py "${builds[@]}"
