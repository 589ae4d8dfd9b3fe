/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/audio-player.h"
#include "audio/speech-render.h"
#include "ble/ble-id.h"
#include "ble/ble-manager.h"
#include "ble/drivers/driver.h"
#include "config/conf-reader.h"
#include "config/config-tables.h"
#include "config/config.h"
#include "config/protocol-load.h"
#include "gpio/footswitch.h"
#include "gpio/gpio-backend.h"
#include "mqtt/mqtt-client.h"
#include "mqtt/mqtt-uri.h"
#include "mqtt/topics.h"
#include "shared/macro.h"

#ifndef TPHUB_SYSCONF_PROTOCOLS_DIR
#define TPHUB_SYSCONF_PROTOCOLS_DIR "/etc/tphub/protocols"
#endif
#ifndef TPHUB_DATA_PROTOCOLS_DIR
#define TPHUB_DATA_PROTOCOLS_DIR "/usr/share/tphub/protocols"
#endif
#ifndef TPHUB_SPEECH_DIR
#define TPHUB_SPEECH_DIR "/usr/share/tphub/speech"
#endif

#define MAX_STATIONS 32
#define MAX_TOOLS 8
#define MAX_TAGS 1000
#define MAX_LINE_OFFSET 65535
#define MAX_AREA 64
#define MAX_URL 256

static const char *const top_keys[] = { "hub", "paths", "engine", "switch", "gpio", "ble", "mqtt", "audio", "stations", NULL };

/* What the station parsers need beyond the station itself. */
typedef struct StationCtx {
        Config *config;            /* the stations read so far: c->stations[0 .. n_stations) */
        char *const *failed;       /* protocols whose files failed to load (explained already) */
        size_t n_failed;
} StationCtx;

/* ---- format parsers: each reads a string and asks the owning module's validator ---- */

/* A string key that must not be "": *ret points at the stored value, for the caller's check. */
static int read_nonempty_string(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section,
                                char **ret) {
        int r = conf_parse_nonempty(R, s, item, section, NULL);

        if (r > 0)
                *ret = *CONF_FIELD(section, item, char *);
        return r;
}

/* "PATH message": the setting's path first, as the generic getters report. */
#define ERR_PATH(R, s, fmt, ...)                                                        \
        ({                                                                              \
                _cleanup_free_ char *_p = conf_path(s);                                 \
                conf_error(R, s, "%s " fmt, _p ?: config_setting_name(s), ##__VA_ARGS__); \
        })

/* hub.name, station names and athletes become topic levels: topic_name_valid(). */
static int parse_name(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        char *v;
        int r;

        (void) ctx;
        r = read_nonempty_string(R, s, item, section, &v);
        if (r <= 0)
                return r;
        if (!topic_name_valid(v))
                return conf_error(R, s, "%s \"%s\" must be 1 to %d of A-Z a-z 0-9 _ - (it becomes an MQTT topic level)",
                                  item->what, v, TOPIC_NAME_MAX);
        return 1;
}

static int parse_station_name(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section,
                              void *ctx) {
        const StationCtx *x = ctx;
        char *v;
        int r;

        r = parse_name(R, s, item, section, NULL);
        if (r <= 0)
                return r;
        v = *CONF_FIELD(section, item, char *);
        if (topic_station_name_reserved(v))
                return conf_error(R, s, "station name \"%s\" is reserved for the hub's own MQTT topics", v);
        if (config_find_station(x->config, v))
                return conf_error(R, s, "station name \"%s\" is used twice", v);
        return 1;
}

/* Bluetooth addresses: ble_address_normalize(), stored upper-case. */
static int parse_address(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        char norm[BLE_ADDRESS_LEN + 1], *v;
        int r;

        (void) ctx;
        r = read_nonempty_string(R, s, item, section, &v);
        if (r <= 0)
                return r;
        if (ble_address_normalize(v, norm) < 0)
                return conf_error(R, s, "%s \"%s\" is not a Bluetooth address like \"AA:BB:CC:DD:EE:FF\"", item->what, v);
        memcpy(v, norm, sizeof(norm));   /* same length */
        return 1;
}

/* Replaces the string at the item's destination by norm. */
static int store_normalized(ConfReader *R, const ConfItem *item, void *section, const char *norm) {
        char **p = CONF_FIELD(section, item, char *), *copy = strdup(norm);

        if (!copy)
                return conf_error(R, NULL, "out of memory");
        free(*p);
        *p = copy;
        return 1;
}

static int parse_ibeacon(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        char norm[BLE_IBEACON_STRING_MAX + 1], *v;
        int r;

        (void) ctx;
        r = read_nonempty_string(R, s, item, section, &v);
        if (r <= 0)
                return r;
        if (ble_ibeacon_normalize(v, norm) < 0)
                return conf_error(R, s, "ibeacon \"%s\" must be \"UUID:major:minor\" (major and minor 0 to 65535)", v);
        return store_normalized(R, item, section, norm);
}

static int parse_eddystone(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        char norm[BLE_EDDYSTONE_STRING_LEN + 1], *v;
        int r;

        (void) ctx;
        r = read_nonempty_string(R, s, item, section, &v);
        if (r <= 0)
                return r;
        if (ble_eddystone_normalize(v, norm) < 0)
                return conf_error(R, s, "eddystone \"%s\" must be \"namespace:instance\" (20 and 12 hex digits)", v);
        return store_normalized(R, item, section, norm);
}

static int parse_driver(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        char known[256] = "", *v;
        int r;

        (void) ctx;
        r = read_nonempty_string(R, s, item, section, &v);
        if (r <= 0 || driver_find(v))
                return r;
        for (const Driver *const *d = driver_table; *d; d++)
                snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", d == driver_table ? "" : ", ",
                         (*d)->name);
        return conf_error(R, s, "unknown driver \"%s\" (known: %s)", v, known);
}

static int parse_mqtt_uri(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        char *v;
        int r;

        (void) ctx;
        r = read_nonempty_string(R, s, item, section, &v);
        if (r > 0 && !mqtt_uri_valid(v, NULL))
                return ERR_PATH(R, s, "\"%s\" must look like tcp://HOST:PORT (schemes: tcp, mqtt, ws, ssl, mqtts, wss)", v);
        return r;
}

