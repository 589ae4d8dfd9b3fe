/* SPDX-License-Identifier: MIT */
#pragma once

/* What the MQTT tests share besides the harness (tests/common/tap.h, loop-util.h): a private
 * mosquitto per test on a free loopback port, temp dirs, helper processes, and a recording
 * subscriber. Setup failures here are not test outcomes: they abort (REQUIRE). */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "mqtt/mqtt-client.h"
#include "tap.h"
#include "loop-util.h"

/* Skips the whole TAP program ("1..0 # SKIP", exit 0) when program is not on PATH, saying so. */
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

/* Subscriber client connected to uri subscribed to filter (QoS 1), waits (bounded: -ETIMEDOUT)
 * until connected and subscribed. */
int recorder_start(Recorder *r, sd_event *e, const char *uri, const char *client_id, const char *filter,
                   bool persistent);
