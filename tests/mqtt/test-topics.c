/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "mqtt/topics.h"
#include "tap.h"

static void expect(int r, char **s, const char *want) {
        CHECK_EQ(r, 0);
        CHECK_STR(*s, want);
        free(*s);
        *s = NULL;
}

static void test_topics(void) {
        char *s = NULL;

        expect(topic_status(NULL, "hub1", &s), &s, "tphub/hub1/status");
        expect(topic_status("site/a", "hub1", &s), &s, "site/a/hub1/status");
        expect(topic_station(NULL, "hub1", "left", TOPIC_STATION_STATE, &s), &s, "tphub/hub1/left/state");
        expect(topic_station(NULL, "hub1", "left", TOPIC_STATION_SESSION, &s), &s, "tphub/hub1/left/session");
        expect(topic_station(NULL, "hub1", "left", TOPIC_STATION_EVENT, &s), &s, "tphub/hub1/left/event");
        expect(topic_station(NULL, "hub1", "left", TOPIC_STATION_FORCE, &s), &s, "tphub/hub1/left/force");
        expect(topic_station(NULL, "hub1", "left", TOPIC_STATION_CMD, &s), &s, "tphub/hub1/left/cmd");
        expect(topic_station(NULL, "hub1", "left", TOPIC_STATION_CMD_REPLY, &s), &s, "tphub/hub1/left/cmd/reply");
        expect(topic_tool(NULL, "hub1", "AA:BB:CC:DD:EE:FF", &s), &s, "tphub/hub1/tools/AA:BB:CC:DD:EE:FF");
        expect(topic_cmd_filter(NULL, "hub1", &s), &s, "tphub/hub1/+/cmd");

        s = NULL;
        CHECK_EQ(topic_station(NULL, "hub1", "le/ft", TOPIC_STATION_STATE, &s), -EINVAL);
        CHECK_EQ(topic_station(NULL, "hub1", "+", TOPIC_STATION_STATE, &s), -EINVAL);
        CHECK_EQ(topic_station(NULL, "hub1", "tools", TOPIC_STATION_STATE, &s), -EINVAL);
        CHECK_EQ(topic_station(NULL, "hub1", "", TOPIC_STATION_STATE, &s), -EINVAL);
        CHECK_EQ(topic_station(NULL, "hub1", "x", _TOPIC_STATION_MAX, &s), -EINVAL);
        CHECK_EQ(topic_status(NULL, "h#", &s), -EINVAL);
        CHECK_EQ(topic_status("a//b", "h", &s), -EINVAL);
        CHECK_EQ(topic_status("/a", "h", &s), -EINVAL);
        CHECK_EQ(topic_status("$SYS", "h", &s), -EINVAL);
        CHECK_EQ(topic_tool(NULL, "hub1", "a/b", &s), -EINVAL);
        CHECK(!s);

        expect(topic_parse_cmd(NULL, "hub1", "tphub/hub1/left/cmd", &s), &s, "left");
        expect(topic_parse_cmd("site/a", "hub1", "site/a/hub1/right/cmd", &s), &s, "right");
        CHECK_EQ(topic_parse_cmd(NULL, "hub1", "tphub/hub1/left/cmd/reply", &s), -EINVAL);
        CHECK_EQ(topic_parse_cmd(NULL, "hub1", "tphub/hub2/left/cmd", &s), -EINVAL);
        CHECK_EQ(topic_parse_cmd(NULL, "hub1", "tphub/hub1//cmd", &s), -EINVAL);
        CHECK_EQ(topic_parse_cmd(NULL, "hub1", "tphub/hub1/tools/cmd", &s), -EINVAL);
        CHECK_EQ(topic_parse_cmd(NULL, "hub1", "tphub/hub1/cmd", &s), -EINVAL);
        CHECK_EQ(topic_parse_cmd(NULL, "hub", "tphub/hub1/left/cmd", &s), -EINVAL);
        CHECK(!s);

        expect(topic_hub(NULL, "hub1", TOPIC_HUB_AVAILABILITY, &s), &s, "tphub/hub1/availability");
        expect(topic_hub("site/a", "hub1", TOPIC_HUB_META, &s), &s, "site/a/hub1/meta");
        expect(topic_hub(NULL, "hub1", TOPIC_HUB_SYSINFO, &s), &s, "tphub/hub1/sysinfo");
        expect(topic_station(NULL, "hub1", "left", TOPIC_STATION_LAST_SESSION, &s), &s, "tphub/hub1/left/last_session");
        expect(topic_station(NULL, "hub1", "left", TOPIC_STATION_TAG, &s), &s, "tphub/hub1/left/tag");
        CHECK_EQ(topic_hub(NULL, "hub1", _TOPIC_HUB_MAX, &s), -EINVAL);
        /* Every hub-level name is reserved, so no station topic can shadow one. */
        const char *reserved[] = { "tools", "status", "availability", "meta", "sysinfo" };
        for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
                CHECK(topic_station_name_reserved(reserved[i]));
                CHECK_EQ(topic_station(NULL, "hub1", reserved[i], TOPIC_STATION_STATE, &s), -EINVAL);
        }
        CHECK(!topic_station_name_reserved("bench-1"));
        CHECK(!topic_station_name_reserved("Status"));
        CHECK(!s);
}

static const TapCase cases[] = {
        { "topics", test_topics },
};

TAP_MAIN(cases)
