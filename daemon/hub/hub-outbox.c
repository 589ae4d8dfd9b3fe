/* SPDX-License-Identifier: MIT */
/* Nothing a station recorded is lost, with or without a broker: each finished session is
 * spooled in the outbox (store/outbox.h) before its last events are announced, a running one
 * is checkpointed at rep boundaries (store/checkpoint.h), and at start a checkpoint a crash
 * left behind is recovered into the outbox as an interrupted session. The outbox does not
 * need MQTT: the session publisher (hub-mqtt.c) sends what it holds once a broker is
 * configured, in spool order. */

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "engine/session-json.h"
#include "hub/hub-private.h"
#include "mqtt/topics.h"
#include "shared/fs-util.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "store/checkpoint.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static bool str_eq(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

bool hub_outbox_settings_equal(const Config *a, const Config *b) {
        /* the topics recovered sessions go to are part of it: they are written into the spool */
        return str_eq(a->spool_dir, b->spool_dir) && str_eq(a->state_dir, b->state_dir) &&
               a->mqtt.spool_max_sessions == b->mqtt.spool_max_sessions && str_eq(a->hub, b->hub) &&
               str_eq(a->mqtt.prefix, b->mqtt.prefix);
}

int hub_session_topic(const Hub *h, const char *station, char **ret) {
        return topic_station(h->config->mqtt.prefix ?: TOPIC_DEFAULT_PREFIX, h->config->hub, station,
                             TOPIC_STATION_SESSION, ret);
}

/* Into the outbox: through the publisher when MQTT is on (it sends it at once and keeps it
 * in memory should the spool refuse it), else straight into the spool, where the publisher
 * finds it when a broker is configured. */
static int spool(Hub *h, const char *station, const char *id, const char *json) {
        _cleanup_free_ char *topic = NULL;
        int r;

        r = hub_session_topic(h, station, &topic);
        if (r < 0)
                return r;
        if (h->publisher)
                r = publisher_push(h->publisher, topic, id, json);
        else if (h->outbox)
                r = publisher_spool(h->outbox, topic, id, json);
        else
                return -ENOENT;   /* no spool directory configured */
        hub_archive_add(h, topic, id, json);
        return r;
}

/* ---- checkpoints ---- */

static int write_checkpoint(Hub *h, HubStation *hs, const Session *running) {
        _cleanup_(session_freep) Session *snap = session_dup(running);
        _cleanup_free_ char *json = NULL;
        const Protocol *p = station_protocol_in_use(hs->station);
        int r;

        if (!snap || !p)
                return -ENOMEM;
        /* Written as it must be read after a crash: interrupted, ended at this checkpoint. */
        snap->status = SESSION_INTERRUPTED;
        snap->ended_mono = now_monotonic();
        r = session_to_json_string(snap, p, false, &json);
        if (r < 0)
                return r;
        return checkpoint_write(h->config->state_dir, hs->config->name, json, strlen(json));
}

/* The station calls this at rep boundaries only, never during a hold or a release, where a
 * disk write (with fsync) could delay a cue on a slow SD card; and before the boundary's
 * event is announced, so whatever a dashboard has seen is durable already. */
static void on_checkpoint(Station *s, const Session *running, void *userdata) {
        HubStation *hs = userdata;
        Hub *h = hs->hub;
        int r;

        if (!h->config->state_dir)
                return;
        r = write_checkpoint(h, hs, running);
        if (r < 0)
                log_warning_errno(r, "%s: cannot checkpoint session %s in %s: %m", hs->config->name, running->id,
                                  h->config->state_dir);
}

/* ---- finished sessions ---- */

