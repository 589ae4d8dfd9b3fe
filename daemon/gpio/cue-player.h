/* SPDX-License-Identifier: MIT */
#pragma once

/* Renders the engine's Cue on LEDs and a buzzer (patterns: cue-pattern.h, docs/cues.md).
 * It knows lines and patterns, nothing of therapy: it shows whatever Cue it is given.
 * Every edge is driven by a timer on the loop at an absolute CLOCK_MONOTONIC time with
 * 1 ms accuracy. All outputs are off from cue_player_new() until the first cue, and again
 * after cue_player_free() (call it on SIGTERM too). */

#include <systemd/sd-event.h>

#include "engine/cue.h"
#include "gpio/gpio-backend.h"

typedef struct CuePlayer CuePlayer;

/* A line whose chip is NULL is not fitted; its part of a pattern is skipped. */
typedef struct CuePlayerLines {
        GpioLineSpec green, amber, red, buzzer;
} CuePlayerLines;

int cue_player_new(CuePlayer **ret, sd_event *event, GpioBackend *backend,
                   const CuePlayerLines *lines);

/* Shows cue from now on; now is the caller's CLOCK_MONOTONIC time. Patterns are anchored
 * at cue->since_ns (or now, when since_ns is 0 or in the future). Showing the same cue
 * again changes nothing. Returns -EINVAL for an unknown kind, or the error of setting a
 * line (the cue is still taken and retried on the next edge). */
int cue_player_show(CuePlayer *p, const Cue *cue, nsec_t now);

/* Current output bits (CUE_OUT_BIT in cue-pattern.h) as last written. */
unsigned cue_player_outputs(const CuePlayer *p);

/* Turns every output off, then releases the lines. */
CuePlayer *cue_player_free(CuePlayer *p);

static inline void cue_player_freep(CuePlayer **p) {
        if (*p)
                cue_player_free(*p);
}
