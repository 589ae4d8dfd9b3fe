#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""MQTT faults against a real mosquitto (docs/mqtt.md): a flood of commands (every accepted one
answered, the rest dropped and counted on the status, rate as documented), parse errors that
still name their command, a retained command published while the hub is connected (MQTT 5:
refused live and cleared from the broker), a broker outage during a session (reconnect within
the documented backoff, nothing of the session lost, events of the outage delivered), and a
full disk (the alarm on status holds until the spool really takes sessions again).
Every session id seen is checked to come with one document only."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from mqtt_harness import Broker, Subscriber, publish, retained  # noqa: E402
from tphubd_harness import Tphubd, expect  # noqa: E402

TPHUBD, SLOW_FS = sys.argv[1], sys.argv[2]
SPOOL_RECHECK_S = 5                 # docs/mqtt.md: the spool alarm is rechecked this often
T = "tphub/lab/"
CMD_BURST, CMD_RATE = 20, 10        # docs/mqtt.md, "Rate and replies"
PROTOCOL = """title = "timed"; description = "test"; source = "test";
steps = ( { point = "s1"; label = "Stretch"; side = "both"; kind = "stretch"; start = "timer";
            min_hold_s = 0; target_hold_s = 1; max_hold_s = 1; rest_s = 0.5; reps = 3; min_release_s = 0.2; } );
"""


class DurableSubscriber(Subscriber):
    """A subscriber with a persistent session (clean session off, QoS 1): nothing published
    while it reconnects after a broker restart is lost to it."""

    def __init__(self, port, topic="#"):
        import queue
        import threading
        self.proc = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-q", "1",
                                      "-c", "-i", "tphub-faults-sub", "-F", "%t\t%r\t%q\t%p"],
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.q = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()


class Lab:
    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tphub-mqtt-faults-")
        t = self.tmp.name
        pdir = os.path.join(t, "protocols")
        os.mkdir(pdir)
        with open(os.path.join(pdir, "timed.conf"), "w") as f:
            f.write(PROTOCOL)
        self.spool = os.path.join(t, "spool")
        self.broker = Broker()
        # mosquitto queues at most 1000 messages per client by default and drops the rest
        # before the hub sees them: unbounded here, so that all 5000 reach the hub
        self.broker.stop()
        with open(self.broker.conf, "a") as f:
            # persistence: a restarted broker still knows the durable subscriber below and
            # queues for it what the hub sends before the subscriber is back
            f.write("max_queued_messages 0\npersistence true\npersistence_location %s/\n" % self.broker.dir.name)
        self.broker.start()
        self.sub = DurableSubscriber(self.broker.port)
        self.conf = os.path.join(t, "tphub.conf")
        with open(self.conf, "w") as f:
            f.write('hub = { name = "lab"; };\n')
            f.write('paths = { protocols = [ "%s" ]; spool = "%s"; state = "%s/state"; };\n' % (pdir, self.spool, t))
            f.write('ble = { enabled = false; };\n')
            f.write('mqtt = { enabled = true; version = 5; uri = "tcp://127.0.0.1:%d"; };\n' % self.broker.port)
            f.write('stations = ( { name = "bench-1"; protocol = "timed"; } );\n')
        self.start()

    def start(self, env=None):
        m = self.mark() if hasattr(self, "d") else 0
        self.d = Tphubd(TPHUBD, self.conf, env=env)
        self.d.wait_notify("READY=1")
        self.sub.wait(T + "status", lambda d: d.get("state") == "online", after=m)
        # online comes before the broker confirmed the subscription: a harmless command,
        # repeated until it is answered, says commands are heard
        for k in range(20):
            after = self.mark()
            publish(self.broker.port, T + "bench-1/cmd", '{"cmd":"stop","id":"ping%d"}' % k)
            try:
                self.sub.wait(T + "bench-1/cmd/reply", lambda d: d.get("id", "").startswith("ping"), after=after,
                              timeout=1)
                break
            except TimeoutError:
                continue
        else:
            raise TimeoutError("the hub never answered a command")

    def restart(self, env=None):
        self.d.signal(signal.SIGTERM)
        expect(self.d.wait_exit(timeout=20) == 0, "exit status")
        self.d.close()
        self.start(env)

    def mark(self):
        return len(self.sub.seen)

    def cmd(self, payload, retain=False):
        after = self.mark()
        publish(self.broker.port, T + "bench-1/cmd", payload, retain=retain)
        return self.sub.wait(T + "bench-1/cmd/reply", after=after)[1]

    def close(self):
        log = self.d.read_log()
        self.d.close()
        self.sub.close()
        self.broker.close()
        self.tmp.cleanup()
        return log


