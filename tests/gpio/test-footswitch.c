/* SPDX-License-Identifier: MIT */
/* The foot-switch on the sim backend and a real sd-event loop: bounce, glitches,
 * gesture limits. Edges are injected by timers and stamped with their scheduled time,
 * as the kernel stamps an interrupt, so classification at the limits is exact. */

#include <string.h>

#include "gpio/footswitch.h"
#include "gpio/gpio-sim.h"
#include "shared/time-util.h"
#include "tap.h"
#include "loop-util.h"
#include "shared/macro.h"

#define DEBOUNCE_MS 10
/* Distinct events are >= 10 debounce periods apart, so that a slow loop (valgrind, a busy
 * CI machine) cannot merge them into one burst. */
static const SwitchGestureParams params = { .tap_max_ms = 200, .long_ms = 500, .very_long_ms = 1000 };

/* A physical level at base + at_us (pull-up, active-low: 0 = pressed). */
typedef struct Step {
        int64_t at_us;
        bool level;
} Step;

typedef struct Seen {
        SwitchGesture g;
        int64_t at_us;       /* relative to base */
} Seen;

typedef struct Scenario {
        GpioBackend *sim;
        nsec_t base;
        Seen seen[32];
        unsigned n_seen;
        const Step *steps;
        unsigned n_steps;
        unsigned next_step;
        unsigned n_expect;
        nsec_t last_injected;
} Scenario;

static const GpioLineSpec foot = {
        .chip = "gpiochip0", .name = "FOOT", .active_low = true, .bias = GPIO_BIAS_PULL_UP,
};

static void on_gesture(SwitchGesture g, nsec_t at, void *userdata) {
        Scenario *s = userdata;

        CHECK(s->n_seen < ELEMENTSOF(s->seen));
        CHECK(at >= s->base);
        s->seen[s->n_seen++] = (Seen) { g, (int64_t) (at - s->base) / 1000 };
}

static int on_step(sd_event_source *src, uint64_t usec, void *userdata) {
        Scenario *s = userdata;
        const Step *st = &s->steps[s->next_step++];

        REQUIRE_OK(gpio_sim_set_input(s->sim, "gpiochip0", "FOOT", st->level,
                                    s->base + (nsec_t) st->at_us * 1000));
        s->last_injected = now_monotonic();
        return 0;
}

static bool scenario_done(void *userdata) {
        Scenario *s = userdata;
        return s->next_step == s->n_steps && s->n_seen >= s->n_expect;
}

/* Runs steps on a fresh sim + foot-switch, waits until end_ms past base, and compares
 * the gestures with `expect` exactly (kinds and times to the microsecond). */
static void run(const char *name, bool initial_level, const Step *steps, unsigned n_steps,
                int64_t end_ms, const Seen *expect, unsigned n_expect) {
        _cleanup_(gpio_backend_freep) GpioBackend *sim = NULL;
        _cleanup_(footswitch_freep) Footswitch *fs = NULL;
        sd_event *e = NULL;
        Scenario s = { .steps = steps, .n_steps = n_steps };

        fprintf(stderr, "scenario %s\n", name);
        CHECK_OK(sd_event_new(&e));
        CHECK_OK(gpio_sim_new(NULL, NULL, &sim));
        s.sim = sim;
        CHECK_OK(gpio_sim_set_input(sim, "gpiochip0", "FOOT", initial_level, 0));
        CHECK_OK(footswitch_new(&fs, e, sim, &foot, DEBOUNCE_MS, &params, on_gesture, &s));
        CHECK(footswitch_is_pressed(fs) == false);

        /* Leave room to arm every step before the first one is due. */
        s.base = now_monotonic() + 100 * NSEC_PER_MSEC;
        for (unsigned i = 0; i < n_steps; i++)
                loop_at(e, s.base + (nsec_t) steps[i].at_us * 1000, on_step, &s);

        /* Wait for the expected gestures (bounded), then long enough after the last edge
         * for its debounce to have run out: extra gestures would have shown up by then.
         * Measured from the real injection time, so a busy machine cannot cut it short. */
        s.n_expect = n_expect;
        loop_run_until(e, scenario_done, &s, s.base + nsec_from_ms(end_ms) + 5 * NSEC_PER_SEC);
        CHECK_EQ(s.next_step, n_steps);
        loop_run_until(e, NULL, NULL, MAX(s.base + nsec_from_ms(end_ms),
                                          s.last_injected + nsec_from_ms(5 * DEBOUNCE_MS)));

        for (unsigned i = 0; i < s.n_seen; i++)
                fprintf(stderr, "  %s at %.3f ms\n", switch_gesture_to_string(s.seen[i].g),
                        (double) s.seen[i].at_us / 1000);
        CHECK_EQ(s.n_seen, n_expect);
        for (unsigned i = 0; i < n_expect; i++) {
                CHECK_EQ(s.seen[i].g, expect[i].g);
                CHECK_EQ(s.seen[i].at_us, expect[i].at_us);
        }

        fs = footswitch_free(fs);
        sim = gpio_backend_free(sim);
        sd_event_unref(e);
}

#define N(a) ELEMENTSOF(a)
#define MS(x) ((int64_t) (x) * 1000)

static void test_bounce(void) {
        /* 5 edges within 3 ms on press and on release, stable in between. */
        static const Step steps[] = {
                { 0, 0 }, { 600, 1 }, { 1200, 0 }, { 2100, 1 }, { 3000, 0 },
                { MS(150), 1 }, { MS(150) + 500, 0 }, { MS(151), 1 }, { MS(152), 0 }, { MS(153), 1 },
        };
        static const Seen expect[] = {
                { GESTURE_PRESS, 0 }, { GESTURE_RELEASE, MS(150) }, { GESTURE_TAP, MS(150) },
        };
        run("bounce", 1, steps, N(steps), 200, expect, N(expect));
}

