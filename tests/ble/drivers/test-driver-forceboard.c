/* SPDX-License-Identifier: MIT */
/* PitchSix Force Board: u16 BE count + 3-byte samples in lbf. */

#include <errno.h>
#include <string.h>

#include "driver-test.h"

int main(void) {
        DriverDecoder *dec = test_decoder("forceboard");
        DriverOutput out[DRIVER_OUTPUTS_MAX];
        uint8_t buf[DRIVER_FRAME_MAX + 1];
        uint64_t frames = 0, samples = 0, dropped = 0;
        size_t len;

        /* hangtime-grip-connect's own fixture: two samples, 1000 and 1200 lbf. */
        check_eq(FEED(dec, out, 0x00, 0x02, 0x00, 0x03, 0xE8, 0x00, 0x04, 0xB0), 2);
        check_sample(&out[0], 1000 * LBF_TO_N, -1);
        check_sample(&out[1], 1200 * LBF_TO_N, -1);
        frames++, samples += 2;

        /* Above 32767 (b1 >= 0x80 with b0 == 0) both public readings agree: 40000 lbf. */
        check_eq(FEED(dec, out, 0x00, 0x01, 0x00, 0x9C, 0x40), 1);
        check_sample(&out[0], 40000 * LBF_TO_N, -1);
        frames++, samples++;

        /* Below zero after a tare: 24-bit two's complement. */
        check_eq(FEED(dec, out, 0x00, 0x02, 0xFF, 0xFF, 0xFE, 0xFF, 0x00, 0x00), 2);
        check_sample(&out[0], -2 * LBF_TO_N, -1);
        check_sample(&out[1], -65536 * LBF_TO_N, -1);
        frames++, samples += 2;

        /* Six samples, as many as fit a default-MTU notification. */
        {
                const double n[6] = { 0, 1 * LBF_TO_N, 25 * LBF_TO_N, 150 * LBF_TO_N,
                                      -3 * LBF_TO_N, 700 * LBF_TO_N };

                len = enc_forceboard(buf, n, 6);
                check_eq(len, 20);
                check_eq(test_feed(dec, buf, len, out), 6);
                for (size_t i = 0; i < 6; i++)
                        check_sample(&out[i], n[i], -1);
                frames++, samples += 6;
        }

        /* A packet announcing no samples is empty, not broken. */
        check_eq(FEED(dec, out, 0x00, 0x00), 0);
        frames++;

        /* Malformed. */
        check_eq(test_feed(dec, NULL, 0, out), -EBADMSG);
        check_eq(FEED(dec, out, 0x00), -EBADMSG);
        check_eq(FEED(dec, out, 0x00, 0x01, 0x00, 0x00), -EBADMSG);            /* half a sample */
        check_eq(FEED(dec, out, 0x00, 0x01, 0x00, 0x00, 0x2A, 0x00), -EBADMSG); /* trailing byte */
        check_eq(FEED(dec, out, 0x00, 0x03, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x14), -EBADMSG); /* count > carried */
        check_eq(FEED(dec, out, 0x00, 0x00, 0x00, 0x00, 0x00), -EBADMSG);      /* zero count, data */
        /* b0 outside 0x00/0xFF: beyond +-65536 lbf under either reading: dropped, and
         * the good sample next to it with it (the frame is one unit). */
        check_eq(FEED(dec, out, 0x00, 0x02, 0x00, 0x00, 0x2A, 0x01, 0x1C, 0x40), -ERANGE);
        check_eq(FEED(dec, out, 0x00, 0x01, 0x80, 0x00, 0x00), -ERANGE);
        memset(buf, 0, sizeof(buf));
        buf[1] = 171; /* 2 + 3 * 171 = 515 */
        check_eq(test_feed(dec, buf, 2 + 3 * 171, out), -EMSGSIZE);
        frames += 9, dropped += 9;

        check_eq(driver_decoder_feed(dec, (const uint8_t[]) { 0, 2, 0, 0, 1, 0, 0, 2 }, 8, out, 1), -ENOBUFS);
        frames++, dropped++;

        check_stats(dec, frames, samples, dropped);
        driver_decoder_free(dec);
        return 0;
}
