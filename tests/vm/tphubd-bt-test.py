#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tphubd on the real Bluetooth stack, inside the test-lab VM (run by tphubd-bt.sh after
vm_bt_setup). A private mosquitto, tphubd with one station whose only tool is the Progressor
peripheral on hci1, and a one-step auto-start protocol. The peripheral streams a trace that
checks in by pressing, settles in the band, holds past the release cue and lets go slowly.
Checks, exactly: the tool's status topic (connected, battery), the event sequence, and the
finished session's rep against the trace's timing. The Progressor driver subscribes through
AcquireNotify: every sample comes through bluetoothd's notification socket (NotifyAcquired
true on the real bluetoothd, no StartNotify fallback in tphubd's log).

Usage: tphubd-bt-test.py TPHUBD TOOL_ADDRESS
Debugging: VM_TPHUBD_ARGS=-v (tphubd options), VM_TPHUBD_LOG=1 (print its log on success too)."""

import os
import select
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "daemon"))
from mqtt_harness import Broker, Subscriber, retained  # noqa: E402
from tphubd_harness import Tphubd  # noqa: E402

TPHUBD, ADDRESS = sys.argv[1], sys.argv[2].upper()
LOGDIR = os.environ.get("VM_BT_LOGDIR", "/run/tphub-vm")
HUB, STATION, PROTOCOL = "vmlab", "bench-1", "vm-press"
BATTERY_MV = 4012
PLATEAU_N = 60.0

# One press step that starts by itself: settle 0.5 s in the 20-200 N band, release cue
# 3 s later. max_hold well beyond the trace's hold, so no over_hold warning interferes.
PROTOCOL_TEXT = """title = "VM press"; description = "one auto-start press"; source = "test";
steps = ( { point = "p1"; label = "Point 1"; side = "left"; kind = "press"; start = "auto";
            settle_s = 0.5; min_hold_s = 3; target_hold_s = 3; max_hold_s = 10; reps = 1;
            rest_s = 1; contact_n = 10; release_n = 5; target_min_n = 20; target_max_n = 200;
            safety_max_n = 250; min_release_s = 0.5; } );
