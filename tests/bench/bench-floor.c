/* SPDX-License-Identifier: MIT */
/* The floor of benchmark item 4: the cheapest sd-bus program that receives the same tool
 * notifications tphubd does. It subscribes to each data characteristic (StartNotify), sends
 * the tool's start command, and then does nothing with the PropertiesChanged signals but
 * count them: whatever tphubd spends beyond this is its own work.
 *
 *   bench-floor [--stamp FILE] DATA_PATH[,CONTROL_PATH,START_HEX] ...
 *
 * Uses the system bus (DBUS_SYSTEM_BUS_ADDRESS: the benchmark's private bus). Prints
 * "ready" once subscribed and "notifications N" when SIGTERM or SIGINT ends it. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

static unsigned long long n_notifications;
static FILE *stamps;

/* --stamp: when each Progressor frame arrived here and which trace row it carries (the
 * device's microsecond field: the trace time of its first sample), so the benchmark can tell
 * how much of a cue's latency is the trip through dbus-daemon. Not part of the floor. */
static void stamp(sd_bus_message *m) {
        struct timespec ts;
        const void *v;
        size_t n;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (sd_bus_message_skip(m, "s") < 0 || sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
                return;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                const char *key;

                if (sd_bus_message_read(m, "s", &key) < 0)
                        return;
                if (strcmp(key, "Value") != 0) {
                        if (sd_bus_message_skip(m, "v") < 0)
                                return;
                } else {
                        const uint8_t *b;
                        if (sd_bus_message_enter_container(m, 'v', "ay") < 0 ||
                            sd_bus_message_read_array(m, 'y', &v, &n) < 0)
                                return;
                        b = v;
                        if (n >= 10 && b[0] == 0x01)
                                fprintf(stamps, "%s %u %lld\n", sd_bus_message_get_path(m),
                                        (unsigned) (b[6] | b[7] << 8 | b[8] << 16 | (uint32_t) b[9] << 24),
                                        (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec);
                        return;
                }
                if (sd_bus_message_exit_container(m) < 0)
                        return;
        }
}

static int on_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        n_notifications++;
        if (stamps)
                stamp(m);
        return 0;
}

static int hex_bytes(const char *hex, unsigned char *buf, size_t max, size_t *ret_n) {
        size_t n = strlen(hex) / 2;

        if (strlen(hex) % 2 || n > max)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                unsigned v;
                if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                        return -EINVAL;
                buf[i] = (unsigned char) v;
        }
        *ret_n = n;
        return 0;
}

static int subscribe(sd_bus *bus, char *spec) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        char *data = strtok(spec, ","), *control = strtok(NULL, ","), *start = strtok(NULL, ",");
        char match[512];
        int r;

        if (!data)
                return -EINVAL;
        snprintf(match, sizeof(match),
                 "type='signal',sender='org.bluez',path='%s',"
                 "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'", data);
        r = sd_bus_add_match(bus, NULL, match, on_changed, NULL);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, "org.bluez", data, "org.bluez.GattCharacteristic1", "StartNotify",
                               &err, NULL, "");
        if (r < 0) {
                fprintf(stderr, "StartNotify %s: %s\n", data, err.message ?: strerror(-r));
                sd_bus_error_free(&err);
                return r;
        }
        if (!control || !start)
                return 0;

        unsigned char cmd[64];
        size_t n;
        r = hex_bytes(start, cmd, sizeof(cmd), &n);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, "org.bluez", control, "org.bluez.GattCharacteristic1",
                                           "WriteValue");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', cmd, n);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &err, NULL);
        if (r < 0)
                fprintf(stderr, "WriteValue %s: %s\n", control, err.message ?: strerror(-r));
        sd_bus_message_unref(m);
        sd_bus_error_free(&err);
        return r;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int main(int argc, char **argv) {
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        sigset_t mask;
        int r;

        int first = 1;

        if (argc > 2 && strcmp(argv[1], "--stamp") == 0) {
                stamps = fopen(argv[2], "we");
                if (!stamps) {
                        perror(argv[2]);
                        return 1;
                }
                first = 3;
        }
        if (argc <= first) {
                fprintf(stderr, "usage: %s [--stamp FILE] DATA_PATH[,CONTROL_PATH,START_HEX] ...\n", argv[0]);
                return 2;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL);
        if (r >= 0)
                r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        for (int i = first; r >= 0 && i < argc; i++)
                r = subscribe(bus, argv[i]);
        if (r < 0) {
                fprintf(stderr, "bench-floor: %s\n", strerror(-r));
                return 1;
        }
        printf("ready\n");
        fflush(stdout);

        r = sd_event_loop(event);
        printf("notifications %llu\n", n_notifications);
        if (stamps)
                fclose(stamps);
        sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        return r < 0 ? 1 : 0;
}
