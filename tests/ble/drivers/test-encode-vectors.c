/* SPDX-License-Identifier: MIT */
/* The contract with the BLE simulator: bytes produced by tests/ble/sim/encode.py decode in
 * C to exactly the newtons (and device timestamps, battery values) encode.py says they
 * represent. Usage: test-encode-vectors PYTHON3 ENCODE_PY */

#include <errno.h>
#include <string.h>

#include "driver-test.h"

#define MAX_EXPECT 64

typedef struct Vector {
        char driver[32], label[64];
        DriverDecoder *dec;
        DriverOutput got[MAX_EXPECT], want[MAX_EXPECT];
        size_t n_got, n_want, n_chunks;
} Vector;

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

static void feed_chunk(Vector *v, const char *hex) {
        uint8_t buf[DRIVER_FRAME_MAX];
        DriverOutput out[DRIVER_OUTPUTS_MAX];
        size_t len = 0;
        int r;

        if (strcmp(hex, "-") != 0)
                for (; hex[0] && hex[1]; hex += 2) {
                        int hi = hexval(hex[0]), lo = hexval(hex[1]);

                        check(hi >= 0 && lo >= 0 && len < sizeof(buf));
                        buf[len++] = (uint8_t) (hi << 4 | lo);
                }
        check(hex[0] == '\0' || strcmp(hex, "-") == 0);
        r = test_feed(v->dec, buf, len, out);
        if (r < 0) {
                fprintf(stderr, "%s/%s: chunk %zu refused: %s\n", v->driver, v->label, v->n_chunks, strerror(-r));
                abort();
        }
        check(v->n_got + (size_t) r <= MAX_EXPECT);
        memcpy(v->got + v->n_got, out, sizeof(DriverOutput) * (size_t) r);
        v->n_got += (size_t) r;
        v->n_chunks++;
}

static void finish(Vector *v) {
        size_t samples = 0;

        fprintf(stderr, "%s/%s: %zu chunks, %zu outputs\n", v->driver, v->label, v->n_chunks, v->n_got);
        check_eq(v->n_got, v->n_want);
        for (size_t i = 0; i < v->n_want; i++) {
                const DriverOutput *g = &v->got[i], *w = &v->want[i];

                check_eq(g->type, w->type);
                switch (w->type) {
                case DRIVER_OUT_SAMPLE:
                        check_sample(g, w->newtons, w->has_device_ts ? (int64_t) w->device_ts_us : -1);
                        samples++;
                        break;
                case DRIVER_OUT_BATTERY:
                        check_eq(g->battery_percent, w->battery_percent);
                        check_eq(g->battery_mv, w->battery_mv);
                        break;
                case DRIVER_OUT_LOW_POWER:
                        break;
                }
        }
        check_stats(v->dec, v->n_chunks, samples, 0);
        v->dec = driver_decoder_free(v->dec);
}

static bool hex_equals(const char *hex, const uint8_t *bytes, size_t len) {
        if (strcmp(hex, "-") == 0)
                return len == 0;
        if (strlen(hex) != 2 * len)
                return false;
        for (size_t i = 0; i < len; i++)
                if (hexval(hex[2 * i]) != bytes[i] >> 4 || hexval(hex[2 * i + 1]) != (bytes[i] & 0x0F))
                        return false;
        return true;
}

static bool str_equals(const char *value, const char *s) {
        return strcmp(value, "-") == 0 ? !s : s && strcmp(value, s) == 0;
}

