/* SPDX-License-Identifier: MIT */
#pragma once

/* What each Cue sounds like on a speaker, as pure functions of time (table in docs/cues.md):
 * the same moments as the buzzer, but each sound with its own pitch and rhythm so that an
 * athlete face down on a ball tells them apart by ear. Every tone is anchored to an absolute
 * CLOCK_MONOTONIC time taken from the Cue (since_ns, due_ns) or from a warning's onset. */

#include <stddef.h>
#include <stdint.h>

#include "engine/cue.h"

typedef struct AudioTone {
        nsec_t start_ns;   /* onset: the envelope begins to rise */
        uint32_t dur_ms;   /* onset to the end of the fall */
        float freq_hz;
        float level;       /* peak amplitude, 0..1 of full scale, before the volume */
} AudioTone;

/* When the player first saw each warning bit (NSEC_INFINITY when not set; CueWarning bit
 * order) and the cue's current "not yet" answer (NSEC_INFINITY when none). */
#define AUDIO_N_WARNINGS 3
typedef struct AudioOnsets {
        nsec_t warning[AUDIO_N_WARNINGS];
        nsec_t not_yet;
} AudioOnsets;

/* Fills out with the tones of cue (anchored at anchor, its start) that overlap [t0, t1),
 * in start order; returns how many there are (at most max are written). t1 must be finite
 * (warning trains are endless). */
size_t audio_sound_tones(const Cue *cue, nsec_t anchor, const AudioOnsets *on, nsec_t t0, nsec_t t1,
                         AudioTone *out, size_t max);

/* The pacing tone's pitch for a pressure-pain-threshold ramp: AUDIO_PACING_LOW_HZ at 0 N,
 * two octaves higher at full_n, exponential in between (equal steps of force sound like
 * equal musical steps), clamped outside 0..full_n. */
double audio_pacing_freq(double force_n, double full_n);

/* Adds the tone's samples for frames [frame, frame + n) to buf (mono, float, full scale
 * 1.0) scaled by gain; the tone's onset is at frame tone_frame. Phase is a function of the
 * frame alone, so a tone rendered in pieces is continuous. */
void audio_tone_mix(const AudioTone *t, int64_t tone_frame, unsigned rate, int64_t frame, float *buf,
                    size_t n, float gain);

/* The frame at which a tone starting at t_ns begins, on a frame clock whose frame 0 plays
 * at base_ns (t_ns may be earlier: negative). */
int64_t audio_frame_at(nsec_t t_ns, nsec_t base_ns, unsigned rate);

/* Mixes the tones of the cue into frames [frame, frame + n) of that frame clock. */
void audio_sound_render(const Cue *cue, nsec_t anchor, const AudioOnsets *on, nsec_t base_ns,
                        unsigned rate, int64_t frame, float *buf, size_t n, float gain);

/* Raised-cosine attack and release of every tone: no clicks, and the onset is sharp. */
#define AUDIO_RAMP_MS             3

/* Sounds (pitch in Hz, times in ms). Rhythms are the buzzer's (docs/cues.md). */
#define AUDIO_BEEP_HZ             880   /* countdown: 100 ms beeps at due-3/-2/-1 s */
#define AUDIO_BEEP_MS             100
#define AUDIO_COUNTDOWN_MS        3000
#define AUDIO_RELEASE_HZ          523   /* release "done": one long tone */
#define AUDIO_RELEASE_MS          800
#define AUDIO_NOT_RELEASED_HZ     330   /* release "not released": two low tones */
#define AUDIO_NOT_RELEASED_MS     300
#define AUDIO_NOT_RELEASED_PERIOD_MS 500
#define AUDIO_NOT_RELEASED_TONES  2
#define AUDIO_SAFETY_STOP_HZ      1568  /* release "over_force": five short high beeps */
#define AUDIO_SAFETY_STOP_MS      100
#define AUDIO_SAFETY_STOP_PERIOD_MS 200
#define AUDIO_SAFETY_STOP_BEEPS   5
#define AUDIO_TAP_COUNTS_HZ       1319  /* min_hold reached: a tap now counts */
#define AUDIO_TAP_COUNTS_MS       60
#define AUDIO_TAP_COUNTS_PERIOD_MS 120
#define AUDIO_TAP_COUNTS_CHIRPS   2
#define AUDIO_NOT_YET_HZ          247   /* a tap that did not count: a low rattle */
#define AUDIO_NOT_YET_MS          25
#define AUDIO_NOT_YET_PERIOD_MS   50
#define AUDIO_NOT_YET_BLIPS       4
#define AUDIO_OVER_FORCE_HZ       1760  /* over-force alarm: double beep every second */
#define AUDIO_OVER_FORCE_MS       80
#define AUDIO_OVER_FORCE_GAP_MS   80
#define AUDIO_OVER_FORCE_PERIOD_MS 1000
#define AUDIO_OVER_HOLD_HZ        698   /* over-hold: 1 s tone every 3 s */
#define AUDIO_OVER_HOLD_MS        1000
#define AUDIO_OVER_HOLD_PERIOD_MS 3000
#define AUDIO_DONE_MS             120   /* session done: three rising notes */
#define AUDIO_DONE_PERIOD_MS      150
#define AUDIO_DONE_HZ_1           523
#define AUDIO_DONE_HZ_2           659
#define AUDIO_DONE_HZ_3           784
#define AUDIO_PACING_LOW_HZ       220   /* PPT pacing tone at 0 N; 880 Hz at full force */
#define AUDIO_TONE_LEVEL          0.5f  /* every tone's peak (speech is normalised to it) */
