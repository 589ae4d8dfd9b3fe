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

/* a * b / c rounded down, c > 0, without a 128-bit product (32-bit ARM has none): exact as
 * long as (c - 1) * b and (a / c) * b fit in 64 bits (frames and nanoseconds at audio rates
 * do, for centuries). */
static inline uint64_t muldiv_u64(uint64_t a, uint64_t b, uint64_t c) {
        return (a / c) * b + (a % c) * b / c;
}
/* The same rounded up. */
static inline uint64_t muldiv_up_u64(uint64_t a, uint64_t b, uint64_t c) {
        uint64_t r = (a % c) * b;
        return (a / c) * b + r / c + (r % c != 0);
}
/* Signed a, truncated toward zero like C's division. */
static inline int64_t muldiv_i64(int64_t a, uint64_t b, uint64_t c) {
        return a < 0 ? -(int64_t) muldiv_u64((uint64_t) -a, b, c) : (int64_t) muldiv_u64((uint64_t) a, b, c);
}

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
