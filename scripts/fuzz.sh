#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang + ASan + UBSan and runs each for a bounded time
# (FUZZ_SECONDS, default 60) from its committed seed corpus. Exits non-zero if any target
# finds a crash, leak, sanitizer error or broken invariant.
#   scripts/fuzz.sh [TARGET...]     e.g. scripts/fuzz.sh fuzz-driver-cts500
# Env: FUZZ_SECONDS, FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (parallel targets, 1).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -d "$build" ]; then
        CC=clang meson setup "$build" "$src" -Dfuzz=true -Db_sanitize=address,undefined \
                -Db_lundef=false --buildtype=debugoptimized
fi
ninja -C "$build"

if [ $# -gt 0 ]; then
        targets=$*
else
        # Only binaries linked with libFuzzer (its option text is in them): corpus replay
        # programs named fuzz-* are ordinary meson tests.
        targets=
        for t in $(find "$build" -type f -perm -u+x -name 'fuzz-*' | sort); do
                grep -qa 'max_total_time' "$t" && targets="$targets $t"
        done
fi
[ -n "$targets" ] || { echo "fuzz.sh: no fuzz targets built" >&2; exit 1; }

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
failed=0
for t in $targets; do
        [ -x "$t" ] || t=$(find "$build" -type f -name "$t" | head -n1)
        name=$(basename "$t")
        case $name in
                fuzz-driver-*) seeds=$src/tests/fuzz/corpus/${name#fuzz-driver-} ;;
                *) seeds=$src/tests/fuzz/corpus/${name#fuzz-} ;;
        esac
        # New inputs go to a scratch corpus; the committed seeds stay as they are.
        mkdir -p "$work/$name"
        echo "== $name (${seconds}s, seeds: $seeds)"
        if "$t" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/$name-" \
                "$work/$name" "$seeds" >"$work/$name.log" 2>&1; then
                grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' \
                        "$work/$name.log" | tr '\n' ' '
                echo
        else
                failed=1
                # The sanitizer report (or libFuzzer's deadly-signal report), else the end.
                if grep -qE 'ERROR: |deadly signal' "$work/$name.log"; then
                        sed -n '/ERROR: \|deadly signal/,/SUMMARY: /p' "$work/$name.log" | head -n 60
                else
                        tail -n 40 "$work/$name.log"
                fi
                for a in "$work/$name"-*; do
                        [ -e "$a" ] || continue
                        mkdir -p "$build/fuzz-artifacts"
                        cp "$a" "$build/fuzz-artifacts/"
                        echo "fuzz.sh: $name: crashing input saved as $build/fuzz-artifacts/$(basename "$a")"
                done
        fi
done
exit $failed
