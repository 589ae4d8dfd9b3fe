/* SPDX-License-Identifier: MIT */
/* CTS500 / CTS-300 climbing scale (Jlyscales). A UART scale behind an MY-BT102 bridge on
 * the HM-10-style service 0xFFE0 (notify FFE1, write FFE2): the notifications are a byte
 * stream that cuts frames wherever it likes, so frames are reassembled here.
 *
 * Frames all start with 0x05 and end with sum8, the sum modulo 256 of every byte before it
 * header included (hangtime-grip-connect's cts500 model; checks against its command table,
 * e.g. start 05 AA 00 00 00 AF):
 *   6 bytes  05 op p1 p2 p3 sum      command, and the device's echo acknowledging one
 *   7 bytes  05 80 op x x x x sum    reply to a query: battery (op C4) = (b4 << 8 | b5) / 100 V
 *   7 bytes  05 s  w w w w sum       weight: bytes 2-5 int32 big endian, 1/100 kg; byte 1 is
 *                                    neither 0x80 nor a command opcode
 * A candidate whose checksum fails is not a frame: one byte is skipped and the scan goes on
 * (resync). Each run of skipped bytes counts as one dropped frame. */

#include "ble/drivers/driver-internal.h"

#define CTS500_HEADER 0x05
#define CTS500_RESPONSE 0x80
#define CTS500_ACK_LEN 6
#define CTS500_DATA_LEN 7
#define CTS500_OP_BATTERY 0xC4

typedef struct Cts500State {
        /* A partial frame waiting for the rest: at most CTS500_DATA_LEN - 1 bytes, because a
         * complete candidate is always either consumed or skipped. This is the hard cap. */
        uint8_t tail[CTS500_DATA_LEN - 1];
        size_t n_tail;
        bool skipping;          /* inside a run of skipped bytes (counted once) */
        unsigned dropped;       /* for take_dropped() */
} Cts500State;

static bool cts500_is_opcode(uint8_t b) {
        switch (b) {
        case 0x81 ... 0x86:
        case 0xA1: case 0xA2: case 0xA4: case 0xA6: case 0xA7: case 0xA9: case 0xAA: case 0xAB:
        case 0xC0: case 0xC1: case 0xC3 ... 0xC7: case 0xCA:
        case 0xD1 ... 0xD4:
                return true;
        default:
                return false;
        }
}

static uint8_t sum8(const uint8_t *p, size_t n) {
        uint8_t s = 0;

        for (size_t i = 0; i < n; i++)
                s = (uint8_t) (s + p[i]);
        return s;
}

static void cts500_skip(Cts500State *s, bool *skipped) {
        *skipped = true;
        if (!s->skipping)
                s->dropped++;
        s->skipping = true;
}

static int cts500_decode(void *state, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        Cts500State *s = state;
        uint8_t work[sizeof(s->tail) + DRIVER_FRAME_MAX];
        size_t total, pos = 0;
        bool skipped = false;
        int n = 0;

        if (len > DRIVER_FRAME_MAX)
                return -EMSGSIZE;
        total = s->n_tail + len;
        /* Every output needs a 7-byte frame: refuse up front rather than half-way. */
        if (total / CTS500_DATA_LEN > max)
                return -ENOBUFS;

        memcpy(work, s->tail, s->n_tail);
        if (len > 0)
                memcpy(work + s->n_tail, buf, len);

        while (pos < total) {
                const uint8_t *f = work + pos;
                size_t avail = total - pos;

                if (f[0] != CTS500_HEADER) {
                        cts500_skip(s, &skipped);
                        pos++;
                        continue;
                }
                if (avail < CTS500_ACK_LEN)
                        break;
                if (cts500_is_opcode(f[1]) && sum8(f, CTS500_ACK_LEN - 1) == f[CTS500_ACK_LEN - 1]) {
                        /* Echo of a command we wrote: nothing to report. */
                        s->skipping = false;
                        pos += CTS500_ACK_LEN;
                        continue;
                }
                if (avail < CTS500_DATA_LEN)
                        break;
                if (sum8(f, CTS500_DATA_LEN - 1) != f[CTS500_DATA_LEN - 1]) {
                        cts500_skip(s, &skipped);
                        pos++;
                        continue;
                }

                s->skipping = false;
                pos += CTS500_DATA_LEN;
                if (f[1] == CTS500_RESPONSE) {
                        /* 0 V is no reading of a battery that powers the reply. */
                        if (f[2] == CTS500_OP_BATTERY && rd_be16(f + 4) > 0)
                                out[n++] = driver_battery(-1, (int) rd_be16(f + 4) * 10);
                        /* temperature and other replies: not ours to interpret */
                } else if (!cts500_is_opcode(f[1]))
                        out[n++] = driver_sample((double) (int32_t) rd_be32(f + 2) / 100.0 * KG_TO_N);
        }

        s->n_tail = total - pos;
        memcpy(s->tail, work + pos, s->n_tail);

        /* Only garbage: fail the call (feed counts the runs, at least one). */
        if (n == 0 && skipped)
                return -EBADMSG;
        return n;
}

static unsigned cts500_take_dropped(void *state) {
        Cts500State *s = state;
        unsigned d = s->dropped;

        s->dropped = 0;
        return d;
}

const Driver driver_cts500 = {
        .name = "cts500",
        .description = "Jlyscales CTS500 / CTS-300 climbing scale",
        .name_prefixes = (const char *const[]) { "CTS500", "CTS-300", NULL },
        /* 0xFFE0 is the generic HM-10 style UART service: it identifies nothing. */
        .service_uuid = BT_UUID16("ffe0"),
        .uuid_identifies = false,
        .notify_uuid = BT_UUID16("ffe1"),
        .write_uuid = BT_UUID16("ffe2"),
        .battery_uuid = NULL,
        /* AcquireNotify: weight frames flow only after "start auto-upload" (0xAA), written once
         * subscribed; replies come only to commands written after that, too. */
        .acquire_notify = true,
        .hw_tare = true,
        .start_cmd = DRIVER_CMD(0x05, 0xAA, 0x00, 0x00, 0x00, 0xAF),
        .stop_cmd = DRIVER_CMD(0x05, 0xAB, 0x00, 0x00, 0x00, 0xB0),
        .tare_cmd = DRIVER_CMD(0x05, 0xA6, 0x00, 0x00, 0x00, 0xAB),
        .battery_cmd = DRIVER_CMD(0x05, 0xC4, 0x00, 0x00, 0x00, 0xC9),
        .nominal_rate_hz = 10.0,
        .state_size = sizeof(Cts500State),
        .decode = cts500_decode,
        .take_dropped = cts500_take_dropped,
};
