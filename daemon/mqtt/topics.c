/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mqtt/topics.h"
#include "shared/macro.h"

static const char *const station_suffix[_TOPIC_STATION_MAX] = {
        [TOPIC_STATION_STATE] = "state",
        [TOPIC_STATION_SESSION] = "session",
        [TOPIC_STATION_EVENT] = "event",
        [TOPIC_STATION_FORCE] = "force",
        [TOPIC_STATION_CMD] = "cmd",
        [TOPIC_STATION_CMD_REPLY] = "cmd/reply",
        [TOPIC_STATION_HISTORY] = "history",
};

bool topic_level_valid(const char *s) {
        if (!s || !*s || strlen(s) > 128)
                return false;
        for (; *s; s++)
                if (*s == '/' || *s == '+' || *s == '#' || (unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

bool topic_prefix_valid(const char *s) {
        if (!s || !*s || strlen(s) > 256)
                return false;
        if (s[0] == '/' || s[strlen(s) - 1] == '/' || strstr(s, "//"))
                return false;
        /* $-topics belong to the broker ($SYS). */
        if (s[0] == '$')
                return false;
        for (; *s; s++)
                if (*s == '+' || *s == '#' || (unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static const char *prefix_or_default(const char *p) {
        return p ? p : TOPIC_DEFAULT_PREFIX;
}

static int format(char **ret, const char *fmt, ...) _printf_(2, 3);
static int format(char **ret, const char *fmt, ...) {
        va_list ap;
        char *s;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int topic_status(const char *prefix, const char *hub, char **ret) {
        prefix = prefix_or_default(prefix);
        if (!ret || !topic_prefix_valid(prefix) || !topic_level_valid(hub))
                return -EINVAL;
        return format(ret, "%s/%s/status", prefix, hub);
}

int topic_station(const char *prefix, const char *hub, const char *station, TopicStation kind, char **ret) {
        prefix = prefix_or_default(prefix);
        if (!ret || !topic_prefix_valid(prefix) || !topic_level_valid(hub) || !topic_level_valid(station) ||
            kind < 0 || kind >= _TOPIC_STATION_MAX)
                return -EINVAL;
        /* "tools" and "status" are the hub's own levels. */
        if (strcmp(station, "tools") == 0 || strcmp(station, "status") == 0)
                return -EINVAL;
        return format(ret, "%s/%s/%s/%s", prefix, hub, station, station_suffix[kind]);
}

int topic_tool(const char *prefix, const char *hub, const char *address, char **ret) {
        prefix = prefix_or_default(prefix);
        if (!ret || !topic_prefix_valid(prefix) || !topic_level_valid(hub) || !topic_level_valid(address))
                return -EINVAL;
        return format(ret, "%s/%s/tools/%s", prefix, hub, address);
}

int topic_cmd_filter(const char *prefix, const char *hub, char **ret) {
        prefix = prefix_or_default(prefix);
        if (!ret || !topic_prefix_valid(prefix) || !topic_level_valid(hub))
                return -EINVAL;
        return format(ret, "%s/%s/+/cmd", prefix, hub);
}

int topic_parse_cmd(const char *prefix, const char *hub, const char *topic, char **ret_station) {
        size_t np, nh, nt;
        const char *station, *end;

        prefix = prefix_or_default(prefix);
        if (!topic || !ret_station || !topic_prefix_valid(prefix) || !topic_level_valid(hub))
                return -EINVAL;
        np = strlen(prefix);
        nh = strlen(hub);
        nt = strlen(topic);
        if (nt < np + 1 + nh + 1 || strncmp(topic, prefix, np) != 0 || topic[np] != '/' ||
            strncmp(topic + np + 1, hub, nh) != 0 || topic[np + 1 + nh] != '/')
                return -EINVAL;
        station = topic + np + 1 + nh + 1;
        end = strchr(station, '/');
        if (!end || end == station || strcmp(end, "/cmd") != 0)
                return -EINVAL;

        _cleanup_free_ char *s = strndup(station, (size_t) (end - station));
        if (!s)
                return -ENOMEM;
        if (!topic_level_valid(s) || !strcmp(s, "tools") || !strcmp(s, "status"))
                return -EINVAL;
        *ret_station = TAKE_PTR(s);
        return 0;
}

/* Discovery object ids allow [a-zA-Z0-9_-] only. */
static char *object_id(const char *a, const char *b, const char *c) {
        char *s;

        if (asprintf(&s, "%s_%s_%s", a, b, c) < 0)
                return NULL;
        for (char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-')
                        *p = '_';
        return s;
}

static json_object *device_block(const HaDiscovery *d) {
        json_object *dev = json_object_new_object(), *ids = json_object_new_array();
        char id[160], name[160];

        snprintf(id, sizeof(id), "tphub_%s", d->hub);
        snprintf(name, sizeof(name), "tphub %s", d->hub);
        json_object_array_add(ids, json_object_new_string(id));
        json_object_object_add(dev, "identifiers", ids);
        json_object_object_add(dev, "name", json_object_new_string(name));
        json_object_object_add(dev, "manufacturer", json_object_new_string("tphub"));
        json_object_object_add(dev, "model", json_object_new_string("tphub trigger-point station hub"));
        if (d->version)
                json_object_object_add(dev, "sw_version", json_object_new_string(d->version));
        return dev;
}

static int finish(json_object *o, char *topic, char **ret_topic, char **ret_payload) {
        char *p = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

        json_object_put(o);
        if (!p) {
                free(topic);
                return -ENOMEM;
        }
        *ret_topic = topic;
        *ret_payload = p;
        return 0;
}

static int discovery_common(const HaDiscovery *d, const char *uid, const char *name, const char *state_topic,
                            json_object **ret) {
        _cleanup_free_ char *status = NULL;
        json_object *o;
        int r;

        r = topic_status(d->prefix, d->hub, &status);
        if (r < 0)
                return r;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "unique_id", json_object_new_string(uid));
        json_object_object_add(o, "object_id", json_object_new_string(uid));
        json_object_object_add(o, "state_topic", json_object_new_string(state_topic));
        json_object_object_add(o, "availability_topic", json_object_new_string(status));
        json_object_object_add(o, "availability_template", json_object_new_string("{{ value_json.state }}"));
        json_object_object_add(o, "payload_available", json_object_new_string("online"));
        json_object_object_add(o, "payload_not_available", json_object_new_string("offline"));
        json_object_object_add(o, "device", device_block(d));
        *ret = o;
        return 0;
}

int ha_discovery_station(const HaDiscovery *d, const char *station, char **ret_topic, char **ret_payload) {
        _cleanup_free_ char *state = NULL, *uid = NULL, *name = NULL;
        const char *dp;
        json_object *o;
        char *topic;
        int r;

        if (!d || !ret_topic || !ret_payload)
                return -EINVAL;
        dp = d->discovery_prefix ? d->discovery_prefix : TOPIC_DEFAULT_DISCOVERY_PREFIX;
        if (!topic_prefix_valid(dp))
                return -EINVAL;
        r = topic_station(d->prefix, d->hub, station, TOPIC_STATION_STATE, &state);
        if (r < 0)
                return r;
        uid = object_id(d->hub, station, "state");
        if (!uid || asprintf(&name, "%s state", station) < 0)
                return -ENOMEM;

        r = discovery_common(d, uid, name, state, &o);
        if (r < 0)
                return r;
        json_object_object_add(o, "value_template", json_object_new_string("{{ value_json.state }}"));
        json_object_object_add(o, "json_attributes_topic", json_object_new_string(state));
        json_object_object_add(o, "icon", json_object_new_string("mdi:human-handsdown"));

        if (asprintf(&topic, "%s/sensor/%s/config", dp, uid) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return finish(o, topic, ret_topic, ret_payload);
}

int ha_discovery_tool_battery(const HaDiscovery *d, const char *address, const char *name,
                              char **ret_topic, char **ret_payload) {
        _cleanup_free_ char *state = NULL, *uid = NULL, *label = NULL;
        const char *dp;
        json_object *o;
        char *topic;
        int r;

        if (!d || !ret_topic || !ret_payload)
                return -EINVAL;
        dp = d->discovery_prefix ? d->discovery_prefix : TOPIC_DEFAULT_DISCOVERY_PREFIX;
        if (!topic_prefix_valid(dp))
                return -EINVAL;
        r = topic_tool(d->prefix, d->hub, address, &state);
        if (r < 0)
                return r;
        uid = object_id(d->hub, address, "battery");
        if (!uid || asprintf(&label, "%s battery", name && *name ? name : address) < 0)
                return -ENOMEM;
        r = discovery_common(d, uid, label, state, &o);
        if (r < 0)
                return r;
        json_object_object_add(o, "value_template", json_object_new_string("{{ value_json.battery }}"));
        json_object_object_add(o, "device_class", json_object_new_string("battery"));
        json_object_object_add(o, "unit_of_measurement", json_object_new_string("%"));
        json_object_object_add(o, "json_attributes_topic", json_object_new_string(state));

        if (asprintf(&topic, "%s/sensor/%s/config", dp, uid) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return finish(o, topic, ret_topic, ret_payload);
}
