/* SPDX-License-Identifier: MIT */
/* tphubctl: the station's command-line client. It talks to tphubd only through the MQTT
 * contract of docs/mqtt.md (retained status, state and tools documents, the per-station
 * history, events, cmd and cmd/reply), so it works the same on the station and from any
 * machine that reaches the broker. Exit codes are documented in help() and tphubctl(1). */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config/config.h"
#include "ctl/ctl-conversation.h"
#include "mqtt/mqtt-client.h"
#include "mqtt/mqtt-command.h"
#include "mqtt/topics.h"
#include "shared/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

enum {
        EXIT_OK = 0,
        EXIT_USAGE = 1,      /* bad command line */
        EXIT_CONFIG = 2,     /* the configuration cannot be read */
        EXIT_BROKER = 3,     /* the broker cannot be reached, refused us, or dropped us */
        EXIT_HUB = 4,        /* the hub is offline, unknown on this broker, or did not answer */
        EXIT_STATION = 5,    /* no such station on the hub */
        EXIT_REFUSED = 6,    /* the hub refused the command (its reason is printed) */
};

typedef struct Options {
        const char *config_path;
        const char *uri, *hub, *prefix, *credentials_file;
        const char *ca_file, *cert_file, *key_file;
        unsigned version;
        uint64_t timeout_usec;
        bool json;
} Options;

/* What the retained documents say, collected while syncing. */
typedef struct View {
        const Options *o;
        char *topic_base;          /* "<prefix>/<hub>/" */
        json_object *status;       /* the hub's status document, or NULL */
        json_object *states;       /* station -> state document */
        json_object *tools;        /* address -> tool document */
        json_object *histories;    /* station -> history document */
} View;

static void view_done(View *v) {
        free(v->topic_base);
        json_object_put(v->status);
        json_object_put(v->states);
        json_object_put(v->tools);
        json_object_put(v->histories);
}

static const char *str(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
                json_object_get_string(v) : NULL;
}

static bool has(json_object *o, const char *key, json_object **ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !v)
                return false;
        if (ret)
                *ret = v;
        return true;
}

/* <base><station>/<leaf> -> station (in buf), else NULL */
static const char *station_of(const View *v, const char *topic, const char *leaf, char *buf, size_t size) {
        size_t nb = strlen(v->topic_base), nl = strlen(leaf), nt = strlen(topic);

        if (nt <= nb + nl + 1 || strncmp(topic, v->topic_base, nb) != 0 || strcmp(topic + nt - nl, leaf) != 0 ||
            topic[nt - nl - 1] != '/')
                return NULL;
        if (nt - nb - nl - 1 >= size)
                return NULL;
        memcpy(buf, topic + nb, nt - nb - nl - 1);
        buf[nt - nb - nl - 1] = '\0';
        return strchr(buf, '/') ? NULL : buf;
}

static int collect(const char *topic, json_object *doc, bool retained, void *userdata) {
        View *v = userdata;
        char station[128];
        size_t nb = strlen(v->topic_base);

        if (!doc)
                return 0;
        if (strncmp(topic, v->topic_base, nb) == 0 && strcmp(topic + nb, "status") == 0) {
                json_object_put(v->status);
                v->status = json_object_get(doc);
        } else if (strncmp(topic, v->topic_base, nb) == 0 && strncmp(topic + nb, "tools/", 6) == 0)
                json_object_object_add(v->tools, topic + nb + 6, json_object_get(doc));
        else if (station_of(v, topic, "state", station, sizeof station))
                json_object_object_add(v->states, station, json_object_get(doc));
        else if (station_of(v, topic, "history", station, sizeof station))
                json_object_object_add(v->histories, station, json_object_get(doc));
        return 0;
}

static int fail_conversation(Conversation *c, int r, const Options *o) {
        const char *why = c ? conversation_error(c) : NULL;

        if (r == -EINTR)
                return 130; /* interrupted (Ctrl-C), as a shell reports it */
        fprintf(stderr, "tphubctl: cannot reach the MQTT broker at %s: %s\n", o->uri,
                why ?: strerror(-r));
        return EXIT_BROKER;
}

/* Connects, subscribes to what the command reads, and learns every retained document.
 * Returns 0, or the exit code after saying what went wrong. */
