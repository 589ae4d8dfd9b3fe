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
