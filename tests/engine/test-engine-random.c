/* SPDX-License-Identifier: MIT */
/* Thousands of random athletes on random (valid) protocols, 80 Hz noisy force, random taps,
 * skips, stops, tool losses and walk-aways. After every trace the athlete walks away; the
 * invariants below must hold for every session that was recorded. Seeded: a failure names
 * its trace seed, and `test-engine-random SEED` replays just that trace. */

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/session-json.h"
#include "shared/macro.h"
#include "sim.h"
#include "tap.h"

static unsigned long long total_sessions, total_samples, total_reps, total_means_checked;
static double total_hours;
static unsigned long long outcomes[_REP_OUTCOME_MAX], statuses[_SESSION_STATUS_MAX];


static uint32_t urand(Sim *s, uint32_t lo, uint32_t hi) {
        return lo + (uint32_t) (sim_rand(s) % (uint64_t) (hi - lo + 1));
}

static double frand(Sim *s, double lo, double hi) {
        return lo + (hi - lo) * ((double) (sim_rand(s) >> 11) / 9007199254740992.0);
}

static ProtocolStep random_step(Sim *s, unsigned i) {
        char name[16];
        ProtocolStep st;

        snprintf(name, sizeof name, "pt%u", i);
        for (;;) {
                uint32_t kind = urand(s, 0, 9);
                uint32_t target = urand(s, 1, 40) * 500;

                st = sim_press_step(name, urand(s, 0, 1) ? HOLD_START_AUTO : HOLD_START_CONFIRM, target);
                st.min_hold_ms = target * urand(s, 2, 10) / 10;
                st.max_hold_ms = target + urand(s, 0, 10) * 500;
                st.reps = urand(s, 1, 3);
                st.rest_ms = urand(s, 0, 10) * 1000;
                st.settle_ms = urand(s, 0, 1500);
                st.contact_n = frand(s, 3, 20);
                st.release_n = st.contact_n * frand(s, 0.2, 0.8);
                st.target_min_n = st.contact_n + frand(s, 0, 30);
                st.target_max_n = st.target_min_n + frand(s, 10, 200);
                st.safety_max_n = st.target_max_n + frand(s, 0, 100);
                st.over_force_ms = urand(s, 100, 2000);
                st.min_release_ms = urand(s, 0, 4000);
                st.tap_ends_hold = urand(s, 0, 1);
                st.needs_release_tap = st.tap_ends_hold && urand(s, 0, 1);
                st.not_released = urand(s, 0, 1) ? NOT_RELEASED_REVISIT : NOT_RELEASED_CONTINUE;
                st.max_tries = urand(s, 1, 3);
                st.revisit_rest_ms = urand(s, 0, 4) * 5000;
                if (kind == 0) {
                        st.kind = STEP_STRETCH;
                        st.start = HOLD_START_TIMER;
                        st.min_hold_ms = 0;
                } else if (kind == 1) {
                        st.kind = STEP_MEASURE;
                        st.start = HOLD_START_CONFIRM;
                        st.min_hold_ms = st.target_hold_ms = st.max_hold_ms = 0;
                        st.tap_ends_hold = st.needs_release_tap = false;
                }
                char err[256];
                if (protocol_step_validate(&st, err, sizeof err) == 0)
                        return st;
                free(st.point);
                free(st.muscle);
                free(st.side);
                free(st.label);
                free(st.instruction);
        }
}

/* An athlete who follows the cues, with human imprecision. Returns false when the cue
 * asks for nothing (then a random action happens instead). */
