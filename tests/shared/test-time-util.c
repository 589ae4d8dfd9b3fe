/* SPDX-License-Identifier: MIT */
/* format_iso8601 against its definition: gmtime's fields as "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ". */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "shared/time-util.h"
#include "tap.h"

static void reference(char *buf, size_t size, nsec_t t) {
        time_t sec = (time_t) (t / NSEC_PER_SEC);
        struct tm tm;

        gmtime_r(&sec, &tm);
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned) (t % NSEC_PER_SEC / NSEC_PER_MSEC));
}

static void test_examples(void) {
        char buf[32];

        CHECK_STR(format_iso8601(buf, sizeof buf, 0), "1970-01-01T00:00:00.000Z");
        /* 2026-11-21T09:53:35.123Z is 1 795 254 815 s after the epoch */
        CHECK_STR(format_iso8601(buf, sizeof buf, 1795254815ULL * NSEC_PER_SEC + 123999999), "2026-11-21T09:53:35.123Z");
        CHECK_STR(format_iso8601(buf, sizeof buf, 951782400ULL * NSEC_PER_SEC), "2000-02-29T00:00:00.000Z");
        CHECK_STR(format_iso8601(buf, sizeof buf, 4102444799ULL * NSEC_PER_SEC + 999000000), "2099-12-31T23:59:59.999Z");
}

static void test_against_snprintf(void) {
        uint64_t x = 0x2545f4914f6cdd1dULL;
        char got[32], want[96];   /* room for any int the fields could hold (-Wformat-truncation) */
        unsigned bad = 0;

        for (unsigned i = 0; i < 100000; i++) {
                nsec_t t;

                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                t = (nsec_t) (x % (4102444800ULL * NSEC_PER_SEC));   /* 1970 .. 2099 */
                reference(want, sizeof want, t);
                format_iso8601(got, sizeof got, t);
                if (strcmp(got, want) != 0 && bad++ < 10)
                        TAP_EXPECT(false, "%llu: %s, snprintf %s", (unsigned long long) t, got, want);
        }
        CHECK_EQ(bad, 0);
}

static void test_short_buffer(void) {
        char buf[32];

        memset(buf, 'x', sizeof buf);
        format_iso8601(buf, 11, 0);
        CHECK_STR(buf, "1970-01-01");
        CHECK_EQ(buf[11], 'x');
        format_iso8601(buf, 25, 0);
        CHECK_STR(buf, "1970-01-01T00:00:00.000Z");
        buf[0] = 'x';
        format_iso8601(buf, 0, 0);
        CHECK_EQ(buf[0], 'x');
}

static const TapCase cases[] = {
        { "examples", test_examples },
        { "identical to snprintf of gmtime", test_against_snprintf },
        { "a short buffer is cut as snprintf cuts", test_short_buffer },
};

TAP_MAIN(cases)
