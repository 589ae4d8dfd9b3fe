/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "mqtt/mqtt-client.h"
#include "mqtt/mqtt-credentials.h"
#include "mqtt/mqtt-uri.h"
#include "mqtt/paho-lib.h"
#include "mqtt/thread-bridge.h"
#include "shared/macro.h"

/* Paho's threads hand over to the loop through a thread bridge. Incoming messages are bounded
 * so that a stuck loop cannot make a flood of commands eat the memory. */
#define MAX_QUEUED_MESSAGES 1000
/* How long free waits for Paho to confirm a disconnect given with timeout 0 (it normally takes
 * milliseconds: Paho closes at once when it processes the command). */
#define FREE_DISCONNECT_WAIT_MS 1000
/* The same bound on the loop, for mqtt_client_shutdown(). */
#define DISCONNECT_CONFIRM_USEC (500 * 1000)

typedef enum EventType {
        EV_CONNECTED,
        EV_CONNECTION_LOST,
        EV_CONNECT_FAILED,
        EV_MESSAGE,
        EV_PUBLISH_DONE,
        EV_DISCONNECT_DONE,
        EV_LOG,
} EventType;

typedef struct Pending Pending;

typedef struct Event {
        BridgeItem item;        /* first: the bridge queues these */
        EventType type;
        int code;
        int level;
        char *text;             /* cause, message or topic */
        void *data;
        size_t len;
        bool retained;
        Pending *pending;
        char *response_topic;   /* MQTT 5 request/response, NULL if none */
        void *correlation;
        size_t correlation_len;
} Event;

/* What Paho carries back to its completion callbacks as their context: what was asked, and
 * of which client. First member of what it belongs to. */
typedef enum RequestKind {
        REQ_CONNECT,
        REQ_SUBSCRIBE,
        REQ_PUBLISH,
        REQ_DISCONNECT,
} RequestKind;

typedef struct Request {
        RequestKind kind;
        MqttClient *client;
} Request;

/* A publish in Paho's hands. Owned by the client's list on the loop thread; Paho only carries
 * the pointer back in its completion callback. */
struct Pending {
        Request req;
        MqttPublishDone done;
        void *userdata;
        Pending *prev, *next;
};

typedef struct Subscription {
        Request req;
        char *filter;
        int qos;
} Subscription;

struct MqttClient {
        sd_event *event;
        ThreadBridge *bridge;
        sd_event_source *shutdown_timer;
        sd_event_source *done_source;
        const PahoLib *lib;             /* the Paho build in use: TLS or not */
        MQTTAsync paho;
        Request connect_req, disconnect_req;

        MqttClientCallbacks cb;
        void *userdata;

        char *uri, *client_id, *username, *password;
        char *ca_file, *cert_file, *key_file;
        char *status_topic, *software_version, *started_at;
        unsigned version, keepalive_s, connect_timeout_s, min_retry_s, max_retry_s, max_inflight;
        /* While disconnected (docs/mqtt.md, "Through an outage"): what Paho holds for us */
        unsigned max_buffered;
        unsigned offline_buffered;      /* fire-and-forget messages handed to Paho offline */
        uint64_t offline_dropped;       /* ... and those not handed over */
        size_t max_queued_messages;
        bool persistent_session;
        bool status_plain;
        bool tls;

        /* loop thread only */
        bool connected;
        bool connecting;
        bool shutting_down;
        bool shutdown_complete;
        bool disconnect_started;        /* the DISCONNECT is in Paho's hands */
        bool offline_acked;             /* the broker acknowledged the offline status */
        void (*shutdown_done)(MqttClient *c, void *userdata);
        void *shutdown_userdata;
        Pending *pending;
        Subscription **subs;
        size_t n_subs;

        /* shared with Paho's threads, under lock: free waits for the disconnect on it */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool disconnect_done;

        /* Paho threads currently inside one of our callbacks (atomic). Paho calls some
         * callbacks without its own lock held, so one may still be running when
         * MQTTAsync_destroy() returns; free waits for it before freeing this struct. */
        unsigned callbacks_running;
};

static void event_free(Event *e) {
        if (!e)
                return;
        assert(!e->item.bounded || e->type == EV_MESSAGE);
        free(e->response_topic);
        free(e->correlation);
        free(e->text);
        free(e->data);
        free(e);
}

/* ---- Paho threads: copy, queue, signal; nothing else ---- */

static void callback_enter(MqttClient *c) {
        __atomic_add_fetch(&c->callbacks_running, 1, __ATOMIC_SEQ_CST);
}

static void callback_leave(MqttClient *c) {
        __atomic_sub_fetch(&c->callbacks_running, 1, __ATOMIC_SEQ_CST);
}

static void push_event(MqttClient *c, Event *e) {
        callback_enter(c);
        if (e->type == EV_DISCONNECT_DONE) {
                pthread_mutex_lock(&c->lock);
                c->disconnect_done = true;
                pthread_cond_broadcast(&c->cond);
                pthread_mutex_unlock(&c->lock);
        }
        thread_bridge_push(c->bridge, &e->item);
        callback_leave(c);
}

static Event *event_new(EventType type, int code, const char *text) {
        Event *e = calloc(1, sizeof(Event));

        if (!e)
                return NULL;
        e->type = type;
        e->code = code;
        if (text && !(e->text = strdup(text))) {
                free(e);
                return NULL;
        }
        return e;
}

static void queue_simple(MqttClient *c, EventType type, int code, const char *text) {
        Event *e = event_new(type, code, text);

        /* Out of memory on a Paho thread: nothing sensible to do but drop it. A lost
         * publish completion leaves the session in the outbox, which is safe. */
        if (e)
                push_event(c, e);
}

