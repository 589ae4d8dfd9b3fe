/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ble/drivers/driver.h"
#include "config/conf-reader.h"
#include "config/config.h"
#include "config/protocol-load.h"
#include "mqtt/topics.h"
#include "shared/macro.h"

#ifndef TPHUB_SYSCONF_PROTOCOLS_DIR
#define TPHUB_SYSCONF_PROTOCOLS_DIR "/etc/tphub/protocols"
#endif
#ifndef TPHUB_DATA_PROTOCOLS_DIR
#define TPHUB_DATA_PROTOCOLS_DIR "/usr/share/tphub/protocols"
#endif


#define MAX_NAME 32
#define MAX_STATIONS 32
#define MAX_TOOLS 8
#define MAX_TAGS 1000
#define MAX_LINE_OFFSET 65535

static const char *const top_keys[] = { "hub", "paths", "engine", "switch", "gpio", "ble", "mqtt", "audio", "stations", NULL };
static const char *const hub_keys[] = { "name", NULL };
static const char *const paths_keys[] = { "protocols", "spool", "state", NULL };
static const char *const engine_keys[] = {
        "idle_timeout_s", "tool_grace_s", "checkin_press_ms", "smoothing_ms",
        "hysteresis_n", "hysteresis_frac", "descent_frac", NULL,
};
static const char *const switch_keys[] = { "debounce_ms", "tap_max_ms", "long_ms", "very_long_ms", NULL };
static const char *const gpio_keys[] = { "backend", "sim_socket", NULL };
static const char *const ble_keys[] = {
        "enabled", "adapter", "max_links", "connect_timeout_s", "tag_rssi_dbm", "tag_hold_ms", "tags",
        "backoff_initial_ms", "backoff_max_ms", NULL,
};
static const char *const tag_keys[] = { "athlete", "address", "ibeacon", "eddystone", NULL };
static const char *const mqtt_keys[] = {
        "enabled", "uri", "version", "client_id", "prefix", "credentials_file", "ca_file", "cert_file",
        "archive_max_sessions", "archive_days",
        "key_file", "keepalive_s", "force_rate_hz", "spool_max_sessions", "homeassistant",
        "discovery_prefix", "homeassistant_athlete", "dashboard_url", NULL,
};
static const char *const station_keys[] = {
        "name", "protocol", "area", "auto_adopt", "tools", "switch", "cues", "audio", "engine", NULL,
};
static const char *const audio_keys[] = { "speech", "speech_dir", "cache_dir", "espeak", NULL };
static const char *const station_audio_keys[] = { "enabled", "device", "volume", NULL };
static const char *const tool_keys[] = { "address", "driver", NULL };
static const char *const station_switch_keys[] = { "chip", "line", "active_low", "bias", NULL };
static const char *const cues_keys[] = { "chip", "green", "amber", "red", "buzzer", "active_low", NULL };
static const char *const biases[] = { "pull-up", "pull-down", "disable", "as-is", NULL };

static bool in_list(const char *const *list, const char *s) {
        for (; *list; list++)
                if (strcmp(*list, s) == 0)
                        return true;
        return false;
}

static bool name_valid(const char *s) {
        size_t n = strlen(s);
        return n >= 1 && n <= MAX_NAME &&
               strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool hex_run(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

/* "AA:BB:CC:DD:EE:FF", any case; upper-cased in place. */
static bool address_normalize(char *s) {
        if (strlen(s) != 17)
                return false;
        for (size_t i = 0; i < 17; i++) {
                if (i % 3 == 2) {
                        if (s[i] != ':')
                                return false;
                } else if (!isxdigit((unsigned char) s[i]))
                        return false;
                s[i] = (char) toupper((unsigned char) s[i]);
        }
        return true;
}

static void lowercase(char *s) {
        for (; *s; s++)
                *s = (char) tolower((unsigned char) *s);
}

static bool parse_u16(const char *s, size_t n, unsigned *ret) {
        unsigned v = 0;

        if (n < 1 || n > 5)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!isdigit((unsigned char) s[i]))
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v > 65535)
                return false;
        *ret = v;
        return true;
}

/* "uuid:major:minor" -> lower-case UUID, decimal major and minor. */
static int ibeacon_normalize(char **s) {
        const char *p = *s, *c1, *c2;
        unsigned major, minor;
        char *out;

        c1 = strchr(p, ':');
        if (!c1 || c1 - p != 36)
                return -EINVAL;
        for (int i = 0; i < 36; i++)
                if ((i == 8 || i == 13 || i == 18 || i == 23) ? p[i] != '-' : !isxdigit((unsigned char) p[i]))
                        return -EINVAL;
        c2 = strchr(c1 + 1, ':');
        if (!c2 || !parse_u16(c1 + 1, (size_t) (c2 - c1 - 1), &major) || !parse_u16(c2 + 1, strlen(c2 + 1), &minor))
                return -EINVAL;
        if (asprintf(&out, "%.36s:%u:%u", p, major, minor) < 0)
                return -ENOMEM;
        lowercase(out);
        free(*s);
        *s = out;
        return 0;
}

