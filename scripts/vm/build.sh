#!/bin/bash
# Build (or refresh) the QEMU test-lab VM used by tests in suite 'vm'.
#
# Everything lands in .vm/ at the project root; re-running skips the steps
# whose outputs are already there. Needs root (apt) on Debian 12, and nothing
# from the network except Debian packages.
#
# Environment:
#   TPHUB_VM_KABI  kernel ABI to use (e.g. 6.1.0-56); default: the one
#                  linux-image-amd64 points to in the apt index.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM="$ROOT/.vm"
HERE="$ROOT/scripts/vm"
APT_OPTS=(-y -o DPkg::Lock::Timeout=300 --no-install-recommends)

# Host packages: the guest runs the host's /usr, so everything a guest test
# uses must be installed here.
HOST_PACKAGES=(
        qemu-system-x86 busybox-static kmod cpio xz-utils gzip
        make gcc libc6-dev binutils
        dbus bluez bluez-test-tools python3 python3-dbus python3-gi gir1.2-glib-2.0
        gpiod alsa-utils
)

# Kernel modules the guest may load. EARLY ones are insmod'ed by /init
# before /usr is there (virtio, 9p, overlay); the rest is loaded with the
# host's modprobe from inside the guest.
EARLY_MODULES=(virtio_pci 9pnet_virtio 9p overlay virtio-rng)
GUEST_MODULES=(
        configfs
        hci_vhci bluetooth bnep rfkill
        af_alg algif_hash algif_skcipher cmac ecb ctr ccm drbg
        jitterentropy_rng sha512_generic sha3_generic ansi_cprng ecc ecdh_generic crc16
        snd-aloop
)

