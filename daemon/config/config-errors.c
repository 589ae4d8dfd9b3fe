/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config-errors.h"
#include "shared/macro.h"

void config_errors_clear(ConfigErrors *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n; i++)
                free(e->msgs[i]);
        free(e->msgs);
        *e = (ConfigErrors) {};
}

int config_errors_add(ConfigErrors *e, const char *file, int line, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL, *full = NULL;
        va_list ap;
        int r;

        /* Callers use this as "return config_errors_add(...)" even when nobody collects. */
        if (!e)
                return -EINVAL;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0) {
                msg = NULL;
                return -ENOMEM;
        }

        if (line > 0)
                r = asprintf(&full, "%s:%d: %s", file ?: "<config>", line, msg);
        else
                r = asprintf(&full, "%s: %s", file ?: "<config>", msg);
        if (r < 0) {
                full = NULL;
                return -ENOMEM;
        }

        char **m = reallocarray(e->msgs, e->n + 1, sizeof(char *));
        if (!m)
                return -ENOMEM;
        e->msgs = m;
        e->msgs[e->n++] = TAKE_PTR(full);
        return -EINVAL;
}
