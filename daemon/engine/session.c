/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "engine/session.h"
#include "shared/macro.h"

Session *session_free(Session *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_steps; i++)
                free(s->steps[i].reps);
        free(s->steps);
        free(s->id);
        free(s->hub);
        free(s->station);
        free(s->athlete);
        free(s->protocol);
        free(s);
        return NULL;
}

SessionRep *session_step_add_rep(SessionStep *st) {
        if (st->n_reps == st->n_reps_allocated) {
                size_t n = MAX(st->n_reps_allocated * 2, (size_t) 4);
                SessionRep *r = reallocarray(st->reps, n, sizeof(SessionRep));
                if (!r)
                        return NULL;
                st->reps = r;
                st->n_reps_allocated = n;
        }
        SessionRep *rep = &st->reps[st->n_reps++];
        *rep = (SessionRep) {
                .hold_ms = MS_UNKNOWN,
                .hold_started_ms = MS_UNKNOWN,
                .release_ms = MS_UNKNOWN,
        };
        return rep;
}

static int strdup_or_null(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -1;
}

Session *session_dup(const Session *s) {
        _cleanup_(session_freep) Session *d = calloc(1, sizeof(Session));
        if (!d)
                return NULL;

        d->status = s->status;
        d->started_mono = s->started_mono;
        d->ended_mono = s->ended_mono;
        d->wall_offset_ns = s->wall_offset_ns;
        if (strdup_or_null(s->id, &d->id) < 0 || strdup_or_null(s->hub, &d->hub) < 0 ||
            strdup_or_null(s->station, &d->station) < 0 ||
            strdup_or_null(s->athlete, &d->athlete) < 0 ||
            strdup_or_null(s->protocol, &d->protocol) < 0)
                return NULL;

        d->steps = calloc(MAX(s->n_steps, (size_t) 1), sizeof(SessionStep));
        if (!d->steps)
                return NULL;
        d->n_steps = s->n_steps;
        for (size_t i = 0; i < s->n_steps; i++) {
                const SessionStep *from = &s->steps[i];
                SessionStep *to = &d->steps[i];

                to->protocol_step = from->protocol_step;
                if (from->n_reps == 0)
                        continue;
                to->reps = reallocarray(NULL, from->n_reps, sizeof(SessionRep));
                if (!to->reps)
                        return NULL;
                memcpy(to->reps, from->reps, from->n_reps * sizeof(SessionRep));
                to->n_reps = to->n_reps_allocated = from->n_reps;
        }
        return TAKE_PTR(d);
}

static const char *const status_names[_SESSION_STATUS_MAX] = {
        [SESSION_RUNNING] = "running",
        [SESSION_COMPLETED] = "completed",
        [SESSION_ABANDONED] = "abandoned",
        [SESSION_ABORTED] = "aborted",
        [SESSION_INTERRUPTED] = "interrupted",
};

static const char *const outcome_names[_REP_OUTCOME_MAX] = {
        [REP_COMPLETED] = "completed",
        [REP_EARLY_RELEASE] = "early_release",
        [REP_NOT_RELEASED] = "not_released",
        [REP_OVER_FORCE] = "over_force",
        [REP_TOOL_LOST] = "tool_lost",
        [REP_SKIPPED] = "skipped",
};

const char *session_status_to_string(SessionStatus s) {
        return (unsigned) s < _SESSION_STATUS_MAX ? status_names[s] : NULL;
}

SessionStatus session_status_from_string(const char *s) {
        for (int i = 0; s && i < _SESSION_STATUS_MAX; i++)
                if (strcmp(status_names[i], s) == 0)
                        return (SessionStatus) i;
        return _SESSION_STATUS_INVALID;
}

const char *rep_outcome_to_string(RepOutcome o) {
        return (unsigned) o < _REP_OUTCOME_MAX ? outcome_names[o] : NULL;
}

RepOutcome rep_outcome_from_string(const char *s) {
        for (int i = 0; s && i < _REP_OUTCOME_MAX; i++)
                if (strcmp(outcome_names[i], s) == 0)
                        return (RepOutcome) i;
        return _REP_OUTCOME_INVALID;
}
