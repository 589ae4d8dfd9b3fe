/* SPDX-License-Identifier: MIT */
/* SIG Force characteristic 0x2C07: sint32 LE, 1 mN, 0x7FFFFFFF unknown. */

#include <errno.h>

#include "driver-test.h"

int main(void) {
        DriverDecoder *dec = test_decoder("imd-force");
        DriverOutput out[DRIVER_OUTPUTS_MAX];
        uint8_t buf[DRIVER_FRAME_MAX + 1] = {};
        size_t len;

        check_eq(FEED(dec, out, 0x39, 0x30, 0x00, 0x00), 1);      /* 12345 mN */
        check_sample(&out[0], 12.345, -1);
        check_eq(FEED(dec, out, 0xC7, 0xCF, 0xFF, 0xFF), 1);      /* -12345 mN */
        check_sample(&out[0], -12.345, -1);
        check_eq(FEED(dec, out, 0xFE, 0xFF, 0xFF, 0x7F), 1);      /* largest known value */
        check_sample(&out[0], 2147483.646, -1);
        check_eq(FEED(dec, out, 0x00, 0x00, 0x00, 0x80), 1);      /* INT32_MIN */
        check_sample(&out[0], -2147483.648, -1);
        len = enc_imd_force(buf, 150.001);
        check_eq(test_feed(dec, buf, len, out), 1);
        check_sample(&out[0], 150.001, -1);

        check_eq(FEED(dec, out, 0xFF, 0xFF, 0xFF, 0x7F), -ENODATA); /* "unknown" */
        check_eq(test_feed(dec, NULL, 0, out), -EBADMSG);
        check_eq(FEED(dec, out, 0x39, 0x30, 0x00), -EBADMSG);
        check_eq(FEED(dec, out, 0x39, 0x30, 0x00, 0x00, 0x00), -EBADMSG);
        check_eq(test_feed(dec, buf, sizeof(buf), out), -EMSGSIZE);
        check_eq(driver_decoder_feed(dec, (const uint8_t[]) { 1, 2, 3, 4 }, 4, out, 0), -ENOBUFS);

        check_stats(dec, 11, 5, 6);
        driver_decoder_free(dec);
        return 0;
}
