/* SPDX-License-Identifier: MIT */
/* Routes station output to the adapters and starts/stops them with the hub. */

#include "hub/hub-private.h"
#include "shared/log.h"

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

int hub_adapters_reload(Hub *h) {
        /* Lines, tools and the broker may have changed: reopen from the new configuration.
         * Stations and their engines (and so running sessions) stay. */
        hub_adapters_stop(h);
        return hub_adapters_start(h);
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
        hub_audio_cue_changed(h, hs, cue);
        hub_mqtt_cue(h, hs);
}

void hub_event(Hub *h, Station *s, const EngineEvent *ev) {
        HubStation *hs = hub_station_of(h, s);

        if (!hs)
                return;
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
        if (hs)
                hub_mqtt_session(h, hs, session, json);
}

void hub_station_removed(Hub *h, HubStation *hs) {
        hub_gpio_station_stop(hs);
        hub_audio_station_stop(hs);
        hub_mqtt_station_stop(hs);
}
