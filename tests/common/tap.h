/* SPDX-License-Identifier: MIT */
#pragma once

/* Minimal TAP producer: meson's `protocol: 'tap'` counts every case. A case fails on the
 * first CHECK that does not hold; the message names file, line and the values. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct TapCase {
        const char *name;
        void (*fn)(void);
} TapCase;

extern int tap_failed;

#define TAP_FAIL(...)                                                   \
        do {                                                            \
                if (!tap_failed) {                                      \
                        printf("# %s:%d: ", __FILE__, __LINE__);        \
                        printf(__VA_ARGS__);                            \
                        printf("\n");                                   \
                }                                                       \
                tap_failed = 1;                                         \
                return;                                                 \
        } while (0)

#define CHECK(c) do { if (!(c)) TAP_FAIL("check failed: %s", #c); } while (0)
#define CHECK_EQ(a, b)                                                          \
        do {                                                                    \
                long long _a = (long long) (a), _b = (long long) (b);           \
                if (_a != _b)                                                   \
                        TAP_FAIL("%s == %s: %lld != %lld", #a, #b, _a, _b);     \
        } while (0)
#define CHECK_NEAR(a, b, tol)                                                           \
        do {                                                                            \
                double _a = (double) (a), _b = (double) (b);                            \
                if (!(fabs(_a - _b) <= (tol)))                                          \
                        TAP_FAIL("%s ~ %s: %.6f vs %.6f (tol %g)", #a, #b, _a, _b, (double) (tol)); \
        } while (0)
#define CHECK_STR(a, b)                                                                 \
        do {                                                                            \
                const char *_a = (a), *_b = (b);                                        \
                if (!_a || !_b || strcmp(_a, _b) != 0)                                  \
                        TAP_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, _a ?: "(null)", _b ?: "(null)"); \
        } while (0)

int tap_run(const TapCase *cases, size_t n, int argc, char **argv);

#define TAP_MAIN(cases) \
        int main(int argc, char **argv) { return tap_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv); }

/* expr is a negative errno on failure. */
#define CHECK_OK(expr)                                                                  \
        do {                                                                            \
                long long _r = (long long) (expr);                                      \
                if (_r < 0)                                                             \
                        TAP_FAIL("%s failed: %lld (%s)", #expr, _r, strerror((int) -_r)); \
        } while (0)

/* Not fatal: the case fails, but goes on (a check over many inputs that reports them all). */
#define TAP_EXPECT(c, ...)                                                      \
        do {                                                                    \
                if (!(c)) {                                                     \
                        printf("# %s:%d: %s: ", __FILE__, __LINE__, #c);        \
                        printf(__VA_ARGS__);                                    \
                        printf("\n");                                           \
                        tap_failed = 1;                                         \
                }                                                               \
        } while (0)

/* For helpers and callbacks that cannot return to their case: the program stops, and meson
 * counts the cases that did not run as failed. */
#define REQUIRE(c)                                                                      \
        do {                                                                            \
                if (!(c)) {                                                             \
                        printf("# %s:%d: required: %s\n", __FILE__, __LINE__, #c);      \
                        fflush(stdout);                                                 \
                        abort();                                                        \
                }                                                                       \
        } while (0)
#define REQUIRE_EQ(a, b)                                                                \
        do {                                                                            \
                long long _a = (long long) (a), _b = (long long) (b);                   \
                if (_a != _b) {                                                         \
                        printf("# %s:%d: required %s == %s: %lld != %lld\n", __FILE__, __LINE__, \
                               #a, #b, _a, _b);                                         \
                        fflush(stdout);                                                 \
                        abort();                                                        \
                }                                                                       \
        } while (0)
#define REQUIRE_OK(expr)                                                                \
        do {                                                                            \
                long long _r = (long long) (expr);                                      \
                if (_r < 0) {                                                           \
                        printf("# %s:%d: required %s: %lld (%s)\n", __FILE__, __LINE__, #expr, \
                               _r, strerror((int) -_r));                                \
                        fflush(stdout);                                                 \
                        abort();                                                        \
                }                                                                       \
        } while (0)
