/* SPDX-License-Identifier: MIT */
#pragma once

/* Collects every problem found in a file as "file:line: message", so that
 * --check-config can print them all at once. */

#include <stddef.h>

typedef struct ConfigErrors {
        char **msgs;
        size_t n;
} ConfigErrors;

void config_errors_clear(ConfigErrors *e);

/* line <= 0 omits the line. Returns -EINVAL (so callers can "return config_errors_add(...)"),
 * or -ENOMEM. */
int config_errors_add(ConfigErrors *e, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
