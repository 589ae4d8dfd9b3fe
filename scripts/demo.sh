#!/bin/bash
# SPDX-License-Identifier: MIT
# Sets up and runs the main job. Until a station's hardware is attached this is the demo:
# the real engine replays a recorded athlete working through the back-12 protocol and
# prints what the station cued, then the finished session as it would be published.
# Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
[ -d build-demo ] || meson setup build-demo --buildtype=release >/dev/null
ninja -C build-demo >/dev/null

echo "== tphub demo: back-12 replayed from config/traces/back-12-demo.csv"
echo "== time(s)  event          step rep    value  point"
build-demo/daemon/replay/tphub-replay --config config/tphub.conf --protocol back-12 \
        --trace config/traces/back-12-demo.csv --events