static int parse_mqtt_version(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section,
                              void *ctx) {
        uint32_t v;
        int r;

        (void) ctx;
        r = conf_get_uint(R, s, 0, UINT32_MAX, &v);
        if (r <= 0)
                return r;
        if (v != 3 && v != 5)
                return conf_error(R, s, "mqtt.version must be 3 (MQTT 3.1.1) or 5, not %u", v);
        *CONF_FIELD(section, item, unsigned) = v;
        return 1;
}

static int parse_client_id(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        char **p = CONF_FIELD(section, item, char *);
        int r = conf_parse_string(R, s, item, section, ctx);

        if (r > 0 && *p && !mqtt_client_id_valid(*p))
                return conf_error(R, s, "mqtt.client_id must be at most %d characters without spaces, '/', '+' or '#'",
                                  MQTT_CLIENT_ID_MAX);
        return r;
}

static int parse_topic_prefix(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section,
                              void *ctx) {
        char *v;
        int r;

        (void) ctx;
        r = read_nonempty_string(R, s, item, section, &v);
        if (r <= 0 || topic_prefix_valid(v))
                return r;
        return ERR_PATH(R, s, "\"%s\" must be topic levels of A-Z a-z 0-9 _ . - separated by single '/' (no "
                        "wildcards, at most %d)", v, TOPIC_PREFIX_MAX);
}

static int parse_dashboard_url(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section,
                               void *ctx) {
        char *v;
        int r;

        (void) ctx;
        r = read_nonempty_string(R, s, item, section, &v);
        if (r <= 0)
                return r;
        if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) || strlen(v) > MAX_URL ||
            strpbrk(v, " \t\r\n\"<>"))
                return conf_error(R, s, "mqtt.dashboard_url \"%s\" must be an http:// or https:// URL of at most %d "
                                  "characters without spaces", v, MAX_URL);
        return 1;
}

static int parse_gpio_backend(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section,
                              void *ctx) {
        char *v;
        int r;

        (void) ctx;
        r = read_nonempty_string(R, s, item, section, &v);
        if (r > 0 && strcmp(v, "chip") != 0 && strcmp(v, "sim") != 0)
                return conf_error(R, s, "gpio.backend must be \"chip\" or \"sim\", not \"%s\"", v);
        return r;
}

/* GPIO bias names: gpio_bias_from_string(). */
static int parse_bias(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        char *v;
        int r;

        (void) ctx;
        r = read_nonempty_string(R, s, item, section, &v);
        if (r > 0 && gpio_bias_from_string(v) < 0)
                return ERR_PATH(R, s, "must be \"pull-up\", \"pull-down\", \"disable\" or \"as-is\", not \"%s\"", v);
        return r;
}

static int parse_area(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        char *v;
        int r;

        (void) ctx;
        r = read_nonempty_string(R, s, item, section, &v);
        if (r > 0 && (strlen(v) > MAX_AREA || strpbrk(v, "\t\r\n")))
                return conf_error(R, s, "area \"%s\" must be at most %d characters on one line", v, MAX_AREA);
        return r;
}

static bool strv_contains(char *const *v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

static int parse_station_protocol(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section,
                                  void *ctx) {
        const StationCtx *x = ctx;
        ConfigStation *st = section;
        char *v;
        int r;

        r = read_nonempty_string(R, s, item, section, &v);
        if (r <= 0)
                return r;
        st->default_protocol = config_find_protocol(x->config, v);
        /* A protocol whose file failed to load was explained by that file's errors. */
        if (!st->default_protocol && !strv_contains(x->failed, x->n_failed, v))
                return conf_error(R, s, "no protocol \"%s\" (looked for %s.conf in paths.protocols)", v, v);
        return 1;
}

static void line_done(ConfigLine *l) {
        free(l->name);
        *l = (ConfigLine) {};
}

/* A GPIO line: an offset (integer) or a line name (string). */
static int parse_line(ConfReader *R, const config_setting_t *s, const ConfItem *item, void *section, void *ctx) {
        ConfigLine *l = CONF_FIELD(section, item, ConfigLine);
        int r;

        (void) ctx;
        if (config_setting_type(s) == CONFIG_TYPE_STRING) {
                _cleanup_free_ char *name = NULL;

                r = conf_get_string(R, s, &name);
                if (r <= 0)
                        return r;
                if (!name)
                        return ERR_PATH(R, s, "must not be empty");
                line_done(l);
                *l = (ConfigLine) { .set = true, .name = TAKE_PTR(name) };
                return 1;
        }
        if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) {
                uint32_t off;

                r = conf_get_uint(R, s, 0, MAX_LINE_OFFSET, &off);
                if (r <= 0)
                        return r;
                line_done(l);
                *l = (ConfigLine) { .set = true, .offset = off };
                return 1;
        }
        return ERR_PATH(R, s, "must be a line offset (integer) or a line name (string)");
}

/* ---- the tables: every key of tphub.conf, once (docs/config.md lists the same) ---- */

