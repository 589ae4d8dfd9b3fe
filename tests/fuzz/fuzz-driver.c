/* SPDX-License-Identifier: MIT */
/* libFuzzer target for one driver's decoder (built once per driver, FUZZ_DRIVER names it).
 *
 * The input is a sequence of notifications, so that reassembly across notifications,
 * resets and small output arrays are reached too. Each record is
 *   [flags u8][len u8] then len bytes (fewer if the input ends first)
 *   flags & 0x03: bits 8-9 of len (up to 1023: oversized notifications happen too)
 *   flags & 0x80: driver_decoder_reset() before this notification
 *   flags & 0x40: pass max = flags & 0x07 instead of DRIVER_OUTPUTS_MAX
 * After every call the harness checks the decoder contract and aborts if it is broken. */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ble/drivers/driver.h"

#ifndef FUZZ_DRIVER
#error "FUZZ_DRIVER must name a driver"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define require(x) do { if (!(x)) abort(); } while (0)

static void check_output(const DriverOutput *o) {
        switch (o->type) {
        case DRIVER_OUT_SAMPLE:
                require(isfinite(o->newtons));
                require(o->battery_percent == -1 && o->battery_mv == -1);
                break;
        case DRIVER_OUT_BATTERY:
                require(o->battery_percent >= -1 && o->battery_percent <= 100);
                require(o->battery_mv == -1 || o->battery_mv > 0);
                require(o->battery_percent != -1 || o->battery_mv != -1);
                break;
        case DRIVER_OUT_LOW_POWER:
                break;
        default:
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static DriverOutput out[DRIVER_OUTPUTS_MAX];
        const Driver *d = driver_find(FUZZ_DRIVER);
        DriverDecoder *dec = NULL;
        uint64_t frames = 0, samples = 0, failures = 0;

        require(d);
        require(driver_decoder_new(d, &dec) == 0);

        while (size >= 2) {
                uint8_t flags = data[0];
                size_t len = (size_t) data[1] | (size_t) (flags & 0x03) << 8;
                size_t max = flags & 0x40 ? (size_t) (flags & 0x07) : DRIVER_OUTPUTS_MAX;
                uint8_t *copy;
                int r;

                data += 2, size -= 2;
                len = len < size ? len : size;
                if (flags & 0x80)
                        driver_decoder_reset(dec);

                /* An exact-size heap copy: ASan sees any read past len. */
                copy = malloc(len ? len : 1);
                require(copy);
                if (len > 0)
                        memcpy(copy, data, len);
                memset(out, 0xA5, sizeof(out));

                r = driver_decoder_feed(dec, copy, len, out, max);
                frames++;
                require(r >= -4095);
                if (r < 0)
                        failures++;
                else {
                        require((size_t) r <= max);
                        for (int i = 0; i < r; i++) {
                                check_output(&out[i]);
                                samples += out[i].type == DRIVER_OUT_SAMPLE;
                        }
                }
                /* The promise of DRIVER_OUTPUTS_MAX: no notification up to the ATT limit is
                 * ever refused for lack of room. */
                if (max == DRIVER_OUTPUTS_MAX && len <= DRIVER_FRAME_MAX)
                        require(r != -ENOBUFS);
                if (len > DRIVER_FRAME_MAX)
                        require(r == -EMSGSIZE);

                free(copy);
                data += len, size -= len;
        }

        {
                const DriverStats *st = driver_decoder_stats(dec);

                require(st->frames == frames);
                require(st->samples == samples);
                require(st->dropped >= failures);
        }
        driver_decoder_free(dec);
        return 0;
}
