/* SPDX-License-Identifier: MIT */
#pragma once

/* Paho comes in two builds with the same API: libpaho-mqtt3a (plain TCP) and libpaho-mqtt3as
 * (TLS, linked with OpenSSL). Linking the TLS build maps OpenSSL into every daemon, about 2 MB
 * of resident pages, though a hub usually talks plain MQTT to the broker beside it. So the
 * client loads the build its URI needs at run time (dlopen) and calls Paho through this
 * table. Each build is loaded once per process and stays; both can be loaded side by side
 * (RTLD_LOCAL: each has its own globals and threads). */

#include <stdbool.h>

#include <MQTTAsync.h>

#define PAHO_FUNCTIONS(X)                                                       \
        X(MQTTAsync_global_init)                                                \
        X(MQTTAsync_create)                                                     \
        X(MQTTAsync_createWithOptions)                                          \
        X(MQTTAsync_destroy)                                                    \
        X(MQTTAsync_connect)                                                    \
        X(MQTTAsync_disconnect)                                                 \
        X(MQTTAsync_reconnect)                                                  \
        X(MQTTAsync_sendMessage)                                                \
        X(MQTTAsync_subscribe)                                                  \
        X(MQTTAsync_setCallbacks)                                               \
        X(MQTTAsync_setConnected)                                               \
        X(MQTTAsync_setDisconnected)                                            \
        X(MQTTAsync_setTraceCallback)                                           \
        X(MQTTAsync_setTraceLevel)                                              \
        X(MQTTAsync_strerror)                                                   \
        X(MQTTAsync_free)                                                       \
        X(MQTTAsync_freeMessage)                                                \
        X(MQTTProperties_add)                                                   \
        X(MQTTProperties_free)                                                  \
        X(MQTTProperties_getProperty)                                           \
        X(MQTTReasonCode_toString)

typedef struct PahoLib {
        const char *soname;
#define PAHO_MEMBER(f) __typeof__(f) *f;
        PAHO_FUNCTIONS(PAHO_MEMBER)
#undef PAHO_MEMBER
} PahoLib;

/* The build for TLS or plain TCP, loaded and initialised on first use. -ENOPKG when it cannot
 * be loaded (*ret_why then says why, static storage). */
int paho_lib_get(bool tls, const PahoLib **ret, const char **ret_why);
