/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf-reader.h"
#include "config/protocol-load.h"
#include "shared/macro.h"

/* Every step key, how it is read and its limits. A step takes each key from itself,
 * else from the file's `defaults` group, else from the built-in default. The limits
 * are sanity bounds against typos (an hour-long hold, a 500 kg press), not therapy
 * advice; docs/protocols.md explains them. */

typedef enum FieldType {
        F_STRING,
        F_SIDE,
        F_KIND,
        F_START,
        F_NOT_RELEASED,
        F_MS,
        F_UINT,
        F_FORCE,
        F_BOOL,
} FieldType;

typedef struct StepField {
        const char *key;
        FieldType type;
        size_t offset;
        double min, max;
} StepField;

#define MAX_HOLD_S 3600.0
#define MAX_SHORT_S 60.0
#define MAX_FORCE_N 5000.0
#define MAX_STEPS 1000

#define FIELD(k, t, member, lo, hi) { k, t, offsetof(ProtocolStep, member), lo, hi }

static const StepField step_fields[] = {
        FIELD("point", F_STRING, point, 0, 0),
        FIELD("muscle", F_STRING, muscle, 0, 0),
        FIELD("side", F_SIDE, side, 0, 0),
        FIELD("label", F_STRING, label, 0, 0),
        FIELD("instruction", F_STRING, instruction, 0, 0),
        FIELD("kind", F_KIND, kind, 0, 0),
        FIELD("start", F_START, start, 0, 0),
        FIELD("min_hold_s", F_MS, min_hold_ms, 0, MAX_HOLD_S),
        FIELD("target_hold_s", F_MS, target_hold_ms, 0, MAX_HOLD_S),
        FIELD("max_hold_s", F_MS, max_hold_ms, 0, MAX_HOLD_S),
        FIELD("reps", F_UINT, reps, 1, 100),
        FIELD("rest_s", F_MS, rest_ms, 0, MAX_HOLD_S),
        FIELD("settle_s", F_MS, settle_ms, 0, MAX_SHORT_S),
        FIELD("contact_n", F_FORCE, contact_n, 0, MAX_FORCE_N),
        FIELD("release_n", F_FORCE, release_n, 0, MAX_FORCE_N),
        FIELD("target_min_n", F_FORCE, target_min_n, 0, MAX_FORCE_N),
        FIELD("target_max_n", F_FORCE, target_max_n, 0, MAX_FORCE_N),
        FIELD("safety_max_n", F_FORCE, safety_max_n, 0, MAX_FORCE_N),
        FIELD("over_force_s", F_MS, over_force_ms, 0, MAX_SHORT_S),
        FIELD("min_release_s", F_MS, min_release_ms, 0, MAX_SHORT_S),
        FIELD("tap_ends_hold", F_BOOL, tap_ends_hold, 0, 0),
        FIELD("needs_release_tap", F_BOOL, needs_release_tap, 0, 0),
        FIELD("not_released", F_NOT_RELEASED, not_released, 0, 0),
        FIELD("max_tries", F_UINT, max_tries, 1, 10),
        FIELD("find_prompt", F_STRING, find_prompt, 0, 0),
        FIELD("hold_prompt", F_STRING, hold_prompt, 0, 0),
        FIELD("revisit_rest_s", F_MS, revisit_rest_ms, 0, MAX_HOLD_S),
};

enum {
        K_POINT, K_MUSCLE, K_SIDE, K_LABEL, K_INSTRUCTION, K_KIND, K_START,
        K_MIN_HOLD, K_TARGET_HOLD, K_MAX_HOLD, K_REPS, K_REST, K_SETTLE,
        K_CONTACT, K_RELEASE, K_TARGET_MIN, K_TARGET_MAX, K_SAFETY_MAX,
        K_OVER_FORCE, K_MIN_RELEASE, K_TAP_ENDS_HOLD, K_NEEDS_RELEASE_TAP,
        K_NOT_RELEASED, K_MAX_TRIES, K_FIND_PROMPT, K_HOLD_PROMPT, K_REVISIT_REST,
        _K_MAX,
};

_Static_assert(ELEMENTSOF(step_fields) == _K_MAX, "step_fields and K_* disagree");

static const char *const step_keys[] = {
        "point", "muscle", "side", "label", "instruction", "kind", "start",
        "min_hold_s", "target_hold_s", "max_hold_s", "reps", "rest_s", "settle_s",
        "contact_n", "release_n", "target_min_n", "target_max_n", "safety_max_n",
        "over_force_s", "min_release_s", "tap_ends_hold", "needs_release_tap",
        "not_released", "max_tries", "find_prompt", "hold_prompt", "revisit_rest_s", NULL,
};

