/* SPDX-License-Identifier: MIT */
/* libgpiod 1.6 backend: real chips through the kernel's GPIO uAPI v1.
 *
 * Never build this with -D_TIME_BITS=64 on 32-bit ARM: struct gpiod_line_event embeds a
 * struct timespec, and libgpiod 1.6 on bookworm armhf was built with a 32-bit time_t. */

#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpio/gpio-chip.h"
#include "shared/macro.h"

typedef struct ChipBackend {
        GpioBackend base;
} ChipBackend;

typedef struct ChipLine {
        GpioLine base;
        struct gpiod_chip *chip;
        struct gpiod_line *line;
        bool input;
} ChipLine;

static void chip_closep(struct gpiod_chip **c) {
        if (*c)
                gpiod_chip_close(*c);
}

/* Paths, then kernel names ("gpiochip0"), then labels: on a Pi 5 the header moved from
 * gpiochip4 to gpiochip0 between kernels, while its label stayed "pinctrl-rp1". */
static int chip_open(const char *descr, struct gpiod_chip **ret) {
        struct gpiod_chip *c = NULL;

        if (descr[0] == '/')
                c = gpiod_chip_open(descr);
        else {
                if (strncmp(descr, "gpiochip", 8) == 0)
                        c = gpiod_chip_open_by_name(descr);
                if (!c)
                        c = gpiod_chip_open_by_label(descr);
        }
        if (!c)
                return errno == 0 ? -ENODEV : negative_errno();
        *ret = c;
        return 0;
}

static int line_open(const GpioLineSpec *spec, ChipLine **ret) {
        _cleanup_(chip_closep) struct gpiod_chip *chip = NULL;
        struct gpiod_line *line;
        int r;

        r = chip_open(spec->chip, &chip);
        if (r < 0)
                return r;

        errno = 0;
        if (spec->name)
                line = gpiod_chip_find_line(chip, spec->name);
        else
                line = gpiod_chip_get_line(chip, spec->offset);
        if (!line)
                return errno == 0 ? -ENOENT : negative_errno();

        ChipLine *l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->chip = TAKE_PTR(chip);
        l->line = line;
        *ret = l;
        return 0;
}

static void chip_line_free(GpioLine *gl) {
        ChipLine *l = (ChipLine *) gl;

        /* Closing the chip releases the line too. */
        if (l->chip)
                gpiod_chip_close(l->chip);
        free(l);
}

static void chip_linep(ChipLine **l) {
        if (*l)
                chip_line_free(&(*l)->base);
}

static int request_flags(const GpioLineSpec *spec) {
        int flags = spec->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;

        switch (spec->bias) {
        case GPIO_BIAS_DISABLE:
                flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE;
                break;
        case GPIO_BIAS_PULL_UP:
                flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP;
                break;
        case GPIO_BIAS_PULL_DOWN:
                flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN;
                break;
        default:
                break;
        }
        return flags;
}

static int chip_request_input(GpioBackend *b, const GpioLineSpec *spec, const char *consumer,
                              GpioLine **ret) {
        _cleanup_(chip_linep) ChipLine *l = NULL;
        int r, fd, fl;

        r = line_open(spec, &l);
        if (r < 0)
                return r;
        l->base.backend = b;
        l->input = true;

        if (gpiod_line_request_both_edges_events_flags(l->line, consumer, request_flags(spec)) < 0)
                return negative_errno();

        /* Reads must never block the loop, even after a spurious wakeup. */
        fd = gpiod_line_event_get_fd(l->line);
        if (fd < 0)
                return -EBADF;
        if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
                return negative_errno();

        *ret = &TAKE_PTR(l)->base;
        return 0;
}

static int chip_request_output(GpioBackend *b, const GpioLineSpec *spec, const char *consumer,
                               bool initial, GpioLine **ret) {
        _cleanup_(chip_linep) ChipLine *l = NULL;
        int r, flags;

        r = line_open(spec, &l);
        if (r < 0)
                return r;
        l->base.backend = b;

        flags = spec->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
        if (gpiod_line_request_output_flags(l->line, consumer, flags, initial) < 0)
                return negative_errno();

        *ret = &TAKE_PTR(l)->base;
        return 0;
}

static int chip_line_event_fd(GpioLine *gl) {
        ChipLine *l = (ChipLine *) gl;
        int fd;

        if (!l->input)
                return -ENOTTY;
        fd = gpiod_line_event_get_fd(l->line);
        return fd < 0 ? -EBADF : fd;
}

static nsec_t timespec_to_nsec(const struct timespec *ts) {
        return (nsec_t) ts->tv_sec * NSEC_PER_SEC + (nsec_t) ts->tv_nsec;
}

static int chip_line_read_events(GpioLine *gl, GpioEdge *buf, size_t n) {
        ChipLine *l = (ChipLine *) gl;
        struct gpiod_line_event ev[16];
        nsec_t now;
        int fd, k;

        if (!l->input)
                return -ENOTTY;
        fd = gpiod_line_event_get_fd(l->line);
        if (fd < 0)
                return -EBADF;

        k = gpiod_line_event_read_fd_multiple(fd, ev, (unsigned) MIN(n, ELEMENTSOF(ev)));
        if (k < 0)
                return errno == EAGAIN ? -EAGAIN : negative_errno();
        if (k == 0)
                return -EAGAIN;

        now = now_monotonic();
        for (int i = 0; i < k; i++) {
                nsec_t ts = timespec_to_nsec(&ev[i].ts);

                /* Kernels before 5.7 stamp with CLOCK_REALTIME: far in the monotonic future. */
                if (ts > now + NSEC_PER_SEC)
                        ts = now;
                buf[i] = (GpioEdge) {
                        .rising = ev[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE,
                        .ts = ts,
                };
        }
        return k;
}

static int chip_line_get_value(GpioLine *gl) {
        ChipLine *l = (ChipLine *) gl;
        int v = gpiod_line_get_value(l->line);

        return v < 0 ? negative_errno() : !!v;
}

static int chip_line_set_value(GpioLine *gl, bool value) {
        ChipLine *l = (ChipLine *) gl;

        if (l->input)
                return -EPERM;
        return gpiod_line_set_value(l->line, value) < 0 ? negative_errno() : 0;
}

static void chip_backend_free(GpioBackend *b) {
        free(b);
}

static const GpioBackendOps chip_ops = {
        .name = "chip",
        .request_input = chip_request_input,
        .request_output = chip_request_output,
        .line_event_fd = chip_line_event_fd,
        .line_read_events = chip_line_read_events,
        .line_get_value = chip_line_get_value,
        .line_set_value = chip_line_set_value,
        .line_free = chip_line_free,
        .free = chip_backend_free,
};

int gpio_chip_backend_new(GpioBackend **ret) {
        ChipBackend *b;

        if (!ret)
                return -EINVAL;
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->base.ops = &chip_ops;
        *ret = &b->base;
        return 0;
}
