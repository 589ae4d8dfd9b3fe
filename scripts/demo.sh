#!/bin/bash
# SPDX-License-Identifier: MIT
# Sets up and runs the main job. Until a station's hardware is attached this is the demo:
# the real tphubd, with a simulated Tindeq Progressor (a fake bluetoothd on a private D-Bus),
# a simulated foot-switch and LEDs (the GPIO sim backend) and a private mosquitto. A scripted
# athlete works through the first points of back-12 and then stops; what a coach's dashboard
# would see over MQTT is printed live, then the published session.
#
#   scripts/demo.sh            about a minute: back-12, three points, then stop
#   scripts/demo.sh --full     the whole back-12 protocol (about 8 minutes)
#   scripts/demo.sh --replay   no daemon: tphub-replay over the bundled trace (seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

mode=short
case "${1:-}" in
--full) mode=full ;;
--replay) mode=replay ;;
"") ;;
*) echo "usage: scripts/demo.sh [--full|--replay]"; exit 1 ;;
esac

# TPHUB_BUILD_DIR: use an existing build (the test suite runs the demo this way).
build=${TPHUB_BUILD_DIR:-build-demo}
if [ -z "${TPHUB_BUILD_DIR:-}" ]; then
        scripts/install-deps.sh
        [ -d "$build" ] || meson setup "$build" --buildtype=release >/dev/null
        ninja -C "$build" >/dev/null
fi

if [ "$mode" = replay ]; then
        echo "== back-12 replayed from config/traces/back-12-demo.csv"
        echo "== time(s)  event          step rep    value  point"
        exec "$build/daemon/replay/tphub-replay" --config config/tphub.conf --protocol back-12 \
                --trace config/traces/back-12-demo.csv --events
fi

trace=$top/config/traces/back-12-short.csv
[ "$mode" = full ] && trace=$top/config/traces/back-12-demo.csv
tool=C8:00:00:00:00:01

run=$(mktemp -d /tmp/tphub-demo.XXXXXX)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        tests/ble/sim/run-sim.sh stop "$run/bus" >/dev/null 2>&1 || true
        rm -rf "$run"
}
trap cleanup EXIT INT TERM

# A private broker on a free loopback port.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" > "$run/mosquitto.conf"
[ "$(id -u)" -eq 0 ] && echo "user root" >> "$run/mosquitto.conf"
mosquitto -c "$run/mosquitto.conf" > "$run/mosquitto.log" 2>&1 &
pids+=($!)

# The fake bluetoothd with one Progressor in range that will stream the athlete's force.
eval "$(tests/ble/sim/run-sim.sh start "$run/bus" hci0 | grep '^export')"
sim() { busctl --system -- call org.bluez / org.tphub.BlueZSim1 "$@" >/dev/null; }
sim AddTool ssssa{sv} hci0 "$tool" progressor Progressor_DEMO 0
sim LoadTraceCsv ss "$tool" "$trace"

# The shipped example configuration, pointed at this run's broker, sockets and directories.
sed -e "s#\"protocols\", #\"$top/config/protocols\", #" \
    -e "s#tcp://127.0.0.1:1883#tcp://127.0.0.1:$port#" \
    -e "s#/tmp/tphub-demo#$run/state#g" \
    config/tphub.conf > "$run/tphub.conf"
gpio_sock=$run/state/gpio-sim.sock
mkdir -p "$run/state"
"$build/daemon/hub/tphubd" --check-config --config "$run/tphub.conf" >/dev/null

echo "== tphub demo: station bench-1 (back-12), Progressor $tool (simulated), MQTT on port $port"
echo "== the daemon's log is in $run/tphubd.log"
"$build/daemon/hub/tphubd" --config "$run/tphub.conf" > "$run/tphubd.log" 2>&1 &
pids+=($!)
for _ in $(seq 500); do [ -S "$gpio_sock" ] && break; sleep 0.02; done

scripts/demo-view.py --port "$port" &
view=$!
scripts/demo-athlete.py --trace "$trace" --gpio-socket "$gpio_sock" --tool "$tool" &
pids+=($!)
wait "$view"