static const char *const top_keys[] = {
        "title", "description", "source", "safety_notice", "voice", "defaults", "steps", NULL,
};

static const char *const sides[] = { "left", "right", "center", "both" };

/* A step as read from one group: which keys it set and their values. */
typedef struct StepDraft {
        ProtocolStep s;
        const config_setting_t *group;
        const config_setting_t *at[_K_MAX]; /* the setting each valid value came from */
        bool bad_value;                     /* some key present but invalid */
} StepDraft;

#define FIELD_PTR(step, f, type) ((type *) ((char *) (step) + (f)->offset))

static void step_strings_free(ProtocolStep *s) {
        free(s->point);
        free(s->muscle);
        free(s->side);
        free(s->label);
        free(s->instruction);
        free(s->find_prompt);
        free(s->hold_prompt);
        *s = (ProtocolStep) {};
}

static int read_enum(ConfReader *R, const config_setting_t *v, const StepField *f, int *ret) {
        _cleanup_free_ char *str = NULL;
        int r, x;

        r = conf_get_string(R, v, &str);
        if (r <= 0)
                return r;
        switch (f->type) {
        case F_KIND:
                x = step_kind_from_string(str);
                break;
        case F_START:
                x = hold_start_from_string(str);
                break;
        default:
                x = not_released_from_string(str);
        }
        if (x < 0) {
                _cleanup_free_ char *p = conf_path(v);
                const char *choices = f->type == F_KIND ? "\"press\", \"stretch\" or \"measure\"" :
                                      f->type == F_START ? "\"auto\", \"confirm\" or \"timer\"" :
                                                           "\"continue\" or \"revisit\"";
                return conf_error(R, v, "%s must be %s, not \"%s\"", p ?: f->key, choices, str ?: "");
        }
        *ret = x;
        return 1;
}

static int read_field(ConfReader *R, const config_setting_t *v, const StepField *f, ProtocolStep *s) {
        int r;

        switch (f->type) {
        case F_STRING:
        case F_SIDE: {
                char **p = FIELD_PTR(s, f, char *);
                r = conf_get_string(R, v, p);
                if (r <= 0)
                        return r;
                if (f->type == F_SIDE && *p) {
                        for (size_t i = 0; i < ELEMENTSOF(sides); i++)
                                if (strcmp(*p, sides[i]) == 0)
                                        return 1;
                        _cleanup_free_ char *path = conf_path(v);
                        return conf_error(R, v, "%s must be \"left\", \"right\", \"center\" or \"both\", not \"%s\"",
                                          path ?: f->key, *p);
                }
                return 1;
        }
        case F_KIND:
        case F_START:
        case F_NOT_RELEASED: {
                int x = 0;
                r = read_enum(R, v, f, &x);
                if (r > 0) {
                        if (f->type == F_KIND)
                                *FIELD_PTR(s, f, StepKind) = x;
                        else if (f->type == F_START)
                                *FIELD_PTR(s, f, HoldStart) = x;
                        else
                                *FIELD_PTR(s, f, NotReleased) = x;
                }
                return r;
        }
        case F_MS:
                return conf_get_ms(R, v, f->min, f->max, FIELD_PTR(s, f, uint32_t));
        case F_UINT:
                return conf_get_uint(R, v, (uint32_t) f->min, (uint32_t) f->max, FIELD_PTR(s, f, uint32_t));
        case F_FORCE:
                return conf_get_double(R, v, f->min, f->max, FIELD_PTR(s, f, double));
        case F_BOOL:
                return conf_get_bool(R, v, FIELD_PTR(s, f, bool));
        }
        assert(!"a step field type without a reader");
        return -EINVAL;
}

static void draft_read(ConfReader *R, const config_setting_t *group, StepDraft *d) {
        *d = (StepDraft) { .group = group };
        conf_check_keys(R, group, step_keys);
        for (size_t i = 0; i < _K_MAX; i++) {
                const config_setting_t *v = conf_member(group, step_fields[i].key);
                if (!v)
                        continue;
                if (read_field(R, v, &step_fields[i], &d->s) > 0)
                        d->at[i] = v;
                else
                        d->bad_value = true;
        }
}