static int open_view(const Options *o, View *v, Conversation **ret, const char *const *extra) {
        _cleanup_(conversation_freep) Conversation *c = NULL;
        const char *leaves[] = { "status", "tools/+", "+/state", "+/history" };
        ConversationOptions co = {
                .uri = o->uri, .version = o->version, .credentials_file = o->credentials_file,
                .ca_file = o->ca_file, .cert_file = o->cert_file, .key_file = o->key_file,
                .prefix = o->prefix, .hub = o->hub,
        };
        int r;

        v->o = o;
        v->states = json_object_new_object();
        v->tools = json_object_new_object();
        v->histories = json_object_new_object();
        if (asprintf(&v->topic_base, "%s/%s/", o->prefix, o->hub) < 0 || !v->states || !v->tools || !v->histories) {
                fprintf(stderr, "tphubctl: out of memory\n");
                return EXIT_USAGE;
        }

        r = conversation_new(&c, &co);
        if (r == -EPERM || r == -EACCES || r == -ENOENT) {
                fprintf(stderr, "tphubctl: cannot use the MQTT credentials file %s: %s%s\n",
                        o->credentials_file ?: "(none)", strerror(-r),
                        r == -EPERM ? " (it must not be accessible by others: chmod o-rwx)" :
                        r == -EACCES ? " (run as root or as a member of its group, or give --credentials)" : "");
                return EXIT_BROKER;
        }
        if (r < 0) {
                fprintf(stderr, "tphubctl: cannot set up the MQTT client for %s: %s\n", o->uri, strerror(-r));
                return EXIT_BROKER;
        }
        for (size_t i = 0; i < ELEMENTSOF(leaves); i++) {
                _cleanup_free_ char *t = NULL;

                if (asprintf(&t, "%s%s", v->topic_base, leaves[i]) < 0 || conversation_subscribe(c, t) < 0)
                        return fail_conversation(c, -ENOMEM, o);
        }
        for (size_t i = 0; extra && extra[i]; i++)
                if ((r = conversation_subscribe(c, extra[i])) < 0)
                        return fail_conversation(c, r, o);
        r = conversation_sync(c, o->timeout_usec, collect, v);
        if (r < 0)
                return fail_conversation(c, r, o);
        *ret = TAKE_PTR(c);
        return 0;
}

/* The hub must be online: returns 0 or prints why not and returns the exit code. */
static int require_online(const View *v) {
        const char *state = v->status ? str(v->status, "state") : NULL;

        if (!v->status) {
                fprintf(stderr, "tphubctl: no hub \"%s\" on %s (prefix \"%s\"): tphubd never connected to this "
                        "broker, or the hub name or prefix differ\n", v->o->hub, v->o->uri, v->o->prefix);
                return EXIT_HUB;
        }
        if (!state || strcmp(state, "online") != 0) {
                fprintf(stderr, "tphubctl: hub \"%s\" is offline: tphubd is not running or lost its broker "
                        "connection (systemctl status tphubd; journalctl -u tphubd)\n", v->o->hub);
                return EXIT_HUB;
        }
        return 0;
}

static bool station_known(const View *v, const char *station) {
        json_object *list;

        if (has(v->status, "stations", &list) && json_object_is_type(list, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(list); i++)
                        if (strcmp(json_object_get_string(json_object_array_get_idx(list, i)) ?: "", station) == 0)
                                return true;
                return false;
        }
        return has(v->states, station, NULL);
}

static void station_names(const View *v, char *buf, size_t size) {
        json_object *list;
        size_t at = 0;

        buf[0] = '\0';
        if (!has(v->status, "stations", &list) || !json_object_is_type(list, json_type_array))
                return;
        for (size_t i = 0; i < json_object_array_length(list) && at < size; i++)
                at += (size_t) snprintf(buf + at, size - at, "%s%s", i ? ", " : "",
                                        json_object_get_string(json_object_array_get_idx(list, i)));
}

static int require_station(const View *v, const char *station) {
        char names[512];

        if (station_known(v, station))
                return 0;
        station_names(v, names, sizeof names);
        fprintf(stderr, "tphubctl: hub \"%s\" has no station \"%s\"%s%s\n", v->o->hub, station,
                *names ? "; its stations: " : "", names);
        return EXIT_STATION;
}

