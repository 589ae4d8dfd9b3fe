/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mqtt/ha-discovery.h"
#include "mqtt/topics.h"
#include "shared/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

#define ORIGIN_NAME "tphub"

static const char *dprefix(const HaContext *c) {
        return c->discovery_prefix ?: TOPIC_DEFAULT_DISCOVERY_PREFIX;
}

static uint32_t fnv1a(uint32_t hash, const char *s) {
        for (; *s; s++)
                hash = (hash ^ (unsigned char) *s) * 16777619u;
        return hash;
}

#define FNV1A_BASIS 2166136261u

static bool id_char(char ch) {
        return isalnum((unsigned char) ch) || ch == '_' || ch == '-';
}

int ha_object_id(const char *const *parts, size_t n_parts, char **ret) {
        uint32_t hash = 2166136261u; /* FNV-1a over the original, parts joined by '_' */
        bool replaced = false;
        size_t len = 0;
        char *s, *p;

        if (!parts || n_parts == 0 || !ret)
                return -EINVAL;
        for (size_t i = 0; i < n_parts; i++) {
                if (!parts[i] || !*parts[i])
                        return -EINVAL;
                len += strlen(parts[i]) + 1;
        }
        s = malloc(len + 9);
        if (!s)
                return -ENOMEM;
        p = s;
        for (size_t i = 0; i < n_parts; i++) {
                if (i > 0) {
                        *p++ = '_';
                        hash = (hash ^ '_') * 16777619u;
                }
                for (const char *q = parts[i]; *q; q++) {
                        hash = (hash ^ (unsigned char) *q) * 16777619u;
                        replaced = replaced || !id_char(*q);
                        *p++ = id_char(*q) ? *q : '_';
                }
        }
        *p = 0;
        if (replaced)
                sprintf(p, "-%08" PRIx32, hash);
        *ret = s;
        return 0;
}

static int hub_id(const HaContext *c, char **ret) {
        return ha_object_id((const char *const[]) { "tphub", c->hub }, 2, ret);
}

static int member_id(const HaContext *c, const char *name, char **ret) {
        return ha_object_id((const char *const[]) { "tphub", c->hub, name }, 3, ret);
}

int ha_device_topic(const HaContext *c, const char *kind, const char *name, char **ret) {
        _cleanup_free_ char *id = NULL;
        int r;

        if (!c || !kind || !ret || !topic_prefix_valid(dprefix(c)))
                return -EINVAL;
        if (strcmp(kind, "hub") == 0)
                r = hub_id(c, &id);
        else if (strcmp(kind, "station") == 0 || strcmp(kind, "tool") == 0)
                r = member_id(c, name, &id);
        else
                return -EINVAL;
        if (r < 0)
                return r;
        return asprintf(ret, "%s/device/%s/config", dprefix(c), id) < 0 ? -ENOMEM : 0;
}

/* ---- JSON helpers ---- */

static void add_str(json_object *o, const char *k, const char *v) {
        if (v)
                json_object_object_add(o, k, json_object_new_string(v));
}

static json_object *str_array(const char *const *v, size_t n) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < n; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static json_object *origin(const HaContext *c) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        add_str(o, "name", ORIGIN_NAME);
        add_str(o, "sw_version", c->version);
        return o;
}

static json_object *device(const char *id, const char *name, const char *model, const char *via) {
        json_object *d = json_object_new_object();

        if (!d)
                return NULL;
        json_object_object_add(d, "identifiers", str_array(&id, 1));
        add_str(d, "name", name);
        add_str(d, "manufacturer", ORIGIN_NAME);
        add_str(d, "model", model);
        add_str(d, "via_device", via);
        return d;
}

/* One availability entry: topic, and how to read online/offline from a JSON document. */
static json_object *availability_entry(const char *topic, const char *value_template) {
        json_object *e = json_object_new_object();

        if (!e)
                return NULL;
        add_str(e, "topic", topic);
        add_str(e, "value_template", value_template);
        return e;
}

