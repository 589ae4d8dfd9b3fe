/* SPDX-License-Identifier: MIT */
#pragma once

/* What a station must show and sound right now. The engine produces it; the cue player
 * (LEDs, buzzer) and the live-state publisher render it. Deadlines are CLOCK_MONOTONIC ns
 * so that a renderer can time countdown beeps and the release edge itself. */

#include <stdbool.h>
#include <stdint.h>

#include "shared/time-util.h"

typedef enum CueKind {
        CUE_IDLE,      /* attract: waiting for an athlete to tap in */
        CUE_POINT,     /* go to this point: find it */
        CUE_PRESSING,  /* contact made, searching / settling, hold not started yet */
        CUE_HOLD,      /* hold running: countdown to due_ns */
        CUE_RELEASE,   /* release now, slowly */
        CUE_REST,      /* rest until due_ns */
        CUE_PAUSED,    /* tool lost mid-hold: waiting for it to come back until due_ns */
        CUE_DONE,      /* session finished (shown briefly by the player) */
        _CUE_KIND_MAX,
        _CUE_KIND_INVALID = -1,
} CueKind;

typedef enum CueWarning {
        CUE_WARN_NONE = 0,
        CUE_WARN_OVER_FORCE = 1 << 0, /* pressing harder than the safety maximum */
        CUE_WARN_OVER_HOLD = 1 << 1,  /* still pressing past the maximum hold */
        CUE_WARN_TOOL_LOST = 1 << 2,
} CueWarning;

typedef struct Cue {
        CueKind kind;
        unsigned warnings; /* CueWarning bits */
        int step;          /* index into the protocol, -1 when idle */
        unsigned rep;      /* 1-based rep (or trial) within the step, 0 when idle */
        nsec_t since_ns;   /* when this cue began */
        nsec_t due_ns;     /* end of countdown/rest/pause, 0 when open-ended */
} Cue;

const char *cue_kind_to_string(CueKind k);
