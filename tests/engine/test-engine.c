/* SPDX-License-Identifier: MIT */
/* Every state and every outcome of the engine, driven by synthetic 80 Hz traces with
 * noise. Event times served by deadlines are asserted to the nanosecond; times that depend
 * on where a noisy, smoothed force crosses a threshold are asserted within one or two
 * sample periods of the value the filter math gives. */

#include <errno.h>
#include <json-c/json.h>

#include "engine/session-json.h"
#include "shared/macro.h"
#include "sim.h"
#include "tap.h"

#define NOISE 0.5
#define PERIOD_MS 12.5

static Protocol *two_confirm_points(void) {
        ProtocolStep s[2] = {
                sim_press_step("p1", HOLD_START_CONFIRM, 7000),
                sim_press_step("p2", HOLD_START_CONFIRM, 7000),
        };
        s[0].max_hold_ms = s[1].max_hold_ms = 10000;
        return sim_protocol("two", s, 2);
}

static const SessionRep *rep_of(const Session *s, size_t step, size_t rep) {
        if (!s || step >= s->n_steps || rep >= s->steps[step].n_reps)
                return NULL;
        return &s->steps[step].reps[rep];
}

/* press to 60 N, wait, tap: returns the tap time */
static nsec_t press_and_confirm(Sim *s) {
        sim_ramp(s, 60, 500);
        sim_hold(s, 1000);
        sim_input(s, INPUT_SWITCH_TAP);
        return s->now;
}

static void test_confirm_hold_completed(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 1);
        sim_tool(&s, true);
        sim_start(&s, p, "anna");
        CHECK_EQ(sim_count(&s, EVENT_CHECKIN), 1);
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_POINT);

        nsec_t tap = press_and_confirm(&s);
        CHECK(sim_event(&s, EVENT_PRESS, 0));
        CHECK_EQ(sim_ev(&s, EVENT_HOLD_START, 0)->at, tap);
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_HOLD);
        CHECK_EQ(engine_cue(s.engine)->due_ns, tap + MS(7000));

        sim_hold(&s, 7300);
        CHECK_EQ(sim_ev(&s, EVENT_RELEASE_CUE, 0)->at, tap + MS(7000));
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_RELEASE);

        /* slow release: 60 -> 0 N over 3 s */
        sim_ramp(&s, 0, 3000);
        const EngineEvent *rel = sim_event(&s, EVENT_RELEASED, 0);
        CHECK(rel);
        CHECK_EQ(rel->outcome, REP_COMPLETED);
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_REST);
        /* still above the release force at max_hold (10 s), but releasing slowly as told */
        CHECK_EQ(sim_count(&s, EVENT_OVER_HOLD), 0);

        /* rest ends exactly 5 s after the release, then the next point is cued */
        sim_advance_ms(&s, 5000);
        CHECK_EQ(sim_ev(&s, EVENT_STEP, 1)->at, rel->at + MS(5000));
        CHECK_EQ(sim_ev(&s, EVENT_STEP, 1)->step, 1);

        tap = press_and_confirm(&s);
        sim_hold(&s, 7300);
        sim_ramp(&s, 0, 3000);
        CHECK(s.finished);
        CHECK_EQ(s.finished->status, SESSION_COMPLETED);
        CHECK_STR(s.finished->athlete, "anna");

        for (size_t i = 0; i < 2; i++) {
                const SessionRep *r = rep_of(s.finished, i, 0);
                CHECK(r);
                CHECK_EQ(r->outcome, REP_COMPLETED);
                /* held 7.3 s, then the descent: force leaves 80 % of the mean (48 N) 0.6 s into
                 * the ramp, plus the filter's ~50 ms lag; it falls below 5 N at 2.75 s + lag. */
                CHECK_NEAR(r->hold_ms, 7300 + 650, 2 * PERIOD_MS);
                CHECK_NEAR(r->release_ms, 2750 - 600, 2 * PERIOD_MS);
                CHECK(!r->release_too_fast);
                CHECK(!r->over_hold);
                CHECK(r->has_force);
                /* the hold's samples: 7.3 s at 60 N and the top of the ramp down to 48 N
                 * (0.6 s + lag, mean 54 N) */
                CHECK_NEAR(r->force_mean_n, (7300 * 60.0 + 650 * 54.0) / 7950, 0.3);
                CHECK_NEAR(r->force_peak_n, 60, 1.5);
                CHECK_EQ(r->attempt, 1);
        }
        CHECK_EQ(s.last_error, 0);
        sim_done(&s);
}

static void test_checkin_by_press(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 2);
        engine_set_default_protocol(s.engine, p);
        sim_tool(&s, true);
        sim_hold(&s, 1000);
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_IDLE);

        /* one sample of a step to 60 N lifts the smoothed force to 13.3 N: contact */
        sim_ramp(&s, 60, PERIOD_MS);
        nsec_t contact = s.now;
        sim_hold(&s, 1500);
        CHECK_EQ(sim_ev(&s, EVENT_CHECKIN, 0)->at, contact + MS(1000));
        CHECK_EQ(sim_ev(&s, EVENT_PRESS, 0)->at, contact + MS(1000));
        CHECK(engine_session(s.engine));
        CHECK(engine_session(s.engine)->athlete == NULL);
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_PRESSING);
        sim_done(&s);
}

static void test_checkin_by_tap(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 3);
        sim_input(&s, INPUT_SWITCH_TAP);
        CHECK_EQ(sim_count(&s, EVENT_CHECKIN), 0); /* no default protocol: nothing to start */
        engine_set_default_protocol(s.engine, p);
        sim_advance_ms(&s, 100);
        sim_input(&s, INPUT_SWITCH_TAP);
        CHECK_EQ(sim_ev(&s, EVENT_CHECKIN, 0)->at, SIM_T0 + MS(100));
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_POINT);
        CHECK_EQ(engine_cue(s.engine)->step, 0);
        sim_done(&s);
}