/* A component (entity) of a device document. */
static json_object *component(json_object *cmps, const char *device_id, const char *key, const char *platform,
                              const char *name) {
        _cleanup_free_ char *uid = NULL;
        json_object *e;

        if (asprintf(&uid, "%s_%s", device_id, key) < 0)
                return NULL;
        e = json_object_new_object();
        if (!e)
                return NULL;
        add_str(e, "platform", platform);
        add_str(e, "unique_id", uid);
        add_str(e, "name", name);
        json_object_object_add(cmps, key, e);
        return e;
}

static json_object *sensor(json_object *cmps, const char *device_id, const char *key, const char *name,
                           const char *topic, const char *value_template) {
        json_object *e = component(cmps, device_id, key, "sensor", name);

        if (e) {
                add_str(e, "state_topic", topic);
                add_str(e, "value_template", value_template);
        }
        return e;
}

static json_object *binary_sensor(json_object *cmps, const char *device_id, const char *key, const char *name,
                                  const char *device_class, const char *topic, const char *value_template) {
        json_object *e = component(cmps, device_id, key, "binary_sensor", name);

        if (e) {
                add_str(e, "device_class", device_class);
                add_str(e, "state_topic", topic);
                add_str(e, "value_template", value_template);
        }
        return e;
}

static void diagnostic(json_object *e) {
        if (e)
                add_str(e, "entity_category", "diagnostic");
}

static void unit(json_object *e, const char *device_class, const char *unit, const char *state_class) {
        if (!e)
                return;
        add_str(e, "device_class", device_class);
        add_str(e, "unit_of_measurement", unit);
        add_str(e, "state_class", state_class);
}

static int finish(json_object *doc, char *topic, char **ret_topic, char **ret_payload) {
        const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *payload = s ? strdup(s) : NULL;

        if (!payload) {
                free(topic);
                return -ENOMEM;
        }
        *ret_topic = topic;
        *ret_payload = payload;
        return 0;
}

static int hub_topic(const HaContext *c, TopicHub kind, char **ret) {
        return topic_hub(c->prefix, c->hub, kind, ret);
}

/* ---- the hub ---- */

