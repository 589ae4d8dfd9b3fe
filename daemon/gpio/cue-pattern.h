/* SPDX-License-Identifier: MIT */
#pragma once

/* What each Cue looks and sounds like, as a pure function of time (table in docs/cues.md).
 * Every pattern is anchored to absolute CLOCK_MONOTONIC times taken from the Cue (since_ns,
 * due_ns) or from a warning's onset, so the player never accumulates relative delays and
 * edges cannot drift. */

#include "engine/cue.h"

typedef enum CueOutput {
        CUE_OUT_GREEN,
        CUE_OUT_AMBER,
        CUE_OUT_RED,
        CUE_OUT_BUZZER,
        _CUE_OUT_MAX,
} CueOutput;

#define CUE_OUT_BIT(o) (1u << (o))

/* The warning bits a pattern can show, in CueWarning bit order. */
#define CUE_PATTERN_N_WARNINGS 3

/* When each warning bit began to be shown (NSEC_INFINITY when not set); indexed by bit.
 * not_yet: when the player first showed the cue's current "not yet" answer (NSEC_INFINITY
 * when none): the answer plays in full from the moment the daemon decided it, even though
 * the tap it answers is dated earlier (at its debounced edge). */
typedef struct CuePatternWarnings {
        nsec_t since[CUE_PATTERN_N_WARNINGS];
        nsec_t not_yet;
} CuePatternWarnings;

/* Output bits (CUE_OUT_BIT) that are on at time t for a cue anchored at `anchor` (its
 * start). *ret_next gets the next time after t at which an output may change, or
 * NSEC_INFINITY. t must be >= anchor. */
unsigned cue_pattern_eval(const Cue *cue, nsec_t anchor, const CuePatternWarnings *w, nsec_t t,
                          nsec_t *ret_next);

const char *cue_output_to_string(CueOutput o);

/* Pattern constants, shared with tests and docs/cues.md. */
#define CUE_IDLE_PERIOD_MS        2000
#define CUE_IDLE_ON_MS            500
#define CUE_PRESSING_PERIOD_MS    500
#define CUE_PRESSING_ON_MS        250
#define CUE_COUNTDOWN_MS          3000   /* final part of a hold that counts down */
#define CUE_COUNTDOWN_PERIOD_MS   250    /* green fast blink during the countdown */
#define CUE_COUNTDOWN_ON_MS       125
#define CUE_BEEP_MS               100    /* countdown beeps at due-3 s, due-2 s, due-1 s */
#define CUE_RELEASE_TONE_MS       800    /* release "done": one long tone */
#define CUE_NOT_RELEASED_TONE_MS  300    /* release "not released": two tones ... */
#define CUE_NOT_RELEASED_TONE_PERIOD_MS 500
#define CUE_NOT_RELEASED_TONES    2
#define CUE_NOT_RELEASED_BLINK_PERIOD_MS 1000 /* ... and amber blinking slowly */
#define CUE_NOT_RELEASED_BLINK_ON_MS 500
#define CUE_SAFETY_STOP_BEEP_MS   100    /* release "over_force": five short beeps */
#define CUE_SAFETY_STOP_PERIOD_MS 200
#define CUE_SAFETY_STOP_BEEPS     5
#define CUE_TAP_COUNTS_CHIRP_MS   60     /* min_hold reached: a tap now counts */
#define CUE_TAP_COUNTS_PERIOD_MS  120
#define CUE_TAP_COUNTS_CHIRPS     2
#define CUE_NOT_YET_BLIP_MS       25     /* a tap that did not count: a short rattle */
#define CUE_NOT_YET_PERIOD_MS     50
#define CUE_NOT_YET_BLIPS         4
#define CUE_REST_PERIOD_MS        2000
#define CUE_REST_ON_MS            1000
#define CUE_PAUSED_PERIOD_MS      500
#define CUE_PAUSED_ON_MS          250
#define CUE_DONE_BLINKS           3
#define CUE_DONE_PERIOD_MS        400
#define CUE_DONE_ON_MS            200
#define CUE_FORCE_PERIOD_MS       200    /* over-force: fast red blink ... */
#define CUE_FORCE_ON_MS           100
#define CUE_FORCE_BEEP_PERIOD_MS  1000   /* ... and a double beep every second */
#define CUE_FORCE_BEEP_MS         80
#define CUE_FORCE_BEEP_GAP_MS     80
#define CUE_OVERHOLD_TONE_PERIOD_MS 3000 /* over-hold: red steady and a 1 s tone every 3 s */
#define CUE_OVERHOLD_TONE_MS      1000
