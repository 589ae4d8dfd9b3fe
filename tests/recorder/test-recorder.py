#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tphub-recorder end to end, against one store (argv[3]: sqlite or postgresql): a private
mosquitto, a real tphubd (GPIO sim, no BLE) making sessions, the recorder storing them.
  1 the hub's archive answers sessions_since and resend exactly (and keeps them over a restart)
  2 the same session delivered 3 times is stored once; a conflicting one is refused
  3 malformed and hostile documents are refused with a log line, stored nowhere, and the
    recorder keeps running
  4 a recorder SIGKILLed between receipt and commit loses nothing after restart + reconcile
  5 a broker outage loses nothing (the hub spools, the recorder reconciles after reconnect)
  6 history queries over MQTT 5 request/response: correlation data echoed, exact items
  7 --check-config reports every configuration error with file:line
  8 SIGHUP reload: a new retention_days deletes older sessions at once
Expected values come from what the test made (the hub's own session documents)."""

import json
import os
import select
import signal
import socket
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from mqtt_harness import Broker, Subscriber, publish  # noqa: E402
from tphubd_harness import Tphubd  # noqa: E402
from pg_harness import PostgreSQL  # noqa: E402

TPHUBD, RECORDER, KIND = sys.argv[1], sys.argv[2], sys.argv[3]
PROTOCOL = """title = "one short stretch"; description = "test"; source = "test";
steps = ( { point = "s1"; label = "Stretch"; side = "both"; kind = "stretch"; start = "timer";
            min_hold_s = 0; target_hold_s = 0.3; max_hold_s = 0.3; rest_s = 0; min_release_s = 0.2; } );
"""
SESSION = "tphub/lab/bench-1/session"
CMD = "tphub/lab/bench-1/cmd"
REPLY = "tphub/lab/bench-1/cmd/reply"


class Store:
    """Reads what the recorder stored, with the database's own client."""

    def __init__(self, t):
        if KIND == "postgresql":
            self.pg = PostgreSQL()
            self.conf = 'postgresql = "%s";' % self.pg.conninfo
        else:
            self.pg = None
            self.path = os.path.join(t, "recorder.db")
            self.conf = 'sqlite = "%s";' % self.path

    def query(self, sql):
        if self.pg:
            out = self.pg.psql(sql)
            return [tuple(line.split("|")) for line in out.splitlines() if line]
        with sqlite3.connect(self.path) as c:
            return [tuple(str(v) for v in row) for row in c.execute(sql)]

    def count(self, where="TRUE"):
        return int(self.query("SELECT COUNT(*) FROM sessions WHERE " + where.replace("TRUE", "1=1"))[0][0])

    def close(self):
        if self.pg:
            self.pg.close()


class Lab:
    def __init__(self, t):
        self.t = t
        self.broker = Broker()
        self.sub = Subscriber(self.broker.port)
        self.store = Store(t)
        pdir = os.path.join(t, "protocols")
        os.mkdir(pdir)
        with open(os.path.join(pdir, "tiny.conf"), "w") as f:
            f.write(PROTOCOL)
        self.gpio_path = os.path.join(t, "gpio.sock")
        self.hub_conf = os.path.join(t, "tphub.conf")
        with open(self.hub_conf, "w") as f:
            f.write('hub = { name = "lab"; };\n')
            f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n' % (pdir, t, t))
            f.write('gpio = { backend = "sim"; sim_socket = "%s"; };\nble = { enabled = false; };\n' % self.gpio_path)
            f.write('mqtt = { enabled = true; uri = "tcp://127.0.0.1:%d"; };\n' % self.broker.port)
            f.write('stations = ( { name = "bench-1"; protocol = "tiny";\n')
            f.write('  switch = { chip = "chip0"; line = "SW"; active_low = true; }; } );\n')
        self.hub = None
        self.recorders = []
        self.n_cmd = 0
        self.ids = set()

    def start_hub(self):
        after = len(self.sub.seen)
        self.hub = Tphubd(TPHUBD, self.hub_conf)
        self.hub.wait_notify("READY=1")
        self.sub.wait("tphub/lab/status", lambda d: d.get("state") == "online", after=after)
        self.gpio = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.gpio.connect(self.gpio_path)
        self.gpio_send("in chip0 SW 1")

    def gpio_send(self, text):
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

    def tap(self):
        """A foot-switch tap: checks in; the timed stretch then completes by itself."""
        self.gpio_send("in chip0 SW 0")
        select.select([], [], [], 0.1)  # the press lasts 100 ms (a stimulus, not a wait)
        self.gpio_send("in chip0 SW 1")

    def stop_hub(self):
        self.hub.signal(signal.SIGTERM)
        code = self.hub.wait_exit()
        self.gpio.close()
        self.hub.close()
        self.hub = None
        return code

    def session(self):
        """Runs one session on the hub; returns (document, payload) as the broker delivered it."""
        after = len(self.sub.seen)
        self.tap()
        # a new one: resent sessions of earlier cases may pass by meanwhile
        i, doc, _ = self.sub.wait(SESSION, lambda d: isinstance(d, dict) and d.get("id") not in self.ids,
                                  after=after, timeout=15)
        self.ids.add(doc["id"])
        return doc, self.sub.seen[i][3]

    def archived(self):
        return [e["id"] for e in self.command(cmd="sessions_since", since="1970-01-01T00:00:00Z")["sessions"]]

    def settle(self, rec):
        """A new recorder first reconciles: waits until everything the hub archived is stored."""
        rec.wait_log("Reconciled with hub lab")
        ids = self.archived()
        end = time.monotonic() + 20
        while self.store.count("id IN (%s)" % ",".join("'%s'" % i for i in ids)) != len(ids):
            if time.monotonic() > end:
                raise TimeoutError("the recorder did not fetch the hub's archive; log:\n" + rec.read_log())
            select.select([], [], [], 0.02)

    def command(self, **cmd):
        self.n_cmd += 1
        cmd["id"] = "t%d" % self.n_cmd
        after = len(self.sub.seen)
        publish(self.broker.port, CMD, json.dumps(cmd))
        return self.sub.wait(REPLY, lambda d: d.get("id") == cmd["id"], after=after)[1]

    def recorder_conf(self, name, **opts):
        path = os.path.join(self.t, name)
        extra = "".join("%s = %s; " % (k, v) for k, v in opts.items())
        with open(path, "w") as f:
            f.write('recorder = { mqtt = { uri = "tcp://127.0.0.1:%d"; client_id = "rec-%s"; }; store = { %s }; %s};\n'
                    % (self.broker.port, name, self.store.conf, extra))
        return path

    def start_recorder(self, conf):
        r = Tphubd(RECORDER, conf, args=("-v",))
        r.wait_notify("READY=1")
        r.wait_log("MQTT: connected")
        self.recorders.append(r)
        return r

    def close(self):
        for r in self.recorders:
            r.close()
        if self.hub:
            self.hub.close()
        self.sub.close()
        self.broker.close()
        self.store.close()


def logged(r, text):
    return r.read_log().count(text)


def case_archive(lab, fail):
    docs = [lab.session()[0] for _ in range(3)]
    ids = [d["id"] for d in docs]
    rep = lab.command(cmd="sessions_since", since="1970-01-01T00:00:00.000Z")
    listed = [e["id"] for e in rep.get("sessions", [])]
    if not rep.get("ok") or listed[-3:] != ids or rep.get("more") is not False:
        fail("sessions_since(epoch): %r, want the ids %r last" % (rep, ids))
        return
    entries = rep["sessions"][-3:]
    # since the 2nd's time: (at >= at2), in (at, id) order; with the 2nd as cursor: after it.
    want = [e["id"] for e in rep["sessions"] if e["at"] >= entries[1]["at"]]
    got = [e["id"] for e in lab.command(cmd="sessions_since", since=entries[1]["at"])["sessions"]]
    if got != want:
        fail("sessions_since(at2): %r, want %r" % (got, want))
    keyed = [(e["at"], e["id"]) for e in rep["sessions"]]
    want = [i for a, i in keyed if (a, i) > (entries[1]["at"], entries[1]["id"])]
    got = [e["id"] for e in lab.command(cmd="sessions_since", since=entries[1]["at"], after=ids[1])["sessions"]]
    if got != want:
        fail("sessions_since(at2, after id2): %r, want %r" % (got, want))
    # resend: the very bytes again
    original = [p for t, r, q, p in lab.sub.seen if t == SESSION and json.loads(p)["id"] == ids[0]][0]
    after = len(lab.sub.seen)
    rep = lab.command(cmd="resend", session=ids[0])
    if rep != {"id": "t%d" % lab.n_cmd, "ok": True}:
        fail("resend: %r" % rep)
    i, doc, _ = lab.sub.wait(SESSION, lambda d: d["id"] == ids[0], after=after)
    if lab.sub.seen[i][3] != original:
        fail("resend published other bytes than the original")
    rep = lab.command(cmd="resend", session="0" * 32)
    if rep.get("ok") is not False or rep.get("error") != "unknown session":
        fail("resend of an unknown id: %r" % rep)
    # the archive survives a restart
    if lab.stop_hub() != 0:
        fail("tphubd exit status")
    lab.start_hub()
    got = [e["id"] for e in lab.command(cmd="sessions_since", since="1970-01-01T00:00:00Z")["sessions"]]
    if got[-3:] != ids:
        fail("after a restart: %r" % got)


def case_once(lab, fail):
    rec = lab.start_recorder(lab.recorder_conf("once"))
    lab.settle(rec)
    base = lab.store.count()
    doc, payload = lab.session()
    rec.wait_log("Session %s stored." % doc["id"])
    for _ in range(3):
        publish(lab.broker.port, SESSION, payload)
    # each redelivery is recognised: a duplicate of the stored one (or of one waiting to commit)
    end = time.monotonic() + 15
    while logged(rec, "Session %s is a duplicate delivery" % doc["id"]) + \
            logged(rec, "Session %s is already waiting" % doc["id"]) < 3:
        if time.monotonic() > end:
            fail("3 redeliveries not all recognised; log:\n" + rec.read_log())
            break
        select.select([], [], [], 0.02)
    if lab.store.count() != base + 1 or lab.store.count("id = '%s'" % doc["id"]) != 1:
        fail("stored %d sessions, want %d" % (lab.store.count(), base + 1))
    reps = sum(len(s["reps"]) for s in doc["steps"])
    got = int(lab.store.query("SELECT COUNT(*) FROM reps WHERE session_id = '%s'" % doc["id"])[0][0])
    if got != reps:
        fail("reps stored %d, the document has %d" % (got, reps))
    row = lab.store.query("SELECT hub, station, protocol, status, document FROM sessions WHERE id = '%s'" % doc["id"])[0]
    if row[:4] != ("lab", "bench-1", "tiny", doc["status"]) or json.loads(row[4]) != doc:
        fail("stored row %r" % (row[:4],))
    # the same id with another document: refused loudly, the stored one kept
    other = dict(doc, status="interrupted")
    publish(lab.broker.port, SESSION, json.dumps(other))
    rec.wait_log("Session %s from lab/bench-1 CONFLICTS" % doc["id"])
    row = lab.store.query("SELECT status FROM sessions WHERE id = '%s'" % doc["id"])[0]
    if row[0] != doc["status"]:
        fail("a conflicting document overwrote the stored one")
    rec.signal(signal.SIGTERM)
    if rec.wait_exit() != 0:
        fail("recorder exit status")


def case_hostile(lab, fail):
    rec = lab.start_recorder(lab.recorder_conf("hostile"))
    lab.settle(rec)
    base = lab.store.count()
    good, payload = lab.session()
    rec.wait_log("Session %s stored." % good["id"])
    good = json.loads(payload)
    base += 1
    tampered = []

    def variant(**changes):
        d = json.loads(payload)
        d["id"] = "%032x" % (len(tampered) + 0xbad0)
        d.update(changes)
        tampered.append(json.dumps(d))

    variant(athlete="x'); DROP TABLE sessions; --")
    variant(hub="lab' OR '1'='1")
    variant(duration_ms="long")
    variant(steps={"point": "s1"})
    variant(started_at="yesterday")
    variant(status="finished")
    d = json.loads(payload)
    d["steps"][0]["reps"] = [{"outcome": "completed", "hold_ms": -5}]
    tampered.append(json.dumps(d))
    bad = [b"", b"not json", b"[]", b'{"id":', payload.encode() + b"garbage",
           b"{" + b'"a":[' * 40 + b"]" * 40 + b"}",
           b'{"id":"%s","pad":"%s"}' % (b"1" * 32, b"x" * (1024 * 1024 + 10)),
           json.dumps(dict(json.loads(payload), hub="other")).encode()]   # the topic names hub lab
    bad += [t.encode() for t in tampered]
    for b in bad:   # none of these may pass for the next session of the hub
        try:
            lab.ids.add(json.loads(b)["id"])
        except (ValueError, KeyError, TypeError):
            pass
    before = logged(rec, "Refused")
    for b in bad:
        if b:
            publish(lab.broker.port, SESSION, b)
        else:   # a zero-length message
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(lab.broker.port), "-t", SESSION,
                            "-q", "1", "-n"], check=True, timeout=10)
    # the recorder is still there: a good session after them all is stored
    after_doc, _ = lab.session()
    rec.wait_log("Session %s stored." % after_doc["id"])
    refused = logged(rec, "Refused") - before
    if refused != len(bad):
        fail("%d refusal lines for %d bad documents; log:\n%s" % (refused, len(bad), rec.read_log()))
    if lab.store.count() != base + 1:
        fail("stored %d, want %d: a bad document got in" % (lab.store.count(), base + 1))
    tables = lab.store.query("SELECT COUNT(*) FROM reps")
    if not tables:
        fail("reps table gone")
    rec.signal(signal.SIGTERM)
    if rec.wait_exit() != 0:
        fail("recorder exit status")


