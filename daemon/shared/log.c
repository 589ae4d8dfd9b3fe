/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/log.h"

/* The daemon's log level is process state by nature, like errno. */
static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

static void log_va(int level, int error, const char *fmt, va_list ap) {
        char buf[2048];

        if (level > max_level)
                return;
        /* %m must print the error we were given, not whatever errno holds now. */
        errno = error < 0 ? -error : error;
        vsnprintf(buf, sizeof buf, fmt, ap);
        fprintf(stderr, "<%d>%s\n", level, buf);
}

void log_internal(int level, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_va(level, error, fmt, ap);
        va_end(ap);
}

int log_internal_errno(int level, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_va(level, error, fmt, ap);
        va_end(ap);
        return error < 0 ? error : -error;
}
