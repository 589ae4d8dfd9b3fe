/* SPDX-License-Identifier: MIT */
#pragma once

/* What a station says, as text: the step announced when it is cued, the prompts of the
 * moment, the safety notice, the session's end; and the key a rendered phrase is stored
 * under (voice and text hashed). Pure. */

#include <stddef.h>

#include "engine/protocol.h"

#define SPEECH_DEFAULT_VOICE "en"
#define SPEECH_KEY_LEN 16   /* hex digits */

/* The voice of the protocol's speech. */
const char *speech_voice(const Protocol *p);

/* "Label. Left side. Instruction" (the side is left out when the label names it already).
 * NULL on allocation failure. */
char *speech_step_text(const ProtocolStep *s);

/* The prompts the engine gives that are not the protocol's own (NULL-terminated). */
extern const char *const speech_generic_prompts[];

/* Every text the protocol may say: its steps, their own prompts, the generic prompts, its
 * safety notice; each once. Returns the count, or -ENOMEM. */
int speech_protocol_texts(const Protocol *p, char ***ret);
void speech_texts_free(char **texts, size_t n);

/* The storage key of a phrase: 64-bit FNV-1a of voice NUL text, in hex (ret: 17 bytes).
 * Not a cryptographic hash: a stored phrase's text is kept beside it and compared. */
void speech_key(const char *voice, const char *text, char ret[SPEECH_KEY_LEN + 1]);