def case_sigkill(lab, fail):
    # A recorder that holds what it received for a long time before committing: killed in between.
    slow = lab.start_recorder(lab.recorder_conf("slow", commit_delay_ms=600000))
    slow.wait_log("Reconciled with hub lab")
    doc, _ = lab.session()
    slow.wait_log("Session %s from lab/bench-1 received" % doc["id"])
    slow.proc.kill()
    slow.proc.wait()
    if lab.store.count("id = '%s'" % doc["id"]) != 0:
        fail("the session was committed before the kill: the test proves nothing")
        return
    # the broker had it acknowledged: only the hub's archive can bring it back
    rec = lab.start_recorder(lab.recorder_conf("slow"))
    rec.wait_log("Session %s of hub lab is not stored: asking the hub to resend it." % doc["id"], timeout=20)
    rec.wait_log("Session %s stored." % doc["id"], timeout=20)
    if lab.store.count("id = '%s'" % doc["id"]) != 1:
        fail("after restart and reconcile the session is stored %d times" % lab.store.count("id = '%s'" % doc["id"]))
    rec.signal(signal.SIGTERM)
    if rec.wait_exit() != 0:
        fail("recorder exit status")


def case_broker_outage(lab, fail):
    rec = lab.start_recorder(lab.recorder_conf("outage"))
    lab.settle(rec)
    lab.broker.stop()
    spool = os.path.join(lab.t, "spool")

    def spooled():   # "<seq, 16 digits>-<id>.json" (not the temp files)
        return {m.group(1) for m in (re.fullmatch(r"[0-9]{16}-([0-9a-f]{32})\.json", n)
                                     for n in os.listdir(spool)) if m}

    ids = set()
    for _ in range(2):
        lab.tap()
        end = time.monotonic() + 15
        while len(spooled() - ids) < 1:
            if time.monotonic() > end:
                raise TimeoutError("the hub did not spool the session")
            select.select([], [], [], 0.02)
        ids |= spooled()
    if len(ids) != 2:
        fail("spooled %r" % ids)
    lab.broker.start()
    for i in ids:
        rec.wait_log("Session %s stored." % i, timeout=40)
        if lab.store.count("id = '%s'" % i) != 1:
            fail("session %s stored %d times" % (i, lab.store.count("id = '%s'" % i)))
    rec.signal(signal.SIGTERM)
    if rec.wait_exit() != 0:
        fail("recorder exit status")


