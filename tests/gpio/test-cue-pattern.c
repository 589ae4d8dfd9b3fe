/* SPDX-License-Identifier: MIT */
/* The cue patterns as pure functions of time: exact levels at exact times, and the
 * "next change" the player sleeps until never skips an edge. */

#include "gpio/cue-pattern.h"
#include "shared/time-util.h"
#include "tap.h"
#include "loop-util.h"
#include "shared/macro.h"

#define G CUE_OUT_BIT(CUE_OUT_GREEN)
#define A CUE_OUT_BIT(CUE_OUT_AMBER)
#define R CUE_OUT_BIT(CUE_OUT_RED)
#define B CUE_OUT_BIT(CUE_OUT_BUZZER)
#define MS(x) nsec_from_ms(x)

static const nsec_t T0 = 1000 * NSEC_PER_SEC;     /* an arbitrary boot-relative anchor */
static const CuePatternWarnings none = { { NSEC_INFINITY, NSEC_INFINITY, NSEC_INFINITY }, NSEC_INFINITY };

static unsigned at(const Cue *c, const CuePatternWarnings *w, nsec_t t, nsec_t *next) {
        return cue_pattern_eval(c, T0, w ?: &none, t, next);
}

static void test_idle_point_pressing(void) {
        Cue c = { .kind = CUE_IDLE, .since_ns = T0 };
        nsec_t n;

        CHECK_EQ(at(&c, NULL, T0, &n), G);
        CHECK_EQ(n, T0 + MS(500));
        CHECK_EQ(at(&c, NULL, T0 + MS(499), NULL), G);
        CHECK_EQ(at(&c, NULL, T0 + MS(500), &n), 0);
        CHECK_EQ(n, T0 + MS(2000));
        CHECK_EQ(at(&c, NULL, T0 + MS(2000), NULL), G);

        c.kind = CUE_POINT;
        CHECK_EQ(at(&c, NULL, T0 + MS(12345), &n), A);
        CHECK_EQ(n, NSEC_INFINITY);

        c.kind = CUE_PRESSING;
        CHECK_EQ(at(&c, NULL, T0 + MS(249), NULL), A);
        CHECK_EQ(at(&c, NULL, T0 + MS(250), NULL), 0);
        CHECK_EQ(at(&c, NULL, T0 + MS(500), NULL), A);
}

static void test_hold_countdown(void) {
        nsec_t due = T0 + MS(7000), n;
        Cue c = { .kind = CUE_HOLD, .since_ns = T0, .due_ns = due };

        CHECK_EQ(at(&c, NULL, T0, &n), G);
        CHECK_EQ(n, due - MS(3000));
        CHECK_EQ(at(&c, NULL, due - MS(3000) - 1, NULL), G);
        for (int s = 3; s >= 1; s--) {
                nsec_t beep = due - MS(1000 * s);

                CHECK_EQ(at(&c, NULL, beep - 1, NULL), s == 3 ? G : 0);
                CHECK_EQ(at(&c, NULL, beep, &n), G | B);
                CHECK_EQ(n, beep + MS(100));
                CHECK_EQ(at(&c, NULL, beep + MS(100), &n), G);
                CHECK_EQ(n, beep + MS(125));
                CHECK_EQ(at(&c, NULL, beep + MS(125), NULL), 0);
                CHECK_EQ(at(&c, NULL, beep + MS(250), NULL), G);
                CHECK_EQ(at(&c, NULL, beep + MS(375), NULL), 0);
        }
        CHECK_EQ(at(&c, NULL, due - MS(125), &n), 0);
        CHECK_EQ(n, due);
        CHECK_EQ(at(&c, NULL, due, &n), 0);
        CHECK_EQ(n, NSEC_INFINITY);

        /* Open-ended hold: steady green. */
        c.due_ns = 0;
        CHECK_EQ(at(&c, NULL, T0 + MS(60000), &n), G);
        CHECK_EQ(n, NSEC_INFINITY);

        /* A hold shorter than the countdown starts mid-countdown, still aligned to due. */
        c.due_ns = T0 + MS(1500);
        CHECK_EQ(at(&c, NULL, T0, NULL), G);          /* phase 1.5 s: blink on, no beep */
        CHECK_EQ(at(&c, NULL, T0 + MS(500), NULL), G | B);
        CHECK_EQ(at(&c, NULL, T0 + MS(600), NULL), G);
}

