/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "recorder/db-internal.h"

int db_new(Db **ret, const DbOps *ops) {
        Db *db = calloc(1, sizeof(*db));

        if (!db)
                return -ENOMEM;
        db->ops = ops;
        *ret = db;
        return 0;
}

void db_set_error(Db *db, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(db->error, sizeof db->error, fmt, ap);
        va_end(ap);
}

Db *db_free(Db *db) {
        if (!db)
                return NULL;
        if (db->ops->close)
                db->ops->close(db);
        free(db);
        return NULL;
}

const char *db_kind(const Db *db) {
        return db->ops->kind;
}

const char *db_error(const Db *db) {
        return db->error[0] ? db->error : "no error";
}

int db_exec(Db *db, const char *sql, size_t n_params, const DbValue *params, DbRowFn row, void *userdata) {
        if (!db || !sql || (n_params && !params))
                return -EINVAL;
        return db->ops->exec(db, sql, n_params, params, row, userdata);
}

int db_begin(Db *db) {
        int r = db_exec(db, "BEGIN", 0, NULL, NULL, NULL);
        return r < 0 ? r : 0;
}

int db_begin_exclusive(Db *db) {
        return db->ops->begin_exclusive(db);
}

int db_commit(Db *db) {
        int r = db_exec(db, "COMMIT", 0, NULL, NULL, NULL);
        return r < 0 ? r : 0;
}

int db_rollback(Db *db) {
        int r = db_exec(db, "ROLLBACK", 0, NULL, NULL, NULL);
        return r < 0 ? r : 0;
}

int db_check(Db *db) {
        return db->ops->check ? db->ops->check(db) : 0;
}
