/* SPDX-License-Identifier: MIT */
#pragma once

/* Home Assistant MQTT discovery documents (docs/home-assistant.md), device-based: one retained
 * document per device on <discovery_prefix>/device/<object id>/config, holding the device, the
 * origin (tphub and its version) and every entity ("components") of that device.
 *
 *   hub      tphub_<hub>                 online, spool backlog, links in use, system info
 *   station  tphub_<hub>_<station>       state, point, remaining, last session, occupancy,
 *                                        tool connected, warning, events, buttons, protocol
 *   tool     tphub_<hub>_<address>       connected, battery, RSSI, last seen
 *
 * plus a tag scanner per station (<discovery_prefix>/tag/<object id>/config). Pure builders:
 * they read only their arguments and return 0 or a negative errno (-EINVAL for a name or
 * prefix that cannot be used), handing out strings the caller frees. */

#include <stdbool.h>
#include <stddef.h>

typedef struct HaContext {
        const char *discovery_prefix;   /* NULL = "homeassistant" */
        const char *prefix;             /* the hub's topic prefix, NULL = "tphub" */
        const char *hub;
        const char *version;            /* tphub's version, for origin and device */
        const char *dashboard_url;      /* base URL of the dashboard pages, NULL = none */
        bool athlete;                   /* expose the athlete id (off by default: privacy) */
} HaContext;

typedef struct HaStation {
        const char *name;
        const char *area;               /* suggested_area, NULL = none */
        const char *const *protocols;   /* the choices of the protocol select */
        size_t n_protocols;
        const char *const *states;      /* values of the state document's "state" */
        size_t n_states;
        const char *const *event_types; /* values of an event document's "type" */
        size_t n_event_types;
} HaStation;

typedef struct HaTool {
        const char *address;            /* "AA:BB:CC:DD:EE:FF" */
        const char *driver;             /* "progressor", ... */
        const char *model;              /* what it is, for people: the driver's description */
        const char *name;               /* advertised name, NULL if unknown */
        const char *station;            /* the station it serves, NULL if none (yet) */
        bool voltage;                   /* reports its battery in mV, not % */
} HaTool;

/* Home Assistant's ids allow [a-zA-Z0-9_-] only. Every other byte becomes '_' and, when one
 * was replaced, "-" and 8 hex digits of the original's FNV-1a hash are appended, so that two
 * names differing only in such bytes ("bench 1", "bench/1") never share an id. */
int ha_object_id(const char *const *parts, size_t n_parts, char **ret);

/* The topic of a device's discovery document (also for deleting it: an empty retained
 * payload). kind: "hub" (name ignored), "station" or "tool". */
int ha_device_topic(const HaContext *c, const char *kind, const char *name, char **ret);

int ha_device_hub(const HaContext *c, char **ret_topic, char **ret_payload);
int ha_device_station(const HaContext *c, const HaStation *s, char **ret_topic, char **ret_payload);
int ha_device_tool(const HaContext *c, const HaTool *t, char **ret_topic, char **ret_payload);

/* The tag id Home Assistant sees for an athlete when the athlete id is not to be shown:
 * "tag-" and 8 hex digits of the FNV-1a hash of "<hub>/<athlete>". Stable, so an automation
 * can be bound to it; opaque, but not secret (ids are pseudonymous anyway). */
int ha_opaque_tag_id(const HaContext *c, const char *athlete, char **ret);

/* The station's tag scanner and the topic the hub publishes a scanned tag on. */
int ha_tag_scanner(const HaContext *c, const char *station, char **ret_topic, char **ret_payload);
int ha_tag_topic(const HaContext *c, const char *station, char **ret);

/* "<discovery_prefix>/<kind>/+/config" (kind "device" or "tag"): where the hub looks for the
 * documents it published before (to delete the ones it no longer has), and
 * "<discovery_prefix>/status", where Home Assistant announces itself. */
int ha_discovery_filter(const HaContext *c, const char *kind, char **ret);
int ha_status_topic(const HaContext *c, char **ret);

/* Whether a retained discovery document (topic + payload) is one this hub published: under
 * "<discovery_prefix>/device/" or ".../tag/", with a topic of this hub ("<prefix>/<hub>/...")
 * in it. Names may hold '_', so the object id alone cannot tell "hub gym, station 2_x" from
 * "hub gym_2, station x"; the topics can. An empty payload (a deleted document) is never
 * ours to delete again. */
bool ha_document_is_ours(const HaContext *c, const char *topic, const char *payload, size_t len);