static void test_glitch(void) {
        static const Step steps[] = {
                /* A 4 ms pulse from released, then a 3 ms dropout while held. */
                { 0, 0 }, { MS(4), 1 },
                { MS(100), 0 }, { MS(200), 1 }, { MS(203), 0 }, { MS(280), 1 },
        };
        static const Seen expect[] = {
                { GESTURE_PRESS, MS(100) }, { GESTURE_RELEASE, MS(280) }, { GESTURE_TAP, MS(280) },
        };
        run("glitch", 1, steps, N(steps), 350, expect, N(expect));
}

static void test_limits(void) {
        static const Step steps[] = {
                { 0, 0 },        { MS(199), 1 },           /* tap_max - 1: tap */
                { MS(300), 0 },  { MS(500), 1 },           /* tap_max: nothing */
                { MS(600), 0 },  { MS(1099), 1 },          /* long - 1: nothing */
                { MS(1200), 0 }, { MS(1700), 1 },          /* long: long */
                { MS(1800), 0 }, { MS(2799), 1 },          /* very_long - 1: long */
                { MS(2900), 0 }, { MS(3901), 1 },          /* very_long + 1: very long first */
        };
        static const Seen expect[] = {
                { GESTURE_PRESS, 0 }, { GESTURE_RELEASE, MS(199) }, { GESTURE_TAP, MS(199) },
                { GESTURE_PRESS, MS(300) }, { GESTURE_RELEASE, MS(500) },
                { GESTURE_PRESS, MS(600) }, { GESTURE_RELEASE, MS(1099) },
                { GESTURE_PRESS, MS(1200) }, { GESTURE_RELEASE, MS(1700) }, { GESTURE_LONG, MS(1700) },
                { GESTURE_PRESS, MS(1800) }, { GESTURE_RELEASE, MS(2799) }, { GESTURE_LONG, MS(2799) },
                { GESTURE_PRESS, MS(2900) }, { GESTURE_VERY_LONG, MS(3900) }, { GESTURE_RELEASE, MS(3901) },
        };
        run("limits", 1, steps, N(steps), 3950, expect, N(expect));
}

static void test_held_at_start(void) {
        /* Pressed before we started: ignored until released once. */
        static const Step steps[] = {
                { MS(50), 1 }, { MS(150), 0 }, { MS(250), 1 },
        };
        static const Seen expect[] = {
                { GESTURE_PRESS, MS(150) }, { GESTURE_RELEASE, MS(250) }, { GESTURE_TAP, MS(250) },
        };
        run("held-at-start", 0, steps, N(steps), 300, expect, N(expect));
}

static void test_very_long_fires_while_held(void) {
        /* The very-long gesture must come while held, on time, without any edge. */
        _cleanup_(gpio_backend_freep) GpioBackend *sim = NULL;
        _cleanup_(footswitch_freep) Footswitch *fs = NULL;
        sd_event *e = NULL;
        Scenario s = {};

        CHECK_OK(sd_event_new(&e));
        CHECK_OK(gpio_sim_new(NULL, NULL, &sim));
        s.sim = sim;
        CHECK_OK(footswitch_new(&fs, e, sim, &foot, DEBOUNCE_MS, &params, on_gesture, &s));
        s.base = now_monotonic();
        CHECK_OK(gpio_sim_set_input(sim, "gpiochip0", "FOOT", 0, s.base));

        s.n_expect = 2;
        CHECK(loop_run_until(e, scenario_done, &s, s.base + 5 * NSEC_PER_SEC));
        CHECK_EQ(s.n_seen, 2);
        CHECK_EQ(s.seen[1].g, GESTURE_VERY_LONG);
        CHECK_EQ(s.seen[1].at_us, MS(params.very_long_ms));
        CHECK(footswitch_is_pressed(fs));

        fs = footswitch_free(fs);
        sim = gpio_backend_free(sim);
        sd_event_unref(e);
}

static void test_bad_args(void) {
        _cleanup_(gpio_backend_freep) GpioBackend *sim = NULL;
        Footswitch *fs = NULL;
        sd_event *e = NULL;
        SwitchGestureParams bad = { .tap_max_ms = 500, .long_ms = 400, .very_long_ms = 600 };

        CHECK_OK(sd_event_new(&e));
        CHECK_OK(gpio_sim_new(NULL, NULL, &sim));
        CHECK_EQ(footswitch_new(&fs, e, sim, &foot, 10, &bad, on_gesture, NULL), -EINVAL);
        CHECK(!fs);
        GpioLineSpec nochip = foot;
        nochip.chip = NULL;
        CHECK_EQ(footswitch_new(&fs, e, sim, &nochip, 10, &params, on_gesture, NULL), -EINVAL);
        CHECK(!fs);

        /* Two requests for one line: busy, like the kernel. */
        CHECK_OK(footswitch_new(&fs, e, sim, &foot, 10, &params, on_gesture, NULL));
        Footswitch *fs2 = NULL;
        CHECK_EQ(footswitch_new(&fs2, e, sim, &foot, 10, &params, on_gesture, NULL), -EBUSY);
        CHECK(!fs2);
        fs = footswitch_free(fs);
        sd_event_unref(e);
}

static const TapCase cases[] = {
        { "bad_args", test_bad_args },
        { "bounce", test_bounce },
        { "glitch", test_glitch },
        { "held_at_start", test_held_at_start },
        { "limits", test_limits },
        { "very_long_fires_while_held", test_very_long_fires_while_held },
};

TAP_MAIN(cases)
