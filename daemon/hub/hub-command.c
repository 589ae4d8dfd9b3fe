/* SPDX-License-Identifier: MIT */
/* A station command's verdict (hub-command.h): what to do, or the reply's error text. */

#include "hub/hub-command.h"

static const char *refuse(HubAction *ret, const char *error) {
        *ret = (HubAction) { .kind = HUB_ACTION_NONE };
        return error;
}

const char *hub_command_decide(const MqttCommand *cmd, const HubCommandState *st, HubAction *ret) {
        const Protocol *p;

        *ret = (HubAction) { .kind = HUB_ACTION_NONE };
        switch (cmd->verb) {
        case MQTT_COMMAND_START:
                p = *cmd->protocol ? config_find_protocol(st->config, cmd->protocol) : st->station_protocol;
                if (!p)
                        return refuse(ret, "unknown protocol");
                if (st->busy)
                        return refuse(ret, "a session is running");
                *ret = (HubAction) { .kind = HUB_ACTION_START, .protocol = p,
                                     .athlete = *cmd->athlete ? cmd->athlete : NULL };
                return NULL;
        case MQTT_COMMAND_STOP:
        case MQTT_COMMAND_SKIP:
                if (!st->busy)
                        return refuse(ret, "no session is running");
                ret->kind = cmd->verb == MQTT_COMMAND_STOP ? HUB_ACTION_STOP : HUB_ACTION_SKIP;
                return NULL;
        case MQTT_COMMAND_TARE:
                /* Zeroing while someone presses would erase their press from the record. */
                if (st->cue == CUE_PRESSING || st->cue == CUE_HOLD || st->cue == CUE_RELEASE || st->cue == CUE_PAUSED)
                        return refuse(ret, "cannot tare while the tool is pressed");
                ret->kind = HUB_ACTION_TARE;
                return NULL;
        case MQTT_COMMAND_SELECT:
                p = config_find_protocol(st->config, cmd->protocol);
                if (!p)
                        return refuse(ret, "unknown protocol");
                *ret = (HubAction) { .kind = HUB_ACTION_SELECT, .protocol = p };
                return NULL;
        default:
                return refuse(ret, "unknown command");
        }
}