static void print_json(json_object *o) {
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ISO 8601 UTC times sort as text */
static int newest_first(const void *a, const void *b) {
        json_object *const *x = a, *const *y = b;

        return -strcmp(str(*x, "ended_at") ?: "", str(*y, "ended_at") ?: "");
}

static bool number(json_object *o, const char *key, double *ret) {
        json_object *x;

        if (!has(o, key, &x) || !(json_object_is_type(x, json_type_int) || json_object_is_type(x, json_type_double)))
                return false;
        *ret = json_object_get_double(x);
        return true;
}

static void print_state(const char *station, json_object *st) {
        json_object *tc, *warnings;
        double x;

        if (!st) {
                printf("%-12s (no state published yet)\n", station);
                return;
        }
        printf("%-12s %-8s", station, str(st, "state") ?: "?");
        if (str(st, "protocol")) {
                printf(" %s %s", str(st, "athlete") ?: "(anonymous)", str(st, "protocol"));
                if (number(st, "step", &x) && str(st, "point"))
                        printf(", step %.0f %s", x + 1, str(st, "point"));
                if (number(st, "rep", &x))
                        printf(" rep %.0f", x);
                if (number(st, "remaining_ms", &x))
                        printf(", %.1f s left", x / 1000);
                if (number(st, "force_n", &x))
                        printf(", %.1f N", x);
        }
        if (has(st, "tool_connected", &tc))
                printf(", %s", json_object_get_boolean(tc) ? "tool connected" : "no tool");
        if (has(st, "warnings", &warnings) && json_object_is_type(warnings, json_type_array))
                for (size_t i = 0; i < json_object_array_length(warnings); i++)
                        printf(", WARNING %s", json_object_get_string(json_object_array_get_idx(warnings, i)));
        printf("\n");
        if (str(st, "protocol") && str(st, "label"))
                printf("%-12s   %s\n", "", str(st, "label"));
}

static int cmd_status(const Options *o, int argc, char **argv) {
        _cleanup_(view_done) View v = {};
        _cleanup_(conversation_freep) Conversation *c = NULL;
        _cleanup_(json_object_putp) json_object *out = NULL, *stations = NULL;
        json_object *list, *x;
        int r;

        if ((r = open_view(o, &v, &c, NULL)) > 0)
                return r;
        if ((r = require_online(&v)) > 0)
                return r;
        for (int i = 0; i < argc; i++)
                if ((r = require_station(&v, argv[i])) > 0)
                        return r;

        stations = json_object_new_object();
        if (argc > 0)
                for (int i = 0; i < argc; i++) {
                        json_object *st = NULL;

                        (void) has(v.states, argv[i], &st);
                        json_object_object_add(stations, argv[i], json_object_get(st));
                }
        else if (has(v.status, "stations", &list) && json_object_is_type(list, json_type_array))
                for (size_t i = 0; i < json_object_array_length(list); i++) {
                        const char *name = json_object_get_string(json_object_array_get_idx(list, i));
                        json_object *st = NULL;

                        (void) has(v.states, name, &st);
                        json_object_object_add(stations, name, json_object_get(st));
                }
        else {
                json_object_object_foreach(v.states, sname, sdoc)
                        json_object_object_add(stations, sname, json_object_get(sdoc));
        }

        if (o->json) {
                out = json_object_new_object();
                json_object_object_add(out, "hub", json_object_get(v.status));
                json_object_object_add(out, "stations", json_object_get(stations));
                print_json(out);
                return EXIT_OK;
        }
        printf("hub %s: online, tphubd %s, since %s", o->hub, str(v.status, "version") ?: "?",
               str(v.status, "started_at") ?: "?");
        if (has(v.status, "spool", &x))
                printf(", %d unsent session(s)", json_object_get_int(x));
        printf("\n");
        if (str(v.status, "spool_error"))
                printf("WARNING: %s\n", str(v.status, "spool_error"));
        json_object_object_foreach(stations, name, st)
                print_state(name, st);
        return EXIT_OK;
}

static int cmd_tools(const Options *o, int argc, char **argv) {
        _cleanup_(view_done) View v = {};
        _cleanup_(conversation_freep) Conversation *c = NULL;
        int r;

        if ((r = open_view(o, &v, &c, NULL)) > 0)
                return r;
        if ((r = require_online(&v)) > 0)
                return r;
        if (o->json) {
                print_json(v.tools);
                return EXIT_OK;
        }
        if (json_object_object_length(v.tools) == 0) {
                printf("no force tools known to hub %s\n", o->hub);
                return EXIT_OK;
        }
        printf("%-17s  %-10s  %-16s  %-12s  %-9s  %-8s  %s\n", "ADDRESS", "TYPE", "NAME", "LINK", "BATTERY",
               "RSSI", "LAST SEEN");
        json_object_object_foreach(v.tools, address, t) {
                char battery[32] = "-", rssi[32] = "-";
                json_object *x;
                double d;

                if (number(t, "battery", &d))
                        snprintf(battery, sizeof battery, "%.0f %%", d);
                else if (number(t, "battery_mv", &d))
                        snprintf(battery, sizeof battery, "%.0f mV", d);
                if (number(t, "rssi", &d))
                        snprintf(rssi, sizeof rssi, "%.0f dBm", d);
                printf("%-17s  %-10s  %-16s  %-12s  %-9s  %-8s  %s\n", address, str(t, "type") ?: "?",
                       str(t, "name") ?: "-",
                       has(t, "connected", &x) && json_object_get_boolean(x) ? "connected" : "disconnected",
                       battery, rssi, str(t, "last_seen") ?: "never");
        }
        return EXIT_OK;
}

static int cmd_sessions(const Options *o, int argc, char **argv, int count) {
        _cleanup_(view_done) View v = {};
        _cleanup_(conversation_freep) Conversation *c = NULL;
        _cleanup_(json_object_putp) json_object *all = json_object_new_array();
        int r;

        if ((r = open_view(o, &v, &c, NULL)) > 0)
                return r;
        if ((r = require_online(&v)) > 0)
                return r;
        if (argc > 0 && (r = require_station(&v, argv[0])) > 0)
                return r;
        /* newest first over the chosen stations */
        json_object_object_foreach(v.histories, station, h) {
                json_object *list;

                if (argc > 0 && strcmp(station, argv[0]) != 0)
                        continue;
                if (!has(h, "sessions", &list) || !json_object_is_type(list, json_type_array))
                        continue;
                for (size_t i = 0; i < json_object_array_length(list); i++)
                        json_object_array_add(all, json_object_get(json_object_array_get_idx(list, i)));
        }
        json_object_array_sort(all, newest_first);
        while (count > 0 && json_object_array_length(all) > (size_t) count)
                json_object_array_del_idx(all, (size_t) count, json_object_array_length(all) - (size_t) count);
        if (o->json) {
                print_json(all);
                return EXIT_OK;
        }
        if (json_object_array_length(all) == 0) {
                printf("no finished sessions recorded on hub %s%s%s\n", o->hub, argc ? " for " : "", argc ? argv[0] : "");
                return EXIT_OK;
        }
        printf("%-24s  %-10s  %-12s  %-12s  %-11s  %-9s  %s\n", "ENDED", "STATION", "ATHLETE", "PROTOCOL",
               "STATUS", "DURATION", "ID");
        for (size_t i = 0; i < json_object_array_length(all); i++) {
                json_object *s = json_object_array_get_idx(all, i);
                char dur[32] = "-";
                double d;

                if (number(s, "duration_ms", &d))
                        snprintf(dur, sizeof dur, "%.0f s", d / 1000);
                printf("%-24s  %-10s  %-12s  %-12s  %-11s  %-9s  %s\n", str(s, "ended_at") ?: "?",
                       str(s, "station") ?: "?", str(s, "athlete") ?: "(anonymous)", str(s, "protocol") ?: "?",
                       str(s, "status") ?: "?", dur, str(s, "id") ?: "?");
        }
        return EXIT_OK;
}

typedef struct Await {
        const View *v;
        const char *reply_topic, *id;
        json_object *reply;
} Await;

static int await_reply(const char *topic, json_object *doc, bool retained, void *userdata) {
        Await *a = userdata;

        if (!doc || strcmp(topic, a->reply_topic) != 0 || !str(doc, "id") || strcmp(str(doc, "id"), a->id) != 0)
                return 0;
        a->reply = json_object_get(doc);
        return 1;
}

static int cmd_action(const Options *o, const char *verb, int argc, char **argv, const char *athlete,
                      const char *protocol) {
        _cleanup_(view_done) View v = {};
        _cleanup_(conversation_freep) Conversation *c = NULL;
        _cleanup_(json_object_putp) json_object *cmd = NULL;
        _cleanup_free_ char *cmd_topic = NULL, *reply_topic = NULL;
        char id[64];
        json_object *ok;
        Await a = {};
        int r;

        if (argc != 1) {
                fprintf(stderr, "tphubctl %s: give exactly one STATION (see tphubctl %s --help)\n", verb, verb);
                return EXIT_USAGE;
        }
        if (asprintf(&cmd_topic, "%s/%s/%s/cmd", o->prefix, o->hub, argv[0]) < 0 ||
            asprintf(&reply_topic, "%s/%s/%s/cmd/reply", o->prefix, o->hub, argv[0]) < 0)
                return EXIT_USAGE;
        if (strpbrk(argv[0], "/+#")) {
                fprintf(stderr, "tphubctl %s: \"%s\" is not a station name\n", verb, argv[0]);
                return EXIT_USAGE;
        }
        const char *extra[] = { reply_topic, NULL };
        if ((r = open_view(o, &v, &c, extra)) > 0)
                return r;
        if ((r = require_online(&v)) > 0)
                return r;
        if ((r = require_station(&v, argv[0])) > 0)
                return r;

        snprintf(id, sizeof id, "tphubctl-%d-%ld", (int) getpid(), (long) time(NULL));
        cmd = json_object_new_object();
        json_object_object_add(cmd, "cmd", json_object_new_string(verb));
        json_object_object_add(cmd, "id", json_object_new_string(id));
        if (athlete)
                json_object_object_add(cmd, "athlete", json_object_new_string(athlete));
        if (protocol)
                json_object_object_add(cmd, "protocol", json_object_new_string(protocol));
        r = conversation_publish(c, cmd_topic, json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN), 1);
        if (r < 0)
                return fail_conversation(c, r, o);

        a = (Await) { .v = &v, .reply_topic = reply_topic, .id = id };
        r = conversation_run(c, o->timeout_usec, await_reply, &a);
        if (r == -ETIMEDOUT) {
                fprintf(stderr, "tphubctl: hub \"%s\" did not answer the %s command within %.0f s\n", o->hub, verb,
                        (double) o->timeout_usec / 1e6);
                return EXIT_HUB;
        }
        if (r < 0)
                return fail_conversation(c, r, o);
        if (!a.reply)
                return 130; /* interrupted (Ctrl-C) before the answer */
        if (o->json)
                print_json(a.reply);
        if (has(a.reply, "ok", &ok) && json_object_get_boolean(ok)) {
                if (!o->json)
                        printf("%s: %s: ok\n", argv[0], verb);
                json_object_put(a.reply);
                return EXIT_OK;
        }
        fprintf(stderr, "tphubctl: %s on %s refused: %s\n", verb, argv[0], str(a.reply, "error") ?: "no reason given");
        json_object_put(a.reply);
        return EXIT_REFUSED;
}

