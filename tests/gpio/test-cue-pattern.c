/* SPDX-License-Identifier: MIT */
/* The cue patterns as pure functions of time: exact levels at exact times, and the
 * "next change" the player sleeps until never skips an edge. */

#include "gpio/cue-pattern.h"
#include "gpio-test-util.h"
#include "shared/macro.h"

#define G CUE_OUT_BIT(CUE_OUT_GREEN)
#define A CUE_OUT_BIT(CUE_OUT_AMBER)
#define R CUE_OUT_BIT(CUE_OUT_RED)
#define B CUE_OUT_BIT(CUE_OUT_BUZZER)
#define MS(x) nsec_from_ms(x)

static const nsec_t T0 = 1000 * NSEC_PER_SEC;     /* an arbitrary boot-relative anchor */
static const CuePatternWarnings none = { { NSEC_INFINITY, NSEC_INFINITY, NSEC_INFINITY } };

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

static void test_release_rest_paused_done(void) {
        Cue c = { .kind = CUE_RELEASE, .since_ns = T0 };
        nsec_t n;

        CHECK_EQ(at(&c, NULL, T0, &n), R | A | B);
        CHECK_EQ(n, T0 + MS(800));
        CHECK_EQ(at(&c, NULL, T0 + MS(799), NULL), R | A | B);
        CHECK_EQ(at(&c, NULL, T0 + MS(800), &n), R | A);
        CHECK_EQ(n, NSEC_INFINITY);

        c = (Cue) { .kind = CUE_REST, .since_ns = T0, .due_ns = T0 + MS(5000) };
        CHECK_EQ(at(&c, NULL, T0, NULL), A);
        CHECK_EQ(at(&c, NULL, T0 + MS(1000), NULL), 0);
        CHECK_EQ(at(&c, NULL, T0 + MS(4000), &n), A);
        CHECK_EQ(n, T0 + MS(5000));
        CHECK_EQ(at(&c, NULL, T0 + MS(5000), &n), 0);
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
        CuePatternWarnings force = { { w0, NSEC_INFINITY, NSEC_INFINITY } };

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
        CuePatternWarnings both = { { w0, w0 + MS(10), NSEC_INFINITY } };
        c.kind = CUE_POINT;
        CHECK_EQ(at(&c, &both, w0 + MS(10), NULL), A | R | B);
        CHECK_EQ(at(&c, &both, w0 + MS(1010), &n), A | R);
        CHECK_EQ(n, w0 + MS(3010));

        /* Tool lost: red blink, silence. */
        CuePatternWarnings lost = { { NSEC_INFINITY, NSEC_INFINITY, w0 } };
        CHECK_EQ(at(&c, &lost, w0, NULL), A | R);
        CHECK_EQ(at(&c, &lost, w0 + MS(250), NULL), A);
}

/* Walking from change to change must see every change that 1 ms sampling sees. */
static void test_next_never_skips(void) {
        CuePatternWarnings force = { { T0 + MS(2345), NSEC_INFINITY, NSEC_INFINITY } };

        for (CueKind k = 0; k < _CUE_KIND_MAX; k++)
                for (int warned = 0; warned < 2; warned++) {
                        Cue c = { .kind = k, .since_ns = T0, .due_ns = T0 + MS(5000) };
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

int main(void) {
        CHECK(cue_output_to_string(CUE_OUT_BUZZER));
        CHECK(!cue_output_to_string(_CUE_OUT_MAX));
        test_idle_point_pressing();
        test_hold_countdown();
        test_release_rest_paused_done();
        test_warnings();
        test_next_never_skips();
        return 0;
}
