/* SPDX-License-Identifier: MIT */
#include <alsa/asoundlib.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio-player.h"
#include "audio/audio-sound.h"
#include "shared/macro.h"

#define MARGIN_MS 4               /* never rewrite closer than this to the device's read point:
                                   * what follows a rewind must be written before it gets there */
#define ANCHOR_WINDOW_NS (2 * NSEC_PER_SEC)
#define ANCHOR_SLEW_NS (20 * NSEC_PER_USEC)
#define ANCHOR_JUMP_NS (8 * NSEC_PER_MSEC)
#define ANCHOR_JUMP_N 4
#define ANCHOR_DRIFT_NS (2 * NSEC_PER_MSEC)   /* per window: follows up to 1000 ppm */
#define PACING_LEVEL 0.35f
#define PACING_DUCK 0.3f          /* pacing tone's gain under speech */
#define PACING_GLIDE_MS 30.0      /* time constant of the pitch following the force */
#define GAIN_RAMP_MS 5.0
#define SPEECH_FADE_MS 5          /* speech fades out over this before a tone that cuts it */
#define N_SNAP 64
#define CLIP_ASAP INT64_MIN
#define N_QUEUE 4
#define SPEECH_GAP_MS 250         /* between queued clips */

typedef struct Osc {
        double phase, freq, gain;
} Osc;

/* State at a frame, to rewind to: the pacing oscillator is the only state that is not a
 * function of the frame alone. */
typedef struct Snap {
        int64_t frame;
        Osc osc;
} Snap;

struct AudioPlayer {
        sd_event *event;
        char *device;
        float volume;
        unsigned rate, period_ms, buffer_ms, retry_ms;
        unsigned period, buffer, channels;  /* frames, as the device took them */

        snd_pcm_t *pcm;
        struct pollfd *pfds;
        sd_event_source **io;
        unsigned n_pfds;
        sd_event_source *retry;
        /* opening (and closing) a device runs on a thread: alsa-lib reads its configuration
         * and the driver may take its time, which must not hold up the loop */
        pthread_t opener;
        bool opening;
        int open_efd;
        sd_event_source *open_source;
        snd_pcm_t *opened, *closing;
        int open_error;
        int error;
        bool reported;
        AudioPlayerStateFn state;
        void *userdata;

        /* frame clock: frame k leaves the device at base_ns + k / rate */
        int64_t written;
        nsec_t base_ns;
        bool anchored;
        nsec_t window_start, window_min;
        nsec_t base_target;       /* where the estimates put base_ns; it slews there */
        unsigned n_late;          /* estimates in a row far later than base_target */
        nsec_t late_min;
        unsigned underruns;
        int64_t margin;           /* frames kept ahead of the device's read point by a rewind */
        /* idle: nothing to play, the buffer holds silence only, the device runs on (it never
         * stops on an underrun) and nothing is written until wake (the next tone's time) */
        bool idle, pollable;
        int64_t last_loud;        /* end of the last frame written that was not silence */
        sd_event_source *wake;

        bool showing;
        Cue cue;
        nsec_t anchor;
        AudioOnsets on;
        /* what the cue becomes at next.since_ns unless another is shown first (its tones
         * are written ahead on their frames, so a late timer cannot make them late) */
        bool has_next;
        Cue next;

        double pacing_hz;
        Osc osc;
        Snap snaps[N_SNAP];
        unsigned snap_next;

        AudioClip *clip;
        AudioClip *queue[N_QUEUE];  /* clips to follow it */
        unsigned n_queue;
        int64_t clip_frame;       /* first frame of the clip; CLIP_ASAP: the next rendered */
        int64_t clip_not_before;  /* ... but not before this frame (when it was asked for) */
        int64_t cut_frame;        /* a tone starts here: the clip ends (INT64_MAX: none) */

        float *mix;
        int16_t *pcm_buf;
};

static int device_open(AudioPlayer *p);
static void device_close(AudioPlayer *p);
static int fill(AudioPlayer *p);

static void report(AudioPlayer *p, int error) {
        if (p->reported && p->error == error)
                return;
        p->error = error;
        p->reported = true;
        if (p->state)
                p->state(error, p->device, p->userdata);
}

static nsec_t frame_time(const AudioPlayer *p, int64_t frame) {
        return p->base_ns + (nsec_t) muldiv_i64(frame, NSEC_PER_SEC, p->rate);
}

static int64_t now_frame(const AudioPlayer *p, nsec_t t) {
        return audio_frame_at(t, p->base_ns, p->rate);
}

/* The tones overlapping [t0, t1): the cue's until the next one begins, the next one's
 * from then on (anchored at its start). */
static size_t cue_tones(const AudioPlayer *p, nsec_t t0, nsec_t t1, AudioTone *out, size_t max) {
        size_t n = 0, k;
        AudioTone t[8];

        if (!p->has_next || t0 < p->next.since_ns) {
                k = audio_sound_tones(&p->cue, p->anchor, &p->on, t0, p->has_next ? MIN(t1, p->next.since_ns) : t1,
                                      t, ELEMENTSOF(t));
                for (size_t i = 0; i < MIN(k, ELEMENTSOF(t)); i++)
                        if (n < max)
                                out[n++] = t[i];
        }
        if (p->has_next && t1 > p->next.since_ns) {
                k = audio_sound_tones(&p->next, p->next.since_ns, &p->on, MAX(t0, p->next.since_ns), t1,
                                      t, ELEMENTSOF(t));
                for (size_t i = 0; i < MIN(k, ELEMENTSOF(t)); i++)
                        if (n < max)
                                out[n++] = t[i];
        }
        return n;
}