int ha_device_hub(const HaContext *c, char **ret_topic, char **ret_payload) {
        _cleanup_free_ char *id = NULL, *avail = NULL, *status = NULL, *sysinfo = NULL, *topic = NULL, *name = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        json_object *cmps, *e, *a;
        int r;

        if (!c || !ret_topic || !ret_payload)
                return -EINVAL;
        r = ha_device_topic(c, "hub", NULL, &topic);
        if (r < 0)
                return r;
        if ((r = hub_id(c, &id)) < 0 || (r = hub_topic(c, TOPIC_HUB_AVAILABILITY, &avail)) < 0 ||
            (r = hub_topic(c, TOPIC_HUB_STATUS, &status)) < 0 || (r = hub_topic(c, TOPIC_HUB_SYSINFO, &sysinfo)) < 0)
                return r;
        if (asprintf(&name, "tphub %s", c->hub) < 0)
                return -ENOMEM;

        doc = json_object_new_object();
        cmps = json_object_new_object();
        if (!doc || !cmps) {
                json_object_put(cmps);
                return -ENOMEM;
        }
        json_object_object_add(doc, "device", device(id, name, "tphub hub", NULL));
        json_object_object_add(doc, "origin", origin(c));
        json_object_object_add(doc, "components", cmps);

        /* Online reads the availability topic itself: it says "off" when the hub is gone
         * (last will) instead of turning unavailable, so an automation can alert on it. */
        e = binary_sensor(cmps, id, "online", "Online", "connectivity", avail, NULL);
        if (e) {
                add_str(e, "payload_on", "online");
                add_str(e, "payload_off", "offline");
        }
        e = sensor(cmps, id, "spool", "Spool backlog", status, "{{ value_json.spool }}");
        unit(e, NULL, "sessions", "measurement");
        diagnostic(e);
        e = sensor(cmps, id, "links", "Tool links in use", status, "{{ value_json.links }}");
        unit(e, NULL, "links", "measurement");
        diagnostic(e);
        e = sensor(cmps, id, "uptime", "Uptime", sysinfo, "{{ value_json.uptime_s }}");
        unit(e, "duration", "s", NULL);
        diagnostic(e);
        e = sensor(cmps, id, "memory", "Memory used by tphubd", sysinfo, "{{ value_json.rss_kb }}");
        unit(e, "data_size", "kB", "measurement");
        diagnostic(e);
        e = sensor(cmps, id, "memory_available", "Memory available", sysinfo, "{{ value_json.mem_available_kb }}");
        unit(e, "data_size", "kB", "measurement");
        diagnostic(e);
        e = sensor(cmps, id, "disk_free", "Spool disk free", sysinfo, "{{ value_json.disk_free_mb }}");
        unit(e, "data_size", "MB", "measurement");
        diagnostic(e);
        e = sensor(cmps, id, "cpu_temperature", "CPU temperature", sysinfo, "{{ value_json.cpu_temp_c }}");
        unit(e, "temperature", "°C", "measurement");
        diagnostic(e);
        e = binary_sensor(cmps, id, "clock_synced", "Clock synchronised", NULL, sysinfo,
                          "{{ 'ON' if value_json.clock_synced else 'OFF' }}");
        diagnostic(e);

        /* Everything but "online" is unavailable while the hub is offline. */
        json_object_object_foreach(cmps, key, comp) {
                if (strcmp(key, "online") == 0)
                        continue;
                a = json_object_new_array();
                if (!a)
                        return -ENOMEM;
                json_object_array_add(a, availability_entry(avail, NULL));
                json_object_object_add(comp, "availability", a);
        }
        return finish(doc, TAKE_PTR(topic), ret_topic, ret_payload);
}

/* ---- a station ---- */

static int station_topic(const HaContext *c, const char *station, TopicStation kind, char **ret) {
        return topic_station(c->prefix, c->hub, station, kind, ret);
}

static json_object *button(json_object *cmps, const char *device_id, const char *key, const char *name,
                           const char *cmd_topic, const char *payload) {
        json_object *e = component(cmps, device_id, key, "button", name);

        if (e) {
                add_str(e, "command_topic", cmd_topic);
                add_str(e, "payload_press", payload);
        }
        return e;
}

