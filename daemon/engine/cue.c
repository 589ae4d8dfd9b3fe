/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "engine/cue.h"

const char *cue_kind_to_string(CueKind k) {
        static const char *const names[_CUE_KIND_MAX] = {
                [CUE_IDLE] = "idle",
                [CUE_POINT] = "point",
                [CUE_PRESSING] = "pressing",
                [CUE_HOLD] = "hold",
                [CUE_RELEASE] = "release",
                [CUE_REST] = "rest",
                [CUE_PAUSED] = "paused",
                [CUE_DONE] = "done",
        };
        return (unsigned) k < _CUE_KIND_MAX ? names[k] : NULL;
}

bool cue_equal(const Cue *a, const Cue *b) {
        return a->kind == b->kind && a->warnings == b->warnings && a->step == b->step &&
               a->rep == b->rep && a->since_ns == b->since_ns && a->due_ns == b->due_ns &&
               a->release == b->release && a->away == b->away &&
               a->tap_counts_ns == b->tap_counts_ns && a->not_yet_ns == b->not_yet_ns;
}

const char *cue_release_to_string(CueRelease r) {
        static const char *const names[_CUE_RELEASE_MAX] = {
                [CUE_RELEASE_NONE] = NULL,
                [CUE_RELEASE_DONE] = "done",
                [CUE_RELEASE_NOT_RELEASED] = "not_released",
                [CUE_RELEASE_OVER_FORCE] = "over_force",
        };
        return (unsigned) r < _CUE_RELEASE_MAX ? names[r] : NULL;
}
