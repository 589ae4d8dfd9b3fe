/* SPDX-License-Identifier: MIT */
/* One suite, two stores: run with TPHUB_TEST_DB_KIND=sqlite (a temp file per case) or
 * TPHUB_TEST_DB_KIND=postgresql and TPHUB_TEST_DB=<conninfo> (with-postgresql.py starts a
 * private server; every case starts from an empty schema). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doc-builder.h"
#include "recorder/history-store.h"
#include "tap.h"

static char *sqlite_path;

static const char *kind(void) {
        return getenv("TPHUB_TEST_DB_KIND") ?: "sqlite";
}

static int is_pg(void) {
        return !strcmp(kind(), "postgresql");
}

static Db *open_db(void) {
        Db *db = NULL;
        int r = is_pg() ? db_open_postgresql(&db, getenv("TPHUB_TEST_DB")) : db_open_sqlite(&db, sqlite_path);
        if (r < 0) {
                printf("# cannot open the %s database: %s\n", kind(), db ? db_error(db) : strerror(-r));
                db_free(db);
                return NULL;
        }
        return db;
}

/* An empty database for each case. */
static Db *fresh_db(void) {
        if (is_pg()) {
                Db *db = open_db();
                if (db && db_exec(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public", 0, NULL, NULL, NULL) < 0) {
                        printf("# %s\n", db_error(db));
                        db = db_free(db);
                }
                return db;
        }
        if (sqlite_path) {
                char *wal, *shm;
                unlink(sqlite_path);
                if (asprintf(&wal, "%s-wal", sqlite_path) > 0) {
                        unlink(wal);
                        free(wal);
                }
                if (asprintf(&shm, "%s-shm", sqlite_path) > 0) {
                        unlink(shm);
                        free(shm);
                }
        }
        return open_db();
}

static HistoryStore *fresh_store(void) {
        HistoryStore *s = NULL;
        char *err = NULL;
        Db *db = fresh_db();

        if (!db || history_store_open(&s, db, &err) < 0) {
                printf("# open: %s\n", err ?: "no database");
                free(err);
                return NULL;
        }
        return s;
}

static HistoryStore *reopen_store(void) {
        HistoryStore *s = NULL;
        char *err = NULL;
        Db *db = open_db();

        if (!db || history_store_open(&s, db, &err) < 0) {
                printf("# reopen: %s\n", err ?: "no database");
                free(err);
                return NULL;
        }
        return s;
}

static SessionDoc *doc(const TestSession *t) {
        char *json = test_session_json(t);
        SessionDoc *d = NULL;
        const char *err = NULL;

        if (session_doc_parse(json, strlen(json), &d, &err) < 0)
                printf("# test document refused: %s\n", err);
        free(json);
        return d;
}

static int64_t scalar(HistoryStore *s, const char *sql, size_t n, const DbValue *p);

static int scalar_row(size_t n, const char *const *cols, void *userdata) {
        *(int64_t *) userdata = cols[0] ? strtoll(cols[0], NULL, 10) : -1;
        return 0;
}

static int64_t scalar(HistoryStore *s, const char *sql, size_t n, const DbValue *p) {
        int64_t v = -999;
        if (db_exec(history_store_db(s), sql, n, p, scalar_row, &v) < 0)
                printf("# %s: %s\n", sql, db_error(history_store_db(s)));
        return v;
}

typedef struct Text {
        char *s;
} Text;

static int text_row(size_t n, const char *const *cols, void *userdata) {
        Text *t = userdata;
        free(t->s);
        t->s = cols[0] ? strdup(cols[0]) : NULL;
        return 0;
}

static char *text(HistoryStore *s, const char *sql, const char *param) {
        Text t = {};
        DbValue p[] = { DB_TEXTV(param) };
        if (db_exec(history_store_db(s), sql, param ? 1 : 0, p, text_row, &t) < 0)
                printf("# %s: %s\n", sql, db_error(history_store_db(s)));
        return t.s;
}

static TestSession session(const char *id, const char *athlete, int64_t started_ms) {
        TestSession t = {
                .id = id, .athlete = athlete, .started_ms = started_ms, .duration_ms = 300000, .n_steps = 2,
                .steps = {
                        { .point = "back-01", .side = "right", .target_hold_ms = 7000, .n_reps = 2,
                          .reps = { { "completed", 8000, 2900, 60.5, 64.0, -1 }, { "not_released", 7000, -1, 55, 58, -1 } } },
                        { .point = "ppt-01", .side = "left", .kind = "measure", .n_reps = 1,
                          .reps = { { "completed", -1, -1, -1, 47.0, 44.25 } } },
                },
        };
        return t;
}

#define ID1 "00000000000000000000000000000001"
#define ID2 "00000000000000000000000000000002"
#define ID3 "00000000000000000000000000000003"
#define T0 1795000000000LL   /* 2026-11-18T... */

static void test_migrations(void) {
        HistoryStore *s = fresh_store();
        CHECK(s);
        CHECK_EQ(history_store_schema_version(s), HISTORY_SCHEMA_VERSION);
        CHECK_EQ(scalar(s, "SELECT COUNT(*) FROM schema_migrations", 0, NULL), HISTORY_SCHEMA_VERSION);
        history_store_free(s);

        /* Opening again applies nothing twice. */
        s = reopen_store();
        CHECK(s);
        CHECK_EQ(scalar(s, "SELECT COUNT(*) FROM schema_migrations", 0, NULL), HISTORY_SCHEMA_VERSION);
        /* A database written by a newer recorder is refused, not touched. */
        DbValue p[] = { DB_INTV(HISTORY_SCHEMA_VERSION + 1), DB_INTV(0) };
        CHECK(db_exec(history_store_db(s), "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                      2, p, NULL, NULL) == 1);
        history_store_free(s);
        Db *db = open_db();
        char *err = NULL;
        s = NULL;
        CHECK_EQ(history_store_open(&s, db, &err), -EPROTO);
        CHECK(err && strstr(err, "newer than this recorder"));
        free(err);
}

static void test_once_by_id(void) {
        HistoryStore *s = fresh_store();
        TestSession t = session(ID1, "anna", T0);
        SessionDoc *d = doc(&t);
        CHECK(s && d);

        /* The same session delivered 3 times, in three batches. */
        for (int i = 0; i < 3; i++) {
                CHECK_EQ(history_store_begin(s), 0);
                CHECK_EQ(history_store_insert(s, d, T0 + 1000), i == 0 ? 0 : 1);
                CHECK_EQ(history_store_commit(s), 0);
        }
        /* ... and twice in one. */
        CHECK_EQ(history_store_begin(s), 0);
        CHECK_EQ(history_store_insert(s, d, T0 + 2000), 1);
        CHECK_EQ(history_store_insert(s, d, T0 + 2000), 1);
        CHECK_EQ(history_store_commit(s), 0);
        CHECK_EQ(history_store_count(s), 1);
        CHECK_EQ(history_store_has(s, ID1), 1);
        CHECK_EQ(history_store_has(s, ID2), 0);
        /* Reps: one row per rep of the document (2 + 1). */
        CHECK_EQ(scalar(s, "SELECT COUNT(*) FROM reps", 0, NULL), 3);
        CHECK_EQ(scalar(s, "SELECT received_at FROM sessions", 0, NULL), T0 + 1000);
        session_doc_free(d);
        history_store_free(s);
}

static void test_conflict_refused(void) {
        HistoryStore *s = fresh_store();
        TestSession t = session(ID1, "anna", T0), other = t;
        other.status = "interrupted";
        SessionDoc *d = doc(&t), *o = doc(&other);
        char *stored;
        CHECK(s && d && o);

        CHECK_EQ(history_store_begin(s), 0);
        CHECK_EQ(history_store_insert(s, d, T0), 0);
        CHECK_EQ(history_store_commit(s), 0);
        for (int i = 0; i < 2; i++) {
                CHECK_EQ(history_store_begin(s), 0);
                CHECK_EQ(history_store_insert(s, o, T0 + 5), -EEXIST);
                CHECK_EQ(history_store_commit(s), 0);
        }
        /* The first document stays, byte for byte; the other is kept once, aside. */
        stored = text(s, "SELECT document FROM sessions WHERE id = $1", ID1);
        CHECK_STR(stored, d->canonical);
        free(stored);
        CHECK_EQ(scalar(s, "SELECT COUNT(*) FROM sessions", 0, NULL), 1);
        CHECK_EQ(scalar(s, "SELECT COUNT(*) FROM session_conflicts", 0, NULL), 1);
        stored = text(s, "SELECT document FROM session_conflicts WHERE id = $1", ID1);
        CHECK_STR(stored, o->canonical);
        free(stored);
        stored = text(s, "SELECT status FROM sessions WHERE id = $1", ID1);
        CHECK_STR(stored, "completed");
        free(stored);
        session_doc_free(d);
        session_doc_free(o);
        history_store_free(s);
}

static void test_columns(void) {
        HistoryStore *s = fresh_store();
        TestSession t = session(ID2, NULL, T0 + 123);
        t.station = "bench-2";
        SessionDoc *d = doc(&t);
        char *v;
        CHECK(s && d);

        CHECK_EQ(history_store_begin(s), 0);
        CHECK_EQ(history_store_insert(s, d, T0), 0);
        CHECK_EQ(history_store_commit(s), 0);
        CHECK_EQ(scalar(s, "SELECT started_at FROM sessions", 0, NULL), t.started_ms);
        CHECK_EQ(scalar(s, "SELECT ended_at FROM sessions", 0, NULL), t.started_ms + t.duration_ms);
        CHECK_EQ(scalar(s, "SELECT duration_ms FROM sessions", 0, NULL), t.duration_ms);
        CHECK_EQ(scalar(s, "SELECT COUNT(*) FROM sessions WHERE athlete IS NULL", 0, NULL), 1);
        v = text(s, "SELECT hub || '/' || station || '/' || protocol || '/' || status FROM sessions", NULL);
        CHECK_STR(v, "gym-north/bench-2/back-12/completed");
        free(v);
        /* Per rep, as in the document. */
        DbValue p[] = { DB_TEXTV(ID2) };
        CHECK_EQ(scalar(s, "SELECT hold_ms FROM reps WHERE session_id = $1 AND step = 0 AND rep = 0", 1, p),
                 t.steps[0].reps[0].hold_ms);
        CHECK_EQ(scalar(s, "SELECT release_ms FROM reps WHERE session_id = $1 AND step = 0 AND rep = 0", 1, p),
                 t.steps[0].reps[0].release_ms);
        CHECK_EQ(scalar(s, "SELECT COUNT(*) FROM reps WHERE session_id = $1 AND step = 0 AND rep = 1"
                           " AND release_ms IS NULL AND outcome = 'not_released'", 1, p), 1);
        CHECK_EQ(scalar(s, "SELECT target_hold_ms FROM reps WHERE session_id = $1 AND step = 0 AND rep = 1", 1, p),
                 t.steps[0].target_hold_ms);
        CHECK_EQ(scalar(s, "SELECT CAST(force_mean_n * 100 AS INTEGER) FROM reps WHERE step = 0 AND rep = 0", 0, NULL),
                 (int64_t) (t.steps[0].reps[0].force_mean_n * 100));
        CHECK_EQ(scalar(s, "SELECT CAST(threshold_n * 100 AS INTEGER) FROM reps WHERE step = 1", 0, NULL),
                 (int64_t) (t.steps[1].reps[0].threshold_n * 100));
        v = text(s, "SELECT point || ':' || side || ':' || kind FROM reps WHERE step = 1", NULL);
        CHECK_STR(v, "ppt-01:left:measure");
        free(v);
        CHECK_EQ(scalar(s, "SELECT COUNT(*) FROM reps WHERE step = 1 AND hold_ms IS NULL AND force_mean_n IS NULL",
                        0, NULL), 1);
        session_doc_free(d);
        history_store_free(s);
}

static void test_free_text_is_data(void) {
        HistoryStore *s = fresh_store();
        TestSession t = session(ID3, "bob", T0);
        const char *label = "Robert'); DROP TABLE sessions; -- \"quoted\" $1 ? %s";
        t.steps[0].label = label;
        SessionDoc *d = doc(&t);
        char *v;
        CHECK(s && d);

        CHECK_EQ(history_store_begin(s), 0);
        CHECK_EQ(history_store_insert(s, d, T0), 0);
        CHECK_EQ(history_store_commit(s), 0);
        /* Bound, never spliced: the label is stored as text and every table is still there. */
        v = text(s, "SELECT document FROM sessions WHERE id = $1", ID3);
        CHECK(v && strstr(v, "Robert'); DROP TABLE sessions; -- \\\"quoted\\\" $1 ? %s"));
        free(v);
        CHECK_EQ(history_store_count(s), 1);
        CHECK_EQ(scalar(s, "SELECT COUNT(*) FROM reps", 0, NULL), 3);
        session_doc_free(d);
        history_store_free(s);
}

static void test_retention(void) {
        HistoryStore *s = fresh_store();
        const int64_t day = 86400000LL;
        char id[33];
        CHECK(s);

        CHECK_EQ(history_store_begin(s), 0);
        for (int i = 0; i < 10; i++) {
                snprintf(id, sizeof id, "%032x", i + 16);
                TestSession t = session(id, "anna", T0 + i * day);
                SessionDoc *d = doc(&t);
                CHECK(d);
                CHECK_EQ(history_store_insert(s, d, T0), 0);
                session_doc_free(d);
        }
        CHECK_EQ(history_store_commit(s), 0);
        /* Older than day 4: days 0..3 go, with their reps. */
        CHECK_EQ(history_store_expire(s, T0 + 4 * day), 4);
        CHECK_EQ(history_store_count(s), 6);
        CHECK_EQ(scalar(s, "SELECT COUNT(*) FROM reps", 0, NULL), 6 * 3);
        CHECK_EQ(scalar(s, "SELECT MIN(started_at) FROM sessions", 0, NULL), T0 + 4 * day);
        CHECK_EQ(history_store_expire(s, T0 + 4 * day), 0);
        history_store_free(s);
}

typedef struct HubSeen {
        int n;
        char hub[64], station[64];
        int64_t mark;
} HubSeen;

static int hub_cb(const char *hub, const char *station, int64_t mark, void *userdata) {
        HubSeen *h = userdata;
        h->n++;
        snprintf(h->hub, sizeof h->hub, "%s", hub);
        snprintf(h->station, sizeof h->station, "%s", station);
        h->mark = mark;
        return 0;
}

static void test_hubs(void) {
        HistoryStore *s = fresh_store();
        TestSession t = session(ID1, "anna", T0);
        SessionDoc *d = doc(&t);
        HubSeen h = {};
        CHECK(s && d);

        CHECK_EQ(history_store_begin(s), 0);
        CHECK_EQ(history_store_insert(s, d, T0), 0);
        CHECK_EQ(history_store_commit(s), 0);
        CHECK(history_store_hubs(s, hub_cb, &h) >= 0);
        CHECK_EQ(h.n, 1);
        CHECK_STR(h.hub, "gym-north");
        CHECK_STR(h.station, "bench-1");
        CHECK_EQ(history_store_hub_seen(s, "gym-north", "bench-9"), 0);   /* the latest station counts */
        h = (HubSeen) {};
        CHECK(history_store_hubs(s, hub_cb, &h) >= 0);
        CHECK_EQ(h.n, 1);
        CHECK_STR(h.station, "bench-9");
        CHECK_EQ(h.mark, 0);
        CHECK_EQ(history_store_set_reconciled(s, "gym-north", T0), 0);
        CHECK_EQ(history_store_set_reconciled(s, "gym-north", T0 - 5), 0);   /* never backwards */
        h = (HubSeen) {};
        CHECK(history_store_hubs(s, hub_cb, &h) >= 0);
        CHECK_EQ(h.mark, T0);
        session_doc_free(d);
        history_store_free(s);
}


static json_object *ask(HistoryStore *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_object *ask(HistoryStore *s, const char *fmt, ...) {
        char *req = NULL, *reply = NULL;
        va_list ap;
        json_object *o;

        va_start(ap, fmt);
        if (vasprintf(&req, fmt, ap) < 0)
                abort();
        va_end(ap);
        if (history_query(s, req, strlen(req), &reply) < 0)
                abort();
        o = json_tokener_parse(reply);
        if (!o)
                printf("# reply not JSON: %s\n", reply);
        free(req);
        free(reply);
        return o;
}

static const char *jstr(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static json_object *jget(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void store_all(HistoryStore *s, TestSession *t, size_t n) {
        history_store_begin(s);
        for (size_t i = 0; i < n; i++) {
                SessionDoc *d = doc(&t[i]);
                if (!d || history_store_insert(s, d, T0) != 0)
                        printf("# insert %zu failed\n", i);
                session_doc_free(d);
        }
        history_store_commit(s);
}

#define DAY 86400000LL

static void test_query_sessions_paged(void) {
        HistoryStore *s = fresh_store();
        static const int days[] = { 0, 1, 2, 8, 9 };
        char ids[6][33];
        TestSession t[6];
        json_object *r;
        char iso[32], iso2[32];
        CHECK(s);

        for (int i = 0; i < 6; i++) {
                snprintf(ids[i], 33, "%032x", 0x100 + i);
                t[i] = session(ids[i], i < 5 ? "anna" : "bob", T0 + (i < 5 ? days[i] : 3) * DAY);
        }
        store_all(s, t, 6);
        /* Pages of 2 in start order: [0 1] [2 3] [4], cursors chaining them. */
        const char *cursor = NULL;
        char *saved = NULL;
        int seen = 0;
        for (int page = 0; page < 3; page++) {
                r = saved ? ask(s, "{\"query\":\"sessions\",\"athlete\":\"anna\",\"limit\":2,\"cursor\":\"%s\"}", saved)
                          : ask(s, "{\"query\":\"sessions\",\"athlete\":\"anna\",\"limit\":2}");
                CHECK(r && json_object_get_boolean(jget(r, "ok")));
                json_object *items = jget(r, "items");
                for (size_t k = 0; k < json_object_array_length(items); k++) {
                        json_object *it = json_object_array_get_idx(items, k);
                        CHECK_STR(jstr(it, "id"), ids[seen]);
                        test_iso(iso, sizeof iso, t[seen].started_ms);
                        CHECK_STR(jstr(it, "started_at"), iso);
                        CHECK_EQ(json_object_get_int(jget(it, "reps")), 3);
                        CHECK_EQ(json_object_get_int(jget(it, "completed")), 2);
                        seen++;
                }
                cursor = jstr(r, "next");
                free(saved);
                saved = cursor ? strdup(cursor) : NULL;
                CHECK_EQ(!!saved, page < 2);
                json_object_put(r);
        }
        CHECK_EQ(seen, 5);
        /* A date range: days 1..8 inclusive of the start, exclusive of the end. */
        test_iso(iso, sizeof iso, T0 + 1 * DAY);
        test_iso(iso2, sizeof iso2, T0 + 8 * DAY);
        r = ask(s, "{\"query\":\"sessions\",\"athlete\":\"anna\",\"from\":\"%s\",\"to\":\"%s\"}", iso, iso2);
        CHECK_EQ(json_object_array_length(jget(r, "items")), 2);
        CHECK_STR(jstr(json_object_array_get_idx(jget(r, "items"), 0), "id"), ids[1]);
        CHECK(jget(r, "next") == NULL);
        json_object_put(r);
        /* One session: the whole document. */
        r = ask(s, "{\"query\":\"session\",\"id\":\"%s\"}", ids[5]);
        json_object *d = json_object_array_get_idx(jget(r, "items"), 0);
        CHECK_STR(jstr(d, "athlete"), "bob");
        CHECK_EQ(json_object_array_length(jget(d, "steps")), 2);
        json_object_put(r);
        /* Refusals. */
        r = ask(s, "{\"query\":\"sessions\"}");
        CHECK_STR(jstr(r, "error"), "this query needs \"athlete\"");
        json_object_put(r);
        r = ask(s, "{\"query\":\"sessions\",\"athlete\":\"x' OR 1=1 --\"}");
        CHECK_STR(jstr(r, "error"), "\"athlete\" must be 1-64 characters of [A-Za-z0-9_.-]");
        json_object_put(r);
        r = ask(s, "{\"query\":\"drop\",\"athlete\":\"anna\"}");
        CHECK_STR(jstr(r, "error"), "unknown query");
        json_object_put(r);
        r = ask(s, "{\"query\":\"sessions\",\"athlete\":\"anna\",\"limit\":501}");
        CHECK_STR(jstr(r, "error"), "\"limit\" must be an integer 1-500");
        json_object_put(r);
        r = ask(s, "{\"query\":\"sessions\",\"athlete\":\"anna\",\"cursor\":\"5.x\"}");
        CHECK_STR(jstr(r, "error"), "\"cursor\" is not one this recorder gave");
        json_object_put(r);
        history_store_free(s);
}

/* documents: whole documents of an athlete in start order, paged by count and by size. */
static void test_query_documents_paged(void) {
        HistoryStore *s = fresh_store();
        enum { N = 100 };
        static char ids[N + 1][33], label[513];
        static TestSession t[N + 1];
        size_t len[N + 1];
        json_object *r;
        CHECK(s);

        memset(label, 'x', 512);
        for (int i = 0; i <= N; i++) {
                snprintf(ids[i], 33, "%032x", 0x500 + i);
                t[i] = session(ids[i], i < N ? "cara" : "dan", T0 + (int64_t) (N - i) * DAY);
                /* about 14 KB each: 100 of them pass the 1 MiB a page may hold */
                t[i].n_steps = 8;
                for (int k = 0; k < 8; k++)
                        t[i].steps[k] = (TestStep) { .point = "back-01", .side = "right", .label = label,
                                                     .target_hold_ms = 7000, .n_reps = 4,
                                                     .reps = { { "completed", 8000 + k, 2900, 60.5, 64.0, -1 },
                                                               { "completed", 8100, 2800, 61, 65, -1 },
                                                               { "skipped", -1, -1, -1, -1, -1 },
                                                               { "completed", 7000, 3100, 55, 58, -1 } } };
                char *json = test_session_json(&t[i]);
                len[i] = strlen(json);
                free(json);
        }
        store_all(s, t, N + 1);
        /* Start order is the reverse of the ids' order here. */
        size_t fit = 0, bytes = 0;
        while (fit < N && bytes + len[N - 1 - fit] <= (1 << 20))
                bytes += len[N - 1 - fit++];
        CHECK(fit > 1 && fit < N);

        char *saved = NULL;
        size_t seen = 0;
        for (int page = 0; page < 2; page++) {
                r = saved ? ask(s, "{\"query\":\"documents\",\"athlete\":\"cara\",\"limit\":100,\"cursor\":\"%s\"}", saved)
                          : ask(s, "{\"query\":\"documents\",\"athlete\":\"cara\",\"limit\":100}");
                CHECK(r && json_object_get_boolean(jget(r, "ok")));
                json_object *items = jget(r, "items");
                CHECK_EQ(json_object_array_length(items), page == 0 ? fit : N - fit);
                for (size_t k = 0; k < json_object_array_length(items); k++) {
                        const TestSession *want = &t[N - 1 - seen];
                        char *json = test_session_json(want);
                        CHECK_STR(json_object_to_json_string_ext(json_object_array_get_idx(items, k),
                                                                 JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), json);
                        free(json);
                        seen++;
                }
                free(saved);
                saved = jstr(r, "next") ? strdup(jstr(r, "next")) : NULL;
                CHECK_EQ(!!saved, page == 0);
                json_object_put(r);
        }
        free(saved);
        CHECK_EQ(seen, (size_t) N);
        /* By count: pages of 30 (30 x 14 KB fit), the last one short. */
        saved = NULL;
        seen = 0;
        for (int page = 0; page < 4; page++) {
                r = saved ? ask(s, "{\"query\":\"documents\",\"athlete\":\"cara\",\"limit\":30,\"cursor\":\"%s\"}", saved)
                          : ask(s, "{\"query\":\"documents\",\"athlete\":\"cara\",\"limit\":30}");
                json_object *items = jget(r, "items");
                CHECK_EQ(json_object_array_length(items), page < 3 ? 30u : 10u);
                for (size_t k = 0; k < json_object_array_length(items); k++, seen++)
                        CHECK_STR(jstr(json_object_array_get_idx(items, k), "id"), ids[N - 1 - seen]);
                free(saved);
                saved = jstr(r, "next") ? strdup(jstr(r, "next")) : NULL;
                CHECK_EQ(!!saved, page < 3);
                json_object_put(r);
        }
        free(saved);
        /* The default page is 20; the other athlete's session is never among them. */
        r = ask(s, "{\"query\":\"documents\",\"athlete\":\"cara\"}");
        CHECK_EQ(json_object_array_length(jget(r, "items")), 20u);
        json_object_put(r);
        r = ask(s, "{\"query\":\"documents\",\"athlete\":\"dan\"}");
        CHECK_EQ(json_object_array_length(jget(r, "items")), 1u);
        CHECK_STR(jstr(json_object_array_get_idx(jget(r, "items"), 0), "id"), ids[N]);
        CHECK(jget(r, "next") == NULL);
        json_object_put(r);
        r = ask(s, "{\"query\":\"documents\",\"athlete\":\"cara\",\"limit\":101}");
        CHECK_STR(jstr(r, "error"), "\"limit\" must be an integer 1-100 for \"documents\"");
        json_object_put(r);
        r = ask(s, "{\"query\":\"documents\"}");
        CHECK_STR(jstr(r, "error"), "this query needs \"athlete\"");
        json_object_put(r);
        history_store_free(s);
}

static void test_query_trends_ppt_adherence(void) {
        HistoryStore *s = fresh_store();
        const int64_t H = 3600000LL;
        /* A PPT measurement, a treatment 10 min after it ended, a PPT 20 min after that. */
        TestSession t[4] = {
                { .id = "00000000000000000000000000000a01", .athlete = "anna", .protocol = "ppt", .started_ms = T0,
                  .duration_ms = 5 * 60000, .n_steps = 1,
                  .steps = { { .point = "ppt-01", .side = "left", .kind = "measure", .n_reps = 3,
                               .reps = { { "completed", -1, -1, -1, 45, 40.0 }, { "completed", -1, -1, -1, 46, 42.0 },
                                         { "skipped", -1, -1, -1, -1, 99.0 } } } } },
                { .id = "00000000000000000000000000000a02", .athlete = "anna", .started_ms = T0 + 15 * 60000,
                  .duration_ms = 10 * 60000, .n_steps = 1,
                  .steps = { { .point = "back-01", .side = "right", .target_hold_ms = 7000, .n_reps = 2,
                               .reps = { { "completed", 8000, 3000, 60, 64, -1 }, { "completed", 9000, 2000, 70, 75, -1 } } } } },
                { .id = "00000000000000000000000000000a03", .athlete = "anna", .protocol = "ppt",
                  .started_ms = T0 + 45 * 60000, .duration_ms = 5 * 60000, .n_steps = 1,
                  .steps = { { .point = "ppt-01", .side = "left", .kind = "measure", .n_reps = 2,
                               .reps = { { "completed", -1, -1, -1, 55, 50.0 }, { "completed", -1, -1, -1, 56, 53.0 } } } } },
                /* a week later: a second treatment with no PPT around it */
                { .id = "00000000000000000000000000000a04", .athlete = "anna", .status = "aborted",
                  .started_ms = T0 + 7 * DAY + 5 * H, .duration_ms = 30 * 60000, .n_steps = 1,
                  .steps = { { .point = "back-01", .side = "right", .target_hold_ms = 7000, .n_reps = 1,
                               .reps = { { "completed", 7000, 2500, 50, 55, -1 } } } } },
        };
        json_object *r, *items, *it;
        CHECK(s);
        store_all(s, t, 4);

        /* Trends of back-01: one row per session, means over its reps. */
        r = ask(s, "{\"query\":\"trends\",\"athlete\":\"anna\",\"point\":\"back-01\"}");
        items = jget(r, "items");
        CHECK_EQ(json_object_array_length(items), 2);
        it = json_object_array_get_idx(items, 0);
        CHECK_STR(jstr(it, "session"), t[1].id);
        CHECK_STR(jstr(it, "side"), "right");
        CHECK_EQ(json_object_get_int(jget(it, "reps")), 2);
        CHECK_NEAR(json_object_get_double(jget(it, "hold_ms_mean")), (8000 + 9000) / 2.0, 1e-6);
        CHECK_NEAR(json_object_get_double(jget(it, "release_ms_mean")), (3000 + 2000) / 2.0, 1e-6);
        CHECK_NEAR(json_object_get_double(jget(it, "force_mean_n")), (60 + 70) / 2.0, 1e-6);
        CHECK_NEAR(json_object_get_double(jget(it, "force_peak_n")), 75, 1e-6);
        json_object_put(r);
        /* Every point: the two PPT sessions' ppt-01 rows and the two treatments' back-01 rows. */
        r = ask(s, "{\"query\":\"trends\",\"athlete\":\"anna\"}");
        items = jget(r, "items");
        CHECK_EQ(json_object_array_length(items), 4);
        CHECK_STR(jstr(json_object_array_get_idx(items, 0), "point"), "ppt-01");
        CHECK_NEAR(json_object_get_double(jget(json_object_array_get_idx(items, 0), "threshold_n")), (40.0 + 42.0) / 2, 1e-6);
        json_object_put(r);

        /* PPT pairs: before = mean of the completed trials (40, 42), after = (50, 53). */
        r = ask(s, "{\"query\":\"ppt\",\"athlete\":\"anna\"}");
        items = jget(r, "items");
        CHECK_EQ(json_object_array_length(items), 1);
        it = json_object_array_get_idx(items, 0);
        CHECK_STR(jstr(it, "treatment"), t[1].id);
        CHECK_STR(jstr(it, "point"), "ppt-01");
        CHECK_NEAR(json_object_get_double(jget(it, "before_n")), (40.0 + 42.0) / 2, 1e-6);
        CHECK_NEAR(json_object_get_double(jget(it, "after_n")), (50.0 + 53.0) / 2, 1e-6);
        CHECK_NEAR(json_object_get_double(jget(it, "change_n")), (50.0 + 53.0) / 2 - (40.0 + 42.0) / 2, 1e-6);
        json_object_put(r);

        /* Adherence: weeks start on Monday 00:00 UTC; 1970-01-05 was a Monday. */
        r = ask(s, "{\"query\":\"adherence\",\"athlete\":\"anna\"}");
        items = jget(r, "items");
        int64_t monday = 4 * DAY, week = 7 * DAY;
        int64_t w0 = T0 - ((T0 - monday) % week), w1 = (T0 + 7 * DAY + 5 * H) - ((T0 + 7 * DAY + 5 * H - monday) % week);
        char want[32];
        CHECK_EQ(json_object_array_length(items), w0 == w1 ? 1 : 2);
        it = json_object_array_get_idx(items, 0);
        test_iso(want, sizeof want, w0);
        want[10] = 0;
        CHECK_STR(jstr(it, "week_start"), want);
        CHECK_EQ(json_object_get_int(jget(it, "sessions")), w0 == w1 ? 4 : 3);
        CHECK_EQ(json_object_get_int(jget(it, "completed")), w0 == w1 ? 3 : 3);
        CHECK_NEAR(json_object_get_double(jget(it, "minutes")), (5 + 10 + 5), 1e-6);
        it = json_object_array_get_idx(items, 1);
        test_iso(want, sizeof want, w1);
        want[10] = 0;
        CHECK_STR(jstr(it, "week_start"), want);
        CHECK_EQ(json_object_get_int(jget(it, "completed")), 0);
        json_object_put(r);
        history_store_free(s);
}

static const TapCase cases[] = {
        { "migrations", test_migrations },
        { "stored-once-by-id", test_once_by_id },
        { "conflict-refused-and-kept-aside", test_conflict_refused },
        { "history-columns", test_columns },
        { "free-text-is-data", test_free_text_is_data },
        { "retention", test_retention },
        { "hubs-and-reconcile-mark", test_hubs },
        { "query-sessions-paged", test_query_sessions_paged },
        { "query-documents-paged", test_query_documents_paged },
        { "query-trends-ppt-adherence", test_query_trends_ppt_adherence },
};

int main(int argc, char **argv) {
        char dir[] = "/tmp/tphub-store-XXXXXX";
        int r;

        if (!is_pg()) {
                if (!mkdtemp(dir) || asprintf(&sqlite_path, "%s/recorder.db", dir) < 0)
                        return 1;
        } else if (!getenv("TPHUB_TEST_DB")) {
                printf("1..0 # SKIP TPHUB_TEST_DB not set\n");
                return 77;
        }
        printf("# store: %s\n", kind());
        r = tap_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
        if (sqlite_path) {
                char cmd[128];
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
                (void) !system(cmd);
                free(sqlite_path);
        }
        return r;
}
