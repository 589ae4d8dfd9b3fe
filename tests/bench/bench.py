#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tphub benchmarks (docs/benchmarks.md): the real tphubd against the project's simulators on a
private bus (the fake bluetoothd of tests/ble/sim with a stamp on every notification, the GPIO
sim backend, a private mosquitto), measuring the figures of docs/benchmarks.md. Prints one
table and writes a JSON file. Timing figures never fail: only a broken piece (a daemon that
does not start, a simulator that does not stream, nothing measured) makes it exit non-zero.

    tests/bench/bench.py --build BUILD_DIR [--out FILE] [--soak-s S] [--only a,b] [--smoke]
                         [--dash-stations N] [--dash-seconds S] [--dash-nice N]

Use scripts/bench.sh, which builds what it needs first."""

import argparse
import bisect
import json
import os
import platform
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "daemon"))
sys.path.insert(0, os.path.join(SRC, "tests", "ble", "sim"))
from mqtt_harness import Broker, Subscriber  # noqa: E402
from tphubd_harness import Tphubd  # noqa: E402
import encode  # noqa: E402  the drivers' device table (UUIDs, commands)

import dbus  # noqa: E402  python3-dbus, for the simulator's control API

PY = "/usr/bin/python3"   # Debian's, which has dbusmock
DT_MS = 12.5              # 80 Hz
DRIVER = "progressor"
SIM_IFACE = "org.tphub.BlueZSim1"
BENCH_IFACE = "org.tphub.BenchSim1"
ROOT = os.geteuid() == 0

# ---------------------------------------------------------------- the athlete's trace

# The benchmark protocol: three auto-started presses (settle 306 ms: between 24 and 25 samples
# at 80 Hz, so arrival jitter of +-6 ms cannot move the hold start by a sample), 3 s holds, 1 s
# rests. Safety 250 N: the trace's 300 N spikes (3 samples, well under over_force_s) raise the
# over-force warning (red on at once) and clear it (red off at once): threshold crossings with
# a known cause.
PROTOCOL = """title = "bench"; description = "benchmark protocol"; source = "tests/bench";
defaults = { kind = "press"; start = "auto"; settle_s = 0.306; min_hold_s = 3; target_hold_s = 3;
             max_hold_s = 4; rest_s = 1; contact_n = 10; release_n = 5; target_min_n = 20;
             target_max_n = 200; safety_max_n = 250; over_force_s = 1; min_release_s = 0.3; };
steps = ( { point = "p1"; label = "Point 1"; }, { point = "p2"; label = "Point 2"; },
          { point = "p3"; label = "Point 3"; } );