static void queue_log(MqttClient *c, MqttLogLevel level, const char *fmt, ...) _printf_(3, 4);
static void queue_log(MqttClient *c, MqttLogLevel level, const char *fmt, ...) {
        va_list ap;
        char *s;
        Event *e;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                return;
        e = calloc(1, sizeof(Event));
        if (!e) {
                free(s);
                return;
        }
        e->type = EV_LOG;
        e->level = level;
        e->text = s;
        push_event(c, e);
}

static void on_connected(void *context, char *cause) {
        queue_simple(context, EV_CONNECTED, 0, NULL);
}

static void on_connection_lost(void *context, char *cause) {
        queue_simple(context, EV_CONNECTION_LOST, 0, cause);
}

static void on_disconnected5(void *context, MQTTProperties *props, enum MQTTReasonCodes rc) {
        MqttClient *c = context;

        queue_log(c, MQTT_LOG_WARNING, "Broker sent DISCONNECT: %s (%d)", c->lib->MQTTReasonCode_toString(rc), (int) rc);
}

/* MQTT 5 request/response: the response topic and correlation data travel with the event. */
static void copy_request_properties(MqttClient *c, Event *e, MQTTAsync_message *m) {
        MQTTProperty *p;

        p = c->lib->MQTTProperties_getProperty(&m->properties, MQTTPROPERTY_CODE_RESPONSE_TOPIC);
        if (p && p->value.data.len > 0)
                e->response_topic = strndup(p->value.data.data, (size_t) p->value.data.len);
        p = c->lib->MQTTProperties_getProperty(&m->properties, MQTTPROPERTY_CODE_CORRELATION_DATA);
        if (p && p->value.data.len > 0 && (e->correlation = malloc((size_t) p->value.data.len))) {
                memcpy(e->correlation, p->value.data.data, (size_t) p->value.data.len);
                e->correlation_len = (size_t) p->value.data.len;
        }
}

static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *m) {
        MqttClient *c = context;

        callback_enter(c);
        if (thread_bridge_reserve(c->bridge)) {
                size_t tl = topic_len > 0 ? (size_t) topic_len : strlen(topic);
                Event *e = calloc(1, sizeof(Event));

                if (e) {
                        e->item.bounded = true;
                        e->type = EV_MESSAGE;
                        e->text = strndup(topic, tl);
                        e->len = m->payloadlen > 0 ? (size_t) m->payloadlen : 0;
                        /* +1: a NUL after the bytes, a convenience for text payloads */
                        e->data = malloc(e->len + 1);
                        e->retained = m->retained;
                        if (e->text && e->data) {
                                memcpy(e->data, m->payload, e->len);
                                ((char *) e->data)[e->len] = 0;
                                copy_request_properties(c, e, m);
                        } else {
                                e->item.bounded = false;
                                event_free(e);
                                e = NULL;
                        }
                }
                if (e)
                        push_event(c, e);
                else
                        thread_bridge_cancel(c->bridge);
        }

        c->lib->MQTTAsync_freeMessage(&m);
        c->lib->MQTTAsync_free(topic);
        callback_leave(c);
        return 1;   /* consumed: Paho must not redeliver it */
}

static void publish_done(Pending *p, int code) {
        Event *e = event_new(EV_PUBLISH_DONE, code, NULL);

        if (!e)
                return;
        e->pending = p;
        push_event(p->req.client, e);
}

/* Every completion Paho reports, MQTT 3.1.1 or 5, ends here on a Paho thread: code is Paho's
 * (0: success), reason the broker's (an MQTT 5 reason code, or 3.1.1's refused-subscription
 * 0x80; >= 0x80 is a refusal), message may be NULL. */
static void request_done(Request *q, int code, int reason, const char *message) {
        MqttClient *c = q->client;

        callback_enter(c);
        switch (q->kind) {
        case REQ_CONNECT:
                /* A success is reported by the connected callback (also after a reconnect). */
                if (code == 0)
                        break;
                if (reason != 0)
                        queue_simple(c, EV_CONNECT_FAILED, reason, c->lib->MQTTReasonCode_toString(reason));
                else
                        queue_simple(c, EV_CONNECT_FAILED, code, message);
                break;
        case REQ_SUBSCRIBE: {
                Subscription *s = (Subscription *) q;

                if (code != 0)
                        queue_log(c, MQTT_LOG_ERR, "Subscribing to %s failed: %d %s", s->filter, code, message ?: "");
                else if (reason >= 0x80 && c->version == 5)
                        queue_log(c, MQTT_LOG_ERR, "Broker refused the subscription to %s: %s", s->filter,
                                  c->lib->MQTTReasonCode_toString(reason));
                else if (reason >= 0x80)
                        queue_log(c, MQTT_LOG_ERR, "Broker refused the subscription to %s", s->filter);
                break;
        }
        case REQ_PUBLISH:
                publish_done((Pending *) q, code != 0 ? code : reason >= 0x80 ? MQTTASYNC_FAILURE : 0);
                break;
        case REQ_DISCONNECT:
                queue_simple(c, EV_DISCONNECT_DONE, code, NULL);
                break;
        }
        callback_leave(c);
}

/* Paho has a pair of callback types per protocol version: these only translate. */
static void on_success(void *context, MQTTAsync_successData *r) {
        Request *q = context;

        /* 3.1.1 reports a refused subscription as granted QoS 0x80. */
        request_done(q, 0, q->kind == REQ_SUBSCRIBE && r && r->alt.qos == 0x80 ? 0x80 : 0, NULL);
}

static void on_success5(void *context, MQTTAsync_successData5 *r) {
        request_done(context, 0, r ? (int) r->reasonCode : 0, NULL);
}

