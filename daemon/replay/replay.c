/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "replay/replay.h"
#include "shared/macro.h"

void replay_result_done(ReplayResult *r) {
        for (size_t i = 0; i < r->n_sessions; i++)
                session_free(r->sessions[i]);
        free(r->sessions);
        *r = (ReplayResult) { .failed_row = SIZE_MAX };
}

typedef struct Run {
        Engine *engine;
        const ReplayOptions *o;
        SwitchGestureState sw;
        Session **sessions;
        size_t n_sessions;
        nsec_t now;
} Run;

static int collect(Run *run) {
        EngineEvent ev;
        Session *s;

        while (engine_pop_event(run->engine, &ev))
                if (run->o->on_event)
                        run->o->on_event(&ev, run->o->userdata);
        s = engine_take_finished(run->engine);
        if (!s)
                return 0;
        Session **n = reallocarray(run->sessions, run->n_sessions + 1, sizeof(Session *));
        if (!n) {
                session_free(s);
                return -ENOMEM;
        }
        run->sessions = n;
        run->sessions[run->n_sessions++] = s;
        return 0;
}

static int feed(Run *run, EngineInputType type, double force) {
        EngineInput in = { .type = type, .now = run->now, .force_n = force };
        int r = engine_feed(run->engine, &in);
        if (r < 0)
                return r;
        return collect(run);
}

static int gesture(Run *run, SwitchGesture g) {
        switch (g) {
        case GESTURE_TAP:
                return feed(run, INPUT_SWITCH_TAP, 0);
        case GESTURE_LONG:
                return feed(run, INPUT_SWITCH_LONG, 0);
        case GESTURE_VERY_LONG:
                return feed(run, INPUT_SWITCH_VERY_LONG, 0);
        default:
                return 0;
        }
}

/* Serves engine and switch deadlines up to and including `until`. */
static int serve(Run *run, nsec_t until) {
        for (unsigned guard = 0; guard < 100000; guard++) {
                nsec_t de = engine_next_deadline(run->engine);
                nsec_t ds = switch_gesture_deadline(&run->sw);
                nsec_t d = MIN(de, ds);
                int r;

                if (d == NSEC_INFINITY || d > until)
                        return 0;
                run->now = MAX(run->now, d);
                if (ds <= de) {
                        r = gesture(run, switch_gesture_tick(&run->sw, run->now));
                        if (r < 0)
                                return r;
                }
                if (engine_next_deadline(run->engine) <= run->now) {
                        r = engine_tick(run->engine, run->now);
                        if (r < 0)
                                return r;
                        r = collect(run);
                        if (r < 0)
                                return r;
                }
        }
        return -ELOOP;
}

/* A failed replay frees the sessions it collected. */
static void run_done(Run *run) {
        for (size_t i = 0; i < run->n_sessions; i++)
                session_free(run->sessions[i]);
        free(run->sessions);
}

int replay_run(const Trace *t, const ReplayOptions *o, ReplayResult *ret) {
        _cleanup_(engine_freep) Engine *e = NULL;
        _cleanup_(run_done) Run run = { .o = o, .now = REPLAY_T0 };
        int r;

        *ret = (ReplayResult) { .failed_row = SIZE_MAX };
        if (!t || t->n == 0 || !o->protocol)
                return -EINVAL;

        r = engine_new(&e, &o->params);
        if (r < 0)
                return r;
        run.engine = e;
        switch_gesture_init(&run.sw, &o->gesture);
        engine_set_wall_offset(e, o->wall_offset_ns - (int64_t) REPLAY_T0);
        engine_set_default_protocol(e, o->protocol);
        if (o->session_id) {
                r = engine_set_next_session_id(e, o->session_id);
                if (r < 0)
                        return r;
        }

        r = feed(&run, INPUT_TOOL_CONNECTED, 0);
        if (r < 0)
                return r;
        if (o->checkin == REPLAY_CHECKIN_START) {
                EngineInput in = { .type = INPUT_CMD_START, .now = run.now, .protocol = o->protocol,
                                   .athlete = o->athlete };
                r = engine_feed(e, &in);
                if (r < 0)
                        return r;
                r = collect(&run);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < t->n; i++) {
                const TraceRow *row = &t->rows[i];
                nsec_t at = REPLAY_T0 + (nsec_t) llround(row->t_ms * 1e6);

                r = serve(&run, at);
                if (r < 0)
                        return r;
                run.now = MAX(run.now, at);

                if (row->sw >= 0) {
                        SwitchGesture g[2];
                        unsigned n;

                        switch_gesture_level(&run.sw, row->sw == 1, run.now, g, &n);
                        for (unsigned k = 0; k < n; k++) {
                                r = gesture(&run, g[k]);
                                if (r < 0)
                                        return r;
                        }
                }
                r = feed(&run, INPUT_FORCE, row->force_n);
                if (r < 0) {
                        ret->failed_row = i;
                        return r;
                }
        }

        /* After the last row the athlete is gone: let the engine finish on its own. */
        if (engine_session(e)) {
                r = serve(&run, run.now + 24 * 3600 * NSEC_PER_SEC);
                if (r < 0)
                        return r;
        }

        ret->sessions = TAKE_PTR(run.sessions);
        ret->n_sessions = run.n_sessions;
        run.n_sessions = 0;
        return 0;
}