"""
TARGET_HOLD_MS = 3000
SAFETY_N, CLEAR_N, RELEASE_N = 250.0, 225.0, 5.0   # clear = safety - max(1 N, 10 %)
CYCLE_MS = 20000.0
PLATEAU_N, SPIKE_N = 60.0, 300.0
CONTACTS_MS = (2000.0, 7200.0, 12400.0)            # rep anchors: hold starts ~325 ms later
SPIKES_MS = (1000.0, 1800.0, 2600.0)               # after each anchor, 3 samples each


def session_cycle():
    """One session as the tool streams it (rows every 12.5 ms, CYCLE_MS long, repeated):
    rest 1.5 s, press (check-in after 500 ms, engine.checkin_press_ms), three reps of
    settle + 3 s hold with three spikes + a 0.5 s release ramp + rest, then the done cue and
    idle. Returns (rows, marks): marks[row] = (line letter, level) is the cue edge that the
    row causes by crossing a threshold (spike onset: red on; spike end: red off; the first row
    below release_n after the release cue: the release cue ("done": green and amber) gives way
    to the rest, green off; after the last rep to the done cue, amber off)."""
    n = int(CYCLE_MS / DT_MS)
    force = [0.0] * n
    marks = {}
    for k, c in enumerate(CONTACTS_MS):
        first = int((1500.0 if k == 0 else c) / DT_MS)
        top = int((c + 3500.0) / DT_MS)
        for i in range(first, top):
            force[i] = PLATEAU_N
        for s in SPIKES_MS:
            i = int((c + s) / DT_MS)
            for j in range(3):
                force[i + j] = SPIKE_N
            marks[i] = ("R", 1)
            marks[i + 3] = ("R", 0)
        ramp = int(500.0 / DT_MS)
        released = None
        for j in range(ramp):
            f = PLATEAU_N * (1.0 - (j + 1) / ramp)
            force[top + j] = f
            if released is None and f < RELEASE_N:
                released = top + j
        # to the rest (amber blinks on, green off), or after the last rep to the done cue
        # (green blinks on, amber off)
        marks[released] = ("A", 0) if k == len(CONTACTS_MS) - 1 else ("G", 0)
    rows = [(i * DT_MS, force[i]) for i in range(n)]
    return rows, marks


# ---------------------------------------------------------------- processes

def cpu_ns(pid):
    """CPU time of every thread of pid, ns (schedstat: exact, not in clock ticks)."""
    total = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                    total += int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass
    except FileNotFoundError:
        return None
    return total


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def smaps_kb(pid):
    """What the RSS is made of: private (the process's own heap, stack, data) and shared
    (library code and read-only data, mostly shared with other processes)."""
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty", "Anonymous"):
                    out[k] = int(v.split()[0])
    except FileNotFoundError:
        pass
    return out


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError(what)
        select.select([], [], [], 0.05)


class Bus:
    """A private system-type dbus-daemon and the benchmark's fake bluetoothd on it."""

    def __init__(self, d):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        sock = os.path.join(d, "system_bus_socket")
        with open(os.path.join(d, "bus.conf"), "w") as f:
            f.write("""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=%s</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/>
<allow receive_sender="*"/></policy></busconfig>
""" % sock)
        self.daemon = subprocess.Popen(["dbus-daemon", "--nofork", "--config-file=" + os.path.join(d, "bus.conf")],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.address = "unix:path=" + sock
        self.env = {"DBUS_SYSTEM_BUS_ADDRESS": self.address}
        wait_for(lambda: os.path.exists(sock), 10, "dbus-daemon did not start")
        self.log = open(os.path.join(d, "sim.log"), "w")
        self.sim = subprocess.Popen([PY, "-m", "dbusmock", "--system", "-t", os.path.join(HERE, "bench_bluez.py"),
                                     "-p", '{"adapters": ["hci0"]}'], env=dict(os.environ, **self.env),
                                    stdout=self.log, stderr=subprocess.STDOUT)
        self.conn = dbus.bus.BusConnection(self.address)
        wait_for(lambda: self.conn.name_has_owner("org.bluez"), 20, "the simulator did not own org.bluez")
        root = self.conn.get_object("org.bluez", "/", introspect=False)
        self.ctl = dbus.Interface(root, SIM_IFACE)
        self.bench = dbus.Interface(root, BENCH_IFACE)
        self.om = dbus.Interface(root, "org.freedesktop.DBus.ObjectManager")

    def add_tools(self, addrs, rows):
        trace = dbus.Array([dbus.Struct((float(t), float(n)), signature="dd") for t, n in rows], signature="(dd)")
        for a in addrs:
            self.ctl.AddTool("hci0", a, DRIVER, "Bench_" + a[-2:], dbus.Dictionary({}, signature="sv"))
            self.ctl.SetTrace(a, trace)
            self.bench.BenchLoop(a, True)

    def streaming(self, addrs):
        return all(bool(self.ctl.GetToolState(a)["streaming"]) for a in addrs)

    def count(self):
        return int(self.bench.BenchCount())

    def transport(self, addrs):
        """How tphubd receives the tools' notifications: through AcquireNotify sockets (no
        dbus-daemon on a sample's path), StartNotify, or a mix."""
        acq = [bool(self.ctl.GetToolState(a)["acquired"]) for a in addrs]
        return "AcquireNotify" if all(acq) else "StartNotify" if not any(acq) else "mixed"

    def close(self):
        for p in (self.sim, self.daemon):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.conn.close()
        self.log.close()


class GpioListener:
    """Every output change of the GPIO sim (its control socket), stamped by the sim with
    CLOCK_MONOTONIC when tphubd set the line."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        wait_for(lambda: os.path.exists(path), 10, "no GPIO sim socket")
        self.s.connect(path)
        self.edges = {}   # line -> [(ns, level)]
        self.stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop:
            r, _, _ = select.select([self.s], [], [], 0.2)
            if not r:
                continue
            try:
                msg = self.s.recv(256).decode()
            except OSError:
                return
            if not msg:
                return
            p = msg.split()
            if p and p[0] == "out" and len(p) == 4:
                self.edges.setdefault(p[1], []).append((int(p[3]), int(p[2])))

    def close(self):
        self.stop = True
        self.t.join(2)
        self.s.close()


def addrs_for(n):
    return ["C8:00:00:00:00:%02X" % (i + 1) for i in range(n)]


def write_config(d, n_tools, port, smoothing0, spool_max=20000, ble=True, with_cues=True):
    pdir = os.path.join(d, "protocols")
    os.makedirs(pdir, exist_ok=True)
    with open(os.path.join(pdir, "bench.conf"), "w") as f:
        f.write(PROTOCOL)
    stations = []
    for i, a in enumerate(addrs_for(max(n_tools, 1)), 1):
        tools = '( { address = "%s"; driver = "%s"; } )' % (a, DRIVER) if n_tools else "()"
        cues = ('cues = { chip = "bench"; green = "G%d"; amber = "A%d"; red = "R%d"; buzzer = "BZ%d"; };'
                % (i, i, i, i)) if with_cues else ""
        eng = 'engine = { checkin_press_ms = 500;%s };' % (" smoothing_ms = 0;" if smoothing0 else "")
        stations.append('{ name = "s%d"; protocol = "bench"; tools = %s; %s %s }' % (i, tools, cues, eng))
    conf = os.path.join(d, "tphub.conf")
    with open(conf, "w") as f:
        f.write('hub = { name = "bench"; };\n')
        f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n' % (pdir, d, d))
        f.write('gpio = { backend = "sim"; sim_socket = "%s/gpio.sock"; };\n' % d)
        f.write('ble = { enabled = %s; adapter = "hci0"; max_links = %d; };\n'
                % ("true" if ble else "false", min(max(n_tools, 1), 10)))
        if port:
            f.write('mqtt = { enabled = true; uri = "tcp://127.0.0.1:%d"; client_id = "bench"; '
                    'spool_max_sessions = %d; };\n' % (port, spool_max))
        else:
            f.write('mqtt = { enabled = false; };\n')
        f.write("stations = (\n  %s\n);\n" % ",\n  ".join(stations))
    return conf


class Rig:
    """Bus + simulator + broker + tphubd with n tools streaming the session cycle."""

    def __init__(self, args, n_tools, smoothing0=False, wrapper=None, realtime=True, emit_log=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="tphub-bench-")
        d = self.tmp.name
        self.bus = self.broker = self.d = self.gpio = None
        try:
            self.bus = Bus(os.path.join(d, "bus"))
            self.broker = Broker()
            self.addrs = addrs_for(n_tools)
            rows, self.marks = session_cycle()
            self.bus.add_tools(self.addrs, rows)
            if emit_log:
                self.bus.bench.BenchEmitLog(emit_log)
            conf = write_config(d, n_tools, self.broker.port, smoothing0)
            old = os.environ.get("TPHUBD_WRAPPER")
            if wrapper:
                os.environ["TPHUBD_WRAPPER"] = wrapper
            try:
                self.d = Tphubd(args.tphubd, conf, env=self.bus.env, realtime=realtime)
            finally:
                if wrapper:
                    if old is None:
                        del os.environ["TPHUBD_WRAPPER"]
                    else:
                        os.environ["TPHUBD_WRAPPER"] = old
            self.d.wait_notify("READY=1", timeout=120 if wrapper else 20)
            # (the harness keeps reading the notify socket, as systemd does)
            self.gpio = GpioListener(os.path.join(d, "gpio.sock"))
            wait_for(lambda: self.bus.streaming(self.addrs), 180 if wrapper else 60,
                     "not every tool streams")
        except Exception:
            self.close()
            raise

    @property
    def pid(self):
        return self.d.proc.pid

    def stop(self):
        if self.d and self.d.proc.poll() is None:
            self.d.signal(signal.SIGTERM)
            try:
                self.d.wait_exit(120)
            except subprocess.TimeoutExpired:
                pass

    def close(self):
        if self.gpio:
            self.gpio.close()
        if self.d:
            self.stop()
            self.d.close()
        if self.broker:
            self.broker.close()
        if self.bus:
            self.bus.close()
        self.tmp.cleanup()


def measure_window(pids, count, seconds):
    c0 = {k: cpu_ns(p) for k, p in pids.items()}
    k0, t0 = count(), time.monotonic()
    time.sleep(seconds)   # the measurement window itself, not a synchronisation
    c1 = {k: cpu_ns(p) for k, p in pids.items()}
    k1, t1 = count(), time.monotonic()
    wall = t1 - t0
    out = {"wall_s": round(wall, 3), "samples": k1 - k0}
    for k in pids:
        cpu = (c1[k] - c0[k]) / 1e9
        out[k] = {"cpu_s": round(cpu, 4), "core_pct": round(100 * cpu / wall, 3),
                  "us_per_sample": round(1e6 * cpu / max(k1 - k0, 1), 3)}
    return out


# ---------------------------------------------------------------- item 3/4: cost per sample

def bench_cost(args, n):
    r = Rig(args, n)
    try:
        time.sleep(args.warmup)   # connections settled, first sessions started
        dbus_pid = r.bus.daemon.pid
        w = measure_window({"tphubd": r.pid, "dbus_daemon": dbus_pid}, r.bus.count, args.window)
        w["tphubd_rss_kb"] = rss_kb(r.pid)
        w["tphubd_smaps_kb"] = smaps_kb(r.pid)
        w["tools"] = n
        w["transport"] = r.bus.transport(r.addrs)
        return w
    finally:
        r.close()


def data_paths(bus, addrs):
    """The data characteristic of each (connected) tool."""
    uuid = encode.DEVICES[DRIVER]["notify"]
    objs = bus.om.GetManagedObjects()
    out = []
    for a in addrs:
        dev = "/org/bluez/hci0/dev_" + a.replace(":", "_") + "/"
        out += [str(p) for p, ifs in objs.items() if str(p).startswith(dev) and
                str(ifs.get("org.bluez.GattCharacteristic1", {}).get("UUID", "")) == uuid]
    return out


def floor_specs(bus, addrs):
    """Connects every tool (as tphubd would) and returns bench-floor's arguments."""
    dev = encode.DEVICES[DRIVER]
    adapter = dbus.Interface(bus.conn.get_object("org.bluez", "/org/bluez/hci0", introspect=False),
                             "org.bluez.Adapter1")
    adapter.StartDiscovery()
    paths = {a: "/org/bluez/hci0/dev_" + a.replace(":", "_") for a in addrs}
    wait_for(lambda: all(p in bus.om.GetManagedObjects() for p in paths.values()), 20, "tools not discovered")
    for a, p in paths.items():
        dbus.Interface(bus.conn.get_object("org.bluez", p, introspect=False), "org.bluez.Device1").Connect()

    def chars():
        objs = bus.om.GetManagedObjects()
        found = {}
        for a, p in paths.items():
            dev_props = objs.get(p, {}).get("org.bluez.Device1", {})
            if not dev_props.get("ServicesResolved"):
                return None
            data = ctrl = None
            for op, ifs in objs.items():
                ch = ifs.get("org.bluez.GattCharacteristic1")
                if ch and op.startswith(p + "/"):
                    if str(ch["UUID"]) == dev["notify"]:
                        data = op
                    elif str(ch["UUID"]) == dev["write"]:
                        ctrl = op
            if not data or not ctrl:
                return None
            found[a] = (data, ctrl)
        return found

    found = wait_for(chars, 20, "services not resolved")
    start = dev["commands"]["start"].hex()
    return ["%s,%s,%s" % (found[a][0], found[a][1], start) for a in addrs]


def bench_floor(args, n, wrapper=None, seconds=None):
    tmp = tempfile.TemporaryDirectory(prefix="tphub-floor-")
    bus = Bus(os.path.join(tmp.name, "bus"))
    proc = None
    try:
        addrs = addrs_for(n)
        bus.add_tools(addrs, session_cycle()[0])
        specs = floor_specs(bus, addrs)
        cmd = (wrapper.split() if wrapper else []) + [args.floor] + specs
        if ROOT and shutil.which("chrt") and not wrapper:
            cmd = ["chrt", "--rr", "10"] + cmd
        proc = subprocess.Popen(cmd, env=dict(os.environ, **bus.env), stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError("bench-floor did not subscribe: %r" % line)
        wait_for(lambda: bus.streaming(addrs), 30, "the floor's tools do not stream")
        if wrapper:
            return proc, bus, tmp
        time.sleep(args.warmup)
        w = measure_window({"floor": proc.pid, "dbus_daemon": bus.daemon.pid}, bus.count, seconds or args.window)
        w["floor_rss_kb"] = rss_kb(proc.pid)
        w["tools"] = n
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
        m = re.search(r"notifications (\d+)", out)
        w["floor_received"] = int(m.group(1)) if m else None
        return w
    finally:
        if not wrapper:
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()
            bus.close()
            tmp.cleanup()


# ---------------------------------------------------------------- callgrind, split by module

def module_of(ob, fl, fn):
    """The module a function's own instructions belong to; None = pass them on to its callers
    (libc, the dynamic loader, unnamed libsystemd internals)."""
    obn = os.path.basename(ob)
    if "libpaho" in obn or "libjson-c" in obn or "libssl" in obn or "libcrypto" in obn:
        return "mqtt_json"
    if "libsystemd" in obn:
        if fn.startswith(("sd_bus", "bus_")):
            return "sd_bus"
        if fn.startswith("sd_event"):
            return "event_loop"
        if fn.startswith("0x") or fn == "???":
            return None
        return "other"
    if obn.startswith(("libc.", "libc-", "ld-linux", "libm.", "libgcc", "libpthread", "libdl")):
        return None
    if "libconfig" in obn:
        return "other"
    f = fl.replace("\\", "/")
    for key, mod in (("daemon/ble/drivers/", "driver"), ("daemon/ble/", "ble_client"),
                     ("daemon/engine/", "engine"), ("daemon/hub/", "station_glue"),
                     ("daemon/mqtt/", "mqtt_json"), ("daemon/gpio/", "gpio_cues"),
                     ("tests/bench/", "floor")):
        if key in f:
            return mod
    if fn.startswith("0x") or fl in ("???", ""):
        return None
    return "other"


def parse_callgrind(path):
    """Exclusive Ir per function, call edges (caller -> callee: calls, inclusive Ir)."""
    names = {"ob": {}, "fl": {}, "fn": {}}

    def name(kind, v):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?$", v)
        if not m:
            return v
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), "?")

    self_ir, edges, calls_to = {}, {}, {}
    ob = fl = fn = None
    cur = None
    cob = cfl = cfn = None
    pending_call = None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line[0] == "#":
                continue
            if line[0].isdigit() or line[0] in "+-*":
                parts = line.split()
                ir = int(parts[1]) if len(parts) > 1 else 0
                if pending_call is not None:
                    callee, n = pending_call
                    e = edges.setdefault((cur, callee), [0, 0])
                    e[0] += n
                    e[1] += ir
                    calls_to[callee] = calls_to.get(callee, 0) + n
                    pending_call = None
                elif cur is not None:
                    self_ir[cur] = self_ir.get(cur, 0) + ir
                continue
            key, _, val = line.partition("=")
            if key == "ob":
                ob = name("ob", val)
            elif key == "fl":
                fl = name("fl", val)
            elif key in ("fi", "fe"):
                name("fl", val)
            elif key == "fn":
                fn = name("fn", val)
                cur = (ob, fl, fn)
                self_ir.setdefault(cur, 0)
                cob = cfl = None
            elif key == "cob":
                cob = name("ob", val)
            elif key in ("cfl", "cfi"):
                cfl = name("fl", val)
            elif key == "cfn":
                cfn = name("fn", val)
            elif key == "calls":
                n = int(val.split()[0])
                pending_call = ((cob or ob, cfl or fl, cfn), n)
                cob = cfl = None
    return self_ir, edges, calls_to


def split_by_module(path):
    self_ir, edges, calls_to = parse_callgrind(path)
    callers = {}
    for (a, b), (n, ir) in edges.items():
        if a != b:
            callers.setdefault(b, []).append((a, ir))
    memo = {}

    def frac(f, depth=0):
        """How f's own cost divides among modules (through its callers if f is transparent)."""
        if f in memo:
            return memo[f]
        m = module_of(*f)
        if m is not None:
            return {m: 1.0}
        cs = callers.get(f, [])
        tot = sum(ir for _, ir in cs)
        if depth > 40 or tot == 0:
            return {"other": 1.0}
        memo[f] = {"other": 1.0}   # cycle guard
        out = {}
        for c, ir in cs:
            for k, v in frac(c, depth + 1).items():
                out[k] = out.get(k, 0.0) + v * ir / tot
        memo[f] = out
        return out

    mods = {}
    for f, ir in self_ir.items():
        if ir:
            for k, v in frac(f).items():
                mods[k] = mods.get(k, 0.0) + ir * v
    return mods, calls_to, sum(self_ir.values())


def count_calls(calls_to, fname):
    return sum(n for (ob, fl, fn), n in calls_to.items() if fn == fname)


def bench_callgrind(args, n):
    out = os.path.join(args.keep, "callgrind.tphubd.out")
    wrapper = "valgrind -q --tool=callgrind --instr-atstart=no --callgrind-out-file=%s" % out
    res = {}
    r = Rig(args, n, wrapper=wrapper, realtime=False)
    try:
        time.sleep(args.warmup)
        subprocess.run(["callgrind_control", "-i", "on", str(r.pid)], check=True, capture_output=True, timeout=60)
        k0 = r.bus.count()
        time.sleep(args.cg_window)
        subprocess.run(["callgrind_control", "-i", "off", str(r.pid)], check=True, capture_output=True, timeout=60)
        res["sent"] = r.bus.count() - k0
        res["transport"] = r.bus.transport(r.addrs)
    finally:
        r.close()
    mods, calls, total = split_by_module(out)
    samples = count_calls(calls, "station_force")
    res.update({"tools": n, "samples": samples, "ir_total": total,
                "ir_per_sample": round(total / max(samples, 1)),
                "by_module": {k: round(v / max(samples, 1)) for k, v in sorted(mods.items(), key=lambda x: -x[1])}})
    res["callgrind_out"] = out

    # the floor under callgrind: instructions per notification
    out = os.path.join(args.keep, "callgrind.floor.out")
    wrapper = "valgrind -q --tool=callgrind --instr-atstart=no --callgrind-out-file=%s" % out
    proc, bus, tmp = bench_floor(args, n, wrapper=wrapper)
    try:
        time.sleep(1)
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True, timeout=60)
        time.sleep(args.cg_window)
        subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], check=True, capture_output=True, timeout=60)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        bus.close()
        tmp.cleanup()
    fmods, fcalls, ftotal = split_by_module(out)
    fn = count_calls(fcalls, "on_changed")
    res["floor"] = {"notifications": fn, "ir_per_sample": round(ftotal / max(fn, 1)),
                    "by_module": {k: round(v / max(fn, 1)) for k, v in sorted(fmods.items(), key=lambda x: -x[1])},
                    "callgrind_out": out}
    return res


