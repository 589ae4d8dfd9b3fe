/* SPDX-License-Identifier: MIT */
/* config_load(): the shipped example loads into the expected struct, defaults and
 * overrides layer as documented, and every bad input is reported with file:line.
 * argv[1] = config/tphub.conf. */
#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "config/config.h"
#include "shared/macro.h"
#include "config-test.h"

static const char *example_path;
static char real_dir[PATH_MAX]; /* test_dir as config_load() resolves it */

static const char *const simple_protocol =
        "title = \"P\";\n"
        "steps = ( { point = \"s\"; label = \"S\"; kind = \"stretch\"; start = \"timer\"; target_hold_s = 20; } );\n";

static Config *load_ok(const char *path) {
        ConfigErrors e = {};
        Config *c = NULL;

        int r = config_load(path, &c, &e);
        size_t n = e.n;

        for (size_t i = 0; i < e.n; i++)
                printf("# %s\n", e.msgs[i]);
        config_errors_clear(&e);
        CHECK_EQ_OR_NULL(r, 0);
        CHECK_EQ_OR_NULL(n, 0);
        CHECK_OR_NULL(c);
        return c;
}

static void test_example(void) {
        Config *c = load_ok(example_path);
        CHECK(c);
        char dir[PATH_MAX], expect[PATH_MAX + 32];

        /* Relative paths resolve against the file's directory, made absolute. */
        CHECK(realpath(example_path, dir));
        *strrchr(dir, '/') = 0;
        snprintf(expect, sizeof expect, "%s/protocols", dir);

        CHECK_STR(c->path, example_path);
        CHECK_STR(c->hub, "demo-hub");
        CHECK_EQ(c->n_protocol_dirs, 3);
        CHECK_STR(c->protocol_dirs[0], expect);
        CHECK_STR(c->protocol_dirs[1], "/usr/share/tphub/protocols");
        CHECK_STR(c->protocol_dirs[2], "/usr/local/share/tphub/protocols");
        CHECK_STR(c->spool_dir, "/tmp/tphub-demo/spool");
        CHECK_STR(c->state_dir, "/tmp/tphub-demo");

        CHECK_EQ(c->debounce_ms, 20);
        CHECK_EQ(c->gesture.tap_max_ms, 600);
        CHECK_EQ(c->gesture.long_ms, 1500);
        CHECK_EQ(c->gesture.very_long_ms, 5000);
        CHECK_STR(c->gpio.backend, "sim");
        CHECK_STR(c->gpio.sim_socket, "/tmp/tphub-demo/gpio-sim.sock");

        CHECK(c->ble.enabled);
        CHECK(c->ble.manager.adapter == NULL);
        CHECK_EQ(c->ble.manager.max_links, 5);
        CHECK_EQ(c->ble.manager.connect_timeout_ms, 20000);
        CHECK_EQ(c->ble.manager.tag_rssi_dbm, -45);
        CHECK_EQ(c->ble.manager.tag_hold_ms, 800);
        CHECK_EQ(c->ble.n_tags, 3);
        CHECK_STR(c->ble.tags[0].athlete, "anna");
        CHECK_STR(c->ble.tags[0].address, "C0:11:22:33:44:55");
        CHECK(!c->ble.tags[0].ibeacon && !c->ble.tags[0].eddystone);
        CHECK_STR(c->ble.tags[1].athlete, "ben");
        CHECK_STR(c->ble.tags[1].ibeacon, "e2c56db5-dffb-48d2-b060-d0f5a71096e0:1:2");
        CHECK_STR(c->ble.tags[2].athlete, "cleo");
        CHECK_STR(c->ble.tags[2].eddystone, "00112233445566778899:aabbccddeeff");

        CHECK(c->mqtt.enabled);
        CHECK_STR(c->mqtt.client.uri, "tcp://127.0.0.1:1883");
        CHECK_EQ(c->mqtt.client.version, 5);
        CHECK(c->mqtt.client.client_id == NULL);
        CHECK_STR(c->mqtt.prefix, "tphub");
        CHECK(!c->mqtt.client.credentials_file && !c->mqtt.client.ca_file && !c->mqtt.client.cert_file && !c->mqtt.client.key_file);
        CHECK_EQ(c->mqtt.client.keepalive_s, 30);
        CHECK_NEAR(c->mqtt.force_rate_hz, 10.0, 1e-9);
        CHECK_EQ(c->mqtt.spool_max_sessions, 1000);
        CHECK(!c->mqtt.homeassistant);
        CHECK_STR(c->mqtt.discovery_prefix, "homeassistant");

        CHECK_EQ(c->n_stations, 1);
        const ConfigStation *s = &c->stations[0];
        CHECK(config_find_station(c, "bench-1") == s);
        CHECK(config_find_station(c, "bench-2") == NULL);
        CHECK_STR(s->protocol, "back-12");
        CHECK(s->default_protocol == config_find_protocol(c, "back-12"));
        CHECK_EQ(s->default_protocol->n_steps, 19);
        CHECK(!s->auto_adopt);
        CHECK_EQ(s->n_tools, 1);
        CHECK_STR(s->tools[0].address, "C8:00:00:00:00:01");
        CHECK_STR(s->tools[0].driver, "progressor");
        CHECK(s->has_switch);
        CHECK_STR(s->sw.chip, "pinctrl-bcm2711");
        CHECK(s->sw.line.set);
        CHECK_STR(s->sw.line.name, "GPIO17");
        CHECK(s->sw.active_low);
        CHECK_STR(s->sw.bias, "pull-up");
        CHECK(s->has_cues);
        CHECK_STR(s->cues.chip, "pinctrl-bcm2711");
        CHECK_STR(s->cues.green.name, "GPIO22");
        CHECK_STR(s->cues.amber.name, "GPIO23");
        CHECK_STR(s->cues.red.name, "GPIO24");
        CHECK_STR(s->cues.buzzer.name, "GPIO25");
        CHECK(!s->cues.active_low);
        CHECK_EQ(s->engine.idle_timeout_ms, 90000);
        CHECK_EQ(s->engine.tool_grace_ms, 20000);
        CHECK_EQ(s->engine.checkin_press_ms, 1000);
        CHECK_EQ(s->engine.smoothing_ms, 50);
        CHECK_NEAR(s->engine.hysteresis_n, 1.0, 1e-9);
        CHECK_NEAR(s->engine.hysteresis_frac, 0.10, 1e-9);
        CHECK_NEAR(s->engine.descent_frac, 0.8, 1e-9);
        CHECK(s->engine.hub == c->hub);
        CHECK(s->engine.station == s->name);

        static const char *const shipped[] = { "back-12", "ball-release", "glute-tpt", "ppt" };
        for (size_t i = 0; i < ELEMENTSOF(shipped); i++)
                CHECK(config_find_protocol(c, shipped[i]));
        CHECK(config_find_protocol(c, "nope") == NULL);
        config_free(c);
}

