/* SPDX-License-Identifier: MIT */
/* Routes station output to the adapters and starts/stops them with the hub. */

#include <stdio.h>
#include <string.h>

#include "engine/session-json.h"
#include "hub/hub-private.h"
#include "shared/log.h"
#include "shared/macro.h"

int hub_adapters_start(Hub *h) {
        int r;

        /* MQTT first: interrupted sessions are spooled before anything new can happen. */
        r = hub_mqtt_start(h);
        if (r < 0)
                return r;
        r = hub_gpio_start(h);
        if (r < 0)
                return r;
        r = hub_audio_start(h);
        if (r < 0)
                return r;
        return hub_ble_start(h);
}

int hub_adapters_reload(Hub *h, const Config *old) {
        int r, ret = 0;

        /* Each adapter compares its part of the old and new configuration and restarts only
         * what changed: an unchanged file leaves the broker connection, the lines and every
         * tool link as they are (a hold goes on without a pause), and checkpoint recovery
         * never runs for a session that is still running. Stations and their engines (and so
         * running sessions) stay in any case. */
        r = hub_mqtt_reload(h, old);
        if (r < 0)
                ret = r;
        r = hub_gpio_reload(h, old);
        if (r < 0 && ret == 0)
                ret = r;
        r = hub_ble_reload(h, old);
        if (r < 0 && ret == 0)
                ret = r;
        return ret;
}

void hub_adapters_stop(Hub *h) {
        hub_ble_stop(h);
        hub_gpio_stop(h);
        hub_audio_stop(h);
        hub_mqtt_stop(h);
}

void hub_cue_render(Hub *h, Station *s, const Cue *cue) {
        HubStation *hs = hub_station_of(h, s);

        if (hs && hs->cues)
                (void) cue_player_show(hs->cues, cue, now_monotonic());
        if (hs)
                hub_audio_render(h, hs, cue);
}

void hub_cue_changed(Hub *h, Station *s, const Cue *cue) {
        HubStation *hs = hub_station_of(h, s);

        if (!hs)
                return;
        hub_ble_station_busy(h, hs);
        hub_audio_cue_changed(h, hs, cue);
        hub_mqtt_cue(h, hs);
}

/* The events that end a session (its last rep's, session_end) come out with the finished
 * record: spool it before the first of them is announced, so nothing a dashboard saw can be
 * taken back by a crash (the record would come back "interrupted" with a rep missing). */
static void spool_before_announcing(Hub *h, HubStation *hs) {
        const Session *session = station_session(hs->station);
        const Protocol *p = station_protocol_in_use(hs->station);
        _cleanup_free_ char *json = NULL;
        int r;

        if (!session || engine_session(station_engine(hs->station)) || !p ||
            strcmp(hs->spooled_id, session->id) == 0)
                return;   /* not ending, or done already */
        r = session_to_json_string(session, p, false, &json);
        if (r < 0) {
                log_error_errno(r, "%s: cannot serialise session %s: %m", hs->config->name, session->id);
                return;
        }
        snprintf(hs->spooled_id, sizeof(hs->spooled_id), "%s", session->id);
        hub_mqtt_session(h, hs, session, json);
}

void hub_event(Hub *h, Station *s, const EngineEvent *ev) {
        HubStation *hs = hub_station_of(h, s);

        if (!hs)
                return;
        spool_before_announcing(h, hs);
        /* Checkpoint at rep boundaries only (see hub_mqtt_checkpoint), and before the event
         * is announced: whatever a dashboard has seen is already durable. */
        if (ev->type == EVENT_CHECKIN || ev->type == EVENT_REST || ev->type == EVENT_SKIPPED)
                hub_mqtt_checkpoint(h, hs);
        hub_audio_event(h, hs, ev);
        hub_mqtt_event(h, hs, ev);
}

void hub_session_finished(Hub *h, Station *s, const Session *session, const char *json) {
        HubStation *hs = hub_station_of(h, s);

        if (!h->mqtt)
                log_info("%s: %s", station_name(s), json);
        if (hs && strcmp(hs->spooled_id, session->id) != 0) {
                snprintf(hs->spooled_id, sizeof(hs->spooled_id), "%s", session->id);
                hub_mqtt_session(h, hs, session, json);
        }
}

void hub_station_removed(Hub *h, HubStation *hs) {
        hub_gpio_station_stop(hs);
        hub_audio_station_stop(hs);
        hub_mqtt_station_stop(hs);
}
