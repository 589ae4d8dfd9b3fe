/* SPDX-License-Identifier: MIT */
#pragma once

/* Small helpers shared by the config and trace tests: checks that stop with file:line,
 * a private temporary directory, and exact comparison of collected error messages. */

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config-errors.h"

#define CHECK(expr)                                                                     \
        do {                                                                            \
                if (!(expr)) {                                                          \
                        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
                        exit(EXIT_FAILURE);                                             \
                }                                                                       \
        } while (0)

#define CHECK_INT(a, b)                                                                 \
        do {                                                                            \
                long long _a = (long long) (a), _b = (long long) (b);                   \
                if (_a != _b) {                                                         \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a, _b); \
                        exit(EXIT_FAILURE);                                             \
                }                                                                       \
        } while (0)

#define CHECK_DBL(a, b)                                                                 \
        do {                                                                            \
                double _a = (a), _b = (b);                                              \
                if (!(fabs(_a - _b) < 1e-9)) {                                          \
                        fprintf(stderr, "%s:%d: %s == %.17g, expected %.17g\n", __FILE__, __LINE__, #a, _a, _b); \
                        exit(EXIT_FAILURE);                                             \
                }                                                                       \
        } while (0)

#define CHECK_STR(a, b)                                                                 \
        do {                                                                            \
                const char *_a = (a), *_b = (b);                                        \
                if (!_a || !_b ? _a != _b : strcmp(_a, _b) != 0) {                      \
                        fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
                                _a ?: "(null)", _b ?: "(null)");                        \
                        exit(EXIT_FAILURE);                                             \
                }                                                                       \
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
        CHECK(mkdtemp(test_dir));
        atexit(test_dir_remove);
}

/* Writes DIR/name (creating subdirectories as needed); returns the path (malloc'd). */
static inline char *test_write(const char *name, const char *content) {
        char *path;
        FILE *f;

        CHECK(asprintf(&path, "%s/%s", test_dir, name) > 0);
        for (char *s = path + strlen(test_dir) + 1; (s = strchr(s, '/')); s++) {
                *s = 0;
                CHECK(mkdir(path, 0755) == 0 || errno == EEXIST);
                *s = '/';
        }
        f = fopen(path, "w");
        CHECK(f);
        CHECK(fputs(content, f) >= 0);
        CHECK(fclose(f) == 0);
        return path;
}

/* Exact comparison: the errors must be these, in this order. "@" at the start of an
 * expected message stands for prefix (usually the file name). */
static inline void check_errors_at(const char *file, int line, const ConfigErrors *e, const char *prefix,
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
                return;
        fprintf(stderr, "%s:%d: errors differ.\nGot %zu:\n", file, line, e->n);
        for (size_t i = 0; i < e->n; i++)
                fprintf(stderr, "  %s\n", e->msgs[i]);
        fprintf(stderr, "Expected %zu (@ = %s):\n", n, prefix);
        for (size_t i = 0; i < n; i++)
                fprintf(stderr, "  %s\n", expected[i]);
        exit(EXIT_FAILURE);
}

#define check_errors(e, prefix, ...) \
        check_errors_at(__FILE__, __LINE__, e, prefix, (const char *const[]) { __VA_ARGS__, NULL })
