#!/bin/bash
# SPDX-License-Identifier: MIT
# From a checkout's build directory, tphub-replay finds the checkout's own protocols by name
# (no --config); the same binary copied out of the build directory (as if installed) does not
# look there and says where it looked. TAP.
#   test-checkout-protocols.sh SRC TPHUB_REPLAY
set -u
src=$(cd "$1" && pwd) replay=$(realpath "$2")
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; printf '%s\n' "$2" | sed 's/^/# /'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$src"
out=$("$replay" --protocol back-12 --trace config/traces/back-12-short.csv --compact 2>"$tmp/err"); rc=$?
if [ $rc -eq 0 ] && grep -q '"protocol":"back-12"' <<< "$out"; then
        ok "tphub-replay --protocol back-12 in the checkout, without --config"
else
        notok "tphub-replay --protocol back-12 in the checkout" "rc $rc: $(cat "$tmp/err") $out"
fi

cd "$tmp"
out=$("$replay" --protocol back-12 --trace "$src/config/traces/back-12-short.csv" 2>"$tmp/err"); rc=$?
if [ $rc -eq 0 ]; then
        ok "run from elsewhere, the build-tree binary still finds the checkout's protocols"
else
        notok "run from elsewhere, the build-tree binary still finds the checkout's protocols" "$(cat "$tmp/err")"
fi

cp "$replay" "$tmp/tphub-replay"
out=$("$tmp/tphub-replay" --protocol back-12 --trace "$src/config/traces/back-12-short.csv" 2>"$tmp/err"); rc=$?
err=$(cat "$tmp/err")
if [ -e /usr/share/tphub/protocols/back-12.conf ] || [ -e /usr/local/share/tphub/protocols/back-12.conf ] ||
   [ -e /etc/tphub/protocols/back-12.conf ]; then
        echo "ok $((n + 1)) - a copy outside the build tree ignores the checkout # SKIP back-12 is installed on this machine"
        n=$((n + 1))
elif [ $rc -ne 0 ] && [[ $err == *'no protocol "back-12" in /'* ]] && [[ $err != *"$src/config/protocols"* ]]; then
        ok "a copy outside the build tree ignores the checkout and says where it looked"
else
        notok "a copy outside the build tree ignores the checkout" "rc $rc: $err"
fi
echo "1..$n"
[ $failed -eq 0 ]
