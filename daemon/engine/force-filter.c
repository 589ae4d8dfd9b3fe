/* SPDX-License-Identifier: MIT */
#include <math.h>

#include "engine/force-filter.h"

void force_filter_init(ForceFilter *f, unsigned smoothing_ms) {
        *f = (ForceFilter) {};
        force_filter_set_smoothing(f, smoothing_ms);
}

void force_filter_set_smoothing(ForceFilter *f, unsigned smoothing_ms) {
        f->tau_s = smoothing_ms / 1000.0;
}

double force_filter_push(ForceFilter *f, nsec_t t, double raw) {
        if (!f->primed || t < f->last || t - f->last > FORCE_FILTER_GAP_NS || f->tau_s <= 0) {
                f->smoothed = raw;
                f->primed = true;
        } else {
                double dt = (double) (t - f->last) / 1e9;
                double alpha = 1.0 - exp(-dt / f->tau_s);
                f->smoothed += alpha * (raw - f->smoothed);
        }
        f->last = t;
        return f->smoothed - f->tare;
}

double force_filter_value(const ForceFilter *f) {
        return f->primed ? f->smoothed - f->tare : 0.0;
}

bool force_filter_tare(ForceFilter *f) {
        if (!f->primed)
                return false;
        f->tare = f->smoothed;
        return true;
}

void force_filter_reset(ForceFilter *f) {
        f->primed = false;
        f->smoothed = 0;
}
