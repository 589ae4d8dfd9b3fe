/* SPDX-License-Identifier: MIT */
/* PitchSix Force Board. Notification: u16 BE sample count, then count 3-byte samples in
 * pounds-force. Start/stop/tare are Device Mode bytes written to a characteristic of a
 * second service (467a8516-...), which BlueZ finds by UUID like any other.
 *
 * The sample's byte weights. The only public decoder (hangtime-grip-connect) computes
 * b0*32768 + b1*256 + b2, said to follow the vendor PDF, which we could not read. We decode
 * b0 b1 b2 as a 24-bit big-endian two's-complement integer instead, because:
 *  - for b0 == 0, i.e. every value below 65536 lbf (far beyond any board's range, and all
 *    values the public tests use) both readings give the same number;
 *  - 32768 would make the encoding ambiguous (01 00 00 and 00 80 00 both 32768), which no
 *    binary encoder produces, so it reads as a typo of 65536;
 *  - after a tare a force plate reads slightly negative, and two's complement (b0 == 0xFF)
 *    is how a 24-bit field carries that; the other reading would say 8.4 million lbf.
 * Where the readings disagree about a physically possible value there is none: a sample
 * with b0 other than 0x00 or 0xFF is beyond +-65536 lbf under either, so its frame is
 * dropped (-ERANGE) rather than guessed at. */

#include "ble/drivers/driver-internal.h"

static int forceboard_decode(void *state, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        size_t n;

        if (len > DRIVER_FRAME_MAX)
                return -EMSGSIZE;
        if (len < 2)
                return -EBADMSG;
        n = rd_be16(buf);
        if (len != 2 + 3 * n)
                return -EBADMSG;
        if (n > max)
                return -ENOBUFS;

        for (size_t i = 0; i < n; i++) {
                uint8_t b0 = buf[2 + 3 * i];

                if (b0 != 0x00 && b0 != 0xFF)
                        return -ERANGE;
        }

        for (size_t i = 0; i < n; i++) {
                const uint8_t *p = buf + 2 + 3 * i;
                int32_t v = (int32_t) ((uint32_t) p[0] << 16 | (uint32_t) p[1] << 8 | p[2]);

                if (p[0] == 0xFF)
                        v -= INT32_C(1) << 24;
                out[i] = driver_sample((double) v * LBF_TO_N);
        }
        return (int) n;
}

const Driver driver_forceboard = {
        .name = "forceboard",
        .description = "PitchSix Force Board",
        .name_prefixes = (const char *const[]) { "Force Board", NULL },
        .service_uuid = "9a88d67f-8df2-4afe-9e0d-c2bbbe773dd0",
        .uuid_identifies = true,
        .notify_uuid = "9a88d682-8df2-4afe-9e0d-c2bbbe773dd0",
        .write_uuid = "467a8517-6e39-11eb-9439-0242ac130002", /* Device Mode */
        .battery_uuid = BT_UUID16("2a19"),
        /* AcquireNotify: the board streams only once Device Mode is set to streaming (0x04), which
         * the link writes after the subscription has completed: nothing can beat the CCC write. */
        .acquire_notify = true,
        .hw_tare = true,
        .start_cmd = DRIVER_CMD(0x04), /* streaming mode */
        .stop_cmd = DRIVER_CMD(0x07),  /* idle mode */
        .tare_cmd = DRIVER_CMD(0x05),
        .nominal_rate_hz = 80.0,
        .state_size = 0,
        .decode = forceboard_decode,
};
