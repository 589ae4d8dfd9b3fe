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
        [TOPIC_STATION_LAST_SESSION] = "last_session",
        [TOPIC_STATION_TAG] = "tag",
};

static const char *const hub_suffix[_TOPIC_HUB_MAX] = {
        [TOPIC_HUB_STATUS] = "status",
        [TOPIC_HUB_AVAILABILITY] = "availability",
        [TOPIC_HUB_META] = "meta",
        [TOPIC_HUB_SYSINFO] = "sysinfo",
};

bool topic_station_name_reserved(const char *name) {
        if (!name)
                return false;
        /* "tools" holds tools/<address>; the others are the hub's documents. */
        if (strcmp(name, "tools") == 0)
                return true;
        for (size_t i = 0; i < _TOPIC_HUB_MAX; i++)
                if (strcmp(name, hub_suffix[i]) == 0)
                        return true;
        return false;
}

bool topic_level_valid(const char *s) {
        if (!s || !*s || strlen(s) > 128)
                return false;
        for (; *s; s++)
                if (*s == '/' || *s == '+' || *s == '#' || (unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

bool topic_prefix_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        /* Levels of a plain set joined by single '/': no wildcards, no empty level, and no
         * leading '$' (those topics are the broker's, $SYS). */
        if (n < 1 || n > TOPIC_PREFIX_MAX || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//"))
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/") == n;
}

bool topic_name_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        return n >= 1 && n <= TOPIC_NAME_MAX &&
               strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
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

int topic_hub(const char *prefix, const char *hub, TopicHub kind, char **ret) {
        prefix = prefix_or_default(prefix);
        if (!ret || !topic_prefix_valid(prefix) || !topic_level_valid(hub) || kind < 0 || kind >= _TOPIC_HUB_MAX)
                return -EINVAL;
        return format(ret, "%s/%s/%s", prefix, hub, hub_suffix[kind]);
}

int topic_status(const char *prefix, const char *hub, char **ret) {
        return topic_hub(prefix, hub, TOPIC_HUB_STATUS, ret);
}

int topic_station(const char *prefix, const char *hub, const char *station, TopicStation kind, char **ret) {
        prefix = prefix_or_default(prefix);
        if (!ret || !topic_prefix_valid(prefix) || !topic_level_valid(hub) || !topic_level_valid(station) ||
            kind < 0 || kind >= _TOPIC_STATION_MAX)
                return -EINVAL;
        if (topic_station_name_reserved(station))
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
        if (!topic_level_valid(s) || topic_station_name_reserved(s))
                return -EINVAL;
        *ret_station = TAKE_PTR(s);
        return 0;
}
