/* SPDX-License-Identifier: MIT */
/* Activ5 (ActivBody) isometric device, original protocol (service 0x5000). Commands are
 * 'A' + ASCII + 0x19; after the TVGTIME handshake, ISOM! starts the stream, which carries
 * ASCII frames "IS<value>/IS" with the value in newtons, about 10 Hz. Notifications may cut
 * a frame, so frames are reassembled here. Bytes outside a frame (replies to the handshake,
 * noise) are skipped; each run of skipped bytes counts as one dropped frame, and so does each
 * complete frame whose value is not a number. */

#include "ble/drivers/driver-internal.h"

/* Longest value text accepted: 15 characters keep every parsed mantissa exact in a double. */
#define ACTIV5_VALUE_MAX 15
/* "IS" + value + "/I": the longest prefix that can still become a frame. The hard cap. */
#define ACTIV5_TAIL_MAX (2 + ACTIV5_VALUE_MAX + 2)
/* "IS0/IS": the shortest frame, bounds the outputs of one call. */
#define ACTIV5_FRAME_MIN 6

typedef struct Activ5State {
        uint8_t tail[ACTIV5_TAIL_MAX];
        size_t n_tail;
        bool skipping;
        unsigned dropped;
} Activ5State;

static bool activ5_is_value_char(uint8_t c) {
        return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == ' ';
}

static void activ5_skip(Activ5State *s, bool *skipped, size_t *pos, size_t n) {
        *skipped = true;
        if (!s->skipping)
                s->dropped++;
        s->skipping = true;
        *pos += n;
}

static int activ5_decode(void *state, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        static const uint8_t close_tag[3] = { '/', 'I', 'S' };
        Activ5State *s = state;
        uint8_t work[ACTIV5_TAIL_MAX + DRIVER_FRAME_MAX];
        size_t total, pos = 0;
        bool skipped = false;
        int n = 0;

        if (len > DRIVER_FRAME_MAX)
                return -EMSGSIZE;
        total = s->n_tail + len;
        if (total / ACTIV5_FRAME_MIN > max)
                return -ENOBUFS;

        memcpy(work, s->tail, s->n_tail);
        if (len > 0)
                memcpy(work + s->n_tail, buf, len);

        while (pos < total) {
                const uint8_t *f = work + pos;
                size_t avail = total - pos, j, vlen, rest;
                double v;

                if (f[0] != 'I') {
                        activ5_skip(s, &skipped, &pos, 1);
                        continue;
                }
                if (avail < 2)
                        break;
                if (f[1] != 'S') {
                        activ5_skip(s, &skipped, &pos, 1);
                        continue;
                }

                for (j = 2; j < avail && j - 2 <= ACTIV5_VALUE_MAX && activ5_is_value_char(f[j]); j++)
                        ;
                vlen = j - 2;
                if (vlen > ACTIV5_VALUE_MAX) {
                        activ5_skip(s, &skipped, &pos, 2);
                        continue;
                }
                if (j == avail)
                        break;

                rest = MIN(avail - j, sizeof(close_tag));
                if (memcmp(f + j, close_tag, rest) != 0) {
                        activ5_skip(s, &skipped, &pos, 2);
                        continue;
                }
                if (rest < sizeof(close_tag))
                        break;

                if (driver_parse_decimal(f + 2, vlen, &v) < 0) {
                        /* A complete frame that is broken: a drop of its own. */
                        s->dropped++;
                        s->skipping = false;
                        skipped = true;
                        pos += j + sizeof(close_tag);
                        continue;
                }
                s->skipping = false;
                pos += j + sizeof(close_tag);
                out[n++] = driver_sample(v);
        }

        s->n_tail = total - pos;
        assert(s->n_tail <= sizeof(s->tail));
        memcpy(s->tail, work + pos, s->n_tail);

        /* Only garbage: fail the call (feed counts the drops, at least one). */
        if (n == 0 && skipped)
                return -EBADMSG;
        return n;
}

static unsigned activ5_take_dropped(void *state) {
        Activ5State *s = state;
        unsigned d = s->dropped;

        s->dropped = 0;
        return d;
}

const Driver driver_activ5 = {
        .name = "activ5",
        .description = "Activ5 (ActivBody) isometric trainer",
        .name_prefixes = (const char *const[]) { NULL },
        .service_uuid = BT_UUID16("5000"),
        .uuid_identifies = true,
        .notify_uuid = BT_UUID16("5a01"),
        .write_uuid = BT_UUID16("5a02"),
        .battery_uuid = NULL,
        /* AcquireNotify: frames flow only after ISOM!, and the handshake's reply only after
         * TVGTIME, both written once subscribed. (Should a unit's data characteristic indicate
         * rather than notify, bluetoothd 5.66 refuses AcquireNotify and the link falls back.) */
        .acquire_notify = true,
        .hw_tare = true,
        .init_cmd = DRIVER_CMD('A', 'T', 'V', 'G', 'T', 'I', 'M', 'E', 0x19),
        .start_cmd = DRIVER_CMD('A', 'I', 'S', 'O', 'M', '!', 0x19),
        .stop_cmd = DRIVER_CMD('A', 'S', 'T', 'O', 'P', '!', 0x19),
        .tare_cmd = DRIVER_CMD('A', 'T', 'A', 'R', 'E', '!', 0x19),
        .nominal_rate_hz = 10.0,
        .state_size = sizeof(Activ5State),
        .decode = activ5_decode,
        .take_dropped = activ5_take_dropped,
};
