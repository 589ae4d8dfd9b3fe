/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "gpio/gpio-backend.h"
#include "shared/macro.h"

static bool spec_is_valid(const GpioLineSpec *spec) {
        if (!spec || !spec->chip || !spec->chip[0])
                return false;
        if (spec->name && !spec->name[0])
                return false;
        return (unsigned) spec->bias < _GPIO_BIAS_MAX;
}

int gpio_backend_request_input(GpioBackend *b, const GpioLineSpec *spec, const char *consumer,
                               GpioLine **ret) {
        if (!b || !ret || !spec_is_valid(spec))
                return -EINVAL;
        return b->ops->request_input(b, spec, consumer ?: "tphub", ret);
}

int gpio_backend_request_output(GpioBackend *b, const GpioLineSpec *spec, const char *consumer,
                                bool initial, GpioLine **ret) {
        if (!b || !ret || !spec_is_valid(spec))
                return -EINVAL;
        return b->ops->request_output(b, spec, consumer ?: "tphub", initial, ret);
}

GpioBackend *gpio_backend_free(GpioBackend *b) {
        if (b)
                b->ops->free(b);
        return NULL;
}

int gpio_line_event_fd(GpioLine *l) {
        if (!l)
                return -EINVAL;
        return l->backend->ops->line_event_fd(l);
}

int gpio_line_read_events(GpioLine *l, GpioEdge *buf, size_t n) {
        if (!l || !buf || n == 0)
                return -EINVAL;
        return l->backend->ops->line_read_events(l, buf, n);
}

int gpio_line_get_value(GpioLine *l) {
        if (!l)
                return -EINVAL;
        return l->backend->ops->line_get_value(l);
}

int gpio_line_set_value(GpioLine *l, bool value) {
        if (!l)
                return -EINVAL;
        return l->backend->ops->line_set_value(l, value);
}

GpioLine *gpio_line_free(GpioLine *l) {
        if (l)
                l->backend->ops->line_free(l);
        return NULL;
}

static const char *const bias_names[_GPIO_BIAS_MAX] = {
        [GPIO_BIAS_AS_IS] = "as-is",
        [GPIO_BIAS_DISABLE] = "disable",
        [GPIO_BIAS_PULL_UP] = "pull-up",
        [GPIO_BIAS_PULL_DOWN] = "pull-down",
};

const char *gpio_bias_to_string(GpioBias b) {
        return (unsigned) b < _GPIO_BIAS_MAX ? bias_names[b] : NULL;
}

GpioBias gpio_bias_from_string(const char *s) {
        if (!s)
                return _GPIO_BIAS_INVALID;
        for (GpioBias b = 0; b < _GPIO_BIAS_MAX; b++)
                if (strcmp(s, bias_names[b]) == 0)
                        return b;
        return _GPIO_BIAS_INVALID;
}
