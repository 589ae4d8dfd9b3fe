/* SPDX-License-Identifier: MIT */
/* The ALSA player on what the host has: ALSA's file PCM (the null device behind it, so no
 * real time: what is checked is what is written, not when), a missing device, and the WAV
 * reader. Real-time placement on a real device is the VM lab's (tests/vm/audio-test.py). */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio-clip.h"
#include "audio/audio-player.h"
#include "audio/audio-sound.h"
#include "shared/macro.h"
#include "tap.h"

typedef struct Ctx {
        int error, calls;
        char device[128];
} Ctx;

static void on_state(int error, const char *device, void *userdata) {
        Ctx *c = userdata;

        c->error = error;
        c->calls++;
        snprintf(c->device, sizeof(c->device), "%s", device);
}

static void run_until_frames(sd_event *e, AudioPlayer *p, uint64_t frames) {
        for (int i = 0; i < 100000 && audio_player_frames(p) < frames; i++)
                if (sd_event_run(e, 100000) < 0)
                        break;
}

static void run_until_reported(sd_event *e, Ctx *c, AudioPlayer *p) {
        for (int i = 0; i < 200 && (c ? c->calls == 0 : audio_player_error(p) == -EINPROGRESS); i++)
                if (sd_event_run(e, 50000) < 0)
                        break;
}

static void test_missing_device(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(audio_player_freep) AudioPlayer *p = NULL;
        AudioPlayerParams params = AUDIO_PLAYER_PARAMS_DEFAULT;
        _cleanup_(audio_clip_unrefp) AudioClip *clip = NULL;
        int16_t s[100] = {};
        Ctx c = {};
        Cue cue = { .kind = CUE_RELEASE, .release = CUE_RELEASE_DONE, .since_ns = 1 };

        params.device = "hw:CARD=tphubNoSuchCard";
        params.retry_ms = 20;
        CHECK(sd_event_new(&e) >= 0);
        CHECK_EQ(audio_player_new(&p, e, &params, on_state, &c), 0);
        CHECK_EQ(c.calls, 0);                   /* opened on a thread */
        CHECK_EQ(audio_player_error(p), -EINPROGRESS);
        run_until_reported(e, &c, p);
        CHECK_EQ(c.calls, 1);
        CHECK(c.error < 0);
        CHECK_STR(c.device, params.device);
        CHECK(audio_player_error(p) < 0);
        /* the station goes on: cues are taken, speech is refused, retries are not re-reported */
        CHECK_EQ(audio_player_show(p, &cue, NULL, now_monotonic()), 0);
        CHECK_EQ(audio_clip_new(s, 100, params.rate, &clip), 0);
        CHECK_EQ(audio_player_speak(p, clip, now_monotonic(), false), -ENODEV);
        for (int i = 0; i < 5; i++)
                CHECK(sd_event_run(e, 200000) >= 0);
        CHECK_EQ(c.calls, 1);
}

static void test_bad_params(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        AudioPlayerParams params = AUDIO_PLAYER_PARAMS_DEFAULT;
        AudioPlayer *p = NULL;

        CHECK(sd_event_new(&e) >= 0);
        params.volume = 1.5f;
        CHECK_EQ(audio_player_new(&p, e, &params, NULL, NULL), -EINVAL);
        params = AUDIO_PLAYER_PARAMS_DEFAULT;
        params.buffer_ms = params.period_ms;
        CHECK_EQ(audio_player_new(&p, e, &params, NULL, NULL), -EINVAL);
        params = AUDIO_PLAYER_PARAMS_DEFAULT;
        params.device = NULL;
        CHECK_EQ(audio_player_new(&p, e, &params, NULL, NULL), -EINVAL);
        CHECK(p == NULL);
}

static int16_t *read_raw(const char *path, size_t *ret_n) {
        FILE *f = fopen(path, "re");
        int16_t *buf;
        long len;

        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t) len + 2);
        *ret_n = fread(buf, 2, (size_t) len / 2, f);
        fclose(f);
        return buf;
}

