#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the dashboard's web root: the pages from this folder plus mqtt.js, uPlot and
# qrcode-generator vendored from npm, installed exactly as package-lock.json pins them
# (`npm ci`: versions and integrity hashes), with their licences beside them.
#   build-www.sh SRCDIR OUTDIR NPMDIR
set -euo pipefail
src=$1 out=$2 npmdir=$3

mkdir -p "$npmdir"
# npm ci only when the lockfile changed: it wipes node_modules, and offline it cannot refill it.
if ! cmp -s "$src/package-lock.json" "$npmdir/package-lock.json" || [ ! -d "$npmdir/node_modules" ]; then
        cp "$src/package.json" "$src/package-lock.json" "$npmdir/"
        (cd "$npmdir" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error)
fi
nm=$npmdir/node_modules

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp/vendor/licenses"
cp "$src"/index.html "$src"/station.html "$src"/history.html "$src"/common.js "$src"/coach.js "$src"/athlete.js \
   "$src"/history.js "$tmp/"
cp "$nm/mqtt/dist/mqtt.min.js" "$nm/uplot/dist/uPlot.iife.min.js" "$nm/uplot/dist/uPlot.min.css" \
   "$nm/qrcode-generator/dist/qrcode.js" "$tmp/vendor/"
cp "$nm/mqtt/LICENSE.md" "$tmp/vendor/licenses/mqtt.LICENSE.md"
cp "$nm/uplot/LICENSE" "$tmp/vendor/licenses/uplot.LICENSE"
# qrcode-generator ships its MIT licence as the header of qrcode.js (kept in the copy)
head -n 20 "$nm/qrcode-generator/dist/qrcode.js" > "$tmp/vendor/licenses/qrcode-generator.LICENSE"
node -e '
const lock = require(process.argv[1]);
const lines = ["Vendored from npm by dashboard/build-www.sh (npm ci from package-lock.json):", ""];
for (const name of ["mqtt", "uplot", "qrcode-generator"]) {
  const p = lock.packages["node_modules/" + name];
  lines.push(`${name} ${p.version} (${p.license || "see licenses/"}) ${p.integrity}`);
}
lines.push("", "mqtt.min.js is a bundle: the licences of the modules inside it are kept in its own comments.");
process.stdout.write(lines.join("\n") + "\n");
' "$npmdir/package-lock.json" > "$tmp/vendor/VERSIONS.txt"
rm -rf "$out"
mv "$tmp" "$out"
