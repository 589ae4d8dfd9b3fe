# SPDX-License-Identifier: MIT
"""The stand-in bluetoothd (tests/ble/sim) on a private bus, for daemon tests: start, control
calls through busctl, the calls a device object received, bluetoothd killed and back."""

import os
import signal
import subprocess
import time


class Sim:
    def __init__(self, src, dirname, adapters=("hci0",)):
        self.src = src
        self.dir = dirname
        self.run_sim = os.path.join(src, "tests", "ble", "sim", "run-sim.sh")
        out = subprocess.run([self.run_sim, "start", dirname, *adapters], capture_output=True, text=True,
                             timeout=30)
        if out.returncode != 0:
            raise RuntimeError("simulator: " + out.stderr)
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=%s/system_bus_socket" % dirname)
        self.bus_address = self.env["DBUS_SYSTEM_BUS_ADDRESS"]

    def busctl(self, *args):
        out = subprocess.run(["busctl", "--system", "--", *args], env=self.env, capture_output=True, text=True,
                             timeout=10)
        if out.returncode != 0:
            raise RuntimeError("busctl %s: %s" % (" ".join(args[:4]), out.stderr))
        return out.stdout

    def call(self, *args):
        return self.busctl("call", "org.bluez", "/", "org.tphub.BlueZSim1", *args)

    def add_tool(self, address, kind, name, **opts):
        a = []
        for k, (sig, v) in opts.items():
            a += [k, sig, str(v)]
        self.call("AddTool", "ssssa{sv}", "hci0", address, kind, name, str(len(opts)), *a)

    def load_trace(self, address, rows, path):
        with open(path, "w") as f:
            f.write("t_ms,force_n\n")
            for t, v in rows:
                f.write("%d,%.3f\n" % (t, v))
        self.call("LoadTraceCsv", "ss", address, path)

    def writes(self, address):
        """Bytes written to the tool's control characteristic, as a list of bytes."""
        out = self.call("GetWrites", "s", address)
        nums = [int(x) for x in out.split()[2:]]
        res = []
        while nums:
            n = nums.pop(0)
            res.append(bytes(nums[:n]))
            nums = nums[n:]
        return res

    def calls(self, address, method):
        """How many times a method was called on the device object of address."""
        path = "/org/bluez/hci0/dev_" + address.replace(":", "_")
        out = self.busctl("call", "org.bluez", path, "org.freedesktop.DBus.Mock", "GetMethodCalls", "s", method)
        return int(out.split()[1])   # "a(tav) N ..."

    def kill_bluetoothd(self):
        with open(os.path.join(self.dir, "sim.pid")) as f:
            os.kill(int(f.read()), signal.SIGTERM)

    def stop(self):
        subprocess.run([self.run_sim, "stop", self.dir], capture_output=True, timeout=30)


# Force traces (t_ms, newtons) at 40 Hz, as the tool feels them.
STEP_MS = 25


def rest(t0, ms, base, noise=0.1):
    """An unloaded tool: its raw reading at rest, a little noise (within the steady band)."""
    return [(t0 + k, base + (noise if (k // STEP_MS) % 2 else -noise)) for k in range(0, ms, STEP_MS)]


def press(t0, ms, base, level, tremor=3.0):
    """An athlete pressing: the level with a hand's tremor (beyond the steady band)."""
    return [(t0 + k, base + level + (tremor if (k // STEP_MS) % 2 else -tremor)) for k in range(0, ms, STEP_MS)]


def ramp(t0, ms, a, b):
    return [(t0 + k, a + (b - a) * k / ms) for k in range(0, ms, STEP_MS)]


def press_cycle(base, level, rest_ms=1500, press_ms=8000, tail_ms=600000):
    """Rest, press (ramped in 0.3 s), release over 1 s, rest for a long time."""
    rows = rest(0, rest_ms, base)
    t = rest_ms
    rows += ramp(t, 300, base, base + level)
    t += 300
    rows += press(t, press_ms, base, level)
    t += press_ms
    rows += ramp(t, 1000, base + level, base)
    t += 1000
    rows += rest(t, tail_ms, base)
    return rows
