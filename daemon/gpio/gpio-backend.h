/* SPDX-License-Identifier: MIT */
#pragma once

/* The seam between GPIO users (foot-switch, cue player) and where lines live: real chips
 * through libgpiod 1.6 (gpio-chip.c) or the simulator (gpio-sim.c). Users only request
 * lines and read/write logical levels; a backend implements GpioBackendOps.
 *
 * Levels are logical: with active_low set, 1 means "active" (pressed, lit). */

#include <stdbool.h>
#include <stddef.h>

#include "shared/time-util.h"

typedef enum GpioBias {
        GPIO_BIAS_AS_IS,
        GPIO_BIAS_DISABLE,
        GPIO_BIAS_PULL_UP,
        GPIO_BIAS_PULL_DOWN,
        _GPIO_BIAS_MAX,
        _GPIO_BIAS_INVALID = -1,
} GpioBias;

/* Names a line. chip is a chip name ("gpiochip0"), a path ("/dev/gpiochip0") or a label
 * ("pinctrl-bcm2711"). The line is found by name when name is non-NULL, else by offset. */
typedef struct GpioLineSpec {
        const char *chip;
        const char *name;
        unsigned offset;
        bool active_low;
        GpioBias bias;       /* inputs only */
} GpioLineSpec;

/* One edge seen on an input. ts is CLOCK_MONOTONIC when the hardware saw it. */
typedef struct GpioEdge {
        bool rising;         /* logical level went to 1 */
        nsec_t ts;
} GpioEdge;

typedef struct GpioBackend GpioBackend;
typedef struct GpioLine GpioLine;

typedef struct GpioBackendOps {
        const char *name;
        int (*request_input)(GpioBackend *b, const GpioLineSpec *spec, const char *consumer,
                             GpioLine **ret);
        int (*request_output)(GpioBackend *b, const GpioLineSpec *spec, const char *consumer,
                              bool initial, GpioLine **ret);
        int (*line_event_fd)(GpioLine *l);
        int (*line_read_events)(GpioLine *l, GpioEdge *buf, size_t n);
        int (*line_get_value)(GpioLine *l);
        int (*line_set_value)(GpioLine *l, bool value);
        void (*line_free)(GpioLine *l);
        void (*free)(GpioBackend *b);
} GpioBackendOps;

/* Backends embed these as their first member. */
struct GpioBackend {
        const GpioBackendOps *ops;
};

struct GpioLine {
        GpioBackend *backend;
};

/* Requests an input with edge events on both edges. */
int gpio_backend_request_input(GpioBackend *b, const GpioLineSpec *spec, const char *consumer,
                               GpioLine **ret);
/* Requests an output driven to the logical level `initial` from the start. */
int gpio_backend_request_output(GpioBackend *b, const GpioLineSpec *spec, const char *consumer,
                                bool initial, GpioLine **ret);
GpioBackend *gpio_backend_free(GpioBackend *b);

/* Readable when edges are pending; never read it directly, use gpio_line_read_events(). */
int gpio_line_event_fd(GpioLine *l);
/* Reads up to n pending edges without blocking: returns how many (>= 1), -EAGAIN when none. */
int gpio_line_read_events(GpioLine *l, GpioEdge *buf, size_t n);
/* Logical level: 0 or 1, or negative errno. */
int gpio_line_get_value(GpioLine *l);
int gpio_line_set_value(GpioLine *l, bool value);
/* Releases the line; an output keeps its last level. */
GpioLine *gpio_line_free(GpioLine *l);

const char *gpio_bias_to_string(GpioBias b);
/* "pull-up", "pull-down", "disable", "as-is"; _GPIO_BIAS_INVALID otherwise. */
GpioBias gpio_bias_from_string(const char *s);

static inline void gpio_backend_freep(GpioBackend **b) {
        if (*b)
                gpio_backend_free(*b);
}
static inline void gpio_line_freep(GpioLine **l) {
        if (*l)
                gpio_line_free(*l);
}
