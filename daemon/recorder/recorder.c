/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mqtt/mqtt-client.h"
#include "recorder/recorder.h"
#include "recorder/session-doc.h"
#include "shared/session-id.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/time-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC 1000000ULL
#define RETRY_USEC (1 * USEC_PER_SEC)
#define RETENTION_PERIOD_USEC (6 * 3600 * USEC_PER_SEC)
#define REQUEST_TIMEOUT_NSEC (60 * NSEC_PER_SEC)
#define MAX_REQUESTS 10000
#define MAX_REPLY_BYTES (4 * 1024 * 1024)
#define RECONCILE_MARGIN_MS (3600 * 1000)   /* a hub's clock may step back this far */
#define MAX_HUBS 10000

typedef struct Pending {
        SessionDoc *doc;
        int64_t received_ms;
        int outcome;             /* 0 new, 1 duplicate, 2 conflict */
} Pending;

typedef enum RequestKind {
        REQUEST_LIST,
        REQUEST_RESEND,
} RequestKind;

typedef struct Request {
        char id[40];
        RequestKind kind;
        char *hub, *station, *session;
        bool round_missing;      /* LIST: an earlier page of this round lacked something */
        nsec_t sent;
} Request;

typedef struct KnownHub {
        char *hub, *station;
        int64_t reconciled_ms;
        bool unsupported;        /* its tphubd predates the archive commands */
} KnownHub;

struct Recorder {
        sd_event *event;
        RecorderConfig *cfg;
        HistoryStore *store;
        MqttClient *mqtt;
        char *session_filter, *reply_filter, *meta_filter, *query_filter;
        uint64_t n_queries;

        Pending *batch;
        size_t n_batch;
        sd_event_source *commit_timer;
        sd_event_source *reconcile_timer;
        sd_event_source *retention_timer;

        KnownHub *hubs;
        size_t n_hubs;
        Request *requests;
        size_t n_requests;
        char nonce[9];
        uint64_t next_request;

        uint64_t n_stored, n_duplicates, n_refused, n_conflicts;
        bool stopping;
        void (*stopped)(void *userdata);
        void *stopped_userdata;
        char status[160];
};

static size_t batch_max(const Recorder *r) {
        /* While the store refuses commits, the batch grows to this much and then new sessions
         * are dropped (logged): reconciling fetches them again once the store is back. */
        return (size_t) r->cfg->commit_batch * 10;
}

/* ---- topics ---- */

/* "<prefix>/a/b/c" → levels after the prefix; returns how many (at most max), 0 if no match. */
static size_t split_topic(const Recorder *r, const char *topic, char **levels, size_t max) {
        size_t pl = strlen(r->cfg->prefix), n = 0;
        const char *p;

        if (strncmp(topic, r->cfg->prefix, pl) != 0 || topic[pl] != '/')
                return 0;
        p = topic + pl + 1;
        while (n < max) {
                const char *slash = strchr(p, '/');
                size_t len = slash ? (size_t) (slash - p) : strlen(p);
                levels[n] = strndup(p, len);
                if (!levels[n])
                        break;
                n++;
                if (!slash)
                        return n;
                p = slash + 1;
        }
        for (size_t i = 0; i < n; i++)
                free(levels[i]);
        return 0;
}

static void free_levels(char **levels, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(levels[i]);
}

/* ---- known hubs ---- */

static KnownHub *hub_find(Recorder *r, const char *hub) {
        for (size_t i = 0; i < r->n_hubs; i++)
                if (!strcmp(r->hubs[i].hub, hub))
                        return &r->hubs[i];
        return NULL;
}

