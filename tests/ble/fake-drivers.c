/* SPDX-License-Identifier: MIT */
/* TEST-ONLY stand-in for the drivers library (daemon/ble/drivers/, another branch): just
 * enough of driver.h for the BlueZ client tests to link, with "progressor", "entralpi" and
 * "whc06" decoding the documented byte layouts minimally and declared like the real ones.
 * At merge time the tests link the real drivers library (drivers_dep) instead and this
 * file goes away. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ble/drivers/driver.h"

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* [type][len][len/8 x (float32 LE kg, uint32 LE us)]; type 0 with 4 bytes: battery mV */
static int progressor_decode(void *state, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        size_t n = 0;

        if (len < 2 || (size_t) buf[1] + 2 != len)
                return -EBADMSG;
        if (buf[0] == 0) {
                uint32_t mv = buf[1] == 4 ? le32(buf + 2) : 0;
                if (mv < 1000 || mv > 10000)
                        return 0;   /* other command replies */
                if (max < 1)
                        return -ENOBUFS;
                out[0] = (DriverOutput) { .type = DRIVER_OUT_BATTERY, .battery_percent = -1,
                                          .battery_mv = (int) mv };
                return 1;
        }
        if (buf[0] == 4) {
                if (max < 1)
                        return -ENOBUFS;
                out[0] = (DriverOutput) { .type = DRIVER_OUT_LOW_POWER, .battery_percent = -1,
                                          .battery_mv = -1 };
                return 1;
        }
        if (buf[0] != 1 || buf[1] % 8 != 0 || buf[1] / 8U > max)
                return -EBADMSG;
        for (size_t off = 2; off < len; off += 8) {
                uint32_t bits = le32(buf + off);
                float kg;
                memcpy(&kg, &bits, sizeof(kg));
                out[n++] = (DriverOutput) {
                        .type = DRIVER_OUT_SAMPLE,
                        .newtons = (double) kg * KG_TO_N,
                        .has_device_ts = true,
                        .device_ts_us = le32(buf + off + 4),
                        .battery_percent = -1,
                        .battery_mv = -1,
                };
        }
        return (int) n;
}

/* uint16 BE 1/100 kg, one a notification */
static int entralpi_decode(void *state, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        if (len != 2)
                return -EBADMSG;
        if (max < 1)
                return -ENOBUFS;
        out[0] = (DriverOutput) {
                .type = DRIVER_OUT_SAMPLE,
                .newtons = ((unsigned) buf[0] << 8 | buf[1]) / 100.0 * KG_TO_N,
                .battery_percent = -1,
                .battery_mv = -1,
        };
        return 1;
}

/* manufacturer data (company 0x0100): BE int16 centi-kg at 10-11, unit nibble at 14 */
static int whc06_decode(void *state, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        if (len < 15 || max < 1 || (buf[14] & 0x0F) != 1)
                return -EBADMSG;
        int16_t centi = (int16_t) (uint16_t) ((unsigned) buf[10] << 8 | buf[11]);
        out[0] = (DriverOutput) {
                .type = DRIVER_OUT_SAMPLE,
                .newtons = centi / 100.0 * KG_TO_N,
                .battery_percent = -1,
                .battery_mv = -1,
        };
        return 1;
}

static const uint8_t progressor_start[] = { 0x65 };
static const uint8_t progressor_stop[] = { 0x66 };
static const uint8_t progressor_tare[] = { 0x64 };
static const uint8_t progressor_battery[] = { 0x6F };
static const char *const progressor_names[] = { "Progressor", NULL };
static const char *const whc06_names[] = { "IF_B7", NULL };
static const char *const entralpi_names[] = { "ENTRALPI", NULL };

static const Driver progressor = {
        .name = "progressor",
        .description = "test-only Tindeq Progressor",
        .name_prefixes = progressor_names,
        .service_uuid = "7e4e1701-1ea6-40c9-9dcc-13d34ffead57",
        .uuid_identifies = true,
        .notify_uuid = "7e4e1702-1ea6-40c9-9dcc-13d34ffead57",
        .write_uuid = "7e4e1703-1ea6-40c9-9dcc-13d34ffead57",
        .battery_uuid = NULL,
        .hw_tare = true,
        .start_cmd = { progressor_start, sizeof(progressor_start) },
        .stop_cmd = { progressor_stop, sizeof(progressor_stop) },
        .tare_cmd = { progressor_tare, sizeof(progressor_tare) },
        .battery_cmd = { progressor_battery, sizeof(progressor_battery) },
        .nominal_rate_hz = 80,
        .decode = progressor_decode,
};

static const Driver entralpi = {
        .name = "entralpi",
        .description = "test-only Entralpi",
        .name_prefixes = entralpi_names,
        .service_uuid = "0000181d-0000-1000-8000-00805f9b34fb",
        .uuid_identifies = false,
        .notify_uuid = "0000fff1-0000-1000-8000-00805f9b34fb",
        .battery_uuid = "00002a19-0000-1000-8000-00805f9b34fb",
        .hw_tare = false,
        .nominal_rate_hz = 10,
        .decode = entralpi_decode,
};

static const Driver whc06 = {
        .name = "whc06",
        .description = "test-only Weiheng WH-C06",
        .name_prefixes = whc06_names,
        .advert_only = true,
        .company_id = 0x0100,
        .nominal_rate_hz = 1,
        .decode = whc06_decode,
};

const Driver *const driver_table[] = { &progressor, &entralpi, &whc06, NULL };

const Driver *driver_find(const char *name) {
        for (size_t i = 0; name && driver_table[i]; i++)
                if (strcmp(driver_table[i]->name, name) == 0)
                        return driver_table[i];
        return NULL;
}

const Driver *driver_match(const char *adv_name, const char *const *uuids, size_t n_uuids) {
        /* like the real one: the name first, then a service UUID that identifies a family */
        for (size_t i = 0; driver_table[i]; i++) {
                const Driver *d = driver_table[i];
                for (size_t j = 0; adv_name && d->name_prefixes && d->name_prefixes[j]; j++)
                        if (strncmp(adv_name, d->name_prefixes[j], strlen(d->name_prefixes[j])) == 0)
                                return d;
        }
        for (size_t i = 0; driver_table[i]; i++) {
                const Driver *d = driver_table[i];
                for (size_t j = 0; d->uuid_identifies && d->service_uuid && j < n_uuids; j++)
                        if (strcasecmp(uuids[j], d->service_uuid) == 0)
                                return d;
        }
        return NULL;
}

struct DriverDecoder {
        const Driver *driver;
        DriverStats stats;
};

int driver_decoder_new(const Driver *d, DriverDecoder **ret) {
        DriverDecoder *dec;

        if (!d || !ret)
                return -EINVAL;
        dec = calloc(1, sizeof(*dec));
        if (!dec)
                return -ENOMEM;
        dec->driver = d;
        *ret = dec;
        return 0;
}

DriverDecoder *driver_decoder_free(DriverDecoder *dec) {
        free(dec);
        return NULL;
}

void driver_decoder_reset(DriverDecoder *dec) {
}

int driver_decoder_feed(DriverDecoder *dec, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        int n = dec->driver->decode(NULL, buf, len, out, max);

        dec->stats.frames++;
        if (n < 0)
                dec->stats.dropped++;
        else
                dec->stats.samples += (uint64_t) n;
        return n;
}

const DriverStats *driver_decoder_stats(const DriverDecoder *dec) {
        return &dec->stats;
}

const Driver *driver_decoder_driver(const DriverDecoder *dec) {
        return dec->driver;
}
