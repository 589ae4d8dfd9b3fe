/* SPDX-License-Identifier: MIT */
/* Wires BLE force tools and athlete tags (ble/) to stations: a tool belongs to the station
 * that lists its address (or to the first station that adopts any tool), a tag tap starts a
 * session for its athlete at the first idle station. */

#include <errno.h>
#include <string.h>

#include "hub/hub-private.h"
#include "shared/log.h"
#include "shared/macro.h"

static HubStation *station_of_tool(Hub *h, const char *address) {
        for (size_t i = 0; i < h->n_stations; i++) {
                const ConfigStation *c = h->stations[i].config;
                for (size_t k = 0; k < c->n_tools; k++)
                        if (strcasecmp(c->tools[k].address, address) == 0)
                                return &h->stations[i];
        }
        /* adopted: the first station that adopts tools */
        for (size_t i = 0; i < h->n_stations; i++)
                if (h->stations[i].config->auto_adopt)
                        return &h->stations[i];
        return NULL;
}

static void on_tool_state(void *userdata, const char *address, const char *driver, bool connected) {
        Hub *h = userdata;
        HubStation *hs = station_of_tool(h, address);

        log_notice("Tool %s (%s) %s%s%s", address, driver, connected ? "connected" : "disconnected",
                   hs ? " for " : "", hs ? hs->config->name : "");
        if (hs)
                (void) station_tool(hs->station, connected, now_monotonic());
        hub_mqtt_tool(h, address);
}

static void on_tool_sample(void *userdata, const char *address, double newtons, nsec_t arrival,
                           bool has_device_ts, uint64_t device_ts_us) {
        Hub *h = userdata;
        HubStation *hs = station_of_tool(h, address);

        if (!hs)
                return;
        /* Arrival time, not the device clock: the engine's timers run on this host's clock,
         * and notifications arrive within a connection interval of being measured. */
        (void) station_force(hs->station, newtons, arrival);
        hub_audio_force(h, hs);
        hub_mqtt_force(h, hs, arrival);
}

static void on_tool_battery(void *userdata, const char *address, int percent, int millivolts) {
        Hub *h = userdata;

        if (percent >= 0)
                log_info("Tool %s battery %d%%", address, percent);
        else if (millivolts > 0)
                log_info("Tool %s battery %.2f V", address, millivolts / 1000.0);
        hub_mqtt_tool(h, address);
}

static void on_tag_tap(void *userdata, const char *athlete, const char *address, int rssi) {
        Hub *h = userdata;

        /* One radio hears every tag, so "nearest" cannot be told apart: the first idle
         * station, in configuration order, takes the athlete. */
        for (size_t i = 0; i < h->n_stations; i++) {
                HubStation *hs = &h->stations[i];
                if (station_busy(hs->station) || !hs->config->default_protocol)
                        continue;
                log_notice("%s: athlete %s tapped in with tag %s (RSSI %d dBm)", hs->config->name, athlete, address, rssi);
                (void) station_start(hs->station, hs->config->default_protocol, athlete, now_monotonic());
                return;
        }
        log_notice("Athlete %s tapped in (tag %s) but every station is busy.", athlete, address);
}

static void on_log(void *userdata, int priority, const char *message) {
        log_internal(priority, 0, "BLE: %s", message);
}

int hub_ble_start(Hub *h) {
        const ConfigBle *b = &h->config->ble;
        bool adopt = false, tools = false;
        int r;

        if (!b->enabled)
                return 0;
        for (size_t i = 0; i < h->n_stations; i++) {
                adopt = adopt || h->stations[i].config->auto_adopt;
                tools = tools || h->stations[i].config->n_tools > 0;
        }
        if (!tools && !adopt && b->n_tags == 0)
                return 0;

        r = sd_bus_open_system(&h->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system D-Bus (for BlueZ): %m");
        r = sd_bus_attach_event(h->bus, h->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach D-Bus to the event loop: %m");

        BleManagerConfig cfg = {
                .adapter = b->adapter,
                .max_links = b->max_links,
                .connect_timeout_ms = b->connect_timeout_ms,
                .tag_rssi_dbm = b->tag_rssi_dbm,
                .tag_hold_ms = b->tag_hold_ms,
        };
        static const BleCallbacks cb = {
                .tool_state = on_tool_state,
                .tool_sample = on_tool_sample,
                .tool_battery = on_tool_battery,
                .tag_tap = on_tag_tap,
                .log = on_log,
        };
        r = ble_manager_new(&h->ble, h->bus, h->event, &cfg, &cb, h);
        if (r < 0)
                return log_error_errno(r, "Cannot set up BLE: %m");
        for (size_t i = 0; i < h->n_stations; i++) {
                const ConfigStation *c = h->stations[i].config;
                for (size_t k = 0; k < c->n_tools; k++) {
                        r = ble_manager_add_tool(h->ble, c->tools[k].address, c->tools[k].driver);
                        if (r < 0)
                                return log_error_errno(r, "%s: cannot add tool %s (%s): %m", c->name,
                                                       c->tools[k].address, c->tools[k].driver);
                }
        }
        if (adopt) {
                r = ble_manager_set_auto_adopt(h->ble, true);
                if (r < 0)
                        return log_error_errno(r, "Cannot enable auto-adopt: %m");
        }
        for (size_t i = 0; i < b->n_tags; i++) {
                const ConfigTag *t = &b->tags[i];
                r = ble_manager_add_tag(h->ble, t->athlete, t->address, t->ibeacon, t->eddystone);
                if (r < 0)
                        return log_error_errno(r, "Cannot add the tag of athlete %s: %m", t->athlete);
        }
        r = ble_manager_start(h->ble);
        if (r < 0)
                return log_error_errno(r, "Cannot start BLE: %m");
        return 0;
}

void hub_ble_stop(Hub *h) {
        h->ble = ble_manager_free(h->ble);
        if (h->bus) {
                /* ble_manager_free queued Disconnects: hand them to bluetoothd before leaving. */
                (void) sd_bus_flush(h->bus);
                h->bus = sd_bus_flush_close_unref(h->bus);
        }
}
