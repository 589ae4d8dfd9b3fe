/* SPDX-License-Identifier: MIT */
/* The hub built from a real configuration file (no adapter started): which station a tool,
 * a sample, a tag tap or a command serves (hub-assign.c), and what a reload does to stations
 * (hub.c). A sample's station is found by the BLE manager's own address string (pointer),
 * confirmed by its text, and forgotten when a reload may have moved the tool. */

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub/hub-private.h"
#include "tap.h"

#define A "AA:00:00:00:00:01"
#define B "AA:00:00:00:00:02"
#define C "AA:00:00:00:00:03"

static char dir[64];
static sd_event *loop;
static Hub *hub;

static void write_file(const char *name, const char *text) {
        char path[128];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "w");
        if (f) {
                fputs(text, f);
                fclose(f);
        }
}

/* tools_1 and tools_2: the tools clause of each station; adopt: station 2 adopts any tool. */
static Config *load(const char *tools_1, const char *tools_2, bool adopt) {
        char conf[2048], path[128];
        ConfigErrors e = {};
        Config *c = NULL;

        snprintf(conf, sizeof conf,
                 "hub = { name = \"lab\"; };\n"
                 "paths = { protocols = [ \"%s/protocols\" ]; spool = \"%s/spool\"; state = \"%s/state\"; };\n"
                 "ble = { enabled = false; };\n"
                 "mqtt = { enabled = false; };\n"
                 "stations = ( { name = \"s1\"; protocol = \"hold\"; tools = ( %s ); },\n"
                 "             { name = \"s2\"; protocol = \"hold\"; tools = ( %s ); auto_adopt = %s; } );\n",
                 dir, dir, dir, tools_1, tools_2, adopt ? "true" : "false");
        write_file("tphub.conf", conf);
        snprintf(path, sizeof path, "%s/tphub.conf", dir);
        if (config_load(path, &c, &e) < 0) {
                for (size_t i = 0; i < e.n; i++)
                        printf("# %s\n", e.msgs[i]);
                config_errors_clear(&e);
                return NULL;
        }
        return c;
}

#define TOOL(a) "{ address = \"" a "\"; driver = \"progressor\"; }"

static void setup(const char *tools_1, const char *tools_2, bool adopt) {
        Config *c;

        snprintf(dir, sizeof dir, "/tmp/tphub-test-assign-XXXXXX");
        CHECK(mkdtemp(dir));
        {
                char p[128];
                snprintf(p, sizeof p, "%s/protocols", dir);
                CHECK(mkdir(p, 0700) == 0);
        }
        write_file("protocols/hold.conf",
                   "title = \"hold\"; description = \"test\"; source = \"test\";\n"
                   "steps = ( { point = \"p1\"; label = \"Point\"; side = \"left\"; kind = \"press\"; start = \"auto\";\n"
                   "            min_hold_s = 3; target_hold_s = 3; max_hold_s = 20; settle_s = 0.5; rest_s = 0;\n"
                   "            contact_n = 20; release_n = 10; target_min_n = 100; target_max_n = 400;\n"
                   "            safety_max_n = 600; min_release_s = 0.2; } );\n");
        c = load(tools_1, tools_2, adopt);
        CHECK(c);
        CHECK(sd_event_new(&loop) >= 0);
        CHECK(hub_new(&hub, loop, c) >= 0);
}

