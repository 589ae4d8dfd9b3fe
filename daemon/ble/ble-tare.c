/* SPDX-License-Identifier: MIT */
#include "ble/ble-tare.h"

void ble_tare_init(BleTare *t, nsec_t window, unsigned max_samples) {
        *t = (BleTare) {
                .window = window,
                .max_samples = max_samples > 0 ? max_samples : 1,
        };
}

void ble_tare_begin(BleTare *t) {
        t->collecting = true;
        t->n = 0;
        t->sum = 0;
}

bool ble_tare_apply(BleTare *t, nsec_t now, double *newtons) {
        if (t->collecting) {
                if (t->n == 0)
                        t->first = now;
                if (t->n == 0 || (t->n < t->max_samples && now - t->first < t->window)) {
                        t->sum += *newtons;
                        t->n++;
                        return false;
                }
                t->offset = t->sum / t->n;
                t->collecting = false;
        }
        *newtons -= t->offset;
        return true;
}
