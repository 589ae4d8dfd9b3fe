/* SPDX-License-Identifier: MIT */
/* Wires each station's speaker (audio/) to its engine: the cue's tones, the PPT pacing tone
 * that follows the force, and what is said: the safety notice at check-in, the step when
 * it is cued, the prompt of the moment when it changes, the session's end. Speech comes from
 * the hub's speech cache; every protocol's phrases are made sure of at load and reload. */

#include <errno.h>
#include <string.h>

#include "audio/audio-sound.h"
#include "audio/speech-text.h"
#include "hub/hub-private.h"
#include "shared/log.h"
#include "shared/macro.h"

static char *mfree_str(char *s) {
        free(s);
        return NULL;
}

static void on_player_state(int error, const char *device, void *userdata) {
        HubStation *hs = userdata;
        Hub *h = hs->hub;

        if (error < 0)
                log_warning_errno(error, "%s: speaker \"%s\" cannot play (%m); retrying. The station goes on "
                                  "without sound.", hs->config->name, device);
        else if (hs->audio_error < 0 && hs->audio_error != -EINPROGRESS)
                log_notice("%s: speaker \"%s\" plays again.", hs->config->name, device);
        else
                log_info("%s: speaker \"%s\" open.", hs->config->name, device);
        hs->audio_error = error;
        if (h->mqtt)
                (void) mqtt_client_publish_status(h->mqtt);
}

static void on_speech(const char *voice, const char *text, int error, bool rendered, const char *why,
                      void *userdata) {
        Hub *h = userdata;

        if (error < 0)
                log_warning("Speech (%s) \"%.40s%s\": %s", voice, text, strlen(text) > 40 ? "..." : "", why);
        else if (rendered)
                log_debug("Speech (%s) rendered: \"%.40s%s\"", voice, text, strlen(text) > 40 ? "..." : "");
        if (speech_cache_pending(h->speech) == 0 && h->speech_rendering) {
                h->speech_rendering = false;
                log_info("Speech: every phrase is ready.");
        }
}

/* Makes sure of every phrase of the protocol; load: also into memory (stations' own). */
static void want_protocol(Hub *h, const Protocol *p, bool load) {
        char **texts = NULL;
        int n;

        if (!h->speech || !p)
                return;
        n = speech_protocol_texts(p, &texts);
        if (n < 0) {
                log_oom();
                return;
        }
        for (int i = 0; i < n; i++)
                if (speech_cache_want(h->speech, speech_voice(p), texts[i], load) > 0)
                        h->speech_rendering = true;
        speech_texts_free(texts, (size_t) n);
}

static void say(Hub *h, HubStation *hs, const Protocol *p, const char *text, bool queue) {
        AudioClip *clip;
        int r;

        if (!h->speech || !hs->audio || !text)
                return;
        clip = speech_cache_get(h->speech, speech_voice(p), text);
        if (!clip) {
                /* not ready (still rendering, or a prompt the speech list lacks): next time */
                (void) speech_cache_want(h->speech, speech_voice(p), text, true);
                log_debug("%s: not said (speech not ready): \"%s\"", hs->config->name, text);
                return;
        }
        r = audio_player_speak(hs->audio, clip, now_monotonic(), queue);
        if (r < 0)
                log_debug_errno(r, "%s: not said (%m): \"%s\"", hs->config->name, text);
}

static void pacing(HubStation *hs) {
        const Protocol *p = station_protocol_in_use(hs->station);
        const Cue *cue = engine_cue(station_engine(hs->station));
        const ProtocolStep *s;
        EngineStatus st;

        if (!hs->audio)
                return;
        if (!p || cue->step < 0 || (size_t) cue->step >= p->n_steps ||
            (cue->kind != CUE_POINT && cue->kind != CUE_PRESSING)) {
                audio_player_pacing(hs->audio, 0);
                return;
        }
        s = &p->steps[cue->step];
        if (s->kind != STEP_MEASURE) {
                audio_player_pacing(hs->audio, 0);
                return;
        }
        station_status(hs->station, now_monotonic(), &st);
        /* silent until the probe touches: the pitch is the force */
        audio_player_pacing(hs->audio, cue->kind == CUE_PRESSING ? audio_pacing_freq(st.force_n, s->safety_max_n) : 0);
}

