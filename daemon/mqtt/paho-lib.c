/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "mqtt/paho-lib.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static PahoLib libs[2] = {
        { .soname = "libpaho-mqtt3a.so.1" },
        { .soname = "libpaho-mqtt3as.so.1" },
};
static bool loaded[2];
static char why[512];

/* Paho stops its send and receive threads when its last client is destroyed, and that stop
 * sleeps in steps of 100 ms until the send thread notices, which it does only when its
 * condition wait times out (1 s) unless a command arrives, and none can then. So every process
 * exit and every reload that replaced the last client waited up to a second in
 * MQTTAsync_destroy(). One idle, never connected Paho client per build keeps the threads
 * alive: destroying a real client then returns at once. It is never destroyed (Paho keeps it
 * reachable; the threads end with the process). */
static void keep_threads(const PahoLib *l) {
        MQTTAsync keeper;

        (void) l->MQTTAsync_create(&keeper, "tcp://127.0.0.1:1", "tphub-paho-threads", MQTTCLIENT_PERSISTENCE_NONE,
                                   NULL);   /* failing only makes stops slower */
}

static int load(PahoLib *l) {
        /* Paho would initialise OpenSSL (error strings, algorithm tables) for its first
         * client; OpenSSL (>= 1.1) initialises itself when a TLS connection makes its context,
         * which is soon enough. Must come before any other Paho call. */
        MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
        void *h;

        h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                snprintf(why, sizeof(why), "%s", dlerror());
                return -ENOPKG;
        }
#define PAHO_LOAD(f)                                                            \
        l->f = (__typeof__(f) *) dlsym(h, #f);                                  \
        if (!l->f) {                                                            \
                snprintf(why, sizeof(why), "%s: %s missing", l->soname, #f);    \
                dlclose(h);                                                     \
                return -ENOPKG;                                                 \
        }
        PAHO_FUNCTIONS(PAHO_LOAD)
#undef PAHO_LOAD

        init.do_openssl_init = 0;
        l->MQTTAsync_global_init(&init);
        keep_threads(l);
        return 0;
}

int paho_lib_get(bool tls, const PahoLib **ret, const char **ret_why) {
        PahoLib *l = &libs[tls];
        int r = 0;

        assert(ret && ret_why);
        pthread_mutex_lock(&lock);
        if (!loaded[tls]) {
                r = load(l);
                loaded[tls] = r >= 0;
        }
        pthread_mutex_unlock(&lock);
        if (r < 0) {
                *ret_why = why;
                return r;
        }
        *ret = l;
        return 0;
}
