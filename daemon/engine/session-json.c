/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/session-json.h"
#include "shared/macro.h"
#include "shared/time-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* json-c prints doubles with up to 17 significant digits; a tenth of a millinewton is
 * more than any tool resolves, and stable output makes records diffable. */
static json_object *json_newtons(double v) {
        return json_object_new_double(round(v * 10000.0) / 10000.0);
}

static int add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *json_string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

/* Takes ownership of v in every case: callers build the value before knowing it is unused. */
static int add_nullable(json_object *o, const char *key, json_object *v, bool is_null) {
        if (is_null) {
                json_object_put(v);
                return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
        }
        return add(o, key, v);
}

static int add_ms(json_object *o, const char *key, int64_t ms) {
        return add_nullable(o, key, ms == MS_UNKNOWN ? NULL : json_object_new_int64(ms), ms == MS_UNKNOWN);
}

static int add_time(json_object *o, const char *key, const Session *s, nsec_t mono) {
        char buf[32];
        nsec_t real = (nsec_t) ((int64_t) mono + s->wall_offset_ns);

        if (mono == 0)
                return add_nullable(o, key, NULL, true);
        return add(o, key, json_object_new_string(format_iso8601(buf, sizeof buf, real)));
}

static int rep_to_json(const SessionRep *rep, const ProtocolStep *ps, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        int r;

        if (!o)
                return -ENOMEM;
        if ((r = add(o, "outcome", json_object_new_string(rep_outcome_to_string(rep->outcome)))) < 0 ||
            (r = add(o, "attempt", json_object_new_int((int) rep->attempt))) < 0 ||
            (r = add(o, "started_ms", json_object_new_int64(rep->started_ms))) < 0 ||
            (r = add_ms(o, "hold_started_ms", rep->hold_started_ms)) < 0 ||
            (r = add_ms(o, "hold_ms", rep->hold_ms)) < 0 ||
            (r = add_ms(o, "release_ms", rep->release_ms)) < 0 ||
            (r = add_nullable(o, "release_too_fast", json_object_new_boolean(rep->release_too_fast),
                              rep->release_ms == MS_UNKNOWN)) < 0 ||
            (r = add(o, "over_hold", json_object_new_boolean(rep->over_hold))) < 0 ||
            (r = add(o, "over_force_warnings", json_object_new_int((int) rep->over_force_warnings))) < 0 ||
            (r = add_nullable(o, "force_mean_n", json_newtons(rep->force_mean_n), !rep->has_force)) < 0 ||
            (r = add_nullable(o, "force_peak_n", json_newtons(rep->force_peak_n), !rep->has_force)) < 0)
                return r;
        if (ps->kind == STEP_MEASURE) {
                if ((r = add_nullable(o, "threshold_n", json_newtons(rep->threshold_n), !rep->has_threshold)) < 0 ||
                    (r = add_nullable(o, "ramp_n_per_s", json_newtons(rep->ramp_n_per_s), !rep->has_threshold)) < 0)
                        return r;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

static int step_to_json(const SessionStep *st, const ProtocolStep *ps, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *reps = json_object_new_array();
        double sum = 0;
        unsigned n = 0;
        int r;

        if (!o || !reps)
                return -ENOMEM;
        if ((r = add(o, "point", json_object_new_string(ps->point))) < 0 ||
            (r = add(o, "label", json_object_new_string(ps->label))) < 0 ||
            (r = add_nullable(o, "side", json_string_or_null(ps->side), !ps->side)) < 0 ||
            (r = add_nullable(o, "muscle", json_string_or_null(ps->muscle), !ps->muscle)) < 0 ||
            (r = add(o, "kind", json_object_new_string(step_kind_to_string(ps->kind)))) < 0 ||
            (r = add(o, "target_hold_ms", json_object_new_int64(ps->target_hold_ms))) < 0)
                return r;

        for (size_t i = 0; i < st->n_reps; i++) {
                json_object *rep;

                r = rep_to_json(&st->reps[i], ps, &rep);
                if (r < 0)
                        return r;
                if (json_object_array_add(reps, rep) < 0) {
                        json_object_put(rep);
                        return -ENOMEM;
                }
                if (st->reps[i].has_threshold && st->reps[i].outcome == REP_COMPLETED) {
                        sum += st->reps[i].threshold_n;
                        n++;
                }
        }
        if ((r = add(o, "reps", TAKE_PTR(reps))) < 0)
                return r;
        if (ps->kind == STEP_MEASURE &&
            (r = add_nullable(o, "threshold_mean_n", json_newtons(n ? sum / n : 0), n == 0)) < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int session_to_json(const Session *s, const Protocol *protocol, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *steps = json_object_new_array();
        int r;

        if (!o || !steps)
                return -ENOMEM;
        if (s->n_steps != protocol->n_steps)
                return -EINVAL;

        if ((r = add(o, "id", json_object_new_string(s->id))) < 0 ||
            (r = add(o, "hub", json_object_new_string(s->hub))) < 0 ||
            (r = add(o, "station", json_object_new_string(s->station))) < 0 ||
            (r = add_nullable(o, "athlete", json_string_or_null(s->athlete), !s->athlete)) < 0 ||
            (r = add(o, "protocol", json_object_new_string(s->protocol))) < 0 ||
            (r = add(o, "safety_notice", json_object_new_string(protocol_safety_notice(protocol)))) < 0 ||
            (r = add(o, "status", json_object_new_string(session_status_to_string(s->status)))) < 0 ||
            (r = add_time(o, "started_at", s, s->started_mono)) < 0 ||
            (r = add_time(o, "ended_at", s, s->ended_mono)) < 0 ||
            (r = add_nullable(o, "duration_ms", json_object_new_int64(
                                      s->ended_mono ? nsec_to_ms_round(s->ended_mono - s->started_mono) : 0),
                              s->ended_mono == 0)) < 0)
                return r;

        for (size_t i = 0; i < s->n_steps; i++) {
                json_object *step;

                r = step_to_json(&s->steps[i], &protocol->steps[s->steps[i].protocol_step], &step);
                if (r < 0)
                        return r;
                if (json_object_array_add(steps, step) < 0) {
                        json_object_put(step);
                        return -ENOMEM;
                }
        }
        if ((r = add(o, "steps", TAKE_PTR(steps))) < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int session_to_json_string(const Session *s, const Protocol *protocol, bool pretty, char **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        int r;

        r = session_to_json(s, protocol, &o);
        if (r < 0)
                return r;
        const char *str = json_object_to_json_string_ext(o, pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                                                   : JSON_C_TO_STRING_PLAIN);
        if (!str)
                return -ENOMEM;
        char *c = strdup(str);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}
