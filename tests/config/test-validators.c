/* SPDX-License-Identifier: MIT */
/* One definition per input format: the same values go to the configuration reader and to the
 * validator of the module that owns the format (and, where there is one, to the module code
 * that uses the value: the tag watch, the MQTT client, the topic builders), and every one of
 * them must give the same verdict. A value the module refuses must be refused by the reader
 * with messages at the key's line only; a value it accepts must load, stored in the module's
 * canonical form. */
#include <errno.h>
#include <limits.h>

#include "ble/ble-id.h"
#include "ble/ble-tag.h"
#include "ble/drivers/driver.h"
#include "config/config.h"
#include "config-test.h"
#include "gpio/gpio-backend.h"
#include "mqtt/mqtt-client.h"
#include "mqtt/mqtt-uri.h"
#include "mqtt/topics.h"
#include "shared/macro.h"

static const char *const simple_protocol =
        "title = \"P\";\n"
        "steps = ( { point = \"s\"; label = \"S\"; kind = \"stretch\"; start = \"timer\"; target_hold_s = 20; } );\n";

#define HUB "hub = { name = \"h\"; };\n"
#define PATHS "paths = { protocols = [ \"protos\" ]; };\n"
#define STATION "stations = ( { name = \"s\"; protocol = \"p\"; } );\n"

/* A configuration with one value in it: the template's @V@ becomes the value, on line 3 (so
 * the expected error is at line 3 of the file). */
typedef struct Site {
        const char *key;           /* for the messages of this test */
        const char *template;      /* @V@ on the third line */
} Site;

/* What the reader did with a value: loaded (0) or not; and what it stored there. */
typedef struct Outcome {
        int r;
        size_t n_errors;
        bool at_line_3;            /* there are messages, and all are at line 3 */
        char *stored;              /* the value as the configuration holds it, when loaded */
} Outcome;

static unsigned n_files;

static char *replace(const char *template, const char *value) {
        const char *at = strstr(template, "@V@");
        char *s;

        BAIL_UNLESS(at);
        BAIL_UNLESS(asprintf(&s, "%.*s%s%s", (int) (at - template), template, value, at + 3) > 0);
        return s;
}

typedef const char *(*StoredFn)(const Config *c);

static Outcome load_with(const Site *site, const char *value, StoredFn stored) {
        _cleanup_free_ char *text = replace(site->template, value), *name = NULL, *path = NULL, *prefix = NULL;
        ConfigErrors e = {};
        Config *c = NULL;
        Outcome o = {};

        BAIL_UNLESS(asprintf(&name, "v/%u.conf", n_files++) > 0);
        path = test_write(name, text);
        BAIL_UNLESS(asprintf(&prefix, "%s:3: ", path) > 0);
        o.r = config_load(path, &c, &e);
        o.n_errors = e.n;
        o.at_line_3 = e.n > 0;
        for (size_t i = 0; i < e.n; i++)
                o.at_line_3 = o.at_line_3 && strncmp(e.msgs[i], prefix, strlen(prefix)) == 0;
        if (o.r == 0 && stored && stored(c))
                o.stored = strdup(stored(c));
        if (o.r < 0 && !o.at_line_3)
                for (size_t i = 0; i < e.n; i++)
                        printf("#   %s\n", e.msgs[i]);
        config_errors_clear(&e);
        config_free(c);
        return o;
}

/* The module's verdict on value, and its canonical form (NULL: kept as written). */
typedef bool (*ModuleFn)(const char *value, char *canonical, size_t size);

typedef struct Format {
        const char *name;
        ModuleFn module;
        const Site *sites;         /* where the reader takes this format, NULL-key terminated */
        StoredFn const *stored;    /* per site, may be NULL */
        const char *const *values; /* good and bad, NULL-terminated */
} Format;

