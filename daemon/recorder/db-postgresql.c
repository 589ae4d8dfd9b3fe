/* SPDX-License-Identifier: MIT */
/* PostgreSQL through libpq, synchronous calls on one connection. */
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/db-internal.h"

#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701
#define MIGRATION_LOCK_KEY 7405   /* any constant; the advisory lock of the migrations */

static void trim(char *s) {
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = 0;
}

static int map_result(Db *db, PGresult *res) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

        db_set_error(db, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(db->handle));
        trim(db->error);
        if (PQstatus(db->handle) != CONNECTION_OK)
                return -ECONNRESET;
        if (!state)
                return -EIO;
        if (!strcmp(state, "23505"))
                return -EEXIST;
        if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
                return -EBUSY;
        if (!strcmp(state, "53100"))
                return -ENOSPC;
        return -EIO;
}

static int pg_exec(Db *db, const char *sql, size_t n, const DbValue *params, DbRowFn row, void *userdata) {
        char nums[16][32];
        const char *values_small[16], **values = values_small;
        unsigned oids_small[16], *oids = oids_small;
        char (*buf)[32] = nums;
        PGresult *res;
        int r = 0;

        if (n > 16) {
                values = calloc(n, sizeof(*values));
                oids = calloc(n, sizeof(*oids));
                buf = calloc(n, sizeof(*buf));
                if (!values || !oids || !buf) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        for (size_t i = 0; i < n; i++)
                switch (params[i].type) {
                case DB_TEXT: values[i] = params[i].s; oids[i] = OID_TEXT; break;
                case DB_INT:
                        snprintf(buf[i], sizeof buf[i], "%lld", (long long) params[i].i);
                        values[i] = buf[i];
                        oids[i] = OID_INT8;
                        break;
                case DB_REAL:
                        snprintf(buf[i], sizeof buf[i], "%.17g", params[i].d);
                        values[i] = buf[i];
                        oids[i] = OID_FLOAT8;
                        break;
                default: values[i] = NULL; oids[i] = 0; break;
                }
        /* Without parameters PQexec allows several statements (migrations). */
        res = n == 0 ? PQexec(db->handle, sql)
                     : PQexecParams(db->handle, sql, (int) n, oids, values, NULL, NULL, 0);
        switch (res ? PQresultStatus(res) : PGRES_FATAL_ERROR) {
        case PGRES_TUPLES_OK: {
                int rows = PQntuples(res), cols = PQnfields(res);
                const char *small[32], **c = small;
                if (cols > 32 && !(c = calloc((size_t) cols, sizeof(char *)))) {
                        r = -ENOMEM;
                        break;
                }
                for (int i = 0; row && i < rows && r >= 0; i++) {
                        for (int j = 0; j < cols; j++)
                                c[j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
                        r = row((size_t) cols, c, userdata);
                }
                if (c != small)
                        free(c);
                if (r >= 0)
                        r = rows;
                break;
        }
        case PGRES_COMMAND_OK:
                r = atoi(PQcmdTuples(res));
                break;
        default:
                r = map_result(db, res);
        }
        PQclear(res);
finish:
        if (values != values_small) {
                free(values);
                free(oids);
                free(buf);
        }
        return r;
}

static int pg_begin_exclusive(Db *db) {
        char sql[80];

        snprintf(sql, sizeof sql, "BEGIN; SELECT pg_advisory_xact_lock(%d)", MIGRATION_LOCK_KEY);
        return pg_exec(db, sql, 0, NULL, NULL, NULL) < 0 ? -EIO : 0;
}

static int pg_check(Db *db) {
        if (PQstatus(db->handle) == CONNECTION_OK)
                return 0;
        PQreset(db->handle);
        if (PQstatus(db->handle) == CONNECTION_OK)
                return 0;
        db_set_error(db, "%s", PQerrorMessage(db->handle));
        trim(db->error);
        return -ECONNRESET;
}

static void pg_close(Db *db) {
        if (db->handle)
                PQfinish(db->handle);
}

/* The server's NOTICEs ("relation already exists, skipping") are not errors. */
static void ignore_notice(void *arg, const char *message) {
}

static const DbOps pg_ops = {
        .kind = "postgresql",
        .exec = pg_exec,
        .begin_exclusive = pg_begin_exclusive,
        .check = pg_check,
        .close = pg_close,
};

int db_open_postgresql(Db **ret, const char *conninfo) {
        Db *db;
        int r;

        if (!ret || !conninfo)
                return -EINVAL;
        r = db_new(&db, &pg_ops);
        if (r < 0)
                return r;
        *ret = db;
        db->handle = PQconnectdb(conninfo);
        if (!db->handle)
                return -ENOMEM;
        if (PQstatus(db->handle) != CONNECTION_OK) {
                db_set_error(db, "%s", PQerrorMessage(db->handle));
                trim(db->error);
                return -ECONNREFUSED;
        }
        PQsetNoticeProcessor(db->handle, ignore_notice, NULL);
        return 0;
}
