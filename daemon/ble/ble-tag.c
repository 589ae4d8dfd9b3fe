/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ble/ble-id.h"
#include "ble/ble-tag.h"
#include "shared/macro.h"

#define TRACKERS_MAX 64U
#define HOLD_ACCURACY_USEC (5U * 1000U)

typedef struct Tag {
        char *athlete;
        bool has_address, has_ibeacon, has_eddystone;
        char address[18];
        uint8_t ibeacon[20];    /* uuid(16) major(2, BE) minor(2, BE) */
        uint8_t eddystone[16];  /* namespace(10) instance(6) */
} Tag;

typedef struct Tracker {
        BleTagWatch *w;
        char *path;
        char address[18];
        size_t tag;
        int rssi;
        bool above;
        bool tapped;
        sd_event_source *hold;
} Tracker;

struct BleTagWatch {
        sd_event *event;
        int rssi_dbm;
        nsec_t hold;
        ble_tag_tap_t tap;
        void *userdata;
        Tag *tags;
        size_t n_tags;
        Tracker *trackers[TRACKERS_MAX];
        size_t n_trackers;
};

int ble_tag_watch_new(BleTagWatch **ret, sd_event *event, int rssi_dbm, nsec_t hold, ble_tag_tap_t tap,
                      void *userdata) {
        BleTagWatch *w;

        if (!ret || !event || !tap)
                return -EINVAL;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(event);
        w->rssi_dbm = rssi_dbm;
        w->hold = hold;
        w->tap = tap;
        w->userdata = userdata;
        *ret = w;
        return 0;
}

static Tracker *tracker_free(Tracker *t) {
        if (!t)
                return NULL;
        sd_event_source_disable_unref(t->hold);
        free(t->path);
        free(t);
        return NULL;
}

void ble_tag_watch_reset(BleTagWatch *w) {
        if (!w)
                return;
        for (size_t i = 0; i < w->n_trackers; i++)
                tracker_free(w->trackers[i]);
        w->n_trackers = 0;
}

BleTagWatch *ble_tag_watch_free(BleTagWatch *w) {
        if (!w)
                return NULL;
        ble_tag_watch_reset(w);
        for (size_t i = 0; i < w->n_tags; i++)
                free(w->tags[i].athlete);
        free(w->tags);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

int ble_tag_watch_add(BleTagWatch *w, const char *athlete, const char *address, const char *ibeacon,
                      const char *eddystone) {
        Tag t = {};
        Tag *grown;

        if (!w || !athlete || !*athlete || (!address && !ibeacon && !eddystone))
                return -EINVAL;
        if (w->n_tags >= BLE_TAG_MAX)
                return -E2BIG;
        if (address) {
                if (bluez_address_normalize(address, t.address) < 0)
                        return -EINVAL;
                t.has_address = true;
        }
        if (ibeacon) {
                if (ble_ibeacon_parse(ibeacon, t.ibeacon) < 0)
                        return -EINVAL;
                t.has_ibeacon = true;
        }
        if (eddystone) {
                if (ble_eddystone_parse(eddystone, t.eddystone) < 0)
                        return -EINVAL;
                t.has_eddystone = true;
        }
        t.athlete = strdup(athlete);
        if (!t.athlete)
                return -ENOMEM;
        grown = realloc(w->tags, (w->n_tags + 1) * sizeof(Tag));
        if (!grown) {
                free(t.athlete);
                return -ENOMEM;
        }
        w->tags = grown;
        w->tags[w->n_tags++] = t;
        return 0;
}

size_t ble_tag_watch_count(const BleTagWatch *w) {
        return w ? w->n_tags : 0;
}

static bool tag_matches(const Tag *t, const BluezDevice *d) {
        const BluezAdvData *a;

        if (t->has_address && strcmp(t->address, d->address) == 0)
                return true;
        /* iBeacon: 0x02 0x15, uuid, major, minor, tx power */
        if (t->has_ibeacon && (a = bluez_device_get_mfr(d, BLE_TAG_APPLE_COMPANY)) && a->len >= 22 &&
            a->data[0] == 0x02 && a->data[1] == 0x15 && memcmp(a->data + 2, t->ibeacon, 20) == 0)
                return true;
        /* Eddystone-UID: frame 0x00, tx power, namespace, instance */
        if (t->has_eddystone && (a = bluez_device_get_svc(d, BLE_TAG_EDDYSTONE_UUID)) && a->len >= 18 &&
            a->data[0] == 0x00 && memcmp(a->data + 2, t->eddystone, 16) == 0)
                return true;
        return false;
}

static ssize_t find_tag(const BleTagWatch *w, const BluezDevice *d) {
        for (size_t i = 0; i < w->n_tags; i++)
                if (tag_matches(&w->tags[i], d))
                        return (ssize_t) i;
        return -1;
}

bool ble_tag_watch_matches(const BleTagWatch *w, const BluezDevice *d) {
        return w && find_tag(w, d) >= 0;
}

static ssize_t find_tracker(const BleTagWatch *w, const char *path) {
        for (size_t i = 0; i < w->n_trackers; i++)
                if (strcmp(w->trackers[i]->path, path) == 0)
                        return (ssize_t) i;
        return -1;
}

static void remove_tracker(BleTagWatch *w, size_t i) {
        tracker_free(w->trackers[i]);
        memmove(w->trackers + i, w->trackers + i + 1, (w->n_trackers - i - 1) * sizeof(Tracker *));
        w->n_trackers--;
}

static int on_hold(sd_event_source *s, uint64_t usec, void *userdata) {
        Tracker *t = userdata;
        BleTagWatch *w = t->w;

        t->hold = sd_event_source_disable_unref(t->hold);
        if (!t->above || t->tapped)
                return 0;
        t->tapped = true;
        w->tap(w->tags[t->tag].athlete, t->address, t->rssi, w->userdata);
        return 0;
}

void ble_tag_watch_device(BleTagWatch *w, const BluezDevice *d, bool removed) {
        ssize_t i;
        Tracker *t;

        if (!w || w->n_tags == 0)
                return;
        i = find_tracker(w, d->path);
        if (removed || !d->has_rssi) {
                /* gone: the next approach is a new tap */
                if (i >= 0)
                        remove_tracker(w, (size_t) i);
                return;
        }
        if (i < 0) {
                ssize_t tag = find_tag(w, d);
                if (tag < 0 || w->n_trackers >= TRACKERS_MAX)
                        return;
                t = calloc(1, sizeof(*t));
                if (!t)
                        return;
                t->path = strdup(d->path);
                if (!t->path) {
                        free(t);
                        return;
                }
                t->w = w;
                t->tag = (size_t) tag;
                memcpy(t->address, d->address, sizeof(t->address));
                w->trackers[w->n_trackers++] = t;
        } else
                t = w->trackers[i];

        t->rssi = d->rssi;
        if (d->rssi >= w->rssi_dbm) {
                if (!t->above) {
                        t->above = true;
                        if (!t->tapped)
                                (void) sd_event_add_time_relative(w->event, &t->hold, CLOCK_MONOTONIC,
                                                                  w->hold / NSEC_PER_USEC, HOLD_ACCURACY_USEC,
                                                                  on_hold, t);
                }
        } else {
                t->above = false;
                t->tapped = false;
                t->hold = sd_event_source_disable_unref(t->hold);
        }
}