static KnownHub *hub_add(Recorder *r, const char *hub, const char *station, int64_t reconciled_ms, bool *ret_new) {
        KnownHub *h = hub_find(r, hub), *n;

        if (ret_new)
                *ret_new = false;
        if (h)
                return h;
        if (r->n_hubs >= MAX_HUBS)
                return NULL;
        n = realloc(r->hubs, (r->n_hubs + 1) * sizeof(*n));
        if (!n)
                return NULL;
        r->hubs = n;
        h = &r->hubs[r->n_hubs];
        *h = (KnownHub) { .hub = strdup(hub), .station = strdup(station), .reconciled_ms = reconciled_ms };
        if (!h->hub || !h->station) {
                free(h->hub);
                free(h->station);
                return NULL;
        }
        r->n_hubs++;
        if (ret_new)
                *ret_new = true;
        return h;
}

static int load_hub(const char *hub, const char *station, int64_t reconciled_ms, void *userdata) {
        (void) hub_add(userdata, hub, station, reconciled_ms, NULL);
        return 0;
}

/* ---- committing ---- */

static bool batch_has(const Recorder *r, const char *id) {
        for (size_t i = 0; i < r->n_batch; i++)
                if (!strcmp(r->batch[i].doc->id, id))
                        return true;
        return false;
}

static void batch_clear(Recorder *r) {
        for (size_t i = 0; i < r->n_batch; i++)
                session_doc_free(r->batch[i].doc);
        r->n_batch = 0;
}

static int commit_batch(Recorder *r) {
        uint64_t stored = 0, dups = 0, conflicts = 0;
        Db *db = history_store_db(r->store);
        int k;

        if (r->n_batch == 0)
                return 0;
        k = history_store_begin(r->store);
        for (size_t i = 0; k >= 0 && i < r->n_batch; i++) {
                k = history_store_insert(r->store, r->batch[i].doc, r->batch[i].received_ms);
                if (k == -EEXIST) {
                        r->batch[i].outcome = 2;
                        k = 0;
                } else if (k >= 0)
                        r->batch[i].outcome = k;
        }
        if (k >= 0)
                k = history_store_commit(r->store);
        if (k < 0) {
                log_error("Cannot commit %zu session(s) to the %s store: %s; retrying.", r->n_batch, db_kind(db),
                          db_error(db));
                (void) history_store_rollback(r->store);
                (void) db_check(db);
                (void) sd_event_source_set_time_relative(r->commit_timer, RETRY_USEC);
                (void) sd_event_source_set_enabled(r->commit_timer, SD_EVENT_ONESHOT);
                return k;
        }
        /* Said only once committed: "stored" means on disk. */
        for (size_t i = 0; i < r->n_batch; i++) {
                const SessionDoc *d = r->batch[i].doc;
                switch (r->batch[i].outcome) {
                case 0:
                        log_debug("Session %s stored.", d->id);
                        stored++;
                        break;
                case 1:
                        log_debug("Session %s is a duplicate delivery; already stored.", d->id);
                        dups++;
                        break;
                default:
                        log_error("Session %s from %s/%s CONFLICTS with the stored session of the same id: the "
                                  "stored one is kept, the new document is refused and kept in session_conflicts "
                                  "for inspection.", d->id, d->hub, d->station);
                        conflicts++;
                }
                if (!hub_add(r, d->hub, d->station, 0, NULL))
                        log_oom();
        }
        r->n_stored += stored;
        r->n_duplicates += dups;
        r->n_conflicts += conflicts;
        log_info("Committed %zu session(s): %" PRIu64 " new, %" PRIu64 " duplicate, %" PRIu64 " refused as conflicting.",
                 r->n_batch, stored, dups, conflicts);
        batch_clear(r);
        return 0;
}

static int on_commit_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) commit_batch(userdata);
        return 0;
}

