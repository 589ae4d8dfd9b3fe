/* SPDX-License-Identifier: MIT */
/* The foot-switch on the sim backend and a real sd-event loop: bounce, glitches,
 * gesture limits. Edges are injected by timers and stamped with their scheduled time,
 * as the kernel stamps an interrupt, so classification at the limits is exact. */

#include <string.h>

#include "gpio/footswitch.h"
#include "gpio/gpio-sim.h"
#include "gpio-test-util.h"
#include "shared/macro.h"

#define DEBOUNCE_MS 10
static const SwitchGestureParams params = { .tap_max_ms = 100, .long_ms = 300, .very_long_ms = 600 };

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
} Scenario;

static const GpioLineSpec foot = {
        .chip = "gpiochip0", .name = "FOOT", .active_low = true, .bias = GPIO_BIAS_PULL_UP,
};

static void on_gesture(void *userdata, SwitchGesture g, nsec_t at) {
        Scenario *s = userdata;

        CHECK(s->n_seen < ELEMENTSOF(s->seen));
        CHECK(at >= s->base);
        s->seen[s->n_seen++] = (Seen) { g, (int64_t) (at - s->base) / 1000 };
}

static int on_step(sd_event_source *src, uint64_t usec, void *userdata) {
        Scenario *s = userdata;
        const Step *st = &s->steps[s->next_step++];

        CHECK_OK(gpio_sim_set_input(s->sim, "gpiochip0", "FOOT", st->level,
                                    s->base + (nsec_t) st->at_us * 1000));
        return 0;
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
        s.base = now_monotonic() + 20 * NSEC_PER_MSEC;
        for (unsigned i = 0; i < n_steps; i++)
                test_at(e, s.base + (nsec_t) steps[i].at_us * 1000, on_step, &s);

        /* Absence of extra gestures can only be checked by waiting the scenario out. */
        test_run_until(e, NULL, NULL, s.base + nsec_from_ms(end_ms));
        CHECK_EQ(s.next_step, n_steps);

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
                { MS(50), 1 }, { MS(50) + 500, 0 }, { MS(51), 1 }, { MS(52), 0 }, { MS(53), 1 },
        };
        static const Seen expect[] = {
                { GESTURE_PRESS, 0 }, { GESTURE_RELEASE, MS(50) }, { GESTURE_TAP, MS(50) },
        };
        run("bounce", 1, steps, N(steps), 120, expect, N(expect));
}

static void test_glitch(void) {
        static const Step steps[] = {
                /* A 4 ms pulse from released, then a 3 ms dropout while held. */
                { 0, 0 }, { MS(4), 1 },
                { MS(40), 0 }, { MS(80), 1 }, { MS(83), 0 }, { MS(120), 1 },
        };
        static const Seen expect[] = {
                { GESTURE_PRESS, MS(40) }, { GESTURE_RELEASE, MS(120) }, { GESTURE_TAP, MS(120) },
        };
        run("glitch", 1, steps, N(steps), 170, expect, N(expect));
}

static void test_limits(void) {
        static const Step steps[] = {
                { 0, 0 },        { MS(99), 1 },            /* tap_max - 1: tap */
                { MS(200), 0 },  { MS(300), 1 },           /* tap_max: nothing */
                { MS(400), 0 },  { MS(699), 1 },           /* long - 1: nothing */
                { MS(800), 0 },  { MS(1100), 1 },          /* long: long */
                { MS(1200), 0 }, { MS(1799), 1 },          /* very_long - 1: long */
                { MS(1900), 0 }, { MS(2501), 1 },          /* very_long + 1: very long */
                { MS(2600), 0 }, { MS(3300), 1 },          /* very long, fired while held */
        };
        static const Seen expect[] = {
                { GESTURE_PRESS, 0 }, { GESTURE_RELEASE, MS(99) }, { GESTURE_TAP, MS(99) },
                { GESTURE_PRESS, MS(200) }, { GESTURE_RELEASE, MS(300) },
                { GESTURE_PRESS, MS(400) }, { GESTURE_RELEASE, MS(699) },
                { GESTURE_PRESS, MS(800) }, { GESTURE_RELEASE, MS(1100) }, { GESTURE_LONG, MS(1100) },
                { GESTURE_PRESS, MS(1200) }, { GESTURE_RELEASE, MS(1799) }, { GESTURE_LONG, MS(1799) },
                { GESTURE_PRESS, MS(1900) }, { GESTURE_VERY_LONG, MS(2500) }, { GESTURE_RELEASE, MS(2501) },
                { GESTURE_PRESS, MS(2600) }, { GESTURE_VERY_LONG, MS(3200) }, { GESTURE_RELEASE, MS(3300) },
        };
        run("limits", 1, steps, N(steps), 3350, expect, N(expect));
}

static void test_held_at_start(void) {
        /* Pressed before we started: ignored until released once. */
        static const Step steps[] = {
                { MS(30), 1 }, { MS(60), 0 }, { MS(90), 1 },
        };
        static const Seen expect[] = {
                { GESTURE_PRESS, MS(60) }, { GESTURE_RELEASE, MS(90) }, { GESTURE_TAP, MS(90) },
        };
        run("held-at-start", 0, steps, N(steps), 140, expect, N(expect));
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

        test_run_until(e, NULL, NULL, s.base + nsec_from_ms(params.very_long_ms + 50));
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

int main(void) {
        test_bad_args();
        test_bounce();
        test_glitch();
        test_held_at_start();
        test_limits();
        test_very_long_fires_while_held();
        return 0;
}