static void test_defaults(void) {
        free(test_write("min/protos/p.conf", simple_protocol));
        char *path = test_write("min/tphub.conf",
                                "hub = { name = \"h\"; };\n"
                                "paths = { protocols = [ \"protos\", \"/nonexistent-tphub-dir\" ]; };\n"
                                "stations = ( { name = \"s\"; protocol = \"p\"; } );\n");
        Config *c = load_ok(path);
        CHECK(c);
        char expect[PATH_MAX + 32];
        const EngineParams def = ENGINE_PARAMS_DEFAULT;

        snprintf(expect, sizeof expect, "%s/min/protos", real_dir);
        CHECK_EQ(c->n_protocol_dirs, 2);
        CHECK_STR(c->protocol_dirs[0], expect);
        CHECK_STR(c->spool_dir, "/var/lib/tphub/spool");
        CHECK_STR(c->state_dir, "/var/lib/tphub");
        CHECK_EQ(c->debounce_ms, 20);
        CHECK_EQ(c->gesture.tap_max_ms, 600);
        CHECK_EQ(c->gesture.long_ms, 1500);
        CHECK_EQ(c->gesture.very_long_ms, 5000);
        CHECK_STR(c->gpio.backend, "chip");
        CHECK_STR(c->gpio.sim_socket, "/run/tphub/gpio-sim.sock");
        CHECK(c->ble.enabled);
        CHECK_EQ(c->ble.manager.max_links, 5);
        CHECK_EQ(c->ble.n_tags, 0);
        CHECK(c->mqtt.enabled);
        CHECK_STR(c->mqtt.client.uri, "tcp://127.0.0.1:1883");
        CHECK_EQ(c->mqtt.client.version, 5);
        CHECK_STR(c->mqtt.prefix, "tphub");
        CHECK(!c->mqtt.homeassistant && !c->mqtt.homeassistant_athlete && !c->mqtt.dashboard_url);
        CHECK(!c->stations[0].area);
        CHECK_EQ(c->n_protocols, 1);
        CHECK_EQ(c->n_stations, 1);
        const ConfigStation *s = &c->stations[0];
        CHECK(!s->has_switch && !s->has_cues && s->n_tools == 0 && !s->auto_adopt);
        CHECK_STR(s->default_protocol->name, "p");
        CHECK_EQ(s->engine.idle_timeout_ms, def.idle_timeout_ms);
        CHECK_EQ(s->engine.tool_grace_ms, def.tool_grace_ms);
        CHECK_EQ(s->engine.checkin_press_ms, def.checkin_press_ms);
        CHECK_EQ(s->engine.smoothing_ms, def.smoothing_ms);
        CHECK_NEAR(s->engine.descent_frac, def.descent_frac, 1e-9);
        CHECK_STR(s->engine.hub, "h");
        CHECK_STR(s->engine.station, "s");
        config_free(c);
        free(path);
}

