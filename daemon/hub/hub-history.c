/* SPDX-License-Identifier: MIT */
/* Each station's last finished sessions, as short summaries, for people and tools that ask
 * "what happened here lately" (tphubctl sessions): kept in <state_dir>/<station>.history.json
 * so they survive restarts, and published retained on <prefix>/<hub>/<station>/history.
 * Written once per finished session, never during a hold. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hub/hub-private.h"
#include "mqtt/topics.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "store/atomic-file.h"

#define HISTORY_MAX 20
#define HISTORY_FILE_MAX (256 * 1024)

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static char *file_name(const HubStation *hs) {
        char *name = NULL;

        return asprintf(&name, "%s.history.json", hs->config->name) < 0 ? NULL : name;
}

/* The stored document, or an empty one when there is none (or it is unreadable: said once). */
static json_object *load(Hub *h, HubStation *hs) {
        _cleanup_free_ char *name = file_name(hs), *data = NULL;
        _cleanup_close_ int dir = -EBADF;
        json_object *doc = NULL, *list;
        size_t len;
        int r;

        if (name && h->config->state_dir && (dir = open(h->config->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
                r = atomic_file_read_at(dir, name, HISTORY_FILE_MAX, &data, &len);
                if (r >= 0) {
                        doc = json_tokener_parse(data);
                        if (!doc || !json_object_object_get_ex(doc, "sessions", &list) ||
                            !json_object_is_type(list, json_type_array)) {
                                log_warning("%s: %s/%s is not a session history; starting a new one.",
                                            hs->config->name, h->config->state_dir, name);
                                json_object_put(doc);
                                doc = NULL;
                        }
                } else if (r != -ENOENT)
                        log_warning_errno(r, "%s: cannot read %s/%s: %m", hs->config->name, h->config->state_dir, name);
        }
        if (!doc) {
                doc = json_object_new_object();
                if (doc)
                        json_object_object_add(doc, "sessions", json_object_new_array());
        }
        return doc;
}

static void publish(Hub *h, HubStation *hs, json_object *doc) {
        _cleanup_free_ char *topic = NULL;
        const char *s;

        if (!h->mqtt || topic_station(h->config->mqtt.prefix ?: TOPIC_DEFAULT_PREFIX, h->config->hub,
                                      hs->config->name, TOPIC_STATION_HISTORY, &topic) < 0)
                return;
        s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
        if (s)
                (void) mqtt_client_publish(h->mqtt, topic, s, strlen(s), 1, true, NULL, NULL);
}

void hub_history_publish(Hub *h, HubStation *hs) {
        _cleanup_(json_object_putp) json_object *doc = load(h, hs);

        if (doc)
                publish(h, hs, doc);
}

void hub_history_record(Hub *h, HubStation *hs, const char *session_json) {
        static const char *const keep[] = { "id", "station", "athlete", "protocol", "status",
                                            "started_at", "ended_at", "duration_ms" };
        _cleanup_(json_object_putp) json_object *session = json_tokener_parse(session_json), *doc = NULL;
        _cleanup_free_ char *name = file_name(hs);
        _cleanup_close_ int dir = -EBADF;
        json_object *summary, *list, *newer, *v;
        const char *s;
        int r;

        if (!session || !name || !(doc = load(h, hs)) || !(summary = json_object_new_object()))
                return;
        for (size_t i = 0; i < ELEMENTSOF(keep); i++)
                if (json_object_object_get_ex(session, keep[i], &v))
                        json_object_object_add(summary, keep[i], json_object_get(v));
        /* newest first, at most HISTORY_MAX */
        if (!(newer = json_object_new_array())) {
                json_object_put(summary);
                return;
        }
        json_object_array_add(newer, summary);
        json_object_object_get_ex(doc, "sessions", &list);
        for (size_t i = 0; i < json_object_array_length(list) && i + 1 < HISTORY_MAX; i++)
                json_object_array_add(newer, json_object_get(json_object_array_get_idx(list, i)));
        json_object_object_add(doc, "sessions", newer);

        s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
        if (h->config->state_dir && s) {
                dir = open(h->config->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = dir < 0 ? -errno : atomic_file_write_at(dir, name, ".tmp-", s, strlen(s), 0640);
                if (r < 0)
                        log_warning_errno(r, "%s: cannot save the session history in %s: %m", hs->config->name,
                                          h->config->state_dir);
        }
        publish(h, hs, doc);
}