static void test_release_reasons(void) {
        Cue c = { .kind = CUE_RELEASE, .since_ns = T0, .release = CUE_RELEASE_DONE };
        nsec_t n;

        /* done: green + amber steady, one 800 ms tone */
        CHECK_EQ(at(&c, NULL, T0, &n), G | A | B);
        CHECK_EQ(n, T0 + MS(800));
        CHECK_EQ(at(&c, NULL, T0 + MS(799), NULL), G | A | B);
        CHECK_EQ(at(&c, NULL, T0 + MS(800), &n), G | A);
        CHECK_EQ(n, NSEC_INFINITY);
        /* a cue without a reason looks like "done" */
        c.release = CUE_RELEASE_NONE;
        CHECK_EQ(at(&c, NULL, T0, NULL), G | A | B);

        /* not released, come back later: amber blink 500/1000, tones 0-300 and 500-800 ms */
        c.release = CUE_RELEASE_NOT_RELEASED;
        CHECK_EQ(at(&c, NULL, T0, &n), A | B);
        CHECK_EQ(n, T0 + MS(300));
        CHECK_EQ(at(&c, NULL, T0 + MS(300), &n), A);
        CHECK_EQ(n, T0 + MS(500));
        CHECK_EQ(at(&c, NULL, T0 + MS(500), NULL), B);
        CHECK_EQ(at(&c, NULL, T0 + MS(799), NULL), B);
        CHECK_EQ(at(&c, NULL, T0 + MS(800), NULL), 0);
        CHECK_EQ(at(&c, NULL, T0 + MS(1000), &n), A);
        CHECK_EQ(n, T0 + MS(1500));
        CHECK_EQ(at(&c, NULL, T0 + MS(1500), NULL), 0);

        /* over-force safety stop: red + amber steady, five 100 ms beeps 200 ms apart */
        c.release = CUE_RELEASE_OVER_FORCE;
        for (unsigned k = 0; k < 5; k++) {
                CHECK_EQ(at(&c, NULL, T0 + MS(200 * k), NULL), R | A | B);
                CHECK_EQ(at(&c, NULL, T0 + MS(200 * k + 99), NULL), R | A | B);
                CHECK_EQ(at(&c, NULL, T0 + MS(200 * k + 100), NULL), R | A);
        }
        CHECK_EQ(at(&c, NULL, T0 + MS(1000), &n), R | A);
        CHECK_EQ(n, NSEC_INFINITY);
}

