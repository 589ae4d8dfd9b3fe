/* SPDX-License-Identifier: MIT */
#pragma once

/* All engine time is CLOCK_MONOTONIC in nanoseconds (uint64_t), called "nsec" here.
 * sd-event works in microseconds; conversions live only here. */

#include <stddef.h>
#include <stdint.h>

typedef uint64_t nsec_t;

#define NSEC_INFINITY ((nsec_t) UINT64_MAX)
#define NSEC_PER_USEC ((nsec_t) 1000ULL)
#define NSEC_PER_MSEC ((nsec_t) 1000000ULL)
#define NSEC_PER_SEC ((nsec_t) 1000000000ULL)

static inline nsec_t nsec_from_ms(int64_t ms) {
        return (nsec_t) ms * NSEC_PER_MSEC;
}

static inline int64_t nsec_to_ms(nsec_t ns) {
        return (int64_t) (ns / NSEC_PER_MSEC);
}

/* Rounded, for durations recorded in milliseconds. */
static inline int64_t nsec_to_ms_round(nsec_t ns) {
        return (int64_t) ((ns + NSEC_PER_MSEC / 2) / NSEC_PER_MSEC);
}

nsec_t now_monotonic(void);
nsec_t now_realtime(void);

/* Formats an ISO 8601 UTC timestamp with milliseconds ("2026-11-21T09:53:35.123Z").
 * buf must hold at least 25 bytes. Returns buf. */
char *format_iso8601(char *buf, size_t size, nsec_t realtime);
