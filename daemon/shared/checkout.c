/* SPDX-License-Identifier: MIT */
/* Where a program built in a checkout finds the checkout's files. */

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/checkout.h"

#if !defined(TPHUB_BUILD_ROOT) || !defined(TPHUB_SOURCE_ROOT)
#error "meson passes TPHUB_BUILD_ROOT and TPHUB_SOURCE_ROOT"
#endif

bool checkout_running_from_build(void) {
        char exe[PATH_MAX], root[PATH_MAX];
        ssize_t n;
        size_t len;

        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0)
                return false;
        exe[n] = '\0';
        /* the build root as the kernel spells it (symlinks resolved), so both compare */
        if (!realpath(TPHUB_BUILD_ROOT, root))
                return false;
        len = strlen(root);
        return strncmp(exe, root, len) == 0 && exe[len] == '/';
}

const char *checkout_protocols_dir(void) {
        return checkout_running_from_build() ? TPHUB_SOURCE_ROOT "/config/protocols" : NULL;
}
