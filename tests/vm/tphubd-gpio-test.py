#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tphubd on a real GPIO character device, inside the test-lab VM (run by tphubd-gpio.sh
after vm_gpio_sim_setup). gpio.backend = "chip" (libgpiod 1.6) opens the gpio-sim chip by
its label and the lines by name. The foot-switch is pressed through the simulated pull, with
contact bounce; the LED and buzzer lines are read back from the simulated pins. One full rep
of a tool-less confirm protocol is checked: check-in tap, point cue, confirm tap, hold with
countdown beeps, release cue, rest, next point; then SIGTERM.

sysfs gives no notification when a simulated output changes, so the outputs are polled every
2 ms and each edge is stamped with CLOCK_MONOTONIC when the poll saw it; the timing bounds
allow for that and for TCG (the host test tests/daemon/test-tphubd-gpio.py holds the same
edges to +-5 ms with the sim backend).

Usage: tphubd-gpio-test.py TPHUBD CHIP_LABEL SW_DIR G_DIR A_DIR R_DIR BZ_DIR
(each DIR the gpio-sim sysfs dir of a line, with 'pull' and 'value')."""

import os
import select
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "daemon"))
from tphubd_harness import Tphubd  # noqa: E402

TPHUBD, LABEL = sys.argv[1], sys.argv[2]
SW_DIR = sys.argv[3]
OUT_DIRS = dict(zip(("G", "A", "R", "BZ"), sys.argv[4:8]))

MS = 1_000_000
TOL_NS = 100 * MS      # sysfs polling in a TCG VM is coarse; the host test proves +-5 ms
DEBOUNCE_MS = 20
HOLD_MS, MIN_RELEASE_MS, REST_MS = 4000, 1000, 2000

PROTOCOL = """title = "VM confirm"; description = "two tool-less confirm holds"; source = "test";
defaults = { kind = "press"; start = "confirm"; min_hold_s = 4; target_hold_s = 4; max_hold_s = 6;
             rest_s = 2; contact_n = 10; release_n = 5; target_min_n = 20; target_max_n = 200;
             safety_max_n = 250; min_release_s = 1; };
steps = ( { point = "p1"; label = "Point 1"; side = "left"; },
          { point = "p2"; label = "Point 2"; side = "left"; } );
