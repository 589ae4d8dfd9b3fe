/* SPDX-License-Identifier: MIT */
#pragma once

/* What the hub's own files share: the Hub object and the hooks through which the adapter
 * glue (hub-*.c: BlueZ, GPIO, MQTT) sees stations' cues, events and finished sessions. */

#include "hub/hub.h"
#include "hub/station.h"

#include "gpio/cue-player.h"
#include "gpio/footswitch.h"
#include "gpio/gpio-backend.h"

typedef struct HubStation {
        Station *station;
        const ConfigStation *config;   /* points into Hub.config */
        Footswitch *footswitch;
        CuePlayer *cues;
} HubStation;

typedef struct Hub {
        sd_event *event;
        Config *config;
        Config **retired;              /* replaced by reload, kept while a session uses them */
        size_t n_retired;
        HubStation *stations;
        size_t n_stations;
        char *status;
        GpioBackend *gpio;
} Hub;

void hub_release_retired(Hub *h);

/* GPIO glue (hub-gpio.c). */
int hub_gpio_start(Hub *h);
void hub_gpio_stop(Hub *h);
void hub_gpio_station_stop(HubStation *hs);

/* Implemented by the adapter glue (hub-adapters.c). */
int hub_adapters_start(Hub *h);
int hub_adapters_reload(Hub *h);
void hub_adapters_stop(Hub *h);
void hub_cue_changed(Hub *h, Station *s, const Cue *cue);
void hub_event(Hub *h, Station *s, const EngineEvent *ev);
void hub_session_finished(Hub *h, Station *s, const Session *session, const char *json);
void hub_station_removed(Hub *h, HubStation *hs);