static void on_failure(void *context, MQTTAsync_failureData *r) {
        request_done(context, r && r->code != 0 ? r->code : MQTTASYNC_FAILURE, 0, r ? r->message : NULL);
}

static void on_failure5(void *context, MQTTAsync_failureData5 *r) {
        request_done(context, r && r->code != 0 ? r->code : MQTTASYNC_FAILURE, r ? (int) r->reasonCode : 0,
                     r ? r->message : NULL);
}

/* Connect, response and disconnect options all name their callbacks alike. */
#define SET_CALLBACKS(o, c, q)                                  \
        do {                                                    \
                (o)->context = (q);                             \
                if ((c)->version == 5) {                        \
                        (o)->onSuccess5 = on_success5;          \
                        (o)->onFailure5 = on_failure5;          \
                } else {                                        \
                        (o)->onSuccess = on_success;            \
                        (o)->onFailure = on_failure;            \
                }                                               \
        } while (0)

/* Paho reports a certificate that does not name the broker's host only in its trace, at
 * protocol level ("X509_check_host for hostname H failed"), with no context pointer: while a
 * TLS client is not connected, the trace is on at that level and this picks the line out
 * for the client that is connecting (one TLS client per process, the daemon's). */
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static MqttClient *trace_client;

static void on_paho_trace(enum MQTTASYNC_TRACE_LEVELS level, char *message) {
        const char *p;

        pthread_mutex_lock(&trace_lock);
        if (trace_client && message && (p = strstr(message, "X509_check_host for hostname ")) && strstr(p, " failed")) {
                const char *host = p + strlen("X509_check_host for hostname ");
                const char *end = strstr(host, " failed");
                queue_log(trace_client, MQTT_LOG_ERR, "TLS: host name mismatch: the broker's certificate is not valid "
                          "for %.*s", (int) (end - host), host);
        }
        pthread_mutex_unlock(&trace_lock);
}

static void trace_watch(MqttClient *c, bool on) {
        pthread_mutex_lock(&trace_lock);
        if (on && (!trace_client || trace_client == c)) {
                trace_client = c;
                c->lib->MQTTAsync_setTraceCallback(on_paho_trace);
                c->lib->MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_PROTOCOL);
        } else if (!on && trace_client == c) {
                c->lib->MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
                c->lib->MQTTAsync_setTraceCallback(NULL);
                trace_client = NULL;
        }
        pthread_mutex_unlock(&trace_lock);
}

static int on_ssl_error(const char *str, size_t len, void *u) {
        queue_log(u, MQTT_LOG_ERR, "TLS: %.*s", (int) (len > 0 && str[len - 1] == '\n' ? len - 1 : len), str);
        return 0;
}

/* ---- loop thread ---- */

static void client_log(MqttClient *c, MqttLogLevel level, const char *fmt, ...) _printf_(3, 4);
static void client_log(MqttClient *c, MqttLogLevel level, const char *fmt, ...) {
        va_list ap;
        char *s;

        if (!c->cb.log)
                return;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                return;
        c->cb.log(c, level, s, c->userdata);
        free(s);
}

static int errno_from_paho(int rc) {
        switch (rc) {
        case MQTTASYNC_SUCCESS:
                return 0;
        case MQTTASYNC_DISCONNECTED:
        case MQTTASYNC_OPERATION_INCOMPLETE:
                return -ECONNABORTED;
        case MQTTASYNC_MAX_BUFFERED_MESSAGES:
        case MQTTASYNC_MAX_BUFFERED:
        case MQTTASYNC_MAX_MESSAGES_INFLIGHT:
        case MQTTASYNC_NO_MORE_MSGIDS:
                return -ENOBUFS;
        case MQTTASYNC_BAD_UTF8_STRING:
        case MQTTASYNC_NULL_PARAMETER:
        case MQTTASYNC_BAD_QOS:
        case MQTTASYNC_BAD_STRUCTURE:
        case MQTTASYNC_BAD_MQTT_OPTION:
        case MQTTASYNC_TOPICNAME_TRUNCATED:
                return -EINVAL;
        case MQTTASYNC_SSL_NOT_SUPPORTED:
        case MQTTASYNC_BAD_PROTOCOL:
                return -EPROTONOSUPPORT;
        default:
                return -EIO;
        }
}

static void pending_unlink(MqttClient *c, Pending *p) {
        if (p->prev)
                p->prev->next = p->next;
        else
                c->pending = p->next;
        if (p->next)
                p->next->prev = p->prev;
        p->prev = p->next = NULL;
}

static void subscribe_one(MqttClient *c, Subscription *s) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        int rc;

        SET_CALLBACKS(&ro, c, &s->req);
        /* Retain As Published: a retained message delivered live keeps its flag (MQTT 3.1.1
         * brokers clear it), so a retained command is recognised and refused whenever it
         * arrives, not only at the next connect. */
        if (c->version == 5)
                ro.subscribeOptions.retainAsPublished = 1;
        rc = c->lib->MQTTAsync_subscribe(c->paho, s->filter, s->qos, &ro);
        if (rc != MQTTASYNC_SUCCESS)
                client_log(c, MQTT_LOG_ERR, "Subscribing to %s failed: %s", s->filter, c->lib->MQTTAsync_strerror(rc));
}