static int rm(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void teardown(void) {
        hub = hub_free(hub);
        loop = sd_event_unref(loop);
        (void) nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_tool_by_configuration(void) {
        setup(TOOL(A), TOOL(B), false);
        CHECK(hub_station_of_tool(hub, A) == hub_find_station(hub, "s1"));
        CHECK(hub_station_of_tool(hub, B) == hub_find_station(hub, "s2"));
        /* addresses compare without case */
        CHECK(hub_station_of_tool(hub, "aa:00:00:00:00:02") == hub_find_station(hub, "s2"));
        CHECK(hub_station_of_tool(hub, C) == NULL);
        CHECK(hub_find_station(hub, "s3") == NULL);
        teardown();
        /* an unlisted tool goes to the first station that adopts tools */
        setup(TOOL(A), "", true);
        CHECK(hub_station_of_tool(hub, C) == hub_find_station(hub, "s2"));
        CHECK(hub_station_of_tool(hub, A) == hub_find_station(hub, "s1"));
        teardown();
}

/* A reload that moves tool A to s2: A is s2's now. */
static void test_reload_moves_tool(void) {
        Config *c;

        setup(TOOL(A), TOOL(B), false);
        CHECK(hub_station_of_tool(hub, A) == hub_find_station(hub, "s1"));
        c = load("", TOOL(A) ", " TOOL(B), false);
        CHECK(c);
        CHECK(hub_reload(hub, c) >= 0);
        CHECK(hub_station_of_tool(hub, A) == hub_find_station(hub, "s2"));
        teardown();
}

/* A tag tap: the first idle station, in configuration order. */
static void test_tag_first_idle(void) {
        HubStation *s1, *s2;

        setup(TOOL(A), TOOL(B), false);
        s1 = hub_find_station(hub, "s1");
        s2 = hub_find_station(hub, "s2");
        CHECK(hub_station_for_tag(hub) == s1);
        CHECK(station_start(s1->station, hub_station_protocol(hub, s1), "ann", now_monotonic()) >= 0);
        CHECK(hub_station_for_tag(hub) == s2);
        CHECK(station_start(s2->station, hub_station_protocol(hub, s2), "bob", now_monotonic()) >= 0);
        CHECK(hub_station_for_tag(hub) == NULL);
        teardown();
}

static int finished_status = -1;

static void on_finished(Station *s, const Session *session, const Protocol *protocol, void *userdata) {
        finished_status = (int) session->status;
}

/* A reload that removes a station whose session runs: the session ends (aborted, as by a stop command) and the
 * station goes with its watches; the one kept is untouched, its session still running. */
static void test_reload_removes_busy_station(void) {
        HubStation *s1, *s2;
        Config *c;

        setup(TOOL(A), TOOL(B), false);
        s1 = hub_find_station(hub, "s1");
        s2 = hub_find_station(hub, "s2");
        CHECK(station_start(s1->station, hub_station_protocol(hub, s1), "ann", now_monotonic()) >= 0);
        CHECK(station_start(s2->station, hub_station_protocol(hub, s2), "bob", now_monotonic()) >= 0);
        {
                static const StationWatch watch = { .finished = on_finished };
                CHECK(station_add_watch(s2->station, &watch, STATION_WATCH_DEFAULT, NULL) > 0);
        }
        {
                char conf[1024], path[128];
                ConfigErrors e = {};

                snprintf(conf, sizeof conf,
                         "hub = { name = \"lab\"; };\n"
                         "paths = { protocols = [ \"%s/protocols\" ]; spool = \"%s/spool\"; state = \"%s/state\"; };\n"
                         "ble = { enabled = false; };\n"
                         "mqtt = { enabled = false; };\n"
                         "stations = ( { name = \"s1\"; protocol = \"hold\"; tools = ( " TOOL(A) " ); } );\n",
                         dir, dir, dir);
                write_file("tphub.conf", conf);
                snprintf(path, sizeof path, "%s/tphub.conf", dir);
                CHECK(config_load(path, &c, &e) >= 0);
        }
        CHECK(hub_reload(hub, c) >= 0);
        CHECK_EQ(finished_status, SESSION_ABORTED);
        CHECK_EQ(hub->n_stations, 1);
        CHECK(hub_find_station(hub, "s1") == s1);
        CHECK(hub_find_station(hub, "s2") == NULL);
        CHECK(station_busy(s1->station));
        CHECK(hub_station_of_tool(hub, B) == NULL);
        teardown();
}

static const TapCase cases[] = {
        { "a tool's station: the one listing it, else the first that adopts", test_tool_by_configuration },
        { "a reload that moves a tool: its next sample goes to the new station", test_reload_moves_tool },
        { "a tag tap starts at the first idle station", test_tag_first_idle },
        { "a reload removes a station whose session runs; the other keeps its session", test_reload_removes_busy_station },
};

TAP_MAIN(cases)