typedef struct Tail {
        const Options *o;
        const View *v;
        int left;                  /* events still to print, -1 = unbounded */
} Tail;

static int print_event(const char *topic, json_object *doc, bool retained, void *userdata) {
        Tail *t = userdata;
        char station[128];
        double value;

        if (!doc || !station_of(t->v, topic, "event", station, sizeof station))
                return 0;
        if (t->o->json)
                print_json(doc);
        else {
                printf("%s  %-10s  %-13s", str(doc, "at") ?: "?", station, str(doc, "type") ?: "?");
                if (str(doc, "point"))
                        printf("  %s", str(doc, "point"));
                if (number(doc, "rep", &value) && str(doc, "point"))
                        printf(" rep %.0f", value);
                if (number(doc, "value", &value))
                        printf("  value %.1f", value);
                if (str(doc, "outcome"))
                        printf("  %s", str(doc, "outcome"));
                if (str(doc, "status"))
                        printf("  %s", str(doc, "status"));
                printf("\n");
        }
        fflush(stdout);
        if (t->left > 0 && --t->left == 0)
                return 1;
        return 0;
}

static int cmd_events(const Options *o, int argc, char **argv, int count, bool timeout_given) {
        _cleanup_(view_done) View v = {};
        _cleanup_(conversation_freep) Conversation *c = NULL;
        _cleanup_free_ char *filter = NULL;
        Tail t = { .o = o, .left = count > 0 ? count : -1 };
        int r;

        if (asprintf(&filter, "%s/%s/%s/event", o->prefix, o->hub, argc > 0 ? argv[0] : "+") < 0)
                return EXIT_USAGE;
        const char *extra[] = { filter, NULL };
        if ((r = open_view(o, &v, &c, extra)) > 0)
                return r;
        if ((r = require_online(&v)) > 0)
                return r;
        if (argc > 0 && (r = require_station(&v, argv[0])) > 0)
                return r;
        t.v = &v;
        /* on stderr, so that --json output stays one document a line */
        fprintf(stderr, "Following the events of %s%s%s (Ctrl-C ends).\n", argc > 0 ? "station " : "hub ",
                argc > 0 ? argv[0] : o->hub, "");
        r = conversation_run(c, timeout_given ? o->timeout_usec : 0, print_event, &t);
        if (r == -ETIMEDOUT)
                return EXIT_OK; /* --timeout bounds a tail: reaching it is the normal end */
        if (r < 0)
                return fail_conversation(c, r, o);
        return EXIT_OK;
}

