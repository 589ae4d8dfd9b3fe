/* SPDX-License-Identifier: MIT */
#include <string.h>

#include <json-c/json.h>

#include "mqtt/session-publisher.h"
#include "shared/macro.h"

#define DEFAULT_MAX_INFLIGHT 4
#define MEMORY_ONLY_MAX 100
#define RETRY_USEC (5 * 1000 * 1000ULL)
#define TOPIC_MAX 1024

typedef enum EntryState {
        ENTRY_PENDING,
        ENTRY_IN_FLIGHT,
} EntryState;

typedef struct Entry Entry;
typedef struct Inflight Inflight;

struct Entry {
        char *name;             /* spool file, NULL for a memory-only document */
        char *id;
        char *mem;              /* memory-only: the envelope "<topic>\n<json>" */
        EntryState state;
        Inflight *inflight;
        Entry *prev, *next;
};

/* The publish callback's context. It outlives the publisher if need be: publisher_free()
 * orphans it (p = e = NULL) and the callback, which the client always calls eventually (at the
 * latest from mqtt_client_free()), frees it. */
struct Inflight {
        SessionPublisher *p;
        Entry *e;
};

struct SessionPublisher {
        MqttClient *client;
        Outbox *outbox;
        unsigned max_inflight;
        PublisherReportFn report;
        void *userdata;
        Entry *head, *tail;
        size_t n_entries, n_memory, n_inflight;
        sd_event_source *retry;
};

static void report(SessionPublisher *p, PublisherReport what, int error, const char *name, const char *id) {
        if (p->report)
                p->report(p, what, error, name, id, p->userdata);
}

static void entry_unlink(SessionPublisher *p, Entry *e) {
        if (e->prev)
                e->prev->next = e->next;
        else
                p->head = e->next;
        if (e->next)
                e->next->prev = e->prev;
        else
                p->tail = e->prev;
        e->prev = e->next = NULL;
        p->n_entries--;
        if (!e->name)
                p->n_memory--;
}

static void entry_free(Entry *e) {
        if (!e)
                return;
        free(e->name);
        free(e->id);
        free(e->mem);
        free(e);
}

static void entry_append(SessionPublisher *p, Entry *e) {
        e->prev = p->tail;
        e->next = NULL;
        if (p->tail)
                p->tail->next = e;
        else
                p->head = e;
        p->tail = e;
        p->n_entries++;
        if (!e->name)
                p->n_memory++;
}

/* Splits "<topic>\n<json>" in place; -EBADMSG unless both parts are sane. */
static int envelope_split(char *buf, size_t len, const char **ret_topic, const char **ret_json, size_t *ret_len) {
        char *nl = memchr(buf, '\n', len);
        json_object *o;
        bool ok;

        if (!nl || nl == buf || (size_t) (nl - buf) > TOPIC_MAX)
                return -EBADMSG;
        *nl = 0;
        if (strpbrk(buf, "+#") || strlen(buf) != (size_t) (nl - buf))
                return -EBADMSG;

        o = json_tokener_parse(nl + 1);
        ok = o && json_object_is_type(o, json_type_object);
        json_object_put(o);
        if (!ok)
                return -EBADMSG;

        *ret_topic = buf;
        *ret_json = nl + 1;
        *ret_len = len - (size_t) (nl + 1 - buf);
        return 0;
}

static void pump(SessionPublisher *p);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        SessionPublisher *p = userdata;

        p->retry = sd_event_source_disable_unref(p->retry);
        pump(p);
        return 0;
}

static void arm_retry(SessionPublisher *p) {
        if (p->retry)
                return;
        (void) sd_event_add_time_relative(mqtt_client_get_event(p->client), &p->retry, CLOCK_MONOTONIC,
                                          RETRY_USEC, 100 * 1000, on_retry, p);
}

static void on_published(MqttClient *c, int error, void *userdata) {
        Inflight *f = userdata;
        SessionPublisher *p = f->p;
        Entry *e = f->e;
        int r;

        free(f);
        if (!p)
                return;        /* orphaned by publisher_free() */

        e->inflight = NULL;
        e->state = ENTRY_PENDING;
        p->n_inflight--;

        if (error == -ECANCELED)
                return;         /* the client is going away; the spool keeps the document */
        if (error == -ECONNABORTED) {
                /* The connection dropped before the PUBACK: publish again, in order; Paho
                 * buffers it until the reconnect if need be. */
                pump(p);
                return;
        }
        if (error < 0) {
                report(p, PUBLISHER_PUBLISH_ERROR, error, e->name, e->id);
                arm_retry(p);
                return;
        }

        if (e->name) {
                r = outbox_remove(p->outbox, e->name);
                if (r < 0 && r != -ENOENT)
                        report(p, PUBLISHER_REMOVE_ERROR, r, e->name, e->id);
        }
        /* Off the books before the report, so the callback sees the backlog as it now is. */
        entry_unlink(p, e);
        report(p, PUBLISHER_DELIVERED, 0, e->name, e->id);
        entry_free(e);
        pump(p);
}

static int start_publish(SessionPublisher *p, Entry *e) {
        _cleanup_free_ char *file = NULL;
        char *buf;
        const char *topic, *json;
        size_t len, json_len;
        Inflight *f;
        int r;

        if (e->name) {
                r = outbox_read(p->outbox, e->name, &file, &len);
                if (r < 0)
                        return r == -ENOMEM ? r : -EBADMSG;
                buf = file;
        } else {
                /* envelope_split() writes a NUL over the newline: work on a copy */
                len = strlen(e->mem);
                file = strdup(e->mem);
                if (!file)
                        return -ENOMEM;
                buf = file;
        }
        r = envelope_split(buf, len, &topic, &json, &json_len);
        if (r < 0)
                return r;

        f = calloc(1, sizeof(Inflight));
        if (!f)
                return -ENOMEM;
        f->p = p;
        f->e = e;
        r = mqtt_client_publish(p->client, topic, json, json_len, 1, false, on_published, f);
        if (r < 0) {
                free(f);
                return r;
        }
        e->state = ENTRY_IN_FLIGHT;
        e->inflight = f;
        p->n_inflight++;
        return 0;
}