static void test_auto_start_settle(void) {
        ProtocolStep st = sim_press_step("a", HOLD_START_AUTO, 5000);
        _cleanup_(protocol_freep) Protocol *p = sim_protocol("auto", &st, 1);
        Sim s;

        sim_init(&s, NULL, 0.3, 4);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        sim_hold(&s, 200);
        nsec_t t0 = s.now;
        /* step to 60 N: 13.3 N after one sample (contact), 23.6 N after two (in the band) */
        sim_ramp(&s, 60, PERIOD_MS);
        sim_hold(&s, 1000);
        CHECK_EQ(sim_ev(&s, EVENT_PRESS, 0)->at, t0 + MS(PERIOD_MS));
        CHECK_EQ(sim_ev(&s, EVENT_HOLD_START, 0)->at, t0 + MS(2 * PERIOD_MS) + MS(500));
        sim_hold(&s, 5000);
        CHECK_EQ(sim_ev(&s, EVENT_RELEASE_CUE, 0)->at, t0 + MS(2 * PERIOD_MS + 500 + 5000));
        sim_ramp(&s, 0, 2500);
        CHECK(s.finished);
        CHECK_EQ(rep_of(s.finished, 0, 0)->outcome, REP_COMPLETED);
        sim_done(&s);
}

static void test_auto_start_out_of_band(void) {
        ProtocolStep st = sim_press_step("a", HOLD_START_AUTO, 5000);
        _cleanup_(protocol_freep) Protocol *p = sim_protocol("auto", &st, 1);
        Sim s;

        sim_init(&s, NULL, NOISE, 5);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        sim_ramp(&s, 15, 300); /* contact but below the band: searching */
        sim_hold(&s, 3000);
        CHECK_EQ(sim_count(&s, EVENT_PRESS), 1);
        CHECK_EQ(sim_count(&s, EVENT_HOLD_START), 0);
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_PRESSING);
        sim_done(&s);
}

static void test_early_release(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 6);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        nsec_t tap = press_and_confirm(&s);
        sim_hold(&s, 3000);
        sim_ramp(&s, 0, 100);
        sim_hold(&s, 200);
        const EngineEvent *ev = sim_event(&s, EVENT_EARLY_RELEASE, 0);
        CHECK(ev);
        CHECK_EQ(sim_count(&s, EVENT_RELEASE_CUE), 0);
        const SessionRep *r = rep_of(engine_session(s.engine), 0, 0);
        CHECK_EQ(r->outcome, REP_EARLY_RELEASE);
        /* 60 -> 0 N in 100 ms: the smoothed force is last above 48 N on the third sample */
        CHECK_NEAR(r->hold_ms, 3000 + 3 * PERIOD_MS, PERIOD_MS);
        CHECK(r->release_too_fast);
        CHECK(r->release_ms < 200);
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_REST);
        CHECK(ev->at > tap + MS(3000));
        sim_done(&s);
}

static void test_release_too_fast(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 7);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        press_and_confirm(&s);
        sim_hold(&s, 7100);
        sim_ramp(&s, 0, 500); /* a snap instead of a slow release */
        sim_hold(&s, 100);
        const SessionRep *r = rep_of(engine_session(s.engine), 0, 0);
        CHECK_EQ(r->outcome, REP_COMPLETED);
        CHECK(r->release_too_fast);
        CHECK_NEAR(r->release_ms, (500 * 55 / 60) - 100, 2 * PERIOD_MS);
        sim_done(&s);
}

static void test_over_hold(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 8);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        nsec_t tap = press_and_confirm(&s);
        sim_hold(&s, 12000);
        CHECK_EQ(sim_ev(&s, EVENT_OVER_HOLD, 0)->at, tap + MS(10000));
        CHECK(engine_cue(s.engine)->warnings & CUE_WARN_OVER_HOLD);
        sim_ramp(&s, 0, 3000);
        const SessionRep *r = rep_of(engine_session(s.engine), 0, 0);
        CHECK_EQ(r->outcome, REP_COMPLETED);
        CHECK(r->over_hold);
        CHECK(r->hold_ms > 10000);
        CHECK_EQ(engine_cue(s.engine)->warnings, 0);
        sim_done(&s);
}

static void test_over_force_transient(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 9);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        press_and_confirm(&s);
        sim_hold(&s, 2000);
        sim_ramp(&s, 300, PERIOD_MS);
        sim_hold(&s, 300);
        CHECK(engine_cue(s.engine)->warnings & CUE_WARN_OVER_FORCE);
        sim_ramp(&s, 60, PERIOD_MS);
        sim_hold(&s, 500);
        CHECK_EQ(engine_cue(s.engine)->warnings & CUE_WARN_OVER_FORCE, 0);
        sim_hold(&s, 5000);
        sim_ramp(&s, 0, 3000);
        CHECK_EQ(sim_count(&s, EVENT_OVER_FORCE), 1);
        const SessionRep *r = rep_of(engine_session(s.engine), 0, 0);
        CHECK_EQ(r->outcome, REP_COMPLETED);
        CHECK_EQ(r->over_force_warnings, 1);
        CHECK(r->force_peak_n > 250);
        sim_done(&s);
}

static void test_over_force_sustained(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 10);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        press_and_confirm(&s);
        sim_hold(&s, 2000);
        nsec_t spike = s.now;
        sim_ramp(&s, 300, PERIOD_MS);
        sim_hold(&s, 1500);
        const EngineEvent *of = sim_event(&s, EVENT_OVER_FORCE, 0);
        CHECK(of);
        /* 60 -> 300 N step: the smoothed force passes 250 N on the 7th sample */
        CHECK_EQ(of->at, spike + MS(7 * PERIOD_MS));
        CHECK_EQ(sim_ev(&s, EVENT_RELEASE_CUE, 0)->at, of->at + MS(1000));
        sim_ramp(&s, 0, 3000);
        const SessionRep *r = rep_of(engine_session(s.engine), 0, 0);
        CHECK_EQ(r->outcome, REP_OVER_FORCE);
        sim_done(&s);
}

