/* SPDX-License-Identifier: MIT */
#pragma once

/* Discovery on one adapter: the filter (Transport le, service UUIDs, DuplicateData) and
 * Start/StopDiscovery so that scanning runs only while something needs it. bluetoothd
 * keeps filters and discovery sessions per client and forgets them when it restarts or the
 * adapter powers off, so both are re-applied whenever the adapter becomes usable again. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "ble/bluez-client.h"

typedef struct BleDiscovery BleDiscovery;

int ble_discovery_new(BleDiscovery **ret, BluezClient *client, sd_event *event);
BleDiscovery *ble_discovery_free(BleDiscovery *d);

/* uuids: NULL-terminated service UUIDs to filter on, or NULL for no UUID filter.
 * duplicate_data: report every advertisement (advert-only tools, tags). */
int ble_discovery_set_filter(BleDiscovery *d, const char *const *uuids, bool duplicate_data);
void ble_discovery_set_wanted(BleDiscovery *d, bool wanted);
/* The usable adapter, or NULL: forgets what was applied. */
int ble_discovery_set_adapter(BleDiscovery *d, const char *path);
/* The adapter's Discovering property: false while we think we scan means bluetoothd
 * dropped our session; start again. */
void ble_discovery_adapter_discovering(BleDiscovery *d, bool discovering);

bool ble_discovery_is_running(const BleDiscovery *d);
bool ble_discovery_is_wanted(const BleDiscovery *d);
