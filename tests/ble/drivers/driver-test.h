/* SPDX-License-Identifier: MIT */
#pragma once

/* Test helpers for the driver tests: checks that abort with a location (tap.h), and encoders that
 * turn newtons into each device's bytes (the C twin of tests/ble/sim/encode.py). */

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ble/drivers/driver.h"
#include "shared/macro.h"
#include "tap.h"

/* The drivers' tests stop at the first failed check (a decoder's state after a bad frame is
 * not worth going on with): tap.h's REQUIRE, which prints where and aborts. */
#define check(expr) REQUIRE(expr)
#define check_eq(a, b) REQUIRE_EQ(a, b)

/* Newtons equal to 1e-9 relative (exactly, when the expected value is 0). */
#define check_newtons(a, b)                                                             \
        do {                                                                            \
                double _a = (a), _b = (b);                                              \
                if (!(_b == 0 ? _a == 0 : fabs(_a - _b) <= 1e-9 * fabs(_b))) {          \
                        fprintf(stderr, "%s:%d: %s == %.17g, expected %.17g\n",         \
                                __FILE__, __LINE__, #a, _a, _b);                        \
                        abort();                                                        \
                }                                                                       \
        } while (0)

#define check_stats(dec, f, s, d)                                                       \
        do {                                                                            \
                const DriverStats *_st = driver_decoder_stats(dec);                     \
                check_eq(_st->frames, f);                                               \
                check_eq(_st->samples, s);                                              \
                check_eq(_st->dropped, d);                                              \
        } while (0)

/* A decoder for the named driver; aborts if there is none. */
DriverDecoder *test_decoder(const char *name);
/* Feeds a byte array given as a literal list: FEED(dec, out, 0x01, 0x02). */
#define FEED(dec, out, ...)                                                             \
        driver_decoder_feed(dec, (const uint8_t[]) { __VA_ARGS__ },                     \
                            sizeof((const uint8_t[]) { __VA_ARGS__ }), out, DRIVER_OUTPUTS_MAX)
int test_feed(DriverDecoder *dec, const void *buf, size_t len, DriverOutput *out);
/* Checks that out is one sample of exactly these newtons (ts_us < 0: no device clock). */
void check_sample(const DriverOutput *out, double newtons, int64_t ts_us);

/* Encoders: each writes one notification (or advert payload) to buf and returns its length.
 * Quantisation rounds half away from zero, like encode.py. */
size_t enc_progressor_weight(uint8_t *buf, const double *newtons, const uint32_t *t_us, size_t n);
size_t enc_progressor_battery(uint8_t *buf, uint32_t mv);
size_t enc_forceboard(uint8_t *buf, const double *newtons, size_t n);
size_t enc_entralpi(uint8_t *buf, double newtons);
/* unit: 1 kg, 2 lb, 3 st, 4 jin */
size_t enc_whc06(uint8_t *buf, double newtons, int unit, bool stable);
size_t enc_cts500_weight(uint8_t *buf, double newtons);
size_t enc_cts500_battery(uint8_t *buf, unsigned mv);
/* unit 'N', 'G' or 'B'; zero_mode 'N' (ref ignored) or 'Z' */
size_t enc_linescale(uint8_t *buf, double newtons, char unit, char zero_mode, double ref_newtons, int battery_percent);
size_t enc_activ5(uint8_t *buf, double newtons);
size_t enc_imd_force(uint8_t *buf, double newtons);
