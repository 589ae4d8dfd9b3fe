/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "recorder/session-doc.h"
#include "shared/iso8601.h"
#include "shared/session-id.h"

/* Bounds a sane session stays far inside: ten years of ms, a day of hold. */
#define MAX_EPOCH_MS INT64_C(253402300799999)    /* 9999-12-31T23:59:59.999Z */
#define MAX_DURATION_MS (INT64_C(7) * 24 * 3600 * 1000)
#define MAX_FORCE_N 100000.0

int session_doc_name_valid(const char *s) {
        size_t n;

        if (!s)
                return 0;
        n = strlen(s);
        return n >= 1 && n <= SESSION_DOC_NAME_MAX &&
               strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

SessionDoc *session_doc_free(SessionDoc *d) {
        if (!d)
                return NULL;
        free(d->reps);
        free(d->canonical);
        json_object_put(d->json);
        free(d);
        return NULL;
}

static const char *const statuses[] = { "completed", "abandoned", "aborted", "interrupted", NULL };
static const char *const sides[] = { "left", "right", "center", "both", NULL };
static const char *const kinds[] = { "press", "stretch", "measure", NULL };
static const char *const outcomes[] = { "completed", "early_release", "not_released", "over_force",
                                        "tool_lost", "skipped", NULL };

static int in_set(const char *const *set, const char *s) {
        for (; *set; set++)
                if (!strcmp(*set, s))
                        return 1;
        return 0;
}

/* Each check returns NULL when fine, else the message. */
typedef const char *Err;

static json_object *field(json_object *o, const char *key) {
        json_object *v = NULL;

        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int present(json_object *o, const char *key) {
        return json_object_object_get_ex(o, key, NULL);
}

/* A string without embedded NUL bytes (JSON allows "\u0000"; C strings and our stores do not). */
static const char *plain_string(json_object *v, size_t max) {
        size_t n;
        const char *s;

        if (!v || !json_object_is_type(v, json_type_string))
                return NULL;
        s = json_object_get_string(v);
        n = (size_t) json_object_get_string_len(v);
        if (strlen(s) != n || n > max)
                return NULL;
        return s;
}

static Err get_name(json_object *o, const char *key, int nullable, const char **ret, Err type_err, Err value_err) {
        json_object *v;

        if (!present(o, key))
                return type_err;
        v = field(o, key);
        if (!v) {
                if (!nullable)
                        return type_err;
                *ret = NULL;
                return NULL;
        }
        if (!json_object_is_type(v, json_type_string))
                return type_err;
        *ret = plain_string(v, SESSION_DOC_NAME_MAX);
        if (!*ret || !session_doc_name_valid(*ret))
                return value_err;
        return NULL;
}

static Err get_int(json_object *o, const char *key, int required, int nullable, int64_t lo, int64_t hi,
                   DocInt *ret, Err err) {
        json_object *v;

        *ret = (DocInt) {};
        if (!present(o, key))
                return required ? err : NULL;
        v = field(o, key);
        if (!v)
                return nullable ? NULL : err;
        if (!json_object_is_type(v, json_type_int))
                return err;
        errno = 0;
        ret->v = json_object_get_int64(v);
        if (errno != 0 || ret->v < lo || ret->v > hi)
                return err;
        ret->has = 1;
        return NULL;
}

static Err get_number(json_object *o, const char *key, int required, double lo, double hi, DocNumber *ret, Err err) {
        json_object *v;

        *ret = (DocNumber) {};
        if (!present(o, key))
                return required ? err : NULL;
        v = field(o, key);
        if (!v)
                return NULL;
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
                return err;
        ret->v = json_object_get_double(v);
        if (!isfinite(ret->v) || ret->v < lo || ret->v > hi)
                return err;
        ret->has = 1;
        return NULL;
}

static Err get_bool(json_object *o, const char *key, int required, int nullable, Err err) {
        json_object *v;

        if (!present(o, key))
                return required ? err : NULL;
        v = field(o, key);
        if (!v)
                return nullable ? NULL : err;
        return json_object_is_type(v, json_type_boolean) ? NULL : err;
}

static Err get_enum(json_object *o, const char *key, int nullable, const char *const *set, const char **ret, Err err) {
        json_object *v;

        *ret = NULL;
        if (!present(o, key))
                return err;
        v = field(o, key);
        if (!v)
                return nullable ? NULL : err;
        *ret = plain_string(v, 32);
        return *ret && in_set(set, *ret) ? NULL : err;
}

static Err get_text(json_object *o, const char *key, int nullable, Err err) {
        json_object *v;

        if (!present(o, key))
                return err;
        v = field(o, key);
        if (!v)
                return nullable ? NULL : err;
        return plain_string(v, SESSION_DOC_TEXT_MAX) ? NULL : err;
}

static Err parse_rep(json_object *r, SessionRep *rep) {
        DocInt attempt, warnings;
        Err e;

        if (!json_object_is_type(r, json_type_object))
                return "a rep is not an object";
        if ((e = get_enum(r, "outcome", 0, outcomes, &rep->outcome, "rep \"outcome\" is missing or unknown")) ||
            (e = get_int(r, "attempt", 1, 0, 1, 1000, &attempt, "rep \"attempt\" must be an integer 1-1000")) ||
            (e = get_int(r, "started_ms", 1, 0, 0, MAX_DURATION_MS, &rep->started_ms,
                         "rep \"started_ms\" must be a non-negative integer")) ||
            (e = get_int(r, "hold_ms", 1, 1, 0, MAX_DURATION_MS, &rep->hold_ms,
                         "rep \"hold_ms\" must be a non-negative integer or null")) ||
            (e = get_int(r, "release_ms", 1, 1, 0, MAX_DURATION_MS, &rep->release_ms,
                         "rep \"release_ms\" must be a non-negative integer or null")) ||
            (e = get_bool(r, "release_too_fast", 0, 1, "rep \"release_too_fast\" must be a boolean or null")) ||
            (e = get_bool(r, "over_hold", 0, 0, "rep \"over_hold\" must be a boolean")) ||
            (e = get_int(r, "over_force_warnings", 0, 0, 0, 1000000, &warnings,
                         "rep \"over_force_warnings\" must be a non-negative integer")) ||
            (e = get_number(r, "force_mean_n", 0, -MAX_FORCE_N, MAX_FORCE_N, &rep->force_mean_n,
                            "rep \"force_mean_n\" must be a number or null")) ||
            (e = get_number(r, "force_peak_n", 0, -MAX_FORCE_N, MAX_FORCE_N, &rep->force_peak_n,
                            "rep \"force_peak_n\" must be a number or null")) ||
            (e = get_number(r, "threshold_n", 0, -MAX_FORCE_N, MAX_FORCE_N, &rep->threshold_n,
                            "rep \"threshold_n\" must be a number or null")))
                return e;
        rep->attempt = attempt.v;
        return NULL;
}

static Err parse_steps(SessionDoc *d, json_object *steps) {
        size_t n_steps, total = 0;
        DocNumber unused;
        Err e;

        if (!steps || !json_object_is_type(steps, json_type_array))
                return "\"steps\" must be an array";
        n_steps = json_object_array_length(steps);
        if (n_steps > SESSION_DOC_MAX_STEPS)
                return "too many steps";
        for (size_t i = 0; i < n_steps; i++) {
                json_object *s = json_object_array_get_idx(steps, i), *reps;
                if (!json_object_is_type(s, json_type_object))
                        return "a step is not an object";
                reps = field(s, "reps");
                if (!reps || !json_object_is_type(reps, json_type_array))
                        return "step \"reps\" must be an array";
                if (json_object_array_length(reps) > SESSION_DOC_MAX_REPS)
                        return "too many reps in a step";
                total += json_object_array_length(reps);
        }
        d->reps = calloc(total ? total : 1, sizeof(SessionRep));
        if (!d->reps)
                return "out of memory";
        for (size_t i = 0; i < n_steps; i++) {
                json_object *s = json_object_array_get_idx(steps, i), *reps = field(s, "reps");
                const char *point, *side, *kind;
                DocInt target;

                if ((e = get_name(s, "point", 0, &point, "step \"point\" must be a string",
                                  "step \"point\" must be 1-64 characters of [A-Za-z0-9_.-]")) ||
                    (e = get_text(s, "label", 0, "step \"label\" must be a string of at most 512 bytes")) ||
                    (e = get_enum(s, "side", 1, sides, &side, "step \"side\" must be left, right, center, both or null")) ||
                    (e = get_text(s, "muscle", 1, "step \"muscle\" must be a string of at most 512 bytes or null")) ||
                    (e = get_enum(s, "kind", 0, kinds, &kind, "step \"kind\" must be press, stretch or measure")) ||
                    (e = get_int(s, "target_hold_ms", 1, 0, 0, MAX_DURATION_MS, &target,
                                 "step \"target_hold_ms\" must be a non-negative integer")) ||
                    (e = get_number(s, "threshold_mean_n", 0, -MAX_FORCE_N, MAX_FORCE_N, &unused,
                                    "step \"threshold_mean_n\" must be a number or null")))
                        return e;
                for (size_t j = 0; j < json_object_array_length(reps); j++) {
                        SessionRep *rep = &d->reps[d->n_reps];
                        *rep = (SessionRep) { .step = (unsigned) i, .rep = (unsigned) j, .point = point,
                                              .side = side, .kind = kind, .target_hold_ms = target };
                        if ((e = parse_rep(json_object_array_get_idx(reps, j), rep)))
                                return e;
                        d->n_reps++;
                }
        }
        return NULL;
}

static Err parse_session(SessionDoc *d, json_object *o) {
        const char *started, *ended;
        json_object *v;
        Err e;

        if ((e = get_name(o, "hub", 0, &d->hub, "\"hub\" must be a string",
                          "\"hub\" must be 1-64 characters of [A-Za-z0-9_.-]")) ||
            (e = get_name(o, "station", 0, &d->station, "\"station\" must be a string",
                          "\"station\" must be 1-64 characters of [A-Za-z0-9_.-]")) ||
            (e = get_name(o, "athlete", 1, &d->athlete, "\"athlete\" must be a string or null",
                          "\"athlete\" must be 1-64 characters of [A-Za-z0-9_.-]")) ||
            (e = get_name(o, "protocol", 0, &d->protocol, "\"protocol\" must be a string",
                          "\"protocol\" must be 1-64 characters of [A-Za-z0-9_.-]")) ||
            (e = get_enum(o, "status", 0, statuses, &d->status,
                          "\"status\" must be completed, abandoned, aborted or interrupted")))
                return e;

        v = field(o, "started_at");
        started = plain_string(v, 32);
        if (!started || iso8601_parse_ms(started, &d->started_at_ms) < 0 || d->started_at_ms > MAX_EPOCH_MS)
                return "\"started_at\" must be an ISO 8601 UTC time";
        if (!present(o, "ended_at"))
                return "\"ended_at\" must be an ISO 8601 UTC time or null";
        v = field(o, "ended_at");
        if (v) {
                ended = plain_string(v, 32);
                if (!ended || iso8601_parse_ms(ended, &d->ended_at_ms.v) < 0 || d->ended_at_ms.v > MAX_EPOCH_MS)
                        return "\"ended_at\" must be an ISO 8601 UTC time or null";
                d->ended_at_ms.has = 1;
        }
        if ((e = get_int(o, "duration_ms", 1, 1, 0, MAX_DURATION_MS, &d->duration_ms,
                         "\"duration_ms\" must be a non-negative integer or null")))
                return e;
        return parse_steps(d, field(o, "steps"));
}

static int only_blanks(const void *data, size_t from, size_t len) {
        for (size_t i = from; i < len; i++) {
                char c = ((const char *) data)[i];
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
                        return 0;
        }
        return 1;
}

int session_doc_parse(const void *data, size_t len, SessionDoc **ret, const char **ret_error) {
        SessionDoc *d;
        json_tokener *tok;
        json_object *o, *id;
        const char *s;
        Err e;

#define FAIL(msg) do { if (ret_error) *ret_error = (msg); return -EINVAL; } while (0)
        if (!ret || (!data && len > 0))
                return -EINVAL;
        *ret = NULL;
        if (len == 0)
                FAIL("empty document");
        if (len > SESSION_DOC_MAX_BYTES)
                FAIL("document too large (max 1 MiB)");
        if (memchr(data, 0, len))
                FAIL("document contains a NUL byte");

        tok = json_tokener_new_ex(SESSION_DOC_MAX_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, data, (int) len);
        if (!o || json_tokener_get_error(tok) != json_tokener_success || !only_blanks(data, json_tokener_get_parse_end(tok), len)) {
                int deep = json_tokener_get_error(tok) == json_tokener_error_depth;
                json_object_put(o);
                json_tokener_free(tok);
                FAIL(deep ? "JSON nested too deeply" : "invalid JSON");
        }
        json_tokener_free(tok);
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                FAIL("document must be a JSON object");
        }
        d = calloc(1, sizeof(*d));
        if (!d) {
                json_object_put(o);
                return -ENOMEM;
        }
        d->json = o;
        id = field(o, "id");
        s = plain_string(id, 32);
        if (!s || !session_id_valid(s))
                e = "\"id\" must be 32 lower-case hex digits";
        else {
                d->id = s;
                e = parse_session(d, o);
        }
        if (!e) {
                s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                d->canonical = s ? strdup(s) : NULL;
                if (!d->canonical)
                        e = "out of memory";
                else
                        d->canonical_len = strlen(d->canonical);
        }
        if (e) {
                session_doc_free(d);
                if (!strcmp(e, "out of memory"))
                        return -ENOMEM;
                FAIL(e);
        }
        *ret = d;
        return 0;
#undef FAIL
}
