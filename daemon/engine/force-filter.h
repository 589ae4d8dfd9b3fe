/* SPDX-License-Identifier: MIT */
#pragma once

/* Tare and smoothing of raw tool force (docs/session.md, "Force processing").
 *
 * Smoothing is a first-order low-pass (exponential moving average) that accounts for the
 * actual sample spacing: y += (1 - exp(-dt / tau)) * (x - y). It is initialised by the first
 * sample and re-initialised after a gap longer than FORCE_FILTER_GAP_NS, so a reconnecting
 * tool does not drag stale values in. Tare subtracts the smoothed reading at the time of
 * the tare request. */

#include <stdbool.h>

#include "shared/time-util.h"

#define FORCE_FILTER_GAP_NS (1 * NSEC_PER_SEC)

typedef struct ForceFilter {
        double tau_s;      /* 0 disables smoothing */
        double smoothed;   /* untared */
        double tare;
        nsec_t last;
        bool primed;
} ForceFilter;

void force_filter_init(ForceFilter *f, unsigned smoothing_ms);
void force_filter_set_smoothing(ForceFilter *f, unsigned smoothing_ms);

/* Feeds a raw sample, returns the smoothed, tared force. */
double force_filter_push(ForceFilter *f, nsec_t t, double raw);

/* Current smoothed, tared force (0 before the first sample). */
double force_filter_value(const ForceFilter *f);

/* Zeroes at the current smoothed reading. Returns false if there is no reading yet. */
bool force_filter_tare(ForceFilter *f);

/* Forget history (tool reconnected) but keep the tare. */
void force_filter_reset(ForceFilter *f);
