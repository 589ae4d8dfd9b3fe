/* SPDX-License-Identifier: MIT */
/* The hub describes itself on MQTT (docs/mqtt.md): a retained "meta" document (contract
 * version, stations, protocols, tools) so a consumer needs no copy of the configuration; a
 * plain "availability" topic kept by a second, tiny connection whose last will says
 * "offline" (one connection has one will, and the JSON status already has it); and a
 * periodic "sysinfo" document (uptime, memory, disk, CPU temperature, clock synchronised). */

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub-private.h"
#include "mqtt/topics.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/sysinfo.h"

/* Version of the MQTT contract (docs/mqtt.md): bumped when a document changes incompatibly. */
#define MQTT_SCHEMA_VERSION 1
#define SYSINFO_PERIOD_USEC (60ULL * 1000 * 1000)

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static const char *prefix(const Hub *h) {
        return h->config->mqtt.prefix ?: TOPIC_DEFAULT_PREFIX;
}

static void publish_hub_doc(Hub *h, TopicHub kind, json_object *o) {
        _cleanup_free_ char *topic = NULL;
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        int r;

        if (!h->mqtt || !s || topic_hub(prefix(h), h->config->hub, kind, &topic) < 0)
                return;
        r = mqtt_client_publish(h->mqtt, topic, s, strlen(s), 1, true, NULL, NULL);
        if (r < 0 && r != -ENOTCONN)
                log_debug("MQTT: publish to %s failed: %s", topic, strerror(-r));
}

static json_object *str_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static json_object *protocol_json(const Protocol *p) {
        json_object *o = json_object_new_object(), *steps = json_object_new_array();

        if (!o || !steps) {
                json_object_put(o);
                json_object_put(steps);
                return NULL;
        }
        json_object_object_add(o, "name", str_or_null(p->name));
        json_object_object_add(o, "title", str_or_null(p->title));
        json_object_object_add(o, "description", str_or_null(p->description));
        for (size_t i = 0; i < p->n_steps; i++) {
                const ProtocolStep *s = &p->steps[i];
                json_object *st = json_object_new_object();
                if (!st)
                        break;
                json_object_object_add(st, "point", str_or_null(s->point));
                json_object_object_add(st, "label", str_or_null(s->label));
                json_object_object_add(st, "side", str_or_null(s->side));
                json_object_object_add(st, "muscle", str_or_null(s->muscle));
                json_object_object_add(st, "kind", str_or_null(step_kind_to_string(s->kind)));
                json_object_object_add(st, "reps", json_object_new_int((int) s->reps));
                json_object_array_add(steps, st);
        }
        json_object_object_add(o, "steps", steps);
        return o;
}

static void publish_meta(Hub *h) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *stations = json_object_new_array(), *protocols = json_object_new_array();
        const Config *c = h->config;
        char at[32];

        if (!o || !stations || !protocols) {
                json_object_put(stations);
                json_object_put(protocols);
                return;
        }
        json_object_object_add(o, "schema", json_object_new_int(MQTT_SCHEMA_VERSION));
        json_object_object_add(o, "hub", json_object_new_string(c->hub));
        json_object_object_add(o, "version", json_object_new_string(TPHUB_VERSION));
        for (size_t i = 0; i < c->n_stations; i++) {
                const ConfigStation *cs = &c->stations[i];
                json_object *st = json_object_new_object(), *tools = json_object_new_array(), *names;
                if (!st || !tools) {
                        json_object_put(st);
                        json_object_put(tools);
                        break;
                }
                json_object_object_add(st, "name", json_object_new_string(cs->name));
                json_object_object_add(st, "area", str_or_null(cs->area));
                json_object_object_add(st, "protocol", str_or_null(cs->protocol));
                /* Every protocol the hub has loaded can be started at any station. */
                names = json_object_new_array();
                for (size_t k = 0; names && k < c->n_protocols; k++)
                        json_object_array_add(names, json_object_new_string(c->protocols[k]->name));
                json_object_object_add(st, "protocols", names);
                for (size_t k = 0; k < cs->n_tools; k++) {
                        json_object *t = json_object_new_object();
                        if (!t)
                                break;
                        json_object_object_add(t, "address", json_object_new_string(cs->tools[k].address));
                        json_object_object_add(t, "driver", json_object_new_string(cs->tools[k].driver));
                        json_object_array_add(tools, t);
                }
                json_object_object_add(st, "tools", tools);
                json_object_object_add(st, "auto_adopt", json_object_new_boolean(cs->auto_adopt));
                json_object_object_add(st, "switch", json_object_new_boolean(cs->has_switch));
                json_object_object_add(st, "cues", json_object_new_boolean(cs->has_cues));
                json_object_array_add(stations, st);
        }
        json_object_object_add(o, "stations", stations);
        for (size_t k = 0; k < c->n_protocols; k++) {
                json_object *p = protocol_json(c->protocols[k]);
                if (p)
                        json_object_array_add(protocols, p);
        }
        json_object_object_add(o, "protocols", protocols);
        json_object_object_add(o, "at", json_object_new_string(format_iso8601(at, sizeof at, now_realtime())));
        publish_hub_doc(h, TOPIC_HUB_META, o);
}