def ask(lab, query, correlation):
    """MQTT 5 request/response with mosquitto_rr: (correlation data, reply) of the answer."""
    out = subprocess.run(["mosquitto_rr", "-h", "127.0.0.1", "-p", str(lab.broker.port), "-V", "5",
                          "-t", "tphub-history/query", "-e", "test/reply/%s" % correlation,
                          "-D", "publish", "correlation-data", correlation, "-m", json.dumps(query),
                          "-W", "15", "-F", "%D\t%p"], capture_output=True, text=True, timeout=20)
    if out.returncode != 0:
        raise RuntimeError("mosquitto_rr: %s" % out.stderr)
    corr, payload = out.stdout.rstrip("\n").split("\t", 1)
    return corr, json.loads(payload)


def case_query(lab, fail):
    rec = lab.start_recorder(lab.recorder_conf("query"))
    lab.settle(rec)
    after = len(lab.sub.seen)
    publish(lab.broker.port, CMD, json.dumps({"cmd": "start", "athlete": "anna", "protocol": "tiny"}))
    _, doc, _ = lab.sub.wait(SESSION, lambda d: isinstance(d, dict) and d.get("athlete") == "anna", after=after)
    rec.wait_log("Session %s stored." % doc["id"])
    corr, rep = ask(lab, {"query": "sessions", "athlete": "anna"}, "c-41")
    if corr != "c-41" or not rep.get("ok") or [i["id"] for i in rep["items"]] != [doc["id"]] or \
            rep["items"][0]["started_at"] != doc["started_at"] or rep["next"] is not None:
        fail("sessions of anna: %r %r, want just %s" % (corr, rep, doc["id"]))
    corr, rep = ask(lab, {"query": "session", "id": doc["id"]}, "c-42")
    if corr != "c-42" or rep.get("items") != [doc]:
        fail("one session: %r %r" % (corr, rep))
    corr, rep = ask(lab, {"query": "sessions", "athlete": "anna'; --"}, "c-43")
    if rep != {"ok": False, "error": "\"athlete\" must be 1-64 characters of [A-Za-z0-9_.-]"}:
        fail("a hostile query: %r" % rep)
    rec.signal(signal.SIGTERM)
    if rec.wait_exit() != 0:
        fail("recorder exit status")


