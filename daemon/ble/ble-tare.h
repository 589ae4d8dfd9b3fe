/* SPDX-License-Identifier: MIT */
#pragma once

/* Software tare for tools without a tare command: after (re)connecting, the first samples,
 * up to max_samples within window from the first one, are taken as the unloaded reading;
 * their mean becomes the offset subtracted from every later sample. The samples used for
 * the offset are not passed on. Pure: time is passed in. */

#include <stdbool.h>

#include "shared/time-util.h"

typedef struct BleTare {
        nsec_t window;
        unsigned max_samples;
        bool collecting;
        nsec_t first;
        double sum;
        unsigned n;
        double offset;
} BleTare;

void ble_tare_init(BleTare *t, nsec_t window, unsigned max_samples);
/* Starts a new tare: the next samples are collected. */
void ble_tare_begin(BleTare *t);
/* Returns true when the sample is to be delivered (*newtons corrected), false when it was
 * taken for the offset. */
bool ble_tare_apply(BleTare *t, nsec_t now, double *newtons);