static void publish_online(MqttClient *c) {
        json_object *o;
        int r;

        if (!c->status_topic)
                return;
        if (c->status_plain) {
                r = mqtt_client_publish(c, c->status_topic, "online", 6, 1, true, NULL, NULL);
                if (r < 0)
                        client_log(c, MQTT_LOG_ERR, "Publishing the online status failed: %s", strerror(-r));
                return;
        }
        o = json_object_new_object();
        if (!o)
                return;
        json_object_object_add(o, "state", json_object_new_string("online"));
        if (c->software_version)
                json_object_object_add(o, "version", json_object_new_string(c->software_version));
        if (c->started_at)
                json_object_object_add(o, "started_at", json_object_new_string(c->started_at));
        if (c->cb.online_status)
                c->cb.online_status(c, o, c->userdata);

        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = mqtt_client_publish(c, c->status_topic, s, strlen(s), 1, true, NULL, NULL);
        if (r < 0)
                client_log(c, MQTT_LOG_ERR, "Publishing the online status failed: %s", strerror(-r));
        json_object_put(o);
}

uint64_t mqtt_client_incoming_dropped(MqttClient *c) {
        return c ? thread_bridge_drops(c->bridge) : 0;
}

int mqtt_client_publish_status(MqttClient *c) {
        if (!c->status_topic)
                return -ENOENT;
        if (!mqtt_client_is_connected(c))
                return -ENOTCONN;
        publish_online(c);
        return 0;
}

static int on_shutdown_done(sd_event_source *s, void *userdata) {
        MqttClient *c = userdata;
        void (*done)(MqttClient *, void *) = c->shutdown_done;

        c->shutdown_done = NULL;
        c->done_source = sd_event_source_disable_unref(c->done_source);
        /* Last thing we do with c: done may free it. */
        if (done)
                done(c, c->shutdown_userdata);
        return 0;
}

static void finish_shutdown(MqttClient *c) {
        if (!c->shutting_down)
                return;
        c->shutting_down = false;
        c->shutdown_complete = true;
        c->connected = false;
        c->shutdown_timer = sd_event_source_disable_unref(c->shutdown_timer);
        /* done runs from its own event source, so that it may free the client: we may be in
         * the middle of draining the event queue here. */
        if (sd_event_add_defer(c->event, &c->done_source, on_shutdown_done, c) < 0)
                c->shutdown_done = NULL;   /* out of memory: nobody to tell, free still works */
}

static void shutdown_check_flushed(MqttClient *c);
static void start_disconnect(MqttClient *c, bool with_will);

static void dispatch(MqttClient *c, Event *e) {
        switch (e->type) {
        case EV_CONNECTED:
                c->connecting = false;
                if (c->shutting_down || c->shutdown_complete)
                        break;  /* a connect that raced the shutdown: nothing to announce */
                c->connected = true;
                if (c->tls)
                        trace_watch(c, false);
                client_log(c, MQTT_LOG_INFO, "Connected to %s as %s", c->uri, c->client_id);
                if (c->offline_dropped > 0)
                        client_log(c, MQTT_LOG_INFO, "While offline: %u messages kept and sent now, %" PRIu64
                                   " live-state or surplus messages not kept", c->offline_buffered, c->offline_dropped);
                c->offline_buffered = 0;
                c->offline_dropped = 0;
                publish_online(c);
                for (size_t i = 0; i < c->n_subs; i++)
                        subscribe_one(c, c->subs[i]);
                if (c->cb.connected)
                        c->cb.connected(c, c->userdata);
                break;

        case EV_CONNECTION_LOST:
                c->connected = false;
                if (c->tls)
                        trace_watch(c, true);
                client_log(c, MQTT_LOG_WARNING, "Connection to %s lost%s%s", c->uri,
                           e->text ? ": " : "", e->text ?: "");
                if (c->cb.connection_lost)
                        c->cb.connection_lost(c, e->text, c->userdata);
                /* Nothing more will be acknowledged; the broker publishes the will itself. */
                if (c->shutting_down)
                        start_disconnect(c, false);
                break;

        case EV_CONNECT_FAILED:
                client_log(c, MQTT_LOG_ERR, "Connecting to %s failed: %s (%d); retrying with backoff",
                           c->uri, e->text ?: c->lib->MQTTAsync_strerror(e->code), e->code);
                if (c->cb.connect_failed)
                        c->cb.connect_failed(c, e->code, e->text, c->userdata);
                break;

        case EV_MESSAGE:
                uint64_t dropped = thread_bridge_take_drops(c->bridge);
                if (dropped > 0)
                        client_log(c, MQTT_LOG_WARNING, "Dropped %" PRIu64 " incoming messages (queue full)", dropped);
                if (c->cb.request && e->response_topic)
                        c->cb.request(c, e->text, e->data, e->len, e->response_topic, e->correlation,
                                      e->correlation_len, c->userdata);
                else if (c->cb.message)
                        c->cb.message(c, e->text, e->data, e->len, e->retained, c->userdata);
                break;

        case EV_PUBLISH_DONE: {
                Pending *p = e->pending;

                pending_unlink(c, p);
                if (p->done)
                        p->done(c, errno_from_paho(e->code), p->userdata);
                free(p);
                shutdown_check_flushed(c);
                break;
        }

        case EV_DISCONNECT_DONE:
                c->connected = false;
                if (e->code != 0)
                        client_log(c, MQTT_LOG_WARNING, "Disconnect did not complete cleanly: %s", c->lib->MQTTAsync_strerror(e->code));
                finish_shutdown(c);
                break;

        case EV_LOG:
                if (c->cb.log)
                        c->cb.log(c, e->level, e->text, c->userdata);
                break;
        }
}

static void on_bridge_item(BridgeItem *item, void *userdata) {
        Event *e = (Event *) item;

        dispatch(userdata, e);
        event_free(e);
}

static void bridge_item_free(BridgeItem *item) {
        event_free((Event *) item);
}

static int on_shutdown_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        MqttClient *c = userdata;

        client_log(c, MQTT_LOG_WARNING, "Disconnect from %s timed out", c->uri);
        finish_shutdown(c);
        return 0;
}

