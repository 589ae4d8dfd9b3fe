/* SPDX-License-Identifier: MIT */
/* The history queries of docs/recorder.md, on the same SQL for both stores. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "recorder/history-store.h"
#include "shared/iso8601.h"
#include "shared/macro.h"
#include "shared/session-id.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

#define QUERY_MAX_BYTES 4096
#define PAGE_DEFAULT 50
#define PAGE_MAX 500
#define DOCS_PAGE_DEFAULT 20
#define DOCS_PAGE_MAX 100
#define DOCS_PAGE_BYTES (1 << 20)    /* a documents page stops before its documents would pass this */
#define SCAN_MAX 20000               /* sessions an aggregate (ppt, adherence) looks at */
#define PPT_WINDOW_MS (2 * 3600 * 1000)
#define WEEK_MS (7LL * 86400 * 1000)
#define MONDAY_0_MS (4LL * 86400 * 1000)   /* 1970-01-05, a Monday */

typedef struct Query {
        const char *query, *athlete, *id, *point, *cursor;
        int64_t from_ms, to_ms;
        unsigned limit;
        bool limit_given;
        /* keyset cursor "started_ms.id" */
        int64_t after_started;
        char after_id[33];
} Query;

static int fail(json_object **out, const char *msg) {
        *out = json_object_new_object();
        if (!*out)
                return -ENOMEM;
        json_object_object_add(*out, "ok", json_object_new_boolean(0));
        json_object_object_add(*out, "error", json_object_new_string(msg));
        return -EINVAL;
}

static const char *parse(const void *data, size_t len, json_object **ret_o, Query *q) {
        static const char *const keys[] = { "query", "athlete", "id", "point", "from", "to", "limit", "cursor", NULL };
        json_tokener *tok;
        json_object *o, *v;

        if (len == 0 || len > QUERY_MAX_BYTES)
                return "a query is 1-4096 bytes of JSON";
        if (memchr(data, 0, len))
                return "query contains a NUL byte";
        tok = json_tokener_new_ex(4);
        if (!tok)
                return "out of memory";
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, data, (int) len);
        if (!o || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
                json_tokener_free(tok);
                json_object_put(o);
                return "invalid JSON";
        }
        json_tokener_free(tok);
        *ret_o = o;
        if (!json_object_is_type(o, json_type_object))
                return "a query must be a JSON object";
        json_object_object_foreach(o, key, val) {
                size_t i;
                (void) val;
                for (i = 0; keys[i] && strcmp(keys[i], key); i++)
                        ;
                if (!keys[i])
                        return "unknown key";
        }
#define STR(k, field, check, msg)                                                               \
        do {                                                                                    \
                if (json_object_object_get_ex(o, k, &v)) {                                      \
                        if (!json_object_is_type(v, json_type_string))                          \
                                return "\"" k "\" must be a string";                            \
                        q->field = json_object_get_string(v);                                   \
                        if (strlen(q->field) != (size_t) json_object_get_string_len(v) || !(check)) \
                                return msg;                                                     \
                }                                                                               \
        } while (0)
        STR("query", query, 1, "");
        STR("athlete", athlete, session_doc_name_valid(q->athlete), "\"athlete\" must be 1-64 characters of [A-Za-z0-9_.-]");
        STR("point", point, session_doc_name_valid(q->point), "\"point\" must be 1-64 characters of [A-Za-z0-9_.-]");
        STR("id", id, session_id_valid(q->id), "\"id\" must be a session id (32 hex digits)");
        STR("cursor", cursor, strlen(q->cursor) < 60, "\"cursor\" is not one this recorder gave");
#undef STR
        q->from_ms = 0;
        q->to_ms = INT64_MAX;
        if (json_object_object_get_ex(o, "from", &v) &&
            (!json_object_is_type(v, json_type_string) || iso8601_parse_ms(json_object_get_string(v), &q->from_ms) < 0))
                return "\"from\" must be an ISO 8601 UTC time";
        if (json_object_object_get_ex(o, "to", &v) &&
            (!json_object_is_type(v, json_type_string) || iso8601_parse_ms(json_object_get_string(v), &q->to_ms) < 0))
                return "\"to\" must be an ISO 8601 UTC time";
        q->limit = PAGE_DEFAULT;
        if (json_object_object_get_ex(o, "limit", &v)) {
                int64_t l = json_object_get_int64(v);
                if (!json_object_is_type(v, json_type_int) || l < 1 || l > PAGE_MAX)
                        return "\"limit\" must be an integer 1-500";
                q->limit = (unsigned) l;
                q->limit_given = true;
        }
        if (q->cursor) {
                char *dot;
                long long st = strtoll(q->cursor, &dot, 10);
                if (*dot != '.' || !session_id_valid(dot + 1))
                        return "\"cursor\" is not one this recorder gave";
                q->after_started = st;
                memcpy(q->after_id, dot + 1, 33);
        } else
                q->after_started = INT64_MIN;
        if (!q->query)
                return "missing \"query\"";
        return NULL;
}