# ---------------------------------------------------------------- items 1, 2, 5: sessions

def pct(v, p):
    if not v:
        return None
    s = sorted(v)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def dist_ms(v):
    if not v:
        return {"n": 0}
    return {"n": len(v), "p50_ms": round(pct(v, 50) / 1e6, 3), "p99_ms": round(pct(v, 99) / 1e6, 3),
            "max_ms": round(max(v) / 1e6, 3), "min_ms": round(min(v) / 1e6, 3)}


def bench_sessions(args, n, seconds):
    tmp = tempfile.TemporaryDirectory(prefix="tphub-bench-emit-")
    emit = os.path.join(tmp.name, "emit.log")
    r = Rig(args, n, smoothing0=True, emit_log=emit)
    sub = Subscriber(r.broker.port, "tphub/#")
    rss = []
    # A witness: the floor program, at the same priority, stamping each notification as it
    # arrives, so that the latency can be split into the trip through dbus-daemon and the rest.
    # Only while tphubd uses StartNotify: an acquired characteristic sends nothing over the
    # bus (and refuses StartNotify), so then there is no dbus-daemon hop to split off.
    witness_log = os.path.join(tmp.name, "witness.log")
    witness = None
    try:
        transport = r.bus.transport(r.addrs)
        if transport == "StartNotify":
            cmd = [args.floor, "--stamp", witness_log] + data_paths(r.bus, r.addrs)
            if ROOT and shutil.which("chrt"):
                cmd = ["chrt", "--rr", "10"] + cmd
            witness = subprocess.Popen(cmd, env=dict(os.environ, **r.bus.env), stdout=subprocess.PIPE, text=True)
            if witness.stdout.readline().strip() != "ready":
                raise RuntimeError("the witness did not subscribe")
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            rss.append((round(time.monotonic() - t0, 1), rss_kb(r.pid)))
            time.sleep(min(args.rss_every, max(0.1, seconds - (time.monotonic() - t0))))
        rss.append((round(time.monotonic() - t0, 1), rss_kb(r.pid)))
        r.bus.bench.BenchEmitLog("")
        if witness:
            witness.send_signal(signal.SIGTERM)
            witness.communicate(timeout=10)
        r.stop()
        log = r.d.read_log()
        with open(os.path.join(args.keep, "tphubd-sessions.log"), "w") as f:
            f.write(log)   # beside the JSON, for a look at what the daemon said
        edges = r.gpio.edges
        marks = r.marks
        addrs = r.addrs
    except Exception:
        sub.close()
        raise
    finally:
        if witness and witness.poll() is None:
            witness.kill()
            witness.wait()
        r.close()
    docs = []
    while sub._drain(0.5):   # what arrived: completed sessions
        pass
    docs = [p for t, ret, q, p in sub.seen if t.endswith("/session")]
    per_kind = {}
    force_t = {}
    for t, ret, q, p in sub.seen:
        lv = t.split("/")   # <prefix>/<hub>/status, .../tools/<address>, .../<station>/<what>
        kind = lv[2] if len(lv) < 4 or lv[2] == "tools" else "/".join(lv[3:])
        per_kind[kind] = per_kind.get(kind, 0) + 1
    sub.close()
    mqtt_rates = {k: round(v / seconds, 2) for k, v in sorted(per_kind.items())}

    # emission log: the moment each marked row left the simulator
    idx = {a: i + 1 for i, a in enumerate(addrs)}
    emits = {}
    with open(emit) as f:
        for line in f:
            a, cyc, row, ns = line.split()
            emits.setdefault(a, []).append((int(ns), int(row)))
    by_row = {}
    for a, ev in emits.items():
        for ns, row in ev:
            by_row.setdefault((a, row), []).append(ns)
    hop = []
    with open(witness_log) if witness else open(os.devnull) as f:
        for line in f:
            path, us, ns = line.split()
            a = path.split("/dev_")[1].split("/")[0].replace("_", ":")
            sent = by_row.get((a, int(us) // 12500), [])
            j = bisect.bisect_right(sent, int(ns))
            if j:
                hop.append(int(ns) - sent[j - 1])
    tmp.cleanup()
    lat, unmatched, unmatched_rows, slow = [], 0, {}, []
    for a, ev in emits.items():
        i = idx[a]
        for ns, row in ev:
            m = marks.get(row)
            if not m:
                continue
            line, level = "%s%d" % (m[0], i), m[1]
            es = edges.get(line, [])
            j = bisect.bisect_left(es, (ns, -1))
            hit = None
            while j < len(es) and es[j][0] < ns + 500_000_000:
                if es[j][1] == level:
                    hit = es[j][0]
                    break
                j += 1
            if hit is None:
                unmatched += 1
                unmatched_rows[row] = unmatched_rows.get(row, 0) + 1
            else:
                lat.append(hit - ns)
                if hit - ns > 50_000_000:
                    slow.append((a, row, m, round((hit - ns) / 1e6, 1)))

    # The release cue ("done") switches green, amber and the buzzer on together (its tone is
    # cut short when the rest begins); the countdown's first beep comes with green only. The
    # hold start is the hold cue's first green edge, 3 s before the release cue.
    acc = []

    def near(es, t, tol=2_000_000):
        j = bisect.bisect_left(es, t - tol)
        return j < len(es) and es[j] <= t + tol

    for i in range(1, n + 1):
        ups = {c: [ns for ns, v in edges.get("%s%d" % (c, i), []) if v == 1] for c in ("G", "A", "BZ")}
        for on in ups["BZ"]:
            if not (near(ups["G"], on) and near(ups["A"], on)):
                continue
            due = on - TARGET_HOLD_MS * 1_000_000
            greens = ups["G"]
            j = bisect.bisect_left(greens, due - 100_000_000)
            cands = [g for g in greens[j:j + 4] if abs(g - due) <= 100_000_000]
            if cands:
                g = min(cands, key=lambda g: abs(g - due))
                acc.append(on - g - TARGET_HOLD_MS * 1_000_000)
    rel = [abs(x) for x in acc]
    steady = [k for t, k in rss if t >= min(30, seconds / 3)]
    return {
        "stations": n, "seconds": seconds,
        "cue_latency": dict(dist_ms(lat), unmatched=unmatched),
        "transport": transport,
        "bus_hop_latency": dist_ms(hop),
        "release_cue_error": dict(dist_ms(acc), abs_p99_ms=round(pct(rel, 99) / 1e6, 3) if rel else None),
        "sessions_completed": len(docs),
        "sessions_completed_log": log.count(" completed (bench)"),
        "unmatched_rows": unmatched_rows,
        "slow_crossings": slow[:20],   # over 50 ms: which rows, for a look at the cause
        "mqtt_messages_per_s": mqtt_rates,
        "force_messages_per_s_per_station": round(per_kind.get("force", 0) / seconds / n, 2),
        "rss_kb": {"series": rss, "first_steady": steady[0] if steady else None,
                   "last": rss[-1][1], "max": max(k for _, k in rss),
                   "growth_kb": (rss[-1][1] - steady[0]) if steady else None},
        "_doc": docs[0] if docs else None,
    }


# ---------------------------------------------------------------- item 6: start and stop

def bench_startstop(args, runs):
    tmp = tempfile.TemporaryDirectory(prefix="tphub-bench-ss-")
    bus = Bus(os.path.join(tmp.name, "bus"))
    broker = Broker()
    sub = Subscriber(broker.port, "tphub/bench/status")
    start, stop = [], []
    try:
        bus.add_tools(addrs_for(1), session_cycle()[0])
        conf = write_config(tmp.name, 1, broker.port, False)
        seen = 0
        for _ in range(runs):
            t0 = time.monotonic_ns()
            d = Tphubd(args.tphubd, conf, env=bus.env, realtime=True)
            try:
                d.wait_notify("READY=1", timeout=20)
                t1 = time.monotonic_ns()
                # a running daemon is stopped: wait until it is online at the broker
                i, _, _ = sub.wait("tphub/bench/status", lambda doc: doc.get("online") is True or
                                   doc.get("state") == "online", timeout=20, after=seen)
                seen = i + 1
                t2 = time.monotonic_ns()
                d.signal(signal.SIGTERM)
                d.wait_exit(30)
                t3 = time.monotonic_ns()
                start.append(t1 - t0)
                stop.append(t3 - t2)
            finally:
                d.close()
    finally:
        sub.close()
        broker.close()
        bus.close()
        tmp.cleanup()
    return {"runs": runs, "start_to_ready": dist_ms(start), "sigterm_to_exit": dist_ms(stop)}


# ---------------------------------------------------------------- item 7: spool replay

def bench_spool(args, n, doc):
    tmp = tempfile.TemporaryDirectory(prefix="tphub-bench-spool-")
    spool = os.path.join(tmp.name, "spool")
    os.makedirs(spool)
    if doc is None:   # no session from the sessions run: a document of the same shape
        doc = json.dumps({"id": "x", "hub": "bench", "station": "s1", "protocol": "bench", "status": "completed",
                          "steps": [{"point": "p%d" % k, "reps": [{"outcome": "completed", "hold_ms": 3000,
                                                                     "release_ms": 420}]} for k in range(3)]})
    base = json.loads(doc)
    topic = "tphub/bench/s1/session"
    for k in range(n):
        base["id"] = "bench-%06d" % k
        with open(os.path.join(spool, "%016d-bench-%06d.json" % (k + 1, k)), "w") as f:
            f.write(topic + "\n" + json.dumps(base))
    size = os.path.getsize(os.path.join(spool, os.listdir(spool)[0]))
    broker = Broker()
    counter = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic,
                                "-q", "1", "-F", "%t"], stdout=subprocess.PIPE, text=True, bufsize=1)
    times = []

    def read():
        for _ in counter.stdout:
            times.append(time.monotonic())
    th = threading.Thread(target=read, daemon=True)
    th.start()
    time.sleep(0.3)   # mosquitto_sub has no "subscribed" signal; give it its SUBACK
    conf = write_config(tmp.name, 0, broker.port, False, spool_max=max(n * 2, 1000), ble=False, with_cues=False)
    d = Tphubd(args.tphubd, conf, realtime=True)
    try:
        d.wait_notify("READY=1", timeout=30)
        t0 = time.monotonic()
        wait_for(lambda: not any(x.endswith(".json") for x in os.listdir(spool)), 600, "spool never drained")
        t1 = time.monotonic()
        wait_for(lambda: len(times) >= n, 30, "not every session arrived")
    finally:
        d.signal(signal.SIGTERM)
        try:
            d.wait_exit(30)
        except subprocess.TimeoutExpired:
            pass
        d.close()
        counter.terminate()
        counter.wait()
        broker.close()
        tmp.cleanup()
    return {"sessions": n, "doc_bytes": size, "drained_s": round(t1 - t0, 3),
            "sessions_per_s": round(n / (t1 - t0), 1), "received": len(times)}


