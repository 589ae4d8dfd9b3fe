/* SPDX-License-Identifier: MIT */
#pragma once

/* The record of one session as the engine builds it: plain data, no JSON. session-json.c
 * turns it into the published document; docs/session.md defines every field. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/time-util.h"

typedef enum SessionStatus {
        SESSION_RUNNING,
        SESSION_COMPLETED,
        SESSION_ABANDONED,
        SESSION_ABORTED,
        SESSION_INTERRUPTED,
        _SESSION_STATUS_MAX,
        _SESSION_STATUS_INVALID = -1,
} SessionStatus;

typedef enum RepOutcome {
        REP_COMPLETED,
        REP_EARLY_RELEASE,
        REP_NOT_RELEASED,
        REP_OVER_FORCE,
        REP_TOOL_LOST,
        REP_SKIPPED,
        _REP_OUTCOME_MAX,
        _REP_OUTCOME_INVALID = -1,
} RepOutcome;

/* A duration that may be unknown (no tool, never reached). */
#define MS_UNKNOWN INT64_MIN

typedef struct SessionRep {
        RepOutcome outcome;
        unsigned attempt;          /* 1 + number of earlier visits to this point */
        int64_t started_ms;        /* when the rep's point was cued, from the session start */
        int64_t hold_started_ms;   /* when the hold started, from the session start; MS_UNKNOWN */
        int64_t hold_ms;           /* MS_UNKNOWN when the hold never started */
        int64_t release_ms;        /* MS_UNKNOWN when not measured (no tool, abandoned) */
        bool release_too_fast;
        bool over_hold;            /* hold_ms > max_hold_ms */
        unsigned over_force_warnings;
        bool has_force;            /* force fields below are valid */
        double force_mean_n;       /* mean smoothed force over the hold */
        double force_peak_n;       /* peak smoothed force from contact to release */
        bool has_threshold;        /* measure steps */
        double threshold_n;
        double ramp_n_per_s;       /* measure: mean loading rate from contact to tap */
} SessionRep;

typedef struct SessionStep {
        size_t protocol_step;      /* index in the protocol */
        SessionRep *reps;
        size_t n_reps;
        size_t n_reps_allocated;
} SessionStep;

typedef struct Session {
        char *id;
        char *hub;
        char *station;
        char *athlete;             /* NULL when anonymous */
        char *protocol;            /* protocol name */
        SessionStatus status;
        nsec_t started_mono;
        nsec_t ended_mono;         /* 0 while running */
        int64_t wall_offset_ns;    /* realtime - monotonic at start: started_at = mono + offset */
        SessionStep *steps;        /* one per protocol step, in protocol order */
        size_t n_steps;
} Session;

Session *session_free(Session *s);
static inline void session_freep(Session **s) {
        if (*s)
                session_free(*s);
}

/* Appends a zeroed rep to step i and returns it, or NULL on OOM. */
SessionRep *session_step_add_rep(SessionStep *st);

Session *session_dup(const Session *s);

const char *session_status_to_string(SessionStatus s);
SessionStatus session_status_from_string(const char *s);
const char *rep_outcome_to_string(RepOutcome o);
RepOutcome rep_outcome_from_string(const char *s);