static Protocol *glute_like(void) {
        ProtocolStep st[4];
        const char *names[3] = { "gmed", "piri", "tfl" };
        for (int i = 0; i < 3; i++) {
                st[i] = sim_press_step(names[i], HOLD_START_CONFIRM, 20000);
                st[i].min_hold_ms = 10000;
                st[i].max_hold_ms = 25000;
                st[i].tap_ends_hold = true;
                st[i].needs_release_tap = true;
                st[i].not_released = NOT_RELEASED_REVISIT;
                st[i].max_tries = 3;
                st[i].rest_ms = 10000;
        }
        st[3] = sim_press_step("stretch", HOLD_START_TIMER, 30000);
        st[3].kind = STEP_STRETCH;
        st[3].min_hold_ms = 0;
        st[3].max_hold_ms = 30000;
        return sim_protocol("glute", st, 4);
}

/* Presses, holds, optionally taps after tap_after_ms, releases slowly. */
static void glute_rep(Sim *s, double tap_after_ms) {
        press_and_confirm(s);
        if (tap_after_ms > 0) {
                sim_hold(s, tap_after_ms);
                sim_input(s, INPUT_SWITCH_TAP);
                sim_hold(s, 200);
        } else
                sim_hold(s, 20200);
        sim_ramp(s, 0, 3000);
        sim_hold(s, 100);
}

static void test_not_released_revisit(void) {
        _cleanup_(protocol_freep) Protocol *p = glute_like();
        Sim s;

        sim_init(&s, NULL, NOISE, 11);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);

        glute_rep(&s, 0);      /* gmed: does not release by 20 s */
        CHECK_EQ(sim_count(&s, EVENT_NOT_RELEASED), 1);
        sim_advance_ms(&s, 10000);
        glute_rep(&s, 15000); /* piri releases at 15 s */
        sim_advance_ms(&s, 10000);
        glute_rep(&s, 12000); /* tfl */
        sim_advance_ms(&s, 10000);
        glute_rep(&s, 0);      /* gmed, 2nd visit: still not */
        sim_advance_ms(&s, 10000);
        /* no other point left: the 3rd visit waits for the stretch (work elsewhere) */
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_HOLD); /* the stretch runs by the clock */
        sim_advance_ms(&s, 30000 + 2000 + 5000);
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_POINT);
        glute_rep(&s, 0);      /* gmed, 3rd visit: still not: never more than 3 x 20 s */
        CHECK(s.finished);
        CHECK_EQ(s.finished->status, SESSION_COMPLETED);

        /* visiting order: gmed, piri, tfl, gmed, stretch, gmed */
        static const int order[] = { 0, 1, 2, 0, 3, 0 };
        CHECK_EQ(sim_count(&s, EVENT_STEP), 6);
        for (unsigned i = 0; i < 6; i++)
                CHECK_EQ(sim_event(&s, EVENT_STEP, i)->step, order[i]);

        const SessionStep *g = &s.finished->steps[0];
        CHECK_EQ(g->n_reps, 3);
        for (unsigned i = 0; i < 3; i++) {
                CHECK_EQ(g->reps[i].outcome, REP_NOT_RELEASED);
                CHECK_EQ(g->reps[i].attempt, i + 1);
                CHECK(g->reps[i].hold_ms >= 20000);
        }
        CHECK_EQ(rep_of(s.finished, 1, 0)->outcome, REP_COMPLETED);
        CHECK_NEAR(rep_of(s.finished, 1, 0)->hold_ms, 15000 + 200 + 650, 3 * PERIOD_MS);
        CHECK_EQ(rep_of(s.finished, 2, 0)->outcome, REP_COMPLETED);
        CHECK_EQ(rep_of(s.finished, 3, 0)->outcome, REP_COMPLETED);
        CHECK_EQ(rep_of(s.finished, 3, 0)->hold_ms, 30000);
        sim_done(&s);
}

static void test_revisit_then_released(void) {
        _cleanup_(protocol_freep) Protocol *p = glute_like();
        Sim s;

        sim_init(&s, NULL, NOISE, 12);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        glute_rep(&s, 0);
        sim_advance_ms(&s, 10000);
        glute_rep(&s, 11000);
        sim_advance_ms(&s, 10000);
        glute_rep(&s, 11000);
        sim_advance_ms(&s, 10000);
        glute_rep(&s, 14000); /* gmed releases on the 2nd visit: no 3rd */
        sim_advance_ms(&s, 10000);
        CHECK_EQ(engine_cue(s.engine)->step, 3);
        CHECK_EQ(engine_session(s.engine)->steps[0].n_reps, 2);
        CHECK_EQ(engine_session(s.engine)->steps[0].reps[1].outcome, REP_COMPLETED);
        CHECK_EQ(engine_session(s.engine)->steps[0].reps[1].attempt, 2);
        sim_done(&s);
}

static void test_release_without_tap_is_not_released(void) {
        _cleanup_(protocol_freep) Protocol *p = glute_like();
        Sim s;

        sim_init(&s, NULL, NOISE, 13);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        press_and_confirm(&s);
        sim_hold(&s, 14000); /* past the minimum, but let go without saying it released */
        sim_ramp(&s, 0, 3000);
        CHECK_EQ(rep_of(engine_session(s.engine), 0, 0)->outcome, REP_NOT_RELEASED);
        CHECK_EQ(sim_count(&s, EVENT_RELEASE_CUE), 0);
        sim_done(&s);
}

static Protocol *ball_like(void) {
        ProtocolStep st = sim_press_step("calf", HOLD_START_AUTO, 90000);
        st.min_hold_ms = 30000;
        st.max_hold_ms = 100000;
        st.tap_ends_hold = true;
        st.settle_ms = 1000;
        st.contact_n = 15;
        st.release_n = 8;
        st.target_min_n = 30;
        st.target_max_n = 500;
        st.safety_max_n = 700;
        return sim_protocol("ball", &st, 1);
}

