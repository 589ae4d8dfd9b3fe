/* SPDX-License-Identifier: MIT */
/* The hub's archive of sent sessions on MQTT (docs/mqtt.md "sessions_since", "resend"): a
 * recorder that lost a session between the broker's delivery and its own commit asks for the
 * ids sent since a time and has the missing ones published again. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hub/hub-private.h"
#include "mqtt/topics.h"
#include "shared/iso8601.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/time-util.h"

#define ARCHIVE_PAGE 200   /* ids per sessions_since reply (about 14 KiB) */

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static int64_t now_ms(void) {
        return (int64_t) (now_realtime() / NSEC_PER_MSEC);
}

int hub_archive_start(Hub *h) {
        _cleanup_free_ char *dir = NULL;
        const ConfigMqtt *m = &h->config->mqtt;
        int r;

        if (m->archive_max_sessions == 0)
                return 0;
        if (!h->config->state_dir) {
                log_warning("No paths.state: the session archive (sessions_since, resend) is off.");
                return 0;
        }
        if (asprintf(&dir, "%s/archive", h->config->state_dir) < 0)
                return log_oom();
        r = archive_open(&h->archive, dir, m->archive_max_sessions, m->archive_days);
        if (r < 0)
                return log_error_errno(r, "Cannot open the session archive %s: %m", dir);
        archive_prune(h->archive, now_ms());
        log_debug("Session archive %s: %zu session(s).", dir, archive_count(h->archive));
        return 0;
}

void hub_archive_stop(Hub *h) {
        h->archive = archive_free(h->archive);
}

void hub_archive_add(Hub *h, const char *topic, const char *id, const char *json) {
        int r;

        if (!h->archive)
                return;
        r = archive_add(h->archive, now_ms(), id, topic, json);
        if (r < 0)
                log_warning_errno(r, "Cannot archive session %s (a recorder that misses it cannot ask again): %m", id);
}

static void publish_reply(Hub *h, HubStation *hs, json_object *o) {
        _cleanup_free_ char *topic = NULL;
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (topic_station(h->config->mqtt.prefix ?: TOPIC_DEFAULT_PREFIX, h->config->hub, hs->config->name,
                          TOPIC_STATION_CMD_REPLY, &topic) < 0)
                return;
        (void) mqtt_client_publish(h->mqtt, topic, s, strlen(s), 1, false, NULL, NULL);
}

static json_object *reply_new(const MqttCommand *cmd, const char *error) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (*cmd->id)
                json_object_object_add(o, "id", json_object_new_string(cmd->id));
        json_object_object_add(o, "ok", json_object_new_boolean(!error));
        if (error)
                json_object_object_add(o, "error", json_object_new_string(error));
        return o;
}

static json_object *sessions_since(Hub *h, const MqttCommand *cmd) {
        ArchiveEntry page[ARCHIVE_PAGE];
        json_object *o, *list;
        int n, more = 0;

        n = archive_since(h->archive, cmd->since_ms, cmd->after, page, ARCHIVE_PAGE, &more);
        if (n < 0)
                return reply_new(cmd, "cannot read the archive");
        o = reply_new(cmd, NULL);
        list = json_object_new_array();
        if (!o || !list) {
                json_object_put(o);
                json_object_put(list);
                return NULL;
        }
        for (int i = 0; i < n; i++) {
                json_object *e = json_object_new_object();
                char at[32];
                json_object_object_add(e, "id", json_object_new_string(page[i].id));
                json_object_object_add(e, "at", json_object_new_string(iso8601_format_ms(at, sizeof at, page[i].at_ms)));
                json_object_array_add(list, e);
        }
        json_object_object_add(o, "sessions", list);
        json_object_object_add(o, "more", json_object_new_boolean(more));
        return o;
}

static const char *resend(Hub *h, const MqttCommand *cmd) {
        _cleanup_free_ char *topic = NULL, *json = NULL;
        int r;

        r = archive_read(h->archive, cmd->session, &topic, &json);
        if (r == -ENOENT)
                return "unknown session";
        if (r < 0) {
                log_warning_errno(r, "Cannot read archived session %s: %m", cmd->session);
                return "cannot read the archive";
        }
        r = mqtt_client_publish(h->mqtt, topic, json, strlen(json), 1, false, NULL, NULL);
        if (r < 0)
                return "cannot publish";
        log_info("Session %s published again on request.", cmd->session);
        return NULL;
}

bool hub_archive_command(Hub *h, HubStation *hs, const MqttCommand *cmd) {
        _cleanup_(json_object_putp) json_object *o = NULL;

        if (cmd->verb != MQTT_COMMAND_SESSIONS_SINCE && cmd->verb != MQTT_COMMAND_RESEND)
                return false;
        if (!h->archive)
                o = reply_new(cmd, "no session archive");
        else if (cmd->verb == MQTT_COMMAND_SESSIONS_SINCE)
                o = sessions_since(h, cmd);
        else
                o = reply_new(cmd, resend(h, cmd));
        if (o)
                publish_reply(h, hs, o);
        return true;
}
