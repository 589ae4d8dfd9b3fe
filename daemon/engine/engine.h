/* SPDX-License-Identifier: MIT */
#pragma once

/* The release-timing state machine of one station. Pure: no I/O, no clock reads, no
 * globals. Time is passed in as CLOCK_MONOTONIC nanoseconds and must never go backwards.
 *
 * Driving it:
 *   engine_feed(e, &input)           for every input (force, switch gesture, tool, command)
 *   engine_tick(e, now)              when now >= engine_next_deadline(e)
 * After either call, read engine_cue() (what to show), drain engine_pop_event() (what
 * happened) and engine_take_finished() (a finished session record, at most one per call). */

#include <stdbool.h>
#include <stdint.h>

#include "engine/cue.h"
#include "engine/protocol.h"
#include "engine/session.h"
#include "shared/time-util.h"

typedef struct Engine Engine;

typedef struct EngineParams {
        const char *hub;               /* copied */
        const char *station;           /* copied */
        uint32_t idle_timeout_ms;      /* no contact or tap while a point is cued: abandon */
        uint32_t tool_grace_ms;        /* tool lost mid-hold: wait this long, then abandon */
        uint32_t checkin_press_ms;     /* idle: a press held this long checks in, 0 = never */
        uint32_t smoothing_ms;         /* time constant of the force low-pass filter */
        double hysteresis_n;           /* minimum hysteresis around every threshold */
        double hysteresis_frac;        /* ... or this fraction of the threshold if larger */
        double descent_frac;           /* release starts below this fraction of the hold mean */
} EngineParams;

#define ENGINE_PARAMS_DEFAULT                   \
        (EngineParams) {                        \
                .hub = "hub",                   \
                .station = "station",           \
                .idle_timeout_ms = 120000,      \
                .tool_grace_ms = 20000,         \
                .checkin_press_ms = 1000,       \
                .smoothing_ms = 50,             \
                .hysteresis_n = 1.0,            \
                .hysteresis_frac = 0.10,        \
                .descent_frac = 0.80,           \
        }

typedef enum EngineInputType {
        INPUT_FORCE,          /* force_n: raw newtons from the tool (before tare) */
        INPUT_SWITCH_TAP,     /* short press and release: "found it", "it released" */
        INPUT_SWITCH_LONG,    /* long hold: skip this point */
        INPUT_SWITCH_VERY_LONG, /* very long hold: stop the session */
        INPUT_TOOL_CONNECTED,
        INPUT_TOOL_LOST,
        INPUT_TARE,           /* zero the force at the current reading; -EBUSY mid-press */
        INPUT_CMD_START,      /* protocol + athlete (optional) + id */
        INPUT_CMD_STOP,
        INPUT_CMD_SKIP,
        _INPUT_TYPE_MAX,
        _INPUT_TYPE_INVALID = -1,
} EngineInputType;

typedef struct EngineInput {
        EngineInputType type;
        nsec_t now;
        double force_n;              /* INPUT_FORCE */
        const Protocol *protocol;    /* INPUT_CMD_START: must outlive the session */
        const char *athlete;         /* INPUT_CMD_START: NULL = anonymous (copied) */
} EngineInput;

typedef enum EngineEventType {
        EVENT_CHECKIN,        /* session started */
        EVENT_STEP,           /* a point is cued */
        EVENT_PRESS,          /* contact made */
        EVENT_HOLD_START,
        EVENT_RELEASE_CUE,
        EVENT_RELEASED,       /* force dropped below release; value = release_ms */
        EVENT_EARLY_RELEASE,
        EVENT_NOT_RELEASED,
        EVENT_OVER_FORCE,     /* warning; value = force */
        EVENT_OVER_HOLD,      /* warning */
        EVENT_TOOL_LOST,      /* paused */
        EVENT_TOOL_BACK,      /* resumed */
        EVENT_MEASURED,       /* value = threshold */
        EVENT_SKIPPED,
        EVENT_REST,
        EVENT_SESSION_END,    /* status in the event */
        EVENT_TAP_COUNTS,     /* min_hold reached: from now on a tap ends the hold */
        EVENT_NOT_YET,        /* a tap that did not count (before min_hold, or not now) */
        _EVENT_TYPE_MAX,
        _EVENT_TYPE_INVALID = -1,
} EngineEventType;

typedef struct EngineEvent {
        EngineEventType type;
        nsec_t at;
        int step;              /* -1 when not tied to a step */
        unsigned rep;
        double value;          /* see the type */
        SessionStatus status;  /* EVENT_SESSION_END */
        RepOutcome outcome;    /* EVENT_RELEASED etc.: the rep's outcome, when known */
} EngineEvent;

