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

/* Why the release cue was given; each has its own light and sound (docs/cues.md). */
typedef enum CueRelease {
        CUE_RELEASE_NONE,          /* not a release cue */
        CUE_RELEASE_DONE,          /* the hold is complete: release slowly */
        CUE_RELEASE_NOT_RELEASED,  /* not released: let go, the point comes back later */
        CUE_RELEASE_OVER_FORCE,    /* safety stop: pressed too hard for too long */
        _CUE_RELEASE_MAX,
        _CUE_RELEASE_INVALID = -1,
} CueRelease;

typedef struct Cue {
        CueKind kind;
        unsigned warnings; /* CueWarning bits */
        int step;          /* index into the protocol, -1 when idle */
        unsigned rep;      /* 1-based rep (or trial) within the step, 0 when idle */
        nsec_t since_ns;   /* when this cue began */
        nsec_t due_ns;     /* end of countdown/rest/pause, 0 when open-ended */
        CueRelease release;    /* CUE_RELEASE: why; CUE_RELEASE_NONE otherwise */
        bool away;             /* CUE_REST: away from a point that comes back next */
        nsec_t tap_counts_ns;  /* CUE_HOLD: from this time a tap ends the hold (set once
                                * reached), 0 when a tap cannot end it (yet) */
        nsec_t not_yet_ns;     /* last tap that did not count in this cue ("not yet"), 0 = none */
} Cue;

/* Field by field (a Cue has padding, so memcmp would compare garbage). */
bool cue_equal(const Cue *a, const Cue *b);

const char *cue_kind_to_string(CueKind k);
const char *cue_release_to_string(CueRelease r);
