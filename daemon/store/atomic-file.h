/* SPDX-License-Identifier: MIT */
#pragma once

/* Crash-safe whole-file replacement inside a directory: write "<tmp_prefix><name>", fsync it,
 * rename it over name, fsync the directory. Shared by the outbox and the checkpoints. */

#include <stddef.h>
#include <sys/types.h>

/* Returns 0, or a negative errno (-ENOSPC, -EROFS, -EIO, ...). On a failure before the rename
 * the temp file is removed and name is untouched. A failure of the
 * final directory fsync is returned as that fsync's error with the new file in place (the
 * caller decides whether to undo it). */
int atomic_file_write_at(int dir_fd, const char *name, const char *tmp_prefix,
                         const void *data, size_t len, mode_t mode);

/* The same without any fsync: the file is replaced atomically as far as a crash of the
 * process goes, but a power loss may leave the old version, or an empty or partial file, in
 * its place. For small state that may be lost (a tool's zero), written when a slow card must
 * not block the loop. */
int atomic_file_replace_at(int dir_fd, const char *name, const char *tmp_prefix,
                           const void *data, size_t len, mode_t mode);

/* Reads a whole file (at most max bytes, else -EFBIG) and NUL-terminates it. */
int atomic_file_read_at(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_len);
