/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gpio/cue-pattern.h"
#include "gpio/cue-player.h"
#include "shared/macro.h"

#define CUE_PLAYER_ACCURACY_USEC 1000

struct CuePlayer {
        sd_event *event;
        GpioLine *lines[_CUE_OUT_MAX];
        sd_event_source *timer;
        bool showing;
        Cue cue;
        nsec_t anchor;
        CuePatternWarnings warnings;
        unsigned outputs;            /* as last written successfully */
        bool dirty;                  /* a write failed: rewrite everything next time */
};

static int apply(CuePlayer *p, unsigned bits) {
        int ret = 0;

        for (CueOutput o = 0; o < _CUE_OUT_MAX; o++) {
                bool on = bits & CUE_OUT_BIT(o);
                int r;

                if (!p->lines[o]) {
                        p->outputs &= ~CUE_OUT_BIT(o);
                        continue;
                }
                if (!p->dirty && on == !!(p->outputs & CUE_OUT_BIT(o)))
                        continue;
                r = gpio_line_set_value(p->lines[o], on);
                if (r < 0) {
                        if (ret == 0)
                                ret = r;
                        continue;
                }
                p->outputs = on ? p->outputs | CUE_OUT_BIT(o) : p->outputs & ~CUE_OUT_BIT(o);
        }
        p->dirty = ret < 0;
        return ret;
}

/* Writes the pattern's state at t and arms the timer for its next edge. */
static int render(CuePlayer *p, nsec_t t) {
        nsec_t next = NSEC_INFINITY;
        unsigned bits = 0;
        int r, r2;

        if (p->showing)
                bits = cue_pattern_eval(&p->cue, p->anchor, &p->warnings, MAX(t, p->anchor), &next);
        r = apply(p, bits);
        /* At its due time a cue is replaced by the next one, which the station's own timer
         * brings. Drawing the pattern's end there too would race that timer: an LED could go
         * off and on again within microseconds (hold → release). The outputs keep the last
         * phase until the next cue arrives. */
        if (p->showing && p->cue.due_ns != 0 && next >= p->cue.due_ns)
                next = NSEC_INFINITY;

        if (next == NSEC_INFINITY)
                r2 = sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
        else {
                /* Round up: waking a microsecond early would re-render the old state. */
                r2 = sd_event_source_set_time(p->timer, (next + NSEC_PER_USEC - 1) / NSEC_PER_USEC);
                if (r2 >= 0)
                        r2 = sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
        }
        return r < 0 ? r : r2 < 0 ? r2 : 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        CuePlayer *p = userdata;

        /* Evaluate at the real time, not the scheduled one: after a stall the outputs
         * jump to what they should be now instead of replaying the missed edges. */
        (void) render(p, now_monotonic());
        return 0;
}

int cue_player_show(CuePlayer *p, const Cue *cue, nsec_t now) {
        CuePatternWarnings w;
        nsec_t anchor;

        if (!p || !cue || (unsigned) cue->kind >= _CUE_KIND_MAX)
                return -EINVAL;

        for (unsigned i = 0; i < CUE_PATTERN_N_WARNINGS; i++) {
                bool set = cue->warnings & (1u << i);
                nsec_t was = p->showing ? p->warnings.since[i] : NSEC_INFINITY;

                w.since[i] = !set ? NSEC_INFINITY : was != NSEC_INFINITY ? was : now;
        }
        /* A new "not yet" plays from now; one already playing keeps its onset. */
        if (cue->not_yet_ns == 0)
                w.not_yet = NSEC_INFINITY;
        else if (p->showing && p->cue.not_yet_ns == cue->not_yet_ns)
                w.not_yet = p->warnings.not_yet;
        else
                w.not_yet = now;

        anchor = cue->since_ns != 0 && cue->since_ns <= now ? cue->since_ns : now;
        if (p->showing && memcmp(&w, &p->warnings, sizeof(w)) == 0 &&
            p->cue.kind == cue->kind && p->cue.since_ns == cue->since_ns &&
            p->cue.due_ns == cue->due_ns)
                anchor = p->anchor;   /* same cue (rep or step may differ): keep its phase */

        p->cue = *cue;
        p->anchor = anchor;
        p->warnings = w;
        p->showing = true;
        return render(p, now);
}

unsigned cue_player_outputs(const CuePlayer *p) {
        return p ? p->outputs : 0;
}

CuePlayer *cue_player_free(CuePlayer *p) {
        if (!p)
                return NULL;

        sd_event_source_disable_unref(p->timer);
        /* Safe state: a buzzer or LED must not stay on after we are gone. */
        for (CueOutput o = 0; o < _CUE_OUT_MAX; o++) {
                if (p->lines[o])
                        (void) gpio_line_set_value(p->lines[o], false);
                gpio_line_free(p->lines[o]);
        }
        sd_event_unref(p->event);
        free(p);
        return NULL;
}

int cue_player_new(CuePlayer **ret, sd_event *event, GpioBackend *backend,
                   const CuePlayerLines *lines) {
        _cleanup_(cue_player_freep) CuePlayer *p = NULL;
        const GpioLineSpec *specs[_CUE_OUT_MAX];
        static const char *const consumers[_CUE_OUT_MAX] = {
                "tphub-green", "tphub-amber", "tphub-red", "tphub-buzzer",
        };
        int r;

        if (!ret || !event || !backend || !lines)
                return -EINVAL;

        specs[CUE_OUT_GREEN] = &lines->green;
        specs[CUE_OUT_AMBER] = &lines->amber;
        specs[CUE_OUT_RED] = &lines->red;
        specs[CUE_OUT_BUZZER] = &lines->buzzer;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(event);

        for (CueOutput o = 0; o < _CUE_OUT_MAX; o++) {
                if (!specs[o]->chip)
                        continue;
                r = gpio_backend_request_output(backend, specs[o], consumers[o], false,
                                                &p->lines[o]);
                if (r < 0)
                        return r;
        }

        r = sd_event_add_time(event, &p->timer, CLOCK_MONOTONIC, UINT64_MAX,
                              CUE_PLAYER_ACCURACY_USEC, on_timer, p);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(p);
        return 0;
}
