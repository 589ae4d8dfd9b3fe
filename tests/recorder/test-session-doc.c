/* SPDX-License-Identifier: MIT */
/* The recorder's session-document parser: what a hub sends is accepted field for field, and
 * anything malformed or hostile is refused with the documented reason. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "doc-builder.h"
#include "recorder/session-doc.h"
#include "tap.h"

static const TestSession base = {
        .id = "3f0c2b5e9a1d4c7e8b6a5f4e3d2c1b0a", .athlete = "anna", .started_ms = 1795000000000LL,
        .duration_ms = 458400, .n_steps = 2,
        .steps = {
                { .point = "back-01", .side = "right", .target_hold_ms = 7000, .n_reps = 2,
                  .reps = { { "completed", 8238, 2888, 62.3, 66.1, -1 }, { "early_release", 3000, -1, 40.5, 50, -1 } } },
                { .point = "ppt-01", .side = "left", .kind = "measure", .target_hold_ms = 0, .n_reps = 1,
                  .reps = { { "completed", -1, 900, -1, 48.0, 45.5 } } },
        },
};

static void test_accepts_hub_document(void) {
        char *json = test_session_json(&base);
        SessionDoc *d = NULL;
        const char *err = NULL;

        CHECK_EQ(session_doc_parse(json, strlen(json), &d, &err), 0);
        CHECK_STR(d->id, base.id);
        CHECK_STR(d->hub, "gym-north");
        CHECK_STR(d->station, "bench-1");
        CHECK_STR(d->athlete, "anna");
        CHECK_STR(d->protocol, "back-12");
        CHECK_STR(d->status, "completed");
        CHECK_EQ(d->started_at_ms, base.started_ms);
        CHECK(d->ended_at_ms.has);
        CHECK_EQ(d->ended_at_ms.v, base.started_ms + base.duration_ms);
        CHECK_EQ(d->duration_ms.v, base.duration_ms);
        CHECK_EQ(d->n_reps, 3);
        CHECK_STR(d->reps[0].point, "back-01");
        CHECK_STR(d->reps[0].side, "right");
        CHECK_EQ(d->reps[0].hold_ms.v, 8238);
        CHECK_EQ(d->reps[0].release_ms.v, 2888);
        CHECK_NEAR(d->reps[0].force_mean_n.v, 62.3, 1e-9);
        CHECK_EQ(d->reps[1].rep, 1);
        CHECK_STR(d->reps[1].outcome, "early_release");
        CHECK(!d->reps[1].release_ms.has);
        CHECK_EQ(d->reps[2].step, 1);
        CHECK_STR(d->reps[2].kind, "measure");
        CHECK(!d->reps[2].hold_ms.has);
        CHECK_NEAR(d->reps[2].threshold_n.v, 45.5, 1e-9);
        CHECK_EQ(d->reps[2].target_hold_ms.v, 0);
        /* The stored document is the same JSON (json-c keeps key order). */
        CHECK_STR(d->canonical, json);
        session_doc_free(d);
        free(json);
}

static void test_anonymous_and_extra_fields(void) {
        TestSession t = base;
        t.athlete = NULL;
        char *json = test_session_json(&t), *more;
        SessionDoc *d = NULL;
        const char *err = NULL;

        /* A field added by a later hub version is kept, not refused. */
        CHECK(asprintf(&more, "%.*s,\"future\":{\"x\":1}}", (int) strlen(json) - 1, json) > 0);
        CHECK_EQ(session_doc_parse(more, strlen(more), &d, &err), 0);
        CHECK(d->athlete == NULL);
        CHECK(strstr(d->canonical, "\"future\":{\"x\":1}"));
        session_doc_free(d);
        free(more);
        free(json);
}

/* Replaces the first occurrence of from with to in the base document and expects refusal. */
static const char *refusal(const TestSession *t, const char *from, const char *to) {
        char *json = test_session_json(t), *p, *mod;
        SessionDoc *d = NULL;
        const char *err = NULL;
        int r;

        p = from ? strstr(json, from) : NULL;
        if (from && !p) {
                free(json);
                return "test bug: pattern not found";
        }
        if (from) {
                if (asprintf(&mod, "%.*s%s%s", (int) (p - json), json, to, p + strlen(from)) < 0)
                        abort();
        } else
                mod = strdup(to);
        r = session_doc_parse(mod, strlen(mod), &d, &err);
        free(mod);
        free(json);
        if (r == 0) {
                session_doc_free(d);
                return NULL;
        }
        return r == -EINVAL ? err : "wrong error code";
}