static bool follow_cue(Sim *s, const Protocol *p) {
        const Cue *c = engine_cue(s->engine);
        const ProtocolStep *st = c->step >= 0 ? &p->steps[c->step] : NULL;

        switch (c->kind) {
        case CUE_IDLE:
        case CUE_DONE:
                sim_input(s, INPUT_SWITCH_TAP);
                return true;
        case CUE_POINT:
                if (!st || st->kind == STEP_STRETCH)
                        return false;
                if (!s->tool) {
                        sim_tool(s, true);
                        return true;
                }
                if (st->kind == STEP_MEASURE)
                        sim_ramp(s, st->contact_n + 1, 300);
                else
                        sim_ramp(s, frand(s, st->target_min_n, st->target_max_n), frand(s, 200, 1500));
                return true;
        case CUE_PRESSING:
                if (st && st->kind == STEP_MEASURE) {
                        double pain = frand(s, st->contact_n + 2, st->safety_max_n * 0.9);
                        sim_ramp(s, pain, (pain - s->force) / frand(s, 2, 10) * 1000);
                        sim_input(s, INPUT_SWITCH_TAP);
                } else if (st && st->start == HOLD_START_CONFIRM) {
                        sim_hold(s, frand(s, 0, 1500));
                        sim_input(s, INPUT_SWITCH_TAP);
                } else
                        sim_hold(s, frand(s, 100, 2500));
                return true;
        case CUE_HOLD:
                if (!st)
                        return false;
                if (st->tap_ends_hold && urand(s, 0, 2) == 0) {
                        sim_hold(s, frand(s, st->min_hold_ms * 0.9, st->target_hold_ms));
                        sim_input(s, INPUT_SWITCH_TAP);
                } else if (urand(s, 0, 9) == 0)
                        sim_ramp(s, 0, frand(s, 100, 3000)); /* gives up early */
                else
                        sim_hold(s, (double) (c->due_ns - s->now) / 1e6 + frand(s, 0, 800));
                return true;
        case CUE_RELEASE:
                if (s->force > 0)
                        sim_ramp(s, 0, frand(s, 200, 5000));
                else
                        sim_advance_ms(s, 500);
                return true;
        case CUE_REST:
                sim_advance_ms(s, (double) (c->due_ns - s->now) / 1e6 + frand(s, 0, 100));
                return true;
        case CUE_PAUSED:
                sim_tool(s, true);
                return true;
        default:
                return false;
        }
}

/* Smoothed force range of the samples logged in [from, to] and of the last one before
 * (whose reading is current at `from`); false if there are none. */
static bool force_range(const Sim *s, nsec_t from, nsec_t to, double *lo, double *hi) {
        bool any = false;

        for (size_t i = 0; i < s->n_log; i++) {
                bool last_before = s->log_t[i] < from && (i + 1 == s->n_log || s->log_t[i + 1] >= from);

                if (!last_before && (s->log_t[i] < from || s->log_t[i] > to))
                        continue;
                *lo = any ? MIN(*lo, s->log_f[i]) : s->log_f[i];
                *hi = any ? MAX(*hi, s->log_f[i]) : s->log_f[i];
                any = true;
        }
        return any;
}

static bool event_between(const Sim *s, EngineEventType t, nsec_t from, nsec_t to) {
        for (size_t i = 0; i < s->n_events; i++)
                if (s->events[i].type == t && s->events[i].at >= from && s->events[i].at <= to)
                        return true;
        return false;
}

/* A revisit is never cued right after its own point: other work came between, or a rest
 * of at least revisit_rest (unless the athlete skipped it on purpose). Over all events of
 * the trace, in order (sessions may start and end within the same nanosecond). */
static void check_revisit_spacing(uint64_t seed, const Sim *s, const Protocol *p) {
        size_t prev = SIZE_MAX;

        for (size_t i = 0; i < s->n_events; i++) {
                const EngineEvent *ev = &s->events[i];

                if (ev->type == EVENT_CHECKIN)
                        prev = SIZE_MAX;
                if (ev->type != EVENT_STEP)
                        continue;
                if (prev != SIZE_MAX && s->events[prev].step == ev->step) {
                        /* a skipped rest (long press, command) is the athlete's choice */
                        bool skip_input = false;
                        for (size_t k = 0; k < s->n_skips; k++)
                                skip_input |= s->skips[k] >= s->events[prev].at && s->skips[k] <= ev->at;
                        const ProtocolStep *ps = &p->steps[ev->step];
                        uint32_t need = MAX(ps->rest_ms, ps->revisit_rest_ms);
                        const EngineEvent *rest = NULL;
                        bool skipped = false;

                        for (size_t k = prev + 1; k < i; k++) {
                                if (s->events[k].type == EVENT_REST)
                                        rest = &s->events[k];
                                if (s->events[k].type == EVENT_SKIPPED)
                                        skipped = true;
                        }
                        TAP_EXPECT(skipped || skip_input || (rest && rest->value + 1e-9 >= need && ev->at - rest->at >= MS(need)),
                               "step %d revisited straight after itself at %.3f", ev->step,
                               (double) (ev->at - SIM_T0) / 1e9);
                }
                prev = i;
        }
}

