/* SPDX-License-Identifier: MIT */
/* The speaker's sounds from their definitions (docs/cues.md, audio-sound.h): each cue is
 * rendered into a buffer as the player would, then measured like captured audio: onsets
 * and lengths from the envelope, pitch by zero crossings and Goertzel. */

#include <math.h>
#include <stdlib.h>

#include "audio-analysis.h"
#include "audio/audio-sound.h"
#include "shared/macro.h"
#include "tap.h"

#define RATE 22050u
#define MS(x) nsec_from_ms(x)
#define BASE (10 * NSEC_PER_SEC)      /* frame 0 plays at 10 s */
#define THRESH 0.05f                  /* 10 % of a tone's level */
#define GAP (RATE / 200)              /* 5 ms of quiet separates two sounds */
/* Onset measured at the threshold: within a ramp and half a period of the lowest tone. */
#define ONSET_TOL_MS 3.5

static float *render(const Cue *cue, const AudioOnsets *on, nsec_t from, nsec_t to, size_t *ret_n) {
        int64_t f0 = audio_frame_at(from, BASE, RATE), f1 = audio_frame_at(to, BASE, RATE);
        size_t n = (size_t) (f1 - f0);
        float *buf = calloc(n, sizeof(float));

        audio_sound_render(cue, cue->since_ns, on, BASE, RATE, f0, buf, n, 1.0f);
        *ret_n = n;
        return buf;
}

static const AudioOnsets NO_ONSETS = {
        .warning = { NSEC_INFINITY, NSEC_INFINITY, NSEC_INFINITY }, .not_yet = NSEC_INFINITY,
};

/* Checks that the segments are exactly the expected (onset ms since BASE, length, pitch). */
typedef struct Want {
        double onset_ms, len_ms, hz;
} Want;

static int check_segments(const float *x, size_t n, nsec_t from, const Want *want, size_t nw) {
        AudioSegment seg[64];
        size_t k = audio_segments(x, n, THRESH, GAP, RATE, seg, 64);
        int64_t f0 = audio_frame_at(from, BASE, RATE);

        if (k != nw) {
                printf("# %zu segments, want %zu\n", k, nw);
                for (size_t i = 0; i < k && i < 64; i++)
                        printf("#   %.1f ms +%.1f ms %.1f Hz\n", (double) (f0 + (int64_t) seg[i].start) * 1000.0 / RATE,
                               (double) (seg[i].end - seg[i].start) * 1000.0 / RATE, seg[i].freq_hz);
                return -1;
        }
        for (size_t i = 0; i < k; i++) {
                double on = (double) (f0 + (int64_t) seg[i].start) * 1000.0 / RATE;
                double len = (double) (seg[i].end - seg[i].start) * 1000.0 / RATE;

                if (fabs(on - want[i].onset_ms) > ONSET_TOL_MS || fabs(len - want[i].len_ms) > 2 * ONSET_TOL_MS ||
                    fabs(seg[i].freq_hz - want[i].hz) > 0.01 * want[i].hz) {
                        printf("# segment %zu: %.2f ms +%.2f ms %.1f Hz, want %.2f +%.2f %.1f\n", i, on, len,
                               seg[i].freq_hz, want[i].onset_ms, want[i].len_ms, want[i].hz);
                        return -1;
                }
        }
        return 0;
}

static void test_countdown(void) {
        Cue c = { .kind = CUE_HOLD, .since_ns = BASE + MS(500), .due_ns = BASE + MS(8500) };
        size_t n;
        _cleanup_free_ float *x = render(&c, &NO_ONSETS, BASE, BASE + MS(9000), &n);
        Want w[3];

        for (int i = 0; i < 3; i++)
                w[i] = (Want) { 8500.0 - 3000 + 1000 * i, AUDIO_BEEP_MS, AUDIO_BEEP_HZ };
        CHECK_EQ(check_segments(x, n, BASE, w, 3), 0);
        /* a beep's peak is the tone level */
        CHECK_NEAR(audio_goertzel(x, audio_frame_at(BASE + MS(5520), BASE, RATE),
                                  audio_frame_at(BASE + MS(5580), BASE, RATE), RATE, AUDIO_BEEP_HZ),
                   AUDIO_TONE_LEVEL * AUDIO_TONE_LEVEL / 4, 0.01);
}

