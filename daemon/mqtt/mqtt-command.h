/* SPDX-License-Identifier: MIT */
#pragma once

/* Commands arriving on "<prefix>/<hub>/<station>/cmd" (docs/mqtt.md), parsed strictly: bytes
 * from the network, so every field is checked and anything unexpected is refused with a
 * message that says what was wrong. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/session-id.h"

#define MQTT_COMMAND_MAX_PAYLOAD 4096
#define MQTT_COMMAND_NAME_MAX 64     /* athlete and protocol names */
#define MQTT_COMMAND_ID_MAX 64


/* An athlete or protocol name in a command: 1 to MQTT_COMMAND_NAME_MAX of A-Z a-z 0-9 _ . -
 * (tphubctl checks with this before sending). */
bool mqtt_command_name_valid(const char *s);

typedef enum MqttCommandVerb {
        MQTT_COMMAND_START,
        MQTT_COMMAND_STOP,
        MQTT_COMMAND_SKIP,
        MQTT_COMMAND_TARE,
        MQTT_COMMAND_SELECT,   /* choose the protocol the next start runs (never starts) */
        MQTT_COMMAND_SESSIONS_SINCE,   /* hub-wide: the archived session ids since a time */
        MQTT_COMMAND_RESEND,           /* hub-wide: publish an archived session again */
        _MQTT_COMMAND_MAX,
        _MQTT_COMMAND_INVALID = -22,
} MqttCommandVerb;

typedef struct MqttCommand {
        MqttCommandVerb verb;
        char id[MQTT_COMMAND_ID_MAX + 1];            /* "" when the sender gave none */
        char athlete[MQTT_COMMAND_NAME_MAX + 1];     /* start only; "" = none given */
        char protocol[MQTT_COMMAND_NAME_MAX + 1];    /* start: "" = the station's; select: required */
        int64_t since_ms;                            /* sessions_since: required (ms since the epoch) */
        char after[SESSION_ID_LEN + 1]; /* sessions_since: optional cursor; "" = none */
        char session[SESSION_ID_LEN + 1]; /* resend: required */
} MqttCommand;

const char *mqtt_command_verb_to_string(MqttCommandVerb v);

/* Returns 0 and fills *ret, or -EINVAL (or -ENOMEM) and sets *ret_error to a static string
 * describing the problem. When the payload was an object with a usable "id", ret->id is set
 * even on failure so the reply can carry it. */
int mqtt_command_parse(const void *payload, size_t len, MqttCommand *ret, const char **ret_error);

/* {"id":"r1","ok":true} or {"id":"r1","ok":false,"error":"..."}; id NULL or "" = omitted. */
int mqtt_command_reply_json(const char *id, bool ok, const char *error, char **ret_json);
