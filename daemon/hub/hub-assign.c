/* SPDX-License-Identifier: MIT */
/* Which station a tool, an athlete's tag or a command serves: a tool belongs to the station
 * that lists its address (or to the first station that adopts any tool), a tag tap starts a
 * session for its athlete at the first idle station, a command names its station. */

#include <stdio.h>
#include <string.h>

#include "shared/macro.h"

#include "hub/hub-private.h"

HubStation *hub_find_station(Hub *h, const char *name) {
        for (size_t i = 0; i < h->n_stations; i++)
                if (strcmp(station_name(h->stations[i]->station), name) == 0)
                        return h->stations[i];
        return NULL;
}

HubStation *hub_station_of_tool(Hub *h, const char *address) {
        for (size_t i = 0; i < h->n_stations; i++) {
                const ConfigStation *c = h->stations[i]->config;
                for (size_t k = 0; k < c->n_tools; k++)
                        if (strcasecmp(c->tools[k].address, address) == 0)
                                return h->stations[i];
        }
        /* adopted: the first station that adopts tools */
        for (size_t i = 0; i < h->n_stations; i++)
                if (h->stations[i]->config->auto_adopt)
                        return h->stations[i];
        return NULL;
}

HubStation *hub_station_for_tag(Hub *h) {
        /* One radio hears every tag, so "nearest" cannot be told apart: the first idle
         * station, in configuration order, takes the athlete. */
        for (size_t i = 0; i < h->n_stations; i++) {
                HubStation *hs = h->stations[i];
                if (!station_busy(hs->station) && hub_station_protocol(h, hs))
                        return hs;
        }
        return NULL;
}

const Protocol *hub_station_protocol(Hub *h, HubStation *hs) {
        const Protocol *p = hs->selected_protocol ? config_find_protocol(h->config, hs->selected_protocol) : NULL;

        /* A selection whose protocol a reload removed falls back to the default. */
        return p ?: hs->config->default_protocol;
}
