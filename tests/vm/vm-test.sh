#!/bin/sh
# Meson wrapper for the VM tests: vm-test.sh BUILD_ROOT COMMAND [ARGS...]
# Runs COMMAND inside the test-lab VM (scripts/vm/run.sh) with the build dir
# shared too. Skipped (77) unless TPHUB_VM_TESTS=1: the VM must be built first
# with scripts/vm/build.sh, which needs root and apt.
if [ "${TPHUB_VM_TESTS:-}" != 1 ]; then
        echo "skipped: set TPHUB_VM_TESTS=1 (after scripts/vm/build.sh) to run VM tests"
        exit 77
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
shift
exec "$root/scripts/vm/run.sh" --timeout "${TPHUB_VM_TIMEOUT:-240}" --share "$build" -- "$@"
