/* SPDX-License-Identifier: MIT */
/* Decode cost per sample for each driver (meson test --benchmark). A realistic stream per
 * device, from the test encoders; prints ns per sample and the samples per notification. */

#include <string.h>
#include <time.h>

#include "driver-test.h"

#define ROUNDS 200000

static double now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static void bench(const char *name, const uint8_t *buf, size_t len, size_t chunk) {
        static DriverOutput out[DRIVER_OUTPUTS_MAX];
        DriverDecoder *dec = test_decoder(name);
        uint64_t samples;
        double t0, t1;

        t0 = now_ns();
        for (unsigned r = 0; r < ROUNDS; r++)
                for (size_t off = 0; off < len; off += chunk)
                        check(test_feed(dec, buf + off, MIN(chunk, len - off), out) >= 0);
        t1 = now_ns();
        samples = driver_decoder_stats(dec)->samples;
        check(samples > 0 && driver_decoder_stats(dec)->dropped == 0);
        printf("%-11s %6.1f ns/sample  %5.2f samples/notification\n", name,
               (t1 - t0) / (double) samples, (double) samples / (double) driver_decoder_stats(dec)->frames);
        driver_decoder_free(dec);
}

int main(void) {
        uint8_t buf[256];
        size_t len;

        {
                const double n[2] = { 100.0, 101.0 };
                const uint32_t t[2] = { 1000, 13500 };

                len = enc_progressor_weight(buf, n, t, 2);
                bench("progressor", buf, len, len);
        }
        {
                const double n[6] = { 100, 101, 102, 103, 104, 105 };

                len = enc_forceboard(buf, n, 6);
                bench("forceboard", buf, len, len);
        }
        len = enc_entralpi(buf, 300.0);
        bench("entralpi", buf, len, len);
        len = enc_whc06(buf, 300.0, 1, true);
        bench("whc06", buf, len, len);
        len = 0;
        for (int i = 0; i < 20; i++)
                len += enc_cts500_weight(buf + len, 100.0 + i);
        bench("cts500", buf, len, 20);
        len = enc_linescale(buf, 300.0, 'G', 'N', 0, 80);
        bench("linescale", buf, len, len);
        len = 0;
        for (int i = 0; i < 10; i++)
                len += enc_activ5(buf + len, 100.0 + i);
        bench("activ5", buf, len, 20);
        len = enc_imd_force(buf, 300.0);
        bench("imd-force", buf, len, len);
        return 0;
}
