/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "shared/iso8601.h"

static int digits(const char *s, int n, int *ret) {
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return 0;
}

int iso8601_parse_ms(const char *s, int64_t *ret) {
        static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        int Y, M, D, h, m, sec, ms = 0;
        struct tm tm = {};
        size_t n;
        time_t t;

        if (!s || !ret)
                return -EINVAL;
        n = strlen(s);
        if (n != 20 && n != 24)
                return -EINVAL;
        if (digits(s, 4, &Y) < 0 || s[4] != '-' || digits(s + 5, 2, &M) < 0 || s[7] != '-' ||
            digits(s + 8, 2, &D) < 0 || s[10] != 'T' || digits(s + 11, 2, &h) < 0 || s[13] != ':' ||
            digits(s + 14, 2, &m) < 0 || s[16] != ':' || digits(s + 17, 2, &sec) < 0)
                return -EINVAL;
        if (n == 24 && (s[19] != '.' || digits(s + 20, 3, &ms) < 0 || s[23] != 'Z'))
                return -EINVAL;
        if (n == 20 && s[19] != 'Z')
                return -EINVAL;
        if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 59)
                return -EINVAL;
        if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0))
                return -EINVAL;
        tm.tm_year = Y - 1900;
        tm.tm_mon = M - 1;
        tm.tm_mday = D;
        tm.tm_hour = h;
        tm.tm_min = m;
        tm.tm_sec = sec;
        t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret = (int64_t) t * 1000 + ms;
        return 0;
}

char *iso8601_format_ms(char *buf, size_t size, int64_t ms) {
        time_t sec = (time_t) (ms / 1000);
        struct tm tm;

        gmtime_r(&sec, &tm);
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (ms % 1000));
        return buf;
}

