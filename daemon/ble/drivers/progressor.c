/* SPDX-License-Identifier: MIT */
/* Tindeq Progressor and the clones that speak its API (Crimpdeq, Mito, Hangman).
 * Every notification is one TLV: [type u8][len u8][len payload bytes], little endian. */

#include "ble/drivers/driver-internal.h"

enum {
        PROGRESSOR_RES_CMD = 0,
        PROGRESSOR_RES_WEIGHT = 1,
        PROGRESSOR_RES_RFD_PEAK = 2,
        PROGRESSOR_RES_RFD_SERIES = 3,
        PROGRESSOR_RES_LOW_POWER = 4,
};

/* The battery reply (to 0x6F) is a bare uint32 mV, indistinguishable by shape from other
 * 4-byte command replies; the decoder does not see which command was written. A cell
 * voltage in this window cannot be 4 ASCII characters (>= 0x20202020) nor a small id. */
#define PROGRESSOR_BATTERY_MV_MIN 1000u
#define PROGRESSOR_BATTERY_MV_MAX 10000u

typedef struct ProgressorState {
        /* The device clock is uint32 microseconds since stream start: it wraps after 71.6
         * minutes, which a station streaming all day passes. Unwrapped here. */
        uint32_t last_raw;
        uint64_t epoch;
        bool have_last;
} ProgressorState;

static uint64_t progressor_unwrap(ProgressorState *s, uint32_t raw) {
        /* Only a backwards step of more than half the range is a wrap; a smaller one is a
         * new stream (start after stop restarts the clock) and is passed on as it is. */
        if (s->have_last && raw < s->last_raw && s->last_raw - raw > UINT32_C(0x80000000))
                s->epoch += UINT64_C(1) << 32;
        s->last_raw = raw;
        s->have_last = true;
        return s->epoch + raw;
}

static int progressor_decode(void *state, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        ProgressorState *s = state;
        size_t plen, n;

        if (len > DRIVER_FRAME_MAX)
                return -EMSGSIZE;
        if (len < 2)
                return -EBADMSG;
        plen = buf[1];
        if (len != 2 + plen)
                return -EBADMSG;

        switch (buf[0]) {

        case PROGRESSOR_RES_WEIGHT:
                if (plen == 0 || plen % 8 != 0)
                        return -EBADMSG;
                n = plen / 8;
                if (n > max)
                        return -ENOBUFS;
                /* Validate everything before touching the clock state or the output. */
                for (size_t i = 0; i < n; i++)
                        if (!isfinite(rd_le_float(buf + 2 + 8 * i)))
                                return -ERANGE;
                for (size_t i = 0; i < n; i++) {
                        const uint8_t *p = buf + 2 + 8 * i;

                        out[i] = driver_sample_ts((double) rd_le_float(p) * KG_TO_N,
                                                  progressor_unwrap(s, rd_le32(p + 4)));
                }
                return (int) n;

        case PROGRESSOR_RES_CMD:
                if (plen == 4) {
                        uint32_t mv = rd_le32(buf + 2);

                        if (mv >= PROGRESSOR_BATTERY_MV_MIN && mv <= PROGRESSOR_BATTERY_MV_MAX) {
                                if (max < 1)
                                        return -ENOBUFS;
                                out[0] = driver_battery(-1, (int) mv);
                                return 1;
                        }
                }
                return 0; /* firmware version, ids, calibration: not ours to interpret */

        case PROGRESSOR_RES_RFD_PEAK:
        case PROGRESSOR_RES_RFD_SERIES:
                return 0; /* only sent after RFD commands, which we never write */

        case PROGRESSOR_RES_LOW_POWER:
                if (max < 1)
                        return -ENOBUFS;
                out[0] = driver_low_power();
                return 1;

        default:
                return -EPROTO;
        }
}

const Driver driver_progressor = {
        .name = "progressor",
        .description = "Tindeq Progressor (and Crimpdeq, Mito, Hangman clones)",
        .name_prefixes = (const char *const[]) { "Progressor", NULL },
        .service_uuid = "7e4e1701-1ea6-40c9-9dcc-13d34ffead57",
        .uuid_identifies = true,
        .notify_uuid = "7e4e1702-1ea6-40c9-9dcc-13d34ffead57",
        .write_uuid = "7e4e1703-1ea6-40c9-9dcc-13d34ffead57",
        .battery_uuid = NULL,
        /* AcquireNotify: the Progressor sends nothing on its data characteristic until the start
         * (0x65) or battery (0x6F) command, both written after the subscription has completed,
         * so BlueZ's dropping of notifications that beat the CCC write cannot lose a frame. */
        .acquire_notify = true,
        .hw_tare = true,
        .start_cmd = DRIVER_CMD(0x65),
        .stop_cmd = DRIVER_CMD(0x66),
        .tare_cmd = DRIVER_CMD(0x64),
        .battery_cmd = DRIVER_CMD(0x6F),
        .nominal_rate_hz = 80.0,
        .state_size = sizeof(ProgressorState),
        .decode = progressor_decode,
};
