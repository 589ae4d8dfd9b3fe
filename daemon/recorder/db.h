/* SPDX-License-Identifier: MIT */
#pragma once

/* The SQL connection the history store runs on: SQLite (a file) or PostgreSQL (libpq). One
 * small surface, so the schema, the migrations and every query are written once, in the SQL
 * both speak, and the same test suite runs against both. Parameters are always bound ($1, $2,
 * ...), never spliced into SQL text. Rows come back as text (NULL for SQL NULL). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Db Db;

typedef enum DbType {
        DB_NULL,
        DB_TEXT,
        DB_INT,
        DB_REAL,
} DbType;

typedef struct DbValue {
        DbType type;
        const char *s;
        int64_t i;
        double d;
} DbValue;

#define DB_TEXTV(x) ((DbValue) { .type = (x) ? DB_TEXT : DB_NULL, .s = (x) })
#define DB_INTV(x) ((DbValue) { .type = DB_INT, .i = (x) })
#define DB_REALV(x) ((DbValue) { .type = DB_REAL, .d = (x) })
#define DB_NULLV ((DbValue) { .type = DB_NULL })

/* Called per result row; a negative return stops and is returned by db_exec(). */
typedef int (*DbRowFn)(size_t n_cols, const char *const *cols, void *userdata);

/* path: the database file (created if missing). */
int db_open_sqlite(Db **ret, const char *path);
/* conninfo: a libpq connection string ("host=/run/postgresql dbname=tphub"). */
int db_open_postgresql(Db **ret, const char *conninfo);
/* On failure of db_open_*: *ret is still set when the connection object exists, so that
 * db_error() can say why; free it. */
Db *db_free(Db *db);
static inline void db_freep(Db **db) {
        if (*db)
                db_free(*db);
}

const char *db_kind(const Db *db);     /* "sqlite" or "postgresql" */
/* The last error as the database said it. */
const char *db_error(const Db *db);

/* Runs one statement. Returns the number of rows returned (for a statement with RETURNING or a
 * SELECT) or changed (INSERT/UPDATE/DELETE), or a negative errno: -EEXIST for a uniqueness
 * violation, -EBUSY when the database is locked, -ECONNRESET when the server went away, -EIO
 * for anything else (db_error() says what). */
int db_exec(Db *db, const char *sql, size_t n_params, const DbValue *params, DbRowFn row, void *userdata);

/* Transactions. begin_exclusive also keeps every other connection from starting one (used for
 * migrations, so two recorders starting together do not both migrate). */
int db_begin(Db *db);
int db_begin_exclusive(Db *db);
int db_commit(Db *db);
int db_rollback(Db *db);
/* Whether the connection is usable (PostgreSQL: reconnects if it was lost). */
int db_check(Db *db);
