/* SPDX-License-Identifier: MIT */
#pragma once

/* One short conversation of tphubctl with a hub over MQTT (the project's client, on its own
 * sd-event loop): subscribe, connect, learn every retained document (status, state, tools)
 * and then send a command and await its reply, or follow live messages.
 *
 * "Every retained document has arrived" is known, not guessed: after its subscriptions the
 * conversation publishes a nonce to a topic of its own that it also subscribes to; the broker
 * handles one connection's packets in order, so the nonce comes back after the retained
 * messages of every earlier subscription. Library code: never logs, never prints.
 *
 * Block SIGINT and SIGTERM before conversation_new() (Paho's threads inherit the mask): the
 * conversation's loop then takes them (conversation_sync: -EINTR; conversation_run: 0). */

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

typedef struct Conversation Conversation;

typedef struct ConversationOptions {
        const char *uri;
        unsigned version;              /* 3 or 5 */
        const char *credentials_file;  /* NULL = anonymous */
        const char *ca_file, *cert_file, *key_file;
        const char *prefix;            /* topic prefix, e.g. "tphub" */
        const char *hub;
} ConversationOptions;

/* A message that arrived: doc is NULL when the payload is not a JSON object. Return 0 to go
 * on, > 0 to end conversation_run() (its return value), < 0 for an error. */
typedef int (*ConversationMessage)(const char *topic, json_object *doc, bool retained, void *userdata);

int conversation_new(Conversation **ret, const ConversationOptions *opts);
Conversation *conversation_free(Conversation *c);
static inline void conversation_freep(Conversation **c) {
        if (*c)
                conversation_free(*c);
}

/* Before conversation_sync() only. */
int conversation_subscribe(Conversation *c, const char *filter);

/* Connects and returns 0 once every retained message on the subscriptions went through cb.
 * Errors: -ECONNREFUSED (the broker cannot be reached or refused the login),
 * -ECONNRESET (the connection dropped), -ETIMEDOUT, -EPERM (credentials file mode), ... ;
 * conversation_error() then says why in words. */
int conversation_sync(Conversation *c, uint64_t timeout_usec, ConversationMessage cb, void *userdata);

int conversation_publish(Conversation *c, const char *topic, const char *payload, int qos);

/* Delivers messages to cb until it returns non-zero (returned), SIGINT/SIGTERM (0), the
 * timeout (-ETIMEDOUT; 0 = none) or a connection error. */
int conversation_run(Conversation *c, uint64_t timeout_usec, ConversationMessage cb, void *userdata);

/* The last connection problem in words (Paho's or OpenSSL's reason), or NULL. */
const char *conversation_error(const Conversation *c);
