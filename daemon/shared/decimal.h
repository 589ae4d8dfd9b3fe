/* SPDX-License-Identifier: MIT */
#pragma once

/* Numbers of the MQTT contract written at their documented precision, without printf: the
 * live force batches write several hundred a second (docs/benchmarks.md). */

#include <stddef.h>

/* The largest |v| · 10^decimals written: below 2^53, so that the rounded value is an exact
 * integer and, divided back, still prints as itself. */
#define DECIMAL_MAX_SCALED 1e15
#define DECIMAL_MAX_DECIMALS 9

/* v rounded to `decimals` places as round(v · 10^decimals) / 10^decimals (halves away from
 * zero), in plain notation with exactly that many decimals: "61.8", "-3.0", "12.50". The
 * text is what snprintf("%.*f") prints for that rounded value, except that a value rounding
 * to zero is "0.0", never "-0.0". NUL-terminated. Returns its length; -EDOM for NaN and
 * infinities (JSON has no such numbers), -ERANGE beyond DECIMAL_MAX_SCALED, -EINVAL for more
 * than DECIMAL_MAX_DECIMALS decimals, -ENOBUFS when it does not fit in size bytes. */
int decimal_format(char *buf, size_t size, double v, unsigned decimals);