static void check_format(const Format *f) {
        size_t n_good = 0, n_bad = 0;

        for (const char *const *v = f->values; *v; v++) {
                char canonical[128] = "";
                bool ok = f->module(*v, canonical, sizeof canonical);

                ok ? n_good++ : n_bad++;
                for (size_t i = 0; f->sites[i].key; i++) {
                        Outcome o = load_with(&f->sites[i], *v, f->stored ? f->stored[i] : NULL);
                        bool same = ok ? o.r == 0 : o.r == -EINVAL && o.at_line_3;

                        if (!same)
                                printf("# %s: \"%s\" at %s: module says %s, the reader %s (%d, %zu errors)\n", f->name, *v,
                                       f->sites[i].key, ok ? "valid" : "invalid", o.r == 0 ? "loads it" : "refuses it",
                                       o.r, o.n_errors);
                        if (same && ok && *canonical && o.stored && strcmp(o.stored, canonical) != 0) {
                                printf("# %s: \"%s\" at %s stored as \"%s\", the module writes \"%s\"\n", f->name, *v,
                                       f->sites[i].key, o.stored, canonical);
                                same = false;
                        }
                        free(o.stored);
                        CHECK(same);
                }
        }
        /* A table that only holds good (or only bad) values proves nothing. */
        CHECK(n_good > 0);
        CHECK(n_bad > 0);
}

/* ---- Bluetooth addresses ---- */

static bool address_module(const char *v, char *canonical, size_t size) {
        char out[BLE_ADDRESS_LEN + 1];

        if (ble_address_normalize(v, out) < 0)
                return false;
        snprintf(canonical, size, "%s", out);
        return true;
}

static const char *tool_address(const Config *c) {
        return c->stations[0].tools[0].address;
}
static const char *tag_address(const Config *c) {
        return c->ble.tags[0].address;
}

static const char *const addresses[] = {
        "C8:00:00:00:00:0A", "c8:00:00:00:00:0a", "aB:cD:eF:01:23:45",
        "", "C8:00:00:00:00", "C8:00:00:00:00:0G", "C8-00-00-00-00-0A", "C8:00:00:00:00:0A:", " C8:00:00:00:00:0A",
        "C800:00:00:00:0A0", "C8:00:00:00:00:0A0", "::::::::::::::::", NULL,
};

static void test_address(void) {
        static const Site sites[] = {
                { "stations[].tools[].address", HUB PATHS
                  "stations = ( { name = \"s\"; protocol = \"p\"; tools = ( { driver = \"progressor\"; address = \"@V@\"; } ); } );\n" },
                { "ble.tags[].address", HUB PATHS "ble = { tags = ( { athlete = \"a\"; address = \"@V@\"; } ); };\n" STATION },
                {},
        };
        static const StoredFn stored[] = { tool_address, tag_address };
        check_format(&(Format) { "address", address_module, sites, stored, addresses });
}

/* ---- iBeacon and Eddystone ids: the reader, the module's parser and the tag watch ---- */

static BleTagWatch *watch;

static void on_tap(const char *athlete, const char *address, int rssi, void *userdata) {
        (void) userdata, (void) athlete, (void) address, (void) rssi;
}

static bool ibeacon_module(const char *v, char *canonical, size_t size) {
        char out[BLE_IBEACON_STRING_MAX + 1];
        uint8_t id[BLE_IBEACON_ID_LEN];
        bool ok = ble_ibeacon_parse(v, id) == 0;

        /* The tag watch, which matches adverts against it, must agree. */
        if ((ble_tag_watch_add(watch, "a", NULL, v, NULL) == 0) != ok) {
                printf("# ibeacon \"%s\": ble_ibeacon_parse() and ble_tag_watch_add() disagree\n", v);
                return !ok;  /* makes the comparison with the reader fail */
        }
        if (ok && ble_ibeacon_normalize(v, out) == 0)
                snprintf(canonical, size, "%s", out);
        return ok;
}

static bool eddystone_module(const char *v, char *canonical, size_t size) {
        char out[BLE_EDDYSTONE_STRING_LEN + 1];
        uint8_t id[BLE_EDDYSTONE_ID_LEN];
        bool ok = ble_eddystone_parse(v, id) == 0;

        if ((ble_tag_watch_add(watch, "a", NULL, NULL, v) == 0) != ok) {
                printf("# eddystone \"%s\": ble_eddystone_parse() and ble_tag_watch_add() disagree\n", v);
                return !ok;
        }
        if (ok && ble_eddystone_normalize(v, out) == 0)
                snprintf(canonical, size, "%s", out);
        return ok;
}

static const char *tag_ibeacon(const Config *c) {
        return c->ble.tags[0].ibeacon;
}
static const char *tag_eddystone(const Config *c) {
        return c->ble.tags[0].eddystone;
}