void hub_audio_render(Hub *h, HubStation *hs, const Cue *cue) {
        Cue shown, next;
        bool has_next;
        unsigned u;

        if (!hs->audio)
                return;
        u = audio_player_underruns(hs->audio);
        if (u != hs->audio_underruns) {
                /* the loop was held up longer than the speaker's buffer lasts */
                log_warning("%s: speaker underrun (%u so far): the loop was late.", hs->config->name, u);
                hs->audio_underruns = u;
        }
        /* Tones the clock alone decides (the tap-counts chirp, the release at the hold's
         * target) are written ahead, so a late timer on a loaded Pi cannot make them late. */
        has_next = engine_forecast(station_engine(hs->station), &shown, &next);
        (void) audio_player_show(hs->audio, has_next ? &shown : cue, has_next ? &next : NULL, now_monotonic());
        pacing(hs);
}

void hub_audio_force(Hub *h, HubStation *hs) {
        if (hs->audio && hs->audio_pacing)
                pacing(hs);
}

void hub_audio_event(Hub *h, HubStation *hs, const EngineEvent *ev) {
        const Protocol *p = station_protocol_in_use(hs->station);
        const ProtocolStep *s;

        if (!hs->audio || !p)
                return;
        switch (ev->type) {
        case EVENT_CHECKIN:
                want_protocol(h, p, true);   /* a protocol started by command may not be loaded */
                say(h, hs, p, protocol_safety_notice(p), false);
                break;
        case EVENT_STEP:
                if (ev->step < 0 || (size_t) ev->step >= p->n_steps)
                        break;
                s = &p->steps[ev->step];
                {
                        _cleanup_free_ char *t = speech_step_text(s);

                        say(h, hs, p, t, true);
                }
                hs->audio_step_said = true;
                break;
        default:
                break;
        }
}

void hub_audio_cue_changed(Hub *h, HubStation *hs, const Cue *cue) {
        const Protocol *p = station_protocol_in_use(hs->station);
        EngineStatus st;

        if (!hs->audio)
                return;
        hs->audio_pacing = p && cue->step >= 0 && (size_t) cue->step < p->n_steps &&
                           p->steps[cue->step].kind == STEP_MEASURE;
        station_status(hs->station, now_monotonic(), &st);
        if (!st.prompt || (hs->audio_prompt && strcmp(hs->audio_prompt, st.prompt) == 0)) {
                hs->audio_step_said = false;
                return;
        }
        free(hs->audio_prompt);
        hs->audio_prompt = strdup(st.prompt);
        /* the step's announcement just queued says how to find the point already */
        if (!hs->audio_step_said)
                say(h, hs, p, st.prompt, false);
        hs->audio_step_said = false;
        if (cue->kind == CUE_IDLE)
                hs->audio_prompt = mfree_str(hs->audio_prompt);
}

void hub_audio_status(Hub *h, json_object *status) {
        json_object *o = NULL;

        for (size_t i = 0; i < h->n_stations; i++) {
                HubStation *hs = h->stations[i];

                if (!hs->config->has_audio)
                        continue;
                if (!o && !(o = json_object_new_object()))
                        return;
                if (hs->audio && hs->audio_error == -EINPROGRESS)
                        json_object_object_add(o, hs->config->name, json_object_new_string("opening"));
                else if (!hs->audio || hs->audio_error < 0) {
                        char buf[160];

                        snprintf(buf, sizeof(buf), "speaker \"%s\": %s", hs->config->audio.device,
                                 hs->audio ? strerror(-hs->audio_error) : "not started");
                        json_object_object_add(o, hs->config->name, json_object_new_string(buf));
                } else
                        json_object_object_add(o, hs->config->name, json_object_new_string("ok"));
        }
        if (o)
                json_object_object_add(status, "audio", o);
}

