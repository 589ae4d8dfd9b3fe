/* SPDX-License-Identifier: MIT */
#pragma once

/* Every key of tphub.conf, declared once: a table per section (key, parser, destination,
 * limits, default; conf-reader.h). config_load() reads through them; tests read them to check
 * that docs/config.md describes every key. */

#include "config/conf-reader.h"

typedef struct ConfigSection {
        const char *path;          /* "mqtt", "stations[].switch", ... ; NULL ends the list */
        const ConfItem *items;
} ConfigSection;

extern const ConfigSection config_sections[];