#define REFUSED(from, to, msg) CHECK_STR(refusal(&base, from, to), msg)

static void test_refuses_bad_json(void) {
        REFUSED(NULL, "", "empty document");
        REFUSED(NULL, "not json", "invalid JSON");
        REFUSED(NULL, "[1,2]", "document must be a JSON object");
        REFUSED(NULL, "{\"id\":'x'}", "invalid JSON");
        REFUSED("\"steps\":[", "\"steps\":[,", "invalid JSON");
        REFUSED(NULL, "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", "JSON nested too deeply");
        REFUSED("}", "} trailing", "invalid JSON");
        REFUSED("anna", "an\xff\xfe", "invalid JSON");   /* not UTF-8 */
        SessionDoc *d = NULL;
        const char *err = NULL;
        CHECK_EQ(session_doc_parse("{}", 0, &d, &err), -EINVAL);
        CHECK_STR(err, "empty document");
        CHECK_EQ(session_doc_parse("{\"id\":\"a\0b\"}", 12, &d, &err), -EINVAL);
        CHECK_STR(err, "document contains a NUL byte");
}

static void test_refuses_wrong_types(void) {
        REFUSED("\"3f0c2b5e9a1d4c7e8b6a5f4e3d2c1b0a\"", "42", "\"id\" must be 32 lower-case hex digits");
        REFUSED("\"3f0c2b5e9a1d4c7e8b6a5f4e3d2c1b0a\"", "\"3F0C2B5E9A1D4C7E8B6A5F4E3D2C1B0A\"",
                "\"id\" must be 32 lower-case hex digits");
        REFUSED("\"gym-north\"", "[\"gym-north\"]", "\"hub\" must be a string");
        REFUSED("\"bench-1\"", "null", "\"station\" must be a string");
        REFUSED("\"anna\"", "7", "\"athlete\" must be a string or null");
        REFUSED("\"back-12\"", "{}", "\"protocol\" must be a string");
        REFUSED("\"completed\",\"started", "\"done\",\"started",
                "\"status\" must be completed, abandoned, aborted or interrupted");
        REFUSED("\"2026", "\"26", "\"started_at\" must be an ISO 8601 UTC time");
        REFUSED("Z\",\"ended_at", "+01:00\",\"ended_at", "\"started_at\" must be an ISO 8601 UTC time");
        REFUSED("\"duration_ms\":458400", "\"duration_ms\":\"458400\"",
                "\"duration_ms\" must be a non-negative integer or null");
        REFUSED("\"duration_ms\":458400", "\"duration_ms\":-1", "\"duration_ms\" must be a non-negative integer or null");
        REFUSED("\"steps\":[", "\"steps\":\"x\",\"s\":[", "\"steps\" must be an array");
        REFUSED("\"hold_ms\":8238", "\"hold_ms\":8238.5", "rep \"hold_ms\" must be a non-negative integer or null");
        REFUSED("\"hold_ms\":8238", "\"hold_ms\":99999999999999999999999",
                "rep \"hold_ms\" must be a non-negative integer or null");
        REFUSED("\"force_mean_n\":40.5", "\"force_mean_n\":\"40.5\"", "rep \"force_mean_n\" must be a number or null");
        REFUSED("\"force_mean_n\":40.5", "\"force_mean_n\":1e308", "rep \"force_mean_n\" must be a number or null");
        REFUSED("\"outcome\":\"completed\"", "\"outcome\":\"great\"", "rep \"outcome\" is missing or unknown");
        REFUSED("\"side\":\"right\"", "\"side\":\"up\"", "step \"side\" must be left, right, center, both or null");
        REFUSED("\"kind\":\"press\"", "\"kind\":1", "step \"kind\" must be press, stretch or measure");
        REFUSED("\"over_hold\":false", "\"over_hold\":0", "rep \"over_hold\" must be a boolean");
        REFUSED("\"started_at\"", "\"begun_at\"", "\"started_at\" must be an ISO 8601 UTC time");
}

