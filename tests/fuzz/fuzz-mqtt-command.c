/* SPDX-License-Identifier: MIT */
/* libFuzzer target: MQTT command payloads are bytes from the network. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt-command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        MqttCommand c;
        const char *err = NULL;
        char *reply = NULL;
        int r;

        r = mqtt_command_parse(data, size, &c, &err);
        if (r == 0) {
                /* A parsed command is well-formed by construction. */
                if (!mqtt_command_verb_to_string(c.verb) || strlen(c.id) > MQTT_COMMAND_ID_MAX ||
                    strlen(c.athlete) > MQTT_COMMAND_NAME_MAX || strlen(c.protocol) > MQTT_COMMAND_NAME_MAX)
                        abort();
        } else if (r == -EINVAL && !err)
                abort();
        if (mqtt_command_reply_json(c.id, r == 0, err, &reply) == 0)
                free(reply);
        return 0;
}
