/* SPDX-License-Identifier: MIT */
/* tphub-replay: runs the real engine over a recorded trace and prints the session JSON.
 * How coaches check a protocol, and how tests drive the engine end to end. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "config/protocol-load.h"
#include "shared/checkout.h"
#include "engine/session-json.h"
#include "replay/replay.h"
#include "shared/macro.h"
#include "shared/time-util.h"

#ifndef TPHUB_SYSCONF_PROTOCOLS_DIR
#define TPHUB_SYSCONF_PROTOCOLS_DIR "/etc/tphub/protocols"
#endif
#ifndef TPHUB_DATA_PROTOCOLS_DIR
#define TPHUB_DATA_PROTOCOLS_DIR "/usr/share/tphub/protocols"
#endif

static void help(void) {
        printf("Usage: tphub-replay --protocol NAME|FILE --trace FILE.csv [OPTIONS]\n"
               "\n"
               "Runs the tphub engine over a recorded force trace and prints the session JSON.\n"
               "\n"
               "  -p --protocol NAME|FILE  protocol name (looked up like tphubd does) or a .conf file\n"
               "  -t --trace FILE          CSV with header t_ms,force_n[,switch]\n"
               "  -c --config FILE         take protocol dirs and engine/switch settings from it\n"
               "  -s --station NAME        use this station's engine settings (default: the first)\n"
               "     --checkin start|athlete  start at the first row (default), or wait for the\n"
               "                          athlete's tap or press like a station does\n"
               "  -a --athlete ID          athlete id for --checkin start\n"
               "     --id ID               session id (default: replay-<trace name>)\n"
               "     --start-at SECONDS    wall-clock time of t=0 as Unix seconds (default: now)\n"
               "     --events              print the engine's events to stderr as they happen\n"
               "     --compact             one line of JSON per session\n"
               "  -h --help\n"
               "\n"
               "Exit status: 0 on success, 1 on bad input (the message names file and line).\n");
}

static void print_event(const EngineEvent *ev, void *userdata) {
        const Protocol *p = userdata;
        const char *label = ev->step >= 0 && (size_t) ev->step < p->n_steps ? p->steps[ev->step].label : "-";

        fprintf(stderr, "%10.3f  %-14s step %-2d rep %-2u %8.1f  %s\n",
                (double) (ev->at - REPLAY_T0) / 1e9, engine_event_type_to_string(ev->type),
                ev->step, ev->rep, ev->value, label);
}

static int load_protocol_by_name(const char *name, Protocol **ret) {
        /* Run from a checkout's build directory, the checkout's own protocols come first. */
        const char *dirs[] = { checkout_protocols_dir(), TPHUB_SYSCONF_PROTOCOLS_DIR, TPHUB_DATA_PROTOCOLS_DIR };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *path = NULL;
                ConfigErrors errs = {};
                int r;

                if (!dirs[i])
                        continue;
                if (asprintf(&path, "%s/%s.conf", dirs[i], name) < 0)
                        return -ENOMEM;
                if (access(path, F_OK) < 0)
                        continue;
                r = protocol_load(path, ret, &errs);
                for (size_t k = 0; k < errs.n; k++)
                        fprintf(stderr, "%s\n", errs.msgs[k]);
                config_errors_clear(&errs);
                return r;
        }
        fprintf(stderr, "tphub-replay: no protocol \"%s\" in %s%s%s or %s (give --config or a file)\n",
                name, dirs[0] ?: "", dirs[0] ? ", " : "", dirs[1], dirs[2]);
        return -ENOENT;
}

