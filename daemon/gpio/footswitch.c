/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "gpio/footswitch.h"
#include "shared/macro.h"

/* Timer slack for the debounce and very-long timers: sd-event's default is 250 ms. */
#define FOOTSWITCH_ACCURACY_USEC 1000

struct Footswitch {
        sd_event *event;
        GpioLine *line;
        sd_event_source *io, *debounce, *very_long;
        nsec_t debounce_ns;
        SwitchGestureState gesture;
        bool level;          /* last confirmed level */
        bool ignore_until_release;
        bool pending;        /* edges seen, debounce timer armed */
        unsigned read_errors;
        FootswitchErrorFn error_cb;
        void *error_userdata;
        nsec_t first_edge;   /* timestamp of the first edge of the pending burst */
        FootswitchGestureFn cb;
        void *userdata;
};

static uint64_t usec_ceil(nsec_t ns) {
        return (ns + NSEC_PER_USEC - 1) / NSEC_PER_USEC;
}

static int arm(sd_event_source *s, nsec_t at) {
        int r = sd_event_source_set_time(s, usec_ceil(at));
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static void emit(Footswitch *f, const SwitchGesture *g, unsigned n, nsec_t at) {
        for (unsigned i = 0; i < n; i++)
                f->cb(g[i], at, f->userdata);
}

/* Re-evaluates the very-long deadline: fires now if already past (the release was
 * still being debounced when the deadline passed), else arms the timer. */
static void very_long_update(Footswitch *f, nsec_t now) {
        nsec_t deadline = switch_gesture_deadline(&f->gesture);

        if (deadline == NSEC_INFINITY) {
                (void) sd_event_source_set_enabled(f->very_long, SD_EVENT_OFF);
                return;
        }
        if (deadline <= now) {
                SwitchGesture g = switch_gesture_tick(&f->gesture, deadline);
                (void) sd_event_source_set_enabled(f->very_long, SD_EVENT_OFF);
                if (g != GESTURE_NONE)
                        emit(f, &g, 1, deadline);
                return;
        }
        if (arm(f->very_long, deadline) < 0)
                /* Cannot happen with a valid source; fall back to firing on release. */
                (void) sd_event_source_set_enabled(f->very_long, SD_EVENT_OFF);
}

/* Takes every queued edge; the first one of a burst dates the change. Returns the read
 * error, if any (-EAGAIN: nothing queued). */
static int read_edges(Footswitch *f) {
        GpioEdge edges[16];
        int k;

        k = gpio_line_read_events(f->line, edges, ELEMENTSOF(edges));
        if (k == -EAGAIN)
                return k;
        if (k < 0) {
                /* Unreadable events: still confirm the level by reading it back. */
                if (!f->pending)
                        f->first_edge = now_monotonic();
        } else if (!f->pending)
                f->first_edge = edges[0].ts;

        f->pending = true;
        if (arm(f->debounce, now_monotonic() + f->debounce_ns) < 0)
                f->pending = false;
        return k < 0 ? k : 0;
}

static int on_very_long(sd_event_source *s, uint64_t usec, void *userdata) {
        Footswitch *f = userdata;

        /* An edge may be queued but not yet dispatched (a busy loop): take it first.
         * A release that began before the deadline may be bouncing right now: decide once
         * it is confirmed (on_debounce catches up). One that began after it does not
         * matter: the switch was still held at the deadline. */
        (void) read_edges(f);
        if (f->pending && f->first_edge <= switch_gesture_deadline(&f->gesture))
                return 0;
        very_long_update(f, now_monotonic());
        return 0;
}

static int on_debounce(sd_event_source *s, uint64_t usec, void *userdata) {
        Footswitch *f = userdata;
        SwitchGesture g[2];
        unsigned n;
        nsec_t at = f->first_edge;
        int v;

        f->pending = false;
        v = gpio_line_get_value(f->line);
        if (v < 0 || (bool) v == f->level) {
                /* A glitch shorter than the debounce time, or an unreadable line: nothing
                 * changed as far as we can tell. Catch up on a deadline we sat on. */
                very_long_update(f, now_monotonic());
                return 0;
        }

        f->level = v;
        if (f->ignore_until_release) {
                if (!f->level)
                        f->ignore_until_release = false;
                return 0;
        }

        /* Held past the very-long deadline before this edge: that comes first. */
        very_long_update(f, at);
        switch_gesture_level(&f->gesture, f->level, at, g, &n);
        emit(f, g, n, at);
        very_long_update(f, now_monotonic());
        return 0;
}

/* Consecutive failed reads before the line is given up: one may be a passing glitch, but
 * an fd that stays readable and unreadable (a chip gone) would spin the loop. */
#define FOOTSWITCH_MAX_READ_ERRORS 16

static int on_edge(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Footswitch *f = userdata;
        int r = read_edges(f);

        if (r >= 0 || r == -EAGAIN) {
                f->read_errors = 0;
                return 0;
        }
        if (++f->read_errors < FOOTSWITCH_MAX_READ_ERRORS && !(revents & (EPOLLERR | EPOLLHUP)))
                return 0;
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (f->error_cb)
                f->error_cb(r, f->error_userdata);
        return 0;
}

void footswitch_set_error_callback(Footswitch *f, FootswitchErrorFn fn, void *userdata) {
        f->error_cb = fn;
        f->error_userdata = userdata;
}

Footswitch *footswitch_free(Footswitch *f) {
        if (!f)
                return NULL;
        sd_event_source_disable_unref(f->io);
        sd_event_source_disable_unref(f->debounce);
        sd_event_source_disable_unref(f->very_long);
        gpio_line_free(f->line);
        sd_event_unref(f->event);
        free(f);
        return NULL;
}

int footswitch_new(Footswitch **ret, sd_event *event, GpioBackend *backend,
                   const GpioLineSpec *line, uint32_t debounce_ms,
                   const SwitchGestureParams *params, FootswitchGestureFn gesture, void *userdata) {
        _cleanup_(footswitch_freep) Footswitch *f = NULL;
        int r, fd, v;

        if (!ret || !event || !backend || !line || !params || !gesture)
                return -EINVAL;
        if (params->tap_max_ms > params->long_ms || params->long_ms > params->very_long_ms)
                return -EINVAL;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->event = sd_event_ref(event);
        f->debounce_ns = nsec_from_ms(debounce_ms);
        f->cb = gesture;
        f->userdata = userdata;
        switch_gesture_init(&f->gesture, params);

        r = gpio_backend_request_input(backend, line, "tphub-footswitch", &f->line);
        if (r < 0)
                return r;

        v = gpio_line_get_value(f->line);
        if (v < 0)
                return v;
        f->level = v;
        f->ignore_until_release = v;

        fd = gpio_line_event_fd(f->line);
        if (fd < 0)
                return fd;
        r = sd_event_add_io(event, &f->io, fd, EPOLLIN, on_edge, f);
        if (r < 0)
                return r;

        r = sd_event_add_time(event, &f->debounce, CLOCK_MONOTONIC, UINT64_MAX,
                              FOOTSWITCH_ACCURACY_USEC, on_debounce, f);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(f->debounce, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = sd_event_add_time(event, &f->very_long, CLOCK_MONOTONIC, UINT64_MAX,
                              FOOTSWITCH_ACCURACY_USEC, on_very_long, f);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(f->very_long, SD_EVENT_OFF);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(f);
        return 0;
}

bool footswitch_is_pressed(const Footswitch *f) {
        return f && f->level && !f->ignore_until_release;
}
