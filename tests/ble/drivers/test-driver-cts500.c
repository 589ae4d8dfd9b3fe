/* SPDX-License-Identifier: MIT */
/* CTS500: 0x05-framed sum8 frames on a byte stream, reassembled across notifications. */

#include <errno.h>
#include <string.h>

#include "driver-test.h"

static uint64_t frames, samples, dropped;

static int feed(DriverDecoder *dec, const uint8_t *buf, size_t len, DriverOutput *out) {
        frames++;
        return test_feed(dec, buf, len, out);
}

int main(void) {
        DriverDecoder *dec = test_decoder("cts500");
        DriverOutput out[DRIVER_OUTPUTS_MAX];
        uint8_t buf[DRIVER_FRAME_MAX + 1], stream[64];
        size_t len;

        /* The command bytes follow the sum8 rule (header included). */
        {
                const Driver *d = driver_decoder_driver(dec);
                const DriverCommand *c[] = { &d->start_cmd, &d->stop_cmd, &d->tare_cmd, &d->battery_cmd };

                for (size_t i = 0; i < 4; i++) {
                        unsigned s = 0;

                        check_eq(c[i]->len, 6);
                        check_eq(c[i]->bytes[0], 0x05);
                        for (size_t k = 0; k < 5; k++)
                                s += c[i]->bytes[k];
                        check_eq(c[i]->bytes[5], s & 0xFF);
                }
                check_eq(d->start_cmd.bytes[1], 0xAA);
        }

        /* By hand: 10000 = 100.00 kg; sum 05+27+10 = 3C. */
        check_eq(feed(dec, (const uint8_t[]) { 0x05, 0x00, 0x00, 0x00, 0x27, 0x10, 0x3C }, 7, out), 1);
        check_sample(&out[0], 100.0 * KG_TO_N, -1);
        samples++;
        /* Signed: -1.50 kg; any status byte that is neither 0x80 nor an opcode. */
        check_eq(feed(dec, (const uint8_t[]) { 0x05, 0x01, 0xFF, 0xFF, 0xFF, 0x6A, 0x6D }, 7, out), 1);
        check_sample(&out[0], -1.5 * KG_TO_N, -1);
        samples++;

        /* Two frames and a half, then the rest of the third. */
        len = enc_cts500_weight(stream, 1.0 * KG_TO_N);
        len += enc_cts500_weight(stream + len, 2.5 * KG_TO_N);
        len += enc_cts500_weight(stream + len, 300.0 * KG_TO_N);
        check_eq(feed(dec, stream, 17, out), 2);
        check_sample(&out[0], 1.0 * KG_TO_N, -1);
        check_sample(&out[1], 2.5 * KG_TO_N, -1);
        check_eq(feed(dec, stream + 17, len - 17, out), 1);
        check_sample(&out[0], 300.0 * KG_TO_N, -1);
        samples += 3;

        /* One byte a notification: nothing until the checksum arrives, nothing dropped. */
        len = enc_cts500_weight(stream, 42.42 * KG_TO_N);
        for (size_t i = 0; i + 1 < len; i++)
                check_eq(feed(dec, stream + i, 1, out), 0);
        check_eq(feed(dec, stream + len - 1, 1, out), 1);
        check_sample(&out[0], 42.42 * KG_TO_N, -1);
        samples++;
        check_stats(dec, frames, samples, dropped);

        /* Battery reply: (b4 << 8 | b5) / 100 V. */
        len = enc_cts500_battery(stream, 3870);
        check_eq(feed(dec, stream, len, out), 1);
        check_eq(out[0].type, DRIVER_OUT_BATTERY);
        check_eq(out[0].battery_mv, 3870);
        check_eq(out[0].battery_percent, -1);
        /* A battery reply of 0 V, temperature reply, command echo (split), a 7-byte frame
         * whose byte 1 is an opcode: well formed, not ours, not dropped. */
        check_eq(feed(dec, (const uint8_t[]) { 0x05, 0x80, 0xC4, 0x00, 0x00, 0x00, 0x49 }, 7, out), 0);
        check_eq(feed(dec, (const uint8_t[]) { 0x05, 0x80, 0xC5, 0x00, 0x00, 0x19, 0x63 }, 7, out), 0);
        check_eq(feed(dec, (const uint8_t[]) { 0x05, 0xAA, 0x00 }, 3, out), 0);
        check_eq(feed(dec, (const uint8_t[]) { 0x00, 0x00, 0xAF }, 3, out), 0);
        check_eq(feed(dec, (const uint8_t[]) { 0x05, 0xA9, 0x00, 0x00, 0x00, 0x01, 0xAF }, 7, out), 0);
        check_stats(dec, frames, samples, dropped);

        /* Garbage before a frame: skipped (one run = one drop), the frame still decodes. */
        len = enc_cts500_weight(stream + 3, 7.0 * KG_TO_N);
        stream[0] = 0xFF, stream[1] = 0x13, stream[2] = 0x37;
        check_eq(feed(dec, stream, len + 3, out), 1);
        check_sample(&out[0], 7.0 * KG_TO_N, -1);
        samples++, dropped++;
        /* A frame with a bad checksum: resync finds the next one. */
        len = enc_cts500_weight(stream, 8.0 * KG_TO_N);
        stream[6] ^= 0x01;
        len += enc_cts500_weight(stream + len, 9.0 * KG_TO_N);
        check_eq(feed(dec, stream, len, out), 1);
        check_sample(&out[0], 9.0 * KG_TO_N, -1);
        samples++, dropped++;
        check_stats(dec, frames, samples, dropped);

        /* Only garbage: an error. A run that continues in the next notification is still
         * one run. */
        check_eq(feed(dec, (const uint8_t[]) { 0xAA, 0xBB }, 2, out), -EBADMSG);
        dropped++;
        len = enc_cts500_weight(stream + 1, 11.0 * KG_TO_N);
        stream[0] = 0xCC;
        check_eq(feed(dec, stream, len + 1, out), 1);
        check_sample(&out[0], 11.0 * KG_TO_N, -1);
        samples++;
        /* Garbage around a broken frame, nothing valid: one run, one drop. */
        len = enc_cts500_weight(stream + 1, 1.0);
        stream[0] = 0xEE;
        stream[len] ^= 0xFF;           /* break its checksum: 05 .. becomes garbage */
        stream[len + 1] = 0xEE;
        check_eq(feed(dec, stream, len + 2, out), -EBADMSG);
        dropped++;
        check_stats(dec, frames, samples, dropped);

        /* The empty notification is no frame. */
        check_eq(feed(dec, NULL, 0, out), 0);

        /* Reconnect: the partial frame is forgotten, its rest is garbage. */
        len = enc_cts500_weight(stream, 5.0);
        check_eq(feed(dec, stream, 3, out), 0);
        driver_decoder_reset(dec);
        check_eq(feed(dec, stream + 3, len - 3, out), -EBADMSG);
        dropped++;

        /* Oversized notification; too small an output array (state untouched by both). */
        memset(buf, 0, sizeof(buf));
        check_eq(feed(dec, buf, sizeof(buf), out), -EMSGSIZE);
        dropped++;
        len = enc_cts500_weight(stream, 1.0);
        len += enc_cts500_weight(stream + len, 2.0);
        frames++;
        check_eq(driver_decoder_feed(dec, stream, len, out, 1), -ENOBUFS);
        dropped++;
        check_eq(feed(dec, stream, len, out), 2);
        samples += 2;
        check_stats(dec, frames, samples, dropped);

        /* A full 512-byte notification of frames: 73 samples in one call. */
        for (len = 0; len + 7 <= DRIVER_FRAME_MAX; )
                len += enc_cts500_weight(buf + len, (double) len);
        check_eq(feed(dec, buf, len, out), 73);
        samples += 73;
        check_stats(dec, frames, samples, dropped);

        driver_decoder_free(dec);
        return 0;
}