static void check_session(uint64_t seed, const Sim *sim, const Session *se, const Protocol *p) {
        int64_t duration = nsec_to_ms_round(se->ended_mono - se->started_mono);

        TAP_EXPECT(se->status == SESSION_COMPLETED || se->status == SESSION_ABANDONED ||
                     se->status == SESSION_ABORTED, "status %d", se->status);
        TAP_EXPECT(se->ended_mono >= se->started_mono, "ended before started");
        for (size_t i = 0; i < se->n_steps; i++) {
                const ProtocolStep *ps = &p->steps[se->steps[i].protocol_step];
                for (size_t k = 0; k < se->steps[i].n_reps; k++) {
                        const SessionRep *r = &se->steps[i].reps[k];

                        TAP_EXPECT((unsigned) r->outcome < _REP_OUTCOME_MAX, "outcome %d", r->outcome);
                        TAP_EXPECT(r->started_ms >= 0 && r->started_ms <= duration,
                               "started_ms %lld of %lld", (long long) r->started_ms, (long long) duration);
                        if (r->hold_ms != MS_UNKNOWN) {
                                TAP_EXPECT(r->hold_ms >= 0, "negative hold %lld", (long long) r->hold_ms);
                                TAP_EXPECT(r->hold_ms <= duration, "hold %lld longer than session %lld",
                                       (long long) r->hold_ms, (long long) duration);
                                TAP_EXPECT(r->over_hold == (ps->kind != STEP_MEASURE &&
                                                              r->hold_ms > (int64_t) ps->max_hold_ms),
                                       "hold %lld max %u flagged %d", (long long) r->hold_ms,
                                       ps->max_hold_ms, r->over_hold);
                        } else
                                TAP_EXPECT(!r->over_hold, "over_hold without a hold");
                        if (r->release_ms != MS_UNKNOWN) {
                                TAP_EXPECT(r->release_ms >= 0, "negative release %lld", (long long) r->release_ms);
                                TAP_EXPECT(r->release_ms <= duration, "release longer than session");
                                TAP_EXPECT(r->release_too_fast == (ps->kind != STEP_MEASURE &&
                                                                     r->release_ms < (int64_t) ps->min_release_ms),
                                       "release flag");
                        }
                        if (r->outcome == REP_EARLY_RELEASE && ps->kind == STEP_PRESS)
                                TAP_EXPECT(r->hold_ms != MS_UNKNOWN && r->hold_ms <= (int64_t) ps->min_hold_ms,
                                       "early release after the minimum: %lld >= %u",
                                       (long long) r->hold_ms, ps->min_hold_ms);
                        if (r->outcome == REP_COMPLETED && ps->kind == STEP_PRESS)
                                TAP_EXPECT(r->hold_ms != MS_UNKNOWN && r->hold_ms + 1 >= (int64_t) ps->min_hold_ms,
                                       "completed below the minimum: %lld < %u",
                                       (long long) r->hold_ms, ps->min_hold_ms);
                        if (r->outcome == REP_NOT_RELEASED)
                                TAP_EXPECT(ps->needs_release_tap, "not_released without needs_release_tap");
                        TAP_EXPECT(r->attempt >= 1 &&
                                     r->attempt <= (ps->not_released == NOT_RELEASED_REVISIT ? ps->max_tries : 1),
                               "attempt %u", r->attempt);
                        /* started_ms is the cue, which comes before the hold */
                        TAP_EXPECT((r->hold_ms == MS_UNKNOWN) == (r->hold_started_ms == MS_UNKNOWN),
                               "hold_ms %lld but hold_started_ms %lld", (long long) r->hold_ms,
                               (long long) r->hold_started_ms);
                        if (r->hold_started_ms != MS_UNKNOWN)
                                TAP_EXPECT(r->started_ms <= r->hold_started_ms, "started_ms %lld after the hold %lld",
                                       (long long) r->started_ms, (long long) r->hold_started_ms);
                        if (r->has_force) {
                                TAP_EXPECT(r->force_peak_n + 1e-9 >= r->force_mean_n, "peak below mean");
                                /* The mean is over the hold's own samples: within their range.
                                 * The window is widened by the ms rounding and takes in the last
                                 * reading before the start, which a measure trial's hold starts
                                 * with (a superset cannot narrow the range); a rep paused by a
                                 * tool loss is longer than its hold_ms, so it is left out. */
                                nsec_t hs = se->started_mono + MS(r->hold_started_ms) - MS(1);
                                nsec_t he = se->started_mono + MS(r->hold_started_ms) + MS(r->hold_ms) + MS(2);
                                double lo = 0, hi = 0;
                                if (!event_between(sim, EVENT_TOOL_LOST, hs, he + MS(60000)) &&
                                    force_range(sim, hs, he, &lo, &hi) && ++total_means_checked)
                                        TAP_EXPECT(r->force_mean_n >= lo - 1e-9 && r->force_mean_n <= hi + 1e-9,
                                               "force_mean_n %.3f outside the hold's %.3f..%.3f",
                                               r->force_mean_n, lo, hi);
                        }
                        if (r->has_threshold)
                                TAP_EXPECT(ps->kind == STEP_MEASURE && r->threshold_n >= ps->release_n,
                                       "threshold %f", r->threshold_n);
                }
                uint32_t max_reps = ps->reps * (ps->not_released == NOT_RELEASED_REVISIT ? ps->max_tries : 1);
                TAP_EXPECT(se->steps[i].n_reps <= max_reps, "step %zu has %zu reps > %u", i,
                       se->steps[i].n_reps, max_reps);
        }

        _cleanup_free_ char *json = NULL;
        TAP_EXPECT(session_to_json_string(se, p, false, &json) == 0, "json");
        if (json) {
                json_object *o = json_tokener_parse(json);
                TAP_EXPECT(o != NULL, "json does not parse");
                json_object_put(o);
        }
}