static void test_tap_ends_hold_after_min(void) {
        _cleanup_(protocol_freep) Protocol *p = ball_like();
        Sim s;

        sim_init(&s, NULL, NOISE, 14);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        sim_ramp(&s, 150, 1000);
        sim_hold(&s, 2000);
        const EngineEvent *hs = sim_event(&s, EVENT_HOLD_START, 0);
        CHECK(hs);
        sim_advance_to(&s, s.now); /* no-op */
        sim_hold(&s, (double) (hs->at + MS(10000) - s.now) / 1e6);
        sim_input(&s, INPUT_SWITCH_TAP); /* too early: ignored */
        CHECK_EQ(sim_count(&s, EVENT_RELEASE_CUE), 0);
        sim_hold(&s, 35000);
        nsec_t tap = s.now;
        sim_input(&s, INPUT_SWITCH_TAP);
        CHECK_EQ(sim_ev(&s, EVENT_RELEASE_CUE, 0)->at, tap);
        sim_ramp(&s, 0, 4000);
        CHECK(s.finished);
        CHECK_EQ(rep_of(s.finished, 0, 0)->outcome, REP_COMPLETED);
        CHECK(rep_of(s.finished, 0, 0)->hold_ms > 45000);
        CHECK(rep_of(s.finished, 0, 0)->hold_ms < 47000);
        sim_done(&s);
}

static void test_ball_release_cue_at_target(void) {
        _cleanup_(protocol_freep) Protocol *p = ball_like();
        Sim s;

        sim_init(&s, NULL, NOISE, 15);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        sim_ramp(&s, 150, 1000);
        sim_hold(&s, 91500);
        const EngineEvent *hs = sim_event(&s, EVENT_HOLD_START, 0);
        CHECK_EQ(sim_ev(&s, EVENT_RELEASE_CUE, 0)->at, hs->at + MS(90000));
        sim_ramp(&s, 0, 4000);
        CHECK_EQ(rep_of(s.finished, 0, 0)->outcome, REP_COMPLETED);
        CHECK(!rep_of(s.finished, 0, 0)->over_hold);
        sim_done(&s);
}

static void test_skip(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 16);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        sim_hold(&s, 2000);
        sim_input(&s, INPUT_SWITCH_LONG);
        CHECK_EQ(sim_ev(&s, EVENT_SKIPPED, 0)->at, SIM_T0 + MS(2000));
        CHECK_EQ(sim_ev(&s, EVENT_STEP, 1)->at, SIM_T0 + MS(2000));
        CHECK_EQ(sim_ev(&s, EVENT_STEP, 1)->step, 1);
        CHECK_EQ(rep_of(engine_session(s.engine), 0, 0)->outcome, REP_SKIPPED);
        CHECK_EQ(rep_of(engine_session(s.engine), 0, 0)->hold_ms, MS_UNKNOWN);
        /* skipping the last point completes the session */
        sim_input(&s, INPUT_CMD_SKIP);
        CHECK(s.finished);
        CHECK_EQ(s.finished->status, SESSION_COMPLETED);
        sim_done(&s);
}

static void test_abort(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 17);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        nsec_t tap = press_and_confirm(&s);
        sim_hold(&s, 4000);
        sim_input(&s, INPUT_SWITCH_VERY_LONG);
        CHECK(s.finished);
        CHECK_EQ(s.finished->status, SESSION_ABORTED);
        CHECK_EQ(s.finished->ended_mono, tap + MS(4000));
        CHECK_EQ(rep_of(s.finished, 0, 0)->outcome, REP_SKIPPED);
        CHECK_EQ(rep_of(s.finished, 0, 0)->hold_ms, 4000);
        CHECK_EQ(s.finished->steps[1].n_reps, 0);
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_DONE);
        sim_advance_ms(&s, 3000);
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_IDLE);
        sim_done(&s);
}

static void test_stop_command_at_cue(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 18);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        sim_hold(&s, 500);
        sim_input(&s, INPUT_CMD_STOP);
        CHECK_EQ(s.finished->status, SESSION_ABORTED);
        CHECK_EQ(s.finished->steps[0].n_reps, 0); /* never touched: not recorded */
        sim_done(&s);
}

static void test_tool_lost_resume(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 19);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        nsec_t tap = press_and_confirm(&s);
        sim_hold(&s, 3000);
        sim_tool(&s, false);
        CHECK_EQ(sim_ev(&s, EVENT_TOOL_LOST, 0)->at, tap + MS(3000));
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_PAUSED);
        CHECK_EQ(engine_cue(s.engine)->due_ns, tap + MS(3000 + 20000));
        CHECK(engine_cue(s.engine)->warnings & CUE_WARN_TOOL_LOST);
        sim_hold(&s, 5000);
        sim_tool(&s, true);
        CHECK_EQ(sim_ev(&s, EVENT_TOOL_BACK, 0)->value, 5000);
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_HOLD);
        CHECK_EQ(engine_cue(s.engine)->due_ns, tap + MS(7000 + 5000));
        sim_hold(&s, 4300);
        CHECK_EQ(sim_ev(&s, EVENT_RELEASE_CUE, 0)->at, tap + MS(12000));
        sim_ramp(&s, 0, 3000);
        const SessionRep *r = rep_of(engine_session(s.engine), 0, 0);
        CHECK_EQ(r->outcome, REP_COMPLETED);
        CHECK_NEAR(r->hold_ms, 7300 + 650, 3 * PERIOD_MS);
        sim_done(&s);
}

static void test_tool_lost_abandoned(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 20);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        nsec_t tap = press_and_confirm(&s);
        sim_hold(&s, 3000);
        sim_tool(&s, false);
        sim_advance_ms(&s, 30000);
        CHECK(s.finished);
        CHECK_EQ(s.finished->status, SESSION_ABANDONED);
        CHECK_EQ(s.finished->ended_mono, tap + MS(3000 + 20000));
        CHECK_EQ(rep_of(s.finished, 0, 0)->outcome, REP_TOOL_LOST);
        CHECK_EQ(rep_of(s.finished, 0, 0)->hold_ms, 3000);
        sim_done(&s);
}

