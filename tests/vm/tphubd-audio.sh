#!/bin/sh
# Guest side of 'vm-tphubd-audio': tphubd playing through a real ALSA device (snd-aloop),
# its loopback side captured with CLOCK_MONOTONIC frame times by audio-lab; the foot-switch
# and the cue outputs on the GPIO sim. tests/vm/tphubd-audio-test.py does the rest.
# Usage: tphubd-audio.sh TPHUBD AUDIO_LAB SPEECH_DIR
set -eu
modprobe snd-aloop
exec python3 tests/vm/tphubd-audio-test.py "$@"
