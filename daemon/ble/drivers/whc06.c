/* SPDX-License-Identifier: MIT */
/* Weiheng WH-C06 hanging scale (and its MAT Muscle Meter reskin): no GATT, the reading is
 * in the manufacturer data of every advertisement, company id 0x0100. Offsets are into the
 * payload after the company id (as BlueZ's ManufacturerData gives it):
 *   [10..11] weight, int16 big endian, 1/100 of the unit below (signed: reads below zero
 *            after the scale's own zeroing)
 *   [14]     high nibble: stable flag, low nibble: unit 1 kg, 2 lb, 3 st, 4 jin (0.5 kg)
 * The stable flag is not passed on: a live force trace wants every reading. */

#include "ble/drivers/driver-internal.h"

#define WHC06_WEIGHT_OFFSET 10
#define WHC06_STATUS_OFFSET 14

static int whc06_decode(void *state, const uint8_t *buf, size_t len, DriverOutput *out, size_t max) {
        double unit_n;
        int16_t raw;

        if (len > DRIVER_FRAME_MAX)
                return -EMSGSIZE;
        if (len < WHC06_STATUS_OFFSET + 1)
                return -EBADMSG;

        switch (buf[WHC06_STATUS_OFFSET] & 0x0F) {
        case 1:
                unit_n = KG_TO_N;
                break;
        case 2:
                unit_n = LBF_TO_N;
                break;
        case 3:
                unit_n = 14.0 * LBF_TO_N;   /* stone = 14 lb */
                break;
        case 4:
                unit_n = 0.5 * KG_TO_N;     /* jin (市斤) = 500 g */
                break;
        default:
                return -EPROTO;
        }

        if (max < 1)
                return -ENOBUFS;
        raw = (int16_t) rd_be16(buf + WHC06_WEIGHT_OFFSET);
        out[0] = driver_sample((double) raw / 100.0 * unit_n);
        return 1;
}

const Driver driver_whc06 = {
        .name = "whc06",
        .description = "Weiheng WH-C06 hanging scale (advertisements only)",
        .name_prefixes = (const char *const[]) { "IF_B7", NULL },
        .service_uuid = NULL,
        .notify_uuid = NULL,
        .write_uuid = NULL,
        .battery_uuid = NULL,
        .advert_only = true,           /* no GATT: neither StartNotify nor AcquireNotify */
        .company_id = 0x0100,
        .hw_tare = false,
        .nominal_rate_hz = 1.0,
        .state_size = 0,
        .decode = whc06_decode,
};