static void test_countdown_short_hold(void) {
        /* a 2 s hold: the beep due 3 s before the end would be before the cue: not played */
        Cue c = { .kind = CUE_HOLD, .since_ns = BASE + MS(100), .due_ns = BASE + MS(2100) };
        size_t n;
        _cleanup_free_ float *x = render(&c, &NO_ONSETS, BASE, BASE + MS(2500), &n);
        Want w[2] = { { 100, AUDIO_BEEP_MS, AUDIO_BEEP_HZ }, { 1100, AUDIO_BEEP_MS, AUDIO_BEEP_HZ } };

        CHECK_EQ(check_segments(x, n, BASE, w, 2), 0);
}

static void release_wants(CueRelease r, Want *w, size_t *nw) {
        size_t k = 0;

        switch (r) {
        case CUE_RELEASE_NOT_RELEASED:
                for (int i = 0; i < AUDIO_NOT_RELEASED_TONES; i++)
                        w[k++] = (Want) { 100.0 + i * AUDIO_NOT_RELEASED_PERIOD_MS, AUDIO_NOT_RELEASED_MS, AUDIO_NOT_RELEASED_HZ };
                break;
        case CUE_RELEASE_OVER_FORCE:
                for (int i = 0; i < AUDIO_SAFETY_STOP_BEEPS; i++)
                        w[k++] = (Want) { 100.0 + i * AUDIO_SAFETY_STOP_PERIOD_MS, AUDIO_SAFETY_STOP_MS, AUDIO_SAFETY_STOP_HZ };
                break;
        default:
                w[k++] = (Want) { 100.0, AUDIO_RELEASE_MS, AUDIO_RELEASE_HZ };
                break;
        }
        *nw = k;
}

static void test_release_reasons(void) {
        CueRelease rs[] = { CUE_RELEASE_DONE, CUE_RELEASE_NOT_RELEASED, CUE_RELEASE_OVER_FORCE };
        double pitch[3];
        size_t count[3];

        for (int i = 0; i < 3; i++) {
                Cue c = { .kind = CUE_RELEASE, .release = rs[i], .since_ns = BASE + MS(100) };
                AudioSegment seg[16];
                Want w[8];
                size_t n, nw;
                _cleanup_free_ float *x = render(&c, &NO_ONSETS, BASE, BASE + MS(2000), &n);

                release_wants(rs[i], w, &nw);
                CHECK_EQ(check_segments(x, n, BASE, w, nw), 0);
                count[i] = audio_segments(x, n, THRESH, GAP, RATE, seg, 16);
                pitch[i] = seg[0].freq_hz;
        }
        /* told apart by ear: every pair differs in pitch by more than a whole tone, and in rhythm */
        for (int i = 0; i < 3; i++)
                for (int j = i + 1; j < 3; j++) {
                        CHECK(fabs(log2(pitch[i] / pitch[j])) > 2.0 / 12);
                        CHECK(count[i] != count[j]);
                }
}

static void test_tap_counts_and_not_yet(void) {
        Cue c = { .kind = CUE_HOLD, .since_ns = BASE, .tap_counts_ns = BASE + MS(400), .not_yet_ns = BASE + MS(50) };
        AudioOnsets on = NO_ONSETS;
        Want w[AUDIO_NOT_YET_BLIPS + AUDIO_TAP_COUNTS_CHIRPS];
        size_t n, k = 0;

        on.not_yet = BASE + MS(60);   /* the player's onset, later than the tap's edge */
        _cleanup_free_ float *x = render(&c, &on, BASE, BASE + MS(1000), &n);
        for (int i = 0; i < AUDIO_NOT_YET_BLIPS; i++)
                w[k++] = (Want) { 60.0 + i * AUDIO_NOT_YET_PERIOD_MS, AUDIO_NOT_YET_MS, AUDIO_NOT_YET_HZ };
        for (int i = 0; i < AUDIO_TAP_COUNTS_CHIRPS; i++)
                w[k++] = (Want) { 400.0 + i * AUDIO_TAP_COUNTS_PERIOD_MS, AUDIO_TAP_COUNTS_MS, AUDIO_TAP_COUNTS_HZ };
        CHECK_EQ(check_segments(x, n, BASE, w, k), 0);
}

