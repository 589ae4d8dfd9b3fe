/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "ble/ble-zero.h"
#include "shared/macro.h"

static const char *const state_names[_BLE_ZERO_STATE_MAX] = {
        [BLE_ZERO_NONE] = "none",
        [BLE_ZERO_IN_DOUBT] = "in_doubt",
        [BLE_ZERO_OK] = "ok",
};

const char *ble_zero_state_to_string(BleZeroState s) {
        return (unsigned) s < _BLE_ZERO_STATE_MAX ? state_names[s] : "?";
}

BleZeroState ble_zero_state_from_string(const char *s) {
        for (unsigned i = 0; s && i < _BLE_ZERO_STATE_MAX; i++)
                if (strcmp(state_names[i], s) == 0)
                        return (BleZeroState) i;
        return _BLE_ZERO_STATE_MAX;
}

void ble_zero_init(BleZero *z, const BleZeroParams *p) {
        *z = (BleZero) {};
        if (p)
                z->p = *p;
        if (z->p.window == 0)
                z->p.window = nsec_from_ms(500);
        if (!(z->p.band_n > 0))
                z->p.band_n = 1.0;
        if (!(z->p.margin_n > 0))
                z->p.margin_n = 3.0;
        if (!(z->p.load_n > 0))
                z->p.load_n = 10.0;
}

void ble_zero_set(BleZero *z, double offset, BleZeroState state) {
        if (!isfinite(offset) || (unsigned) state >= _BLE_ZERO_STATE_MAX || state == BLE_ZERO_NONE) {
                z->offset = 0;
                z->state = BLE_ZERO_NONE;
                return;
        }
        z->offset = offset;
        z->state = state;
        z->loaded = false;
}

void ble_zero_restart(BleZero *z) {
        z->run_n = 0;
        z->run_judged = false;
}

static bool run_steady(const BleZero *z, nsec_t now) {
        return z->run_n >= 3 && now - z->run_start >= z->p.window;
}

static bool judge(BleZero *z) {
        double m = z->run_sum / z->run_n, d = m - z->offset;
        BleZeroState before = z->state;
        double old = z->offset;

        if (z->state == BLE_ZERO_NONE) {
                z->offset = m;
                z->state = BLE_ZERO_IN_DOUBT;
                z->loaded = false;
        } else if (d < -z->p.margin_n) {
                z->offset = m;
                z->state = BLE_ZERO_OK;
                z->loaded = false;
        } else if (fabs(d) <= z->p.margin_n) {
                if (fabs(d) > z->p.band_n / 2)
                        z->offset = m;
                if (z->loaded) {
                        z->state = BLE_ZERO_OK;
                        z->loaded = false;
                }
        }
        return z->state != before || z->offset != old;
}

double ble_zero_feed(BleZero *z, nsec_t now, double raw, bool *ret_changed) {
        bool changed = false;

        if (!isfinite(raw)) {
                if (ret_changed)
                        *ret_changed = false;
                return raw;
        }
        if (z->run_n > 0 && fmax(z->run_max, raw) - fmin(z->run_min, raw) <= z->p.band_n) {
                z->run_min = fmin(z->run_min, raw);
                z->run_max = fmax(z->run_max, raw);
                z->run_sum += raw;
                z->run_n++;
        } else {
                z->run_n = 1;
                z->run_start = now;
                z->run_min = z->run_max = z->run_sum = raw;
                z->run_judged = false;
        }
        if (z->state != BLE_ZERO_NONE && raw - z->offset > z->p.load_n)
                z->loaded = true;
        if (!z->run_judged && run_steady(z, now)) {
                z->run_judged = true;
                changed = judge(z);
        }
        if (ret_changed)
                *ret_changed = changed;
        return z->state == BLE_ZERO_NONE ? raw : raw - z->offset;
}

int ble_zero_take(BleZero *z, nsec_t now) {
        if (z->run_n == 0)
                return -ENODATA;
        if (!run_steady(z, now))
                return -EAGAIN;
        z->offset = z->run_sum / z->run_n;
        z->state = BLE_ZERO_OK;
        z->loaded = false;
        z->run_judged = true;
        return 0;
}
