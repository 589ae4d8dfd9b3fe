/* SPDX-License-Identifier: MIT */
#pragma once

/* The identifiers BLE uses, parsed and written in one place: the configuration reader checks
 * them with these functions and the tag watch and BlueZ client parse them with the same ones,
 * so a value the configuration accepts is one the radio side understands (docs/config.md).
 *
 *   address    "AA:BB:CC:DD:EE:FF", hex in any case; canonical form upper case
 *   iBeacon    "UUID:major:minor": UUID 8-4-4-4-12 hex digits, major and minor decimal,
 *              1 to 5 digits, 0 to 65535; canonical form lower case, numbers without
 *              leading zeros
 *   Eddystone  "NAMESPACE:INSTANCE" (Eddystone-UID): 20 and 12 hex digits; canonical form
 *              lower case
 *
 * No dependencies, no logging; -EINVAL for a malformed value. */

#include <stdint.h>

#define BLE_ADDRESS_LEN 17              /* "AA:BB:CC:DD:EE:FF" */
#define BLE_IBEACON_ID_LEN 20           /* UUID(16) major(2, big endian) minor(2, big endian) */
#define BLE_EDDYSTONE_ID_LEN 16         /* namespace(10) instance(6) */
#define BLE_IBEACON_STRING_MAX (36 + 1 + 5 + 1 + 5)
#define BLE_EDDYSTONE_STRING_LEN (20 + 1 + 12)

int ble_address_normalize(const char *in, char out[static BLE_ADDRESS_LEN + 1]);

int ble_ibeacon_parse(const char *in, uint8_t ret[static BLE_IBEACON_ID_LEN]);
int ble_ibeacon_normalize(const char *in, char out[static BLE_IBEACON_STRING_MAX + 1]);

int ble_eddystone_parse(const char *in, uint8_t ret[static BLE_EDDYSTONE_ID_LEN]);
int ble_eddystone_normalize(const char *in, char out[static BLE_EDDYSTONE_STRING_LEN + 1]);