void hub_audio_station_stop(HubStation *hs) {
        hs->audio = audio_player_free(hs->audio);
        hs->audio_prompt = mfree_str(hs->audio_prompt);
        hs->audio_error = 0;
}

int hub_audio_start(Hub *h) {
        const ConfigAudio *a = &h->config->audio;
        bool needed = false;
        int r;

        for (size_t i = 0; i < h->n_stations; i++)
                needed = needed || h->stations[i]->config->has_audio;
        if (!needed)
                return 0;

        if (a->speech && !h->speech) {
                SpeechCacheParams sp = {
                        .speech_dir = a->speech_dir, .cache_dir = a->cache_dir, .espeak = a->espeak,
                        .rate = AUDIO_PLAYER_PARAMS_DEFAULT.rate,
                };

                r = speech_cache_new(&h->speech, h->event, &sp, on_speech, h);
                if (r < 0)
                        return log_error_errno(r, "Cannot start the speech cache: %m");
        }
        /* every protocol's phrases on disk (rendered in the background when new), the
         * stations' default protocols also in memory */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < h->config->n_protocols; i++) {
                        bool used = false;

                        for (size_t k = 0; k < h->n_stations; k++)
                                used = used || (h->stations[k]->config->has_audio &&
                                                h->stations[k]->config->default_protocol == h->config->protocols[i]);
                        /* the stations' own protocols first: they are needed soonest */
                        if (used == (pass == 0))
                                want_protocol(h, h->config->protocols[i], used);
                }
        if (h->speech_rendering)
                log_info("Speech: rendering new phrases in the background (%u queued).", speech_cache_pending(h->speech));

        for (size_t i = 0; i < h->n_stations; i++) {
                HubStation *hs = h->stations[i];
                const ConfigStation *c = hs->config;
                AudioPlayerParams pp = AUDIO_PLAYER_PARAMS_DEFAULT;

                if (!c->has_audio)
                        continue;
                hs->hub = h;
                hs->audio_error = -EINPROGRESS;    /* until the player says */
                pp.device = c->audio.device;
                pp.volume = (float) c->audio.volume;
                /* a missing device is reported through on_player_state and retried */
                r = audio_player_new(&hs->audio, h->event, &pp, on_player_state, hs);
                if (r < 0)
                        return log_error_errno(r, "%s: cannot set up the speaker: %m", c->name);
                hub_audio_render(h, hs, engine_cue(station_engine(hs->station)));
        }
        return 0;
}

void hub_audio_stop(Hub *h) {
        for (size_t i = 0; i < h->n_stations; i++)
                hub_audio_station_stop(h->stations[i]);
}

void hub_audio_shutdown(Hub *h) {
        hub_audio_stop(h);
        h->speech = speech_cache_free(h->speech);
}

/* ---- the station's watch: the speaker right after the LEDs, the words with the events ---- */

static void on_station_render(Station *s, const Cue *cue, void *userdata) {
        HubStation *hs = userdata;

        hub_audio_render(hs->hub, hs, cue);
}

static void on_station_event(Station *s, const EngineEvent *ev, void *userdata) {
        HubStation *hs = userdata;

        hub_audio_event(hs->hub, hs, ev);
}

static void on_station_cue(Station *s, const Cue *cue, void *userdata) {
        HubStation *hs = userdata;

        hub_audio_cue_changed(hs->hub, hs, cue);
}

static void on_station_force(Station *s, double newtons, nsec_t at, void *userdata) {
        HubStation *hs = userdata;

        hub_audio_force(hs->hub, hs);
}

int hub_audio_attach(HubStation *hs) {
        static const StationWatch watch = {
                .render = on_station_render,
                .event = on_station_event,
                .cue = on_station_cue,
                .force = on_station_force,
        };
        /* after the LEDs (STATION_WATCH_OUTPUT) */
        return station_add_watch(hs->station, &watch, STATION_WATCH_OUTPUT + 1, hs);
}