static void test_layering(void) {
        /* Station engine keys over the hub engine group over ENGINE_PARAMS_DEFAULT; the
         * first protocol directory wins on a name clash; lines by offset; addresses
         * upper-cased; an empty string is unset. */
        free(test_write("layer/a/p.conf", simple_protocol));
        free(test_write("layer/b/p.conf",
                        "title = \"from b\";\n"
                        "steps = ( { point = \"s\"; label = \"S\"; kind = \"stretch\"; start = \"timer\"; target_hold_s = 20; } );\n"));
        free(test_write("layer/b/q.conf", simple_protocol));
        free(test_write("layer/b/notes.txt", "not a protocol"));
        char *path = test_write("layer/tphub.conf",
                                "hub = { name = \"h\"; };\n"
                                "paths = { protocols = [ \"a\", \"b\" ]; spool = \"spool\"; };\n"
                                "engine = { idle_timeout_s = 100; smoothing_ms = 30; hysteresis_n = 2; };\n"
                                "switch = { debounce_ms = 5; tap_max_ms = 400; long_ms = 1000; very_long_ms = 3000; };\n"
                                "ble = { enabled = false; adapter = \"\"; tags = (); };\n"
                                "mqtt = { enabled = false; uri = \"ssl://broker:8883\"; version = 3; client_id = \"hub-1\";\n"
                                "         ca_file = \"/nonexistent/ca.pem\"; };\n"
                                "stations = (\n"
                                "  { name = \"s1\"; protocol = \"p\"; auto_adopt = true; engine = { idle_timeout_s = 50.5; };\n"
                                "    tools = ( { address = \"c8:00:00:00:00:0a\"; driver = \"forceboard\"; } );\n"
                                "    switch = { chip = \"gpiochip0\"; line = 17; active_low = false; bias = \"as-is\"; };\n"
                                "    cues = { chip = \"gpiochip0\"; red = 18; }; },\n"
                                "  { name = \"s2\"; protocol = \"q\"; }\n"
                                ");\n");
        Config *c = load_ok(path);
        CHECK(c);
        char expect[PATH_MAX + 32];

        snprintf(expect, sizeof expect, "%s/layer/spool", real_dir);
        CHECK_STR(c->spool_dir, expect);
        CHECK_EQ(c->n_protocols, 2);
        CHECK_STR(config_find_protocol(c, "p")->title, "P");
        CHECK(config_find_protocol(c, "q"));
        CHECK_EQ(c->debounce_ms, 5);
        CHECK_EQ(c->gesture.tap_max_ms, 400);
        CHECK_EQ(c->gesture.long_ms, 1000);
        CHECK_EQ(c->gesture.very_long_ms, 3000);
        CHECK(!c->ble.enabled);
        CHECK(c->ble.manager.adapter == NULL);
        CHECK(!c->mqtt.enabled);
        CHECK_EQ(c->mqtt.client.version, 3);
        CHECK_STR(c->mqtt.client.client_id, "hub-1");
        /* Not checked on disk while MQTT is disabled. */
        CHECK_STR(c->mqtt.client.ca_file, "/nonexistent/ca.pem");

        const ConfigStation *s1 = config_find_station(c, "s1"), *s2 = config_find_station(c, "s2");
        CHECK(s1 && s2);
        CHECK_EQ(s1->engine.idle_timeout_ms, 50500);
        CHECK_EQ(s1->engine.smoothing_ms, 30);
        CHECK_NEAR(s1->engine.hysteresis_n, 2, 1e-9);
        CHECK_EQ(s1->engine.tool_grace_ms, 20000);
        CHECK_EQ(s2->engine.idle_timeout_ms, 100000);
        CHECK_EQ(s2->engine.smoothing_ms, 30);
        CHECK(s1->auto_adopt);
        CHECK_STR(s1->tools[0].address, "C8:00:00:00:00:0A");
        CHECK_STR(s1->tools[0].driver, "forceboard");
        CHECK(s1->sw.line.set && !s1->sw.line.name);
        CHECK_EQ(s1->sw.line.offset, 17);
        CHECK(!s1->sw.active_low);
        CHECK_STR(s1->sw.bias, "as-is");
        CHECK(s1->cues.red.set && s1->cues.red.offset == 18);
        CHECK(!s1->cues.green.set && !s1->cues.amber.set && !s1->cues.buzzer.set);
        CHECK_STR(s2->default_protocol->name, "q");
        config_free(c);
        free(path);
}

