/* SPDX-License-Identifier: MIT */
#pragma once

/* What the hub's own files share: the Hub object and the hooks through which the adapter
 * glue (hub-*.c: BlueZ, GPIO, MQTT) sees stations' cues, events and finished sessions. */

#include "hub/hub.h"
#include "hub/station.h"

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "audio/audio-player.h"
#include "audio/speech-cache.h"
#include "ble/ble-manager.h"
#include "gpio/cue-player.h"
#include "gpio/footswitch.h"
#include "gpio/gpio-backend.h"
#include "mqtt/mqtt-client.h"
#include "mqtt/session-publisher.h"
#include "store/outbox.h"

typedef struct HubStation {
        Station *station;
        const ConfigStation *config;   /* points into Hub.config */
        Footswitch *footswitch;
        CuePlayer *cues;
        /* MQTT live state: refreshed at every transition and at 4 Hz while counting down */
        sd_event_source *state_timer;
        nsec_t force_published;
        /* speaker (hub-audio.c) */
        struct Hub *hub;
        AudioPlayer *audio;
        int audio_error;               /* 0 while it plays */
        char *audio_prompt;            /* the prompt last said */
        bool audio_step_said;          /* the step was announced for this cue */
        bool audio_pacing;             /* a PPT step: the pacing tone follows the force */
        unsigned audio_underruns;      /* as last logged */
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

        sd_bus *bus;
        BleManager *ble;

        MqttClient *mqtt;
        Outbox *outbox;
        SessionPublisher *publisher;
        char *started_at;
        bool spool_trouble;              /* said loudly in the status document */
        sd_event_source *tools_timer;    /* refreshes tools/<address> (last_seen) */
        SpeechCache *speech;             /* kept across reloads */
        bool speech_rendering;
        void (*stopped)(void *userdata); /* hub_stop() is done */
        void *stopped_userdata;
} Hub;

void hub_release_retired(Hub *h);

/* GPIO glue (hub-gpio.c). */
int hub_gpio_start(Hub *h);
void hub_gpio_stop(Hub *h);
void hub_gpio_station_stop(HubStation *hs);

/* Speaker glue (hub-audio.c). */
int hub_audio_start(Hub *h);
void hub_audio_stop(Hub *h);
void hub_audio_shutdown(Hub *h);    /* also the speech cache */
void hub_audio_station_stop(HubStation *hs);
void hub_audio_render(Hub *h, HubStation *hs, const Cue *cue);
void hub_audio_cue_changed(Hub *h, HubStation *hs, const Cue *cue);
void hub_audio_event(Hub *h, HubStation *hs, const EngineEvent *ev);
void hub_audio_force(Hub *h, HubStation *hs);
void hub_audio_status(Hub *h, json_object *status);

/* BlueZ glue (hub-ble.c). */
int hub_ble_start(Hub *h);
void hub_ble_stop(Hub *h);

/* MQTT glue (hub-mqtt.c). */
int hub_mqtt_start(Hub *h);
void hub_mqtt_stop(Hub *h);
int hub_mqtt_shutdown(Hub *h);  /* 1: h->stopped will be called */
void hub_mqtt_cue(Hub *h, HubStation *hs);
void hub_mqtt_event(Hub *h, HubStation *hs, const EngineEvent *ev);
void hub_mqtt_force(Hub *h, HubStation *hs, nsec_t now);
void hub_mqtt_session(Hub *h, HubStation *hs, const Session *session, const char *json);
void hub_mqtt_checkpoint(Hub *h, HubStation *hs);
void hub_mqtt_tool(Hub *h, const char *address);
void hub_mqtt_station_stop(HubStation *hs);

HubStation *hub_find_station(Hub *h, const char *name);
HubStation *hub_station_of(Hub *h, const Station *s);

/* Implemented by the adapter glue (hub-adapters.c). */
int hub_adapters_start(Hub *h);
int hub_adapters_reload(Hub *h);
void hub_adapters_stop(Hub *h);
void hub_cue_changed(Hub *h, Station *s, const Cue *cue);
/* Shows a new cue on the station's LEDs and buzzer, before anything else happens. */
void hub_cue_render(Hub *h, Station *s, const Cue *cue);
void hub_event(Hub *h, Station *s, const EngineEvent *ev);
void hub_session_finished(Hub *h, Station *s, const Session *session, const char *json);
void hub_station_removed(Hub *h, HubStation *hs);