static void test_hold_started_with_tap_counts(void) {
        /* min_hold 0: a tap counts from the start, no chirp */
        Cue c = { .kind = CUE_HOLD, .since_ns = BASE, .tap_counts_ns = BASE };
        size_t n;
        _cleanup_free_ float *x = render(&c, &NO_ONSETS, BASE, BASE + MS(1000), &n);

        CHECK_EQ(check_segments(x, n, BASE, NULL, 0), 0);
}

static void test_over_force_alarm(void) {
        /* it owns the sound: the countdown beep at due - 3 s is not played while it lasts */
        Cue c = { .kind = CUE_HOLD, .warnings = CUE_WARN_OVER_FORCE, .since_ns = BASE, .due_ns = BASE + MS(3200) };
        AudioOnsets on = NO_ONSETS;
        Want w[6];
        size_t n, k = 0;

        on.warning[0] = BASE + MS(150);
        _cleanup_free_ float *x = render(&c, &on, BASE, BASE + MS(2600), &n);
        for (int s = 0; s < 3; s++) {
                w[k++] = (Want) { 150.0 + s * AUDIO_OVER_FORCE_PERIOD_MS, AUDIO_OVER_FORCE_MS, AUDIO_OVER_FORCE_HZ };
                w[k++] = (Want) { 150.0 + s * AUDIO_OVER_FORCE_PERIOD_MS + AUDIO_OVER_FORCE_MS + AUDIO_OVER_FORCE_GAP_MS,
                                  AUDIO_OVER_FORCE_MS, AUDIO_OVER_FORCE_HZ };
        }
        CHECK_EQ(check_segments(x, n, BASE, w, k), 0);
}

static void test_over_hold(void) {
        Cue c = { .kind = CUE_RELEASE, .release = CUE_RELEASE_DONE, .warnings = CUE_WARN_OVER_HOLD | CUE_WARN_OVER_FORCE,
                  .since_ns = BASE };
        AudioOnsets on = NO_ONSETS;
        Want w[2] = { { 200, AUDIO_OVER_HOLD_MS, AUDIO_OVER_HOLD_HZ },
                      { 200.0 + AUDIO_OVER_HOLD_PERIOD_MS, AUDIO_OVER_HOLD_MS, AUDIO_OVER_HOLD_HZ } };
        size_t n;

        on.warning[1] = on.warning[0] = BASE + MS(200);   /* over-hold wins over over-force */
        _cleanup_free_ float *x = render(&c, &on, BASE, BASE + MS(4500), &n);
        CHECK_EQ(check_segments(x, n, BASE, w, 2), 0);
}

static void test_done_rises(void) {
        Cue c = { .kind = CUE_DONE, .since_ns = BASE + MS(10) };
        Want w[3] = { { 10, AUDIO_DONE_MS, AUDIO_DONE_HZ_1 },
                      { 10 + AUDIO_DONE_PERIOD_MS, AUDIO_DONE_MS, AUDIO_DONE_HZ_2 },
                      { 10 + 2 * AUDIO_DONE_PERIOD_MS, AUDIO_DONE_MS, AUDIO_DONE_HZ_3 } };
        size_t n;
        _cleanup_free_ float *x = render(&c, &NO_ONSETS, BASE, BASE + MS(800), &n);

        CHECK_EQ(check_segments(x, n, BASE, w, 3), 0);
        CHECK(AUDIO_DONE_HZ_1 < AUDIO_DONE_HZ_2 && AUDIO_DONE_HZ_2 < AUDIO_DONE_HZ_3);
}

static void test_silent_cues(void) {
        CueKind silent[] = { CUE_IDLE, CUE_POINT, CUE_PRESSING, CUE_REST, CUE_PAUSED };

        for (size_t i = 0; i < ELEMENTSOF(silent); i++) {
                Cue c = { .kind = silent[i], .since_ns = BASE, .due_ns = BASE + MS(4000) };
                size_t n;
                _cleanup_free_ float *x = render(&c, &NO_ONSETS, BASE, BASE + MS(5000), &n);

                CHECK_EQ(check_segments(x, n, BASE, NULL, 0), 0);
        }
}

