#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tphubd with the GPIO sim backend and a real mosquitto, end to end: the foot-switch is driven
through the sim control socket (with contact bounce), the LED and buzzer edges are read back
with their CLOCK_MONOTONIC timestamps. A short protocol is run without a force tool and every
cue of docs/cues.md that a tool-less run can give is checked edge by edge, each within 5 ms of
when it is due:

- check-in by a bounced tap (exactly one check-in), point cued;
- a tap before min_hold: the immediate "not yet" rattle (4 x 25 ms) and red flash (200 ms);
- min_hold reached: the "tap now counts" double chirp, amber joining green;
- the "it eased" tap: release "done" (green + amber, one 800 ms tone), the rest;
- a timed stretch: countdown beeps at due - 3/-2/-1 s, release "done" at due;
- a point that does not release by the cue: release "not released" (amber blinking 500/1000,
  tones at 0 and 500 ms for 300 ms), then the rest away from the point (amber and red take
  turns) before its revisit, never straight back to it;
- the revisit, released: done, the session completes.

The `state` topic must carry what the athlete is told at each of these moments (prompt,
release_reason, tap_counts, next, safety_notice ...). Every output must be off after SIGTERM.

A second run adds a force tool (a Progressor on the stand-in bluetoothd, tests/ble/sim) to
show the over-force safety stop: the warning (red fast blink, double beep) from the sample
that crossed safety_max_n, and exactly over_force_s later release "over_force" (red + amber
steady, five 100 ms beeps 200 ms apart)."""

import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from mqtt_harness import Broker, Subscriber  # noqa: E402
from tphubd_harness import Tphubd  # noqa: E402

TPHUBD = sys.argv[1]
SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RUN_BLE_SIM = os.path.join(SRC, "tests", "ble", "sim", "run-sim.sh")
TOOL = "AA:00:00:00:00:01"
TOL_NS = 5_000_000
MS = 1_000_000
DEBOUNCE_MS = 20

# Times chosen so that no two sounds overlap: the countdown of a hold starts at due - 3 s.
PROTOCOL = """
title = "GPIO test";
description = "the cues of a tool-less run";
source = "test";
safety_notice = "Test notice: stop if it hurts in a new way.";
defaults = { kind = "press"; start = "confirm"; min_hold_s = 2; target_hold_s = 8; max_hold_s = 10;
             tap_ends_hold = true; rest_s = 2; revisit_rest_s = 3; contact_n = 10; release_n = 5;
             target_min_n = 20; target_max_n = 200; safety_max_n = 250; min_release_s = 1; };
