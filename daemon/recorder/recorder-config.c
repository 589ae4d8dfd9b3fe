/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf-reader.h"
#include "mqtt/mqtt-client.h"
#include "mqtt/topics.h"
#include "recorder/recorder-config.h"
#include "recorder/session-doc.h"

static const char *const top_keys[] = { "recorder", NULL };
static const char *const recorder_keys[] = { "mqtt", "store", "retention_days", "reconcile_interval_s",
                                             "commit_delay_ms", "commit_batch", "archive_window_s", NULL };
static const char *const mqtt_keys[] = { "uri", "client_id", "credentials_file", "ca_file", "cert_file", "key_file",
                                         "prefix", "share_group", "persistent_session", "query_topic",
                                         "max_queued_messages", NULL };
static const char *const store_keys[] = { "sqlite", "postgresql", NULL };

RecorderConfig *recorder_config_free(RecorderConfig *c) {
        if (!c)
                return NULL;
        free(c->uri);
        free(c->client_id);
        free(c->credentials_file);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        free(c->prefix);
        free(c->share_group);
        free(c->query_topic);
        free(c->sqlite_path);
        free(c->postgresql);
        free(c);
        return NULL;
}

int recorder_config_load(const char *path, RecorderConfig **ret, ConfigErrors *errs) {
        ConfReader R = { .file = path, .errs = errs };
        config_setting_t *root, *rec = NULL, *mqtt = NULL, *store = NULL;
        RecorderConfig *c;
        config_t cf;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->version = 5;
        c->persistent_session = true;
        c->reconcile_interval_s = 600;
        c->max_queued_messages = 10000;
        c->commit_delay_ms = 200;
        c->commit_batch = 100;
        c->archive_window_s = 30 * 24 * 3600;
        if (!(c->uri = strdup(MQTT_CLIENT_DEFAULT_URI)) || !(c->prefix = strdup(TOPIC_DEFAULT_PREFIX)) ||
            !(c->query_topic = strdup("tphub-history/query"))) {
                recorder_config_free(c);
                return -ENOMEM;
        }

        config_init(&cf);
        r = conf_read_file(&R, &cf, path);
        if (r < 0)
                goto finish;
        root = config_root_setting(&cf);
        conf_check_keys(&R, root, top_keys);
        if (conf_group(&R, root, "recorder", &rec) <= 0) {
                conf_error_missing(&R, root, "recorder");
                goto finish;
        }
        conf_check_keys(&R, rec, recorder_keys);
        if (conf_group(&R, rec, "mqtt", &mqtt) > 0) {
                conf_check_keys(&R, mqtt, mqtt_keys);
                conf_string(&R, mqtt, "uri", &c->uri);
                conf_string(&R, mqtt, "client_id", &c->client_id);
                conf_string(&R, mqtt, "credentials_file", &c->credentials_file);
                conf_string(&R, mqtt, "ca_file", &c->ca_file);
                conf_string(&R, mqtt, "cert_file", &c->cert_file);
                conf_string(&R, mqtt, "key_file", &c->key_file);
                if (conf_string(&R, mqtt, "prefix", &c->prefix) > 0 && !topic_prefix_valid(c->prefix))
                        conf_error(&R, conf_member(mqtt, "prefix"), "prefix \"%s\" is not a valid topic prefix "
                                   "(no wildcards, no leading $ or /, no empty levels)", c->prefix);
                if (conf_string(&R, mqtt, "share_group", &c->share_group) > 0 &&
                    !session_doc_name_valid(c->share_group))
                        conf_error(&R, conf_member(mqtt, "share_group"),
                                   "share_group \"%s\" must be 1-64 characters of [A-Za-z0-9_.-]", c->share_group);
                conf_bool(&R, mqtt, "persistent_session", &c->persistent_session);
                conf_uint(&R, mqtt, "max_queued_messages", 100, 1000000, &c->max_queued_messages);
                if (conf_string(&R, mqtt, "query_topic", &c->query_topic) > 0 &&
                    (!topic_prefix_valid(c->query_topic) || strpbrk(c->query_topic, "+#")))
                        conf_error(&R, conf_member(mqtt, "query_topic"), "query_topic \"%s\" must be a topic "
                                   "without wildcards, not starting with $ or /", c->query_topic);
                if (!c->query_topic && !(c->query_topic = strdup("tphub-history/query"))) {
                        r = -ENOMEM;
                        goto finish;
                }
                if (!c->uri)
                        conf_error(&R, conf_member(mqtt, "uri"), "uri must not be empty");
        }
        if (conf_group(&R, rec, "store", &store) > 0) {
                conf_check_keys(&R, store, store_keys);
                conf_string(&R, store, "sqlite", &c->sqlite_path);
                conf_string(&R, store, "postgresql", &c->postgresql);
                if (c->sqlite_path && c->postgresql)
                        conf_error(&R, store, "store names both sqlite and postgresql: choose one");
        }
        if (!c->sqlite_path && !c->postgresql && !(c->sqlite_path = strdup(RECORDER_DEFAULT_SQLITE))) {
                r = -ENOMEM;
                goto finish;
        }
        conf_uint(&R, rec, "retention_days", 0, 36500, &c->retention_days);
        conf_uint(&R, rec, "reconcile_interval_s", 5, 86400, &c->reconcile_interval_s);
        conf_uint(&R, rec, "commit_delay_ms", 0, 3600000, &c->commit_delay_ms);
        conf_uint(&R, rec, "commit_batch", 1, 10000, &c->commit_batch);
        conf_uint(&R, rec, "archive_window_s", 60, 3650u * 86400u, &c->archive_window_s);
finish:
        config_destroy(&cf);
        if (r >= 0 && (R.r < 0 || R.n_errors > 0))
                r = R.r < 0 ? R.r : -EINVAL;
        if (r < 0) {
                recorder_config_free(c);
                return r;
        }
        *ret = c;
        return 0;
}