/* Mixes the tones into frames [frame, frame + n): the cue's before the next one's start. */
static void render_tones(const AudioPlayer *p, int64_t frame, float *buf, size_t n) {
        int64_t split = (int64_t) n;

        if (p->has_next)
                split = CLAMP(audio_frame_at(p->next.since_ns, p->base_ns, p->rate) - frame, (int64_t) 0, (int64_t) n);
        if (split > 0)
                audio_sound_render(&p->cue, p->anchor, &p->on, p->base_ns, p->rate, frame, buf, (size_t) split, 1.0f);
        if (split < (int64_t) n)
                audio_sound_render(&p->next, p->next.since_ns, &p->on, p->base_ns, p->rate, frame + split,
                                   buf + split, n - (size_t) split, 1.0f);
}

/* Where the tones of the current cue first cut the clip. */
static void find_cut(AudioPlayer *p) {
        AudioTone t[8];
        size_t n;
        nsec_t from, to;

        p->cut_frame = INT64_MAX;
        if (!p->clip || !p->showing || !p->anchored || p->clip_frame == CLIP_ASAP)
                return;
        from = frame_time(p, p->clip_frame);
        to = frame_time(p, p->clip_frame + (int64_t) audio_clip_frames(p->clip));
        n = cue_tones(p, from, to, t, ELEMENTSOF(t));
        for (size_t i = 0; i < MIN(n, ELEMENTSOF(t)); i++)
                if (t[i].start_ns >= from) {
                        p->cut_frame = audio_frame_at(t[i].start_ns, p->base_ns, p->rate);
                        return;
                }
}

static void clear_queue(AudioPlayer *p) {
        for (unsigned i = 0; i < p->n_queue; i++)
                audio_clip_unref(p->queue[i]);
        p->n_queue = 0;
}

static void find_cut(AudioPlayer *p);

/* A clip starts after any tone that is sounding at its start: speech never talks over one. */
static int64_t after_tones(AudioPlayer *p, int64_t frame) {
        for (int guard = 0; guard < 8 && p->showing && p->anchored; guard++) {
                AudioTone t[8];
                nsec_t at = frame_time(p, frame);
                size_t n = cue_tones(p, at, at + 1, t, ELEMENTSOF(t));
                int64_t end = frame;

                for (size_t i = 0; i < MIN(n, ELEMENTSOF(t)); i++)
                        end = MAX(end, audio_frame_at(t[i].start_ns + nsec_from_ms(t[i].dur_ms + SPEECH_GAP_MS / 5),
                                                      p->base_ns, p->rate));
                if (end == frame)
                        break;
                frame = end;
        }
        return frame;
}

static void next_clip(AudioPlayer *p, int64_t frame) {
        p->clip = p->queue[0];
        memmove(p->queue, p->queue + 1, (p->n_queue - 1) * sizeof(AudioClip *));
        p->n_queue--;
        p->clip_frame = after_tones(p, frame);
        find_cut(p);
}

static void render(AudioPlayer *p, int64_t frame, float *buf, size_t n) {
        double glide = 1.0 - exp(-1000.0 / (PACING_GLIDE_MS * p->rate));
        double ramp = 1.0 - exp(-1000.0 / (GAIN_RAMP_MS * p->rate));
        int64_t fade = (int64_t) SPEECH_FADE_MS * p->rate / 1000;
        bool speaking = false;

        memset(buf, 0, n * sizeof(float));
        if (p->clip && p->clip_frame == CLIP_ASAP) {
                p->clip_frame = p->anchored ? after_tones(p, MAX(frame, p->clip_not_before)) : frame;
                find_cut(p);
        }
        if (p->showing && p->anchored)
                render_tones(p, frame, buf, n);

        if (p->clip) {
                const int16_t *s = audio_clip_samples(p->clip);
                int64_t len = (int64_t) audio_clip_frames(p->clip);
                int64_t end = MIN(p->clip_frame + len, p->cut_frame);

                for (size_t i = 0; i < n; i++) {
                        int64_t f = frame + (int64_t) i, k = f - p->clip_frame;
                        float g = 1.0f;

                        if (k < 0 || f >= end)
                                continue;
                        if (end == p->cut_frame && end - f < fade)
                                g = (float) (end - f) / (float) fade;
                        buf[i] += g * (float) s[k] / 32768.0f;
                        speaking = true;
                }
                if (frame + (int64_t) n >= end) {
                        bool cut = end == p->cut_frame;

                        p->clip = audio_clip_unref(p->clip);
                        speaking = false;
                        if (cut)
                                clear_queue(p);   /* interrupted by a tone: the rest is stale */
                        else if (p->n_queue > 0)
                                next_clip(p, MAX(end + (int64_t) SPEECH_GAP_MS * p->rate / 1000, frame + (int64_t) n));
                }
        }

        if (p->pacing_hz > 0 || p->osc.gain > 1e-4) {
                double target_gain = p->pacing_hz > 0 ? PACING_LEVEL * (speaking ? PACING_DUCK : 1.0f) : 0.0;

                if (p->osc.freq <= 0)
                        p->osc.freq = p->pacing_hz;
                for (size_t i = 0; i < n; i++) {
                        if (p->pacing_hz > 0)
                                p->osc.freq += (p->pacing_hz - p->osc.freq) * glide;
                        p->osc.gain += (target_gain - p->osc.gain) * ramp;
                        p->osc.phase += 2 * M_PI * p->osc.freq / p->rate;
                        if (p->osc.phase > 2 * M_PI)
                                p->osc.phase -= 2 * M_PI;
                        buf[i] += (float) (p->osc.gain * sin(p->osc.phase));
                }
                if (p->pacing_hz <= 0 && p->osc.gain <= 1e-4)
                        p->osc = (Osc) {};
        }
}

