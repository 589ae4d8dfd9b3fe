# SPDX-License-Identifier: MIT
"""A private mosquitto on a free loopback port and a subscriber that records every message
(topic, retained flag, QoS, payload) with a bounded wait for each expectation."""

import json
import os
import queue
import select
import socket
import subprocess
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = tempfile.TemporaryDirectory(prefix="tphub-mosq-")
        self.conf = os.path.join(self.dir.name, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % self.port)
            if os.geteuid() == 0:
                f.write("user root\n")
        self.proc = None
        self.start()

    def start(self, timeout=10.0):
        self.log = open(os.path.join(self.dir.name, "log"), "a")
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        while True:  # ready when it accepts connections
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError("mosquitto did not start on port %d" % self.port)
                select.select([], [], [], 0.02)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def close(self):
        self.stop()
        self.dir.cleanup()


class Subscriber:
    def __init__(self, port, topic="#"):
        self.proc = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic,
                                      "-q", "1", "-F", "%t\t%r\t%q\t%p"],
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.q = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            topic, retained, qos, payload = line.rstrip("\n").split("\t", 3)
            self.q.put((topic, retained == "1", int(qos), payload))

    def _drain(self, timeout):
        try:
            self.seen.append(self.q.get(timeout=timeout))
            return True
        except queue.Empty:
            return False

    def wait(self, topic, pred=lambda doc: True, timeout=15.0, after=0):
        """First message on topic (index >= after) whose JSON payload satisfies pred.
        Returns (index, doc, retained)."""
        end = time.monotonic() + timeout
        i = after
        while True:
            while i < len(self.seen):
                t, ret, qos, payload = self.seen[i]
                if t == topic:
                    try:
                        doc = json.loads(payload)
                    except ValueError:
                        doc = None
                    if doc is not None and pred(doc):
                        return i, doc, ret
                i += 1
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("nothing on %s matched within %.0fs; last: %r" % (topic, timeout, self.seen[-5:]))
            self._drain(left)

    def all(self, topic):
        return [(json.loads(p), r) for t, r, q, p in self.seen if t == topic]

    def close(self):
        # mosquitto_sub reconnecting to a stopped broker does not act on SIGTERM
        self.proc.terminate()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def retained(port, topic, timeout=5):
    """What a late subscriber gets: the retained message on topic (doc, retained flag)."""
    out = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-C", "1",
                          "-W", str(timeout), "-F", "%r\t%p"], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout:
        return None, False
    flag, payload = out.stdout.rstrip("\n").split("\t", 1)
    return json.loads(payload), flag == "1"


def publish(port, topic, payload, retain=False):
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-q", "1"]
    if retain:
        args.append("-r")
    if isinstance(payload, bytes):
        subprocess.run(args + ["-s"], input=payload, check=True, timeout=10)
    else:
        subprocess.run(args + ["-m", payload], check=True, timeout=10)
