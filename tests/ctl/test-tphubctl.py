#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tphubctl against the real tphubd on the simulators (the stand-in bluetoothd with a
Progressor on a private bus) and a real mosquitto: every command in text and --json, every
error with its message and exit code (bad command line, unreadable configuration, unknown
station, refused commands, a hub that does not answer, the daemon down, the broker down).

Usage: test-tphubctl.py TPHUBCTL TPHUBD SRC"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "daemon"))
from mqtt_harness import Broker, Subscriber, free_port  # noqa: E402
from tphubd_harness import Tphubd, expect  # noqa: E402

TPHUBCTL, TPHUBD, SRC = sys.argv[1], sys.argv[2], sys.argv[3]
RUN_SIM = os.path.join(SRC, "tests", "ble", "sim", "run-sim.sh")
TOOL = "AA:00:00:00:00:01"
PROTOCOL = """title = "two points"; description = "test"; source = "test";
defaults = { kind = "press"; start = "confirm"; min_hold_s = 4; target_hold_s = 4; max_hold_s = 6;
             rest_s = 1; contact_n = 10; release_n = 5; target_min_n = 20; target_max_n = 200;
             safety_max_n = 250; min_release_s = 0.5; };
steps = ( { point = "p1"; label = "Point 1"; side = "left"; },
          { point = "p2"; label = "Point 2"; side = "right"; } );
"""
EXIT = {"ok": 0, "usage": 1, "config": 2, "broker": 3, "hub": 4, "station": 5, "refused": 6}

results = []


def case(name, fn):
    try:
        fn()
        results.append((name, None))
    except Exception as e:
        results.append((name, "%s: %s" % (type(e).__name__, e)))


class Ctl:
    def __init__(self, conf):
        self.conf = conf

    def run(self, *args, conf=True, timeout=20):
        argv = [TPHUBCTL] + (["--config", self.conf] if conf else []) + list(args)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args):
        rc, out, err = self.run(*args)
        expect(rc == 0, "tphubctl %s: exit %d, stderr %r" % (" ".join(args), rc, err))
        return out

    def fails(self, code, message, *args, conf=True):
        rc, out, err = self.run(*args, conf=conf)
        expect(rc == EXIT[code], "tphubctl %s: exit %d, want %d (%s); stderr %r"
               % (" ".join(args), rc, EXIT[code], code, err))
        expect(message in err, "tphubctl %s: stderr %r lacks %r" % (" ".join(args), err, message))
        return err


