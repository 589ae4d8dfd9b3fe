/* SPDX-License-Identifier: MIT */
#pragma once

/* tphub's BLE side: force tools (by address, or adopted by driver match), advert-only tools,
 * and athlete tags, over BlueZ on the caller's sd-bus connection and sd-event loop. It knows
 * nothing of stations or the engine: it reports tool state, samples in newtons, battery and
 * tag taps through callbacks, and never logs by itself (log() receives the messages the
 * daemon may print; each recovery escalation is reported once, not per retry). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "ble/ble-recovery.h"
#include "ble/ble-zero.h"
#include "shared/time-util.h"

typedef struct BleManager BleManager;

typedef struct BleCallbacks {
        void (*tool_state)(const char *address, const char *driver, bool connected, void *userdata);
        /* owner: what the caller gave ble_manager_set_tool_owner() for this tool, NULL until
         * then (the caller finds it once, not for every sample). */
        void (*tool_sample)(const char *address, void *owner, double newtons, nsec_t arrival_mono,
                            bool has_device_ts, uint64_t device_ts_us, void *userdata);
        /* percent and/or millivolts (as the device reports it), -1 when not known */
        void (*tool_battery)(const char *address, int percent, int millivolts, void *userdata);
        void (*tag_tap)(const char *athlete, const char *address, int rssi, void *userdata);
        void (*log)(int priority /* LOG_ERR..LOG_DEBUG */, const char *message, void *userdata);
        /* The tool's zero (raw newtons subtracted from its samples) or its state changed:
         * persist it and give it back with ble_manager_set_zero() after a restart. */
        void (*tool_zero)(const char *address, double zero_n, BleZeroState state, void *userdata);
} BleCallbacks;

/* The defaults of the settings the configuration exposes (docs/config.md, ble): the
 * configuration starts from these, and a zero field here means the same. */
#define BLE_MANAGER_DEFAULT_MAX_LINKS 5U
#define BLE_MANAGER_DEFAULT_CONNECT_TIMEOUT_MS 20000U
#define BLE_MANAGER_DEFAULT_TAG_RSSI_DBM (-45)
#define BLE_MANAGER_DEFAULT_TAG_HOLD_MS 800U
#define BLE_MANAGER_DEFAULT_BACKOFF_INITIAL_MS BLE_RECOVERY_DEFAULT_BACKOFF_INITIAL_MS
#define BLE_MANAGER_DEFAULT_BACKOFF_MAX_MS BLE_RECOVERY_DEFAULT_BACKOFF_MAX_MS

/* Zero means "default" for every field. */
typedef struct BleManagerConfig {
        const char *adapter;                    /* "hci0"; NULL or "": the first powered adapter */
        unsigned max_links;                     /* simultaneous GATT links */
        uint32_t connect_timeout_ms;            /* Connect() reply */
        uint32_t resolve_timeout_ms;            /* ServicesResolved + characteristics, default 10000 */
        uint32_t stall_timeout_ms;              /* silent connected stream, default 5000 */
        uint32_t advert_timeout_ms;             /* advert-only tool silent -> disconnected, default 10000 */
        int tag_rssi_dbm;                       /* tap level (0 means default) */
        uint32_t tag_hold_ms;                   /* RSSI at or above the level this long */
        /* zero (ble-zero.h): steady this long within band; drift margin; loaded above */
        uint32_t zero_window_ms;                /* default 500 */
        double zero_band_n;                     /* default 1.0 */
        double zero_margin_n;                   /* default 3.0 */
        double zero_load_n;                     /* default 10.0 */
        /* recovery ladder (see ble-recovery.h) */
        uint32_t backoff_initial_ms;
        uint32_t backoff_max_ms;
        unsigned jitter_percent;                /* default 20; 100 or more = default */
        bool no_jitter;                         /* exact backoff (tests) */
        unsigned retries_before_remove;         /* default 3 */
        unsigned retries_before_power_cycle;    /* default 6 */
        uint32_t power_cycle_min_interval_ms;   /* default 300000 */
} BleManagerConfig;

/* Limits on what configuration and the air can make us allocate. */
#define BLE_MANAGER_MAX_TOOLS 32U

int ble_manager_new(BleManager **ret, sd_bus *bus, sd_event *event, const BleManagerConfig *cfg,
                    const BleCallbacks *cb, void *userdata);
BleManager *ble_manager_free(BleManager *m);

/* A tool at this address handled by this driver (driver_find() name). -EEXIST, -ENOENT
 * (no such driver), -EINVAL (bad address), -E2BIG (too many). */
int ble_manager_add_tool(BleManager *m, const char *address, const char *driver);
/* Adopt any device whose advertised name / service UUIDs match a driver. */
int ble_manager_set_auto_adopt(BleManager *m, bool on);
/* A tag for an athlete, identified by any of: address "AA:BB:..", iBeacon
 * "UUID:major:minor" (decimal major/minor), Eddystone-UID "NAMESPACE20HEX:INSTANCE12HEX".
 * Unused identifiers are NULL. */
int ble_manager_add_tag(BleManager *m, const char *athlete, const char *address, const char *ibeacon,
                        const char *eddystone);
int ble_manager_start(BleManager *m);
/* Tare: the tool's current steady reading becomes its zero. -ENOENT, -ENOTCONN, -EAGAIN (the
 * reading is not steady: someone touches the tool), -ENODATA (no sample yet). Never a
 * hardware tare: one zero per tool, kept here (see ble-zero.h). */
int ble_manager_tare(BleManager *m, const char *address);
/* The tool serves a running session (the caller knows; this library does not). A ladder
 * step that disturbs other links (power-cycling the adapter) is taken only while no other
 * connected tool is in use; otherwise the device is removed instead. -ENOENT. */
int ble_manager_set_tool_in_use(BleManager *m, const char *address, bool in_use);
/* The caller's own pointer for a tool (whom its samples serve), handed back with each sample;
 * clear_tool_owners forgets all of them (the caller's assignment changed). -ENOENT. */
int ble_manager_set_tool_owner(BleManager *m, const char *address, void *owner);
void ble_manager_clear_tool_owners(BleManager *m);
/* A zero known from before (persisted by the caller). -ENOENT, -EINVAL. */
int ble_manager_set_zero(BleManager *m, const char *address, double zero_n, BleZeroState state);

typedef struct BleToolInfo {
        const char *address;
        const char *driver;
        const char *name;       /* advertised name, NULL if unknown */
        bool connected;
        int battery;            /* percent, -1 if unknown */
        int battery_mv;         /* millivolts, -1 if unknown */
        nsec_t last_seen;       /* CLOCK_MONOTONIC of the last sample, 0 if none */
        bool has_rssi;
        int rssi;               /* dBm of the last advertisement heard, if has_rssi */
        double zero_n;          /* raw reading taken as zero */
        BleZeroState zero;
} BleToolInfo;

/* Strings in *ret stay valid until the next call into the manager. */
int ble_manager_tool_info(BleManager *m, const char *address, BleToolInfo *ret);
/* Addresses of all tools, i from 0 until NULL (for tools/<address> topics). */
const char *ble_manager_tool_at(BleManager *m, size_t i);
