/* SPDX-License-Identifier: MIT */
#pragma once

/* The recovery ladder for one tool, as policy only (no bus, no clock reads, no logging):
 * every failed connection attempt (abort, Failed, InProgress, timeout, silent stall) gets a
 * retry after an exponentially growing, jittered delay; the R-th failure in a round also
 * removes the device from BlueZ (clears a stale pending Connect); the P-th power-cycles the
 * adapter (at most once per min interval, else it removes the device again); then a new
 * round starts. A working stream resets everything. */

#include <stdbool.h>
#include <stdint.h>

#include "shared/time-util.h"

typedef enum BleRecoveryAction {
        BLE_RECOVERY_RETRY,
        BLE_RECOVERY_REMOVE_DEVICE,
        BLE_RECOVERY_POWER_CYCLE,
} BleRecoveryAction;

#define BLE_RECOVERY_DEFAULT_BACKOFF_INITIAL_MS 1000U
#define BLE_RECOVERY_DEFAULT_BACKOFF_MAX_MS 30000U

typedef struct BleRecoveryConfig {
        uint32_t backoff_initial_ms;            /* 0: BLE_RECOVERY_DEFAULT_BACKOFF_INITIAL_MS */
        uint32_t backoff_max_ms;                /* 0: BLE_RECOVERY_DEFAULT_BACKOFF_MAX_MS */
        unsigned jitter_percent;                /* delay x [1 - j, 1 + j]; >= 100: 20 */
        unsigned retries_before_remove;         /* R, 0: 3 */
        unsigned retries_before_power_cycle;    /* P, 0: 6; counted from the first failure */
        uint32_t power_cycle_min_interval_ms;   /* 0: 300000 */
} BleRecoveryConfig;

typedef struct BleRecovery BleRecovery;

int ble_recovery_new(BleRecovery **ret, const BleRecoveryConfig *cfg, uint64_t seed);
BleRecovery *ble_recovery_free(BleRecovery *r);

/* An attempt failed at time now. Returns the action; *ret_delay is how long to wait before
 * the next connection attempt (after the action has completed); *ret_escalated is true only
 * the first time a rung is reached since the last success: log exactly then. */
BleRecoveryAction ble_recovery_failed(BleRecovery *r, nsec_t now, nsec_t *ret_delay, bool *ret_escalated);
/* The stream works again. Returns the number of failures that preceded it. */
/* The caller did not power-cycle after a POWER_CYCLE answer (other links were in use) and
 * removed the device instead: the cycle is not counted against the minimum interval, so
 * the next round may try again. */
void ble_recovery_power_cycle_refused(BleRecovery *r);
unsigned ble_recovery_succeeded(BleRecovery *r);
unsigned ble_recovery_failures(const BleRecovery *r);
const char *ble_recovery_action_to_string(BleRecoveryAction a);
