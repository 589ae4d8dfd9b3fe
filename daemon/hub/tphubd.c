/* SPDX-License-Identifier: MIT */
/* tphubd: the station daemon. One sd-event loop owns everything. SIGTERM/SIGINT shut down
 * cleanly, SIGHUP reloads the configuration without dropping running sessions. */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "config/config.h"
#include "hub/hub.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/service-loop.h"


typedef struct Daemon {
        const char *config_path;
        sd_event *event;
        Hub *hub;
        bool stopping;
        char *status_sent;      /* the last STATUS= told to the service manager */
} Daemon;

/* The hub's one-line status changes with sessions, tools and the broker; the service
 * manager (systemctl status) is told each new one, checked once a second. */
#define STATUS_CHECK_USEC (1000 * 1000ULL)

static void daemon_done(Daemon *d) {
        free(d->status_sent);
}

static void notify_status(Daemon *d, const char *prefix) {
        const char *st = hub_status(d->hub);

        if (!prefix && d->status_sent && strcmp(d->status_sent, st) == 0)
                return;
        free(d->status_sent);
        d->status_sent = strdup(st);
        (void) sd_notifyf(false, "%sSTATUS=%s", prefix ?: "", st);
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;

        if (!d->stopping)
                notify_status(d, NULL);
        (void) sd_event_source_set_time(s, usec + STATUS_CHECK_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

#ifdef TPHUB_TEST_HOOKS
/* Test builds only (meson -Dtest_hooks): SIGUSR2 wedges the loop for TPHUBD_TEST_STALL_MS
 * (default 3000), as a livelocked handler would, so a test can see the watchdog pings stop. */
static int on_test_stall(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        const char *e = getenv("TPHUBD_TEST_STALL_MS");
        long ms = e ? strtol(e, NULL, 10) : 3000;
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        log_warning("Test hook: stalling the event loop for %ld ms.", ms);
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
                ;
        log_warning("Test hook: the event loop runs again.");
        return 0;
}
#endif

static void print_errors(ConfigErrors *errs) {
        for (size_t i = 0; i < errs->n; i++)
                log_error("%s", errs->msgs[i]);
}

static int load_config(const char *path, Config **ret) {
        ConfigErrors errs = {};
        int r;

        r = config_load(path, ret, &errs);
        print_errors(&errs);
        config_errors_clear(&errs);
        return r;
}

static int check_config(const char *path) {
        _cleanup_(config_freep) Config *c = NULL;
        ConfigErrors errs = {};
        int r;

        r = config_load(path, &c, &errs);
        for (size_t i = 0; i < errs.n; i++)
                fprintf(stderr, "%s\n", errs.msgs[i]);
        if (r < 0) {
                fprintf(stderr, "%s: %zu error(s)\n", path, errs.n ? errs.n : 1);
                config_errors_clear(&errs);
                return 1;
        }
        config_errors_clear(&errs);
        printf("%s: ok: hub %s, %zu station(s), %zu protocol(s):", path, c->hub, c->n_stations, c->n_protocols);
        for (size_t i = 0; i < c->n_protocols; i++)
                printf(" %s", c->protocols[i]->name);
        printf("\n");
        return 0;
}

static void on_stopped(void *userdata) {
        Daemon *d = userdata;

        (void) sd_event_exit(d->event, 0);
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        int r;

        if (d->stopping) /* a second signal: leave now */
                return sd_event_exit(d->event, 0);
        d->stopping = true;
        log_info("Received %s, shutting down.", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down.");
        r = hub_stop(d->hub, on_stopped, d);
        if (r <= 0)
                return sd_event_exit(d->event, 0);
        return 0;
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        Config *c = NULL;
        int r;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading configuration.");
        r = load_config(d->config_path, &c);
        if (r < 0)
                log_error("Reload of %s failed; keeping the running configuration.", d->config_path);
        else {
                r = hub_reload(d->hub, c);
                if (r < 0)
                        log_error_errno(r, "Applying the reloaded configuration failed: %m");
                else
                        log_notice("Configuration reloaded from %s.", d->config_path);
        }
        notify_status(d, "READY=1\n");
        return 0;
}

static void help(void) {
        printf("Usage: tphubd [OPTIONS]\n"
               "\n"
               "Trigger-point therapy station daemon.\n"
               "\n"
               "  -c --config PATH    configuration file (default " TPHUB_DEFAULT_CONFIG ")\n"
               "     --check-config   validate the configuration and every protocol, then exit:\n"
               "                      0 if valid, 1 after printing every error\n"
               "  -v --verbose        log debug messages\n"
               "     --version\n"
               "  -h --help\n");
}

static int run(int argc, char **argv) {
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
        _cleanup_(hub_freep) Hub *hub = NULL;
        _cleanup_(daemon_done) Daemon d = { .config_path = TPHUB_DEFAULT_CONFIG };
        bool check = false;
        Config *c = NULL;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "c:vh", options, NULL)) >= 0)
                switch (opt) {
                case 'c': d.config_path = optarg; break;
                case 'v': log_set_max_level(LOG_DEBUG); break;
                case ARG_CHECK: check = true; break;
                case ARG_VERSION: printf("tphubd %s\n", TPHUB_VERSION); return 0;
                case 'h': help(); return 0;
                default: return 1;
                }
        if (optind < argc) {
                fprintf(stderr, "tphubd: unexpected argument \"%s\"\n", argv[optind]);
                return 1;
        }
        if (check)
                return check_config(d.config_path);

        r = load_config(d.config_path, &c);
        if (r < 0) {
                log_error("Cannot start with the configuration in %s.", d.config_path);
                return 1;
        }

        r = service_loop_new(&event, on_terminate, on_reload, &d);
        if (r < 0) {
                config_free(c);
                return log_error_errno(r, "Cannot set up the event loop: %m"), 1;
        }
        d.event = event;
#ifdef TPHUB_TEST_HOOKS
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGUSR2);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGUSR2, on_test_stall, &d)) < 0) {
                config_free(c);
                return log_error_errno(r < 0 ? r : -errno, "Cannot watch SIGUSR2: %m"), 1;
        }
#endif

        r = hub_new(&hub, event, c);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the hub: %m"), 1;
        d.hub = hub;
        r = hub_start(hub);
        if (r < 0)
                return log_error_errno(r, "Cannot start the hub: %m"), 1;

        log_info("tphubd %s running: %s", TPHUB_VERSION, hub_status(hub));
        notify_status(&d, "READY=1\n");
        r = sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC, STATUS_CHECK_USEC, 100 * 1000,
                                       on_status_timer, &d);
        if (r < 0)
                return log_error_errno(r, "Cannot arm the status timer: %m"), 1;

        r = sd_event_loop(event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), 1;
        return 0;
}

int main(int argc, char **argv) {
        return run(argc, argv);
}
