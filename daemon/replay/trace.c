/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "replay/trace.h"
#include "shared/macro.h"

Trace *trace_free(Trace *t) {
        if (!t)
                return NULL;
        free(t->rows);
        free(t);
        return NULL;
}

_printf_(5, 6) static int fail(char *errbuf, size_t errlen, const char *name, size_t line, const char *fmt, ...) {
        char msg[512];
        va_list ap;

        if (!errbuf || errlen == 0)
                return -EINVAL;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (line > 0)
                snprintf(errbuf, errlen, "%s:%zu: %s", name, line, msg);
        else
                snprintf(errbuf, errlen, "%s: %s", name, msg);
        return -EINVAL;
}

static const char *trim(char *s) {
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                *--e = 0;
        return s;
}

/* Splits s at commas in place; returns the number of fields (at most max + 1, so that
 * "too many" is visible). */
static size_t split(char *s, const char **fields, size_t max) {
        size_t n = 0;

        for (;;) {
                char *comma = strchr(s, ',');
                if (comma)
                        *comma = 0;
                if (n <= max)
                        fields[n] = trim(s);
                n++;
                if (!comma || n > max)
                        return n;
                s = comma + 1;
        }
}

static bool parse_number(const char *s, double *ret) {
        char *end;
        double v;

        /* strtod() alone would accept " 1", "1abc" (partially), "nan" and "inf". */
        if (!*s)
                return false;
        errno = 0;
        v = strtod(s, &end);
        if (*end || end == s || errno == ERANGE || !isfinite(v))
                return false;
        *ret = v;
        return true;
}

static bool blank_or_comment(const char *s) {
        s += strspn(s, " \t\r");
        return *s == 0 || *s == '#';
}

int trace_parse(const char *text, size_t len, const char *name, Trace **ret, char *errbuf, size_t errlen) {
        _cleanup_(trace_freep) Trace *t = NULL;
        char line[TRACE_LINE_MAX + 2];
        size_t lineno = 0, allocated = 0, columns = 0, last_line = 0;
        const char *p = text, *end = text + len;

        if (!name)
                name = "trace";
        if (!text && len > 0)
                return fail(errbuf, errlen, name, 0, "no text");
        if (len > TRACE_SIZE_MAX) {
                fail(errbuf, errlen, name, 0, "too large (%zu bytes, at most %u)", len, TRACE_SIZE_MAX);
                return -EFBIG;
        }

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t l = (size_t) ((nl ?: end) - p);
                const char *f[4];
                size_t n;

                lineno++;
                if (l > TRACE_LINE_MAX)
                        return fail(errbuf, errlen, name, lineno, "line longer than %d characters", TRACE_LINE_MAX);
                if (memchr(p, 0, l))
                        return fail(errbuf, errlen, name, lineno, "NUL byte in line");
                memcpy(line, p, l);
                line[l] = 0;
                p = nl ? nl + 1 : end;

                if (blank_or_comment(line))
                        continue;

                if (columns == 0) {
                        n = split(line, f, 3);
                        if (n == 2 && strcmp(f[0], "t_ms") == 0 && strcmp(f[1], "force_n") == 0)
                                columns = 2;
                        else if (n == 3 && strcmp(f[0], "t_ms") == 0 && strcmp(f[1], "force_n") == 0 &&
                                 strcmp(f[2], "switch") == 0)
                                columns = 3;
                        else
                                return fail(errbuf, errlen, name, lineno,
                                            "bad header: expected \"t_ms,force_n\" or \"t_ms,force_n,switch\"");
                        t->has_switch = columns == 3;
                        continue;
                }

                n = split(line, f, columns);
                if (n < columns)
                        return fail(errbuf, errlen, name, lineno, "missing column: expected %zu, got %zu",
                                    columns, n);
                if (n > columns)
                        return fail(errbuf, errlen, name, lineno, "extra column: expected %zu", columns);

                TraceRow row = { .sw = -1 };
                if (!parse_number(f[0], &row.t_ms))
                        return fail(errbuf, errlen, name, lineno, "t_ms is not a number: \"%.64s\"", f[0]);
                if (row.t_ms < 0)
                        return fail(errbuf, errlen, name, lineno, "t_ms must not be negative: %g", row.t_ms);
                if (!parse_number(f[1], &row.force_n))
                        return fail(errbuf, errlen, name, lineno, "force_n is not a number: \"%.64s\"", f[1]);
                if (columns == 3) {
                        if (strcmp(f[2], "0") == 0)
                                row.sw = 0;
                        else if (strcmp(f[2], "1") == 0)
                                row.sw = 1;
                        else
                                return fail(errbuf, errlen, name, lineno, "switch must be 0 or 1, not \"%.64s\"",
                                            f[2]);
                }
                if (t->n > 0 && row.t_ms < t->rows[t->n - 1].t_ms)
                        return fail(errbuf, errlen, name, lineno,
                                    "t_ms goes backwards: %g after %g (line %zu)", row.t_ms,
                                    t->rows[t->n - 1].t_ms, last_line);

                if (t->n == allocated) {
                        size_t na = allocated ? allocated * 2 : 256;
                        TraceRow *nr = reallocarray(t->rows, na, sizeof(TraceRow));
                        if (!nr)
                                return -ENOMEM;
                        t->rows = nr;
                        allocated = na;
                }
                t->rows[t->n++] = row;
                last_line = lineno;
        }

        /* An empty text still has a first line to point at. */
        if (columns == 0)
                return fail(errbuf, errlen, name, MAX(lineno, (size_t) 1), "empty trace: no header line");
        if (t->n == 0)
                return fail(errbuf, errlen, name, lineno, "empty trace: no data rows after the header");

        *ret = TAKE_PTR(t);
        return 0;
}

int trace_load(const char *path, Trace **ret, char *errbuf, size_t errlen) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        size_t len = 0;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                fail(errbuf, errlen, path, 0, "cannot open: %s", strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                fail(errbuf, errlen, path, 0, "cannot stat: %s", strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                fail(errbuf, errlen, path, 0, "not a regular file");
                return -EINVAL;
        }
        if (st.st_size > (off_t) TRACE_SIZE_MAX) {
                fail(errbuf, errlen, path, 0, "too large (%lld bytes, at most %u)", (long long) st.st_size,
                     TRACE_SIZE_MAX);
                return -EFBIG;
        }

        /* Read to EOF rather than trusting st_size: the file may still be growing. One
         * byte more than the limit is enough to notice it is too large. */
        size_t cap = (size_t) st.st_size + 1;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k;

                if (len == cap) {
                        if (cap > TRACE_SIZE_MAX) {
                                fail(errbuf, errlen, path, 0, "too large (more than %u bytes)", TRACE_SIZE_MAX);
                                return -EFBIG;
                        }
                        size_t nc = MIN(cap * 2, (size_t) TRACE_SIZE_MAX + 1);
                        char *nb = realloc(buf, nc);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        cap = nc;
                }
                k = read(fd, buf + len, cap - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        fail(errbuf, errlen, path, 0, "cannot read: %s", strerror(-r));
                        return r;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        if (len > TRACE_SIZE_MAX) {
                fail(errbuf, errlen, path, 0, "too large (more than %u bytes)", TRACE_SIZE_MAX);
                return -EFBIG;
        }
        return trace_parse(buf, len, path, ret, errbuf, errlen);
}
