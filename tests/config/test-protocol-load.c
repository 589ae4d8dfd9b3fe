/* SPDX-License-Identifier: MIT */
/* protocol_load(): the shipped protocols load with the transcribed values, and bad files
 * report every problem with its exact file:line. argv[1] = config/protocols. */
#include <errno.h>

#include "config/protocol-load.h"
#include "config-test.h"
#include "shared/macro.h"

static const char *protocols_dir;

static Protocol *load_shipped(const char *name, size_t n_steps) {
        ConfigErrors e = {};
        Protocol *p = NULL;
        char *path, err[256];

        CHECK_OR_NULL(asprintf(&path, "%s/%s.conf", protocols_dir, name) > 0);
        int r = protocol_load(path, &p, &e);
        if (r < 0)
                for (size_t i = 0; i < e.n; i++)
                        fprintf(stderr, "%s\n", e.msgs[i]);
        CHECK_EQ_OR_NULL(r, 0);
        CHECK_EQ_OR_NULL(e.n, 0);
        CHECK_STR_OR_NULL(p->name, name);
        CHECK_OR_NULL(p->title && p->description && p->source);
        /* an unattended station: every shipped protocol carries its own notice */
        CHECK_OR_NULL(p->safety_notice && strlen(p->safety_notice) > 80);
        CHECK_OR_NULL(protocol_safety_notice(p) == p->safety_notice);
        CHECK_EQ_OR_NULL(p->n_steps, n_steps);
        for (size_t i = 0; i < p->n_steps; i++) {
                CHECK_EQ_OR_NULL(protocol_step_validate(&p->steps[i], err, sizeof err), 0);
                CHECK_OR_NULL(p->steps[i].instruction && p->steps[i].side);
                for (size_t j = 0; j < i; j++)
                        CHECK_OR_NULL(strcmp(p->steps[i].point, p->steps[j].point) != 0);
        }
        free(path);
        return p;
}

static void test_back_12(void) {
        Protocol *p = load_shipped("back-12", 19);
        CHECK(p);
        static const char *const sides[12] = { "right", "right", "right", "right", "right", "right",
                                               "left",  "right", "right", "right", "right", "right" };

        for (unsigned i = 0; i < 12; i++) {
                const ProtocolStep *s = &p->steps[i];
                char point[16];

                snprintf(point, sizeof point, "back-%02u", i + 1);
                CHECK_STR(s->point, point);
                CHECK_STR(s->side, sides[i]);
                CHECK_EQ(s->kind, STEP_PRESS);
                CHECK_EQ(s->start, HOLD_START_CONFIRM);
                CHECK_EQ(s->min_hold_ms, 7000);
                CHECK_EQ(s->target_hold_ms, 7000);
                CHECK_EQ(s->max_hold_ms, 10000);
                CHECK_EQ(s->reps, 1);
                CHECK_EQ(s->rest_ms, 5000);
                CHECK_NEAR(s->contact_n, 10, 1e-9);
                CHECK_NEAR(s->release_n, 5, 1e-9);
                CHECK_NEAR(s->target_min_n, 20, 1e-9);
                CHECK_NEAR(s->target_max_n, 200, 1e-9);
                CHECK_NEAR(s->safety_max_n, 250, 1e-9);
                CHECK_EQ(s->min_release_ms, 2000);
                CHECK_EQ(s->over_force_ms, 1000); /* built-in default */
                CHECK(!s->tap_ends_hold);
                CHECK(!s->needs_release_tap);
        }
        CHECK_STR(p->steps[0].find_prompt, "Find the very sharp spot");
        CHECK_STR(p->steps[11].hold_prompt, "Press as hard as you can stand");
        CHECK_STR(p->steps[5].muscle, "hamstring");
        CHECK_STR(p->steps[6].label, "Back point 7: middle back, left");
        CHECK_STR(p->steps[8].muscle, "upper trapezius");
        CHECK(p->steps[0].muscle == NULL);

        static const char *const stretches[7][2] = {
                { "stretch-knee-to-chest-left", "left" },       { "stretch-knee-to-chest-right", "right" },
                { "stretch-side-knee-to-chest-left", "left" },  { "stretch-side-knee-to-chest-right", "right" },
                { "stretch-cat", "center" },                    { "stretch-arch-back", "center" },
                { "stretch-prone-elbows", "center" },
        };
        for (unsigned i = 0; i < 7; i++) {
                const ProtocolStep *s = &p->steps[12 + i];
                CHECK_STR(s->point, stretches[i][0]);
                CHECK_STR(s->side, stretches[i][1]);
                CHECK_EQ(s->kind, STEP_STRETCH);
                CHECK_EQ(s->start, HOLD_START_TIMER);
                CHECK_EQ(s->min_hold_ms, 0);
                CHECK_EQ(s->target_hold_ms, 30000);
                CHECK_EQ(s->max_hold_ms, 37500);
                CHECK(s->tap_ends_hold);
        }
        protocol_free(p);
}