static void help(void) {
        printf("Usage: tphubctl [OPTIONS] COMMAND [ARGS]\n"
               "\n"
               "Ask a tphub station (tphubd) what it is doing, and tell it what to do, over MQTT.\n"
               "\n"
               "Commands:\n"
               "  status [STATION...]          hub and station status\n"
               "  tools                        force tools: link, battery, RSSI, last seen\n"
               "  sessions [STATION] [-n N]    the last finished sessions (default 10)\n"
               "  events [STATION] [-n N]      follow events live (Ctrl-C ends)\n"
               "  start STATION [--athlete NAME] [--protocol NAME]\n"
               "  stop STATION                 end the running session (recorded as aborted)\n"
               "  skip STATION                 skip the current point\n"
               "  tare STATION                 zero the station's force\n"
               "  COMMAND --help               help on one command\n"
               "\n"
               "Options:\n"
               "  -c --config PATH     read broker, hub and prefix from it (default " TPHUB_DEFAULT_CONFIG ")\n"
               "  -b --broker URI      broker (tcp://host:port, ssl://host:port); overrides the config\n"
               "  -H --hub NAME        hub name; overrides the config\n"
               "  -P --prefix PREFIX   topic prefix; overrides the config (default tphub)\n"
               "     --credentials FILE  \"user\\npassword\\n\" file, not readable by others\n"
               "  -t --timeout SECONDS  how long to wait for the broker and the hub (default 5)\n"
               "  -j --json            machine-readable output (JSON; events: one object a line)\n"
               "     --version\n"
               "  -h --help\n"
               "\n"
               "Exit status: 0 done; 1 bad command line; 2 configuration unreadable; 3 broker\n"
               "unreachable or refused the login; 4 hub offline, unknown on the broker, or no answer in\n"
               "time; 5 no such station; 6 the hub refused the command (reason printed); 130\n"
               "interrupted before the answer.\n");
}

