/* SPDX-License-Identifier: MIT */
/* Home Assistant's MQTT discovery for the hub, its stations and its tools (docs/home-assistant.md).
 * The documents come from mqtt/ha-discovery.c; this file decides when they go out: at every
 * (re)connect and whenever Home Assistant announces itself online, and it deletes the
 * documents of stations and tools this hub no longer has. To know those, it reads back the
 * retained discovery documents from the broker: a hub that lost its disk, or was
 * reconfigured while it was down, still cleans up after itself. */

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "ble/drivers/driver.h"
#include "hub/hub-private.h"
#include "mqtt/ha-discovery.h"
#include "mqtt/topics.h"
#include "shared/log.h"
#include "shared/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

struct HubHa {
        char **seen;            /* our retained documents the broker holds (topics) */
        size_t n_seen;
        char **tools;           /* tools whose document went out on this connection */
        size_t n_tools;
};

static HaContext context(const Hub *h) {
        const ConfigMqtt *m = &h->config->mqtt;

        return (HaContext) {
                .discovery_prefix = m->discovery_prefix,
                .prefix = m->prefix,
                .hub = h->config->hub,
                .version = TPHUB_VERSION,
                .dashboard_url = m->dashboard_url,
                .athlete = m->homeassistant_athlete,
        };
}

static bool strv_has(char **v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

static int strv_add(char ***v, size_t *n, const char *s) {
        char **nv;

        if (strv_has(*v, *n, s))
                return 0;
        nv = reallocarray(*v, *n + 1, sizeof(char *));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        if (!(nv[*n] = strdup(s)))
                return -ENOMEM;
        (*n)++;
        return 1;
}

static void strv_remove(char **v, size_t *n, const char *s) {
        for (size_t i = 0; i < *n; i++)
                if (strcmp(v[i], s) == 0) {
                        free(v[i]);
                        memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(char *));
                        (*n)--;
                        return;
                }
}

static void strv_clear(char ***v, size_t *n) {
        for (size_t i = 0; i < *n; i++)
                free((*v)[i]);
        free(*v);
        *v = NULL;
        *n = 0;
}

static void publish(Hub *h, const char *topic, const char *payload) {
        int r = mqtt_client_publish(h->mqtt, topic, payload, strlen(payload), 1, true, NULL, NULL);

        if (r < 0 && r != -ENOTCONN)
                log_warning_errno(r, "Home Assistant: publishing %s failed: %m", topic);
}

/* ---- what this hub has now ---- */

/* The tools the hub knows: configured, and adopted ones the BLE manager has met. */
static const char *tool_at(Hub *h, size_t i, const char **ret_driver) {
        const char *a = h->ble ? ble_manager_tool_at(h->ble, i) : NULL;
        BleToolInfo info;

        if (h->ble) {
                if (a && ret_driver)
                        *ret_driver = ble_manager_tool_info(h->ble, a, &info) >= 0 ? info.driver : NULL;
                return a;
        }
        for (size_t s = 0; s < h->config->n_stations; s++) {
                const ConfigStation *cs = &h->config->stations[s];
                if (i < cs->n_tools) {
                        if (ret_driver)
                                *ret_driver = cs->tools[i].driver;
                        return cs->tools[i].address;
                }
                i -= cs->n_tools;
        }
        return NULL;
}

static bool topic_is_current(Hub *h, const char *topic) {
        HaContext c = context(h);
        bool found = false;
        const char *a;

        for (size_t i = 0; !found && i < h->config->n_stations; i++) {
                _cleanup_free_ char *dev = NULL, *tag = NULL, *tp = NULL;
                const char *name = h->config->stations[i].name;
                found = (ha_device_topic(&c, "station", name, &dev) >= 0 && strcmp(dev, topic) == 0) ||
                        (ha_tag_scanner(&c, name, &tag, &tp) >= 0 && strcmp(tag, topic) == 0);
        }
        for (size_t i = 0; !found && (a = tool_at(h, i, NULL)); i++) {
                _cleanup_free_ char *dev = NULL;
                found = ha_device_topic(&c, "tool", a, &dev) >= 0 && strcmp(dev, topic) == 0;
        }
        if (!found) {
                _cleanup_free_ char *dev = NULL;
                found = ha_device_topic(&c, "hub", NULL, &dev) >= 0 && strcmp(dev, topic) == 0;
        }
        return found;
}

static void delete_document(Hub *h, const char *topic) {
        log_info("Home Assistant: removing %s (no longer in the configuration)", topic);
        /* An empty retained payload deletes the device and its entities. */
        (void) mqtt_client_publish(h->mqtt, topic, "", 0, 1, true, NULL, NULL);
}

/* ---- publishing ---- */