static void test_idle_timeout(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 21);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        sim_hold(&s, 130000);
        CHECK(s.finished);
        CHECK_EQ(s.finished->status, SESSION_ABANDONED);
        CHECK_EQ(s.finished->ended_mono, SIM_T0 + MS(120000));
        CHECK_EQ(s.finished->steps[0].n_reps, 0);
        sim_done(&s);
}

static void test_walk_away_mid_protocol(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 22);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        press_and_confirm(&s);
        sim_hold(&s, 7300);
        sim_ramp(&s, 0, 3000);
        nsec_t rest_end = sim_ev(&s, EVENT_RELEASED, 0)->at + MS(5000);
        sim_hold(&s, 200000);
        CHECK_EQ(s.finished->status, SESSION_ABANDONED);
        CHECK_EQ(s.finished->ended_mono, rest_end + MS(120000));
        CHECK_EQ(rep_of(s.finished, 0, 0)->outcome, REP_COMPLETED);
        CHECK_EQ(s.finished->steps[1].n_reps, 0);
        sim_done(&s);
}

static void test_stretch_timed(void) {
        ProtocolStep st[2];
        for (int i = 0; i < 2; i++) {
                st[i] = sim_press_step(i ? "cat" : "knee", HOLD_START_TIMER, 30000);
                st[i].kind = STEP_STRETCH;
                st[i].min_hold_ms = 0;
                st[i].max_hold_ms = 30000;
        }
        _cleanup_(protocol_freep) Protocol *p = sim_protocol("stretch", st, 2);
        Sim s;

        sim_init(&s, NULL, 0, 23);
        sim_start(&s, p, NULL);
        CHECK_EQ(sim_ev(&s, EVENT_HOLD_START, 0)->at, SIM_T0);
        sim_advance_ms(&s, 31000);
        CHECK_EQ(sim_ev(&s, EVENT_RELEASE_CUE, 0)->at, SIM_T0 + MS(30000));
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_RELEASE);
        sim_advance_ms(&s, 2000);
        /* the release cue lasts min_release (2 s), then the rest */
        CHECK_EQ(sim_ev(&s, EVENT_REST, 0)->at, SIM_T0 + MS(32000));
        sim_advance_ms(&s, 4000);
        CHECK_EQ(sim_ev(&s, EVENT_HOLD_START, 1)->at, SIM_T0 + MS(37000));
        sim_advance_ms(&s, 10000);
        sim_input(&s, INPUT_SWITCH_TAP); /* advanced by a tap */
        CHECK_EQ(sim_ev(&s, EVENT_RELEASE_CUE, 1)->at, SIM_T0 + MS(47000));
        sim_advance_ms(&s, 2000);
        CHECK(s.finished);
        CHECK_EQ(s.finished->status, SESSION_COMPLETED);
        CHECK_EQ(rep_of(s.finished, 0, 0)->hold_ms, 30000);
        CHECK_EQ(rep_of(s.finished, 1, 0)->hold_ms, 10000);
        CHECK_EQ(rep_of(s.finished, 1, 0)->release_ms, MS_UNKNOWN);
        CHECK(!rep_of(s.finished, 1, 0)->has_force);
        sim_done(&s);
}

static void test_rest_skipped_by_tap(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 24);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        press_and_confirm(&s);
        sim_hold(&s, 7300);
        sim_ramp(&s, 0, 3000);
        CHECK_EQ(engine_cue(s.engine)->kind, CUE_REST);
        sim_hold(&s, 1000);
        nsec_t t = s.now;
        sim_input(&s, INPUT_SWITCH_TAP);
        CHECK_EQ(sim_ev(&s, EVENT_STEP, 1)->at, t);
        sim_done(&s);
}

static void test_measure_ppt(void) {
        ProtocolStep st = sim_press_step("trap", HOLD_START_CONFIRM, 0);
        st.kind = STEP_MEASURE;
        st.min_hold_ms = st.target_hold_ms = st.max_hold_ms = 0;
        st.reps = 3;
        st.rest_ms = 20000;
        st.contact_n = 2;
        st.release_n = 1;
        st.target_min_n = st.target_max_n = 0;
        st.safety_max_n = 150;
        _cleanup_(protocol_freep) Protocol *p = sim_protocol("ppt", &st, 1);
        static const double pain[3] = { 30, 34, 26 };
        Sim s;

        sim_init(&s, NULL, 0.2, 25);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        for (int i = 0; i < 3; i++) {
                sim_hold(&s, 500);
                sim_ramp(&s, pain[i], pain[i] / 5.0 * 1000); /* 5 N/s */
                sim_input(&s, INPUT_SWITCH_TAP);
                sim_ramp(&s, 0, 2000);
                sim_advance_ms(&s, 20000);
        }
        CHECK(s.finished);
        CHECK_EQ(s.finished->status, SESSION_COMPLETED);
        CHECK_EQ(sim_count(&s, EVENT_MEASURED), 3);
        CHECK_EQ(s.finished->steps[0].n_reps, 3);
        for (int i = 0; i < 3; i++) {
                const SessionRep *r = rep_of(s.finished, 0, i);
                CHECK(r->has_threshold);
                /* the smoothed force trails a 5 N/s ramp by tau x slope = 0.25 N */
                CHECK_NEAR(r->threshold_n, pain[i] - 0.25, 0.3);
                CHECK_NEAR(r->ramp_n_per_s, 5.0, 0.25);
                CHECK_EQ(r->outcome, REP_COMPLETED);
        }
        _cleanup_free_ char *json = NULL;
        CHECK_EQ(session_to_json_string(s.finished, p, false, &json), 0);
        json_object *o = json_tokener_parse(json), *steps, *step, *mean;
        CHECK(o);
        CHECK(json_object_object_get_ex(o, "steps", &steps));
        step = json_object_array_get_idx(steps, 0);
        CHECK(json_object_object_get_ex(step, "threshold_mean_n", &mean));
        double m = (rep_of(s.finished, 0, 0)->threshold_n + rep_of(s.finished, 0, 1)->threshold_n +
                    rep_of(s.finished, 0, 2)->threshold_n) / 3;
        CHECK_NEAR(json_object_get_double(mean), m, 1e-3);
        json_object_put(o);
        sim_done(&s);
}

