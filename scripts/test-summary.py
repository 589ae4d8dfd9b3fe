#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Counts test results over one or more meson build dirs (meson-logs/testlog.json): every
TAP subtest counts on its own, any other test counts once. Prints a line per failure and
ends with 'N passed, N failed[, N skipped]'. Exit 1 if anything failed or nothing ran."""

import glob
import json
import re
import sys

passed = failed = skipped = 0
for build in sys.argv[1:]:
    logs = sorted(glob.glob(build + "/meson-logs/testlog*.json"))  # testlog-<wrapper>.json too
    if not logs:
        print("no test log in %s" % build)
        failed += 1
        continue
    lines = [line for log in logs for line in open(log).read().splitlines()]
    for line in lines:
        t = json.loads(line)
        name = "%s: %s" % (build, t["name"])
        result = t["result"]
        subtests = re.findall(r"^(ok|not ok) \d+", t.get("stdout") or "", re.M) if re.match(r"\d+\.\.\d+", t.get("stdout") or "") else []
        if result == "SKIP":
            skipped += 1
        elif subtests:
            p = sum(1 for s in subtests if s == "ok")
            f = len(subtests) - p
            passed += p
            failed += f
            if result != "OK" and f == 0:
                failed += 1  # crashed or exited non-zero without a failing subtest
                print("FAILED %s (%s)" % (name, result))
            elif f:
                print("FAILED %s: %d of %d subtests" % (name, f, len(subtests)))
        elif result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        else:
            failed += 1
            print("FAILED %s (%s)" % (name, result))

line = "%d passed, %d failed" % (passed, failed)
if skipped:
    line += ", %d skipped" % skipped
print(line)
sys.exit(1 if failed or passed == 0 else 0)
