/* SPDX-License-Identifier: MIT */
#pragma once

/* The one time format of the MQTT contract: ISO 8601 UTC, "2026-11-18T11:06:40.000Z". */

#include <stddef.h>
#include <stdint.h>

/* Milliseconds optional, "Z" required, no other zone, 1970 or later → ms since the epoch.
 * -EINVAL for anything else (also impossible dates). */
int iso8601_parse_ms(const char *s, int64_t *ret);
/* The reverse, always with milliseconds. buf ≥ 25 bytes. */
char *iso8601_format_ms(char *buf, size_t size, int64_t ms);