def case_config(lab, fail):
    bad = os.path.join(lab.t, "bad.conf")
    with open(bad, "w") as f:
        f.write('recorder:\n{\n  mqtt: { share_group = "a b"; prefix = "$SYS"; colour = 1; };\n'
                '  store: { sqlite = "/tmp/x.db"; postgresql = "host=x"; };\n  retention_days = -1;\n};\n')
    r = subprocess.run([RECORDER, "--check-config", "--config", bad], capture_output=True, text=True)
    want = ['%s:3: unknown key "recorder.mqtt.colour"' % bad,
            '%s:3: prefix "$SYS" is not a valid topic prefix (no wildcards, no leading $ or /, no empty levels)' % bad,
            '%s:3: share_group "a b" must be 1-64 characters of [A-Za-z0-9_.-]' % bad,
            "%s:4: store names both sqlite and postgresql: choose one" % bad,
            "%s:5: recorder.retention_days must be between 0 and 36500, not -1" % bad,
            "%s: invalid" % bad]
    if r.returncode != 1 or r.stderr.splitlines() != want:
        fail("--check-config: %d %r" % (r.returncode, r.stderr))
    good = lab.recorder_conf("good")
    r = subprocess.run([RECORDER, "--check-config", "--config", good], capture_output=True, text=True)
    if r.returncode != 0:
        fail("a good configuration refused: %r" % r.stderr)