int main(int argc, char **argv) {
        enum { ARG_CHECKIN = 0x100, ARG_ID, ARG_START_AT, ARG_EVENTS, ARG_COMPACT };
        static const struct option options[] = {
                { "protocol", required_argument, NULL, 'p' },
                { "trace", required_argument, NULL, 't' },
                { "config", required_argument, NULL, 'c' },
                { "station", required_argument, NULL, 's' },
                { "athlete", required_argument, NULL, 'a' },
                { "checkin", required_argument, NULL, ARG_CHECKIN },
                { "id", required_argument, NULL, ARG_ID },
                { "start-at", required_argument, NULL, ARG_START_AT },
                { "events", no_argument, NULL, ARG_EVENTS },
                { "compact", no_argument, NULL, ARG_COMPACT },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *protocol_arg = NULL, *trace_path = NULL, *config_path = NULL, *station = NULL;
        const char *athlete = NULL, *id = NULL;
        bool events = false, compact = false;
        int64_t start_at = (int64_t) now_realtime();
        ReplayCheckin checkin = REPLAY_CHECKIN_START;
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(protocol_freep) Protocol *own_protocol = NULL;
        _cleanup_(trace_freep) Trace *trace = NULL;
        _cleanup_free_ char *default_id = NULL;
        const Protocol *protocol;
        char err[512];
        int c, r;

        while ((c = getopt_long(argc, argv, "p:t:c:s:a:h", options, NULL)) >= 0)
                switch (c) {
                case 'p': protocol_arg = optarg; break;
                case 't': trace_path = optarg; break;
                case 'c': config_path = optarg; break;
                case 's': station = optarg; break;
                case 'a': athlete = optarg; break;
                case ARG_ID: id = optarg; break;
                case ARG_EVENTS: events = true; break;
                case ARG_COMPACT: compact = true; break;
                case ARG_CHECKIN:
                        if (strcmp(optarg, "start") == 0)
                                checkin = REPLAY_CHECKIN_START;
                        else if (strcmp(optarg, "athlete") == 0)
                                checkin = REPLAY_CHECKIN_ATHLETE;
                        else {
                                fprintf(stderr, "tphub-replay: --checkin takes start or athlete, not \"%s\"\n", optarg);
                                return 1;
                        }
                        break;
                case ARG_START_AT: {
                        char *end;
                        errno = 0;
                        double s = strtod(optarg, &end);
                        if (errno || end == optarg || *end || s < 0 || s > 4e9) {
                                fprintf(stderr, "tphub-replay: --start-at takes Unix seconds, not \"%s\"\n", optarg);
                                return 1;
                        }
                        start_at = (int64_t) (s * 1e9);
                        break;
                }
                case 'h': help(); return 0;
                default: return 1;
                }
        if (!protocol_arg || !trace_path || optind < argc) {
                fprintf(stderr, "tphub-replay: --protocol and --trace are required (see --help)\n");
                return 1;
        }

        EngineParams params = ENGINE_PARAMS_DEFAULT;
        SwitchGestureParams gesture = SWITCH_GESTURE_PARAMS_DEFAULT;
        if (config_path) {
                ConfigErrors errs = {};
                r = config_load(config_path, &config, &errs);
                for (size_t i = 0; i < errs.n; i++)
                        fprintf(stderr, "%s\n", errs.msgs[i]);
                config_errors_clear(&errs);
                if (r < 0)
                        return 1;
                gesture = config->gesture;
                const ConfigStation *st = station ? config_find_station(config, station)
                                                  : (config->n_stations > 0 ? &config->stations[0] : NULL);
                if (station && !st) {
                        fprintf(stderr, "tphub-replay: %s has no station \"%s\"\n", config_path, station);
                        return 1;
                }
                if (st)
                        params = st->engine;
        }

        if (strchr(protocol_arg, '/') || strstr(protocol_arg, ".conf")) {
                ConfigErrors errs = {};
                r = protocol_load(protocol_arg, &own_protocol, &errs);
                for (size_t i = 0; i < errs.n; i++)
                        fprintf(stderr, "%s\n", errs.msgs[i]);
                config_errors_clear(&errs);
                if (r < 0)
                        return 1;
                protocol = own_protocol;
        } else if (config) {
                protocol = config_find_protocol(config, protocol_arg);
                if (!protocol) {
                        fprintf(stderr, "tphub-replay: no protocol \"%s\" in the dirs of %s\n", protocol_arg, config_path);
                        return 1;
                }
        } else {
                if (load_protocol_by_name(protocol_arg, &own_protocol) < 0)
                        return 1;
                protocol = own_protocol;
        }

        r = trace_load(trace_path, &trace, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
        }

        if (!id) {
                const char *base = strrchr(trace_path, '/');
                base = base ? base + 1 : trace_path;
                if (asprintf(&default_id, "replay-%.*s", (int) strcspn(base, "."), base) < 0)
                        return 1;
                id = default_id;
        }

        ReplayOptions o = {
                .protocol = protocol,
                .params = params,
                .gesture = gesture,
                .checkin = checkin,
                .athlete = athlete,
                .session_id = id,
                .wall_offset_ns = start_at,
                .on_event = events ? print_event : NULL,
                .userdata = (void *) protocol,
        };
        ReplayResult res;
        r = replay_run(trace, &o, &res);
        if (r < 0) {
                if (res.failed_row != SIZE_MAX)
                        fprintf(stderr, "%s: row %zu (t_ms %g): the engine rejected it: %s\n", trace_path,
                                res.failed_row + 1, trace->rows[res.failed_row].t_ms, strerror(-r));
                else
                        fprintf(stderr, "tphub-replay: replay failed: %s\n", strerror(-r));
                return 1;
        }
        if (res.n_sessions == 0)
                fprintf(stderr, "tphub-replay: the trace never checked in: no session\n");

        for (size_t i = 0; i < res.n_sessions; i++) {
                _cleanup_free_ char *json = NULL;
                r = session_to_json_string(res.sessions[i], protocol, !compact, &json);
                if (r < 0) {
                        fprintf(stderr, "tphub-replay: %s\n", strerror(-r));
                        replay_result_done(&res);
                        return 1;
                }
                printf("%s\n", json);
        }
        replay_result_done(&res);
        return 0;
}
