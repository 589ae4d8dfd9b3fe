/* SPDX-License-Identifier: MIT */
/* The trace CSV parser: a good trace reads exactly, and every malformed input fails with
 * the exact "NAME:LINE: message". */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "replay/trace.h"
#include "config-test.h"
#include "shared/macro.h"

static Trace *parse_ok(const char *text) {
        char err[256] = "";
        Trace *t = NULL;

        int r = trace_parse(text, strlen(text), "t.csv", &t, err, sizeof err);
        if (r < 0)
                fprintf(stderr, "%s\n", err);
        CHECK_EQ_OR_NULL(r, 0);
        CHECK_OR_NULL(t);
        return t;
}

static void test_good(void) {
        Trace *t = parse_ok("# recorded on bench-1\n"
                            "\n"
                            "t_ms,force_n,switch\n"
                            "0,0,0\n"
                            "  # a comment between rows\n"
                            "20, 12.5 ,1\r\n"
                            "20,1e1,1\n"
                            "40.5,-0.25,0"); /* no final newline */
        CHECK(t->has_switch);
        CHECK(t);
        CHECK_EQ(t->n, 4);
        CHECK_NEAR(t->rows[0].t_ms, 0, 1e-9);
        CHECK_NEAR(t->rows[0].force_n, 0, 1e-9);
        CHECK_EQ(t->rows[0].sw, 0);
        CHECK_NEAR(t->rows[1].t_ms, 20, 1e-9);
        CHECK_NEAR(t->rows[1].force_n, 12.5, 1e-9);
        CHECK_EQ(t->rows[1].sw, 1);
        CHECK_NEAR(t->rows[2].t_ms, 20, 1e-9); /* equal times are allowed */
        CHECK_NEAR(t->rows[2].force_n, 10, 1e-9);
        CHECK_NEAR(t->rows[3].t_ms, 40.5, 1e-9);
        CHECK_NEAR(t->rows[3].force_n, -0.25, 1e-9);
        CHECK_EQ(t->rows[3].sw, 0);
        trace_free(t);

        t = parse_ok("t_ms,force_n\n0,1\n10,2\n");
        CHECK(t);
        CHECK(!t->has_switch);
        CHECK_EQ(t->n, 2);
        CHECK_EQ(t->rows[0].sw, -1);
        CHECK_EQ(t->rows[1].sw, -1);
        CHECK_NEAR(t->rows[1].force_n, 2, 1e-9);
        trace_free(t);

        /* Many rows: the row array grows. */
        {
                size_t n = 10000, len = 0;
                char *buf = malloc(n * 32 + 32);
                CHECK(buf);
                len += (size_t) sprintf(buf, "t_ms,force_n\n");
                for (size_t i = 0; i < n; i++)
                        len += (size_t) sprintf(buf + len, "%zu,%zu.5\n", i * 10, i % 100);
                char err[256];
                CHECK_EQ(trace_parse(buf, len, "big", &t, err, sizeof err), 0);
                CHECK_EQ(t->n, n);
                CHECK_NEAR(t->rows[n - 1].t_ms, (double) (n - 1) * 10, 1e-9);
                CHECK_NEAR(t->rows[n - 1].force_n, 99.5, 1e-9);
                trace_free(t);
                free(buf);
        }
}

static void expect_error(int line, const char *text, size_t len, int expected_r, const char *expected) {
        char err[512] = "";
        Trace *t = (Trace *) 0x1;
        int r = trace_parse(text, len, "t.csv", &t, err, sizeof err);

        if (r != expected_r || strcmp(err, expected) != 0)
                TAP_FAIL("line %d: got %d \"%s\", expected %d \"%s\"", line, r, err, expected_r, expected);
        CHECK(t == (Trace *) 0x1);
}

#define BAD(text, expected) expect_error(__LINE__, text, strlen(text), -EINVAL, expected)

