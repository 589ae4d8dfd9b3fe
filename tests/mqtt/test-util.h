/* SPDX-License-Identifier: MIT */
#pragma once

/* Test scaffolding for the MQTT tests: a private mosquitto per test on a free loopback port,
 * temp dirs, helper processes, and waiting on the sd-event loop with a bounded deadline. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "mqtt/mqtt-client.h"

#define CHECK(expr)                                                                     \
        do {                                                                            \
                if (!(expr)) {                                                          \
                        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
                        abort();                                                        \
                }                                                                       \
        } while (0)

#define CHECK_EQ_INT(a, b)                                                              \
        do {                                                                            \
                long long _a = (a), _b = (b);                                           \
                if (_a != _b) {                                                         \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n",     \
                                __FILE__, __LINE__, #a, _a, #b, _b);                    \
                        abort();                                                        \
                }                                                                       \
        } while (0)

#define CHECK_EQ_STR(a, b)                                                              \
        do {                                                                            \
                const char *_a = (a), *_b = (b);                                        \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                \
                        fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n",        \
                                __FILE__, __LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)"); \
                        abort();                                                        \
                }                                                                       \
        } while (0)

/* Runs the loop until cond is true; fails the test after timeout_s. */
#define RUN_UNTIL(event, cond, timeout_s)                                               \
        do {                                                                            \
                uint64_t _deadline = test_now_usec() + (uint64_t) (timeout_s) * 1000000ULL; \
                while (!(cond)) {                                                       \
                        if (test_now_usec() > _deadline) {                              \
                                fprintf(stderr, "%s:%d: timed out after %ds waiting for %s\n", \
                                        __FILE__, __LINE__, (int) (timeout_s), #cond);  \
                                abort();                                                \
                        }                                                               \
                        CHECK(sd_event_run((event), 100 * 1000) >= 0);                  \
                }                                                                       \
        } while (0)

uint64_t test_now_usec(void);

/* Exits 77 (meson: skipped) when program is not on PATH, saying so. */
void test_require_program(const char *program);

/* A loopback TCP port nobody listens on right now. */
int test_free_port(void);

/* mkdtemp under $TMPDIR; test_rm_rf() removes a tree. */
char *test_tmpdir(const char *tag);
void test_rm_rf(const char *path);
int test_write_file(const char *path, const char *content, mode_t mode);

typedef struct Mosquitto {
        pid_t pid;
        int port;
        char *dir;
        char *conf;
} Mosquitto;

/* Starts mosquitto with "listener PORT 127.0.0.1" plus extra config lines (may be NULL) and
 * waits (bounded) until it accepts connections. port 0 = pick a free one. */
int mosquitto_start(Mosquitto *m, const char *dir, int port, const char *extra_conf);
/* SIGTERM (it saves its persistence db then) and reap. */
void mosquitto_stop(Mosquitto *m);
/* Same port and config again. */
int mosquitto_restart(Mosquitto *m);
void mosquitto_done(Mosquitto *m);

/* A helper process with its stdout on a pipe. */
typedef struct Helper {
        pid_t pid;
        int out_fd;
} Helper;

int helper_spawn(Helper *h, char *const argv[]);
/* Reads stdout until a line equal to line arrives (bounded). */
int helper_wait_line(Helper *h, const char *line, int timeout_s);
/* SIGKILL and reap. */
void helper_kill(Helper *h);

/* A subscriber: our own MQTT client recording every message. */
typedef struct Received {
        char *topic;
        char *payload;
        size_t len;
        bool retained;
} Received;

typedef struct Recorder {
        MqttClient *client;
        Received *msgs;
        size_t n_msgs;
        bool connected;
        int connect_failed;
        char *connect_error;
        int n_connected;
        int n_lost;
        char **logs;
        size_t n_logs;
} Recorder;

extern const MqttClientCallbacks recorder_callbacks;
void recorder_done(Recorder *r);
/* The last message on topic, or NULL. */
const Received *recorder_last(const Recorder *r, const char *topic);
size_t recorder_count(const Recorder *r, const char *topic);
bool recorder_has_log(const Recorder *r, const char *substring);

/* Subscriber client connected to uri subscribed to filter (QoS 1), waits until connected. */
int recorder_start(Recorder *r, sd_event *e, const char *uri, const char *client_id, const char *filter,
                   bool persistent);