static const char *command_help(const char *cmd) {
        static const struct { const char *cmd, *text; } h[] = {
                { "status", "Usage: tphubctl [OPTIONS] status [STATION...]\n\n"
                  "The hub (online, version, since when, unsent sessions) and each station's live state:\n"
                  "cue, athlete, protocol, point, rep, time left, force, tool link, warnings.\n"
                  "--json: {\"hub\": <status document>, \"stations\": {NAME: <state document>}}.\n" },
                { "tools", "Usage: tphubctl [OPTIONS] tools\n\n"
                  "Every force tool the hub knows: address, type, advertised name, link state, battery\n"
                  "(% or mV), RSSI where published, and when it last sent a sample.\n"
                  "--json: {ADDRESS: <tools document>}.\n" },
                { "sessions", "Usage: tphubctl [OPTIONS] sessions [STATION] [-n N]\n\n"
                  "The last N (default 10) finished sessions, newest first: when, station, athlete,\n"
                  "protocol, status, duration, id. --json: an array of session summaries.\n" },
                { "events", "Usage: tphubctl [OPTIONS] events [STATION] [-n N]\n\n"
                  "Prints events as they happen (check-in, point, hold, release, rest, end) until\n"
                  "Ctrl-C, N events (-n), or --timeout if given. --json: one event document a line.\n" },
                { "start", "Usage: tphubctl [OPTIONS] start STATION [--athlete NAME] [--protocol NAME]\n\n"
                  "Starts a session on STATION (default protocol: the station's). Exit 6 with the hub's\n"
                  "reason when refused (a session is running, unknown protocol).\n" },
                { "stop", "Usage: tphubctl [OPTIONS] stop STATION\n\nEnds the running session (aborted).\n" },
                { "skip", "Usage: tphubctl [OPTIONS] skip STATION\n\nRecords the current rep as skipped and "
                  "moves on.\n" },
                { "tare", "Usage: tphubctl [OPTIONS] tare STATION\n\nZeroes the station's force (refused "
                  "mid-press).\n" },
        };
        for (size_t i = 0; i < ELEMENTSOF(h); i++)
                if (strcmp(h[i].cmd, cmd) == 0)
                        return h[i].text;
        return NULL;
}