# ---------------------------------------------------------------- 8: the dashboard under load

def npm_tree(src_dir, npm_dir, want):
    """package.json + package-lock.json of src_dir installed by lockfile into npm_dir (as
    tests/browser/run.sh does), unless already there."""
    lock = os.path.join(src_dir, "package-lock.json")
    have = os.path.join(npm_dir, "package-lock.json")
    same = os.path.exists(have) and open(lock, "rb").read() == open(have, "rb").read()
    if not same or not os.path.isdir(os.path.join(npm_dir, "node_modules", want)):
        os.makedirs(npm_dir, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(src_dir, f), npm_dir)
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
                       cwd=npm_dir, check=True, stdout=subprocess.DEVNULL)


def bench_dashboard(args):
    """The coach view in Debian's chromium under N stations of 80 Hz traffic
    (tests/bench/bench-dashboard.mjs). The page's own counters must show that the force
    batches arrived; the figures are reported, never checked."""
    chromium = os.environ.get("TPHUB_CHROMIUM", "/usr/bin/chromium")
    www = os.path.join(args.build, "dashboard", "dashboard")
    if not os.access(chromium, os.X_OK) or not os.path.exists(os.path.join(www, "index.html")):
        return {"skipped": "no %s or no built dashboard (%s)" % (chromium, www)}
    pw = os.path.join(args.build, "tests", "browser", "npm")
    npm_tree(os.path.join(SRC, "tests", "browser"), pw, "playwright-core")
    out = os.path.join(args.keep, "bench-dashboard.json")
    cmd = ["node", os.path.join(HERE, "bench-dashboard.mjs"), "--www", www,
           "--mqtt-npm", os.path.join(args.build, "dashboard", "npm"), "--playwright-npm", pw,
           "--stations", str(args.dash_stations), "--hubs", str(args.dash_hubs),
           "--seconds", str(args.dash_seconds), "--warmup", str(args.dash_warmup), "--out", out]
    if args.dash_nice:
        cmd = ["nice", "-n", str(args.dash_nice)] + cmd
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, TPHUB_CHROMIUM=chromium), timeout=args.dash_seconds + 180)
    try:
        d = json.loads(p.stdout)
    except ValueError:
        raise RuntimeError("bench-dashboard.mjs exited %d: %s" % (p.returncode, p.stderr.strip()[-2000:]))
    if d.get("failures"):
        raise RuntimeError("; ".join(d["failures"]))
    if args.dash_nice:
        d["nice"] = args.dash_nice
    return d


