/* SPDX-License-Identifier: MIT */
/* decimal_format against its definition (shared/decimal.h): the text snprintf("%.*f") gives
 * for round(v · 10^d) / 10^d, with no "-0". */

#include <errno.h>
#include <float.h>
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shared/decimal.h"
#include "tap.h"

/* The definition, written the slow way. */
static void reference(char *buf, size_t size, double v, unsigned d) {
        double p = pow(10, d), r = round(v * p) / p;

        snprintf(buf, size, "%.*f", (int) d, r);
        if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1))
                memmove(buf, buf + 1, strlen(buf));   /* "-0.0" is "0.0" */
}

static void test_examples(void) {
        static const struct {
                double v;
                unsigned d;
                const char *text;
        } ex[] = {
                { 61.8, 1, "61.8" }, { 62.0, 1, "62.0" }, { 0, 1, "0.0" }, { -0.0, 1, "0.0" },
                { 0.04, 1, "0.0" }, { -0.04, 1, "0.0" }, { 0.05, 1, "0.1" }, { -0.05, 1, "-0.1" },
                { 0.25, 1, "0.3" }, { -0.25, 1, "-0.3" },     /* exact halves: away from zero */
                { 2.5, 0, "3" }, { -2.5, 0, "-3" }, { 1.125, 2, "1.13" }, { 12.5, 2, "12.50" },
                { 12.5, 1, "12.5" }, { 1234.56, 1, "1234.6" }, { -3.3, 1, "-3.3" }, { 999.95, 1, "1000.0" },
                { 7, 0, "7" }, { 0.000000001, 9, "0.000000001" }, { 123456789012.34, 2, "123456789012.34" },
        };
        char buf[64];

        for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
                int r = decimal_format(buf, sizeof buf, ex[i].v, ex[i].d);
                TAP_EXPECT(r == (int) strlen(ex[i].text) && strcmp(buf, ex[i].text) == 0,
                           "%.17g, %u decimals: \"%s\" (%d), not \"%s\"", ex[i].v, ex[i].d, buf, r, ex[i].text);
        }
}

/* Many values, every precision, the float samples the force batches hold among them. */
static void test_against_snprintf(void) {
        uint64_t x = 0x9e3779b97f4a7c15ULL;
        char got[64], want[64];
        unsigned bad = 0;

        for (unsigned i = 0; i < 400000; i++) {
                double mag, v;
                unsigned d = i % 4 == 0 ? i / 4 % (DECIMAL_MAX_DECIMALS + 1) : 1 + i % 2;
                int r;

                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                mag = pow(10, (double) (x % 9) - 3);             /* 0.001 .. 100 000 */
                v = ((double) (x >> 11) / (double) (1ULL << 53) * 2 - 1) * mag;
                if (i % 3 == 0)
                        v = (float) v;
                if (i % 5 == 0)                                   /* on and next to halves */
                        v = (round(v * pow(10, d + 1)) + (double) (x % 3) - 1) / pow(10, d + 1) + (i % 7 == 0 ? 0.5 / pow(10, d) : 0);
                if (fabs(v) * pow(10, d) >= DECIMAL_MAX_SCALED)
                        continue;
                reference(want, sizeof want, v, d);
                r = decimal_format(got, sizeof got, v, d);
                if (r != (int) strlen(want) || strcmp(got, want) != 0) {
                        if (bad++ < 10)
                                TAP_EXPECT(false, "%.17g, %u decimals: \"%s\" (%d), snprintf \"%s\"", v, d, got, r, want);
                }
        }
        CHECK_EQ(bad, 0);
}

static void test_refused(void) {
        char buf[64] = "untouched";

        CHECK_EQ(decimal_format(buf, sizeof buf, NAN, 1), -EDOM);
        CHECK_EQ(decimal_format(buf, sizeof buf, -NAN, 1), -EDOM);
        CHECK_EQ(decimal_format(buf, sizeof buf, INFINITY, 1), -EDOM);
        CHECK_EQ(decimal_format(buf, sizeof buf, -INFINITY, 2), -EDOM);
        CHECK_EQ(decimal_format(buf, sizeof buf, DBL_MAX, 1), -ERANGE);
        CHECK_EQ(decimal_format(buf, sizeof buf, DECIMAL_MAX_SCALED / 10, 1), -ERANGE);
        CHECK_EQ(decimal_format(buf, sizeof buf, -DECIMAL_MAX_SCALED / 10, 1), -ERANGE);
        CHECK_EQ(decimal_format(buf, sizeof buf, 1.5, DECIMAL_MAX_DECIMALS + 1), -EINVAL);
        CHECK_STR(buf, "untouched");
        /* the largest accepted value */
        CHECK_EQ(decimal_format(buf, sizeof buf, (DECIMAL_MAX_SCALED - 1) / 10, 1), 16);
        CHECK_STR(buf, "99999999999999.9");
}

static void test_buffer(void) {
        char buf[8];

        memset(buf, 'x', sizeof buf);
        CHECK_EQ(decimal_format(buf, 5, -61.84, 1), -ENOBUFS);   /* "-61.8" and its NUL: 6 bytes */
        CHECK_EQ(decimal_format(buf, 6, -61.84, 1), 5);
        CHECK_STR(buf, "-61.8");
        CHECK_EQ(decimal_format(buf, 0, 1, 0), -ENOBUFS);
        CHECK_EQ(decimal_format(buf, 2, 1, 0), 1);
        CHECK_STR(buf, "1");
}

static const TapCase cases[] = {
        { "documented examples, halves, -0", test_examples },
        { "identical to snprintf of the rounded value", test_against_snprintf },
        { "NaN, infinities, out of range refused", test_refused },
        { "the buffer's size", test_buffer },
};

TAP_MAIN(cases)
