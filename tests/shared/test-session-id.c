/* SPDX-License-Identifier: MIT */
/* A session id has one definition (shared/session-id.h): the commands that name a session
 * (resend, sessions_since's cursor) and the hub's archive must give the verdict it gives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mqtt/mqtt-command.h"
#include "shared/macro.h"
#include "shared/session-id.h"
#include "store/archive.h"
#include "tap.h"

static const struct {
        const char *id;
        bool valid;
} ids[] = {
        { "0123456789abcdef0123456789abcdef", true },
        { "ffffffffffffffffffffffffffffffff", true },
        { "0123456789ABCDEF0123456789abcdef", false },   /* upper case: not how ids are made */
        { "0123456789abcdef0123456789abcde", false },    /* 31 digits */
        { "0123456789abcdef0123456789abcdef0", false },  /* 33 */
        { "0123456789abcdef-123456789abcdef", false },
        { "0123456789abcdef0123456789abcdeg", false },
        { "", false },
        { "../../../../etc/passwd", false },
        { "0123456789abcdef 123456789abcdef", false },
};

static void test_definition(void) {
        CHECK(!session_id_valid(NULL));
        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                TAP_EXPECT(session_id_valid(ids[i].id) == ids[i].valid, "\"%s\"", ids[i].id);
}

static void test_commands(void) {
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                _cleanup_free_ char *resend = NULL, *since = NULL;
                MqttCommand c;
                const char *error = NULL;

                CHECK(asprintf(&resend, "{\"cmd\":\"resend\",\"id\":\"r%zu\",\"session\":\"%s\"}", i, ids[i].id) > 0);
                CHECK(asprintf(&since, "{\"cmd\":\"sessions_since\",\"id\":\"s%zu\",\"since\":\"2026-01-01T00:00:00Z\","
                               "\"after\":\"%s\"}", i, ids[i].id) > 0);
                int r = mqtt_command_parse(resend, strlen(resend), &c, &error);
                TAP_EXPECT((r >= 0) == ids[i].valid, "resend \"%s\": %d %s", ids[i].id, r, error ?: "");
                if (r >= 0)
                        CHECK_STR(c.session, ids[i].id);
                r = mqtt_command_parse(since, strlen(since), &c, &error);
                TAP_EXPECT((r >= 0) == ids[i].valid, "sessions_since after \"%s\": %d %s", ids[i].id, r, error ?: "");
        }
}

static void test_archive(void) {
        char dir[] = "/tmp/tphub-session-id-XXXXXX";
        _cleanup_(archive_freep) Archive *a = NULL;

        CHECK(mkdtemp(dir));
        CHECK_OK(archive_open(&a, dir, 100, 0));
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                int r = archive_add(a, 1000 + (int64_t) i, ids[i].id, "t/h/s/session", "{}");
                TAP_EXPECT(ids[i].valid ? r >= 0 : r == -EINVAL, "archive_add \"%s\": %d", ids[i].id, r);
        }
        a = archive_free(a);
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        CHECK_EQ(system(cmd), 0);
}

static const TapCase cases[] = {
        { "one definition", test_definition },
        { "commands give its verdict", test_commands },
        { "the archive gives its verdict", test_archive },
};

TAP_MAIN(cases)
