/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recorder/history-store.h"
#include "shared/macro.h"

struct HistoryStore {
        Db *db;
        int version;
};

/* The one schema, in SQL both SQLite and PostgreSQL accept. Times are milliseconds since the
 * Unix epoch (UTC) in BIGINT columns: the same arithmetic in both, no time-zone surprises.
 * Migration N is applied to a database at version N-1; a released migration never changes. */
static const char *const migrations[] = {
        /* 1 */
        "CREATE TABLE sessions ("
        " id TEXT PRIMARY KEY,"
        " hub TEXT NOT NULL, station TEXT NOT NULL, athlete TEXT, protocol TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " started_at BIGINT NOT NULL, ended_at BIGINT, duration_ms BIGINT,"
        " received_at BIGINT NOT NULL,"
        " document TEXT NOT NULL);"
        "CREATE INDEX sessions_athlete_started ON sessions (athlete, started_at);"
        "CREATE INDEX sessions_hub_started ON sessions (hub, started_at);"
        "CREATE INDEX sessions_started ON sessions (started_at);"
        "CREATE TABLE reps ("
        " session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,"
        " step INTEGER NOT NULL, rep INTEGER NOT NULL,"
        " point TEXT NOT NULL, side TEXT, kind TEXT NOT NULL,"
        " attempt INTEGER NOT NULL, outcome TEXT NOT NULL,"
        " started_ms BIGINT, hold_ms BIGINT, release_ms BIGINT, target_hold_ms BIGINT,"
        " force_mean_n DOUBLE PRECISION, force_peak_n DOUBLE PRECISION, threshold_n DOUBLE PRECISION,"
        " PRIMARY KEY (session_id, step, rep));"
        "CREATE INDEX reps_point ON reps (point);"
        "CREATE TABLE hubs ("
        " hub TEXT PRIMARY KEY, station TEXT NOT NULL,"
        " reconciled_until BIGINT NOT NULL DEFAULT 0);"
        "CREATE TABLE session_conflicts ("
        " id TEXT NOT NULL, received_at BIGINT NOT NULL, document TEXT NOT NULL);"
        "CREATE INDEX session_conflicts_id ON session_conflicts (id);",
};

static int version_row(size_t n, const char *const *cols, void *userdata) {
        *(int *) userdata = cols[0] ? atoi(cols[0]) : 0;
        return 0;
}

/* The missing migrations, inside the caller's exclusive transaction. *ret_found: the version
 * the database was at. */