def case_reload_retention(lab, fail):
    conf = lab.recorder_conf("retention")
    rec = lab.start_recorder(conf)
    lab.settle(rec)
    # a session from long ago (as a hub whose clock was right then would have sent it)
    old = json.loads(lab.session()[1])
    rec.wait_log("Session %s stored." % old["id"])
    old.update(id="%032x" % 0x01d, started_at="2020-01-06T10:00:00.000Z", ended_at="2020-01-06T10:05:00.000Z")
    lab.ids.add(old["id"])
    publish(lab.broker.port, SESSION, json.dumps(old))
    rec.wait_log("Session %s stored." % old["id"])
    before = lab.store.count()
    # SIGHUP with a retention of 30 days: applied at once, the old session (and its reps) go
    lab.recorder_conf("retention", retention_days=30)
    rec.signal(signal.SIGHUP)
    rec.wait_notify("RELOADING=1")
    rec.wait_notify("READY=1")
    rec.wait_log("Retention: deleted 1 session(s) older than 30 days.")
    if lab.store.count() != before - 1 or lab.store.count("id = '%s'" % old["id"]) != 0:
        fail("after the reload: %d sessions (was %d)" % (lab.store.count(), before))
    if int(lab.store.query("SELECT COUNT(*) FROM reps WHERE session_id = '%s'" % old["id"])[0][0]) != 0:
        fail("the old session's reps were kept")
    rec.signal(signal.SIGTERM)
    if rec.wait_exit() != 0:
        fail("recorder exit status")


