/* SPDX-License-Identifier: MIT */
/* The session record against docs/session.md, from the definitions alone: every expected
 * value is computed here from the trace this test generates (80 Hz, Gaussian noise, random
 * forces and timings per seed), with the documented filter and thresholds, never copied
 * from the engine's output. Deadlines are served when due, as the daemon's 1 ms timer does.
 *
 * The reference model (docs/session.md, "Timing definitions"):
 *   smoothed  y += (1 - exp(-dt/tau)) * (x - y), tau = smoothing_ms, restart after a 1 s gap
 *   contact   first sample with y >= contact_n after the point was cued
 *   hold      confirm: starts at the tap; the release cue at target_hold after the start
 *   hold end  the last sample, before the first one below release_n, whose y is at least
 *             descent_frac x the mean of the hold's samples up to and including it; never
 *             before the release cue
 *   release   from the hold end to the first sample below release_n
 *   mean      of the samples from the hold start to the hold end
 *   peak      highest y from contact to the release sample
 *   started   when the rep's point was cued (check-in, or the end of the rest before it) */

#include <math.h>
#include <string.h>

#include "engine/engine.h"
#include "shared/macro.h"
#include "sim.h"
#include "tap.h"

#define HZ 80
#define PERIOD_NS (NSEC_PER_SEC / HZ)
#define T0 (1000 * NSEC_PER_SEC)
/* Samples are offset from whole milliseconds, so that no tap or deadline (whole ms from T0)
 * coincides with a sample. */
#define GRID0 (T0 + 300 * NSEC_PER_USEC)
#define NOISE 0.4
#define MAX_SAMPLES 60000

typedef struct Run {
        Engine *e;
        nsec_t now, next_sample;
        uint64_t rng;
        double level;              /* what the athlete applies, before noise */
        bool tool;
        /* the reference filter, as documented */
        double y;
        bool primed;
        nsec_t last;
        double tau_s;
        nsec_t ts[MAX_SAMPLES];
        double ys[MAX_SAMPLES];
        size_t n;
        EngineEvent ev[1024];
        size_t n_ev;
        Session *done;
} Run;

static Run R;

