/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "shared/decimal.h"

static const double pow10_table[DECIMAL_MAX_DECIMALS + 1] = {
        1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
};

int decimal_format(char *buf, size_t size, double v, unsigned decimals) {
        char tmp[32];   /* digits, least significant first */
        size_t n = 0, len, i;
        uint64_t k;
        double scaled;
        int neg;

        if (decimals > DECIMAL_MAX_DECIMALS)
                return -EINVAL;
        if (!isfinite(v))
                return -EDOM;
        /* The same rounding as round(v * 10^d) / 10^d, done once, in doubles. */
        scaled = round(v * pow10_table[decimals]);
        if (fabs(scaled) >= DECIMAL_MAX_SCALED)
                return -ERANGE;
        neg = scaled < 0;
        k = (uint64_t) fabs(scaled);

        do {
                tmp[n++] = (char) ('0' + k % 10);
                k /= 10;
        } while (k > 0 || n <= decimals);   /* at least one digit before the point */

        len = (size_t) neg + n + (decimals > 0);
        if (len + 1 > size)
                return -ENOBUFS;
        i = 0;
        if (neg)
                buf[i++] = '-';
        while (n > decimals)
                buf[i++] = tmp[--n];
        if (decimals > 0) {
                buf[i++] = '.';
                while (n > 0)
                        buf[i++] = tmp[--n];
        }
        buf[i] = 0;
        return (int) i;
}
