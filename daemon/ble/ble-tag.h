/* SPDX-License-Identifier: MIT */
#pragma once

/* Athlete tags: an advertiser (iBeacon, Eddystone-UID, or a fixed address) held close to a
 * station. A tap is the tag's RSSI staying at or above the level for the hold time: it is
 * reported once, and re-armed only after the RSSI drops below the level or the tag
 * disappears (device removed, RSSI invalidated when scanning stops). BlueZ emits RSSI only
 * when it changes, so "continuously" means no reading below the level meanwhile. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "ble/bluez-client.h"
#include "shared/time-util.h"

#define BLE_TAG_MAX 256U
#define BLE_TAG_APPLE_COMPANY 0x004CU
#define BLE_TAG_EDDYSTONE_UUID "0000feaa-0000-1000-8000-00805f9b34fb"

typedef struct BleTagWatch BleTagWatch;

typedef void (*ble_tag_tap_t)(const char *athlete, const char *address, int rssi, void *userdata);

int ble_tag_watch_new(BleTagWatch **ret, sd_event *event, int rssi_dbm, nsec_t hold, ble_tag_tap_t tap,
                      void *userdata);
BleTagWatch *ble_tag_watch_free(BleTagWatch *w);

/* ibeacon: "UUID:major:minor"; eddystone: "NAMESPACE(20 hex):INSTANCE(12 hex)"; address:
 * "AA:BB:CC:DD:EE:FF". At least one; unused ones NULL. -EINVAL on malformed input. */
int ble_tag_watch_add(BleTagWatch *w, const char *athlete, const char *address, const char *ibeacon,
                      const char *eddystone);
size_t ble_tag_watch_count(const BleTagWatch *w);
/* Whether this device is one of the configured tags. */
bool ble_tag_watch_matches(const BleTagWatch *w, const BluezDevice *d);
void ble_tag_watch_device(BleTagWatch *w, const BluezDevice *d, bool removed);
/* Scanning stopped or bluetoothd went away: every tag is re-armed. */
void ble_tag_watch_reset(BleTagWatch *w);