static void test_toolless_confirm(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, 0, 26);
        sim_start(&s, p, NULL);
        sim_advance_ms(&s, 4000);
        sim_input(&s, INPUT_SWITCH_TAP);
        nsec_t tap = s.now;
        CHECK_EQ(sim_ev(&s, EVENT_HOLD_START, 0)->at, tap);
        sim_advance_ms(&s, 10000);
        CHECK_EQ(sim_ev(&s, EVENT_RELEASE_CUE, 0)->at, tap + MS(7000));
        CHECK_EQ(sim_ev(&s, EVENT_REST, 0)->at, tap + MS(9000));
        const SessionRep *r = rep_of(engine_session(s.engine), 0, 0);
        CHECK_EQ(r->outcome, REP_COMPLETED);
        CHECK_EQ(r->hold_ms, 7000);
        CHECK_EQ(r->release_ms, MS_UNKNOWN);
        CHECK(!r->has_force);
        sim_done(&s);
}

static void test_tare(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;
        EngineStatus st;

        sim_init(&s, NULL, NOISE, 27);
        sim_tool(&s, true);
        sim_ramp(&s, 8, 100); /* strap tension on the tool, below contact */
        sim_hold(&s, 1000);
        sim_input(&s, INPUT_TARE);
        engine_status(s.engine, s.now, &st);
        CHECK_NEAR(st.force_n, 0, 0.01);
        sim_start(&s, p, NULL);
        sim_ramp(&s, 16, 100); /* 8 N over the tare: no contact yet */
        sim_hold(&s, 500);
        CHECK_EQ(sim_count(&s, EVENT_PRESS), 0);
        sim_ramp(&s, 25, 100);
        sim_hold(&s, 500);
        CHECK_EQ(sim_count(&s, EVENT_PRESS), 1);
        sim_done(&s);
}

static void test_hysteresis_no_chatter(void) {
        ProtocolStep st = sim_press_step("a", HOLD_START_AUTO, 5000);
        _cleanup_(protocol_freep) Protocol *p = sim_protocol("auto", &st, 1);
        Sim s;

        /* heavy noise straddling the contact threshold: one press, no flapping */
        sim_init(&s, NULL, 1.5, 28);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        sim_ramp(&s, 10, 500);
        sim_hold(&s, 5000);
        CHECK_EQ(sim_count(&s, EVENT_PRESS), 1);
        /* and straddling the band's lower edge: the hold starts once and runs */
        sim_ramp(&s, 20.5, 200);
        sim_hold(&s, 8000);
        CHECK_EQ(sim_count(&s, EVENT_HOLD_START), 1);
        CHECK_EQ(sim_count(&s, EVENT_RELEASE_CUE), 1);
        sim_done(&s);
}

static void test_invalid_inputs(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        _cleanup_(engine_freep) Engine *e = NULL;

        CHECK_EQ(engine_new(&e, NULL), 0);
        CHECK_EQ(engine_feed(e, &(EngineInput) { .type = INPUT_FORCE, .now = 100, .force_n = NAN }), -EINVAL);
        CHECK_EQ(engine_feed(e, &(EngineInput) { .type = INPUT_FORCE, .now = 100, .force_n = INFINITY }), -EINVAL);
        CHECK_EQ(engine_feed(e, &(EngineInput) { .type = INPUT_FORCE, .now = 100, .force_n = 1e9 }), -EINVAL);
        CHECK_EQ(engine_feed(e, &(EngineInput) { .type = INPUT_CMD_START, .now = 100 }), -EINVAL);
        CHECK_EQ(engine_feed(e, &(EngineInput) { .type = (EngineInputType) 99, .now = 100 }), -EINVAL);
        CHECK_EQ(engine_feed(e, &(EngineInput) { .type = INPUT_CMD_START, .now = 200, .protocol = p }), 0);
        CHECK_EQ(engine_feed(e, &(EngineInput) { .type = INPUT_CMD_START, .now = 300, .protocol = p }), -EBUSY);
        CHECK_EQ(engine_feed(e, &(EngineInput) { .type = INPUT_SWITCH_TAP, .now = 150 }), -EINVAL);
        CHECK_EQ(engine_tick(e, 100), -EINVAL);
        /* the session was not disturbed */
        CHECK(engine_session(e));
        CHECK_EQ(engine_cue(e)->kind, CUE_POINT);
}

