/* SPDX-License-Identifier: MIT */
#pragma once

/* Measuring audio the way an ear (and a test) would: where sounds start and end, and their
 * pitch. Used on synthesised buffers in unit tests and on audio captured from a real ALSA
 * device in the VM lab. */

#include <stddef.h>
#include <stdint.h>

typedef struct AudioSegment {
        size_t start, end;    /* frames: first and one past the last above the threshold */
        double freq_hz;       /* by zero crossings over the segment's middle */
        double peak;
} AudioSegment;

/* Segments where |x| exceeds thresh, separated by at least gap frames below it. Returns the
 * number found (at most max written). */
size_t audio_segments(const float *x, size_t n, float thresh, size_t gap, unsigned rate,
                      AudioSegment *out, size_t max);

/* Frequency by interpolated zero crossings of x[a, b); 0 when fewer than 3 crossings. */
double audio_zero_cross_freq(const float *x, size_t a, size_t b, unsigned rate);

/* Goertzel: power of frequency f in x[a, b), normalised so that a full-scale sine at f
 * gives 0.25 (amplitude²/4). */
double audio_goertzel(const float *x, size_t a, size_t b, unsigned rate, double f);