static void test_tap_counts_and_not_yet(void) {
        nsec_t due = T0 + MS(20000), tc = T0 + MS(10000), n;
        Cue c = { .kind = CUE_HOLD, .since_ns = T0, .due_ns = due };

        /* before min_hold: green only; then amber joins and a double chirp sounds */
        CHECK_EQ(at(&c, NULL, tc, NULL), G);
        c.tap_counts_ns = tc;
        CHECK_EQ(at(&c, NULL, tc - 1, &n), G);
        CHECK_EQ(n, tc);
        CHECK_EQ(at(&c, NULL, tc, &n), G | A | B);
        CHECK_EQ(n, tc + MS(60));
        CHECK_EQ(at(&c, NULL, tc + MS(60), NULL), G | A);
        CHECK_EQ(at(&c, NULL, tc + MS(120), NULL), G | A | B);
        CHECK_EQ(at(&c, NULL, tc + MS(180), NULL), G | A);
        CHECK_EQ(at(&c, NULL, tc + MS(240), NULL), G | A);
        CHECK_EQ(at(&c, NULL, due - MS(3000), NULL), G | A | B);   /* countdown beep */
        CHECK_EQ(at(&c, NULL, due, NULL), 0);
        /* taps counted from the start (min_hold 0): amber from the start, no chirp */
        c.tap_counts_ns = T0;
        CHECK_EQ(at(&c, NULL, T0, NULL), G | A);
        CHECK_EQ(at(&c, NULL, T0 + MS(30), NULL), G | A);

        /* not yet: four 25 ms blips 50 ms apart and red for 200 ms, from when the player
         * first showed it (the tap itself is dated 20 ms earlier, at its debounced edge) */
        nsec_t ny = T0 + MS(4321);
        CuePatternWarnings shown = none;
        shown.not_yet = ny;
        c = (Cue) { .kind = CUE_HOLD, .since_ns = T0, .due_ns = due, .not_yet_ns = ny - MS(20) };
        CHECK_EQ(at(&c, &shown, ny - 1, &n), G);
        CHECK_EQ(n, ny);
        CHECK_EQ(at(&c, &none, ny + MS(10), NULL), G);   /* not shown yet: nothing */
        for (unsigned k = 0; k < 4; k++) {
                CHECK_EQ(at(&c, &shown, ny + MS(50 * k), NULL), G | R | B);
                CHECK_EQ(at(&c, &shown, ny + MS(50 * k + 25), NULL), G | R);
        }
        CHECK_EQ(at(&c, &shown, ny + MS(200), &n), G);
        CHECK_EQ(n, due - MS(3000));
        /* heard through a warning too (the warning owns red and the buzzer otherwise) */
        CuePatternWarnings force = { { T0, NSEC_INFINITY, NSEC_INFINITY }, ny };
        CHECK_EQ(at(&c, &force, ny + MS(100), NULL) & B, B);
        /* a stale not-yet from before the cue began is not replayed */
        c.since_ns = c.not_yet_ns + MS(1);
        CHECK_EQ(cue_pattern_eval(&c, c.since_ns, &shown, ny + MS(10), NULL), G);
}

static void test_release_rest_paused_done(void) {
        Cue c;
        nsec_t n;

        c = (Cue) { .kind = CUE_REST, .since_ns = T0, .due_ns = T0 + MS(5000) };
        CHECK_EQ(at(&c, NULL, T0, NULL), A);
        CHECK_EQ(at(&c, NULL, T0 + MS(1000), NULL), 0);
        CHECK_EQ(at(&c, NULL, T0 + MS(4000), &n), A);
        CHECK_EQ(n, T0 + MS(5000));
        CHECK_EQ(at(&c, NULL, T0 + MS(5000), &n), 0);
        CHECK_EQ(n, NSEC_INFINITY);

        /* rest away from the point before its revisit: amber and red take turns */
        c = (Cue) { .kind = CUE_REST, .since_ns = T0, .due_ns = T0 + MS(30000), .away = true };
        CHECK_EQ(at(&c, NULL, T0, &n), A);
        CHECK_EQ(n, T0 + MS(1000));
        CHECK_EQ(at(&c, NULL, T0 + MS(1000), &n), R);
        CHECK_EQ(n, T0 + MS(2000));
        CHECK_EQ(at(&c, NULL, T0 + MS(2000), NULL), A);
        CHECK_EQ(at(&c, NULL, T0 + MS(29999), NULL), R);
        CHECK_EQ(at(&c, NULL, T0 + MS(30000), &n), 0);
        CHECK_EQ(n, NSEC_INFINITY);

        c = (Cue) { .kind = CUE_PAUSED, .since_ns = T0, .due_ns = T0 + MS(5000) };
        CHECK_EQ(at(&c, NULL, T0, NULL), R);
        CHECK_EQ(at(&c, NULL, T0 + MS(250), NULL), 0);
        CHECK_EQ(at(&c, NULL, T0 + MS(9000), NULL), R);

        c = (Cue) { .kind = CUE_DONE, .since_ns = T0 };
        unsigned expect[] = { G, 0, G, 0, G, 0 };
        for (unsigned i = 0; i < ELEMENTSOF(expect); i++)
                CHECK_EQ(at(&c, NULL, T0 + MS(200 * i), NULL), expect[i]);
        CHECK_EQ(at(&c, NULL, T0 + MS(1200), NULL), G);     /* idle from here */
        CHECK_EQ(at(&c, NULL, T0 + MS(1700), NULL), 0);
        CHECK_EQ(at(&c, NULL, T0 + MS(3200), NULL), G);
}

