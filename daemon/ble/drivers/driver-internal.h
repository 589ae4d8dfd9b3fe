/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the decoders only: byte readers and output constructors. Not for other modules. */

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ble/drivers/driver.h"
#include "shared/macro.h"

/* A 16-bit SIG UUID expanded with the Bluetooth base UUID, lower case as BlueZ prints it. */
#define BT_UUID16(x) "0000" x "-0000-1000-8000-00805f9b34fb"

#define DRIVER_CMD(...) { .bytes = (const uint8_t[]) { __VA_ARGS__ }, \
                          .len = sizeof((const uint8_t[]) { __VA_ARGS__ }) }

static inline uint16_t rd_be16(const uint8_t *p) {
        return (uint16_t) ((uint16_t) p[0] << 8 | p[1]);
}

static inline uint32_t rd_be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static inline uint32_t rd_le32(const uint8_t *p) {
        return (uint32_t) p[3] << 24 | (uint32_t) p[2] << 16 | (uint32_t) p[1] << 8 | p[0];
}

static inline float rd_le_float(const uint8_t *p) {
        uint32_t u = rd_le32(p);
        float f;

        memcpy(&f, &u, sizeof(f));
        return f;
}

static inline DriverOutput driver_sample(double newtons) {
        return (DriverOutput) {
                .type = DRIVER_OUT_SAMPLE,
                .newtons = newtons,
                .battery_percent = -1,
                .battery_mv = -1,
        };
}

static inline DriverOutput driver_sample_ts(double newtons, uint64_t ts_us) {
        DriverOutput o = driver_sample(newtons);

        o.has_device_ts = true;
        o.device_ts_us = ts_us;
        return o;
}

static inline DriverOutput driver_battery(int percent, int mv) {
        return (DriverOutput) {
                .type = DRIVER_OUT_BATTERY,
                .battery_percent = percent,
                .battery_mv = mv,
        };
}

static inline DriverOutput driver_low_power(void) {
        return (DriverOutput) {
                .type = DRIVER_OUT_LOW_POWER,
                .battery_percent = -1,
                .battery_mv = -1,
        };
}

/* Parses a decimal text field of n bytes: leading spaces, optional sign, digits with at most
 * one point, nothing else. Not strtod: that one takes the locale's decimal separator,
 * "inf", "nan" and hex floats. */
static inline int driver_parse_decimal(const uint8_t *p, size_t n, double *ret) {
        size_t i = 0, digits = 0, decimals = 0;
        bool negative = false, point = false;
        int64_t mantissa = 0;
        double scale = 1.0;

        while (i < n && p[i] == ' ')
                i++;
        if (i < n && (p[i] == '-' || p[i] == '+')) {
                negative = p[i] == '-';
                i++;
        }
        for (; i < n; i++) {
                if (p[i] == '.') {
                        if (point)
                                return -EBADMSG;
                        point = true;
                } else if (p[i] >= '0' && p[i] <= '9') {
                        if (digits >= 15)
                                return -ERANGE; /* beyond what a double holds exactly */
                        mantissa = mantissa * 10 + (p[i] - '0');
                        digits++;
                        if (point)
                                decimals++;
                } else
                        return -EBADMSG;
        }
        if (digits == 0)
                return -EBADMSG;
        for (size_t k = 0; k < decimals; k++)
                scale *= 10.0;
        *ret = (negative ? -(double) mantissa : (double) mantissa) / scale;
        return 0;
}

extern const Driver driver_progressor;
extern const Driver driver_forceboard;
extern const Driver driver_entralpi;
extern const Driver driver_whc06;
extern const Driver driver_cts500;
extern const Driver driver_linescale;
extern const Driver driver_activ5;
extern const Driver driver_imd_force;