static const char *const ibeacons[] = {
        "e2c56db5-dffb-48d2-b060-d0f5a71096e0:1:2",
        "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0:65535:0",
        "e2c56db5-dffb-48d2-b060-d0f5a71096e0:00001:00002",
        "",
        "e2c56db5-dffb-48d2-b060-d0f5a71096e0:1:70000",
        "e2c56db5-dffb-48d2-b060-d0f5a71096e0:1",
        "e2c56db5-dffb-48d2-b060-d0f5a71096e0:1:2:3",
        "e2c56db5-dffb-48d2-b060-d0f5a71096e0:000001:2",
        "e2c56db5-dffb-48d2-b060-d0f5a71096e0:+1:2",
        "e2c56db5-dffb-48d2-b060-d0f5a71096e0:-1:2",
        "e2c56db5-dffb-48d2-b060-d0f5a71096e0: 1:2",
        "e2c56db5-dffb-48d2-b060-d0f5a71096e0::2",
        "e2c56db5d-ffb-48d2-b060-d0f5a71096e0:1:2",
        "e2c56db5dffb48d2b060d0f5a71096e0----:1:2",
        "e2c56db5-dffb-48d2-b060-d0f5a71096e:1:2",
        "e2c56db5-dffb-48d2-b060-d0f5a71096g0:1:2",
        "e2c56db5-dffb-48d2-b060-d0f5a71096e00:1:2",
        NULL,
};

static const char *const eddystones[] = {
        "00112233445566778899:aabbccddeeff",
        "00112233445566778899:AABBCCDDEEFF",
        "",
        "0011:22",
        "00112233445566778899aabbccddeeff",
        "00112233445566778899:aabbccddeef",
        "00112233445566778899:aabbccddeeffa",
        "0011223344556677889g:aabbccddeeff",
        "00112233445566778899-aabbccddeeff",
        NULL,
};

static void test_ibeacon(void) {
        static const Site sites[] = {
                { "ble.tags[].ibeacon", HUB PATHS "ble = { tags = ( { athlete = \"a\"; ibeacon = \"@V@\"; } ); };\n" STATION },
                {},
        };
        static const StoredFn stored[] = { tag_ibeacon };
        check_format(&(Format) { "ibeacon", ibeacon_module, sites, stored, ibeacons });
}

static void test_eddystone(void) {
        static const Site sites[] = {
                { "ble.tags[].eddystone", HUB PATHS "ble = { tags = ( { athlete = \"a\"; eddystone = \"@V@\"; } ); };\n" STATION },
                {},
        };
        static const StoredFn stored[] = { tag_eddystone };
        check_format(&(Format) { "eddystone", eddystone_module, sites, stored, eddystones });
}

/* ---- topic prefixes: the reader, topic_prefix_valid() and the topic builders ---- */

static bool prefix_module(const char *v, char *canonical, size_t size) {
        _cleanup_free_ char *topic = NULL;
        bool ok = topic_prefix_valid(v);

        (void) canonical, (void) size;
        /* topic_status(NULL, ...) would take the default prefix: "" is a different case. */
        if (*v && (topic_status(v, "h", &topic) == 0) != ok) {
                printf("# prefix \"%s\": topic_prefix_valid() and topic_status() disagree\n", v);
                return !ok;
        }
        return ok;
}

static void test_prefix(void) {
        static const Site sites[] = {
                { "mqtt.prefix", HUB PATHS "mqtt = { enabled = false; prefix = \"@V@\"; };\n" STATION },
                { "mqtt.discovery_prefix", HUB PATHS "mqtt = { enabled = false; discovery_prefix = \"@V@\"; };\n" STATION },
                {},
        };
        static const char *const values[] = {
                "tphub", "site/tphub", "a.b-c_d/E9", "0123456789012345678901234567890123456789012345678901234567890123",
                "", "/tphub", "tphub/", "a//b", "tphub/#", "tphub/+/x", "#", "$SYS", "$share/x", "tp hub", "tph\xc3\xbc" "b",
                "01234567890123456789012345678901234567890123456789012345678901234", "a\tb", NULL,
        };
        check_format(&(Format) { "topic prefix", prefix_module, sites, NULL, values });
}

/* ---- names: hub, stations, athletes ---- */