static void test_warnings(void) {
        nsec_t due = T0 + MS(7000), w0 = T0 + MS(4500), n;
        Cue c = { .kind = CUE_HOLD, .since_ns = T0, .due_ns = due,
                  .warnings = CUE_WARN_OVER_FORCE };
        CuePatternWarnings force = { { w0, NSEC_INFINITY, NSEC_INFINITY }, NSEC_INFINITY };

        /* Over-force owns red and the buzzer: double beep, no countdown beep. */
        CHECK_EQ(at(&c, &force, w0, NULL), G | R | B);
        CHECK_EQ(at(&c, &force, w0 + MS(80), NULL), G | R);
        CHECK_EQ(at(&c, &force, w0 + MS(100), NULL), G);
        CHECK_EQ(at(&c, &force, w0 + MS(160), NULL), B);
        CHECK_EQ(at(&c, &force, w0 + MS(200), NULL), R | B);
        CHECK_EQ(at(&c, &force, w0 + MS(240), NULL), R);
        CHECK_EQ(at(&c, &force, due - MS(2000), NULL), G);  /* no countdown beep */
        CHECK_EQ(at(&c, &force, w0 + MS(1000), NULL), G | R | B);

        /* Over-hold wins over over-force: red steady, 1 s tone every 3 s. */
        CuePatternWarnings both = { { w0, w0 + MS(10), NSEC_INFINITY }, NSEC_INFINITY };
        c.kind = CUE_POINT;
        CHECK_EQ(at(&c, &both, w0 + MS(10), NULL), A | R | B);
        CHECK_EQ(at(&c, &both, w0 + MS(1010), &n), A | R);
        CHECK_EQ(n, w0 + MS(3010));

        /* Tool lost: red blink, silence. */
        CuePatternWarnings lost = { { NSEC_INFINITY, NSEC_INFINITY, w0 }, NSEC_INFINITY };
        CHECK_EQ(at(&c, &lost, w0, NULL), A | R);
        CHECK_EQ(at(&c, &lost, w0 + MS(250), NULL), A);
}

/* Walking from change to change must see every change that 1 ms sampling sees. */
static void test_next_never_skips(void) {
        CuePatternWarnings force = { { T0 + MS(2345), NSEC_INFINITY, NSEC_INFINITY }, T0 + MS(3210) };

        for (CueKind k = 0; k < _CUE_KIND_MAX; k++)
                for (int warned = 0; warned < 2; warned++)
                for (CueRelease why = 0; why < _CUE_RELEASE_MAX; why++) {
                        Cue c = { .kind = k, .since_ns = T0, .due_ns = T0 + MS(5000), .release = why,
                                  .away = why == CUE_RELEASE_DONE, .tap_counts_ns = T0 + MS(1234),
                                  .not_yet_ns = why == CUE_RELEASE_OVER_FORCE ? T0 + MS(3210) : 0 };
                        const CuePatternWarnings *w = warned ? &force : &none;
                        nsec_t next;
                        unsigned bits = at(&c, w, T0, &next);

                        for (nsec_t t = T0 + MS(1); t < T0 + MS(8000); t += MS(1)) {
                                unsigned b = at(&c, w, t, NULL);
                                if (b != bits) {
                                        CHECK(next <= t);
                                        CHECK_EQ(at(&c, w, next, NULL), b);
                                }
                                if (t >= next) {
                                        bits = at(&c, w, next, &next);
                                        CHECK(next > t - MS(1));
                                        bits = b;
                                }
                        }
                }
}

static void test_output_names(void) {
        CHECK(cue_output_to_string(CUE_OUT_BUZZER));
        CHECK(!cue_output_to_string(_CUE_OUT_MAX));
}

static const TapCase cases[] = {
        { "output_names", test_output_names },
        { "idle_point_pressing", test_idle_point_pressing },
        { "hold_countdown", test_hold_countdown },
        { "release_reasons", test_release_reasons },
        { "tap_counts_and_not_yet", test_tap_counts_and_not_yet },
        { "release_rest_paused_done", test_release_rest_paused_done },
        { "warnings", test_warnings },
        { "next_never_skips", test_next_never_skips },
};

TAP_MAIN(cases)
