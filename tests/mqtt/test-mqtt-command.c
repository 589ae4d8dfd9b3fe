/* SPDX-License-Identifier: MIT */
/* Command parsing: valid commands and every refusal, with its exact message. */
#include <string.h>

#include "mqtt/mqtt-command.h"
#include "test-util.h"

static void ok(const char *payload, MqttCommandVerb verb, const char *id, const char *athlete, const char *protocol) {
        MqttCommand c;
        const char *err = NULL;

        if (mqtt_command_parse(payload, strlen(payload), &c, &err) != 0) {
                fprintf(stderr, "refused %s: %s\n", payload, err);
                abort();
        }
        CHECK_EQ_INT(c.verb, verb);
        CHECK_EQ_STR(c.id, id);
        CHECK_EQ_STR(c.athlete, athlete);
        CHECK_EQ_STR(c.protocol, protocol);
}

static void bad_len(const char *payload, size_t len, const char *error, const char *id) {
        MqttCommand c;
        const char *err = NULL;

        CHECK_EQ_INT(mqtt_command_parse(payload, len, &c, &err), -EINVAL);
        CHECK_EQ_STR(err, error);
        CHECK_EQ_STR(c.id, id);
        CHECK_EQ_INT(c.verb, _MQTT_COMMAND_INVALID);
}

static void bad(const char *payload, const char *error, const char *id) {
        bad_len(payload, strlen(payload), error, id);
}

