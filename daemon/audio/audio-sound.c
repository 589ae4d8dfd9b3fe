/* SPDX-License-Identifier: MIT */
#include <math.h>

#include "audio/audio-sound.h"
#include "shared/macro.h"

#define MS(x) nsec_from_ms(x)

/* A train of equal tones: count tones (0 = endless) of dur_ms every period_ms from start. */
typedef struct Train {
        nsec_t start;
        uint32_t dur_ms, period_ms, count;
        float freq_hz;
} Train;

typedef struct Trains {
        Train t[8];
        unsigned n;
} Trains;

static void add(Trains *l, nsec_t start, uint32_t dur_ms, uint32_t period_ms, uint32_t count, float hz) {
        if (l->n < ELEMENTSOF(l->t))
                l->t[l->n++] = (Train) { start, dur_ms, period_ms, count, hz };
}

static void base_sounds(Trains *l, const Cue *cue, nsec_t anchor) {
        switch (cue->kind) {
        case CUE_HOLD:
                if (cue->due_ns != 0 && cue->due_ns > MS(AUDIO_COUNTDOWN_MS)) {
                        /* beeps at due - 3, - 2, - 1 s; those before the cue began are not played */
                        for (unsigned i = 0; i < 3; i++) {
                                nsec_t b = cue->due_ns - MS(AUDIO_COUNTDOWN_MS) + i * NSEC_PER_SEC;

                                if (b >= anchor)
                                        add(l, b, AUDIO_BEEP_MS, 0, 1, AUDIO_BEEP_HZ);
                        }
                }
                if (cue->tap_counts_ns > anchor)
                        add(l, cue->tap_counts_ns, AUDIO_TAP_COUNTS_MS, AUDIO_TAP_COUNTS_PERIOD_MS,
                            AUDIO_TAP_COUNTS_CHIRPS, AUDIO_TAP_COUNTS_HZ);
                break;
        case CUE_RELEASE:
                switch (cue->release) {
                case CUE_RELEASE_NOT_RELEASED:
                        add(l, anchor, AUDIO_NOT_RELEASED_MS, AUDIO_NOT_RELEASED_PERIOD_MS,
                            AUDIO_NOT_RELEASED_TONES, AUDIO_NOT_RELEASED_HZ);
                        break;
                case CUE_RELEASE_OVER_FORCE:
                        add(l, anchor, AUDIO_SAFETY_STOP_MS, AUDIO_SAFETY_STOP_PERIOD_MS,
                            AUDIO_SAFETY_STOP_BEEPS, AUDIO_SAFETY_STOP_HZ);
                        break;
                default:
                        add(l, anchor, AUDIO_RELEASE_MS, 0, 1, AUDIO_RELEASE_HZ);
                        break;
                }
                break;
        case CUE_DONE:
                add(l, anchor, AUDIO_DONE_MS, 0, 1, AUDIO_DONE_HZ_1);
                add(l, anchor + MS(AUDIO_DONE_PERIOD_MS), AUDIO_DONE_MS, 0, 1, AUDIO_DONE_HZ_2);
                add(l, anchor + MS(2 * AUDIO_DONE_PERIOD_MS), AUDIO_DONE_MS, 0, 1, AUDIO_DONE_HZ_3);
                break;
        default:
                break;
        }
}

/* As on the buzzer: a warning owns the sound while it lasts, the most urgent one wins. */
static bool warning_sounds(Trains *l, const AudioOnsets *on) {
        nsec_t s;

        if ((s = on->warning[1]) != NSEC_INFINITY) {           /* CUE_WARN_OVER_HOLD */
                add(l, s, AUDIO_OVER_HOLD_MS, AUDIO_OVER_HOLD_PERIOD_MS, 0, AUDIO_OVER_HOLD_HZ);
                return true;
        }
        if ((s = on->warning[0]) != NSEC_INFINITY) {           /* CUE_WARN_OVER_FORCE */
                add(l, s, AUDIO_OVER_FORCE_MS, AUDIO_OVER_FORCE_PERIOD_MS, 0, AUDIO_OVER_FORCE_HZ);
                add(l, s + MS(AUDIO_OVER_FORCE_MS + AUDIO_OVER_FORCE_GAP_MS), AUDIO_OVER_FORCE_MS,
                    AUDIO_OVER_FORCE_PERIOD_MS, 0, AUDIO_OVER_FORCE_HZ);
                return true;
        }
        return false; /* tool lost is silent, as on the buzzer */
}

/* Tones of one train overlapping [t0, t1). */
static size_t train_tones(const Train *tr, nsec_t t0, nsec_t t1, AudioTone *out, size_t max, size_t n) {
        nsec_t period = MS(tr->period_ms), dur = MS(tr->dur_ms);
        uint64_t first = 0, last;

        if (t1 <= tr->start)
                return n;
        if (period == 0)
                last = 0;
        else {
                last = (t1 - 1 - tr->start) / period;
                if (tr->count > 0)
                        last = MIN(last, (uint64_t) tr->count - 1);
                if (t0 > tr->start + dur)
                        first = (t0 - tr->start - dur) / period;
        }
        for (uint64_t i = first; i <= last; i++) {
                nsec_t s = tr->start + i * period;

                if (s + dur <= t0 || s >= t1)
                        continue;
                if (n < max)
                        out[n] = (AudioTone) { s, tr->dur_ms, tr->freq_hz, AUDIO_TONE_LEVEL };
                n++;
        }
        return n;
}

