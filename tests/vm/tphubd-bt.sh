#!/bin/sh
# Guest side of 'vm-tphubd-bluetooth': tphubd on the real Bluetooth stack (btvirt hci0 +
# hci1 under a real bluetoothd and system D-Bus) with a private mosquitto. The Progressor
# peripheral on hci1 presses a trace; tests/vm/tphubd-bt-test.py checks what tphubd makes of
# it on MQTT. Usage: tphubd-bt.sh TPHUBD
set -eu
. scripts/vm/guest-lib.sh

on_exit() {
        rc=$?
        if [ $rc != 0 ]; then
                vm_bt_logs
        fi
        exit $rc
}
trap on_exit EXIT

vm_bt_setup
python3 tests/vm/tphubd-bt-test.py "$1" "$(vm_bt_address hci1)"
