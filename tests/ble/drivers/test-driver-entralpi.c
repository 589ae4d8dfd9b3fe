/* SPDX-License-Identifier: MIT */
/* Entralpi: uint16 BE 1/100 kg, one value a notification. */

#include <errno.h>

#include "driver-test.h"

int main(void) {
        DriverDecoder *dec = test_decoder("entralpi");
        DriverOutput out[DRIVER_OUTPUTS_MAX];
        uint8_t buf[DRIVER_FRAME_MAX + 1] = {};
        size_t len;

        check_eq(FEED(dec, out, 0x1F, 0x40), 1); /* 8000 = 80.00 kg */
        check_sample(&out[0], 80.0 * KG_TO_N, -1);
        check_eq(FEED(dec, out, 0x00, 0x00), 1);
        check_sample(&out[0], 0.0, -1);
        check_eq(FEED(dec, out, 0xFF, 0xFF), 1); /* 655.35 kg, the ceiling */
        check_sample(&out[0], 655.35 * KG_TO_N, -1);
        len = enc_entralpi(buf, 12.34 * KG_TO_N);
        check_eq(test_feed(dec, buf, len, out), 1);
        check_sample(&out[0], 12.34 * KG_TO_N, -1);

        check_eq(test_feed(dec, NULL, 0, out), -EBADMSG);
        check_eq(FEED(dec, out, 0x1F), -EBADMSG);
        check_eq(FEED(dec, out, 0x1F, 0x40, 0x00), -EBADMSG);
        check_eq(test_feed(dec, buf, sizeof(buf), out), -EMSGSIZE);
        check_eq(driver_decoder_feed(dec, (const uint8_t[]) { 1, 2 }, 2, out, 0), -ENOBUFS);

        check_stats(dec, 9, 4, 5);
        driver_decoder_free(dec);
        return 0;
}
