/* SPDX-License-Identifier: MIT */
/* The driver table, lookup, and the per-device decoder object that wraps a driver's
 * decode() with its private state and statistics. */

#include <stdlib.h>
#include <strings.h>

#include "ble/drivers/driver-internal.h"

const Driver *const driver_table[] = {
        &driver_progressor,
        &driver_forceboard,
        &driver_entralpi,
        &driver_whc06,
        &driver_cts500,
        &driver_linescale,
        &driver_activ5,
        &driver_imd_force,
        NULL,
};

struct DriverDecoder {
        const Driver *driver;
        DriverStats stats;
        uint8_t state[]; /* driver->state_size bytes, zeroed = fresh */
};

const Driver *driver_find(const char *name) {
        if (!name)
                return NULL;
        for (const Driver *const *d = driver_table; *d; d++)
                if (strcmp((*d)->name, name) == 0)
                        return *d;
        return NULL;
}

static bool name_matches(const Driver *d, const char *adv_name) {
        if (!adv_name || !d->name_prefixes)
                return false;
        for (const char *const *p = d->name_prefixes; *p; p++)
                if (strncmp(adv_name, *p, strlen(*p)) == 0)
                        return true;
        return false;
}

static bool uuids_match(const Driver *d, const char *const *uuids, size_t n_uuids) {
        if (!uuids || !d->service_uuid || !d->uuid_identifies)
                return false;
        for (size_t i = 0; i < n_uuids; i++)
                if (uuids[i] && strcasecmp(uuids[i], d->service_uuid) == 0)
                        return true;
        return false;
}

const Driver *driver_match(const char *adv_name, const char *const *uuids, size_t n_uuids) {
        /* The name is the stronger evidence: clones may reuse another's service UUID but
         * keep their own name. Only then a service UUID that names one device family. */
        for (const Driver *const *d = driver_table; *d; d++)
                if (name_matches(*d, adv_name))
                        return *d;
        for (const Driver *const *d = driver_table; *d; d++)
                if (uuids_match(*d, uuids, n_uuids))
                        return *d;
        return NULL;
}

int driver_decoder_new(const Driver *d, DriverDecoder **ret) {
        DriverDecoder *dec;

        if (!d || !d->decode || !ret)
                return -EINVAL;
        dec = calloc(1, sizeof(DriverDecoder) + d->state_size);
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
        if (!dec)
                return;
        /* Partial frames and clock unwrapping belong to the old connection; the statistics
         * describe the device and survive. */
        memset(dec->state, 0, dec->driver->state_size);
}

int driver_decoder_feed(DriverDecoder *dec, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        unsigned extra = 0;
        int r;

        if (!dec || (!buf && len > 0) || (!out && max > 0))
                return -EINVAL;

        dec->stats.frames++;
        /* Decoders index buf only below len; give them a valid pointer even for len 0. */
        r = dec->driver->decode(dec->state, buf ? buf : (const uint8_t *) "", len, out, max);
        if (dec->driver->take_dropped)
                extra = dec->driver->take_dropped(dec->state);
        if (r < 0) {
                dec->stats.dropped += MAX(extra, 1u);
                return r;
        }
        dec->stats.dropped += extra;
        for (int i = 0; i < r; i++)
                if (out[i].type == DRIVER_OUT_SAMPLE)
                        dec->stats.samples++;
        return r;
}

const DriverStats *driver_decoder_stats(const DriverDecoder *dec) {
        return dec ? &dec->stats : NULL;
}

const Driver *driver_decoder_driver(const DriverDecoder *dec) {
        return dec ? dec->driver : NULL;
}
