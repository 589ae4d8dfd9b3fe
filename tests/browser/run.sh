#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs the browser tests: installs playwright-core by lockfile (npm ci) into the build dir,
# then node's test runner drives Debian's chromium (never `playwright install`).
#   run.sh SRCDIR BUILDDIR [TEST]     (TEST: a file here, default dashboard.test.mjs)
# Exits 77 (skipped) only when there is no chromium at all; CI installs it
# (scripts/install-deps.sh --test).
set -euo pipefail
src=$1 build=$2 testfile=${3:-dashboard.test.mjs}
chromium=${TPHUB_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
        echo "1..0 # SKIP no $chromium (apt-get install chromium)"
        exit 77
fi
npmdir=$build/tests/browser/npm
mkdir -p "$npmdir"
if ! cmp -s "$src/tests/browser/package-lock.json" "$npmdir/package-lock.json" || [ ! -d "$npmdir/node_modules/playwright-core" ]; then
        cp "$src/tests/browser/package.json" "$src/tests/browser/package-lock.json" "$npmdir/"
        (cd "$npmdir" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
fi
out=$build/tests/browser/screenshots
mkdir -p "$out"
export TPHUB_SRC=$src TPHUB_BUILD=$build TPHUB_NPM=$npmdir TPHUB_OUT=$out TPHUB_CHROMIUM=$chromium
exec node --test --test-reporter=tap "$src/tests/browser/$testfile"