static int copy_field(const StepField *f, ProtocolStep *dst, const ProtocolStep *src, bool steal) {
        switch (f->type) {
        case F_STRING:
        case F_SIDE: {
                char **from = FIELD_PTR(src, f, char *), **to = FIELD_PTR(dst, f, char *);
                free(*to);
                if (steal)
                        *to = TAKE_PTR(*from);
                else if (!*from)
                        *to = NULL;
                else if (!(*to = strdup(*from)))
                        return -ENOMEM;
                return 0;
        }
        case F_KIND:
                *FIELD_PTR(dst, f, StepKind) = *FIELD_PTR(src, f, StepKind);
                return 0;
        case F_START:
                *FIELD_PTR(dst, f, HoldStart) = *FIELD_PTR(src, f, HoldStart);
                return 0;
        case F_NOT_RELEASED:
                *FIELD_PTR(dst, f, NotReleased) = *FIELD_PTR(src, f, NotReleased);
                return 0;
        case F_MS:
        case F_UINT:
                *FIELD_PTR(dst, f, uint32_t) = *FIELD_PTR(src, f, uint32_t);
                return 0;
        case F_FORCE:
                *FIELD_PTR(dst, f, double) = *FIELD_PTR(src, f, double);
                return 0;
        case F_BOOL:
                *FIELD_PTR(dst, f, bool) = *FIELD_PTR(src, f, bool);
                return 0;
        }
        assert(!"a step field type without a copy");
        return -EINVAL;
}

static int require(ConfReader *R, const config_setting_t *group, const StepDraft *d, const StepDraft *defaults,
                   unsigned k) {
        /* Present but invalid was reported already: "required" would only add noise. */
        if (conf_member(d->group, step_fields[k].key) || conf_member(defaults->group, step_fields[k].key))
                return 0;
        return conf_error_missing(R, group, step_fields[k].key);
}

/* Reads steps[i] into *ret (fully owned). Returns 0, or negative after reporting. */
static int step_build(ConfReader *R, const config_setting_t *group, StepDraft *defaults, ProtocolStep *ret) {
        StepDraft d;
        ProtocolStep s = {
                .reps = 1,
                .rest_ms = 5000,
                .settle_ms = 500,
                .over_force_ms = 1000,
                .min_release_ms = 2000,
                .not_released = NOT_RELEASED_CONTINUE,
                .max_tries = 1,
                .revisit_rest_ms = 30000,
        };
        unsigned errors_before = R->n_errors;
        char errbuf[256];
        int r = 0;

        if (!config_setting_is_group(group)) {
                _cleanup_free_ char *p = conf_path(group);
                return conf_error(R, group, "%s must be a group { ... }", p ?: "step");
        }

        draft_read(R, group, &d);
        for (size_t i = 0; i < _K_MAX && r >= 0; i++) {
                if (d.at[i])
                        r = copy_field(&step_fields[i], &s, &d.s, true);
                else if (defaults->at[i])
                        r = copy_field(&step_fields[i], &s, &defaults->s, false);
        }
        step_strings_free(&d.s);
        if (r < 0) {
                step_strings_free(&s);
                return conf_error(R, NULL, "out of memory");
        }

        /* Strings given as "" read as NULL: point and label must say something. */
        static const unsigned named[] = { K_POINT, K_LABEL };
        for (size_t i = 0; i < ELEMENTSOF(named); i++) {
                unsigned k = named[i];
                const config_setting_t *at = d.at[k] ?: defaults->at[k];

                if (require(R, group, &d, defaults, k) < 0)
                        continue;
                if (at && !*FIELD_PTR(&s, &step_fields[k], char *)) {
                        _cleanup_free_ char *p = conf_path(at);
                        conf_error(R, at, "%s must not be empty", p ?: step_fields[k].key);
                }
        }
        require(R, group, &d, defaults, K_KIND);
        require(R, group, &d, defaults, K_START);

        /* Which values are required depends on the kind: only check once it is known. */
        bool have_kind = d.at[K_KIND] || defaults->at[K_KIND];
        if (have_kind && s.kind != STEP_MEASURE)
                require(R, group, &d, defaults, K_TARGET_HOLD);
        if (have_kind && s.kind != STEP_STRETCH) {
                require(R, group, &d, defaults, K_CONTACT);
                require(R, group, &d, defaults, K_RELEASE);
                require(R, group, &d, defaults, K_SAFETY_MAX);
                if (s.kind == STEP_PRESS) {
                        require(R, group, &d, defaults, K_TARGET_MIN);
                        require(R, group, &d, defaults, K_TARGET_MAX);
                }
        }

        if (!d.at[K_MIN_HOLD] && !defaults->at[K_MIN_HOLD])
                s.min_hold_ms = s.target_hold_ms;
        if (!d.at[K_MAX_HOLD] && !defaults->at[K_MAX_HOLD])
                /* target * 1.25, rounded up to a whole ms, in integers to stay exact. */
                s.max_hold_ms = (uint32_t) (((uint64_t) s.target_hold_ms * 5 + 3) / 4);

        /* Cross-field rules only make sense once every field read cleanly, including the
         * defaults: a broken default would otherwise produce one error per step. */
        if (R->n_errors == errors_before && !defaults->bad_value &&
            protocol_step_validate(&s, errbuf, sizeof errbuf) < 0) {
                _cleanup_free_ char *p = conf_path(group);
                conf_error(R, group, "%s: %s", p ?: "step", errbuf);
        }

        if (R->n_errors != errors_before) {
                step_strings_free(&s);
                return R->r < 0 ? R->r : -EINVAL;
        }
        *ret = s;
        return 0;
}

