/* SPDX-License-Identifier: MIT */
/* The VM lab's ear: captures the loopback side of snd-aloop with every frame's
 * CLOCK_MONOTONIC time, and measures what was captured.
 *
 *   audio-lab capture DEVICE RATE OUT.raw READY_FILE   until SIGTERM; writes OUT.raw.base
 *                                (per epoch: first frame and its time; an overrun starts one,
 *                                and so does every WINDOW_S of frames)
 *   audio-lab segments RAW RATE BASE THRESH GAP_MS   "onset_ns end_ns freq_hz peak" lines
 *                                (BASE: OUT.raw.base, or the time of frame 0)
 *   audio-lab pitch RAW RATE BASE_NS FROM_NS TO_NS WIN_MS   "t_ns freq_hz rms" lines
 *
 * Capture timing: after each read the PCM's timestamped status gives the frames captured so
 * far (read + available) at a CLOCK_MONOTONIC time. The device updates its position in
 * steps (a jiffy on snd-aloop), so the position is never ahead of the truth and each
 * estimate of frame 0's time is late by 0..a step: the earliest estimate of each window is
 * kept (windows, because the device's clock may drift against CLOCK_MONOTONIC). */

#include <alsa/asoundlib.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio-analysis.h"

static volatile sig_atomic_t stop;

#define MAX_EPOCHS 4096
/* The device's clock and CLOCK_MONOTONIC may drift apart (snd-aloop in a TCG guest: by a
 * few hundred ppm): each window of this many frames gets its own earliest estimate. */
#define WINDOW_S 2

static void on_signal(int sig) {
        stop = 1;
}

static int capture(const char *device, unsigned rate, const char *out, const char *ready) {
        snd_pcm_t *pcm;
        snd_pcm_hw_params_t *hw;
        snd_pcm_sw_params_t *sw;
        snd_pcm_status_t *st;
        snd_pcm_uframes_t period = rate / 200, buffer = rate;
        int16_t buf[4096];
        uint64_t frames = 0, best = UINT64_MAX;
        char base_path[4096];
        FILE *f, *fb;
        bool signalled_ready = false, overrun = false;
        uint64_t epoch_frame = 0, window_frame = 0;
        static uint64_t epochs[MAX_EPOCHS][2];
        unsigned n_epochs = 0;
        int r;

        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        snd_pcm_hw_params_alloca(&hw);
        snd_pcm_sw_params_alloca(&sw);
        snd_pcm_status_alloca(&st);
        if ((r = snd_pcm_open(&pcm, device, SND_PCM_STREAM_CAPTURE, 0)) < 0 ||
            (r = snd_pcm_hw_params_any(pcm, hw)) < 0 ||
            (r = snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
            (r = snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE)) < 0 ||
            (r = snd_pcm_hw_params_set_channels(pcm, hw, 1)) < 0 ||
            (r = snd_pcm_hw_params_set_rate(pcm, hw, rate, 0)) < 0 ||
            (r = snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, NULL)) < 0 ||
            (r = snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer)) < 0 ||
            (r = snd_pcm_hw_params(pcm, hw)) < 0 ||
            (r = snd_pcm_sw_params_current(pcm, sw)) < 0 ||
            (r = snd_pcm_sw_params_set_tstamp_mode(pcm, sw, SND_PCM_TSTAMP_ENABLE)) < 0 ||
            (r = snd_pcm_sw_params_set_tstamp_type(pcm, sw, SND_PCM_TSTAMP_TYPE_MONOTONIC)) < 0 ||
            (r = snd_pcm_sw_params(pcm, sw)) < 0) {
                fprintf(stderr, "capture %s: %s\n", device, snd_strerror(r));
                return 1;
        }
        f = fopen(out, "we");
        if (!f) {
                fprintf(stderr, "%s: %m\n", out);
                return 1;
        }
        snprintf(base_path, sizeof(base_path), "%s.base", out);
        if ((r = snd_pcm_start(pcm)) < 0) {
                fprintf(stderr, "start: %s\n", snd_strerror(r));
                return 1;
        }
        while (!stop) {
                snd_pcm_sframes_t n = snd_pcm_readi(pcm, buf, period);
                snd_htimestamp_t ts;
                uint64_t t, pos, est;

                if (n == -EINTR || n == -EAGAIN)
                        continue;
                if (n < 0) {
                        fprintf(stderr, "capture: %s after %llu frames\n", snd_strerror((int) n),
                                (unsigned long long) frames);
                        if (snd_pcm_recover(pcm, (int) n, 1) < 0)
                                break;
                        overrun = true;
                        continue;
                }
                fwrite(buf, 2, (size_t) n, f);
                frames += (uint64_t) n;
                if (snd_pcm_status(pcm, st) < 0)
                        continue;
                snd_pcm_status_get_htstamp(st, &ts);
                t = (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
                pos = frames + (uint64_t) snd_pcm_status_get_avail(st);
                est = t - (pos - epoch_frame) * 1000000000ULL / rate;
                if (!overrun && best != UINT64_MAX && frames - window_frame >= (uint64_t) WINDOW_S * rate &&
                    n_epochs < MAX_EPOCHS) {
                        /* a new window: the last one's frames keep its estimate */
                        epochs[n_epochs][0] = window_frame;
                        epochs[n_epochs][1] = best + (window_frame - epoch_frame) * 1000000000ULL / rate;
                        n_epochs++;
                        window_frame = frames - (uint64_t) n;
                        best = UINT64_MAX;
                }
                if (overrun) {
                        /* frames were lost: from here a new epoch with its own clock */
                        fprintf(stderr, "capture: overrun after %llu frames: new epoch\n",
                                (unsigned long long) frames);
                        if (n_epochs < MAX_EPOCHS && best != UINT64_MAX) {
                                epochs[n_epochs][0] = window_frame;
                                epochs[n_epochs][1] = best + (window_frame - epoch_frame) * 1000000000ULL / rate;
                                n_epochs++;
                        }
                        epoch_frame = window_frame = frames - (uint64_t) n;
                        best = UINT64_MAX;
                        overrun = false;
                        est = t - (pos - epoch_frame) * 1000000000ULL / rate;
                }
                if (t > 0 && est < best)
                        best = est;
                if (!signalled_ready && best != UINT64_MAX) {
                        FILE *rf = fopen(ready, "we");

                        if (rf)
                                fclose(rf);
                        signalled_ready = true;
                }
        }
        fclose(f);
        snd_pcm_close(pcm);
        fb = fopen(base_path, "we");
        if (!fb)
                return 1;
        /* one line per epoch: first frame, time of that frame */
        for (unsigned i = 0; i < n_epochs; i++)
                fprintf(fb, "%llu %llu\n", (unsigned long long) epochs[i][0], (unsigned long long) epochs[i][1]);
        fprintf(fb, "%llu %llu\n", (unsigned long long) window_frame,
                (unsigned long long) (best + (window_frame - epoch_frame) * 1000000000ULL / rate));
        fclose(fb);
        return 0;
}

