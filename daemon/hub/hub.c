/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/session-json.h"
#include "hub/hub-private.h"
#include "shared/log.h"
#include "shared/macro.h"

static void hub_release_retired(Hub *h);
static void hub_adapters_stop(Hub *h);

/* ---- the hub's own watch: the journal, and letting go of retired configurations ---- */

static void on_cue(Station *s, const Cue *cue, void *userdata) {
        log_debug("%s: cue %s step %d rep %u%s%s%s", station_name(s), cue_kind_to_string(cue->kind),
                  cue->step, cue->rep,
                  cue->warnings & CUE_WARN_OVER_FORCE ? " over-force" : "",
                  cue->warnings & CUE_WARN_OVER_HOLD ? " over-hold" : "",
                  cue->warnings & CUE_WARN_TOOL_LOST ? " tool-lost" : "");
}

static void on_event(Station *s, const EngineEvent *ev, void *userdata) {
        log_info("%s: %s step %d rep %u %.1f", station_name(s), engine_event_type_to_string(ev->type),
                 ev->step, ev->rep, ev->value);
}

static int release_retired_now(sd_event_source *src, void *userdata) {
        hub_release_retired(userdata);
        return 0;
}

static void on_finished(Station *s, const Session *session, const Protocol *protocol, void *userdata) {
        HubStation *hs = userdata;
        Hub *h = hs->hub;

        log_notice("%s: session %s %s (%s)", station_name(s), session->id,
                   session_status_to_string(session->status), protocol->name);
        /* The session's last events still need its protocol: a retired configuration is let
         * go once they are out, from the loop. */
        if (h->n_retired > 0 && !h->release_retired &&
            sd_event_add_defer(h->event, &h->release_retired, release_retired_now, h) >= 0)
                (void) sd_event_source_set_description(h->release_retired, "hub-release-retired");
}

static const StationWatch hub_watch = {
        .cue = on_cue,
        .event = on_event,
        .finished = on_finished,
};

static HubStation *hub_station_free(HubStation *hs) {
        if (!hs)
                return NULL;
        station_free(hs->station);   /* its watches go with it */
        free(hs->selected_protocol);
        hub_mqtt_station_forget(hs);
        free(hs);
        return NULL;
}

/* A new station, with every adapter's watch on it. Inside each kind of announcement the
 * order is the priority each adapter gives its watch (station.h), not this order. */
static int hub_station_new(Hub *h, const ConfigStation *cs, HubStation **ret) {
        HubStation *hs = calloc(1, sizeof(HubStation));
        int r;

        if (!hs)
                return -ENOMEM;
        hs->hub = h;
        hs->config = cs;
        r = station_new(&hs->station, h->event, cs->name, &cs->engine);
        if (r >= 0)
                r = station_add_watch(hs->station, &hub_watch, STATION_WATCH_DEFAULT, hs);
        if (r >= 0)
                r = hub_gpio_attach(hs);
        if (r >= 0)
                r = hub_audio_attach(hs);
        if (r >= 0)
                r = hub_outbox_attach(hs);
        if (r >= 0)
                r = hub_mqtt_attach(hs);
        if (r >= 0)
                r = hub_ble_attach(hs);
        if (r < 0) {
                hub_station_free(hs);
                return r;
        }
        *ret = hs;
        return 0;
}

