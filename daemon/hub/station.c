/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-id128.h>

#include "hub/station.h"
#include "shared/macro.h"

/* A release cue must land on time to the millisecond: sd-event's default accuracy is 250 ms. */
#define STATION_TIMER_ACCURACY_USEC 1000

struct Station {
        char *name;
        sd_event *event;
        sd_event_source *timer;
        Engine *engine;
        StationCallbacks cb;
        void *userdata;
        Cue last_cue;
        bool have_cue;
        /* The engine forgets its protocol when a session ends; the record still needs it. */
        const Protocol *session_protocol;
        /* While the events that ended a session are handed on: that session (the engine has
         * already let go of it). */
        const Session *ending;
        char seen_id[SD_ID128_STRING_MAX];  /* id of the last session seen starting */
        nsec_t last_now;
};

static int arm_timer(Station *s);

/* Hands on everything the engine produced since the last input. */
static void dispatch(Station *s) {
        _cleanup_(session_freep) Session *done = NULL;
        EngineEvent ev;
        const Cue *cue;
        bool changed;

        /* The last events of a session (its last rep's, session_end) come out after the
         * engine finished it: station_session() names it to their handlers. */
        done = engine_take_finished(s->engine);
        s->ending = done;

        cue = engine_cue(s->engine);
        changed = !s->have_cue || !cue_equal(cue, &s->last_cue);
        if (changed) {
                s->last_cue = *cue;
                s->have_cue = true;
                if (s->cb.render)
                        s->cb.render(s->userdata, s, cue);
        }

        while (engine_pop_event(s->engine, &ev))
                if (s->cb.event)
                        s->cb.event(s->userdata, s, &ev);

        if (changed && s->cb.cue)
                s->cb.cue(s->userdata, s, cue);
        s->ending = NULL;

        if (done && s->cb.finished)
                s->cb.finished(s->userdata, s, done, s->session_protocol);
        s->session_protocol = engine_protocol(s->engine);
        (void) arm_timer(s);
}

static int new_session_id(Station *s) {
        sd_id128_t id;
        char buf[SD_ID128_STRING_MAX];
        int r;

        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        return engine_set_next_session_id(s->engine, sd_id128_to_string(id, buf));
}

/* The engine consumed the prepared id when a session began: prepare the next one. Once per
 * session, not per input: force samples arrive at up to 250 Hz. */
static void refresh_session_id(Station *s) {
        const Session *cur = engine_session(s->engine);

        /* Compared by id: a new session may well be allocated where the last one was. */
        if (cur && strncmp(cur->id, s->seen_id, sizeof(s->seen_id)) != 0) {
                snprintf(s->seen_id, sizeof(s->seen_id), "%s", cur->id);
                (void) new_session_id(s);
        }
}

static int feed(Station *s, const EngineInput *input) {
        EngineInput in = *input;
        int r;

        /* Inputs carry the time they happened (a debounced switch edge, a sample's arrival),
         * so one may predate an input already fed; the engine needs time that never goes
         * back. The difference is at most a debounce interval. */
        in.now = MAX(in.now, s->last_now);
        s->last_now = in.now;

        /* The offset only stamps a session that starts now, and realtime can be stepped by NTP
         * at any moment: take it afresh while idle, not for every sample of a session. */
        if (!engine_session(s->engine))
                engine_set_wall_offset(s->engine, (int64_t) now_realtime() - (int64_t) now_monotonic());
        r = engine_feed(s->engine, &in);
        dispatch(s);
        refresh_session_id(s);
        return r;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Station *s = userdata;
        nsec_t now = now_monotonic();

        now = MAX(now, s->last_now);
        s->last_now = now;
        if (!engine_session(s->engine))
                engine_set_wall_offset(s->engine, (int64_t) now_realtime() - (int64_t) now_monotonic());
        /* A failing tick (time going backwards cannot happen on CLOCK_MONOTONIC) must not
         * stop the loop; dispatch re-arms from whatever the engine says is next. */
        (void) engine_tick(s->engine, now);
        dispatch(s);
        refresh_session_id(s);
        return 0;
}