static void test_file_pcm_speech_and_volume(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(audio_player_freep) AudioPlayer *p = NULL;
        _cleanup_(audio_clip_unrefp) AudioClip *clip = NULL;
        AudioPlayerParams params = AUDIO_PLAYER_PARAMS_DEFAULT;
        char path[] = "/tmp/tphub-audio-test-XXXXXX", dev[128];
        _cleanup_free_ int16_t *out = NULL;
        int16_t s[2000];
        size_t n = 0, first = SIZE_MAX;
        Ctx c = {};
        int fd;

        fd = mkstemp(path);
        CHECK(fd >= 0);
        close(fd);
        snprintf(dev, sizeof(dev), "file:FILE=%s,FORMAT=raw", path);
        for (int i = 0; i < 2000; i++)   /* a clip no tone can be mistaken for */
                s[i] = (int16_t) (1000 + 10 * i);
        CHECK_EQ(audio_clip_new(s, 2000, params.rate, &clip), 0);

        params.device = dev;
        params.volume = 0.5f;
        CHECK(sd_event_new(&e) >= 0);
        CHECK_EQ(audio_player_new(&p, e, &params, on_state, &c), 0);
        run_until_reported(e, &c, p);
        CHECK_EQ(c.calls, 1);
        CHECK_EQ(c.error, 0);
        run_until_frames(e, p, 2000);
        CHECK_EQ(audio_player_speak(p, clip, now_monotonic(), false), 0);
        CHECK(audio_player_speaking(p));
        run_until_frames(e, p, audio_player_frames(p) + 6000);
        CHECK(!audio_player_speaking(p));
        p = audio_player_free(p);

        out = read_raw(path, &n);
        unlink(path);
        CHECK(out != NULL);
        CHECK(n >= 8000);
        for (size_t i = 0; i < n; i++)
                if (out[i] != 0) {
                        first = i;
                        break;
                }
        CHECK(first != SIZE_MAX);
        CHECK(first + 2000 <= n);
        /* the clip verbatim at half volume (full scale 32767 of 32768), then silence */
        for (size_t i = 0; i < 2000; i++)
                if (abs(out[first + i] - (int) lrintf(s[i] / 32768.0f * 0.5f * 32767.0f)) > 1)
                        TAP_FAIL("frame %zu: %d for clip sample %d", i, out[first + i], s[i]);
        for (size_t i = first + 2000; i < n; i++)
                if (out[i] != 0)
                        TAP_FAIL("frame %zu after the clip: %d", i - first, out[i]);
}

static void test_clip_rate_mismatch(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(audio_player_freep) AudioPlayer *p = NULL;
        _cleanup_(audio_clip_unrefp) AudioClip *clip = NULL;
        AudioPlayerParams params = AUDIO_PLAYER_PARAMS_DEFAULT;
        int16_t s[10] = {};

        params.device = "null";
        CHECK(sd_event_new(&e) >= 0);
        CHECK_EQ(audio_player_new(&p, e, &params, NULL, NULL), 0);
        run_until_reported(e, NULL, p);
        CHECK_EQ(audio_player_error(p), 0);
        CHECK_EQ(audio_clip_new(s, 10, 16000, &clip), 0);
        CHECK_EQ(audio_player_speak(p, clip, now_monotonic(), false), -EINVAL);
}

/* A WAV file as the format defines it. */
static size_t wav(uint8_t *b, uint16_t fmt, uint16_t ch, uint32_t rate, uint16_t bits, const int16_t *s, uint32_t n,
                  bool extra_chunk) {
        size_t k = 0;
#define PUT32(v) do { uint32_t _v = (v); for (int _i = 0; _i < 4; _i++) b[k++] = (uint8_t) (_v >> (8 * _i)); } while (0)
#define PUT16(v) do { uint16_t _v = (v); b[k++] = (uint8_t) _v; b[k++] = (uint8_t) (_v >> 8); } while (0)
        memcpy(b + k, "RIFF", 4); k += 4;
        PUT32(0);
        memcpy(b + k, "WAVE", 4); k += 4;
        if (extra_chunk) {  /* odd-sized: padded */
                memcpy(b + k, "LIST", 4); k += 4;
                PUT32(3);
                b[k++] = 'a'; b[k++] = 'b'; b[k++] = 'c'; b[k++] = 0;
        }
        memcpy(b + k, "fmt ", 4); k += 4;
        PUT32(16);
        PUT16(fmt);
        PUT16(ch);
        PUT32(rate);
        PUT32(rate * ch * bits / 8);
        PUT16((uint16_t) (ch * bits / 8));
        PUT16(bits);
        memcpy(b + k, "data", 4); k += 4;
        PUT32(n * 2);
        for (uint32_t i = 0; i < n; i++)
                PUT16((uint16_t) s[i]);
        return k;
}

static void test_wav(void) {
        int16_t s[5] = { 0, 1, -1, 32767, -32768 };
        uint8_t b[256];
        AudioClip *c = NULL;
        char err[128];
        size_t k;

        k = wav(b, 1, 1, 22050, 16, s, 5, true);
        CHECK_EQ(audio_clip_parse(b, k, &c, err, sizeof(err)), 0);
        CHECK_EQ(audio_clip_rate(c), 22050);
        CHECK_EQ(audio_clip_frames(c), 5);
        for (int i = 0; i < 5; i++)
                CHECK_EQ(audio_clip_samples(c)[i], s[i]);
        c = audio_clip_unref(c);

        k = wav(b, 3, 1, 22050, 16, s, 5, false);
        CHECK_EQ(audio_clip_parse(b, k, &c, err, sizeof(err)), -EBADMSG);
        CHECK_STR(err, "not PCM (format 3)");
        k = wav(b, 1, 2, 22050, 16, s, 5, false);
        CHECK_EQ(audio_clip_parse(b, k, &c, err, sizeof(err)), -EBADMSG);
        CHECK_STR(err, "2 channels, want mono");
        k = wav(b, 1, 1, 22050, 8, s, 5, false);
        CHECK_EQ(audio_clip_parse(b, k, &c, err, sizeof(err)), -EBADMSG);
        CHECK_EQ(audio_clip_parse(b, 20, &c, err, sizeof(err)), -EBADMSG);   /* truncated in fmt */
        memcpy(b, "RIFX", 4);
        CHECK_EQ(audio_clip_parse(b, k, &c, err, sizeof(err)), -EBADMSG);
        CHECK(c == NULL);
        /* every truncation of a good file is either refused or a clip of what is there */
        k = wav(b, 1, 1, 22050, 16, s, 5, true);
        for (size_t cut = 0; cut < k; cut++) {
                int r = audio_clip_parse(b, cut, &c, NULL, 0);

                CHECK(r == 0 || r == -EBADMSG);
                if (r == 0)
                        CHECK(audio_clip_frames(c) < 5);
                c = audio_clip_unref(c);
        }
}