CASES = [
    ("the hub's archive answers sessions_since and resend", case_archive),
    ("the same session delivered 3 times is stored once; a conflicting one is refused", case_once),
    ("malformed and hostile documents are refused, stored nowhere; the recorder keeps running", case_hostile),
    ("a recorder killed between receipt and commit loses nothing after restart and reconcile", case_sigkill),
    ("a broker outage loses nothing", case_broker_outage),
    ("history queries over MQTT 5 request/response", case_query),
    ("--check-config names every error with file:line", case_config),
    ("SIGHUP applies a new retention at once: older sessions deleted with their reps", case_reload_retention),
]


def main():
    print("1..%d" % len(CASES))
    print("# store: %s" % KIND)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="tphub-rec-") as t:
        lab = Lab(t)
        try:
            lab.start_hub()
            for n, (name, fn) in enumerate(CASES, 1):
                problems = []
                try:
                    fn(lab, problems.append)
                except Exception as e:
                    problems.append("%s: %s" % (type(e).__name__, e))
                for r in lab.recorders:
                    if r.proc.poll() is None:
                        r.proc.kill()
                        r.proc.wait()
                print("%s %d - %s" % ("not ok" if problems else "ok", n, name))
                for p in problems:
                    print("# " + str(p).replace("\n", "\n# "))
                if problems:
                    failed += 1
                    for r in lab.recorders[-2:]:
                        print("# recorder log:\n# " + r.read_log().replace("\n", "\n# "))
                sys.stdout.flush()
            if lab.stop_hub() != 0:
                print("# tphubd exit status not 0")
                failed += 1
        finally:
            lab.close()
    return 1 if failed else 0


sys.exit(main())
