#!/bin/bash
# SPDX-License-Identifier: MIT
# The benchmarks of docs/benchmarks.md: builds what they need (debugoptimized: -O2 with
# symbols, which callgrind needs to split the cost by module), then runs the real tphubd
# against the simulators on a private bus. Prints one table, writes a JSON file.
#
#   scripts/bench.sh                     everything, about 12 minutes (soak 4 minutes)
#   scripts/bench.sh --soak-s 3600       with the full one-hour soak
#   scripts/bench.sh --only cost,floor   some parts (sessions cost floor callgrind startstop spool dashboard)
#   scripts/bench.sh --only dashboard --dash-seconds 10 --dash-stations 4   a quick dashboard run
#   scripts/bench.sh --smoke             every piece briefly (what the meson 'bench' suite runs)
#   scripts/bench.sh --help              all options
#
# TPHUB_BENCH_BUILD: the build dir (default build-bench); the JSON goes there unless --out.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${TPHUB_BENCH_BUILD:-build-bench}
scripts/install-deps.sh --test
[ -d "$build" ] || meson setup "$build" --buildtype=debugoptimized >/dev/null
ninja -C "$build" daemon/hub/tphubd tests/bench/bench-floor >/dev/null
# item 8's web root (when the dashboard is built at all: meson option dashboard, npm and node)
if ninja -C "$build" -t targets all | grep -q '^dashboard/dashboard:'; then
        ninja -C "$build" dashboard/dashboard >/dev/null
fi
exec /usr/bin/python3 tests/bench/bench.py --build "$build" --out "$build/bench-results.json" "$@"