static void queue_session(Recorder *r, SessionDoc *d) {
        Pending *n;

        if (batch_has(r, d->id)) {
                log_debug("Session %s is already waiting for its commit.", d->id);
                session_doc_free(d);
                return;
        }
        if (r->n_batch >= batch_max(r)) {
                log_error("Session %s dropped: %zu sessions wait for a store that refuses commits (it comes back "
                          "at the next reconcile).", d->id, r->n_batch);
                session_doc_free(d);
                return;
        }
        n = realloc(r->batch, (r->n_batch + 1) * sizeof(*n));
        if (!n) {
                log_oom();
                session_doc_free(d);
                return;
        }
        r->batch = n;
        r->batch[r->n_batch++] = (Pending) { d, (int64_t) (now_realtime() / NSEC_PER_MSEC), 0 };
        log_debug("Session %s from %s/%s received; %zu waiting for commit.", d->id, d->hub, d->station, r->n_batch);
        if (r->n_batch >= r->cfg->commit_batch || r->cfg->commit_delay_ms == 0) {
                (void) commit_batch(r);
                return;
        }
        if (r->n_batch == 1) {
                (void) sd_event_source_set_time_relative(r->commit_timer, r->cfg->commit_delay_ms * USEC_PER_MSEC);
                (void) sd_event_source_set_enabled(r->commit_timer, SD_EVENT_ONESHOT);
        }
}

static void on_session(Recorder *r, const char *topic, const char *hub, const char *station,
                       const void *payload, size_t len, bool retained) {
        _cleanup_(session_doc_freep) SessionDoc *d = NULL;
        const char *error = NULL;
        int k;

        if (retained) {
                /* A retained "session" is not a delivery from a hub's publisher. */
                log_warning("Refused a retained session document on %s.", topic);
                r->n_refused++;
                return;
        }
        k = session_doc_parse(payload, len, &d, &error);
        if (k == -ENOMEM) {
                log_oom();
                return;
        }
        if (k < 0) {
                log_warning("Refused a session document on %s (%zu bytes): %s; nothing stored.", topic, len, error);
                r->n_refused++;
                return;
        }
        if (strcmp(d->hub, hub) != 0 || strcmp(d->station, station) != 0) {
                log_warning("Refused session %s on %s: the document names %s/%s; nothing stored.", d->id, topic,
                            d->hub, d->station);
                r->n_refused++;
                return;
        }
        queue_session(r, TAKE_PTR(d));
}

/* ---- reconciling with the hubs' archives ---- */

static Request *request_new(Recorder *r, RequestKind kind, const char *hub, const char *station, const char *session) {
        Request *n, *q;

        if (r->n_requests >= MAX_REQUESTS)
                return NULL;
        n = realloc(r->requests, (r->n_requests + 1) * sizeof(*n));
        if (!n)
                return NULL;
        r->requests = n;
        q = &r->requests[r->n_requests];
        *q = (Request) { .kind = kind, .hub = strdup(hub), .station = strdup(station),
                         .session = session ? strdup(session) : NULL, .sent = now_monotonic() };
        if (!q->hub || !q->station || (session && !q->session)) {
                free(q->hub);
                free(q->station);
                free(q->session);
                return NULL;
        }
        snprintf(q->id, sizeof q->id, "rec-%s-%" PRIu64, r->nonce, ++r->next_request);
        r->n_requests++;
        return q;
}

static void request_failed(Recorder *r, const char *hub) {
        if (r->n_requests >= MAX_REQUESTS)
                log_warning("%zu requests to hubs are unanswered: asking hub %s waits for the next reconcile.",
                            r->n_requests, hub);
        else
                log_oom();
}

static void request_drop(Recorder *r, size_t i) {
        free(r->requests[i].hub);
        free(r->requests[i].station);
        free(r->requests[i].session);
        r->requests[i] = r->requests[--r->n_requests];
}

static void send_command(Recorder *r, const Request *q, json_object *cmd) {
        _cleanup_free_ char *topic = NULL;
        const char *s;
        int k;

        json_object_object_add(cmd, "id", json_object_new_string(q->id));
        s = json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (asprintf(&topic, "%s/%s/%s/cmd", r->cfg->prefix, q->hub, q->station) < 0) {
                log_oom();
                return;
        }
        k = mqtt_client_publish(r->mqtt, topic, s, strlen(s), 1, false, NULL, NULL);
        if (k < 0)
                log_warning_errno(k, "Cannot send %s to hub %s: %m", s, q->hub);
        else
                log_debug("Sent %s to %s", s, topic);
}

