#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs the libgpiod chip-backend test against a real kernel GPIO chip. Meant to run as
# root INSIDE the test VM (scripts/vm/), with the meson build directory mounted at the
# same path as on the host:
#
#   tests/gpio/vm/gpio-vm-test.sh BUILD_DIR
#
# It loads gpio-sim if needed (modprobe, or insmod of the .ko files listed in
# $GPIO_SIM_MODULES, in order, e.g. "irq_sim.ko gpio-sim.ko"), creates a simulated chip
# through configfs with the lines the test expects, runs BUILD_DIR/tests/gpio/test-gpio-chip
# and tears the chip down again. Exit status: the test's (0 pass, 77 skipped, else fail);
# 77 too when gpio-sim cannot be made available.

set -u

BUILD_DIR=${1:-${MESON_BUILD_ROOT:-}}
if [ -z "$BUILD_DIR" ]; then
        echo "usage: $0 BUILD_DIR" >&2
        exit 2
fi
TEST=$BUILD_DIR/tests/gpio/test-gpio-chip
if [ ! -x "$TEST" ]; then
        echo "$TEST: not built" >&2
        exit 1
fi

LABEL=${TPHUB_GPIO_SIM_LABEL:-tphub-sim}
CFS=/sys/kernel/config
DEV=$CFS/gpio-sim/tphub-test-$$
BANK=$DEV/bank0
# Offsets as tests/gpio/test-gpio-chip.c expects them; 5..7 stay unnamed.
NAMES="foot green amber red buzzer"
NUM_LINES=8

skip() {
        echo "gpio-vm-test: $*: skipping" >&2
        exit 77
}

if [ "$(id -u)" != 0 ]; then
        skip "needs root"
fi

if [ ! -d "$CFS/gpio-sim" ]; then
        if ! modprobe gpio-sim 2>/dev/null; then
                modprobe configfs 2>/dev/null
                for ko in ${GPIO_SIM_MODULES:-}; do
                        insmod "$ko" || skip "insmod $ko failed"
                done
        fi
        # configfs is a module on Debian kernels: mount it only once something needs it.
        if ! grep -q " $CFS configfs " /proc/mounts; then
                mount -t configfs none "$CFS" || skip "cannot mount configfs"
        fi
fi
[ -d "$CFS/gpio-sim" ] || skip "no gpio-sim (module missing)"

# shellcheck disable=SC2317 # called through the trap
cleanup() {
        [ -e "$DEV/live" ] && echo 0 > "$DEV/live" 2>/dev/null
        for d in "$BANK"/line*; do
                [ -d "$d" ] && rmdir "$d"
        done
        [ -d "$BANK" ] && rmdir "$BANK"
        [ -d "$DEV" ] && rmdir "$DEV"
}
trap cleanup EXIT INT TERM

mkdir "$DEV" "$BANK" || exit 1
echo "$NUM_LINES" > "$BANK/num_lines" || exit 1
echo "$LABEL" > "$BANK/label" || exit 1
offset=0
for name in $NAMES; do
        mkdir "$BANK/line$offset" || exit 1
        echo "$name" > "$BANK/line$offset/name" || exit 1
        offset=$((offset + 1))
done
echo 1 > "$DEV/live" || { echo "gpio-vm-test: cannot bring the gpio-sim chip live" >&2; exit 1; }

DEV_NAME=$(cat "$DEV/dev_name")
CHIP_NAME=$(cat "$BANK/chip_name")
SYSFS=/sys/devices/platform/$DEV_NAME/$CHIP_NAME
[ -d "$SYSFS/sim_gpio0" ] || { echo "gpio-vm-test: $SYSFS/sim_gpio0 missing" >&2; exit 1; }
echo "gpio-vm-test: $CHIP_NAME ($LABEL) at $SYSFS"

TPHUB_GPIO_SIM_LABEL=$LABEL TPHUB_GPIO_SIM_SYSFS=$SYSFS "$TEST"
rc=$?
echo "gpio-vm-test: test-gpio-chip exited $rc"
exit $rc