static void snapshot(AudioPlayer *p) {
        p->snaps[p->snap_next] = (Snap) { p->written, p->osc };
        p->snap_next = (p->snap_next + 1) % N_SNAP;
}

/* The frame clock from the device's timestamped delay. The reported delay lags the true
 * read point by up to a pointer update (a period, or a jiffy on snd-aloop), so every
 * estimate is late by 0..that: the earliest estimate of a window is the best. */
static void anchor_update(AudioPlayer *p) {
        snd_pcm_status_t *st;
        snd_htimestamp_t ts;
        snd_pcm_sframes_t delay;
        nsec_t t, est;

        snd_pcm_status_alloca(&st);
        if (snd_pcm_status(p->pcm, st) < 0 || snd_pcm_status_get_state(st) != SND_PCM_STATE_RUNNING)
                return;
        delay = snd_pcm_status_get_delay(st);
        snd_pcm_status_get_htstamp(st, &ts);
        t = (nsec_t) ts.tv_sec * NSEC_PER_SEC + (nsec_t) ts.tv_nsec;
        if (t == 0)
                t = now_monotonic();
        est = t + (nsec_t) muldiv_i64(delay, NSEC_PER_SEC, p->rate) -
              (nsec_t) muldiv_i64((int64_t) p->written, NSEC_PER_SEC, p->rate);

        if (!p->anchored) {
                p->base_ns = p->base_target = p->window_min = est;
                p->window_start = t;
                p->n_late = 0;
                p->anchored = true;
                find_cut(p);   /* a clip started without a clock: now its cut can be placed */
                return;
        }
        /* Estimates in a row that are all much later than the clock: the device's position
         * was recounted (after a stall longer than half its buffer, the ALSA core may count
         * a lap of the buffer too few), not a late estimate: take them at once. */
        if (est > p->base_target + ANCHOR_JUMP_NS) {
                p->late_min = p->n_late++ == 0 ? est : MIN(p->late_min, est);
                if (p->n_late >= ANCHOR_JUMP_N) {
                        p->base_target = p->window_min = p->late_min;
                        p->window_start = t;
                        p->n_late = 0;
                }
        } else
                p->n_late = 0;
        p->window_min = MIN(p->window_min, est);
        if (p->window_min < p->base_target)
                p->base_target = p->window_min;   /* a better estimate */
        if (t - p->window_start >= ANCHOR_WINDOW_NS) {
                /* follow the device's clock drifting later against CLOCK_MONOTONIC, by at
                 * most ANCHOR_DRIFT_NS a window (1000 ppm: snd-aloop in a TCG guest drifts by
                 * hundreds): a window of estimates that are all late (a loaded machine) moves
                 * the clock by no more, and the next good estimate takes it back */
                p->base_target = MIN(p->window_min, p->base_target + ANCHOR_DRIFT_NS);
                p->window_min = est;
                p->window_start = t;
        }
        /* The clock jumps to the estimates' target only while the buffer holds silence (or
         * when it is off by more than ANCHOR_JUMP_NS: a big error is worse than a click);
         * under a sound it slews, ANCHOR_SLEW_NS a call (a call a period: 2000 ppm), since a
         * rewind renders again what was written under the old clock and a jump would splice
         * the sound out of phase (a blip cut short, a pitch off). */
        {
                int64_t d = (int64_t) p->base_target - (int64_t) p->base_ns;

                if (p->written - p->last_loud >= (int64_t) p->buffer ||
                    d > (int64_t) ANCHOR_JUMP_NS || d < -(int64_t) ANCHOR_JUMP_NS)
                        p->base_ns = p->base_target;
                else
                        p->base_ns = (nsec_t) ((int64_t) p->base_ns +
                                               CLAMP(d, -(int64_t) ANCHOR_SLEW_NS, (int64_t) ANCHOR_SLEW_NS));
        }
}

static void fail(AudioPlayer *p, int r) {
        device_close(p);
        report(p, r);
        (void) sd_event_source_set_time_relative(p->retry, (uint64_t) p->retry_ms * 1000);
        (void) sd_event_source_set_enabled(p->retry, SD_EVENT_ONESHOT);
}

