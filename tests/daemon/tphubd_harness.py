# SPDX-License-Identifier: MIT
"""Runs tphubd for tests: a private NOTIFY_SOCKET to await READY/RELOADING/STOPPING the way
systemd does (no sleeps), its log captured, and a bounded wait for every expectation."""

import os
import shutil
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time


class Tphubd:
    def __init__(self, binary, config, env=None, args=(), realtime=False):
        self.dir = tempfile.TemporaryDirectory(prefix="tphubd-test-")
        self.notify_path = os.path.join(self.dir.name, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.notify_path)
        self.log_path = os.path.join(self.dir.name, "log")
        e = dict(os.environ)
        e["NOTIFY_SOCKET"] = self.notify_path
        e.update(env or {})
        self.log = open(self.log_path, "w+")
        prefix = []
        if realtime and os.geteuid() == 0 and shutil.which("chrt"):
            # As deployed (systemd/tphubd.service): round-robin priority 10, so that cue edges
            # keep their millisecond timing while the rest of the machine is busy.
            prefix = ["chrt", "--rr", "10"]
        # TPHUBD_WRAPPER (e.g. "valgrind --leak-check=full ...") runs the daemon under a tool.
        wrapper = os.environ.get("TPHUBD_WRAPPER", "").split()
        self.proc = subprocess.Popen([*prefix, *wrapper, binary, "--config", config, *args], env=e,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        # Read at once, as the service manager does: sd_notify() blocks once the socket's
        # queue is full (net.unix.max_dgram_qlen, 10 here), and tphubd sends STATUS= whenever
        # its status line changes, so a test that stopped reading would wedge the daemon.
        self.notes = []        # not yet taken by wait_notify()
        self.history = []      # every notification: (arrival, monotonic; its lines)
        self.closing = False
        self.notes_cond = threading.Condition()
        self.reader = threading.Thread(target=self._read_notifications, daemon=True)
        self.reader.start()

    def _read_notifications(self):
        self.sock.settimeout(0.2)
        while not self.closing:
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.notes_cond:
                self.notes.append(msg)
                self.history.append((time.monotonic(), msg.split("\n")))
                self.notes_cond.notify_all()

    def wait_notify(self, key, timeout=10.0):
        """Waits for a notification containing KEY (e.g. 'READY=1') not taken yet; returns the
        message (and takes it: the next wait needs a new one)."""
        deadline = time.monotonic() + timeout
        with self.notes_cond:
            while True:
                for i, msg in enumerate(self.notes):
                    if key in msg.split("\n"):
                        return self.notes.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no %s within %.0fs; log:\n%s" % (key, timeout, self.read_log()))
                if self.proc.poll() is not None:
                    raise RuntimeError("tphubd exited %d before %s; log:\n%s" % (self.proc.returncode, key, self.read_log()))
                self.notes_cond.wait(min(left, 0.2))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=10.0):
        return self.proc.wait(timeout=timeout)

    def wait_log(self, text, timeout=10.0):
        """Waits until the daemon has logged text (its log is a file: polled, bounded)."""
        end = time.monotonic() + timeout
        while text not in self.read_log():
            if time.monotonic() > end:
                raise TimeoutError("tphubd never logged %r; log:\n%s" % (text, self.read_log()))
            if self.proc.poll() is not None and text not in self.read_log():
                raise RuntimeError("tphubd exited before logging %r" % text)
            select.select([], [], [], 0.02)
        return self.read_log()

    def read_log(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.closing = True
        self.reader.join(timeout=5)
        self.sock.close()
        self.log.close()
        self.dir.cleanup()


def expect(cond, what):
    """A test's check: fails the case with what went wrong."""
    if not cond:
        raise AssertionError(what)


def run_tap(tests):
    """Runs each test function (or only the one named by argv[2]), prints TAP and exits."""
    import sys
    results = []
    only = sys.argv[2] if len(sys.argv) > 2 else None
    for fn in tests:
        if only and fn.__name__ != only:
            continue
        try:
            fn()
            results.append(("ok", fn.__name__, None))
        except Exception as e:
            results.append(("not ok", fn.__name__, "%s: %s" % (type(e).__name__, e)))
    print("1..%d" % len(results))
    for k, (status, name, err) in enumerate(results, 1):
        print("%s %d - %s" % (status, k, name))
        if err:
            print("# " + err.replace("\n", "\n# "))
    sys.exit(1 if any(r[0] != "ok" for r in results) else 0)
