/* SPDX-License-Identifier: MIT */
#pragma once

/* The hub configuration (/etc/tphub/tphub.conf, libconfig syntax, docs/config.md).
 * config_load() parses and validates everything, including the protocols each station
 * names; every problem is reported with file and line. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ble/ble-manager.h"
#include "engine/engine.h"
#include "mqtt/mqtt-client.h"
#include "engine/protocol.h"
#include "engine/switch-gesture.h"
#include "config/config-errors.h"

#define TPHUB_DEFAULT_CONFIG "/etc/tphub/tphub.conf"

/* A GPIO line: by offset, or by line name when name is set. */
typedef struct ConfigLine {
        bool set;
        char *name;
        unsigned offset;
} ConfigLine;

typedef struct ConfigSwitch {
        char *chip;          /* chip name ("gpiochip0"), path, or label ("pinctrl-bcm2711") */
        ConfigLine line;
        bool active_low;
        char *bias;          /* "pull-up", "pull-down", "disable", "as-is" */
} ConfigSwitch;

typedef struct ConfigCues {
        char *chip;
        ConfigLine green, amber, red, buzzer;
        bool active_low;     /* LEDs wired to sink current */
} ConfigCues;

/* A station's speaker (ALSA); the buzzer line stays for stations without one. */
typedef struct ConfigStationAudio {
        bool enabled;        /* the group's "enabled"; has_audio says whether it is in use */
        char *device;        /* ALSA PCM name, default AUDIO_PLAYER_DEFAULT_DEVICE */
        double volume;       /* 0..1, default AUDIO_PLAYER_DEFAULT_VOLUME */
} ConfigStationAudio;

typedef struct ConfigTool {
        char *address;       /* "AA:BB:CC:DD:EE:FF" */
        char *driver;        /* "progressor", "forceboard", ... */
} ConfigTool;

typedef struct ConfigStation {
        char *name;
        char *protocol;            /* default protocol name */
        char *area;                /* where it stands ("Treatment room 2"), NULL = unknown */
        const Protocol *default_protocol; /* resolved, points into Config.protocols */
        ConfigTool *tools;
        size_t n_tools;
        bool auto_adopt;           /* adopt any nearby known tool not claimed elsewhere */
        bool has_switch;
        ConfigSwitch sw;
        bool has_cues;
        ConfigCues cues;
        bool has_audio;            /* audio group present and enabled */
        ConfigStationAudio audio;
        EngineParams engine;       /* hub defaults with station overrides applied */
} ConfigStation;

typedef struct ConfigTag {
        char *athlete;
        char *address;             /* fixed address, or */
        char *ibeacon;             /* "UUID:major:minor", or */
        char *eddystone;           /* "namespace(10 bytes hex):instance(6 bytes hex)" */
} ConfigTag;

typedef struct ConfigBle {
        bool enabled;
        /* The BLE manager's own options (ble/ble-manager.h), handed to it as they are: the
         * adapter ("hci0", or NULL = first powered), max_links, connect_timeout_ms, the
         * reconnect backoff (backoff_initial_ms doubling up to backoff_max_ms), and the tag
         * level (a tag counts as tapped above tag_rssi_dbm for tag_hold_ms). The keys the
         * file does not set keep the manager's defaults. The strings are owned here. */
        BleManagerConfig manager;
        ConfigTag *tags;
        size_t n_tags;
} ConfigBle;

typedef struct ConfigMqtt {
        bool enabled;
        /* The MQTT client's own options (mqtt/mqtt-client.h), handed to it as they are: uri,
         * version, client_id (NULL = host name), credentials_file ("user\npassword\n", not
         * accessible to others), the TLS ca_file, cert_file, key_file, keepalive_s. What the
         * file does not set stays zero (the client's defaults); the hub adds its status
         * topic. The strings are owned here. */
        MqttClientOptions client;
        char *prefix;              /* topic prefix, default "tphub" */
        double force_rate_hz;      /* force topic decimation */
        unsigned spool_max_sessions;
        unsigned archive_max_sessions; /* sent sessions kept for sessions_since/resend; 0 = no archive */
        unsigned archive_days;         /* and for at most this long; 0 = no age limit */
        bool homeassistant;
        char *discovery_prefix;
        bool homeassistant_athlete; /* expose the athlete id to Home Assistant (privacy: off) */
        char *dashboard_url;       /* base URL of the dashboard, for links from Home Assistant */
} ConfigMqtt;

typedef struct ConfigGpio {
        char *backend;             /* "chip" (libgpiod) or "sim" */
        char *sim_socket;          /* sim backend's unix socket */
} ConfigGpio;

/* Speech for every station with a speaker. */
typedef struct ConfigAudio {
        char *speech_dir;          /* shipped protocols' speech, rendered at build time */
        char *cache_dir;           /* user protocols' speech, rendered at load; default <state>/speech */
        char *espeak;              /* the espeak-ng program, default "espeak-ng" */
        bool speech;               /* speak at all, default true */
} ConfigAudio;

typedef struct Config {
        char *path;
        char *hub;
        char **protocol_dirs;      /* searched in order for NAME.conf */
        size_t n_protocol_dirs;
        char *spool_dir;
        char *state_dir;
        SwitchGestureParams gesture;
        uint32_t debounce_ms;
        ConfigGpio gpio;
        ConfigBle ble;
        ConfigMqtt mqtt;
        ConfigAudio audio;
        ConfigStation *stations;
        size_t n_stations;
        Protocol **protocols;      /* every protocol found in protocol_dirs, loaded */
        size_t n_protocols;
} Config;

/* Loads and validates. On any error returns -EINVAL (or -ENOENT, -ENOMEM) and fills errs
 * with every problem found, not only the first. */
int config_load(const char *path, Config **ret, ConfigErrors *errs);
Config *config_free(Config *c);
static inline void config_freep(Config **c) {
        if (*c)
                config_free(*c);
}

const Protocol *config_find_protocol(const Config *c, const char *name);
const ConfigStation *config_find_station(const Config *c, const char *name);

/* What a reload changed (each adapter compares its own part of the old and new file). The
 * MQTT part includes the hub name and the spool and state directories; the keys the
 * settings tables mark live (force_rate_hz, the archive limits, homeassistant_athlete,
 * dashboard_url) are read where they are used and need no restart. */
bool config_mqtt_equal(const Config *a, const Config *b);
bool config_ble_equal(const Config *a, const Config *b);        /* adapter, limits, tags */
bool config_has_tool(const Config *c, const char *address, const char *driver);
bool config_auto_adopt(const Config *c);
bool config_gpio_equal(const Config *a, const Config *b);       /* backend, debounce, gestures */
bool config_switch_equal(const ConfigStation *a, const ConfigStation *b);
bool config_cues_equal(const ConfigStation *a, const ConfigStation *b);