static bool name_module(const char *v, char *canonical, size_t size) {
        (void) canonical, (void) size;
        return topic_name_valid(v);
}

static bool station_name_module(const char *v, char *canonical, size_t size) {
        _cleanup_free_ char *topic = NULL;
        bool ok = topic_name_valid(v) && !topic_station_name_reserved(v);

        (void) canonical, (void) size;
        /* The topic builder refuses reserved names too. */
        if (ok && topic_station(NULL, "h", v, TOPIC_STATION_STATE, &topic) < 0) {
                printf("# station name \"%s\": valid but topic_station() refuses it\n", v);
                return false;
        }
        return ok;
}

static const char *const names[] = {
        "h", "bench-1", "A_b-9", "01234567890123456789012345678901",
        "", "north/1", "a.b", "a b", "x+", "x#", "012345678901234567890123456789012", "\xc3\xa9", "a:b", NULL,
};

static void test_names(void) {
        static const Site sites[] = {
                { "hub.name", PATHS "\nhub = { name = \"@V@\"; };\n" STATION },
                { "ble.tags[].athlete", HUB PATHS "ble = { tags = ( { address = \"C0:11:22:33:44:55\"; athlete = \"@V@\"; } ); };\n" STATION },
                {},
        };
        check_format(&(Format) { "name", name_module, sites, NULL, names });
}

static void test_station_names(void) {
        static const Site sites[] = {
                { "stations[].name", HUB PATHS "stations = ( { protocol = \"p\"; name = \"@V@\"; } );\n" },
                {},
        };
        static const char *const values[] = {
                "bench-1", "Status", "tool", "s",
                "tools", "status", "availability", "meta", "sysinfo", "", "a/b", "a.b", NULL,
        };
        check_format(&(Format) { "station name", station_name_module, sites, NULL, values });
        check_format(&(Format) { "station name", station_name_module, sites, NULL, names });
}

/* ---- GPIO bias names ---- */

static bool bias_module(const char *v, char *canonical, size_t size) {
        (void) canonical, (void) size;
        return gpio_bias_from_string(v) >= 0;
}

static void test_bias(void) {
        static const Site sites[] = {
                { "stations[].switch.bias", HUB PATHS
                  "stations = ( { name = \"s\"; protocol = \"p\"; switch = { chip = \"gpiochip0\"; line = 1; bias = \"@V@\"; }; } );\n" },
                {},
        };
        static const char *const values[] = {
                "pull-up", "pull-down", "disable", "as-is",
                "", "up", "Pull-Up", "pullup", "as_is", "pull-up ", "none", NULL,
        };
        check_format(&(Format) { "bias", bias_module, sites, NULL, values });
}

/* ---- broker URIs and TLS schemes: the reader, mqtt_uri_valid() and the MQTT client ---- */

static sd_event *event;

static bool uri_module(const char *v, char *canonical, size_t size) {
        _cleanup_(mqtt_client_freep) MqttClient *client = NULL;
        bool ok = mqtt_uri_valid(v, NULL);
        int r;

        (void) canonical, (void) size;
        /* The client takes what the validator takes (it does not connect yet). */
        r = mqtt_client_new(&client, event, &(MqttClientOptions) { .uri = v, .client_id = "t" }, NULL, NULL);
        if ((r == 0) != ok) {
                printf("# uri \"%s\": mqtt_uri_valid() says %d, mqtt_client_new() %d\n", v, ok, r);
                return !ok;
        }
        return ok;
}

static const char *const uris[] = {
        "tcp://broker:1883", "mqtt://broker", "ws://broker:9001/mqtt", "ssl://broker:8883", "mqtts://broker",
        "wss://broker/mqtt", "tcp://127.0.0.1:1883",
        "", "http://broker", "tcp://", "tcp://:1883", "tcp:///x", "tcp://bro ker", "broker:1883", "TCP://broker",
        "ssl:/broker", NULL,
};

static void test_uri(void) {
        static const Site sites[] = {
                { "mqtt.uri", HUB PATHS "mqtt = { enabled = false; uri = \"@V@\"; };\n" STATION },
                {},
        };
        check_format(&(Format) { "uri", uri_module, sites, NULL, uris });
}

