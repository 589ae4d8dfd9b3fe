/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "driver-test.h"

DriverDecoder *test_decoder(const char *name) {
        DriverDecoder *dec = NULL;
        const Driver *d = driver_find(name);

        check(d);
        check(driver_decoder_new(d, &dec) == 0);
        check(dec);
        return dec;
}

int test_feed(DriverDecoder *dec, const void *buf, size_t len, DriverOutput *out) {
        return driver_decoder_feed(dec, buf, len, out, DRIVER_OUTPUTS_MAX);
}

void check_sample(const DriverOutput *out, double newtons, int64_t ts_us) {
        check_eq(out->type, DRIVER_OUT_SAMPLE);
        check_newtons(out->newtons, newtons);
        check(isfinite(out->newtons));
        if (ts_us < 0)
                check(!out->has_device_ts);
        else {
                check(out->has_device_ts);
                check_eq(out->device_ts_us, ts_us);
        }
}

static int64_t round_away(double x) {
        return x >= 0 ? (int64_t) floor(x + 0.5) : -(int64_t) floor(-x + 0.5);
}

static void put_le32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void put_be32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (24 - 8 * i));
}

static uint8_t sum8(const uint8_t *p, size_t n) {
        unsigned s = 0;

        for (size_t i = 0; i < n; i++)
                s += p[i];
        return (uint8_t) s;
}

size_t enc_progressor_weight(uint8_t *buf, const double *newtons, const uint32_t *t_us, size_t n) {
        buf[0] = 1;
        buf[1] = (uint8_t) (8 * n);
        for (size_t i = 0; i < n; i++) {
                float kg = (float) (newtons[i] / KG_TO_N);
                uint32_t u;

                memcpy(&u, &kg, sizeof(u));
                put_le32(buf + 2 + 8 * i, u);
                put_le32(buf + 6 + 8 * i, t_us[i]);
        }
        return 2 + 8 * n;
}

size_t enc_progressor_battery(uint8_t *buf, uint32_t mv) {
        buf[0] = 0;
        buf[1] = 4;
        put_le32(buf + 2, mv);
        return 6;
}

size_t enc_forceboard(uint8_t *buf, const double *newtons, size_t n) {
        buf[0] = (uint8_t) (n >> 8);
        buf[1] = (uint8_t) n;
        for (size_t i = 0; i < n; i++) {
                uint32_t raw = (uint32_t) round_away(newtons[i] / LBF_TO_N) & 0xFFFFFF;

                buf[2 + 3 * i] = (uint8_t) (raw >> 16);
                buf[3 + 3 * i] = (uint8_t) (raw >> 8);
                buf[4 + 3 * i] = (uint8_t) raw;
        }
        return 2 + 3 * n;
}

size_t enc_entralpi(uint8_t *buf, double newtons) {
        uint16_t raw = (uint16_t) round_away(newtons / KG_TO_N * 100);

        buf[0] = (uint8_t) (raw >> 8);
        buf[1] = (uint8_t) raw;
        return 2;
}

size_t enc_whc06(uint8_t *buf, double newtons, int unit, bool stable) {
        static const double unit_n[] = { 0, KG_TO_N, LBF_TO_N, 14 * LBF_TO_N, 0.5 * KG_TO_N };
        uint16_t raw = (uint16_t) (int16_t) round_away(newtons / unit_n[unit] * 100);

        memset(buf, 0, 15);
        buf[10] = (uint8_t) (raw >> 8);
        buf[11] = (uint8_t) raw;
        buf[14] = (uint8_t) ((stable ? 0x10 : 0) | unit);
        return 15;
}

size_t enc_cts500_weight(uint8_t *buf, double newtons) {
        buf[0] = 0x05;
        buf[1] = 0x00;
        put_be32(buf + 2, (uint32_t) (int32_t) round_away(newtons / KG_TO_N * 100));
        buf[6] = sum8(buf, 6);
        return 7;
}

size_t enc_cts500_battery(uint8_t *buf, unsigned mv) {
        buf[0] = 0x05;
        buf[1] = 0x80;
        buf[2] = 0xC4;
        buf[3] = 0x00;
        buf[4] = (uint8_t) ((mv / 10) >> 8);
        buf[5] = (uint8_t) (mv / 10);
        buf[6] = sum8(buf, 6);
        return 7;
}

static double linescale_unit(char unit, int *decimals) {
        switch (unit) {
        case 'N':
                *decimals = 3;
                return 1000.0;
        case 'G':
                *decimals = 1;
                return KG_TO_N;
        default:
                *decimals = 1;
                return LBF_TO_N;
        }
}

size_t enc_linescale(uint8_t *buf, double newtons, char unit, char zero_mode, double ref_newtons, int battery_percent) {
        int decimals;
        double scale = linescale_unit(unit, &decimals);
        char text[32];

        memset(buf, ' ', 20);
        buf[0] = 'M';
        check(snprintf(text, sizeof(text), "%6.*f", decimals, (newtons - ref_newtons) / scale) == 6);
        memcpy(buf + 1, text, 6);
        buf[7] = (uint8_t) zero_mode;
        check(snprintf(text, sizeof(text), "%6.*f", decimals, ref_newtons / scale) == 6);
        memcpy(buf + 8, text, 6);
        buf[14] = (uint8_t) (0x20 + battery_percent / 2);
        buf[15] = (uint8_t) unit;
        buf[16] = 'F';
        return 20;
}

size_t enc_activ5(uint8_t *buf, double newtons) {
        int r = snprintf((char *) buf, 32, "IS%.1f/IS", newtons);

        check(r > 0 && r < 32);
        return (size_t) r;
}

size_t enc_imd_force(uint8_t *buf, double newtons) {
        put_le32(buf, (uint32_t) (int32_t) round_away(newtons * 1000));
        return 4;
}