static void add_time(json_object *o, const char *key, const char *ms) {
        char buf[32];
        json_object_object_add(o, key, ms ? json_object_new_string(iso8601_format_ms(buf, sizeof buf, strtoll(ms, NULL, 10)))
                                          : NULL);
}

static void add_int(json_object *o, const char *key, const char *v) {
        json_object_object_add(o, key, v ? json_object_new_int64(strtoll(v, NULL, 10)) : NULL);
}

static void add_num(json_object *o, const char *key, const char *v) {
        json_object_object_add(o, key, v ? json_object_new_double(strtod(v, NULL)) : NULL);
}

static void add_str(json_object *o, const char *key, const char *v) {
        json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

/* ---- sessions: an athlete's sessions in a date range, paged ---- */

typedef struct Page {
        json_object *items;
        unsigned n;
        char last_started[24], last_id[33];
} Page;

static int session_row(size_t n, const char *const *c, void *userdata) {
        Page *p = userdata;
        json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        add_str(o, "id", c[0]);
        add_str(o, "hub", c[1]);
        add_str(o, "station", c[2]);
        add_str(o, "protocol", c[3]);
        add_str(o, "status", c[4]);
        add_time(o, "started_at", c[5]);
        add_time(o, "ended_at", c[6]);
        add_int(o, "duration_ms", c[7]);
        add_int(o, "reps", c[8]);
        add_int(o, "completed", c[9]);
        json_object_array_add(p->items, o);
        p->n++;
        snprintf(p->last_started, sizeof p->last_started, "%s", c[5]);
        snprintf(p->last_id, sizeof p->last_id, "%s", c[0]);
        return 0;
}

static void add_next(json_object *out, const Page *p, unsigned limit) {
        char cursor[64];

        if (p->n < limit) {
                json_object_object_add(out, "next", NULL);
                return;
        }
        snprintf(cursor, sizeof cursor, "%s.%s", p->last_started, p->last_id);
        json_object_object_add(out, "next", json_object_new_string(cursor));
}

static int q_sessions(HistoryStore *s, const Query *q, json_object *out) {
        Page p = { .items = json_object_new_array() };
        DbValue v[] = { DB_TEXTV(q->athlete), DB_INTV(q->from_ms), DB_INTV(q->to_ms), DB_INTV(q->after_started),
                        DB_TEXTV(q->after_id), DB_INTV(q->limit) };
        int r;

        if (!p.items)
                return -ENOMEM;
        json_object_object_add(out, "items", p.items);
        r = db_exec(history_store_db(s),
                    "SELECT s.id, s.hub, s.station, s.protocol, s.status, s.started_at, s.ended_at, s.duration_ms,"
                    " (SELECT COUNT(*) FROM reps r WHERE r.session_id = s.id),"
                    " (SELECT COUNT(*) FROM reps r WHERE r.session_id = s.id AND r.outcome = 'completed')"
                    " FROM sessions s WHERE s.athlete = $1 AND s.started_at >= $2 AND s.started_at < $3"
                    " AND (s.started_at > $4 OR (s.started_at = $4 AND s.id > $5))"
                    " ORDER BY s.started_at, s.id LIMIT $6", ELEMENTSOF(v), v, session_row, &p);
        if (r < 0)
                return r;
        add_next(out, &p, q->limit);
        return 0;
}

/* ---- session: one whole document ---- */

static int document_row(size_t n, const char *const *c, void *userdata) {
        json_object **doc = userdata;

        *doc = c[0] ? json_tokener_parse(c[0]) : NULL;
        return 0;
}

static int q_session(HistoryStore *s, const Query *q, json_object *out) {
        DbValue v[] = { DB_TEXTV(q->id) };
        json_object *doc = NULL, *items = json_object_new_array();
        int r;

        if (!items)
                return -ENOMEM;
        json_object_object_add(out, "items", items);
        r = db_exec(history_store_db(s), "SELECT document FROM sessions WHERE id = $1", 1, v, document_row, &doc);
        if (r < 0)
                return r;
        if (doc)
                json_object_array_add(items, doc);
        json_object_object_add(out, "next", NULL);
        return 0;
}

/* ---- documents: an athlete's whole session documents, paged (the dashboard's export) ---- */

typedef struct DocPage {
        Page page;
        size_t bytes;
        bool full;
} DocPage;

static int documents_row(size_t n, const char *const *c, void *userdata) {
        DocPage *d = userdata;
        size_t len = c[2] ? strlen(c[2]) : 0;
        json_object *doc;

        /* Documents are up to 1 MiB each: a page ends early rather than grow without bound. */
        if (d->page.n > 0 && d->bytes + len > DOCS_PAGE_BYTES) {
                d->full = true;
                return -ENOBUFS;
        }
        doc = c[2] ? json_tokener_parse(c[2]) : NULL;
        if (!doc)
                return -EIO;    /* stored documents were validated: this is a broken store */
        json_object_array_add(d->page.items, doc);
        d->page.n++;
        d->bytes += len;
        snprintf(d->page.last_started, sizeof d->page.last_started, "%s", c[1]);
        snprintf(d->page.last_id, sizeof d->page.last_id, "%s", c[0]);
        return 0;
}

static int q_documents(HistoryStore *s, const Query *q, json_object *out) {
        unsigned limit = q->limit_given ? q->limit : DOCS_PAGE_DEFAULT;
        DocPage d = { .page.items = json_object_new_array() };
        DbValue v[] = { DB_TEXTV(q->athlete), DB_INTV(q->from_ms), DB_INTV(q->to_ms), DB_INTV(q->after_started),
                        DB_TEXTV(q->after_id), DB_INTV(limit) };
        int r;

        if (!d.page.items)
                return -ENOMEM;
        json_object_object_add(out, "items", d.page.items);
        r = db_exec(history_store_db(s),
                    "SELECT s.id, s.started_at, s.document FROM sessions s WHERE s.athlete = $1"
                    " AND s.started_at >= $2 AND s.started_at < $3"
                    " AND (s.started_at > $4 OR (s.started_at = $4 AND s.id > $5))"
                    " ORDER BY s.started_at, s.id LIMIT $6", ELEMENTSOF(v), v, documents_row, &d);
        if (r < 0 && !(r == -ENOBUFS && d.full))
                return r;
        add_next(out, &d.page, d.full ? d.page.n : limit);
        return 0;
}

/* ---- trends: per session, point and side: the reps' hold, release and force ---- */

static int trend_row(size_t n, const char *const *c, void *userdata) {
        Page *p = userdata;
        json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        add_str(o, "session", c[0]);
        add_time(o, "started_at", c[1]);
        add_str(o, "point", c[2]);
        add_str(o, "side", c[3]);
        add_str(o, "kind", c[4]);
        add_int(o, "reps", c[5]);
        add_int(o, "completed", c[6]);
        add_num(o, "hold_ms_mean", c[7]);
        add_num(o, "release_ms_mean", c[8]);
        add_num(o, "force_mean_n", c[9]);
        add_num(o, "force_peak_n", c[10]);
        add_num(o, "threshold_n", c[11]);
        json_object_array_add(p->items, o);
        /* The cursor pages by session: a session's rows never straddle two pages. */
        snprintf(p->last_started, sizeof p->last_started, "%s", c[1]);
        snprintf(p->last_id, sizeof p->last_id, "%s", c[0]);
        return 0;
}

static int count_row(size_t n, const char *const *c, void *userdata) {
        *(unsigned *) userdata += 1;
        return 0;
}

static int q_trends(HistoryStore *s, const Query *q, json_object *out) {
        Page p = { .items = json_object_new_array() };
        DbValue v[] = { DB_TEXTV(q->athlete), DB_INTV(q->from_ms), DB_INTV(q->to_ms), DB_INTV(q->after_started),
                        DB_TEXTV(q->after_id), DB_INTV(q->limit), DB_TEXTV(q->point) };
        static const char page_sql[] =
                "SELECT s.id, s.started_at FROM sessions s WHERE s.athlete = $1 AND s.started_at >= $2"
                " AND s.started_at < $3 AND (s.started_at > $4 OR (s.started_at = $4 AND s.id > $5))"
                " AND EXISTS (SELECT 1 FROM reps r WHERE r.session_id = s.id AND (CAST($7 AS TEXT) IS NULL OR r.point = $7))"
                " ORDER BY s.started_at, s.id LIMIT $6";
        unsigned sessions = 0;
        int r;

        if (!p.items)
                return -ENOMEM;
        json_object_object_add(out, "items", p.items);
        r = db_exec(history_store_db(s), page_sql, ELEMENTSOF(v), v, count_row, &sessions);
        if (r < 0)
                return r;
        r = db_exec(history_store_db(s),
                    "SELECT s.id, s.started_at, r.point, r.side, r.kind, COUNT(*),"
                    " SUM(CASE WHEN r.outcome = 'completed' THEN 1 ELSE 0 END),"
                    " AVG(r.hold_ms), AVG(r.release_ms), AVG(r.force_mean_n), MAX(r.force_peak_n),"
                    " AVG(CASE WHEN r.outcome = 'completed' THEN r.threshold_n END)"
                    " FROM sessions s JOIN reps r ON r.session_id = s.id"
                    " WHERE s.id IN (SELECT id FROM (SELECT s.id, s.started_at FROM sessions s WHERE s.athlete = $1"
                    "   AND s.started_at >= $2 AND s.started_at < $3"
                    "   AND (s.started_at > $4 OR (s.started_at = $4 AND s.id > $5))"
                    "   AND EXISTS (SELECT 1 FROM reps r2 WHERE r2.session_id = s.id AND (CAST($7 AS TEXT) IS NULL OR r2.point = $7))"
                    "   ORDER BY s.started_at, s.id LIMIT $6) page)"
                    " AND (CAST($7 AS TEXT) IS NULL OR r.point = $7)"
                    " GROUP BY s.id, s.started_at, r.point, r.side, r.kind"
                    " ORDER BY s.started_at, s.id, MIN(r.step)", ELEMENTSOF(v), v, trend_row, &p);
        if (r < 0)
                return r;
        p.n = sessions;
        add_next(out, &p, q->limit);
        return 0;
}

/* ---- ppt: thresholds measured before and after a treatment ---- */

typedef struct Measure {
        char session[33], point[65], side[16];
        int64_t started, ended;
        double threshold;
} Measure;

typedef struct Treatment {
        char session[33], protocol[65];
        int64_t started, ended;
} Treatment;

typedef struct PptScan {
        Measure *m;
        size_t n_m;
        Treatment *t;
        size_t n_t;
        int oom;
} PptScan;

static int measure_row(size_t n, const char *const *c, void *userdata) {
        PptScan *p = userdata;
        Measure *nm, *m;

        if (!c[5])
                return 0;   /* no completed trial: nothing was measured */
        nm = realloc(p->m, (p->n_m + 1) * sizeof(*nm));
        if (!nm)
                return -ENOMEM;
        p->m = nm;
        m = &p->m[p->n_m++];
        snprintf(m->session, sizeof m->session, "%s", c[0]);
        m->started = strtoll(c[1], NULL, 10);
        m->ended = c[2] ? strtoll(c[2], NULL, 10) : m->started;
        snprintf(m->point, sizeof m->point, "%s", c[3]);
        snprintf(m->side, sizeof m->side, "%s", c[4] ?: "");
        m->threshold = strtod(c[5], NULL);
        return 0;
}

static int treatment_row(size_t n, const char *const *c, void *userdata) {
        PptScan *p = userdata;
        Treatment *nt, *t;

        nt = realloc(p->t, (p->n_t + 1) * sizeof(*nt));
        if (!nt)
                return -ENOMEM;
        p->t = nt;
        t = &p->t[p->n_t++];
        snprintf(t->session, sizeof t->session, "%s", c[0]);
        snprintf(t->protocol, sizeof t->protocol, "%s", c[1]);
        t->started = strtoll(c[2], NULL, 10);
        t->ended = c[3] ? strtoll(c[3], NULL, 10) : t->started;
        return 0;
}

static int q_ppt(HistoryStore *s, const Query *q, json_object *out) {
        DbValue v[] = { DB_TEXTV(q->athlete), DB_INTV(q->from_ms - PPT_WINDOW_MS),
                        DB_INTV(q->to_ms > INT64_MAX - PPT_WINDOW_MS ? INT64_MAX : q->to_ms + PPT_WINDOW_MS),
                        DB_INTV(SCAN_MAX), DB_INTV(q->from_ms), DB_INTV(q->to_ms) };
        json_object *items = json_object_new_array();
        PptScan p = {};
        int r;

        if (!items)
                return -ENOMEM;
        json_object_object_add(out, "items", items);
        /* A measurement: a measure step's mean threshold over its completed trials. */
        r = db_exec(history_store_db(s),
                    "SELECT s.id, s.started_at, s.ended_at, r.point, r.side,"
                    " AVG(CASE WHEN r.outcome = 'completed' THEN r.threshold_n END)"
                    " FROM sessions s JOIN reps r ON r.session_id = s.id"
                    " WHERE s.athlete = $1 AND s.started_at >= $2 AND s.started_at < $3 AND r.kind = 'measure'"
                    " GROUP BY s.id, s.started_at, s.ended_at, r.point, r.side ORDER BY s.started_at LIMIT $4",
                    4, v, measure_row, &p);
        /* A treatment: a session with at least one completed press rep. */
        if (r >= 0)
                r = db_exec(history_store_db(s),
                            "SELECT s.id, s.protocol, s.started_at, s.ended_at FROM sessions s"
                            " WHERE s.athlete = $1 AND s.started_at >= $5 AND s.started_at < $6 AND EXISTS"
                            " (SELECT 1 FROM reps r WHERE r.session_id = s.id AND r.kind = 'press'"
                            "  AND r.outcome = 'completed') ORDER BY s.started_at LIMIT $4",
                            ELEMENTSOF(v), v, treatment_row, &p);
        /* The measured points, each once (the first measurement of each names it). */
        size_t *points = calloc(p.n_m ? p.n_m : 1, sizeof(size_t)), n_points = 0;
        if (!points)
                r = -ENOMEM;
        for (size_t a = 0; r >= 0 && a < p.n_m; a++) {
                size_t k;
                for (k = 0; k < n_points && strcmp(p.m[points[k]].point, p.m[a].point); k++)
                        ;
                if (k == n_points)
                        points[n_points++] = a;
        }
        for (size_t i = 0; r >= 0 && i < p.n_t; i++) {
                const Treatment *t = &p.t[i];
                /* Per point: the last measurement that ended before the treatment began (within
                 * the window) and the first that began after it ended (within the window). */
                for (size_t pi = 0; pi < n_points; pi++) {
                        const Measure *before = NULL, *after = NULL;
                        size_t a = points[pi];
                        for (size_t k = 0; k < p.n_m; k++) {
                                const Measure *m = &p.m[k];
                                if (strcmp(m->point, p.m[a].point))
                                        continue;
                                if (m->ended <= t->started && m->ended >= t->started - PPT_WINDOW_MS &&
                                    (!before || m->ended > before->ended))
                                        before = m;
                                if (m->started >= t->ended && m->started <= t->ended + PPT_WINDOW_MS &&
                                    (!after || m->started < after->started))
                                        after = m;
                        }
                        if (!before && !after)
                                continue;
                        json_object *o = json_object_new_object();
                        char at[32];
                        if (!o) {
                                r = -ENOMEM;
                                break;
                        }
                        add_str(o, "treatment", t->session);
                        add_str(o, "protocol", t->protocol);
                        json_object_object_add(o, "started_at", json_object_new_string(iso8601_format_ms(at, sizeof at, t->started)));
                        add_str(o, "point", p.m[a].point);
                        add_str(o, "side", *p.m[a].side ? p.m[a].side : NULL);
                        json_object_object_add(o, "before_n", before ? json_object_new_double(before->threshold) : NULL);
                        json_object_object_add(o, "after_n", after ? json_object_new_double(after->threshold) : NULL);
                        json_object_object_add(o, "change_n", before && after ?
                                               json_object_new_double(after->threshold - before->threshold) : NULL);
                        json_object_array_add(items, o);
                }
        }
        free(points);
        free(p.m);
        free(p.t);
        json_object_object_add(out, "next", NULL);
        return r < 0 ? r : 0;
}

/* ---- adherence: sessions per ISO week (Monday 00:00 UTC) ---- */

typedef struct Week {
        int64_t start;
        int64_t sessions, completed, minutes_ms;
} Week;

typedef struct WeekScan {
        Week *w;
        size_t n;
} WeekScan;

static int week_row(size_t n, const char *const *c, void *userdata) {
        WeekScan *ws = userdata;
        int64_t started = strtoll(c[0], NULL, 10);
        int64_t start = started - ((started - MONDAY_0_MS) % WEEK_MS + WEEK_MS) % WEEK_MS;
        Week *w;

        if (ws->n == 0 || ws->w[ws->n - 1].start != start) {
                Week *nw = realloc(ws->w, (ws->n + 1) * sizeof(*nw));
                if (!nw)
                        return -ENOMEM;
                ws->w = nw;
                ws->w[ws->n++] = (Week) { .start = start };
        }
        w = &ws->w[ws->n - 1];
        w->sessions++;
        if (c[1] && !strcmp(c[1], "completed"))
                w->completed++;
        if (c[2])
                w->minutes_ms += strtoll(c[2], NULL, 10);
        return 0;
}

static int q_adherence(HistoryStore *s, const Query *q, json_object *out) {
        DbValue v[] = { DB_TEXTV(q->athlete), DB_INTV(q->from_ms), DB_INTV(q->to_ms), DB_INTV(SCAN_MAX) };
        json_object *items = json_object_new_array();
        WeekScan ws = {};
        int r;

        if (!items)
                return -ENOMEM;
        json_object_object_add(out, "items", items);
        r = db_exec(history_store_db(s),
                    "SELECT started_at, status, duration_ms FROM sessions WHERE athlete = $1 AND started_at >= $2"
                    " AND started_at < $3 ORDER BY started_at LIMIT $4", ELEMENTSOF(v), v, week_row, &ws);
        for (size_t i = 0; r >= 0 && i < ws.n; i++) {
                json_object *o = json_object_new_object();
                char at[32];
                if (!o) {
                        r = -ENOMEM;
                        break;
                }
                iso8601_format_ms(at, sizeof at, ws.w[i].start);
                at[10] = 0;
                json_object_object_add(o, "week_start", json_object_new_string(at));
                json_object_object_add(o, "sessions", json_object_new_int64(ws.w[i].sessions));
                json_object_object_add(o, "completed", json_object_new_int64(ws.w[i].completed));
                json_object_object_add(o, "minutes", json_object_new_double(
                                               (double) ((ws.w[i].minutes_ms + 30000) / 60000)));
                json_object_array_add(items, o);
        }
        free(ws.w);
        json_object_object_add(out, "next", NULL);
        return r < 0 ? r : 0;
}

int history_query(HistoryStore *s, const void *request, size_t len, char **ret_json) {
        _cleanup_(json_object_putp) json_object *req = NULL, *out = NULL;
        Query q = {};
        const char *e;
        int r;

        e = parse(request, len, &req, &q);
        if (e && !strcmp(e, "out of memory"))
                return -ENOMEM;
        if (!e) {
                bool needs_athlete = strcmp(q.query, "session") != 0;
                if (strcmp(q.query, "sessions") && strcmp(q.query, "session") && strcmp(q.query, "documents") &&
                    strcmp(q.query, "trends") && strcmp(q.query, "ppt") && strcmp(q.query, "adherence"))
                        e = "unknown query";
                else if (needs_athlete && !q.athlete)
                        e = "this query needs \"athlete\"";
                else if (!needs_athlete && !q.id)
                        e = "\"session\" needs \"id\"";
                else if (q.from_ms >= q.to_ms)
                        e = "\"from\" must be before \"to\"";
                else if (!strcmp(q.query, "documents") && q.limit > DOCS_PAGE_MAX)
                        e = "\"limit\" must be an integer 1-100 for \"documents\"";
        }
        if (e) {
                r = fail(&out, e);
                if (r == -ENOMEM)
                        return r;
        } else {
                out = json_object_new_object();
                if (!out)
                        return -ENOMEM;
                json_object_object_add(out, "ok", json_object_new_boolean(1));
                r = !strcmp(q.query, "sessions") ? q_sessions(s, &q, out) :
                    !strcmp(q.query, "session") ? q_session(s, &q, out) :
                    !strcmp(q.query, "documents") ? q_documents(s, &q, out) :
                    !strcmp(q.query, "trends") ? q_trends(s, &q, out) :
                    !strcmp(q.query, "ppt") ? q_ppt(s, &q, out) : q_adherence(s, &q, out);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        json_object_put(out);
                        out = NULL;
                        (void) fail(&out, "the store failed; see the recorder's log");
                }
        }
        if (!out)
                return -ENOMEM;
        *ret_json = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        return *ret_json ? 0 : -ENOMEM;
}
