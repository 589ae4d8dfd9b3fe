#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tphubd against a real mosquitto: hub status (online, last will, clean offline), live state
(every transition, >= 4 Hz in a countdown), events, commands and their replies (malformed ones
refused without changing anything), finished sessions, and durability: SIGKILL mid-session
(published as interrupted), SIGKILL with a session spooled but not acknowledged (published
after restart), a broker outage while 20 sessions finish (all arrive, once each, in order).
The foot-switch is driven through the GPIO sim socket."""

import json
import os
import select
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from mqtt_harness import Broker, Subscriber, publish, retained  # noqa: E402
from tphubd_harness import Tphubd, run_tap, expect  # noqa: E402

TPHUBD = sys.argv[1]
PROTOCOLS = {
    "short": """title = "two short points"; description = "test"; source = "test";
defaults = { kind = "press"; start = "confirm"; min_hold_s = 4; target_hold_s = 4; max_hold_s = 6;
             rest_s = 1; contact_n = 10; release_n = 5; target_min_n = 20; target_max_n = 200;
             safety_max_n = 250; min_release_s = 0.5; };
steps = ( { point = "p1"; label = "Point 1"; side = "left"; },
          { point = "p2"; label = "Point 2"; side = "right"; } );
""",
    "tiny": """title = "one very short stretch"; description = "test"; source = "test";
steps = ( { point = "s1"; label = "Stretch"; side = "both"; kind = "stretch"; start = "timer";
            min_hold_s = 0; target_hold_s = 0.2; max_hold_s = 0.2; rest_s = 0; min_release_s = 0; } );