def main():
    tmp = tempfile.TemporaryDirectory(prefix="tphubctl-test-")
    t = tmp.name
    pdir = os.path.join(t, "protocols")
    os.mkdir(pdir)
    with open(os.path.join(pdir, "two.conf"), "w") as f:
        f.write(PROTOCOL)
    trace = os.path.join(t, "trace.csv")
    with open(trace, "w") as f:
        f.write("t_ms,force_n\n")
        for k in range(0, 600000, 100):
            f.write("%d,0\n" % k)
    broker = Broker()
    sub = Subscriber(broker.port)
    simdir = os.path.join(t, "bus")
    out = subprocess.run([RUN_SIM, "start", simdir, "hci0"], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        print("1..0 # SKIP BLE simulator: %s" % out.stderr.strip())
        return 0
    bus = "unix:path=%s/system_bus_socket" % simdir
    simenv = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus)
    for args in (["AddTool", "ssssa{sv}", "hci0", TOOL, "progressor", "Progressor_1", "1", "rssi", "n", "-61"],
                 ["LoadTraceCsv", "ss", TOOL, trace]):
        subprocess.run(["busctl", "--system", "--", "call", "org.bluez", "/", "org.tphub.BlueZSim1", *args],
                       env=simenv, check=True, capture_output=True, timeout=10)
    conf = os.path.join(t, "tphub.conf")
    with open(conf, "w") as f:
        f.write('hub = { name = "lab"; };\n')
        f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n' % (pdir, t, t))
        f.write('ble = { enabled = true; adapter = "hci0"; };\n')
        f.write('mqtt = { enabled = true; uri = "tcp://127.0.0.1:%d"; };\n' % broker.port)
        f.write('stations = ( { name = "bench-1"; protocol = "two"; tools = ( { address = "%s"; driver = "progressor"; } ); },\n'
                '             { name = "bench-2"; protocol = "two"; } );\n' % TOOL)
    ctl = Ctl(conf)
    d = Tphubd(TPHUBD, conf, env={"DBUS_SYSTEM_BUS_ADDRESS": bus})
    log = ""
    try:
        d.wait_notify("READY=1")
        sub.wait("tphub/lab/status", lambda x: x.get("state") == "online")
        sub.wait("tphub/lab/tools/" + TOOL, lambda x: x.get("connected") is True, timeout=60)
        sub.wait("tphub/lab/bench-2/state", lambda x: x.get("state") == "idle")

        def status_text():
            out = ctl.ok("status")
            lines = out.splitlines()
            expect(lines[0].startswith("hub lab: online, tphubd 0.1.0, since "), "first line %r" % lines[0])
            expect(any(line.split()[:2] == ["bench-1", "idle"] and "tool connected" in line for line in lines),
                   "bench-1 line in %r" % out)
            expect(any(line.split()[:2] == ["bench-2", "idle"] for line in lines), "bench-2 line in %r" % out)
        case("status: the hub and every station", status_text)

        def status_json():
            doc = json.loads(ctl.ok("status", "--json"))
            expect(doc["hub"]["state"] == "online" and doc["hub"]["stations"] == ["bench-1", "bench-2"], doc)
            expect(sorted(doc["stations"]) == ["bench-1", "bench-2"], doc)
            expect(doc["stations"]["bench-1"]["state"] == "idle" and doc["stations"]["bench-1"]["tool_connected"],
                   doc)
            one = json.loads(ctl.ok("--json", "status", "bench-2"))
            expect(list(one["stations"]) == ["bench-2"], one)
        case("status --json (all, and one station)", status_json)

        def tools():
            doc = json.loads(ctl.ok("tools", "--json"))
            expect(list(doc) == [TOOL], doc)
            expect(doc[TOOL]["type"] == "progressor" and doc[TOOL]["connected"] is True, doc)
            # BlueZ (and its stand-in) keeps an RSSI only while it scans: a connected tool has none
            expect("rssi" in doc[TOOL] and doc[TOOL]["rssi"] is None and doc[TOOL]["battery_mv"] == 3900, doc)
            out = ctl.ok("tools")
            row = [line for line in out.splitlines() if line.startswith(TOOL)]
            expect(row and row[0].split()[1] == "progressor" and " connected " in row[0], out)
            expect(row[0].split()[4:7] == ["3900", "mV", "-"], row)
            expect(out.splitlines()[0].split() == ["ADDRESS", "TYPE", "NAME", "LINK", "BATTERY", "RSSI",
                                                   "LAST", "SEEN"], out)
        case("tools: type, link, battery, RSSI, last seen (text and --json)", tools)

        def unknown_station():
            ctl.fails("station", 'hub "lab" has no station "nope"; its stations: bench-1, bench-2', "status", "nope")
            ctl.fails("station", 'no station "nope"', "start", "nope")
            ctl.fails("station", 'no station "nope"', "sessions", "nope")
            ctl.fails("station", 'no station "nope"', "events", "nope")
        case("unknown station: exit 5, the hub's stations named", unknown_station)

        tail = {}

        def start_tail():
            p = subprocess.Popen([TPHUBCTL, "--config", conf, "events", "bench-1", "--json"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            tail["p"] = p
            tail["lines"] = []
            ready = p.stderr.readline()  # said once its subscription is in place
            expect(ready.startswith("Following the events of station bench-1"), "tail said %r" % ready)
            threading.Thread(target=lambda: [tail["lines"].append(json.loads(x)) for x in p.stdout],
                             daemon=True).start()
        case("events: a live tail is following", start_tail)

        def start():
            out = ctl.ok("start", "bench-1", "--athlete", "anna", "--protocol", "two")
            expect(out == "bench-1: start: ok\n", out)
            st = json.loads(ctl.ok("status", "--json", "bench-1"))["stations"]["bench-1"]
            expect(st["athlete"] == "anna" and st["protocol"] == "two" and st["state"] != "idle", st)
            expect("anna two" in ctl.ok("status", "bench-1"), "text status names the session")
        case("start with athlete and protocol: the station runs it", start)

        def refused():
            ctl.fails("refused", "start on bench-1 refused: a session is running", "start", "bench-1")
            ctl.fails("refused", "start on bench-2 refused: unknown protocol", "start", "bench-2", "--protocol", "nope")
            ctl.fails("refused", "stop on bench-2 refused: no session is running", "stop", "bench-2")
            ctl.fails("usage", "--athlete must be 1-64 characters of [A-Za-z0-9_.-]", "start", "bench-2",
                      "--athlete", "a b")
        case("refused commands: exit 6 with the hub's reason; a bad name is caught before sending (1)", refused)

        def skip_tare():
            rc, out, err = ctl.run("skip", "bench-1", "--json")
            expect(rc == 0 and json.loads(out)["ok"] is True, (rc, out, err))
            ctl.fails("refused", "tare on bench-2 refused: no tool is connected", "tare", "bench-2")
        case("skip (--json reply); tare without a tool refused", skip_tare)

        sid = {}

        def stop_and_events():
            st = json.loads(ctl.ok("status", "--json", "bench-1"))["stations"]["bench-1"]
            sid["id"] = st["session_id"]
            expect(ctl.ok("stop", "bench-1") == "bench-1: stop: ok\n", "stop")
            end = time.monotonic() + 10
            while not any(e.get("type") == "session_end" for e in tail["lines"]):
                expect(time.monotonic() < end, "no session_end in the tail: %r" % tail["lines"])
                time.sleep(0.05)
            ends = [e for e in tail["lines"] if e.get("type") == "session_end"]
            expect(ends[0]["status"] == "aborted" and ends[0]["session_id"] == sid["id"], ends)
            expect(any(e.get("type") == "skipped" for e in tail["lines"]), "the skip is in the tail")
            tail["p"].send_signal(signal.SIGINT)
            expect(tail["p"].wait(timeout=10) == 0, "tail exit %r" % tail["p"].returncode)
        case("stop; the tail saw skip and session_end, and ends on Ctrl-C with 0", stop_and_events)

        def tare():
            expect(ctl.ok("tare", "bench-1") == "bench-1: tare: ok\n", "tare on the idle station with its tool at rest")
        case("tare: the station's tool at rest is zeroed", tare)

        def sessions():
            doc = json.loads(ctl.ok("sessions", "--json"))
            expect(len(doc) == 1 and doc[0]["id"] == sid["id"], doc)
            expect(doc[0]["status"] == "aborted" and doc[0]["athlete"] == "anna" and doc[0]["station"] == "bench-1",
                   doc)
            out = ctl.ok("sessions", "bench-1")
            row = out.splitlines()[1].split()
            expect(row[1:5] == ["bench-1", "anna", "two", "aborted"] and row[-1] == sid["id"], out)
            expect(json.loads(ctl.ok("sessions", "bench-2", "--json")) == [], "bench-2 has none")
            expect("no finished sessions recorded on hub lab for bench-2" in ctl.ok("sessions", "bench-2"), "text")
        case("sessions: the last finished sessions (text and --json)", sessions)

        def sessions_many():
            for k in range(3):
                ctl.ok("start", "bench-2", "--athlete", "ath%d" % k)
                ctl.ok("stop", "bench-2")
            doc = json.loads(ctl.ok("sessions", "--json", "-n", "2"))
            expect([s["athlete"] for s in doc] == ["ath2", "ath1"], doc)
        case("sessions -n: newest first, at most N", sessions_many)

        def usage():
            for args in (["frobnicate"], [], ["start"], ["status", "--athlete", "x"], ["tools", "extra"],
                         ["--timeout", "0", "status"], ["sessions", "-n", "0"]):
                rc, out, err = ctl.run(*args)
                expect(rc == 1 and err.startswith("tphubctl"), "%r: exit %d %r" % (args, rc, err))
            for cmd in ("status", "tools", "sessions", "events", "start", "stop", "skip", "tare"):
                rc, out, err = ctl.run(cmd, "--help", conf=False)
                expect(rc == 0 and out.startswith("Usage: tphubctl [OPTIONS] " + cmd), "%s --help: %r" % (cmd, out))
            rc, out, err = ctl.run("--help", conf=False)
            expect(rc == 0 and "Exit status:" in out, "--help")
        case("bad command lines: exit 1; --help on every command", usage)

        def config_errors():
            ctl.fails("config", "cannot read the configuration /nonexistent/tphub.conf", "--config",
                      "/nonexistent/tphub.conf", "status", conf=False)
            bad = os.path.join(t, "bad.conf")
            with open(bad, "w") as f:
                f.write("bogus = 1;\n")
            ctl.fails("config", 'unknown key "bogus"', "--config", bad, "status", conf=False)
        case("unreadable or broken configuration: exit 2 with every error", config_errors)

        def unknown_hub():
            ctl.fails("hub", 'no hub "other" on tcp://127.0.0.1:%d' % broker.port, "--hub", "other", "status")
        case("a hub name the broker never saw: exit 4", unknown_hub)

        def no_answer():
            os.kill(d.proc.pid, signal.SIGSTOP)  # wedged: the retained status still says online
            try:
                ctl.fails("hub", 'hub "lab" did not answer the skip command within 1 s', "--timeout", "1", "skip",
                          "bench-1")
            finally:
                os.kill(d.proc.pid, signal.SIGCONT)
        case("a hub that does not answer: exit 4 after --timeout", no_answer)

        def daemon_down():
            d.signal(signal.SIGTERM)
            expect(d.wait_exit(timeout=20) == 0, "tphubd exit")
            ctl.fails("hub", 'hub "lab" is offline: tphubd is not running', "status")
            ctl.fails("hub", 'hub "lab" is offline', "start", "bench-1")
        case("daemon down: exit 4, offline said", daemon_down)

        def broker_down():
            port = free_port()
            ctl.fails("broker", "cannot reach the MQTT broker at tcp://127.0.0.1:%d" % port, "--broker",
                      "tcp://127.0.0.1:%d" % port, "--hub", "lab", "status", conf=False)
            broker.stop()
            ctl.fails("broker", "cannot reach the MQTT broker at tcp://127.0.0.1:%d" % broker.port, "tools")
        case("broker down: exit 3 with the broker named", broker_down)
    finally:
        log = d.read_log()
        d.close()
        subprocess.run([RUN_SIM, "stop", simdir], capture_output=True, timeout=30)
        sub.close()
        broker.close()
        tmp.cleanup()

    bad = False
    for k, (name, failure) in enumerate(results, 1):
        print("%s %d - %s" % ("not ok" if failure else "ok", k, name))
        if failure:
            bad = True
            print("# " + failure.replace("\n", "\n# "))
    print("1..%d" % len(results))
    if bad:
        print("# daemon log:\n# " + log.replace("\n", "\n# ")[-4000:])
    return 1 if bad else 0


sys.exit(main())