/* "namespace(20 hex):instance(12 hex)", lower-cased in place. */
static bool eddystone_normalize(char *s) {
        if (strlen(s) != 33 || s[20] != ':' || !hex_run(s, 20) || !hex_run(s + 21, 12))
                return false;
        lowercase(s);
        return true;
}

/* MQTT topic prefix: levels of [A-Za-z0-9_.-], no wildcards, no empty level. */
static bool prefix_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > 64 || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//"))
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/") == n;
}

static bool uri_valid(const char *s, bool *ret_tls) {
        static const struct {
                const char *scheme;
                bool tls;
        } schemes[] = {
                { "tcp://", false }, { "mqtt://", false }, { "ws://", false },
                { "ssl://", true },  { "mqtts://", true }, { "wss://", true },
        };

        for (size_t i = 0; i < ELEMENTSOF(schemes); i++) {
                size_t l = strlen(schemes[i].scheme);
                if (strncmp(s, schemes[i].scheme, l) == 0) {
                        const char *host = s + l;
                        if (!*host || *host == ':' || *host == '/' || strpbrk(host, " \t\r\n"))
                                return false;
                        *ret_tls = schemes[i].tls;
                        return true;
                }
        }
        return false;
}

static char *path_join(const char *base, const char *p) {
        char *s;

        if (p[0] == '/')
                return strdup(p);
        if (asprintf(&s, "%s/%s", base, p) < 0)
                return NULL;
        return s;
}

/* A path key: relative values resolve against the config file's directory. */
static int read_path(ConfReader *R, const config_setting_t *g, const char *key, const char *base, char **ret) {
        _cleanup_free_ char *v = NULL;
        char *joined;
        int r;

        r = conf_string(R, g, key, &v);
        if (r <= 0)
                return r;
        if (!v) {
                /* "" means unset. */
                free(*ret);
                *ret = NULL;
                return 1;
        }
        joined = path_join(base, v);
        if (!joined)
                return conf_error(R, NULL, "out of memory");
        free(*ret);
        *ret = joined;
        return 1;
}

/* A string key that must name something when given, e.g. chip = "". */
static int read_nonempty(ConfReader *R, const config_setting_t *g, const char *key, bool required, char **ret) {
        config_setting_t *s = conf_member(g, key);
        int r;

        if (!s)
                return required ? conf_error_missing(R, g, key) : 0;
        r = conf_get_string(R, s, ret);
        if (r > 0 && !*ret) {
                _cleanup_free_ char *p = conf_path(s);
                return conf_error(R, s, "%s must not be empty", p ?: key);
        }
        return r;
}

static void line_done(ConfigLine *l) {
        free(l->name);
        *l = (ConfigLine) {};
}

static int read_line(ConfReader *R, const config_setting_t *g, const char *key, bool required, ConfigLine *ret) {
        config_setting_t *s = conf_member(g, key);
        int r;

        if (!s)
                return required ? conf_error_missing(R, g, key) : 0;
        if (config_setting_type(s) == CONFIG_TYPE_STRING) {
                _cleanup_free_ char *name = NULL;

                r = read_nonempty(R, g, key, true, &name);
                if (r <= 0)
                        return r;
                line_done(ret);
                *ret = (ConfigLine) { .set = true, .name = TAKE_PTR(name) };
                return 1;
        }
        if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) {
                uint32_t off;

                r = conf_get_uint(R, s, 0, MAX_LINE_OFFSET, &off);
                if (r <= 0)
                        return r;
                line_done(ret);
                *ret = (ConfigLine) { .set = true, .offset = off };
                return 1;
        }
        _cleanup_free_ char *p = conf_path(s);
        return conf_error(R, s, "%s must be a line offset (integer) or a line name (string)", p ?: key);
}

static void read_engine(ConfReader *R, const config_setting_t *parent, EngineParams *p) {
        config_setting_t *g = NULL;

        if (conf_group(R, parent, "engine", &g) <= 0)
                return;
        conf_check_keys(R, g, engine_keys);
        conf_ms(R, g, "idle_timeout_s", 10, 86400, &p->idle_timeout_ms);
        conf_ms(R, g, "tool_grace_s", 0, 3600, &p->tool_grace_ms);
        conf_uint(R, g, "checkin_press_ms", 0, 10000, &p->checkin_press_ms);
        conf_uint(R, g, "smoothing_ms", 0, 2000, &p->smoothing_ms);
        conf_double(R, g, "hysteresis_n", 0, 50, &p->hysteresis_n);
        conf_double(R, g, "hysteresis_frac", 0, 0.5, &p->hysteresis_frac);
        conf_double(R, g, "descent_frac", 0.1, 1.0, &p->descent_frac);
}

