/* SPDX-License-Identifier: MIT */
#include "tap.h"

int tap_failed;

int tap_run(const TapCase *cases, size_t n, int argc, char **argv) {
        const char *only = argc > 1 ? argv[1] : NULL;
        size_t planned = 0, failed = 0, k = 0;

        for (size_t i = 0; i < n; i++)
                if (!only || strcmp(only, cases[i].name) == 0)
                        planned++;
        printf("1..%zu\n", planned);
        for (size_t i = 0; i < n; i++) {
                if (only && strcmp(only, cases[i].name) != 0)
                        continue;
                tap_failed = 0;
                cases[i].fn();
                printf("%s %zu - %s\n", tap_failed ? "not ok" : "ok", ++k, cases[i].name);
                fflush(stdout);
                if (tap_failed)
                        failed++;
        }
        return failed ? 1 : 0;
}
