/* SPDX-License-Identifier: MIT */
#include <math.h>

#include "audio-analysis.h"

size_t audio_segments(const float *x, size_t n, float thresh, size_t gap, unsigned rate,
                      AudioSegment *out, size_t max) {
        size_t k = 0, i = 0;

        while (i < n) {
                size_t start, last;
                double peak = 0;

                while (i < n && fabsf(x[i]) <= thresh)
                        i++;
                if (i >= n)
                        break;
                start = last = i;
                for (; i < n && i - last <= gap; i++)
                        if (fabsf(x[i]) > thresh) {
                                last = i;
                                peak = fmax(peak, fabsf(x[i]));
                        }
                if (k < max) {
                        size_t len = last + 1 - start;
                        /* pitch over the middle: the ramps distort the first crossings */
                        size_t a = start + len / 8, b = last + 1 - len / 8;

                        out[k] = (AudioSegment) {
                                .start = start, .end = last + 1, .peak = peak,
                                .freq_hz = audio_zero_cross_freq(x, a, b, rate),
                        };
                }
                k++;
                i = last + 1;
        }
        return k;
}

double audio_zero_cross_freq(const float *x, size_t a, size_t b, unsigned rate) {
        double first = -1, lastc = -1;
        unsigned crossings = 0;

        for (size_t i = a + 1; i < b; i++) {
                /* rising crossings only: one per period, immune to DC-free asymmetry */
                if (x[i - 1] < 0 && x[i] >= 0) {
                        double t = (double) (i - 1) + x[i - 1] / (x[i - 1] - x[i]);

                        if (first < 0)
                                first = t;
                        lastc = t;
                        crossings++;
                }
        }
        if (crossings < 3)
                return 0;
        return (double) rate * (crossings - 1) / (lastc - first);
}

double audio_goertzel(const float *x, size_t a, size_t b, unsigned rate, double f) {
        double w = 2 * M_PI * f / rate, c = 2 * cos(w), s1 = 0, s2 = 0, p;
        size_t n = b - a;

        if (b <= a)
                return 0;
        for (size_t i = a; i < b; i++) {
                double s = x[i] + c * s1 - s2;

                s2 = s1;
                s1 = s;
        }
        p = s1 * s1 + s2 * s2 - c * s1 * s2;
        return p / ((double) n * (double) n);
}