static void expect_bad(const char *name, const char *text, int expected_r, const char *const *expected) {
        ConfigErrors e = {};
        Config *c = (Config *) 0x1; /* must stay untouched */
        char *path = test_write(name, text), *prefix;

        CHECK(asprintf(&prefix, "%s:", path) > 0);
        CHECK_EQ(config_load(path, &c, &e), expected_r);
        CHECK(c == (Config *) 0x1);
        check_errors_at(__FILE__, __LINE__, &e, prefix, expected);
        config_errors_clear(&e);
        free(prefix);
        free(path);
}

#define EXPECT_BAD(name, text, ...) expect_bad(name, text, -EINVAL, (const char *const[]) { __VA_ARGS__, NULL })

/* Config files under bad/ share bad/protos. */
#define HEAD "hub = { name = \"h\"; };\npaths = { protocols = [ \"protos\" ]; };\n"

static void test_bad(void) {
        char *cert_msg;

        free(test_write("bad/protos/p.conf", simple_protocol));
        CHECK(asprintf(&cert_msg, "@12: mqtt.cert_file %s/bad/c.pem: No such file or directory", real_dir) > 0);

        EXPECT_BAD("bad/unknown.conf",
                   HEAD
                   "colour = \"red\";\n"
                   "stations = ( { name = \"s\"; protocol = \"p\";\n"
                   "    engine = { idle_timeout = 90; }; } );\n",
                   "@3: unknown key \"colour\"",
                   "@5: unknown key \"stations[0].engine.idle_timeout\"");

        EXPECT_BAD("bad/address.conf",
                   HEAD
                   "stations = ( { name = \"s\"; protocol = \"p\";\n"
                   "    tools = ( { address = \"C8:00:00:00:00\"; driver = \"progressor\"; },\n"
                   "              { address = \"C8:00:00:00:00:0G\"; driver = \"tindeq\"; } ); } );\n",
                   "@4: tool address \"C8:00:00:00:00\" is not a Bluetooth address like \"AA:BB:CC:DD:EE:FF\"",
                   "@5: tool address \"C8:00:00:00:00:0G\" is not a Bluetooth address like \"AA:BB:CC:DD:EE:FF\"",
                   "@5: unknown driver \"tindeq\" (known: progressor, forceboard, entralpi, whc06, cts500, "
                   "linescale, activ5, imd-force)");

        EXPECT_BAD("bad/homeassistant.conf",
                   HEAD
                   "mqtt = { dashboard_url = \"ftp://hub/\"; };\n"
                   "stations = ( { name = \"meta\"; protocol = \"p\";\n"
                   "    area = \"one\\ntwo\"; } );\n",
                   "@3: mqtt.dashboard_url \"ftp://hub/\" must be an http:// or https:// URL of at most 256 "
                   "characters without spaces",
                   "@4: station name \"meta\" is reserved for the hub's own MQTT topics",
                   "@5: area \"one\ntwo\" must be at most 64 characters on one line");

        EXPECT_BAD("bad/duplicate.conf",
                   HEAD
                   "stations = (\n"
                   "  { name = \"s\"; protocol = \"p\"; tools = ( { address = \"C8:00:00:00:00:01\"; driver = \"progressor\"; } ); },\n"
                   "  { name = \"s\"; protocol = \"p\"; tools = ( { address = \"c8:00:00:00:00:01\"; driver = \"progressor\"; } ); }\n"
                   ");\n",
                   "@5: station name \"s\" is used twice",
                   "@5: tool C8:00:00:00:00:01 is already used by station \"s\"");

        EXPECT_BAD("bad/protocol.conf",
                   HEAD
                   "stations = ( { name = \"s\";\n"
                   "  protocol = \"back-13\"; } );\n",
                   "@4: no protocol \"back-13\" (looked for back-13.conf in paths.protocols)");

        EXPECT_BAD("bad/syntax.conf",
                   HEAD
                   "stations = ( { name = \"s\" protocol = \"p\"; } ;\n",
                   "@3: syntax error");

        EXPECT_BAD("bad/required.conf",
                   "paths = { protocols = [ \"protos\" ]; };\n"
                   "stations = ( { protocol = \"p\"; }, { name = \"\"; } );\n",
                   "@ hub is required",
                   "@2: stations[0].name is required",
                   "@2: stations[1].name must not be empty",
                   "@2: stations[1].protocol is required");

        EXPECT_BAD("bad/values.conf",
                   "hub = { name = \"north/1\"; };\n"
                   "paths = { protocols = [ \"protos\" ]; };\n"
                   "engine = { descent_frac = 1.5; tool_grace_s = \"20\"; };\n"
                   "switch = { tap_max_ms = 1600; };\n"
                   "gpio = { backend = \"mmap\"; };\n"
                   "ble = { max_links = 0; tag_rssi_dbm = 10;\n"
                   "  tags = ( { athlete = \"anna\"; address = \"C0:11:22:33:44:55\"; },\n"
                   "           { athlete = \"bob\"; address = \"c0:11:22:33:44:55\"; },\n"
                   "           { athlete = \"cleo\"; },\n"
                   "           { athlete = \"dan\"; ibeacon = \"e2c56db5-dffb-48d2-b060-d0f5a71096e0:1:70000\"; },\n"
                   "           { athlete = \"eve\"; eddystone = \"0011:22\"; } ); };\n"
                   "mqtt = { uri = \"http://broker\"; version = 4; prefix = \"tphub/#\"; cert_file = \"c.pem\"; };\n"
                   "stations = ( { name = \"s\"; protocol = \"p\";\n"
                   "  switch = { chip = \"gpiochip0\"; line = 17; bias = \"up\"; };\n"
                   "  cues = { chip = \"gpiochip0\"; green = 17; amber = 1.5; }; } );\n",
                   "@1: hub name \"north/1\" must be 1 to 32 of A-Z a-z 0-9 _ - (it becomes an MQTT topic level)",
                   "@3: engine.tool_grace_s must be a number",
                   "@3: engine.descent_frac must be between 0.1 and 1, not 1.5",
                   "@4: switch.tap_max_ms (1600) must be below switch.long_ms (1500)",
                   "@5: gpio.backend must be \"chip\" or \"sim\", not \"mmap\"",
                   "@6: ble.max_links must be between 1 and 10, not 0",
                   "@6: ble.tag_rssi_dbm must be between -120 and -1, not 10",
                   "@8: tag C0:11:22:33:44:55 is already used by athlete \"anna\"",
                   "@9: ble.tags[2] must have exactly one of address, ibeacon, eddystone",
                   "@10: ibeacon \"e2c56db5-dffb-48d2-b060-d0f5a71096e0:1:70000\" must be \"UUID:major:minor\" (major and minor 0 to 65535)",
                   "@11: eddystone \"0011:22\" must be \"namespace:instance\" (20 and 12 hex digits)",
                   "@12: mqtt.uri \"http://broker\" must look like tcp://HOST:PORT (schemes: tcp, mqtt, ws, ssl, mqtts, wss)",
                   "@12: mqtt.version must be 3 (MQTT 3.1.1) or 5, not 4",
                   "@12: mqtt.prefix \"tphub/#\" must be topic levels of A-Z a-z 0-9 _ . - separated by single '/' (no wildcards, at most 64)",
                   "@12: mqtt.cert_file and mqtt.key_file must be given together",
                   "@12: mqtt TLS files need a TLS uri (ssl://, mqtts:// or wss://), not \"http://broker\"",
                   cert_msg,
                   "@14: stations[0].switch.bias must be \"pull-up\", \"pull-down\", \"disable\" or \"as-is\", not \"up\"",
                   "@15: stations[0].cues.amber must be a line offset (integer) or a line name (string)");
        free(cert_msg);
}