size_t hub_links_in_use(Hub *h) {
        size_t n = 0;
        BleToolInfo info;

        for (size_t i = 0; h->ble && ble_manager_tool_at(h->ble, i); i++)
                if (ble_manager_tool_info(h->ble, ble_manager_tool_at(h->ble, i), &info) >= 0 && info.connected)
                        n++;
        return n;
}

static json_object *int_or_null(int64_t v) {
        return v >= 0 ? json_object_new_int64(v) : NULL;
}

static void publish_sysinfo(Hub *h) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        SysInfo si;
        char at[32];

        if (!o || sysinfo_read(NULL, h->config->spool_dir, &si) < 0)
                return;
        json_object_object_add(o, "uptime_s", int_or_null(si.uptime_s));
        json_object_object_add(o, "rss_kb", int_or_null(si.rss_kb));
        json_object_object_add(o, "mem_available_kb", int_or_null(si.mem_available_kb));
        json_object_object_add(o, "disk_free_mb", int_or_null(si.disk_free_mb));
        json_object_object_add(o, "cpu_temp_c", si.has_cpu_temp ? json_object_new_double(round(si.cpu_temp_c * 10) / 10) : NULL);
        json_object_object_add(o, "clock_synced", si.clock_synced >= 0 ? json_object_new_boolean(si.clock_synced) : NULL);
        json_object_object_add(o, "at", json_object_new_string(format_iso8601(at, sizeof at, now_realtime())));
        publish_hub_doc(h, TOPIC_HUB_SYSINFO, o);
}

static int sysinfo_tick(sd_event_source *src, uint64_t usec, void *userdata) {
        Hub *h = userdata;

        if (mqtt_client_is_connected(h->mqtt))
                publish_sysinfo(h);
        (void) sd_event_source_set_time_relative(src, SYSINFO_PERIOD_USEC);
        return 0;
}

static void on_availability_log(MqttClient *c, MqttLogLevel level, const char *message, void *userdata) {
        /* The main connection reports the same broker's troubles: keep this one quiet. */
        log_internal(level <= MQTT_LOG_ERR ? (int) MQTT_LOG_WARNING : (int) MQTT_LOG_DEBUG, 0,
                     "MQTT (availability): %s", message);
}

int hub_meta_start(Hub *h) {
        _cleanup_free_ char *topic = NULL, *client_id = NULL;
        int r;

        r = topic_hub(prefix(h), h->config->hub, TOPIC_HUB_AVAILABILITY, &topic);
        if (r < 0)
                return log_oom();
        if (asprintf(&client_id, "%s-availability", mqtt_client_get_id(h->mqtt)) < 0)
                return log_oom();
        MqttClientOptions o = hub_mqtt_options(h, client_id, topic);
        o.status_plain = true;
        static const MqttClientCallbacks cb = {
                .log = on_availability_log,
        };
        r = mqtt_client_new(&h->availability, h->event, &o, &cb, h);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the MQTT availability link: %m");
        r = mqtt_client_connect(h->availability);
        if (r < 0)
                return log_error_errno(r, "Cannot connect the MQTT availability link to %s: %m", o.uri);

        r = sd_event_add_time_relative(h->event, &h->sysinfo_timer, CLOCK_MONOTONIC, SYSINFO_PERIOD_USEC,
                                       1000 * 1000, sysinfo_tick, h);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the system info timer: %m");
        (void) sd_event_source_set_description(h->sysinfo_timer, "mqtt-sysinfo");
        return 0;
}

void hub_meta_connected(Hub *h) {
        publish_meta(h);
        publish_sysinfo(h);
}

void hub_meta_stop(Hub *h) {
        h->sysinfo_timer = sd_event_source_disable_unref(h->sysinfo_timer);
        /* Freed without a clean disconnect, the broker publishes the link's will: "offline". */
        h->availability = mqtt_client_free(h->availability);
}

void hub_meta_shutdown(Hub *h) {
        h->sysinfo_timer = sd_event_source_disable_unref(h->sysinfo_timer);
        /* A clean disconnect suppresses the will, so the link says "offline" itself first;
         * the hub's own shutdown waits for the main connection, and freeing this one later
         * waits (bounded) for its disconnect. */
        if (h->availability)
                (void) mqtt_client_shutdown(h->availability, 1000 * 1000, NULL, NULL);
}