static int load_defaults(Options *o, bool config_given, Config **keep) {
        _cleanup_(config_freep) Config *c = NULL;
        ConfigErrors errs = {};
        int r;

        /* Broker and hub given: the configuration is not needed (e.g. from another machine). */
        if (o->uri && o->hub && !config_given) {
                o->prefix = o->prefix ?: TOPIC_DEFAULT_PREFIX;
                o->version = o->version ?: MQTT_CLIENT_DEFAULT_VERSION;
                return 0;
        }
        r = config_load(o->config_path, &c, &errs);
        if (r < 0) {
                for (size_t i = 0; i < errs.n; i++)
                        fprintf(stderr, "%s\n", errs.msgs[i]);
                fprintf(stderr, "tphubctl: cannot read the configuration %s%s%s; give --broker and --hub to "
                        "do without it\n", o->config_path, errs.n ? "" : ": ", errs.n ? "" : strerror(-r));
                config_errors_clear(&errs);
                return EXIT_CONFIG;
        }
        config_errors_clear(&errs);
        if (!c->mqtt.enabled && !o->uri) {
                fprintf(stderr, "tphubctl: MQTT is disabled in %s (mqtt.enabled = false): tphubctl has nothing "
                        "to talk to\n", o->config_path);
                return EXIT_CONFIG;
        }
        /* the options point into the configuration, which the caller keeps */
#define TAKE(field, value) if (!o->field && (value)) o->field = (value)
        TAKE(uri, c->mqtt.client.uri);
        TAKE(hub, c->hub);
        TAKE(prefix, c->mqtt.prefix);
        TAKE(credentials_file, c->mqtt.client.credentials_file);
        TAKE(ca_file, c->mqtt.client.ca_file);
        TAKE(cert_file, c->mqtt.client.cert_file);
        TAKE(key_file, c->mqtt.client.key_file);
#undef TAKE
        o->prefix = o->prefix ?: TOPIC_DEFAULT_PREFIX;
        o->version = o->version ?: c->mqtt.client.version;
        *keep = TAKE_PTR(c);
        return 0;
}

