/* SPDX-License-Identifier: MIT */
#pragma once

/* Builds session documents of docs/session.md for the recorder tests, from parameters the
 * test chooses, so that expected values come from the input and not from the program. */

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

typedef struct TestRep {
        const char *outcome;
        int64_t hold_ms, release_ms;     /* < 0 = null */
        double force_mean_n, force_peak_n, threshold_n;   /* < 0 = null */
} TestRep;

typedef struct TestStep {
        const char *point, *side, *kind, *label;
        int64_t target_hold_ms;
        size_t n_reps;
        TestRep reps[4];
} TestStep;

typedef struct TestSession {
        const char *id, *hub, *station, *athlete, *protocol, *status;
        int64_t started_ms, duration_ms;
        size_t n_steps;
        TestStep steps[8];
} TestSession;

static inline void test_iso(char *buf, size_t n, int64_t ms) {
        time_t s = (time_t) (ms / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        size_t k;

        /* strftime and an unsigned millisecond field: gcc cannot prove snprintf's int fields
         * fit (-Wformat-truncation in the plain build), though they always do. */
        k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + k, n - k, ".%03uZ", (unsigned) (((ms % 1000) + 1000) % 1000));
}

static inline json_object *test_num(double v) {
        return v < 0 ? NULL : json_object_new_double(v);
}

static inline json_object *test_int(int64_t v) {
        return v < 0 ? NULL : json_object_new_int64(v);
}

/* The document as tphubd serialises it (field order of docs/session.md). Caller frees. */
static inline char *test_session_json(const TestSession *t) {
        json_object *o = json_object_new_object(), *steps = json_object_new_array();
        char at[32];
        char *s;

        json_object_object_add(o, "id", json_object_new_string(t->id));
        json_object_object_add(o, "hub", json_object_new_string(t->hub ? t->hub : "gym-north"));
        json_object_object_add(o, "station", json_object_new_string(t->station ? t->station : "bench-1"));
        json_object_object_add(o, "athlete", t->athlete ? json_object_new_string(t->athlete) : NULL);
        json_object_object_add(o, "protocol", json_object_new_string(t->protocol ? t->protocol : "back-12"));
        json_object_object_add(o, "status", json_object_new_string(t->status ? t->status : "completed"));
        test_iso(at, sizeof at, t->started_ms);
        json_object_object_add(o, "started_at", json_object_new_string(at));
        test_iso(at, sizeof at, t->started_ms + t->duration_ms);
        json_object_object_add(o, "ended_at", json_object_new_string(at));
        json_object_object_add(o, "duration_ms", json_object_new_int64(t->duration_ms));
        for (size_t i = 0; i < t->n_steps; i++) {
                const TestStep *st = &t->steps[i];
                json_object *so = json_object_new_object(), *reps = json_object_new_array();
                json_object_object_add(so, "point", json_object_new_string(st->point));
                json_object_object_add(so, "label", json_object_new_string(st->label ? st->label : "a point"));
                json_object_object_add(so, "side", st->side ? json_object_new_string(st->side) : NULL);
                json_object_object_add(so, "muscle", NULL);
                json_object_object_add(so, "kind", json_object_new_string(st->kind ? st->kind : "press"));
                json_object_object_add(so, "target_hold_ms", json_object_new_int64(st->target_hold_ms));
                for (size_t j = 0; j < st->n_reps; j++) {
                        const TestRep *r = &st->reps[j];
                        json_object *ro = json_object_new_object();
                        json_object_object_add(ro, "outcome", json_object_new_string(r->outcome ? r->outcome : "completed"));
                        json_object_object_add(ro, "attempt", json_object_new_int(1));
                        json_object_object_add(ro, "started_ms", json_object_new_int64((int64_t) j * 20000));
                        json_object_object_add(ro, "hold_ms", test_int(r->hold_ms));
                        json_object_object_add(ro, "release_ms", test_int(r->release_ms));
                        json_object_object_add(ro, "release_too_fast", r->release_ms < 0 ? NULL :
                                               json_object_new_boolean(r->release_ms < 2000));
                        json_object_object_add(ro, "over_hold", json_object_new_boolean(0));
                        json_object_object_add(ro, "over_force_warnings", json_object_new_int(0));
                        json_object_object_add(ro, "force_mean_n", test_num(r->force_mean_n));
                        json_object_object_add(ro, "force_peak_n", test_num(r->force_peak_n));
                        if (st->kind && !strcmp(st->kind, "measure"))
                                json_object_object_add(ro, "threshold_n", test_num(r->threshold_n));
                        json_object_array_add(reps, ro);
                }
                json_object_object_add(so, "reps", reps);
                json_object_array_add(steps, so);
        }
        json_object_object_add(o, "steps", steps);
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return s;
}
