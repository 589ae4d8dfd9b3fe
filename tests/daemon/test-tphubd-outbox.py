#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The outbox without a broker (docs/operations.md, "Sessions when MQTT is off"): tphubd runs
with MQTT disabled and is killed (SIGKILL) mid-hold. The checkpoint written at check-in is
recovered into the spool at the next start whatever the MQTT setting, and the session is
published exactly once, as interrupted, when tphubd next runs with MQTT enabled.

  killed_then_mqtt:         MQTT off, killed; restarted with MQTT on: published once.
  killed_then_offline_then_mqtt: MQTT off, killed; restarted still off: the interrupted session
                            is in the spool (in the publisher's format) and the checkpoint is
                            gone, so a new session cannot overwrite it; then MQTT on: published
                            once, and not again at a further restart.
  finished_offline_then_mqtt: MQTT off, a session completes: spooled (and in the journal), no
                            checkpoint left; then MQTT on: published once, completed.

Stand-in bluetoothd (tests/ble/sim) for the tool, a real mosquitto for the broker."""

import json
import os
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from ble_sim import Sim, press_cycle, rest  # noqa: E402
from mqtt_harness import Broker, Subscriber, publish  # noqa: E402
from tphubd_harness import Tphubd, run_tap, expect  # noqa: E402

TPHUBD, SRC = sys.argv[1], sys.argv[2]
del sys.argv[2]   # run_tap() reads an optional test name as argv[2]
P1 = "AA:00:00:00:00:01"
BASE, LEVEL = 2.0, 280.0
PROTOCOL = """title = "one hold"; description = "test"; source = "test";
steps = ( { point = "p1"; label = "Point"; side = "left"; kind = "press"; start = "auto";
            min_hold_s = %d; target_hold_s = %d; max_hold_s = 60; settle_s = 0.5; rest_s = 0;
            contact_n = 20; release_n = 10; target_min_n = 100; target_max_n = 400; safety_max_n = 600;
            min_release_s = 0.2; } );
"""
TOPIC = "tphub/lab/bench-1/session"


class Lab:
    def __init__(self, hold_s=30):
        self.tmp = tempfile.TemporaryDirectory(prefix="tphub-outbox-")
        t = self.tmp.name
        self.pdir = os.path.join(t, "protocols")
        os.mkdir(self.pdir)
        with open(os.path.join(self.pdir, "hold.conf"), "w") as f:
            f.write(PROTOCOL % (hold_s, hold_s))
        self.spool = os.path.join(t, "spool")
        self.state = os.path.join(t, "state")
        self.conf = os.path.join(t, "tphub.conf")
        self.broker = Broker()
        self.sub = Subscriber(self.broker.port)
        self.sim = Sim(SRC, os.path.join(t, "bus"))
        self.sim.add_tool(P1, "progressor", "Progressor_1")
        self.n_trace = 0
        self.d = None

    def write_conf(self, mqtt):
        with open(self.conf, "w") as f:
            f.write('hub = { name = "lab"; };\n')
            f.write('paths = { protocols = [ "%s" ]; spool = "%s"; state = "%s"; };\n' % (self.pdir, self.spool, self.state))
            f.write('ble = { enabled = true; adapter = "hci0"; backoff_initial_ms = 100; backoff_max_ms = 400; };\n')
            f.write('mqtt = { enabled = %s; uri = "tcp://127.0.0.1:%d"; };\n' % ("true" if mqtt else "false", self.broker.port))
            f.write('stations = ( { name = "bench-1"; protocol = "hold"; tools = ( { address = "%s"; driver = "progressor"; } ); } );\n' % P1)

    def trace(self, rows):
        self.n_trace += 1
        self.sim.load_trace(P1, rows, os.path.join(self.tmp.name, "trace%d.csv" % self.n_trace))

    def start(self, mqtt):
        self.write_conf(mqtt)
        self.d = Tphubd(TPHUBD, self.conf, env={"DBUS_SYSTEM_BUS_ADDRESS": self.sim.bus_address})
        self.d.wait_notify("READY=1", timeout=30)

    def stop(self, sig=signal.SIGTERM):
        self.d.signal(sig)
        code = self.d.wait_exit(timeout=20)
        log = self.d.read_log()
        self.d.close()
        self.d = None
        return code, log

    def checkpoint(self):
        return os.path.join(self.state, "bench-1.checkpoint.json")

    def spooled(self):
        """The spool entries: (name, topic, document)."""
        res = []
        for name in sorted(os.listdir(self.spool)) if os.path.isdir(self.spool) else []:
            with open(os.path.join(self.spool, name)) as f:
                topic, doc = f.read().split("\n", 1)
            res.append((name, topic, json.loads(doc)))
        return res

    def close(self):
        if self.d:
            self.d.close()
        self.sim.stop()
        self.sub.close()
        self.broker.close()
        self.tmp.cleanup()


def kill_mid_hold(lab):
    """MQTT off: a press checks in and its hold starts; SIGKILL. Returns the session id, read
    from the checkpoint written at check-in."""
    lab.trace(rest(0, 600000, BASE))
    lab.start(mqtt=False)
    lab.d.wait_log("Tool %s (progressor) connected" % P1, timeout=30)
    lab.trace(press_cycle(BASE, LEVEL, press_ms=120000))
    lab.d.wait_log("bench-1: hold_start", timeout=30)
    with open(lab.checkpoint()) as f:
        doc = json.load(f)
    expect(doc["status"] == "interrupted", "checkpoint status %r" % doc["status"])
    code, log = lab.stop(signal.SIGKILL)
    expect(code == -signal.SIGKILL, "exit %r" % code)
    expect(not lab.spooled(), "spooled before the kill: %r" % lab.spooled())
    lab.trace(rest(0, 600000, BASE))   # the athlete let go while tphubd was down
    return doc["id"]


def published(lab, sid):
    """Every document under this id the broker passed on: a marker published now comes after
    anything tphubd published before (one broker, in order), so waiting for it drains them."""
    m = len(lab.sub.seen)
    publish(lab.broker.port, "test/marker", "1")
    lab.sub.wait("test/marker", after=m)
    return [json.loads(p) for t, r, q, p in lab.sub.seen if t == TOPIC and json.loads(p)["id"] == sid]


def mqtt_run_publishes_once(lab, sid):
    """tphubd with MQTT: the spooled session reaches the broker (PUBACK: removed from the
    spool), once; a clean stop, and it was published exactly once."""
    m = len(lab.sub.seen)
    lab.start(mqtt=True)
    _, doc, _ = lab.sub.wait(TOPIC, lambda x: x["id"] == sid, after=m, timeout=30)
    expect(doc["status"] == "interrupted", "published as %r" % doc["status"])
    lab.d.wait_log("MQTT: session %s delivered" % sid, timeout=30)
    code, log = lab.stop()
    expect(code == 0, "exit %d" % code)
    expect(not lab.spooled(), "still spooled: %r" % [n for n, _, _ in lab.spooled()])
    expect(not os.path.exists(lab.checkpoint()), "the checkpoint is still there")
    docs = published(lab, sid)
    expect(len(docs) == 1, "published %d times" % len(docs))
    return log


def killed_then_mqtt():
    lab = Lab()
    try:
        sid = kill_mid_hold(lab)
        log = mqtt_run_publishes_once(lab, sid)
        expect(log.count("session %s was interrupted" % sid) == 1, "recovered %d times" %
               log.count("session %s was interrupted" % sid))
    finally:
        lab.close()


def killed_then_offline_then_mqtt():
    lab = Lab()
    try:
        sid = kill_mid_hold(lab)
        # still no broker: recovered into the spool at start, the checkpoint cleared
        lab.start(mqtt=False)
        lab.d.wait_log("session %s was interrupted" % sid)
        entries = lab.spooled()
        expect([d["id"] for _, _, d in entries] == [sid], "spool %r" % [(n, d["id"]) for n, _, d in entries])
        name, topic, doc = entries[0]
        expect(name.endswith("-%s.json" % sid), "spool entry %s" % name)
        expect(topic == TOPIC, "spooled for %s" % topic)
        expect(doc["status"] == "interrupted" and doc["station"] == "bench-1", "spooled %r" % doc)
        expect(not os.path.exists(lab.checkpoint()), "the checkpoint was left after spooling")
        code, _ = lab.stop()
        expect(code == 0, "exit %d" % code)
        expect(not published(lab, sid), "published with MQTT off")
        mqtt_run_publishes_once(lab, sid)
        # a further start sends nothing again (nothing spooled, no checkpoint)
        m = len(lab.sub.seen)
        lab.start(mqtt=True)
        lab.d.wait_log("MQTT: connected to", timeout=30)
        lab.sub.wait("tphub/lab/bench-1/state", after=m, timeout=30)
        code, log = lab.stop()
        expect(code == 0, "exit %d" % code)
        expect("was interrupted" not in log, "recovered again")
        expect(len(published(lab, sid)) == 1, "published %d times" % len(published(lab, sid)))
    finally:
        lab.close()


def finished_offline_then_mqtt():
    lab = Lab(hold_s=3)
    try:
        lab.trace(rest(0, 600000, BASE))
        lab.start(mqtt=False)
        lab.d.wait_log("Tool %s (progressor) connected" % P1, timeout=30)
        lab.trace(press_cycle(BASE, LEVEL, press_ms=6000))
        log = lab.d.wait_log(" completed (hold)", timeout=40)
        entries = lab.spooled()
        expect(len(entries) == 1, "spool %r" % [n for n, _, _ in entries])
        name, topic, doc = entries[0]
        expect(topic == TOPIC and doc["status"] == "completed", "spooled %s %r" % (topic, doc["status"]))
        expect('"id":"%s"' % doc["id"] in log, "the record is not in the journal")
        expect(not os.path.exists(lab.checkpoint()), "the checkpoint was left after the session ended")
        code, _ = lab.stop()
        expect(code == 0, "exit %d" % code)
        m = len(lab.sub.seen)
        lab.start(mqtt=True)
        _, pub, _ = lab.sub.wait(TOPIC, lambda x: x["id"] == doc["id"], after=m, timeout=30)
        expect(pub == doc, "published %r, spooled %r" % (pub, doc))
        lab.d.wait_log("MQTT: session %s delivered" % doc["id"], timeout=30)
        code, _ = lab.stop()
        expect(code == 0, "exit %d" % code)
        expect(not lab.spooled(), "still spooled")
        expect(len(published(lab, doc["id"])) == 1, "published %d times" % len(published(lab, doc["id"])))
    finally:
        lab.close()


run_tap([killed_then_mqtt, killed_then_offline_then_mqtt, finished_offline_then_mqtt])
