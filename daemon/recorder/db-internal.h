/* SPDX-License-Identifier: MIT */
#pragma once

#include "recorder/db.h"

typedef struct DbOps {
        const char *kind;
        int (*exec)(Db *db, const char *sql, size_t n, const DbValue *params, DbRowFn row, void *userdata);
        int (*begin_exclusive)(Db *db);
        int (*check)(Db *db);
        void (*close)(Db *db);
} DbOps;

struct Db {
        const DbOps *ops;
        void *handle;
        char error[512];
};

void db_set_error(Db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int db_new(Db **ret, const DbOps *ops);
