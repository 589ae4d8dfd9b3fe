/* SPDX-License-Identifier: MIT */
/* tphubctl's MQTT conversation with a hub: the project's client on a private loop. */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "ctl/ctl-conversation.h"
#include "mqtt/mqtt-client.h"
#include "shared/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

struct Conversation {
        sd_event *event;
        MqttClient *client;
        char *sync_topic;
        char nonce[40];
        char *error;

        ConversationMessage cb;
        void *userdata;
        bool synced, stopping, disconnected;
        int result;             /* set ends the current run */
        bool done;
};

static void set_error(Conversation *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(Conversation *c, const char *fmt, ...) {
        char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        free(c->error);
        c->error = s;
}

static void finish(Conversation *c, int result) {
        if (c->done)
                return;
        c->result = result;
        c->done = true;
}

static void on_connected(MqttClient *m, void *userdata) {
        Conversation *c = userdata;

        /* after the subscriptions, which the client re-issued just before this */
        if (!c->synced)
                (void) mqtt_client_publish(m, c->sync_topic, c->nonce, strlen(c->nonce), 1, false, NULL, NULL);
}

static void on_connection_lost(MqttClient *m, const char *cause, void *userdata) {
        Conversation *c = userdata;

        set_error(c, "the connection to the broker was lost%s%s", cause ? ": " : "", cause ?: "");
        finish(c, -ECONNRESET);
}

static void on_connect_failed(MqttClient *m, int code, const char *message, void *userdata) {
        Conversation *c = userdata;

        /* Paho would go on retrying; a command-line client says so and stops. */
        if (!c->error || message)
                set_error(c, "%s", message ?: "connection failed");
        finish(c, -ECONNREFUSED);
}

static void on_message(MqttClient *m, const char *topic, const void *payload, size_t len, bool retained,
                       void *userdata) {
        Conversation *c = userdata;
        _cleanup_(json_object_putp) json_object *doc = NULL;
        int r;

        if (!c->synced && strcmp(topic, c->sync_topic) == 0) {
                if (len == strlen(c->nonce) && memcmp(payload, c->nonce, len) == 0) {
                        c->synced = true;
                        finish(c, 0);
                }
                return;
        }
        if (strcmp(topic, c->sync_topic) == 0 || !c->cb)
                return;
        if (len > 0 && len < 1024 * 1024) {
                json_tokener *tok = json_tokener_new();

                if (tok) {
                        doc = json_tokener_parse_ex(tok, payload, (int) len);
                        if (json_tokener_get_error(tok) != json_tokener_success ||
                            json_tokener_get_parse_end(tok) != len || !json_object_is_type(doc, json_type_object)) {
                                json_object_put(doc);
                                doc = NULL;
                        }
                        json_tokener_free(tok);
                }
        }
        r = c->cb(topic, doc, retained, c->userdata);
        if (r != 0)
                finish(c, r);
}

static void on_log(MqttClient *m, MqttLogLevel level, const char *message, void *userdata) {
        Conversation *c = userdata;

        /* The reason a connect failed (TLS verification, refused login) comes as an error. */
        if (level <= MQTT_LOG_WARNING && !c->synced)
                set_error(c, "%s", message);
}

int conversation_new(Conversation **ret, const ConversationOptions *opts) {
        _cleanup_(conversation_freep) Conversation *c = NULL;
        static const MqttClientCallbacks cb = {
                .connected = on_connected,
                .connection_lost = on_connection_lost,
                .connect_failed = on_connect_failed,
                .message = on_message,
                .log = on_log,
        };
        char host[64] = "", client_id[128];
        FILE *f;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        r = sd_event_new(&c->event);
        if (r < 0)
                return r;

        /* A unique client id (a second one with the same id would throw this one off) and a
         * nonce that nobody else publishes. */
        (void) gethostname(host, sizeof host - 1);
        snprintf(client_id, sizeof client_id, "tphubctl-%s-%d", *host ? host : "host", (int) getpid());
        f = fopen("/proc/sys/kernel/random/uuid", "re");
        if (!f || !fgets(c->nonce, sizeof c->nonce, f))
                snprintf(c->nonce, sizeof c->nonce, "%d-%lld", (int) getpid(), (long long) time(NULL));
        if (f)
                fclose(f);
        c->nonce[strcspn(c->nonce, "\n")] = '\0';
        if (asprintf(&c->sync_topic, "%s/%s/ctl/%s", opts->prefix, opts->hub, client_id) < 0)
                return -ENOMEM;

        MqttClientOptions o = {
                .uri = opts->uri,
                .client_id = client_id,
                .version = opts->version,
                .credentials_file = opts->credentials_file,
                .ca_file = opts->ca_file,
                .cert_file = opts->cert_file,
                .key_file = opts->key_file,
                .connect_timeout_s = 5,
        };
        r = mqtt_client_new(&c->client, c->event, &o, &cb, c);
        if (r < 0)
                return r;
        r = mqtt_client_subscribe(c->client, c->sync_topic, 1);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

static void shutdown_done(MqttClient *m, void *userdata) {
        Conversation *c = userdata;

        c->disconnected = true;
}

Conversation *conversation_free(Conversation *c) {
        if (!c)
                return NULL;
        if (c->client && mqtt_client_is_connected(c->client) &&
            mqtt_client_shutdown(c->client, 1000 * 1000, shutdown_done, c) >= 0)
                while (!c->disconnected && sd_event_run(c->event, UINT64_MAX) >= 0)
                        ;
        mqtt_client_free(c->client);
        sd_event_unref(c->event);
        free(c->sync_topic);
        free(c->error);
        free(c);
        return NULL;
}

int conversation_subscribe(Conversation *c, const char *filter) {
        return mqtt_client_subscribe(c->client, filter, 1);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Conversation *c = userdata;

        finish(c, -ETIMEDOUT);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Conversation *c = userdata;

        finish(c, -EINTR);
        return 0;
}

/* SIGINT and SIGTERM end a run: the caller blocks both before conversation_new(), so that
 * Paho's threads inherit the mask and the signals reach only this loop. */
static int run(Conversation *c, uint64_t timeout_usec) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *timer = NULL, *sigint = NULL, *sigterm = NULL;
        int r = 0;

        c->done = false;
        c->result = 0;
        if (timeout_usec > 0) {
                r = sd_event_add_time_relative(c->event, &timer, CLOCK_MONOTONIC, timeout_usec, 10 * 1000,
                                               on_timeout, c);
                if (r < 0)
                        return r;
        }
        if ((r = sd_event_add_signal(c->event, &sigint, SIGINT, on_signal, c)) < 0 ||
            (r = sd_event_add_signal(c->event, &sigterm, SIGTERM, on_signal, c)) < 0)
                return r;
        while (!c->done) {
                r = sd_event_run(c->event, UINT64_MAX);
                if (r < 0)
                        break;
        }
        /* messages dispatched later (while disconnecting) must not reach a caller's
         * callback whose userdata may be gone */
        c->cb = NULL;
        return r < 0 ? r : c->result;
}

int conversation_sync(Conversation *c, uint64_t timeout_usec, ConversationMessage cb, void *userdata) {
        int r;

        c->cb = cb;
        c->userdata = userdata;
        r = mqtt_client_connect(c->client);
        if (r < 0)
                return r;
        r = run(c, timeout_usec);
        if (r == -ETIMEDOUT && !c->error)
                set_error(c, "%s", mqtt_client_is_connected(c->client) ?
                          "the broker did not echo this client's own message in time" :
                          "no connection to the broker in time");
        return r < 0 ? r : 0;
}

int conversation_publish(Conversation *c, const char *topic, const char *payload, int qos) {
        return mqtt_client_publish(c->client, topic, payload, strlen(payload), qos, false, NULL, NULL);
}

int conversation_run(Conversation *c, uint64_t timeout_usec, ConversationMessage cb, void *userdata) {
        int r;

        c->cb = cb;
        c->userdata = userdata;
        r = run(c, timeout_usec);
        return r == -EINTR ? 0 : r;
}

const char *conversation_error(const Conversation *c) {
        return c->error;
}
