#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The events that end a session (the last rep's, session_end) still name it on MQTT: the
engine has let go of the session by the time they are handed on. Two endings: a protocol
run to its end (a short timed stretch, checked in by a foot-switch tap through the GPIO sim
socket) and an MQTT stop. A private mosquitto; tphubd with the GPIO sim backend."""

import json
import os
import select
import signal
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from mqtt_harness import Broker, Subscriber, publish  # noqa: E402
from tphubd_harness import Tphubd  # noqa: E402

TPHUBD = sys.argv[1]
PROTOCOL = """title = "one short stretch"; description = "test"; source = "test";
steps = ( { point = "s1"; label = "Stretch"; side = "both"; kind = "stretch"; start = "timer";
            min_hold_s = 0; target_hold_s = 0.3; max_hold_s = 0.3; rest_s = 0; min_release_s = 0.2; } );
"""
EV = "tphub/lab/bench-1/event"


def gpio(sock, text):
    sock.send(text.encode())
    while True:  # output edges ("out ...") may come before the reply
        r, _, _ = select.select([sock], [], [], 5)
        if not r:
            raise TimeoutError("GPIO sim did not answer " + text)
        msg = sock.recv(4096).decode().strip()
        if not msg.startswith("out "):
            if msg != "ok":
                raise RuntimeError("%s -> %s" % (text, msg))
            return


def session_events(sub, after):
    """The events of one session, from its checkin to its session_end."""
    i, end, _ = sub.wait(EV, lambda d: d["type"] == "session_end", after=after, timeout=15)
    return [json.loads(p) for t, r, q, p in sub.seen[after:i + 1] if t == EV], end


def main():
    failures = []
    with tempfile.TemporaryDirectory(prefix="tphub-events-") as t:
        pdir = os.path.join(t, "protocols")
        os.mkdir(pdir)
        with open(os.path.join(pdir, "tiny.conf"), "w") as f:
            f.write(PROTOCOL)
        broker = Broker()
        sub = Subscriber(broker.port)
        sock_path = os.path.join(t, "gpio.sock")
        conf = os.path.join(t, "tphub.conf")
        with open(conf, "w") as f:
            f.write('hub = { name = "lab"; };\n')
            f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n' % (pdir, t, t))
            f.write('gpio = { backend = "sim"; sim_socket = "%s"; };\nble = { enabled = false; };\n' % sock_path)
            f.write('mqtt = { enabled = true; uri = "tcp://127.0.0.1:%d"; };\n' % broker.port)
            f.write('stations = ( { name = "bench-1"; protocol = "tiny";\n')
            f.write('  switch = { chip = "chip0"; line = "SW"; active_low = true; }; } );\n')
        d = Tphubd(TPHUBD, conf)
        try:
            d.wait_notify("READY=1")
            sub.wait("tphub/lab/status", lambda s: s.get("state") == "online")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            sock.connect(sock_path)
            gpio(sock, "in chip0 SW 1")

            # 1: run to the end. A tap checks in; the timed stretch completes by itself.
            after = len(sub.seen)
            gpio(sock, "in chip0 SW 0")
            select.select([], [], [], 0.1)  # the press lasts 100 ms (a stimulus, not a wait)
            gpio(sock, "in chip0 SW 1")
            evs, end = session_events(sub, after)
            _, sess, _ = sub.wait("tphub/lab/bench-1/session", after=after)
            types = [e["type"] for e in evs]
            if types != ["checkin", "step", "hold_start", "release_cue", "session_end"]:
                failures.append("completed: events %r" % types)
            for e in evs:
                if e["session_id"] != sess["id"]:
                    failures.append("completed: %s event names session %r, not %r" % (e["type"], e["session_id"], sess["id"]))
            if end["status"] != "completed" or end["point"] != "s1" or end["label"] != "Stretch":
                failures.append("completed: session_end %r" % end)

            # 2: stopped by command during the hold
            after = len(sub.seen)
            publish(broker.port, "tphub/lab/bench-1/cmd", '{"cmd":"start","protocol":"tiny","id":"a"}')
            publish(broker.port, "tphub/lab/bench-1/cmd", '{"cmd":"stop","id":"b"}')
            evs, end = session_events(sub, after)
            _, sess, _ = sub.wait("tphub/lab/bench-1/session", after=after)
            if end["session_id"] != sess["id"] or end["status"] != "aborted" or end["point"] != "s1":
                failures.append("aborted: session_end %r, session %r" % (end, sess["id"]))
            d.signal(signal.SIGTERM)
            code = d.wait_exit()
            if code != 0:  # also what a sanitizer's report at exit gives
                failures.append("exit status %d" % code)
        except Exception as e:
            failures.append("%s: %s" % (type(e).__name__, e))
        finally:
            if failures:
                print("# " + d.read_log().replace("\n", "\n# "))
            d.close()
            sub.close()
            broker.close()

    print("1..1")
    print("%s 1 - the events that end a session name it" % ("not ok" if failures else "ok"))
    for f in failures:
        print("# " + f)
    return 1 if failures else 0


sys.exit(main())
