/* SPDX-License-Identifier: MIT */
#pragma once

/* What the hub's own files share: the Hub object, and each adapter's start, reload, stop and
 * attach. An adapter (hub-gpio.c, hub-audio.c, hub-outbox.c, hub-mqtt.c, hub-ble.c) hears a
 * station's cues, events, checkpoints and finished sessions through the watch it adds to the
 * station in its *_attach() (station.h); the station knows none of them. */

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
#include "store/archive.h"
#include "mqtt/mqtt-command.h"
#include "mqtt/topics.h"
#include "hub/force-json.h"

/* At most this many samples per force batch (a 100 Hz tool at 1 batch/s). */
#define HUB_FORCE_BATCH_MAX 128

typedef struct HubStation {
        Station *station;
        const ConfigStation *config;   /* points into Hub.config */
        Footswitch *footswitch;
        CuePlayer *cues;
        /* MQTT live state: refreshed at every transition and at 4 Hz while counting down */
        sd_event_source *state_timer;
        char *selected_protocol;       /* "select" command: what a start without one runs */
        /* MQTT force batches (docs/mqtt.md): samples at the tool's rate, sent force_rate_hz times a second */
        float force_batch[HUB_FORCE_BATCH_MAX];
        unsigned n_force_batch;
        nsec_t force_batch_first, force_batch_last;
        double force_dt_ms;              /* the last batch's interval, for a batch of one */
        uint64_t force_seq;
        sd_event_source *force_timer;    /* flushes a batch every 1/force_rate_hz while samples flow */
        char force_text[FORCE_JSON_SIZE(HUB_FORCE_BATCH_MAX)];   /* the batch's text, reused */
        /* this station's topics, made once per configuration (they are on every message) */
        char *topics[_TOPIC_STATION_MAX];
        const Config *topics_config;
        /* the last state document, kept for the countdown's refresh (hub-mqtt.c) */
        json_object *state_doc;
        EngineStatus state_status;
        unsigned state_warnings;
        const Protocol *state_selected;
        /* commands: a token bucket (docs/mqtt.md, rate) */
        double cmd_tokens;
        nsec_t cmd_refilled;
        /* speaker (hub-audio.c) */
        struct Hub *hub;
        AudioPlayer *audio;
        int audio_error;               /* 0 while it plays */
        char *audio_prompt;            /* the prompt last said */
        bool audio_step_said;          /* the step was announced for this cue */
        bool audio_pacing;             /* a PPT step: the pacing tone follows the force */
        unsigned audio_underruns;      /* as last logged */
} HubStation;

/* A command reply waiting for its turn (at most HUB_REPLIES_INFLIGHT in flight). */
typedef struct HubReply {
        char *topic;
        char *json;
} HubReply;

typedef struct HubHa HubHa;

typedef struct Hub {
        sd_event *event;
        Config *config;
        Config **retired;              /* replaced by reload, kept while a session uses them */
        size_t n_retired;
        HubStation **stations;           /* each its own allocation: watches point at it */
        size_t n_stations;
        sd_event_source *release_retired; /* frees retired configurations after a session ended */
        char *status;
        GpioBackend *gpio;

        sd_bus *bus;
        BleManager *ble;

        MqttClient *mqtt;
        Outbox *outbox;
        SessionPublisher *publisher;
        char *started_at;
        nsec_t started_mono;             /* for uptime_s on status */
        bool spool_trouble;              /* said loudly in the status document ... */
        sd_event_source *spool_timer;    /* ... until a recheck finds the spool really usable */
        sd_event_source *tools_timer;    /* refreshes tools/<address> (last_seen) */
        HubReply *replies;               /* ring of HUB_REPLIES_MAX */
        size_t reply_head, n_replies;
        unsigned replies_inflight;
        uint64_t commands_dropped;       /* over the rate or no room for the reply */
        uint64_t replies_failed;         /* the broker never took the reply */
        sd_event_source *status_timer;   /* a changed counter republishes the status, 1/s at most */
        MqttClient *availability;        /* second link: plain online/offline with its own will */
        sd_event_source *sysinfo_timer;
        HubHa *ha;                       /* Home Assistant discovery, NULL when off */
        Archive *archive;                /* sent sessions, for sessions_since/resend (hub-archive.c) */
        SpeechCache *speech;             /* kept across reloads */
        bool speech_rendering;
        void (*stopped)(void *userdata); /* hub_stop() is done */
        void *stopped_userdata;
} Hub;

