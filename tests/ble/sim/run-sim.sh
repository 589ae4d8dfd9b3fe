#!/bin/sh
# Starts a private system-type dbus-daemon and the fake bluetoothd in DIR (created if
# missing), for the demo or manual runs. Prints the line to export for tphubd / busctl.
#   tests/ble/sim/run-sim.sh start DIR [ADAPTER...]   (default adapter: hci0)
#   tests/ble/sim/run-sim.sh stop DIR
set -eu
cmd=${1:?start|stop}
dir=${2:?directory}
here=$(cd "$(dirname "$0")" && pwd)

case "$cmd" in
start)
        shift 2
        [ $# -gt 0 ] || set -- hci0
        adapters=$(printf '"%s",' "$@")
        mkdir -p "$dir"
        dir=$(cd "$dir" && pwd)
        cat > "$dir/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$dir/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
CONF
        dbus-daemon --config-file="$dir/bus.conf" --fork --print-pid=1 > "$dir/bus.pid"
        DBUS_SYSTEM_BUS_ADDRESS="unix:path=$dir/system_bus_socket"
        export DBUS_SYSTEM_BUS_ADDRESS
        /usr/bin/python3 -m dbusmock --system -t "$here/tphub_bluez.py" \
                -p "{\"adapters\": [${adapters%,}]}" > "$dir/sim.log" 2>&1 &
        echo $! > "$dir/sim.pid"
        # wait (bounded) for the simulator to own org.bluez
        i=0
        until busctl --system status org.bluez >/dev/null 2>&1; do
                i=$((i + 1))
                [ $i -lt 100 ] || { echo "simulator did not start, see $dir/sim.log" >&2; exit 1; }
                sleep 0.1
        done
        echo "export DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS"
        ;;
stop)
        for f in sim.pid bus.pid; do
                [ -f "$dir/$f" ] && kill "$(cat "$dir/$f")" 2>/dev/null || true
                rm -f "$dir/$f"
        done
        ;;
*)
        echo "usage: $0 start|stop DIR [ADAPTER...]" >&2
        exit 2
        ;;
esac
