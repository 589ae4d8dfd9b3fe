/* SPDX-License-Identifier: MIT */
/* Command parsing: valid commands and every refusal, with its exact message. */
#include <errno.h>
#include <string.h>

#include "mqtt/mqtt-command.h"
#include "tap.h"

static void ok(const char *payload, MqttCommandVerb verb, const char *id, const char *athlete, const char *protocol) {
        MqttCommand c;
        const char *err = NULL;

        if (mqtt_command_parse(payload, strlen(payload), &c, &err) != 0) {
                fprintf(stderr, "refused %s: %s\n", payload, err);
                abort();
        }
        CHECK_EQ(c.verb, verb);
        CHECK_STR(c.id, id);
        CHECK_STR(c.athlete, athlete);
        CHECK_STR(c.protocol, protocol);
}

static void bad_len(const char *payload, size_t len, const char *error, const char *id) {
        MqttCommand c;
        const char *err = NULL;

        CHECK_EQ(mqtt_command_parse(payload, len, &c, &err), -EINVAL);
        CHECK_STR(err, error);
        CHECK_STR(c.id, id);
        CHECK_EQ(c.verb, _MQTT_COMMAND_INVALID);
}

static void bad(const char *payload, const char *error, const char *id) {
        bad_len(payload, strlen(payload), error, id);
}

static void test_commands(void) {
        char *reply = NULL;

        ok("{\"cmd\":\"start\",\"athlete\":\"anna\",\"protocol\":\"back-12\",\"id\":\"r1\"}",
           MQTT_COMMAND_START, "r1", "anna", "back-12");
        ok("{\"cmd\":\"start\"}", MQTT_COMMAND_START, "", "", "");
        ok(" {\"cmd\":\"stop\",\"id\":\"x-2\"}\n", MQTT_COMMAND_STOP, "x-2", "", "");
        ok("{\"cmd\":\"skip\",\"id\":\"3\"}", MQTT_COMMAND_SKIP, "3", "", "");
        ok("{\"id\":\"t\",\"cmd\":\"tare\"}", MQTT_COMMAND_TARE, "t", "", "");
        ok("{\"cmd\":\"start\",\"athlete\":\"A.b_c-9\"}", MQTT_COMMAND_START, "", "A.b_c-9", "");
        ok("{\"cmd\":\"select\",\"protocol\":\"ppt\",\"id\":\"s2\"}", MQTT_COMMAND_SELECT, "s2", "", "ppt");
        CHECK_STR(mqtt_command_verb_to_string(MQTT_COMMAND_SELECT), "select");
        CHECK_STR(mqtt_command_verb_to_string(MQTT_COMMAND_TARE), "tare");
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

        /* The archive commands (hub-wide, on any station's cmd topic). */
        {
                MqttCommand c;
                const char *err = NULL;
                const char *p = "{\"cmd\":\"sessions_since\",\"since\":\"2026-11-18T11:06:40.250Z\","
                                "\"after\":\"3f0c2b5e9a1d4c7e8b6a5f4e3d2c1b0a\",\"id\":\"q1\"}";
                CHECK_EQ(mqtt_command_parse(p, strlen(p), &c, &err), 0);
                CHECK_EQ(c.verb, MQTT_COMMAND_SESSIONS_SINCE);
                /* 2026-11-18T11:06:40.250Z = 20775 days + 11:06:40.250 after the epoch */
                CHECK_EQ(c.since_ms, (20775LL * 86400 + 11 * 3600 + 6 * 60 + 40) * 1000 + 250);
                CHECK_STR(c.after, "3f0c2b5e9a1d4c7e8b6a5f4e3d2c1b0a");
                p = "{\"cmd\":\"resend\",\"session\":\"3f0c2b5e9a1d4c7e8b6a5f4e3d2c1b0a\"}";
                CHECK_EQ(mqtt_command_parse(p, strlen(p), &c, &err), 0);
                CHECK_EQ(c.verb, MQTT_COMMAND_RESEND);
                CHECK_STR(c.session, "3f0c2b5e9a1d4c7e8b6a5f4e3d2c1b0a");
                CHECK_STR(mqtt_command_verb_to_string(MQTT_COMMAND_SESSIONS_SINCE), "sessions_since");
        }
        bad("{\"cmd\":\"sessions_since\",\"id\":\"q\"}", "\"sessions_since\" needs \"since\"", "q");
        bad("{\"cmd\":\"sessions_since\",\"since\":1}", "\"since\" must be a string", "");
        bad("{\"cmd\":\"sessions_since\",\"since\":\"yesterday\"}", "\"since\" must be an ISO 8601 UTC time", "");
        bad("{\"cmd\":\"sessions_since\",\"since\":\"2026-02-30T00:00:00Z\"}", "\"since\" must be an ISO 8601 UTC time", "");
        bad("{\"cmd\":\"sessions_since\",\"since\":\"2026-01-01T00:00:00Z\",\"after\":\"x\"}",
            "\"after\" must be a session id (32 hex digits)", "");
        bad("{\"cmd\":\"resend\"}", "\"resend\" needs \"session\"", "");
        bad("{\"cmd\":\"resend\",\"session\":\"3F0C2B5E9A1D4C7E8B6A5F4E3D2C1B0A\"}",
            "\"session\" must be a session id (32 hex digits)", "");
        bad("{\"cmd\":\"resend\",\"session\":\"x'; DROP TABLE sessions\"}", "\"session\" must be a session id (32 hex digits)", "");
        bad("{\"cmd\":\"start\",\"since\":\"2026-01-01T00:00:00Z\"}", "\"since\" is only valid with \"sessions_since\"", "");
        bad("{\"cmd\":\"stop\",\"session\":\"3f0c2b5e9a1d4c7e8b6a5f4e3d2c1b0a\"}", "\"session\" is only valid with \"resend\"", "");
        bad("{\"cmd\":\"resend\",\"after\":\"3f0c2b5e9a1d4c7e8b6a5f4e3d2c1b0a\"}", "\"after\" is only valid with \"sessions_since\"", "");
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
        CHECK_STR(reply, "{\"id\":\"r1\",\"ok\":true}");
        free(reply);
        CHECK(mqtt_command_reply_json("r2", false, "unknown command", &reply) == 0);
        CHECK_STR(reply, "{\"id\":\"r2\",\"ok\":false,\"error\":\"unknown command\"}");
        free(reply);
        CHECK(mqtt_command_reply_json(NULL, false, "say \"hi\"/", &reply) == 0);
        CHECK_STR(reply, "{\"ok\":false,\"error\":\"say \\\"hi\\\"/\"}");
        free(reply);
}

static const TapCase cases[] = {
        { "commands", test_commands },
};

TAP_MAIN(cases)
