/* SPDX-License-Identifier: MIT */
#pragma once

/* Runs the real engine over a recorded trace on a simulated clock, serving every engine
 * and foot-switch deadline exactly when due, as the daemon's 1 ms timers would. Used by
 * tphub-replay and by the protocol scenario tests. */

#include <stddef.h>

#include "engine/engine.h"
#include "engine/switch-gesture.h"
#include "replay/trace.h"

typedef enum ReplayCheckin {
        REPLAY_CHECKIN_START,  /* a start command at the first row */
        REPLAY_CHECKIN_ATHLETE, /* the athlete checks in: tap or press, as at a station */
} ReplayCheckin;

typedef struct ReplayOptions {
        const Protocol *protocol;
        EngineParams params;
        SwitchGestureParams gesture;
        ReplayCheckin checkin;
        const char *athlete;          /* with REPLAY_CHECKIN_START; NULL = anonymous */
        const char *session_id;       /* NULL: engine default */
        int64_t wall_offset_ns;       /* realtime of trace t=0 */
        /* Called for every engine event, in order. */
        void (*on_event)(const EngineEvent *ev, void *userdata);
        void *userdata;
} ReplayOptions;

/* Monotonic time of trace row t_ms = 0. */
#define REPLAY_T0 (NSEC_PER_SEC)

typedef struct ReplayResult {
        Session **sessions;           /* finished sessions, in order */
        size_t n_sessions;
        size_t failed_row;            /* trace row the engine rejected, SIZE_MAX if none */
} ReplayResult;

void replay_result_done(ReplayResult *r);

/* A session still running when the trace ends is carried on with no more samples until the
 * engine ends it (at most a simulated day). On failure ret->failed_row names the row the
 * engine rejected, if any; sessions are freed. */
int replay_run(const Trace *t, const ReplayOptions *o, ReplayResult *ret);