/* Recovers an underrun or a suspend; anything else means the device is gone. */
static int recover(AudioPlayer *p, int r) {
        if (r == -EPIPE || r == -ESTRPIPE) {
                int r2 = snd_pcm_prepare(p->pcm);

                if (r2 >= 0) {
                        p->underruns++;
                        p->anchored = false;
                        return 0;
                }
                r = r2;
        }
        /* a device that went away (unplugged, driver unbound) says -EPIPE first */
        if (snd_pcm_state(p->pcm) == SND_PCM_STATE_DISCONNECTED)
                r = -ENODEV;
        fail(p, r);
        return r;
}

static void to_pcm(AudioPlayer *p, const float *x, size_t n) {
        for (size_t i = 0; i < n; i++) {
                float v = x[i] * p->volume * 32767.0f;
                int16_t s = (int16_t) lrintf(CLAMP(v, -32767.0f, 32767.0f));

                for (unsigned c = 0; c < p->channels; c++)
                        p->pcm_buf[i * p->channels + c] = s;
        }
}

#define IDLE_LOOKAHEAD_NS (2 * NSEC_PER_SEC)

/* Idle: the descriptors stay watched for errors (an unplug is reported at once) but not
 * for room in the buffer, which there always is. */
static void set_io(AudioPlayer *p, bool on) {
        for (unsigned i = 0; i < p->n_pfds; i++)
                (void) sd_event_source_set_io_events(p->io[i], on ? (uint32_t) p->pfds[i].events &
                                                     (POLLIN | POLLOUT | POLLPRI) : EPOLLERR | EPOLLHUP);
}

/* Nothing to write for a while: the buffer holds nothing but silence (a whole buffer of
 * it written since the last sound), no clip, no pacing tone, no tone of the cue due within
 * the buffer's length. The device plays on through its buffer (silence, again and again:
 * an underrun does not stop it) and the player sleeps until the next tone's time less a
 * buffer, so an idle station costs no wake-ups but one every IDLE_LOOKAHEAD_NS. */
static void maybe_idle(AudioPlayer *p) {
        AudioTone t[2];
        nsec_t now, from, wake_at;
        size_t n;

        if (!p->pollable || !p->anchored || p->clip || p->pacing_hz > 0 || p->osc.gain > 0 ||
            p->written - p->last_loud < (int64_t) p->buffer)
                return;
        now = now_monotonic();
        from = frame_time(p, p->written);
        n = p->showing ? cue_tones(p, from, now + IDLE_LOOKAHEAD_NS, t, ELEMENTSOF(t)) : 0;
        wake_at = now + IDLE_LOOKAHEAD_NS - (nsec_t) p->buffer_ms * NSEC_PER_MSEC;
        if (n > 0) {
                if (t[0].start_ns < from + (nsec_t) p->buffer_ms * NSEC_PER_MSEC)
                        return;
                /* woken a buffer early: written on its frame even by a timer a buffer late */
                wake_at = MIN(wake_at, t[0].start_ns - (nsec_t) 2 * p->buffer_ms * NSEC_PER_MSEC);
        }
        if (wake_at <= now)
                return;
        set_io(p, false);
        (void) sd_event_source_set_time(p->wake, wake_at / NSEC_PER_USEC);
        (void) sd_event_source_set_enabled(p->wake, SD_EVENT_ONESHOT);
        p->idle = true;
}

/* Something may sound: write again, from MARGIN_MS ahead of the device (fill() skips). */
static void wake(AudioPlayer *p) {
        if (!p->idle)
                return;
        p->idle = false;
        (void) sd_event_source_set_enabled(p->wake, SD_EVENT_OFF);
        set_io(p, true);
        /* the clock as of now, while the buffer is silent: no sound can be spliced by it */
        anchor_update(p);
}

static int on_wake(sd_event_source *s, uint64_t usec, void *userdata) {
        AudioPlayer *p = userdata;

        wake(p);
        (void) fill(p);
        return 0;
}

/* Keeps the buffer full; at most one buffer per call, so that a PCM that takes everything
 * at once (null, file) cannot hold the loop. */