static int arm_timer(Station *s) {
        nsec_t d = engine_next_deadline(s->engine);
        int r;

        if (d == NSEC_INFINITY)
                return sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        /* Round up: firing a microsecond early would find nothing due yet. */
        r = sd_event_source_set_time(s->timer, (d + NSEC_PER_USEC - 1) / NSEC_PER_USEC);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

int station_new(Station **ret, sd_event *event, const char *name, const EngineParams *params,
                const StationCallbacks *cb, void *userdata) {
        _cleanup_(station_freep) Station *s = calloc(1, sizeof(Station));
        int r;

        if (!s)
                return -ENOMEM;
        s->name = strdup(name);
        if (!s->name)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->cb = *cb;
        s->userdata = userdata;

        r = engine_new(&s->engine, params);
        if (r < 0)
                return r;
        r = new_session_id(s);
        if (r < 0)
                return r;
        r = sd_event_add_time(event, &s->timer, CLOCK_MONOTONIC, UINT64_MAX, STATION_TIMER_ACCURACY_USEC,
                              on_timer, s);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->timer, "station-deadline");
        *ret = TAKE_PTR(s);
        return 0;
}

Station *station_free(Station *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->timer);
        engine_free(s->engine);
        sd_event_unref(s->event);
        free(s->name);
        free(s);
        return NULL;
}

const char *station_name(const Station *s) {
        return s->name;
}

Engine *station_engine(Station *s) {
        return s->engine;
}

int station_configure(Station *s, const EngineParams *params, const Protocol *default_protocol) {
        int r = engine_set_params(s->engine, params);
        if (r < 0)
                return r;
        engine_set_default_protocol(s->engine, default_protocol);
        return arm_timer(s);
}

const Protocol *station_protocol_in_use(const Station *s) {
        return engine_protocol(s->engine) ?: (s->ending ? s->session_protocol : NULL);
}

const Session *station_session(const Station *s) {
        return engine_session(s->engine) ?: s->ending;
}

int station_force(Station *s, double newtons, nsec_t now) {
        return feed(s, &(EngineInput) { .type = INPUT_FORCE, .now = now, .force_n = newtons });
}

int station_tool(Station *s, bool connected, nsec_t now) {
        return feed(s, &(EngineInput) { .type = connected ? INPUT_TOOL_CONNECTED : INPUT_TOOL_LOST, .now = now });
}

int station_gesture(Station *s, SwitchGesture g, nsec_t now) {
        EngineInputType t;

        switch (g) {
        case GESTURE_TAP:
                t = INPUT_SWITCH_TAP;
                break;
        case GESTURE_LONG:
                t = INPUT_SWITCH_LONG;
                break;
        case GESTURE_VERY_LONG:
                t = INPUT_SWITCH_VERY_LONG;
                break;
        default:
                return 0; /* press/release alone mean nothing to the engine */
        }
        return feed(s, &(EngineInput) { .type = t, .now = now });
}

int station_start(Station *s, const Protocol *p, const char *athlete, nsec_t now) {
        return feed(s, &(EngineInput) { .type = INPUT_CMD_START, .now = now, .protocol = p, .athlete = athlete });
}

int station_stop(Station *s, nsec_t now) {
        if (!engine_session(s->engine))
                return -ENOENT;
        return feed(s, &(EngineInput) { .type = INPUT_CMD_STOP, .now = now });
}

int station_skip(Station *s, nsec_t now) {
        if (!engine_session(s->engine))
                return -ENOENT;
        return feed(s, &(EngineInput) { .type = INPUT_CMD_SKIP, .now = now });
}

int station_tare(Station *s, nsec_t now) {
        return feed(s, &(EngineInput) { .type = INPUT_TARE, .now = now });
}

void station_status(const Station *s, nsec_t now, EngineStatus *ret) {
        engine_status(s->engine, now, ret);
}

bool station_busy(const Station *s) {
        return engine_session(s->engine) != NULL;
}