def dashboard_line(d):
    if isinstance(d, str):
        return d
    if "skipped" in d:
        return "skipped: " + d["skipped"]
    f, lt, h, m, r = d["fps"], d["long_tasks"], d["heap_mb"], d["main_thread"], d["received"]
    return ("fps median %s worst s %s; long tasks %d (%s ms, max %s); JS heap MB %s -> %s, peak %s; "
            "main thread %s %% busy; browser CPU %s %% of a core; %d/%d samples (%d stations, %d s)" % (
                fmt(f["median"]), fmt(f["worst_second"]), lt["count"], fmt(lt["total_ms"]), fmt(lt["max_ms"]),
                fmt(h["start"]), fmt(h["end"]), fmt(h["peak"]), fmt(m["busy_pct"]), fmt(d["browser_cpu_pct"]),
                r["samples_in_window"], r["expected_in_window"], d["stations"], d["seconds"]))


# ---------------------------------------------------------------- report

def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float):
        v = ("%.3f" % v) if abs(v) < 10 else ("%.1f" % v) if abs(v) < 1000 else ("%.0f" % v)
    return "%s%s" % (v, unit)


def targets(res):
    t = []

    def add(name, value, ok, why=""):
        t.append({"target": name, "measured": value, "met": ok, "note": why})
    cg = res.get("callgrind")
    if cg:
        add("instructions per sample (8 tools) < 8000", cg["ir_per_sample"], cg["ir_per_sample"] < 8000)
    cost = {c["tools"]: c for c in res.get("cost", [])}
    fl = {c["tools"]: c for c in res.get("floor", [])}
    if 8 in cost and 8 in fl:
        a = cost[8]["tphubd"]["us_per_sample"]
        b = fl[8]["floor"]["us_per_sample"]
        sys_a = a + cost[8]["dbus_daemon"]["us_per_sample"]
        sys_b = b + fl[8]["dbus_daemon"]["us_per_sample"]
        add("tphubd CPU <= sd-bus floor (8 tools)", round(a / b, 2), a <= b)
        add("system CPU (tphubd + dbus-daemon) < half the floor's system", round(sys_a / sys_b, 2), sys_a < sys_b / 2)
    s = res.get("sessions")
    if s:
        v = s["cue_latency"].get("p99_ms")
        add("cue latency p99 < 2 ms", v, v is not None and v < 2)
        v = s["release_cue_error"].get("abs_p99_ms")
        add("release-cue error p99 < 2 ms", v, v is not None and v < 2)
        g = s["rss_kb"]["growth_kb"]
        add("RSS flat over the soak", g, g is not None and g < 256, "growth after warm-up, kB")
        v = s["force_messages_per_s_per_station"]
        add("live force rate = configured (10 Hz)", v, abs(v - 10) < 0.2, "messages/s per station")
    if 8 in cost:
        v = cost[8]["tphubd_rss_kb"]
        add("steady RSS < 6 MB (8 tools)", v, v is not None and v < 6 * 1024, "kB")
    ss = res.get("startstop")
    if ss:
        v = ss["start_to_ready"].get("max_ms")
        add("READY=1 < 100 ms (max of runs)", v, v is not None and v < 100)
        v = ss["sigterm_to_exit"].get("max_ms")
        add("shutdown < 1 s in every run", v, v is not None and v < 1000)
    return t