static int fill(AudioPlayer *p) {
        unsigned budget = p->buffer;

        if (p->idle)
                return 0;
        while (p->pcm && budget > 0) {
                /* the device's position as of now (snd_pcm_avail() asks the driver): the
                 * cached one lags by up to a period, and frames written behind the real
                 * read point would be heard a whole buffer late */
                snd_pcm_sframes_t avail = snd_pcm_avail(p->pcm), w;
                size_t n;

                if (avail < 0)
                        return recover(p, (int) avail);
                if (avail > (snd_pcm_sframes_t) p->buffer) {
                        /* the device ran past what was written (it never stops: see
                         * set_params): what it played there is the silence the buffer held;
                         * from here on, frames go MARGIN_MS ahead of it, the clock untouched */
                        snd_pcm_sframes_t f = snd_pcm_forward(p->pcm, (snd_pcm_uframes_t) (avail - (snd_pcm_sframes_t) p->buffer + p->margin));

                        if (f <= 0)
                                return f < 0 ? recover(p, (int) f) : 0;
                        if (p->written - p->last_loud < (int64_t) p->buffer)
                                p->underruns++;   /* something was playing: the loop was late */
                        p->written += f;
                        snapshot(p);
                        continue;
                }
                if (avail == 0)
                        break;
                n = MIN((size_t) avail, MIN((size_t) p->period, (size_t) budget));
                render(p, p->written, p->mix, n);
                for (size_t i = 0; i < n; i++)
                        if (p->mix[i] != 0.0f) {
                                p->last_loud = p->written + (int64_t) n;
                                break;
                        }
                to_pcm(p, p->mix, n);
                w = snd_pcm_writei(p->pcm, p->pcm_buf, n);
                if (w == -EAGAIN)
                        break;
                if (w < 0)
                        return recover(p, (int) w);
                if ((size_t) w < n)
                        /* a short write: what was not taken is rendered again from state
                         * that already moved on; only the pacing phase jumps, inaudibly */
                        budget = 0;
                p->written += w;
                budget -= MIN((unsigned) w, budget);
                snapshot(p);
                anchor_update(p);
        }
        if (p->pcm)
                maybe_idle(p);
        return 0;
}

/* Takes back what is still rewindable (keeping MARGIN_MS ahead of the device), to a frame
 * whose oscillator state is known, so a change is heard about MARGIN_MS from now. */
