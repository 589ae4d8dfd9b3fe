/* SPDX-License-Identifier: MIT */
#pragma once

/* Turns a debounced foot-switch level into gestures: tap (released before tap_max_ms),
 * long (released after long_ms) and very long (fires while still held, at very_long_ms).
 * A press held between tap_max_ms and long_ms is ignored on purpose: it was neither.
 * Pure: levels and time are passed in; the caller arms a timer for the deadline. */

#include <stdbool.h>
#include <stdint.h>

#include "shared/time-util.h"

typedef enum SwitchGesture {
        GESTURE_NONE,
        GESTURE_PRESS,     /* level went active (informational) */
        GESTURE_RELEASE,   /* level went inactive (informational) */
        GESTURE_TAP,
        GESTURE_LONG,
        GESTURE_VERY_LONG,
} SwitchGesture;

typedef struct SwitchGestureParams {
        uint32_t tap_max_ms;
        uint32_t long_ms;
        uint32_t very_long_ms;
} SwitchGestureParams;

#define SWITCH_GESTURE_PARAMS_DEFAULT \
        (SwitchGestureParams) { .tap_max_ms = 600, .long_ms = 1500, .very_long_ms = 5000 }

typedef struct SwitchGestureState {
        SwitchGestureParams params;
        bool pressed;
        bool very_long_fired;
        nsec_t pressed_at;
} SwitchGestureState;

void switch_gesture_init(SwitchGestureState *s, const SwitchGestureParams *p);

/* Feeds a level change; returns the gestures it produced (at most two: the
 * informational PRESS/RELEASE first, then TAP/LONG), count in *n. */
void switch_gesture_level(SwitchGestureState *s, bool active, nsec_t now,
                          SwitchGesture out[static 2], unsigned *n);

/* When the very-long gesture is due, NSEC_INFINITY if not pressed. */
nsec_t switch_gesture_deadline(const SwitchGestureState *s);

/* Call at or after the deadline: returns GESTURE_VERY_LONG once per press. */
SwitchGesture switch_gesture_tick(SwitchGestureState *s, nsec_t now);

const char *switch_gesture_to_string(SwitchGesture g);
