#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tphubd and its service manager, played by the test: a private NOTIFY_SOCKET and
WATCHDOG_USEC as systemd sets them for Type=notify + WatchdogSec=. Checks READY=1 with a
status, a new STATUS= line when the status changes (broker comes up, a session starts), regular
WATCHDOG=1 pings (sd-event sends them at least every WATCHDOG_USEC/2), and, in builds with the
test hooks (-Dtest_hooks), that a stalled loop stops the pings and they resume afterwards.

Usage: test-tphubd-notify.py TPHUBD HOOKS(true|false)"""

import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from mqtt_harness import Broker, free_port, publish  # noqa: E402
from tphubd_harness import Tphubd  # noqa: E402

TPHUBD = sys.argv[1]
HOOKS = sys.argv[2] == "true"
WATCHDOG_USEC = 400_000          # a short period so the test sees many pings in little time
STALL_MS = 2000                  # the stall: five watchdog periods
results = []


def report(ok, name, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in str(detail).splitlines():
            print("# " + line)


class Notes:
    """Every datagram on the daemon's notify socket with its arrival time (monotonic): the
    harness reads the socket all the time, as systemd would (sd_notify() blocks once the
    socket's queue is full, so a manager that stops reading would itself stall the daemon)."""

    def __init__(self, d):
        self.d = d
        self.got = d.history   # (t, list of lines), appended by the harness's reader
        self.cv = d.notes_cond
        self.cursor = 0

    def stop(self):
        pass   # the harness stops reading when the daemon is closed

    def pump(self, until):
        """Lets notifications arrive until the monotonic time until."""
        while time.monotonic() < until:
            time.sleep(min(0.05, max(0.0, until - time.monotonic())))

    def wait(self, pred, timeout):
        """First notification (after those already matched) whose lines satisfy pred."""
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for i in range(self.cursor, len(self.got)):
                    if pred(self.got[i][1]):
                        self.cursor = i + 1
                        return self.got[i]
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no matching notification within %.0fs; got %r" % (timeout, self.got[-8:]))
                self.cv.wait(left)

    def pings(self, t0, t1):
        with self.cv:
            return [t for t, lines in self.got if t0 <= t < t1 and "WATCHDOG=1" in lines]


def status_of(lines):
    for line in lines:
        if line.startswith("STATUS="):
            return line[len("STATUS="):]
    return None


def main():
    tmp = tempfile.TemporaryDirectory(prefix="tphubd-notify-")
    t = tmp.name
    port = free_port()  # the broker comes up only after the daemon is ready
    src_protocols = os.path.join(os.path.dirname(__file__), "..", "..", "config", "protocols")
    conf = os.path.join(t, "tphub.conf")
    with open(conf, "w") as f:
        f.write('hub = { name = "lab"; };\n')
        f.write('paths = { protocols = [ "%s" ]; spool = "%s/spool"; state = "%s/state"; };\n'
                % (os.path.abspath(src_protocols), t, t))
        f.write('ble = { enabled = false; };\n')
        f.write('mqtt = { enabled = true; uri = "tcp://127.0.0.1:%d"; };\n' % port)
        f.write('stations = ( { name = "bench-1"; protocol = "back-12"; } );\n')
    env = {"WATCHDOG_USEC": str(WATCHDOG_USEC), "TPHUBD_TEST_STALL_MS": str(STALL_MS)}
    env.pop("WATCHDOG_PID", None)
    d = Tphubd(TPHUBD, conf, env=env)
    broker = None
    notes = Notes(d)
    try:
        _, lines = notes.wait(lambda ls: "READY=1" in ls, 10)
        st = status_of(lines)
        report(st == "hub lab: 1 station(s), 0 in session, MQTT not connected",
               "READY=1 with the status (broker not up yet)", "status %r" % st)

        # Regular pings: over 3 s (7.5 periods) at least one every WATCHDOG_USEC/2 + slack.
        t0 = time.monotonic()
        notes.pump(t0 + 3.0)
        pings = notes.pings(t0, t0 + 3.0)
        gaps = [b - a for a, b in zip([t0] + pings, pings + [t0 + 3.0])]
        report(len(pings) >= 6 and max(gaps) < WATCHDOG_USEC / 1e6,
               "WATCHDOG=1 at least every %d ms" % (WATCHDOG_USEC // 1000),
               "%d pings, largest gap %.0f ms" % (len(pings), 1000 * max(gaps)))

        # The status follows what happens: the broker appears, then a session starts.
        broker = Broker(port=port)
        try:
            _, lines = notes.wait(lambda ls: (status_of(ls) or "").endswith("MQTT connected")
                                  and "MQTT not" not in status_of(ls), 20)
            report(status_of(lines) == "hub lab: 1 station(s), 0 in session, MQTT connected",
                   "STATUS= when the broker is reached", status_of(lines))
        except TimeoutError as e:
            report(False, "STATUS= when the broker is reached", "%s\n%s" % (e, d.read_log()))
        try:
            # the daemon subscribes right after connecting; a command may race that: resend
            end = time.monotonic() + 10
            while True:
                publish(port, "tphub/lab/bench-1/cmd", '{"cmd":"start","athlete":"anna"}')
                try:
                    _, lines = notes.wait(lambda ls: "1 in session" in (status_of(ls) or ""), 1.5)
                    break
                except TimeoutError:
                    if time.monotonic() > end:
                        raise
            report(status_of(lines) == "hub lab: 1 station(s), 1 in session, MQTT connected",
                   "STATUS= when a session starts", status_of(lines))
        except TimeoutError as e:
            report(False, "STATUS= when a session starts", e)

        if HOOKS:
            # A wedged loop: no ping while it is stalled, pings again after.
            notes.pump(time.monotonic() + 0.5)
            t_sig = time.monotonic()
            d.signal(signal.SIGUSR2)
            d.wait_log("Test hook: stalling the event loop", timeout=5)
            t_stall = time.monotonic()
            d.wait_log("Test hook: the event loop runs again", timeout=STALL_MS / 1000 + 5)
            t_back = time.monotonic()
            notes.pump(t_back + 1.0)
            around = notes.pings(t_sig - 0.5, t_back + 1.0)
            gaps = [b - a for a, b in zip(around, around[1:])]
            after = notes.pings(t_back, t_back + 1.0)
            # Pings stop for the whole stall (one may still land at its very start or end).
            report(t_back - t_stall >= STALL_MS / 1000 * 0.9 and gaps and max(gaps) >= STALL_MS / 1000 * 0.9,
                   "no WATCHDOG=1 while the loop is stalled (%d ms)" % STALL_MS,
                   "stall %.0f ms, largest gap between pings %.0f ms" % (1000 * (t_back - t_sig),
                                                                        1000 * max(gaps or [0])))
            report(len(after) >= 2, "WATCHDOG=1 resumes after the stall", "%d pings in 1 s after" % len(after))
        else:
            print("ok %d - stalled loop stops the pings # SKIP tphubd built without test hooks" % (len(results) + 1))
            results.append(True)

        d.signal(signal.SIGTERM)
        _, lines = notes.wait(lambda ls: "STOPPING=1" in ls, 10)
        report(d.wait_exit(timeout=15) == 0, "STOPPING=1 and a clean exit", "rc %r" % d.proc.returncode)
    except Exception as e:
        report(False, "unexpected error", "%s\nlog:\n%s" % (e, d.read_log()))
    finally:
        notes.stop()
        d.close()
        if broker:
            broker.close()
        tmp.cleanup()
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
