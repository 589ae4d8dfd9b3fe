/* SPDX-License-Identifier: MIT */
#pragma once

/* Speech clips in memory, by voice and text. A phrase asked for is looked up on a worker
 * thread (never on the loop): in the shipped speech directory (rendered at build time),
 * then in the cache directory, and rendered into the cache with espeak-ng when it is in
 * neither; the clip is then loaded and handed to the loop. The worker and the espeak-ng it
 * runs are ordinary-priority and niced, so that rendering a protocol cannot delay a cue of
 * a real-time daemon. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "audio/audio-clip.h"

typedef struct SpeechCache SpeechCache;

typedef struct SpeechCacheParams {
        const char *speech_dir;   /* shipped, read-only; may be NULL */
        const char *cache_dir;    /* created when needed */
        const char *espeak;       /* program name or path */
        unsigned rate;            /* clips at another rate are refused */
} SpeechCacheParams;

/* A phrase is ready (error 0) or cannot be (why says it). rendered: espeak-ng ran for it. */
typedef void (*SpeechCacheDoneFn)(const char *voice, const char *text, int error, bool rendered,
                                  const char *why, void *userdata);

int speech_cache_new(SpeechCache **ret, sd_event *event, const SpeechCacheParams *params,
                     SpeechCacheDoneFn done, void *userdata);
/* Waits for a render under way (espeak-ng takes a fraction of a second), then frees. */
SpeechCache *speech_cache_free(SpeechCache *c);
static inline void speech_cache_freep(SpeechCache **c) {
        if (*c)
                speech_cache_free(*c);
}

/* Queues voice/text unless known: found or rendered, and with load also read into memory
 * (without, it is only made sure to be on disk: protocols no station uses by default).
 * 1 when queued, 0 when known already. */
int speech_cache_want(SpeechCache *c, const char *voice, const char *text, bool load);
/* The clip when it is ready (borrowed), NULL otherwise. */
AudioClip *speech_cache_get(SpeechCache *c, const char *voice, const char *text);
/* Phrases queued or being prepared. */
unsigned speech_cache_pending(const SpeechCache *c);