static void read_switch_params(ConfReader *R, const config_setting_t *root, Config *c) {
        config_setting_t *g = NULL;
        unsigned before = R->n_errors;

        if (conf_group(R, root, "switch", &g) <= 0)
                return;
        conf_check_keys(R, g, switch_keys);
        conf_uint(R, g, "debounce_ms", 0, 500, &c->debounce_ms);
        conf_uint(R, g, "tap_max_ms", 50, 5000, &c->gesture.tap_max_ms);
        conf_uint(R, g, "long_ms", 100, 30000, &c->gesture.long_ms);
        conf_uint(R, g, "very_long_ms", 200, 60000, &c->gesture.very_long_ms);
        if (R->n_errors != before)
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

static int read_gpio(ConfReader *R, const config_setting_t *root, const char *base, Config *c) {
        config_setting_t *g = NULL, *s;

        if (!(c->gpio.backend = strdup("chip")) || !(c->gpio.sim_socket = strdup("/run/tphub/gpio-sim.sock")))
                return -ENOMEM;
        if (conf_group(R, root, "gpio", &g) <= 0)
                return 0;
        conf_check_keys(R, g, gpio_keys);
        if (read_nonempty(R, g, "backend", false, &c->gpio.backend) > 0 &&
            !in_list((const char *const[]) { "chip", "sim", NULL }, c->gpio.backend)) {
                s = conf_member(g, "backend");
                conf_error(R, s, "gpio.backend must be \"chip\" or \"sim\", not \"%s\"", c->gpio.backend);
        }
        if (read_path(R, g, "sim_socket", base, &c->gpio.sim_socket) > 0 && !c->gpio.sim_socket)
                conf_error(R, conf_member(g, "sim_socket"), "gpio.sim_socket must not be empty");
        return 0;
}

static void tag_done(ConfigTag *t) {
        free(t->athlete);
        free(t->address);
        free(t->ibeacon);
        free(t->eddystone);
}

static const char *tag_id(const ConfigTag *t) {
        return t->address ?: t->ibeacon ?: t->eddystone;
}

static void read_tag(ConfReader *R, const config_setting_t *g, ConfigBle *b) {
        ConfigTag *t = &b->tags[b->n_tags];
        unsigned before = R->n_errors;
        int ids = 0;

        *t = (ConfigTag) {};
        if (!config_setting_is_group(g)) {
                _cleanup_free_ char *p = conf_path(g);
                conf_error(R, g, "%s must be a group { ... }", p ?: "tag");
                return;
        }
        conf_check_keys(R, g, tag_keys);
        if (read_nonempty(R, g, "athlete", true, &t->athlete) > 0 && !name_valid(t->athlete))
                conf_error(R, conf_member(g, "athlete"), "athlete \"%s\" must be 1 to %d of A-Z a-z 0-9 _ -",
                           t->athlete, MAX_NAME);
        if (read_nonempty(R, g, "address", false, &t->address) > 0) {
                ids++;
                if (!address_normalize(t->address))
                        conf_error(R, conf_member(g, "address"), "tag address \"%s\" is not a Bluetooth address "
                                   "like \"AA:BB:CC:DD:EE:FF\"", t->address);
        }
        if (read_nonempty(R, g, "ibeacon", false, &t->ibeacon) > 0) {
                ids++;
                int r = ibeacon_normalize(&t->ibeacon);
                if (r == -ENOMEM)
                        conf_error(R, NULL, "out of memory");
                else if (r < 0)
                        conf_error(R, conf_member(g, "ibeacon"), "ibeacon \"%s\" must be \"UUID:major:minor\" "
                                   "(major and minor 0 to 65535)", t->ibeacon);
        }
        if (read_nonempty(R, g, "eddystone", false, &t->eddystone) > 0) {
                ids++;
                if (!eddystone_normalize(t->eddystone))
                        conf_error(R, conf_member(g, "eddystone"), "eddystone \"%s\" must be \"namespace:instance\" "
                                   "(20 and 12 hex digits)", t->eddystone);
        }
        if (ids != 1) {
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

        b->enabled = true;
        b->max_links = 5;
        b->connect_timeout_ms = 20000;
        b->tag_rssi_dbm = -45;
        b->tag_hold_ms = 800;
        b->backoff_initial_ms = 1000;
        b->backoff_max_ms = 30000;

        if (conf_group(R, root, "ble", &g) <= 0)
                return 0;
        conf_check_keys(R, g, ble_keys);
        conf_bool(R, g, "enabled", &b->enabled);
        conf_string(R, g, "adapter", &b->adapter);
        conf_uint(R, g, "max_links", 1, 10, &b->max_links);
        conf_ms(R, g, "connect_timeout_s", 1, 300, &b->connect_timeout_ms);
        conf_int(R, g, "tag_rssi_dbm", -120, 0, &b->tag_rssi_dbm);
        conf_uint(R, g, "tag_hold_ms", 0, 10000, &b->tag_hold_ms);
        conf_uint(R, g, "backoff_initial_ms", 10, 60000, &b->backoff_initial_ms);
        conf_uint(R, g, "backoff_max_ms", 10, 600000, &b->backoff_max_ms);
        if (b->backoff_max_ms < b->backoff_initial_ms)
                conf_error(R, g, "ble.backoff_max_ms (%u) must not be below ble.backoff_initial_ms (%u)",
                           b->backoff_max_ms, b->backoff_initial_ms);

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

static int read_mqtt(ConfReader *R, const config_setting_t *root, const char *base, Config *c) {
        ConfigMqtt *m = &c->mqtt;
        config_setting_t *g = NULL;
        bool tls = false;

        m->enabled = true;
        m->version = 5;
        m->keepalive_s = 30;
        m->force_rate_hz = 10.0;
        m->spool_max_sessions = 1000;
        m->archive_max_sessions = 1000;
        m->archive_days = 30;
        if (!(m->uri = strdup("tcp://127.0.0.1:1883")) || !(m->prefix = strdup("tphub")) ||
            !(m->discovery_prefix = strdup("homeassistant")))
                return -ENOMEM;

        if (conf_group(R, root, "mqtt", &g) <= 0)
                return 0;
        conf_check_keys(R, g, mqtt_keys);
        conf_bool(R, g, "enabled", &m->enabled);
        if (read_nonempty(R, g, "uri", false, &m->uri) > 0 && !uri_valid(m->uri, &tls))
                conf_error(R, conf_member(g, "uri"), "mqtt.uri \"%s\" must look like tcp://HOST:PORT "
                           "(schemes: tcp, mqtt, ws, ssl, mqtts, wss)", m->uri);
        else
                uri_valid(m->uri, &tls);
        config_setting_t *v = conf_member(g, "version");
        uint32_t version;
        if (v && conf_get_uint(R, v, 0, UINT32_MAX, &version) > 0) {
                if (version == 3 || version == 5)
                        m->version = version;
                else
                        conf_error(R, v, "mqtt.version must be 3 (MQTT 3.1.1) or 5, not %u", version);
        }
        conf_string(R, g, "client_id", &m->client_id);
        if (m->client_id && (strlen(m->client_id) > 64 || strpbrk(m->client_id, " \t\r\n/+#")))
                conf_error(R, conf_member(g, "client_id"),
                           "mqtt.client_id must be at most 64 characters without spaces, '/', '+' or '#'");
        if (read_nonempty(R, g, "prefix", false, &m->prefix) > 0 && !prefix_valid(m->prefix))
                conf_error(R, conf_member(g, "prefix"), "mqtt.prefix \"%s\" must be topic levels of "
                           "A-Z a-z 0-9 _ . - separated by single '/' (no wildcards, at most 64)", m->prefix);
        read_path(R, g, "credentials_file", base, &m->credentials_file);
        read_path(R, g, "ca_file", base, &m->ca_file);
        read_path(R, g, "cert_file", base, &m->cert_file);
        read_path(R, g, "key_file", base, &m->key_file);
        conf_uint(R, g, "keepalive_s", 5, 3600, &m->keepalive_s);
        conf_double(R, g, "force_rate_hz", 0, 100, &m->force_rate_hz);
        conf_uint(R, g, "spool_max_sessions", 1, 1000000, &m->spool_max_sessions);
        conf_uint(R, g, "archive_max_sessions", 0, 1000000, &m->archive_max_sessions);
        conf_uint(R, g, "archive_days", 0, 3650, &m->archive_days);
        conf_bool(R, g, "homeassistant", &m->homeassistant);
        if (read_nonempty(R, g, "discovery_prefix", false, &m->discovery_prefix) > 0 &&
            !prefix_valid(m->discovery_prefix))
                conf_error(R, conf_member(g, "discovery_prefix"), "mqtt.discovery_prefix \"%s\" must be topic "
                           "levels of A-Z a-z 0-9 _ . - separated by single '/'", m->discovery_prefix);
        conf_bool(R, g, "homeassistant_athlete", &m->homeassistant_athlete);
        if (read_nonempty(R, g, "dashboard_url", false, &m->dashboard_url) > 0 &&
            ((strncmp(m->dashboard_url, "http://", 7) != 0 && strncmp(m->dashboard_url, "https://", 8) != 0) ||
             strlen(m->dashboard_url) > 256 || strpbrk(m->dashboard_url, " \t\r\n\"<>")))
                conf_error(R, conf_member(g, "dashboard_url"), "mqtt.dashboard_url \"%s\" must be an http:// or "
                           "https:// URL of at most 256 characters without spaces", m->dashboard_url);

        if (!m->cert_file != !m->key_file)
                conf_error(R, conf_member(g, m->cert_file ? "cert_file" : "key_file"),
                           "mqtt.cert_file and mqtt.key_file must be given together");
        if ((m->ca_file || m->cert_file) && !tls)
                conf_error(R, conf_member(g, m->ca_file ? "ca_file" : "cert_file"),
                           "mqtt TLS files need a TLS uri (ssl://, mqtts:// or wss://), not \"%s\"", m->uri);

        /* Files are only looked at when they will be used: a disabled MQTT block may keep
         * paths that do not exist on this machine. */
        if (m->enabled) {
                if (m->credentials_file)
                        check_file(R, conf_member(g, "credentials_file"), "mqtt.credentials_file",
                                   m->credentials_file, true);
                if (m->ca_file)
                        check_file(R, conf_member(g, "ca_file"), "mqtt.ca_file", m->ca_file, false);
                if (m->cert_file)
                        check_file(R, conf_member(g, "cert_file"), "mqtt.cert_file", m->cert_file, false);
                if (m->key_file)
                        check_file(R, conf_member(g, "key_file"), "mqtt.key_file", m->key_file, true);
        }
        return 0;
}

static void station_done(ConfigStation *s) {
        free(s->name);
        free(s->protocol);
        free(s->area);
        for (size_t i = 0; i < s->n_tools; i++) {
                free(s->tools[i].address);
                free(s->tools[i].driver);
        }
        free(s->tools);
        free(s->sw.chip);
        line_done(&s->sw.line);
        free(s->sw.bias);
        free(s->cues.chip);
        line_done(&s->cues.green);
        line_done(&s->cues.amber);
        line_done(&s->cues.red);
        line_done(&s->cues.buzzer);
        free(s->audio.device);
}

static void read_tool(ConfReader *R, const config_setting_t *g, const Config *c, ConfigStation *st) {
        ConfigTool *t = &st->tools[st->n_tools];
        unsigned before = R->n_errors;

        *t = (ConfigTool) {};
        if (!config_setting_is_group(g)) {
                _cleanup_free_ char *p = conf_path(g);
                conf_error(R, g, "%s must be a group { ... }", p ?: "tool");
                return;
        }
        conf_check_keys(R, g, tool_keys);
        if (read_nonempty(R, g, "address", true, &t->address) > 0 && !address_normalize(t->address))
                conf_error(R, conf_member(g, "address"), "tool address \"%s\" is not a Bluetooth address "
                           "like \"AA:BB:CC:DD:EE:FF\"", t->address);
        if (read_nonempty(R, g, "driver", true, &t->driver) > 0 && !driver_find(t->driver)) {
                char known[256] = "";
                for (const Driver *const *d = driver_table; *d; d++)
                        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
                                 d == driver_table ? "" : ", ", (*d)->name);
                conf_error(R, conf_member(g, "driver"), "unknown driver \"%s\" (known: %s)", t->driver, known);
        }

        if (R->n_errors == before) {
                /* A tool can only feed one engine. */
                for (size_t i = 0; i <= c->n_stations; i++) {
                        /* c->stations[c->n_stations] is st itself, not counted yet. */
                        const ConfigStation *o = &c->stations[i];
                        for (size_t j = 0; j < o->n_tools; j++)
                                if (strcmp(o->tools[j].address, t->address) == 0) {
                                        conf_error(R, conf_member(g, "address"),
                                                   "tool %s is already used by station \"%s\"", t->address,
                                                   o->name ?: "?");
                                        goto fail;
                                }
                }
                st->n_tools++;
                return;
        }
fail:
        free(t->address);
        free(t->driver);
        *t = (ConfigTool) {};
}

static void read_station_switch(ConfReader *R, const config_setting_t *st_group, ConfigStation *st) {
        config_setting_t *g = NULL;
        unsigned before = R->n_errors;

        if (conf_group(R, st_group, "switch", &g) <= 0)
                return;
        conf_check_keys(R, g, station_switch_keys);
        st->sw.active_low = true;
        if (!(st->sw.bias = strdup("pull-up"))) {
                conf_error(R, NULL, "out of memory");
                return;
        }
        read_nonempty(R, g, "chip", true, &st->sw.chip);
        read_line(R, g, "line", true, &st->sw.line);
        conf_bool(R, g, "active_low", &st->sw.active_low);
        if (read_nonempty(R, g, "bias", false, &st->sw.bias) > 0 && !in_list(biases, st->sw.bias)) {
                _cleanup_free_ char *p = conf_path(conf_member(g, "bias"));
                conf_error(R, conf_member(g, "bias"), "%s must be \"pull-up\", \"pull-down\", \"disable\" or "
                           "\"as-is\", not \"%s\"", p ?: "bias", st->sw.bias);
        }
        st->has_switch = R->n_errors == before;
}

static void read_station_cues(ConfReader *R, const config_setting_t *st_group, ConfigStation *st) {
        config_setting_t *g = NULL;
        unsigned before = R->n_errors;
        int n = 0;

        if (conf_group(R, st_group, "cues", &g) <= 0)
                return;
        conf_check_keys(R, g, cues_keys);
        read_nonempty(R, g, "chip", true, &st->cues.chip);
        n += read_line(R, g, "green", false, &st->cues.green) > 0;
        n += read_line(R, g, "amber", false, &st->cues.amber) > 0;
        n += read_line(R, g, "red", false, &st->cues.red) > 0;
        n += read_line(R, g, "buzzer", false, &st->cues.buzzer) > 0;
        conf_bool(R, g, "active_low", &st->cues.active_low);
        if (R->n_errors == before && n == 0) {
                _cleanup_free_ char *p = conf_path(g);
                conf_error(R, g, "%s must set at least one of green, amber, red, buzzer", p ?: "cues");
        }
        st->has_cues = R->n_errors == before;
}

static void read_station_audio(ConfReader *R, const config_setting_t *st_group, ConfigStation *st) {
        config_setting_t *g = NULL;
        unsigned before = R->n_errors;
        bool enabled = true;

        if (conf_group(R, st_group, "audio", &g) <= 0)
                return;
        conf_check_keys(R, g, station_audio_keys);
        st->audio.volume = 0.8;
        if (!(st->audio.device = strdup("default"))) {
                conf_error(R, NULL, "out of memory");
                return;
        }
        conf_bool(R, g, "enabled", &enabled);
        read_nonempty(R, g, "device", false, &st->audio.device);
        conf_double(R, g, "volume", 0.0, 1.0, &st->audio.volume);
        st->has_audio = enabled && R->n_errors == before;
}

static int read_audio(ConfReader *R, const config_setting_t *root, const char *base, Config *c) {
        config_setting_t *g = NULL;
        _cleanup_free_ char *cache = NULL;

        c->audio.speech = true;
        if (!(c->audio.speech_dir = strdup(TPHUB_SPEECH_DIR)) || !(c->audio.espeak = strdup("espeak-ng")))
                return -ENOMEM;
        if (conf_group(R, root, "audio", &g) > 0) {
                conf_check_keys(R, g, audio_keys);
                conf_bool(R, g, "speech", &c->audio.speech);
                read_path(R, g, "speech_dir", base, &c->audio.speech_dir);
                read_path(R, g, "cache_dir", base, &c->audio.cache_dir);
                read_nonempty(R, g, "espeak", false, &c->audio.espeak);
        }
        if (!c->audio.cache_dir && c->state_dir &&
            asprintf(&c->audio.cache_dir, "%s/speech", c->state_dir) < 0) {
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

static bool strv_contains(char *const *v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

static void read_station(ConfReader *R, const config_setting_t *g, Config *c, const EngineParams *hub_engine,
                         char *const *failed, size_t n_failed) {
        ConfigStation *st = &c->stations[c->n_stations];
        config_setting_t *tools = NULL;
        unsigned before = R->n_errors;

        *st = (ConfigStation) { .engine = *hub_engine };
        if (!config_setting_is_group(g)) {
                _cleanup_free_ char *p = conf_path(g);
                conf_error(R, g, "%s must be a group { ... }", p ?: "station");
                return;
        }
        conf_check_keys(R, g, station_keys);
        if (read_nonempty(R, g, "name", true, &st->name) > 0) {
                if (!name_valid(st->name))
                        conf_error(R, conf_member(g, "name"), "station name \"%s\" must be 1 to %d of "
                                   "A-Z a-z 0-9 _ - (it becomes an MQTT topic level)", st->name, MAX_NAME);
                else if (topic_station_name_reserved(st->name))
                        conf_error(R, conf_member(g, "name"), "station name \"%s\" is reserved for the hub's own "
                                   "MQTT topics", st->name);
                else if (config_find_station(c, st->name))
                        conf_error(R, conf_member(g, "name"), "station name \"%s\" is used twice", st->name);
        }
        if (read_nonempty(R, g, "area", false, &st->area) > 0 &&
            (strlen(st->area) > 64 || strpbrk(st->area, "\t\r\n")))
                conf_error(R, conf_member(g, "area"), "area \"%s\" must be at most 64 characters on one line",
                           st->area);
        if (read_nonempty(R, g, "protocol", true, &st->protocol) > 0) {
                st->default_protocol = config_find_protocol(c, st->protocol);
                /* A protocol whose file failed to load was explained by that file's errors. */
                if (!st->default_protocol && !strv_contains(failed, n_failed, st->protocol))
                        conf_error(R, conf_member(g, "protocol"), "no protocol \"%s\" (looked for %s.conf in "
                                   "paths.protocols)", st->protocol, st->protocol);
        }
        conf_bool(R, g, "auto_adopt", &st->auto_adopt);

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
        read_engine(R, g, &st->engine);
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

static int read_paths(ConfReader *R, const config_setting_t *root, const char *base, Config *c,
                      config_setting_t **ret_at) {
        config_setting_t *g = NULL, *list = NULL;

        if (!(c->spool_dir = strdup("/var/lib/tphub/spool")) || !(c->state_dir = strdup("/var/lib/tphub")))
                return -ENOMEM;
        if (conf_group(R, root, "paths", &g) > 0) {
                conf_check_keys(R, g, paths_keys);
                if (read_path(R, g, "spool", base, &c->spool_dir) > 0 && !c->spool_dir)
                        conf_error(R, conf_member(g, "spool"), "paths.spool must not be empty");
                if (read_path(R, g, "state", base, &c->state_dir) > 0 && !c->state_dir)
                        conf_error(R, conf_member(g, "state"), "paths.state must not be empty");
        }
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
                        if (!(c->protocol_dirs[c->n_protocol_dirs] = path_join(base, v)))
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

int config_load(const char *path, Config **ret, ConfigErrors *errs) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *dircopy = NULL;
        char base[PATH_MAX];
        ConfReader R = { .file = path, .errs = errs };
        config_setting_t *root, *stations = NULL, *hub = NULL, *protocols_at = NULL;
        EngineParams hub_engine = ENGINE_PARAMS_DEFAULT;
        char **failed = NULL;
        size_t n_failed = 0;
        config_t lc;
        int r;

        if (!path || !ret)
                return -EINVAL;

        config_init(&lc);
        r = conf_read_file(&R, &lc, path);
        if (r < 0) {
                config_destroy(&lc);
                return r;
        }

        dircopy = strdup(path);
        c = calloc(1, sizeof *c);
        if (!dircopy || !c || !(c->path = strdup(path))) {
                config_destroy(&lc);
                return -ENOMEM;
        }
        /* Absolute, so that paths stay valid whatever the daemon's working directory. */
        if (!realpath(dirname(dircopy), base)) {
                r = -errno;
                config_errors_add(errs, path, 0, "cannot resolve the directory: %s", strerror(-r));
                config_destroy(&lc);
                return r;
        }

        c->gesture = SWITCH_GESTURE_PARAMS_DEFAULT;
        c->debounce_ms = 20;

        root = config_root_setting(&lc);
        conf_check_keys(&R, root, top_keys);

        if (conf_group(&R, root, "hub", &hub) > 0) {
                conf_check_keys(&R, hub, hub_keys);
                if (read_nonempty(&R, hub, "name", true, &c->hub) > 0 && !name_valid(c->hub))
                        conf_error(&R, conf_member(hub, "name"), "hub name \"%s\" must be 1 to %d of "
                                   "A-Z a-z 0-9 _ - (it becomes an MQTT topic level)", c->hub, MAX_NAME);
        } else if (!conf_member(root, "hub"))
                conf_error_missing(&R, root, "hub");

        /* In the order of the example file, so that messages come out roughly by line. */
        if (read_paths(&R, root, base, c, &protocols_at) == -ENOMEM) {
                config_destroy(&lc);
                return -ENOMEM;
        }
        read_engine(&R, root, &hub_engine);
        read_switch_params(&R, root, c);
        if (read_gpio(&R, root, base, c) == -ENOMEM || read_ble(&R, root, c) == -ENOMEM ||
            read_mqtt(&R, root, base, c) == -ENOMEM || read_audio(&R, root, base, c) == -ENOMEM) {
                config_destroy(&lc);
                return -ENOMEM;
        }
        load_protocols(&R, protocols_at, c, &failed, &n_failed);

        r = conf_list(&R, root, "stations", &stations);
        if (r == 0)
                conf_error_missing(&R, root, "stations");
        else if (r > 0) {
                int n = config_setting_length(stations);

                if (n == 0)
                        conf_error(&R, stations, "stations must list at least one station");
                else if (n > MAX_STATIONS)
                        conf_error(&R, stations, "at most %d stations, not %d", MAX_STATIONS, n);
                else if (!(c->stations = calloc((size_t) n, sizeof(ConfigStation)))) {
                        strv_free(failed, n_failed);
                        config_destroy(&lc);
                        return -ENOMEM;
                } else
                        for (int i = 0; i < n; i++)
                                read_station(&R, config_setting_get_elem(stations, (unsigned) i), c, &hub_engine,
                                             failed, n_failed);
        }

        strv_free(failed, n_failed);
        config_destroy(&lc);

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
        free(c->hub);
        for (size_t i = 0; i < c->n_protocol_dirs; i++)
                free(c->protocol_dirs[i]);
        free(c->protocol_dirs);
        free(c->spool_dir);
        free(c->state_dir);
        free(c->gpio.backend);
        free(c->gpio.sim_socket);
        free(c->ble.adapter);
        for (size_t i = 0; i < c->ble.n_tags; i++)
                tag_done(&c->ble.tags[i]);
        free(c->ble.tags);
        free(c->mqtt.uri);
        free(c->mqtt.client_id);
        free(c->mqtt.prefix);
        free(c->mqtt.credentials_file);
        free(c->mqtt.ca_file);
        free(c->mqtt.cert_file);
        free(c->mqtt.key_file);
        free(c->mqtt.discovery_prefix);
        free(c->mqtt.dashboard_url);
        free(c->audio.speech_dir);
        free(c->audio.cache_dir);
        free(c->audio.espeak);
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
        const ConfigMqtt *x = &a->mqtt, *y = &b->mqtt;

        return str_eq(a->hub, b->hub) && str_eq(a->spool_dir, b->spool_dir) && str_eq(a->state_dir, b->state_dir) &&
               x->enabled == y->enabled && str_eq(x->uri, y->uri) && x->version == y->version &&
               str_eq(x->client_id, y->client_id) && str_eq(x->prefix, y->prefix) &&
               str_eq(x->credentials_file, y->credentials_file) && str_eq(x->ca_file, y->ca_file) &&
               str_eq(x->cert_file, y->cert_file) && str_eq(x->key_file, y->key_file) &&
               x->keepalive_s == y->keepalive_s && x->spool_max_sessions == y->spool_max_sessions &&
               /* what the hub subscribes to for Home Assistant */
               x->homeassistant == y->homeassistant && str_eq(x->discovery_prefix, y->discovery_prefix);
}

bool config_ble_equal(const Config *a, const Config *b) {
        const ConfigBle *x = &a->ble, *y = &b->ble;

        if (x->enabled != y->enabled || !str_eq(x->adapter, y->adapter) || x->max_links != y->max_links ||
            x->connect_timeout_ms != y->connect_timeout_ms || x->tag_rssi_dbm != y->tag_rssi_dbm ||
            x->backoff_initial_ms != y->backoff_initial_ms || x->backoff_max_ms != y->backoff_max_ms ||
            x->tag_hold_ms != y->tag_hold_ms || x->n_tags != y->n_tags)
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

bool config_gpio_equal(const Config *a, const Config *b) {
        return str_eq(a->gpio.backend, b->gpio.backend) && str_eq(a->gpio.sim_socket, b->gpio.sim_socket) &&
               a->debounce_ms == b->debounce_ms && a->gesture.tap_max_ms == b->gesture.tap_max_ms &&
               a->gesture.long_ms == b->gesture.long_ms && a->gesture.very_long_ms == b->gesture.very_long_ms;
}

bool config_switch_equal(const ConfigStation *a, const ConfigStation *b) {
        if (a->has_switch != b->has_switch)
                return false;
        return !a->has_switch || (str_eq(a->sw.chip, b->sw.chip) && line_eq(&a->sw.line, &b->sw.line) &&
                                  a->sw.active_low == b->sw.active_low && str_eq(a->sw.bias, b->sw.bias));
}

bool config_cues_equal(const ConfigStation *a, const ConfigStation *b) {
        const ConfigCues *x = &a->cues, *y = &b->cues;

        if (a->has_cues != b->has_cues)
                return false;
        return !a->has_cues || (str_eq(x->chip, y->chip) && line_eq(&x->green, &y->green) &&
                                line_eq(&x->amber, &y->amber) && line_eq(&x->red, &y->red) &&
                                line_eq(&x->buzzer, &y->buzzer) && x->active_low == y->active_low);
}
