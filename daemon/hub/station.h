/* SPDX-License-Identifier: MIT */
#pragma once

/* One station: an engine on the daemon's sd-event loop. It turns real inputs (force samples,
 * foot-switch gestures, tool presence, commands) into engine inputs stamped with
 * CLOCK_MONOTONIC, arms a 1 ms-accurate timer for the engine's next deadline, and hands what
 * comes out (cue, events, finished sessions, checkpoints) to the watches added to it. It
 * knows nothing of BlueZ, GPIO, MQTT or who listens. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "engine/engine.h"
#include "engine/switch-gesture.h"

typedef struct Station Station;

/* What a station announces, to whoever watches it (GPIO, MQTT, the outbox, the speaker):
 * any member may be NULL. One input (a sample, a tap, a timer) is announced in this order,
 * which every listener may rely on:
 *   1. render:     the cue changed: show it now. First, so that what the athlete sees and
 *                  hears never waits for what the events cause (a checkpoint's fsync).
 *   2. finished:   the input ended a session: its record, before any of its last events is
 *                  announced, so nothing a dashboard saw can be taken back by a crash.
 *   3. for each event: checkpoint (a rep boundary of the running session: check-in, rest,
 *                  skip; a good moment for a durable snapshot), then event.
 *   4. cue:        the cue changed (kind, step, rep, due time or warnings), after the events.
 * force is announced after each sample has been fed (and after 1-4 for that sample), with the
 * force the engine reads (engine_force(): zeroed and smoothed), not the raw sample.
 * Within each of these, watches run by priority (lowest first), then in the order added. */
typedef struct StationWatch {
        void (*render)(Station *s, const Cue *cue, void *userdata);
        /* protocol is the one the session ran; session and protocol stay the caller's. */
        void (*finished)(Station *s, const Session *session, const Protocol *protocol, void *userdata);
        void (*checkpoint)(Station *s, const Session *running, void *userdata);
        void (*event)(Station *s, const EngineEvent *ev, void *userdata);
        void (*cue)(Station *s, const Cue *cue, void *userdata);
        void (*force)(Station *s, double newtons, nsec_t at, void *userdata);
} StationWatch;

/* Priorities, lowest first: the athlete's outputs, then what must be durable before it is
 * announced, then the rest, then the announcements (MQTT). */
enum {
        STATION_WATCH_OUTPUT = -20,
        STATION_WATCH_DURABLE = -10,
        STATION_WATCH_DEFAULT = 0,
        STATION_WATCH_ANNOUNCE = 10,
};

int station_new(Station **ret, sd_event *event, const char *name, const EngineParams *params);
Station *station_free(Station *s);
static inline void station_freep(Station **s) {
        if (*s)
                station_free(*s);
}

/* ops must outlive the watch (a static table). Returns the watch's id (> 0), or -ENOMEM.
 * Watches are added when the station is set up, never from inside one of its callbacks; a
 * watch may be removed anywhere, also from inside a callback (it hears nothing more). */
int station_add_watch(Station *s, const StationWatch *ops, int priority, void *userdata);
/* false when no such watch. */
bool station_remove_watch(Station *s, unsigned id);

const char *station_name(const Station *s);
Engine *station_engine(Station *s);

/* Configuration (re)load: a running session keeps its protocol (the caller keeps it alive
 * until station_protocol_in_use() says otherwise) and its engine settings: new params take
 * effect when it ends (at once when idle). The default protocol changes at once. */
int station_configure(Station *s, const EngineParams *params, const Protocol *default_protocol);
/* The running session and its protocol, NULL when idle. Inside the event and cue callbacks
 * of the input that ended a session, that session (the engine has let go of it already, but
 * its last events belong to it). */
const Protocol *station_protocol_in_use(const Station *s);
const Session *station_session(const Station *s);

/* Inputs; `now` is CLOCK_MONOTONIC ns. Return the engine's verdict (negative errno). */
int station_force(Station *s, double newtons, nsec_t now);
int station_tool(Station *s, bool connected, nsec_t now);
int station_gesture(Station *s, SwitchGesture g, nsec_t now);
int station_start(Station *s, const Protocol *p, const char *athlete, nsec_t now);
int station_stop(Station *s, nsec_t now);
int station_skip(Station *s, nsec_t now);
int station_tare(Station *s, nsec_t now);

/* For live state. */
void station_status(const Station *s, nsec_t now, EngineStatus *ret);
bool station_busy(const Station *s);
