/* SPDX-License-Identifier: MIT */
#pragma once

/* Renders one phrase with the espeak-ng program into DIR/KEY.wav, with the voice and text
 * beside it in DIR/KEY.txt (what a lookup compares). Blocking: it waits for the child, so
 * it runs at build time (tphub-speech) or on the speech cache's worker thread, never on the
 * loop. Files appear atomically (written under a temporary name, then renamed). */

#include <stdbool.h>
#include <stddef.h>

/* The program run when the configuration names none (docs/config.md, audio.espeak). */
#define SPEECH_RENDER_DEFAULT_ESPEAK "espeak-ng"

/* 0, or -errno; errbuf says why (espeak-ng's exit status, a signal, ...). */
int speech_render(const char *espeak, const char *voice, const char *text, const char *dir,
                  const char *key, char *errbuf, size_t errlen);

/* Whether DIR/KEY.txt holds exactly this voice and text (and DIR/KEY.wav exists). */
bool speech_stored(const char *dir, const char *key, const char *voice, const char *text);

/* The contents of KEY.txt: voice, newline, text. */
char *speech_stored_text(const char *voice, const char *text);