static int on_shutdown_now(sd_event_source *s, uint64_t usec, void *userdata) {
        finish_shutdown(userdata);
        return 0;
}

static int strdup_opt(char **dst, const char *src) {
        if (!src)
                return 0;
        *dst = strdup(src);
        return *dst ? 0 : -ENOMEM;
}

int mqtt_client_new(MqttClient **ret, sd_event *event, const MqttClientOptions *opts,
                    const MqttClientCallbacks *callbacks, void *userdata) {
        _cleanup_(mqtt_client_freep) MqttClient *c = NULL;
        MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
        int r, rc;

        if (!ret || !event || !opts || !mqtt_uri_valid(opts->uri, NULL))
                return -EINVAL;
        if (opts->version != 0 && opts->version != 3 && opts->version != 5)
                return -EINVAL;

        c = calloc(1, sizeof(MqttClient));
        if (!c)
                return -ENOMEM;
        c->connect_req = (Request) { REQ_CONNECT, c };
        c->disconnect_req = (Request) { REQ_DISCONNECT, c };
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->cond, NULL);
        c->event = sd_event_ref(event);
        if (callbacks)
                c->cb = *callbacks;
        c->userdata = userdata;

        c->version = opts->version ?: MQTT_CLIENT_DEFAULT_VERSION;
        c->keepalive_s = opts->keepalive_s ?: MQTT_CLIENT_DEFAULT_KEEPALIVE_S;
        c->connect_timeout_s = opts->connect_timeout_s ?: 10;
        c->min_retry_s = opts->min_retry_s ?: 1;
        /* A few seconds at most: after an outage the hub must be back soon after the broker
         * (Paho looks at its retry timer only every few seconds on top of this). */
        c->max_retry_s = MAX(opts->max_retry_s ?: 4, c->min_retry_s);
        c->max_inflight = opts->max_inflight ?: 20;
        c->persistent_session = opts->persistent_session;
        c->max_queued_messages = opts->max_queued_messages ? opts->max_queued_messages : MAX_QUEUED_MESSAGES;
        c->status_plain = opts->status_plain;
        (void) mqtt_uri_valid(opts->uri, &c->tls);

        if (strdup_opt(&c->uri, opts->uri) < 0 ||
            strdup_opt(&c->ca_file, opts->ca_file) < 0 ||
            strdup_opt(&c->cert_file, opts->cert_file) < 0 ||
            strdup_opt(&c->key_file, opts->key_file) < 0 ||
            strdup_opt(&c->status_topic, opts->status_topic) < 0 ||
            strdup_opt(&c->software_version, opts->software_version) < 0 ||
            strdup_opt(&c->started_at, opts->started_at) < 0)
                return -ENOMEM;

        const char *load_error;
        r = paho_lib_get(c->tls, &c->lib, &load_error);
        if (r < 0) {
                client_log(c, MQTT_LOG_ERR, "Cannot load the MQTT library for %s: %s", c->uri, load_error);
                return r;
        }

        if (!c->tls && (opts->ca_file || opts->cert_file || opts->key_file))
                client_log(c, MQTT_LOG_WARNING, "TLS files are configured but %s is not an ssl:// URI: they are ignored", c->uri);

        if (opts->client_id && *opts->client_id)
                r = strdup_opt(&c->client_id, opts->client_id);
        else {
                char host[256] = {};
                if (gethostname(host, sizeof(host) - 1) < 0 || !*host)
                        strcpy(host, "tphub");
                r = strdup_opt(&c->client_id, host);
        }
        if (r < 0)
                return r;

        if (opts->credentials_file) {
                MqttCredentials cred;
                _cleanup_free_ char *why = NULL;

                r = mqtt_credentials_read(opts->credentials_file, &cred, &why);
                if (r < 0) {
                        if (why)
                                client_log(c, MQTT_LOG_ERR, "%s", why);
                        return r;
                }
                c->username = TAKE_PTR(cred.user);
                c->password = TAKE_PTR(cred.password);
                if (!c->tls)
                        client_log(c, MQTT_LOG_WARNING, "The MQTT password goes unencrypted over %s: use ssl://", c->uri);
        }

        r = thread_bridge_new(&c->bridge, event, c->max_queued_messages, on_bridge_item, bridge_item_free, c);
        if (r < 0)
                return r;

        co.sendWhileDisconnected = 1;
        co.allowDisconnectedSendAtAnyTime = 1;
        c->max_buffered = opts->max_buffered ?: 1000;
        co.maxBufferedMessages = (int) c->max_buffered;
        /* Paho frees the oldest buffered message without calling its failure callback: never
         * let it; a full buffer is an error the caller sees instead. */
        co.deleteOldestMessages = 0;
        co.restoreMessages = 0;
        co.persistQoS0 = 0;
        co.MQTTVersion = c->version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;

        /* No Paho persistence: its store is keyed on client id + URI and was seen to overwrite
         * files across restarts (paho.mqtt.c#618); the outbox is our durable store. */
        rc = c->lib->MQTTAsync_createWithOptions(&c->paho, c->uri, c->client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
        if (rc != MQTTASYNC_SUCCESS) {
                c->paho = NULL;
                client_log(c, MQTT_LOG_ERR, "Cannot create the MQTT client for %s: %s", c->uri, c->lib->MQTTAsync_strerror(rc));
                return errno_from_paho(rc);
        }

        /* At its default level Paho formats every protocol event into its trace buffer, which
         * nobody reads unless a TLS connect watches it (trace_watch): about 0.7 k instructions
         * per force sample at a hub's message rate (docs/benchmarks.md). */
        pthread_mutex_lock(&trace_lock);
        if (!trace_client)
                c->lib->MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
        pthread_mutex_unlock(&trace_lock);

        rc = c->lib->MQTTAsync_setCallbacks(c->paho, c, on_connection_lost, on_message, NULL);
        if (rc == MQTTASYNC_SUCCESS)
                rc = c->lib->MQTTAsync_setConnected(c->paho, c, on_connected);
        if (rc == MQTTASYNC_SUCCESS && c->version == 5)
                rc = c->lib->MQTTAsync_setDisconnected(c->paho, c, on_disconnected5);
        if (rc != MQTTASYNC_SUCCESS)
                return errno_from_paho(rc);

        *ret = TAKE_PTR(c);
        return 0;
}

