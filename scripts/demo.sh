#!/bin/bash
# SPDX-License-Identifier: MIT
# Sets up and runs the main job. Until a station's hardware is attached this is the demo:
# the real tphubd with two stations, each with a simulated Tindeq Progressor (a fake
# bluetoothd on a private D-Bus), a simulated foot-switch and LEDs (the GPIO sim backend),
# a private mosquitto that also serves the dashboard (docs/dashboard.md), and tphub-recorder
# keeping the sessions for the dashboard's history pages. Two scripted
# athletes: on bench-1 an anonymous one checks in by pressing and works through three points
# of back-12, then stops; on bench-2 "ben" is started by an MQTT command on glute-tpt, leans
# far too hard for a moment (over-force warning), loses his tool mid-hold (it reconnects)
# and stops. The dashboard's URL is printed first, then what a coach sees over MQTT, live,
# and the published sessions.
#
#   scripts/demo.sh            about a minute; then, on a terminal, the dashboard stays up
#                              until Ctrl-C
#   scripts/demo.sh --stay     stay up until Ctrl-C (or SIGTERM), terminal or not
#   scripts/demo.sh --full     the whole back-12 protocol on bench-1 (about 8 minutes)
#   scripts/demo.sh --replay   no daemon: tphub-replay over the bundled trace (seconds)
#
# Ctrl-C at any moment stops everything it started and removes its files.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

mode=short
stay=false
[ -t 0 ] && stay=true
case "${1:-}" in
--full) mode=full ;;
--replay) mode=replay ;;
--stay) stay=true ;;
"") ;;
*) echo "usage: scripts/demo.sh [--full|--stay|--replay]"; exit 1 ;;
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
tool2=C8:00:00:00:00:02

run=$(mktemp -d /tmp/tphub-demo.XXXXXX)
pids=()
cleanup() {
        trap - EXIT INT TERM
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        tests/ble/sim/run-sim.sh stop "$run/bus" >/dev/null 2>&1 || true
        rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

freeport() {
        /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A private broker: plain MQTT on loopback, anonymous (the daemon and the console view), and
# websockets serving the dashboard's pages, with a password made for this run: mosquitto's
# websockets listener listens on every interface whatever it is told.
port=$(freeport)
wsport=$(freeport)
www=$build/dashboard/dashboard
pass=
{
        echo "per_listener_settings true"
        echo "persistence false"
        if [ "$(id -u)" -eq 0 ]; then echo "user root"; fi
        printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port"
        if [ -f "$www/index.html" ]; then
                pass=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
                mosquitto_passwd -b -c "$run/passwd" demo "$pass" >/dev/null
                printf 'listener %s\nprotocol websockets\nhttp_dir %s\nallow_anonymous false\npassword_file %s\n' \
                        "$wsport" "$(cd "$www" && pwd)" "$run/passwd"
        fi
} > "$run/mosquitto.conf"
mosquitto -c "$run/mosquitto.conf" > "$run/mosquitto.log" 2>&1 &
pids+=($!)
echo $! > "$run/mosquitto.pid"

# The session history: tphub-recorder on an SQLite file of this run (docs/recorder.md), so that
# the dashboard's history pages (history.html) show what the athletes did.
cat > "$run/recorder.conf" <<EOF
recorder: {
  mqtt: { uri = "tcp://127.0.0.1:$port"; client_id = "tphub-demo-recorder"; persistent_session = false; };
  store: { sqlite = "$run/recorder.db"; };
};
EOF
"$build/daemon/recorder/tphub-recorder" --config "$run/recorder.conf" > "$run/recorder.log" 2>&1 &
pids+=($!)

# The fake bluetoothd with two Progressors in range that will stream the athletes' force.
eval "$(tests/ble/sim/run-sim.sh start "$run/bus" hci0 | grep '^export')"
sim() { busctl --system -- call org.bluez / org.tphub.BlueZSim1 "$@" >/dev/null; }
scripts/trace-gen.py glute-demo -o "$run/glute-demo.csv"
sim AddTool ssssa{sv} hci0 "$tool" progressor Progressor_DEMO 0
sim LoadTraceCsv ss "$tool" "$trace"
sim AddTool ssssa{sv} hci0 "$tool2" progressor Progressor_DEMO2 0
sim LoadTraceCsv ss "$tool2" "$run/glute-demo.csv"

# The shipped example configuration, pointed at this run's broker, sockets and directories,
# plus a second station.
sed -e "s#\"protocols\", #\"$top/config/protocols\", #" \
    -e "s#tcp://127.0.0.1:1883#tcp://127.0.0.1:$port#" \
    -e "s#/tmp/tphub-demo#$run/state#g" \
    config/tphub.conf > "$run/tphub.conf"
/usr/bin/python3 - "$run/tphub.conf" "$tool2" <<'PY'
import sys
path, tool = sys.argv[1], sys.argv[2]
text = open(path).read().rstrip()
assert text.endswith(");"), "config/tphub.conf must end with the stations list"
text = text[:-2].rstrip() + """,
        {
                name = "bench-2";
                protocol = "glute-tpt";
                tools = ( { address = "%s"; driver = "progressor"; } );
                switch = { chip = "pinctrl-bcm2711"; line = "GPIO5"; };
                cues = { chip = "pinctrl-bcm2711"; green = "GPIO6"; amber = "GPIO13"; red = "GPIO19"; buzzer = "GPIO26"; };
        }
);
""" % tool
open(path, "w").write(text)
PY
gpio_sock=$run/state/gpio-sim.sock
mkdir -p "$run/state"
"$build/daemon/hub/tphubd" --check-config --config "$run/tphub.conf" >/dev/null

echo "== tphub demo: bench-1 (back-12) and bench-2 (glute-tpt), simulated Progressors $tool and $tool2"
if [ -n "$pass" ]; then
        echo "== dashboard: http://127.0.0.1:$wsport/?user=demo&pass=$pass"
        echo "== athlete view: http://127.0.0.1:$wsport/station.html?hub=demo-hub&station=bench-2&user=demo&pass=$pass"
        echo "== ben's history: http://127.0.0.1:$wsport/history.html?athlete=ben&user=demo&pass=$pass"
else
        echo "== no dashboard: it was not built (it needs npm; see docs/dashboard.md)"
fi
echo "== MQTT on 127.0.0.1:$port; the daemon's log is in $run/tphubd.log"
"$build/daemon/hub/tphubd" --config "$run/tphub.conf" > "$run/tphubd.log" 2>&1 &
pids+=($!)
echo $! > "$run/tphubd.pid"
for _ in $(seq 500); do [ -S "$gpio_sock" ] && break; sleep 0.02; done

scripts/demo-view.py --port "$port" --sessions 2 &
view=$!
pids+=($view)
scripts/demo-athlete.py --trace "$trace" --gpio-socket "$gpio_sock" --tool "$tool" &
pids+=($!)
scripts/demo-athlete.py --trace "$run/glute-demo.csv" --gpio-socket "$gpio_sock" --tool "$tool2" \
        --line GPIO5 --port "$port" --station bench-2 --start-athlete ben --start-protocol glute-tpt &
pids+=($!)
wait "$view" || true  # a view that died must not take the dashboard down with it
if $stay; then
        echo "== the demo stays up (dashboard above); Ctrl-C stops it and everything it started"
        sleep infinity &
        pids+=($!)
        wait $!
fi
