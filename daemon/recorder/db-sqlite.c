/* SPDX-License-Identifier: MIT */
/* SQLite: one file, WAL journal, synchronous=FULL so that a COMMIT that returned is on disk. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/db-internal.h"

static int map_error(Db *db, sqlite3 *h, int rc) {
        db_set_error(db, "%s", sqlite3_errmsg(h));
        switch (rc & 0xff) {
        case SQLITE_CONSTRAINT:
                return (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) ? -EEXIST : -EIO;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
                return -EROFS;
        default:
                return -EIO;
        }
}

static int bind(Db *db, sqlite3_stmt *st, size_t n, const DbValue *p) {
        /* SQLite numbers "$N" parameters in order of first appearance, not by N: look each up. */
        for (size_t i = 0; i < n; i++) {
                char name[24];
                int rc, k;

                snprintf(name, sizeof name, "$%zu", i + 1);
                k = sqlite3_bind_parameter_index(st, name);
                if (k == 0)
                        continue;   /* not used by this statement */
                switch (p[i].type) {
                case DB_TEXT: rc = sqlite3_bind_text(st, k, p[i].s, -1, SQLITE_STATIC); break;
                case DB_INT: rc = sqlite3_bind_int64(st, k, p[i].i); break;
                case DB_REAL: rc = sqlite3_bind_double(st, k, p[i].d); break;
                default: rc = sqlite3_bind_null(st, k); break;
                }
                if (rc != SQLITE_OK)
                        return map_error(db, db->handle, rc);
        }
        return 0;
}

static int run_one(Db *db, sqlite3_stmt *st, DbRowFn row, void *userdata) {
        sqlite3 *h = db->handle;
        int rows = 0, n_cols = sqlite3_column_count(st);
        const char *cols_small[32], **cols = cols_small;
        int rc, r = 0;

        if (n_cols > 32) {
                cols = calloc((size_t) n_cols, sizeof(char *));
                if (!cols)
                        return -ENOMEM;
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                rows++;
                if (!row)
                        continue;
                for (int i = 0; i < n_cols; i++)
                        cols[i] = (const char *) sqlite3_column_text(st, i);
                r = row((size_t) n_cols, cols, userdata);
                if (r < 0)
                        break;
        }
        if (cols != cols_small)
                free(cols);
        if (r < 0)
                return r;
        if (rc != SQLITE_DONE)
                return map_error(db, h, sqlite3_extended_errcode(h));
        return n_cols > 0 ? rows : sqlite3_changes(h);
}

static int sqlite_exec(Db *db, const char *sql, size_t n, const DbValue *params, DbRowFn row, void *userdata) {
        sqlite3 *h = db->handle;
        const char *tail = sql;
        int r = 0;

        /* Several statements are allowed without parameters (migrations). */
        while (tail && *tail) {
                sqlite3_stmt *st = NULL;
                int rc = sqlite3_prepare_v2(h, tail, -1, &st, &tail);
                if (rc != SQLITE_OK)
                        return map_error(db, h, rc);
                if (!st) /* only blanks or a comment left */
                        break;
                r = bind(db, st, n, params);
                if (r >= 0)
                        r = run_one(db, st, row, userdata);
                sqlite3_finalize(st);
                if (r < 0)
                        return r;
                if (n > 0)
                        break;
        }
        return r;
}

static int sqlite_begin_exclusive(Db *db) {
        return sqlite_exec(db, "BEGIN IMMEDIATE", 0, NULL, NULL, NULL);
}

static void sqlite_close(Db *db) {
        if (db->handle)
                sqlite3_close_v2(db->handle);
}

static const DbOps sqlite_ops = {
        .kind = "sqlite",
        .exec = sqlite_exec,
        .begin_exclusive = sqlite_begin_exclusive,
        .close = sqlite_close,
};

int db_open_sqlite(Db **ret, const char *path) {
        Db *db;
        sqlite3 *h = NULL;
        int r, rc;

        if (!ret || !path)
                return -EINVAL;
        r = db_new(&db, &sqlite_ops);
        if (r < 0)
                return r;
        *ret = db;
        rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
        db->handle = h;
        if (rc != SQLITE_OK)
                return h ? map_error(db, h, rc) : -ENOMEM;
        (void) sqlite3_extended_result_codes(h, 1);
        (void) sqlite3_busy_timeout(h, 5000);
        return sqlite_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                           0, NULL, NULL, NULL) < 0 ? -EIO : 0;
}
