/* SPDX-License-Identifier: MIT */
#pragma once

/* The MQTT connection: Eclipse Paho's MQTTAsync client, bridged into the daemon's sd-event loop.
 *
 * Paho runs its own send/receive threads and calls back on them. Those callbacks do nothing but
 * copy what they got and hand it to the loop through a thread bridge (thread-bridge.h), which
 * calls the callbacks below on the loop thread. So every callback here runs on the loop thread
 * and no user state is ever touched from a Paho thread. MQTT 3.1.1 and 5 share one path: Paho's
 * two sets of completion callbacks only translate their results into one.
 *
 * The client knows Paho, TLS, the credentials file (mqtt-credentials.h) and the hub's status topic (last will "offline",
 * retained "online" on every (re)connect); it knows nothing about stations or sessions: it gets
 * topic names and payload bytes. It never logs: it reports through callbacks.log.
 *
 * Callbacks must not call mqtt_client_free() on their own client. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

typedef struct MqttClient MqttClient;

typedef enum MqttLogLevel {
        MQTT_LOG_ERR = 3,       /* syslog priorities, so the daemon can pass them on */
        MQTT_LOG_WARNING = 4,
        MQTT_LOG_INFO = 6,
        MQTT_LOG_DEBUG = 7,
} MqttLogLevel;

/* What a zero field of MqttClientOptions means; the configuration's defaults are these too
 * (docs/config.md). */
/* The broker of the machine itself: its mosquitto, on IPv4 loopback (localhost may resolve to
 * ::1 first, where a default mosquitto listener is not). */
#define MQTT_CLIENT_DEFAULT_URI "tcp://127.0.0.1:1883"
#define MQTT_CLIENT_DEFAULT_VERSION 5
#define MQTT_CLIENT_DEFAULT_KEEPALIVE_S 30

typedef struct MqttClientOptions {
        const char *uri;               /* mqtt_uri_valid(): tcp://host:port, or ssl://host:port for TLS */
        const char *client_id;         /* NULL = the host name; else mqtt_client_id_valid() */
        unsigned version;              /* 3 (MQTT 3.1.1) or 5; 0 = MQTT_CLIENT_DEFAULT_VERSION */
        const char *credentials_file;  /* "user\npassword\n", must not be world-accessible; NULL = none */
        const char *ca_file;           /* TLS: CA bundle (PEM) that signs the broker; NULL = system store */
        const char *cert_file;         /* TLS client certificate (PEM), optional */
        const char *key_file;          /* its key, optional */
        unsigned keepalive_s;          /* 0 = MQTT_CLIENT_DEFAULT_KEEPALIVE_S */
        unsigned connect_timeout_s;    /* 0 = 10 */
        unsigned min_retry_s;          /* reconnect backoff, 0 = 1 */
        unsigned max_retry_s;          /* 0 = 4 */
        unsigned max_buffered;         /* Paho's in-memory buffer while offline, 0 = 1000; live state
                                        * (QoS 0, retained) is never buffered, events get 9/10 of it */
        unsigned max_inflight;         /* 0 = 20 */
        bool persistent_session;       /* keep the broker session (subscriptions, queued QoS 1) */
        /* Incoming messages waiting for the loop; beyond this they are dropped (and counted in a
         * log message): Paho has acknowledged them already. 0 = 1000. */
        unsigned max_queued_messages;

        /* Hub status: the last will publishes {"state":"offline"} here (retained, QoS 1), and
         * every (re)connect publishes {"state":"online","version":...,"started_at":...}
         * (retained, QoS 1). NULL = neither. */
        const char *status_topic;
        /* The status is the plain word "online" / "offline" instead (an availability topic). */
        bool status_plain;
        const char *software_version;
        const char *started_at;        /* ISO 8601 */
} MqttClientOptions;

