#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Scale-out as in docs/scale-out.md: a site mosquitto bridged (MQTT 5, TLS with a test CA,
persistent session) to a central mosquitto (TLS only); three real tphubd hubs on the site; two recorders on a shared subscription at
the centre writing to one PostgreSQL. Mid-run one recorder is SIGKILLed (it never returns) and
later the central broker goes away and comes back (a bridge outage). Every session the hubs
finished must be stored exactly once."""

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from mqtt_harness import Subscriber, free_port, publish  # noqa: E402
from tphubd_harness import Tphubd  # noqa: E402
from pg_harness import PostgreSQL  # noqa: E402

TPHUBD, RECORDER = sys.argv[1], sys.argv[2]
HUBS = ["gym-a", "gym-b", "gym-c"]
PER_ROUND = 2        # sessions per hub per round; three rounds
PROTOCOL = """title = "one short stretch"; description = "test"; source = "test";
steps = ( { point = "s1"; label = "Stretch"; side = "both"; kind = "stretch"; start = "timer";
            min_hold_s = 0; target_hold_s = 0.2; max_hold_s = 0.2; rest_s = 0; min_release_s = 0.1; } );
"""


def make_certs(t):
    """A test CA and a certificate for localhost / 127.0.0.1 signed by it."""
    d = os.path.join(t, "tls")
    os.mkdir(d)

    def ssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=tphub test CA")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        "server.crt", "-days", "2", "-extfile", "san.ext")
    return d


class Mosquitto:
    def __init__(self, t, name, conf_text, tls=None):
        self.port = free_port()
        self.dir = os.path.join(t, name)
        os.mkdir(self.dir)
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\n" % self.port)
            if tls:   # TLS only on this listener
                f.write("certfile {0}/server.crt\nkeyfile {0}/server.key\ncafile {0}/ca.crt\n".format(tls))
            f.write("persistence true\npersistence_location %s/\n" % self.dir)
            if os.geteuid() == 0:
                f.write("user root\n")
            f.write(conf_text)
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "log"), "a")
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError("mosquitto %s did not start" % self.conf)
                select.select([], [], [], 0.02)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None
        self.log.close()


def wait_until(what, pred, timeout, log=lambda: ""):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise TimeoutError("%s within %.0fs\n%s" % (what, timeout, log()))
        select.select([], [], [], 0.05)


def main():
    failures = []
    procs = []
    with tempfile.TemporaryDirectory(prefix="tphub-scale-") as t:
        pg = PostgreSQL()
        tls = make_certs(t)
        central = Mosquitto(t, "central", "max_queued_messages 100000\n", tls=tls)
        site = Mosquitto(t, "site", """