steps = (
  { point = "p1"; label = "Point 1"; side = "left"; muscle = "test muscle";
    instruction = "Press point 1."; find_prompt = "Find the very sharp spot"; },
  { point = "s1"; label = "Stretch"; side = "both"; kind = "stretch"; start = "timer"; min_hold_s = 3;
    target_hold_s = 3; max_hold_s = 3; tap_ends_hold = false; },
  { point = "p2"; label = "Point 2"; side = "right"; target_hold_s = 6; needs_release_tap = true;
    not_released = "revisit"; max_tries = 2; }
);
"""


class Sim:
    def __init__(self, path, deadline=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        end = time.monotonic() + deadline
        while True:  # the socket appears once the daemon has set up GPIO (READY comes after)
            try:
                self.s.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > end:
                    raise
                select.select([], [], [], 0.01)
        self.edges = []   # (line, value, mono_ns)
        self.replies = []

    def pump(self, timeout):
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r:
            return False
        msg = self.s.recv(4096).decode().strip()
        if not msg:
            raise EOFError("sim socket closed")
        parts = msg.split()
        if parts[0] == "out":
            self.edges.append((parts[1], int(parts[2]), int(parts[3])))
        else:
            self.replies.append(msg)
        return True

    def cmds(self, *texts):
        """Sends the commands back to back, then collects their replies: the edges of a
        burst are stamped microseconds apart, as real contact bounce is, however slowly
        this process is scheduled."""
        for t in texts:
            self.s.send(t.encode())
        end = time.monotonic() + 5
        while len(self.replies) < len(texts):
            if not self.pump(max(0, end - time.monotonic())):
                raise TimeoutError("no reply to %r" % (texts,))
        for t in texts:
            reply = self.replies.pop(0)
            if reply != "ok":
                raise RuntimeError("%r -> %r" % (t, reply))

    def wait_edge(self, line, value, after_ns=0, timeout=15.0):
        end = time.monotonic() + timeout
        while True:
            for e in self.edges:
                if e[0] == line and e[1] == value and e[2] >= after_ns:
                    return e[2]
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %s=%d after %d; edges: %r" % (line, value, after_ns, self.edges[-12:]))
            self.pump(left)

    def wait_until(self, t_ns):
        """Reads edges until CLOCK_MONOTONIC reaches t_ns."""
        while True:
            left = (t_ns - time.monotonic_ns()) / 1e9
            if left <= 0:
                return
            self.pump(left)

    def between(self, line, lo, hi):
        return [(e[1], e[2]) for e in self.edges if e[0] == line and lo <= e[2] < hi]

    def level(self, line):
        v = [e[1] for e in self.edges if e[0] == line]
        return v[-1] if v else 0


def press(sim, seconds, bounce=False):
    """Physical levels: the switch pulls the line low (active-low). Returns the window in
    which the release edge was stamped (the tap is dated by it)."""
    if bounce:  # contact bounce: four edges, then the press
        sim.cmds("in chip0 SW 0", "in chip0 SW 1", "in chip0 SW 0", "in chip0 SW 1", "in chip0 SW 0")
    else:
        sim.cmds("in chip0 SW 0")
    end = time.monotonic() + seconds  # the press itself lasts this long: stimulus, not a wait
    while time.monotonic() < end:
        sim.pump(end - time.monotonic())
    before = time.monotonic_ns()
    sim.cmds("in chip0 SW 1")
    return before, time.monotonic_ns()


def expect_edges(failures, name, got, want, slack=0):
    """got: [(value, t)] as recorded; want: [(value, t_expected)] with t_expected the
    earliest time it can be due; slack: how much later it may be due (an uncertain anchor)."""
    if [v for v, _ in got] != [v for v, _ in want]:
        failures.append("%s: edges %r, expected %r" % (name, [v for v, _ in got], [v for v, _ in want]))
        return
    for k, ((v, t), (_, w)) in enumerate(zip(got, want)):
        if not (w - TOL_NS <= t <= w + slack + TOL_NS):
            failures.append("%s: edge %d (%d) off by %.2f ms (slack %.2f)" % (name, k, v, (t - w) / 1e6, slack / 1e6))


def check_countdown(sim, failures, name, start_lo, start_hi, target_ns):
    """Green steady, then 12 fast blinks and beeps at due - 3/-2/-1 s; returns due (earliest)."""
    due = start_lo + target_ns
    slack = start_hi - start_lo
    sim.wait_until(start_hi + target_ns + 20 * MS)
    beeps = sim.between("BZ", due - 3000 * MS - TOL_NS, due - 100 * MS)
    want = []
    for k in (3, 2, 1):
        want += [(1, due - k * 1000 * MS), (0, due - k * 1000 * MS + 100 * MS)]
    expect_edges(failures, name + " countdown beeps", beeps, want, slack)
    return due


FORCE_PROTOCOL = """
title = "over-force test"; description = "one hold, pressed too hard"; source = "test";
steps = ( { point = "f1"; label = "Force point"; side = "left"; kind = "press"; start = "auto"; settle_s = 0.5;
            min_hold_s = 1; target_hold_s = 20; max_hold_s = 25; rest_s = 1; contact_n = 10; release_n = 5;
            target_min_n = 20; target_max_n = 200; safety_max_n = 200; over_force_s = 1; min_release_s = 0.5; } );
