# Helpers for scripts that run INSIDE the tphub test-lab VM (scripts/vm/run.sh).
# Source it:  . scripts/vm/guest-lib.sh
#
# Every wait is a poll with a deadline (the kernel and BlueZ give no
# convenient event to block on from a shell); nothing sleeps a fixed time.
# Functions print diagnostics to stderr and return non-zero on failure.

VM_ROOT=${TPHUB_ROOT:-$(pwd)}   # project root (run.sh exports TPHUB_ROOT)
VM_GPIO_SIM_CFG=/sys/kernel/config/gpio-sim
VM_BT_LOGDIR=${VM_BT_LOGDIR:-/run/tphub-vm}
VM_BT_CRYPTO_MODULES="af_alg algif_hash algif_skcipher cmac ecb ctr ccm drbg jitterentropy_rng
        sha512_generic sha3_generic ansi_cprng ecc ecdh_generic crc16 rfkill bnep"

vm_log() { echo "vm: $*" >&2; }

# vm_wait_for TIMEOUT_SECS DESCRIPTION COMMAND [ARGS...]
# Re-run COMMAND (quietly) every 20 ms until it succeeds or the deadline passes.
vm_wait_for() {
        local timeout=$1 what=$2 start now
        shift 2
        start=$(date +%s%N)
        while ! "$@" >/dev/null 2>&1; do
                now=$(date +%s%N)
                if [ $(( (now - start) / 1000000 )) -ge $(( timeout * 1000 )) ]; then
                        vm_log "timeout (${timeout}s) waiting for: $what"
                        return 1
                fi
                sleep 0.02
        done
}

# Milliseconds since boot, for timing reports.
vm_now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# --- GPIO ------------------------------------------------------------------

# vm_gpio_sim_setup NAME NUM_LINES LABEL [LINE_NAME...]
# Create a live gpio-sim chip with one bank; line K gets the K-th name
# (an empty string leaves it unnamed). Prints the chip device (/dev/gpiochipN).
vm_gpio_sim_setup() {
        local name=$1 num=$2 label=$3 dir i=0 chip n
        shift 3
        modprobe gpio-sim || return 1
        if ! mountpoint -q /sys/kernel/config; then
                mount -t configfs configfs /sys/kernel/config || return 1
        fi
        dir=$VM_GPIO_SIM_CFG/$name
        mkdir "$dir" "$dir/bank0" || return 1
        echo "$num" > "$dir/bank0/num_lines" || return 1
        echo "$label" > "$dir/bank0/label" || return 1
        for n in "$@"; do
                if [ -n "$n" ]; then
                        mkdir "$dir/bank0/line$i" && echo "$n" > "$dir/bank0/line$i/name" || return 1
                fi
                i=$((i + 1))
        done
        echo 1 > "$dir/live" || return 1
        chip=$(cat "$dir/bank0/chip_name") || return 1
        vm_wait_for 5 "/dev/$chip" test -c "/dev/$chip" || return 1
        echo "/dev/$chip"
}

# vm_gpio_sim_line_dir NAME LINE: sysfs dir with 'pull' and 'value' of a line.
vm_gpio_sim_line_dir() {
        local dir=$VM_GPIO_SIM_CFG/$1
        echo "/sys/devices/platform/$(cat "$dir/dev_name")/$(cat "$dir/bank0/chip_name")/sim_gpio$2"
}

# vm_gpio_sim_pull NAME LINE pull-up|pull-down: drive an input like a switch would.
vm_gpio_sim_pull() {
        echo "$3" > "$(vm_gpio_sim_line_dir "$1" "$2")/pull"
}

# vm_gpio_sim_value NAME LINE: print the level the simulated pin sees (0/1),
# i.e. what a requested output drives.
vm_gpio_sim_value() {
        cat "$(vm_gpio_sim_line_dir "$1" "$2")/value"
}

# --- Bluetooth -------------------------------------------------------------

vm_bt_dbus() { # dbus-send to org.bluez on the system bus, printing the reply
        dbus-send --system --print-reply --reply-timeout=2000 --dest=org.bluez "$@"
}

vm_bt_has_adapter() { # hciN: bluetoothd exports the adapter
        vm_bt_dbus / org.freedesktop.DBus.ObjectManager.GetManagedObjects 2>/dev/null \
                | grep -q "object path \"/org/bluez/$1\""
}

vm_bt_powered() { # hciN: Adapter1.Powered is true
        vm_bt_dbus "/org/bluez/$1" org.freedesktop.DBus.Properties.Get \
                string:org.bluez.Adapter1 string:Powered 2>/dev/null | grep -q 'boolean true'
}

vm_bt_unpowered() { ! vm_bt_powered "$1"; }

vm_bt_discovering() { # hciN: Adapter1.Discovering is true
        vm_bt_dbus "/org/bluez/$1" org.freedesktop.DBus.Properties.Get \
                string:org.bluez.Adapter1 string:Discovering 2>/dev/null | grep -q 'boolean true'
}

