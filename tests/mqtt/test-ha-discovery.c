/* SPDX-License-Identifier: MIT */
/* The Home Assistant discovery builders: ids in Home Assistant's alphabet, one document per
 * device with origin and components, availability, and telling this hub's documents from
 * another hub's. (The daemon test checks the documents as published against the schema.) */

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/ha-discovery.h"
#include "tap.h"

static const HaContext ctx = { .hub = "gym", .version = "9.9.9" };

/* FNV-1a 32-bit, from its definition: offset basis 2166136261, prime 16777619. */
static uint32_t fnv1a(const char *s) {
        uint32_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619u;
        return h;
}

static json_object *get(json_object *o, const char *path) {
        char buf[256], *save = NULL;

        snprintf(buf, sizeof buf, "%s", path);
        for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
                if (!json_object_object_get_ex(o, k, &o))
                        return NULL;
        return o;
}

static const char *gets(json_object *o, const char *path) {
        json_object *v = get(o, path);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static void test_object_id(void) {
        char *id = NULL, want[64];

        CHECK_EQ(ha_object_id((const char *const[]) { "tphub", "gym", "bench-1" }, 3, &id), 0);
        CHECK_STR(id, "tphub_gym_bench-1");
        free(id);
        /* ':' is outside the alphabet: replaced, and the original's hash appended. */
        CHECK_EQ(ha_object_id((const char *const[]) { "tphub", "gym", "AA:BB:CC:DD:EE:FF" }, 3, &id), 0);
        snprintf(want, sizeof want, "tphub_gym_AA_BB_CC_DD_EE_FF-%08" PRIx32, fnv1a("tphub_gym_AA:BB:CC:DD:EE:FF"));
        CHECK_STR(id, want);
        free(id);
        /* Two names that map to the same characters still get different ids. */
        char *a = NULL, *b = NULL;
        CHECK_EQ(ha_object_id((const char *const[]) { "x y" }, 1, &a), 0);
        CHECK_EQ(ha_object_id((const char *const[]) { "x/y" }, 1, &b), 0);
        CHECK(strcmp(a, b) != 0);
        CHECK(strncmp(a, "x_y-", 4) == 0 && strncmp(b, "x_y-", 4) == 0);
        free(a);
        free(b);
        CHECK_EQ(ha_object_id((const char *const[]) { "" }, 1, &a), -EINVAL);
}

/* Every component: a platform, a unique id "<device id>_<key>", a name. */
static void check_components(json_object *doc, const char *device_id, size_t want_n) {
        json_object *cmps = get(doc, "components");
        size_t n = 0;
        char uid[256];

        CHECK(cmps && json_object_is_type(cmps, json_type_object));
        json_object_object_foreach(cmps, key, comp) {
                snprintf(uid, sizeof uid, "%s_%s", device_id, key);
                CHECK(gets(comp, "platform"));
                CHECK_STR(gets(comp, "unique_id"), uid);
                CHECK(gets(comp, "name"));
                n++;
        }
        CHECK_EQ(n, want_n);
}

static void test_station(void) {
        const char *protocols[] = { "back-12", "ppt" }, *states[] = { "idle", "hold" }, *events[] = { "checkin" };
        HaStation s = { .name = "bench-1", .area = "Room 2", .protocols = protocols, .n_protocols = 2,
                        .states = states, .n_states = 2, .event_types = events, .n_event_types = 1 };
        HaContext c = ctx;
        char *topic = NULL, *payload = NULL;
        json_object *doc;

        c.dashboard_url = "http://hub.local:8080/";
        CHECK_EQ(ha_device_station(&c, &s, &topic, &payload), 0);
        CHECK_STR(topic, "homeassistant/device/tphub_gym_bench-1/config");
        doc = json_tokener_parse(payload);
        CHECK(doc);
        CHECK_STR(gets(doc, "origin.name"), "tphub");
        CHECK_STR(gets(doc, "origin.sw_version"), "9.9.9");
        CHECK_STR(json_object_get_string(json_object_array_get_idx(get(doc, "device.identifiers"), 0)),
                  "tphub_gym_bench-1");
        CHECK_STR(gets(doc, "device.via_device"), "tphub_gym");
        CHECK_STR(gets(doc, "device.suggested_area"), "Room 2");
        CHECK_STR(gets(doc, "device.configuration_url"), "http://hub.local:8080/athlete.html?hub=gym&station=bench-1");
        CHECK_STR(json_object_get_string(get(json_object_array_get_idx(get(doc, "availability"), 0), "topic")),
                  "tphub/gym/availability");
        /* state, point, remaining, last_session(_end), in_use, tool_connected, warning, events,
         * 4 buttons, protocol; not the athlete (private by default) */
        check_components(doc, "tphub_gym_bench-1", 14);
        CHECK(!get(doc, "components.athlete"));
        CHECK_STR(gets(doc, "components.stop.command_topic"), "tphub/gym/bench-1/cmd");
        CHECK_STR(gets(doc, "components.stop.payload_press"), "{\"cmd\":\"stop\"}");
        CHECK_STR(gets(doc, "components.protocol.platform"), "select");
        CHECK_EQ(json_object_array_length(get(doc, "components.protocol.options")), 2);
        CHECK_STR(gets(doc, "components.in_use.device_class"), "occupancy");
        CHECK_STR(gets(doc, "components.events.platform"), "event");
        json_object_put(doc);
        free(topic);
        free(payload);

        c.athlete = true;
        s.n_protocols = 0;
        CHECK_EQ(ha_device_station(&c, &s, &topic, &payload), 0);
        doc = json_tokener_parse(payload);
        /* + athlete, - protocol select */
        check_components(doc, "tphub_gym_bench-1", 14);
        CHECK_STR(gets(doc, "components.athlete.value_template"), "{{ value_json.athlete }}");
        CHECK(!get(doc, "components.protocol"));
        json_object_put(doc);
        free(topic);
        free(payload);
}

static void test_tool_and_ownership(void) {
        HaTool t = { .address = "C8:00:00:00:00:01", .driver = "progressor", .model = "Tindeq Progressor",
                     .station = "bench-1", .voltage = true };
        char *topic = NULL, *payload = NULL, *id = NULL;
        json_object *doc, *a;

        CHECK_EQ(ha_device_tool(&ctx, &t, &topic, &payload), 0);
        CHECK_EQ(ha_object_id((const char *const[]) { "tphub", "gym", t.address }, 3, &id), 0);
        doc = json_tokener_parse(payload);
        CHECK(doc);
        CHECK_STR(gets(doc, "device.via_device"), "tphub_gym_bench-1");
        CHECK_STR(json_object_get_string(json_object_array_get_idx(json_object_array_get_idx(get(doc, "device.connections"), 0), 1)),
                  "c8:00:00:00:00:01");
        check_components(doc, id, 4);
        CHECK_STR(gets(doc, "components.battery.device_class"), "voltage");
        /* Battery needs hub and link both up; "connected" only the hub. */
        a = get(doc, "components.battery.availability");
        CHECK_EQ(json_object_array_length(a), 2);
        CHECK_STR(gets(doc, "components.battery.availability_mode"), "all");
        CHECK_STR(json_object_get_string(get(json_object_array_get_idx(a, 1), "topic")),
                  "tphub/gym/tools/C8:00:00:00:00:01");
        CHECK_EQ(json_object_array_length(get(doc, "components.connected.availability")), 1);

        CHECK(ha_document_is_ours(&ctx, topic, payload, strlen(payload)));
        /* Hub "gym_2" is another hub, even though "tphub_gym_..." starts the same. */
        HaContext other = { .hub = "gym_2", .version = "1" };
        CHECK(!ha_document_is_ours(&other, topic, payload, strlen(payload)));
        CHECK(!ha_document_is_ours(&ctx, topic, "", 0));
        CHECK(!ha_document_is_ours(&ctx, "homeassistant/sensor/x/config", payload, strlen(payload)));
        CHECK(!ha_document_is_ours(&ctx, topic, "{not json", 9));
        json_object_put(doc);
        free(topic);
        free(payload);
        free(id);

        char want[32];
        CHECK_EQ(ha_opaque_tag_id(&ctx, "anna", &id), 0);
        snprintf(want, sizeof want, "tag-%08" PRIx32, fnv1a("gym/anna"));
        CHECK_STR(id, want);
        free(id);

        CHECK_EQ(ha_tag_scanner(&ctx, "bench-1", &topic, &payload), 0);
        CHECK_STR(topic, "homeassistant/tag/tphub_gym_bench-1/config");
        CHECK(ha_document_is_ours(&ctx, topic, payload, strlen(payload)));
        free(topic);
        free(payload);

        HaContext bad = { .hub = "gym", .discovery_prefix = "ha/#" };
        topic = payload = NULL;
        CHECK_EQ(ha_device_hub(&bad, &topic, &payload), -EINVAL);
        CHECK(!topic && !payload);
}

static const TapCase cases[] = {
        { "object ids", test_object_id },
        { "station device", test_station },
        { "tool device, ownership", test_tool_and_ownership },
};

TAP_MAIN(cases)
