#!/usr/bin/python3
"""Host-side check of the Progressor peripheral's device logic (no D-Bus):
frame layout, pacing on the trace clock, frame packing, tare, stop, battery."""

import os
import struct
import sys
import tempfile
from importlib import import_module

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    p = import_module("progressor-peripheral")
except ImportError as e:  # python3-dbus / python3-gi missing on this host
    print(f"skipped: {e}")
    sys.exit(77)

failures = 0


def check(what, got, want):
    global failures
    if got != want:
        print(f"FAIL {what}: got {got!r}, want {want!r}")
        failures += 1


class Data:
    def __init__(self):
        self.frames = []
        self.sent = 0

    def notify(self, frame):
        self.frames.append(bytes(frame))
        self.sent += 1
        return True


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def weights(frame):
    check("frame type", frame[0], p.FRAME_WEIGHT)
    check("frame len", frame[1], len(frame) - 2)
    return [struct.unpack("<fI", frame[i:i + 8]) for i in range(2, len(frame), 8)]


with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    f.write("t_ms,force_n\n0,9.80665\n12.5,19.6133\n25,29.41995\n37.5,39.2266\n50,49.03325\n")
trace = p.load_trace(f.name)
os.unlink(f.name)
check("trace", [(t, round(kg, 6)) for t, kg in trace],
      [(0, 1.0), (12500, 2.0), (25000, 3.0), (37500, 4.0), (50000, 5.0)])

now = [100.0]
p.time.monotonic = lambda: now[0]
timers = []
p.GLib.timeout_add = lambda ms, fn: timers.append(fn) or 1
p.GLib.source_remove = lambda tag: None

data = Data()
dev = p.Progressor(trace, 3987, 2, data)

dev.command(p.CMD_BATTERY, b"")
check("battery frame", data.frames.pop(), bytes([0, 4]) + struct.pack("<I", 3987))

dev.command(p.CMD_START, b"")
check("streaming", dev.streaming, True)
check("keep ticking", dev.tick(), True)                 # t=0: sample 0 due
check("first frame", weights(data.frames.pop()), [(1.0, 0)])
now[0] += 0.030                                          # late: samples 1 and 2 due
dev.tick()
check("packed frame", weights(data.frames.pop()), [(2.0, 12500), (3.0, 25000)])
check("nothing early", (dev.tick(), data.frames), (True, []))

dev.command(p.CMD_TARE, b"")                             # relative to 3.0 kg from now on
now[0] += 0.010
dev.tick()
check("tared", weights(data.frames.pop()), [(f32(4.0 - 3.0), 37500)])

dev.command(p.CMD_STOP, b"")
check("stopped", dev.streaming, False)

dev.command(p.CMD_START, b"")                            # restart: from the top, tare cleared
now[0] += 1.0
check("stream ends", dev.tick(), False)
frames = [weights(fr) for fr in data.frames]
check("restart frames", [len(fr) for fr in frames], [2, 2, 1])
check("restart samples", [s for fr in frames for s in fr],
      [(1.0, 0), (2.0, 12500), (3.0, 25000), (4.0, 37500), (5.0, 50000)])

sys.exit(1 if failures else 0)
