/* SPDX-License-Identifier: MIT */
/* A force batch's text (docs/mqtt.md, `force`), read back with json-c: every field as
 * documented, the samples at 0.1 N, the interval at 0.01 ms, null for what JSON cannot
 * hold, and the worst case within FORCE_JSON_SIZE. */

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "hub/force-json.h"
#include "tap.h"

static const char *T = "2026-11-18T11:08:01.500Z";

static void test_fields(void) {
        const float s[] = { 61.84f, 61.85f, 62.0f, -0.04f, -3.25f, 0.0f, 1234.56f, 299.96f };
        const size_t n = sizeof s / sizeof s[0];
        char buf[FORCE_JSON_SIZE(8)];
        json_object *o, *v, *a;
        int r = force_json_format(buf, sizeof buf, 1042, T, 12.5049, s, n);

        CHECK(r > 0 && (size_t) r == strlen(buf));
        o = json_tokener_parse(buf);
        CHECK(o && json_object_is_type(o, json_type_object));
        CHECK_EQ(json_object_object_length(o), 4);
        CHECK(json_object_object_get_ex(o, "seq", &v) && json_object_is_type(v, json_type_int));
        CHECK_EQ(json_object_get_int64(v), 1042);
        CHECK(json_object_object_get_ex(o, "t", &v));
        CHECK_STR(json_object_get_string(v), T);
        CHECK(json_object_object_get_ex(o, "dt_ms", &v) && json_object_is_type(v, json_type_double));
        CHECK(json_object_get_double(v) == round(12.5049 * 100) / 100);
        CHECK(json_object_object_get_ex(o, "force_n", &a) && json_object_is_type(a, json_type_array));
        CHECK_EQ(json_object_array_length(a), n);
        for (size_t i = 0; i < n; i++) {
                double want = round((double) s[i] * 10) / 10;
                v = json_object_array_get_idx(a, i);
                TAP_EXPECT(v && json_object_get_double(v) == want, "sample %zu: %s, want %.1f", i,
                           json_object_to_json_string(v), want);
        }
        json_object_put(o);
        /* the text itself: no exponent, no 17-digit noise, one decimal (61.85f is 61.8499985) */
        CHECK(strstr(buf, "\"force_n\":[61.8,61.8,62.0,0.0,-3.3,0.0,1234.6,300.0]}"));
}

static void test_not_numbers(void) {
        const float s[] = { 1.0f, NAN, INFINITY, -INFINITY, 3.4e38f, 2.0f };
        char buf[FORCE_JSON_SIZE(6)];
        json_object *o;

        CHECK(force_json_format(buf, sizeof buf, 0, T, NAN, s, 6) > 0);
        CHECK_STR(buf, "{\"seq\":0,\"t\":\"2026-11-18T11:08:01.500Z\",\"dt_ms\":null,"
                       "\"force_n\":[1.0,null,null,null,null,2.0]}");
        CHECK((o = json_tokener_parse(buf)));
        json_object_put(o);
}

static void test_sizes(void) {
        float s[128];
        static char buf[FORCE_JSON_SIZE(128)];
        json_object *o, *a;

        /* the longest numbers accepted, the largest seq, the longest t */
        for (size_t i = 0; i < 128; i++)
                s[i] = -99999997952.0f;   /* a float just under the range, as long as a sample gets */
        CHECK(force_json_format(buf, sizeof buf, UINT64_MAX, "2026-11-18T11:08:01.5000000000Z", -9999999999999.99,
                                s, 128) > 0);
        CHECK(strlen(buf) < sizeof buf);
        CHECK((o = json_tokener_parse(buf)));
        CHECK(json_object_object_get_ex(o, "force_n", &a) && json_object_array_length(a) == 128);
        json_object_put(o);
        CHECK_EQ(force_json_format(buf, FORCE_JSON_SIZE(128) - 1, 1, T, 12.5, s, 128), -ENOBUFS);
        CHECK_EQ(force_json_format(buf, sizeof buf, 1, NULL, 12.5, s, 1), -EINVAL);
        CHECK_EQ(force_json_format(buf, sizeof buf, 1, "2026-11-18T11:08:01.500000000000000000Z", 12.5, s, 1), -EINVAL);
        /* an empty batch is still a document (the hub never sends one) */
        CHECK(force_json_format(buf, sizeof buf, 7, T, 12.5, NULL, 0) > 0);
        CHECK_STR(buf, "{\"seq\":7,\"t\":\"2026-11-18T11:08:01.500Z\",\"dt_ms\":12.50,\"force_n\":[]}");
}

static const TapCase cases[] = {
        { "every field as documented", test_fields },
        { "NaN, infinities, out of range: null", test_not_numbers },
        { "the worst case fits, a short buffer is refused", test_sizes },
};

TAP_MAIN(cases)
