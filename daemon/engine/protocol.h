/* SPDX-License-Identifier: MIT */
#pragma once

/* A therapy protocol: an ordered list of steps. Plain data, filled by protocol-load.c
 * (or by tests directly) and read by the engine. Times are milliseconds, forces newtons. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum StepKind {
        STEP_PRESS,     /* a point pressed with a force tool (or by hand, confirmed by tap) */
        STEP_STRETCH,   /* a timed hold without a tool, advanced by the clock or a tap */
        STEP_MEASURE,   /* pressure-pain threshold: ramp up, tap at first pain */
        _STEP_KIND_MAX,
        _STEP_KIND_INVALID = -1,
} StepKind;

typedef enum HoldStart {
        HOLD_START_AUTO,    /* force has settled inside the target band for settle_ms */
        HOLD_START_CONFIRM, /* athlete taps the foot-switch when the sharp spot is found */
        HOLD_START_TIMER,   /* starts as soon as the step is cued (stretches) */
        _HOLD_START_MAX,
        _HOLD_START_INVALID = -1,
} HoldStart;

typedef enum NotReleased {
        NOT_RELEASED_CONTINUE, /* record it and go on */
        NOT_RELEASED_REVISIT,  /* work elsewhere, come back later, at most max_tries times */
        _NOT_RELEASED_MAX,
        _NOT_RELEASED_INVALID = -1,
} NotReleased;

typedef struct ProtocolStep {
        char *point;       /* stable id, e.g. "back-03" */
        char *muscle;      /* e.g. "gluteus medius" */
        char *side;        /* "left", "right", "center", "both" */
        char *label;       /* what the athlete understands, spoken/shown */
        char *instruction; /* how to find and work the point */
        char *find_prompt; /* short prompt while the point is sought, NULL = generic */
        char *hold_prompt; /* short prompt during the hold, NULL = generic */

        StepKind kind;
        HoldStart start;

        uint32_t min_hold_ms;    /* a hold shorter than this is an early release */
        uint32_t target_hold_ms; /* the release cue is given here */
        uint32_t max_hold_ms;    /* a hold longer than this is flagged over_hold */
        uint32_t reps;           /* repetitions (measure: trials) */
        uint32_t rest_ms;        /* rest after each rep, also before the next step */
        uint32_t settle_ms;      /* auto start: time force must stay in the band */

        double contact_n;        /* force that counts as touching the point */
        double release_n;        /* force below which the point counts as released */
        double target_min_n;     /* target band for the hold */
        double target_max_n;
        double safety_max_n;     /* warn above this; end the rep if it lasts over_force_ms */
        uint32_t over_force_ms;

        uint32_t min_release_ms; /* a release faster than this is flagged too fast */

        /* A tap during the hold, after min_hold_ms, ends it ("it eased / it released"). */
        bool tap_ends_hold;
        /* The point must be confirmed released by a tap before target_hold_ms; otherwise
         * the rep is not_released and handled per not_released/max_tries. */
        bool needs_release_tap;
        NotReleased not_released;
        uint32_t max_tries;
        /* A revisit that would follow its own point directly (nothing else left to work on)
         * comes after a rest away from the point at least this long. */
        uint32_t revisit_rest_ms;
} ProtocolStep;

typedef struct Protocol {
        char *name;        /* file stem, e.g. "back-12" */
        char *title;
        char *description;
        char *source;      /* where the protocol was transcribed from */
        char *safety_notice; /* who should not use it, when to stop; NULL = the generic one */
        char *voice;       /* espeak-ng voice of its speech ("en-gb", "de"), NULL = "en" */
        ProtocolStep *steps;
        size_t n_steps;
} Protocol;

Protocol *protocol_free(Protocol *p);
static inline void protocol_freep(Protocol **p) {
        if (*p)
                protocol_free(*p);
}

/* The notice shown at check-in and during the whole session: the protocol's own, or a
 * generic one when it has none. Never NULL. */
const char *protocol_safety_notice(const Protocol *p);

/* Checks the cross-field rules (min <= target <= max, release < contact <= band, ...).
 * Returns 0, or -EINVAL with a message for the first violation in errbuf. */
int protocol_step_validate(const ProtocolStep *s, char *errbuf, size_t errlen);

/* Names for the enums, as used in files and JSON. */
const char *step_kind_to_string(StepKind k);
StepKind step_kind_from_string(const char *s);
const char *hold_start_to_string(HoldStart h);
HoldStart hold_start_from_string(const char *s);
const char *not_released_to_string(NotReleased n);
NotReleased not_released_from_string(const char *s);
