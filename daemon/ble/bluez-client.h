/* SPDX-License-Identifier: MIT */
#pragma once

/* A mirror of bluetoothd's object tree (ObjectManager on org.bluez), kept current from
 * InterfacesAdded/Removed and PropertiesChanged, and dropped as a whole when org.bluez loses
 * its owner (bluetoothd sends nothing when it dies). Only what tphub uses is parsed:
 * Adapter1, Device1 and GattCharacteristic1. Characteristic Value changes are passed on as
 * notifications and not stored. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#define BLUEZ_SERVICE "org.bluez"
#define BLUEZ_ADAPTER_IFACE "org.bluez.Adapter1"
#define BLUEZ_DEVICE_IFACE "org.bluez.Device1"
#define BLUEZ_CHAR_IFACE "org.bluez.GattCharacteristic1"

/* Upper bound on mirrored objects: a crowded gym must not grow us without limit. */
#define BLUEZ_CLIENT_MAX_OBJECTS 2048U

typedef struct BluezClient BluezClient;

typedef struct BluezAdapter {
        char *path;             /* "/org/bluez/hci0" */
        const char *name;       /* "hci0", points into path */
        bool powered;
        bool discovering;
} BluezAdapter;

typedef struct BluezAdvData {
        uint16_t company;       /* ManufacturerData key */
        char *uuid;             /* ServiceData key, lower case */
        uint8_t *data;
        size_t len;
} BluezAdvData;

typedef struct BluezDevice {
        char *path;
        char *adapter;          /* adapter object path */
        char *address;          /* upper case "AA:BB:CC:DD:EE:FF" */
        char *name;             /* NULL when not advertised */
        char **uuids;           /* lower case */
        size_t n_uuids;
        bool connected;
        bool services_resolved;
        bool has_rssi;
        int rssi;
        BluezAdvData *mfr;
        size_t n_mfr;
        BluezAdvData *svc;
        size_t n_svc;
} BluezDevice;

typedef enum BluezDeviceChange {
        BLUEZ_DEVICE_CONNECTED = 1U << 0,
        BLUEZ_DEVICE_RESOLVED = 1U << 1,
        BLUEZ_DEVICE_RSSI = 1U << 2,
        BLUEZ_DEVICE_MFR = 1U << 3,
        BLUEZ_DEVICE_SVC = 1U << 4,
        BLUEZ_DEVICE_NAME = 1U << 5,
        BLUEZ_DEVICE_UUIDS = 1U << 6,
        BLUEZ_DEVICE_NEW = 1U << 7,
} BluezDeviceChange;

typedef struct BluezCharacteristic {
        char *path;
        char *device;           /* device object path */
        char *uuid;             /* lower case */
        bool can_notify;        /* notify or indicate */
        bool has_notify_flag;   /* "notify" itself: AcquireNotify (5.66) needs it, indicate won't do */
        bool can_write;
        bool can_read;
        bool notifying;
} BluezCharacteristic;

typedef struct BluezClientCallbacks {
        /* up: org.bluez has an owner and the tree is enumerated; down: the owner went away
         * and every mirrored object was dropped (no per-object removal callbacks). */
        void (*service)(bool up, void *userdata);
        void (*adapter)(const BluezAdapter *a, bool removed, void *userdata);
        void (*device)(const BluezDevice *d, unsigned changed, bool removed, void *userdata);
        void (*characteristic)(const BluezCharacteristic *c, bool removed, void *userdata);
        void (*notification)(const BluezCharacteristic *c, const uint8_t *value, size_t len, void *userdata);
} BluezClientCallbacks;

int bluez_client_new(BluezClient **ret, sd_bus *bus, const BluezClientCallbacks *cb, void *userdata);
BluezClient *bluez_client_free(BluezClient *c);
/* Installs the signal matches, then looks for org.bluez and enumerates it. */
int bluez_client_start(BluezClient *c);

bool bluez_client_is_up(const BluezClient *c);
sd_bus *bluez_client_get_bus(const BluezClient *c);

const BluezAdapter *bluez_client_get_adapter(const BluezClient *c, const char *path);
/* Adapters in enumeration order; i from 0 until NULL. */
const BluezAdapter *bluez_client_adapter_at(const BluezClient *c, size_t i);
const BluezDevice *bluez_client_get_device(const BluezClient *c, const char *path);
const BluezDevice *bluez_client_find_device(const BluezClient *c, const char *adapter_path, const char *address);
const BluezDevice *bluez_client_device_at(const BluezClient *c, size_t i);
const BluezCharacteristic *bluez_client_find_characteristic(const BluezClient *c, const char *device_path,
                                                            const char *uuid);
const BluezAdvData *bluez_device_get_mfr(const BluezDevice *d, uint16_t company);
const BluezAdvData *bluez_device_get_svc(const BluezDevice *d, const char *uuid);

/* An asynchronous method call to org.bluez with an explicit timeout. The reply handler runs
 * on the event loop; *ret_slot owns the pending call (unref it to cancel). With ret_slot
 * NULL the call is floating (owned by the bus): then the handler must not use userdata that
 * may be freed first. types/... as for sd_bus_message_append(). */
int bluez_client_call(BluezClient *c, sd_bus_slot **ret_slot, const char *path, const char *interface,
                      const char *member, uint64_t timeout_usec, sd_bus_message_handler_t handler,
                      void *userdata, const char *types, ...);

/* The same in two steps, for arguments sd_bus_message_append() cannot express in one
 * call (byte arrays, dictionaries): build, append, send. */
int bluez_client_new_call(BluezClient *c, sd_bus_message **ret, const char *path, const char *interface,
                          const char *member);
int bluez_client_send(BluezClient *c, sd_bus_slot **ret_slot, sd_bus_message *m, uint64_t timeout_usec,
                      sd_bus_message_handler_t handler, void *userdata);

/* Normalises a Bluetooth address to upper case; -EINVAL unless "XX:XX:XX:XX:XX:XX". */
int bluez_address_normalize(const char *in, char out[static 18]);
