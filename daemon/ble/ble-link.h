/* SPDX-License-Identifier: MIT */
#pragma once

/* One GATT connection to one tool, from Connect to a running notification stream:
 *
 *   IDLE -> CONNECTING (Device1.Connect, timeout) -> RESOLVING (ServicesResolved and the
 *   driver's characteristics present, timeout) -> SUBSCRIBING (AcquireNotify where the
 *   driver allows it, else or when refused StartNotify) -> SETUP (init,
 *   battery and start commands, battery level read) -> STREAMING (stall watchdog)
 *
 * Any failure disconnects (waiting for Disconnect's reply, so a retry never races the old
 * link) and reports once through ended(). The PropertiesChanged match for notifications is
 * installed by BluezClient before anything connects, so values bluetoothd sends while
 * StartNotify is still in flight are not lost. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "ble/bluez-client.h"
#include "ble/drivers/driver.h"
#include "shared/time-util.h"

typedef struct BleLink BleLink;

typedef enum BleLinkState {
        BLE_LINK_IDLE,
        BLE_LINK_CONNECTING,
        BLE_LINK_RESOLVING,
        BLE_LINK_SUBSCRIBING,
        BLE_LINK_SETUP,
        BLE_LINK_STREAMING,
        BLE_LINK_DISCONNECTING,
} BleLinkState;

typedef enum BleFailure {
        BLE_FAILURE_ABORT,              /* org.bluez.Error.Failed le-connection-abort-by-local */
        BLE_FAILURE_FAILED,             /* other org.bluez.Error.Failed / errors */
        BLE_FAILURE_IN_PROGRESS,        /* org.bluez.Error.InProgress */
        BLE_FAILURE_TIMEOUT,            /* no reply, or GATT never resolved */
        BLE_FAILURE_STALL,              /* connected but silent */
        BLE_FAILURE_LOST,               /* the link went down (remote, adapter, device removed) */
        BLE_FAILURE_LOCAL,              /* we asked for it (tphub shutting the link) */
} BleFailure;

typedef struct BleLinkConfig {
        uint32_t connect_timeout_ms;
        uint32_t resolve_timeout_ms;
        uint32_t stall_timeout_ms;      /* 0: no stall watchdog */
} BleLinkConfig;

typedef struct BleLinkCallbacks {
        /* GATT ready (true) / link gone (false); false always comes before ended(). */
        void (*state)(BleLink *l, bool connected, void *userdata);
        /* The attempt or stream ended; the link is IDLE again. detail: D-Bus error text. */
        void (*ended)(BleLink *l, BleFailure f, const char *detail, void *userdata);
        /* The stream works: set up completely and the first sample arrived. */
        void (*streaming)(BleLink *l, void *userdata);
        void (*sample)(BleLink *l, double newtons, nsec_t arrival, bool has_device_ts,
                       uint64_t device_ts_us, void *userdata);
        /* percent and/or millivolts, -1 when not known */
        void (*battery)(BleLink *l, int percent, int millivolts, void *userdata);
        /* the device warned it is about to switch off (once per connection) */
        void (*low_power)(BleLink *l, void *userdata);
        /* Notifications are being subscribed to: through an AcquireNotify socket (acquired,
         * with the ATT MTU bluetoothd reported; reason NULL) or through StartNotify (reason
         * says why). Called again when the link subscribes anew. */
        void (*subscribed)(BleLink *l, bool acquired, uint16_t mtu, const char *reason, void *userdata);
} BleLinkCallbacks;

int ble_link_new(BleLink **ret, BluezClient *client, sd_event *event, const Driver *driver, const char *address,
                 const BleLinkConfig *cfg, const BleLinkCallbacks *cb, void *userdata);
BleLink *ble_link_free(BleLink *l);

int ble_link_connect(BleLink *l, const char *device_path);
/* Ends the link on our initiative: Disconnect, then ended(BLE_FAILURE_LOCAL). */
int ble_link_disconnect(BleLink *l);
/* Forgets everything without a bus call (bluetoothd went away). Returns true when it was
 * connected; no callbacks. */
bool ble_link_drop(BleLink *l);

void ble_link_device_event(BleLink *l, const BluezDevice *d, unsigned changed, bool removed);
void ble_link_characteristic_event(BleLink *l, const BluezCharacteristic *c, bool removed);
void ble_link_notification(BleLink *l, const BluezCharacteristic *c, const uint8_t *value, size_t len, nsec_t now);

BleLinkState ble_link_get_state(const BleLink *l);
const char *ble_link_get_address(const BleLink *l);
const char *ble_link_get_device_path(const BleLink *l);
const Driver *ble_link_get_driver(const BleLink *l);
const char *ble_failure_to_string(BleFailure f);
