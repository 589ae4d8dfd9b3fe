#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A console view of a station, fed only from MQTT (what a coach's dashboard sees): cue
changes with the countdown, events, tools, and the finished session. Exits after the first
finished session (or --sessions N)."""

import argparse
import json
import signal
import subprocess
import sys

CUE = {
    "idle": "waiting for an athlete", "point": "GO TO THE POINT", "pressing": "pressing, searching",
    "hold": "HOLD", "release": "RELEASE - slowly", "rest": "rest", "paused": "PAUSED: tool lost",
    "done": "done",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--hub", default="demo-hub")
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--documents", action="store_true", help="also print each session's JSON")
    a = ap.parse_args()
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(a.port), "-t",
                            "tphub/%s/#" % a.hub, "-F", "%t\t%p"], stdout=subprocess.PIPE, text=True, bufsize=1)

    def stop(*_):  # the demo's cleanup: take mosquitto_sub along
        sub.terminate()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    last_state, last_sec, sessions, hub_state = {}, {}, 0, None
    tools = {}  # topic -> last line printed: the hub refreshes tools every 30 s
    for line in sub.stdout:
        topic, payload = line.rstrip("\n").split("\t", 1)
        kind = topic.split("/")[-1]
        try:
            d = json.loads(payload)
        except ValueError:
            continue
        if topic.endswith("/status"):
            if d.get("state") != hub_state:  # the hub republishes its status (uptime, links)
                print("hub %s: %s" % (a.hub, d.get("state")))
                hub_state = d.get("state")
        elif "/tools/" in topic:
            battery = ("%s%%" % d["battery"] if d.get("battery") is not None else
                       "%.2f V" % (d["battery_mv"] / 1000) if d.get("battery_mv") else "unknown")
            text = "tool %s (%s): %s, battery %s" % (topic.split("/")[-1], d.get("type"),
                                                     "connected" if d.get("connected") else "not connected", battery)
            if tools.get(topic) != text:
                print(text)
                tools[topic] = text
        elif kind == "state":
            st = topic.split("/")[-2]
            sec = None if d.get("remaining_ms") is None else (d["remaining_ms"] + 999) // 1000
            key = (d["state"], d.get("step"), d.get("rep"), tuple(d.get("warnings") or ()))
            if key != last_state.get(st):
                where = "  %s" % d["label"] if d.get("label") else ""
                warn = "  [%s]" % ", ".join(d["warnings"]) if d.get("warnings") else ""
                print("  %-8s %-24s%s%s" % (st, CUE.get(d["state"], d["state"]), where, warn))
                last_state[st], last_sec[st] = key, sec
            elif d["state"] in ("hold", "rest") and sec is not None and sec != last_sec.get(st):
                print("  %-8s %26s %d s   force %.1f N" % (st, "", sec, d.get("force_n") or 0))
                last_sec[st] = sec
        elif kind == "event" and d.get("type") in ("checkin", "released", "early_release", "not_released",
                                                   "over_force", "tool_lost", "skipped", "measured"):
            extra = " (%s)" % d["outcome"] if d.get("outcome") else ""
            print("    %s event: %s%s" % (topic.split("/")[-2], d["type"], extra))
        elif kind == "session":
            print("\nsession %s: %s, athlete %s, protocol %s" % (d.get("id"), d.get("status"), d.get("athlete") or "anonymous",
                                                                  d.get("protocol")))
            for st in d.get("steps") or []:
                for r in st.get("reps") or []:
                    print("  %-34s %-13s hold %6s ms  release %5s ms%s  mean %s N" % (
                        st.get("label", "?")[:34], r.get("outcome"), r.get("hold_ms"), r.get("release_ms"),
                        " (too fast)" if r.get("release_too_fast") else "", r.get("force_mean_n")))
            if a.documents:
                print("\nthe published document (tphub/%s/<station>/session):" % a.hub)
                print(json.dumps(d, indent=2)[:4000])
            print()
            sessions += 1
            if sessions >= a.sessions:
                break
    sub.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
