/* SPDX-License-Identifier: MIT */
#pragma once

/* Small helpers for the GPIO tests: checks that always run (NDEBUG or not) and a
 * loop runner with a bounded wait. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "shared/time-util.h"

#define CHECK(expr)                                                                     \
        do {                                                                            \
                if (!(expr)) {                                                          \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                                #expr);                                                 \
                        abort();                                                        \
                }                                                                       \
        } while (0)

#define CHECK_EQ(a, b)                                                                  \
        do {                                                                            \
                long long _a = (long long) (a), _b = (long long) (b);                   \
                if (_a != _b) {                                                         \
                        fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n",       \
                                __FILE__, __LINE__, #a, #b, _a, _b);                    \
                        abort();                                                        \
                }                                                                       \
        } while (0)

/* |a - b| <= tol, all nsec. */
#define CHECK_NEAR(a, b, tol)                                                           \
        do {                                                                            \
                int64_t _d = (int64_t) ((nsec_t) (a) - (nsec_t) (b));                    \
                if (_d < -(int64_t) (tol) || _d > (int64_t) (tol)) {                    \
                        fprintf(stderr, "%s:%d: %s near %s failed: off by %.3f ms\n",    \
                                __FILE__, __LINE__, #a, #b, (double) _d / 1e6);         \
                        abort();                                                        \
                }                                                                       \
        } while (0)

#define CHECK_OK(expr)                                                                  \
        do {                                                                            \
                int _r = (expr);                                                        \
                if (_r < 0) {                                                           \
                        fprintf(stderr, "%s:%d: %s failed: %d\n", __FILE__, __LINE__,   \
                                #expr, _r);                                             \
                        abort();                                                        \
                }                                                                       \
        } while (0)

typedef bool (*TestDoneFn)(void *userdata);

/* Runs the loop until done() says so (checked after every iteration) or until the
 * absolute CLOCK_MONOTONIC time `until`. Returns done()'s verdict. */
static inline bool test_run_until(sd_event *e, TestDoneFn done, void *userdata, nsec_t until) {
        for (;;) {
                if (done && done(userdata))
                        return true;
                nsec_t now = now_monotonic();
                if (now >= until)
                        return false;
                uint64_t left = (until - now + NSEC_PER_USEC - 1) / NSEC_PER_USEC;
                int r = sd_event_run(e, left);
                CHECK(r >= 0);
        }
}

/* A one-shot callback at an absolute CLOCK_MONOTONIC ns time, 1 us accuracy. The source
 * is floating (owned by the loop). Its priority is above the code under test, so that
 * when the loop is late, a stimulus still comes before the reactions to the same moment. */
static inline void test_at(sd_event *e, nsec_t at, sd_event_time_handler_t cb, void *userdata) {
        sd_event_source *s = NULL;

        CHECK_OK(sd_event_add_time(e, &s, CLOCK_MONOTONIC, (at + 999) / 1000, 1, cb, userdata));
        CHECK_OK(sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IMPORTANT));
        CHECK_OK(sd_event_source_set_floating(s, true));
        sd_event_source_unref(s);
}
