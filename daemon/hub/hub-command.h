/* SPDX-License-Identifier: MIT */
#pragma once

/* What a station command (docs/mqtt.md, "Commands") does, decided without doing it: a pure
 * function of the parsed command and the station's state, so every verdict and reply text is
 * unit-tested (tests/hub/test-hub-command.c). hub-mqtt.c carries the action out. */

#include <stdbool.h>

#include "config/config.h"
#include "engine/engine.h"
#include "mqtt/mqtt-command.h"

typedef enum HubActionKind {
        HUB_ACTION_NONE,     /* refused: the reply carries the error */
        HUB_ACTION_START,
        HUB_ACTION_STOP,
        HUB_ACTION_SKIP,
        HUB_ACTION_TARE,     /* zero the station's tools (which may still refuse: not steady) */
        HUB_ACTION_SELECT,   /* the protocol the next start without one runs */
} HubActionKind;

typedef struct HubCommandState {
        const Config *config;              /* the protocols a command may name */
        const Protocol *station_protocol;  /* what a start without one runs (selected, else default) */
        bool busy;                         /* a session is running */
        CueKind cue;                       /* what the athlete is doing now */
} HubCommandState;

typedef struct HubAction {
        HubActionKind kind;
        const Protocol *protocol;          /* START: to run; SELECT: chosen */
        const char *athlete;               /* START: NULL when none was given (points into cmd) */
} HubAction;

/* Fills *ret and returns NULL, or returns the reply's error text (static) with ret->kind
 * HUB_ACTION_NONE. Hub-wide verbs (sessions_since, resend) are not a station's: "unknown
 * command" here (hub-archive.c answers them first). */
const char *hub_command_decide(const MqttCommand *cmd, const HubCommandState *st, HubAction *ret);
