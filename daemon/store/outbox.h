/* SPDX-License-Identifier: MIT */
#pragma once

/* A durable spool of finished-session documents waiting for the broker's PUBACK.
 *
 * One file per document, named "<seq, 16 digits>-<id>.json" so that a directory listing sorted
 * by name is the push order. Every file appears atomically (temp file, fsync, rename, fsync of
 * the directory) and is removed only after the broker acknowledged it, so a crash or power loss
 * at any point leaves either the whole document or nothing. Files the outbox did not write
 * (wrong name, unreadable) are never deleted: they are skipped and reported through
 * outbox_list()'s skipped list so the daemon can say so. */

#include <stddef.h>
#include <stdint.h>

typedef struct Outbox Outbox;

typedef struct OutboxItem {
        char *name;          /* file name inside the spool dir */
        uint64_t seq;
        char *id;            /* the document id as given to outbox_push() */
} OutboxItem;

typedef struct OutboxList {
        OutboxItem *items;   /* in push order */
        size_t n_items;
        char **skipped;      /* names of files that are not spool entries */
        size_t n_skipped;
} OutboxList;

#define OUTBOX_ID_MAX 128
#define OUTBOX_DOC_MAX (1024 * 1024)   /* bytes per document; larger pushes fail with -EFBIG */

/* Opens (creating it if missing, mode 0750) the spool directory. max_items bounds the
 * number of documents the spool holds (0 means the default, 1000). */
int outbox_open(Outbox **ret, const char *dir, size_t max_items);
Outbox *outbox_free(Outbox *o);
static inline void outbox_freep(Outbox **o) {
        if (*o)
                outbox_free(*o);
}

const char *outbox_dir(const Outbox *o);

/* Durably stores a document. id must be 1..OUTBOX_ID_MAX bytes of [A-Za-z0-9_.:-].
 * Errors: -ENOSPC when the spool holds max_items already (or the disk is full), -EROFS, -EIO,
 * ... from the file system. On any error the temp file is removed and nothing spooled before
 * is touched. ret_name (optional) gets the new file's name. */
int outbox_push(Outbox *o, const char *id, const char *json, size_t len, char **ret_name);

/* Every spool entry in push order, plus the names of files that are not entries. */
int outbox_list(Outbox *o, OutboxList *ret);
void outbox_list_done(OutboxList *l);

/* Whether a document of OUTBOX_DOC_MAX would fit now: room on the file system and a real
 * write (a probe file, written like an entry, then removed). 0, -ENOSPC, -EROFS, -EIO, ... */
int outbox_check_room(Outbox *o);

/* 1 when an entry holds the document with this id, 0 when none does, or a negative errno. */
int outbox_has_id(Outbox *o, const char *id);

/* Reads one entry's document (NUL-terminated). */
int outbox_read(Outbox *o, const char *name, char **ret_json, size_t *ret_len);

/* Removes an acknowledged entry and fsyncs the directory. -ENOENT if it is already gone. */
int outbox_remove(Outbox *o, const char *name);

/* Number of entries, as counted by the last list/push/remove. */
size_t outbox_count(const Outbox *o);
size_t outbox_max_items(const Outbox *o);

/* Parses "<16 digits>-<id>.json". Returns 0, or -EINVAL when name is not a spool entry. */
int outbox_parse_name(const char *name, uint64_t *ret_seq, char **ret_id);
