/* SPDX-License-Identifier: MIT */
#pragma once

/* The real backend: GPIO chips through libgpiod 1.6. Each line opens its chip by path,
 * kernel name or label (see GpioLineSpec), so no chip handle outlives its lines. */

#include "gpio/gpio-backend.h"

int gpio_chip_backend_new(GpioBackend **ret);