/* Creates stations new in config, reconfigures the others, removes those that are gone. */
static int apply_config(Hub *h) {
        const Config *c = h->config;
        int r;

        hub_ble_forget_stations(h);   /* stations may go, tools may move */

        for (size_t i = 0; i < h->n_stations;) {
                if (!config_find_station(c, station_name(h->stations[i]->station))) {
                        log_notice("%s: removed from the configuration", station_name(h->stations[i]->station));
                        /* Its session ends first (recorded as stopped, spooled), then its
                         * adapters let go: nothing they start for that ending may outlive it. */
                        station_stop(h->stations[i]->station, now_monotonic());
                        hub_gpio_station_stop(h->stations[i]);
                        hub_audio_station_stop(h->stations[i]);
                        hub_mqtt_station_stop(h->stations[i]);
                        hub_station_free(h->stations[i]);
                        memmove(&h->stations[i], &h->stations[i + 1], (h->n_stations - i - 1) * sizeof(HubStation *));
                        h->n_stations--;
                } else
                        i++;
        }

        for (size_t i = 0; i < c->n_stations; i++) {
                const ConfigStation *cs = &c->stations[i];
                HubStation *hs = hub_find_station(h, cs->name);

                if (!hs) {
                        HubStation **n = reallocarray(h->stations, h->n_stations + 1, sizeof(HubStation *));
                        if (!n)
                                return -ENOMEM;
                        h->stations = n;
                        r = hub_station_new(h, cs, &hs);
                        if (r < 0)
                                return r;
                        h->stations[h->n_stations++] = hs;
                }
                hs->config = cs;
                r = station_configure(hs->station, &cs->engine, cs->default_protocol);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Frees retired configurations no running session still uses. */
static void hub_release_retired(Hub *h) {
        h->release_retired = sd_event_source_disable_unref(h->release_retired);
        for (size_t i = 0; i < h->n_retired;) {
                bool used = false;

                for (size_t k = 0; k < h->n_stations && !used; k++) {
                        const Protocol *p = station_protocol_in_use(h->stations[k]->station);
                        for (size_t j = 0; p && j < h->retired[i]->n_protocols; j++)
                                if (h->retired[i]->protocols[j] == p)
                                        used = true;
                }
                if (used) {
                        i++;
                        continue;
                }
                config_free(h->retired[i]);
                memmove(&h->retired[i], &h->retired[i + 1], (h->n_retired - i - 1) * sizeof(Config *));
                h->n_retired--;
        }
}

int hub_new(Hub **ret, sd_event *event, Config *config) {
        _cleanup_(config_freep) Config *c = config;
        _cleanup_(hub_freep) Hub *h = calloc(1, sizeof(Hub));
        int r;

        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(event);
        h->started_mono = now_monotonic();
        h->config = TAKE_PTR(c);
        r = apply_config(h);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(h);
        return 0;
}

Hub *hub_free(Hub *h) {
        if (!h)
                return NULL;
        hub_adapters_stop(h);
        hub_audio_shutdown(h);
        for (size_t i = 0; i < h->n_stations; i++)
                hub_station_free(h->stations[i]);
        free(h->stations);
        h->release_retired = sd_event_source_disable_unref(h->release_retired);
        for (size_t i = 0; i < h->n_retired; i++)
                config_free(h->retired[i]);
        free(h->retired);
        config_free(h->config);
        sd_event_unref(h->event);
        free(h->status);
        free(h->started_at);
        free(h);
        return NULL;
}

/* ---- the adapters around the stations ---- */

static int hub_adapters_start(Hub *h) {
        int r;

        /* The outbox first, and interrupted sessions recovered into it before anything new
         * can happen, whether or not MQTT is on (with MQTT, through its publisher). */
        r = hub_outbox_start(h);
        if (r < 0)
                return r;
        r = hub_mqtt_start(h);
        if (r < 0)
                return r;
        hub_outbox_recover(h);
        r = hub_gpio_start(h);
        if (r < 0)
                return r;
        r = hub_audio_start(h);
        if (r < 0)
                return r;
        return hub_ble_start(h);
}

static int hub_adapters_reload(Hub *h, const Config *old) {
        int r, ret = 0;

        /* Each adapter compares its part of the old and new configuration and restarts only
         * what changed: an unchanged file leaves the broker connection, the lines and every
         * tool link as they are (a hold goes on without a pause), and checkpoint recovery
         * never runs for a session that is still running. Stations and their engines (and so
         * running sessions) stay in any case. A reopened outbox takes the publisher with it
         * (hub_mqtt_reload starts MQTT again). */
        bool reopen = !hub_outbox_settings_equal(old, h->config);

        if (reopen) {
                hub_mqtt_stop(h);
                hub_outbox_stop(h);
                r = hub_outbox_start(h);
                if (r < 0)
                        ret = r;
        }
        r = hub_mqtt_reload(h, old);
        if (r < 0 && ret == 0)
                ret = r;
        if (reopen)
                hub_outbox_recover(h);
        r = hub_gpio_reload(h, old);
        if (r < 0 && ret == 0)
                ret = r;
        r = hub_ble_reload(h, old);
        if (r < 0 && ret == 0)
                ret = r;
        return ret;
}

static void hub_adapters_stop(Hub *h) {
        hub_ble_stop(h);
        hub_gpio_stop(h);
        hub_audio_stop(h);
        hub_mqtt_stop(h);
        hub_outbox_stop(h);
}

int hub_start(Hub *h) {
        return hub_adapters_start(h);
}

int hub_stop(Hub *h, void (*done)(void *userdata), void *userdata) {
        /* Outputs to their safe state and tools let go at once; MQTT says goodbye (retained
         * offline status) without blocking the loop, then done is called. */
        hub_ble_stop(h);
        hub_gpio_stop(h);
        hub_audio_shutdown(h);
        h->stopped = done;
        h->stopped_userdata = userdata;
        return hub_mqtt_shutdown(h);
}

int hub_reload(Hub *h, Config *config) {
        _cleanup_(config_freep) Config *c = config;
        Config **n;
        int r;

        n = reallocarray(h->retired, h->n_retired + 1, sizeof(Config *));
        if (!n)
                return -ENOMEM;
        h->retired = n;
        h->retired[h->n_retired++] = h->config;
        h->config = TAKE_PTR(c);

        r = apply_config(h);
        /* The adapters compare the old configuration (still retired, not freed) with the
         * new one and restart only what changed. */
        if (r >= 0)
                r = hub_adapters_reload(h, h->retired[h->n_retired - 1]);
        hub_release_retired(h);
        return r;
}

const char *hub_status(Hub *h) {
        size_t busy = 0, waiting = 0;
        nsec_t now = now_monotonic();
        char waiting_text[64] = "";

        for (size_t i = 0; i < h->n_stations; i++) {
                const ConfigStation *c = h->stations[i]->config;
                EngineStatus st;

                busy += station_busy(h->stations[i]->station);
                /* "Waiting for a tool": a station that has force tools (or adopts them) with
                 * none delivering samples, so a fresh install with nothing paired says so. */
                station_status(h->stations[i]->station, now, &st);
                if (h->config->ble.enabled && (c->n_tools > 0 || c->auto_adopt) && !st.tool_connected)
                        waiting++;
        }
        if (waiting > 0)
                (void) snprintf(waiting_text, sizeof waiting_text, ", %zu waiting for a tool", waiting);
        free(h->status);
        if (asprintf(&h->status, "hub %s: %zu station(s), %zu in session%s%s", h->config->hub, h->n_stations, busy,
                     waiting_text,
                     !h->config->mqtt.enabled ? "" :
                     h->mqtt && mqtt_client_is_connected(h->mqtt) ? ", MQTT connected" : ", MQTT not connected") < 0)
                h->status = NULL;
        return h->status ?: "running";
}