def parse_errors_keep_the_id(lab):
    for payload, want in (('{"cmd":"stop","id":"x1","extra":1}', {"id": "x1", "ok": False, "error": "unknown key"}),
                          ('{"cmd":"dance","id":"x2"}', {"id": "x2", "ok": False, "error": "unknown command"}),
                          ('{"id":"x3"}', {"id": "x3", "ok": False, "error": 'missing "cmd"'}),
                          ('{"cmd":"start","id":"x4","athlete":"a b"}',
                           {"id": "x4", "ok": False, "error": '"athlete" must be 1-64 characters of [A-Za-z0-9_.-]'}),
                          ('{bad', {"ok": False, "error": "invalid JSON"})):
        r = lab.cmd(payload)
        expect(r == want, "%s -> %r, wanted %r" % (payload, r, want))
    time.sleep(CMD_BURST / CMD_RATE)  # stimulus: let the bucket refill before the flood


def flood(lab):
    """5000 commands as fast as the broker takes them: every reply names a distinct command
    sent, replies + commands_dropped == 5000 exactly, no reply lost, and the number answered
    is what the token bucket allows (burst + rate x duration)."""
    n = 5000
    m = lab.mark()
    lines = "".join('{"cmd":"stop","id":"f%d"}\n' % k for k in range(n))
    t0 = time.monotonic()
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(lab.broker.port), "-t", T + "bench-1/cmd",
                    "-q", "1", "-l"], input=lines, text=True, check=True, timeout=120)
    # the status says how many were dropped; replies + dropped account for every command
    end = time.monotonic() + 30
    while True:
        replies = [json.loads(p) for t, r, q, p in lab.sub.seen[m:] if t == T + "bench-1/cmd/reply"]
        st = [json.loads(p) for t, r, q, p in lab.sub.seen[m:] if t == T + "status"]
        dropped = st[-1]["commands_dropped"] if st else 0
        if len(replies) + dropped >= n:
            break
        expect(time.monotonic() < end, "%d replies + %d dropped of %d" % (len(replies), dropped, n))
        lab.sub._drain(0.5)
    t1 = time.monotonic()   # the hub took its last command before this
    lab.sub._drain(1.5)   # and nothing more comes
    replies = [json.loads(p) for t, r, q, p in lab.sub.seen[m:] if t == T + "bench-1/cmd/reply"]
    st = [json.loads(p) for t, r, q, p in lab.sub.seen[m:] if t == T + "status"][-1]
    ids = [r["id"] for r in replies]
    expect(len(set(ids)) == len(ids) and all(i.startswith("f") and 0 <= int(i[1:]) < n for i in ids),
           "reply ids %r" % ids[:20])
    expect(all(r == {"id": r["id"], "ok": False, "error": "no session is running"} for r in replies),
           "replies %r" % replies[:3])
    expect(len(replies) + st["commands_dropped"] == n, "%d replies + %d dropped" % (len(replies), st["commands_dropped"]))
    expect(st["replies_failed"] == 0, "status %r" % st)
    allowed = CMD_BURST + CMD_RATE * (t1 - t0) + 1
    expect(CMD_BURST <= len(replies) <= allowed, "%d replies in %.1f s, at most %.0f" % (len(replies), t1 - t0, allowed))
    # the first ones are the burst, answered in order
    expect(ids[:CMD_BURST] == ["f%d" % k for k in range(CMD_BURST)], "first replies %r" % ids[:CMD_BURST])
    time.sleep(CMD_BURST / CMD_RATE)  # stimulus: a full bucket again


