/* SPDX-License-Identifier: MIT */
/* LineScale 3: 20-byte ASCII frames (LS3 port protocol, via beniseman/lineScale). */

#include <errno.h>
#include <string.h>

#include "driver-test.h"

static const uint8_t *frame(const char *text) {
        static uint8_t f[20];

        check(strlen(text) == 20);
        memcpy(f, text, 20);
        return f;
}

int main(void) {
        DriverDecoder *dec = test_decoder("linescale");
        DriverOutput out[DRIVER_OUTPUTS_MAX];
        uint8_t buf[DRIVER_FRAME_MAX + 1] = {};
        size_t len;

        /* By hand: 12.3 kgf absolute, battery 'H' = (0x48 - 0x20) * 2 = 80 %, 40 Hz. The
         * battery is reported with the first frame and then only when it changes. */
        check_eq(test_feed(dec, frame("M0012.3N0000.0HGF000"), 20, out), 2);
        check_sample(&out[0], 12.3 * KG_TO_N, -1);
        check_eq(out[1].type, DRIVER_OUT_BATTERY);
        check_eq(out[1].battery_percent, 80);
        check_eq(out[1].battery_mv, -1);
        check_eq(test_feed(dec, frame("M0012.4N0000.0HGF000"), 20, out), 1);
        check_sample(&out[0], 12.4 * KG_TO_N, -1);
        check_eq(test_feed(dec, frame("M0012.5N0000.0GGF000"), 20, out), 2);
        check_eq(out[1].battery_percent, 78);
        /* Units: kN and lbf; signs and spaces. */
        check_eq(test_feed(dec, frame("M 1.234N   0.0GNF   "), 20, out), 1);
        check_sample(&out[0], 1234.0, -1);
        check_eq(test_feed(dec, frame("M -45.5N   0.0GBS   "), 20, out), 1);
        check_sample(&out[0], -45.5 * LBF_TO_N, -1);
        /* Relative zero mode: the force on the line is value + reference zero. */
        check_eq(test_feed(dec, frame("M   2.0Z  10.0GGF   "), 20, out), 1);
        check_sample(&out[0], 12.0 * KG_TO_N, -1);
        /* Absolute mode does not read the reference field at all. */
        check_eq(test_feed(dec, frame("M   2.0N??????GGF   "), 20, out), 1);
        check_sample(&out[0], 2.0 * KG_TO_N, -1);
        /* A battery byte out of range is not a battery reading; the force still is. */
        check_eq(test_feed(dec, frame("M   2.0N   0.0\x7fGF   "), 20, out), 1);
        check_sample(&out[0], 2.0 * KG_TO_N, -1);
        /* The test encoder (same layout as encode.py). */
        len = enc_linescale(buf, 321.0, 'G', 'Z', 100.0, 50);
        check_eq(test_feed(dec, buf, len, out), 2);
        check_sample(&out[0], (22.5 + 10.2) * KG_TO_N, -1);
        check_eq(out[1].battery_percent, 50);

        /* Malformed. */
        check_eq(test_feed(dec, frame("M0012.3N0000.0HGF000"), 19, out), -EBADMSG);
        check_eq(test_feed(dec, NULL, 0, out), -EBADMSG);
        memcpy(buf, "M0012.3N0000.0HGF000!", 21);
        check_eq(test_feed(dec, buf, 21, out), -EBADMSG);
        check_eq(test_feed(dec, frame("M0012.3N0000.0HXF000"), 20, out), -EPROTO);  /* unit */
        check_eq(test_feed(dec, frame("M0012.3Q0000.0HGF000"), 20, out), -EPROTO);  /* zero mode */
        check_eq(test_feed(dec, frame("M12a.45N0000.0HGF000"), 20, out), -EBADMSG);
        check_eq(test_feed(dec, frame("M  -   N0000.0HGF000"), 20, out), -EBADMSG);
        check_eq(test_feed(dec, frame("M1.2.3.N0000.0HGF000"), 20, out), -EBADMSG);
        check_eq(test_feed(dec, frame("Mnan   N0000.0HGF000"), 20, out), -EBADMSG);
        check_eq(test_feed(dec, frame("M0012.3Z00x0.0HGF000"), 20, out), -EBADMSG); /* ref */
        check_eq(test_feed(dec, buf, sizeof(buf), out), -EMSGSIZE);
        /* No room for sample + changed battery. */
        check_eq(driver_decoder_feed(dec, frame("M0012.3N0000.0IGF000"), 20, out, 1), -ENOBUFS);

        check_stats(dec, 21, 9, 12);
        driver_decoder_free(dec);
        return 0;
}
