/* SPDX-License-Identifier: MIT */
#pragma once

/* /etc/tphub/recorder.conf (libconfig), documented in docs/recorder.md. Every problem is
 * reported with file:line, as for tphub.conf. */

#include <stdbool.h>
#include <stdint.h>

#include "config/config-errors.h"

#define RECORDER_DEFAULT_SQLITE "/var/lib/tphub/recorder.db"

typedef struct RecorderConfig {
        /* mqtt */
        char *uri;
        char *client_id;          /* NULL = "tphub-recorder-<host name>" */
        unsigned version;         /* always 5: request/response needs MQTT 5 */
        char *credentials_file, *ca_file, *cert_file, *key_file;
        char *prefix;             /* the hubs' mqtt.prefix */
        char *share_group;        /* NULL = plain subscription; else $share/<group>/... */
        char *query_topic;        /* history requests (MQTT 5 request/response) */
        bool persistent_session;
        uint32_t max_queued_messages;     /* received, not yet handled; beyond: dropped (reconcile fetches them) */
        /* store: exactly one of these */
        char *sqlite_path;
        char *postgresql;         /* libpq connection string */
        /* behaviour */
        uint32_t retention_days;          /* 0 = keep for ever */
        uint32_t reconcile_interval_s;    /* periodic reconcile with every hub */
        uint32_t commit_delay_ms;         /* how long a received session may wait for its batch */
        uint32_t commit_batch;            /* sessions per transaction at most */
        uint32_t archive_window_s;        /* first reconcile with a hub asks this far back */
} RecorderConfig;

int recorder_config_load(const char *path, RecorderConfig **ret, ConfigErrors *errs);
RecorderConfig *recorder_config_free(RecorderConfig *c);
static inline void recorder_config_freep(RecorderConfig **c) {
        if (*c)
                recorder_config_free(*c);
}