typedef struct MqttClientCallbacks {
        /* After every (re)connect, once the online status is queued and every subscription
         * re-issued. */
        void (*connected)(MqttClient *c, void *userdata);
        /* cause may be NULL. Paho reconnects by itself with backoff. */
        void (*connection_lost)(MqttClient *c, const char *cause, void *userdata);
        /* The first connect attempt failed (code: Paho's code, or the CONNACK return code;
         * message may be NULL). Paho keeps retrying with backoff and reports later failures
         * only through log. */
        void (*connect_failed)(MqttClient *c, int code, const char *message, void *userdata);
        void (*message)(MqttClient *c, const char *topic, const void *payload, size_t len,
                        bool retained, void *userdata);
        /* Lets the hub add fields to the online status document before it is published. */
        void (*online_status)(MqttClient *c, json_object *status, void *userdata);
        void (*log)(MqttClient *c, MqttLogLevel level, const char *message, void *userdata);
        /* Optional, MQTT 5: a message that names a response topic (a request) comes here
         * instead of message, with its correlation data (NULL/0 if none). */
        void (*request)(MqttClient *c, const char *topic, const void *payload, size_t len,
                        const char *response_topic, const void *correlation, size_t correlation_len,
                        void *userdata);
} MqttClientCallbacks;

/* error is 0 when the broker acknowledged (QoS 1: PUBACK) or the message was written (QoS 0),
 * else a negative errno: -ECONNABORTED when the connection dropped before the PUBACK,
 * -ECANCELED when the client is being freed, -EIO for anything else. */
typedef void (*MqttPublishDone)(MqttClient *c, int error, void *userdata);

/* Validates the options, reads the credentials file (-EPERM if it is accessible by "other",
 * with a log message saying so), creates the Paho client and attaches to event. Does not
 * connect yet. */
int mqtt_client_new(MqttClient **ret, sd_event *event, const MqttClientOptions *opts,
                    const MqttClientCallbacks *callbacks, void *userdata);

/* Destroys the client. If it is still connected and mqtt_client_shutdown() did not run to the
 * end, it disconnects first and waits (bounded, blocking: at most 1 s) for Paho to confirm. Publishes
 * still pending complete with -ECANCELED from inside this call (the client pointer passed to
 * their callback must not be used for anything else then). */
MqttClient *mqtt_client_free(MqttClient *c);
static inline void mqtt_client_freep(MqttClient **c) {
        if (*c)
                mqtt_client_free(*c);
}

/* Starts connecting (asynchronously); Paho retries with backoff until connected. */
int mqtt_client_connect(MqttClient *c);

/* Asks Paho to retry the connection now instead of waiting out the backoff. */
int mqtt_client_reconnect_now(MqttClient *c);

/* Clean shutdown without blocking the loop: publishes the retained offline status (a clean
 * disconnect suppresses the will), waits at most timeout_usec for its PUBACK and for those of
 * the publishes with a completion, then disconnects at once, and calls done on the loop when
 * Paho confirmed (or a short bound passed). An MQTT 5 client whose offline status was not
 * acknowledged in time asks the broker to publish the will instead.
 * Free the client afterwards (from done is fine: it is not a Paho callback). */
int mqtt_client_shutdown(MqttClient *c, uint64_t timeout_usec,
                         void (*done)(MqttClient *c, void *userdata), void *userdata);

/* Queues a message. While disconnected, Paho buffers up to max_buffered messages; beyond that
 * this returns -ENOBUFS. done (optional) runs on the loop when the message completes. */
int mqtt_client_publish(MqttClient *c, const char *topic, const void *payload, size_t len,
                        int qos, bool retain, MqttPublishDone done, void *userdata);

/* MQTT 5 request/response: answers on the request's response topic (QoS 1, not retained) with
 * its correlation data. -EINVAL on an MQTT 3 connection. */
int mqtt_client_publish_response(MqttClient *c, const char *topic, const void *payload, size_t len,
                                 const void *correlation, size_t correlation_len);

/* Adds a subscription; it is (re)issued on every connect. */
int mqtt_client_subscribe(MqttClient *c, const char *topic_filter, int qos);

bool mqtt_client_is_connected(const MqttClient *c);

/* Publishes the retained online status again (built as on connect, online_status callback
 * included), e.g. when something it reports changed. -ENOTCONN while offline: the next
 * connect publishes it anyway. */
int mqtt_client_publish_status(MqttClient *c);
/* Incoming messages dropped since the client was made because the bridge queue was full. */
uint64_t mqtt_client_incoming_dropped(MqttClient *c);

/* The client id in use (configured or the host name). */
const char *mqtt_client_get_id(const MqttClient *c);

sd_event *mqtt_client_get_event(const MqttClient *c);
