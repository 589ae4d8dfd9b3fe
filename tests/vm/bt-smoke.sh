#!/bin/sh
# Guest side of the 'vm-bluetooth' smoke test: two btvirt controllers under a
# real bluetoothd; the Progressor peripheral advertises on hci1 and a client on
# hci0 discovers, connects, subscribes and checks the streamed weights.
set -eu
. scripts/vm/guest-lib.sh
TRACE=tests/vm/data/progressor-trace.csv

on_exit() {
        rc=$?
        if [ $rc != 0 ]; then
                vm_bt_logs
        fi
        exit $rc
}
trap on_exit EXIT

vm_bt_setup

# The central scans first (an advert seen while discovery is still starting
# is lost for a whole scan cycle: docs/test-lab.md).
python3 tests/vm/progressor-client.py --trace "$TRACE" --adapter hci0 \
        --battery-mv 4012 --samples 40 --min-notifications 10 --timeout 60 &
client=$!
vm_bt_wait_discovering hci0

vm_progressor_start "$TRACE" --adapter hci1 --battery-mv 4012

# hci1 really advertises one instance
vm_bt_dbus /org/bluez/hci1 org.freedesktop.DBus.Properties.Get \
        string:org.bluez.LEAdvertisingManager1 string:ActiveInstances | grep -q 'byte 1$' \
        || { vm_log "hci1 has no active advertisement"; exit 1; }

wait $client || { vm_log "client failed"; exit 1; }
grep -q '^ctrl 0x65$' "$VM_BT_LOGDIR/progressor.log"
grep -q '^ctrl 0x66$' "$VM_BT_LOGDIR/progressor.log"
# the tool vanishes: hci0 sees the link drop
dev=/org/bluez/hci0/dev_$(vm_bt_address hci1 | tr : _)
connected() {
        vm_bt_dbus "$dev" org.freedesktop.DBus.Properties.Get \
                string:org.bluez.Device1 string:Connected | grep -q "boolean $1"
}
connected true || { vm_log "$dev not connected after the client run"; exit 1; }
vm_bt_power hci1 off
vm_wait_for 20 "hci0 sees the link to hci1 drop" connected false
vm_log "bluetooth smoke test passed"
