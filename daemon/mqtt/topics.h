/* SPDX-License-Identifier: MIT */
#pragma once

/* The topic contract (docs/mqtt.md) in one place:
 *
 *   <prefix>/<hub>/status                   retained, LWT {"state":"offline"} / online document
 *   <prefix>/<hub>/<station>/state          retained live state
 *   <prefix>/<hub>/<station>/session        QoS 1, finished sessions (at least once, by "id")
 *   <prefix>/<hub>/<station>/event          QoS 1
 *   <prefix>/<hub>/<station>/force          QoS 0, decimated
 *   <prefix>/<hub>/<station>/cmd            in
 *   <prefix>/<hub>/<station>/cmd/reply      out
 *   <prefix>/<hub>/<station>/history        retained, the last finished sessions
 *   <prefix>/<hub>/tools/<address>          retained tool state
 *
 * plus optional Home Assistant discovery documents. Every builder checks that each name is a
 * single, wildcard-free topic level, so a configured name can never subscribe or publish
 * outside the hub's subtree. All return 0 or a negative errno (-EINVAL for a bad name) and
 * hand out a string the caller frees. */

#include <stdbool.h>

#define TOPIC_DEFAULT_PREFIX "tphub"
#define TOPIC_DEFAULT_DISCOVERY_PREFIX "homeassistant"

typedef enum TopicStation {
        TOPIC_STATION_STATE,
        TOPIC_STATION_SESSION,
        TOPIC_STATION_EVENT,
        TOPIC_STATION_FORCE,
        TOPIC_STATION_CMD,
        TOPIC_STATION_CMD_REPLY,
        TOPIC_STATION_HISTORY,         /* retained: the last finished sessions (summaries) */
        TOPIC_STATION_LAST_SESSION,     /* retained summary of the last finished session */
        TOPIC_STATION_TAG,              /* a tag scanned at the station (Home Assistant) */
        _TOPIC_STATION_MAX,
        _TOPIC_STATION_INVALID = -22,
} TopicStation;

/* The hub's own topics, <prefix>/<hub>/<kind>. */
typedef enum TopicHub {
        TOPIC_HUB_STATUS,               /* JSON status, last will {"state":"offline"} */
        TOPIC_HUB_AVAILABILITY,         /* plain "online" / "offline", last will "offline" */
        TOPIC_HUB_META,                 /* retained self-description */
        TOPIC_HUB_SYSINFO,              /* retained system info, refreshed periodically */
        _TOPIC_HUB_MAX,
        _TOPIC_HUB_INVALID = -22,
} TopicHub;

/* true for a non-empty topic level without '/', '+', '#', NUL or control characters. */
bool topic_level_valid(const char *s);

/* A topic prefix (mqtt.prefix, mqtt.discovery_prefix): one or more levels of
 * A-Z a-z 0-9 _ . - joined by single '/', at most TOPIC_PREFIX_MAX characters ("site/tphub").
 * So no wildcards, no empty level, no broker "$" topics. */
#define TOPIC_PREFIX_MAX 64
bool topic_prefix_valid(const char *s);

/* A name that becomes a topic level and a Home Assistant id (hub, station, athlete tag):
 * 1 to TOPIC_NAME_MAX of A-Z a-z 0-9 _ -. */
#define TOPIC_NAME_MAX 32
bool topic_name_valid(const char *s);

int topic_status(const char *prefix, const char *hub, char **ret);
int topic_hub(const char *prefix, const char *hub, TopicHub kind, char **ret);
/* Station names that would collide with the hub's own levels ("tools", "status", ...). */
bool topic_station_name_reserved(const char *name);
int topic_station(const char *prefix, const char *hub, const char *station, TopicStation kind, char **ret);
int topic_tool(const char *prefix, const char *hub, const char *address, char **ret);

/* "<prefix>/<hub>/+/cmd": what the hub subscribes to. */
int topic_cmd_filter(const char *prefix, const char *hub, char **ret);

/* If topic is "<prefix>/<hub>/<station>/cmd", returns 0 and the station; else -EINVAL. */
int topic_parse_cmd(const char *prefix, const char *hub, const char *topic, char **ret_station);
