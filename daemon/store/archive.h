/* SPDX-License-Identifier: MIT */
#pragma once

/* The hub's archive of sent sessions, so that a recorder can ask again for what it lost:
 * Paho acknowledges a QoS 1 message before the receiving application has stored it, and a
 * bridge's queue does not survive a power cut, so at-least-once delivery alone can lose a
 * session between broker and database. Bounded by count and by age; docs/mqtt.md
 * ("sessions_since", "resend").
 *
 * One file per session, "<archived at, ms, 13 digits>-<id>.json" holding "<topic>\n<json>",
 * written atomically like the outbox. The index (time, id) is kept in memory, ordered by
 * (time, id), which is the order sessions_since lists them in. */

#include <stddef.h>
#include <stdint.h>

typedef struct Archive Archive;

typedef struct ArchiveEntry {
        int64_t at_ms;      /* when the hub archived it (its wall clock, ms since the epoch) */
        char id[33];        /* 32 lower-case hex digits */
} ArchiveEntry;

#define ARCHIVE_DEFAULT_MAX 1000

/* Opens (creating it, mode 0750) the directory and indexes what is there; files that are not
 * archive entries are left alone. max_items 0 = ARCHIVE_DEFAULT_MAX; max_age_days 0 = no age
 * limit. */
int archive_open(Archive **ret, const char *dir, size_t max_items, unsigned max_age_days);
Archive *archive_free(Archive *a);
static inline void archive_freep(Archive **a) {
        if (*a)
                archive_free(*a);
}

/* Stores a session (replacing an older copy of the same id), then drops the oldest entries
 * beyond the bounds (now_ms decides the age). -EINVAL for an id that is not 32 hex digits. */
int archive_add(Archive *a, int64_t now_ms, const char *id, const char *topic, const char *json);

/* Entries after (since_ms, after_id) in (time, id) order: time > since_ms, or time == since_ms
 * and id > after_id (after_id NULL or "" = every entry at since_ms). At most limit of them in
 * ret (which must hold limit entries); *ret_more says whether more follow. Returns how many. */
int archive_since(Archive *a, int64_t since_ms, const char *after_id, ArchiveEntry *ret, size_t limit,
                  int *ret_more);

/* The stored topic and document of id: -ENOENT if it is not (or no longer) archived. */
int archive_read(Archive *a, const char *id, char **ret_topic, char **ret_json);

/* Drops entries older than the age bound. */
void archive_prune(Archive *a, int64_t now_ms);

size_t archive_count(const Archive *a);