"""


def trace_force(t_ms):
    """0 N for 1 s (the stream settles), 60 N from 1.0 s to 7.0 s, a linear release to
    0 N over 2 s (30 N/s), then 0 N until 11 s."""
    if t_ms < 1000:
        return 0.0
    if t_ms < 7000:
        return PLATEAU_N
    if t_ms < 9000:
        return PLATEAU_N * (9000 - t_ms) / 2000
    return 0.0


# What tphubd must measure, in the trace's time (samples are stamped on arrival; the
# radio's latency is the same for every sample and cancels out of every duration):
#  - contact (smoothed >= 10 N) at the first 60 N sample, t = 1000 ms (one 80 Hz sample
#    moves the 50 ms low-pass 22 % of the way: 13.3 N);
#  - idle check-in by press (checkin_press_ms, default 1 s) at 2000 ms; the point begins
#    already pressed, the next sample starts the settling: 2000 .. 2025 ms (frames carry 2
#    samples, 25 ms apart);
#  - settled 0.5 s later: the hold starts at 2500 .. 2525 ms, the release cue at 5500 ..
#    5525 ms, while the trace still presses;
#  - the hold's mean force is 60 N (it is taken from the hold's start to the release cue,
#    where the trace is flat), so the hold ends at the start of the descent, the last sample
#    at or above 0.8 x 60 = 48 N: the ramp gets there at 7400 ms, the low-pass follows a
#    ramp tau = 50 ms late: ~7450 ms. hold_ms = 7450 - 2513 = ~4940 ms;
#  - released below 5 N: the ramp at 8833 ms, smoothed ~8883 ms: release_ms = ~1430 ms.
# Tolerance: frame batching (2 samples, 25 ms) at each end, and the notification path
# (btvirt, bluetoothd, D-Bus) sharing one or two TCG vCPUs with the peripheral. Measured
# over 15 runs, 1 and 2 vCPUs, host load up to 3.6: hold_ms 4856-4934 (typically 4900),
# release_ms 1442-1560 (typically 1450). 150 ms.
HOLD_MS, RELEASE_MS, TOL_MS = 4940, 1430, 150
EVENTS = ["checkin", "step", "press", "hold_start", "release_cue", "released", "session_end"]


def write_trace(path):
    with open(path, "w") as f:
        f.write("t_ms,force_n\n")
        for k in range(0, 881):  # 80 Hz, 0 .. 11000 ms
            t = k * 12.5
            f.write("%g,%.3f\n" % (t, trace_force(t)))


def wait_until(what, pred, timeout):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise TimeoutError("timeout (%ds) waiting for %s" % (timeout, what))
        select.select([], [], [], 0.02)


def discovering(adapter):
    out = subprocess.run(["dbus-send", "--system", "--print-reply", "--reply-timeout=2000", "--dest=org.bluez",
                          "/org/bluez/" + adapter, "org.freedesktop.DBus.Properties.Get",
                          "string:org.bluez.Adapter1", "string:Discovering"], capture_output=True, text=True)
    return "boolean true" in out.stdout


def notify_acquired(adapter, address, uuid="7e4e1702-1ea6-40c9-9dcc-13d34ffead57"):
    """NotifyAcquired of the tool's data characteristic as the real bluetoothd reports it
    (None: no such characteristic)."""
    import dbus  # the guest's python3-dbus
    om = dbus.Interface(dbus.SystemBus().get_object("org.bluez", "/"), "org.freedesktop.DBus.ObjectManager")
    dev = "/org/bluez/%s/dev_%s/" % (adapter, address.replace(":", "_"))
    for path, ifaces in om.GetManagedObjects().items():
        ch = ifaces.get("org.bluez.GattCharacteristic1")
        if ch and str(path).startswith(dev) and str(ch.get("UUID", "")).lower() == uuid:
            return bool(ch.get("NotifyAcquired", False))
    return None


def expect(failures, cond, what):
    if not cond:
        failures.append(what)


def main():
    failures = []
    tmp = tempfile.TemporaryDirectory(prefix="tphub-vm-bt-")
    t = tmp.name
    pdir = os.path.join(t, "protocols")
    os.mkdir(pdir)
    with open(os.path.join(pdir, PROTOCOL + ".conf"), "w") as f:
        f.write(PROTOCOL_TEXT)
    trace = os.path.join(t, "press.csv")
    write_trace(trace)

    broker = Broker()
    sub = Subscriber(broker.port)
    conf = os.path.join(t, "tphub.conf")
    with open(conf, "w") as f:
        f.write('hub = { name = "%s"; };\n' % HUB)
        f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n' % (pdir, t, t))
        f.write('ble = { enabled = true; adapter = "hci0"; connect_timeout_s = 20; };\n')
        f.write('mqtt = { enabled = true; uri = "tcp://127.0.0.1:%d"; version = 5; force_rate_hz = 10.0; };\n'
                % broker.port)
        f.write('stations = ( { name = "%s"; protocol = "%s";\n' % (STATION, PROTOCOL))
        f.write('  tools = ( { address = "%s"; driver = "progressor"; } ); } );\n' % ADDRESS)
    d = Tphubd(TPHUBD, conf, args=os.environ.get("VM_TPHUBD_ARGS", "").split())  # e.g. -v
    peripheral = None
    topic = "tphub/%s/%s/" % (HUB, STATION)
    try:
        d.wait_notify("READY=1", timeout=20)
        sub.wait("tphub/%s/status" % HUB, lambda s: s.get("state") == "online", timeout=20)
        # tphubd scans for its tool; advertise only once hci0 really scans (an advert that
        # arrives while discovery starts is hidden for a 10 s scan cycle: docs/test-lab.md)
        wait_until("hci0 discovering (tphubd's discovery)", lambda: discovering("hci0"), 20)
        print("# %.3f hci0 discovering" % time.monotonic())
        ready = os.path.join(t, "progressor.ready")
        plog = open(os.path.join(LOGDIR, "progressor.log"), "w")
        peripheral = subprocess.Popen(["python3", os.path.join(HERE, "progressor-peripheral.py"),
                                       "--trace", trace, "--adapter", "hci1", "--battery-mv", str(BATTERY_MV),
                                       "--ready-file", ready], stdout=plog, stderr=subprocess.STDOUT)
        wait_until("the peripheral registered", lambda: os.path.exists(ready) or peripheral.poll() is not None, 30)
        expect(failures, peripheral.poll() is None, "peripheral exited %r" % peripheral.returncode)
        t_adv = time.monotonic()
        print("# %.3f peripheral advertising" % t_adv)

        # discovered, connected, subscribed, battery asked for and answered
        tool_topic = "tphub/%s/tools/%s" % (HUB, ADDRESS)
        _, tool, _ = sub.wait(tool_topic, lambda s: s["connected"] and s["battery_mv"] is not None, timeout=30)
        t_conn = time.monotonic()
        # Seconds, not ten: a link whose GATT "never resolved" is dropped after the 10 s
        # resolve timeout and retried (bluetoothd may never signal Connected: ble-link.c).
        expect(failures, t_conn - t_adv < 8, "tool connected %.1f s after advertising" % (t_conn - t_adv))
        # the Progressor reports millivolts only (0x6F), no percentage
        expect(failures, tool["type"] == "progressor" and tool["name"] == "Progressor_VM"
               and tool["battery_mv"] == BATTERY_MV and tool["battery"] is None, "tool status %r" % tool)

        # notifications through bluetoothd's AcquireNotify socket, not PropertiesChanged
        acquired = notify_acquired("hci0", ADDRESS)
        expect(failures, acquired is True, "NotifyAcquired of the data characteristic: %r" % acquired)

        # the whole rep: check-in by press, auto start, release cue, release, end
        _, sess, ret = sub.wait(topic + "session", timeout=40)
        t_done = time.monotonic()
        expect(failures, not ret, "session must not be retained")
        # The record is spooled (and so may be published) before the events that end the
        # session are announced: those follow it.
        sub.wait(topic + "event", lambda e: e["type"] == "session_end", timeout=10)
        events = [e for e, r in sub.all(topic + "event")]
        types = [e["type"] for e in events]
        expect(failures, types == EVENTS, "events %r, want %r" % (types, EVENTS))
        for e in events:
            expect(failures, e["session_id"] == sess["id"] and e["station"] == STATION, "event %r" % e)
        rel = [e for e in events if e["type"] == "released"]
        expect(failures, rel and rel[0]["outcome"] == "completed", "released event %r" % rel)
        end = [e for e in events if e["type"] == "session_end"]
        expect(failures, end and end[0]["status"] == "completed", "session_end event %r" % end)

        expect(failures, sess["status"] == "completed" and sess["hub"] == HUB and sess["station"] == STATION
               and sess["protocol"] == PROTOCOL and sess["athlete"] is None, "session %r" % sess)
        reps = sess["steps"][0]["reps"] if len(sess["steps"]) == 1 else []
        expect(failures, len(reps) == 1, "reps %r" % sess["steps"])
        if reps:
            r = reps[0]
            expect(failures, r["outcome"] == "completed" and r["attempt"] == 1, "rep %r" % r)
            expect(failures, abs(r["hold_ms"] - HOLD_MS) <= TOL_MS, "hold_ms %r, want %d +- %d" % (r["hold_ms"], HOLD_MS, TOL_MS))
            expect(failures, abs(r["release_ms"] - RELEASE_MS) <= TOL_MS,
                   "release_ms %r, want %d +- %d" % (r["release_ms"], RELEASE_MS, TOL_MS))
            expect(failures, r["release_too_fast"] is False and r["over_hold"] is False
                   and r["over_force_warnings"] == 0, "rep flags %r" % r)
            expect(failures, abs(r["force_mean_n"] - 59.5) <= 1.0, "force_mean_n %r, want 59.5 +- 1" % r["force_mean_n"])
            expect(failures, abs(r["force_peak_n"] - PLATEAU_N) <= 0.5, "force_peak_n %r" % r["force_peak_n"])
            print("# rep: hold_ms %d (want %d), release_ms %d (want %d), force_mean_n %.2f, peak %.2f" %
                  (r["hold_ms"], HOLD_MS, r["release_ms"], RELEASE_MS, r["force_mean_n"], r["force_peak_n"]))
        # a force message is a batch of samples (docs/mqtt.md)
        forces = [x for f, _ in sub.all(topic + "force") for x in f["force_n"]]
        expect(failures, any(abs(x - PLATEAU_N) < 0.5 for x in forces), "live force never at the plateau: %r" % forces[:50])
        tool, ret = retained(broker.port, tool_topic)
        # (last_seen is not checked: the status is published on changes of the link and the
        # battery, and the battery answer comes before the first sample)
        expect(failures, ret and tool["connected"] is True and tool["battery_mv"] == BATTERY_MV,
               "retained tool status %r (retained %r)" % (tool, ret))
        log = d.read_log()
        expect(failures, "Tool %s (progressor) connected for %s" % (ADDRESS, STATION) in log, "no connect in the log")
        expect(failures, "notifications through StartNotify" not in log, "fell back to StartNotify")
        with open(os.path.join(LOGDIR, "progressor.log")) as f:
            plines = f.read().split("\n")
        for want in ("notify-on", "ctrl 0x6f", "ctrl 0x65"):
            expect(failures, want in plines, "peripheral never saw %s" % want)
        print("# advertising to connected+battery %.2f s, to the finished session %.2f s" %
              (t_conn - t_adv, t_done - t_adv))

        # a clean stop: disconnects the tool, goes offline
        after = len(sub.seen)
        d.signal(signal.SIGTERM)
        expect(failures, d.wait_exit(timeout=15) == 0, "exit status")
        sub.wait("tphub/%s/status" % HUB, lambda s: s.get("state") == "offline", after=after, timeout=10)
        st, ret = retained(broker.port, "tphub/%s/status" % HUB)
        expect(failures, ret and st == {"state": "offline"}, "offline status %r" % st)
    except Exception as e:
        failures.append("%s: %s" % (type(e).__name__, e))
    finally:
        if failures or os.environ.get("VM_TPHUBD_LOG"):
            print(d.read_log())
            print("# mqtt:", *sub.seen[-40:], sep="\n#   ")
        d.close()
        if peripheral and peripheral.poll() is None:
            peripheral.terminate()
            peripheral.wait(timeout=10)
        sub.close()
        broker.close()
        tmp.cleanup()

    print("1..1")
    print("%s 1 - tphubd on btvirt + bluetoothd through AcquireNotify: tool, events, session" %
          ("not ok" if failures else "ok"))
    for f in failures:
        print("# " + f)
    return 1 if failures else 0


sys.exit(main())
