/* SPDX-License-Identifier: MIT */
/* Wires BLE force tools and athlete tags (ble/) to stations (which station: hub-assign.c):
 * samples and tool presence go to the station, a tag tap starts a session; the station's cue
 * tells the BLE side whether its tools serve a running session (recovery ladder). */

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hub/hub-private.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "store/atomic-file.h"

#define ZERO_FILE_MAX 4096U

static void on_tool_state(const char *address, const char *driver, bool connected, void *userdata) {
        Hub *h = userdata;
        HubStation *hs = hub_station_of_tool(h, address);

        log_notice("Tool %s (%s) %s%s%s", address, driver, connected ? "connected" : "disconnected",
                   hs ? " for " : "", hs ? hs->config->name : "");
        if (hs)
                (void) station_tool(hs->station, connected, now_monotonic());
        hub_mqtt_tool(h, address);
        hub_mqtt_links_changed(h);
}

/* ---- a tool's zero, kept across restarts in the state directory ---- */

static void zero_file_name(const char *address, char buf[static 48]) {
        snprintf(buf, 48, "tool-%s.zero.json", address);
        for (char *p = buf; *p; p++)
                if (*p == ':')
                        *p = '-';
}

static void on_tool_zero(const char *address, double zero_n, BleZeroState state, void *userdata) {
        Hub *h = userdata;
        _cleanup_free_ char *doc = NULL;
        char name[48];
        int fd, r;

        hub_mqtt_tool(h, address);
        if (!h->config->state_dir)
                return;
        zero_file_name(address, name);
        if (asprintf(&doc, "{\"zero_n\":%.6f,\"state\":\"%s\"}\n", zero_n, ble_zero_state_to_string(state)) < 0)
                return;
        fd = open(h->config->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                log_warning_errno(errno, "Tool %s: cannot keep its zero in %s: %m", address, h->config->state_dir);
                return;
        }
        /* Only when the zero changes (a tare, a steady unloaded reading), which may be while
         * another station holds: no fsync, so a slow card cannot delay its cue. A power
         * loss may cost the latest zero (the file is then ignored), never a wrong one. */
        r = atomic_file_replace_at(fd, name, ".tmp-", doc, strlen(doc), 0640);
        close(fd);
        if (r < 0)
                log_warning_errno(r, "Tool %s: cannot keep its zero in %s/%s: %m", address, h->config->state_dir, name);
}