static void run_trace_checks(uint64_t seed) {
        Sim s;
        EngineParams par = ENGINE_PARAMS_DEFAULT;
        ProtocolStep steps[6];
        size_t n_steps;
        unsigned sessions = 0;

        sim_init(&s, &par, 0, seed);
        s.log_force = true;
        par.idle_timeout_ms = urand(&s, 5, 60) * 1000;
        par.tool_grace_ms = urand(&s, 1, 20) * 1000;
        par.checkin_press_ms = urand(&s, 0, 2000);
        par.smoothing_ms = urand(&s, 0, 120);
        engine_set_params(s.engine, &par);
        s.noise_n = frand(&s, 0, 2.0);

        n_steps = urand(&s, 1, 6);
        for (size_t i = 0; i < n_steps; i++)
                steps[i] = random_step(&s, (unsigned) i);
        _cleanup_(protocol_freep) Protocol *p = sim_protocol("random", steps, n_steps);
        engine_set_default_protocol(s.engine, p);
        sim_tool(&s, urand(&s, 0, 4) > 0);

        bool cooperative = urand(&s, 0, 1);
        unsigned actions = urand(&s, 10, 50) * (cooperative ? 4 : 1);
        for (unsigned a = 0; a < actions; a++) {
                const Session *prev = s.finished;
                double safety = p->steps[0].kind == STEP_STRETCH ? 200 : p->steps[0].safety_max_n;

                if (cooperative && urand(&s, 0, 9) < 8 && follow_cue(&s, p)) {
                        /* did what the station asked, more or less */
                } else switch (urand(&s, 0, 19)) {
                case 0 ... 5:
                        sim_ramp(&s, frand(&s, 0, safety * 1.2), frand(&s, 0, 3000));
                        break;
                case 6 ... 9:
                        sim_hold(&s, frand(&s, 0, 25000));
                        break;
                case 10 ... 12:
                        sim_input(&s, INPUT_SWITCH_TAP);
                        break;
                case 13:
                        sim_input(&s, INPUT_SWITCH_LONG);
                        break;
                case 14:
                        if (urand(&s, 0, 3) == 0)
                                sim_input(&s, INPUT_SWITCH_VERY_LONG);
                        break;
                case 15:
                        sim_tool(&s, !s.tool);
                        break;
                case 16:
                        sim_start(&s, p, urand(&s, 0, 1) ? "anna" : NULL);
                        s.last_error = 0; /* -EBUSY while running is expected */
                        break;
                case 17:
                        sim_input(&s, INPUT_TARE);
                        if (s.last_error == -EBUSY)
                                s.last_error = 0; /* refused mid-press, as documented */
                        break;
                case 18:
                        sim_ramp(&s, 0, frand(&s, 0, 500));
                        break;
                default:
                        sim_advance_ms(&s, frand(&s, 0, 30000));
                        break;
                }
                TAP_EXPECT(s.last_error == 0, "engine error %d", s.last_error);
                s.last_error = 0;
                TAP_EXPECT(engine_next_deadline(s.engine) >= s.now ||
                             engine_next_deadline(s.engine) == NSEC_INFINITY, "stale deadline at %.3f: cue %s step %d, %lld ns due", (double) (s.now - SIM_T0) / 1e9,
                       cue_kind_to_string(engine_cue(s.engine)->kind), engine_cue(s.engine)->step,
                       (long long) (s.now - engine_next_deadline(s.engine)));
                if (s.finished && s.finished != prev) {
                        check_session(seed, &s, s.finished, p);
                        sessions++;
                        statuses[s.finished->status]++;
                        for (size_t i = 0; i < s.finished->n_steps; i++)
                                for (size_t k = 0; k < s.finished->steps[i].n_reps; k++) {
                                        outcomes[s.finished->steps[i].reps[k].outcome]++;
                                        total_reps++;
                                }
                }
        }

        /* walk away: the session in flight must end by itself */
        sim_ramp(&s, 0, 200);
        const Session *prev = s.finished;
        sim_hold(&s, 3000);
        sim_tool(&s, false);
        sim_advance_ms(&s, 10.0 * 60 * 1000);
        TAP_EXPECT(engine_session(s.engine) == NULL, "session still running after walking away");
        if (s.finished && s.finished != prev) {
                check_session(seed, &s, s.finished, p);
                sessions++;
        }

        if (getenv("DUMP_EVENTS"))
                for (size_t i = 0; i < s.n_events; i++)
                        printf("# %10.3f %-14s step %d rep %u value %.1f outcome %d\n",
                               (double) (s.events[i].at - SIM_T0) / 1e9,
                               engine_event_type_to_string(s.events[i].type), s.events[i].step,
                               s.events[i].rep, s.events[i].value, s.events[i].outcome);

        if (s.n_events < ELEMENTSOF(s.events))
                check_revisit_spacing(seed, &s, p);

        /* every check-in ended exactly once, and event times never go backwards */
        TAP_EXPECT(sim_count(&s, EVENT_CHECKIN) == sim_count(&s, EVENT_SESSION_END), "%u checkins, %u ends",
               sim_count(&s, EVENT_CHECKIN), sim_count(&s, EVENT_SESSION_END));
        for (size_t i = 1; i < s.n_events; i++)
                TAP_EXPECT(s.events[i].at >= s.events[i - 1].at, "event time went backwards");
        total_sessions += sessions;
        total_samples += s.n_samples;
        total_hours += (double) (s.now - SIM_T0) / 3.6e12;
        sim_done(&s);
}

