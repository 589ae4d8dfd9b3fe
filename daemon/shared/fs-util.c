/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "shared/fs-util.h"
#include "shared/macro.h"

int mkdir_p(const char *path, mode_t leaf_mode) {
        _cleanup_free_ char *p = NULL;

        if (!path || !*path)
                return -EINVAL;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                                return negative_errno();
                        *s = '/';
                }
        if (mkdir(p, leaf_mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}