"""


class Lines:
    """Polls the cue outputs' simulated pins and records edges (line, value, mono ns)."""

    def __init__(self):
        self.level = {n: self.read(n) for n in OUT_DIRS}
        self.edges = []

    @staticmethod
    def read(name):
        with open(os.path.join(OUT_DIRS[name], "value")) as f:
            return int(f.read())

    def poll(self):
        now = time.monotonic_ns()
        for n in OUT_DIRS:
            v = self.read(n)
            if v != self.level[n]:
                self.level[n] = v
                self.edges.append((n, v, now))

    def run_for(self, seconds):
        """Keeps polling for this long (a stimulus duration, not a wait for an outcome)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.poll()
            select.select([], [], [], 0.002)

    def wait_edge(self, line, value, after_ns=0, timeout=10.0):
        end = time.monotonic() + timeout
        while True:
            for e in self.edges:
                if e[0] == line and e[1] == value and e[2] > after_ns:
                    return e[2]
            if time.monotonic() > end:
                raise TimeoutError("no %s=%d after %.3f s; last edges %r" % (line, value, after_ns / 1e9, self.edges[-12:]))
            select.select([], [], [], 0.002)
            self.poll()

    def between(self, line, value, lo, hi):
        return [e[2] for e in self.edges if e[0] == line and e[1] == value and lo < e[2] < hi]


def pull(level):
    """The switch: pressed pulls the line low (active-low, to ground)."""
    with open(os.path.join(SW_DIR, "pull"), "w") as f:
        f.write("pull-down" if level == 0 else "pull-up")


def bounce(final):
    """Contact bounce: the level chatters five times, then settles at `final`; all of it
    well within debounce_ms. Returns when it settled (mono ns) and how long it chattered."""
    t0 = time.monotonic_ns()
    for lvl in (final, 1 - final, final, 1 - final, final):
        pull(lvl)
    t1 = time.monotonic_ns()
    return t1, t1 - t0


def tap(lines, failures, name):
    """A 150 ms tap, bounced at both ends. Returns the time of the release (the tap is
    classified at the release edge, so that is when the engine sees it)."""
    _, chatter = bounce(0)
    lines.run_for(0.15)
    at, chatter2 = bounce(1)
    if max(chatter, chatter2) >= DEBOUNCE_MS * MS * 3 // 4:
        failures.append("%s: the bounce took %.1f/%.1f ms, not within the %d ms debounce: no test of it"
                        % (name, chatter / MS, chatter2 / MS, DEBOUNCE_MS))
    return at


def within(failures, what, got, want):
    if abs(got - want) > TOL_NS:
        failures.append("%s %+.1f ms off (tolerance %d ms)" % (what, (got - want) / MS, TOL_NS // MS))


def main():
    failures = []
    tmp = tempfile.TemporaryDirectory(prefix="tphub-vm-gpio-")
    t = tmp.name
    pdir = os.path.join(t, "protocols")
    os.mkdir(pdir)
    with open(os.path.join(pdir, "vm-confirm.conf"), "w") as f:
        f.write(PROTOCOL)
    conf = os.path.join(t, "tphub.conf")
    with open(conf, "w") as f:
        f.write('hub = { name = "vmlab"; };\n')
        f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n' % (pdir, t, t))
        f.write('switch = { debounce_ms = %d; tap_max_ms = 600; long_ms = 1500; very_long_ms = 4000; };\n' % DEBOUNCE_MS)
        f.write('gpio = { backend = "chip"; };\nmqtt = { enabled = false; };\nble = { enabled = false; };\n')
        f.write('stations = ( { name = "bench-1"; protocol = "vm-confirm";\n')
        f.write('  switch = { chip = "%s"; line = "SW"; active_low = true; bias = "pull-up"; };\n' % LABEL)
        f.write('  cues = { chip = "%s"; green = "G"; amber = "A"; red = "R"; buzzer = "BZ"; }; } );\n' % LABEL)

    # The outputs keep gpio-sim's default pull-down: a line nobody drives reads 0, like a
    # dark LED. So after exit every output reads 0 whatever tphubd did last (gpio-sim puts a
    # released line back to its pull); what the final check proves is that tphubd let go of
    # every line on SIGTERM. That it switches them off first is in the host test
    # (test-tphubd-gpio.py, whose sim backend records every write).
    lines = Lines()
    if any(lines.level.values()):
        failures.append("outputs not 0 before tphubd: %r" % lines.level)
    # As deployed (systemd/tphubd.service): round-robin priority 10
    d = Tphubd(TPHUBD, conf, realtime=True)
    try:
        d.wait_notify("READY=1", timeout=20)
        info = subprocess.run(["gpioinfo", LABEL], capture_output=True, text=True).stdout
        want = {
            "SW": '"SW" "tphub-footswitch" input active-low [used pull-up]',
            "G": '"G" "tphub-green" output active-high [used]',
            "A": '"A" "tphub-amber" output active-high [used]',
            "R": '"R" "tphub-red" output active-high [used]',
            "BZ": '"BZ" "tphub-buzzer" output active-high [used]',
        }
        got = {}
        for ln in info.splitlines():
            ln = " ".join(ln.split())
            if ln.startswith("line "):
                got[ln.split('"')[1]] = ln.split(":", 1)[1].strip()
        for k, v in want.items():
            if got.get(k) != v:
                failures.append("gpioinfo %s: %r, want %r" % (k, got.get(k), v))
        # the switch was requested with bias pull-up: gpio-sim applied it to the pin
        with open(os.path.join(SW_DIR, "pull")) as f:
            if f.read().strip() != "pull-up":
                failures.append("the foot-switch line's bias did not reach the simulated pin")

        lines.wait_edge("G", 1)                        # idle: the green attract blink
        # check in: one bounced tap, point 1 cued (amber steady)
        t_checkin = tap(lines, failures, "check-in")
        t_point = lines.wait_edge("A", 1, t_checkin, timeout=5)
        # found it: the hold starts at the tap (its release edge)
        t_confirm = tap(lines, failures, "confirm")
        g_on = lines.wait_edge("G", 1, t_confirm, timeout=5)
        a_off = lines.wait_edge("A", 0, t_confirm, timeout=5)
        # the release cue ("done": green and amber steady, no red): amber comes back on
        t_release = lines.wait_edge("A", 1, a_off, timeout=HOLD_MS / 1000 + 5)
        within(failures, "release cue after the confirm tap:", t_release, t_confirm + HOLD_MS * MS)
        beeps = lines.between("BZ", 1, t_confirm, t_release - 50 * MS)
        if len(beeps) != 3:
            failures.append("%d countdown beeps, want 3: %r" % (len(beeps), [(b - t_confirm) / MS for b in beeps]))
        for k, b in enumerate(beeps[:3]):
            within(failures, "beep %d (due - %d s):" % (k + 1, 3 - k), b, t_confirm + (HOLD_MS - (3 - k) * 1000) * MS)
        # the release cue: green and amber on, an 800 ms tone
        g_rel = lines.wait_edge("G", 1, t_release - TOL_NS, timeout=2)
        tone = lines.wait_edge("BZ", 1, t_release - TOL_NS, timeout=2)
        tone_end = lines.wait_edge("BZ", 0, tone, timeout=3)
        within(failures, "green at the release cue:", g_rel, t_release)
        if lines.between("R", 1, t_confirm, t_release + 500 * MS):
            failures.append("red lit at a 'done' release")
        within(failures, "release tone start:", tone, t_release)
        within(failures, "release tone end (800 ms):", tone_end, t_release + 800 * MS)
        # no tool: the release cue lasts min_release, then the rest (green off, amber blinking
        # 1000/2000 from its start, off after 1 s), then point 2 (amber steady)
        t_rest = lines.wait_edge("G", 0, tone_end, timeout=5)
        within(failures, "rest (green off) after the release cue:", t_rest, t_release + MIN_RELEASE_MS * MS)
        a_blink_off = lines.wait_edge("A", 0, t_rest, timeout=5)
        within(failures, "amber off in the rest:", a_blink_off, t_rest + 1000 * MS)
        t_next = lines.wait_edge("A", 1, a_blink_off, timeout=5)
        within(failures, "point 2 cued after the rest:", t_next, t_rest + REST_MS * MS)
        if lines.level["A"] != 1 or lines.level["R"] != 0 or lines.level["G"] != 0:
            failures.append("point 2 cue: %r" % lines.level)
        # the order of it all
        order = [t_checkin, t_point, t_confirm, g_on, t_release, t_rest, t_next]
        if order != sorted(order) or a_off > t_release:
            failures.append("out of order: %r" % [(x - t_checkin) / MS for x in order])

        log = d.read_log()
        if log.count(": checkin ") != 1:
            failures.append("%d check-ins (the bounced taps must give one)" % log.count(": checkin "))
        if log.count(": hold_start ") != 1 or log.count(": release_cue ") != 1:
            failures.append("holds/release cues in the log:\n" + log)

        # SIGTERM with amber on: tphubd exits cleanly and leaves nothing driven
        d.signal(signal.SIGTERM)
        code = d.wait_exit(timeout=10)
        if code != 0:
            failures.append("exit status %d" % code)
        lines.poll()
        for n, v in lines.level.items():
            if v != 0:
                failures.append("%s reads %d after exit" % (n, v))
        info = subprocess.run(["gpioinfo", LABEL], capture_output=True, text=True).stdout
        if "[used]" in info:
            failures.append("lines still requested after exit:\n" + info)
        print("# edges (ms after the check-in tap): " + " ".join(
            "%s%d@%.0f" % (n, v, (at - t_checkin) / MS) for n, v, at in lines.edges if at >= t_checkin))
        print("# release cue %.1f ms after the confirm tap (want %d)" % ((t_release - t_confirm) / MS, HOLD_MS))
    except Exception as e:
        failures.append("%s: %s" % (type(e).__name__, e))
    finally:
        if failures:
            print(d.read_log())
        d.close()
        tmp.cleanup()

    print("1..1")
    print("%s 1 - tphubd on a gpio-sim chip: check-in, hold, countdown, release, rest, next point"
          % ("not ok" if failures else "ok"))
    for f in failures:
        print("# " + f)
    return 1 if failures else 0


sys.exit(main())
