/* SPDX-License-Identifier: MIT */
/* Speech texts, keys and the cache with the real espeak-ng: a phrase is rendered once on the
 * worker, found on disk the next time, re-rendered when its stored text does not match. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/speech-cache.h"
#include "audio/speech-text.h"
#include "shared/macro.h"
#include "tap.h"

static void test_step_text(void) {
        ProtocolStep s = { .label = "Back point 1: lower back, right", .side = "right",
                           .instruction = "Press hard." };
        _cleanup_free_ char *a = speech_step_text(&s);
        ProtocolStep t = { .label = "Stretch", .side = "left", .instruction = "Hold it." };
        _cleanup_free_ char *b = speech_step_text(&t);
        ProtocolStep u = { .point = "p9", .side = "center" };
        _cleanup_free_ char *d = speech_step_text(&u);

        CHECK_STR(a, "Back point 1: lower back, right. Press hard.");   /* the label names the side */
        CHECK_STR(b, "Stretch. Left side. Hold it.");
        CHECK_STR(d, "p9.");
}

static void test_key(void) {
        char k1[SPEECH_KEY_LEN + 1], k2[SPEECH_KEY_LEN + 1], k3[SPEECH_KEY_LEN + 1];

        speech_key("en", "Rest", k1);
        speech_key("de", "Rest", k2);
        speech_key("enR", "est", k3);           /* the NUL between voice and text counts */
        CHECK_STR(k1, "2d018c691a1649dc");      /* FNV-1a 64 of "en\0Rest", computed by hand */
        CHECK(strcmp(k1, k2) != 0);
        CHECK(strcmp(k1, k3) != 0);
        speech_key("en", "Rest", k2);
        CHECK_STR(k1, k2);
}

static void test_protocol_texts(void) {
        ProtocolStep steps[2] = {
                { .label = "A", .instruction = "x", .find_prompt = "Rest" },   /* also a generic prompt */
                { .label = "A", .instruction = "x", .hold_prompt = "Own hold" },
        };
        Protocol p = { .name = "t", .steps = steps, .n_steps = 2, .safety_notice = "Notice." };
        char **v = NULL;
        int n = speech_protocol_texts(&p, &v), generic = 0;
        bool own = false, notice = false;

        CHECK(n > 0);
        while (speech_generic_prompts[generic])
                generic++;
        /* "A. x." once, "Own hold", the generic prompts, the notice: each once */
        CHECK_EQ(n, 1 + 1 + generic + 1);
        for (int i = 0; i < n; i++) {
                own = own || strcmp(v[i], "Own hold") == 0;
                notice = notice || strcmp(v[i], "Notice.") == 0;
                for (int j = 0; j < i; j++)
                        CHECK(strcmp(v[i], v[j]) != 0);
        }
        CHECK(own && notice);
        speech_texts_free(v, (size_t) n);
}

typedef struct Done {
        int calls, error;
        bool rendered;
} Done;

static void on_done(const char *voice, const char *text, int error, bool rendered, const char *why, void *userdata) {
        Done *d = userdata;

        d->calls++;
        d->error = error;
        d->rendered = rendered;
        if (error < 0)
                printf("# %s\n", why);
}

static void run_until(sd_event *e, SpeechCache *c) {
        for (int i = 0; i < 300 && speech_cache_pending(c) > 0; i++)
                (void) sd_event_run(e, 100000);
}

static void test_cache(void) {
        char dir[] = "/tmp/tphub-speech-test-XXXXXX";
        _cleanup_free_ char *cache = NULL, *txt = NULL, *cmd = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        char key[SPEECH_KEY_LEN + 1];
        SpeechCacheParams params = { .espeak = "espeak-ng", .rate = 22050 };
        SpeechCache *c = NULL;
        Done d = {};
        FILE *f;

        if (system("command -v espeak-ng >/dev/null") != 0) {
                printf("# espeak-ng not installed\n");
                return;
        }
        CHECK(mkdtemp(dir) != NULL);
        CHECK(asprintf(&cache, "%s/a/b", dir) > 0);   /* created when needed */
        params.cache_dir = cache;
        CHECK(sd_event_new(&e) >= 0);

        CHECK_EQ(speech_cache_new(&c, e, &params, on_done, &d), 0);
        CHECK_EQ(speech_cache_want(c, "en", "Release slowly", true), 1);
        CHECK_EQ(speech_cache_want(c, "en", "Release slowly", true), 0);
        CHECK(speech_cache_get(c, "en", "Release slowly") == NULL);   /* not ready yet */
        run_until(e, c);
        CHECK_EQ(d.calls, 1);
        CHECK_EQ(d.error, 0);
        CHECK(d.rendered);
        CHECK(speech_cache_get(c, "en", "Release slowly") != NULL);
        CHECK(audio_clip_frames(speech_cache_get(c, "en", "Release slowly")) > 22050 / 4);
        /* an unknown voice: refused, and said why */
        CHECK_EQ(speech_cache_want(c, "zzq", "Rest", true), 1);
        run_until(e, c);
        CHECK(d.error < 0);
        CHECK(speech_cache_get(c, "zzq", "Rest") == NULL);
        c = speech_cache_free(c);

        /* a new cache finds it on disk: no espeak-ng */
        d = (Done) {};
        CHECK_EQ(speech_cache_new(&c, e, &params, on_done, &d), 0);
        CHECK_EQ(speech_cache_want(c, "en", "Release slowly", false), 1);
        run_until(e, c);
        CHECK_EQ(d.calls, 1);
        CHECK(!d.rendered);
        CHECK(speech_cache_get(c, "en", "Release slowly") == NULL);   /* on disk, not loaded */
        CHECK_EQ(speech_cache_want(c, "en", "Release slowly", true), 1);
        run_until(e, c);
        CHECK(speech_cache_get(c, "en", "Release slowly") != NULL);
        c = speech_cache_free(c);

        /* a stored text that is not this phrase (a key collision): rendered anew */
        speech_key("en", "Release slowly", key);
        CHECK(asprintf(&txt, "%s/%s.txt", cache, key) > 0);
        f = fopen(txt, "we");
        CHECK(f != NULL);
        fputs("en\nSomething else", f);
        fclose(f);
        d = (Done) {};
        CHECK_EQ(speech_cache_new(&c, e, &params, on_done, &d), 0);
        CHECK_EQ(speech_cache_want(c, "en", "Release slowly", true), 1);
        run_until(e, c);
        CHECK(d.rendered);
        CHECK(speech_cache_get(c, "en", "Release slowly") != NULL);
        c = speech_cache_free(c);

        CHECK(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
        CHECK_EQ(system(cmd), 0);
}

static const TapCase cases[] = {
        { "a step's announcement", test_step_text },
        { "phrase keys", test_key },
        { "a protocol's texts, each once", test_protocol_texts },
        { "cache: rendered once, found on disk, collision re-rendered", test_cache },
};

TAP_MAIN(cases)