#define ITEM(k, parser, kind_, type, member, lo, hi, ...) \
        { .key = k, .parse = parser, .kind = CONF_KIND_##kind_, .offset = offsetof(type, member), .min = lo, .max = hi, __VA_ARGS__ }
#define BOOL(k, type, member, ...) ITEM(k, conf_parse_bool, BOOL, type, member, 0, 0, __VA_ARGS__)
#define UINT(k, type, member, lo, hi, ...) ITEM(k, conf_parse_uint, UINT, type, member, lo, hi, __VA_ARGS__)
#define MS(k, type, member, lo_s, hi_s, ...) ITEM(k, conf_parse_ms, UINT, type, member, lo_s, hi_s, __VA_ARGS__)
#define INT(k, type, member, lo, hi, ...) ITEM(k, conf_parse_int, INT, type, member, lo, hi, __VA_ARGS__)
#define DOUBLE(k, type, member, lo, hi, ...) ITEM(k, conf_parse_double, DOUBLE, type, member, lo, hi, __VA_ARGS__)
#define STRING(k, parser, type, member, ...) ITEM(k, parser, STRING, type, member, 0, 0, __VA_ARGS__)
#define OTHER(k, parser, type, member, ...) ITEM(k, parser, OTHER, type, member, 0, 0, __VA_ARGS__)

static const ConfItem hub_items[] = {
        STRING("name", parse_name, Config, hub, .required = true, .what = "hub name"),
        CONF_ITEMS_END,
};

static const ConfItem paths_items[] = {
        /* protocols: a list, read by read_paths() */
        STRING("spool", conf_parse_path_nonempty, Config, spool_dir, .def.s = "/var/lib/tphub/spool"),
        STRING("state", conf_parse_path_nonempty, Config, state_dir, .def.s = "/var/lib/tphub"),
        CONF_ITEMS_END,
};

/* Defaults: ENGINE_PARAMS_DEFAULT (engine/engine.h); a station's group starts from the hub's. */
static const ConfItem engine_items[] = {
        MS("idle_timeout_s", EngineParams, idle_timeout_ms, 10, 86400, .module = true),
        MS("tool_grace_s", EngineParams, tool_grace_ms, 0, 3600, .module = true),
        UINT("checkin_press_ms", EngineParams, checkin_press_ms, 0, 10000, .module = true),
        UINT("smoothing_ms", EngineParams, smoothing_ms, 0, 2000, .module = true),
        DOUBLE("hysteresis_n", EngineParams, hysteresis_n, 0, 50, .module = true),
        DOUBLE("hysteresis_frac", EngineParams, hysteresis_frac, 0, 0.5, .module = true),
        DOUBLE("descent_frac", EngineParams, descent_frac, 0.1, 1.0, .module = true),
        CONF_ITEMS_END,
};

/* Gestures: SWITCH_GESTURE_PARAMS_DEFAULT (engine/switch-gesture.h). */
static const ConfItem switch_items[] = {
        UINT("debounce_ms", Config, debounce_ms, 0, 500, .def.u = FOOTSWITCH_DEFAULT_DEBOUNCE_MS),
        UINT("tap_max_ms", Config, gesture.tap_max_ms, 50, 5000, .module = true),
        UINT("long_ms", Config, gesture.long_ms, 100, 30000, .module = true),
        UINT("very_long_ms", Config, gesture.very_long_ms, 200, 60000, .module = true),
        CONF_ITEMS_END,
};

static const ConfItem gpio_items[] = {
        STRING("backend", parse_gpio_backend, ConfigGpio, backend, .def.s = "chip"),
        STRING("sim_socket", conf_parse_path_nonempty, ConfigGpio, sim_socket, .def.s = "/run/tphub/gpio-sim.sock"),
        CONF_ITEMS_END,
};

static const ConfItem ble_items[] = {
        /* tags: a list, read by read_ble() */
        BOOL("enabled", ConfigBle, enabled, .def.b = true),
        STRING("adapter", conf_parse_string, ConfigBle, manager.adapter),
        UINT("max_links", ConfigBle, manager.max_links, 1, 10, .def.u = BLE_MANAGER_DEFAULT_MAX_LINKS),
        MS("connect_timeout_s", ConfigBle, manager.connect_timeout_ms, 1, 300, .def.u = BLE_MANAGER_DEFAULT_CONNECT_TIMEOUT_MS),
        INT("tag_rssi_dbm", ConfigBle, manager.tag_rssi_dbm, -120, -1, .def.i = BLE_MANAGER_DEFAULT_TAG_RSSI_DBM),
        UINT("tag_hold_ms", ConfigBle, manager.tag_hold_ms, 0, 10000, .def.u = BLE_MANAGER_DEFAULT_TAG_HOLD_MS),
        UINT("backoff_initial_ms", ConfigBle, manager.backoff_initial_ms, 10, 60000, .def.u = BLE_MANAGER_DEFAULT_BACKOFF_INITIAL_MS),
        UINT("backoff_max_ms", ConfigBle, manager.backoff_max_ms, 10, 600000, .def.u = BLE_MANAGER_DEFAULT_BACKOFF_MAX_MS),
        CONF_ITEMS_END,
};

static const ConfItem tag_items[] = {
        STRING("athlete", parse_name, ConfigTag, athlete, .required = true, .what = "athlete"),
        STRING("address", parse_address, ConfigTag, address, .what = "tag address"),
        STRING("ibeacon", parse_ibeacon, ConfigTag, ibeacon),
        STRING("eddystone", parse_eddystone, ConfigTag, eddystone),
        CONF_ITEMS_END,
};

static const ConfItem mqtt_items[] = {
        BOOL("enabled", ConfigMqtt, enabled, .def.b = true),
        STRING("uri", parse_mqtt_uri, ConfigMqtt, client.uri, .def.s = MQTT_CLIENT_DEFAULT_URI),
        ITEM("version", parse_mqtt_version, UINT, ConfigMqtt, client.version, 3, 5, .def.u = MQTT_CLIENT_DEFAULT_VERSION),
        STRING("client_id", parse_client_id, ConfigMqtt, client.client_id),
        STRING("prefix", parse_topic_prefix, ConfigMqtt, prefix, .def.s = TOPIC_DEFAULT_PREFIX),
        STRING("credentials_file", conf_parse_path, ConfigMqtt, client.credentials_file),
        STRING("ca_file", conf_parse_path, ConfigMqtt, client.ca_file),
        STRING("cert_file", conf_parse_path, ConfigMqtt, client.cert_file),
        STRING("key_file", conf_parse_path, ConfigMqtt, client.key_file),
        UINT("keepalive_s", ConfigMqtt, client.keepalive_s, 5, 3600, .def.u = MQTT_CLIENT_DEFAULT_KEEPALIVE_S),
        DOUBLE("force_rate_hz", ConfigMqtt, force_rate_hz, 0, 100, .def.d = 10.0, .live = true),
        UINT("spool_max_sessions", ConfigMqtt, spool_max_sessions, 1, 1000000, .def.u = 1000),
        UINT("archive_max_sessions", ConfigMqtt, archive_max_sessions, 0, 1000000, .def.u = 1000, .live = true),
        UINT("archive_days", ConfigMqtt, archive_days, 0, 3650, .def.u = 30, .live = true),
        BOOL("homeassistant", ConfigMqtt, homeassistant),
        STRING("discovery_prefix", parse_topic_prefix, ConfigMqtt, discovery_prefix, .def.s = TOPIC_DEFAULT_DISCOVERY_PREFIX),
        BOOL("homeassistant_athlete", ConfigMqtt, homeassistant_athlete, .live = true),
        STRING("dashboard_url", parse_dashboard_url, ConfigMqtt, dashboard_url, .live = true),
        CONF_ITEMS_END,
};

static const ConfItem audio_items[] = {
        BOOL("speech", ConfigAudio, speech, .def.b = true),
        STRING("speech_dir", conf_parse_path, ConfigAudio, speech_dir, .def.s = TPHUB_SPEECH_DIR),
        STRING("cache_dir", conf_parse_path, ConfigAudio, cache_dir),   /* unset: <paths.state>/speech */
        STRING("espeak", conf_parse_nonempty, ConfigAudio, espeak, .def.s = SPEECH_RENDER_DEFAULT_ESPEAK),
        CONF_ITEMS_END,
};

static const char *const station_groups[] = { "tools", "switch", "cues", "audio", "engine", NULL };

static const ConfItem station_items[] = {
        STRING("name", parse_station_name, ConfigStation, name, .required = true, .what = "station name"),
        STRING("area", parse_area, ConfigStation, area),
        STRING("protocol", parse_station_protocol, ConfigStation, protocol, .required = true),
        BOOL("auto_adopt", ConfigStation, auto_adopt),
        CONF_ITEMS_END,
};

static const ConfItem tool_items[] = {
        STRING("address", parse_address, ConfigTool, address, .required = true, .what = "tool address"),
        STRING("driver", parse_driver, ConfigTool, driver, .required = true),
        CONF_ITEMS_END,
};

static const ConfItem station_switch_items[] = {
        STRING("chip", conf_parse_nonempty, ConfigSwitch, chip, .required = true),
        OTHER("line", parse_line, ConfigSwitch, line, .required = true),
        BOOL("active_low", ConfigSwitch, active_low, .def.b = true),
        STRING("bias", parse_bias, ConfigSwitch, bias, .def.s = "pull-up"),
        CONF_ITEMS_END,
};

static const ConfItem cues_items[] = {
        STRING("chip", conf_parse_nonempty, ConfigCues, chip, .required = true),
        OTHER("green", parse_line, ConfigCues, green),
        OTHER("amber", parse_line, ConfigCues, amber),
        OTHER("red", parse_line, ConfigCues, red),
        OTHER("buzzer", parse_line, ConfigCues, buzzer),
        BOOL("active_low", ConfigCues, active_low),
        CONF_ITEMS_END,
};

static const ConfItem station_audio_items[] = {
        BOOL("enabled", ConfigStationAudio, enabled, .def.b = true),
        STRING("device", conf_parse_nonempty, ConfigStationAudio, device, .def.s = AUDIO_PLAYER_DEFAULT_DEVICE),
        DOUBLE("volume", ConfigStationAudio, volume, 0.0, 1.0, .def.d = AUDIO_PLAYER_DEFAULT_VOLUME),
        CONF_ITEMS_END,
};

const ConfigSection config_sections[] = {
        { "hub", hub_items },
        { "paths", paths_items },
        { "engine", engine_items },
        { "switch", switch_items },
        { "gpio", gpio_items },
        { "ble", ble_items },
        { "ble.tags[]", tag_items },
        { "mqtt", mqtt_items },
        { "audio", audio_items },
        { "stations[]", station_items },
        { "stations[].tools[]", tool_items },
        { "stations[].switch", station_switch_items },
        { "stations[].cues", cues_items },
        { "stations[].audio", station_audio_items },
        { "stations[].engine", engine_items },
        {},
};

/* ---- sections ---- */

/* Reads group key of parent into section (defaults already stored). 1 if the group is there,
 * 0 if absent, negative after an error in it. */
static int read_group(ConfReader *R, const config_setting_t *parent, const char *key, const ConfItem *items,
                      const char *const *extra, void *section, void *ctx, config_setting_t **ret) {
        config_setting_t *g = NULL;
        unsigned before = R->n_errors;
        int r;

        r = conf_group(R, parent, key, &g);
        if (ret)
                *ret = g;
        if (r <= 0)
                return r;
        (void) conf_items_read(R, g, items, extra, section, ctx);
        return R->n_errors == before ? 1 : -EINVAL;
}

static void read_switch_params(ConfReader *R, const config_setting_t *root, Config *c) {
        config_setting_t *g;

        if (read_group(R, root, "switch", switch_items, NULL, c, NULL, &g) <= 0)
                return;
        /* The gestures are told apart by duration, so the bounds must be ordered. */
        if (c->gesture.tap_max_ms >= c->gesture.long_ms)
                conf_error(R, g, "switch.tap_max_ms (%u) must be below switch.long_ms (%u)",
                           c->gesture.tap_max_ms, c->gesture.long_ms);
        else if (c->gesture.long_ms >= c->gesture.very_long_ms)
                conf_error(R, g, "switch.long_ms (%u) must be below switch.very_long_ms (%u)",
                           c->gesture.long_ms, c->gesture.very_long_ms);
        else if (c->debounce_ms >= c->gesture.tap_max_ms)
                conf_error(R, g, "switch.debounce_ms (%u) must be below switch.tap_max_ms (%u)",
                           c->debounce_ms, c->gesture.tap_max_ms);
}

static void tag_done(ConfigTag *t) {
        conf_items_free(tag_items, t);
}

static const char *tag_id(const ConfigTag *t) {
        return t->address ?: t->ibeacon ?: t->eddystone;
}

static void read_tag(ConfReader *R, const config_setting_t *g, ConfigBle *b) {
        ConfigTag *t = &b->tags[b->n_tags];
        unsigned before = R->n_errors;

        *t = (ConfigTag) {};
        if (!config_setting_is_group(g)) {
                _cleanup_free_ char *p = conf_path(g);
                conf_error(R, g, "%s must be a group { ... }", p ?: "tag");
                return;
        }
        (void) conf_items_read(R, g, tag_items, NULL, t, NULL);
        if (!!t->address + !!t->ibeacon + !!t->eddystone != 1) {
                _cleanup_free_ char *p = conf_path(g);
                conf_error(R, g, "%s must have exactly one of address, ibeacon, eddystone", p ?: "tag");
        }
        if (R->n_errors != before) {
                tag_done(t);
                return;
        }
        for (size_t i = 0; i < b->n_tags; i++)
                if (strcmp(tag_id(&b->tags[i]), tag_id(t)) == 0) {
                        conf_error(R, g, "tag %s is already used by athlete \"%s\"", tag_id(t), b->tags[i].athlete);
                        tag_done(t);
                        return;
                }
        b->n_tags++;
}

static int read_ble(ConfReader *R, const config_setting_t *root, Config *c) {
        ConfigBle *b = &c->ble;
        config_setting_t *g = NULL, *tags = NULL;

        if (conf_items_defaults(ble_items, b) < 0)
                return -ENOMEM;
        if (conf_group(R, root, "ble", &g) <= 0)
                return 0;
        (void) conf_items_read(R, g, ble_items, (const char *const[]) { "tags", NULL }, b, NULL);
        if (b->manager.backoff_max_ms < b->manager.backoff_initial_ms)
                conf_error(R, g, "ble.backoff_max_ms (%u) must not be below ble.backoff_initial_ms (%u)",
                           b->manager.backoff_max_ms, b->manager.backoff_initial_ms);

        if (conf_list(R, g, "tags", &tags) > 0) {
                int n = config_setting_length(tags);

                if (n > MAX_TAGS)
                        return conf_error(R, tags, "ble.tags lists %d tags, at most %d are allowed", n, MAX_TAGS);
                if (n > 0 && !(b->tags = calloc((size_t) n, sizeof(ConfigTag))))
                        return -ENOMEM;
                for (int i = 0; i < n; i++)
                        read_tag(R, config_setting_get_elem(tags, (unsigned) i), b);
        }
        return 0;
}

static int check_file(ConfReader *R, const config_setting_t *at, const char *what, const char *path, bool secret) {
        struct stat st;

        if (stat(path, &st) < 0)
                return conf_error(R, at, "%s %s: %s", what, path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return conf_error(R, at, "%s %s is not a regular file", what, path);
        if (secret && (st.st_mode & 0007))
                return conf_error(R, at, "%s %s is accessible to others (mode %04o): chmod o-rwx it", what, path,
                                  (unsigned) (st.st_mode & 07777));
        return 0;
}

static int read_mqtt(ConfReader *R, const config_setting_t *root, Config *c) {
        static const struct {
                const char *key;
                size_t offset;
                bool secret;
        } files[] = {
                { "credentials_file", offsetof(ConfigMqtt, client.credentials_file), true },
                { "ca_file", offsetof(ConfigMqtt, client.ca_file), false },
                { "cert_file", offsetof(ConfigMqtt, client.cert_file), false },
                { "key_file", offsetof(ConfigMqtt, client.key_file), true },
        };
        ConfigMqtt *m = &c->mqtt;
        config_setting_t *g = NULL;
        bool tls = false;

        if (conf_items_defaults(mqtt_items, m) < 0)
                return -ENOMEM;
        if (conf_group(R, root, "mqtt", &g) <= 0)
                return 0;
        (void) conf_items_read(R, g, mqtt_items, NULL, m, NULL);

        (void) mqtt_uri_valid(m->client.uri, &tls);
        if (!m->client.cert_file != !m->client.key_file)
                conf_error(R, conf_member(g, m->client.cert_file ? "cert_file" : "key_file"),
                           "mqtt.cert_file and mqtt.key_file must be given together");
        if ((m->client.ca_file || m->client.cert_file) && !tls)
                conf_error(R, conf_member(g, m->client.ca_file ? "ca_file" : "cert_file"),
                           "mqtt TLS files need a TLS uri (ssl://, mqtts:// or wss://), not \"%s\"", m->client.uri);

        /* Files are only looked at when they will be used: a disabled MQTT block may keep
         * paths that do not exist on this machine. */
        if (m->enabled)
                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        const char *path = *(char **) ((char *) m + files[i].offset);
                        char what[32];

                        if (!path)
                                continue;
                        snprintf(what, sizeof(what), "mqtt.%s", files[i].key);
                        check_file(R, conf_member(g, files[i].key), what, path, files[i].secret);
                }
        return 0;
}

static void tool_done(ConfigTool *t) {
        conf_items_free(tool_items, t);
}

static void station_done(ConfigStation *s) {
        conf_items_free(station_items, s);
        for (size_t i = 0; i < s->n_tools; i++)
                tool_done(&s->tools[i]);
        free(s->tools);
        conf_items_free(station_switch_items, &s->sw);
        line_done(&s->sw.line);
        conf_items_free(cues_items, &s->cues);
        line_done(&s->cues.green);
        line_done(&s->cues.amber);
        line_done(&s->cues.red);
        line_done(&s->cues.buzzer);
        conf_items_free(station_audio_items, &s->audio);
}

/* The station (read so far, st included) whose tools include address, or NULL. */
static const ConfigStation *tool_owner(const Config *c, const ConfigStation *st, const char *address) {
        /* c->stations[c->n_stations] is st itself, not counted yet. */
        assert(st == &c->stations[c->n_stations]);
        for (size_t i = 0; i <= c->n_stations; i++)
                for (size_t j = 0; j < c->stations[i].n_tools; j++)
                        if (strcmp(c->stations[i].tools[j].address, address) == 0)
                                return &c->stations[i];
        return NULL;
}

static void read_tool(ConfReader *R, const config_setting_t *g, const Config *c, ConfigStation *st) {
        ConfigTool *t = &st->tools[st->n_tools];
        const ConfigStation *owner;
        unsigned before = R->n_errors;

        *t = (ConfigTool) {};
        if (!config_setting_is_group(g)) {
                _cleanup_free_ char *p = conf_path(g);
                conf_error(R, g, "%s must be a group { ... }", p ?: "tool");
                return;
        }
        (void) conf_items_read(R, g, tool_items, NULL, t, NULL);
        if (R->n_errors != before) {
                tool_done(t);
                return;
        }
        /* A tool can only feed one engine. */
        owner = tool_owner(c, st, t->address);
        if (owner) {
                conf_error(R, conf_member(g, "address"), "tool %s is already used by station \"%s\"", t->address,
                           owner->name ?: "?");
                tool_done(t);
                return;
        }
        st->n_tools++;
}

static void read_station_switch(ConfReader *R, const config_setting_t *st_group, ConfigStation *st) {
        if (!conf_member(st_group, "switch"))
                return;
        if (conf_items_defaults(station_switch_items, &st->sw) < 0) {
                conf_error(R, NULL, "out of memory");
                return;
        }
        st->has_switch = read_group(R, st_group, "switch", station_switch_items, NULL, &st->sw, NULL, NULL) > 0;
}

static void read_station_cues(ConfReader *R, const config_setting_t *st_group, ConfigStation *st) {
        config_setting_t *g;
        const ConfigCues *q = &st->cues;

        if (read_group(R, st_group, "cues", cues_items, NULL, &st->cues, NULL, &g) <= 0)
                return;
        if (!q->green.set && !q->amber.set && !q->red.set && !q->buzzer.set) {
                _cleanup_free_ char *p = conf_path(g);
                conf_error(R, g, "%s must set at least one of green, amber, red, buzzer", p ?: "cues");
                return;
        }
        st->has_cues = true;
}

static void read_station_audio(ConfReader *R, const config_setting_t *st_group, ConfigStation *st) {
        if (!conf_member(st_group, "audio"))
                return;
        if (conf_items_defaults(station_audio_items, &st->audio) < 0) {
                conf_error(R, NULL, "out of memory");
                return;
        }
        st->has_audio = read_group(R, st_group, "audio", station_audio_items, NULL, &st->audio, NULL, NULL) > 0 &&
                        st->audio.enabled;
}

static int read_audio(ConfReader *R, const config_setting_t *root, Config *c) {
        if (conf_items_defaults(audio_items, &c->audio) < 0)
                return -ENOMEM;
        (void) read_group(R, root, "audio", audio_items, NULL, &c->audio, NULL, NULL);
        if (!c->audio.cache_dir && c->state_dir && asprintf(&c->audio.cache_dir, "%s/speech", c->state_dir) < 0) {
                c->audio.cache_dir = NULL;
                return -ENOMEM;
        }
        return 0;
}

static bool line_same(const char *chip_a, const ConfigLine *a, const char *chip_b, const ConfigLine *b) {
        if (!a->set || !b->set || !chip_a || !chip_b || strcmp(chip_a, chip_b) != 0)
                return false;
        if (a->name || b->name)
                return a->name && b->name && strcmp(a->name, b->name) == 0;
        return a->offset == b->offset;
}

typedef struct LineUse {
        const char *chip;
        const ConfigLine *line;
        const char *station, *what;
} LineUse;

/* One GPIO line can be one input or one output, never two. Lines given once by name and
 * once by offset cannot be compared here; the GPIO layer finds those when requesting. */
static void check_lines(ConfReader *R, const config_setting_t *st_group, const Config *c, const ConfigStation *st) {
        LineUse mine[5], others[5 * MAX_STATIONS];
        size_t n_mine = 0, n_others = 0;

        for (size_t i = 0; i <= c->n_stations; i++) {
                const ConfigStation *o = i < c->n_stations ? &c->stations[i] : st;
                LineUse *u = o == st ? mine : others;
                size_t *n = o == st ? &n_mine : &n_others;

                if (o->has_switch)
                        u[(*n)++] = (LineUse) { o->sw.chip, &o->sw.line, o->name, "switch.line" };
                if (o->has_cues) {
                        u[(*n)++] = (LineUse) { o->cues.chip, &o->cues.green, o->name, "cues.green" };
                        u[(*n)++] = (LineUse) { o->cues.chip, &o->cues.amber, o->name, "cues.amber" };
                        u[(*n)++] = (LineUse) { o->cues.chip, &o->cues.red, o->name, "cues.red" };
                        u[(*n)++] = (LineUse) { o->cues.chip, &o->cues.buzzer, o->name, "cues.buzzer" };
                }
        }
        for (size_t i = 0; i < n_mine; i++) {
                for (size_t j = 0; j < i; j++)
                        if (line_same(mine[i].chip, mine[i].line, mine[j].chip, mine[j].line))
                                conf_error(R, st_group, "station \"%s\": %s and %s use the same GPIO line",
                                           st->name, mine[j].what, mine[i].what);
                for (size_t j = 0; j < n_others; j++)
                        if (line_same(mine[i].chip, mine[i].line, others[j].chip, others[j].line))
                                conf_error(R, st_group, "station \"%s\": %s uses the GPIO line of station "
                                           "\"%s\" %s", st->name, mine[i].what, others[j].station, others[j].what);
        }
}

static void read_station(ConfReader *R, const config_setting_t *g, Config *c, const EngineParams *hub_engine,
                         char *const *failed, size_t n_failed) {
        ConfigStation *st = &c->stations[c->n_stations];
        StationCtx ctx = { .config = c, .failed = failed, .n_failed = n_failed };
        config_setting_t *tools = NULL;
        unsigned before = R->n_errors;

        *st = (ConfigStation) { .engine = *hub_engine };
        if (!config_setting_is_group(g)) {
                _cleanup_free_ char *p = conf_path(g);
                conf_error(R, g, "%s must be a group { ... }", p ?: "station");
                return;
        }
        (void) conf_items_read(R, g, station_items, station_groups, st, &ctx);

        if (conf_list(R, g, "tools", &tools) > 0) {
                int n = config_setting_length(tools);

                if (n > MAX_TOOLS)
                        conf_error(R, tools, "a station has at most %d tools, not %d", MAX_TOOLS, n);
                else if (n > 0) {
                        if (!(st->tools = calloc((size_t) n, sizeof(ConfigTool))))
                                conf_error(R, NULL, "out of memory");
                        else
                                for (int i = 0; i < n; i++)
                                        read_tool(R, config_setting_get_elem(tools, (unsigned) i), c, st);
                }
        }
        read_station_switch(R, g, st);
        read_station_cues(R, g, st);
        read_station_audio(R, g, st);
        (void) read_group(R, g, "engine", engine_items, NULL, &st->engine, NULL, NULL);
        if (R->n_errors == before)
                check_lines(R, g, c, st);

        /* Kept even when broken, so that later stations are checked against its name and
         * tools; the whole load fails anyway. */
        c->n_stations++;
}

static int load_protocol_dir(ConfReader *R, Config *c, const config_setting_t *at, const char *dir,
                             char ***failed, size_t *n_failed) {
        struct dirent **ents = NULL;
        int n;

        n = scandir(dir, &ents, NULL, alphasort);
        if (n < 0) {
                if (errno == ENOENT)
                        return 0; /* e.g. no local overrides in /etc */
                return conf_error(R, at, "protocols directory %s: %s", dir, strerror(errno));
        }
        for (int i = 0; i < n; i++) {
                const char *f = ents[i]->d_name;
                _cleanup_free_ char *path = NULL, *stem = NULL;
                Protocol *p = NULL;
                bool seen = false;
                int r;

                if (f[0] == '.' || fnmatch("*.conf", f, 0) != 0)
                        continue;
                stem = strndup(f, strlen(f) - 5);
                if (!stem || asprintf(&path, "%s/%s", dir, f) < 0) {
                        path = NULL;
                        conf_error(R, NULL, "out of memory");
                        break;
                }
                /* First directory wins: /etc overrides what the package ships. */
                seen = config_find_protocol(c, stem) != NULL;
                for (size_t k = 0; k < *n_failed && !seen; k++)
                        seen = strcmp((*failed)[k], stem) == 0;
                if (seen)
                        continue;

                r = protocol_load(path, &p, R->errs);
                if (r < 0) {
                        R->n_errors++;
                        if (R->r == 0 || r == -ENOMEM)
                                R->r = r == -ENOMEM ? r : -EINVAL;
                        char **nf = reallocarray(*failed, *n_failed + 1, sizeof(char *));
                        if (!nf)
                                break;
                        *failed = nf;
                        (*failed)[(*n_failed)++] = TAKE_PTR(stem);
                        continue;
                }
                Protocol **np = reallocarray(c->protocols, c->n_protocols + 1, sizeof(Protocol *));
                if (!np) {
                        protocol_free(p);
                        conf_error(R, NULL, "out of memory");
                        break;
                }
                c->protocols = np;
                c->protocols[c->n_protocols++] = p;
        }
        for (int i = 0; i < n; i++)
                free(ents[i]);
        free(ents);
        return 0;
}

static int read_paths(ConfReader *R, const config_setting_t *root, Config *c, config_setting_t **ret_at) {
        config_setting_t *g = NULL, *list = NULL;

        if (conf_items_defaults(paths_items, c) < 0)
                return -ENOMEM;
        (void) read_group(R, root, "paths", paths_items, (const char *const[]) { "protocols", NULL }, c, NULL, &g);
        *ret_at = g;

        if (conf_list(R, g, "protocols", &list) > 0) {
                int n = config_setting_length(list);

                *ret_at = list;
                if (n == 0)
                        return conf_error(R, list, "paths.protocols must list at least one directory");
                if (!(c->protocol_dirs = calloc((size_t) n, sizeof(char *))))
                        return -ENOMEM;
                for (int i = 0; i < n; i++) {
                        config_setting_t *e = config_setting_get_elem(list, (unsigned) i);
                        _cleanup_free_ char *v = NULL;

                        if (conf_get_string(R, e, &v) <= 0)
                                continue;
                        if (!v) {
                                conf_error(R, e, "paths.protocols[%d] must not be empty", i);
                                continue;
                        }
                        if (!(c->protocol_dirs[c->n_protocol_dirs] = conf_path_join(R->base, v)))
                                return -ENOMEM;
                        c->n_protocol_dirs++;
                }
                return 0;
        }

        if (!(c->protocol_dirs = calloc(2, sizeof(char *))))
                return -ENOMEM;
        if (!(c->protocol_dirs[0] = strdup(TPHUB_SYSCONF_PROTOCOLS_DIR)))
                return -ENOMEM;
        c->n_protocol_dirs = 1;
        if (!(c->protocol_dirs[1] = strdup(TPHUB_DATA_PROTOCOLS_DIR)))
                return -ENOMEM;
        c->n_protocol_dirs = 2;
        return 0;
}

/* Loads every protocol of every directory; names of files that failed go to *failed. */
static int load_protocols(ConfReader *R, const config_setting_t *at, Config *c, char ***failed, size_t *n_failed) {
        for (size_t i = 0; i < c->n_protocol_dirs; i++)
                load_protocol_dir(R, c, at, c->protocol_dirs[i], failed, n_failed);

        if (c->n_protocols == 0 && *n_failed == 0)
                conf_error(R, at, "no protocol (*.conf) found in %s%s", c->protocol_dirs[0],
                           c->n_protocol_dirs > 1 ? " or the other paths.protocols directories" : "");
        return 0;
}

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

typedef struct LoadState {
        config_t lc;
        bool lc_init;
        char **failed;             /* protocols whose files failed to load */
        size_t n_failed;
} LoadState;

static void load_state_done(LoadState *s) {
        if (s->lc_init)
                config_destroy(&s->lc);
        strv_free(s->failed, s->n_failed);
}

/* Reads everything into c; returns -ENOMEM, else 0 (problems are in R). */
static int load_all(ConfReader *R, LoadState *L, Config *c) {
        config_setting_t *root, *stations = NULL, *hub = NULL, *protocols_at = NULL;
        EngineParams hub_engine = ENGINE_PARAMS_DEFAULT;
        int r;

        c->gesture = SWITCH_GESTURE_PARAMS_DEFAULT;
        if (conf_items_defaults(switch_items, c) < 0 || conf_items_defaults(gpio_items, &c->gpio) < 0)
                return -ENOMEM;

        root = config_root_setting(&L->lc);
        conf_check_keys(R, root, top_keys);

        if (!conf_member(root, "hub"))
                conf_error_missing(R, root, "hub");
        else
                (void) read_group(R, root, "hub", hub_items, NULL, c, NULL, &hub);

        /* In the order of the example file, so that messages come out roughly by line. */
        if (read_paths(R, root, c, &protocols_at) == -ENOMEM)
                return -ENOMEM;
        (void) read_group(R, root, "engine", engine_items, NULL, &hub_engine, NULL, NULL);
        read_switch_params(R, root, c);
        (void) read_group(R, root, "gpio", gpio_items, NULL, &c->gpio, NULL, NULL);
        if (read_ble(R, root, c) == -ENOMEM || read_mqtt(R, root, c) == -ENOMEM || read_audio(R, root, c) == -ENOMEM)
                return -ENOMEM;
        load_protocols(R, protocols_at, c, &L->failed, &L->n_failed);

        r = conf_list(R, root, "stations", &stations);
        if (r == 0)
                conf_error_missing(R, root, "stations");
        else if (r > 0) {
                int n = config_setting_length(stations);

                if (n == 0)
                        conf_error(R, stations, "stations must list at least one station");
                else if (n > MAX_STATIONS)
                        conf_error(R, stations, "at most %d stations, not %d", MAX_STATIONS, n);
                else if (!(c->stations = calloc((size_t) n, sizeof(ConfigStation))))
                        return -ENOMEM;
                else
                        for (int i = 0; i < n; i++)
                                read_station(R, config_setting_get_elem(stations, (unsigned) i), c, &hub_engine,
                                             L->failed, L->n_failed);
        }
        return 0;
}

int config_load(const char *path, Config **ret, ConfigErrors *errs) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *dircopy = NULL;
        _cleanup_(load_state_done) LoadState L = {};
        char base[PATH_MAX];
        ConfReader R = { .file = path, .errs = errs, .base = base };
        int r;

        /* Programming errors, not bad input. */
        assert(path);
        assert(ret);

        config_init(&L.lc);
        L.lc_init = true;
        r = conf_read_file(&R, &L.lc, path);
        if (r < 0)
                return r;

        dircopy = strdup(path);
        c = calloc(1, sizeof *c);
        if (!dircopy || !c || !(c->path = strdup(path)))
                return -ENOMEM;
        /* Absolute, so that paths stay valid whatever the daemon's working directory. */
        if (!realpath(dirname(dircopy), base)) {
                r = -errno;
                config_errors_add(errs, path, 0, "cannot resolve the directory: %s", strerror(-r));
                return r;
        }

        r = load_all(&R, &L, c);
        if (r < 0)
                return r;
        if (R.n_errors > 0)
                return R.r < 0 ? R.r : -EINVAL;

        for (size_t i = 0; i < c->n_stations; i++) {
                c->stations[i].engine.hub = c->hub;
                c->stations[i].engine.station = c->stations[i].name;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        free(c->path);
        conf_items_free(hub_items, c);
        for (size_t i = 0; i < c->n_protocol_dirs; i++)
                free(c->protocol_dirs[i]);
        free(c->protocol_dirs);
        conf_items_free(paths_items, c);
        conf_items_free(gpio_items, &c->gpio);
        conf_items_free(ble_items, &c->ble);
        for (size_t i = 0; i < c->ble.n_tags; i++)
                tag_done(&c->ble.tags[i]);
        free(c->ble.tags);
        conf_items_free(mqtt_items, &c->mqtt);
        conf_items_free(audio_items, &c->audio);
        for (size_t i = 0; i < c->n_stations; i++)
                station_done(&c->stations[i]);
        free(c->stations);
        for (size_t i = 0; i < c->n_protocols; i++)
                protocol_free(c->protocols[i]);
        free(c->protocols);
        free(c);
        return NULL;
}

const Protocol *config_find_protocol(const Config *c, const char *name) {
        if (!c || !name)
                return NULL;
        for (size_t i = 0; i < c->n_protocols; i++)
                if (strcmp(c->protocols[i]->name, name) == 0)
                        return c->protocols[i];
        return NULL;
}

const ConfigStation *config_find_station(const Config *c, const char *name) {
        if (!c || !name)
                return NULL;
        for (size_t i = 0; i < c->n_stations; i++)
                if (c->stations[i].name && strcmp(c->stations[i].name, name) == 0)
                        return &c->stations[i];
        return NULL;
}

/* ---- what a reload changed: each adapter compares its own part of old and new ---- */

static bool str_eq(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

static bool line_eq(const ConfigLine *a, const ConfigLine *b) {
        return a->set == b->set && str_eq(a->name, b->name) && a->offset == b->offset;
}

bool config_mqtt_equal(const Config *a, const Config *b) {
        /* The hub name and the spool and state directories are the MQTT adapter's too. */
        return conf_items_equal(hub_items, a, b) && conf_items_equal(paths_items, a, b) &&
               conf_items_equal(mqtt_items, &a->mqtt, &b->mqtt);
}

bool config_ble_equal(const Config *a, const Config *b) {
        const ConfigBle *x = &a->ble, *y = &b->ble;

        if (x->enabled != y->enabled || !conf_items_equal(ble_items, x, y) || x->n_tags != y->n_tags)
                return false;
        for (size_t i = 0; i < x->n_tags; i++)
                if (!str_eq(x->tags[i].athlete, y->tags[i].athlete) || !str_eq(x->tags[i].address, y->tags[i].address) ||
                    !str_eq(x->tags[i].ibeacon, y->tags[i].ibeacon) ||
                    !str_eq(x->tags[i].eddystone, y->tags[i].eddystone))
                        return false;
        return true;
}

bool config_has_tool(const Config *c, const char *address, const char *driver) {
        for (size_t i = 0; i < c->n_stations; i++)
                for (size_t k = 0; k < c->stations[i].n_tools; k++)
                        if (strcasecmp(c->stations[i].tools[k].address, address) == 0 &&
                            str_eq(c->stations[i].tools[k].driver, driver))
                                return true;
        return false;
}

bool config_auto_adopt(const Config *c) {
        for (size_t i = 0; i < c->n_stations; i++)
                if (c->stations[i].auto_adopt)
                        return true;
        return false;
}

/* The GPIO and switch comparisons go through the tables, so a key added there is compared
 * on reload too; the lines (CONF_KIND_OTHER) are compared here. */
bool config_gpio_equal(const Config *a, const Config *b) {
        return conf_items_equal(gpio_items, &a->gpio, &b->gpio) && conf_items_equal(switch_items, a, b);
}

bool config_switch_equal(const ConfigStation *a, const ConfigStation *b) {
        if (a->has_switch != b->has_switch)
                return false;
        return !a->has_switch ||
               (conf_items_equal(station_switch_items, &a->sw, &b->sw) && line_eq(&a->sw.line, &b->sw.line));
}

bool config_cues_equal(const ConfigStation *a, const ConfigStation *b) {
        const ConfigCues *x = &a->cues, *y = &b->cues;

        if (a->has_cues != b->has_cues)
                return false;
        return !a->has_cues || (conf_items_equal(cues_items, x, y) && line_eq(&x->green, &y->green) &&
                                line_eq(&x->amber, &y->amber) && line_eq(&x->red, &y->red) &&
                                line_eq(&x->buzzer, &y->buzzer));
}