static void request_list(Recorder *r, KnownHub *h, int64_t since_ms, const char *after, bool round_missing) {
        _cleanup_(json_object_putp) json_object *cmd = json_object_new_object();
        Request *q;
        char at[32];

        if (!cmd || !(q = request_new(r, REQUEST_LIST, h->hub, h->station, NULL))) {
                request_failed(r, h->hub);
                return;
        }
        q->round_missing = round_missing;
        json_object_object_add(cmd, "cmd", json_object_new_string("sessions_since"));
        json_object_object_add(cmd, "since", json_object_new_string(iso8601_format_ms(at, sizeof at, since_ms)));
        if (after)
                json_object_object_add(cmd, "after", json_object_new_string(after));
        send_command(r, q, cmd);
}

static void reconcile_hub(Recorder *r, KnownHub *h) {
        int64_t now_ms = (int64_t) (now_realtime() / NSEC_PER_MSEC), since;

        if (h->unsupported)
                return;
        since = h->reconciled_ms > RECONCILE_MARGIN_MS ? h->reconciled_ms - RECONCILE_MARGIN_MS
                                                       : now_ms - (int64_t) r->cfg->archive_window_s * 1000;
        if (since < 0)
                since = 0;
        log_debug("Reconciling with hub %s (sessions since %" PRId64 ")", h->hub, since);
        request_list(r, h, since, NULL, false);
}

static void reconcile_all(Recorder *r) {
        nsec_t now = now_monotonic();

        /* Forget requests nobody answered (hub offline): the next round asks again. */
        for (size_t i = r->n_requests; i > 0; i--)
                if (now - r->requests[i - 1].sent > REQUEST_TIMEOUT_NSEC)
                        request_drop(r, i - 1);
        if (!mqtt_client_is_connected(r->mqtt))
                return;
        for (size_t i = 0; i < r->n_hubs; i++)
                reconcile_hub(r, &r->hubs[i]);
}

static int on_reconcile_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Recorder *r = userdata;

        reconcile_all(r);
        (void) sd_event_source_set_time_relative(s, r->cfg->reconcile_interval_s * USEC_PER_SEC);
        return 0;
}

static void request_resend(Recorder *r, KnownHub *h, const char *id) {
        _cleanup_(json_object_putp) json_object *cmd = json_object_new_object();
        Request *q;

        if (!cmd || !(q = request_new(r, REQUEST_RESEND, h->hub, h->station, id))) {
                request_failed(r, h->hub);
                return;
        }
        json_object_object_add(cmd, "cmd", json_object_new_string("resend"));
        json_object_object_add(cmd, "session", json_object_new_string(id));
        send_command(r, q, cmd);
}