int mqtt_client_connect(MqttClient *c) {
        MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
        MQTTAsync_connectOptions co5 = MQTTAsync_connectOptions_initializer5;
        MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
        MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
        MQTTProperties props = MQTTProperties_initializer;
        MQTTAsync_connectOptions *o;
        int rc;

        if (!c || !c->paho)
                return -EINVAL;
        if (c->shutting_down || c->shutdown_complete)
                return -ESHUTDOWN;
        if (c->connected || c->connecting)
                return -EALREADY;

        o = c->version == 5 ? &co5 : &co;
        o->keepAliveInterval = (int) c->keepalive_s;
        o->connectTimeout = (int) c->connect_timeout_s;
        o->maxInflight = (int) c->max_inflight;
        o->automaticReconnect = 1;
        o->minRetryInterval = (int) c->min_retry_s;
        o->maxRetryInterval = (int) c->max_retry_s;
        o->retryInterval = 0;
        o->username = c->username;
        o->password = c->password;
        SET_CALLBACKS(o, c, &c->connect_req);

        if (c->version == 5) {
                o->MQTTVersion = MQTTVERSION_5;
                o->cleanstart = !c->persistent_session;
                if (c->persistent_session) {
                        MQTTProperty p = { .identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL,
                                           .value.integer4 = 3600 };
                        c->lib->MQTTProperties_add(&props, &p);
                        o->connectProperties = &props;
                }
        } else {
                o->MQTTVersion = MQTTVERSION_3_1_1;
                o->cleansession = !c->persistent_session;
        }

        if (c->status_topic) {
                will.topicName = c->status_topic;
                will.message = c->status_plain ? "offline" : "{\"state\":\"offline\"}";
                will.retained = 1;
                will.qos = 1;
                o->will = &will;
        }

        if (c->tls) {
                ssl.trustStore = c->ca_file;
                ssl.keyStore = c->cert_file;
                ssl.privateKey = c->key_file;
                ssl.enableServerCertAuth = 1;
                ssl.verify = 1;                 /* also check the host name */
                /* Paho ignores sslVersion with OpenSSL >= 1.1 (TLS_client_method): the
                 * protocol floor is OpenSSL's (Debian 12: TLS 1.2). */
                ssl.sslVersion = MQTT_SSL_VERSION_DEFAULT;
                ssl.ssl_error_cb = on_ssl_error;
                ssl.ssl_error_context = c;
                o->ssl = &ssl;
        }

        if (c->tls)
                trace_watch(c, true);
        rc = c->lib->MQTTAsync_connect(c->paho, o);
        c->lib->MQTTProperties_free(&props);
        if (rc != MQTTASYNC_SUCCESS) {
                client_log(c, MQTT_LOG_ERR, "Connecting to %s failed: %s", c->uri, c->lib->MQTTAsync_strerror(rc));
                return errno_from_paho(rc);
        }
        c->connecting = true;
        return 0;
}

int mqtt_client_reconnect_now(MqttClient *c) {
        if (!c || !c->paho)
                return -EINVAL;
        return errno_from_paho(c->lib->MQTTAsync_reconnect(c->paho));
}

/* The DISCONNECT goes to Paho only once nothing we care about is in flight, with Paho's own
 * timeout 0: Paho waits for in-flight QoS 1 flows only by polling them from a 3 s cadence
 * (MQTTAsync_checkTimeouts), so a DISCONNECT queued behind a single unacknowledged message
 * took 3 s to complete even when its PUBACK came a millisecond later. We wait for the
 * acknowledgements on the loop instead, bounded, and then close at once. with_will: the offline
 * status was not acknowledged in time; with MQTT 5 the broker is then asked to publish the will
 * (reason code 0x04), so "offline" still reaches the topic. */
/* The DISCONNECT, with Paho's timeout 0: Paho closes the connection when it processes the
 * command and confirms on its thread; whatever is still in flight fails. */
static int paho_disconnect(MqttClient *c, enum MQTTReasonCodes reason) {
        MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
        MQTTAsync_disconnectOptions d5 = MQTTAsync_disconnectOptions_initializer5;
        MQTTAsync_disconnectOptions *o = c->version == 5 ? &d5 : &d;

        o->timeout = 0;
        if (c->version == 5)
                o->reasonCode = reason;
        SET_CALLBACKS(o, c, &c->disconnect_req);

        pthread_mutex_lock(&c->lock);
        c->disconnect_done = false;
        pthread_mutex_unlock(&c->lock);
        return c->lib->MQTTAsync_disconnect(c->paho, o);
}

