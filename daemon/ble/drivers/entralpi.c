/* SPDX-License-Identifier: MIT */
/* Entralpi (also sold as Lefu / Unique CW275): streams by itself once notifications are on,
 * each notification a uint16 big-endian in 1/100 kg. No tare command: the hub tares in
 * software. The value is unsigned, so it never reads below zero. */

#include "ble/drivers/driver-internal.h"

static int entralpi_decode(void *state, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        if (len > DRIVER_FRAME_MAX)
                return -EMSGSIZE;
        /* The only public decoder reads the first two bytes of whatever arrives. We accept
         * exactly two: a longer value would be some other message, and reading a number
         * out of it would make one up. */
        if (len != 2)
                return -EBADMSG;
        if (max < 1)
                return -ENOBUFS;
        out[0] = driver_sample((double) rd_be16(buf) / 100.0 * KG_TO_N);
        return 1;
}

const Driver driver_entralpi = {
        .name = "entralpi",
        .description = "Entralpi force plate (Lefu / Unique CW275)",
        .name_prefixes = (const char *const[]) { "ENTRALPI", NULL },
        /* It puts its custom FFF1 characteristic into the SIG Weight Scale service: that
         * UUID is shared by every body scale, so it does not identify the device. */
        .service_uuid = BT_UUID16("181d"),
        .uuid_identifies = false,
        .notify_uuid = BT_UUID16("fff1"),
        .write_uuid = NULL,
        .battery_uuid = BT_UUID16("2a19"),
        /* StartNotify: there is no start command; the plate notifies as soon as its CCC is
         * written, so its first values can beat the write's response, which BlueZ drops under
         * AcquireNotify. */
        .acquire_notify = false,
        .hw_tare = false,
        .nominal_rate_hz = 10.0,
        .state_size = 0,
        .decode = entralpi_decode,
};
