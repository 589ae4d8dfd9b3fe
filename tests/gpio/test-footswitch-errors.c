/* SPDX-License-Identifier: MIT */
/* A foot-switch line that stays readable but yields only errors (a chip gone): the
 * foot-switch must stop watching it after a bounded number of reads, report it once, and
 * never spin the loop. The backend is a test double: no real chip can be unplugged here. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gpio/footswitch.h"
#include "shared/macro.h"

typedef struct BrokenLine {
        GpioLine line;
        int fd;
        unsigned reads;
} BrokenLine;

static BrokenLine broken;

static int request_input(GpioBackend *b, const GpioLineSpec *spec, const char *consumer, GpioLine **ret) {
        broken.line.backend = b;
        broken.fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK); /* readable forever: never read */
        *ret = &broken.line;
        return broken.fd < 0 ? -errno : 0;
}
static int line_event_fd(GpioLine *l) { return broken.fd; }
static int line_read_events(GpioLine *l, GpioEdge *buf, size_t n) { broken.reads++; return -EIO; }
static int line_get_value(GpioLine *l) { return 0; }
static void line_free(GpioLine *l) { close(broken.fd); }
static void backend_free(GpioBackend *b) {}

static const GpioBackendOps ops = {
        .name = "broken",
        .request_input = request_input,
        .line_event_fd = line_event_fd,
        .line_read_events = line_read_events,
        .line_get_value = line_get_value,
        .line_free = line_free,
        .free = backend_free,
};

static unsigned errors;
static int last_error;

static void on_error(int error, void *userdata) {
        errors++;
        last_error = error;
}

static void on_gesture(SwitchGesture g, nsec_t at, void *userdata) {
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int main(void) {
        GpioBackend backend = { .ops = &ops };
        GpioLineSpec spec = { .chip = "x", .name = "SW", .active_low = true };
        SwitchGestureParams params = SWITCH_GESTURE_PARAMS_DEFAULT;
        sd_event *e = NULL;
        Footswitch *f = NULL;
        int fail = 0;

        if (sd_event_new(&e) < 0 || footswitch_new(&f, e, &backend, &spec, 20, &params, on_gesture, NULL) < 0) {
                printf("1..1\nnot ok 1 - setup\n");
                return 1;
        }
        footswitch_set_error_callback(f, on_error, NULL);
        /* Run the loop for 300 ms of wall time: long enough to spin millions of times. */
        sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 300 * 1000, 1000, on_timeout, NULL);
        sd_event_loop(e);

        printf("1..1\n");
        if (errors != 1 || last_error != -EIO || broken.reads > 32) {
                fail = 1;
                printf("# errors reported %u (last %d), reads %u\n", errors, last_error, broken.reads);
        }
        printf("%s 1 - an unreadable line is given up once, without spinning\n", fail ? "not ok" : "ok");
        footswitch_free(f);
        sd_event_unref(e);
        return fail;
}