"""


def write_conf(conf, tmp, pdir, sock, port, protocol, ble):
    with open(conf, "w") as f:
        f.write('hub = { name = "lab"; };\n')
        f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n' % (pdir, tmp, tmp))
        f.write('switch = { debounce_ms = %d; tap_max_ms = 600; long_ms = 1500; very_long_ms = 4000; };\n' % DEBOUNCE_MS)
        f.write('gpio = { backend = "sim"; sim_socket = "%s"; };\n' % sock)
        f.write('mqtt = { enabled = true; uri = "tcp://127.0.0.1:%d"; version = 5; };\n' % port)
        f.write('ble = { enabled = true; adapter = "hci0"; };\n' if ble else 'ble = { enabled = false; };\n')
        f.write('stations = ( { name = "bench-1"; protocol = "%s";\n' % protocol)
        if ble:
            f.write('  tools = ( { address = "%s"; driver = "progressor"; } );\n' % TOOL)
        f.write('  switch = { chip = "chip0"; line = "SW"; active_low = true; bias = "pull-up"; };\n')
        f.write('  cues = { chip = "chip0"; green = "G"; amber = "A"; red = "R"; buzzer = "BZ"; }; } );\n')


def run_over_force(failures):
    """The safety stop, with a force tool streaming a trace: check-in by press, auto hold at
    100 N, then 300 N (safety 200 N) until the stop, then let go."""
    broker = Broker()
    sub = Subscriber(broker.port, "tphub/lab/bench-1/state")
    d = None
    with tempfile.TemporaryDirectory(prefix="tphub-gpio-force-") as tmp:
        bus = os.path.join(tmp, "bus")
        out = subprocess.run([RUN_BLE_SIM, "start", bus, "hci0"], capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            failures.append("BLE simulator: " + out.stderr)
            return
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=%s/system_bus_socket" % bus)
        try:
            trace = os.path.join(tmp, "trace.csv")
            with open(trace, "w") as f:
                f.write("t_ms,force_n\n")
                for k in range(0, 60000, 25):
                    force = (0 if k < 1500 else 100 * (k - 1500) / 500 if k < 2000 else 100 if k < 5000 else
                             100 + 200 * (k - 5000) / 200 if k < 5200 else 300 if k < 7500 else
                             300 * (8500 - k) / 1000 if k < 8500 else 0)
                    f.write("%d,%.2f\n" % (k, force))
            for args in (["AddTool", "ssssa{sv}", "hci0", TOOL, "progressor", "T_progressor", "0"],
                         ["LoadTraceCsv", "ss", TOOL, trace]):
                subprocess.run(["busctl", "--system", "--", "call", "org.bluez", "/", "org.tphub.BlueZSim1", *args],
                               env=env, capture_output=True, text=True, timeout=10, check=True)
            pdir = os.path.join(tmp, "protocols")
            os.mkdir(pdir)
            with open(os.path.join(pdir, "force-test.conf"), "w") as f:
                f.write(FORCE_PROTOCOL)
            sock = os.path.join(tmp, "gpio.sock")
            conf = os.path.join(tmp, "tphub.conf")
            write_conf(conf, tmp, pdir, sock, broker.port, "force-test", ble=True)
            d = Tphubd(TPHUBD, conf, env={"DBUS_SYSTEM_BUS_ADDRESS": env["DBUS_SYSTEM_BUS_ADDRESS"]}, realtime=True)
            d.wait_notify("READY=1")
            sim = Sim(sock)
            sim.cmds("in chip0 SW 1")
            topic = "tphub/lab/bench-1/state"
            i, _, _ = sub.wait(topic, lambda s: s["state"] == "hold", timeout=30)
            t_hold = time.monotonic_ns()
            onset = sim.wait_edge("R", 1, t_hold - 500 * MS, timeout=10)
            r = sim.wait_edge("A", 1, onset, timeout=5)
            sim.wait_until(r + 1200 * MS)
            # the warning: red 100/200 and a double beep (80 on, 80 off, 80 on) from its onset
            expect_edges(failures, "over-force warning red", sim.between("R", onset, onset + 900 * MS),
                         [(v, onset + k * 100 * MS) for k, v in zip(range(9), (1, 0) * 5)])
            expect_edges(failures, "over-force warning beeps", sim.between("BZ", onset, onset + 900 * MS),
                         [(1, onset), (0, onset + 80 * MS), (1, onset + 160 * MS), (0, onset + 240 * MS)])
            if abs(r - onset - 1000 * MS) > TOL_NS:
                failures.append("safety stop %.2f ms after the warning, expected 1000" % ((r - onset) / 1e6))
            # the stop: five 100 ms beeps 200 ms apart (the warning's beep due at the same
            # instant may have switched the buzzer on a hair earlier), red and amber steady
            want = []
            for k in range(5):
                want += [(1, r + 200 * k * MS), (0, r + (200 * k + 100) * MS)]
            expect_edges(failures, "safety stop beeps", sim.between("BZ", r - TOL_NS, r + 1100 * MS), want)
            if sim.between("R", r + MS, r + 1000 * MS) or sim.between("A", r + MS, r + 1000 * MS):
                failures.append("safety stop: red/amber not steady: %r %r" % (
                    sim.between("R", r + MS, r + 1000 * MS), sim.between("A", r + MS, r + 1000 * MS)))
            log = d.wait_log(" completed (force-test)", timeout=20)
            if ": over_force " not in log:
                failures.append("no over_force event")
            _, s, _ = sub.wait(topic, lambda s: s["state"] == "hold" and "over_force" in s["warnings"], after=i)
            if s["prompt"] != "Too hard: ease off":
                failures.append("state during the warning: %r" % s)
            _, s, _ = sub.wait(topic, lambda s: s["state"] == "release", after=i)
            if s["release_reason"] != "over_force" or s["prompt"] != "Too hard for too long: release slowly now":
                failures.append("state at the safety stop: %r" % s)
            d.signal(signal.SIGTERM)
            if d.wait_exit() != 0:
                failures.append("over-force run: exit status %d" % d.proc.returncode)
        except Exception as e:
            failures.append("over-force run: %s: %s" % (type(e).__name__, e))
            if d:
                print("# " + d.read_log().replace("\n", "\n# "))
        finally:
            if d:
                d.close()
            subprocess.run([RUN_BLE_SIM, "stop", bus], capture_output=True, timeout=30)
            sub.close()
            broker.close()


def main():
    failures = []
    broker = Broker()
    sub = Subscriber(broker.port, "tphub/lab/bench-1/state")
    d = None
    with tempfile.TemporaryDirectory(prefix="tphub-gpio-") as tmp:
        pdir = os.path.join(tmp, "protocols")
        os.mkdir(pdir)
        with open(os.path.join(pdir, "gpio-test.conf"), "w") as f:
            f.write(PROTOCOL)
        sock = os.path.join(tmp, "gpio.sock")
        conf = os.path.join(tmp, "tphub.conf")
        write_conf(conf, tmp, pdir, sock, broker.port, "gpio-test", ble=False)
        d = Tphubd(TPHUBD, conf, realtime=True)
        try:
            d.wait_notify("READY=1")
            sim = Sim(sock)
            sim.cmds("in chip0 SW 1")  # released (pulled up)
            sim.wait_edge("G", 1)      # idle: attract blink
            sub.wait("tphub/lab/bench-1/state", lambda s: s["state"] == "idle" and s["safety_notice"] is None)

            # check in with a bounced tap: exactly one check-in, point 1 cued (amber steady)
            t0 = time.monotonic_ns()
            press(sim, 0.15, bounce=True)
            sim.wait_edge("A", 1, t0)

            # -- point 1: a tap before min_hold, the min_hold signal, the "it eased" tap --
            hs = press(sim, 0.15)                  # the hold starts at this tap
            sim.wait_until(hs[1] + 1000 * MS)
            ny = press(sim, 0.1)                   # 1 s in: does not count
            sim.wait_until(ny[1] + (DEBOUNCE_MS + 300) * MS)
            bz = sim.between("BZ", ny[0], ny[1] + 1000 * MS)
            red = sim.between("R", ny[0], ny[1] + 1000 * MS)
            if not bz:
                failures.append("not yet: no sound")
            else:
                first = bz[0][1]
                # rendered when the debounce confirms the release, then in full from there
                if not (ny[0] + DEBOUNCE_MS * MS - TOL_NS <= first <= ny[1] + DEBOUNCE_MS * MS + TOL_NS):
                    failures.append("not yet: %.2f ms after the tap's release edge" % ((first - ny[0]) / 1e6))
                want = []
                for k in range(4):
                    want += [(1, first + 50 * k * MS), (0, first + (50 * k + 25) * MS)]
                expect_edges(failures, "not yet rattle", bz, want)
                expect_edges(failures, "not yet red", red, [(1, first), (0, first + 200 * MS)])

            # min_hold (2 s): amber joins green and a double chirp
            sim.wait_until(hs[1] + 2300 * MS)
            slack = hs[1] - hs[0]
            tc = hs[0] + 2000 * MS
            expect_edges(failures, "tap counts chirp", sim.between("BZ", tc - 50 * MS, tc + 300 * MS),
                         [(1, tc), (0, tc + 60 * MS), (1, tc + 120 * MS), (0, tc + 180 * MS)], slack)
            expect_edges(failures, "tap counts amber", sim.between("A", tc - 50 * MS, tc + 300 * MS), [(1, tc)], slack)

            sim.wait_until(hs[1] + 3000 * MS)
            eased = press(sim, 0.1)                # 3 s in: it eased, the hold ends
            # release "done" from the tap: green + amber steady, 800 ms tone; 1 s later the rest
            sim.wait_until(eased[1] + 1500 * MS)
            rel_bz = sim.between("BZ", eased[0], eased[1] + 1500 * MS)
            expect_edges(failures, "release done tone", rel_bz[1:], [(0, eased[0] + 800 * MS)], eased[1] - eased[0])
            if not rel_bz or rel_bz[0][0] != 1:
                failures.append("release done: no tone at the tap: %r" % rel_bz)
            if sim.between("R", eased[0], eased[1] + 1500 * MS):
                failures.append("release done: red lit")
            # the hold's green stays (done is green + amber); the rest turns it off at +1 s
            expect_edges(failures, "release done, then rest", sim.between("G", eased[0], eased[1] + 1500 * MS),
                         [(0, eased[0] + 1000 * MS)], eased[1] - eased[0])

            # -- the stretch starts by itself when the rest ends (2 s): a timed 3 s hold --
            rest_start = eased[0] + 1000 * MS
            st = sim.wait_edge("G", 1, rest_start + 2000 * MS - TOL_NS, timeout=5)
            due = check_countdown(sim, failures, "stretch", rest_start + 2000 * MS,
                                  max(st, eased[1] + 3000 * MS), 3000 * MS)
            sim.wait_until(st + 3000 * MS + 900 * MS)
            expect_edges(failures, "stretch release tone", sim.between("BZ", due - 50 * MS, due + 900 * MS),
                         [(1, due), (0, due + 800 * MS)], st - (rest_start + 2000 * MS))

            # -- point 2: no "it released" tap by the cue (6 s) --
            p2_cued = sim.wait_edge("A", 1, due + 3000 * MS - TOL_NS, timeout=5)  # 1 s release + 2 s rest
            hs2 = press(sim, 0.15)
            due2 = check_countdown(sim, failures, "point 2", hs2[0], hs2[1], 6000 * MS)
            sim.wait_until(hs2[1] + 6000 * MS + 1100 * MS)
            slack2 = hs2[1] - hs2[0]
            expect_edges(failures, "not released tones", sim.between("BZ", due2 - 50 * MS, due2 + 1100 * MS),
                         [(1, due2), (0, due2 + 300 * MS), (1, due2 + 500 * MS), (0, due2 + 800 * MS)], slack2)
            # amber: on since the tap-counts signal (4 s before), so the blink's first edge is
            # off; at +1 s the away rest begins with amber on
            expect_edges(failures, "not released amber blink", sim.between("A", due2 - 50 * MS, due2 + 1100 * MS),
                         [(0, due2 + 500 * MS), (1, due2 + 1000 * MS)], slack2)
            # -- the rest away from the point: 3 s (revisit_rest_s), amber and red take turns --
            away = due2 + 1000 * MS
            sim.wait_until(hs2[1] + 6000 * MS + 1000 * MS + 3000 * MS + 300 * MS)
            expect_edges(failures, "away rest red", sim.between("R", away - 50 * MS, away + 3000 * MS - 50 * MS),
                         [(1, away + 1000 * MS), (0, away + 2000 * MS)], slack2)
            # the revisit's amber steady follows the rest's last amber phase without an edge:
            # its cue is awaited on the state topic
            topic = "tphub/lab/bench-1/state"
            i, s, _ = sub.wait(topic, lambda s: s["state"] == "rest" and (s["next"] or {}).get("kind") == "revisit")
            # published as the rest began: it lasts revisit_rest_s (3 s), not rest_s (2 s)
            if not 2900 <= (s["remaining_ms"] or 0) <= 3000:
                failures.append("away rest: remaining_ms %r at its start, expected 3000" % s["remaining_ms"])
            sub.wait(topic, lambda s: s["state"] == "point" and s["point"] == "p2", after=i)

            # -- the revisit: it releases at 2.5 s; the session completes --
            hs3 = press(sim, 0.15)
            sim.wait_until(hs3[1] + 2500 * MS)
            fin = press(sim, 0.1)
            sim.wait_until(fin[1] + 900 * MS)
            expect_edges(failures, "revisit release tone", sim.between("BZ", fin[0], fin[1] + 900 * MS)[1:],
                         [(0, fin[0] + 800 * MS)], fin[1] - fin[0])
            log = d.wait_log(" completed (gpio-test)")
            if log.count(": checkin ") != 1:
                failures.append("%d check-ins (bounce must give one)" % log.count(": checkin "))
            if log.count(": not_yet ") != 1:
                failures.append("%d not_yet events" % log.count(": not_yet "))

            # -- what the state topic told the athlete at each of these moments --
            notice = "Test notice: stop if it hurts in a new way."
            i, s, _ = sub.wait(topic, lambda s: s["state"] == "point" and s["point"] == "p1")
            for k, v in {"steps_total": 3, "side": "left", "muscle": "test muscle", "instruction": "Press point 1.",
                         "prompt": "Find the very sharp spot", "safety_notice": notice, "release_reason": None,
                         "tap_counts": False, "target_hold_ms": 8000, "target_min_n": 20, "target_max_n": 200,
                         "safety_max_n": 250,
                         "next": {"kind": "stretch", "step": 1, "point": "s1", "label": "Stretch", "side": "both"}}.items():
                if s.get(k) != v:
                    failures.append("state at check-in: %s = %r, expected %r" % (k, s.get(k), v))
            i, s, _ = sub.wait(topic, lambda s: s["state"] == "hold" and s["tap_counts"], after=i)
            if s["point"] != "p1" or s["prompt"] != "Tap when it eases":
                failures.append("state once a tap counts: %r" % s)
            i, s, _ = sub.wait(topic, lambda s: s["state"] == "release", after=i)
            if s["release_reason"] != "done" or s["prompt"] != "Release slowly" or s["tap_counts"]:
                failures.append("state at the done release: %r" % s)
            i, s, _ = sub.wait(topic, lambda s: s["state"] == "hold" and s["point"] == "s1", after=i)
            if s["target_min_n"] is not None or s["safety_max_n"] is not None or s["next"]["point"] != "p2":
                failures.append("state in the stretch: %r" % s)
            i, s, _ = sub.wait(topic, lambda s: s["state"] == "release" and s["point"] == "p2", after=i)
            if (s["release_reason"] != "not_released" or s["prompt"] != "Let go, we come back to this point later"
                    or (s["next"] or {}).get("kind") != "rest"):
                failures.append("state at the not-released release: %r" % s)
            i, s, _ = sub.wait(topic, lambda s: s["state"] == "rest", after=i)
            if (s["prompt"] != "Rest away from this point, we come back to it" or s["release_reason"] is not None
                    or (s["next"] or {}).get("kind") != "revisit" or s["next"]["point"] != "p2"):
                failures.append("state in the away rest: %r" % s)
            i, s, _ = sub.wait(topic, lambda s: s["state"] == "release", after=i)
            if s["release_reason"] != "done" or (s["next"] or {}).get("kind") != "end":
                failures.append("state at the last release: %r" % s)
            sub.wait(topic, lambda s: s["state"] == "done" and s["safety_notice"] is None, after=i)
            if any(s["safety_notice"] != notice for s, _ in sub.all(topic)
                   if s["state"] not in ("idle", "done")):
                failures.append("a running session's state without the safety notice")

            d.signal(signal.SIGTERM)
            code = d.wait_exit()
            if code != 0:
                failures.append("exit status %d" % code)
            try:
                while sim.pump(0.5):
                    pass
            except EOFError:
                pass
            for line in ("G", "A", "R", "BZ"):
                if sim.level(line) != 0:
                    failures.append("%s left on after SIGTERM" % line)
            if failures:
                base = hs[0]
                for e in sim.edges:
                    print("# edge %-2s %d at %+10.3f ms" % (e[0], e[1], (e[2] - base) / 1e6))
        except Exception as e:
            failures.append("%s: %s" % (type(e).__name__, e))
            print("# " + d.read_log().replace("\n", "\n# "))
        finally:
            d.close()
            sub.close()
            broker.close()

    force_failures = []
    run_over_force(force_failures)
    print("1..2")
    print("%s 1 - the cues of a tool-less protocol run over the GPIO sim" % ("not ok" if failures else "ok"))
    for f in failures:
        print("# " + f)
    print("%s 2 - the over-force safety stop with a force tool" % ("not ok" if force_failures else "ok"))
    for f in force_failures:
        print("# " + f)
    return 1 if failures or force_failures else 0


sys.exit(main())
