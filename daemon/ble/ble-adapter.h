/* SPDX-License-Identifier: MIT */
#pragma once

/* Which adapter tphub uses: the configured one ("hci0") or else the first powered one, and
 * whether it is usable right now (present and powered). Also the adapter-level steps of the
 * recovery ladder: RemoveDevice and a power cycle through the Powered property. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "ble/bluez-client.h"

typedef struct BleAdapter BleAdapter;

typedef struct BleAdapterCallbacks {
        /* The usable adapter changed: its object path, or NULL when there is none. */
        void (*ready)(const char *path, void *userdata);
        /* A power cycle finished: 0, or the negative errno of the step that failed. */
        void (*power_cycled)(int error, void *userdata);
} BleAdapterCallbacks;

int ble_adapter_new(BleAdapter **ret, BluezClient *client, const char *want, const BleAdapterCallbacks *cb,
                    void *userdata);
BleAdapter *ble_adapter_free(BleAdapter *a);

/* Re-evaluates the choice; call after any adapter or service change. */
void ble_adapter_update(BleAdapter *a);
const char *ble_adapter_path(const BleAdapter *a);
const char *ble_adapter_name(const BleAdapter *a);
bool ble_adapter_is_cycling(const BleAdapter *a);

int ble_adapter_power_cycle(BleAdapter *a);
/* Adapter1.RemoveDevice; the handler gets the reply (the device object's disappearance is
 * announced separately by InterfacesRemoved). */
int ble_adapter_remove_device(BleAdapter *a, const char *device_path, sd_bus_slot **ret_slot,
                              sd_bus_message_handler_t handler, void *userdata);
