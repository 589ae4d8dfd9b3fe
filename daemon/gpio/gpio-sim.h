/* SPDX-License-Identifier: MIT */
#pragma once

/* A simulated GPIO backend for host tests and the demo (gpio.backend = "sim"); never the
 * default. Pins spring into existence when first requested or driven. A pin is keyed by
 * its chip string and its line key: the line name when the spec has one, else the decimal
 * offset. Levels at this interface are PHYSICAL (what a voltmeter would show), so a
 * pulled-up active-low foot-switch reads 1 when released and 0 when pressed.
 *
 * Optional control socket (docs/gpio-sim.md): a unix SOCK_SEQPACKET socket, one message
 * per command or notification:
 *   client -> sim:  "in <chip> <line> <0|1>"   drive an input (like a pull on gpio-sim)
 *   client -> sim:  "state"                     one "out" per output pin (current level,
 *                                               time of its last change, 0 if never), then "ok"
 *   sim -> client:  "ok" or "err <reason>"      reply to each command
 *   sim -> client:  "out <line> <0|1> <mono_ns>" every output change, CLOCK_MONOTONIC */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "gpio/gpio-backend.h"

/* How many output changes the sim keeps (the newest): enough for any test's scenario,
 * bounded so that a demo or soak on the sim stays flat (8 stations change an output about
 * 40 times a second in a countdown). */
#define GPIO_SIM_RECORD_MAX 1024

typedef struct GpioSimEdge {
        const char *chip;    /* the pin's names: valid as long as the backend */
        const char *line;
        bool value;          /* physical */
        nsec_t at;           /* CLOCK_MONOTONIC when set-value was called */
} GpioSimEdge;

/* event and socket_path may both be NULL: no control socket, in-process API only. */
int gpio_sim_new(sd_event *event, const char *socket_path, GpioBackend **ret);

/* True when b was made by gpio_sim_new(); the functions below return -EINVAL otherwise. */
bool gpio_backend_is_sim(const GpioBackend *b);

/* Drives an input pin to a physical level. ts is the edge's timestamp (0 = now), as the
 * kernel would stamp it at the interrupt. Produces an edge event if the logical level of
 * a requested input changes. */
int gpio_sim_set_input(GpioBackend *b, const char *chip, const char *line, bool level, nsec_t ts);

/* Physical level of a pin (input or output): 0/1, -ENOENT if never seen. */
int gpio_sim_get_level(GpioBackend *b, const char *chip, const char *line);

/* The output changes since the last clear, oldest first: all of them, or the newest
 * GPIO_SIM_RECORD_MAX when there were more. Valid until the next change. */
const GpioSimEdge *gpio_sim_get_record(GpioBackend *b, size_t *ret_n);
/* How many older changes the bound dropped since the last clear. */
uint64_t gpio_sim_get_record_dropped(GpioBackend *b);
void gpio_sim_clear_record(GpioBackend *b);
