#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark (not a test): tphub-recorder's throughput, CPU, memory and history query latency.

For each store (SQLite file, PostgreSQL with fsync on), a private mosquitto and a recorder;
HUBS simulated hubs (one mosquitto_pub each, QoS 1) publish TOTAL realistic 12-point sessions
(8.5 KiB each) as fast as the broker takes them. Reported: sessions per second from the first
publish to the last commit, the recorder's CPU seconds per 1000 sessions and its peak RSS,
then the latency of each history query (MQTT 5 request/response round trip, median and
worst of REPEAT) with TOTAL sessions stored. With bench-history-query the same queries are also timed store-side (no MQTT round trip).
Usage: bench-recorder.py RECORDER [TOTAL [BENCH_HISTORY_QUERY]]"""

import json
import os
import random
import select
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from mqtt_harness import Broker  # noqa: E402
from tphubd_harness import Tphubd  # noqa: E402
from pg_harness import PostgreSQL  # noqa: E402

RECORDER = sys.argv[1]
TOTAL = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
QUERY_BENCH = sys.argv[3] if len(sys.argv) > 3 else None
HUBS = 20
ATHLETES = 500
REPEAT = 20
ROUND = 5000        # sessions published at once (half the recorder's default incoming queue)
T0 = 1767225600000   # 2026-01-01


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def session(rng, hub, i):
    started = T0 + rng.randrange(0, 300 * 86400000)
    steps = []
    for p in range(12):
        kind = "measure" if p < 2 else "press"
        reps = []
        for r in range(3 if kind == "measure" else 1):
            reps.append({"outcome": rng.choice(["completed"] * 8 + ["early_release", "not_released"]),
                         "attempt": 1, "started_ms": p * 30000 + r * 5000,
                         "hold_ms": None if kind == "measure" else rng.randrange(6000, 9000),
                         "release_ms": None if kind == "measure" else rng.randrange(1500, 4000),
                         "release_too_fast": None if kind == "measure" else False, "over_hold": False,
                         "over_force_warnings": 0,
                         "force_mean_n": None if kind == "measure" else round(rng.uniform(40, 80), 1),
                         "force_peak_n": round(rng.uniform(50, 90), 1),
                         **({"threshold_n": round(rng.uniform(30, 60), 1), "ramp_n_per_s": 5.0}
                            if kind == "measure" else {})})
        steps.append({"point": "pt-%02d" % p, "label": "Point %d of the back, right side" % p,
                      "side": "right" if p % 2 else "left", "muscle": None, "kind": kind,
                      "target_hold_ms": 0 if kind == "measure" else 7000, "reps": reps})
    return {"id": "%08x%08x%016x" % (hash(hub) & 0xffffffff, i, rng.getrandbits(64)), "hub": hub,
            "station": "bench-1", "athlete": "m-%d" % rng.randrange(ATHLETES), "protocol": "back-12",
            "status": "completed", "started_at": iso(started), "ended_at": iso(started + 400000),
            "duration_ms": 400000, "steps": steps}


def proc_stats(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    hwm = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return cpu, hwm


def ask(port, query):
    t = time.monotonic()
    out = subprocess.run(["mosquitto_rr", "-h", "127.0.0.1", "-p", str(port), "-V", "5", "-t", "tphub-history/query",
                          "-e", "bench/reply", "-m", json.dumps(query), "-W", "30"], capture_output=True, text=True)
    dt = time.monotonic() - t
    rep = json.loads(out.stdout)
    if not rep.get("ok"):
        raise RuntimeError("query %r: %r" % (query, rep))
    return dt, rep


def run(kind, t, docs):
    broker = Broker()
    # mosquitto drops QoS 1 messages beyond 1000 queued for a client by default: a burst of
    # 20 hubs is exactly that (docs/scale-out.md sets it on the central broker too).
    broker.stop()
    with open(broker.conf, "a") as f:
        f.write("max_queued_messages 0\nmax_inflight_messages 100\n")
    broker.start()
    pg = None
    if kind == "postgresql":
        pg = PostgreSQL(fsync=True)
        store = 'postgresql = "%s";' % pg.conninfo
    else:
        store = 'sqlite = "%s/bench.db";' % t

    def count():
        if pg:
            return int(pg.psql("SELECT COUNT(*) FROM sessions"))
        r = subprocess.run(["sqlite3", "%s/bench.db" % t, "SELECT COUNT(*) FROM sessions"], capture_output=True,
                           text=True)
        return int(r.stdout.strip() or 0) if r.returncode == 0 else 0
    conf = os.path.join(t, "recorder-%s.conf" % kind)
    with open(conf, "w") as f:
        f.write('recorder = { mqtt = { uri = "tcp://127.0.0.1:%d"; client_id = "bench-%s"; }; store = { %s }; '
                'reconcile_interval_s = 86400; };\n' % (broker.port, kind, store))
    rec = Tphubd(RECORDER, conf)
    try:
        rec.wait_notify("READY=1")
        rec.wait_log("MQTT: connected")
        cpu0, _ = proc_stats(rec.proc.pid)
        start = time.monotonic()
        # Rounds of ROUND sessions (ROUND / HUBS per hub, all hubs at once): Paho acknowledges
        # before the recorder has the message, so an unbounded burst would only measure the
        # recorder's bounded incoming queue overflowing (mqtt.max_queued_messages).
        per_hub = {h: lines.splitlines(keepends=True) for h, lines in docs.items()}
        n_rounds = (TOTAL + ROUND - 1) // ROUND
        step = ROUND // HUBS
        for k in range(n_rounds):
            pubs = []
            for h, lines in per_hub.items():
                p = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                                      "-t", "tphub/%s/bench-1/session" % h, "-l"], stdin=subprocess.PIPE)
                p.stdin.write(b"".join(lines[k * step:(k + 1) * step]))
                p.stdin.close()
                pubs.append(p)
            target = min(TOTAL, (k + 1) * step * HUBS)
            last, last_t = -1, time.monotonic()
            while True:
                n = count()
                if n >= target:
                    break
                if n != last:
                    last, last_t = n, time.monotonic()
                if rec.proc.poll() is not None or time.monotonic() - last_t > 30:
                    raise RuntimeError("stalled at %d stored: %s" % (n, rec.read_log()[-3000:]))
                select.select([], [], [], 0.05)
            for p in pubs:
                p.wait()
        elapsed = time.monotonic() - start
        cpu1, hwm = proc_stats(rec.proc.pid)
        print("%s: %d sessions from %d hubs in %.1f s = %.0f sessions/s; recorder CPU %.2f s per 1000 sessions "
              "(%.0f %% of one core), peak RSS %.1f MiB" % (kind, TOTAL, HUBS, elapsed, TOTAL / elapsed,
                                                            (cpu1 - cpu0) * 1000 / TOTAL, 100 * (cpu1 - cpu0) / elapsed,
                                                            hwm / 1024))
        athlete = "m-17"
        ids = []
        queries = {
            "sessions (page of 50)": {"query": "sessions", "athlete": athlete},
            "sessions (a month)": {"query": "sessions", "athlete": athlete, "from": iso(T0 + 30 * 86400000),
                                   "to": iso(T0 + 60 * 86400000)},
            "session (one document)": None,
            "trends (one point)": {"query": "trends", "athlete": athlete, "point": "pt-05"},
            "ppt pairs": {"query": "ppt", "athlete": athlete},
            "adherence per week": {"query": "adherence", "athlete": athlete},
            "baseline (refused, no store access)": {"query": "nothing"},
        }
        _, rep = ask(broker.port, queries["sessions (page of 50)"])
        ids = [i["id"] for i in rep["items"]]
        queries["session (one document)"] = {"query": "session", "id": ids[0]}
        for name, q in queries.items():
            times = []
            for _ in range(REPEAT):
                try:
                    dt, _ = ask(broker.port, q)
                except RuntimeError:
                    if q["query"] != "nothing":
                        raise
                    dt = 0
                times.append(dt)
            if q["query"] == "nothing":   # refused: measure the round trip itself
                times = []
                for _ in range(REPEAT):
                    t1 = time.monotonic()
                    subprocess.run(["mosquitto_rr", "-h", "127.0.0.1", "-p", str(broker.port), "-V", "5",
                                    "-t", "tphub-history/query", "-e", "bench/reply", "-m", json.dumps(q), "-W", "30"],
                                   capture_output=True)
                    times.append(time.monotonic() - t1)
            print("  %-38s median %6.1f ms, worst %6.1f ms" % (name, statistics.median(times) * 1000, max(times) * 1000))
        sys.stdout.flush()
        if QUERY_BENCH:
            subprocess.run([QUERY_BENCH, kind, pg.conninfo if pg else "%s/bench.db" % t, athlete, ids[0]], check=True)
    finally:
        rec.close()
        broker.close()
        if pg:
            pg.close()


def main():
    rng = random.Random(11)
    docs = {}
    for h in range(HUBS):
        hub = "hub-%02d" % h
        docs[hub] = b"".join(json.dumps(session(rng, hub, i), separators=(",", ":")).encode() + b"\n"
                             for i in range(TOTAL // HUBS))
    size = sum(len(v) for v in docs.values()) / TOTAL
    print("# %d sessions of %.1f KiB (12 points, 16 reps), %d athletes, %d simulated hubs" %
          (TOTAL, size / 1024, ATHLETES, HUBS))
    for kind in os.environ.get("BENCH_STORES", "sqlite postgresql").split():
        with tempfile.TemporaryDirectory(prefix="tphub-bench-") as t:
            run(kind, t, docs)
    return 0


sys.exit(main())