static void test_wav_espeak(void) {
        /* what espeak-ng really writes (to a pipe: open data size) */
        AudioClip *c = NULL;
        char err[128] = "";
        int r;

        if (system("command -v espeak-ng >/dev/null") != 0) {
                printf("# espeak-ng not installed\n");
                return;
        }
        CHECK_EQ(system("espeak-ng -w /tmp/tphub-audio-test-espeak.wav 'one two' 2>/dev/null"), 0);
        r = audio_clip_load("/tmp/tphub-audio-test-espeak.wav", &c, err, sizeof(err));
        unlink("/tmp/tphub-audio-test-espeak.wav");
        if (r < 0)
                TAP_FAIL("%d %s", r, err);
        CHECK_EQ(audio_clip_rate(c), 22050);
        CHECK(audio_clip_frames(c) > 22050 / 4);
        c = audio_clip_unref(c);
        CHECK_EQ(audio_clip_load("/nonexistent/x.wav", &c, NULL, 0), -ENOENT);
}

static void test_file_pcm_pacing_follows_force(void) {
        /* a PPT ramp: the pacing tone's pitch (zero crossings of what was written) rises
         * with the force, as audio_pacing_freq() defines it */
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(audio_player_freep) AudioPlayer *p = NULL;
        AudioPlayerParams params = AUDIO_PLAYER_PARAMS_DEFAULT;
        char path[] = "/tmp/tphub-audio-test-XXXXXX", dev[128];
        _cleanup_free_ int16_t *out = NULL;
        const double forces[] = { 10, 40, 75, 120, 150 }, full = 150;
        uint64_t from[5], to[5];
        double prev = 0;
        size_t n = 0;
        int fd;

        fd = mkstemp(path);
        CHECK(fd >= 0);
        close(fd);
        snprintf(dev, sizeof(dev), "file:FILE=%s,FORMAT=raw", path);
        params.device = dev;
        CHECK(sd_event_new(&e) >= 0);
        CHECK_EQ(audio_player_new(&p, e, &params, NULL, NULL), 0);
        run_until_reported(e, NULL, p);
        for (size_t i = 0; i < ELEMENTSOF(forces); i++) {
                audio_player_pacing(p, audio_pacing_freq(forces[i], full));
                /* 0.3 s per force: the glide (30 ms) has settled after the first 0.15 s */
                from[i] = audio_player_frames(p) + params.rate * 15 / 100;
                run_until_frames(e, p, audio_player_frames(p) + params.rate * 3 / 10);
                to[i] = audio_player_frames(p);
        }
        p = audio_player_free(p);
        out = read_raw(path, &n);
        unlink(path);
        CHECK(out != NULL);
        for (size_t i = 0; i < ELEMENTSOF(forces); i++) {
                size_t a = (size_t) from[i], b = (size_t) MIN(to[i], (uint64_t) n), rising = 0;
                double first = -1, last = -1, hz;

                CHECK(b > a + 1000);
                for (size_t k = a + 1; k < b; k++)
                        if (out[k - 1] < 0 && out[k] >= 0) {
                                double t = (double) (k - 1) + (double) out[k - 1] / (out[k - 1] - out[k]);

                                if (first < 0)
                                        first = t;
                                last = t;
                                rising++;
                        }
                CHECK(rising > 3);
                hz = (double) params.rate * (double) (rising - 1) / (last - first);
                printf("# %.0f N: %.1f Hz (defined %.1f)\n", forces[i], hz, audio_pacing_freq(forces[i], full));
                CHECK_NEAR(hz, audio_pacing_freq(forces[i], full), 0.01 * audio_pacing_freq(forces[i], full));
                CHECK(hz > prev);
                prev = hz;
        }
}

static const TapCase cases[] = {
        { "missing device: reported once, retried, cues taken", test_missing_device },
        { "bad parameters", test_bad_params },
        { "file PCM: a clip plays verbatim at the volume, then silence", test_file_pcm_speech_and_volume },
        { "clip at another rate refused", test_clip_rate_mismatch },
        { "file PCM: the PPT pacing tone's pitch follows the force", test_file_pcm_pacing_follows_force },
        { "WAV reader", test_wav },
        { "WAV reader on espeak-ng output", test_wav_espeak },
};

TAP_MAIN(cases)
