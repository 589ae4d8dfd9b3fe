/* SPDX-License-Identifier: MIT */
#pragma once

/* The running session of each station, saved as it goes ("<dir>/<station>.checkpoint.json"),
 * so that a crash or power loss mid-session leaves a record: at start the hub recovers it,
 * marks it interrupted (session_json_mark_interrupted()), pushes it to the outbox and only then
 * clears the checkpoint. Writes are atomic (temp file, fsync, rename, directory fsync). */

#include <stddef.h>

/* station: 1..64 bytes of [A-Za-z0-9_.-], not starting with '.'. dir is created (0750) if
 * missing. */
int checkpoint_write(const char *dir, const char *station, const char *json, size_t len);

/* Removes the checkpoint; 0 also when there was none. */
int checkpoint_clear(const char *dir, const char *station);

/* 1 and *ret_json (NUL-terminated, caller frees) when a checkpoint exists, 0 and *ret_json
 * untouched when there is none, negative errno on failure. */
int checkpoint_recover(const char *dir, const char *station, char **ret_json);

/* Takes a session document, sets "status":"interrupted" and "ended_at":ended_at_iso (both
 * replaced if present) and returns it serialised (compact). -EBADMSG if json_in is not a JSON
 * object. */
int session_json_mark_interrupted(const char *json_in, const char *ended_at_iso, char **ret_json);
