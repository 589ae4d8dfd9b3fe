/* SPDX-License-Identifier: MIT */
/* Routes station output to the adapters and starts/stops them with the hub. */

#include "hub/hub-private.h"
#include "shared/log.h"

int hub_adapters_start(Hub *h) {
        return hub_gpio_start(h);
}

int hub_adapters_reload(Hub *h) {
        /* Lines may have moved or stations come and gone: reopen GPIO from the new config. */
        hub_gpio_stop(h);
        return hub_gpio_start(h);
}

void hub_adapters_stop(Hub *h) {
        hub_gpio_stop(h);
}

void hub_cue_changed(Hub *h, Station *s, const Cue *cue) {
        for (size_t i = 0; i < h->n_stations; i++)
                if (h->stations[i].station == s && h->stations[i].cues)
                        (void) cue_player_show(h->stations[i].cues, cue, now_monotonic());
}

void hub_event(Hub *h, Station *s, const EngineEvent *ev) {
}

void hub_session_finished(Hub *h, Station *s, const Session *session, const char *json) {
        log_info("%s: %s", station_name(s), json);
}

void hub_station_removed(Hub *h, HubStation *hs) {
        hub_gpio_station_stop(hs);
}