size_t audio_sound_tones(const Cue *cue, nsec_t anchor, const AudioOnsets *on, nsec_t t0, nsec_t t1,
                         AudioTone *out, size_t max) {
        Trains base = {}, warn = {};
        bool warned = false;
        size_t n = 0;

        if (!cue || t1 <= t0)
                return 0;
        base_sounds(&base, cue, anchor);
        if (on) {
                warned = warning_sounds(&warn, on);
                /* the answer to a tap that did not count plays whatever else is sounding */
                if (cue->not_yet_ns != 0 && on->not_yet != NSEC_INFINITY)
                        add(&warn, on->not_yet, AUDIO_NOT_YET_MS, AUDIO_NOT_YET_PERIOD_MS,
                            AUDIO_NOT_YET_BLIPS, AUDIO_NOT_YET_HZ);
        }
        if (!warned)
                for (unsigned i = 0; i < base.n; i++)
                        n = train_tones(&base.t[i], t0, t1, out, max, n);
        for (unsigned i = 0; i < warn.n; i++)
                n = train_tones(&warn.t[i], t0, t1, out, max, n);

        /* start order (a handful of tones: insertion sort) */
        for (size_t i = 1; i < MIN(n, max); i++)
                for (size_t j = i; j > 0 && out[j].start_ns < out[j - 1].start_ns; j--) {
                        AudioTone x = out[j];

                        out[j] = out[j - 1];
                        out[j - 1] = x;
                }
        return n;
}

double audio_pacing_freq(double force_n, double full_n) {
        double x = full_n > 0 ? CLAMP(force_n / full_n, 0.0, 1.0) : 0.0;

        if (!isfinite(x))
                x = 0.0;
        return AUDIO_PACING_LOW_HZ * exp2(2.0 * x);
}

static float envelope(int64_t k, int64_t len, int64_t ramp) {
        if (k < 0 || k >= len)
                return 0.0f;
        if (k < ramp)
                return 0.5f - 0.5f * cosf((float) M_PI * (float) k / (float) ramp);
        if (k >= len - ramp)
                return 0.5f - 0.5f * cosf((float) M_PI * (float) (len - 1 - k) / (float) ramp);
        return 1.0f;
}

void audio_tone_mix(const AudioTone *t, int64_t tone_frame, unsigned rate, int64_t frame, float *buf,
                    size_t n, float gain) {
        int64_t len = (int64_t) t->dur_ms * rate / 1000;
        int64_t ramp = MIN((int64_t) AUDIO_RAMP_MS * rate / 1000, len / 2);
        double w = 2.0 * M_PI * t->freq_hz / rate;
        int64_t from = MAX(frame, tone_frame), to = MIN(frame + (int64_t) n, tone_frame + len);

        if (ramp < 1)
                ramp = 1;
        for (int64_t f = from; f < to; f++) {
                int64_t k = f - tone_frame;

                buf[f - frame] += gain * t->level * envelope(k, len, ramp) * (float) sin(w * (double) k);
        }
}

int64_t audio_frame_at(nsec_t t_ns, nsec_t base_ns, unsigned rate) {
        /* rounded up: a tone never starts before its time */
        if (t_ns >= base_ns)
                return (int64_t) muldiv_up_u64(t_ns - base_ns, rate, NSEC_PER_SEC);
        return -(int64_t) muldiv_u64(base_ns - t_ns, rate, NSEC_PER_SEC);
}

void audio_sound_render(const Cue *cue, nsec_t anchor, const AudioOnsets *on, nsec_t base_ns,
                        unsigned rate, int64_t frame, float *buf, size_t n, float gain) {
        AudioTone tones[32];
        int64_t a, b;
        nsec_t t0, t1;
        size_t k;

        if (n == 0 || rate == 0)
                return;
        /* the window in time, widened by a frame each side: rounding must not drop a tone */
        a = (int64_t) base_ns + muldiv_i64(frame - 1, NSEC_PER_SEC, rate);
        b = (int64_t) base_ns + muldiv_i64(frame + (int64_t) n + 1, NSEC_PER_SEC, rate);
        if (b <= 0)
                return;
        t0 = a < 0 ? 0 : (nsec_t) a;
        t1 = (nsec_t) b;
        k = audio_sound_tones(cue, anchor, on, t0, t1, tones, ELEMENTSOF(tones));
        for (size_t i = 0; i < MIN(k, ELEMENTSOF(tones)); i++)
                audio_tone_mix(&tones[i], audio_frame_at(tones[i].start_ns, base_ns, rate), rate, frame,
                               buf, n, gain);
}
