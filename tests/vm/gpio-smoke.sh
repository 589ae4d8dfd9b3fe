#!/bin/sh
# Guest side of the 'vm-gpio' smoke test: a gpio-sim chip seen by the
# libgpiod 1.6 tools by label and line name; pulls on the simulated pins make
# real edges; an output set with gpioset shows up at the simulated pin.
set -eu
. scripts/vm/guest-lib.sh
LABEL=tphub-vm-sim

fail() { vm_log "FAIL: $*"; exit 1; }
expect() { # what got want
        [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

chip=$(vm_gpio_sim_setup sim0 8 "$LABEL" switch0 switch1 "" led0)
chipname=${chip#/dev/}

expect gpiodetect "$(gpiodetect | grep "\[$LABEL\]")" "$chipname [$LABEL] (8 lines)"
expect "gpioinfo line 3" "$(gpioinfo "$LABEL" | sed -n 's/^[[:space:]]*line   3: *//p' | tr -s ' ')" \
        '"led0" unused input active-high '
expect "gpioinfo line 2" "$(gpioinfo "$LABEL" | sed -n 's/^[[:space:]]*line   2: *//p' | tr -s ' ')" \
        'unnamed unused input active-high '
expect "gpiofind switch1" "$(gpiofind switch1)" "$chipname 1"

# inputs follow the simulated pull
expect "gpioget default" "$(gpioget "$LABEL" 0)" 0
vm_gpio_sim_pull sim0 0 pull-up
expect "gpioget after pull-up" "$(gpioget "$LABEL" 0)" 1
vm_gpio_sim_pull sim0 0 pull-down
expect "gpioget after pull-down" "$(gpioget "$LABEL" 0)" 0

# edges: gpiomon gets exactly rising then falling on line 1
out=/run/gpiomon.out
gpiomon --num-events=2 --line-buffered --format='%o %e' "$LABEL" 1 > "$out" &
mon=$!
vm_wait_for 10 "gpiomon holds line 1" sh -c "gpioinfo $LABEL | grep -q 'line   1:.*\"gpiomon\"'"
vm_gpio_sim_pull sim0 1 pull-up
vm_wait_for 10 "rising edge reported" grep -q '^1 1$' "$out"
vm_gpio_sim_pull sim0 1 pull-down
vm_wait_for 10 "gpiomon done" sh -c "! kill -0 $mon 2>/dev/null"
wait $mon || fail "gpiomon exit status $?"
expect "gpiomon events" "$(tr '\n' ';' < "$out")" "1 1;1 0;"

# outputs: what gpioset drives is what the simulated pin sees, against the
# opposite pull; released, the pin falls back to the pull
led=$(vm_gpio_sim_line_dir sim0 3)/value
pin_is() { [ "$(cat "$led")" = "$1" ]; }
drive() { # level pull
        vm_gpio_sim_pull sim0 3 "$2"
        gpioset --mode=signal "$LABEL" 3="$1" &
        set_pid=$!
        vm_wait_for 10 "led0 driven to $1 against $2" pin_is "$1"
        expect "gpioinfo led0 while set" \
                "$(gpioinfo "$LABEL" | sed -n 's/^[[:space:]]*line   3: *//p' | tr -s ' ')" \
                '"led0" "gpioset" output active-high [used]'
        kill "$set_pid"
        wait "$set_pid" 2>/dev/null || true
        vm_wait_for 10 "led0 released to $3" pin_is "$3"
}
drive 0 pull-up 1
drive 1 pull-down 0
expect "sim value led0 released" "$(vm_gpio_sim_value sim0 3)" 0

vm_log "gpio smoke test passed"
