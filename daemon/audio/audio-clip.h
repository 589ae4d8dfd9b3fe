/* SPDX-License-Identifier: MIT */
#pragma once

/* A speech clip: mono 16-bit PCM in memory, loaded from a WAV file (what espeak-ng writes).
 * Reference-counted: the player keeps the clip it is playing while the cache replaces it. */

#include <stddef.h>
#include <stdint.h>

typedef struct AudioClip AudioClip;

/* Parses a RIFF/WAVE file of PCM, 16-bit, mono. -EBADMSG for anything else (with the
 * reason in errbuf when given), -errno for I/O. */
int audio_clip_load(const char *path, AudioClip **ret, char *errbuf, size_t errlen);
int audio_clip_parse(const uint8_t *data, size_t size, AudioClip **ret, char *errbuf, size_t errlen);
/* A clip of the given samples (copied). */
int audio_clip_new(const int16_t *samples, size_t n, unsigned rate, AudioClip **ret);

AudioClip *audio_clip_ref(AudioClip *c);
AudioClip *audio_clip_unref(AudioClip *c);
static inline void audio_clip_unrefp(AudioClip **c) {
        if (*c)
                audio_clip_unref(*c);
}

unsigned audio_clip_rate(const AudioClip *c);
size_t audio_clip_frames(const AudioClip *c);
const int16_t *audio_clip_samples(const AudioClip *c);