static int publish_station(Hub *h, const HaContext *c, const ConfigStation *cs) {
        _cleanup_free_ const char **protocols = calloc(h->config->n_protocols ?: 1, sizeof(char *));
        const char *states[_CUE_KIND_MAX], *events[_EVENT_TYPE_MAX];
        _cleanup_free_ char *topic = NULL, *payload = NULL, *tag = NULL, *tag_payload = NULL;
        int r;

        if (!protocols)
                return -ENOMEM;
        for (size_t i = 0; i < h->config->n_protocols; i++)
                protocols[i] = h->config->protocols[i]->name;
        for (int k = 0; k < _CUE_KIND_MAX; k++)
                states[k] = cue_kind_to_string((CueKind) k);
        for (int k = 0; k < _EVENT_TYPE_MAX; k++)
                events[k] = engine_event_type_to_string((EngineEventType) k);
        HaStation s = {
                .name = cs->name,
                .area = cs->area,
                .protocols = protocols,
                .n_protocols = h->config->n_protocols,
                .states = states,
                .n_states = _CUE_KIND_MAX,
                .event_types = events,
                .n_event_types = _EVENT_TYPE_MAX,
        };
        r = ha_device_station(c, &s, &topic, &payload);
        if (r < 0)
                return r;
        publish(h, topic, payload);
        r = ha_tag_scanner(c, cs->name, &tag, &tag_payload);
        if (r < 0)
                return r;
        publish(h, tag, tag_payload);
        return 0;
}

void hub_ha_tool(Hub *h, const char *address) {
        _cleanup_free_ char *topic = NULL, *payload = NULL;
        HaContext c;
        BleToolInfo info = { .battery = -1, .battery_mv = -1 };
        const Driver *d;
        HubStation *hs;
        int r;

        if (!h->ha || !h->mqtt || !mqtt_client_is_connected(h->mqtt) ||
            strv_has(h->ha->tools, h->ha->n_tools, address))
                return;
        c = context(h);
        if (h->ble)
                (void) ble_manager_tool_info(h->ble, address, &info);
        for (size_t s = 0; !info.driver && s < h->config->n_stations; s++)
                for (size_t k = 0; k < h->config->stations[s].n_tools; k++)
                        if (strcasecmp(h->config->stations[s].tools[k].address, address) == 0)
                                info.driver = h->config->stations[s].tools[k].driver;
        d = info.driver ? driver_find(info.driver) : NULL;
        hs = hub_station_of_tool(h, address);
        HaTool t = {
                .address = address,
                .driver = info.driver,
                .model = d ? d->description : NULL,
                .name = info.name,
                .station = hs ? hs->config->name : NULL,
                /* The Progressor family reports its battery as a voltage, over its data channel. */
                .voltage = info.battery < 0 && (info.battery_mv >= 0 || (d && !d->battery_uuid && d->battery_cmd.len > 0)),
        };
        r = ha_device_tool(&c, &t, &topic, &payload);
        if (r < 0) {
                log_warning_errno(r, "Home Assistant: no discovery document for tool %s: %m", address);
                return;
        }
        publish(h, topic, payload);
        if (strv_add(&h->ha->tools, &h->ha->n_tools, address) < 0)
                log_oom();
}

static void publish_all(Hub *h) {
        _cleanup_free_ char *topic = NULL, *payload = NULL;
        HaContext c = context(h);
        const char *a;
        int r;

        r = ha_device_hub(&c, &topic, &payload);
        if (r < 0)
                log_warning_errno(r, "Home Assistant: no discovery document for the hub: %m");
        else
                publish(h, topic, payload);
        for (size_t i = 0; i < h->config->n_stations; i++) {
                r = publish_station(h, &c, &h->config->stations[i]);
                if (r < 0)
                        log_warning_errno(r, "Home Assistant: no discovery document for station %s: %m",
                                          h->config->stations[i].name);
        }
        strv_clear(&h->ha->tools, &h->ha->n_tools);
        for (size_t i = 0; (a = tool_at(h, i, NULL)); i++)
                hub_ha_tool(h, a);
}

/* Documents the broker holds for things this hub no longer has. */
static void sweep(Hub *h) {
        for (size_t i = 0; i < h->ha->n_seen;) {
                if (topic_is_current(h, h->ha->seen[i])) {
                        i++;
                        continue;
                }
                delete_document(h, h->ha->seen[i]);
                strv_remove(h->ha->seen, &h->ha->n_seen, h->ha->seen[i]);
        }
}

/* tphub 0.1 published one document per entity, <dp>/sensor/<hub>_<station>_state/config and
 * <dp>/sensor/<hub>_<address>_battery/config: delete them, or Home Assistant keeps the old
 * entities beside the new devices. Idempotent, so done at every connect. */
static void remove_legacy_one(Hub *h, const char *name, const char *suffix) {
        const char *dp = h->config->mqtt.discovery_prefix ?: TOPIC_DEFAULT_DISCOVERY_PREFIX;
        _cleanup_free_ char *topic = NULL;

        if (asprintf(&topic, "%s/sensor/%s_%s_%s/config", dp, h->config->hub, name, suffix) < 0)
                return;
        for (char *p = topic + strlen(dp) + strlen("/sensor/"); *p != '/'; p++)
                if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-')
                        *p = '_';
        (void) mqtt_client_publish(h->mqtt, topic, "", 0, 1, true, NULL, NULL);
}

