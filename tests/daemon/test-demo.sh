#!/bin/bash
# SPDX-License-Identifier: MIT
# The README's main command, end to end: scripts/demo.sh must run the daemon on the
# simulators and show the session a coach would receive (three completed points, stopped).
set -u
src=$1 build=$2
out=$(TPHUB_BUILD_DIR=$build timeout 180 "$src/scripts/demo.sh" 2>&1)
rc=$?
echo "1..1"
fail=""
[ $rc -eq 0 ] || fail="demo exited $rc"
echo "$out" | grep -q "^session [0-9a-f]\{32\}: aborted, athlete anonymous, protocol back-12$" || fail="$fail; no session line"
[ "$(echo "$out" | grep -c '^  Back point [123]: .* completed ')" -eq 3 ] || fail="$fail; not 3 completed points"
echo "$out" | grep -q "tool C8:00:00:00:00:01 (progressor): connected" || fail="$fail; tool never connected"
if [ -n "$fail" ]; then
        echo "not ok 1 - demo: ${fail#; }"
        echo "$out" | sed 's/^/# /' | tail -40
        exit 1
fi
echo "ok 1 - demo"
