/* SPDX-License-Identifier: MIT */
/* WH-C06: manufacturer data (company 0x0100 stripped), int16 BE at 10-11, unit in byte 14. */

#include <errno.h>
#include <string.h>

#include "driver-test.h"

int main(void) {
        DriverDecoder *dec = test_decoder("whc06");
        DriverOutput out[DRIVER_OUTPUTS_MAX];
        uint8_t buf[DRIVER_FRAME_MAX + 1] = {};
        size_t len;

        check(driver_find("whc06")->advert_only);
        check_eq(driver_find("whc06")->company_id, 0x0100);

        /* By hand: 0x1388 = 5000 = 50.00 kg, stable, unit kg, and a longer advert. */
        check_eq(FEED(dec, out, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,
                      0x13, 0x88, 0x00, 0x00, 0x11, 0xAA, 0xBB), 1);
        check_sample(&out[0], 50.0 * KG_TO_N, -1);
        /* Signed: -1.50 kg after the scale's own zeroing. Not stable: still a reading. */
        check_eq(FEED(dec, out, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0x6A, 0, 0, 0x01), 1);
        check_sample(&out[0], -1.5 * KG_TO_N, -1);

        len = enc_whc06(buf, 20.0 * LBF_TO_N, 2, true);                 /* lb */
        check_eq(test_feed(dec, buf, len, out), 1);
        check_sample(&out[0], 20.0 * LBF_TO_N, -1);
        len = enc_whc06(buf, 3.5 * 14 * LBF_TO_N, 3, true);             /* stone */
        check_eq(test_feed(dec, buf, len, out), 1);
        check_sample(&out[0], 3.5 * 14 * LBF_TO_N, -1);
        len = enc_whc06(buf, 100.0 * 0.5 * KG_TO_N, 4, false);          /* jin */
        check_eq(test_feed(dec, buf, len, out), 1);
        check_sample(&out[0], 50.0 * KG_TO_N, -1);

        /* Malformed: too short for the status byte, unknown unit, oversized. */
        check_eq(test_feed(dec, NULL, 0, out), -EBADMSG);
        check_eq(FEED(dec, out, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x13, 0x88, 0, 0), -EBADMSG);
        len = enc_whc06(buf, 10.0, 1, true);
        buf[14] = 0x10;
        check_eq(test_feed(dec, buf, len, out), -EPROTO);
        buf[14] = 0x15;
        check_eq(test_feed(dec, buf, len, out), -EPROTO);
        memset(buf, 0, sizeof(buf));
        buf[14] = 0x11;
        check_eq(test_feed(dec, buf, sizeof(buf), out), -EMSGSIZE);

        check_stats(dec, 10, 5, 5);
        driver_decoder_free(dec);
        return 0;
}