vm_bt_address() { # hciN: print the adapter's address
        vm_bt_dbus "/org/bluez/$1" org.freedesktop.DBus.Properties.Get \
                string:org.bluez.Adapter1 string:Address | sed -n 's/.*string "\(.*\)"/\1/p'
}

# vm_bt_setup: system D-Bus, btvirt with two LE controllers (hci0, hci1)
# linked by an emulated radio, and a real bluetoothd; both adapters powered.
# Extra bluetoothd options from $VM_BLUETOOTHD_ARGS. Logs go to $VM_BT_LOGDIR.
vm_bt_setup() {
        local t0 a
        t0=$(vm_now_ms)
        mkdir -p "$VM_BT_LOGDIR" /run/dbus /var/lib/bluetooth
        chmod 0700 /var/lib/bluetooth
        # shellcheck disable=SC2086
        modprobe -a hci_vhci $VM_BT_CRYPTO_MODULES || return 1

        if [ ! -S /run/dbus/system_bus_socket ]; then
                dbus-daemon --system --fork || return 1
                vm_wait_for 10 "system bus socket" test -S /run/dbus/system_bus_socket || return 1
        fi

        btvirt -L -l2 > "$VM_BT_LOGDIR/btvirt.log" 2>&1 &
        VM_BTVIRT_PID=$!
        vm_wait_for 10 "hci0 and hci1 from btvirt" \
                test -e /sys/class/bluetooth/hci0 -a -e /sys/class/bluetooth/hci1 \
                || { cat "$VM_BT_LOGDIR/btvirt.log" >&2; return 1; }

        # shellcheck disable=SC2086
        bluetoothd -n ${VM_BLUETOOTHD_ARGS:-} > "$VM_BT_LOGDIR/bluetoothd.log" 2>&1 &
        VM_BLUETOOTHD_PID=$!
        for a in hci0 hci1; do
                vm_wait_for 20 "bluetoothd adapter $a" vm_bt_has_adapter "$a" \
                        || { cat "$VM_BT_LOGDIR/bluetoothd.log" >&2; return 1; }
                vm_bt_dbus "/org/bluez/$a" org.freedesktop.DBus.Properties.Set \
                        string:org.bluez.Adapter1 string:Powered variant:boolean:true >/dev/null \
                        || return 1
                vm_wait_for 20 "$a powered" vm_bt_powered "$a" \
                        || { cat "$VM_BT_LOGDIR/bluetoothd.log" >&2; return 1; }
        done
        vm_log "bluetooth ready: hci0 $(vm_bt_address hci0), hci1 $(vm_bt_address hci1) in $(( $(vm_now_ms) - t0 )) ms"
}

# vm_bt_power hciN on|off: switch an adapter (off = the device vanishes:
# its links drop, as when a real tool powers down or leaves range).
vm_bt_power() {
        local want=true
        [ "$2" = on ] || want=false
        vm_bt_dbus "/org/bluez/$1" org.freedesktop.DBus.Properties.Set \
                string:org.bluez.Adapter1 string:Powered variant:boolean:$want >/dev/null || return 1
        if [ $want = true ]; then
                vm_wait_for 20 "$1 powered" vm_bt_powered "$1"
        else
                vm_wait_for 20 "$1 powered off" vm_bt_unpowered "$1"
        fi
}

# vm_bt_wait_discovering hciN [SECS]: wait until the adapter really scans.
# Start a peripheral's advertising only after this: an advert that arrives
# while discovery is starting is lost for a whole 10.24 s scan cycle.
vm_bt_wait_discovering() {
        vm_wait_for "${2:-20}" "$1 discovering" vm_bt_discovering "$1"
}

# vm_progressor_start TRACE_CSV [progressor-peripheral.py options...]
# Start the Progressor peripheral (default on hci1) in the background, wait
# until its GATT application and advertisement are registered. Sets
# VM_PROGRESSOR_PID; its stdout log is $VM_BT_LOGDIR/progressor.log.
vm_progressor_start() {
        local trace=$1 ready
        shift
        ready=$VM_BT_LOGDIR/progressor.ready
        rm -f "$ready"
        python3 "$VM_ROOT/tests/vm/progressor-peripheral.py" --trace "$trace" \
                --ready-file "$ready" "$@" > "$VM_BT_LOGDIR/progressor.log" 2>&1 &
        VM_PROGRESSOR_PID=$!
        vm_wait_for 30 "progressor peripheral registered" test -e "$ready" \
                || { cat "$VM_BT_LOGDIR/progressor.log" >&2; return 1; }
}

# vm_bt_logs: dump btvirt/bluetoothd logs (call on failure).
vm_bt_logs() {
        local f
        for f in "$VM_BT_LOGDIR"/*.log; do
                [ -e "$f" ] || continue
                echo "----- $f" >&2
                cat "$f" >&2
        done
}