static void test_session_json(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 29);
        engine_set_next_session_id(s.engine, "0123456789abcdef");
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        press_and_confirm(&s);
        sim_hold(&s, 7300);
        sim_ramp(&s, 0, 3000);
        sim_advance_ms(&s, 1000);
        sim_input(&s, INPUT_CMD_STOP);
        CHECK(s.finished);

        _cleanup_free_ char *json = NULL;
        CHECK_EQ(session_to_json_string(s.finished, p, false, &json), 0);
        json_object *o = json_tokener_parse(json), *v, *steps, *reps, *rep;
        CHECK(o);
        CHECK(json_object_object_get_ex(o, "id", &v));
        CHECK_STR(json_object_get_string(v), "0123456789abcdef");
        CHECK(json_object_object_get_ex(o, "athlete", &v));
        CHECK(v == NULL); /* anonymous: JSON null */
        CHECK(json_object_object_get_ex(o, "status", &v));
        CHECK_STR(json_object_get_string(v), "aborted");
        CHECK(json_object_object_get_ex(o, "started_at", &v));
        /* wall offset puts SIM_T0 at 1795000000 s = 2026-11-18T11:06:40Z */
        CHECK_STR(json_object_get_string(v), "2026-11-18T11:06:40.000Z");
        CHECK(json_object_object_get_ex(o, "hub", &v));
        CHECK_STR(json_object_get_string(v), "hub");
        CHECK(json_object_object_get_ex(o, "steps", &steps));
        CHECK_EQ(json_object_array_length(steps), 2);
        json_object *st0 = json_object_array_get_idx(steps, 0);
        CHECK(json_object_object_get_ex(st0, "point", &v));
        CHECK_STR(json_object_get_string(v), "p1");
        CHECK(json_object_object_get_ex(st0, "side", &v));
        CHECK_STR(json_object_get_string(v), "right");
        CHECK(json_object_object_get_ex(st0, "target_hold_ms", &v));
        CHECK_EQ(json_object_get_int64(v), 7000);
        CHECK(json_object_object_get_ex(st0, "reps", &reps));
        CHECK_EQ(json_object_array_length(reps), 1);
        rep = json_object_array_get_idx(reps, 0);
        static const char *const keys[] = { "outcome", "hold_ms", "release_ms", "release_too_fast",
                                            "force_mean_n", "force_peak_n", "over_hold", "attempt" };
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                CHECK(json_object_object_get_ex(rep, keys[i], NULL));
        CHECK(json_object_object_get_ex(rep, "outcome", &v));
        CHECK_STR(json_object_get_string(v), "completed");
        CHECK(json_object_object_get_ex(rep, "hold_ms", &v));
        CHECK_EQ(json_object_get_int64(v), rep_of(s.finished, 0, 0)->hold_ms);
        CHECK(json_object_object_get_ex(rep, "release_too_fast", &v));
        CHECK(json_object_is_type(v, json_type_boolean));
        json_object *st1 = json_object_array_get_idx(steps, 1);
        CHECK(json_object_object_get_ex(st1, "reps", &reps));
        CHECK_EQ(json_object_array_length(reps), 0);
        json_object_put(o);
        sim_done(&s);
}


static void test_no_checkin_while_still_pressing_after_stop(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Sim s;

        sim_init(&s, NULL, NOISE, 30);
        engine_set_default_protocol(s.engine, p);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        press_and_confirm(&s);
        sim_hold(&s, 2000);
        sim_input(&s, INPUT_SWITCH_VERY_LONG);
        CHECK_EQ(s.finished->status, SESSION_ABORTED);
        sim_hold(&s, 5000); /* still leaning on the tool */
        CHECK_EQ(sim_count(&s, EVENT_CHECKIN), 1);
        sim_ramp(&s, 0, 500);
        sim_hold(&s, 1000);
        nsec_t again = s.now;
        sim_ramp(&s, 60, PERIOD_MS);
        sim_hold(&s, 1500);
        CHECK_EQ(sim_count(&s, EVENT_CHECKIN), 2);
        CHECK_EQ(sim_ev(&s, EVENT_CHECKIN, 1)->at, again + MS(PERIOD_MS + 1000));
        sim_done(&s);
}

/* What the athlete is told (EngineStatus): prompts, release reason, tap_counts, targets,
 * next, the safety notice, through a glute-like run with an over-force warning. */
static void test_status_guidance(void) {
        _cleanup_(protocol_freep) Protocol *p = glute_like();
        EngineStatus st;
        Sim s;

        sim_init(&s, NULL, NOISE, 21);
        sim_tool(&s, true);
        engine_status(s.engine, s.now, &st);
        CHECK_EQ(st.steps_total, -1);
        CHECK(!st.safety_notice && !st.prompt && st.next.kind == NEXT_NONE);
        CHECK(isnan(st.target_min_n) && st.target_hold_ms == -1);

        sim_start(&s, p, NULL);
        engine_status(s.engine, s.now, &st);
        CHECK_EQ(st.state, CUE_POINT);
        CHECK_EQ(st.steps_total, 4);
        CHECK_STR(st.side, "right");
        CHECK_STR(st.instruction, "press");
        CHECK_STR(st.prompt, "Find the spot, then tap");
        CHECK_STR(st.safety_notice, protocol_safety_notice(p));
        CHECK_EQ(st.target_hold_ms, 20000);
        CHECK_NEAR(st.target_min_n, 20, 1e-9);
        CHECK_NEAR(st.safety_max_n, 250, 1e-9);
        CHECK_EQ(st.next.kind, NEXT_POINT);
        CHECK_EQ(st.next.step, 1);
        CHECK_STR(st.next.point, "piri");

        press_and_confirm(&s);
        engine_status(s.engine, s.now, &st);
        CHECK_STR(st.prompt, "Hold the pressure");
        CHECK(!st.tap_counts);
        /* too hard: the prompt says so while the warning lasts */
        sim_ramp(&s, 300, 100);
        sim_hold(&s, 200);
        engine_status(s.engine, s.now, &st);
        CHECK(st.state == CUE_HOLD && (engine_cue(s.engine)->warnings & CUE_WARN_OVER_FORCE));
        CHECK_STR(st.prompt, "Too hard: ease off");
        sim_ramp(&s, 60, 100);
        sim_hold(&s, 10000);
        engine_status(s.engine, s.now, &st);
        CHECK(st.tap_counts);
        CHECK_STR(st.prompt, "Tap when it releases");
        CHECK_EQ(st.release, CUE_RELEASE_NONE);
        sim_hold(&s, 10000);                 /* no tap by 20 s */
        engine_status(s.engine, s.now, &st);
        CHECK_EQ(st.state, CUE_RELEASE);
        CHECK_EQ(st.release, CUE_RELEASE_NOT_RELEASED);
        CHECK(!st.tap_counts);
        CHECK_STR(st.prompt, "Let go, we come back to this point later");
        CHECK_EQ(st.next.kind, NEXT_POINT);  /* piri first; gmed comes back after tfl */
        CHECK_EQ(st.next.step, 1);
        sim_ramp(&s, 0, 3000);
        engine_status(s.engine, s.now, &st);
        CHECK_EQ(st.state, CUE_REST);
        CHECK_STR(st.prompt, "Rest");
        CHECK_EQ(st.release, CUE_RELEASE_NONE);
        CHECK_EQ(st.next.step, 1);
        sim_done(&s);
}

