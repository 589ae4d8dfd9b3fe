/* SPDX-License-Identifier: MIT */
/* Bluetooth SIG Industrial Measurement Device service (0x185A) with the Force
 * characteristic (0x2C07): sint32 little endian, resolution 1 mN; 0x7FFFFFFF means "value
 * is not known" and is not a reading. No vendor commands: a standard device notifies once
 * notifications are on. This is what our own tool would expose next to the Progressor API. */

#include "ble/drivers/driver-internal.h"

#define IMD_FORCE_UNKNOWN INT32_C(0x7FFFFFFF)

static int imd_force_decode(void *state, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        int32_t mn;

        if (len > DRIVER_FRAME_MAX)
                return -EMSGSIZE;
        if (len != 4)
                return -EBADMSG;
        mn = (int32_t) rd_le32(buf);
        if (mn == IMD_FORCE_UNKNOWN)
                return -ENODATA;
        if (max < 1)
                return -ENOBUFS;
        out[0] = driver_sample((double) mn / 1000.0);
        return 1;
}

const Driver driver_imd_force = {
        .name = "imd-force",
        .description = "Bluetooth SIG Industrial Measurement Device, Force characteristic",
        .name_prefixes = (const char *const[]) { NULL },
        .service_uuid = BT_UUID16("185a"),
        .uuid_identifies = true,
        .notify_uuid = BT_UUID16("2c07"),
        .write_uuid = NULL,
        .battery_uuid = NULL,
        /* StartNotify: a standard IMD notifies as soon as its CCC is written (no vendor start
         * command), and may notify only on change: a first value dropped under AcquireNotify
         * could leave the tool reading nothing until the force changes. */
        .acquire_notify = false,
        .hw_tare = false,
        .nominal_rate_hz = 10.0,
        .state_size = 0,
        .decode = imd_force_decode,
};
