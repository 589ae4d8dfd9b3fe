/* SPDX-License-Identifier: MIT */
#pragma once

/* The hub: builds the stations from the configuration and owns the adapters around them
 * (BlueZ, GPIO, MQTT). Reload swaps the configuration without dropping a running session:
 * a session keeps the protocol it started with, and the old configuration lives until no
 * station uses it any more. */

#include <systemd/sd-event.h>

#include "config/config.h"

typedef struct Hub Hub;

/* Takes ownership of config. */
int hub_new(Hub **ret, sd_event *event, Config *config);
Hub *hub_free(Hub *h);
static inline void hub_freep(Hub **h) {
        if (*h)
                hub_free(*h);
}

int hub_start(Hub *h);

/* Clean stop: safe outputs, tools disconnected, MQTT offline status published. Returns 0
 * when already stopped, 1 when done() will be called from the loop, or negative errno. */
int hub_stop(Hub *h, void (*done)(void *userdata), void *userdata);

/* Takes ownership of config, also on failure. */
int hub_reload(Hub *h, Config *config);

/* One line for sd_notify STATUS= and logs. */
const char *hub_status(Hub *h);