int ha_device_station(const HaContext *c, const HaStation *s, char **ret_topic, char **ret_payload) {
        _cleanup_free_ char *id = NULL, *hid = NULL, *avail = NULL, *state = NULL, *event = NULL, *cmd = NULL,
                            *last = NULL, *topic = NULL, *url = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        json_object *cmps, *dev, *e, *a;
        int r;

        if (!c || !s || !ret_topic || !ret_payload)
                return -EINVAL;
        r = ha_device_topic(c, "station", s->name, &topic);
        if (r < 0)
                return r;
        if ((r = member_id(c, s->name, &id)) < 0 || (r = hub_id(c, &hid)) < 0 ||
            (r = hub_topic(c, TOPIC_HUB_AVAILABILITY, &avail)) < 0 ||
            (r = station_topic(c, s->name, TOPIC_STATION_STATE, &state)) < 0 ||
            (r = station_topic(c, s->name, TOPIC_STATION_EVENT, &event)) < 0 ||
            (r = station_topic(c, s->name, TOPIC_STATION_CMD, &cmd)) < 0 ||
            (r = station_topic(c, s->name, TOPIC_STATION_LAST_SESSION, &last)) < 0)
                return r;

        doc = json_object_new_object();
        cmps = json_object_new_object();
        a = json_object_new_array();
        dev = device(id, s->name, "tphub station", hid);
        if (!doc || !cmps || !a || !dev) {
                json_object_put(cmps);
                json_object_put(a);
                json_object_put(dev);
                return -ENOMEM;
        }
        add_str(dev, "suggested_area", s->area);
        if (c->dashboard_url) {
                /* The station's own page of the dashboard (its athlete view). */
                if (asprintf(&url, "%s%sathlete.html?hub=%s&station=%s", c->dashboard_url,
                             c->dashboard_url[strlen(c->dashboard_url) - 1] == '/' ? "" : "/", c->hub, s->name) < 0)
                        return -ENOMEM;
                add_str(dev, "configuration_url", url);
        }
        json_object_object_add(doc, "device", dev);
        json_object_object_add(doc, "origin", origin(c));
        /* Shared by every entity of the station: unavailable while the hub is offline. */
        json_object_array_add(a, availability_entry(avail, NULL));
        json_object_object_add(doc, "availability", a);
        json_object_object_add(doc, "components", cmps);

        e = sensor(cmps, id, "state", "State", state, "{{ value_json.state }}");
        if (e && s->n_states > 0) {
                add_str(e, "device_class", "enum");
                json_object_object_add(e, "options", str_array(s->states, s->n_states));
        }
        if (c->athlete)
                (void) sensor(cmps, id, "athlete", "Athlete", state, "{{ value_json.athlete }}");
        (void) sensor(cmps, id, "point", "Point", state, "{{ value_json.label }}");
        e = sensor(cmps, id, "remaining", "Remaining", state,
                   "{{ (value_json.remaining_ms / 1000) | round(1) if value_json.remaining_ms is not none else none }}");
        unit(e, "duration", "s", NULL);
        (void) sensor(cmps, id, "last_session", "Last session", last, "{{ value_json.status }}");
        e = sensor(cmps, id, "last_session_end", "Last session ended", last, "{{ value_json.ended_at }}");
        unit(e, "timestamp", NULL, NULL);
        (void) binary_sensor(cmps, id, "in_use", "In use", "occupancy", state,
                             "{{ 'OFF' if value_json.state == 'idle' else 'ON' }}");
        (void) binary_sensor(cmps, id, "tool_connected", "Tool connected", "connectivity", state,
                             "{{ 'ON' if value_json.tool_connected else 'OFF' }}");
        (void) binary_sensor(cmps, id, "warning", "Warning", "problem", state,
                             "{{ 'ON' if value_json.warnings else 'OFF' }}");
        e = component(cmps, id, "events", "event", "Events");
        if (e) {
                add_str(e, "state_topic", event);
                /* The event entity wants {"event_type": ...}; the documents say "type". */
                add_str(e, "value_template", "{{ {'event_type': value_json.type} | tojson }}");
                json_object_object_add(e, "event_types", str_array(s->event_types, s->n_event_types));
        }
        (void) button(cmps, id, "start", "Start", cmd, "{\"cmd\":\"start\"}");
        (void) button(cmps, id, "stop", "Stop", cmd, "{\"cmd\":\"stop\"}");
        (void) button(cmps, id, "skip", "Skip point", cmd, "{\"cmd\":\"skip\"}");
        (void) button(cmps, id, "tare", "Tare", cmd, "{\"cmd\":\"tare\"}");
        if (s->n_protocols > 0) {
                /* Choosing only selects: the start button (or any start without a protocol)
                 * then runs it. Selecting never starts a session. */
                e = component(cmps, id, "protocol", "select", "Protocol");
                if (e) {
                        add_str(e, "command_topic", cmd);
                        add_str(e, "command_template", "{\"cmd\":\"select\",\"protocol\":\"{{ value }}\"}");
                        add_str(e, "state_topic", state);
                        add_str(e, "value_template", "{{ value_json.selected_protocol }}");
                        json_object_object_add(e, "options", str_array(s->protocols, s->n_protocols));
                }
        }
        return finish(doc, TAKE_PTR(topic), ret_topic, ret_payload);
}

/* ---- a force tool ---- */

