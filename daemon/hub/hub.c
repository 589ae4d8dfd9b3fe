/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/session-json.h"
#include "hub/hub-private.h"
#include "shared/log.h"
#include "shared/macro.h"

static void on_cue(void *userdata, Station *s, const Cue *cue) {
        Hub *h = userdata;

        log_debug("%s: cue %s step %d rep %u%s%s%s", station_name(s), cue_kind_to_string(cue->kind),
                  cue->step, cue->rep,
                  cue->warnings & CUE_WARN_OVER_FORCE ? " over-force" : "",
                  cue->warnings & CUE_WARN_OVER_HOLD ? " over-hold" : "",
                  cue->warnings & CUE_WARN_TOOL_LOST ? " tool-lost" : "");
        hub_cue_changed(h, s, cue);
}

static void on_render(void *userdata, Station *s, const Cue *cue) {
        hub_cue_render(userdata, s, cue);
}

static void on_event(void *userdata, Station *s, const EngineEvent *ev) {
        Hub *h = userdata;

        log_info("%s: %s step %d rep %u %.1f", station_name(s), engine_event_type_to_string(ev->type),
                 ev->step, ev->rep, ev->value);
        hub_event(h, s, ev);
}

static void on_finished(void *userdata, Station *s, const Session *session, const Protocol *protocol) {
        Hub *h = userdata;
        _cleanup_free_ char *json = NULL;
        int r;

        r = session_to_json_string(session, protocol, false, &json);
        if (r < 0) {
                log_error_errno(r, "%s: cannot serialise session %s: %m", station_name(s), session->id);
                return;
        }
        log_notice("%s: session %s %s (%s)", station_name(s), session->id,
                   session_status_to_string(session->status), protocol->name);
        hub_session_finished(h, s, session, json);
        hub_release_retired(h);
}

static const StationCallbacks station_callbacks = {
        .render = on_render,
        .cue = on_cue,
        .event = on_event,
        .finished = on_finished,
};

HubStation *hub_find_station(Hub *h, const char *name) {
        for (size_t i = 0; i < h->n_stations; i++)
                if (strcmp(station_name(h->stations[i].station), name) == 0)
                        return &h->stations[i];
        return NULL;
}

const Protocol *hub_station_protocol(Hub *h, HubStation *hs) {
        const Protocol *p = hs->selected_protocol ? config_find_protocol(h->config, hs->selected_protocol) : NULL;

        /* A selection whose protocol a reload removed falls back to the default. */
        return p ?: hs->config->default_protocol;
}

HubStation *hub_station_of(Hub *h, const Station *s) {
        for (size_t i = 0; i < h->n_stations; i++)
                if (h->stations[i].station == s)
                        return &h->stations[i];
        return NULL;
}

/* Creates stations new in config, reconfigures the others, removes those that are gone. */
static int apply_config(Hub *h) {
        const Config *c = h->config;
        int r;

        for (size_t i = 0; i < h->n_stations;) {
                if (!config_find_station(c, station_name(h->stations[i].station))) {
                        log_notice("%s: removed from the configuration", station_name(h->stations[i].station));
                        hub_station_removed(h, &h->stations[i]);
                        station_stop(h->stations[i].station, now_monotonic());
                        station_free(h->stations[i].station);
                        free(h->stations[i].selected_protocol);
                        memmove(&h->stations[i], &h->stations[i + 1], (h->n_stations - i - 1) * sizeof(HubStation));
                        h->n_stations--;
                } else
                        i++;
        }

        for (size_t i = 0; i < c->n_stations; i++) {
                const ConfigStation *cs = &c->stations[i];
                HubStation *hs = hub_find_station(h, cs->name);

                if (!hs) {
                        HubStation *n = reallocarray(h->stations, h->n_stations + 1, sizeof(HubStation));
                        if (!n)
                                return -ENOMEM;
                        h->stations = n;
                        hs = &h->stations[h->n_stations];
                        *hs = (HubStation) {};
                        r = station_new(&hs->station, h->event, cs->name, &cs->engine, &station_callbacks, h);
                        if (r < 0)
                                return r;
                        h->n_stations++;
                }
                hs->config = cs;
                r = station_configure(hs->station, &cs->engine, cs->default_protocol);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Frees retired configurations no running session still uses. */
void hub_release_retired(Hub *h) {
        for (size_t i = 0; i < h->n_retired;) {
                bool used = false;

                for (size_t k = 0; k < h->n_stations && !used; k++) {
                        const Protocol *p = station_protocol_in_use(h->stations[k].station);
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
        for (size_t i = 0; i < h->n_stations; i++) {
                station_free(h->stations[i].station);
                free(h->stations[i].selected_protocol);
        }
        free(h->stations);
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
                const ConfigStation *c = h->stations[i].config;
                EngineStatus st;

                busy += station_busy(h->stations[i].station);
                /* "Waiting for a tool": a station that has force tools (or adopts them) with
                 * none delivering samples, so a fresh install with nothing paired says so. */
                station_status(h->stations[i].station, now, &st);
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
