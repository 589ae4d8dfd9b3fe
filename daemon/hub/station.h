/* SPDX-License-Identifier: MIT */
#pragma once

/* One station: an engine on the daemon's sd-event loop. It turns real inputs (force samples,
 * foot-switch gestures, tool presence, commands) into engine inputs stamped with
 * CLOCK_MONOTONIC, arms a 1 ms-accurate timer for the engine's next deadline, and hands what
 * comes out (cue, events, finished sessions) to its owner. It knows nothing of BlueZ, GPIO
 * or MQTT. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "engine/engine.h"
#include "engine/switch-gesture.h"

typedef struct Station Station;

typedef struct StationCallbacks {
        /* The cue changed: show it now. Called before the events of the same input are
         * handed on, so that what the athlete sees and hears never waits for what those
         * events cause (a checkpoint's fsync at a rep boundary takes milliseconds). */
        void (*render)(void *userdata, Station *s, const Cue *cue);
        /* The cue changed (kind, step, rep, due time or warnings), after the events. */
        void (*cue)(void *userdata, Station *s, const Cue *cue);
        void (*event)(void *userdata, Station *s, const EngineEvent *ev);
        /* A session ended; protocol is the one it ran. Ownership of session stays here. */
        void (*finished)(void *userdata, Station *s, const Session *session, const Protocol *protocol);
} StationCallbacks;

int station_new(Station **ret, sd_event *event, const char *name, const EngineParams *params,
                const StationCallbacks *cb, void *userdata);
Station *station_free(Station *s);
static inline void station_freep(Station **s) {
        if (*s)
                station_free(*s);
}

const char *station_name(const Station *s);
Engine *station_engine(Station *s);

/* Configuration (re)load: a running session keeps its protocol (the caller keeps it alive
 * until station_protocol_in_use() says otherwise). */
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