static void test_refuses_hostile(void) {
        /* SQL in the names that become query keys: refused by their character set. */
        REFUSED("\"anna\"", "\"anna'); DROP TABLE sessions;--\"", "\"athlete\" must be 1-64 characters of [A-Za-z0-9_.-]");
        REFUSED("\"gym-north\"", "\"x' OR '1'='1\"", "\"hub\" must be 1-64 characters of [A-Za-z0-9_.-]");
        REFUSED("\"back-01\"", "\"back-01\\\"; DELETE FROM reps\"", "step \"point\" must be 1-64 characters of [A-Za-z0-9_.-]");
        REFUSED("\"bench-1\"", "\"bench/1\"", "\"station\" must be 1-64 characters of [A-Za-z0-9_.-]");
        REFUSED("\"anna\"", "\"an\\u0000na\"", "\"athlete\" must be 1-64 characters of [A-Za-z0-9_.-]");
        /* Too long a name, too long a label. */
        char name[80], label[700], *big;
        memset(name, 'a', 66);
        name[0] = '"';
        strcpy(name + 66, "\"");
        REFUSED("\"anna\"", name, "\"athlete\" must be 1-64 characters of [A-Za-z0-9_.-]");
        memset(label, 'x', sizeof label - 1);
        label[0] = '"';
        label[sizeof label - 2] = '"';
        label[sizeof label - 1] = 0;
        REFUSED("\"a point\"", label, "step \"label\" must be a string of at most 512 bytes");
        /* Huge: just over 1 MiB. */
        size_t n = SESSION_DOC_MAX_BYTES + 1;
        big = malloc(n + 1);
        CHECK(big);
        memset(big, ' ', n);
        big[0] = '{';
        big[n - 1] = '}';
        big[n] = 0;
        SessionDoc *d = NULL;
        const char *err = NULL;
        CHECK_EQ(session_doc_parse(big, n, &d, &err), -EINVAL);
        CHECK_STR(err, "document too large (max 1 MiB)");
        free(big);
        /* Too many steps. */
        char *many = NULL;
        size_t cap = 0;
        FILE *f = open_memstream(&many, &cap);
        fprintf(f, "{\"id\":\"%s\",\"hub\":\"h\",\"station\":\"s\",\"athlete\":null,\"protocol\":\"p\",\"status\":\"completed\","
                   "\"started_at\":\"2026-01-01T00:00:00.000Z\",\"ended_at\":null,\"duration_ms\":null,\"steps\":[", base.id);
        for (int i = 0; i <= SESSION_DOC_MAX_STEPS; i++)
                fprintf(f, "%s{\"point\":\"p\",\"label\":\"l\",\"side\":null,\"muscle\":null,\"kind\":\"press\","
                           "\"target_hold_ms\":1,\"reps\":[]}", i ? "," : "");
        fprintf(f, "]}");
        fclose(f);
        CHECK_EQ(session_doc_parse(many, strlen(many), &d, &err), -EINVAL);
        CHECK_STR(err, "too many steps");
        free(many);
}

static void test_iso8601(void) {
        int64_t ms;
        char buf[32];

        CHECK_EQ(iso8601_parse_ms("1970-01-01T00:00:00Z", &ms), 0);
        CHECK_EQ(ms, 0);
        CHECK_EQ(iso8601_parse_ms("2024-02-29T12:00:00.123Z", &ms), 0);
        CHECK_EQ(ms, 1709208000123LL);
        CHECK_STR(iso8601_format_ms(buf, sizeof buf, 1709208000123LL), "2024-02-29T12:00:00.123Z");
        CHECK_EQ(iso8601_parse_ms("2023-02-29T12:00:00Z", &ms), -EINVAL);
        CHECK_EQ(iso8601_parse_ms("2023-13-01T12:00:00Z", &ms), -EINVAL);
        CHECK_EQ(iso8601_parse_ms("2023-01-01 12:00:00Z", &ms), -EINVAL);
        CHECK_EQ(iso8601_parse_ms("2023-01-01T12:00:00.1Z", &ms), -EINVAL);
        CHECK_EQ(iso8601_parse_ms("2023-01-01T24:00:00Z", &ms), -EINVAL);
}

static const TapCase cases[] = {
        { "accepts-hub-document", test_accepts_hub_document },
        { "anonymous-and-extra-fields", test_anonymous_and_extra_fields },
        { "refuses-bad-json", test_refuses_bad_json },
        { "refuses-wrong-types", test_refuses_wrong_types },
        { "refuses-hostile", test_refuses_hostile },
        { "iso8601", test_iso8601 },
};

TAP_MAIN(cases)
