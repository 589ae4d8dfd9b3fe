/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shared/macro.h"
#include "sim.h"

uint64_t sim_rand(Sim *s) {
        /* splitmix64: deterministic per seed, good enough for test noise */
        uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

double sim_rand_gauss(Sim *s) {
        double u1 = ((double) (sim_rand(s) >> 11) + 1.0) / 9007199254740993.0;
        double u2 = (double) (sim_rand(s) >> 11) / 9007199254740992.0;
        return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static void collect(Sim *s) {
        EngineEvent ev;
        Session *f;

        while (engine_pop_event(s->engine, &ev))
                if (s->n_events < sizeof(s->events) / sizeof(s->events[0]))
                        s->events[s->n_events++] = ev;
        f = engine_take_finished(s->engine);
        if (f) {
                session_free(s->finished);
                s->finished = f;
        }
}

static void serve_deadlines(Sim *s, nsec_t until) {
        for (;;) {
                nsec_t d = engine_next_deadline(s->engine);
                if (d == NSEC_INFINITY || d > until)
                        break;
                if (d < s->now)
                        d = s->now;
                s->now = d;
                int r = engine_tick(s->engine, d);
                if (r < 0)
                        s->last_error = r;
                collect(s);
                if (engine_next_deadline(s->engine) == d)
                        break;
        }
}

void sim_init(Sim *s, const EngineParams *p, double noise_n, uint64_t seed) {
        memset(s, 0, sizeof(*s));
        engine_new(&s->engine, p);
        s->now = SIM_T0;
        s->noise_n = noise_n;
        s->rng = seed;
        engine_set_wall_offset(s->engine, (int64_t) (1795000000ULL * NSEC_PER_SEC) - (int64_t) SIM_T0);
}

void sim_done(Sim *s) {
        engine_free(s->engine);
        session_free(s->finished);
        free(s->log_t);
        free(s->log_f);
}

static void log_sample(Sim *s, nsec_t t) {
        EngineStatus st;

        if (s->n_log == s->n_log_allocated) {
                size_t n = s->n_log_allocated ? s->n_log_allocated * 2 : 4096;
                nsec_t *lt = realloc(s->log_t, n * sizeof(nsec_t));
                double *lf = lt ? realloc(s->log_f, n * sizeof(double)) : NULL;
                if (lt)
                        s->log_t = lt;
                if (!lf)
                        abort();
                s->log_f = lf;
                s->n_log_allocated = n;
        }
        engine_status(s->engine, t, &st);
        s->log_t[s->n_log] = t;
        s->log_f[s->n_log++] = st.force_n;
}

void sim_advance_to(Sim *s, nsec_t t) {
        serve_deadlines(s, t);
        if (t > s->now)
                s->now = t;
}

void sim_advance_ms(Sim *s, double ms) {
        sim_advance_to(s, s->now + MS(ms));
}

static void sample(Sim *s, double f) {
        EngineInput in = {
                .type = INPUT_FORCE,
                .now = s->now,
                .force_n = f + (s->noise_n > 0 ? s->noise_n * sim_rand_gauss(s) : 0),
        };
        int r = engine_feed(s->engine, &in);
        if (r < 0)
                s->last_error = r;
        s->n_samples++;
        if (s->log_force)
                log_sample(s, in.now);
        collect(s);
}

void sim_ramp(Sim *s, double to, double ms) {
        double from = s->force;
        nsec_t start = s->now, end = s->now + MS(ms);

        if (!s->tool) {
                s->force = to;
                sim_advance_to(s, end);
                return;
        }
        for (nsec_t t = start + SIM_PERIOD_NS; t <= end; t += SIM_PERIOD_NS) {
                serve_deadlines(s, t);
                s->now = t;
                double x = ms > 0 ? (double) (t - start) / (double) (end - start) : 1.0;
                s->force = from + (to - from) * x;
                sample(s, s->force);
        }
        s->force = to;
        sim_advance_to(s, end);
}

void sim_hold(Sim *s, double ms) {
        sim_ramp(s, s->force, ms);
}

void sim_input(Sim *s, EngineInputType type) {
        EngineInput in = { .type = type, .now = s->now };
        int r;

        if ((type == INPUT_SWITCH_LONG || type == INPUT_CMD_SKIP) && s->n_skips < ELEMENTSOF(s->skips))
                s->skips[s->n_skips++] = s->now;
        r = engine_feed(s->engine, &in);
        if (r < 0)
                s->last_error = r;
        collect(s);
}

void sim_start(Sim *s, const Protocol *p, const char *athlete) {
        EngineInput in = { .type = INPUT_CMD_START, .now = s->now, .protocol = p, .athlete = athlete };
        int r = engine_feed(s->engine, &in);
        if (r < 0)
                s->last_error = r;
        collect(s);
}

void sim_tool(Sim *s, bool connected) {
        s->tool = connected;
        sim_input(s, connected ? INPUT_TOOL_CONNECTED : INPUT_TOOL_LOST);
}

const EngineEvent *sim_event(const Sim *s, EngineEventType t, unsigned k) {
        for (size_t i = 0; i < s->n_events; i++)
                if (s->events[i].type == t && k-- == 0)
                        return &s->events[i];
        return NULL;
}

const EngineEvent *sim_ev(const Sim *s, EngineEventType t, unsigned k) {
        static const EngineEvent missing = { .type = _EVENT_TYPE_INVALID, .step = -99, .value = NAN,
                                             .outcome = _REP_OUTCOME_INVALID };
        const EngineEvent *ev = sim_event(s, t, k);
        return ev ?: &missing;
}

unsigned sim_count(const Sim *s, EngineEventType t) {
        unsigned n = 0;
        for (size_t i = 0; i < s->n_events; i++)
                n += s->events[i].type == t;
        return n;
}

ProtocolStep sim_press_step(const char *point, HoldStart start, uint32_t target_ms) {
        return (ProtocolStep) {
                .point = strdup(point),
                .muscle = strdup("test muscle"),
                .side = strdup("right"),
                .label = strdup(point),
                .instruction = strdup("press"),
                .kind = STEP_PRESS,
                .start = start,
                .min_hold_ms = target_ms,
                .target_hold_ms = target_ms,
                .max_hold_ms = target_ms + 3000,
                .reps = 1,
                .rest_ms = 5000,
                .settle_ms = 500,
                .contact_n = 10,
                .release_n = 5,
                .target_min_n = 20,
                .target_max_n = 200,
                .safety_max_n = 250,
                .over_force_ms = 1000,
                .min_release_ms = 2000,
                .not_released = NOT_RELEASED_CONTINUE,
                .max_tries = 1,
        };
}

Protocol *sim_protocol(const char *name, const ProtocolStep *steps, size_t n) {
        Protocol *p = calloc(1, sizeof(Protocol));
        p->name = strdup(name);
        p->title = strdup(name);
        p->steps = calloc(n, sizeof(ProtocolStep));
        memcpy(p->steps, steps, n * sizeof(ProtocolStep));
        p->n_steps = n;
        return p;
}
