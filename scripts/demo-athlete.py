#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The demo's athlete at the foot-switch: plays a trace's switch column into the GPIO sim
socket, in real time, starting when the simulated force tool starts streaming the same
trace (so force and taps stay together). With --start-athlete it first checks in by an MQTT
start command (as a phone would); a "# drop link" comment in the trace makes the simulated
tool drop its link there (the hub reconnects it; the athlete carries on where the trace
resumes)."""

import argparse
import json
import select
import socket
import subprocess
import sys
import time


def tool_state(tool):
    out = subprocess.run(["busctl", "--system", "--json=short", "call", "org.bluez", "/",
                          "org.tphub.BlueZSim1", "GetToolState", "s", tool],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return {}
    return {k: v["data"] for k, v in json.loads(out.stdout)["data"][0].items()}


def streaming(tool):
    return tool_state(tool).get("streaming") is True


def wait_streaming(tool, seconds):
    deadline = time.monotonic() + seconds
    while not streaming(tool):
        if time.monotonic() > deadline:
            return False
        select.select([], [], [], 0.02)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trace", required=True)
    ap.add_argument("--gpio-socket", required=True)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--chip", default="pinctrl-bcm2711")
    ap.add_argument("--line", default="GPIO17")
    ap.add_argument("--port", type=int, help="MQTT port, for --start-athlete")
    ap.add_argument("--hub", default="demo-hub")
    ap.add_argument("--station")
    ap.add_argument("--start-athlete")
    ap.add_argument("--start-protocol")
    a = ap.parse_args()

    rows = []      # (t_ms, switch, drop link before this row)
    drop = False
    with open(a.trace) as f:
        for line in f:
            if line.startswith("# drop link"):
                drop = True
            if line.startswith("#") or line.startswith("t_ms") or not line.strip():
                continue
            t, _, sw = line.strip().split(",")
            rows.append((float(t), int(sw), drop))
            drop = False

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
    if not wait_streaming(a.tool, 120):
        print("demo-athlete: the tool never started streaming", file=sys.stderr)
        return 1
    t0 = time.monotonic()
    if a.start_athlete:
        cmd = {"cmd": "start", "athlete": a.start_athlete, "id": "demo-" + a.start_athlete}
        if a.start_protocol:
            cmd["protocol"] = a.start_protocol
        # The hub may still be connecting to the broker (commands before its subscription are
        # lost, as MQTT does): ask until it answers.
        topic = "tphub/%s/%s/cmd" % (a.hub, a.station)
        for _ in range(30):
            out = subprocess.run(["mosquitto_rr", "-h", "127.0.0.1", "-p", str(a.port), "-q", "1", "-t", topic,
                                  "-e", topic + "/reply", "-m", json.dumps(cmd), "-W", "1"],
                                 capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.strip():
                reply = json.loads(out.stdout)
                if not reply.get("ok"):
                    print("demo-athlete: start refused: %s" % reply.get("error"), file=sys.stderr)
                break
    last = 0
    for i, (t_ms, sw, drop_here) in enumerate(rows):
        if sw == last and not drop_here:
            continue
        wait = t0 + t_ms / 1000.0 - time.monotonic()
        if wait > 0:
            select.select([], [], [], wait)
        if drop_here:
            subprocess.run(["busctl", "--system", "--", "call", "org.bluez", "/", "org.tphub.BlueZSim1",
                            "DropLink", "s", a.tool], check=True, capture_output=True)
            select.select([], [], [], 0.1)
            if not wait_streaming(a.tool, 60):
                print("demo-athlete: the tool did not come back", file=sys.stderr)
                return 1
            # the tool goes on from where its trace stopped: so does the athlete
            pos = min(int(tool_state(a.tool).get("trace_pos", i)), len(rows) - 1)
            t0 = time.monotonic() - rows[pos][0] / 1000.0
        if sw != last:
            level(sw == 1)
            last = sw
    return 0


if __name__ == "__main__":
    sys.exit(main())
