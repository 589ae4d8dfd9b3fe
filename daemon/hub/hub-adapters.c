/* SPDX-License-Identifier: MIT */
/* Routes station output to the adapters. Until the BlueZ, GPIO and MQTT adapters are
 * configured, finished sessions go to the log. */

#include "hub/hub-private.h"
#include "shared/log.h"

int hub_adapters_start(Hub *h) {
        return 0;
}

int hub_adapters_reload(Hub *h) {
        return 0;
}

void hub_adapters_stop(Hub *h) {
}

void hub_cue_changed(Hub *h, Station *s, const Cue *cue) {
}

void hub_event(Hub *h, Station *s, const EngineEvent *ev) {
}

void hub_session_finished(Hub *h, Station *s, const Session *session, const char *json) {
        log_info("%s: %s", station_name(s), json);
}

void hub_station_removed(Hub *h, HubStation *hs) {
}