static int migrate_locked(HistoryStore *s, int *ret_found) {
        int r;

        r = db_exec(s->db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                           " version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)", 0, NULL, NULL, NULL);
        if (r < 0)
                return r;
        r = db_exec(s->db, "SELECT MAX(version) FROM schema_migrations", 0, NULL, version_row, ret_found);
        if (r < 0)
                return r;
        if (*ret_found > (int) ELEMENTSOF(migrations))
                return -EPROTO;
        for (int v = *ret_found + 1; v <= (int) ELEMENTSOF(migrations); v++) {
                DbValue p[] = { DB_INTV(v), DB_INTV((int64_t) time(NULL) * 1000) };
                r = db_exec(s->db, migrations[v - 1], 0, NULL, NULL, NULL);
                if (r < 0)
                        return r;
                r = db_exec(s->db, "INSERT INTO schema_migrations (version, applied_at) VALUES "
                                   "($1, $2)", 2, p, NULL, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int migrate(HistoryStore *s, char **ret_error) {
        int found = 0, r;

        r = db_begin_exclusive(s->db);
        if (r >= 0)
                r = migrate_locked(s, &found);
        if (r >= 0)
                r = db_commit(s->db);
        if (r < 0) {
                /* Say why before the rollback, which replaces the database's last error. */
                if (ret_error &&
                    (r == -EPROTO ? asprintf(ret_error, "the database is at schema version %d, newer than this "
                                             "recorder knows (%zu)", found, ELEMENTSOF(migrations))
                                  : asprintf(ret_error, "schema migration failed: %s", db_error(s->db))) < 0)
                        *ret_error = NULL;
                (void) db_rollback(s->db);
                return r;
        }
        s->version = (int) ELEMENTSOF(migrations);
        return 0;
}

int history_store_open(HistoryStore **ret, Db *db, char **ret_error) {
        HistoryStore *s;
        int r;

        if (!ret || !db)
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s) {
                db_free(db);
                return -ENOMEM;
        }
        s->db = db;
        r = migrate(s, ret_error);
        if (r < 0) {
                history_store_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

HistoryStore *history_store_free(HistoryStore *s) {
        if (!s)
                return NULL;
        db_free(s->db);
        free(s);
        return NULL;
}

Db *history_store_db(HistoryStore *s) {
        return s->db;
}

int history_store_schema_version(HistoryStore *s) {
        return s->version;
}

int history_store_begin(HistoryStore *s) {
        return db_begin(s->db);
}

int history_store_commit(HistoryStore *s) {
        return db_commit(s->db);
}

int history_store_rollback(HistoryStore *s) {
        return db_rollback(s->db);
}

static DbValue opt_int(DocInt v) {
        return v.has ? DB_INTV(v.v) : DB_NULLV;
}

static DbValue opt_real(DocNumber v) {
        return v.has ? DB_REALV(v.v) : DB_NULLV;
}

typedef struct StrRow {
        char *s;
} StrRow;

static int str_row(size_t n, const char *const *cols, void *userdata) {
        StrRow *out = userdata;

        if (out->s || !cols[0])
                return 0;
        out->s = strdup(cols[0]);
        return out->s ? 0 : -ENOMEM;
}

static int insert_reps(HistoryStore *s, const SessionDoc *d) {
        for (size_t i = 0; i < d->n_reps; i++) {
                const SessionRep *r = &d->reps[i];
                DbValue p[] = {
                        DB_TEXTV(d->id), DB_INTV(r->step), DB_INTV(r->rep), DB_TEXTV(r->point), DB_TEXTV(r->side),
                        DB_TEXTV(r->kind), DB_INTV(r->attempt), DB_TEXTV(r->outcome), opt_int(r->started_ms),
                        opt_int(r->hold_ms), opt_int(r->release_ms), opt_int(r->target_hold_ms),
                        opt_real(r->force_mean_n), opt_real(r->force_peak_n), opt_real(r->threshold_n),
                };
                int k = db_exec(s->db, "INSERT INTO reps (session_id, step, rep, point, side, kind, attempt, outcome,"
                                       " started_ms, hold_ms, release_ms, target_hold_ms, force_mean_n, force_peak_n,"
                                       " threshold_n) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
                                       " $13, $14, $15)", ELEMENTSOF(p), p, NULL, NULL);
                if (k < 0)
                        return k;
        }
        return 0;
}

int history_store_insert(HistoryStore *s, const SessionDoc *d, int64_t received_at_ms) {
        DbValue p[] = {
                DB_TEXTV(d->id), DB_TEXTV(d->hub), DB_TEXTV(d->station), DB_TEXTV(d->athlete),
                DB_TEXTV(d->protocol), DB_TEXTV(d->status), DB_INTV(d->started_at_ms), opt_int(d->ended_at_ms),
                opt_int(d->duration_ms), DB_INTV(received_at_ms), DB_TEXTV(d->canonical),
        };
        _cleanup_free_ char *stored = NULL;
        StrRow row = {};
        int r;

        if (!s || !d)
                return -EINVAL;
        /* ON CONFLICT DO NOTHING: with two recorders on one PostgreSQL, the second insert of an
         * id waits for the first transaction and then does nothing, instead of failing (which
         * would abort the whole batch). */
        r = db_exec(s->db, "INSERT INTO sessions (id, hub, station, athlete, protocol, status, started_at, ended_at,"
                           " duration_ms, received_at, document) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                           " ON CONFLICT (id) DO NOTHING RETURNING id", ELEMENTSOF(p), p, NULL, NULL);
        if (r < 0)
                return r;
        if (r == 1) {
                r = insert_reps(s, d);
                if (r < 0)
                        return r;
                r = history_store_hub_seen(s, d->hub, d->station);
                return r < 0 ? r : 0;
        }

        /* Already there: the same document is a duplicate delivery, another one a conflict. */
        r = db_exec(s->db, "SELECT document FROM sessions WHERE id = $1", 1, p, str_row, &row);
        if (r < 0)
                return r;
        stored = row.s;
        if (stored && strcmp(stored, d->canonical) == 0)
                return 1;

        DbValue c[] = { DB_TEXTV(d->id), DB_TEXTV(d->canonical), DB_INTV(received_at_ms) };
        r = db_exec(s->db, "SELECT 1 FROM session_conflicts WHERE id = $1 AND document = $2", 2, c, NULL, NULL);
        if (r == 0)
                r = db_exec(s->db, "INSERT INTO session_conflicts (id, document, received_at) VALUES ($1, $2, $3)",
                            3, c, NULL, NULL);
        return r < 0 ? r : -EEXIST;
}

int history_store_has(HistoryStore *s, const char *id) {
        DbValue p[] = { DB_TEXTV(id) };
        int r;

        r = db_exec(s->db, "SELECT 1 FROM sessions WHERE id = $1", 1, p, NULL, NULL);
        return r < 0 ? r : r > 0;
}

static int int64_row(size_t n, const char *const *cols, void *userdata) {
        *(int64_t *) userdata = cols[0] ? strtoll(cols[0], NULL, 10) : 0;
        return 0;
}

int64_t history_store_count(HistoryStore *s) {
        int64_t n = 0;
        int r;

        r = db_exec(s->db, "SELECT COUNT(*) FROM sessions", 0, NULL, int64_row, &n);
        return r < 0 ? r : n;
}

int history_store_hub_seen(HistoryStore *s, const char *hub, const char *station) {
        DbValue p[] = { DB_TEXTV(hub), DB_TEXTV(station) };
        int r;

        /* The latest station heard of: a station may be renamed or removed from a hub. */
        r = db_exec(s->db, "INSERT INTO hubs (hub, station) VALUES ($1, $2) ON CONFLICT (hub) DO UPDATE"
                           " SET station = excluded.station WHERE hubs.station <> excluded.station",
                    2, p, NULL, NULL);
        return r < 0 ? r : 0;
}

typedef struct HubsCtx {
        HistoryHubFn fn;
        void *userdata;
} HubsCtx;

static int hub_row(size_t n, const char *const *cols, void *userdata) {
        HubsCtx *c = userdata;

        return c->fn(cols[0], cols[1], cols[2] ? strtoll(cols[2], NULL, 10) : 0, c->userdata);
}

int history_store_hubs(HistoryStore *s, HistoryHubFn fn, void *userdata) {
        HubsCtx c = { fn, userdata };

        return db_exec(s->db, "SELECT hub, station, reconciled_until FROM hubs ORDER BY hub", 0, NULL, hub_row, &c);
}

int history_store_set_reconciled(HistoryStore *s, const char *hub, int64_t until_ms) {
        DbValue p[] = { DB_TEXTV(hub), DB_INTV(until_ms) };
        int r;

        r = db_exec(s->db, "UPDATE hubs SET reconciled_until = $2 WHERE hub = $1 AND reconciled_until < $2",
                    2, p, NULL, NULL);
        return r < 0 ? r : 0;
}

int history_store_expire(HistoryStore *s, int64_t older_than_ms) {
        DbValue p[] = { DB_INTV(older_than_ms) };
        int r, n = 0;

        r = db_begin(s->db);
        if (r < 0)
                return r;
        /* Reps explicitly too: SQLite enforces ON DELETE CASCADE only with foreign_keys on. */
        r = db_exec(s->db, "DELETE FROM reps WHERE session_id IN (SELECT id FROM sessions WHERE started_at < $1)",
                    1, p, NULL, NULL);
        if (r >= 0)
                r = n = db_exec(s->db, "DELETE FROM sessions WHERE started_at < $1", 1, p, NULL, NULL);
        if (r >= 0)
                r = db_exec(s->db, "DELETE FROM session_conflicts WHERE received_at < $1", 1, p, NULL, NULL);
        if (r < 0) {
                (void) db_rollback(s->db);
                return r;
        }
        r = db_commit(s->db);
        return r < 0 ? r : n;
}
