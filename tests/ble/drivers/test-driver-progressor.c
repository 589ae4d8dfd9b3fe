/* SPDX-License-Identifier: MIT */
/* Tindeq Progressor: TLV frames from the official API (tindeq.com/progressor_api). */

#include <errno.h>
#include <string.h>

#include "driver-test.h"

int main(void) {
        DriverDecoder *dec = test_decoder("progressor");
        DriverOutput out[DRIVER_OUTPUTS_MAX];
        uint8_t buf[DRIVER_FRAME_MAX + 1];
        uint64_t frames = 0, samples = 0, dropped = 0;
        size_t len;

        /* One weight sample by hand: 10.0 kg is float32 0x41200000, t = 12345 us. */
        check_eq(FEED(dec, out, 0x01, 0x08, 0x00, 0x00, 0x20, 0x41, 0x39, 0x30, 0x00, 0x00), 1);
        check_sample(&out[0], 10.0 * KG_TO_N, 12345);
        frames++, samples++;

        /* Several samples in one notification, as the device sends them at 80 Hz. */
        {
                const double n[3] = { 0.5 * KG_TO_N, 20.25 * KG_TO_N, -1.0 * KG_TO_N };
                const uint32_t t[3] = { 20000, 32500, 45000 };

                len = enc_progressor_weight(buf, n, t, 3);
                check_eq(len, 26);
                check_eq(test_feed(dec, buf, len, out), 3);
                check_sample(&out[0], 0.5 * KG_TO_N, 20000);
                check_sample(&out[1], 20.25 * KG_TO_N, 32500);
                check_sample(&out[2], -1.0 * KG_TO_N, 45000);
                frames++, samples += 3;
        }

        /* Battery reply to 0x6F: uint32 LE millivolts. */
        len = enc_progressor_battery(buf, 3712);
        check_eq(test_feed(dec, buf, len, out), 1);
        check_eq(out[0].type, DRIVER_OUT_BATTERY);
        check_eq(out[0].battery_mv, 3712);
        check_eq(out[0].battery_percent, -1);
        frames++;

        /* Other command replies are well formed but not ours: no output, not dropped. A
         * 4-character firmware version must not read as a battery voltage. */
        check_eq(FEED(dec, out, 0x00, 0x04, '1', '.', '2', '3'), 0);
        check_eq(FEED(dec, out, 0x00, 0x05, '1', '.', '2', '.', '3'), 0);
        check_eq(FEED(dec, out, 0x02, 0x04, 0x00, 0x00, 0x80, 0x3f), 0);    /* RFD peak */
        frames += 3;

        /* Low-power warning. */
        check_eq(FEED(dec, out, 0x04, 0x00), 1);
        check_eq(out[0].type, DRIVER_OUT_LOW_POWER);
        frames++;

        /* Malformed frames: each refused with an error, nothing decoded, each counted. */
        check_eq(test_feed(dec, NULL, 0, out), -EBADMSG);                      /* empty */
        check_eq(FEED(dec, out, 0x01), -EBADMSG);                              /* no length */
        check_eq(FEED(dec, out, 0x01, 0x08, 0, 0, 0x20, 0x41, 0, 0, 0), -EBADMSG); /* short */
        check_eq(FEED(dec, out, 0x01, 0x04, 0, 0, 0x20, 0x41, 0, 0, 0, 0), -EBADMSG); /* long */
        check_eq(FEED(dec, out, 0x01, 0x04, 0, 0, 0x20, 0x41), -EBADMSG);   /* not 8n */
        check_eq(FEED(dec, out, 0x01, 0x00), -EBADMSG);                        /* no sample */
        check_eq(FEED(dec, out, 0x09, 0x00), -EPROTO);                         /* unknown type */
        check_eq(FEED(dec, out, 0x01, 0x08, 0x00, 0x00, 0xc0, 0x7f, 0, 0, 0, 0), -ERANGE); /* NaN */
        check_eq(FEED(dec, out, 0x01, 0x08, 0x00, 0x00, 0x80, 0xff, 0, 0, 0, 0), -ERANGE); /* -inf */
        /* A NaN in the second sample drops the whole frame: nothing half-decoded. */
        check_eq(FEED(dec, out, 0x01, 0x10, 0x00, 0x00, 0x20, 0x41, 0, 0, 0, 0,
                      0x00, 0x00, 0x80, 0x7f, 1, 0, 0, 0), -ERANGE);
        memset(buf, 0, sizeof(buf));
        buf[0] = 0x01;
        buf[1] = 0xF8;
        check_eq(test_feed(dec, buf, DRIVER_FRAME_MAX + 1, out), -EMSGSIZE);  /* oversized */
        frames += 11, dropped += 11;

        /* A caller's output array that is too small fails the frame instead of truncating it. */
        {
                const double n[2] = { 1.0, 2.0 };
                const uint32_t t[2] = { 1, 2 };

                len = enc_progressor_weight(buf, n, t, 2);
                check_eq(driver_decoder_feed(dec, buf, len, out, 1), -ENOBUFS);
                frames++, dropped++;
        }
        check_stats(dec, frames, samples, dropped);

        /* The uint32 device clock wraps after 71.6 minutes: timestamps keep increasing. */
        driver_decoder_reset(dec);
        {
                const double n[1] = { KG_TO_N }; /* 1 kg: exact in float32 */
                const uint32_t t[4] = { 0xFFFFFF00u, 0x00000100u, 0x7FFFFFFFu, 0x00000080u };

                len = enc_progressor_weight(buf, n, &t[0], 1);
                check_eq(test_feed(dec, buf, len, out), 1);
                check_sample(&out[0], KG_TO_N, 0xFFFFFF00u);
                len = enc_progressor_weight(buf, n, &t[1], 1);
                check_eq(test_feed(dec, buf, len, out), 1);
                check_sample(&out[0], KG_TO_N, (INT64_C(1) << 32) + 0x100);
                /* A small step back is a restarted stream, not a wrap: passed on. */
                len = enc_progressor_weight(buf, n, &t[3], 1);
                check_eq(test_feed(dec, buf, len, out), 1);
                check_sample(&out[0], KG_TO_N, (INT64_C(1) << 32) + 0x80);
                frames += 3, samples += 3;

                /* After a reset (reconnect) the unwrapping starts again. */
                driver_decoder_reset(dec);
                len = enc_progressor_weight(buf, n, &t[1], 1);
                check_eq(test_feed(dec, buf, len, out), 1);
                check_sample(&out[0], KG_TO_N, 0x100);
                frames++, samples++;
        }
        check_stats(dec, frames, samples, dropped);

        dec = driver_decoder_free(dec);
        check(!dec);
        return 0;
}