static float *load(const char *path, size_t *ret_n) {
        FILE *f = fopen(path, "re");
        int16_t *raw;
        float *x;
        long len;

        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        raw = malloc((size_t) len + 2);
        x = malloc(((size_t) len / 2 + 1) * sizeof(float));
        *ret_n = fread(raw, 2, (size_t) len / 2, f);
        fclose(f);
        for (size_t i = 0; i < *ret_n; i++)
                x[i] = raw[i] / 32768.0f;
        free(raw);
        return x;
}

int main(int argc, char **argv) {
        if (argc == 6 && strcmp(argv[1], "capture") == 0)
                return capture(argv[2], (unsigned) atoi(argv[3]), argv[4], argv[5]);

        if (argc == 7 && strcmp(argv[1], "segments") == 0) {
                unsigned rate = (unsigned) atoi(argv[3]);
                static uint64_t ep[MAX_EPOCHS + 1][2];
                unsigned n_ep = 0;
                FILE *bf = fopen(argv[4], "re");

                /* BASE: a number (the time of frame 0) or the capture's .base file (epochs) */
                if (bf) {
                        unsigned long long a, b;

                        while (n_ep <= MAX_EPOCHS && fscanf(bf, "%llu %llu", &a, &b) == 2) {
                                ep[n_ep][0] = a;
                                ep[n_ep][1] = b;
                                n_ep++;
                        }
                        fclose(bf);
                } else {
                        ep[0][0] = 0;
                        ep[0][1] = strtoull(argv[4], NULL, 10);
                        n_ep = 1;
                }
                size_t n, k, max = 100000;
                float *x = load(argv[2], &n);
                AudioSegment *s = calloc(max, sizeof(*s));

                if (!x)
                        return 1;
                k = audio_segments(x, n, (float) atof(argv[5]), (size_t) (atof(argv[6]) * rate / 1000), rate, s, max);
                for (size_t i = 0; i < k && i < max; i++) {
                        unsigned e = 0;

                        while (e + 1 < n_ep && ep[e + 1][0] <= s[i].start)
                                e++;
                        printf("%llu %llu %.1f %.3f\n",
                               (unsigned long long) (ep[e][1] + (s[i].start - ep[e][0]) * 1000000000ULL / rate),
                               (unsigned long long) (ep[e][1] + (s[i].end - ep[e][0]) * 1000000000ULL / rate),
                               s[i].freq_hz, s[i].peak);
                }
                free(s);
                free(x);
                return 0;
        }

        if (argc == 8 && strcmp(argv[1], "pitch") == 0) {
                unsigned rate = (unsigned) atoi(argv[3]);
                uint64_t base = strtoull(argv[4], NULL, 10), from = strtoull(argv[5], NULL, 10),
                         to = strtoull(argv[6], NULL, 10);
                size_t n, win = (size_t) (atof(argv[7]) * rate / 1000);
                float *x = load(argv[2], &n);

                if (!x || from < base)
                        return 1;
                for (size_t a = (size_t) ((from - base) * rate / 1000000000ULL);
                     a + win <= n && base + a * 1000000000ULL / rate < to; a += win) {
                        double e = 0;

                        for (size_t i = a; i < a + win; i++)
                                e += (double) x[i] * x[i];
                        printf("%llu %.1f %.4f\n", (unsigned long long) (base + a * 1000000000ULL / rate),
                               audio_zero_cross_freq(x, a, a + win, rate), sqrt(e / (double) win));
                }
                free(x);
                return 0;
        }
        fprintf(stderr, "usage: see the comment at the top of %s\n", __FILE__);
        return 2;
}
