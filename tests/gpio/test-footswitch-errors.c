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
#include "tap.h"

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

static void test_unreadable_line_given_up(void) {
        GpioBackend backend = { .ops = &ops };
        GpioLineSpec spec = { .chip = "x", .name = "SW", .active_low = true };
        SwitchGestureParams params = SWITCH_GESTURE_PARAMS_DEFAULT;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(footswitch_freep) Footswitch *f = NULL;

        CHECK_OK(sd_event_new(&e));
        CHECK_OK(footswitch_new(&f, e, &backend, &spec, 20, &params, on_gesture, NULL));
        footswitch_set_error_callback(f, on_error, NULL);
        /* Run the loop for 300 ms of wall time: long enough to spin millions of times. */
        CHECK_OK(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 300 * 1000, 1000, on_timeout, NULL));
        CHECK_OK(sd_event_loop(e));

        CHECK_EQ(errors, 1);
        CHECK_EQ(last_error, -EIO);
        CHECK(broken.reads <= 32);
}

static const TapCase cases[] = {
        { "unreadable_line_given_up", test_unreadable_line_given_up },
};

TAP_MAIN(cases)