typedef enum EngineNextKind {
        NEXT_NONE,     /* idle: nothing */
        NEXT_POINT,    /* a press point (first visit) */
        NEXT_STRETCH,
        NEXT_MEASURE,
        NEXT_REST,     /* a rest away from the point before it is revisited */
        NEXT_REVISIT,  /* a point that did not release, visited again */
        NEXT_END,      /* the session ends */
        _NEXT_KIND_MAX,
        _NEXT_KIND_INVALID = -1,
} EngineNextKind;

/* What the station cues after the current rep or rest (rests of rest_s between reps are
 * not announced; the away rest before a revisit is). */
typedef struct EngineNext {
        EngineNextKind kind;
        int step;              /* -1 for rest and end */
        const char *point, *label, *side;
} EngineNext;

typedef struct EngineStatus {
        CueKind state;
        const char *protocol;  /* NULL when idle */
        const char *athlete;   /* NULL when idle or anonymous */
        const char *session_id;
        int step;              /* -1 when idle */
        const char *point_label;
        unsigned rep;
        int64_t remaining_ms;  /* of the hold, rest or pause, -1 when open-ended */
        double force_n;        /* current smoothed, tared force */
        bool tool_connected;

        /* What the athlete is told (all NULL / -1 / NAN when idle or not applicable). */
        int steps_total;       /* protocol steps, -1 when idle */
        const char *side, *muscle, *instruction;
        const char *prompt;    /* the short prompt of the moment */
        CueRelease release;    /* CUE_RELEASE: why */
        bool tap_counts;       /* a tap now ends the hold */
        int64_t target_hold_ms;
        double target_min_n, target_max_n, safety_max_n;
        EngineNext next;
        const char *safety_notice; /* non-NULL while a session runs */
} EngineStatus;

int engine_new(Engine **ret, const EngineParams *params);
Engine *engine_free(Engine *e);
static inline void engine_freep(Engine **e) {
        if (*e)
                engine_free(*e);
}

/* Applies new parameters (config reload). A running session keeps going. */
int engine_set_params(Engine *e, const EngineParams *params);

/* The protocol a tap-in or check-in-by-press uses, NULL disables those. Not copied. */
void engine_set_default_protocol(Engine *e, const Protocol *p);

/* realtime - monotonic, used to stamp started_at/ended_at of the next session. */
void engine_set_wall_offset(Engine *e, int64_t offset_ns);

/* Id for the next session (copied). The engine cannot make random ids itself. */
int engine_set_next_session_id(Engine *e, const char *id);

/* Returns 0, -EINVAL for an input that is invalid in itself (time going backwards,
 * non-finite force, start without protocol), -EBUSY for start while running, -ENOMEM. An
 * input that simply does not apply in the current state is ignored and returns 0. */
int engine_feed(Engine *e, const EngineInput *in);
int engine_tick(Engine *e, nsec_t now);

/* Next time engine_tick() must be called, NSEC_INFINITY when nothing is pending. */
nsec_t engine_next_deadline(const Engine *e);

const Cue *engine_cue(const Engine *e);
/* What the clock alone will show next, for outputs that must prepare ahead (a speaker writes
 * its tones before they are due). During a hold: *ret_shown is the current cue with the time
 * from which a tap counts filled in, *ret_next the release cue at the hold's target. During a
 * tool-less release that ends the session: *ret_shown the current cue, *ret_next the done cue
 * at the release's end. A cue shown before then (a tap, a safety stop) overrides the
 * forecast. false otherwise. */
bool engine_forecast(const Engine *e, Cue *ret_shown, Cue *ret_next);
bool engine_pop_event(Engine *e, EngineEvent *ret);

/* Hands over the record of a session that just ended, NULL if none. */
Session *engine_take_finished(Engine *e);

/* The running session as recorded so far (status running), NULL when idle. For
 * checkpoints: a crash turns it into an "interrupted" record. */
const Session *engine_session(const Engine *e);
const Protocol *engine_protocol(const Engine *e);

void engine_status(const Engine *e, nsec_t now, EngineStatus *ret);
/* Just EngineStatus.force_n, for per-sample readers (engine_status builds the whole record). */
double engine_force(const Engine *e);

const char *engine_event_type_to_string(EngineEventType t);
const char *engine_input_type_to_string(EngineInputType t);
const char *engine_next_kind_to_string(EngineNextKind k);
