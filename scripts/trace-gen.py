#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes synthetic 80 Hz force traces (t_ms,force_n,switch) of an athlete working through a
shipped protocol: the bundled demo trace and the scenario tests use them. Deterministic for a
given scenario and seed, so a trace can be regenerated instead of stored.

    scripts/trace-gen.py SCENARIO [--seed N] [-o FILE]
    scripts/trace-gen.py --list
"""

import argparse
import math
import random
import sys

HZ = 80
DT = 1000.0 / HZ


class Athlete:
    def __init__(self, seed, noise=0.4):
        self.rng = random.Random(seed)
        self.noise = noise
        self.t = 0.0
        self.f = 0.0
        self.sw = 0
        self.rows = []

    def _emit(self, f):
        self.rows.append((self.t, max(0.0, f + self.rng.gauss(0, self.noise)), self.sw))
        self.t += DT

    def ramp(self, to, seconds):
        n = max(1, int(round(seconds * HZ)))
        start = self.f
        for i in range(1, n + 1):
            self.f = start + (to - start) * i / n
            self._emit(self.f)

    def hold(self, seconds):
        for _ in range(int(round(seconds * HZ))):
            self._emit(self.f)

    def press_switch(self, seconds):
        self.sw = 1
        self.hold(seconds)
        self.sw = 0

    def tap(self):
        self.press_switch(0.2)

    def long_press(self):      # skip
        self.press_switch(2.0)

    def very_long_press(self):  # stop
        self.press_switch(6.0)

    def comment(self, text):
        self.rows.append(("#", text))

    def write(self, out):
        out.write("# synthetic athlete trace (scripts/trace-gen.py), 80 Hz\n")
        out.write("t_ms,force_n,switch\n")
        for row in self.rows:
            if row[0] == "#":
                out.write("# %s\n" % row[1])
            else:
                out.write("%.1f,%.2f,%d\n" % row)


def confirm_point(a, force, hold_s, release_s, rest_s, find_s=1.0):
    """Find the spot, tap, hold, release, rest: one confirm-started rep."""
    a.ramp(force, find_s)
    a.hold(0.5)
    a.tap()
    a.hold(hold_s)
    a.ramp(0, release_s)
    a.hold(rest_s)


def back_12(a, demo=False):
    # points 1-12: press hard for 7 s after the tap, release slowly (4 s), rest 5 s
    for i in range(1, 13):
        a.comment("back point %d" % i)
        if not demo and i == 3:
            confirm_point(a, 90, 7.4, 0.4, 5.5)     # snaps off: release too fast
        elif not demo and i == 5:
            confirm_point(a, 70, 4.0, 3.0, 5.5)     # lets go at 4 s: early release
        else:
            confirm_point(a, 60 + 5 * (i % 4), 7.4, 4.0, 5.5)
    # stretches: timed holds of 30 s, release cue 3 s, rest 5 s; the cat stretch ended by a tap
    for i in range(7):
        a.comment("stretch %d" % (i + 1))
        if not demo and i == 4:
            a.hold(10.0)
            a.tap()
            a.hold(3.0 + 5.0 - 0.2 + 0.5)
        else:
            a.hold(30.0 + 3.0 + 5.0 + 0.5)


def back_12_short(a):
    """The demo: the first three back points done well, then the athlete stops the session
    with a very long press (about a minute in all)."""
    a.hold(2.0)  # the tool is on the bench; the athlete walks up
    for i in range(1, 4):
        a.comment("back point %d" % i)
        confirm_point(a, 60 + 5 * i, 7.4, 4.0, 5.5)
    a.comment("done for today: a very long press stops the session")
    a.very_long_press()
    a.hold(2.0)


def glute_demo(a):
    """The demo's second athlete (glute-tpt, started by an MQTT command): the first point with
    a moment of far too much force (an over-force warning that clears), then the tool drops out
    mid-hold (the "drop link" comment tells scripts/demo-athlete.py when) and comes back, then
    a very long press stops the session (about 45 s in all)."""
    a.hold(4.0)  # the start command arrives while the tool lies on the bench
    a.comment("left gluteus medius: too hard for half a second")
    a.ramp(80, 1.0)
    a.hold(0.5)
    a.tap()
    a.hold(4.0)
    a.ramp(340, 0.2)   # safety_max 300 N: a warning, shorter than over_force_s, so no outcome
    a.hold(0.4)
    a.ramp(80, 0.2)
    a.hold(6.5)        # past min_hold (10 s after the tap)
    a.tap()            # it eased: the knot released
    a.hold(0.2)
    a.ramp(0, 3.0)
    a.hold(10.5)
    a.comment("right gluteus medius: the tool drops out mid-hold")
    a.ramp(80, 1.0)
    a.hold(0.5)
    a.tap()
    a.hold(3.0)
    a.comment("drop link")
    a.hold(3.0)
    a.comment("done for today: a very long press stops the session")
    a.very_long_press()
    a.ramp(0, 1.0)
    a.hold(2.0)


def ball_release(a):
    # calf L: auto start (settle 1 s in the band), held to the release cue at 90 s
    a.comment("calf left: full 90 s")
    a.ramp(180, 1.5)
    a.hold(1.0 + 90.0 + 0.3)
    a.ramp(0, 3.0)
    a.hold(10.5)
    # calf R: eases at 45 s, the athlete taps
    a.comment("calf right: tap at 45 s")
    a.ramp(160, 1.5)
    a.hold(1.0 + 45.0)
    a.tap()
    a.hold(0.3)
    a.ramp(0, 3.0)
    a.hold(10.5)
    # hip L: skipped with a long press
    a.comment("hip left: skipped")
    a.hold(1.0)
    a.long_press()
    # hip R: leans far too hard for over a second: over-force
    a.comment("hip right: over force")
    a.ramp(200, 1.0)
    a.hold(2.0)
    a.ramp(800, 0.3)
    a.hold(1.5)
    a.ramp(0, 3.0)
    a.hold(10.5)
    # TFL L: stop with a very long press mid-hold
    a.comment("tfl left: stopped")
    a.ramp(150, 1.0)
    a.hold(5.0)
    a.very_long_press()
    a.ramp(0, 1.0)


def glute_tpt(a):
    # eight points (gmed, piri, tfl, gmax; left then right per the protocol order); gmed left
    # never releases on its first two visits and does on the third
    pattern = {0: [None, None, 14.0], 1: [12.0], 2: [15.0], 3: [11.0], 4: [13.0], 5: [12.0],
               6: [16.0], 7: [10.5]}
    # gmed left's 3rd visit comes after the first stretch (3 x 30 s hold, 2 s release cue,
    # 10 s rest): "work somewhere else and then come back", never straight after the 2nd
    order = [0, 1, 2, 3, 4, 5, 6, 7, 0, "stretch", 0]
    visit = {}
    for k in order:
        if k == "stretch":
            a.comment("stretch gluteus medius, before the 3rd visit")
            a.hold(3 * (30.0 + 2.0 + 10.0))
            continue
        v = visit.get(k, 0)
        visit[k] = v + 1
        tap_at = pattern[k][v]
        a.comment("point %d visit %d" % (k, v + 1))
        a.ramp(80, 1.0)
        a.hold(0.5)
        a.tap()
        if tap_at is None:
            a.hold(20.3)          # nothing eases by 20 s: the release cue comes
        else:
            a.hold(tap_at)
            a.tap()
            a.hold(0.2)
        a.ramp(0, 3.0)
        a.hold(10.5)
    # stretches: 4 x (3 x 30 s, 10 s rest): the first two followed, then a stop
    a.comment("stretches")
    a.hold(3 * (30.0 + 2.0 + 10.0) + 1.0)
    a.very_long_press()


def ppt(a):
    # four sites x three trials: ramp at ~5 N/s, tap at first pain, release, rest 20 s
    pains = [[32, 35, 30], [28, 27, 31], [45, 41, 43], [39, 44, 40]]
    for site, trials in enumerate(pains):
        for k, pain in enumerate(trials):
            a.comment("site %d trial %d: pain at %d N" % (site + 1, k + 1, pain))
            a.ramp(pain, pain / 5.0)
            a.tap()
            a.ramp(0, 1.5)
            a.hold(20.5)


SCENARIOS = {
    "back-12": back_12,
    "back-12-demo": lambda a: back_12(a, demo=True),
    "back-12-short": back_12_short,
    "ball-release": ball_release,
    "glute-tpt": glute_tpt,
    "glute-demo": glute_demo,
    "ppt": ppt,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list or not args.scenario:
        print("\n".join(sorted(SCENARIOS)))
        return 0
    if args.scenario not in SCENARIOS:
        print("trace-gen: unknown scenario %r (try --list)" % args.scenario, file=sys.stderr)
        return 1
    a = Athlete(args.seed)
    SCENARIOS[args.scenario](a)
    out = open(args.output, "w") if args.output else sys.stdout
    a.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