/* The forecast of a hold is what the engine then does: from min_hold a tap counts (when a tap
 * can end the hold), and at target_hold the release cue, "not released" when the point needs a
 * release tap, "done" otherwise. */
static void forecast_case(Protocol *p, uint64_t seed, CueRelease expected) {
        const ProtocolStep *st = &p->steps[0];
        Cue shown, next;
        Sim s;

        sim_init(&s, NULL, NOISE, seed);
        sim_tool(&s, true);
        sim_start(&s, p, NULL);
        CHECK(!engine_forecast(s.engine, &shown, &next));   /* the point cue: no hold yet */
        if (st->start == HOLD_START_CONFIRM)
                press_and_confirm(&s);
        else {
                sim_ramp(&s, 150, 1000);
                sim_hold(&s, (double) st->settle_ms + 500);
        }
        const EngineEvent *hs = sim_event(&s, EVENT_HOLD_START, 0);
        CHECK(hs);
        sim_hold(&s, 100);
        CHECK(engine_forecast(s.engine, &shown, &next));
        CHECK_EQ(shown.kind, CUE_HOLD);
        CHECK_EQ(shown.tap_counts_ns, hs->at + MS(st->min_hold_ms));
        CHECK_EQ(next.kind, CUE_RELEASE);
        CHECK_EQ(next.since_ns, hs->at + MS(st->target_hold_ms));
        CHECK_EQ(next.release, expected);

        /* past min_hold: the cue says what was forecast */
        sim_hold(&s, (double) (hs->at + MS(st->min_hold_ms) + MS(100) - s.now) / 1e6);
        CHECK_EQ(engine_cue(s.engine)->tap_counts_ns, shown.tap_counts_ns);
        /* past the target, still pressing: the release cue is the forecast one */
        sim_hold(&s, (double) (hs->at + MS(st->target_hold_ms) + MS(100) - s.now) / 1e6);
        CHECK(cue_equal(engine_cue(s.engine), &next));
        CHECK(!engine_forecast(s.engine, &shown, &next));
        sim_done(&s);
}

/* Without a tool the release cue lasts min_release; after the session's last rep the done cue
 * follows then, as forecast; after any other rep a rest follows, which has no forecast. */
static void test_forecast_done(void) {
        _cleanup_(protocol_freep) Protocol *p = two_confirm_points();
        Cue shown, next;
        Sim s;

        sim_init(&s, NULL, 0, 33);
        sim_start(&s, p, NULL);
        for (unsigned point = 0; point < 2; point++) {
                sim_advance_ms(&s, 4000);
                sim_input(&s, INPUT_SWITCH_TAP);
                const EngineEvent *hs = sim_event(&s, EVENT_HOLD_START, point);
                CHECK(hs);
                sim_advance_to(&s, hs->at + MS(p->steps[point].target_hold_ms) + MS(100));
                CHECK_EQ(engine_cue(s.engine)->kind, CUE_RELEASE);
                if (point == 0) {
                        CHECK(!engine_forecast(s.engine, &shown, &next));
                        sim_advance_ms(&s, p->steps[0].min_release_ms + p->steps[0].rest_ms);
                        continue;
                }
                CHECK(engine_forecast(s.engine, &shown, &next));
                CHECK(cue_equal(&shown, engine_cue(s.engine)));
                CHECK_EQ(next.kind, CUE_DONE);
                CHECK_EQ(next.since_ns, sim_ev(&s, EVENT_RELEASE_CUE, 1)->at + MS(p->steps[1].min_release_ms));
                sim_advance_to(&s, next.since_ns + MS(1));
                CHECK(cue_equal(engine_cue(s.engine), &next));
        }
        CHECK(s.finished);
        sim_done(&s);
}

static void test_forecast(void) {
        _cleanup_(protocol_freep) Protocol *glute = glute_like(), *ball = ball_like();

        forecast_case(glute, 31, CUE_RELEASE_NOT_RELEASED);
        if (tap_failed)
                return;
        forecast_case(ball, 32, CUE_RELEASE_DONE);
}

static const TapCase cases[] = {
        { "confirm_hold_completed", test_confirm_hold_completed },
        { "checkin_by_press", test_checkin_by_press },
        { "checkin_by_tap", test_checkin_by_tap },
        { "auto_start_settle", test_auto_start_settle },
        { "auto_start_out_of_band", test_auto_start_out_of_band },
        { "early_release", test_early_release },
        { "release_too_fast", test_release_too_fast },
        { "over_hold", test_over_hold },
        { "over_force_transient", test_over_force_transient },
        { "over_force_sustained", test_over_force_sustained },
        { "not_released_revisit", test_not_released_revisit },
        { "revisit_then_released", test_revisit_then_released },
        { "release_without_tap_is_not_released", test_release_without_tap_is_not_released },
        { "tap_ends_hold_after_min", test_tap_ends_hold_after_min },
        { "ball_release_cue_at_target", test_ball_release_cue_at_target },
        { "skip", test_skip },
        { "abort", test_abort },
        { "stop_command_at_cue", test_stop_command_at_cue },
        { "tool_lost_resume", test_tool_lost_resume },
        { "tool_lost_abandoned", test_tool_lost_abandoned },
        { "idle_timeout", test_idle_timeout },
        { "walk_away_mid_protocol", test_walk_away_mid_protocol },
        { "stretch_timed", test_stretch_timed },
        { "rest_skipped_by_tap", test_rest_skipped_by_tap },
        { "measure_ppt", test_measure_ppt },
        { "toolless_confirm", test_toolless_confirm },
        { "tare", test_tare },
        { "hysteresis_no_chatter", test_hysteresis_no_chatter },
        { "invalid_inputs", test_invalid_inputs },
        { "session_json", test_session_json },
        { "no_checkin_while_still_pressing_after_stop", test_no_checkin_while_still_pressing_after_stop },
        { "status_guidance", test_status_guidance },
        { "forecast", test_forecast },
        { "forecast_done", test_forecast_done },
};

TAP_MAIN(cases)
