/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-id128.h>

#include "hub/station.h"
#include "shared/macro.h"

/* A release cue must land on time to the millisecond: sd-event's default accuracy is 250 ms. */
#define STATION_TIMER_ACCURACY_USEC 1000

typedef struct Watch {
        const StationWatch *ops;   /* NULL: removed while announcing, dropped after */
        int priority;
        unsigned id;
        void *userdata;
} Watch;

struct Station {
        char *name;
        sd_event *event;
        sd_event_source *timer;
        nsec_t armed;              /* the deadline the timer is set for, NSEC_INFINITY: off */
        Engine *engine;
        Watch *watches;            /* by priority, then in the order added */
        size_t n_watches;
        unsigned next_watch_id;
        unsigned announcing;       /* nesting depth of announce loops */
        bool watches_removed;
        Cue last_cue;
        bool have_cue;
        /* The engine forgets its protocol when a session ends; the record still needs it. */
        const Protocol *session_protocol;
        /* While the events that ended a session are handed on: that session (the engine has
         * already let go of it). */
        const Session *ending;
        char seen_id[SD_ID128_STRING_MAX];  /* id of the last session seen starting */
        /* Engine settings a reload brought while a session ran: applied when it ends. The
         * strings are copies (the configuration they came from may be retired by then). */
        EngineParams pending;
        char *pending_hub, *pending_station;
        bool have_pending;
        nsec_t last_now;
};

static int arm_timer(Station *s);

/* Calls member m of every watch that has it, by priority. A callback may remove a watch: it
 * is marked (ops NULL) and dropped once no loop runs, so indexes stay valid meanwhile. */
#define ANNOUNCE(s, m, ...)                                                             \
        do {                                                                            \
                (s)->announcing++;                                                      \
                for (size_t _i = 0; _i < (s)->n_watches; _i++) {                        \
                        const Watch _w = (s)->watches[_i];                              \
                        if (_w.ops && _w.ops->m)                                        \
                                _w.ops->m((s), __VA_ARGS__, _w.userdata);               \
                }                                                                       \
                (s)->announcing--;                                                      \
                drop_removed(s);                                                        \
        } while (0)

static void drop_removed(Station *s) {
        size_t k = 0;

        if (s->announcing > 0 || !s->watches_removed)
                return;
        for (size_t i = 0; i < s->n_watches; i++)
                if (s->watches[i].ops)
                        s->watches[k++] = s->watches[i];
        s->n_watches = k;
        s->watches_removed = false;
}

static void drop_pending(Station *s) {
        free(s->pending_hub);
        free(s->pending_station);
        s->pending_hub = s->pending_station = NULL;
        s->have_pending = false;
}

static int apply_pending(Station *s) {
        int r;

        if (!s->have_pending || engine_session(s->engine))
                return 0;
        r = engine_set_params(s->engine, &s->pending);
        drop_pending(s);
        return r;
}

/* Rep boundaries: nothing is being pressed or timed, so a snapshot's fsync delays no cue. */
static bool is_boundary(EngineEventType t) {
        return t == EVENT_CHECKIN || t == EVENT_REST || t == EVENT_SKIPPED;
}

/* Hands on everything the engine produced since the last input, in the order station.h
 * promises. */
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
                ANNOUNCE(s, render, cue);
        }

        if (done && s->session_protocol)
                ANNOUNCE(s, finished, done, s->session_protocol);

        while (engine_pop_event(s->engine, &ev)) {
                const Session *running = engine_session(s->engine);

                if (running && is_boundary(ev.type))
                        ANNOUNCE(s, checkpoint, running);
                ANNOUNCE(s, event, &ev);
        }

        if (changed)
                ANNOUNCE(s, cue, cue);
        s->ending = NULL;

        s->session_protocol = engine_protocol(s->engine);
        if (done)
                (void) apply_pending(s);
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

        s->armed = NSEC_INFINITY;   /* a oneshot timer is off once it fired */
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

/* Only when the deadline changed: most samples leave it where it was, and re-arming costs a
 * timerfd update in the loop. */
static int arm_timer(Station *s) {
        nsec_t d = engine_next_deadline(s->engine);
        int r;

        if (d == s->armed)
                return 0;
        if (d == NSEC_INFINITY) {
                s->armed = NSEC_INFINITY;
                return sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        }
        /* Round up: firing a microsecond early would find nothing due yet. */
        r = sd_event_source_set_time(s->timer, (d + NSEC_PER_USEC - 1) / NSEC_PER_USEC);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                return r;
        s->armed = d;
        return 0;
}

int station_new(Station **ret, sd_event *event, const char *name, const EngineParams *params) {
        _cleanup_(station_freep) Station *s = calloc(1, sizeof(Station));
        int r;

        if (!s)
                return -ENOMEM;
        s->name = strdup(name);
        if (!s->name)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->armed = NSEC_INFINITY;

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
        free(s->watches);
        drop_pending(s);
        free(s->name);
        free(s);
        return NULL;
}

int station_add_watch(Station *s, const StationWatch *ops, int priority, void *userdata) {
        Watch *n;
        size_t at;

        assert(s);
        assert(ops);
        assert(s->announcing == 0);   /* the loop walks the array by index */
        n = reallocarray(s->watches, s->n_watches + 1, sizeof(Watch));
        if (!n)
                return -ENOMEM;
        s->watches = n;
        /* after every watch of the same or a lower priority */
        for (at = s->n_watches; at > 0 && s->watches[at - 1].priority > priority; at--)
                ;
        memmove(&s->watches[at + 1], &s->watches[at], (s->n_watches - at) * sizeof(Watch));
        s->watches[at] = (Watch) { .ops = ops, .priority = priority, .id = ++s->next_watch_id, .userdata = userdata };
        s->n_watches++;
        return (int) s->watches[at].id;
}

bool station_remove_watch(Station *s, unsigned id) {
        for (size_t i = 0; i < s->n_watches; i++)
                if (s->watches[i].ops && s->watches[i].id == id) {
                        s->watches[i].ops = NULL;
                        s->watches_removed = true;
                        drop_removed(s);
                        return true;
                }
        return false;
}

const char *station_name(const Station *s) {
        return s->name;
}

Engine *station_engine(Station *s) {
        return s->engine;
}

int station_configure(Station *s, const EngineParams *params, const Protocol *default_protocol) {
        int r;

        drop_pending(s);
        if (engine_session(s->engine)) {
                /* A session runs to its end on the settings it started with (as on its
                 * protocol): thresholds, smoothing or timeouts changed mid-hold would change
                 * its outcome. The new ones apply from its end. */
                s->pending = *params;
                s->pending_hub = params->hub ? strdup(params->hub) : NULL;
                s->pending_station = params->station ? strdup(params->station) : NULL;
                if ((params->hub && !s->pending_hub) || (params->station && !s->pending_station)) {
                        drop_pending(s);
                        return -ENOMEM;
                }
                s->pending.hub = s->pending_hub;
                s->pending.station = s->pending_station;
                s->have_pending = true;
        } else {
                r = engine_set_params(s->engine, params);
                if (r < 0)
                        return r;
        }
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
        int r = feed(s, &(EngineInput) { .type = INPUT_FORCE, .now = now, .force_n = newtons });

        /* the force as the engine reads it (zeroed, smoothed): what every listener shows */
        ANNOUNCE(s, force, engine_force(s->engine), now);
        return r;
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
