#!/bin/sh
# Host-side test of scripts/vm/run.sh itself: exit code pass-through, console
# streaming, --env, the shared dir at the same path (both ways), and the
# timeout. run-sh-test.sh BUILD_ROOT. Skipped unless TPHUB_VM_TESTS=1.
if [ "${TPHUB_VM_TESTS:-}" != 1 ]; then
        echo "skipped: set TPHUB_VM_TESTS=1 (after scripts/vm/build.sh) to run VM tests"
        exit 77
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
run=$root/scripts/vm/run.sh
dir=$(mktemp -d "$1/vm-run-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
failures=0
check() { # what got want
        if [ "$2" != "$3" ]; then
                echo "FAIL $1: got '$2', want '$3'"
                failures=$((failures + 1))
        else
                echo "ok   $1"
        fi
}

echo "from host" > "$dir/in"
cd "$dir" || exit 1
out=$("$run" --share "$dir" --env 'GREETING=a b' -- \
        sh -c 'echo "guest:$GREETING:$(pwd):$(cat in)"; echo written > out; exit 42' 2>/dev/null)
check "exit code" $? 42
check "console, env, cwd, share read" "$out" "guest:a b:$dir:from host"
check "share write" "$(cat "$dir/out" 2>/dev/null)" written

"$run" --share "$dir" -- true 2>/dev/null
check "exit 0" $? 0

"$run" --share "$dir" --timeout 8 -- sleep 600 >/dev/null 2>&1
check "timeout" $? 124

cd / && "$run" -- true >/dev/null 2>&1
check "cwd outside the shares" $? 125

[ $failures = 0 ]
