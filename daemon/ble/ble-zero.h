/* SPDX-License-Identifier: MIT */
#pragma once

/* A force tool's zero: the raw reading of the unloaded tool, subtracted from every sample.
 * One zero per tool, owned here and nowhere else (no hardware tare, no second offset in the
 * engine), so two tares can never stack.
 *
 * A zero is only ever taken from a steady reading: every sample of the last `window` within
 * `band` of each other (a pressing hand trembles by more than that). The zero survives
 * reconnects (the caller persists it across restarts with ble_zero_set()); a reconnect only
 * restarts the steadiness run. When a run becomes steady at mean m, with d = m - zero:
 *   - no zero yet: zero = m, state IN_DOUBT (nothing tells a steady load from none);
 *   - d < -margin: the old zero was taken under load (the tool reads less than "nothing"):
 *     zero = m, state OK;
 *   - |d| <= margin: drift, zero = m when |d| > band / 2; a zero IN_DOUBT becomes OK once the
 *     tool was loaded (more than `load` above it) and came back to it;
 *   - d > margin: a steady load (a weight, a leaning athlete): the zero is kept.
 * Pure: time is passed in. */

#include <stdbool.h>

#include "shared/time-util.h"

typedef enum BleZeroState {
        BLE_ZERO_NONE,          /* no zero known: raw values are passed on */
        BLE_ZERO_IN_DOUBT,      /* taken from the first steady reading with nothing known before */
        BLE_ZERO_OK,            /* confirmed: a tare request, or a press that came back to it */
        _BLE_ZERO_STATE_MAX,
} BleZeroState;

const char *ble_zero_state_to_string(BleZeroState s);
BleZeroState ble_zero_state_from_string(const char *s);   /* _BLE_ZERO_STATE_MAX if unknown */

typedef struct BleZeroParams {
        nsec_t window;          /* steady this long, default 500 ms */
        double band_n;          /* peak to peak while steady, default 1.0 N */
        double margin_n;        /* drift accepted as the same zero, default 3.0 N */
        double load_n;          /* above the zero by this much = loaded, default 10 N */
} BleZeroParams;

typedef struct BleZero {
        BleZeroParams p;
        double offset;
        BleZeroState state;
        bool loaded;            /* loaded since the zero was last set or confirmed */
        /* the current steadiness run */
        unsigned run_n;
        nsec_t run_start;
        double run_min, run_max, run_sum;
        bool run_judged;        /* the rules above were applied to this run */
} BleZero;

void ble_zero_init(BleZero *z, const BleZeroParams *p);   /* p NULL or 0 fields: defaults */
/* A zero known from before (persisted). */
void ble_zero_set(BleZero *z, double offset, BleZeroState state);
/* The stream restarted (reconnect): the steadiness run starts anew, the zero stays. */
void ble_zero_restart(BleZero *z);
/* A raw sample: returns it corrected; *ret_changed is set when offset or state changed. */
double ble_zero_feed(BleZero *z, nsec_t now, double raw, bool *ret_changed);
/* A tare request: the current steady reading becomes the zero (OK). -ENODATA without
 * samples since the restart, -EAGAIN when the reading is not steady. */
int ble_zero_take(BleZero *z, nsec_t now);
