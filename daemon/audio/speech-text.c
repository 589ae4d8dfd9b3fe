/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/speech-text.h"
#include "shared/macro.h"

/* The engine's prompts that steps cannot override (engine.c prompt(), docs/mqtt.md). One
 * missing here is rendered the first time it is needed and spoken from then on. */
const char *const speech_generic_prompts[] = {
        "Too hard: ease off",
        "Press slowly, tap at the first pain",
        "Find the spot, then tap",
        "Find the spot and press",
        "Tap when you are done",
        "Hold the stretch",
        "Tap when it releases",
        "Tap when it eases",
        "Hold the pressure",
        "Let go now",
        "Let go, we come back to this point later",
        "Too hard for too long: release slowly now",
        "Ease out of the stretch",
        "Release slowly",
        "Rest away from this point, we come back to it",
        "Rest",
        "Tool lost: keep still, reconnecting",
        "Session complete",
        NULL,
};

const char *speech_voice(const Protocol *p) {
        return p && p->voice ? p->voice : SPEECH_DEFAULT_VOICE;
}

static const char *end_stop(const char *s) {
        size_t n = strlen(s);

        return n > 0 && strchr(".!?:", s[n - 1]) ? "" : ".";
}

char *speech_step_text(const ProtocolStep *s) {
        const char *label = s->label ?: s->point ?: "";
        bool side = s->side && *s->side && strcmp(s->side, "center") != 0 && !strcasestr(label, s->side);
        char *t = NULL;
        int r;

        r = asprintf(&t, "%s%s%s%s%s%s%s", label, end_stop(label),
                     side ? " " : "", side ? s->side : "", side ? " side." : "",
                     s->instruction ? " " : "", s->instruction ?: "");
        if (r < 0)
                return NULL;
        /* capitalise a side that opens its sentence ("left side.") */
        if (side) {
                char *p = t + strlen(label) + strlen(end_stop(label)) + 1;

                if (*p >= 'a' && *p <= 'z')
                        *p = (char) (*p - 'a' + 'A');
        }
        return t;
}

static int add(char ***v, size_t *n, size_t *cap, const char *text, bool take, char *owned) {
        char *s;

        if (!text || !*text) {
                free(owned);
                return 0;
        }
        for (size_t i = 0; i < *n; i++)
                if (strcmp((*v)[i], text) == 0) {
                        free(owned);
                        return 0;
                }
        if (*n == *cap) {
                char **nv = realloc(*v, (*cap ? *cap * 2 : 32) * sizeof(char *));

                if (!nv) {
                        free(owned);
                        return -ENOMEM;
                }
                *v = nv;
                *cap = *cap ? *cap * 2 : 32;
        }
        s = take ? owned : strdup(text);
        if (!s)
                return -ENOMEM;
        (*v)[(*n)++] = s;
        return 0;
}

int speech_protocol_texts(const Protocol *p, char ***ret) {
        char **v = NULL;
        size_t n = 0, cap = 0;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < p->n_steps; i++) {
                const ProtocolStep *s = &p->steps[i];
                char *t = speech_step_text(s);

                r = t ? add(&v, &n, &cap, t, true, t) : -ENOMEM;
                if (r >= 0)
                        r = add(&v, &n, &cap, s->find_prompt, false, NULL);
                if (r >= 0)
                        r = add(&v, &n, &cap, s->hold_prompt, false, NULL);
        }
        for (size_t i = 0; r >= 0 && speech_generic_prompts[i]; i++)
                r = add(&v, &n, &cap, speech_generic_prompts[i], false, NULL);
        if (r >= 0)
                r = add(&v, &n, &cap, protocol_safety_notice(p), false, NULL);
        if (r < 0) {
                speech_texts_free(v, n);
                return r;
        }
        *ret = v;
        return (int) n;
}

void speech_texts_free(char **texts, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(texts[i]);
        free(texts);
}

void speech_key(const char *voice, const char *text, char ret[SPEECH_KEY_LEN + 1]) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (const char *s = voice; *s; s++)
                h = (h ^ (unsigned char) *s) * 0x100000001b3ULL;
        h *= 0x100000001b3ULL;   /* the NUL between voice and text */
        for (const char *s = text; *s; s++)
                h = (h ^ (unsigned char) *s) * 0x100000001b3ULL;
        snprintf(ret, SPEECH_KEY_LEN + 1, "%016llx", (unsigned long long) h);
}