def retained_command(lab):
    """MQTT 5, retain-as-published: a retained start published while the hub is connected is
    refused (not run) and cleared from the broker."""
    m = lab.mark()
    r = lab.cmd('{"cmd":"start","id":"r9"}', retain=True)
    expect(r == {"id": "r9", "ok": False, "error": "retained commands are refused"}, "reply %r" % r)
    doc, flag = retained(lab.broker.port, T + "bench-1/cmd", timeout=2)
    expect(doc is None, "still retained on the broker: %r" % doc)
    _, st, _ = lab.sub.wait(T + "bench-1/state", after=0)
    ev = [json.loads(p)["type"] for t, r, q, p in lab.sub.seen[m:] if t == T + "bench-1/event"]
    expect("checkin" not in ev, "the retained start ran: %r" % ev)
    # and only one reply for it, none for the clearing
    lab.sub._drain(1.0)
    n = [p for t, r, q, p in lab.sub.seen[m:] if t == T + "bench-1/cmd/reply"]
    expect(len(n) == 1, "replies %r" % n)


def run_session(lab, after):
    """Starts a session by command; returns the events it publishes until session_end."""
    r = lab.cmd('{"cmd":"start","id":"s1"}')
    expect(r == {"id": "s1", "ok": True}, "start %r" % r)
    i, end, _ = lab.sub.wait(T + "bench-1/event", lambda e: e["type"] == "session_end", after=after, timeout=30)
    return [json.loads(p) for t, r_, q, p in lab.sub.seen[after:i + 1] if t == T + "bench-1/event"]


def broker_outage(lab):
    """A session runs through a 10 s broker outage: the hub is back within the documented
    backoff (4 s at most between attempts, plus Paho's 3 s timer tick, plus slack), every event
    of the outage arrives (the same sequence as a session run while connected), the session
    once, completed, and live state is current (idle), not a stale queue."""
    m = lab.mark()
    reference = [e["type"] for e in run_session(lab, m)]
    lab.sub.wait(T + "bench-1/session", lambda d: d["status"] == "completed", after=m)
    m = lab.mark()
    r = lab.cmd('{"cmd":"start","id":"s2"}')
    expect(r == {"id": "s2", "ok": True}, "start %r" % r)
    lab.broker.stop()
    time.sleep(10)   # stimulus: the outage (the session, about 5 s, ends inside it)
    lab.broker.start()
    t0 = time.monotonic()
    _, st, _ = lab.sub.wait(T + "status", lambda d: d.get("state") == "online", after=m, timeout=30)
    back = time.monotonic() - t0
    expect(back <= 4 + 3 + 2, "the hub came back %.1f s after the broker" % back)
    print("# back online %.2f s after the broker returned" % back)
    i, sess, _ = lab.sub.wait(T + "bench-1/session", lambda d: d["status"] == "completed", after=m, timeout=20)
    end = lab.sub.wait(T + "bench-1/event", lambda e: e["type"] == "session_end", after=m, timeout=20)[0]
    # QoS 1 is at least once: an event the broker forwarded but whose PUBACK the outage took
    # is sent again on reconnect, byte for byte (its "at" says which one it is). Drop those.
    payloads = []
    for t, r_, q, p in lab.sub.seen[m:end + 1]:
        if t == T + "bench-1/event" and p not in payloads:
            payloads.append(p)
    got = [json.loads(p) for p in payloads]
    expect([e["type"] for e in got] == reference, "events %r, wanted %r" % ([e["type"] for e in got], reference))
    expect(all(e["session_id"] == sess["id"] for e in got if e["type"] != "checkin" or e["session_id"]),
           "events of another session")
    lab.sub._drain(1.0)
    expect(len([1 for t, r_, q, p in lab.sub.seen[m:] if t == T + "bench-1/session"]) == 1, "session twice")
    doc, flag = retained(lab.broker.port, T + "bench-1/state")
    expect(doc and flag and doc["state"] == "idle", "retained state %r" % doc)