static void test_bad_files(void) {
        char *path, *creds, *prefix;
        ConfigErrors e = {};
        Config *c = NULL;

        /* Missing file: -ENOENT and the message names the file. */
        CHECK(asprintf(&path, "%s/missing.conf", test_dir) > 0);
        CHECK_EQ(config_load(path, &c, &e), -ENOENT);
        CHECK(!c);
        check_errors(&e, path, "@: cannot open: No such file or directory");
        config_errors_clear(&e);
        free(path);

        /* Larger than CONF_FILE_MAX (1 MiB): refused before libconfig reads it (its scanner is
         * quadratic in a string's length), by size, not by content. */
        {
                size_t n = 1024 * 1024 + 1;
                char *big = malloc(n + 1), *msg;
                CHECK(big);
                memset(big, '#', n);
                big[n] = 0;
                path = test_write("big.conf", big);
                free(big);
                CHECK_EQ(config_load(path, &c, &e), -EFBIG);
                CHECK(!c);
                CHECK(asprintf(&msg, "@: too large: %zu bytes (at most %d)", n, 1024 * 1024) > 0);
                check_errors(&e, path, msg);
                free(msg);
                config_errors_clear(&e);
                free(path);
        }

        /* Credentials: must exist and not be accessible to others. */
        free(test_write("creds/protos/p.conf", simple_protocol));
        creds = test_write("creds/mqtt.cred", "user\nsecret\n");
        CHECK(chmod(creds, 0644) == 0);
        path = test_write("creds/tphub.conf",
                          HEAD
                          "mqtt = { credentials_file = \"mqtt.cred\"; };\n"
                          "stations = ( { name = \"s\"; protocol = \"p\"; } );\n");
        CHECK(asprintf(&prefix, "%s:", path) > 0);
        CHECK_EQ(config_load(path, &c, &e), -EINVAL);
        {
                char *msg;
                CHECK(asprintf(&msg, "@3: mqtt.credentials_file %s/creds/mqtt.cred is accessible to others "
                               "(mode 0644): chmod o-rwx it", real_dir) > 0);
                check_errors(&e, prefix, msg);
                free(msg);
        }
        config_errors_clear(&e);

        CHECK(chmod(creds, 0600) == 0);
        c = load_ok(path);
        CHECK(c);
        {
                char expect[PATH_MAX + 32];
                snprintf(expect, sizeof expect, "%s/creds/mqtt.cred", real_dir);
                CHECK_STR(c->mqtt.client.credentials_file, expect);
        }
        config_free(c);
        c = NULL;

        CHECK(unlink(creds) == 0);
        CHECK_EQ(config_load(path, &c, &e), -EINVAL);
        {
                char *msg;
                CHECK(asprintf(&msg, "@3: mqtt.credentials_file %s/creds/mqtt.cred: No such file or directory",
                               real_dir) > 0);
                check_errors(&e, prefix, msg);
                free(msg);
        }
        config_errors_clear(&e);
        free(prefix);
        free(path);
        free(creds);
}