static void test_ball_release(void) {
        Protocol *p = load_shipped("ball-release", 12);
        CHECK(p);
        static const char *const muscles[6] = {
                "soleus/gastrocnemius", "rectus femoris/psoas", "tensor fasciae latae",
                "gluteus medius", "levator scapulae/upper trapezius", "pectoralis minor",
        };

        for (unsigned i = 0; i < 12; i++) {
                const ProtocolStep *s = &p->steps[i];
                CHECK_STR(s->muscle, muscles[i / 2]);
                CHECK_STR(s->side, i % 2 == 0 ? "left" : "right");
                CHECK_EQ(s->kind, STEP_PRESS);
                CHECK_EQ(s->start, HOLD_START_AUTO);
                CHECK_EQ(s->settle_ms, 1000);
                CHECK_EQ(s->min_hold_ms, 30000);
                CHECK_EQ(s->target_hold_ms, 90000);
                CHECK_EQ(s->max_hold_ms, 100000);
                CHECK(s->tap_ends_hold);
                CHECK(!s->needs_release_tap);
                CHECK_EQ(s->rest_ms, 10000);
                CHECK_NEAR(s->contact_n, 15, 1e-9);
                CHECK_NEAR(s->release_n, 8, 1e-9);
                CHECK_NEAR(s->target_min_n, 30, 1e-9);
                CHECK_NEAR(s->target_max_n, 500, 1e-9);
                CHECK_NEAR(s->safety_max_n, 700, 1e-9);
                CHECK_EQ(s->min_release_ms, 2000);
        }
        CHECK_STR(p->steps[0].point, "calf-left");
        CHECK_STR(p->steps[11].point, "pec-minor-right");
        protocol_free(p);
}

static void test_glute_tpt(void) {
        Protocol *p = load_shipped("glute-tpt", 12);
        CHECK(p);
        static const char *const muscles[4] = { "gluteus medius", "piriformis", "tensor fasciae latae",
                                                "gluteus maximus" };

        for (unsigned i = 0; i < 8; i++) {
                const ProtocolStep *s = &p->steps[i];
                CHECK_STR(s->muscle, muscles[i / 2]);
                CHECK_STR(s->side, i % 2 == 0 ? "left" : "right");
                CHECK_EQ(s->kind, STEP_PRESS);
                CHECK_EQ(s->start, HOLD_START_CONFIRM);
                CHECK_EQ(s->min_hold_ms, 10000);
                CHECK_EQ(s->target_hold_ms, 20000);
                CHECK_EQ(s->max_hold_ms, 25000);
                CHECK(s->tap_ends_hold);
                CHECK(s->needs_release_tap);
                CHECK_EQ(s->not_released, NOT_RELEASED_REVISIT);
                CHECK_EQ(s->max_tries, 3);
                CHECK_EQ(s->revisit_rest_ms, 30000);
                CHECK_EQ(s->rest_ms, 10000);
                CHECK_NEAR(s->contact_n, 10, 1e-9);
                CHECK_NEAR(s->release_n, 5, 1e-9);
                CHECK_NEAR(s->target_min_n, 20, 1e-9);
                CHECK_NEAR(s->target_max_n, 200, 1e-9);
                CHECK_NEAR(s->safety_max_n, 300, 1e-9);
                CHECK_EQ(s->min_release_ms, 2000);
        }
        for (unsigned i = 8; i < 12; i++) {
                const ProtocolStep *s = &p->steps[i];
                CHECK_STR(s->muscle, muscles[i - 8]);
                CHECK_STR(s->side, "both");
                CHECK_EQ(s->kind, STEP_STRETCH);
                CHECK_EQ(s->start, HOLD_START_TIMER);
                CHECK_EQ(s->target_hold_ms, 30000);
                CHECK_EQ(s->reps, 3);
                CHECK_EQ(s->rest_ms, 10000);
                CHECK(!s->needs_release_tap);
                CHECK_EQ(s->not_released, NOT_RELEASED_CONTINUE);
        }
        protocol_free(p);
}