int ha_device_tool(const HaContext *c, const HaTool *t, char **ret_topic, char **ret_payload) {
        _cleanup_free_ char *id = NULL, *via = NULL, *avail = NULL, *tool = NULL, *topic = NULL, *mac = NULL,
                            *name = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        json_object *cmps, *dev, *conn, *pair, *e;
        int r;

        if (!c || !t || !t->address || !ret_topic || !ret_payload)
                return -EINVAL;
        r = ha_device_topic(c, "tool", t->address, &topic);
        if (r < 0)
                return r;
        if ((r = member_id(c, t->address, &id)) < 0 ||
            (r = t->station ? member_id(c, t->station, &via) : hub_id(c, &via)) < 0 ||
            (r = hub_topic(c, TOPIC_HUB_AVAILABILITY, &avail)) < 0 ||
            (r = topic_tool(c->prefix, c->hub, t->address, &tool)) < 0)
                return r;
        mac = strdup(t->address);
        if (!mac || asprintf(&name, "%s %s", t->name && *t->name ? t->name : t->driver ?: "tool", t->address) < 0)
                return -ENOMEM;
        for (char *p = mac; *p; p++)
                *p = (char) tolower((unsigned char) *p);

        doc = json_object_new_object();
        cmps = json_object_new_object();
        dev = device(id, name, t->model ?: t->driver, via);
        conn = json_object_new_array();
        pair = json_object_new_array();
        if (!doc || !cmps || !dev || !conn || !pair) {
                json_object_put(cmps);
                json_object_put(dev);
                json_object_put(conn);
                json_object_put(pair);
                return -ENOMEM;
        }
        json_object_array_add(pair, json_object_new_string("bluetooth"));
        json_object_array_add(pair, json_object_new_string(mac));
        json_object_array_add(conn, pair);
        json_object_object_add(dev, "connections", conn);
        json_object_object_add(doc, "device", dev);
        json_object_object_add(doc, "origin", origin(c));
        json_object_object_add(doc, "components", cmps);

        e = binary_sensor(cmps, id, "connected", "Connected", "connectivity", tool,
                          "{{ 'ON' if value_json.connected else 'OFF' }}");
        if (e) {
                json_object *a = json_object_new_array();
                json_object_array_add(a, availability_entry(avail, NULL));
                json_object_object_add(e, "availability", a);
        }
        if (t->voltage) {
                e = sensor(cmps, id, "battery", "Battery", tool,
                           "{{ (value_json.battery_mv / 1000) | round(2) if value_json.battery_mv is not none else none }}");
                unit(e, "voltage", "V", "measurement");
        } else {
                e = sensor(cmps, id, "battery", "Battery", tool, "{{ value_json.battery }}");
                unit(e, "battery", "%", "measurement");
        }
        diagnostic(e);
        e = sensor(cmps, id, "rssi", "Signal strength", tool, "{{ value_json.rssi }}");
        unit(e, "signal_strength", "dBm", "measurement");
        diagnostic(e);
        e = sensor(cmps, id, "last_seen", "Last seen", tool, "{{ value_json.last_seen }}");
        unit(e, "timestamp", NULL, NULL);
        diagnostic(e);

        /* A dropped tool's battery, RSSI and last seen are "unavailable", not stale: both the
         * hub and the tool's link must be up. */
        json_object_object_foreach(cmps, key, comp) {
                json_object *a;
                if (strcmp(key, "connected") == 0)
                        continue;
                a = json_object_new_array();
                if (!a)
                        return -ENOMEM;
                json_object_array_add(a, availability_entry(avail, NULL));
                json_object_array_add(a, availability_entry(tool, "{{ 'online' if value_json.connected else 'offline' }}"));
                json_object_object_add(comp, "availability", a);
                add_str(comp, "availability_mode", "all");
        }
        return finish(doc, TAKE_PTR(topic), ret_topic, ret_payload);
}

/* ---- tag scanner ---- */

int ha_opaque_tag_id(const HaContext *c, const char *athlete, char **ret) {
        if (!c || !c->hub || !athlete || !ret)
                return -EINVAL;
        return asprintf(ret, "tag-%08" PRIx32, fnv1a(fnv1a(fnv1a(FNV1A_BASIS, c->hub), "/"), athlete)) < 0 ? -ENOMEM : 0;
}