static void on_list_reply(Recorder *r, Request *q, json_object *reply) {
        json_object *sessions, *more;
        KnownHub *h = hub_find(r, q->hub);
        const char *last_id = NULL;
        int64_t last_at = 0;
        size_t missing = 0, n;

        if (!h)
                return;
        if (!json_object_object_get_ex(reply, "sessions", &sessions) ||
            !json_object_is_type(sessions, json_type_array)) {
                log_warning("Hub %s answered sessions_since without a \"sessions\" list; ignored.", q->hub);
                return;
        }
        /* Whatever is waiting for the commit counts as had: it is about to be stored. */
        n = json_object_array_length(sessions);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(sessions, i), *id, *at;
                const char *ids, *ats;
                int64_t at_ms;
                int k;

                if (!json_object_object_get_ex(e, "id", &id) || !json_object_object_get_ex(e, "at", &at) ||
                    !(ids = json_object_get_string(id)) || !session_id_valid(ids) ||
                    !json_object_is_type(at, json_type_string) || !(ats = json_object_get_string(at)) ||
                    iso8601_parse_ms(ats, &at_ms) < 0) {
                        log_warning("Hub %s listed a malformed archive entry; ignored.", q->hub);
                        continue;
                }
                last_id = ids;
                last_at = at_ms;
                if (batch_has(r, ids))
                        continue;
                k = history_store_has(r->store, ids);
                if (k < 0) {
                        log_warning("Cannot look up session %s: %s", ids, db_error(history_store_db(r->store)));
                        missing++;
                        continue;
                }
                if (k > 0)
                        continue;
                log_info("Session %s of hub %s is not stored: asking the hub to resend it.", ids, q->hub);
                missing++;
                request_resend(r, h, ids);
        }
        if (missing == 0 && !q->round_missing && last_id && last_at > h->reconciled_ms) {
                h->reconciled_ms = last_at;
                if (history_store_set_reconciled(r->store, h->hub, last_at) < 0)
                        log_warning("Cannot save the reconcile mark of hub %s: %s", h->hub,
                                    db_error(history_store_db(r->store)));
        }
        if (json_object_object_get_ex(reply, "more", &more) && json_object_get_boolean(more) && last_id)
                request_list(r, h, last_at, last_id, q->round_missing || missing > 0);
        else
                log_info("Reconciled with hub %s: %zu listed in the last page, %zu asked again.", q->hub, n, missing);
}

static void on_reply(Recorder *r, const char *hub, const void *payload, size_t len) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *id, *ok, *error;
        const char *ids;
        size_t i;

        if (len > MAX_REPLY_BYTES)
                return;
        o = json_tokener_parse(payload);
        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "id", &id) ||
            !(ids = json_object_get_string(id)) || strncmp(ids, "rec-", 4) != 0)
                return;
        for (i = 0; i < r->n_requests; i++)
                if (!strcmp(r->requests[i].id, ids))
                        break;
        if (i == r->n_requests)
                return;   /* another recorder's, or a reply we gave up on */
        /* A copy: answering may add requests (realloc); the strings stay until request_drop. */
        Request copy = r->requests[i], *q = &copy;
        if (strcmp(q->hub, hub) != 0)
                return;
        if (!json_object_object_get_ex(o, "ok", &ok) || !json_object_get_boolean(ok)) {
                const char *e = json_object_object_get_ex(o, "error", &error) ? json_object_get_string(error) : "?";
                KnownHub *h = hub_find(r, hub);
                if (q->kind == REQUEST_LIST && h && (!strcmp(e, "unknown command") || !strcmp(e, "unknown key"))) {
                        h->unsupported = true;
                        log_warning("Hub %s cannot be reconciled (its tphubd has no session archive: \"%s\"); "
                                    "sessions lost between the broker and this recorder cannot be fetched again.",
                                    hub, e);
                } else if (q->kind == REQUEST_RESEND)
                        log_error("Hub %s cannot resend session %s: %s.", hub, q->session, e);
                else
                        log_warning("Hub %s refused sessions_since: %s.", hub, e);
        } else if (q->kind == REQUEST_LIST)
                on_list_reply(r, q, o);
        /* on_list_reply may have grown the array: find the request again by id. */
        for (i = 0; i < r->n_requests; i++)
                if (!strcmp(r->requests[i].id, ids)) {
                        request_drop(r, i);
                        break;
                }
}

