/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "mqtt/topics.h"
#include "test-util.h"

static void expect(int r, char **s, const char *want) {
        CHECK_EQ_INT(r, 0);
        CHECK_EQ_STR(*s, want);
        free(*s);
        *s = NULL;
}

int main(void) {
        char *s = NULL, *t = NULL, *p = NULL;

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
        CHECK_EQ_INT(topic_station(NULL, "hub1", "le/ft", TOPIC_STATION_STATE, &s), -EINVAL);
        CHECK_EQ_INT(topic_station(NULL, "hub1", "+", TOPIC_STATION_STATE, &s), -EINVAL);
        CHECK_EQ_INT(topic_station(NULL, "hub1", "tools", TOPIC_STATION_STATE, &s), -EINVAL);
        CHECK_EQ_INT(topic_station(NULL, "hub1", "", TOPIC_STATION_STATE, &s), -EINVAL);
        CHECK_EQ_INT(topic_station(NULL, "hub1", "x", _TOPIC_STATION_MAX, &s), -EINVAL);
        CHECK_EQ_INT(topic_status(NULL, "h#", &s), -EINVAL);
        CHECK_EQ_INT(topic_status("a//b", "h", &s), -EINVAL);
        CHECK_EQ_INT(topic_status("/a", "h", &s), -EINVAL);
        CHECK_EQ_INT(topic_status("$SYS", "h", &s), -EINVAL);
        CHECK_EQ_INT(topic_tool(NULL, "hub1", "a/b", &s), -EINVAL);
        CHECK(!s);

        expect(topic_parse_cmd(NULL, "hub1", "tphub/hub1/left/cmd", &s), &s, "left");
        expect(topic_parse_cmd("site/a", "hub1", "site/a/hub1/right/cmd", &s), &s, "right");
        CHECK_EQ_INT(topic_parse_cmd(NULL, "hub1", "tphub/hub1/left/cmd/reply", &s), -EINVAL);
        CHECK_EQ_INT(topic_parse_cmd(NULL, "hub1", "tphub/hub2/left/cmd", &s), -EINVAL);
        CHECK_EQ_INT(topic_parse_cmd(NULL, "hub1", "tphub/hub1//cmd", &s), -EINVAL);
        CHECK_EQ_INT(topic_parse_cmd(NULL, "hub1", "tphub/hub1/tools/cmd", &s), -EINVAL);
        CHECK_EQ_INT(topic_parse_cmd(NULL, "hub1", "tphub/hub1/cmd", &s), -EINVAL);
        CHECK_EQ_INT(topic_parse_cmd(NULL, "hub", "tphub/hub1/left/cmd", &s), -EINVAL);
        CHECK(!s);

        HaDiscovery d = { .hub = "hub1", .version = "0.1.0" };
        CHECK_EQ_INT(ha_discovery_station(&d, "left", &t, &p), 0);
        CHECK_EQ_STR(t, "homeassistant/sensor/hub1_left_state/config");
        CHECK_EQ_STR(p,
                     "{\"name\":\"left state\",\"unique_id\":\"hub1_left_state\",\"object_id\":\"hub1_left_state\","
                     "\"state_topic\":\"tphub/hub1/left/state\",\"availability_topic\":\"tphub/hub1/status\","
                     "\"availability_template\":\"{{ value_json.state }}\",\"payload_available\":\"online\","
                     "\"payload_not_available\":\"offline\",\"device\":{\"identifiers\":[\"tphub_hub1\"],"
                     "\"name\":\"tphub hub1\",\"manufacturer\":\"tphub\",\"model\":\"tphub trigger-point station hub\","
                     "\"sw_version\":\"0.1.0\"},\"value_template\":\"{{ value_json.state }}\","
                     "\"json_attributes_topic\":\"tphub/hub1/left/state\",\"icon\":\"mdi:human-handsdown\"}");
        free(t);
        free(p);

        CHECK_EQ_INT(ha_discovery_tool_battery(&d, "AA:BB:CC:DD:EE:FF", "P1", &t, &p), 0);
        CHECK_EQ_STR(t, "homeassistant/sensor/hub1_AA_BB_CC_DD_EE_FF_battery/config");
        CHECK(strstr(p, "\"name\":\"P1 battery\""));
        CHECK(strstr(p, "\"state_topic\":\"tphub/hub1/tools/AA:BB:CC:DD:EE:FF\""));
        CHECK(strstr(p, "\"value_template\":\"{{ value_json.battery }}\""));
        CHECK(strstr(p, "\"device_class\":\"battery\",\"unit_of_measurement\":\"%\""));
        free(t);
        free(p);

        d.discovery_prefix = "ha#";
        t = p = NULL;
        CHECK_EQ_INT(ha_discovery_station(&d, "left", &t, &p), -EINVAL);
        CHECK(!t && !p);
        return 0;
}
