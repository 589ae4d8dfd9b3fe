/* SPDX-License-Identifier: MIT */
#pragma once

/* A session's id: 32 lower-case hex digits (a random 128-bit id, as sd_id128 formats it). The
 * station makes it; the hub's archive and commands, and the recorder, check what they are given
 * against this one definition (docs/sessions.md, "id"). */

#include <stdbool.h>

#define SESSION_ID_LEN 32

bool session_id_valid(const char *s);