static void on_finished(Station *s, const Session *session, const Protocol *protocol, void *userdata) {
        HubStation *hs = userdata;
        Hub *h = hs->hub;
        _cleanup_free_ char *json = NULL;
        int r;

        r = session_to_json_string(session, protocol, false, &json);
        if (r < 0) {
                log_error_errno(r, "%s: cannot serialise session %s: %m", hs->config->name, session->id);
                return;
        }
        /* Without a broker the journal has every record too. */
        if (!h->config->mqtt.enabled)
                log_info("%s: %s", hs->config->name, json);
        r = spool(h, hs->config->name, session->id, json);
        if (r < 0 && h->publisher)
                /* the publisher reported why; it still sends it from memory */
                log_error_errno(r, "%s: session %s could not be queued for MQTT: %m", hs->config->name, session->id);
        else if (r < 0)
                log_error_errno(r, "%s: session %s could not be spooled in %s (%m)%s", hs->config->name, session->id,
                                h->config->spool_dir ?: "(no paths.spool)",
                                h->config->mqtt.enabled ? "." : "; it is in the journal only.");
        /* The finished record supersedes the checkpoint in any case: left behind, it would
         * come back after a restart as an interrupted session that in fact completed. */
        if (h->config->state_dir) {
                r = checkpoint_clear(h->config->state_dir, hs->config->name);
                if (r < 0)
                        log_warning_errno(r, "%s: cannot clear the checkpoint: %m", hs->config->name);
        }
}

int hub_outbox_attach(HubStation *hs) {
        static const StationWatch watch = {
                .checkpoint = on_checkpoint,
                .finished = on_finished,
        };
        /* before anything announces the events these records hold */
        return station_add_watch(hs->station, &watch, STATION_WATCH_DURABLE, hs);
}

/* ---- recovery ---- */

/* After a crash, the last checkpoint of each station is the session as far as it got. */
void hub_outbox_recover(Hub *h) {
        if (!h->outbox || !h->config->state_dir)
                return;
        for (size_t i = 0; i < h->n_stations; i++) {
                const char *name = h->stations[i]->config->name;
                _cleanup_free_ char *json = NULL;
                _cleanup_(json_object_putp) json_object *o = NULL;
                json_object *id;
                int r;

                /* A running session's checkpoint is its own, not a crash's leftover. */
                if (station_busy(h->stations[i]->station))
                        continue;
                r = checkpoint_recover(h->config->state_dir, name, &json);
                if (r <= 0) {
                        if (r < 0)
                                log_warning_errno(r, "%s: cannot read its checkpoint: %m", name);
                        continue;
                }
                o = json_tokener_parse(json);
                if (!o || !json_object_object_get_ex(o, "id", &id) || !json_object_is_type(id, json_type_string)) {
                        log_error("%s: the checkpoint in %s is not a session document; left in place.", name,
                                  h->config->state_dir);
                        continue;
                }
                /* Died after spooling the final record but before clearing the checkpoint: the
                 * spool has the record that was announced; never publish a second one. */
                if (outbox_has_id(h->outbox, json_object_get_string(id)) > 0) {
                        log_notice("%s: session %s ended and is spooled already; its checkpoint is dropped.", name,
                                   json_object_get_string(id));
                        (void) checkpoint_clear(h->config->state_dir, name);
                        continue;
                }
                log_notice("%s: session %s was interrupted; spooling what was recorded%s.", name,
                           json_object_get_string(id), h->config->mqtt.enabled ? "" : " (published once MQTT is on)");
                r = spool(h, name, json_object_get_string(id), json);
                if (r < 0) {
                        log_error_errno(r, "%s: cannot spool the interrupted session: %m", name);
                        continue;
                }
                (void) checkpoint_clear(h->config->state_dir, name);
        }
}

int hub_outbox_start(Hub *h) {
        int r;

        if (h->config->state_dir) {
                r = mkdir_p(h->config->state_dir, 0750);
                if (r < 0)
                        return log_error_errno(r, "Cannot create the state directory %s: %m", h->config->state_dir);
        }
        if (!h->config->spool_dir)
                return 0;   /* hub_mqtt_start() refuses MQTT without one */
        r = mkdir_p(h->config->spool_dir, 0750);
        if (r < 0)
                return log_error_errno(r, "Cannot create the spool directory %s: %m", h->config->spool_dir);
        r = outbox_open(&h->outbox, h->config->spool_dir, h->config->mqtt.spool_max_sessions);
        if (r < 0)
                return log_error_errno(r, "Cannot open the session spool %s: %m", h->config->spool_dir);
        return 0;
}

void hub_outbox_stop(Hub *h) {
        h->outbox = outbox_free(h->outbox);
}