static void start_disconnect(MqttClient *c, bool with_will) {
        int r;

        if (c->disconnect_started)
                return;
        c->disconnect_started = true;
        c->shutdown_timer = sd_event_source_disable_unref(c->shutdown_timer);

        if (paho_disconnect(c, with_will && c->status_topic ? MQTTREASONCODE_DISCONNECT_WITH_WILL_MESSAGE
                                                          : MQTTREASONCODE_SUCCESS) != MQTTASYNC_SUCCESS) {
                /* Not connected (or never was): there is nothing to wait for. */
                pthread_mutex_lock(&c->lock);
                c->disconnect_done = true;
                pthread_mutex_unlock(&c->lock);
                c->connected = false;
                /* Complete asynchronously all the same, so callers see one behaviour. */
                r = sd_event_add_time_relative(c->event, &c->shutdown_timer, CLOCK_MONOTONIC, 0, 1000,
                                               on_shutdown_now, c);
                if (r < 0)
                        finish_shutdown(c);
                return;
        }
        /* Paho confirms from its send thread within milliseconds; this only bounds a Paho that
         * does not. */
        r = sd_event_add_time_relative(c->event, &c->shutdown_timer, CLOCK_MONOTONIC,
                                       DISCONNECT_CONFIRM_USEC, 1000, on_shutdown_timeout, c);
        if (r < 0)
                finish_shutdown(c);
}

static void on_offline_done(MqttClient *c, int error, void *userdata) {
        c->offline_acked = error == 0;
}

/* While shutting down, every completed publish may be the last one we wait for. */
static void shutdown_check_flushed(MqttClient *c) {
        if (c->shutting_down && !c->disconnect_started && !c->pending)
                start_disconnect(c, false);
}

static int on_flush_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        MqttClient *c = userdata;

        client_log(c, MQTT_LOG_WARNING, "Messages to %s still unacknowledged at shutdown: closing anyway", c->uri);
        c->shutdown_timer = sd_event_source_disable_unref(c->shutdown_timer);
        start_disconnect(c, !c->offline_acked);
        return 0;
}

int mqtt_client_shutdown(MqttClient *c, uint64_t timeout_usec,
                         void (*done)(MqttClient *c, void *userdata), void *userdata) {
        int r;

        if (!c || !c->paho)
                return -EINVAL;
        if (c->shutting_down || c->shutdown_complete)
                return -EALREADY;

        c->shutting_down = true;
        c->shutdown_done = done;
        c->shutdown_userdata = userdata;

        /* A clean DISCONNECT suppresses the last will: say "offline" ourselves, and wait
         * (bounded) for its PUBACK and for those of the other publishes with a completion
         * (sessions: unacknowledged ones stay in the outbox) before disconnecting. */
        if (c->status_topic && c->connected) {
                const char *offline = c->status_plain ? "offline" : "{\"state\":\"offline\"}";
                r = mqtt_client_publish(c, c->status_topic, offline, strlen(offline), 1, true, on_offline_done, NULL);
                if (r < 0)
                        client_log(c, MQTT_LOG_WARNING, "Publishing the offline status failed: %s", strerror(-r));
        }

        if (!c->connected || !c->pending) {
                start_disconnect(c, false);
                return 0;
        }
        r = sd_event_add_time_relative(c->event, &c->shutdown_timer, CLOCK_MONOTONIC,
                                       timeout_usec, 1000, on_flush_timeout, c);
        if (r < 0) {
                start_disconnect(c, true);
                return 0;
        }
        return 0;
}

int mqtt_client_publish(MqttClient *c, const char *topic, const void *payload, size_t len,
                        int qos, bool retain, MqttPublishDone done, void *userdata) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        MQTTAsync_message m = MQTTAsync_message_initializer;
        Pending *p = NULL;
        int rc;

        /* A wildcard in a PUBLISH is a protocol error: the broker would drop the connection. */
        if (!c || !c->paho || !topic || !*topic || strpbrk(topic, "+#") || (!payload && len > 0) ||
            qos < 0 || qos > 2 || len > 256 * 1024 * 1024)
                return -EINVAL;

        if (!c->connected) {
                /* Live state (QoS 0, retained) is re-published at the next connect by whoever
                 * owns it (the online status here, state and tools by the hub): buffering it
                 * would only crowd out what matters. Fire-and-forget messages (events) get
                 * the buffer less a tenth, kept for messages with a completion (sessions). */
                if (!done && (qos == 0 || retain)) {
                        c->offline_dropped++;
                        return -ENOTCONN;
                }
                if (!done && c->offline_buffered >= c->max_buffered - c->max_buffered / 10) {
                        c->offline_dropped++;
                        return -ENOBUFS;
                }
        }

        m.payload = (void *) payload;
        m.payloadlen = (int) len;
        m.qos = qos;
        m.retained = retain;

        if (done) {
                p = calloc(1, sizeof(Pending));
                if (!p)
                        return -ENOMEM;
                p->req = (Request) { REQ_PUBLISH, c };
                p->done = done;
                p->userdata = userdata;
                SET_CALLBACKS(&ro, c, &p->req);
        }

        /* Paho copies topic and payload. A completion callback can only be dispatched by this
         * (the loop) thread, so linking p after the call is race-free. */
        rc = c->lib->MQTTAsync_sendMessage(c->paho, topic, &m, &ro);
        if (rc != MQTTASYNC_SUCCESS) {
                free(p);
                return errno_from_paho(rc);
        }
        if (!c->connected && !done)
                c->offline_buffered++;
        if (p) {
                p->next = c->pending;
                if (c->pending)
                        c->pending->prev = p;
                c->pending = p;
        }
        return 0;
}