""",
}


class Lab:
    """A broker, a subscriber on everything, and a tphubd with the GPIO sim."""

    def __init__(self, protocol="short", spool_max=1000):
        self.tmp = tempfile.TemporaryDirectory(prefix="tphub-mqtt-")
        t = self.tmp.name
        pdir = os.path.join(t, "protocols")
        os.mkdir(pdir)
        for name, text in PROTOCOLS.items():
            with open(os.path.join(pdir, name + ".conf"), "w") as f:
                f.write(text)
        self.broker = Broker()
        self.sub = Subscriber(self.broker.port)
        self.sock = os.path.join(t, "gpio.sock")
        self.conf = os.path.join(t, "tphub.conf")
        with open(self.conf, "w") as f:
            f.write('hub = { name = "lab"; };\n')
            f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n' % (pdir, t, t))
            f.write('switch = { debounce_ms = 10; tap_max_ms = 600; long_ms = 1500; very_long_ms = 2500; };\n')
            f.write('gpio = { backend = "sim"; sim_socket = "%s"; };\n' % self.sock)
            f.write('ble = { enabled = false; };\n')
            f.write('mqtt = { enabled = true; uri = "tcp://127.0.0.1:%d"; version = 5; force_rate_hz = 10.0;\n'
                    '         spool_max_sessions = %d; };\n' % (self.broker.port, spool_max))
            f.write('stations = ( { name = "bench-1"; protocol = "%s";\n' % protocol)
            f.write('  switch = { chip = "chip0"; line = "SW"; active_low = true; }; } );\n')
        self.d = None
        self.gpio = None

    def start(self, online=True):
        after = len(self.sub.seen)
        self.d = Tphubd(TPHUBD, self.conf)
        self.d.wait_notify("READY=1")
        if online:  # subscribed to commands by then
            self.sub.wait("tphub/lab/status", lambda d: d.get("state") == "online", after=after)
        self.gpio = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.gpio.connect(self.sock)
        self.gpio_cmd("in chip0 SW 1")

    def gpio_cmd(self, text):
        self.gpio.send(text.encode())
        while True:
            r, _, _ = select.select([self.gpio], [], [], 5)
            if not r:
                raise TimeoutError("GPIO sim did not answer " + text)
            msg = self.gpio.recv(4096).decode().strip()
            if not msg.startswith("out "):
                if msg != "ok":
                    raise RuntimeError("%s -> %s" % (text, msg))
                return

    def press(self, seconds):
        """A press of the given length, then the foot off the switch for 50 ms: a real
        release, longer than the debounce time (these are stimulus durations, not waits)."""
        for level, duration in ((0, seconds), (1, 0.05)):
            self.gpio_cmd("in chip0 SW %d" % level)
            end = time.monotonic() + duration
            while time.monotonic() < end:
                select.select([], [], [], end - time.monotonic())

    def cmd(self, payload, after=None):
        after = len(self.sub.seen) if after is None else after
        publish(self.broker.port, "tphub/lab/bench-1/cmd", payload)
        return self.sub.wait("tphub/lab/bench-1/cmd/reply", after=after)[1]

    def kill(self, sig=signal.SIGKILL):
        self.d.signal(sig)
        self.d.wait_exit()
        self.d.close()
        self.gpio.close()

    def close(self):
        if self.d:
            self.d.close()
        self.sub.close()
        self.broker.close()
        self.tmp.cleanup()


def test_status_commands_sessions():
    lab = Lab()
    try:
        lab.start()
        st, ret = retained(lab.broker.port, "tphub/lab/status")
        expect(ret and st["state"] == "online" and st["stations"] == ["bench-1"] and st["hub"] == "lab",
               "status %r" % st)
        # what a dashboard shows of a hub (docs/mqtt.md, status)
        expect(sorted((p["name"], p["steps"]) for p in st["protocols"]) == [("short", 2), ("tiny", 1)],
               "protocols %r" % st.get("protocols"))
        expect(st["links"] == 0 and st["links_max"] == 5 and st["backlog"] == 0 and st["spool"] == 0,
               "links/backlog %r" % st)
        expect(isinstance(st["uptime_s"], int) and 0 <= st["uptime_s"] < 60, "uptime_s %r" % st.get("uptime_s"))
        expect(isinstance(st["clock_synced"], bool), "clock_synced %r" % st.get("clock_synced"))
        lab.sub.wait("tphub/lab/bench-1/state", lambda d: d["state"] == "idle")
        s, ret = retained(lab.broker.port, "tphub/lab/bench-1/state")
        expect(ret and s["state"] == "idle" and s["session_id"] is None, "idle state %r" % s)

        r = lab.cmd('{"cmd":"start","athlete":"anna","protocol":"short","id":"r1"}')
        expect(r == {"id": "r1", "ok": True}, "start reply %r" % r)
        _, s, _ = lab.sub.wait("tphub/lab/bench-1/state", lambda d: d["state"] == "point")
        expect(s["athlete"] == "anna" and s["protocol"] == "short" and s["point"] == "p1" and s["rep"] == 1,
               "state %r" % s)
        sid = s["session_id"]
        _, ev, _ = lab.sub.wait("tphub/lab/bench-1/event", lambda d: d["type"] == "checkin")
        expect(ev["session_id"] == sid and ev["station"] == "bench-1", "checkin event %r" % ev)

        bad = [
            ("{bad", "invalid JSON"),
            ('{"cmd":5}', '"cmd" must be a string'),
            ('{"cmd":"dance","id":"x"}', "unknown command"),
            ('{"cmd":"stop","extra":1}', "unknown key"),
            ('{"cmd":"start","athlete":"a b"}', '"athlete" must be 1-64 characters of [A-Za-z0-9_.-]'),
            ('[1,2]', "payload must be a JSON object"),
            ('{"cmd":"start","id":"r2","athlete":"' + "x" * 5000 + '"}', "payload too large (max 4096 bytes)"),
            ('{"cmd":"start","id":"r2"}', "a session is running"),
            ('{"cmd":"tare","id":"r5"}', "no tool is connected"),  # a tool's zero, and this station has none
        ]
        for payload, err in bad:
            r = lab.cmd(payload)
            if err is None:
                expect(r.get("ok") is True, "%s -> %r" % (payload[:40], r))
            else:
                expect(r.get("ok") is False and r.get("error") == err, "%s -> %r, wanted %r" % (payload[:40], r, err))
        # nothing changed: the retained state is still the same session at the same point
        s, _ = retained(lab.broker.port, "tphub/lab/bench-1/state")
        expect(s["session_id"] == sid and s["athlete"] == "anna" and s["point"] == "p1" and s["state"] == "point",
               "state changed: %r" % s)

        r = lab.cmd('{"cmd":"skip","id":"r3"}')
        expect(r == {"id": "r3", "ok": True}, "skip %r" % r)
        lab.sub.wait("tphub/lab/bench-1/state", lambda d: d["point"] == "p2")
        r = lab.cmd('{"cmd":"stop","id":"r4"}')
        expect(r == {"id": "r4", "ok": True}, "stop %r" % r)
        i, sess, ret = lab.sub.wait("tphub/lab/bench-1/session")
        expect(not ret and lab.sub.seen[i][2] == 1, "session must be QoS 1, not retained")
        expect(sess["id"] == sid and sess["status"] == "aborted" and sess["athlete"] == "anna", "session %r" % sess)
        expect([r["outcome"] for r in sess["steps"][0]["reps"]] == ["skipped"], "reps %r" % sess["steps"])
        # the retained summary, computed here from the session document
        outcomes = {}
        for step in sess["steps"]:
            for rep in step["reps"]:
                outcomes[rep["outcome"]] = outcomes.get(rep["outcome"], 0) + 1
        want = {k: sess[k] for k in ("id", "athlete", "protocol", "status", "started_at", "ended_at", "duration_ms")}
        want.update(points=sum(1 for step in sess["steps"] if step["reps"]), reps=outcomes)
        last, ret = retained(lab.broker.port, "tphub/lab/bench-1/last_session")
        expect(ret and last == want, "last_session %r, wanted %r" % (last, want))
        r = lab.cmd('{"cmd":"stop","id":"r6"}')
        expect(r == {"id": "r6", "ok": False, "error": "no session is running"}, "stop when idle %r" % r)

        lab.d.signal(signal.SIGTERM)
        expect(lab.d.wait_exit() == 0, "exit status")
        lab.sub.wait("tphub/lab/status", lambda d: d.get("state") == "offline")
        st, ret = retained(lab.broker.port, "tphub/lab/status")
        expect(ret and st == {"state": "offline"}, "offline must be retained: %r" % st)
    finally:
        lab.close()


def test_live_state_rate_and_rep():
    lab = Lab()
    try:
        lab.start()
        lab.press(0.1)  # tap: check-in with the default protocol
        lab.sub.wait("tphub/lab/bench-1/state", lambda d: d["state"] == "point")
        lab.press(0.1)  # found it: hold (no tool: timed by the clock)
        i0, _, _ = lab.sub.wait("tphub/lab/bench-1/state", lambda d: d["state"] == "hold")
        i1, _, _ = lab.sub.wait("tphub/lab/bench-1/state", lambda d: d["state"] == "release", after=i0, timeout=10)
        holds = [json.loads(p) for t, r, q, p in lab.sub.seen[i0:i1] if t == "tphub/lab/bench-1/state"]
        expect(len(holds) >= 15, "only %d state updates in a 4 s countdown" % len(holds))
        rem = [h["remaining_ms"] for h in holds]
        expect(rem == sorted(rem, reverse=True) and rem[0] <= 4000 and rem[-1] < 400, "remaining %r" % rem)
        # the 4 Hz refreshes of one hold: the same document, only the time, the force and what
        # min_hold changes (tap_counts and its prompt) moving
        moving = {"remaining_ms", "force_n", "at", "tap_counts", "prompt"}
        for h in holds[1:]:
            expect(list(h) == list(holds[0]), "keys %r, first %r" % (list(h), list(holds[0])))
            expect({k: v for k, v in h.items() if k not in moving} == {k: v for k, v in holds[0].items() if k not in moving},
                   "refresh %r differs from the hold's first document %r" % (h, holds[0]))
        ats = [h["at"] for h in holds]
        expect(ats == sorted(ats) and len(set(ats)) == len(ats), "at %r" % ats)
        types = [d["type"] for d, r in lab.sub.all("tphub/lab/bench-1/event")]
        for t in ("checkin", "step", "hold_start", "release_cue"):
            expect(t in types, "no %s event in %r" % (t, types))
        lab.sub.wait("tphub/lab/bench-1/event", lambda d: d["type"] == "rest")
    finally:
        lab.close()


def test_sigkill_mid_session_is_interrupted():
    lab = Lab()
    try:
        lab.start()
        r = lab.cmd('{"cmd":"start","athlete":"ben","id":"k1"}')
        expect(r["ok"], "start %r" % r)
        _, s, _ = lab.sub.wait("tphub/lab/bench-1/state", lambda d: d["state"] == "point")
        sid = s["session_id"]
        lab.press(0.1)
        lab.sub.wait("tphub/lab/bench-1/event", lambda d: d["type"] == "rest", timeout=10)  # checkpointed
        lab.kill(signal.SIGKILL)
        lab.sub.wait("tphub/lab/status", lambda d: d.get("state") == "offline", timeout=90)
        st, ret = retained(lab.broker.port, "tphub/lab/status")
        expect(ret and st == {"state": "offline"}, "last will must be retained: %r" % st)
        after = len(lab.sub.seen)
        lab.start()
        _, sess, _ = lab.sub.wait("tphub/lab/bench-1/session", after=after)
        expect(sess["id"] == sid and sess["status"] == "interrupted" and sess["athlete"] == "ben", "session %r" % sess)
        reps = sess["steps"][0]["reps"]
        # without a tool the hold ends at the release cue, as the engine scheduled it
        expect(len(reps) == 1 and reps[0]["outcome"] == "completed" and reps[0]["hold_ms"] == 4000 and
               not reps[0]["over_hold"], "reps %r" % reps)
        expect(sess["ended_at"] is not None and sess["ended_at"] >= sess["started_at"], "ended_at %r" % sess)
        # and only once: a second restart publishes nothing more
        lab.kill(signal.SIGTERM)
        after = len(lab.sub.seen)
        lab.start()
        lab.cmd('{"cmd":"tare"}')  # a round trip through the daemon after its start-up publishing
        expect(not [1 for t, r, q, p in lab.sub.seen[after:] if t == "tphub/lab/bench-1/session"],
               "published again")
    finally:
        lab.close()


def test_sigkill_with_unacknowledged_session():
    lab = Lab()
    try:
        lab.start()
        lab.sub.wait("tphub/lab/status", lambda d: d.get("state") == "online")
        lab.broker.stop()
        lab.press(0.1)      # check in
        lab.press(3.0)      # very long press: stop; the session is spooled, the broker is away
        log_end = time.monotonic() + 10
        while "aborted (short)" not in lab.d.read_log():
            expect(time.monotonic() < log_end, "no aborted session: " + lab.d.read_log())
            select.select([], [], [], 0.05)
        spool = os.path.join(lab.tmp.name, "spool")
        expect(len([f for f in os.listdir(spool) if f.endswith(".json")]) == 1, "spool %r" % os.listdir(spool))
        lab.kill(signal.SIGKILL)
        lab.broker.start()
        lab.sub.close()
        lab.sub = Subscriber(lab.broker.port)
        lab.start(online=False)
        _, sess, _ = lab.sub.wait("tphub/lab/bench-1/session", timeout=30)
        expect(sess["status"] == "aborted", "session %r" % sess)
        lab.sub.wait("tphub/lab/status", lambda d: d.get("state") == "online")
        end = time.monotonic() + 10
        while [f for f in os.listdir(spool) if f.endswith(".json")]:
            expect(time.monotonic() < end, "spool not emptied after the PUBACK")
            select.select([], [], [], 0.05)
    finally:
        lab.close()


def test_broker_outage_20_sessions():
    lab = Lab(protocol="tiny")
    try:
        lab.start()
        lab.sub.wait("tphub/lab/status", lambda d: d.get("state") == "online")
        lab.broker.stop()
        for k in range(20):
            lab.press(0.08)  # tap: check in; the 0.2 s stretch completes the session by itself
            end = time.monotonic() + 10
            while lab.d.read_log().count(" completed (tiny)") < k + 1:
                expect(time.monotonic() < end, "session %d did not complete" % (k + 1))
                select.select([], [], [], 0.02)
        lab.broker.start()
        lab.sub.close()
        lab.sub = Subscriber(lab.broker.port, "tphub/lab/bench-1/session")
        ids = []
        after = 0
        while len(ids) < 20:
            after, sess, _ = lab.sub.wait("tphub/lab/bench-1/session", after=after, timeout=60)
            after += 1
            ids.append((sess["started_at"], sess["id"]))
        expect(len({i for _, i in ids}) == 20, "duplicates: %r" % ids)
        expect(ids == sorted(ids), "out of order: %r" % ids)
        # nothing more arrives: each once. The spool is empty (all acknowledged) and a command
        # round trip through the daemon passes whatever it still had in flight.
        spool = os.path.join(lab.tmp.name, "spool")
        end = time.monotonic() + 10
        while [f for f in os.listdir(spool) if f.endswith(".json")]:
            expect(time.monotonic() < end, "spool not emptied: %r" % os.listdir(spool))
            select.select([], [], [], 0.05)
        sessions = lab.sub
        lab.sub = Subscriber(lab.broker.port)
        lab.sub.wait("tphub/lab/status", lambda d: d.get("state") == "online")
        lab.cmd('{"cmd":"tare"}')
        while sessions._drain(0.3):  # everything queued so far; a quiet 0.3 s ends it
            pass
        got = [d["id"] for d, r in sessions.all("tphub/lab/bench-1/session")]
        expect(len(got) == 20, "%d session messages for 20 sessions" % len(got))
        sessions.close()
    finally:
        lab.close()


def test_spool_full_said_loudly():
    lab = Lab(protocol="tiny", spool_max=2)
    try:
        lab.start()
        lab.broker.stop()
        for k in range(3):  # the third finds the spool full
            lab.press(0.08)
            end = time.monotonic() + 10
            while lab.d.read_log().count(" completed (tiny)") < k + 1:
                expect(time.monotonic() < end, "session %d did not complete" % (k + 1))
                select.select([], [], [], 0.02)
        log = lab.d.read_log()
        expect("is FULL (2 sessions)" in log, "no loud log line:\n" + log)
        spool = os.path.join(lab.tmp.name, "spool")
        expect(len([f for f in os.listdir(spool) if f.endswith(".json")]) == 2, "spool %r" % os.listdir(spool))
        lab.broker.start()
        lab.sub.close()
        lab.sub = Subscriber(lab.broker.port)
        # the status says so as soon as the hub is back online ...
        _, st, _ = lab.sub.wait("tphub/lab/status", lambda d: d.get("state") == "online", timeout=60)
        expect("spool_error" in st, "status without the spool error: %r" % st)
        # ... nothing is lost (the third from memory), and the all-clear follows
        ids = set()
        after = 0
        while len(ids) < 3:
            after, sess, _ = lab.sub.wait("tphub/lab/bench-1/session", after=after, timeout=60)
            after += 1
            ids.add(sess["id"])
            # a clock-ended hold lasts what the engine scheduled, to the millisecond
            rep = sess["steps"][0]["reps"][0]
            expect(rep["hold_ms"] == 200 and rep["over_hold"] is False, "rep %r" % rep)
        lab.sub.wait("tphub/lab/status", lambda d: d.get("state") == "online" and "spool_error" not in d, timeout=30)
    finally:
        lab.close()


run_tap([test_status_commands_sessions, test_live_state_rate_and_rep, test_sigkill_mid_session_is_interrupted,
         test_sigkill_with_unacknowledged_session, test_broker_outage_20_sessions, test_spool_full_said_loudly])