/* TLS files need a TLS scheme: the reader decides with the scheme table the client uses. */
static bool tls_module(const char *v, char *canonical, size_t size) {
        bool tls = false;

        (void) canonical, (void) size;
        return mqtt_uri_valid(v, &tls) && tls;
}

static void test_tls(void) {
        /* Both on line 3: the message is at the ca_file's line. */
        static const Site sites[] = {
                { "mqtt.ca_file with mqtt.uri", HUB PATHS
                  "mqtt = { enabled = false; ca_file = \"/nonexistent/ca.pem\"; uri = \"@V@\"; };\n" STATION },
                {},
        };
        static const char *const values[] = {
                "ssl://broker:8883", "mqtts://broker", "wss://broker/mqtt",
                "tcp://broker:1883", "mqtt://broker", "ws://broker:9001/mqtt", NULL,
        };
        check_format(&(Format) { "TLS scheme", tls_module, sites, NULL, values });
}

/* ---- MQTT client ids ---- */

static bool client_id_module(const char *v, char *canonical, size_t size) {
        (void) canonical, (void) size;
        return mqtt_client_id_valid(v);
}

static void test_client_id(void) {
        static const Site sites[] = {
                { "mqtt.client_id", HUB PATHS "mqtt = { enabled = false; client_id = \"@V@\"; };\n" STATION },
                {},
        };
        /* "" is not among them: in the configuration it means "the host name". */
        static const char *const values[] = {
                "hub-1", "x", "0123456789012345678901234567890123456789012345678901234567890123",
                "01234567890123456789012345678901234567890123456789012345678901234", "a b", "a/b", "a+b", "a#b",
                "a\tb", NULL,
        };
        check_format(&(Format) { "client id", client_id_module, sites, NULL, values });
}

/* ---- MQTT versions ---- */

static bool version_module(const char *v, char *canonical, size_t size) {
        _cleanup_(mqtt_client_freep) MqttClient *client = NULL;
        unsigned version = (unsigned) strtoul(v, NULL, 10);

        (void) canonical, (void) size;
        return mqtt_client_new(&client, event, &(MqttClientOptions) { .uri = "tcp://h", .client_id = "t", .version = version },
                               NULL, NULL) == 0;
}

static void test_version(void) {
        static const Site sites[] = {
                { "mqtt.version", HUB PATHS "mqtt = { enabled = false; version = @V@; };\n" STATION },
                {},
        };
        /* Not 0: in the client's options it means "the default". */
        static const char *const values[] = { "3", "5", "1", "4", "6", "311", NULL };
        check_format(&(Format) { "version", version_module, sites, NULL, values });
}

/* ---- tool drivers ---- */

static bool driver_module(const char *v, char *canonical, size_t size) {
        (void) canonical, (void) size;
        return driver_find(v) != NULL;
}

static void test_driver(void) {
        static const Site sites[] = {
                { "stations[].tools[].driver", HUB PATHS
                  "stations = ( { name = \"s\"; protocol = \"p\"; tools = ( { address = \"C8:00:00:00:00:01\"; driver = \"@V@\"; } ); } );\n" },
                {},
        };
        static const char *const values[] = { "progressor", "forceboard", "imd-force", "", "tindeq", "Progressor", NULL };
        check_format(&(Format) { "driver", driver_module, sites, NULL, values });
}

static const TapCase cases[] = {
        { "address", test_address },
        { "ibeacon", test_ibeacon },
        { "eddystone", test_eddystone },
        { "topic-prefix", test_prefix },
        { "names", test_names },
        { "station-names", test_station_names },
        { "gpio-bias", test_bias },
        { "mqtt-uri", test_uri },
        { "tls-scheme", test_tls },
        { "mqtt-client-id", test_client_id },
        { "mqtt-version", test_version },
        { "driver", test_driver },
};

int main(int argc, char **argv) {
        int r;

        test_dir_create();
        free(test_write("v/protos/p.conf", simple_protocol));
        BAIL_UNLESS(sd_event_new(&event) >= 0);
        BAIL_UNLESS(ble_tag_watch_new(&watch, event, -45, 800 * NSEC_PER_MSEC, on_tap, NULL) == 0);
        r = tap_run(cases, ELEMENTSOF(cases), argc, argv);
        ble_tag_watch_free(watch);
        sd_event_unref(event);
        return r;
}
