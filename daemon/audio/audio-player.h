/* SPDX-License-Identifier: MIT */
#pragma once

/* Plays a station's sounds through ALSA without ever blocking the loop: a non-blocking PCM
 * whose poll descriptors sit on the sd-event loop, a buffer (80 ms) kept full while there is
 * something to play, and a frame clock that maps every frame to the CLOCK_MONOTONIC time it
 * leaves the device (from the PCM's timestamped delay), so each tone is placed at the exact
 * frame of its due time. The PCM never stops on an underrun, so the clock runs on for as
 * long as the device is open. A cue that changes rewrites what is still rewindable in the
 * buffer, so an unannounced sound (the release tone, speech) starts a margin (4 ms) past the
 * device's read point, while the buffer rides out a loop busy for tens of milliseconds (a
 * session's end, a slow SD card) without a gap. Idle (nothing to play), it writes nothing
 * and sleeps until shortly before the next tone. The latency budget is in docs/cues.md.
 * On a device that cannot rewind, an unannounced sound waits for the buffer instead.
 *
 * Speech clips play as soon as they are given; a tone that starts during a clip cuts it
 * (faded out just before the tone's onset), the PPT pacing tone is ducked under it.
 * A device that cannot be opened or goes away is reported through the state callback and
 * reopened every retry_ms; meanwhile the player simply keeps the cue it is given. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "audio/audio-clip.h"
#include "engine/cue.h"

typedef struct AudioPlayer AudioPlayer;

typedef struct AudioPlayerParams {
        const char *device;    /* ALSA PCM name: "default", "plughw:CARD=Headphones", ... */
        float volume;          /* 0..1, linear gain on every sound */
        unsigned rate;         /* frames per second; speech clips must have it */
        unsigned period_ms;
        unsigned buffer_ms;
        unsigned retry_ms;     /* reopen a missing device this often */
} AudioPlayerParams;

/* The defaults a station's speaker settings start from (docs/config.md, stations[].audio). */
#define AUDIO_PLAYER_DEFAULT_DEVICE "default"
#define AUDIO_PLAYER_DEFAULT_VOLUME 0.8

#define AUDIO_PLAYER_PARAMS_DEFAULT                                                     \
        (AudioPlayerParams) {                                                           \
                .device = AUDIO_PLAYER_DEFAULT_DEVICE, .volume = (float) AUDIO_PLAYER_DEFAULT_VOLUME, \
                .rate = 22050, .period_ms = 10,                                         \
                .buffer_ms = 80, .retry_ms = 2000,                                      \
        }

/* error 0: the device plays; negative errno: it cannot (device says why, for the log). */
typedef void (*AudioPlayerStateFn)(int error, const char *device, void *userdata);

int audio_player_new(AudioPlayer **ret, sd_event *event, const AudioPlayerParams *params,
                     AudioPlayerStateFn state, void *userdata);
AudioPlayer *audio_player_free(AudioPlayer *p);
static inline void audio_player_freep(AudioPlayer **p) {
        if (*p)
                audio_player_free(*p);
}

/* Sounds cue from now on (now: the caller's CLOCK_MONOTONIC). Showing the same cue again
 * changes nothing; warnings and the "not yet" answer start when first seen.
 * next (or NULL): the cue that follows at next->since_ns unless another is shown first (a
 * hold's release at its due time). Its tones are written ahead on their frames, so they
 * start on time even when the timer that shows it runs late; a different cue shown before
 * then takes them back. */
int audio_player_show(AudioPlayer *p, const Cue *cue, const Cue *next, nsec_t now);

/* The PPT pacing tone at freq_hz (glides there), 0 = off. */
void audio_player_pacing(AudioPlayer *p, double freq_hz);

/* Plays clip from now (after a tone that is sounding), replacing what is playing or
 * queued; with queue, after what is playing (up to 4 clips; -ENOBUFS beyond). -EINVAL if
 * its rate is not the player's, -ENODEV when no device is open (the clip is not kept). */
int audio_player_speak(AudioPlayer *p, AudioClip *clip, nsec_t now, bool queue);
bool audio_player_speaking(const AudioPlayer *p);
/* Stops speech now and forgets the queue. */
void audio_player_hush(AudioPlayer *p);

/* 0 while the device plays, else why not (-EINPROGRESS until the first open is done). */
int audio_player_error(const AudioPlayer *p);
/* Frames written since the device was (re)opened, and the count of underruns recovered. */
uint64_t audio_player_frames(const AudioPlayer *p);
unsigned audio_player_underruns(const AudioPlayer *p);