/* One trace; a failure names its seed, so that `test-engine-random SEED` replays it. */
static void run_trace(uint64_t seed) {
        int failed_before = tap_failed;

        tap_failed = 0;
        run_trace_checks(seed);
        if (tap_failed)
                printf("# seed %llu: the checks above failed (replay: test-engine-random %llu)\n",
                       (unsigned long long) seed, (unsigned long long) seed);
        tap_failed |= failed_before;
}

static uint64_t only_seed;

static void test_one_seed(void) {
        run_trace(only_seed);
}

static void test_random_traces(void) {
        const char *env = getenv("TPHUB_RANDOM_TRACES");
        unsigned n = env ? (unsigned) strtoul(env, NULL, 10) : 2000;

        for (unsigned i = 0; i < n; i++)
                run_trace(0x5eed0000ULL + i);
        printf("# %u traces: %llu sessions, %llu reps, %llu force samples, %.1f simulated hours\n",
               n, total_sessions, total_reps, total_samples, total_hours);
        printf("# force_mean_n checked against its hold's samples in %llu reps\n", total_means_checked);
        TAP_EXPECT(n < 1000 || total_means_checked >= 1000, "too few force means checked");
        for (int i = 0; i < _REP_OUTCOME_MAX; i++)
                printf("#   outcome %-14s %llu\n", rep_outcome_to_string(i), outcomes[i]);
        for (int i = 1; i < _SESSION_STATUS_MAX; i++)
                printf("#   status  %-14s %llu\n", session_status_to_string(i), statuses[i]);
        /* a generator that never reaches an outcome proves nothing about it */
        for (int i = 0; i < _REP_OUTCOME_MAX; i++)
                TAP_EXPECT(n < 1000 || outcomes[i] > 0, "outcome %s never produced", rep_outcome_to_string(i));
}

int main(int argc, char **argv) {
        static const TapCase one[] = { { "seed", test_one_seed } };
        static const TapCase cases[] = { { "random_traces", test_random_traces } };

        if (argc > 1) {
                only_seed = strtoull(argv[1], NULL, 10);
                return tap_run(one, 1, 1, argv);
        }
        return tap_run(cases, 1, argc, argv);
}
