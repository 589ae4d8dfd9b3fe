#!/bin/bash
# Run one command as root inside the tphub test-lab VM and exit with its code.
#
#   scripts/vm/run.sh [--timeout SECS] [--share DIR]... [--env NAME=VALUE]...
#                     [--smp N] [--mem MB] [--verbose] [--interactive] -- COMMAND [ARGS...]
#
# The project root (and every --share DIR) is shared read-write at the same
# absolute path, so host-built binaries run unchanged; COMMAND runs in the
# current directory (which must be inside a share). The guest console is
# streamed to stdout. Exit codes: COMMAND's, or 124 on timeout, 125 when the
# VM failed before or after COMMAND (boot error, no exit code reported).
# --interactive gives COMMAND the terminal (e.g. -- bash); ^C there goes to
# the guest: leave with exit (or ^A x, QEMU's own escape).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
VM="$ROOT/.vm"
timeout=300
smp=${TPHUB_VM_SMP:-}
mem=1024
verbose=0
interactive=0
shares=("$ROOT")
envs=()

# A dir inside an existing share is reachable already: nested 9p mounts
# would only shadow it.
add_share() {
        local dir s
        dir=$(cd "$1" && pwd -P) || exit 125
        for s in "${shares[@]}"; do
                case "$dir/" in "$s"/*) return ;; esac
        done
        shares+=("$dir")
}
usage() { sed -n '2,12s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
        case "$1" in
        --timeout) timeout=$2; shift 2 ;;
        --share) add_share "$2"; shift 2 ;;
        --env) envs+=("$2"); shift 2 ;;
        --smp) smp=$2; shift 2 ;;
        --mem) mem=$2; shift 2 ;;
        --verbose) verbose=1; shift ;;
        --interactive) interactive=1; shift ;;
        --) shift; break ;;
        -h|--help) usage ;;
        *) echo "run.sh: unknown option $1" >&2; usage ;;
        esac
done
[ $# -gt 0 ] || usage

for f in vmlinux initramfs.cpio.gz; do
        [ -s "$VM/$f" ] || { echo "run.sh: $VM/$f missing: run scripts/vm/build.sh" >&2; exit 125; }
done

# Multi-threaded TCG pays off only on idle cores: with 2 vCPUs on a busy
# 2-core host the VM runs 2-3x slower than with one (docs/test-lab.md).
if [ -z "$smp" ]; then
        read -r load _ < /proc/loadavg
        # a previous VM run alone leaves ~1.0: count that as idle
        if [ "$(nproc)" -ge 2 ] && awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l < n - 0.5) }'; then
                smp=2
        else
                smp=1
        fi
fi

cwd=$(pwd -P)
inside=0
for s in "${shares[@]}"; do
        case "$cwd/" in "$s"/*) inside=1 ;; esac
done
[ $inside = 1 ] || { echo "run.sh: cwd $cwd is not inside a share (use --share)" >&2; exit 125; }

ctl=$(mktemp -d /tmp/tphub-vm.XXXXXX)
trap 'rm -rf "$ctl"' EXIT

fsdevs=(
        -fsdev "local,id=hostusr,path=/usr,security_model=none,readonly=on,multidevs=remap"
        -device "virtio-9p-pci,fsdev=hostusr,mount_tag=hostusr"
        -fsdev "local,id=hostetc,path=/etc,security_model=none,readonly=on,multidevs=remap"
        -device "virtio-9p-pci,fsdev=hostetc,mount_tag=hostetc"
        -fsdev "local,id=tphubctl,path=$ctl,security_model=none"
        -device "virtio-9p-pci,fsdev=tphubctl,mount_tag=tphubctl"
)
: > "$ctl/mounts"
i=0
for s in "${shares[@]}"; do
        fsdevs+=(-fsdev "local,id=share$i,path=${s//,/,,},security_model=none,multidevs=remap"
                 -device "virtio-9p-pci,fsdev=share$i,mount_tag=share$i")
        printf 'share%d %s\n' "$i" "$s" >> "$ctl/mounts"
        i=$((i + 1))
done

{
        printf 'cd %q || exit 125\n' "$cwd"
        printf 'export TPHUB_ROOT=%q\n' "$ROOT"
        for e in "${envs[@]}"; do printf 'export %q\n' "$e"; done
        printf 'exec'
        printf ' %q' "$@"
        printf '\n'
} > "$ctl/cmd.sh"

if [ $verbose = 1 ]; then loglevel=7; else loglevel=3; fi
stdin=/dev/null
chardev=stdio,id=con
if [ $interactive = 1 ]; then
        [ -t 0 ] || { echo "run.sh: --interactive needs a terminal on stdin" >&2; exit 125; }
        stdin=/dev/stdin
        chardev=stdio,id=con,mux=on,signal=off
        : > "$ctl/interactive"
fi

start=$(date +%s.%N)
set +e
timeout --foreground -k 5 "$timeout" \
        qemu-system-x86_64 \
        -machine pc -accel tcg -cpu max -smp "$smp" -m "$mem" \
        -nodefaults -no-user-config -no-reboot -display none -monitor none \
        -chardev "$chardev" -serial chardev:con \
        -kernel "$VM/vmlinux" -initrd "$VM/initramfs.cpio.gz" \
        -append "console=ttyS0 loglevel=$loglevel panic=-1 mitigations=off rdinit=/init" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -device virtio-rng-pci \
        "${fsdevs[@]}" <"$stdin" &
qemu=$!
# bash runs traps only between commands: waiting in the background lets a
# TERM/INT (meson's timeout, ^C) stop the VM at once.
trap 'kill -TERM $qemu 2>/dev/null; wait $qemu; exit 143' TERM INT HUP
wait $qemu
st=$?
set -e
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

if [ $st = 124 ] || [ $st = 137 ]; then
        echo "run.sh: timeout after ${timeout}s: VM killed" >&2
        exit 124
fi
# isa-debug-exit makes QEMU exit with (rc << 1) | 1; QEMU's own errors
# exit 1 as well, so the rc file written by the guest's /init confirms it.
if [ $((st & 1)) = 1 ] && [ "$(cat "$ctl/rc" 2>/dev/null)" = $((st >> 1)) ]; then
        rc=$((st >> 1))
        echo "run.sh: guest exit code $rc (${secs}s, $smp vCPU)" >&2
        exit $rc
fi
echo "run.sh: VM ended without an exit code (qemu status $st, ${secs}s)" >&2
exit 125
