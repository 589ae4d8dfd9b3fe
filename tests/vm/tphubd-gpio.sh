#!/bin/sh
# Guest side of 'vm-tphubd-gpio': tphubd with the libgpiod backend (gpio.backend = "chip")
# on a gpio-sim chip it finds by its label and line names; tests/vm/tphubd-gpio-test.py
# presses the foot-switch through the simulated pull and reads the cue outputs back.
# Usage: tphubd-gpio.sh TPHUBD
set -eu
. scripts/vm/guest-lib.sh

# line 0 the foot-switch, then green, amber, red, buzzer
vm_gpio_sim_setup tphub 5 tphub-sim SW G A R BZ > /dev/null
exec python3 tests/vm/tphubd-gpio-test.py "$1" tphub-sim \
        "$(vm_gpio_sim_line_dir tphub 0)" "$(vm_gpio_sim_line_dir tphub 1)" \
        "$(vm_gpio_sim_line_dir tphub 2)" "$(vm_gpio_sim_line_dir tphub 3)" \
        "$(vm_gpio_sim_line_dir tphub 4)"