static void on_meta(Recorder *r, const char *hub, const void *payload, size_t len) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *stations, *st, *name;
        const char *s;
        KnownHub *h;
        bool is_new;

        if (len == 0 || len > MAX_REPLY_BYTES || !session_doc_name_valid(hub))
                return;
        o = json_tokener_parse(payload);
        if (!o || !json_object_object_get_ex(o, "stations", &stations) ||
            !json_object_is_type(stations, json_type_array) || json_object_array_length(stations) == 0)
                return;
        st = json_object_array_get_idx(stations, 0);
        if (!json_object_object_get_ex(st, "name", &name) || !(s = json_object_get_string(name)) ||
            !session_doc_name_valid(s))
                return;
        h = hub_add(r, hub, s, 0, &is_new);
        if (!h)
                return;
        if (!is_new && strcmp(h->station, s) != 0) {
                /* Its stations changed (reload): address commands to one that exists. */
                char *n = strdup(s);
                if (n) {
                        free(h->station);
                        h->station = n;
                        (void) history_store_hub_seen(r->store, hub, s);
                }
        }
        if (is_new) {
                log_info("Hub %s announced itself; reconciling.", hub);
                if (history_store_hub_seen(r->store, hub, s) < 0)
                        log_warning("Cannot record hub %s: %s", hub, db_error(history_store_db(r->store)));
                reconcile_hub(r, h);
        }
}

/* ---- MQTT ---- */

static void on_message(MqttClient *c, const char *topic, const void *payload, size_t len, bool retained,
                       void *userdata) {
        Recorder *r = userdata;
        char *lv[5];
        size_t n = split_topic(r, topic, lv, ELEMENTSOF(lv));

        if (n == 3 && !strcmp(lv[2], "session"))
                on_session(r, topic, lv[0], lv[1], payload, len, retained);
        else if (n == 4 && !strcmp(lv[2], "cmd") && !strcmp(lv[3], "reply"))
                on_reply(r, lv[0], payload, len);
        else if (n == 2 && !strcmp(lv[1], "meta"))
                on_meta(r, lv[0], payload, len);
        free_levels(lv, n);
}

/* History queries: MQTT 5 request/response, so the broker's users and ACLs decide who may ask
 * (and on which response topic the answer goes). */
static void on_request(MqttClient *c, const char *topic, const void *payload, size_t len,
                       const char *response_topic, const void *correlation, size_t correlation_len,
                       void *userdata) {
        Recorder *r = userdata;
        _cleanup_free_ char *json = NULL;
        int k;

        if (strcmp(topic, r->cfg->query_topic) != 0) {
                /* Not a query: some other message that happened to carry a response topic. */
                on_message(c, topic, payload, len, false, userdata);
                return;
        }
        if (!response_topic || !*response_topic || strpbrk(response_topic, "+#")) {
                log_debug("History query without a usable response topic ignored.");
                return;
        }
        /* Commit first, so that a query sees every session received so far. */
        (void) commit_batch(r);
        k = history_query(r->store, payload, len, &json);
        if (k < 0) {
                log_oom();
                return;
        }
        r->n_queries++;
        k = mqtt_client_publish_response(c, response_topic, json, strlen(json), correlation, correlation_len);
        if (k < 0)
                log_warning_errno(k, "Cannot answer a history query on %s: %m", response_topic);
}

static void on_connected(MqttClient *c, void *userdata) {
        Recorder *r = userdata;

        log_info("MQTT: connected to %s; reconciling with %zu known hub(s).", r->cfg->uri, r->n_hubs);
        reconcile_all(r);
}

static void on_connection_lost(MqttClient *c, const char *cause, void *userdata) {
        log_warning("MQTT: connection lost%s%s; reconnecting with backoff.", cause ? ": " : "", cause ?: "");
}

static void on_connect_failed(MqttClient *c, int code, const char *message, void *userdata) {
        Recorder *r = userdata;

        log_warning("MQTT: cannot connect to %s (%d%s%s); retrying with backoff.", r->cfg->uri, code,
                    message ? ": " : "", message ?: "");
}

static void on_log(MqttClient *c, MqttLogLevel level, const char *message, void *userdata) {
        log_internal((int) level, 0, "MQTT: %s", message);
}

/* ---- retention ---- */

static void expire(Recorder *r) {
        int64_t cutoff;
        int k;

        if (r->cfg->retention_days == 0)
                return;
        cutoff = (int64_t) (now_realtime() / NSEC_PER_MSEC) - (int64_t) r->cfg->retention_days * 86400 * 1000;
        k = history_store_expire(r->store, cutoff);
        if (k < 0)
                log_warning("Retention: cannot delete old sessions: %s", db_error(history_store_db(r->store)));
        else if (k > 0)
                log_info("Retention: deleted %d session(s) older than %u days.", k, r->cfg->retention_days);
}

