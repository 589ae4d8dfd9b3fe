#!/bin/bash
# SPDX-License-Identifier: MIT
# A throwaway Debian 12 root for the package and cross tests, made with debootstrap from the
# Debian mirror apt is configured with, and cached as a tarball so reruns skip debootstrap.
#   debian12-root.sh CACHE_DIR DEST [EXTRA_SETUP_SCRIPT TAG]
# unpacks a fresh minbase root into DEST (which must not exist). With EXTRA_SETUP_SCRIPT, a
# second tarball CACHE_DIR/bookworm-TAG.tar is made once by running that script (as
# "bash SCRIPT" inside the root) on a fresh minbase root, and DEST is unpacked from it.
# Needs root. Sourced, it gives root_run, make_base, make_flavour and root_unpack.

# The bookworm mirror apt uses on this machine (deb.debian.org or a local one).
debian_mirror() {
        apt-get indextargets --format '$(SITE) $(RELEASE)' 'Identifier: Packages' 2>/dev/null |
                awk '$2 == "bookworm" { print $1; exit }'
}

# Runs a command inside ROOT with /proc, /dev and /sys mounted in a private mount namespace,
# so that nothing stays mounted when it ends, whatever happens. ROOT_RUN_NET=none gives it a
# network namespace of its own (no broker or other service of this machine reachable).
root_run() {
        local root=$1; shift
        local net=()
        [ "${ROOT_RUN_NET:-}" = none ] && net=(--net)
        unshare "${net[@]}" --mount --propagation private -- /bin/sh -c '
                root=$1; shift
                mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" &&
                        mount --rbind /sys "$root/sys" || exit 125
                exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
                        DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root \
                        NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-certificates.crt "$@"' sh "$root" "$@"
}

root_unpack() { # tarball dest
        mkdir -p "$2"
        tar -C "$2" -xpf "$1"
        cp /etc/resolv.conf "$2/etc/resolv.conf"
        # The certificate authorities this machine trusts (a proxy in front of the npm registry
        # may sign with its own): npm in the root trusts them too (NODE_EXTRA_CA_CERTS).
        [ -f /etc/ssl/certs/ca-certificates.crt ] && mkdir -p "$2/etc/ssl" &&
                cp /etc/ssl/certs/ca-certificates.crt "$2/etc/ssl/host-ca-certificates.crt"
        return 0
}

make_base() { # cache_dir
        # The package and the cross tests run side by side and share the base: one makes it,
        # the other waits for it.
        mkdir -p "$1"
        ( flock 9 && make_base_locked "$1" ) 9>"$1/.base.lock"
}

make_base_locked() { # cache_dir
        local cache=$1 tmp mirror
        [ -f "$cache/bookworm-minbase.tar" ] && return 0
        command -v debootstrap >/dev/null || { echo "debootstrap is not installed" >&2; return 1; }
        mirror=$(debian_mirror)
        [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
        mkdir -p "$cache"
        tmp=$(mktemp -d "$cache/debootstrap.XXXXXX")
        if ! debootstrap --variant=minbase bookworm "$tmp/root" "$mirror" > "$cache/debootstrap.log" 2>&1; then
                tail -20 "$cache/debootstrap.log" >&2
                rm -rf "$tmp"
                return 1
        fi
        # The same suites as a station: the release, its updates and security.
        local sec=${mirror%/debian}/debian-security
        cat > "$tmp/root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $sec bookworm-security main
EOF
        rm -f "$tmp/root/var/cache/apt/archives/"*.deb
        tar -C "$tmp/root" -cf "$cache/bookworm-minbase.tar.tmp" .
        mv "$cache/bookworm-minbase.tar.tmp" "$cache/bookworm-minbase.tar"
        rm -rf "$tmp"
}

make_flavour() { # cache_dir setup_script tag
        local cache=$1 script=$2 tag=$3 tmp
        # remade when the setup script changed
        [ -f "$cache/bookworm-$tag.tar" ] && cmp -s "$script" "$cache/$tag-setup.sh" && return 0
        tmp=$(mktemp -d "$cache/$tag.XXXXXX")
        root_unpack "$cache/bookworm-minbase.tar" "$tmp/root"
        cp "$script" "$tmp/root/setup.sh"
        if ! root_run "$tmp/root" /bin/bash /setup.sh > "$cache/$tag-setup.log" 2>&1; then
                tail -30 "$cache/$tag-setup.log" >&2
                rm -rf "$tmp"
                return 1
        fi
        rm -f "$tmp/root/setup.sh" "$tmp/root/var/cache/apt/archives/"*.deb
        tar -C "$tmp/root" -cf "$cache/bookworm-$tag.tar.tmp" .
        mv "$cache/bookworm-$tag.tar.tmp" "$cache/bookworm-$tag.tar"
        cp "$script" "$cache/$tag-setup.sh"
        rm -rf "$tmp"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
        set -euo pipefail
        [ $# -ge 2 ] || { sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
        cache=$1 dest=$2
        [ ! -e "$dest" ] || { echo "$dest exists" >&2; exit 1; }
        make_base "$cache"
        if [ $# -ge 4 ]; then
                make_flavour "$cache" "$3" "$4"
                root_unpack "$cache/bookworm-$4.tar" "$dest"
        else
                root_unpack "$cache/bookworm-minbase.tar" "$dest"
        fi
fi