static uint64_t rnd(void) {
        uint64_t z = (R.rng += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static double frand(double lo, double hi) {
        return lo + (hi - lo) * ((double) (rnd() >> 11) / 9007199254740992.0);
}

static double gauss(void) {
        double u1 = ((double) (rnd() >> 11) + 1.0) / 9007199254740993.0, u2 = frand(0, 1);
        return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static void collect(void) {
        EngineEvent ev;
        Session *f;

        while (engine_pop_event(R.e, &ev))
                if (R.n_ev < ELEMENTSOF(R.ev))
                        R.ev[R.n_ev++] = ev;
        f = engine_take_finished(R.e);
        if (f) {
                session_free(R.done);
                R.done = f;
        }
}

static void serve(nsec_t until) {
        nsec_t d;

        while ((d = engine_next_deadline(R.e)) <= until) {
                if (engine_tick(R.e, MAX(d, R.now)) < 0)
                        abort();
                collect();
        }
}

static void run_init(uint64_t seed, unsigned smoothing_ms) {
        EngineParams p = ENGINE_PARAMS_DEFAULT;

        session_free(R.done);
        engine_free(R.e);
        memset(&R, 0, sizeof(R));
        p.smoothing_ms = smoothing_ms;
        if (engine_new(&R.e, &p) < 0)
                abort();
        R.rng = seed;
        R.now = T0;
        R.next_sample = GRID0;
        R.tau_s = smoothing_ms / 1000.0;
}

static void run_done(void) {
        session_free(R.done);
        engine_free(R.e);
        R.done = NULL;
        R.e = NULL;
}

static void input(EngineInputType t) {
        serve(R.now);
        if (engine_feed(R.e, &(EngineInput) { .type = t, .now = R.now }) < 0)
                abort();
        collect();
}

static void sample_at(nsec_t t, double x) {
        serve(t);
        R.now = t;
        if (engine_feed(R.e, &(EngineInput) { .type = INPUT_FORCE, .now = t, .force_n = x }) < 0)
                abort();
        collect();
        /* docs/session.md, "Force processing" */
        if (!R.primed || t - R.last > NSEC_PER_SEC || R.tau_s <= 0)
                R.y = x;
        else
                R.y += (1.0 - exp(-((double) (t - R.last) / 1e9) / R.tau_s)) * (x - R.y);
        R.primed = true;
        R.last = t;
        if (R.n < MAX_SAMPLES) {
                R.ts[R.n] = t;
                R.ys[R.n++] = R.y;
        }
}

/* The athlete's force goes linearly to `to` over ms (whole ms), sampled at 80 Hz with noise. */
static void ramp(double to, unsigned ms) {
        nsec_t start = R.now, end = R.now + (nsec_t) ms * NSEC_PER_MSEC;
        double from = R.level;

        while (R.tool && R.next_sample <= end) {
                nsec_t t = R.next_sample;
                double x = from + (to - from) * (double) (t - start) / (double) (end - start ?: 1);
                sample_at(t, MAX(0.0, x + NOISE * gauss()));
                R.next_sample += PERIOD_NS;
        }
        if (!R.tool)
                while (R.next_sample <= end)
                        R.next_sample += PERIOD_NS;
        R.level = to;
        serve(end);
        R.now = end;
}

static void hold(unsigned ms) {
        ramp(R.level, ms);
}

static void tool(bool on) {
        R.tool = on;
        input(on ? INPUT_TOOL_CONNECTED : INPUT_TOOL_LOST);
        if (!on)
                R.primed = false; /* the engine restarts its filter on a tool loss */
}

static int64_t ms_of(nsec_t d) {
        return nsec_to_ms_round(d);
}

static const EngineEvent *event(EngineEventType t, unsigned k) {
        for (size_t i = 0; i < R.n_ev; i++)
                if (R.ev[i].type == t && k-- == 0)
                        return &R.ev[i];
        return NULL;
}

static unsigned count(EngineEventType t) {
        unsigned n = 0;
        for (size_t i = 0; i < R.n_ev; i++)
                n += R.ev[i].type == t;
        return n;
}

/* ---- the reference hold (docs/session.md) ---- */

typedef struct RefHold {
        nsec_t contact, end, release;  /* release: the first sample below release_n */
        double mean, peak;
        bool released;
} RefHold;

static size_t first_sample_at(nsec_t t) {
        size_t i = 0;
        while (i < R.n && R.ts[i] < t)
                i++;
        return i;
}

/* cued: when the point was cued; hs: hold start; cue: release cue time, 0 = none. */
static RefHold ref_hold(const ProtocolStep *s, nsec_t cued, nsec_t hs, nsec_t cue, double frac) {
        RefHold h = { .end = hs };
        double sum = 0, held_sum = 0, cue_sum = 0;
        size_t n = 0, held_n = 0, cue_n = 0;

        for (size_t i = first_sample_at(cued); i < R.n; i++)
                if (R.ys[i] >= s->contact_n) {
                        h.contact = R.ts[i];
                        break;
                }
        for (size_t i = first_sample_at(h.contact); i < R.n && R.ts[i] <= hs; i++)
                h.peak = MAX(h.peak, R.ys[i]);
        for (size_t i = first_sample_at(hs); i < R.n; i++) {
                h.peak = MAX(h.peak, R.ys[i]);
                if (R.ys[i] < s->release_n) {
                        h.release = R.ts[i];
                        h.released = true;
                        break;
                }
                sum += R.ys[i];
                n++;
                if (R.ys[i] >= frac * (sum / (double) n)) {
                        held_sum = sum;
                        held_n = n;
                        h.end = R.ts[i];
                }
                if (cue && R.ts[i] <= cue) {
                        cue_sum = sum;
                        cue_n = n;
                }
        }
        if (cue && cue > h.end && (!h.released || cue < h.release)) {
                h.end = cue;
                h.mean = cue_sum / (double) cue_n;
        } else
                h.mean = held_sum / (double) held_n;
        return h;
}

static Protocol *one_step(ProtocolStep st) {
        return sim_protocol("defs", &st, 1);
}

static const SessionRep *rep_of(size_t step, size_t k) {
        if (!R.done || step >= R.done->n_steps || k >= R.done->steps[step].n_reps)
                return NULL;
        return &R.done->steps[step].reps[k];
}

static void check_force_fields(const SessionRep *r, const RefHold *h, nsec_t hs, nsec_t t_in) {
        CHECK(r);
        CHECK(r->has_force);
        CHECK_EQ(r->hold_started_ms, ms_of(hs - t_in));
        CHECK_EQ(r->hold_ms, ms_of(h->end - hs));
        CHECK_EQ(r->release_ms, ms_of(h->release - h->end));
        CHECK_NEAR(r->force_mean_n, h->mean, 1e-9);
        CHECK_NEAR(r->force_peak_n, h->peak, 1e-9);
}

/* ---- outcomes ---- */

/* completed at the cue (held past it, released slowly), early release, completed by
 * letting go after min_hold: one protocol step of 3 reps, random forces and times. */
static void test_press_outcomes(void) {
        for (uint64_t seed = 1; seed <= 25; seed++) {
                ProtocolStep st = sim_press_step("p", HOLD_START_CONFIRM, 7000);
                st.min_hold_ms = 5000;
                st.max_hold_ms = 9000;
                st.reps = 3;
                st.rest_ms = 4000;
                st.min_release_ms = 2000;
                _cleanup_(protocol_freep) Protocol *p = one_step(st);
                const ProtocolStep *s = &p->steps[0];
                double F[3];
                nsec_t hs[3], cued[3], t_in, cue[3] = {};
                unsigned let_go[3] = { 7000 + (unsigned) frand(100, 900), 3000, 6000 };

                run_init(seed, (unsigned) frand(30, 80));
                tool(true);
                hold(200);
                engine_set_default_protocol(R.e, p);
                t_in = R.now;
                input(INPUT_SWITCH_TAP);          /* check-in: rep 1 cued now */
                cued[0] = t_in;
                for (int k = 0; k < 3; k++) {
                        F[k] = frand(40, 150);
                        ramp(F[k], 400 + (unsigned) frand(0, 600));
                        hold(300 + (unsigned) frand(0, 700));
                        hs[k] = R.now;
                        input(INPUT_SWITCH_TAP);  /* found it: the hold starts here */
                        hold(let_go[k]);
                        /* the release cue comes at target_hold unless released before it */
                        cue[k] = hs[k] + (nsec_t) st.target_hold_ms * NSEC_PER_MSEC;
                        ramp(0, k == 2 ? 600 : k == 1 ? 800 + (unsigned) frand(0, 700) : 2500 + (unsigned) frand(0, 2000));
                        hold(200);
                        /* the rest begins at the release sample; the next rep is cued after it */
                        RefHold h = ref_hold(s, cued[k], hs[k], cue[k], 0.8);
                        CHECK(h.released);
                        if (k < 2) {
                                cued[k + 1] = h.release + (nsec_t) st.rest_ms * NSEC_PER_MSEC;
                                hold((unsigned) ms_of(cued[k + 1] - R.now) + 300);
                        }
                }
                CHECK(R.done);
                CHECK_EQ(R.done->status, SESSION_COMPLETED);
                for (int k = 0; k < 3; k++) {
                        const SessionRep *r = rep_of(0, k);
                        RefHold h = ref_hold(s, cued[k], hs[k], cue[k], 0.8);
                        bool early = h.release < cue[k] && h.end - hs[k] < (nsec_t) s->min_hold_ms * NSEC_PER_MSEC;

                        CHECK(r);
                        CHECK_EQ(r->outcome, early ? REP_EARLY_RELEASE : REP_COMPLETED);
                        CHECK_EQ(r->started_ms, ms_of(cued[k] - t_in));
                        check_force_fields(r, &h, hs[k], t_in);
                        CHECK_EQ(r->release_too_fast, r->release_ms < (int64_t) s->min_release_ms);
                        CHECK_EQ(r->over_hold, r->hold_ms > (int64_t) s->max_hold_ms);
                        CHECK(r->started_ms <= r->hold_started_ms);
                        /* the mean of a hold at F with noise, never dragged down by the release */
                        CHECK_NEAR(r->force_mean_n, F[k], 0.06 * F[k] + 1);
                }
                /* rep 1 and 3 were not the same: cue-ended vs let go, slow vs fast */
                CHECK(rep_of(0, 0)->hold_ms >= 7000);
                CHECK_EQ(rep_of(0, 1)->outcome, REP_EARLY_RELEASE);
                CHECK(rep_of(0, 2)->release_too_fast);
                run_done();
        }
}

/* The min_hold boundary: a hold whose end falls about 100 ms before or after min_hold. The
 * expected outcome follows from the reference hold end, whichever side it falls. */
static void test_min_hold_boundary(void) {
        for (uint64_t seed = 100; seed < 140; seed++) {
                ProtocolStep st = sim_press_step("p", HOLD_START_CONFIRM, 8000);
                st.min_hold_ms = 4000;
                st.max_hold_ms = 9000;
                _cleanup_(protocol_freep) Protocol *p = one_step(st);
                nsec_t t_in, hs;
                int side = seed % 2 ? 1 : -1;

                run_init(seed, 50);
                tool(true);
                t_in = R.now;
                if (engine_feed(R.e, &(EngineInput) { .type = INPUT_CMD_START, .now = R.now, .protocol = p }) < 0)
                        abort();
                collect();
                ramp(frand(50, 90), 500);
                hold(500);
                hs = R.now;
                input(INPUT_SWITCH_TAP);
                /* a fast drop (100 ms): the hold ends within a sample or two of the letting go */
                hold((unsigned) (4000 + side * 150 - 20));
                ramp(0, 100);
                hold(300);
                RefHold h = ref_hold(&p->steps[0], t_in, hs, 0, 0.8);
                const SessionRep *r = rep_of(0, 0);
                CHECK(r);
                CHECK_EQ(r->outcome, h.end - hs < 4000 * NSEC_PER_MSEC ? REP_EARLY_RELEASE : REP_COMPLETED);
                CHECK_EQ(r->outcome, side < 0 ? REP_EARLY_RELEASE : REP_COMPLETED);
                check_force_fields(r, &h, hs, t_in);
                CHECK_EQ(r->started_ms, 0);
                run_done();
        }
}

/* max_hold: still pressing past it after the cue is flagged, and warned at max_hold; the
 * release_too_fast flag follows release_ms on both sides of min_release. */
static void test_over_hold_and_release_boundary(void) {
        for (uint64_t seed = 200; seed < 230; seed++) {
                ProtocolStep st = sim_press_step("p", HOLD_START_CONFIRM, 5000);
                st.min_hold_ms = 5000;
                st.max_hold_ms = 6000;
                st.min_release_ms = 1500;
                _cleanup_(protocol_freep) Protocol *p = one_step(st);
                nsec_t t_in, hs, cue, mh;
                unsigned extra = 500 + (unsigned) frand(0, 1500);   /* 5.5 .. 7 s */
                unsigned down = 1200 + (unsigned) frand(0, 1800);  /* release 80 % .. ~8 % */

                run_init(seed, 50);
                tool(true);
                t_in = R.now;
                if (engine_feed(R.e, &(EngineInput) { .type = INPUT_CMD_START, .now = R.now, .protocol = p }) < 0)
                        abort();
                collect();
                ramp(frand(50, 90), 500);
                hold(400);
                hs = R.now;
                input(INPUT_SWITCH_TAP);
                cue = hs + 5000 * NSEC_PER_MSEC;
                hold(5000 + extra);
                ramp(0, down);
                hold(300);
                RefHold h = ref_hold(&p->steps[0], t_in, hs, cue, 0.8);
                const SessionRep *r = rep_of(0, 0);
                CHECK(r);
                CHECK_EQ(r->outcome, REP_COMPLETED);
                check_force_fields(r, &h, hs, t_in);
                CHECK_EQ(r->over_hold, h.end - hs > 6000 * NSEC_PER_MSEC);
                CHECK_EQ(r->release_too_fast, ms_of(h.release - h.end) < 1500);
                /* the warning is raised at max_hold if the athlete is still pressing then: not
                 * released yet, and the last reading at or above 80 % of the hold's mean so far */
                mh = hs + 6000 * NSEC_PER_MSEC;
                double sum = 0;
                size_t n = 0, last = 0;
                for (size_t i = first_sample_at(hs); i < R.n && R.ts[i] <= mh; i++) {
                        sum += R.ys[i];
                        n++;
                        last = i;
                }
                bool warn = h.release > mh && R.ys[last] >= 0.8 * sum / (double) n;
                CHECK_EQ(count(EVENT_OVER_HOLD), warn);
                if (warn)
                        CHECK_EQ(event(EVENT_OVER_HOLD, 0)->at, mh);
                if (extra > 1100)
                        CHECK(warn);
                run_done();
        }
}

/* not_released: the cue comes at target_hold without the "it released" tap; the hold still
 * lasts until the descent, and the next point follows (not_released = "continue"). A tap
 * before min_hold does not count (not_yet); one after does. */
static void test_not_released_and_taps(void) {
        for (uint64_t seed = 300; seed < 320; seed++) {
                ProtocolStep st[2];
                for (int i = 0; i < 2; i++) {
                        st[i] = sim_press_step(i ? "b" : "a", HOLD_START_CONFIRM, 20000);
                        st[i].min_hold_ms = 10000;
                        st[i].max_hold_ms = 25000;
                        st[i].tap_ends_hold = true;
                        st[i].needs_release_tap = true;
                        st[i].rest_ms = 3000;
                }
                _cleanup_(protocol_freep) Protocol *p = sim_protocol("defs", st, 2);
                const ProtocolStep *s = &p->steps[0];
                nsec_t t_in, hs1, hs2, tap, cued2;
                unsigned eases = 10500 + (unsigned) frand(0, 8000);

                run_init(seed, 50);
                tool(true);
                t_in = R.now;
                if (engine_feed(R.e, &(EngineInput) { .type = INPUT_CMD_START, .now = R.now, .protocol = p }) < 0)
                        abort();
                collect();
                /* rep 1: no release tap */
                ramp(frand(40, 120), 600);
                hold(700);
                hs1 = R.now;
                input(INPUT_SWITCH_TAP);
                hold(20000 + (unsigned) frand(0, 600));
                ramp(0, 3000);
                hold(200);
                RefHold h1 = ref_hold(s, t_in, hs1, hs1 + 20000 * NSEC_PER_MSEC, 0.8);
                cued2 = h1.release + 3000 * NSEC_PER_MSEC;
                hold((unsigned) ms_of(cued2 - R.now) + 500);
                /* rep 2: a tap at 5 s does not count, one after min_hold ends the hold */
                ramp(frand(40, 120), 600);
                hold(700);
                hs2 = R.now;
                input(INPUT_SWITCH_TAP);
                hold(5000);
                input(INPUT_SWITCH_TAP);
                CHECK_EQ(count(EVENT_NOT_YET), 1);
                CHECK_EQ(event(EVENT_NOT_YET, 0)->at, R.now);
                CHECK_EQ(engine_cue(R.e)->kind, CUE_HOLD);
                CHECK_EQ(count(EVENT_TAP_COUNTS), 1);     /* rep 1's, at min_hold */
                CHECK_EQ(event(EVENT_TAP_COUNTS, 0)->at, hs1 + 10000 * NSEC_PER_MSEC);
                hold(eases - 5000);
                CHECK_EQ(count(EVENT_TAP_COUNTS), 2);
                CHECK_EQ(event(EVENT_TAP_COUNTS, 1)->at, hs2 + 10000 * NSEC_PER_MSEC);
                CHECK(engine_cue(R.e)->tap_counts_ns == hs2 + 10000 * NSEC_PER_MSEC);
                tap = R.now;
                input(INPUT_SWITCH_TAP);
                CHECK_EQ(engine_cue(R.e)->kind, CUE_RELEASE);
                CHECK_EQ(engine_cue(R.e)->release, CUE_RELEASE_DONE);
                hold(300);
                ramp(0, 2500);
                hold(200);
                RefHold h2 = ref_hold(s, cued2, hs2, tap, 0.8);

                CHECK(R.done);
                const SessionRep *r1 = rep_of(0, 0), *r2 = rep_of(1, 0);
                CHECK(r1 && r2);
                CHECK_EQ(r1->outcome, REP_NOT_RELEASED);
                CHECK_EQ(r2->outcome, REP_COMPLETED);
                check_force_fields(r1, &h1, hs1, t_in);
                check_force_fields(r2, &h2, hs2, t_in);
                CHECK_EQ(r1->started_ms, 0);
                CHECK_EQ(r2->started_ms, ms_of(cued2 - t_in));
                CHECK_EQ(event(EVENT_RELEASE_CUE, 0)->at, hs1 + 20000 * NSEC_PER_MSEC);
                run_done();
        }
}

/* over_force: above safety_max_n for over_force_ms ends the rep with a safety release cue;
 * the warning starts at the first sample above it. */
static void test_over_force(void) {
        for (uint64_t seed = 400; seed < 420; seed++) {
                ProtocolStep st = sim_press_step("p", HOLD_START_CONFIRM, 10000);
                st.safety_max_n = 150;
                st.over_force_ms = 800;
                _cleanup_(protocol_freep) Protocol *p = one_step(st);
                const ProtocolStep *s = &p->steps[0];
                nsec_t t_in, hs, over = 0, cue;

                run_init(seed, 50);
                tool(true);
                t_in = R.now;
                if (engine_feed(R.e, &(EngineInput) { .type = INPUT_CMD_START, .now = R.now, .protocol = p }) < 0)
                        abort();
                collect();
                ramp(80, 500);
                hold(500);
                hs = R.now;
                input(INPUT_SWITCH_TAP);
                hold(2000 + (unsigned) frand(0, 2000));
                size_t from = R.n;
                ramp(frand(190, 260), 200);
                hold(1500);
                for (size_t i = from; i < R.n && !over; i++)
                        if (R.ys[i] > s->safety_max_n)
                                over = R.ts[i];
                CHECK(over);
                cue = over + 800 * NSEC_PER_MSEC;
                CHECK_EQ(event(EVENT_OVER_FORCE, 0)->at, over);
                CHECK_EQ(event(EVENT_RELEASE_CUE, 0)->at, cue);
                ramp(0, 2000);
                hold(200);
                RefHold h = ref_hold(s, t_in, hs, cue, 0.8);
                const SessionRep *r = rep_of(0, 0);
                CHECK(r);
                CHECK_EQ(r->outcome, REP_OVER_FORCE);
                CHECK_EQ(r->over_force_warnings, 1);
                check_force_fields(r, &h, hs, t_in);
                run_done();
        }
}

/* tool_lost (not back within the grace time: abandoned) and skipped (long press mid-hold):
 * both keep the hold's samples so far. */
static void test_tool_lost_and_skipped(void) {
        for (uint64_t seed = 500; seed < 510; seed++) {
                ProtocolStep st[2] = { sim_press_step("a", HOLD_START_CONFIRM, 10000),
                                       sim_press_step("b", HOLD_START_CONFIRM, 10000) };
                _cleanup_(protocol_freep) Protocol *p = sim_protocol("defs", st, 2);
                nsec_t t_in, hs, skip, hs_b, lost;
                double sum = 0;
                size_t n = 0;

                run_init(seed, 50);
                tool(true);
                t_in = R.now;
                if (engine_feed(R.e, &(EngineInput) { .type = INPUT_CMD_START, .now = R.now, .protocol = p }) < 0)
                        abort();
                collect();
                ramp(70, 500);
                hold(500);
                hs = R.now;
                input(INPUT_SWITCH_TAP);
                hold(3000 + (unsigned) frand(0, 3000));
                skip = R.now;
                input(INPUT_SWITCH_LONG);   /* skipped mid-hold: point b is cued at once */
                for (size_t i = first_sample_at(hs); i < R.n && R.ts[i] <= skip; i++) {
                        sum += R.ys[i];
                        n++;
                }
                hold(700);
                hs_b = R.now;
                input(INPUT_SWITCH_TAP);
                hold(2000);
                lost = R.now;
                tool(false);
                R.now += 21 * NSEC_PER_SEC;  /* the grace time (20 s) passes */
                serve(R.now);

                CHECK(R.done);
                CHECK_EQ(R.done->status, SESSION_ABANDONED);
                const SessionRep *ra = rep_of(0, 0), *rb = rep_of(1, 0);
                CHECK(ra && rb);
                CHECK_EQ(ra->outcome, REP_SKIPPED);
                CHECK_EQ(ra->hold_ms, ms_of(skip - hs));
                CHECK_NEAR(ra->force_mean_n, sum / (double) n, 1e-9);
                CHECK_EQ(rb->outcome, REP_TOOL_LOST);
                CHECK_EQ(rb->started_ms, ms_of(skip - t_in));
                CHECK_EQ(rb->hold_started_ms, ms_of(hs_b - t_in));
                CHECK_EQ(rb->hold_ms, ms_of(lost - hs_b));
                CHECK_EQ(rb->release_ms, MS_UNKNOWN);
                run_done();
        }
}

/* ---- revisit spacing ---- */

/* A point that does not release is revisited only after other work: here the stretch that
 * follows it; with nothing else left, after a rest away from it of revisit_rest. */
static void test_revisit_spacing(void) {
        for (int variant = 0; variant < 2; variant++) {
                ProtocolStep st[2] = { sim_press_step("a", HOLD_START_CONFIRM, 6000),
                                       sim_press_step("s", HOLD_START_TIMER, 5000) };
                st[0].min_hold_ms = 3000;
                st[0].max_hold_ms = 8000;
                st[0].tap_ends_hold = st[0].needs_release_tap = true;
                st[0].not_released = NOT_RELEASED_REVISIT;
                st[0].max_tries = 2;
                st[0].rest_ms = 2000;
                st[0].revisit_rest_ms = 15000;
                st[1].kind = STEP_STRETCH;
                st[1].min_hold_ms = 5000;
                st[1].max_hold_ms = 5000;
                st[1].rest_ms = 1000;
                if (variant == 1) {
                        free(st[1].point);
                        free(st[1].muscle);
                        free(st[1].side);
                        free(st[1].label);
                        free(st[1].instruction);
                }
                _cleanup_(protocol_freep) Protocol *p = sim_protocol("defs", st, variant == 0 ? 2 : 1);
                nsec_t release, again;

                run_init(700 + variant, 50);
                tool(true);
                if (engine_feed(R.e, &(EngineInput) { .type = INPUT_CMD_START, .now = R.now, .protocol = p }) < 0)
                        abort();
                collect();
                ramp(60, 500);
                hold(500);
                input(INPUT_SWITCH_TAP);
                hold(6300);                /* no "it released" tap: not released */
                CHECK_EQ(engine_cue(R.e)->release, CUE_RELEASE_NOT_RELEASED);
                ramp(0, 1000);
                release = event(EVENT_RELEASED, 0)->at;
                if (variant == 0) {
                        /* rest 2 s, the stretch (5 s + its 2 s release cue, no tool), 1 s, then a */
                        hold(2000 + 5000 + 2000 + 1000 + 500);
                        CHECK_EQ(count(EVENT_STEP), 3);
                        CHECK_EQ(event(EVENT_STEP, 1)->step, 1);
                        again = release + (2000 + 5000 + 2000 + 1000) * NSEC_PER_MSEC;
                } else {
                        /* nothing else: a rest away from the point of revisit_rest (15 s) */
                        CHECK(engine_cue(R.e)->kind == CUE_REST && engine_cue(R.e)->away);
                        input(INPUT_SWITCH_TAP);           /* cannot cut it short */
                        CHECK_EQ(count(EVENT_NOT_YET), 1);
                        CHECK_EQ(engine_cue(R.e)->kind, CUE_REST);
                        CHECK_EQ(event(EVENT_REST, 0)->value, 15000);
                        hold(15000 + 500);
                        CHECK_EQ(count(EVENT_STEP), 2);
                        again = release + 15000 * NSEC_PER_MSEC;
                }
                const EngineEvent *last = event(EVENT_STEP, count(EVENT_STEP) - 1);
                CHECK_EQ(last->step, 0);
                CHECK_EQ(last->at, again);
                ramp(60, 500);
                hold(300);
                input(INPUT_SWITCH_TAP);
                hold(3500);
                input(INPUT_SWITCH_TAP);   /* it released this time */
                ramp(0, 2000);
                hold(8000);
                CHECK(R.done);
                CHECK_EQ(R.done->steps[0].n_reps, 2);
                CHECK_EQ(R.done->steps[0].reps[1].attempt, 2);
                CHECK_EQ(R.done->steps[0].reps[1].outcome, REP_COMPLETED);
                CHECK_EQ(R.done->steps[0].reps[1].started_ms, ms_of(again - R.done->started_mono));
                run_done();
        }
}

/* ---- measure steps ---- */

/* A PPT trial: threshold_n is the smoothed force at the tap, ramp_n_per_s its loading rate
 * from contact; it is not a hold: never over_hold or release_too_fast, no over-hold warning,
 * even when the probe stays on far past max_hold and then snaps off. */
static void test_measure(void) {
        for (uint64_t seed = 800; seed < 815; seed++) {
                ProtocolStep st = sim_press_step("m", HOLD_START_CONFIRM, 0);
                st.kind = STEP_MEASURE;
                st.min_hold_ms = st.target_hold_ms = st.max_hold_ms = 0;
                st.min_release_ms = 3000;
                st.contact_n = 3;
                st.release_n = 1;
                st.reps = 2;
                st.rest_ms = 2000;
                _cleanup_(protocol_freep) Protocol *p = one_step(st);
                nsec_t t_in, tap[2], cued[2];
                double thr[2], ramp_rate[2];

                run_init(seed, 50);
                tool(true);
                t_in = cued[0] = R.now;
                if (engine_feed(R.e, &(EngineInput) { .type = INPUT_CMD_START, .now = R.now, .protocol = p }) < 0)
                        abort();
                collect();
                for (int k = 0; k < 2; k++) {
                        double pain = frand(20, 60);
                        size_t from = R.n;
                        ramp(pain, (unsigned) (pain / frand(3, 8) * 1000));
                        tap[k] = R.now;
                        thr[k] = R.ys[R.n - 1];   /* the reading at the tap */
                        nsec_t contact = 0;
                        for (size_t i = from; i < R.n && !contact; i++)
                                if (R.ys[i] >= st.contact_n)
                                        contact = R.ts[i];
                        ramp_rate[k] = (thr[k] - st.contact_n) / ((double) (tap[k] - contact) / 1e9);
                        input(INPUT_SWITCH_TAP);
                        hold(k == 0 ? 4000 : 100);        /* stays on, or not */
                        ramp(0, 150);                   /* snaps off */
                        hold(200);
                        if (k == 0) {
                                nsec_t rel = 0;
                                for (size_t i = first_sample_at(tap[0]); i < R.n && !rel; i++)
                                        if (R.ys[i] < st.release_n)
                                                rel = R.ts[i];
                                cued[1] = rel + 2000 * NSEC_PER_MSEC;
                                hold((unsigned) ms_of(cued[1] - R.now) + 200);
                        }
                }
                CHECK(R.done);
                CHECK_EQ(count(EVENT_OVER_HOLD), 0);
                for (int k = 0; k < 2; k++) {
                        const SessionRep *r = rep_of(0, k);
                        CHECK(r);
                        CHECK_EQ(r->outcome, REP_COMPLETED);
                        CHECK(r->has_threshold);
                        CHECK_NEAR(r->threshold_n, thr[k], 1e-9);
                        CHECK_NEAR(r->ramp_n_per_s, ramp_rate[k], 1e-9);
                        CHECK_EQ(r->started_ms, ms_of(cued[k] - t_in));
                        CHECK_EQ(r->hold_started_ms, ms_of(tap[k] - t_in));
                        CHECK(!r->over_hold);
                        CHECK(!r->release_too_fast);
                        CHECK(r->release_ms != MS_UNKNOWN && r->release_ms < 3000);
                }
                CHECK(rep_of(0, 0)->hold_ms > 3000);   /* on for 4 s after the tap: still not over_hold */
                run_done();
        }
}

static const TapCase cases[] = {
        { "press_outcomes", test_press_outcomes },
        { "min_hold_boundary", test_min_hold_boundary },
        { "over_hold_and_release_boundary", test_over_hold_and_release_boundary },
        { "not_released_and_taps", test_not_released_and_taps },
        { "over_force", test_over_force },
        { "tool_lost_and_skipped", test_tool_lost_and_skipped },
        { "revisit_spacing", test_revisit_spacing },
        { "measure", test_measure },
};

TAP_MAIN(cases)