static void test_chunked_equals_whole(void) {
        /* the player renders a few ms at a time: pieces must join without a seam */
        Cue c = { .kind = CUE_RELEASE, .release = CUE_RELEASE_NOT_RELEASED, .since_ns = BASE + MS(3) };
        size_t n;
        _cleanup_free_ float *whole = render(&c, &NO_ONSETS, BASE, BASE + MS(1000), &n);
        _cleanup_free_ float *pieces = calloc(n, sizeof(float));
        unsigned seed = 1;

        for (size_t f = 0; f < n;) {
                size_t len = MIN(n - f, (size_t) (1 + rand_r(&seed) % 300));

                audio_sound_render(&c, c.since_ns, &NO_ONSETS, BASE, RATE, (int64_t) f, pieces + f, len, 1.0f);
                f += len;
        }
        for (size_t f = 0; f < n; f++)
                if (whole[f] != pieces[f])
                        TAP_FAIL("frame %zu: %g vs %g", f, whole[f], pieces[f]);
}

static void test_tone_window(void) {
        /* endless trains are queried by window: exactly the tones overlapping it */
        Cue c = { .kind = CUE_IDLE, .since_ns = BASE };
        AudioOnsets on = NO_ONSETS;
        AudioTone t[8];
        size_t k;

        on.warning[1] = BASE;
        k = audio_sound_tones(&c, BASE, &on, BASE + 100 * NSEC_PER_SEC + MS(999), BASE + 100 * NSEC_PER_SEC + MS(1000),
                              t, 8);
        CHECK_EQ(k, 0);  /* 100 s is 33 periods + 1 s: just after a tone ended */
        k = audio_sound_tones(&c, BASE, &on, BASE + 99 * NSEC_PER_SEC + MS(999), BASE + 102 * NSEC_PER_SEC + 1, t, 8);
        CHECK_EQ(k, 2);
        CHECK_EQ(t[0].start_ns, BASE + 99 * NSEC_PER_SEC);
        CHECK_EQ(t[1].start_ns, BASE + 102 * NSEC_PER_SEC);
}

static void test_pacing_freq(void) {
        double prev = 0;

        CHECK_NEAR(audio_pacing_freq(0, 150), AUDIO_PACING_LOW_HZ, 1e-9);
        CHECK_NEAR(audio_pacing_freq(150, 150), 4 * AUDIO_PACING_LOW_HZ, 1e-9);
        CHECK_NEAR(audio_pacing_freq(75, 150), 2 * AUDIO_PACING_LOW_HZ, 1e-9);   /* one octave per half */
        CHECK_NEAR(audio_pacing_freq(-5, 150), AUDIO_PACING_LOW_HZ, 1e-9);
        CHECK_NEAR(audio_pacing_freq(500, 150), 4 * AUDIO_PACING_LOW_HZ, 1e-9);
        CHECK_NEAR(audio_pacing_freq(NAN, 150), AUDIO_PACING_LOW_HZ, 1e-9);
        for (int f = 0; f <= 150; f++) {
                double hz = audio_pacing_freq(f, 150);

                CHECK(hz > prev);
                prev = hz;
        }
}

static void test_frame_at(void) {
        CHECK_EQ(audio_frame_at(BASE, BASE, RATE), 0);
        CHECK_EQ(audio_frame_at(BASE + NSEC_PER_SEC, BASE, RATE), RATE);
        CHECK_EQ(audio_frame_at(BASE + 1, BASE, RATE), 1);            /* never early */
        CHECK_EQ(audio_frame_at(BASE - NSEC_PER_SEC, BASE, RATE), -(int64_t) RATE);
}

static const TapCase cases[] = {
        { "countdown beeps at due-3/-2/-1 s, 100 ms, 880 Hz", test_countdown },
        { "countdown of a short hold skips beeps before the cue", test_countdown_short_hold },
        { "release tones per reason, pairwise distinct", test_release_reasons },
        { "'not yet' rattle and 'tap now counts' chirp", test_tap_counts_and_not_yet },
        { "no chirp when a tap counts from the start", test_hold_started_with_tap_counts },
        { "over-force alarm owns the sound", test_over_force_alarm },
        { "over-hold tone every 3 s, wins over over-force", test_over_hold },
        { "session done: three rising notes", test_done_rises },
        { "silent cues", test_silent_cues },
        { "rendering in pieces equals one piece", test_chunked_equals_whole },
        { "tones by window in endless trains", test_tone_window },
        { "PPT pacing pitch follows force", test_pacing_freq },
        { "frame clock", test_frame_at },
};

TAP_MAIN(cases)
