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
        _TOPIC_STATION_MAX,
        _TOPIC_STATION_INVALID = -22,
} TopicStation;

/* true for a non-empty topic level without '/', '+', '#', NUL or control characters. */
bool topic_level_valid(const char *s);

/* The prefix may have several levels ("site/tphub"), none empty or with wildcards. */
bool topic_prefix_valid(const char *s);

int topic_status(const char *prefix, const char *hub, char **ret);
int topic_station(const char *prefix, const char *hub, const char *station, TopicStation kind, char **ret);
int topic_tool(const char *prefix, const char *hub, const char *address, char **ret);

/* "<prefix>/<hub>/+/cmd": what the hub subscribes to. */
int topic_cmd_filter(const char *prefix, const char *hub, char **ret);

/* If topic is "<prefix>/<hub>/<station>/cmd", returns 0 and the station; else -EINVAL. */
int topic_parse_cmd(const char *prefix, const char *hub, const char *topic, char **ret_station);

/* Home Assistant MQTT discovery (retained). version is the hub's software version. */
typedef struct HaDiscovery {
        const char *discovery_prefix;   /* NULL = "homeassistant" */
        const char *prefix;             /* NULL = "tphub" */
        const char *hub;
        const char *version;
} HaDiscovery;

/* homeassistant/sensor/<hub>_<station>_state/config: the station's state, with the whole state
 * document as attributes, available while the hub is online. */
int ha_discovery_station(const HaDiscovery *d, const char *station, char **ret_topic, char **ret_payload);

/* homeassistant/sensor/<hub>_<address, ":" as "_">_battery/config */
int ha_discovery_tool_battery(const HaDiscovery *d, const char *address, const char *name,
                              char **ret_topic, char **ret_payload);