def table(res):
    L = []
    L.append("tphub benchmarks  %s  %s, %d cores, load %.2f at start%s" % (
        res["when"], res["machine"], res["cores"], res["load_at_start"], " (smoke run)" if res.get("smoke") else ""))
    L.append("%-58s %s" % ("figure", "value"))
    L.append("-" * 96)
    s = res.get("sessions")
    if s:
        c = s["cue_latency"]
        L.append("%-58s p50 %s  p99 %s  max %s  (n %d, unmatched %d)" % (
            "1 cue latency, sample sent -> cue edge (ms)", fmt(c.get("p50_ms")), fmt(c.get("p99_ms")),
            fmt(c.get("max_ms")), c["n"], c["unmatched"]))
        h = s["bus_hop_latency"]
        if s.get("transport", "StartNotify") == "StartNotify":
            L.append("%-58s p50 %s  p99 %s  max %s  (n %d)" % (
                "  of which sample sent -> received by a subscriber (ms)", fmt(h.get("p50_ms")),
                fmt(h.get("p99_ms")), fmt(h.get("max_ms")), h["n"]))
        else:
            L.append("%-58s %s" % ("  notifications", "through %s sockets: no dbus-daemon hop" % s["transport"]))
        e = s["release_cue_error"]
        L.append("%-58s p50 %s  p99 %s  max %s  |p99| %s  (n %d)" % (
            "2 release-cue error, edge - (hold start + target) (ms)", fmt(e.get("p50_ms")), fmt(e.get("p99_ms")),
            fmt(e.get("max_ms")), fmt(e.get("abs_p99_ms")), e["n"]))
    for c in res.get("cost", []):
        L.append("%-58s tphubd %s %% (%s us/sample)  dbus-daemon %s %% (%s us/sample)  %d samples%s" % (
            "3 CPU with %d tool%s at 80 Hz (under load, see note)" % (c["tools"], "s" if c["tools"] > 1 else ""),
            fmt(c["tphubd"]["core_pct"]), fmt(c["tphubd"]["us_per_sample"]), fmt(c["dbus_daemon"]["core_pct"]),
            fmt(c["dbus_daemon"]["us_per_sample"]), c["samples"],
            "  (%s)" % c["transport"] if c.get("transport") else ""))
    cg = res.get("callgrind")
    if cg:
        L.append("%-58s %d  (floor %d)" % ("3 instructions per sample, %d tools (callgrind)" % cg["tools"],
                                            cg["ir_per_sample"], cg["floor"]["ir_per_sample"]))
        L.append("%-58s %s" % ("  by module", ", ".join("%s %d" % kv for kv in cg["by_module"].items())))
    for c in res.get("floor", []):
        L.append("%-58s floor %s %% (%s us/sample)  dbus-daemon %s %% (%s us/sample)" % (
            "4 sd-bus floor, %d tool%s" % (c["tools"], "s" if c["tools"] > 1 else ""),
            fmt(c["floor"]["core_pct"]), fmt(c["floor"]["us_per_sample"]),
            fmt(c["dbus_daemon"]["core_pct"]), fmt(c["dbus_daemon"]["us_per_sample"])))
    for k, v in res.get("ratios", {}).items():
        L.append("%-58s %s" % ("4 " + k, fmt(v)))
    cost = {c["tools"]: c for c in res.get("cost", [])}
    for n, c in sorted(cost.items()):
        sm = c.get("tphubd_smaps_kb", {})
        L.append("%-58s %s  (private %s, shared %s)" % (
            "5 steady RSS, %d tools (kB)" % n, fmt(c["tphubd_rss_kb"]),
            fmt(sm.get("Private_Clean", 0) + sm.get("Private_Dirty", 0)) if sm else "-",
            fmt(sm.get("Shared_Clean", 0) + sm.get("Shared_Dirty", 0)) if sm else "-"))
    if s:
        r = s["rss_kb"]
        L.append("%-58s first %s  last %s  max %s  growth %s  (%d s, %d sessions)" % (
            "5 RSS over the soak, %d stations (kB)" % s["stations"], fmt(r["first_steady"]), fmt(r["last"]),
            fmt(r["max"]), fmt(r["growth_kb"]), s["seconds"], s["sessions_completed"]))
    if s:
        L.append("%-58s %s per station (force_rate_hz 10); all topics: %s" % (
            "  MQTT force messages/s", fmt(s["force_messages_per_s_per_station"]),
            ", ".join("%s %s" % kv for kv in s["mqtt_messages_per_s"].items())))
    ss = res.get("startstop")
    if ss:
        a, b = ss["start_to_ready"], ss["sigterm_to_exit"]
        L.append("%-58s p50 %s  max %s  (%d runs)" % ("6 start to READY=1 (ms)", fmt(a.get("p50_ms")),
                                                     fmt(a.get("max_ms")), ss["runs"]))
        L.append("%-58s p50 %s  max %s" % ("6 SIGTERM to exit (ms)", fmt(b.get("p50_ms")), fmt(b.get("max_ms"))))
    sp = res.get("spool")
    if sp:
        L.append("%-58s %s sessions/s  (%d in %s s, %d B each)" % ("7 spool replay to mosquitto", fmt(sp["sessions_per_s"]),
                                                                 sp["sessions"], fmt(sp["drained_s"]), sp["doc_bytes"]))
    L.append("%-58s %s" % ("8 dashboard under load (coach view, chromium 1920x1080)", dashboard_line(res["dashboard"])))
    L.append("-" * 96)
    for t in res.get("targets", []):
        L.append("%-7s %-58s %s %s" % ("MET" if t["met"] else "MISSED", t["target"], fmt(t["measured"]), t["note"]))
    return "\n".join(L)


def sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def smoke_checks(res, parts):
    """That every piece measured something (never how fast: timing does not fail)."""
    bad = []

    def need(cond, what):
        if not cond:
            bad.append("smoke: " + what)
    if "sessions" in parts and "sessions" in res:
        s = res["sessions"]
        need(s["cue_latency"]["n"] >= 1, "no cue edge matched to a sample")
        need(s["release_cue_error"]["n"] >= 1, "no release cue matched to a hold")
        need(s["rss_kb"]["last"], "no RSS read")
    if "cost" in parts:
        need(res.get("cost") and all(c["samples"] > 0 and c["tphubd"]["cpu_s"] > 0 for c in res["cost"]),
             "cost run measured no samples or no CPU")
    if "floor" in parts:
        need(res.get("floor") and all(c["floor_received"] for c in res["floor"]), "the floor received nothing")
    if "callgrind" in res:
        cg = res["callgrind"]
        need(cg["samples"] > 0 and "engine" in cg["by_module"] and "driver" in cg["by_module"],
             "callgrind saw no samples, or no engine/driver cost")
        need(cg["floor"]["notifications"] > 0, "callgrind saw no floor notifications")
    if "startstop" in parts:
        need(res.get("startstop", {}).get("start_to_ready", {}).get("n"), "no start/stop run")
    if "spool" in parts:
        need(res.get("spool") and res["spool"]["received"] == res["spool"]["sessions"], "spool replay incomplete")
    if "dashboard" in parts:
        # bench_dashboard itself fails when nothing reached the page; a skip (no chromium) is fine
        need(isinstance(res.get("dashboard"), dict), "the dashboard run measured nothing")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="meson build dir with tphubd and bench-floor")
    ap.add_argument("--out", default="bench-results.json")
    ap.add_argument("--only", default="sessions,cost,floor,callgrind,startstop,spool,dashboard",
                    help="comma-separated parts to run")
    ap.add_argument("--tools", default="1,4,8,10", help="tool counts of the cost runs")
    ap.add_argument("--window", type=float, default=20.0, help="s of each CPU measurement")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--cg-window", type=float, default=10.0, help="s under callgrind")
    ap.add_argument("--soak-s", type=float, default=240.0, help="s of the sessions run (3600: the full hour)")
    ap.add_argument("--rss-every", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=50, help="start/stop runs")
    ap.add_argument("--spool", type=int, default=10000, help="sessions spooled for the replay")
    ap.add_argument("--dash-stations", type=int, default=12, help="stations of the dashboard run")
    ap.add_argument("--dash-hubs", type=int, default=3, help="hubs they are spread over")
    ap.add_argument("--dash-seconds", type=float, default=60.0, help="s measured in the dashboard run")
    ap.add_argument("--dash-warmup", type=float, default=5.0, help="s of traffic before the window opens")
    ap.add_argument("--dash-nice", type=int, default=0, help="run chromium, broker and publisher under nice -n N")
    ap.add_argument("--smoke", action="store_true", help="every piece, briefly (the meson 'bench' suite)")
    args = ap.parse_args()
    args.tphubd = os.path.join(args.build, "daemon", "hub", "tphubd")
    args.floor = os.path.join(args.build, "tests", "bench", "bench-floor")
    # the callgrind outputs stay beside the JSON (callgrind_annotate them)
    args.keep = os.path.dirname(os.path.abspath(args.out))
    if args.smoke:
        args.tools, args.window, args.warmup, args.cg_window = "1", 1.0, 0.5, 1.0
        args.soak_s, args.rss_every, args.runs, args.spool = 7.5, 2.0, 1, 50
        args.dash_seconds, args.dash_warmup = 3.0, 1.0
    parts = set(args.only.split(","))
    tools = [int(x) for x in args.tools.split(",")]

    res = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.machine(),
           "cores": os.cpu_count(), "load_at_start": os.getloadavg()[0], "smoke": args.smoke,
           "realtime": ROOT and bool(shutil.which("chrt")),
           "dashboard": "not run (--only without dashboard)"}
    failures = []

    def run(name, fn):
        t0 = time.monotonic()
        try:
            print("# %s ..." % name, file=sys.stderr, flush=True)
            v = fn()
            print("# %s done in %.0f s" % (name, time.monotonic() - t0), file=sys.stderr, flush=True)
            return v
        except Exception as e:  # a broken piece: reported, the rest still runs
            failures.append("%s: %s: %s" % (name, type(e).__name__, e))
            print("# %s FAILED: %s" % (name, e), file=sys.stderr, flush=True)
            return None

    doc = None
    if "sessions" in parts:
        s = run("sessions (items 1, 2, 5)", lambda: bench_sessions(args, 1 if args.smoke else 8, args.soak_s))
        if s:
            doc = s.pop("_doc")
            res["sessions"] = s
    if "cost" in parts:
        res["cost"] = [c for c in (run("cost %d tools" % n, lambda n=n: bench_cost(args, n)) for n in tools) if c]
    if "floor" in parts:
        res["floor"] = [c for c in (run("floor %d tools" % n, lambda n=n: bench_floor(args, n)) for n in tools) if c]
    if "callgrind" in parts:
        if sanitized(args.tphubd):
            # valgrind cannot run an ASan binary: the ASan build of the test suite skips this
            res["callgrind_skipped"] = "tphubd is built with a sanitizer"
            print("# callgrind skipped: tphubd is built with a sanitizer", file=sys.stderr)
        else:
            cg = run("callgrind", lambda: bench_callgrind(args, 1 if args.smoke else 8))
            if cg:
                res["callgrind"] = cg
    cost = {c["tools"]: c for c in res.get("cost", [])}
    fl = {c["tools"]: c for c in res.get("floor", [])}
    ratios = {}
    for n in sorted(set(cost) & set(fl)):
        a, b = cost[n], fl[n]
        ratios["tphubd / floor CPU per sample, %d tools" % n] = round(
            a["tphubd"]["us_per_sample"] / max(b["floor"]["us_per_sample"], 1e-9), 2)
        ratios["system / floor system CPU per sample, %d tools" % n] = round(
            (a["tphubd"]["us_per_sample"] + a["dbus_daemon"]["us_per_sample"]) /
            max(b["floor"]["us_per_sample"] + b["dbus_daemon"]["us_per_sample"], 1e-9), 2)
    if "callgrind" in res:
        ratios["tphubd / floor instructions per sample"] = round(
            res["callgrind"]["ir_per_sample"] / max(res["callgrind"]["floor"]["ir_per_sample"], 1), 2)
    res["ratios"] = ratios
    if "startstop" in parts:
        ss = run("start/stop", lambda: bench_startstop(args, args.runs))
        if ss:
            res["startstop"] = ss
    if "spool" in parts:
        sp = run("spool replay", lambda: bench_spool(args, args.spool, doc))
        if sp:
            res["spool"] = sp
    if "dashboard" in parts:
        d = run("dashboard (item 8)", lambda: bench_dashboard(args))
        res["dashboard"] = d if d else "FAILED (below)"
    res["targets"] = [] if args.smoke else targets(res)   # one tool says nothing about targets
    if args.smoke:
        failures += smoke_checks(res, parts)
    res["failures"] = failures
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
    print(table(res))
    print("JSON: %s" % args.out)
    for x in failures:
        print("FAILED " + x)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