int mqtt_client_publish_response(MqttClient *c, const char *topic, const void *payload, size_t len,
                                 const void *correlation, size_t correlation_len) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        MQTTAsync_message m = MQTTAsync_message_initializer;
        MQTTProperty prop = { .identifier = MQTTPROPERTY_CODE_CORRELATION_DATA };
        int rc;

        if (!c || !c->paho || c->version != 5 || !topic || !*topic || strpbrk(topic, "+#") ||
            (!payload && len > 0) || len > 256 * 1024 * 1024 || correlation_len > 65535)
                return -EINVAL;
        m.payload = (void *) payload;
        m.payloadlen = (int) len;
        m.qos = 1;
        if (correlation && correlation_len > 0) {
                prop.value.data.data = (char *) correlation;
                prop.value.data.len = (int) correlation_len;
                if (c->lib->MQTTProperties_add(&m.properties, &prop) != 0)
                        return -ENOMEM;
        }
        rc = c->lib->MQTTAsync_sendMessage(c->paho, topic, &m, &ro);
        c->lib->MQTTProperties_free(&m.properties);
        return rc == MQTTASYNC_SUCCESS ? 0 : errno_from_paho(rc);
}

int mqtt_client_subscribe(MqttClient *c, const char *topic_filter, int qos) {
        Subscription *s, **a;

        if (!c || !topic_filter || !*topic_filter || qos < 0 || qos > 2)
                return -EINVAL;
        for (size_t i = 0; i < c->n_subs; i++)
                if (strcmp(c->subs[i]->filter, topic_filter) == 0)
                        return -EEXIST;

        s = calloc(1, sizeof(Subscription));
        if (!s)
                return -ENOMEM;
        s->req = (Request) { REQ_SUBSCRIBE, c };
        s->qos = qos;
        s->filter = strdup(topic_filter);
        a = realloc(c->subs, (c->n_subs + 1) * sizeof(Subscription *));
        if (!s->filter || !a) {
                if (a)
                        c->subs = a;
                free(s->filter);
                free(s);
                return -ENOMEM;
        }
        c->subs = a;
        c->subs[c->n_subs++] = s;

        if (c->connected)
                subscribe_one(c, s);
        return 0;
}

bool mqtt_client_is_connected(const MqttClient *c) {
        return c && c->connected;
}

const char *mqtt_client_get_id(const MqttClient *c) {
        return c ? c->client_id : NULL;
}

/* Teardown order, following the Paho pitfalls (docs/mqtt.md, "Shutdown";
 * paho.mqtt.c#578, #1236, #1294, #1440, #1669): MQTTAsync_destroy() must never run inside a Paho
 * callback and never while a disconnect is still in progress, else Paho's threads can call
 * back into freed memory or destroy can hang. So:
 *   1. if still connected, MQTTAsync_disconnect() and wait for its onSuccess/onFailure
 *      (normally mqtt_client_shutdown() did this on the loop; here we wait on a condition
 *      variable, bounded);
 *   2. MQTTAsync_destroy(): Paho fails (calls onFailure for) what is still queued, on this
 *      thread, which only adds events to our queue;
 *   3. wait for any Paho thread still inside one of our callbacks (Paho runs some of them
 *      outside its own lock), bounded;
 *   4. only now free the queue, complete the pending publishes with -ECANCELED, free the
 *      subscriptions Paho carried pointers to, and close the eventfd. */
MqttClient *mqtt_client_free(MqttClient *c) {
        if (!c)
                return NULL;
        trace_watch(c, false);

        if (c->paho) {
                bool wait = false;

                if (c->disconnect_started) {
                        /* mqtt_client_shutdown() may have given up on its timer while Paho
                         * still disconnects: wait for Paho all the same. */
                        pthread_mutex_lock(&c->lock);
                        wait = !c->disconnect_done;
                        pthread_mutex_unlock(&c->lock);
                } else
                        /* Even when not connected: disconnect also stops Paho's reconnect
                         * attempts, and destroying a client mid-reconnect is what hangs (#578).
                         * No grace period here: whatever is in flight fails now (the outbox
                         * keeps it); mqtt_client_shutdown() is the path that flushes first. */
                        wait = paho_disconnect(c, MQTTREASONCODE_SUCCESS) == MQTTASYNC_SUCCESS;

                if (wait) {
                        struct timespec deadline;

                        clock_gettime(CLOCK_REALTIME, &deadline);
                        deadline.tv_sec += FREE_DISCONNECT_WAIT_MS / 1000;
                        pthread_mutex_lock(&c->lock);
                        while (!c->disconnect_done)
                                if (pthread_cond_timedwait(&c->cond, &c->lock, &deadline) == ETIMEDOUT)
                                        break;
                        pthread_mutex_unlock(&c->lock);
                }

                c->lib->MQTTAsync_destroy(&c->paho);

                for (unsigned i = 0; i < 1000 && __atomic_load_n(&c->callbacks_running, __ATOMIC_SEQ_CST) > 0; i++)
                        usleep(1000);
        }

        /* What Paho queued and the loop never saw. */
        c->bridge = thread_bridge_free(c->bridge);
        /* Paho no longer holds these: tell their owners, so nobody waits forever. */
        while (c->pending) {
                Pending *p = c->pending;
                pending_unlink(c, p);
                if (p->done)
                        p->done(c, -ECANCELED, p->userdata);
                free(p);
        }
        for (size_t i = 0; i < c->n_subs; i++) {
                free(c->subs[i]->filter);
                free(c->subs[i]);
        }
        free(c->subs);

        sd_event_source_disable_unref(c->shutdown_timer);
        sd_event_source_disable_unref(c->done_source);
        sd_event_unref(c->event);

        if (c->password)
                explicit_bzero(c->password, strlen(c->password));
        free(c->password);
        free(c->username);
        free(c->uri);
        free(c->client_id);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        free(c->status_topic);
        free(c->software_version);
        free(c->started_at);
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
}

sd_event *mqtt_client_get_event(const MqttClient *c) {
        return c ? c->event : NULL;
}