static void test_bad_protocols(void) {
        char *path, *proto, *prefix, *msg;
        ConfigErrors e = {};
        Config *c = NULL;

        /* Errors inside protocol files are collected with the protocol file's path; a
         * station naming that protocol adds no second error. */
        free(test_write("bp/protos/good.conf", simple_protocol));
        proto = test_write("bp/protos/broken.conf",
                           "title = \"B\";\n"
                           "steps = ( { point = \"s\"; label = \"S\"; kind = \"stretch\"; start = \"timer\";\n"
                           "            target_hold_s = 20; speed = 3; } );\n");
        path = test_write("bp/tphub.conf",
                          HEAD
                          "stations = ( { name = \"s\"; protocol = \"broken\"; },\n"
                          "             { name = \"t\"; protocol = \"good\"; switch = { chip = \"gpiochip0\"; line = \"SW\"; }; },\n"
                          "             { name = \"u\"; protocol = \"good\"; cues = { chip = \"gpiochip0\"; red = \"SW\"; }; } );\n");
        CHECK(asprintf(&prefix, "%s:", path) > 0);
        CHECK(asprintf(&msg, "%s:3: unknown key \"steps[0].speed\"", proto) > 0);
        CHECK_EQ(config_load(path, &c, &e), -EINVAL);
        CHECK(!c);
        check_errors(&e, prefix, msg,
                     "@5: station \"u\": cues.red uses the GPIO line of station \"t\" switch.line");
        config_errors_clear(&e);
        free(msg);
        free(prefix);
        free(path);
        free(proto);

        /* No protocol at all. */
        free(test_write("np/protos/README", "no protocols here\n"));
        path = test_write("np/tphub.conf",
                          HEAD
                          "stations = ( { name = \"s\"; protocol = \"p\"; } );\n");
        CHECK(asprintf(&prefix, "%s:", path) > 0);
        CHECK(asprintf(&msg, "@2: no protocol (*.conf) found in %s/np/protos", real_dir) > 0);
        CHECK_EQ(config_load(path, &c, &e), -EINVAL);
        check_errors(&e, prefix, msg, "@3: no protocol \"p\" (looked for p.conf in paths.protocols)");
        config_errors_clear(&e);
        free(msg);
        free(prefix);
        free(path);
}