static void rewind_to_now(AudioPlayer *p) {
        snd_pcm_sframes_t can, got;
        int64_t target, best = INT64_MAX;
        int best_i = -1;
        bool silent;
        snd_pcm_sframes_t w;
        size_t pre;
        Osc saved;
        bool asap;

        if (!p->pcm || !p->anchored)
                return;
        /* from the device's position as of now, not the cached one (up to a period old):
         * a rewind to behind the real read point is an underrun */
        if (snd_pcm_avail(p->pcm) < 0)
                return;
        can = snd_pcm_rewindable(p->pcm);
        if (can <= 0)
                return;
        target = p->written - can + p->margin;
        if (target >= p->written)
                return;
        silent = p->pacing_hz <= 0 && p->osc.gain <= 0;
        for (int i = 0; i < N_SNAP; i++) {
                const Snap *s = &p->snaps[i];

                if (s->frame >= target && s->frame < p->written) {
                        silent = silent && s->osc.gain <= 0;
                        if (s->frame < best) {
                                best = s->frame;
                                best_i = i;
                        }
                }
        }
        if (silent) {
                /* no oscillator sounding in what is taken back: any frame will do */
                best = target;
                best_i = -1;
        } else if (best_i < 0)
                return;
        /* The first frames are rendered before the rewind, so that they follow it within
         * microseconds: a pointer that moves in steps (a jiffy on snd-aloop, a period on
         * others) must not overtake the rewritten frames before they are written. */
        saved = p->osc;
        asap = p->clip && p->clip_frame == CLIP_ASAP;
        p->osc = best_i >= 0 ? p->snaps[best_i].osc : (Osc) {};
        pre = (size_t) MIN(p->written - best, 2 * p->margin);
        render(p, best, p->mix, pre);
        to_pcm(p, p->mix, pre);

        got = snd_pcm_rewind(p->pcm, (snd_pcm_uframes_t) (p->written - best));
        if (got <= 0 || p->written - got != best) {
                /* rewound less than asked (or not at all): the prepared frames do not fit */
                if (got > 0)
                        p->written -= got;
                p->osc = saved;
                if (asap && p->clip)
                        p->clip_frame = CLIP_ASAP;
                return;
        }
        p->written = best;
        for (int i = 0; i < N_SNAP; i++)
                if (p->snaps[i].frame > p->written)
                        p->snaps[i].frame = INT64_MIN;
        w = snd_pcm_writei(p->pcm, p->pcm_buf, pre);
        if (w > 0) {
                p->written += w;
                if ((size_t) w == pre)
                        snapshot(p);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        AudioPlayer *p = userdata;
        unsigned short ev = 0;
        int r;

        for (unsigned i = 0; i < p->n_pfds; i++)
                p->pfds[i].revents = p->pfds[i].fd == fd ? (short) revents : 0;
        r = snd_pcm_poll_descriptors_revents(p->pcm, p->pfds, p->n_pfds, &ev);
        if (r < 0) {
                fail(p, r);
                return 0;
        }
        if ((revents & (EPOLLERR | EPOLLHUP)) || (ev & (POLLERR | POLLHUP | POLLNVAL))) {
                /* ALSA says why when the driver is asked (snd_pcm_avail(), not the cached
                 * state): a suspend is recovered, a gone device fails */
                snd_pcm_sframes_t a = snd_pcm_avail(p->pcm);

                if (a < 0) {
                        (void) recover(p, (int) a);
                        if (p->pcm)
                                (void) fill(p);
                        return 0;
                }
                /* an error the device does not explain (or a disconnect it does not report
                 * yet) would be signalled again at once, level-triggered: reopen it */
                fail(p, snd_pcm_state(p->pcm) == SND_PCM_STATE_DISCONNECTED ? -ENODEV : -EIO);
                return 0;
        }
        if (ev & POLLOUT)
                (void) fill(p);
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        AudioPlayer *p = userdata;

        (void) sd_event_source_set_time(s, usec + (uint64_t) p->period_ms * 1000);
        (void) fill(p);
        return 0;
}

static int device_attach(AudioPlayer *p);

static int on_opened(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        AudioPlayer *p = userdata;
        uint64_t n;
        int r;

        (void) !read(p->open_efd, &n, sizeof(n));
        if (!p->opening)
                return 0;
        (void) pthread_join(p->opener, NULL);
        p->opening = false;
        if (p->open_error < 0 || !p->opened) {
                fail(p, p->open_error < 0 ? p->open_error : -EIO);
                return 0;
        }
        r = device_attach(p);
        if (r < 0 && !p->pcm)
                fail(p, r);
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        AudioPlayer *p = userdata;
        int r;

        r = device_open(p);
        if (r < 0)
                fail(p, r);
        return 0;
}

static void device_close(AudioPlayer *p) {
        for (unsigned i = 0; i < p->n_pfds; i++)
                sd_event_source_disable_unref(p->io[i]);
        free(p->io);
        p->io = NULL;
        free(p->pfds);
        p->pfds = NULL;
        p->n_pfds = 0;
        if (p->pcm) {
                (void) snd_pcm_drop(p->pcm);
                /* closed by the next opener (or when the player is freed), off the loop */
                if (p->closing)
                        (void) snd_pcm_close(p->closing);
                p->closing = TAKE_PTR(p->pcm);
        }
        p->clip = audio_clip_unref(p->clip);
        clear_queue(p);
        p->anchored = false;
        p->idle = false;
        (void) sd_event_source_set_enabled(p->wake, SD_EVENT_OFF);
}

static int set_params(AudioPlayer *p, snd_pcm_t *pcm) {
        snd_pcm_hw_params_t *hw;
        snd_pcm_sw_params_t *sw;
        snd_pcm_uframes_t period, buffer, boundary;
        unsigned channels = 1;
        int r;

        snd_pcm_hw_params_alloca(&hw);
        snd_pcm_sw_params_alloca(&sw);
        /* the rate exactly: speech clips are at it (use a plug device to convert) */
        if ((r = snd_pcm_hw_params_any(pcm, hw)) < 0 ||
            (r = snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
            (r = snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE)) < 0 ||
            (r = snd_pcm_hw_params_set_channels_near(pcm, hw, &channels)) < 0 ||
            (r = snd_pcm_hw_params_set_rate(pcm, hw, p->rate, 0)) < 0)
                return r;
        period = (snd_pcm_uframes_t) p->rate * p->period_ms / 1000;
        buffer = (snd_pcm_uframes_t) p->rate * p->buffer_ms / 1000;
        if ((r = snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, NULL)) < 0 ||
            (r = snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer)) < 0 ||
            (r = snd_pcm_hw_params(pcm, hw)) < 0)
                return r;
        if (channels < 1 || channels > 8 || period == 0 || buffer < period)
                return -EINVAL;
        if ((r = snd_pcm_sw_params_current(pcm, sw)) < 0 ||
            (r = snd_pcm_sw_params_set_start_threshold(pcm, sw, period)) < 0 ||
            /* never stopped by an underrun: the frame clock runs on, a late loop or a
             * rewind overtaken by the device only loses what it did not write in time, and
             * an idle player need not write at all */
            (r = snd_pcm_sw_params_get_boundary(sw, &boundary)) < 0 ||
            (r = snd_pcm_sw_params_set_stop_threshold(pcm, sw, boundary)) < 0 ||
            (r = snd_pcm_sw_params_set_avail_min(pcm, sw, period)) < 0 ||
            (r = snd_pcm_sw_params_set_tstamp_mode(pcm, sw, SND_PCM_TSTAMP_ENABLE)) < 0 ||
            (r = snd_pcm_sw_params_set_tstamp_type(pcm, sw, SND_PCM_TSTAMP_TYPE_MONOTONIC)) < 0 ||
            (r = snd_pcm_sw_params(pcm, sw)) < 0)
                return r;
        p->channels = channels;
        p->period = (unsigned) period;
        p->buffer = (unsigned) buffer;
        return 0;
}

