/* SPDX-License-Identifier: MIT */
#pragma once

/* The session history on top of a Db (SQLite or PostgreSQL): one schema, versioned
 * migrations run at open, idempotent insert by session id, the queries of docs/recorder.md.
 * Never logs: errors are returned, and db_error() of the Db says what the database said. */

#include <stdint.h>

#include <json-c/json.h>

#include "recorder/db.h"
#include "recorder/session-doc.h"

typedef struct HistoryStore HistoryStore;

#define HISTORY_SCHEMA_VERSION 1

/* Takes ownership of db (freed with the store, also on failure). Runs the missing migrations
 * in one exclusive transaction. -EPROTO if the database is newer than this program. */
int history_store_open(HistoryStore **ret, Db *db, char **ret_error);
HistoryStore *history_store_free(HistoryStore *s);
static inline void history_store_freep(HistoryStore **s) {
        if (*s)
                history_store_free(*s);
}
Db *history_store_db(HistoryStore *s);
int history_store_schema_version(HistoryStore *s);

/* Stores a session with its reps. Returns 0 when it was new, 1 when the same id was already
 * stored with the same document (a duplicate delivery: nothing changes), -EEXIST when the id is
 * stored with a different document: nothing is overwritten, the refused document is kept in
 * the session_conflicts table for a human. Run inside history_store_begin()/commit(). */
int history_store_insert(HistoryStore *s, const SessionDoc *d, int64_t received_at_ms);

int history_store_begin(HistoryStore *s);
int history_store_commit(HistoryStore *s);
int history_store_rollback(HistoryStore *s);

/* 1 if a session with this id is stored, 0 if not. */
int history_store_has(HistoryStore *s, const char *id);
int64_t history_store_count(HistoryStore *s);

/* The hubs the recorder has heard of, with the station last heard of (commands go to a
 * station's cmd topic) and how far they are reconciled (the hub's archive time, ms; 0 = never). */
int history_store_hub_seen(HistoryStore *s, const char *hub, const char *station);
typedef int (*HistoryHubFn)(const char *hub, const char *station, int64_t reconciled_ms, void *userdata);
int history_store_hubs(HistoryStore *s, HistoryHubFn fn, void *userdata);
int history_store_set_reconciled(HistoryStore *s, const char *hub, int64_t until_ms);

/* Deletes sessions (and their reps) that started before older_than_ms. Returns how many. */
int history_store_expire(HistoryStore *s, int64_t older_than_ms);

/* History queries (docs/recorder.md "Queries"): parses a request document (bytes from the
 * network, checked strictly), runs it and builds the reply document. Always sets *ret_json
 * ({"ok":true,...} or {"ok":false,"error":"..."}) unless it returns -ENOMEM. */
int history_query(HistoryStore *s, const void *request, size_t len, char **ret_json);