static int on_retention_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        expire(userdata);
        (void) sd_event_source_set_time_relative(s, RETENTION_PERIOD_USEC);
        return 0;
}

/* ---- lifetime ---- */

int recorder_new(Recorder **ret, sd_event *event, RecorderConfig *config, HistoryStore *store) {
        _cleanup_(recorder_freep) Recorder *r = NULL;
        _cleanup_free_ char *client_id = NULL;
        uint8_t rnd[4];
        char host[65] = "";
        int k;

        r = calloc(1, sizeof(*r));
        if (!r) {
                recorder_config_free(config);
                history_store_free(store);
                return -ENOMEM;
        }
        r->event = sd_event_ref(event);
        r->cfg = config;
        r->store = store;
        if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
                return -EIO;
        snprintf(r->nonce, sizeof r->nonce, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);

        if (history_store_hubs(store, load_hub, r) < 0)
                return log_error_errno(EIO, "Cannot read the known hubs: %s", db_error(history_store_db(store)));

        if (asprintf(&r->reply_filter, "%s/+/+/cmd/reply", config->prefix) < 0 ||
            asprintf(&r->meta_filter, "%s/+/meta", config->prefix) < 0 ||
            (config->share_group ? asprintf(&r->query_filter, "$share/%s/%s", config->share_group, config->query_topic)
                                 : asprintf(&r->query_filter, "%s", config->query_topic)) < 0 ||
            (config->share_group ? asprintf(&r->session_filter, "$share/%s/%s/+/+/session", config->share_group,
                                            config->prefix)
                                 : asprintf(&r->session_filter, "%s/+/+/session", config->prefix)) < 0)
                return log_oom();

        (void) gethostname(host, sizeof host - 1);
        if (!config->client_id && asprintf(&client_id, "tphub-recorder-%s", *host ? host : "localhost") < 0)
                return log_oom();
        MqttClientOptions o = {
                .uri = config->uri,
                .client_id = config->client_id ?: client_id,
                .version = 5,
                .credentials_file = config->credentials_file,
                .ca_file = config->ca_file,
                .cert_file = config->cert_file,
                .key_file = config->key_file,
                .persistent_session = config->persistent_session,
                .max_queued_messages = config->max_queued_messages,
        };
        static const MqttClientCallbacks cb = {
                .connected = on_connected,
                .connection_lost = on_connection_lost,
                .connect_failed = on_connect_failed,
                .message = on_message,
                .log = on_log,
                .request = on_request,
        };
        k = mqtt_client_new(&r->mqtt, event, &o, &cb, r);
        if (k < 0)
                return log_error_errno(k, "Cannot set up the MQTT client for %s: %m", config->uri);
        if ((k = mqtt_client_subscribe(r->mqtt, r->session_filter, 1)) < 0 ||
            (k = mqtt_client_subscribe(r->mqtt, r->reply_filter, 1)) < 0 ||
            (k = mqtt_client_subscribe(r->mqtt, r->meta_filter, 1)) < 0 ||
            (k = mqtt_client_subscribe(r->mqtt, r->query_filter, 1)) < 0)
                return log_error_errno(k, "Cannot subscribe: %m");

        k = sd_event_add_time_relative(event, &r->commit_timer, CLOCK_MONOTONIC, UINT64_MAX / 2, 1000,
                                       on_commit_timer, r);
        if (k >= 0) {
                (void) sd_event_source_set_enabled(r->commit_timer, SD_EVENT_OFF);
                k = sd_event_add_time_relative(event, &r->reconcile_timer, CLOCK_MONOTONIC,
                                               config->reconcile_interval_s * USEC_PER_SEC, USEC_PER_SEC,
                                               on_reconcile_timer, r);
        }
        if (k >= 0) {
                (void) sd_event_source_set_enabled(r->reconcile_timer, SD_EVENT_ON);
                k = sd_event_add_time_relative(event, &r->retention_timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC,
                                               on_retention_timer, r);
        }
        if (k < 0)
                return log_error_errno(k, "Cannot set up timers: %m");
        (void) sd_event_source_set_enabled(r->retention_timer, SD_EVENT_ON);
        *ret = TAKE_PTR(r);
        return 0;
}

