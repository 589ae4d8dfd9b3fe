#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tphub-replay's command line: bad traces are refused with the file, the line and exit 1;
a good one prints one session document and exits 0."""

import json
import os
import subprocess
import sys
import tempfile

REPLAY, CONFIG = sys.argv[1], sys.argv[2]
CASES = [
    ("unsorted", "t_ms,force_n\n0,1\n25,2\n12.5,3\n", ":4: "),
    ("not a number", "t_ms,force_n\n0,1\n12.5,abc\n", ":3: "),
    ("missing column", "# recorded at bench 1\nt_ms,force_n,switch\n0,1,0\n12.5,2\n", ":4: "),
    ("bad header", "time,force\n0,1\n", ":1: "),
    ("switch not 0 or 1", "t_ms,force_n,switch\n0,1,2\n", ":2: "),
    ("empty", "t_ms,force_n\n", ""),
    ("absurd force", "t_ms,force_n\n0,1\n12.5,5e6\n", "row 2"),
]

results = []
with tempfile.TemporaryDirectory() as tmp:
    for name, text, where in CASES:
        path = os.path.join(tmp, name.replace(" ", "-") + ".csv")
        with open(path, "w") as f:
            f.write(text)
        out = subprocess.run([REPLAY, "--config", CONFIG, "--protocol", "back-12", "--trace", path],
                             capture_output=True, text=True, timeout=30)
        ok = out.returncode == 1 and out.stdout == "" and os.path.basename(path) in out.stderr and where in out.stderr
        results.append((ok, name, "exit %d, stderr %r" % (out.returncode, out.stderr.strip())))
    path = os.path.join(tmp, "good.csv")
    with open(path, "w") as f:
        f.write("t_ms,force_n,switch\n" + "".join("%.1f,0,0\n" % (k * 12.5) for k in range(80)))
    out = subprocess.run([REPLAY, "--config", CONFIG, "--protocol", "back-12", "--trace", path, "--compact",
                          "--id", "x1"], capture_output=True, text=True, timeout=30)
    docs = [json.loads(line) for line in out.stdout.splitlines()]
    results.append((out.returncode == 0 and len(docs) == 1 and docs[0]["id"] == "x1" and
                    docs[0]["status"] == "abandoned", "good trace", out.stderr.strip()))

print("1..%d" % len(results))
for k, (ok, name, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
    if not ok:
        print("# " + detail)
sys.exit(0 if all(r[0] for r in results) else 1)