def disk_full(lab):
    """The spool's file system is full (ENOSPC on every new file, no room): the session is
    still delivered (from memory), the status says spool_error and keeps saying it after the
    delivery and across rechecks, no all-clear is logged; once there is room again, one
    all-clear within a recheck, and the status drops the error."""
    flag = os.path.join(lab.tmp.name, "disk-full")
    lab.restart(env={"LD_PRELOAD": SLOW_FS, "TPHUB_TEST_FULL_DIR": os.path.realpath(lab.spool),
                     "TPHUB_TEST_FULL_FLAG": flag,
                     "ASAN_OPTIONS": "verify_asan_link_order=0:" + os.environ.get("ASAN_OPTIONS", "")})
    open(flag, "w").close()
    m = lab.mark()
    run_session(lab, m)
    _, sess, _ = lab.sub.wait(T + "bench-1/session", after=m, timeout=20)
    expect(sess["status"] == "completed", "session %r" % sess["status"])
    _, st, _ = lab.sub.wait(T + "status", lambda d: "spool_error" in d, after=m, timeout=10)
    lab.d.wait_log("refused session %s" % sess["id"], timeout=5)
    time.sleep(2 * SPOOL_RECHECK_S + 1)   # stimulus: two rechecks with the disk still full
    doc, _ = retained(lab.broker.port, T + "status")
    expect(doc and doc.get("state") == "online" and "spool_error" in doc, "status %r" % doc)
    expect("has room again" not in lab.d.read_log(), "an all-clear with the disk full")
    k = lab.mark()
    os.unlink(flag)
    t0 = time.monotonic()
    lab.sub.wait(T + "status", lambda d: d.get("state") == "online" and "spool_error" not in d, after=k,
                 timeout=SPOOL_RECHECK_S + 5)
    expect(time.monotonic() - t0 <= SPOOL_RECHECK_S + 2, "all-clear after %.1f s" % (time.monotonic() - t0))
    expect(lab.d.read_log().count("has room again") == 1, "all-clears: %d" % lab.d.read_log().count("has room again"))
    expect(not [f for f in os.listdir(lab.spool) if f.startswith(".tmp-")], "probe left: %r" % os.listdir(lab.spool))
    lab.restart()


def no_session_twice(lab):
    docs = {}
    for t, r, q, p in lab.sub.seen:
        if t.endswith("/session"):
            d = json.loads(p)
            expect(docs.setdefault(d["id"], p) == p, "session %s published with two documents" % d["id"])


def main():
    results = []
    lab = Lab()
    log = ""
    try:
        for name, fn in (("parse errors name their command", parse_errors_keep_the_id),
                         ("a flood of 5000 commands: answered or dropped and counted", flood),
                         ("a retained command published live: refused and cleared (MQTT 5)", retained_command),
                         ("a broker outage through a session: back quickly, every event, the session once",
                          broker_outage),
                         ("disk full: the spool alarm holds until there is room", disk_full),
                         ("no session id with two documents", no_session_twice)):
            t0 = time.monotonic()
            try:
                fn(lab)
                results.append((name, []))
            except Exception as e:
                results.append((name, ["%s: %s" % (type(e).__name__, e)]))
            print("# %s: %.1f s" % (name, time.monotonic() - t0))
        lab.d.signal(signal.SIGTERM)
        code = lab.d.wait_exit(timeout=20)
        results.append(("clean exit", [] if code == 0 else ["exit status %d" % code]))
    finally:
        log = lab.close()
    print("1..%d" % len(results))
    bad = False
    for k, (name, failures) in enumerate(results, 1):
        print("%s %d - %s" % ("not ok" if failures else "ok", k, name))
        for f in failures:
            print("# " + str(f).replace("\n", "\n# ")[:3000])
        bad = bad or bool(failures)
    if bad:
        print("# daemon log:\n# " + log.replace("\n", "\n# ")[-8000:])
    return 1 if bad else 0


sys.exit(main())
