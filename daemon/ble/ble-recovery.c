/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "ble/ble-recovery.h"
#include "shared/macro.h"

struct BleRecovery {
        BleRecoveryConfig cfg;
        uint64_t rng;
        unsigned failures;
        unsigned logged;        /* bit per action already reported since the last success */
        bool cycled;
        nsec_t last_cycle;
        bool prev_cycled;       /* before the last POWER_CYCLE answer, to take it back */
        nsec_t prev_last_cycle;
};

int ble_recovery_new(BleRecovery **ret, const BleRecoveryConfig *cfg, uint64_t seed) {
        BleRecovery *r;

        if (!ret)
                return -EINVAL;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        if (cfg)
                r->cfg = *cfg;
        if (r->cfg.backoff_initial_ms == 0)
                r->cfg.backoff_initial_ms = BLE_RECOVERY_DEFAULT_BACKOFF_INITIAL_MS;
        if (r->cfg.backoff_max_ms == 0)
                r->cfg.backoff_max_ms = BLE_RECOVERY_DEFAULT_BACKOFF_MAX_MS;
        r->cfg.backoff_max_ms = MAX(r->cfg.backoff_max_ms, r->cfg.backoff_initial_ms);
        if (r->cfg.jitter_percent >= 100)
                r->cfg.jitter_percent = 20;
        if (r->cfg.retries_before_remove == 0)
                r->cfg.retries_before_remove = 3;
        if (r->cfg.retries_before_power_cycle == 0)
                r->cfg.retries_before_power_cycle = 6;
        r->cfg.retries_before_power_cycle = MAX(r->cfg.retries_before_power_cycle, r->cfg.retries_before_remove);
        if (r->cfg.power_cycle_min_interval_ms == 0)
                r->cfg.power_cycle_min_interval_ms = 300000;
        r->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
        *ret = r;
        return 0;
}

BleRecovery *ble_recovery_free(BleRecovery *r) {
        free(r);
        return NULL;
}

static uint64_t next_random(BleRecovery *r) {
        /* xorshift64*: jitter only needs to decorrelate tools, not to be unpredictable */
        r->rng ^= r->rng >> 12;
        r->rng ^= r->rng << 25;
        r->rng ^= r->rng >> 27;
        return r->rng * 2685821657736338717ULL;
}

static nsec_t backoff(BleRecovery *r) {
        unsigned shift = MIN(r->failures - 1, 30U);
        uint64_t ms = MIN((uint64_t) r->cfg.backoff_initial_ms << shift, (uint64_t) r->cfg.backoff_max_ms);
        uint64_t j = r->cfg.jitter_percent;

        if (j > 0) {
                /* uniform in [100 - j, 100 + j] percent */
                uint64_t pct = 100 - j + next_random(r) % (2 * j + 1);
                ms = ms * pct / 100;
        }
        return nsec_from_ms((int64_t) ms);
}

BleRecoveryAction ble_recovery_failed(BleRecovery *r, nsec_t now, nsec_t *ret_delay, bool *ret_escalated) {
        BleRecoveryAction action = BLE_RECOVERY_RETRY;
        unsigned k;

        r->failures++;
        k = (r->failures - 1) % r->cfg.retries_before_power_cycle + 1;
        if (k == r->cfg.retries_before_power_cycle &&
            (!r->cycled || now - r->last_cycle >= nsec_from_ms(r->cfg.power_cycle_min_interval_ms))) {
                action = BLE_RECOVERY_POWER_CYCLE;
                r->prev_cycled = r->cycled;
                r->prev_last_cycle = r->last_cycle;
                r->cycled = true;
                r->last_cycle = now;
        } else if (k == r->cfg.retries_before_remove || k == r->cfg.retries_before_power_cycle)
                action = BLE_RECOVERY_REMOVE_DEVICE;

        if (ret_delay)
                *ret_delay = backoff(r);
        if (ret_escalated)
                *ret_escalated = !(r->logged & (1U << action));
        r->logged |= 1U << action;
        return action;
}

void ble_recovery_power_cycle_refused(BleRecovery *r) {
        r->cycled = r->prev_cycled;
        r->last_cycle = r->prev_last_cycle;
}

unsigned ble_recovery_succeeded(BleRecovery *r) {
        unsigned n = r->failures;
        r->failures = 0;
        r->logged = 0;
        return n;
}

unsigned ble_recovery_failures(const BleRecovery *r) {
        return r->failures;
}

const char *ble_recovery_action_to_string(BleRecoveryAction a) {
        switch (a) {
        case BLE_RECOVERY_RETRY:
                return "retry";
        case BLE_RECOVERY_REMOVE_DEVICE:
                return "remove-device";
        case BLE_RECOVERY_POWER_CYCLE:
                return "power-cycle";
        }
        return "?";
}
