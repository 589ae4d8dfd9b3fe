#!/bin/bash
# SPDX-License-Identifier: MIT
# The hub's shipped mosquitto configuration (config/mosquitto/), made by `enable --root`,
# in a real mosquitto: anonymous clients are refused, and each account reads and writes
# exactly what docs/dashboard.md says. Negative checks wait a bounded 1 s for a message
# that must not come.
set -u
src=$1
tmp=$(mktemp -d /tmp/tphub-acl.XXXXXX)
mpid=
cleanup() { [ -n "$mpid" ] && kill "$mpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
n=0 fail=0
check() { # check NAME COMMAND...: ok when the command succeeds
        local name=$1; shift
        n=$((n + 1))
        if "$@"; then echo "ok $n - $name"; else echo "not ok $n - $name"; fail=1; fi
}
echo "1..16"

out=$(TPHUB_DASHBOARD_DIR=$tmp/www "$src/config/mosquitto/enable" --root "$tmp" lab bench-1 bench-2) || { echo "not ok 1 - enable: $out"; exit 1; }
declare -A pw
while read -r _ _ _ user _ _ pass; do pw[$user]=$pass; done < <(echo "$out" | grep '^created MQTT user')
mkdir -p "$tmp/www"
echo ok > "$tmp/www/index.html"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
wsport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
conf=$tmp/etc/mosquitto/conf.d/tphub.conf
sed -i -e "s/^listener 1883 127.0.0.1$/listener $port 127.0.0.1/" -e "s/^listener 9001$/listener $wsport/" "$conf"
{ echo "persistence false"; [ "$(id -u)" -eq 0 ] && echo "user root"; } >> "$conf"
mosquitto -c "$conf" > "$tmp/mosquitto.log" 2>&1 &
mpid=$!
for _ in $(seq 250); do mosquitto_sub -h 127.0.0.1 -p "$port" -u coach -P "${pw[coach]}" -t x -W 1 -C 1 -E >/dev/null 2>&1 && break; sleep 0.02; done

as() { local u=$1; shift; echo -u "$u" -P "${pw[$u]}"; }
pub() { local u=$1; shift; mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 $(as "$u") "$@"; }
# prints the first message (payload) a user gets on a topic, or nothing within 1 s
first() { local u=$1 t=$2; mosquitto_sub -h 127.0.0.1 -p "$port" $(as "$u") -t "$t" -C 1 -W 1 2>/dev/null; }

check "the credentials file holds the hub's user and password" \
        test "$(cat "$tmp/etc/tphub/mqtt-credentials")" = "$(printf 'hub-lab\n%s' "${pw[hub-lab]}")"
check "the hub publishes under its prefix" pub hub-lab -r -t tphub/lab/bench-2/state -m hub-b2
pub hub-lab -r -t tphub/lab/bench-1/state -m hub-b1
pub hub-lab -r -t tphub/lab/status -m online
pub hub-lab -r -t tphub/other/bench-1/state -m foreign
check "the coach reads every station" test "$(first coach tphub/lab/bench-2/state)" = hub-b2
check "the hub cannot write under another hub's prefix" test -z "$(first coach tphub/other/bench-1/state)"
check "anonymous clients are refused" \
        bash -c "! mosquitto_sub -h 127.0.0.1 -p $port -t tphub/# -C 1 -W 1 >/dev/null 2>&1"
check "a station account reads its own state and the hub's status" \
        test "$(first station-lab-bench-1 tphub/lab/bench-1/state)/$(first station-lab-bench-1 tphub/lab/status)" = hub-b1/online
check "a station account cannot read another station" test -z "$(first station-lab-bench-1 tphub/lab/bench-2/state)"
pub coach -r -t tphub/lab/bench-1/state -m forged
check "the coach cannot forge a station's state" test "$(first coach tphub/lab/bench-1/state)" = hub-b1

# commands: the hub's subscriber sees what each account may send, in order
mosquitto_sub -h 127.0.0.1 -p "$port" $(as hub-lab) -t 'tphub/lab/+/cmd' -v -W 20 > "$tmp/cmds" 2>&1 &
sub=$!
for _ in $(seq 250); do grep -q " ping$" "$tmp/cmds" 2>/dev/null && break; pub hub-lab -t tphub/lab/bench-1/cmd -m ping 2>/dev/null; sleep 0.02; done
pub station-lab-bench-1 -t tphub/lab/bench-2/cmd -m '{"cmd":"stop","id":"not-mine"}'
pub station-lab-bench-1 -t tphub/lab/bench-1/cmd -m '{"cmd":"stop","id":"mine"}'
pub coach -t tphub/lab/bench-2/cmd -m '{"cmd":"stop","id":"coach"}'
pub hub-lab -t tphub/lab/bench-1/cmd -m done
for _ in $(seq 500); do grep -q " done$" "$tmp/cmds" && break; sleep 0.02; done
kill "$sub" 2>/dev/null
wait "$sub" 2>/dev/null
got=$(grep -v -e ' ping$' -e ' done$' "$tmp/cmds")
check "a station account commands its own station only" \
        test "$(echo "$got" | head -1)" = 'tphub/lab/bench-1/cmd {"cmd":"stop","id":"mine"}'
check "the coach commands any station" test "$(echo "$got" | sed -n 2p)" = 'tphub/lab/bench-2/cmd {"cmd":"stop","id":"coach"}'
# History (tphub-recorder, MQTT 5 request/response): who may ask, who reads the answers.
check "the recorder's credentials file holds its user and password" \
        test "$(cat "$tmp/etc/tphub/recorder-mqtt.credentials")" = "$(printf 'recorder\n%s' "${pw[recorder]}")"
pub hub-lab -r -t tphub/lab/bench-1/session -m '{"id":"s1"}'
check "the recorder reads the hubs' sessions" test "$(first recorder tphub/lab/bench-1/session)" = '{"id":"s1"}'
mosquitto_sub -h 127.0.0.1 -p "$port" $(as recorder) -t tphub-history/query -v -W 20 > "$tmp/queries" 2>&1 &
sub=$!
for _ in $(seq 250); do grep -q " ping$" "$tmp/queries" 2>/dev/null && break; pub coach -t tphub-history/query -m ping 2>/dev/null; sleep 0.02; done
pub station-lab-bench-1 -t tphub-history/query -m '{"from":"station"}'
pub hub-lab -t tphub-history/query -m '{"from":"hub"}'
pub coach -t tphub-history/query -m '{"from":"coach"}'
for _ in $(seq 500); do grep -q '"coach"' "$tmp/queries" && break; sleep 0.02; done
kill "$sub" 2>/dev/null
wait "$sub" 2>/dev/null
check "only the coach may query the history" \
        test "$(grep -v ' ping$' "$tmp/queries")" = 'tphub-history/query {"from":"coach"}'
# answers: retained here so that a reader subscribing afterwards gets them (or must not)
pub recorder -r -t tphub-history/reply/coach/web-1 -m answer-coach
pub recorder -r -t tphub-history/reply/station-lab-bench-1/web-2 -m answer-station
check "the coach reads the answers sent to it" test "$(first coach 'tphub-history/reply/coach/#')" = answer-coach
check "the coach reads no other user's answers (their user does)" \
        test "$(first coach tphub-history/reply/station-lab-bench-1/web-2)/$(first station-lab-bench-1 'tphub-history/reply/station-lab-bench-1/#')" = /answer-station
pub recorder -r -t tphub/lab/bench-1/state -m forged-by-recorder
pub recorder -r -t tphub/lab/bench-1/cmd/reply -m forged-reply
check "the recorder writes nothing but commands and answers" \
        test "$(first coach tphub/lab/bench-1/state)/$(first coach tphub/lab/bench-1/cmd/reply)" = hub-b1/
if [ $fail -ne 0 ]; then sed 's/^/# /' "$tmp/mosquitto.log" | tail -20; fi
exit $fail