int recorder_start(Recorder *r) {
        int k = mqtt_client_connect(r->mqtt);

        if (k < 0)
                return log_error_errno(k, "Cannot connect to %s: %m", r->cfg->uri);
        return 0;
}

int recorder_reload(Recorder *r, RecorderConfig *c) {
        RecorderConfig *old = r->cfg;

        if (strcmp(old->uri, c->uri) || strcmp(old->prefix, c->prefix) ||
            !!old->share_group != !!c->share_group || (old->share_group && strcmp(old->share_group, c->share_group)) ||
            !!old->sqlite_path != !!c->sqlite_path || (old->sqlite_path && strcmp(old->sqlite_path, c->sqlite_path)) ||
            !!old->postgresql != !!c->postgresql || (old->postgresql && strcmp(old->postgresql, c->postgresql)))
                log_warning("Reload: the broker, prefix, share group and store take effect at the next restart.");
        /* Keep the running connection's settings; take the behaviour. */
        old->retention_days = c->retention_days;
        old->reconcile_interval_s = c->reconcile_interval_s;
        old->commit_delay_ms = c->commit_delay_ms;
        old->commit_batch = c->commit_batch;
        old->archive_window_s = c->archive_window_s;
        recorder_config_free(c);
        (void) sd_event_source_set_time_relative(r->reconcile_timer, old->reconcile_interval_s * USEC_PER_SEC);
        expire(r);
        return 0;
}

static void shutdown_done(MqttClient *c, void *userdata) {
        Recorder *r = userdata;

        if (r->stopped)
                r->stopped(r->stopped_userdata);
}

int recorder_stop(Recorder *r, void (*done)(void *userdata), void *userdata) {
        int k;

        r->stopping = true;
        (void) commit_batch(r);
        r->stopped = done;
        r->stopped_userdata = userdata;
        k = mqtt_client_shutdown(r->mqtt, 3 * USEC_PER_SEC, shutdown_done, r);
        return k < 0 ? 0 : 1;
}

Recorder *recorder_free(Recorder *r) {
        if (!r)
                return NULL;
        if (r->n_batch && r->store)
                (void) commit_batch(r);
        batch_clear(r);
        free(r->batch);
        r->commit_timer = sd_event_source_disable_unref(r->commit_timer);
        r->reconcile_timer = sd_event_source_disable_unref(r->reconcile_timer);
        r->retention_timer = sd_event_source_disable_unref(r->retention_timer);
        mqtt_client_free(r->mqtt);
        while (r->n_requests)
                request_drop(r, r->n_requests - 1);
        free(r->requests);
        for (size_t i = 0; i < r->n_hubs; i++) {
                free(r->hubs[i].hub);
                free(r->hubs[i].station);
        }
        free(r->hubs);
        free(r->session_filter);
        free(r->reply_filter);
        free(r->meta_filter);
        free(r->query_filter);
        history_store_free(r->store);
        recorder_config_free(r->cfg);
        sd_event_unref(r->event);
        free(r);
        return NULL;
}

const char *recorder_status(Recorder *r) {
        snprintf(r->status, sizeof r->status, "%" PRIu64 " stored, %" PRIu64 " duplicates, %" PRIu64 " refused, %"
                 PRIu64 " conflicts, %zu hub(s) known", r->n_stored, r->n_duplicates, r->n_refused, r->n_conflicts,
                 r->n_hubs);
        return r->status;
}