static void load_zero(Hub *h, const char *address) {
        _cleanup_free_ char *doc = NULL;
        json_object *o, *z, *st;
        BleZeroState state;
        char name[48];
        int fd, r;

        if (!h->config->state_dir)
                return;
        zero_file_name(address, name);
        fd = open(h->config->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        r = atomic_file_read_at(fd, name, ZERO_FILE_MAX, &doc, NULL);
        close(fd);
        if (r < 0) {
                if (r != -ENOENT)
                        log_warning_errno(r, "Tool %s: cannot read its zero %s/%s: %m", address, h->config->state_dir, name);
                return;
        }
        o = json_tokener_parse(doc);
        if (!o || !json_object_object_get_ex(o, "zero_n", &z) || !json_object_object_get_ex(o, "state", &st) ||
            !(json_object_is_type(z, json_type_double) || json_object_is_type(z, json_type_int)) ||
            (state = ble_zero_state_from_string(json_object_get_string(st))) == _BLE_ZERO_STATE_MAX) {
                log_warning("Tool %s: %s/%s is not a zero document; ignored.", address, h->config->state_dir, name);
                json_object_put(o);
                return;
        }
        r = ble_manager_set_zero(h->ble, address, json_object_get_double(z), state);
        if (r >= 0)
                log_info("Tool %s: zero %.2f N raw (%s) kept from before", address, json_object_get_double(z),
                         ble_zero_state_to_string(state));
        json_object_put(o);
}

static void station_busy_changed(Hub *h, HubStation *hs) {
        bool busy = station_busy(hs->station);

        for (size_t i = 0; h->ble && ble_manager_tool_at(h->ble, i); i++)
                if (hub_station_of_tool(h, ble_manager_tool_at(h->ble, i)) == hs)
                        (void) ble_manager_set_tool_in_use(h->ble, ble_manager_tool_at(h->ble, i), busy);
}

const char *hub_ble_tare(Hub *h, HubStation *hs, nsec_t now) {
        const char *error = "no tool is connected";
        bool tried = false;

        /* hub_command_decide() refused it already while the tool is pressed */
        for (size_t i = 0; h->ble && ble_manager_tool_at(h->ble, i); i++) {
                const char *a = ble_manager_tool_at(h->ble, i);
                int r;

                if (hub_station_of_tool(h, a) != hs)
                        continue;
                r = ble_manager_tare(h->ble, a);
                if (r == -EAGAIN)
                        return "the tool's reading is not steady (is someone touching it?)";
                if (r >= 0)
                        tried = true;
        }
        return tried ? NULL : error;
}

static void on_tool_sample(const char *address, void *owner, double newtons, nsec_t arrival,
                           bool has_device_ts, uint64_t device_ts_us, void *userdata) {
        Hub *h = userdata;
        HubStation *hs = owner;

        if (!hs) {
                /* once per tool, and again after a reload (hub_ble_forget_stations) */
                hs = hub_station_of_tool(h, address);
                if (!hs)
                        return;
                (void) ble_manager_set_tool_owner(h->ble, address, hs);
        }
        /* Arrival time, not the device clock: the engine's timers run on this host's clock,
         * and notifications arrive within a connection interval of being measured. */
        (void) station_force(hs->station, newtons, arrival);
}

static void on_tool_battery(const char *address, int percent, int millivolts, void *userdata) {
        Hub *h = userdata;

        if (percent >= 0)
                log_info("Tool %s battery %d%%", address, percent);
        else if (millivolts > 0)
                log_info("Tool %s battery %.2f V", address, millivolts / 1000.0);
        hub_mqtt_tool(h, address);
}

static void on_tag_tap(const char *athlete, const char *address, int rssi, void *userdata) {
        Hub *h = userdata;

        HubStation *hs = hub_station_for_tag(h);

        if (!hs) {
                log_notice("Athlete %s tapped in (tag %s) but every station is busy.", athlete, address);
                return;
        }
        log_notice("%s: athlete %s tapped in with tag %s (RSSI %d dBm)", hs->config->name, athlete, address, rssi);
        (void) station_start(hs->station, hub_station_protocol(h, hs), athlete, now_monotonic());
        hub_ha_tag(h, hs, athlete);
}

static void on_log(int priority, const char *message, void *userdata) {
        log_internal(priority, 0, "BLE: %s", message);
}

int hub_ble_start(Hub *h) {
        const ConfigBle *b = &h->config->ble;
        bool adopt = false, tools = false;
        int r;

        if (!b->enabled)
                return 0;
        for (size_t i = 0; i < h->n_stations; i++) {
                adopt = adopt || h->stations[i]->config->auto_adopt;
                tools = tools || h->stations[i]->config->n_tools > 0;
        }
        if (!tools && !adopt && b->n_tags == 0)
                return 0;

        r = sd_bus_open_system(&h->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system D-Bus (for BlueZ): %m");
        r = sd_bus_attach_event(h->bus, h->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach D-Bus to the event loop: %m");

        BleManagerConfig cfg = b->manager;
        static const BleCallbacks cb = {
                .tool_state = on_tool_state,
                .tool_sample = on_tool_sample,
                .tool_battery = on_tool_battery,
                .tag_tap = on_tag_tap,
                .log = on_log,
                .tool_zero = on_tool_zero,
        };
        r = ble_manager_new(&h->ble, h->bus, h->event, &cfg, &cb, h);
        if (r < 0)
                return log_error_errno(r, "Cannot set up BLE: %m");
        for (size_t i = 0; i < h->n_stations; i++) {
                const ConfigStation *c = h->stations[i]->config;
                for (size_t k = 0; k < c->n_tools; k++) {
                        r = ble_manager_add_tool(h->ble, c->tools[k].address, c->tools[k].driver);
                        if (r < 0)
                                return log_error_errno(r, "%s: cannot add tool %s (%s): %m", c->name,
                                                       c->tools[k].address, c->tools[k].driver);
                        load_zero(h, c->tools[k].address);
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
        for (size_t i = 0; i < h->n_stations; i++)
                station_busy_changed(h, h->stations[i]);
        return 0;
}

void hub_ble_forget_stations(Hub *h) {
        ble_manager_clear_tool_owners(h->ble);
}

void hub_ble_stop(Hub *h) {
        h->ble = ble_manager_free(h->ble);
        if (h->bus) {
                /* ble_manager_free queued Disconnects: hand them to bluetoothd before leaving. */
                (void) sd_bus_flush(h->bus);
                h->bus = sd_bus_flush_close_unref(h->bus);
        }
}

int hub_ble_reload(Hub *h, const Config *old) {
        const Config *c = h->config;
        bool same = config_ble_equal(old, c) && config_auto_adopt(old) == config_auto_adopt(c);
        int r;

        for (size_t i = 0; same && i < old->n_stations; i++)
                for (size_t k = 0; same && k < old->stations[i].n_tools; k++)
                        same = config_has_tool(c, old->stations[i].tools[k].address, old->stations[i].tools[k].driver);
        if (!same || !h->ble) {
                /* adapter, tags or limits changed, or a tool went away: start afresh */
                hub_ble_stop(h);
                return hub_ble_start(h);
        }
        /* The same radio and every tool still wanted: links stay up. A tool moved to another
         * station follows at its next sample (station_of_tool reads the new configuration);
         * new tools are added. */
        for (size_t i = 0; i < c->n_stations; i++)
                for (size_t k = 0; k < c->stations[i].n_tools; k++) {
                        const ConfigTool *t = &c->stations[i].tools[k];
                        if (config_has_tool(old, t->address, t->driver))
                                continue;
                        r = ble_manager_add_tool(h->ble, t->address, t->driver);
                        if (r < 0 && r != -EEXIST)
                                return log_error_errno(r, "%s: cannot add tool %s (%s): %m", c->stations[i].name,
                                                       t->address, t->driver);
                        load_zero(h, t->address);
                }
        return 0;
}

static void on_station_cue(Station *s, const Cue *cue, void *userdata) {
        HubStation *hs = userdata;

        station_busy_changed(hs->hub, hs);
}

int hub_ble_attach(HubStation *hs) {
        static const StationWatch watch = {
                .cue = on_station_cue,
        };
        return station_add_watch(hs->station, &watch, STATION_WATCH_DEFAULT, hs);
}
