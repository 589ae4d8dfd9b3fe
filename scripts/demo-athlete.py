#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The demo's athlete at the foot-switch: plays a trace's switch column into the GPIO sim
socket, in real time, starting when the simulated force tool starts streaming the same
trace (so force and taps stay together)."""

import argparse
import select
import socket
import subprocess
import sys
import time


def streaming(tool):
    out = subprocess.run(["busctl", "--system", "--json=short", "call", "org.bluez", "/",
                          "org.tphub.BlueZSim1", "GetToolState", "s", tool],
                         capture_output=True, text=True)
    return out.returncode == 0 and '"streaming":{"type":"b","data":true}' in out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trace", required=True)
    ap.add_argument("--gpio-socket", required=True)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--chip", default="pinctrl-bcm2711")
    ap.add_argument("--line", default="GPIO17")
    a = ap.parse_args()

    rows = []
    with open(a.trace) as f:
        for line in f:
            if line.startswith("#") or line.startswith("t_ms") or not line.strip():
                continue
            t, _, sw = line.strip().split(",")
            rows.append((float(t), int(sw)))

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.connect(a.gpio_socket)

    def level(pressed):  # the switch pulls the line to ground when pressed (active-low)
        sock.send(("in %s %s %d" % (a.chip, a.line, 0 if pressed else 1)).encode())
        while True:
            r, _, _ = select.select([sock], [], [], 5)
            if not r:
                raise TimeoutError("the GPIO sim did not answer")
            msg = sock.recv(4096).decode().strip()
            if not msg.startswith("out "):
                return

    level(False)
    deadline = time.monotonic() + 120
    while not streaming(a.tool):
        if time.monotonic() > deadline:
            print("demo-athlete: the tool never started streaming", file=sys.stderr)
            return 1
        select.select([], [], [], 0.02)
    t0 = time.monotonic()
    last = 0
    for t_ms, sw in rows:
        if sw == last:
            continue
        wait = t0 + t_ms / 1000.0 - time.monotonic()
        if wait > 0:
            select.select([], [], [], wait)
        level(sw == 1)
        last = sw
    return 0


if __name__ == "__main__":
    sys.exit(main())