connection central
address 127.0.0.1:{port}
bridge_cafile {tls}/ca.crt
bridge_protocol_version mqttv50
cleansession false
remote_clientid bridge-site
local_clientid bridge-site-local
try_private true
restart_timeout 1 2
topic tphub/+/+/session out 1
topic tphub/+/meta out 1
topic tphub/+/status out 1
topic tphub/+/+/cmd/reply out 1
topic tphub/+/+/cmd in 1
""".format(port=central.port, tls=tls))
        sub = Subscriber(site.port, "tphub/+/+/session")
        hubs = []
        recorders = {}
        try:
            pdir = os.path.join(t, "protocols")
            os.mkdir(pdir)
            with open(os.path.join(pdir, "tiny.conf"), "w") as f:
                f.write(PROTOCOL)
            for h in HUBS:
                d = os.path.join(t, h)
                os.mkdir(d)
                conf = os.path.join(d, "tphub.conf")
                with open(conf, "w") as f:
                    f.write('hub = { name = "%s"; };\n' % h)
                    f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n' % (pdir, d, d))
                    f.write('gpio = { backend = "sim"; sim_socket = "%s/gpio.sock"; };\nble = { enabled = false; };\n' % d)
                    f.write('mqtt = { uri = "tcp://127.0.0.1:%d"; client_id = "%s"; };\n' % (site.port, h))
                    f.write('stations = ( { name = "bench-1"; protocol = "tiny"; } );\n')
                hub = Tphubd(TPHUBD, conf)
                hub.wait_notify("READY=1")
                hubs.append(hub)

            def recorder(name):
                conf = os.path.join(t, "recorder-%s.conf" % name)
                with open(conf, "w") as f:
                    f.write('recorder = { mqtt = { uri = "ssl://localhost:%d"; ca_file = "%s/ca.crt"; '
                            'client_id = "tphub-recorder-%s"; share_group = "recorders"; }; '
                            'store = { postgresql = "%s"; }; reconcile_interval_s = 5; commit_delay_ms = 300; };\n'
                            % (central.port, tls, name, pg.conninfo))
                r = Tphubd(RECORDER, conf, args=("-v",))
                r.wait_notify("READY=1")
                r.wait_log("MQTT: connected")
                recorders[name] = r
                return r

            rec_a, rec_b = recorder("a"), recorder("b")

            def stored_ids():
                return set(pg.psql("SELECT id FROM sessions").split())

            def sent_ids():
                return {json.loads(p)["id"] for _, _, _, p in sub.seen}

            def round_of_sessions():
                n0 = len(sent_ids())
                for _ in range(PER_ROUND):
                    for h in HUBS:
                        publish(site.port, "tphub/%s/bench-1/cmd" % h, '{"cmd":"start","protocol":"tiny"}')
                    # the next start waits for the station to be idle again (about 0.2 s)
                    want = n0 + len(HUBS)
                    end = time.monotonic() + 20
                    while len(sent_ids()) < want:
                        if time.monotonic() > end:
                            raise TimeoutError("hubs did not finish their sessions")
                        sub._drain(0.2)
                    n0 = want

            # round 1 with both recorders
            round_of_sessions()
            wait_until("round 1 stored", lambda: sent_ids() <= stored_ids(), 30)
            shared = [r for r in (rec_a, rec_b) if "stored." in r.read_log()]
            if len(shared) != 2:
                failures.append("the shared subscription fed only %d of the 2 recorders" % len(shared))

            # round 2: recorder b is killed at once and never comes back
            rec_b.proc.kill()
            rec_b.proc.wait()
            round_of_sessions()

            # round 3 during a bridge outage: the central broker goes away, the site queues
            central.stop()
            round_of_sessions()
            central.start()

            sent = sent_ids()
            if len(sent) != 3 * PER_ROUND * len(HUBS):
                failures.append("the hubs sent %d sessions, want %d" % (len(sent), 3 * PER_ROUND * len(HUBS)))
            wait_until("every session stored", lambda: sent <= stored_ids(), 90,
                       lambda: "missing %r\nrecorder a:\n%s" % (sent - stored_ids(), rec_a.read_log()[-4000:]))
            rows = int(pg.psql("SELECT COUNT(*) FROM sessions"))
            if rows != len(sent) or stored_ids() != sent:
                failures.append("stored %d rows for %d sessions" % (rows, len(sent)))
            per_hub = dict(line.split("|") for line in pg.psql("SELECT hub, COUNT(*) FROM sessions GROUP BY hub").split())
            if per_hub != {h: str(3 * PER_ROUND) for h in HUBS}:
                failures.append("per hub: %r" % per_hub)
            print("# recorder a fetched %d session(s) again from the hubs' archives"
                  % rec_a.read_log().count("asking the hub to resend"))
            rec_a.signal(signal.SIGTERM)
            if rec_a.wait_exit(timeout=15) != 0:
                failures.append("recorder a exit status")
            for hub in hubs:
                hub.signal(signal.SIGTERM)
                if hub.wait_exit(timeout=15) != 0:
                    failures.append("tphubd exit status")
        except Exception as e:
            failures.append("%s: %s" % (type(e).__name__, e))
        finally:
            for r in recorders.values():
                r.close()
            for h in hubs:
                h.close()
            sub.close()
            site.stop()
            central.stop()
            pg.close()
            del procs

    print("1..1")
    print("%s 1 - every session of 3 hubs stored once through a bridge, two shared recorders, one killed, "
          "a bridge outage" % ("not ok" if failures else "ok"))
    for f in failures:
        print("# " + f.replace("\n", "\n# "))
    return 1 if failures else 0


sys.exit(main())