static void test_errors(void) {
        BAD("t_ms,force_n\n0,1\n# comment\n20,1\n10,1\n",
            "t.csv:5: t_ms goes backwards: 10 after 20 (line 4)");
        BAD("t_ms,force_n\n0,abc\n", "t.csv:2: force_n is not a number: \"abc\"");
        BAD("t_ms,force_n\n0,1\n5x,1\n", "t.csv:3: t_ms is not a number: \"5x\"");
        BAD("t_ms,force_n\n0,\n", "t.csv:2: force_n is not a number: \"\"");
        BAD("t_ms,force_n\n0,nan\n", "t.csv:2: force_n is not a number: \"nan\"");
        BAD("t_ms,force_n\n0,-inf\n", "t.csv:2: force_n is not a number: \"-inf\"");
        BAD("t_ms,force_n\n0,1e999\n", "t.csv:2: force_n is not a number: \"1e999\"");
        BAD("t_ms,force_n\n0,1 2\n", "t.csv:2: force_n is not a number: \"1 2\"");
        BAD("t_ms,force_n\n-5,1\n", "t.csv:2: t_ms must not be negative: -5");
        BAD("t_ms,force_n,switch\n0,1,0\n10,1\n", "t.csv:3: missing column: expected 3, got 2");
        BAD("t_ms,force_n\n\n0\n", "t.csv:3: missing column: expected 2, got 1");
        BAD("t_ms,force_n\n0,1,1\n", "t.csv:2: extra column: expected 2");
        BAD("t_ms,force_n,switch\n0,1,0,\n", "t.csv:2: extra column: expected 3");
        BAD("# header missing\nt,force\n0,1\n",
            "t.csv:2: bad header: expected \"t_ms,force_n\" or \"t_ms,force_n,switch\"");
        BAD("0,1\n", "t.csv:1: bad header: expected \"t_ms,force_n\" or \"t_ms,force_n,switch\"");
        BAD("t_ms,force_n,switch,extra\n0,1,0,0\n",
            "t.csv:1: bad header: expected \"t_ms,force_n\" or \"t_ms,force_n,switch\"");
        BAD("t_ms,force_n,switch\n0,1,2\n", "t.csv:2: switch must be 0 or 1, not \"2\"");
        BAD("t_ms,force_n,switch\n0,1,0\n1,1,01\n", "t.csv:3: switch must be 0 or 1, not \"01\"");
        BAD("t_ms,force_n,switch\n0,1,\n", "t.csv:2: switch must be 0 or 1, not \"\"");
        BAD("", "t.csv:1: empty trace: no header line");
        BAD("# only a comment\n\n", "t.csv:2: empty trace: no header line");
        BAD("t_ms,force_n\n# no rows\n", "t.csv:2: empty trace: no data rows after the header");
        expect_error(__LINE__, "t_ms,force_n\n0,1\0\n", 17, -EINVAL, "t.csv:2: NUL byte in line");

        /* Line length: 4096 characters are fine, 4097 are not. */
        {
                char *buf = malloc(TRACE_LINE_MAX + 64);
                size_t n;

                CHECK(buf);
                n = (size_t) sprintf(buf, "t_ms,force_n\n0,");
                memset(buf + n, '0', TRACE_LINE_MAX - 2); /* "0,000...01" = 1 N */
                n += TRACE_LINE_MAX - 2;
                buf[n - 1] = '1';
                buf[n++] = '\n';
                Trace *t = NULL;
                char err[256];
                CHECK_EQ(trace_parse(buf, n, "t.csv", &t, err, sizeof err), 0);
                CHECK_NEAR(t->rows[0].force_n, 1, 1e-9);
                trace_free(t);

                n = (size_t) sprintf(buf, "t_ms,force_n\n0,");
                memset(buf + n, '1', TRACE_LINE_MAX - 1);
                n += TRACE_LINE_MAX - 1;
                buf[n++] = '\n';
                expect_error(__LINE__, buf, n, -EINVAL, "t.csv:2: line longer than 4096 characters");
                free(buf);
        }

        /* Too large: refused before looking at the bytes (calloc'd pages stay untouched). */
        {
                char *buf = calloc(1, (size_t) TRACE_SIZE_MAX + 1);
                CHECK(buf);
                expect_error(__LINE__, buf, (size_t) TRACE_SIZE_MAX + 1, -EFBIG,
                             "t.csv: too large (67108865 bytes, at most 67108864)");
                free(buf);
        }
}

static void test_load(void) {
        char err[512], *path, *expected;
        Trace *t = NULL;
        int fd;

        path = test_write("good.csv", "t_ms,force_n\n0,1\n5,2\n");
        CHECK_EQ(trace_load(path, &t, err, sizeof err), 0);
        CHECK_EQ(t->n, 2);
        CHECK_NEAR(t->rows[1].force_n, 2, 1e-9);
        trace_free(t);
        t = NULL;
        free(path);

        /* Messages from a file name the file. */
        path = test_write("bad.csv", "t_ms,force_n\n0,1\n5,x\n");
        CHECK_EQ(trace_load(path, &t, err, sizeof err), -EINVAL);
        CHECK(asprintf(&expected, "%s:3: force_n is not a number: \"x\"", path) > 0);
        CHECK_STR(err, expected);
        CHECK(!t);
        free(expected);
        free(path);

        CHECK(asprintf(&path, "%s/missing.csv", test_dir) > 0);
        CHECK_EQ(trace_load(path, &t, err, sizeof err), -ENOENT);
        CHECK(asprintf(&expected, "%s: cannot open: No such file or directory", path) > 0);
        CHECK_STR(err, expected);
        free(expected);
        free(path);

        /* A sparse file just over the limit. */
        CHECK(asprintf(&path, "%s/huge.csv", test_dir) > 0);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        CHECK(ftruncate(fd, (off_t) TRACE_SIZE_MAX + 1) == 0);
        CHECK(close(fd) == 0);
        CHECK_EQ(trace_load(path, &t, err, sizeof err), -EFBIG);
        CHECK(asprintf(&expected, "%s: too large (67108865 bytes, at most 67108864)", path) > 0);
        CHECK_STR(err, expected);
        free(expected);
        free(path);

        CHECK_EQ(trace_load(test_dir, &t, err, sizeof err), -EINVAL);
        CHECK(asprintf(&expected, "%s: not a regular file", test_dir) > 0);
        CHECK_STR(err, expected);
        free(expected);
        CHECK(!t);
}

static const TapCase cases[] = {
        { "good", test_good },
        { "errors", test_errors },
        { "load", test_load },
};

int main(int argc, char **argv) {
        test_dir_create();
        return tap_run(cases, ELEMENTSOF(cases), argc, argv);
}
