/* SPDX-License-Identifier: MIT */
#include "engine/switch-gesture.h"

void switch_gesture_init(SwitchGestureState *s, const SwitchGestureParams *p) {
        *s = (SwitchGestureState) { .params = *p };
}

void switch_gesture_level(SwitchGestureState *s, bool active, nsec_t now,
                          SwitchGesture out[static 2], unsigned *n) {
        *n = 0;
        if (active == s->pressed)
                return;

        s->pressed = active;
        if (active) {
                s->pressed_at = now;
                s->very_long_fired = false;
                out[(*n)++] = GESTURE_PRESS;
                return;
        }

        out[(*n)++] = GESTURE_RELEASE;
        if (s->very_long_fired)
                return;

        nsec_t held = now - s->pressed_at;
        if (held < nsec_from_ms(s->params.tap_max_ms))
                out[(*n)++] = GESTURE_TAP;
        else if (held >= nsec_from_ms(s->params.long_ms))
                out[(*n)++] = GESTURE_LONG;
}

nsec_t switch_gesture_deadline(const SwitchGestureState *s) {
        if (!s->pressed || s->very_long_fired)
                return NSEC_INFINITY;
        return s->pressed_at + nsec_from_ms(s->params.very_long_ms);
}

SwitchGesture switch_gesture_tick(SwitchGestureState *s, nsec_t now) {
        if (!s->pressed || s->very_long_fired)
                return GESTURE_NONE;
        if (now < s->pressed_at + nsec_from_ms(s->params.very_long_ms))
                return GESTURE_NONE;
        s->very_long_fired = true;
        return GESTURE_VERY_LONG;
}

const char *switch_gesture_to_string(SwitchGesture g) {
        static const char *const names[] = {
                [GESTURE_NONE] = "none",
                [GESTURE_PRESS] = "press",
                [GESTURE_RELEASE] = "release",
                [GESTURE_TAP] = "tap",
                [GESTURE_LONG] = "long",
                [GESTURE_VERY_LONG] = "very_long",
        };
        return (unsigned) g < sizeof(names) / sizeof(names[0]) ? names[g] : "invalid";
}