int main(int argc, char **argv) {
        enum { ARG_VERSION = 0x100, ARG_CREDENTIALS, ARG_ATHLETE, ARG_PROTOCOL };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "broker", required_argument, NULL, 'b' },
                { "hub", required_argument, NULL, 'H' },
                { "prefix", required_argument, NULL, 'P' },
                { "credentials", required_argument, NULL, ARG_CREDENTIALS },
                { "timeout", required_argument, NULL, 't' },
                { "json", no_argument, NULL, 'j' },
                { "athlete", required_argument, NULL, ARG_ATHLETE },
                { "protocol", required_argument, NULL, ARG_PROTOCOL },
                { "count", required_argument, NULL, 'n' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        Options o = { .config_path = TPHUB_DEFAULT_CONFIG, .timeout_usec = 5 * 1000 * 1000ULL };
        _cleanup_(config_freep) Config *config = NULL;
        const char *athlete = NULL, *protocol = NULL, *cmd;
        bool config_given = false, want_help = false, timeout_given = false;
        int opt, count = 0, r;
        char *end;

        /* options may come before or after the command (GNU getopt permutes) */
        while ((opt = getopt_long(argc, argv, "c:b:H:P:t:jn:h", options, NULL)) >= 0)
                switch (opt) {
                case 'c': o.config_path = optarg; config_given = true; break;
                case 'b': o.uri = optarg; break;
                case 'H': o.hub = optarg; break;
                case 'P': o.prefix = optarg; break;
                case ARG_CREDENTIALS: o.credentials_file = optarg; break;
                case 't': {
                        double s = strtod(optarg, &end);
                        if (*end || !(s > 0 && s <= 3600)) {
                                fprintf(stderr, "tphubctl: --timeout wants seconds, 0 < s <= 3600, not \"%s\"\n", optarg);
                                return EXIT_USAGE;
                        }
                        o.timeout_usec = (uint64_t) (s * 1e6);
                        timeout_given = true;
                        break;
                }
                case 'j': o.json = true; break;
                case ARG_ATHLETE: athlete = optarg; break;
                case ARG_PROTOCOL: protocol = optarg; break;
                case 'n': {
                        long n = strtol(optarg, &end, 10);
                        if (*end || n < 1 || n > 100000) {
                                fprintf(stderr, "tphubctl: -n wants a count from 1, not \"%s\"\n", optarg);
                                return EXIT_USAGE;
                        }
                        count = (int) n;
                        break;
                }
                case ARG_VERSION: printf("tphubctl %s\n", TPHUB_VERSION); return EXIT_OK;
                case 'h': want_help = true; break;
                default: return EXIT_USAGE;
                }
        if (optind >= argc) {
                if (want_help) {
                        help();
                        return EXIT_OK;
                }
                fprintf(stderr, "tphubctl: no command given (tphubctl --help lists them)\n");
                return EXIT_USAGE;
        }
        cmd = argv[optind++];
        if (!command_help(cmd)) {
                fprintf(stderr, "tphubctl: unknown command \"%s\" (tphubctl --help lists them)\n", cmd);
                return EXIT_USAGE;
        }
        if (want_help) {
                fputs(command_help(cmd), stdout);
                return EXIT_OK;
        }
        argc -= optind;
        argv += optind;
        if ((athlete || protocol) && strcmp(cmd, "start") != 0) {
                fprintf(stderr, "tphubctl %s: --athlete and --protocol belong to start\n", cmd);
                return EXIT_USAGE;
        }
        if (count && strcmp(cmd, "sessions") != 0 && strcmp(cmd, "events") != 0) {
                fprintf(stderr, "tphubctl %s: -n belongs to sessions and events\n", cmd);
                return EXIT_USAGE;
        }
        if ((strcmp(cmd, "tools") == 0 && argc > 0) ||
            ((strcmp(cmd, "sessions") == 0 || strcmp(cmd, "events") == 0) && argc > 1)) {
                fprintf(stderr, "tphubctl %s: too many arguments (see tphubctl %s --help)\n", cmd, cmd);
                return EXIT_USAGE;
        }

        r = load_defaults(&o, config_given, &config);
        if (r > 0)
                return r;
        if (athlete && !mqtt_command_name_valid(athlete)) {
                fprintf(stderr, "tphubctl start: --athlete must be 1-64 characters of [A-Za-z0-9_.-], not \"%s\"\n", athlete);
                return EXIT_USAGE;
        }
        if (protocol && !mqtt_command_name_valid(protocol)) {
                fprintf(stderr, "tphubctl start: --protocol must be 1-64 characters of [A-Za-z0-9_.-], not \"%s\"\n", protocol);
                return EXIT_USAGE;
        }

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return EXIT_USAGE;

        if (strcmp(cmd, "status") == 0)
                return cmd_status(&o, argc, argv);
        if (strcmp(cmd, "tools") == 0)
                return cmd_tools(&o, argc, argv);
        if (strcmp(cmd, "sessions") == 0)
                return cmd_sessions(&o, argc, argv, count ?: 10);
        if (strcmp(cmd, "events") == 0)
                return cmd_events(&o, argc, argv, count, timeout_given);
        return cmd_action(&o, cmd, argc, argv, athlete, protocol);
}
