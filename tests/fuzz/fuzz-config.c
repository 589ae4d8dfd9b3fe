/* SPDX-License-Identifier: MIT */
/* libFuzzer target for config_load(): any bytes as tphub.conf (beside one valid protocol
 * file) must give either errors, each "FILE...: message", and no Config, or a Config that
 * keeps what the reader promises (docs/config.md): names, addresses and prefixes as their
 * modules define them, every station with its protocol. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ble/ble-id.h"
#include "config/config.h"
#include "mqtt/mqtt-uri.h"
#include "mqtt/topics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/tphub-fuzz-config-XXXXXX";
static char path[PATH_MAX + 32], proto[PATH_MAX + 32], protos[PATH_MAX + 32];

static void cleanup(void) {
        unlink(path);
        unlink(proto);
        rmdir(protos);
        rmdir(dir);
}

static void setup(void) {
        FILE *f;

        if (!mkdtemp(dir))
                abort();
        atexit(cleanup);
        snprintf(path, sizeof path, "%s/tphub.conf", dir);
        snprintf(protos, sizeof protos, "%s/protos", dir);
        snprintf(proto, sizeof proto, "%s/protos/p.conf", dir);
        if (mkdir(protos, 0755) < 0 || !(f = fopen(proto, "we")))
                abort();
        fputs("title = \"P\";\n"
              "steps = ( { point = \"s\"; label = \"S\"; kind = \"stretch\"; start = \"timer\"; target_hold_s = 20; } );\n",
              f);
        if (fclose(f) != 0)
                abort();
}

static bool address_canonical(const char *a) {
        char norm[BLE_ADDRESS_LEN + 1];
        return a && ble_address_normalize(a, norm) == 0 && strcmp(a, norm) == 0;
}

static void check_config(const Config *c) {
        if (!topic_name_valid(c->hub) || c->n_stations < 1 || !c->spool_dir || !c->state_dir)
                abort();
        if (!mqtt_uri_valid(c->mqtt.client.uri, NULL) || !topic_prefix_valid(c->mqtt.prefix) ||
            !topic_prefix_valid(c->mqtt.discovery_prefix) || (c->mqtt.client.version != 3 && c->mqtt.client.version != 5))
                abort();
        for (size_t i = 0; i < c->ble.n_tags; i++) {
                const ConfigTag *t = &c->ble.tags[i];
                if (!topic_name_valid(t->athlete) || !!t->address + !!t->ibeacon + !!t->eddystone != 1 ||
                    (t->address && !address_canonical(t->address)))
                        abort();
        }
        for (size_t i = 0; i < c->n_stations; i++) {
                const ConfigStation *s = &c->stations[i];
                if (!topic_name_valid(s->name) || topic_station_name_reserved(s->name) || !s->default_protocol ||
                    config_find_station(c, s->name) != s)
                        abort();
                for (size_t k = 0; k < s->n_tools; k++)
                        if (!address_canonical(s->tools[k].address) || !s->tools[k].driver)
                                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ConfigErrors e = {};
        Config *c = NULL;
        FILE *f;
        int r;

        if (!*protos)
                setup();
        if (!(f = fopen(path, "we")) || fwrite(data, 1, size, f) != size || fclose(f) != 0)
                abort();

        r = config_load(path, &c, &e);
        if (r < 0) {
                /* Every failure explains itself, and names a file. */
                if (c || e.n == 0)
                        abort();
                for (size_t i = 0; i < e.n; i++)
                        if (!e.msgs[i] || !strchr(e.msgs[i], ':'))
                                abort();
        } else {
                if (r != 0 || !c || e.n != 0)
                        abort();
                check_config(c);
        }
        config_errors_clear(&e);
        config_free(c);
        return 0;
}
