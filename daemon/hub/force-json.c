/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "hub/force-json.h"
#include "shared/decimal.h"

static char *put(char *p, const char *s, size_t len) {
        memcpy(p, s, len);
        return p + len;
}

#define PUT(p, lit) put(p, lit, sizeof(lit) - 1)

/* A number at its precision, or null: the buffer's worst case has room for either. */
static char *put_number(char *p, char *end, double v, unsigned decimals) {
        int r = decimal_format(p, (size_t) (end - p), v, decimals);
        return r >= 0 ? p + r : PUT(p, "null");
}

static char *put_u64(char *p, uint64_t v) {
        char tmp[20];
        size_t n = 0;

        do {
                tmp[n++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v > 0);
        while (n > 0)
                *p++ = tmp[--n];
        return p;
}

int force_json_format(char *buf, size_t size, uint64_t seq, const char *t, double dt_ms,
                      const float *samples, size_t n) {
        size_t tlen;
        char *p = buf, *end = buf + size;

        if (!buf || !t || (!samples && n > 0))
                return -EINVAL;
        tlen = strnlen(t, 32);
        if (tlen > 31)
                return -EINVAL;
        if (size < FORCE_JSON_SIZE(n))
                return -ENOBUFS;
        p = PUT(p, "{\"seq\":");
        p = put_u64(p, seq);
        p = PUT(p, ",\"t\":\"");
        p = put(p, t, tlen);
        p = PUT(p, "\",\"dt_ms\":");
        p = put_number(p, end, dt_ms, 2);
        p = PUT(p, ",\"force_n\":[");
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        *p++ = ',';
                p = put_number(p, end, samples[i], 1);
        }
        p = PUT(p, "]}");
        *p = 0;
        return (int) (p - buf);
}
