/* SPDX-License-Identifier: MIT */
/* tphub-recorder: stores every finished session of every hub on a broker, exactly once.
 * SIGTERM/SIGINT commit what is pending and disconnect cleanly; SIGHUP reloads the settings
 * that can change while running. */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "recorder/db.h"
#include "recorder/history-store.h"
#include "recorder/recorder-config.h"
#include "recorder/recorder.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/service-loop.h"

typedef struct Daemon {
        const char *config_path;
        sd_event *event;
        Recorder *recorder;
        bool stopping;
} Daemon;

static int load_config(const char *path, RecorderConfig **ret, bool to_stderr) {
        ConfigErrors errs = {};
        int r;

        r = recorder_config_load(path, ret, &errs);
        for (size_t i = 0; i < errs.n; i++) {
                if (to_stderr)
                        fprintf(stderr, "%s\n", errs.msgs[i]);
                else
                        log_error("%s", errs.msgs[i]);
        }
        config_errors_clear(&errs);
        return r;
}

static int open_store(const RecorderConfig *c, HistoryStore **ret) {
        _cleanup_free_ char *error = NULL;
        Db *db = NULL;
        int r;

        if (c->postgresql)
                r = db_open_postgresql(&db, c->postgresql);
        else
                r = db_open_sqlite(&db, c->sqlite_path);
        if (r < 0) {
                log_error("Cannot open the %s store %s: %s", c->postgresql ? "PostgreSQL" : "SQLite",
                          c->postgresql ? "(connection string in the configuration)" : c->sqlite_path,
                          db ? db_error(db) : strerror(-r));
                db_free(db);
                return r;
        }
        r = history_store_open(ret, db, &error);
        if (r < 0)
                return log_error_errno(r, "Cannot use the %s store: %s", c->postgresql ? "PostgreSQL" : "SQLite",
                                       error ?: strerror(-r));
        log_info("History store: %s%s%s, schema version %d.", c->postgresql ? "PostgreSQL" : "SQLite",
                 c->postgresql ? "" : " ", c->postgresql ? "" : c->sqlite_path, history_store_schema_version(*ret));
        return 0;
}

static void on_stopped(void *userdata) {
        Daemon *d = userdata;

        (void) sd_event_exit(d->event, 0);
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;

        if (d->stopping)
                return sd_event_exit(d->event, 0);
        d->stopping = true;
        log_info("Received %s, shutting down.", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down.");
        if (recorder_stop(d->recorder, on_stopped, d) <= 0)
                return sd_event_exit(d->event, 0);
        return 0;
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        RecorderConfig *c = NULL;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading configuration.");
        if (load_config(d->config_path, &c, false) < 0)
                log_error("Reload of %s failed; keeping the running configuration.", d->config_path);
        else {
                (void) recorder_reload(d->recorder, c);
                log_notice("Configuration reloaded from %s.", d->config_path);
        }
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", recorder_status(d->recorder));
        return 0;
}

static void help(void) {
        printf("Usage: tphub-recorder [OPTIONS]\n"
               "\n"
               "Stores every finished tphub session from MQTT in SQLite or PostgreSQL, exactly once.\n"
               "\n"
               "  -c --config PATH    configuration file (default " TPHUB_RECORDER_DEFAULT_CONFIG ")\n"
               "     --check-config   validate the configuration, then exit: 0 if valid, 1 after\n"
               "                      printing every error\n"
               "  -v --verbose        log debug messages\n"
               "     --version\n"
               "  -h --help\n");
}

int main(int argc, char **argv) {
        enum { ARG_CHECK = 0x100, ARG_VERSION };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, ARG_CHECK },
                { "verbose", no_argument, NULL, 'v' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(recorder_freep) Recorder *recorder = NULL;
        Daemon d = { .config_path = TPHUB_RECORDER_DEFAULT_CONFIG };
        RecorderConfig *c = NULL;
        HistoryStore *store = NULL;
        bool check = false;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "c:vh", options, NULL)) >= 0)
                switch (opt) {
                case 'c': d.config_path = optarg; break;
                case 'v': log_set_max_level(LOG_DEBUG); break;
                case ARG_CHECK: check = true; break;
                case ARG_VERSION: printf("tphub-recorder %s\n", TPHUB_VERSION); return 0;
                case 'h': help(); return 0;
                default: return 1;
                }
        if (optind < argc) {
                fprintf(stderr, "tphub-recorder: unexpected argument \"%s\"\n", argv[optind]);
                return 1;
        }
        if (check) {
                r = load_config(d.config_path, &c, true);
                if (r < 0) {
                        fprintf(stderr, "%s: invalid\n", d.config_path);
                        return 1;
                }
                printf("%s: ok: broker %s, store %s\n", d.config_path, c->uri, c->postgresql ? "postgresql" : c->sqlite_path);
                recorder_config_free(c);
                return 0;
        }

        if (load_config(d.config_path, &c, false) < 0) {
                log_error("Cannot start with the configuration in %s.", d.config_path);
                return 1;
        }
        if (open_store(c, &store) < 0) {
                recorder_config_free(c);
                return 1;
        }

        r = service_loop_new(&event, on_terminate, on_reload, &d);
        if (r < 0) {
                history_store_free(store);
                recorder_config_free(c);
                return log_error_errno(r, "Cannot set up the event loop: %m"), 1;
        }
        d.event = event;

        r = recorder_new(&recorder, event, c, store);
        if (r < 0)
                return 1;
        d.recorder = recorder;
        if (recorder_start(recorder) < 0)
                return 1;
        log_info("tphub-recorder %s running.", TPHUB_VERSION);
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", recorder_status(recorder));

        r = sd_event_loop(event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), 1;
        log_info("Stopped: %s", recorder_status(recorder));
        return 0;
}