static void *opener_main(void *userdata) {
        AudioPlayer *p = userdata;
        snd_pcm_t *pcm = NULL;
        uint64_t one = 1;
        int r;

        if (p->closing) {
                (void) snd_pcm_close(p->closing);
                p->closing = NULL;
        }
        r = snd_pcm_open(&pcm, p->device, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
        if (r >= 0) {
                r = set_params(p, pcm);
                if (r < 0) {
                        (void) snd_pcm_close(pcm);
                        pcm = NULL;
                }
        } else
                pcm = NULL;
        p->opened = pcm;
        p->open_error = r < 0 ? r : 0;
        (void) !write(p->open_efd, &one, sizeof(one));
        return NULL;
}

static int device_open(AudioPlayer *p) {
        int r;

        if (p->opening || p->pcm)
                return 0;
        r = pthread_create(&p->opener, NULL, opener_main, p);
        if (r != 0)
                return -r;
        p->opening = true;
        return 0;
}

static void device_closep(AudioPlayer **p) {
        if (*p)
                device_close(*p);
}

static int device_attach(AudioPlayer *p) {
        /* closed again unless it is attached in full */
        _cleanup_(device_closep) AudioPlayer *undo = p;
        int r, n;

        p->pcm = TAKE_PTR(p->opened);
        free(p->mix);
        free(p->pcm_buf);
        p->mix = calloc(p->buffer, sizeof(float));
        p->pcm_buf = calloc((size_t) p->buffer * p->channels, sizeof(int16_t));
        if (!p->mix || !p->pcm_buf)
                return -ENOMEM;

        n = snd_pcm_poll_descriptors_count(p->pcm);
        if (n <= 0)
                return n < 0 ? n : -EIO;
        p->pfds = calloc((size_t) n, sizeof(struct pollfd));
        p->io = calloc((size_t) n, sizeof(sd_event_source *));
        if (!p->pfds || !p->io)
                return -ENOMEM;
        r = snd_pcm_poll_descriptors(p->pcm, p->pfds, (unsigned) n);
        if (r < 0)
                return r;
        p->n_pfds = (unsigned) r;
        for (unsigned i = 0; i < p->n_pfds; i++) {
                /* epoll takes no POLLNVAL; errors and hang-ups are always reported */
                r = sd_event_add_io(p->event, &p->io[i], p->pfds[i].fd,
                                    (uint32_t) p->pfds[i].events & (POLLIN | POLLOUT | POLLPRI), on_io, p);
                if (r >= 0)
                        p->pollable = true;
                if (r == -EPERM) {
                        p->pollable = false;
                        /* not pollable (the null and file PCMs sit on /dev/null): always
                         * ready, so fill a buffer every period on a timer instead */
                        r = sd_event_add_time_relative(p->event, &p->io[i], CLOCK_MONOTONIC, 0, 1000,
                                                       on_tick, p);
                        if (r >= 0)
                                r = sd_event_source_set_enabled(p->io[i], SD_EVENT_ON);
                }
                if (r < 0)
                        return r;
                /* before the station's timers: a sound is due at its frame, not after them */
                (void) sd_event_source_set_priority(p->io[i], SD_EVENT_PRIORITY_IMPORTANT);
        }

        TAKE_PTR(undo);
        p->written = 0;
        p->last_loud = 0;
        p->idle = false;
        p->anchored = false;
        for (int i = 0; i < N_SNAP; i++)
                p->snaps[i].frame = INT64_MIN;
        r = fill(p);
        if (r < 0)
                return r;   /* fill() has closed and reported */
        report(p, 0);
        return 0;
}

/* The time of the first frame a sound that starts now can still have: MARGIN_MS past the
 * device's read point (as of now), which lags now by up to its pointer step. */
static nsec_t first_ours(AudioPlayer *p, nsec_t now) {
        snd_pcm_sframes_t avail;

        if (!p->pcm || !p->anchored)
                return now + (nsec_t) MARGIN_MS * NSEC_PER_MSEC;
        avail = snd_pcm_avail(p->pcm);
        if (avail < 0)
                return now + (nsec_t) MARGIN_MS * NSEC_PER_MSEC;
        return MAX(now, frame_time(p, p->written + avail - (int64_t) p->buffer + p->margin));
}

int audio_player_show(AudioPlayer *p, const Cue *cue, const Cue *next, nsec_t now) {
        AudioOnsets on;
        nsec_t anchor, start;
        bool same_next;

        if (!p || !cue || (unsigned) cue->kind >= _CUE_KIND_MAX ||
            (next && ((unsigned) next->kind >= _CUE_KIND_MAX || next->since_ns == 0)))
                return -EINVAL;
        start = first_ours(p, now);

        for (unsigned i = 0; i < AUDIO_N_WARNINGS; i++) {
                bool set = cue->warnings & (1u << i);
                nsec_t was = p->showing ? p->on.warning[i] : NSEC_INFINITY;

                on.warning[i] = !set ? NSEC_INFINITY : was != NSEC_INFINITY ? was : start;
        }
        /* a new "not yet" plays from now; one already playing keeps its onset */
        if (cue->not_yet_ns == 0)
                on.not_yet = NSEC_INFINITY;
        else if (p->showing && p->cue.not_yet_ns == cue->not_yet_ns)
                on.not_yet = p->on.not_yet;
        else
                on.not_yet = start;   /* in full, from the first frame still ours */

        anchor = cue->since_ns != 0 && cue->since_ns <= now ? cue->since_ns : now;
        same_next = next ? p->has_next && cue_equal(&p->next, next) : !p->has_next;
        if (p->showing && memcmp(&on, &p->on, sizeof(on)) == 0 && cue_equal(&p->cue, cue) && same_next)
                return 0;
        /* the cue that was expected, shown late (a timer that woke up late): its tones are
         * on their frames already and stay there */
        if (p->has_next && p->next.kind == cue->kind && p->next.since_ns == cue->since_ns)
                anchor = cue->since_ns;
        if (p->showing && p->cue.kind == cue->kind && p->cue.since_ns == cue->since_ns)
                anchor = p->anchor;

        p->cue = *cue;
        p->anchor = anchor;
        p->on = on;
        p->showing = true;
        p->has_next = next != NULL;
        if (next)
                p->next = *next;
        if (!p->pcm)
                return 0;
        wake(p);
        rewind_to_now(p);
        find_cut(p);
        return fill(p);
}

void audio_player_pacing(AudioPlayer *p, double freq_hz) {
        if (!p)
                return;
        p->pacing_hz = isfinite(freq_hz) && freq_hz > 0 ? freq_hz : 0;
        if (p->idle && p->pacing_hz > 0) {
                wake(p);
                (void) fill(p);
        }
}

int audio_player_speak(AudioPlayer *p, AudioClip *clip, nsec_t now, bool queue) {
        if (!p || !clip)
                return -EINVAL;
        if (audio_clip_rate(clip) != p->rate)
                return -EINVAL;
        if (!p->pcm)
                return -ENODEV;

        if (queue && p->clip) {
                if (p->n_queue == N_QUEUE)
                        return -ENOBUFS;
                p->queue[p->n_queue++] = audio_clip_ref(clip);
                return 0;
        }
        clear_queue(p);
        audio_clip_unref(p->clip);
        p->clip = audio_clip_ref(clip);
        /* placed by the first frames rendered from here: those that the rewind rewrites */
        p->clip_frame = CLIP_ASAP;
        p->clip_not_before = p->anchored ? now_frame(p, now) : INT64_MIN;
        p->cut_frame = INT64_MAX;
        wake(p);
        rewind_to_now(p);
        return fill(p);
}

bool audio_player_speaking(const AudioPlayer *p) {
        return p && p->clip;
}

void audio_player_hush(AudioPlayer *p) {
        if (!p)
                return;
        clear_queue(p);
        if (p->clip && p->pcm) {
                rewind_to_now(p);
                p->clip = audio_clip_unref(p->clip);
                (void) fill(p);
        }
        p->clip = audio_clip_unref(p->clip);
}

int audio_player_error(const AudioPlayer *p) {
        return p ? p->error : -EINVAL;
}

uint64_t audio_player_frames(const AudioPlayer *p) {
        return p ? (uint64_t) p->written : 0;
}

unsigned audio_player_underruns(const AudioPlayer *p) {
        return p ? p->underruns : 0;
}

AudioPlayer *audio_player_free(AudioPlayer *p) {
        if (!p)
                return NULL;
        if (p->opening)
                (void) pthread_join(p->opener, NULL);
        if (p->opened)
                (void) snd_pcm_close(p->opened);
        device_close(p);
        if (p->closing)
                (void) snd_pcm_close(p->closing);
        sd_event_source_disable_unref(p->open_source);
        if (p->open_efd >= 0)
                close(p->open_efd);
        sd_event_source_disable_unref(p->retry);
        sd_event_source_disable_unref(p->wake);
        sd_event_unref(p->event);
        free(p->mix);
        free(p->pcm_buf);
        free(p->device);
        free(p);
        return NULL;
}

static void quiet(const char *file, int line, const char *function, int err, const char *fmt, ...) {
}

int audio_player_new(AudioPlayer **ret, sd_event *event, const AudioPlayerParams *params,
                     AudioPlayerStateFn state, void *userdata) {
        _cleanup_(audio_player_freep) AudioPlayer *p = NULL;
        int r;

        /* alsa-lib prints its own errors on stderr; this daemon reports them once, itself */
        (void) snd_lib_error_set_handler(quiet);

        if (!ret || !event || !params || !params->device || params->rate < 8000 || params->rate > 192000 ||
            params->period_ms == 0 || params->buffer_ms < 2 * params->period_ms || params->retry_ms == 0 ||
            !(params->volume >= 0 && params->volume <= 1))
                return -EINVAL;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->open_efd = -EBADF;
        p->error = -EINPROGRESS;   /* until the opener says */
        p->event = sd_event_ref(event);
        p->device = strdup(params->device);
        if (!p->device)
                return -ENOMEM;
        p->volume = params->volume;
        p->rate = params->rate;
        p->period_ms = params->period_ms;
        p->buffer_ms = params->buffer_ms;
        p->retry_ms = params->retry_ms;
        p->state = state;
        p->userdata = userdata;
        p->cut_frame = INT64_MAX;
        p->margin = (int64_t) MARGIN_MS * p->rate / 1000;

        p->open_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->open_efd < 0)
                return negative_errno();
        r = sd_event_add_io(event, &p->open_source, p->open_efd, EPOLLIN, on_opened, p);
        if (r < 0)
                return r;

        r = sd_event_add_time(event, &p->retry, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_retry, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(p->retry, SD_EVENT_OFF);
        r = sd_event_add_time(event, &p->wake, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_wake, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(p->wake, SD_EVENT_OFF);
        /* before the station's timers, like the device's descriptors */
        (void) sd_event_source_set_priority(p->wake, SD_EVENT_PRIORITY_IMPORTANT);

        /* opened on a thread: the state callback says when it plays, or why it cannot (a
         * missing device is not an error of the player: reported, and retried) */
        r = device_open(p);
        if (r < 0)
                fail(p, r);
        *ret = TAKE_PTR(p);
        return 0;
}