/* Each adapter adds its watch to a new station here (once, when the station is created). */
int hub_gpio_attach(HubStation *hs);
int hub_audio_attach(HubStation *hs);
int hub_outbox_attach(HubStation *hs);
int hub_mqtt_attach(HubStation *hs);
int hub_ble_attach(HubStation *hs);

/* GPIO glue (hub-gpio.c). */
int hub_gpio_start(Hub *h);
void hub_gpio_stop(Hub *h);
void hub_gpio_station_stop(HubStation *hs);
int hub_gpio_reload(Hub *h, const Config *old);

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

/* Which station a tool, a tag or a command serves (hub-assign.c). */
HubStation *hub_find_station(Hub *h, const char *name);
/* The station a tool serves: the one that lists it, else the first that adopts tools. */
HubStation *hub_station_of_tool(Hub *h, const char *address);
/* The station an athlete's tag tap starts a session at: the first idle one with a protocol. */
HubStation *hub_station_for_tag(Hub *h);
/* The protocol a start without one runs: the selected one, else the station's default. */
const Protocol *hub_station_protocol(Hub *h, HubStation *hs);

/* BlueZ glue (hub-ble.c). */
int hub_ble_start(Hub *h);
void hub_ble_stop(Hub *h);
/* Each tool's station is found at its first sample and kept by the BLE manager: stations or
 * their tools changed, find them again. */
void hub_ble_forget_stations(Hub *h);
int hub_ble_reload(Hub *h, const Config *old);
/* Zeroes the station's tools at their steady reading: NULL, or the reply's error text. */
const char *hub_ble_tare(Hub *h, HubStation *hs, nsec_t now);

/* The outbox and checkpoints (hub-outbox.c), whatever the MQTT setting: finished sessions
 * are spooled, running ones checkpointed at rep boundaries, and an interrupted one (a
 * checkpoint left by a crash) is recovered into the outbox at start; the MQTT publisher
 * sends what the outbox holds once a broker is configured. */
int hub_outbox_start(Hub *h);
/* Spools the checkpoints a crash left (idle stations only); after hub_mqtt_start(). */
void hub_outbox_recover(Hub *h);
/* Same spool, state directory, bound and topics: the outbox stays open over a reload. */
bool hub_outbox_settings_equal(const Config *a, const Config *b);
void hub_outbox_stop(Hub *h);
/* The topic a station's finished sessions go to (docs/mqtt.md). */
int hub_session_topic(const Hub *h, const char *station, char **ret);

/* MQTT glue (hub-mqtt.c). */
int hub_mqtt_start(Hub *h);
void hub_mqtt_stop(Hub *h);
int hub_mqtt_reload(Hub *h, const Config *old);
int hub_mqtt_shutdown(Hub *h);  /* 1: h->stopped will be called */
void hub_mqtt_tool(Hub *h, const char *address);
void hub_mqtt_links_changed(Hub *h);
void hub_mqtt_station_stop(HubStation *hs);
void hub_mqtt_station_forget(HubStation *hs);

/* Finished-session history (hub-history.c). */
void hub_history_record(Hub *h, HubStation *hs, const char *session_json);
void hub_history_publish(Hub *h, HubStation *hs);
/* The client options of the configuration's broker, for the hub's connections. */
MqttClientOptions hub_mqtt_options(const Hub *h, const char *client_id, const char *status_topic);
/* State and tool documents again (a reconnect, Home Assistant restarted). */
void hub_mqtt_republish(Hub *h);

/* Self-description (hub-meta.c): meta, the availability link, system info. */
size_t hub_links_in_use(Hub *h);       /* tools connected now */
int hub_meta_start(Hub *h);
void hub_meta_connected(Hub *h);
void hub_meta_shutdown(Hub *h);  /* clean stop: "offline" said, no will needed */
void hub_meta_stop(Hub *h);

/* Home Assistant discovery (hub-homeassistant.c); all no-ops unless mqtt.homeassistant. */
int hub_ha_start(Hub *h);
void hub_ha_connected(Hub *h);
/* true when the message was Home Assistant's (handled here). */
bool hub_ha_message(Hub *h, const char *topic, const void *payload, size_t len, bool retained);
void hub_ha_tool(Hub *h, const char *address);
void hub_ha_tag(Hub *h, HubStation *hs, const char *tag_id);
void hub_ha_stop(Hub *h);

/* The archive of sent sessions (hub-archive.c): sessions_since and resend. */
int hub_archive_start(Hub *h);
void hub_archive_add(Hub *h, const char *topic, const char *id, const char *json);
/* true when the command was an archive command (answered here on hs's cmd/reply). */
bool hub_archive_command(Hub *h, HubStation *hs, const MqttCommand *cmd);
void hub_archive_stop(Hub *h);