static void pump(SessionPublisher *p) {
        Entry *next;

        if (!mqtt_client_is_connected(p->client))
                return;

        for (Entry *e = p->head; e && p->n_inflight < p->max_inflight; e = next) {
                int r;

                next = e->next;
                if (e->state != ENTRY_PENDING)
                        continue;
                r = start_publish(p, e);
                if (r == -EBADMSG) {
                        /* Leave the file for a human; never delete what we cannot read. */
                        report(p, PUBLISHER_BAD_ENTRY, r, e->name, e->id);
                        entry_unlink(p, e);
                        entry_free(e);
                        continue;
                }
                if (r < 0) {
                        /* Keep the order: nothing after e goes before e does. */
                        report(p, PUBLISHER_PUBLISH_ERROR, r, e->name, e->id);
                        arm_retry(p);
                        break;
                }
        }
}

int publisher_new(SessionPublisher **ret, MqttClient *client, Outbox *outbox, unsigned max_inflight,
                  PublisherReportFn report_fn, void *userdata) {
        _cleanup_(publisher_freep) SessionPublisher *p = NULL;
        _cleanup_(outbox_list_done) OutboxList l = {};
        int r;

        if (!ret || !client || !outbox)
                return -EINVAL;

        p = calloc(1, sizeof(SessionPublisher));
        if (!p)
                return -ENOMEM;
        p->client = client;
        p->outbox = outbox;
        p->max_inflight = max_inflight ?: DEFAULT_MAX_INFLIGHT;
        p->report = report_fn;
        p->userdata = userdata;

        r = outbox_list(outbox, &l);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l.n_skipped; i++)
                report(p, PUBLISHER_UNKNOWN_FILE, -EBADMSG, l.skipped[i], NULL);
        for (size_t i = 0; i < l.n_items; i++) {
                Entry *e = calloc(1, sizeof(Entry));
                if (!e)
                        return -ENOMEM;
                e->name = TAKE_PTR(l.items[i].name);
                e->id = TAKE_PTR(l.items[i].id);
                entry_append(p, e);
        }

        pump(p);
        *ret = TAKE_PTR(p);
        return 0;
}

SessionPublisher *publisher_free(SessionPublisher *p) {
        if (!p)
                return NULL;
        while (p->head) {
                Entry *e = p->head;
                if (e->inflight) {
                        e->inflight->p = NULL;
                        e->inflight->e = NULL;
                }
                entry_unlink(p, e);
                entry_free(e);
        }
        sd_event_source_disable_unref(p->retry);
        free(p);
        return NULL;
}

static bool topic_ok(const char *topic) {
        return topic && *topic && !strchr(topic, '\n') && !strpbrk(topic, "+#") && strlen(topic) <= TOPIC_MAX;
}

int publisher_spool(Outbox *outbox, const char *topic, const char *id, const char *json) {
        _cleanup_free_ char *envelope = NULL;

        if (!outbox || !topic_ok(topic) || !id || !json)
                return -EINVAL;
        if (asprintf(&envelope, "%s\n%s", topic, json) < 0)
                return -ENOMEM;
        return outbox_push(outbox, id, envelope, strlen(envelope), NULL);
}

int publisher_push(SessionPublisher *p, const char *topic, const char *id, const char *json) {
        _cleanup_free_ char *envelope = NULL, *name = NULL;
        Entry *e;
        int spool_error;

        if (!p || !topic || !*topic || strchr(topic, '\n') || strpbrk(topic, "+#") || strlen(topic) > TOPIC_MAX ||
            !id || !json)
                return -EINVAL;
        if (asprintf(&envelope, "%s\n%s", topic, json) < 0)
                return -ENOMEM;

        spool_error = outbox_push(p->outbox, id, envelope, strlen(envelope), &name);
        if (spool_error == -EINVAL)
                return spool_error;     /* a bad id: a caller bug, not a storage problem */
        if (spool_error < 0) {
                report(p, spool_error == -ENOSPC && outbox_count(p->outbox) >= outbox_max_items(p->outbox)
                                 ? PUBLISHER_SPOOL_FULL
                                                                                : PUBLISHER_SPOOL_ERROR,
                       spool_error, NULL, id);
                if (p->n_memory >= MEMORY_ONLY_MAX) {
                        report(p, PUBLISHER_MEMORY_FULL, -ENOBUFS, NULL, id);
                        return -ENOBUFS;
                }
        }

        e = calloc(1, sizeof(Entry));
        if (!e)
                return -ENOMEM;
        e->id = strdup(id);
        if (!e->id) {
                free(e);
                return -ENOMEM;
        }
        if (spool_error < 0)
                e->mem = TAKE_PTR(envelope);
        else
                e->name = TAKE_PTR(name);
        entry_append(p, e);

        pump(p);
        return spool_error < 0 ? spool_error : 0;
}

void publisher_connected(SessionPublisher *p) {
        if (p)
                pump(p);
}

size_t publisher_backlog(const SessionPublisher *p) {
        return p ? p->n_entries : 0;
}

size_t publisher_in_flight(const SessionPublisher *p) {
        return p ? p->n_inflight : 0;
}