/* encode.py's DEVICES (what the simulator presents) must be the driver table's view. */
static void check_device(const char *driver, const char *field, const char *value) {
        const Driver *d = driver_find(driver);
        const DriverCommand *cmd = NULL;
        bool ok;

        check(d);
        if (strcmp(field, "name") == 0)
                ok = hex_equals(value, (const uint8_t *) d->name_prefixes[0],
                                d->name_prefixes[0] ? strlen(d->name_prefixes[0]) : 0);
        else if (strcmp(field, "service") == 0)
                ok = str_equals(value, d->service_uuid);
        else if (strcmp(field, "notify") == 0)
                ok = str_equals(value, d->notify_uuid);
        else if (strcmp(field, "write") == 0)
                ok = str_equals(value, d->write_uuid);
        else if (strcmp(field, "battery") == 0)
                ok = str_equals(value, d->battery_uuid);
        else if (strcmp(field, "company") == 0)
                ok = strcmp(value, "-") == 0 ? !d->advert_only :
                        d->advert_only && strtoul(value, NULL, 16) == d->company_id;
        else {
                if (strcmp(field, "cmd-init") == 0)
                        cmd = &d->init_cmd;
                else if (strcmp(field, "cmd-start") == 0)
                        cmd = &d->start_cmd;
                else if (strcmp(field, "cmd-stop") == 0)
                        cmd = &d->stop_cmd;
                else if (strcmp(field, "cmd-tare") == 0)
                        cmd = &d->tare_cmd;
                else if (strcmp(field, "cmd-battery") == 0)
                        cmd = &d->battery_cmd;
                check(cmd);
                ok = hex_equals(value, cmd->bytes, cmd->len);
        }
        if (!ok) {
                fprintf(stderr, "encode.py DEVICES[%s] %s = %s disagrees with the driver table\n",
                        driver, field, value);
                abort();
        }
}

int main(int argc, char *argv[]) {
        char cmd[4096], *line = NULL;
        size_t cap = 0;
        unsigned n_vectors = 0, n_fields = 0;
        Vector v = {};
        FILE *f;

        check(argc == 3);
        check(snprintf(cmd, sizeof(cmd), "'%s' '%s' --vectors", argv[1], argv[2]) < (int) sizeof(cmd));
        f = popen(cmd, "r");
        check(f);

        while (getline(&line, &cap, f) > 0) {
                char a[DRIVER_FRAME_MAX * 2 + 16], b[64], c[64]; /* 1040: matches %1039s */
                int n;

                line[strcspn(line, "\n")] = '\0';
                n = sscanf(line, "%*s %1039s %63s %63s", a, b, c);
                if (strncmp(line, "device ", 7) == 0) {
                        check(!v.dec && n == 3);
                        check_device(a, b, c);
                        n_fields++;
                } else if (strncmp(line, "vector ", 7) == 0) {
                        check(!v.dec && n == 2);
                        memset(&v, 0, sizeof(v));
                        check(strlen(a) < sizeof(v.driver) && strlen(b) < sizeof(v.label));
                        memcpy(v.driver, a, strlen(a) + 1);
                        memcpy(v.label, b, strlen(b) + 1);
                        v.dec = test_decoder(v.driver);
                } else if (strncmp(line, "chunk ", 6) == 0) {
                        check(v.dec && n == 1);
                        feed_chunk(&v, a);
                } else if (strncmp(line, "sample ", 7) == 0) {
                        DriverOutput *w = &v.want[v.n_want++];

                        check(v.dec && n == 2 && v.n_want <= MAX_EXPECT);
                        *w = (DriverOutput) { .type = DRIVER_OUT_SAMPLE, .newtons = strtod(a, NULL) };
                        if (strcmp(b, "-") != 0) {
                                w->has_device_ts = true;
                                w->device_ts_us = strtoull(b, NULL, 10);
                        }
                } else if (strncmp(line, "battery ", 8) == 0) {
                        check(v.dec && n == 2 && v.n_want < MAX_EXPECT);
                        v.want[v.n_want++] = (DriverOutput) { .type = DRIVER_OUT_BATTERY,
                                .battery_percent = atoi(a), .battery_mv = atoi(b) };
                } else if (strcmp(line, "low_power") == 0) {
                        check(v.dec && v.n_want < MAX_EXPECT);
                        v.want[v.n_want++] = (DriverOutput) { .type = DRIVER_OUT_LOW_POWER };
                } else if (strcmp(line, "end") == 0) {
                        check(v.dec);
                        finish(&v);
                        n_vectors++;
                } else {
                        fprintf(stderr, "unexpected line: %s\n", line);
                        abort();
                }
        }
        free(line);
        check(!v.dec);
        check_eq(pclose(f), 0);
        /* Every driver has at least its ramp: encode.py cannot silently shrink to nothing. */
        fprintf(stderr, "%u vectors\n", n_vectors);
        check(n_vectors >= 26);
        fprintf(stderr, "%u device fields\n", n_fields);
        check_eq(n_fields, 11 * 8);
        return 0;
}