t_start=$(date +%s.%N)
step_start=$t_start
log() { printf 'vm-build: %s\n' "$*" >&2; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
step_done() {
        local now; now=$(date +%s.%N)
        printf 'vm-build: %-30s %6s s\n' "$1" "$(elapsed "$step_start" "$now")" >&2
        step_start=$now
}

[ "$(id -u)" = 0 ] || { log "must run as root (apt, dpkg)"; exit 1; }
for d in bin sbin lib lib64; do
        [ -L "/$d" ] || { log "host /$d is not a merged-usr symlink; unsupported"; exit 1; }
done

mkdir -p "$VM"

# --- 1. host packages --------------------------------------------------------
missing=()
for p in "${HOST_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        log "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install "${APT_OPTS[@]}" "${missing[@]}" >"$VM/apt.log" 2>&1; then
                apt-get update -o DPkg::Lock::Timeout=300 >>"$VM/apt.log" 2>&1
                apt-get install "${APT_OPTS[@]}" "${missing[@]}" >>"$VM/apt.log" 2>&1 \
                        || { tail -20 "$VM/apt.log" >&2; exit 1; }
        fi
fi
step_done "host packages"

# --- 2. kernel ABI and packages ---------------------------------------------
# Image, headers, kbuild and source must be the same upload, or gpio-sim
# will not load (vermagic / symbol CRCs). The choice is cached in
# .vm/kernel.env: remove .vm/ (or set TPHUB_VM_KABI) to move to a newer one.
KROOT="$VM/kernel"

resolve_kernel() { # set KABI KVER KREL from the apt index
        KABI=${TPHUB_VM_KABI:-}
        if [ -z "$KABI" ]; then
                KABI=$(apt-cache depends linux-image-amd64 2>/dev/null \
                        | sed -n 's/.*Depends: linux-image-\(6\.1\.0-[0-9]*\)-amd64$/\1/p' | head -1)
        fi
        [ -n "$KABI" ] || return 1
        KVER=$(apt-cache policy "linux-image-$KABI-amd64" 2>/dev/null | awk '/Candidate:/ { print $2 }')
        [ -n "$KVER" ] && [ "$KVER" != "(none)" ] || return 1
        KREL="$KABI-amd64"
}

kernel_debs() {
        KDEBS=("linux-image-$KREL" "linux-headers-$KREL" "linux-headers-$KABI-common"
               linux-kbuild-6.1 linux-source-6.1)
}

download_kernel() { # fetch the missing kernel .debs of KVER into .vm/debs
        local p need=() tmp rc=0
        kernel_debs
        mkdir -p "$VM/debs"
        for p in "${KDEBS[@]}"; do
                ls "$VM/debs/${p}_${KVER}_"*.deb >/dev/null 2>&1 || need+=("$p=$KVER")
        done
        [ ${#need[@]} -gt 0 ] || return 0
        # _apt cannot write into a root-owned project dir: download as root
        # into a private temp dir, then move.
        tmp=$(mktemp -d)
        chmod 755 "$tmp"
        (cd "$tmp" && apt-get download -o DPkg::Lock::Timeout=300 "${need[@]}") >>"$VM/download.log" 2>&1 || rc=1
        [ $rc = 0 ] && mv "$tmp"/*.deb "$VM/debs/"
        rm -rf "$tmp"
        return $rc
}

KABI='' KVER='' KREL=''
[ -s "$VM/kernel.env" ] && . "$VM/kernel.env"
if [ -n "${TPHUB_VM_KABI:-}" ] && [ "$TPHUB_VM_KABI" != "$KABI" ]; then
        KABI='' KVER='' KREL=''
fi
if [ -z "$KVER" ] || [ ! -e "$KROOT/.done-$KVER" ]; then
        : > "$VM/download.log"
        if ! { resolve_kernel && download_kernel; }; then
                # stale or missing index: refresh once and decide again
                apt-get update -o DPkg::Lock::Timeout=300 >>"$VM/download.log" 2>&1 || true
                if ! { resolve_kernel && download_kernel; }; then
                        tail -20 "$VM/download.log" >&2
                        log "cannot get a matching linux-image/headers/kbuild/source 6.1 set"
                        exit 1
                fi
        fi
        printf 'KABI=%s\nKVER=%s\nKREL=%s\n' "$KABI" "$KVER" "$KREL" > "$VM/kernel.env"
fi
kernel_debs
log "kernel $KREL ($KVER)"
step_done "kernel packages"

if [ ! -e "$KROOT/.done-$KVER" ]; then
        rm -rf "$KROOT"
        mkdir -p "$KROOT"
        for p in "${KDEBS[@]}"; do
                dpkg-deb -x "$VM/debs/${p}_${KVER}_"*.deb "$KROOT"
        done
        # The headers Makefile includes the -common tree by absolute path.
        sed -i "s|^include /usr/src/|include $KROOT/usr/src/|" "$KROOT/usr/src/linux-headers-$KREL/Makefile"
        depmod -b "$KROOT" "$KREL"
        mkdir -p "$KROOT/src"
        tar -xJf "$KROOT/usr/src/linux-source-6.1.tar.xz" -C "$KROOT/src" --strip-components=1 \
                linux-source-6.1/drivers/gpio/gpio-sim.c \
                linux-source-6.1/drivers/gpio/gpiolib.h \
                linux-source-6.1/kernel/irq/irq_sim.c \
                linux-source-6.1/scripts/extract-vmlinux
        rm -f "$KROOT/usr/src/linux-source-6.1.tar.xz"
        touch "$KROOT/.done-$KVER"
        rm -rf "$VM/debs"   # 200+ MB we no longer need
fi
step_done "kernel unpack"

# --- 3. uncompressed vmlinux (PVH boot: much faster than bzImage under TCG) --
if [ ! -s "$VM/vmlinux" ] || [ "$KROOT/.done-$KVER" -nt "$VM/vmlinux" ]; then
        sh "$KROOT/src/scripts/extract-vmlinux" "$KROOT/boot/vmlinuz-$KREL" > "$VM/vmlinux.tmp"
        mv "$VM/vmlinux.tmp" "$VM/vmlinux"
fi
step_done "vmlinux"

# --- 4. gpio-sim + irq_sim out of tree ---------------------------------------
# Debian builds neither. irq_sim is bool-only upstream and uses irq_to_desc(),
# which 6.1 does not export: build it as a module on generic_handle_irq().
GS="$VM/gpio-sim"
if [ ! -s "$GS/gpio-sim.ko" ] || [ ! -s "$GS/irq_sim.ko" ] || [ "$KROOT/.done-$KVER" -nt "$GS/gpio-sim.ko" ]; then
        rm -rf "$GS"
        mkdir -p "$GS"
        cp "$KROOT/src/drivers/gpio/gpio-sim.c" "$KROOT/src/drivers/gpio/gpiolib.h" \
           "$KROOT/src/kernel/irq/irq_sim.c" "$GS/"
        grep -q 'handle_simple_irq(irq_to_desc(irqnum));' "$GS/irq_sim.c" \
                || { log "irq_sim.c changed upstream: fixup does not apply"; exit 1; }
        sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$GS/irq_sim.c"
        printf '\nMODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("Interrupt simulator (out-of-tree build, tphub VM lab)");\n' >> "$GS/irq_sim.c"
        printf 'obj-m := irq_sim.o gpio-sim.o\n' > "$GS/Kbuild"
        make -s -C "$KROOT/usr/src/linux-headers-$KREL" M="$GS" -j"$(nproc)" modules >"$GS/build.log" 2>&1 \
                || { cat "$GS/build.log" >&2; exit 1; }
fi
step_done "gpio-sim.ko irq_sim.ko"

# --- 5. minimal module tree ---------------------------------------------------
MROOT="$VM/modroot"
MDIR="$MROOT/lib/modules/$KREL"
rm -rf "$MROOT"
mkdir -p "$MDIR/extra"
show_deps() { modprobe -d "$KROOT" -S "$KREL" --show-depends "$1" | awk '$1 == "insmod" { print $2 }'; }
: > "$VM/early-modules"
for m in "${EARLY_MODULES[@]}"; do
        show_deps "$m" >> "$VM/early-modules"
done
for m in "${GUEST_MODULES[@]}"; do
        show_deps "$m"
done | cat "$VM/early-modules" - | awk '!seen[$0]++' | while read -r ko; do
        rel=${ko#"$KROOT/lib/modules/$KREL/"}
        mkdir -p "$MDIR/$(dirname "$rel")"
        cp "$ko" "$MDIR/$rel"
done
# insmod order for /init, relative to the module dir, without duplicates
awk '!seen[$0]++' "$VM/early-modules" | sed "s|^$KROOT/lib/modules/$KREL/||" > "$VM/early-modules.tmp"
mv "$VM/early-modules.tmp" "$VM/early-modules"
cp "$GS/gpio-sim.ko" "$GS/irq_sim.ko" "$MDIR/extra/"
cp "$KROOT/lib/modules/$KREL/modules.builtin" "$KROOT/lib/modules/$KREL/modules.builtin.modinfo" \
   "$KROOT/lib/modules/$KREL/modules.order" "$MDIR/"
depmod -b "$MROOT" "$KREL"
step_done "module set ($(find "$MDIR" -name '*.ko' | wc -l) modules, $(du -sh "$MDIR" | cut -f1))"

# --- 6. initramfs -------------------------------------------------------------
IR="$VM/initramfs"
rm -rf "$IR"
mkdir -p "$IR"/{proc,sys,dev,run,tmp,var,root,usr,etc,mnt,.lower/usr,.lower/etc,.rw}
cp /bin/busybox "$IR/busybox"
for d in bin sbin lib lib32 lib64 libx32; do
        [ -L "/$d" ] && ln -s "$(readlink "/$d")" "$IR/$d"
done
cp -a "$MROOT/lib/modules" "$IR/.modules"
cp "$VM/early-modules" "$IR/.early-modules"
printf 'KREL=%s\n' "$KREL" > "$IR/.vm.env"
install -m 0755 "$HERE/init" "$IR/init"
(cd "$IR" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet | gzip -1) > "$VM/initramfs.cpio.gz.tmp"
mv "$VM/initramfs.cpio.gz.tmp" "$VM/initramfs.cpio.gz"
rm -rf "$IR"
step_done "initramfs ($(du -h "$VM/initramfs.cpio.gz" | cut -f1))"

printf 'vm-build: total %s s\n' "$(elapsed "$t_start" "$(date +%s.%N)")" >&2
