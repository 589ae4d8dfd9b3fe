/* SPDX-License-Identifier: MIT */
/* LineGrip LineScale 3 (protocol published by the manufacturer, LS3 command table and port
 * protocol). Every notification is one 20-byte ASCII frame:
 *   [0] working mode  [1..6] value  [7] zero mode: 'N' absolute, 'Z' relative
 *   [8..13] reference zero  [14] battery, (c - 0x20) * 2 %  [15] unit 'N' kN, 'G' kgf,
 *   'B' lbf  [16] speed  [17..19] not documented, ignored
 * In relative mode the value is relative to the reference zero; we report value + reference
 * zero (the force on the line) in both modes, since the hub tares in software. Commands are
 * [letter, CR, LF, sum8 of the three]. */

#include "ble/drivers/driver-internal.h"

#define LINESCALE_FRAME_LEN 20

typedef struct LinescaleState {
        /* Battery is in every frame; passed on only when it changes. */
        bool battery_known;
        int battery;
} LinescaleState;

static int linescale_decode(void *state, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        LinescaleState *s = state;
        double value, ref = 0.0, unit_n;
        int battery = -1, n = 0;

        if (len > DRIVER_FRAME_MAX)
                return -EMSGSIZE;
        if (len != LINESCALE_FRAME_LEN)
                return -EBADMSG;

        switch (buf[15]) {
        case 'N':
                unit_n = 1000.0;
                break;
        case 'G':
                unit_n = KG_TO_N;
                break;
        case 'B':
                unit_n = LBF_TO_N;
                break;
        default:
                return -EPROTO;
        }

        if (driver_parse_decimal(buf + 1, 6, &value) < 0)
                return -EBADMSG;
        if (buf[7] == 'Z') {
                if (driver_parse_decimal(buf + 8, 6, &ref) < 0)
                        return -EBADMSG;
        } else if (buf[7] != 'N')
                return -EPROTO;

        if (buf[14] >= 0x20 && buf[14] <= 0x20 + 50)
                battery = (buf[14] - 0x20) * 2;

        bool battery_changed = battery >= 0 && (!s->battery_known || battery != s->battery);

        if (max < 1 + (size_t) battery_changed)
                return -ENOBUFS;

        out[n++] = driver_sample((value + ref) * unit_n);
        if (battery_changed) {
                out[n++] = driver_battery(battery, -1);
                s->battery_known = true;
                s->battery = battery;
        }
        return n;
}

const Driver driver_linescale = {
        .name = "linescale",
        .description = "LineGrip LineScale 3",
        .name_prefixes = (const char *const[]) { NULL },
        .service_uuid = BT_UUID16("1000"),
        .uuid_identifies = true,
        .notify_uuid = BT_UUID16("1002"),
        .write_uuid = BT_UUID16("1001"),
        .battery_uuid = NULL,
        /* AcquireNotify: the LineScale streams its frames only after the 'A' command, written
         * once subscribed. */
        .acquire_notify = true,
        .hw_tare = false,
        .start_cmd = DRIVER_CMD('A', 0x0D, 0x0A, 0x58),
        .stop_cmd = DRIVER_CMD('E', 0x0D, 0x0A, 0x5C),
        .nominal_rate_hz = 40.0,
        .state_size = sizeof(LinescaleState),
        .decode = linescale_decode,
};