static void test_ppt(void) {
        Protocol *p = load_shipped("ppt", 4);
        CHECK(p);
        static const char *const points[4] = { "ppt-upper-trap-left", "ppt-upper-trap-right",
                                               "ppt-glute-med-left", "ppt-glute-med-right" };

        for (unsigned i = 0; i < 4; i++) {
                const ProtocolStep *s = &p->steps[i];
                CHECK_STR(s->point, points[i]);
                CHECK_EQ(s->kind, STEP_MEASURE);
                CHECK_EQ(s->start, HOLD_START_CONFIRM);
                CHECK_EQ(s->reps, 3);
                CHECK_EQ(s->rest_ms, 20000);
                CHECK_EQ(s->target_hold_ms, 0);
                CHECK_EQ(s->min_hold_ms, 0);
                CHECK_EQ(s->max_hold_ms, 0);
                CHECK_NEAR(s->contact_n, 2, 1e-9);
                CHECK_NEAR(s->release_n, 1, 1e-9);
                CHECK_NEAR(s->safety_max_n, 150, 1e-9);
        }
        protocol_free(p);
}

static Protocol *load_ok(const char *name, const char *text) {
        ConfigErrors e = {};
        Protocol *p = NULL;
        char *path = test_write(name, text);

        int r = protocol_load(path, &p, &e);
        for (size_t i = 0; i < e.n; i++)
                fprintf(stderr, "%s\n", e.msgs[i]);
        CHECK_EQ_OR_NULL(r, 0);
        CHECK_OR_NULL(p);
        free(path);
        return p;
}

#define PRESS_FORCES "contact_n = 10; release_n = 5; target_min_n = 20; target_max_n = 200; safety_max_n = 250;"

static void test_defaults(void) {
        /* Built-in defaults, `defaults` over built-ins, step over `defaults`; 7 and 7.0
         * both read as seconds; min/max hold derived from target. */
        Protocol *p = load_ok("defaults.conf",
                              "title = \"T\";\n"
                              "defaults = { kind = \"press\"; start = \"confirm\"; " PRESS_FORCES " rest_s = 8; };\n"
                              "steps = (\n"
                              "  { point = \"a\"; label = \"A\"; target_hold_s = 7.001; },\n"
                              "  { point = \"b\"; label = \"B\"; target_hold_s = 7; rest_s = 2.5; reps = 2.0; },\n"
                              "  { point = \"c\"; label = \"C\"; kind = \"stretch\"; start = \"timer\"; target_hold_s = 30.0; }\n"
                              ");\n");
        CHECK(p);

        CHECK_STR(p->name, "defaults");
        CHECK_STR(p->title, "T");
        CHECK(!p->description && !p->source);
        CHECK_EQ(p->n_steps, 3);

        const ProtocolStep *a = &p->steps[0], *b = &p->steps[1], *c = &p->steps[2];
        CHECK_EQ(a->target_hold_ms, 7001);
        CHECK_EQ(a->min_hold_ms, 7001);
        CHECK_EQ(a->max_hold_ms, 8752); /* 7001 * 1.25 = 8751.25, rounded up */
        CHECK_EQ(a->reps, 1);
        CHECK_EQ(a->rest_ms, 8000);
        CHECK_EQ(a->settle_ms, 500);
        CHECK_EQ(a->over_force_ms, 1000);
        CHECK_EQ(a->min_release_ms, 2000);
        CHECK(!a->tap_ends_hold && !a->needs_release_tap);
        CHECK_EQ(a->not_released, NOT_RELEASED_CONTINUE);
        CHECK_EQ(a->max_tries, 1);
        CHECK_EQ(a->revisit_rest_ms, 30000);
        CHECK(!a->muscle && !a->side && !a->instruction && !a->find_prompt && !a->hold_prompt);
        /* no notice in the file: the generic one */
        CHECK(!p->safety_notice);
        CHECK(protocol_safety_notice(p) && strstr(protocol_safety_notice(p), "clinician"));

        CHECK_EQ(b->target_hold_ms, 7000);
        CHECK_EQ(b->max_hold_ms, 8750);
        CHECK_EQ(b->rest_ms, 2500);
        CHECK_EQ(b->reps, 2);

        CHECK_EQ(c->kind, STEP_STRETCH);
        CHECK_EQ(c->target_hold_ms, 30000);
        CHECK_EQ(c->max_hold_ms, 37500);
        protocol_free(p);

        /* The guidance keys. */
        p = load_ok("guidance.conf",
                    "title = \"G\"; safety_notice = \"Stop if it hurts.\";\n"
                    "defaults = { kind = \"press\"; start = \"confirm\"; " PRESS_FORCES " hold_prompt = \"Hold\"; };\n"
                    "steps = ( { point = \"a\"; label = \"A\"; target_hold_s = 7; revisit_rest_s = 12.5;\n"
                    "            find_prompt = \"Find it\"; } );\n");
        CHECK(p);
        CHECK_STR(p->safety_notice, "Stop if it hurts.");
        CHECK_STR(p->steps[0].find_prompt, "Find it");
        CHECK_STR(p->steps[0].hold_prompt, "Hold");
        CHECK_EQ(p->steps[0].revisit_rest_ms, 12500);
        protocol_free(p);

        /* Forces are not required for a stretch. */
        p = load_ok("stretch-only.conf",
                    "title = \"S\";\n"
                    "steps = ( { point = \"s\"; label = \"S\"; kind = \"stretch\"; start = \"timer\"; target_hold_s = 20; } );\n");
        CHECK(p);
        CHECK_EQ(p->n_steps, 1);
        protocol_free(p);
}

