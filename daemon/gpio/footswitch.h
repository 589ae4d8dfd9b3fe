/* SPDX-License-Identifier: MIT */
#pragma once

/* A foot-switch on one input line: edge events through the loop, software debounce (the
 * v1 uAPI has none), then tap/long/very-long classification (engine/switch-gesture.h).
 *
 * Debounce: every edge (re)arms a one-shot timer debounce_ms after the latest edge; when
 * it fires the level is read back and, if it differs from the last confirmed level, the
 * change is confirmed with the timestamp of the FIRST edge of the burst (when the foot
 * actually moved), so gesture durations are not skewed by bounce or by the debounce delay.
 * A pulse shorter than debounce_ms that returns to the old level gives nothing.
 * A switch already held at start-up is ignored until it has been released once. */

#include <stdint.h>
#include <systemd/sd-event.h>

#include "engine/switch-gesture.h"
#include "gpio/gpio-backend.h"

typedef struct Footswitch Footswitch;

/* The debounce the configuration starts from (docs/config.md, switch.debounce_ms). */
#define FOOTSWITCH_DEFAULT_DEBOUNCE_MS 20U

/* at: CLOCK_MONOTONIC of the gesture (the edge for press/release/tap/long, the deadline
 * for very-long, which fires while the switch is still held). */
typedef void (*FootswitchGestureFn)(SwitchGesture g, nsec_t at, void *userdata);

int footswitch_new(Footswitch **ret, sd_event *event, GpioBackend *backend,
                   const GpioLineSpec *line, uint32_t debounce_ms,
                   const SwitchGestureParams *params, FootswitchGestureFn gesture, void *userdata);
Footswitch *footswitch_free(Footswitch *f);

/* Called once if the line becomes unreadable for good (a chip gone): the foot-switch then
 * stops watching it, rather than spinning on a readable fd that yields only errors. */
typedef void (*FootswitchErrorFn)(int error, void *userdata);
void footswitch_set_error_callback(Footswitch *f, FootswitchErrorFn fn, void *userdata);

/* Debounced level: true while pressed. */
bool footswitch_is_pressed(const Footswitch *f);

static inline void footswitch_freep(Footswitch **f) {
        if (*f)
                footswitch_free(*f);
}
