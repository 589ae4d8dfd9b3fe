/* SPDX-License-Identifier: MIT */
#pragma once

/* The text of one `force` batch (docs/mqtt.md):
 *   {"seq":1042,"t":"2026-11-18T11:08:01.500Z","dt_ms":12.50,"force_n":[61.8,61.9,62.0]}
 * written straight into the caller's buffer: the live force stream is most of the MQTT
 * messages a hub sends, and a JSON object tree per batch cost more than everything else on
 * the sample path (docs/benchmarks.md). */

#include <stddef.h>
#include <stdint.h>

/* Enough for any batch of n samples: each sample at most 18 bytes ("-99999999999999.9,"). */
#define FORCE_JSON_SIZE(n) (128 + 18 * (size_t) (n))

/* force_n at 0.1 N and dt_ms at 0.01 ms, rounded as docs/mqtt.md says (shared/decimal.h); a
 * sample or interval that is not a finite number in range is written as null (JSON has no
 * NaN). t is the first sample's time, ISO 8601 (at most 31 characters, not escaped: it is
 * the project's own format). Returns the text's length, NUL-terminated, or -ENOBUFS when
 * size is under FORCE_JSON_SIZE(n), -EINVAL without t or samples. */
int force_json_format(char *buf, size_t size, uint64_t seq, const char *t, double dt_ms,
                      const float *samples, size_t n);
