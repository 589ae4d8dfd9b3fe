/* SPDX-License-Identifier: MIT */
/* Wires each station's foot-switch and cue outputs (gpio/) to its engine. */

#include <string.h>

#include "gpio/gpio-chip.h"
#include "gpio/gpio-sim.h"
#include "hub/hub-private.h"
#include "shared/log.h"

static void on_gesture(SwitchGesture g, nsec_t at, void *userdata) {
        Station *s = userdata;

        log_debug("%s: foot-switch %s", station_name(s), switch_gesture_to_string(g));
        (void) station_gesture(s, g, at);
}

static void on_switch_error(int error, void *userdata) {
        Station *s = userdata;   /* not the HubStation: a reload may move those */

        log_error_errno(error, "%s: the foot-switch line cannot be read any more (%m); it is no longer "
                        "watched. Check the wiring and restart tphubd.", station_name(s));
}

static GpioLineSpec line_spec(const char *chip, const ConfigLine *l, bool active_low, GpioBias bias) {
        return (GpioLineSpec) {
                .chip = l->set ? chip : NULL,
                .name = l->name,
                .offset = l->offset,
                .active_low = active_low,
                .bias = bias,
        };
}

static int switch_start(Hub *h, HubStation *hs) {
        const ConfigStation *c = hs->config;
        int r;

        if (c->has_switch) {
                GpioBias bias = c->sw.bias ? gpio_bias_from_string(c->sw.bias) : GPIO_BIAS_AS_IS;
                GpioLineSpec spec = line_spec(c->sw.chip, &c->sw.line, c->sw.active_low, bias);

                r = footswitch_new(&hs->footswitch, h->event, h->gpio, &spec, h->config->debounce_ms,
                                   &h->config->gesture, on_gesture, hs->station);
                if (r < 0)
                        return log_error_errno(r, "%s: cannot open the foot-switch (%s line %s%u): %m", c->name,
                                               c->sw.chip, c->sw.line.name ?: "", c->sw.line.name ? 0 : c->sw.line.offset);
                footswitch_set_error_callback(hs->footswitch, on_switch_error, hs->station);
        }
        return 0;
}

static int cues_start(Hub *h, HubStation *hs) {
        const ConfigStation *c = hs->config;
        int r;

        if (c->has_cues) {
                const ConfigCues *q = &c->cues;
                CuePlayerLines lines = {
                        .green = line_spec(q->chip, &q->green, q->active_low, GPIO_BIAS_AS_IS),
                        .amber = line_spec(q->chip, &q->amber, q->active_low, GPIO_BIAS_AS_IS),
                        .red = line_spec(q->chip, &q->red, q->active_low, GPIO_BIAS_AS_IS),
                        .buzzer = line_spec(q->chip, &q->buzzer, false, GPIO_BIAS_AS_IS),
                };

                r = cue_player_new(&hs->cues, h->event, h->gpio, &lines);
                if (r < 0)
                        return log_error_errno(r, "%s: cannot open the cue outputs on %s: %m", c->name, q->chip);
                (void) cue_player_show(hs->cues, engine_cue(station_engine(hs->station)), now_monotonic());
        }
        return 0;
}

static int gpio_station_start(Hub *h, HubStation *hs) {
        int r = switch_start(h, hs);
        return r < 0 ? r : cues_start(h, hs);
}

void hub_gpio_station_stop(HubStation *hs) {
        hs->footswitch = footswitch_free(hs->footswitch);
        /* Freeing the player puts every output in its safe state (off). */
        hs->cues = cue_player_free(hs->cues);
}

int hub_gpio_start(Hub *h) {
        const ConfigGpio *g = &h->config->gpio;
        bool needed = false;
        int r;

        for (size_t i = 0; i < h->n_stations; i++)
                needed = needed || h->stations[i]->config->has_switch || h->stations[i]->config->has_cues;
        if (!needed)
                return 0;

        if (g->backend && strcmp(g->backend, "sim") == 0) {
                r = gpio_sim_new(h->event, g->sim_socket, &h->gpio);
                if (r < 0)
                        return log_error_errno(r, "Cannot start the GPIO simulator on %s: %m", g->sim_socket ?: "(no socket)");
                log_notice("GPIO: simulated lines%s%s (gpio.backend = \"sim\").", g->sim_socket ? ", control socket " : "",
                           g->sim_socket ?: "");
        } else {
                r = gpio_chip_backend_new(&h->gpio);
                if (r < 0)
                        return log_error_errno(r, "Cannot set up libgpiod: %m");
        }

        for (size_t i = 0; i < h->n_stations; i++) {
                r = gpio_station_start(h, h->stations[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

void hub_gpio_stop(Hub *h) {
        for (size_t i = 0; i < h->n_stations; i++)
                hub_gpio_station_stop(h->stations[i]);
        h->gpio = gpio_backend_free(h->gpio);
}

static bool gpio_needed(const Config *c) {
        for (size_t i = 0; i < c->n_stations; i++)
                if (c->stations[i].has_switch || c->stations[i].has_cues)
                        return true;
        return false;
}

int hub_gpio_reload(Hub *h, const Config *old) {
        int r;

        if (!config_gpio_equal(old, h->config) || !h->gpio || !gpio_needed(h->config)) {
                hub_gpio_stop(h);
                return hub_gpio_start(h);
        }
        /* Same backend: reopen only the lines of stations whose wiring changed (a line kept
         * keeps its LED lit and its switch state). */
        for (size_t i = 0; i < h->n_stations; i++) {
                HubStation *hs = h->stations[i];
                const ConfigStation *was = config_find_station(old, hs->config->name);

                if (!was || !config_switch_equal(was, hs->config)) {
                        hs->footswitch = footswitch_free(hs->footswitch);
                        r = switch_start(h, hs);
                        if (r < 0)
                                return r;
                }
                if (!was || !config_cues_equal(was, hs->config)) {
                        hs->cues = cue_player_free(hs->cues);
                        r = cues_start(h, hs);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The LEDs and buzzer first: nothing an input causes may delay what the athlete sees. */
static void on_render(Station *s, const Cue *cue, void *userdata) {
        HubStation *hs = userdata;

        if (hs->cues)
                (void) cue_player_show(hs->cues, cue, now_monotonic());
}

int hub_gpio_attach(HubStation *hs) {
        static const StationWatch watch = {
                .render = on_render,
        };
        return station_add_watch(hs->station, &watch, STATION_WATCH_OUTPUT, hs);
}
