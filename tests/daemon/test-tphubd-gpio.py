#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tphubd with the GPIO sim backend, end to end: the foot-switch is driven through the sim
control socket (with contact bounce), the LED and buzzer edges are read back with their
CLOCK_MONOTONIC timestamps. A whole (short) protocol is run without a force tool: check-in by
tap, each hold confirmed by tap, countdown beeps, release cue, rest, next point, a stretch,
done. Every countdown and release edge must land within 5 ms of when it is due; every output
must be off after SIGTERM."""

import os
import select
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from tphubd_harness import Tphubd  # noqa: E402

TPHUBD = sys.argv[1]
TOL_NS = 5_000_000

PROTOCOL = """
title = "GPIO test";
description = "three short confirm holds and a stretch";
source = "test";
defaults = { kind = "press"; start = "confirm"; min_hold_s = 4; target_hold_s = 4; max_hold_s = 6;
             rest_s = 2; contact_n = 10; release_n = 5; target_min_n = 20; target_max_n = 200;
             safety_max_n = 250; min_release_s = 1; };
steps = (
  { point = "p1"; label = "Point 1"; side = "left"; },
  { point = "p2"; label = "Point 2"; side = "left"; },
  { point = "p3"; label = "Point 3"; side = "left"; },
  { point = "s1"; label = "Stretch"; side = "both"; kind = "stretch"; start = "timer"; min_hold_s = 0;
    target_hold_s = 3; max_hold_s = 3; }
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

    def cmd(self, text):
        self.s.send(text.encode())
        end = time.monotonic() + 5
        while not self.replies:
            if not self.pump(max(0, end - time.monotonic())):
                raise TimeoutError("no reply to %r" % text)
        reply = self.replies.pop(0)
        if reply != "ok":
            raise RuntimeError("%r -> %r" % (text, reply))

    def wait_edge(self, line, value, after_ns=0, timeout=15.0):
        end = time.monotonic() + timeout
        while True:
            for e in self.edges:
                if e[0] == line and e[1] == value and e[2] > after_ns:
                    return e[2]
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %s=%d after %d; edges: %r" % (line, value, after_ns, self.edges[-12:]))
            self.pump(left)

    def level(self, line):
        v = [e[1] for e in self.edges if e[0] == line]
        return v[-1] if v else 0


def press(sim, seconds, bounce=True):
    """Physical levels: the switch pulls the line low (active-low)."""
    if bounce:  # contact bounce: four edges within about 2 ms
        for lvl in (0, 1, 0, 1):
            sim.cmd("in chip0 SW %d" % lvl)
    sim.cmd("in chip0 SW 0")
    end = time.monotonic() + seconds  # the press itself lasts this long: stimulus, not a wait
    while time.monotonic() < end:
        sim.pump(end - time.monotonic())
    # The tap is classified at the release edge, which the sim stamps when it reads the
    # command: between these two clock readings.
    before = time.monotonic_ns()
    sim.cmd("in chip0 SW 1")
    return before, time.monotonic_ns()


def check_hold(sim, start, target_ns, failures, name):
    """start: (earliest, latest) CLOCK_MONOTONIC the hold can have started at."""
    lo, hi = start
    green_on = sim.wait_edge("G", 1, lo)
    release = sim.wait_edge("R", 1, green_on, timeout=target_ns / 1e9 + 5)
    slack = hi - lo
    due_lo, due_hi = lo + target_ns, hi + target_ns
    beeps = [e[2] for e in sim.edges if e[0] == "BZ" and e[1] == 1 and green_on < e[2] < release]
    if len(beeps) != 3:
        failures.append("%s: %d countdown beeps: %r" % (name, len(beeps), beeps))
    for k, b in enumerate(beeps):
        off = (3 - k) * 1_000_000_000
        if not (due_lo - off - TOL_NS <= b <= due_hi - off + TOL_NS):
            failures.append("%s: beep %d off by %.2f ms (slack %.2f)" % (name, k + 1, (b - (due_lo - off)) / 1e6, slack / 1e6))
    if not (due_lo - TOL_NS <= release <= due_hi + TOL_NS):
        failures.append("%s: release cue off by %.2f ms (slack %.2f)" % (name, (release - due_lo) / 1e6, slack / 1e6))
    tone_end = sim.wait_edge("BZ", 0, release)
    if abs(tone_end - release - 800_000_000) > TOL_NS:
        failures.append("%s: release tone %.2f ms, expected 800" % (name, (tone_end - release) / 1e6))
    return release


def main():
    failures = []
    with tempfile.TemporaryDirectory(prefix="tphub-gpio-") as tmp:
        pdir = os.path.join(tmp, "protocols")
        os.mkdir(pdir)
        with open(os.path.join(pdir, "gpio-test.conf"), "w") as f:
            f.write(PROTOCOL)
        sock = os.path.join(tmp, "gpio.sock")
        conf = os.path.join(tmp, "tphub.conf")
        with open(conf, "w") as f:
            f.write('hub = { name = "lab"; };\n')
            f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n' % (pdir, tmp, tmp))
            f.write('switch = { debounce_ms = 20; tap_max_ms = 600; long_ms = 1500; very_long_ms = 4000; };\n')
            f.write('gpio = { backend = "sim"; sim_socket = "%s"; };\n' % sock)
            f.write('mqtt = { enabled = false; };\nble = { enabled = false; };\n')
            f.write('stations = ( { name = "bench-1"; protocol = "gpio-test";\n')
            f.write('  switch = { chip = "chip0"; line = "SW"; active_low = true; bias = "pull-up"; };\n')
            f.write('  cues = { chip = "chip0"; green = "G"; amber = "A"; red = "R"; buzzer = "BZ"; }; } );\n')
        d = Tphubd(TPHUBD, conf, realtime=True)
        try:
            d.wait_notify("READY=1")
            sim = Sim(sock)
            sim.cmd("in chip0 SW 1")  # released (pulled up)
            sim.wait_edge("G", 1)     # idle: attract blink

            # check in with a bounced tap: exactly one check-in, point 1 cued (amber steady)
            t0 = time.monotonic_ns()
            press(sim, 0.15)
            sim.wait_edge("A", 1, t0)
            rest_end = None
            for i in range(3):
                start = press(sim, 0.15)     # found the spot: the hold starts at the tap
                release = check_hold(sim, start, 4_000_000_000, failures, "point %d" % (i + 1))
                # the release cue (amber + red) lasts min_release (1 s); the rest (2 s) keeps
                # amber blinking 1000/2000 from its start, so red going off marks the rest
                rest_start = sim.wait_edge("R", 0, release, timeout=5)
                if abs(rest_start - release - 1_000_000_000) > TOL_NS:
                    failures.append("point %d: rest began %.2f ms after the release cue" % (i + 1, (rest_start - release) / 1e6))
                rest_end = rest_start + 2_000_000_000
                if i < 2:
                    sim.wait_edge("A", 1, rest_end - TOL_NS, timeout=5)  # next point cued
            # the stretch starts by itself when the third rest ends: a timed 3 s hold
            release = check_hold(sim, (rest_end - 1_000_000, rest_end + 1_000_000), 3_000_000_000, failures, "stretch")
            # done after the release cue (1 s): green blinks three times
            sim.wait_edge("G", 1, release + 900_000_000, timeout=5)
            log = d.wait_log(" completed (gpio-test)")
            if log.count(": checkin ") != 1:
                failures.append("%d check-ins (bounce must give one)" % log.count(": checkin "))
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
        except Exception as e:
            failures.append("%s: %s" % (type(e).__name__, e))
            print("# " + d.read_log().replace("\n", "\n# "))
        finally:
            d.close()

    print("1..1")
    print("%s 1 - full protocol run over the GPIO sim" % ("not ok" if failures else "ok"))
    for f in failures:
        print("# " + f)
    return 1 if failures else 0


sys.exit(main())