/* What a reload compares: one key changed at a time, and which adapter sees a change. */
static void test_reload_compare(void) {
        static const struct {
                const char *mqtt, *ble, *gpio, *station;
                bool mqtt_same, ble_same, gpio_same, switch_same, cues_same;
        } cases[] = {
                { "", "", "", "line = 4;", true, true, true, true, true },
                { "force_rate_hz = 2; archive_days = 3; dashboard_url = \"http://x/\";", "", "", "line = 4;", true, true, true, true, true },
                { "keepalive_s = 60;", "", "", "line = 4;", false, true, true, true, true },
                { "prefix = \"site/tphub\";", "", "", "line = 4;", false, true, true, true, true },
                { "homeassistant = true;", "", "", "line = 4;", false, true, true, true, true },
                { "", "max_links = 3;", "", "line = 4;", true, false, true, true, true },
                { "", "adapter = \"hci1\";", "", "line = 4;", true, false, true, true, true },
                { "", "", "debounce_ms = 10;", "line = 4;", true, true, false, true, true },
                { "", "", "long_ms = 2000;", "line = 4;", true, true, false, true, true },
                { "", "", "", "line = 4; bias = \"disable\";", true, true, true, false, true },
                { "", "", "", "line = 5;", true, true, true, false, true },
        };
        Config *base = NULL;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *text, name[32], *path;
                Config *c;

                free(test_write("rc/protos/p.conf", simple_protocol));
                CHECK(asprintf(&text,
                               "hub = { name = \"h\"; };\npaths = { protocols = [ \"protos\" ]; };\n"
                               "mqtt = { enabled = false; %s };\nble = { %s };\nswitch = { %s };\n"
                               "stations = ( { name = \"s\"; protocol = \"p\";\n"
                               "  switch = { chip = \"gpiochip0\"; %s };\n"
                               "  cues = { chip = \"gpiochip0\"; red = 6; }; } );\n",
                               cases[i].mqtt, cases[i].ble, cases[i].gpio, cases[i].station) > 0);
                snprintf(name, sizeof name, "rc/%zu.conf", i);
                path = test_write(name, text);
                free(text);
                c = load_ok(path);
                free(path);
                if (!c) {
                        config_free(base);
                        TAP_FAIL("case %zu does not load", i);
                }
                if (!base) {
                        base = c;
                        continue;
                }
                if (config_mqtt_equal(base, c) != cases[i].mqtt_same || config_ble_equal(base, c) != cases[i].ble_same ||
                    config_gpio_equal(base, c) != cases[i].gpio_same ||
                    config_switch_equal(&base->stations[0], &c->stations[0]) != cases[i].switch_same ||
                    config_cues_equal(&base->stations[0], &c->stations[0]) != cases[i].cues_same) {
                        config_free(c);
                        config_free(base);
                        TAP_FAIL("case %zu (%s%s%s%s): the comparison differs", i, cases[i].mqtt, cases[i].ble,
                                 cases[i].gpio, cases[i].station);
                }
                config_free(c);
        }
        config_free(base);
}

static const TapCase cases[] = {
        { "example", test_example },
        { "defaults", test_defaults },
        { "layering", test_layering },
        { "bad", test_bad },
        { "bad-files", test_bad_files },
        { "bad-protocols", test_bad_protocols },
        { "reload-compare", test_reload_compare },
};

int main(int argc, char **argv) {
        BAIL_UNLESS(argc >= 2);
        example_path = argv[1];
        test_dir_create();
        BAIL_UNLESS(realpath(test_dir, real_dir));
        /* argv[1] is the example file: the optional case name follows it */
        return tap_run(cases, ELEMENTSOF(cases), argc - 1, argv + 1);
}