static char *file_stem(const char *path) {
        const char *base = strrchr(path, '/');
        const char *dot;

        base = base ? base + 1 : path;
        dot = strrchr(base, '.');
        return strndup(base, dot && dot != base ? (size_t) (dot - base) : strlen(base));
}

static bool name_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > 64)
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int protocol_load(const char *path, Protocol **ret, ConfigErrors *errs) {
        _cleanup_(protocol_freep) Protocol *p = NULL;
        ConfReader R = { .file = path, .errs = errs };
        StepDraft defaults = {};
        config_setting_t *root, *dg = NULL, *steps = NULL;
        config_t c;
        int r;

        /* Programming errors, not bad input. */
        assert(path);
        assert(ret);

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->name = file_stem(path);
        if (!p->name)
                return -ENOMEM;
        if (!name_valid(p->name))
                conf_error(&R, NULL, "protocol name (the file name without .conf) must be 1 to 64 of "
                           "A-Z a-z 0-9 _ -, not \"%s\"", p->name);

        config_init(&c);
        r = conf_read_file(&R, &c, path);
        if (r < 0) {
                config_destroy(&c);
                return r;
        }
        root = config_root_setting(&c);

        conf_check_keys(&R, root, top_keys);
        conf_string(&R, root, "title", &p->title);
        if (!p->title)
                conf_member(root, "title") ? conf_error(&R, conf_member(root, "title"), "title must not be empty")
                                           : conf_error_missing(&R, root, "title");
        conf_string(&R, root, "description", &p->description);
        conf_string(&R, root, "source", &p->source);
        conf_string(&R, root, "safety_notice", &p->safety_notice);
        conf_string(&R, root, "voice", &p->voice);
        if (p->voice && (strlen(p->voice) > 40 || strspn(p->voice, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_+/") != strlen(p->voice)))
                conf_error(&R, conf_member(root, "voice"), "voice \"%s\" is not an espeak-ng voice name "
                           "(letters, digits, - _ + /, as `espeak-ng --voices` lists them)", p->voice);

        if (conf_group(&R, root, "defaults", &dg) > 0)
                draft_read(&R, dg, &defaults);

        r = conf_list(&R, root, "steps", &steps);
        if (r == 0)
                conf_error_missing(&R, root, "steps");
        else if (r > 0) {
                int n = config_setting_length(steps);

                if (n == 0)
                        conf_error(&R, steps, "steps must list at least one step");
                else if (n > MAX_STEPS)
                        conf_error(&R, steps, "steps lists %d steps, at most %d are allowed", n, MAX_STEPS);
                else {
                        p->steps = calloc((size_t) n, sizeof(ProtocolStep));
                        if (!p->steps)
                                conf_error(&R, NULL, "out of memory");
                        else
                                for (int i = 0; i < n; i++) {
                                        config_setting_t *g = config_setting_get_elem(steps, (unsigned) i);

                                        if (step_build(&R, g, &defaults, &p->steps[p->n_steps]) < 0)
                                                continue;
                                        /* Records and revisits refer to steps by point. */
                                        const char *point = p->steps[p->n_steps].point;
                                        bool dup = false;
                                        for (size_t j = 0; j < p->n_steps && !dup; j++)
                                                dup = strcmp(p->steps[j].point, point) == 0;
                                        if (dup)
                                                conf_error(&R, conf_member(g, "point") ?: g,
                                                           "steps[%d].point \"%s\" is used by an earlier step",
                                                           i, point);
                                        p->n_steps++;
                                }
                }
        }

        step_strings_free(&defaults.s);
        config_destroy(&c);

        if (R.n_errors > 0)
                return R.r < 0 ? R.r : -EINVAL;
        *ret = TAKE_PTR(p);
        return 0;
}
