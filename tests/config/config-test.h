/* SPDX-License-Identifier: MIT */
#pragma once

/* What the config, protocol and trace tests share on top of the one C test harness
 * (tests/common/tap.h): a private temporary directory to write files into, exact comparison
 * of collected error messages, and CHECK_OR_NULL* for helpers that return a pointer (they report
 * like CHECK and return NULL; the caller's CHECK on the result ends the case). */

#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config-errors.h"
#include "tap.h"

/* Setup that cannot go on (no temporary directory): TAP's "Bail out!" stops the whole file. */
#define BAIL_UNLESS(c)                                                                  \
        do {                                                                            \
                if (!(c)) {                                                             \
                        printf("Bail out! %s:%d: %s\n", __FILE__, __LINE__, #c);        \
                        exit(EXIT_FAILURE);                                             \
                }                                                                       \
        } while (0)

#define TAP_FAIL_NULL(...)                                                       \
        do {                                                                    \
                if (!tap_failed) {                                              \
                        printf("# %s:%d: ", __FILE__, __LINE__);                \
                        printf(__VA_ARGS__);                                    \
                        printf("\n");                                           \
                }                                                               \
                tap_failed = 1;                                                 \
                return NULL;                                                    \
        } while (0)
#define CHECK_OR_NULL(c) do { if (!(c)) TAP_FAIL_NULL("check failed: %s", #c); } while (0)
#define CHECK_EQ_OR_NULL(a, b)                                                        \
        do {                                                                    \
                long long _a = (long long) (a), _b = (long long) (b);           \
                if (_a != _b)                                                   \
                        TAP_FAIL_NULL("%s == %s: %lld != %lld", #a, #b, _a, _b); \
        } while (0)
#define CHECK_STR_OR_NULL(a, b)                                                                       \
        do {                                                                                    \
                const char *_a = (a), *_b = (b);                                                \
                if (!_a || !_b || strcmp(_a, _b) != 0)                                          \
                        TAP_FAIL_NULL("%s == %s: \"%s\" != \"%s\"", #a, #b, _a ?: "(null)", _b ?: "(null)"); \
        } while (0)

static char test_dir[] = "/tmp/tphub-test-XXXXXX";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        return remove(p);
}

static void test_dir_remove(void) {
        nftw(test_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void test_dir_create(void) {
        BAIL_UNLESS(mkdtemp(test_dir));
        atexit(test_dir_remove);
}

/* Writes DIR/name (creating subdirectories as needed); returns the path (malloc'd). */
static inline char *test_write(const char *name, const char *content) {
        char *path;
        FILE *f;

        BAIL_UNLESS(asprintf(&path, "%s/%s", test_dir, name) > 0);
        for (char *s = path + strlen(test_dir) + 1; (s = strchr(s, '/')); s++) {
                *s = 0;
                BAIL_UNLESS(mkdir(path, 0755) == 0 || errno == EEXIST);
                *s = '/';
        }
        f = fopen(path, "w");
        BAIL_UNLESS(f);
        BAIL_UNLESS(fputs(content, f) >= 0);
        BAIL_UNLESS(fclose(f) == 0);
        return path;
}

/* Exact comparison: the errors must be these, in this order. "@" at the start of an
 * expected message stands for prefix (usually the file name). On a difference, both lists
 * go to the TAP output and false comes back. */
static inline bool errors_equal_at(const char *file, int line, const ConfigErrors *e, const char *prefix,
                                   const char *const *expected) {
        size_t n = 0;
        bool ok;

        while (expected[n])
                n++;
        ok = e->n == n;
        for (size_t i = 0; ok && i < n; i++) {
                const char *x = expected[i];
                if (x[0] == '@')
                        ok = strncmp(e->msgs[i], prefix, strlen(prefix)) == 0 &&
                             strcmp(e->msgs[i] + strlen(prefix), x + 1) == 0;
                else
                        ok = strcmp(e->msgs[i], x) == 0;
        }
        if (ok)
                return true;
        printf("# %s:%d: errors differ.\n# Got %zu:\n", file, line, e->n);
        for (size_t i = 0; i < e->n; i++)
                printf("#   %s\n", e->msgs[i]);
        printf("# Expected %zu (@ = %s):\n", n, prefix);
        for (size_t i = 0; i < n; i++)
                printf("#   %s\n", expected[i]);
        return false;
}

#define check_errors_at(file, line, e, prefix, expected) CHECK(errors_equal_at(file, line, e, prefix, expected))
#define check_errors(e, prefix, ...) \
        check_errors_at(__FILE__, __LINE__, e, prefix, ((const char *const[]) { __VA_ARGS__, NULL }))