static void expect_bad(const char *name, const char *text, int expected_r, const char *const *expected) {
        ConfigErrors e = {};
        Protocol *p = (Protocol *) 0x1; /* must stay untouched */
        char *path = test_write(name, text), *prefix;

        CHECK(asprintf(&prefix, "%s:", path) > 0);
        CHECK_EQ(protocol_load(path, &p, &e), expected_r);
        CHECK(p == (Protocol *) 0x1);
        check_errors_at(__FILE__, __LINE__, &e, prefix, expected);
        config_errors_clear(&e);
        CHECK(e.n == 0 && e.msgs == NULL);
        free(prefix);
        free(path);
}

#define EXPECT_BAD(name, text, ...) expect_bad(name, text, -EINVAL, (const char *const[]) { __VA_ARGS__, NULL })

#define STEP_HEAD "title = \"T\";\ndefaults = { kind = \"press\"; start = \"confirm\"; " PRESS_FORCES " };\n"

static void test_bad(void) {
        EXPECT_BAD("unknown-key.conf",
                   STEP_HEAD
                   "steps = (\n"
                   "  { point = \"a\"; label = \"A\"; target_hold_s = 7;\n"
                   "    hold_s = 9; }\n"
                   ");\n",
                   "@5: unknown key \"steps[0].hold_s\"");

        EXPECT_BAD("bad-revisit-rest.conf",
                   STEP_HEAD
                   "steps = (\n"
                   "  { point = \"a\"; label = \"A\"; target_hold_s = 7; revisit_rest_s = \"long\"; }\n"
                   ");\n",
                   "@4: steps[0].revisit_rest_s must be a number");

        EXPECT_BAD("wrong-type.conf",
                   STEP_HEAD
                   "steps = (\n"
                   "  { point = \"a\"; label = \"A\"; target_hold_s = \"seven\"; }\n"
                   ");\n",
                   "@4: steps[0].target_hold_s must be a number");

        EXPECT_BAD("min-over-target.conf",
                   STEP_HEAD
                   "steps = (\n"
                   "  { point = \"a\"; label = \"A\"; target_hold_s = 7; },\n"
                   "  {\n"
                   "    point = \"b\"; label = \"B\"; target_hold_s = 7; min_hold_s = 8;\n"
                   "  }\n"
                   ");\n",
                   "@5: steps[1]: min_hold (8000 ms) must not exceed target_hold (7000 ms)");

        EXPECT_BAD("missing-label.conf",
                   STEP_HEAD
                   "steps = (\n"
                   "  { point = \"a\"; target_hold_s = 7; }\n"
                   ");\n",
                   "@4: steps[0].label is required");

        EXPECT_BAD("syntax.conf",
                   "title = \"T\";\n"
                   "steps = (\n"
                   "  { point = \"a\"; label = ; }\n"
                   ");\n",
                   "@3: syntax error");

        EXPECT_BAD("release-contact.conf",
                   STEP_HEAD
                   "steps = (\n"
                   "  { point = \"a\"; label = \"A\"; target_hold_s = 7; release_n = 10; }\n"
                   ");\n",
                   "@4: steps[0]: release_force (10 N) must be below contact_force (10 N)");

        /* Every problem in one file, in file order, each step checked on its own. */
        EXPECT_BAD("many.conf",
                   "title = \"T\";\n"
                   "author = \"me\";\n"
                   "defaults = { kind = \"press\"; start = \"confirm\"; " PRESS_FORCES " colour = \"red\"; };\n"
                   "steps = (\n"
                   "  { point = \"a\"; label = \"A\"; target_hold_s = 7; },\n"
                   "  { point = \"b\"; label = \"B\"; target_hold_s = 7; side = \"up\"; reps = 0; },\n"
                   "  { point = \"c\"; label = \"\"; target_hold_s = 7; },\n"
                   "  { point = \"d\"; label = \"D\"; target_hold_s = 4000; kind = \"poke\"; },\n"
                   "  { point = \"e\"; label = \"E\"; target_hold_s = 7; start = \"timer\"; },\n"
                   "  { point = \"f\"; label = \"F\"; kind = \"measure\"; start = \"confirm\"; release_n = true; },\n"
                   "  { point = \"g\"; label = \"G\"; kind = \"press\"; },\n"
                   "  7\n"
                   ");\n",
                   "@2: unknown key \"author\"",
                   "@3: unknown key \"defaults.colour\"",
                   "@6: steps[1].side must be \"left\", \"right\", \"center\" or \"both\", not \"up\"",
                   "@6: steps[1].reps must be between 1 and 100, not 0",
                   "@7: steps[2].label must not be empty",
                   "@8: steps[3].kind must be \"press\", \"stretch\" or \"measure\", not \"poke\"",
                   "@8: steps[3].target_hold_s must be between 0 and 3600, not 4000",
                   "@9: steps[4]: start = \"timer\" is only for stretch steps",
                   "@10: steps[5].release_n must be a number",
                   "@11: steps[6].target_hold_s is required",
                   "@12: steps[7] must be a group { ... }");

        EXPECT_BAD("duplicate-point.conf",
                   STEP_HEAD
                   "steps = (\n"
                   "  { point = \"a\"; label = \"A\"; target_hold_s = 7; },\n"
                   "  { label = \"B\"; target_hold_s = 7;\n"
                   "    point = \"a\"; }\n"
                   ");\n",
                   "@6: steps[1].point \"a\" is used by an earlier step");

        /* A broken default is reported once, not once per step. */
        EXPECT_BAD("bad-default.conf",
                   "title = \"T\";\n"
                   "defaults = { kind = \"press\"; start = \"confirm\"; release_n = 5; target_min_n = 20;\n"
                   "  contact_n = \"ten\"; target_max_n = 200; safety_max_n = 250; };\n"
                   "steps = (\n"
                   "  { point = \"a\"; label = \"A\"; target_hold_s = 7; },\n"
                   "  { point = \"b\"; label = \"B\"; target_hold_s = 7; }\n"
                   ");\n",
                   "@3: defaults.contact_n must be a number");

        EXPECT_BAD("top.conf",
                   "description = 5;\n"
                   "steps = ();\n",
                   "@ title is required",
                   "@1: description must be a string",
                   "@2: steps must list at least one step");

        /* Forces are required for press and measure steps. */
        EXPECT_BAD("forces.conf",
                   "title = \"T\";\n"
                   "steps = (\n"
                   "  { point = \"a\"; label = \"A\"; kind = \"press\"; start = \"auto\"; target_hold_s = 5; contact_n = 3; },\n"
                   "  { point = \"b\"; label = \"B\"; kind = \"measure\"; start = \"confirm\"; }\n"
                   ");\n",
                   "@3: steps[0].release_n is required",
                   "@3: steps[0].safety_max_n is required",
                   "@3: steps[0].target_min_n is required",
                   "@3: steps[0].target_max_n is required",
                   "@4: steps[1].contact_n is required",
                   "@4: steps[1].release_n is required",
                   "@4: steps[1].safety_max_n is required");

        EXPECT_BAD("bad name.conf",
                   STEP_HEAD "steps = ( { point = \"a\"; label = \"A\"; target_hold_s = 7; } );\n",
                   "@ protocol name (the file name without .conf) must be 1 to 64 of A-Z a-z 0-9 _ -, not \"bad name\"");

        /* Missing file: -ENOENT, and the message names the file. */
        {
                ConfigErrors e = {};
                Protocol *p = NULL;
                char *path;

                CHECK(asprintf(&path, "%s/nope.conf", test_dir) > 0);
                CHECK_EQ(protocol_load(path, &p, &e), -ENOENT);
                CHECK(!p);
                check_errors(&e, path, "@: cannot open: No such file or directory");
                config_errors_clear(&e);
                free(path);
        }
}

static const TapCase cases[] = {
        { "back-12", test_back_12 },
        { "ball-release", test_ball_release },
        { "glute-tpt", test_glute_tpt },
        { "ppt", test_ppt },
        { "defaults", test_defaults },
        { "bad", test_bad },
};

int main(int argc, char **argv) {
        BAIL_UNLESS(argc >= 2);
        protocols_dir = argv[1];
        test_dir_create();
        /* argv[1] is the directory: the optional case name follows it */
        return tap_run(cases, ELEMENTSOF(cases), argc - 1, argv + 1);
}
