/* SPDX-License-Identifier: MIT */
#include <time.h>
#include <stdio.h>

#include "shared/time-util.h"

static nsec_t now_clock(clockid_t id) {
        struct timespec ts;

        clock_gettime(id, &ts);
        return (nsec_t) ts.tv_sec * NSEC_PER_SEC + (nsec_t) ts.tv_nsec;
}

nsec_t now_monotonic(void) {
        return now_clock(CLOCK_MONOTONIC);
}

nsec_t now_realtime(void) {
        return now_clock(CLOCK_REALTIME);
}

char *format_iso8601(char *buf, size_t size, nsec_t realtime) {
        time_t sec = (time_t) (realtime / NSEC_PER_SEC);
        unsigned ms = (unsigned) ((realtime % NSEC_PER_SEC) / NSEC_PER_MSEC);
        struct tm tm;

        gmtime_r(&sec, &tm);
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
        return buf;
}