static void remove_legacy(Hub *h) {
        const char *a;

        for (size_t i = 0; i < h->config->n_stations; i++)
                remove_legacy_one(h, h->config->stations[i].name, "state");
        for (size_t i = 0; (a = tool_at(h, i, NULL)); i++)
                remove_legacy_one(h, a, "battery");
}

/* ---- the hub's side ---- */

int hub_ha_start(Hub *h) {
        HaContext c = context(h);
        const char *kinds[] = { "device", "tag" };
        int r;

        if (!h->config->mqtt.homeassistant)
                return 0;
        if (!h->ha) {
                h->ha = calloc(1, sizeof(HubHa));
                if (!h->ha)
                        return log_oom();
        }
        {
                _cleanup_free_ char *status = NULL;
                r = ha_status_topic(&c, &status);
                if (r < 0)
                        return log_error_errno(r, "Home Assistant: bad discovery prefix: %m");
                r = mqtt_client_subscribe(h->mqtt, status, 1);
                if (r < 0)
                        return log_error_errno(r, "Cannot subscribe to %s: %m", status);
        }
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                _cleanup_free_ char *filter = NULL;
                r = ha_discovery_filter(&c, kinds[i], &filter);
                if (r < 0)
                        return log_error_errno(r, "Home Assistant: bad discovery prefix: %m");
                r = mqtt_client_subscribe(h->mqtt, filter, 1);
                if (r < 0)
                        return log_error_errno(r, "Cannot subscribe to %s: %m", filter);
        }
        return 0;
}

void hub_ha_connected(Hub *h) {
        if (!h->ha)
                return;
        remove_legacy(h);
        publish_all(h);
        sweep(h);
}

bool hub_ha_message(Hub *h, const char *topic, const void *payload, size_t len, bool retained) {
        _cleanup_free_ char *status = NULL, *dev = NULL, *tag = NULL;
        HaContext c;

        if (!h->ha)
                return false;
        c = context(h);
        if (ha_status_topic(&c, &status) >= 0 && strcmp(topic, status) == 0) {
                /* Home Assistant (re)started and forgot everything that was not retained by
                 * the broker: say it all again, once per announcement. A retained birth
                 * message is what the hub already answered at connect. */
                if (!retained && len == 6 && memcmp(payload, "online", 6) == 0) {
                        log_info("Home Assistant is online: publishing discovery and state again");
                        publish_all(h);
                        hub_mqtt_republish(h);
                }
                return true;
        }
        if (ha_discovery_filter(&c, "device", &dev) < 0 || ha_discovery_filter(&c, "tag", &tag) < 0)
                return false;
        /* "<dp>/device/+/config": compare everything before the '+'. */
        if (strncmp(topic, dev, strlen(dev) - strlen("+/config")) != 0 &&
            strncmp(topic, tag, strlen(tag) - strlen("+/config")) != 0)
                return false;
        if (len == 0) {
                strv_remove(h->ha->seen, &h->ha->n_seen, topic);
                return true;
        }
        if (!ha_document_is_ours(&c, topic, payload, len))
                return true;
        if (topic_is_current(h, topic)) {
                if (strv_add(&h->ha->seen, &h->ha->n_seen, topic) < 0)
                        log_oom();
        } else
                delete_document(h, topic);
        return true;
}

void hub_ha_tag(Hub *h, HubStation *hs, const char *tag_id) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *topic = NULL;
        HaContext c;
        const char *s;

        if (!h->ha || !h->mqtt)
                return;
        c = context(h);
        if (ha_tag_topic(&c, hs->config->name, &topic) < 0)
                return;
        o = json_object_new_object();
        if (!o)
                return;
        if (h->config->mqtt.homeassistant_athlete)
                json_object_object_add(o, "tag_id", json_object_new_string(tag_id));
        else {
                /* Private by default: a stable id Home Assistant can name, not the athlete's. */
                _cleanup_free_ char *opaque = NULL;
                if (ha_opaque_tag_id(&c, tag_id, &opaque) < 0)
                        return;
                json_object_object_add(o, "tag_id", json_object_new_string(opaque));
        }
        json_object_object_add(o, "station", json_object_new_string(hs->config->name));
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        /* An event, not a state: not retained. */
        (void) mqtt_client_publish(h->mqtt, topic, s, strlen(s), 1, false, NULL, NULL);
}

void hub_ha_stop(Hub *h) {
        if (!h->ha)
                return;
        strv_clear(&h->ha->seen, &h->ha->n_seen);
        strv_clear(&h->ha->tools, &h->ha->n_tools);
        free(h->ha);
        h->ha = NULL;
}
