/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ble/ble-id.h"

int ble_address_normalize(const char *in, char out[static BLE_ADDRESS_LEN + 1]) {
        if (!in || strlen(in) != BLE_ADDRESS_LEN)
                return -EINVAL;
        for (size_t i = 0; i < BLE_ADDRESS_LEN; i++) {
                char ch = in[i];

                if (i % 3 == 2) {
                        if (ch != ':')
                                return -EINVAL;
                        out[i] = ':';
                } else {
                        if (!isxdigit((unsigned char) ch))
                                return -EINVAL;
                        out[i] = (char) toupper((unsigned char) ch);
                }
        }
        out[BLE_ADDRESS_LEN] = '\0';
        return 0;
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

/* Exactly 2 * n hex digits from s into out. */
static int unhex(const char *s, size_t n, uint8_t *out) {
        for (size_t i = 0; i < n; i++) {
                int hi = hex_value(s[2 * i]), lo = hi < 0 ? -EINVAL : hex_value(s[2 * i + 1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (uint8_t) (hi << 4 | lo);
        }
        return 0;
}

/* 1 to 5 decimal digits, at most 65535, the whole of s[0..n). */
static int parse_u16(const char *s, size_t n, uint16_t *ret) {
        unsigned v = 0;

        if (n < 1 || n > 5)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v > 0xFFFF)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

int ble_ibeacon_parse(const char *in, uint8_t ret[static BLE_IBEACON_ID_LEN]) {
        static const size_t groups[] = { 8, 4, 4, 4, 12 };
        uint8_t id[BLE_IBEACON_ID_LEN];
        const char *p = in, *minor;
        uint16_t a, b;
        size_t k = 0;

        if (!in)
                return -EINVAL;
        /* The UUID: five groups of hex digits joined by '-', then ':'. */
        for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
                if (strnlen(p, groups[g]) != groups[g] || unhex(p, groups[g] / 2, id + k) < 0)
                        return -EINVAL;
                k += groups[g] / 2;
                p += groups[g];
                if (*p != (g < 4 ? '-' : ':'))
                        return -EINVAL;
                p++;
        }
        minor = strchr(p, ':');
        if (!minor || parse_u16(p, (size_t) (minor - p), &a) < 0 || parse_u16(minor + 1, strlen(minor + 1), &b) < 0)
                return -EINVAL;
        id[16] = (uint8_t) (a >> 8);
        id[17] = (uint8_t) a;
        id[18] = (uint8_t) (b >> 8);
        id[19] = (uint8_t) b;
        memcpy(ret, id, sizeof(id));
        return 0;
}

int ble_ibeacon_normalize(const char *in, char out[static BLE_IBEACON_STRING_MAX + 1]) {
        uint8_t id[BLE_IBEACON_ID_LEN];
        const uint8_t *u = id;

        if (ble_ibeacon_parse(in, id) < 0)
                return -EINVAL;
        snprintf(out, BLE_IBEACON_STRING_MAX + 1,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x:%u:%u", u[0], u[1], u[2],
                 u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15],
                 (unsigned) (id[16] << 8 | id[17]), (unsigned) (id[18] << 8 | id[19]));
        return 0;
}

int ble_eddystone_parse(const char *in, uint8_t ret[static BLE_EDDYSTONE_ID_LEN]) {
        uint8_t id[BLE_EDDYSTONE_ID_LEN];

        if (!in || strlen(in) != BLE_EDDYSTONE_STRING_LEN || in[20] != ':' || unhex(in, 10, id) < 0 ||
            unhex(in + 21, 6, id + 10) < 0)
                return -EINVAL;
        memcpy(ret, id, sizeof(id));
        return 0;
}

int ble_eddystone_normalize(const char *in, char out[static BLE_EDDYSTONE_STRING_LEN + 1]) {
        uint8_t id[BLE_EDDYSTONE_ID_LEN];
        char *o = out;

        if (ble_eddystone_parse(in, id) < 0)
                return -EINVAL;
        for (size_t i = 0; i < BLE_EDDYSTONE_ID_LEN; i++) {
                if (i == 10)
                        *o++ = ':';
                o += sprintf(o, "%02x", id[i]);
        }
        return 0;
}