int main(void) {
        char *reply = NULL;

        ok("{\"cmd\":\"start\",\"athlete\":\"anna\",\"protocol\":\"back-12\",\"id\":\"r1\"}",
           MQTT_COMMAND_START, "r1", "anna", "back-12");
        ok("{\"cmd\":\"start\"}", MQTT_COMMAND_START, "", "", "");
        ok(" {\"cmd\":\"stop\",\"id\":\"x-2\"}\n", MQTT_COMMAND_STOP, "x-2", "", "");
        ok("{\"cmd\":\"skip\",\"id\":\"3\"}", MQTT_COMMAND_SKIP, "3", "", "");
        ok("{\"id\":\"t\",\"cmd\":\"tare\"}", MQTT_COMMAND_TARE, "t", "", "");
        ok("{\"cmd\":\"start\",\"athlete\":\"A.b_c-9\"}", MQTT_COMMAND_START, "", "A.b_c-9", "");
        ok("{\"cmd\":\"select\",\"protocol\":\"ppt\",\"id\":\"s2\"}", MQTT_COMMAND_SELECT, "s2", "", "ppt");
        CHECK_EQ_STR(mqtt_command_verb_to_string(MQTT_COMMAND_SELECT), "select");
        CHECK_EQ_STR(mqtt_command_verb_to_string(MQTT_COMMAND_TARE), "tare");
        CHECK(!mqtt_command_verb_to_string(_MQTT_COMMAND_MAX));

        bad("", "empty payload", "");
        bad("{\"cmd\":", "invalid JSON", "");
        bad("{'cmd':'stop'}", "invalid JSON", "");
        bad("{\"cmd\":\"stop\",}", "invalid JSON", "");
        bad("not json", "payload must be a JSON object", "");
        bad("   ", "invalid JSON", "");
        bad("{\"cmd\":\"stop\"} x", "trailing data after JSON", "");
        bad("{\"cmd\":\"stop\"}{}", "trailing data after JSON", "");
        bad("[\"stop\"]", "payload must be a JSON object", "");
        bad("\"stop\"", "payload must be a JSON object", "");
        bad("42", "payload must be a JSON object", "");
        bad("null", "payload must be a JSON object", "");
        bad("{}", "missing \"cmd\"", "");
        bad("{\"id\":\"r9\"}", "missing \"cmd\"", "r9");
        bad("{\"cmd\":1,\"id\":\"r3\"}", "\"cmd\" must be a string", "r3");
        bad("{\"cmd\":null}", "\"cmd\" must be a string", "");
        bad("{\"cmd\":[\"stop\"]}", "\"cmd\" must be a string", "");
        bad("{\"cmd\":\"launch\",\"id\":\"r4\"}", "unknown command", "r4");
        bad("{\"cmd\":\"STOP\"}", "unknown command", "");
        bad("{\"cmd\":\"stop\",\"force\":true,\"id\":\"r5\"}", "unknown key", "r5");
        bad("{\"cmd\":\"stop\",\"id\":5}", "\"id\" must be a string", "");
        bad("{\"cmd\":\"stop\",\"id\":\"\"}", "\"id\" must be 1-64 printable ASCII characters", "");
        bad("{\"cmd\":\"stop\",\"id\":\"a b\"}", "\"id\" must be 1-64 printable ASCII characters", "");
        bad("{\"cmd\":\"stop\",\"id\":\"0123456789012345678901234567890123456789012345678901234567890123X\"}",
            "\"id\" must be 1-64 printable ASCII characters", "");
        bad("{\"cmd\":\"stop\",\"id\":\"a\\u0000b\"}", "\"id\" must be 1-64 printable ASCII characters", "");
        bad("{\"cmd\":\"start\",\"athlete\":7,\"id\":\"r6\"}", "\"athlete\" must be a string", "r6");
        bad("{\"cmd\":\"start\",\"athlete\":\"\"}", "\"athlete\" must be 1-64 characters of [A-Za-z0-9_.-]", "");
        bad("{\"cmd\":\"start\",\"athlete\":\"an/na\"}", "\"athlete\" must be 1-64 characters of [A-Za-z0-9_.-]", "");
        bad("{\"cmd\":\"start\",\"athlete\":\"\xc3\xa4nna\"}", "\"athlete\" must be 1-64 characters of [A-Za-z0-9_.-]", "");
        bad("{\"cmd\":\"start\",\"protocol\":{}}", "\"protocol\" must be a string", "");
        bad("{\"cmd\":\"start\",\"protocol\":\"back 12\"}", "\"protocol\" must be 1-64 characters of [A-Za-z0-9_.-]", "");
        bad("{\"cmd\":\"stop\",\"athlete\":\"anna\",\"id\":\"r7\"}", "\"athlete\" is only valid with \"start\"", "r7");
        bad("{\"cmd\":\"tare\",\"protocol\":\"p\"}", "\"protocol\" is only valid with \"start\" or \"select\"", "");
        bad("{\"cmd\":\"select\",\"id\":\"s1\"}", "\"select\" needs \"protocol\"", "s1");
        bad("{\"cmd\":\"select\",\"protocol\":\"ppt\",\"athlete\":\"anna\"}", "\"athlete\" is only valid with \"start\"", "");
        bad("{\"cmd\":\"stop\",\"x\":\"\xff\"}", "invalid JSON", "");
        bad_len("{\"cmd\":\"stop\"}\0", 15, "payload contains a NUL byte", "");

        /* Huge payloads: refused before parsing. */
        size_t n = MQTT_COMMAND_MAX_PAYLOAD + 1;
        char *big = malloc(n + 1);
        CHECK(big);
        memset(big, ' ', n);
        memcpy(big, "{\"cmd\":\"stop\"}", 14);
        big[n] = 0;
        bad(big, "payload too large (max 4096 bytes)", "");
        big[n - 1] = 0;   /* exactly 4096, padded with spaces: fine */
        ok(big, MQTT_COMMAND_STOP, "", "", "");
        free(big);

        /* Deep nesting hits the tokener's depth limit, not the stack. */
        char deep[600] = "{\"cmd\":\"stop\",\"id\":";
        size_t k = strlen(deep);
        for (int i = 0; i < 200; i++)
                deep[k++] = '[';
        deep[k] = 0;
        bad(deep, "JSON nested too deeply", "");

        CHECK(mqtt_command_reply_json("r1", true, NULL, &reply) == 0);
        CHECK_EQ_STR(reply, "{\"id\":\"r1\",\"ok\":true}");
        free(reply);
        CHECK(mqtt_command_reply_json("r2", false, "unknown command", &reply) == 0);
        CHECK_EQ_STR(reply, "{\"id\":\"r2\",\"ok\":false,\"error\":\"unknown command\"}");
        free(reply);
        CHECK(mqtt_command_reply_json(NULL, false, "say \"hi\"/", &reply) == 0);
        CHECK_EQ_STR(reply, "{\"ok\":false,\"error\":\"say \\\"hi\\\"/\"}");
        free(reply);
        return 0;
}
