/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/protocol.h"
#include "shared/macro.h"

static void step_done(ProtocolStep *s) {
        free(s->point);
        free(s->muscle);
        free(s->side);
        free(s->label);
        free(s->instruction);
        free(s->find_prompt);
        free(s->hold_prompt);
}

Protocol *protocol_free(Protocol *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_steps; i++)
                step_done(&p->steps[i]);
        free(p->steps);
        free(p->name);
        free(p->title);
        free(p->description);
        free(p->source);
        free(p->safety_notice);
        free(p->voice);
        free(p);
        return NULL;
}

const char *protocol_safety_notice(const Protocol *p) {
        if (p && p->safety_notice)
                return p->safety_notice;
        return "Self-treatment, not a diagnosis. Do not press over an injury, a recent "
               "injection, broken skin, a vein, a nerve or a bone. Stop and see a clinician "
               "if the pain is sharp in a new way, spreads, numbs or tingles, or does not ease "
               "over a few sessions: other causes of muscle pain have to be ruled out first.";
}

#define FAIL(...) ({ snprintf(errbuf, errlen, __VA_ARGS__); return -EINVAL; })

int protocol_step_validate(const ProtocolStep *s, char *errbuf, size_t errlen) {
        if (!s->point || !*s->point)
                FAIL("point must be set");
        if (!s->label || !*s->label)
                FAIL("label must be set");
        if (s->reps < 1 || s->reps > 100)
                FAIL("reps must be between 1 and 100, not %u", s->reps);
        if (s->target_hold_ms == 0 && s->kind != STEP_MEASURE)
                FAIL("target_hold must be greater than 0");
        if (s->min_hold_ms > s->target_hold_ms)
                FAIL("min_hold (%u ms) must not exceed target_hold (%u ms)", s->min_hold_ms, s->target_hold_ms);
        if (s->max_hold_ms < s->target_hold_ms)
                FAIL("max_hold (%u ms) must not be below target_hold (%u ms)", s->max_hold_ms, s->target_hold_ms);
        if (s->kind == STEP_STRETCH && s->start != HOLD_START_TIMER)
                FAIL("a stretch step must use start = \"timer\"");
        if (s->kind != STEP_STRETCH && s->start == HOLD_START_TIMER)
                FAIL("start = \"timer\" is only for stretch steps");
        if (s->kind == STEP_MEASURE && s->start != HOLD_START_CONFIRM)
                FAIL("a measure step must use start = \"confirm\" (tap at first pain)");
        if (s->needs_release_tap && !s->tap_ends_hold)
                FAIL("needs_release_tap requires tap_ends_hold");
        if (s->not_released == NOT_RELEASED_REVISIT && (s->max_tries < 1 || s->max_tries > 10))
                FAIL("max_tries must be between 1 and 10, not %u", s->max_tries);

        if (s->kind == STEP_STRETCH)
                return 0;

        /* Forces: release < contact <= target band <= safety maximum. */
        if (!(isfinite(s->release_n) && isfinite(s->contact_n) && isfinite(s->target_min_n) &&
              isfinite(s->target_max_n) && isfinite(s->safety_max_n)))
                FAIL("force thresholds must be finite numbers");
        if (s->release_n < 0)
                FAIL("release_force must not be negative");
        if (!(s->release_n < s->contact_n))
                FAIL("release_force (%g N) must be below contact_force (%g N)", s->release_n, s->contact_n);
        if (s->kind == STEP_PRESS) {
                if (!(s->contact_n <= s->target_min_n))
                        FAIL("contact_force (%g N) must not exceed target_min (%g N)", s->contact_n, s->target_min_n);
                if (!(s->target_min_n < s->target_max_n))
                        FAIL("target_min (%g N) must be below target_max (%g N)", s->target_min_n, s->target_max_n);
                if (!(s->target_max_n <= s->safety_max_n))
                        FAIL("target_max (%g N) must not exceed safety_max (%g N)", s->target_max_n, s->safety_max_n);
        } else if (!(s->contact_n < s->safety_max_n))
                FAIL("contact_force (%g N) must be below safety_max (%g N)", s->contact_n, s->safety_max_n);
        return 0;
}

static const char *const step_kind_names[_STEP_KIND_MAX] = {
        [STEP_PRESS] = "press",
        [STEP_STRETCH] = "stretch",
        [STEP_MEASURE] = "measure",
};

static const char *const hold_start_names[_HOLD_START_MAX] = {
        [HOLD_START_AUTO] = "auto",
        [HOLD_START_CONFIRM] = "confirm",
        [HOLD_START_TIMER] = "timer",
};

static const char *const not_released_names[_NOT_RELEASED_MAX] = {
        [NOT_RELEASED_CONTINUE] = "continue",
        [NOT_RELEASED_REVISIT] = "revisit",
};

static int lookup(const char *const *names, int n, const char *s) {
        if (!s)
                return -1;
        for (int i = 0; i < n; i++)
                if (names[i] && strcmp(names[i], s) == 0)
                        return i;
        return -1;
}

const char *step_kind_to_string(StepKind k) {
        return (unsigned) k < _STEP_KIND_MAX ? step_kind_names[k] : NULL;
}
StepKind step_kind_from_string(const char *s) {
        return (StepKind) lookup(step_kind_names, _STEP_KIND_MAX, s);
}
const char *hold_start_to_string(HoldStart h) {
        return (unsigned) h < _HOLD_START_MAX ? hold_start_names[h] : NULL;
}
HoldStart hold_start_from_string(const char *s) {
        return (HoldStart) lookup(hold_start_names, _HOLD_START_MAX, s);
}
const char *not_released_to_string(NotReleased n) {
        return (unsigned) n < _NOT_RELEASED_MAX ? not_released_names[n] : NULL;
}
NotReleased not_released_from_string(const char *s) {
        return (NotReleased) lookup(not_released_names, _NOT_RELEASED_MAX, s);
}
