/* SPDX-License-Identifier: MIT */
/* Activ5: ASCII "IS<newtons>/IS" on a byte stream, reassembled across notifications. */

#include <errno.h>
#include <string.h>

#include "driver-test.h"

static uint64_t frames, samples, dropped;

static int feed_str(DriverDecoder *dec, const char *s, DriverOutput *out) {
        frames++;
        return test_feed(dec, s, strlen(s), out);
}

int main(void) {
        DriverDecoder *dec = test_decoder("activ5");
        DriverOutput out[DRIVER_OUTPUTS_MAX];
        uint8_t buf[DRIVER_FRAME_MAX + 1];
        size_t len;

        /* The handshake precedes the start command; all are 'A' + text + 0x19. */
        {
                const Driver *d = driver_decoder_driver(dec);

                check_eq(d->init_cmd.len, 9);
                check(memcmp(d->init_cmd.bytes, "ATVGTIME\x19", 9) == 0);
                check(memcmp(d->start_cmd.bytes, "AISOM!\x19", 7) == 0);
        }

        check_eq(feed_str(dec, "IS123/IS", out), 1);
        check_sample(&out[0], 123.0, -1);
        check_eq(feed_str(dec, "IS12.5/ISIS-3.2/IS", out), 2);
        check_sample(&out[0], 12.5, -1);
        check_sample(&out[1], -3.2, -1);
        samples += 3;

        /* Split anywhere, down to one byte a notification. */
        check_eq(feed_str(dec, "IS12", out), 0);
        check_eq(feed_str(dec, "3/I", out), 0);
        check_eq(feed_str(dec, "S", out), 1);
        check_sample(&out[0], 123.0, -1);
        samples++;
        len = enc_activ5(buf, 42.0);
        for (size_t i = 0; i + 1 < len; i++) {
                frames++;
                check_eq(test_feed(dec, buf + i, 1, out), 0);
        }
        frames++;
        check_eq(test_feed(dec, buf + len - 1, 1, out), 1);
        check_sample(&out[0], 42.0, -1);
        samples++;
        /* The longest value accepted, split just before the last byte. */
        check_eq(feed_str(dec, "IS12345678901.234/I", out), 0);
        check_eq(feed_str(dec, "S", out), 1);
        check_sample(&out[0], 12345678901.234, -1);
        samples++;
        check_stats(dec, frames, samples, dropped);

        /* Text outside frames (a handshake reply): one drop per run, frames still decode. */
        check_eq(feed_str(dec, "OK\r\nIS5/IS", out), 1);
        check_sample(&out[0], 5.0, -1);
        samples++, dropped++;
        /* A broken frame; what follows it is found again. */
        check_eq(feed_str(dec, "IS12X/IS", out), -EBADMSG);  /* "IS" at the end waits */
        dropped++;
        check_eq(feed_str(dec, "7/IS", out), 1);
        check_sample(&out[0], 7.0, -1);
        samples++;
        check_eq(feed_str(dec, "IS/IS", out), -EBADMSG);      /* no value */
        check_eq(feed_str(dec, "IS1-2/IS", out), -EBADMSG);   /* not a number */
        check_eq(feed_str(dec, "IS1234567890123456/IS", out), -EBADMSG); /* too long */
        check_eq(feed_str(dec, "hello", out), -EBADMSG);
        dropped += 4;
        check_stats(dec, frames, samples, dropped);

        /* Empty notification: no frame, no drop. */
        check_eq(feed_str(dec, "", out), 0);

        /* Reconnect forgets the partial frame. */
        check_eq(feed_str(dec, "IS12", out), 0);
        driver_decoder_reset(dec);
        check_eq(feed_str(dec, "3/IS", out), -EBADMSG);
        dropped++;
        check_eq(feed_str(dec, "9/IS", out), 1);
        check_sample(&out[0], 9.0, -1);
        samples++;

        memset(buf, 'I', sizeof(buf));
        frames++;
        check_eq(test_feed(dec, buf, sizeof(buf), out), -EMSGSIZE);
        dropped++;
        frames++;
        check_eq(driver_decoder_feed(dec, (const uint8_t *) "IS1/ISIS2/IS", 12, out, 1), -ENOBUFS);
        dropped++;
        check_stats(dec, frames, samples, dropped);

        driver_decoder_free(dec);
        return 0;
}
