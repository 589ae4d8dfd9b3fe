/* SPDX-License-Identifier: MIT */
#pragma once

/* Running an sd-event loop in a test, with bounded waits (include after tap.h). A failure of
 * the loop itself is not a test outcome: it aborts. */

#include <inttypes.h>
#include <string.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <systemd/sd-event.h>

static inline uint64_t loop_now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static inline void loop_run_once(sd_event *e, uint64_t timeout_usec) {
        int r = sd_event_run(e, timeout_usec);

        if (r < 0) {
                fprintf(stderr, "sd_event_run: %s\n", strerror(-r));
                abort();
        }
}

/* Runs the loop until cond holds; the case fails after timeout_s. */
#define RUN_UNTIL(event, cond, timeout_s)                                               \
        do {                                                                            \
                uint64_t _deadline = loop_now_usec() + (uint64_t) (timeout_s) * 1000000ULL; \
                while (!(cond)) {                                                       \
                        if (loop_now_usec() > _deadline)                                \
                                TAP_FAIL("timed out after %ds waiting for %s", (int) (timeout_s), #cond); \
                        loop_run_once((event), 100 * 1000);                             \
                }                                                                       \
        } while (0)

typedef bool (*LoopDoneFn)(void *userdata);

/* Runs the loop until done() says so (checked after every iteration) or until the absolute
 * CLOCK_MONOTONIC time until_ns. Returns done()'s verdict. */
static inline bool loop_run_until(sd_event *e, LoopDoneFn done, void *userdata, uint64_t until_ns) {
        for (;;) {
                struct timespec ts;
                uint64_t now;

                if (done && done(userdata))
                        return true;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                now = (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
                if (now >= until_ns)
                        return false;
                loop_run_once(e, (until_ns - now + 999) / 1000);
        }
}

/* A one-shot callback at an absolute CLOCK_MONOTONIC ns time, 1 us accuracy. The source is
 * floating (owned by the loop). Its priority is above the code under test, so that when the
 * loop is late, a stimulus still comes before the reactions to the same moment. */
static inline void loop_at(sd_event *e, uint64_t at_ns, sd_event_time_handler_t cb, void *userdata) {
        sd_event_source *s = NULL;

        if (sd_event_add_time(e, &s, CLOCK_MONOTONIC, (at_ns + 999) / 1000, 1, cb, userdata) < 0 ||
            sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IMPORTANT) < 0 ||
            sd_event_source_set_floating(s, true) < 0)
                abort();
        sd_event_source_unref(s);
}

/* For helpers that return an error instead of failing a case: true when cond held within
 * timeout_s. */
#define LOOP_WAIT(event, cond, timeout_s)                                               \
        ({                                                                              \
                uint64_t _until = loop_now_usec() + (uint64_t) (timeout_s) * 1000000ULL; \
                bool _held;                                                             \
                while (!(_held = (cond)) && loop_now_usec() <= _until)                  \
                        loop_run_once((event), 100 * 1000);                             \
                _held;                                                                  \
        })