int ha_tag_topic(const HaContext *c, const char *station, char **ret) {
        if (!c || !ret)
                return -EINVAL;
        return station_topic(c, station, TOPIC_STATION_TAG, ret);
}

int ha_tag_scanner(const HaContext *c, const char *station, char **ret_topic, char **ret_payload) {
        _cleanup_free_ char *id = NULL, *tag = NULL, *topic = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        json_object *dev;
        int r;

        if (!c || !ret_topic || !ret_payload || !topic_prefix_valid(dprefix(c)))
                return -EINVAL;
        if ((r = member_id(c, station, &id)) < 0 || (r = ha_tag_topic(c, station, &tag)) < 0)
                return r;
        if (asprintf(&topic, "%s/tag/%s/config", dprefix(c), id) < 0)
                return -ENOMEM;
        doc = json_object_new_object();
        dev = json_object_new_object();
        if (!doc || !dev) {
                json_object_put(dev);
                return -ENOMEM;
        }
        add_str(doc, "topic", tag);
        add_str(doc, "value_template", "{{ value_json.tag_id }}");
        /* Only the identifiers: the station's device document says the rest. */
        json_object_object_add(dev, "identifiers", str_array((const char *const *) &id, 1));
        json_object_object_add(doc, "device", dev);
        return finish(doc, TAKE_PTR(topic), ret_topic, ret_payload);
}

/* ---- what the hub listens to ---- */

int ha_discovery_filter(const HaContext *c, const char *kind, char **ret) {
        if (!c || !kind || !ret || !topic_prefix_valid(dprefix(c)) ||
            (strcmp(kind, "device") != 0 && strcmp(kind, "tag") != 0))
                return -EINVAL;
        return asprintf(ret, "%s/%s/+/config", dprefix(c), kind) < 0 ? -ENOMEM : 0;
}

int ha_status_topic(const HaContext *c, char **ret) {
        if (!c || !ret || !topic_prefix_valid(dprefix(c)))
                return -EINVAL;
        return asprintf(ret, "%s/status", dprefix(c)) < 0 ? -ENOMEM : 0;
}

static bool mentions_root(json_object *o, const char *root, size_t n, int depth) {
        if (depth > 8)
                return false;
        switch (json_object_get_type(o)) {
        case json_type_object: {
                json_object_object_foreach(o, key, v) {
                        size_t k = strlen(key);
                        if (json_object_is_type(v, json_type_string) && k >= 5 && strcmp(key + k - 5, "topic") == 0 &&
                            strncmp(json_object_get_string(v), root, n) == 0)
                                return true;
                        if (mentions_root(v, root, n, depth + 1))
                                return true;
                }
                return false;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        if (mentions_root(json_object_array_get_idx(o, i), root, n, depth + 1))
                                return true;
                return false;
        default:
                return false;
        }
}

bool ha_document_is_ours(const HaContext *c, const char *topic, const char *payload, size_t len) {
        _cleanup_free_ char *dev = NULL, *tag = NULL, *root = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_tokener *tok;

        if (!c || !topic || !payload || len == 0 || len > 256 * 1024)
                return false;
        if (asprintf(&dev, "%s/device/", dprefix(c)) < 0 || asprintf(&tag, "%s/tag/", dprefix(c)) < 0 ||
            asprintf(&root, "%s/%s/", c->prefix ?: TOPIC_DEFAULT_PREFIX, c->hub) < 0)
                return false;
        if (strncmp(topic, dev, strlen(dev)) != 0 && strncmp(topic, tag, strlen(tag)) != 0)
                return false;
        tok = json_tokener_new_ex(16);
        if (!tok)
                return false;
        o = json_tokener_parse_ex(tok, payload, (int) len);
        json_tokener_free(tok);
        return o && mentions_root(o, root, strlen(root), 0);
}
