/* SPDX-License-Identifier: MIT */
/* Stations on MQTT (docs/mqtt.md): a watch on every station announces live state, events,
 * force batches and the finished sessions' summaries (last, after the LEDs, the speaker and
 * the outbox); the session publisher sends what the outbox (hub-outbox.c) holds; tool status;
 * and commands from phones and dashboards, decided by hub-command.c and carried out here. */

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/session-json.h"
#include "hub/hub-command.h"
#include "hub/hub-private.h"
#include "mqtt/mqtt-command.h"
#include "mqtt/topics.h"
#include "shared/decimal.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/sysinfo.h"

/* At least 4 Hz during a countdown, as dashboards show the remaining time. */
#define STATE_PERIOD_USEC (250 * 1000)
#define SHUTDOWN_TIMEOUT_USEC (3 * 1000 * 1000)
/* tools/<address> carries last_seen: refreshed this often, off the sample path. */
#define TOOLS_PERIOD_USEC (30 * 1000 * 1000)

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static const char *prefix(const Hub *h) {
        return h->config->mqtt.prefix ?: TOPIC_DEFAULT_PREFIX;
}

static char *iso_now(char buf[static 32]) {
        return format_iso8601(buf, 32, now_realtime());
}

static void publish_json(Hub *h, const char *topic, json_object *o, int qos, bool retain) {
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        int r;

        if (!h->mqtt || !s)
                return;
        r = mqtt_client_publish(h->mqtt, topic, s, strlen(s), qos, retain, NULL, NULL);
        if (r < 0 && r != -ENOTCONN)
                log_debug("MQTT: publish to %s failed: %s", topic, strerror(-r));
}

static void topics_clear(HubStation *hs) {
        for (size_t i = 0; i < ELEMENTSOF(hs->topics); i++) {
                free(hs->topics[i]);
                hs->topics[i] = NULL;
        }
        hs->topics_config = NULL;
}

/* What the station's MQTT side keeps made: its topics and its last state document. */
void hub_mqtt_station_forget(HubStation *hs) {
        topics_clear(hs);
        json_object_put(hs->state_doc);
        hs->state_doc = NULL;
}

/* The station's topic of that kind, made again only when the configuration (prefix, hub
 * and station names) was replaced. NULL if it cannot be made. */
static const char *station_topic(Hub *h, HubStation *hs, TopicStation kind) {
        if (hs->topics_config != h->config) {
                topics_clear(hs);
                hs->topics_config = h->config;
        }
        if (!hs->topics[kind] && topic_station(prefix(h), h->config->hub, hs->config->name, kind, &hs->topics[kind]) < 0)
                hs->topics[kind] = NULL;
        return hs->topics[kind];
}

static void publish_station(Hub *h, HubStation *hs, TopicStation kind, json_object *o, int qos, bool retain) {
        const char *topic = station_topic(h, hs, kind);

        if (topic)
                publish_json(h, topic, o, qos, retain);
}

/* Every key given to these is a string literal, added once to its object: json-c need not
 * copy it or look for it first (the state document has 27 keys, refreshed at 4 Hz). */
static void add(json_object *o, const char *k, json_object *v) {
        json_object_object_add_ex(o, k, v, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

static void add_str(json_object *o, const char *k, const char *v) {
        add(o, k, v ? json_object_new_string(v) : NULL);
}

static void add_ms_or_null(json_object *o, const char *k, int64_t ms) {
        add(o, k, ms >= 0 ? json_object_new_int64(ms) : NULL);
}

/* A number at its documented precision, written as such ("61.8", not json-c's %.17g
 * "61.799999999999997", and without printf); null if not finite. */
static json_object *new_decimal(double v, unsigned decimals) {
        char buf[32];
        double p = decimals == 1 ? 10 : 100;

        if (decimal_format(buf, sizeof buf, v, decimals) < 0)
                return NULL;
        return json_object_new_double_s(round(v * p) / p, buf);
}

static void add_newtons_or_null(json_object *o, const char *k, double v) {
        add(o, k, new_decimal(v, 1));
}

/* What comes after the current rep or rest (docs/mqtt.md, `next`). */
static json_object *next_json(const EngineNext *n) {
        json_object *o;

        if (n->kind == NEXT_NONE || !(o = json_object_new_object()))
                return NULL;
        add_str(o, "kind", engine_next_kind_to_string(n->kind));
        add(o, "step", n->step >= 0 ? json_object_new_int(n->step) : NULL);
        add_str(o, "point", n->point);
        add_str(o, "label", n->label);
        add_str(o, "side", n->side);
        return o;
}

static const ProtocolStep *step_of(Station *s, int step) {
        const Protocol *p = station_protocol_in_use(s);
        return p && step >= 0 && (size_t) step < p->n_steps ? &p->steps[step] : NULL;
}

/* ---- live state ---- */

static int state_tick(sd_event_source *src, uint64_t usec, void *userdata);

static json_object *state_json(Hub *h, HubStation *hs, const EngineStatus *st, const Cue *cue, const Protocol *sel) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *w = json_object_new_array();
        const ProtocolStep *ps = step_of(hs->station, st->step);
        char at[32];

        if (!o || !w)
                return NULL;
        add_str(o, "state", cue_kind_to_string(st->state));
        add_str(o, "session_id", st->session_id);
        add_str(o, "athlete", st->athlete);
        add_str(o, "protocol", st->protocol);
        add(o, "step", st->step >= 0 ? json_object_new_int(st->step) : NULL);
        add_str(o, "point", ps ? ps->point : NULL);
        add_str(o, "label", st->point_label);
        add(o, "rep", st->rep ? json_object_new_int((int) st->rep) : NULL);
        add(o, "remaining_ms", st->remaining_ms >= 0 ? json_object_new_int64(st->remaining_ms) : NULL);
        add(o, "force_n", new_decimal(st->force_n, 1));
        add(o, "tool_connected", json_object_new_boolean(st->tool_connected));
        add_str(o, "selected_protocol", sel ? sel->name : NULL);
        if (cue->warnings & CUE_WARN_OVER_FORCE)
                json_object_array_add(w, json_object_new_string("over_force"));
        if (cue->warnings & CUE_WARN_OVER_HOLD)
                json_object_array_add(w, json_object_new_string("over_hold"));
        if (cue->warnings & CUE_WARN_TOOL_LOST)
                json_object_array_add(w, json_object_new_string("tool_lost"));
        add(o, "warnings", TAKE_PTR(w));
        /* What the athlete is told: for station screens, phones and spoken cues. */
        add(o, "steps_total", st->steps_total >= 0 ? json_object_new_int(st->steps_total) : NULL);
        add_str(o, "side", st->side);
        add_str(o, "muscle", st->muscle);
        add_str(o, "instruction", st->instruction);
        add_str(o, "prompt", st->prompt);
        add_str(o, "release_reason", cue_release_to_string(st->release));
        add(o, "tap_counts", json_object_new_boolean(st->tap_counts));
        add_ms_or_null(o, "target_hold_ms", st->target_hold_ms);
        add_newtons_or_null(o, "target_min_n", st->target_min_n);
        add_newtons_or_null(o, "target_max_n", st->target_max_n);
        add_newtons_or_null(o, "safety_max_n", st->safety_max_n);
        add(o, "next", next_json(&st->next));
        add_str(o, "safety_notice", st->safety_notice);
        add_str(o, "at", iso_now(at));
        return TAKE_PTR(o);
}

static bool same_double(double a, double b) {
        return a == b || (isnan(a) && isnan(b));
}

/* Whether a document made from a differs from one made from b only in remaining_ms,
 * force_n and at. Strings are compared by address: each points into the session, its
 * protocol or a constant, and none of those changes while its cue lasts (a new cue, a
 * select, a reload or a new connection makes the whole document again). */
static bool status_same_but_time(const EngineStatus *a, const EngineStatus *b) {
        return a->state == b->state && a->protocol == b->protocol && a->athlete == b->athlete &&
               a->session_id == b->session_id && a->step == b->step && a->point_label == b->point_label &&
               a->rep == b->rep && a->tool_connected == b->tool_connected && a->steps_total == b->steps_total &&
               a->side == b->side && a->muscle == b->muscle && a->instruction == b->instruction &&
               a->prompt == b->prompt && a->release == b->release && a->tap_counts == b->tap_counts &&
               a->target_hold_ms == b->target_hold_ms && same_double(a->target_min_n, b->target_min_n) &&
               same_double(a->target_max_n, b->target_max_n) && same_double(a->safety_max_n, b->safety_max_n) &&
               a->next.kind == b->next.kind && a->next.step == b->next.step && a->next.point == b->next.point &&
               a->next.label == b->next.label && a->next.side == b->next.side &&
               a->safety_notice == b->safety_notice && (a->remaining_ms >= 0) == (b->remaining_ms >= 0);
}

/* refresh: the countdown's 4 Hz tick. When nothing but the time and the force moved since
 * the document was made, those three fields are replaced in it rather than the whole
 * document (27 keys) made again. */
static void publish_state_ext(Hub *h, HubStation *hs, bool refresh) {
        nsec_t now = now_monotonic();
        EngineStatus st;
        const Cue *cue = engine_cue(station_engine(hs->station));
        const Protocol *sel = hub_station_protocol(h, hs);
        char at[32];

        if (!h->mqtt)
                return;
        station_status(hs->station, now, &st);
        if (refresh && hs->state_doc && cue->warnings == hs->state_warnings && sel == hs->state_selected &&
            status_same_but_time(&st, &hs->state_status)) {
                json_object *o = hs->state_doc;
                json_object_object_add_ex(o, "remaining_ms", st.remaining_ms >= 0 ? json_object_new_int64(st.remaining_ms) : NULL,
                                          JSON_C_OBJECT_ADD_CONSTANT_KEY);
                json_object_object_add_ex(o, "force_n", new_decimal(st.force_n, 1), JSON_C_OBJECT_ADD_CONSTANT_KEY);
                json_object_object_add_ex(o, "at", json_object_new_string(iso_now(at)), JSON_C_OBJECT_ADD_CONSTANT_KEY);
        } else {
                json_object_put(hs->state_doc);
                hs->state_doc = state_json(h, hs, &st, cue, sel);
                hs->state_warnings = cue->warnings;
                hs->state_selected = sel;
        }
        hs->state_status = st;
        if (!hs->state_doc)
                return;
        publish_station(h, hs, TOPIC_STATION_STATE, hs->state_doc, 0, true);

        /* Keep a countdown moving on dashboards; an open-ended state needs no refresh. */
        if (cue->due_ns > now) {
                if (!hs->state_timer) {
                        if (sd_event_add_time_relative(h->event, &hs->state_timer, CLOCK_MONOTONIC, STATE_PERIOD_USEC,
                                                       10 * 1000, state_tick, h) < 0)
                                return;
                        (void) sd_event_source_set_description(hs->state_timer, "mqtt-state");
                } else {
                        (void) sd_event_source_set_time_relative(hs->state_timer, STATE_PERIOD_USEC);
                        (void) sd_event_source_set_enabled(hs->state_timer, SD_EVENT_ONESHOT);
                }
        } else if (hs->state_timer)
                (void) sd_event_source_set_enabled(hs->state_timer, SD_EVENT_OFF);
}

static void publish_state(Hub *h, HubStation *hs) {
        publish_state_ext(h, hs, false);
}

static int state_tick(sd_event_source *src, uint64_t usec, void *userdata) {
        Hub *h = userdata;

        for (size_t i = 0; i < h->n_stations; i++)
                if (h->stations[i]->state_timer == src)
                        publish_state_ext(h, h->stations[i], true);
        return 0;
}

static void on_cue(Station *s, const Cue *cue, void *userdata) {
        HubStation *hs = userdata;

        publish_state(hs->hub, hs);
}

void hub_mqtt_station_stop(HubStation *hs) {
        hub_mqtt_station_forget(hs);
        hs->state_timer = sd_event_source_disable_unref(hs->state_timer);
        hs->force_timer = sd_event_source_disable_unref(hs->force_timer);
}

/* ---- events, force ---- */

static void on_event(Station *s, const EngineEvent *ev, void *userdata) {
        HubStation *hs = userdata;
        Hub *h = hs->hub;
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        const Session *session = station_session(hs->station);
        const ProtocolStep *ps = step_of(hs->station, ev->step);
        char at[32];

        if (!o || !h->mqtt)
                return;
        add_str(o, "type", engine_event_type_to_string(ev->type));
        add_str(o, "station", hs->config->name);
        add_str(o, "session_id", session ? session->id : NULL);
        add(o, "step", ev->step >= 0 ? json_object_new_int(ev->step) : NULL);
        add_str(o, "point", ps ? ps->point : NULL);
        add_str(o, "label", ps ? ps->label : NULL);
        add(o, "rep", ev->rep ? json_object_new_int((int) ev->rep) : NULL);
        add(o, "value", new_decimal(ev->value, 1));
        if ((int) ev->outcome >= 0)
                add_str(o, "outcome", rep_outcome_to_string(ev->outcome));
        if (ev->type == EVENT_SESSION_END)
                add_str(o, "status", session_status_to_string(ev->status));
        add_str(o, "at", format_iso8601(at, sizeof at, (nsec_t) ((int64_t) ev->at + (int64_t) now_realtime() -
                                                                   (int64_t) now_monotonic())));
        publish_station(h, hs, TOPIC_STATION_EVENT, o, 1, false);
}

/* Realtime of a CLOCK_MONOTONIC instant (for "t" fields). */
static nsec_t mono_to_realtime(nsec_t mono) {
        return (nsec_t) ((int64_t) mono + (int64_t) now_realtime() - (int64_t) now_monotonic());
}

/* One batch: seq, the first sample's time, the interval, the samples (docs/mqtt.md). seq
 * counts every batch made, also those the client could not send, so that a consumer tells
 * a lost message (seq skips) from a pause in the samples (seq consecutive, time jumps). */
static void force_flush(Hub *h, HubStation *hs) {
        const char *topic;
        char at[32];
        int r;

        if (hs->n_force_batch == 0)
                return;
        if (hs->n_force_batch > 1)
                hs->force_dt_ms = (double) (hs->force_batch_last - hs->force_batch_first) / 1e6 /
                                  (hs->n_force_batch - 1);
        /* QoS 0 and only for live plots: nothing is kept for later while offline. The text
         * goes into the station's own buffer (Paho copies it): no allocation per batch. */
        if (mqtt_client_is_connected(h->mqtt) && (topic = station_topic(h, hs, TOPIC_STATION_FORCE))) {
                r = force_json_format(hs->force_text, sizeof hs->force_text, hs->force_seq,
                                      format_iso8601(at, sizeof at, mono_to_realtime(hs->force_batch_first)),
                                      hs->force_dt_ms, hs->force_batch, hs->n_force_batch);
                if (r >= 0) {
                        r = mqtt_client_publish(h->mqtt, topic, hs->force_text, (size_t) r, 0, false, NULL, NULL);
                        if (r < 0 && r != -ENOTCONN)
                                log_debug("MQTT: publish to %s failed: %s", topic, strerror(-r));
                }
        }
        hs->force_seq++;
        hs->n_force_batch = 0;
}

/* Batch boundaries come from a timer at the configured rate, not from the samples: gated on
 * a sample's arrival, a 10 Hz rate gave about 8.4 batches a second (a batch closed only with
 * the first sample past its period). Boundaries are absolute (each one period after the
 * last), so the rate does not drift; with no sample for a whole period the timer sleeps
 * until the next sample. */
#define FORCE_TIMER_ACCURACY_USEC 1000

static uint64_t force_period_usec(double rate) {
        return (uint64_t) (1e6 / rate);
}

static int force_tick(sd_event_source *src, uint64_t usec, void *userdata) {
        HubStation *hs = userdata;
        Hub *h = hs->hub;
        double rate = h->config->mqtt.force_rate_hz;
        uint64_t next, now = now_monotonic() / NSEC_PER_USEC;

        if (hs->n_force_batch == 0 || !h->mqtt || rate <= 0)
                return sd_event_source_set_enabled(src, SD_EVENT_OFF);
        force_flush(h, hs);
        next = usec + force_period_usec(rate);
        if (next <= now)   /* the loop was held up for a whole period: start afresh */
                next = now + force_period_usec(rate);
        (void) sd_event_source_set_time(src, next);
        return sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
}

static void force_timer_arm(Hub *h, HubStation *hs, nsec_t first, double rate) {
        uint64_t at = first / NSEC_PER_USEC + force_period_usec(rate);
        int enabled = SD_EVENT_OFF;

        if (!hs->force_timer) {
                if (sd_event_add_time(h->event, &hs->force_timer, CLOCK_MONOTONIC, at, FORCE_TIMER_ACCURACY_USEC,
                                      force_tick, hs) < 0)
                        return;
                (void) sd_event_source_set_description(hs->force_timer, "mqtt-force");
                (void) sd_event_source_set_enabled(hs->force_timer, SD_EVENT_ONESHOT);
                return;
        }
        if (sd_event_source_get_enabled(hs->force_timer, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return;   /* ticking: the batch ends at the next boundary */
        (void) sd_event_source_set_time(hs->force_timer, at);
        (void) sd_event_source_set_enabled(hs->force_timer, SD_EVENT_ONESHOT);
}

static void on_force(Station *s, double newtons, nsec_t now, void *userdata) {
        HubStation *hs = userdata;
        Hub *h = hs->hub;
        double rate = h->config->mqtt.force_rate_hz;
        nsec_t period;

        if (!h->mqtt || rate <= 0)
                return;
        period = (nsec_t) (1e9 / rate);
        /* A pause in the samples ends the batch: a batch is evenly spaced by definition. */
        if (hs->n_force_batch > 0 && now - hs->force_batch_last > MAX(period, (nsec_t) 200 * 1000 * 1000))
                force_flush(h, hs);
        if (hs->n_force_batch == 0)
                hs->force_batch_first = now;
        hs->force_batch[hs->n_force_batch++] = (float) newtons;
        hs->force_batch_last = now;
        if (hs->n_force_batch == HUB_FORCE_BATCH_MAX)
                force_flush(h, hs);
        force_timer_arm(h, hs, now, rate);
}

/* ---- tools ---- */

void hub_mqtt_tool(Hub *h, const char *address) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_free_ char *topic = NULL;
        BleToolInfo info;
        char at[32];

        if (!o || !h->mqtt || !h->ble || ble_manager_tool_info(h->ble, address, &info) < 0)
                return;
        if (topic_tool(prefix(h), h->config->hub, address, &topic) < 0)
                return;
        add_str(o, "type", info.driver);
        add_str(o, "name", info.name);
        add(o, "connected", json_object_new_boolean(info.connected));
        add(o, "battery", info.battery >= 0 ? json_object_new_int(info.battery) : NULL);
        add(o, "battery_mv", info.battery_mv >= 0 ? json_object_new_int(info.battery_mv) : NULL);
        add(o, "rssi", info.has_rssi ? json_object_new_int(info.rssi) : NULL);
        if (info.last_seen)
                add_str(o, "last_seen", format_iso8601(at, sizeof at, (nsec_t) ((int64_t) info.last_seen +
                                                       (int64_t) now_realtime() - (int64_t) now_monotonic())));
        else
                add_str(o, "last_seen", NULL);
        /* Whether force at rest reads 0: "ok", "in_doubt" (taken from the first steady reading
         * with nothing known before: tare it unloaded) or "none" (raw values). */
        add(o, "zero_n", info.zero != BLE_ZERO_NONE ?
                               new_decimal(info.zero_n, 2) : NULL);
        add_str(o, "zero", ble_zero_state_to_string(info.zero));
        publish_json(h, topic, o, 1, true);
        hub_ha_tool(h, address);
}

/* A tool came or went: links on status changed. */
void hub_mqtt_links_changed(Hub *h) {
        if (h->mqtt && mqtt_client_is_connected(h->mqtt))
                (void) mqtt_client_publish_status(h->mqtt);
}

static int tools_tick(sd_event_source *src, uint64_t usec, void *userdata) {
        Hub *h = userdata;

        for (size_t i = 0; h->ble && ble_manager_tool_at(h->ble, i); i++)
                hub_mqtt_tool(h, ble_manager_tool_at(h->ble, i));
        /* uptime and links on status stay current too */
        if (h->mqtt && mqtt_client_is_connected(h->mqtt))
                (void) mqtt_client_publish_status(h->mqtt);
        (void) sd_event_source_set_time_relative(src, TOOLS_PERIOD_USEC);
        return 0;
}

/* ---- finished sessions: the summaries (the record itself: hub-outbox.c) ---- */

/* The retained last_session summary: a dashboard opened late still shows what each station
 * did last. Built from the session document, so it says exactly what the record says. */
static void publish_last_session(Hub *h, HubStation *hs, const char *json) {
        _cleanup_(json_object_putp) json_object *doc = json_tokener_parse(json), *o = json_object_new_object(),
                                                *outcomes = json_object_new_object();
        static const char *const keep[] = { "id", "athlete", "protocol", "status", "started_at", "ended_at",
                                            "duration_ms" };
        json_object *steps, *v;
        int points = 0;

        if (!doc || !o || !outcomes)
                return;
        for (size_t i = 0; i < ELEMENTSOF(keep); i++)
                if (json_object_object_get_ex(doc, keep[i], &v))
                        json_object_object_add(o, keep[i], json_object_get(v));
        if (json_object_object_get_ex(doc, "steps", &steps) && json_object_is_type(steps, json_type_array))
                for (size_t i = 0; i < json_object_array_length(steps); i++) {
                        json_object *reps, *outcome;
                        bool reached = false;

                        if (!json_object_object_get_ex(json_object_array_get_idx(steps, i), "reps", &reps))
                                continue;
                        for (size_t k = 0; k < json_object_array_length(reps); k++) {
                                const char *name;
                                json_object *n;

                                if (!json_object_object_get_ex(json_object_array_get_idx(reps, k), "outcome", &outcome))
                                        continue;
                                name = json_object_get_string(outcome);
                                reached = true;
                                if (json_object_object_get_ex(outcomes, name, &n))
                                        json_object_set_int(n, json_object_get_int(n) + 1);
                                else
                                        json_object_object_add(outcomes, name, json_object_new_int(1));
                        }
                        points += reached;
                }
        json_object_object_add(o, "points", json_object_new_int(points));
        json_object_object_add(o, "reps", TAKE_PTR(outcomes));
        publish_station(h, hs, TOPIC_STATION_LAST_SESSION, o, 1, true);
}

/* After the outbox took the record (STATION_WATCH_DURABLE): the summaries. */
static void on_finished(Station *s, const Session *session, const Protocol *protocol, void *userdata) {
        HubStation *hs = userdata;
        Hub *h = hs->hub;
        _cleanup_free_ char *json = NULL;

        if (!h->mqtt)
                return;
        if (session_to_json_string(session, protocol, false, &json) < 0)
                return;   /* hub-outbox.c said so */
        publish_last_session(h, hs, json);
        hub_history_record(h, hs, json);
}

/* ---- commands ---- */

/* Commands (docs/mqtt.md, "Rate and replies"): a station takes at most CMD_BURST commands at
 * once and CMD_RATE_PER_S per second after that; the rest are dropped unanswered and counted.
 * Every accepted command is answered: its reply is queued (at most HUB_REPLIES_MAX hub-wide,
 * else the command is dropped before it runs) and published with at most
 * HUB_REPLIES_INFLIGHT in flight, so Paho's in-flight window never refuses one. */
#define CMD_BURST 20.0
#define CMD_RATE_PER_S 10.0
#define HUB_REPLIES_MAX 256U
#define HUB_REPLIES_INFLIGHT 8U

static void replies_pump(Hub *h);

static int status_tick(sd_event_source *src, uint64_t usec, void *userdata) {
        Hub *h = userdata;

        h->status_timer = sd_event_source_disable_unref(h->status_timer);
        if (h->mqtt)
                (void) mqtt_client_publish_status(h->mqtt);
        return 0;
}

static void counters_changed(Hub *h) {
        if (h->status_timer || !h->mqtt)
                return;
        if (sd_event_add_time_relative(h->event, &h->status_timer, CLOCK_MONOTONIC, 1000 * 1000, 100 * 1000,
                                       status_tick, h) >= 0)
                (void) sd_event_source_set_description(h->status_timer, "mqtt-status-counters");
}

static void reply_done(MqttClient *c, int error, void *userdata) {
        Hub *h = userdata;

        h->replies_inflight--;
        if (error < 0) {
                h->replies_failed++;
                log_warning("MQTT: a command reply was not delivered: %s", strerror(-error));
                counters_changed(h);
        }
        if (h->mqtt == c)
                replies_pump(h);
}

static void replies_pump(Hub *h) {
        while (h->mqtt && h->n_replies > 0 && h->replies_inflight < HUB_REPLIES_INFLIGHT) {
                HubReply *q = &h->replies[h->reply_head];
                int r = mqtt_client_publish(h->mqtt, q->topic, q->json, strlen(q->json), 1, false, reply_done, h);

                if (r == -ENOBUFS || r == -EAGAIN)
                        return;   /* Paho is full: the next completion pumps again */
                if (r < 0) {
                        h->replies_failed++;
                        log_warning_errno(r, "MQTT: cannot publish a command reply: %m");
                        counters_changed(h);
                } else
                        h->replies_inflight++;
                free(q->topic);
                free(q->json);
                h->reply_head = (h->reply_head + 1) % HUB_REPLIES_MAX;
                h->n_replies--;
        }
}

static void replies_clear(Hub *h) {
        for (; h->n_replies > 0; h->n_replies--) {
                free(h->replies[h->reply_head].topic);
                free(h->replies[h->reply_head].json);
                h->reply_head = (h->reply_head + 1) % HUB_REPLIES_MAX;
        }
        free(h->replies);
        h->replies = NULL;
        h->reply_head = 0;
}

static void reply(Hub *h, HubStation *hs, const char *id, const char *error) {
        _cleanup_free_ char *json = NULL, *topic = NULL;
        HubReply *q;

        if (!h->replies) {
                h->replies = calloc(HUB_REPLIES_MAX, sizeof(HubReply));
                if (!h->replies)
                        return;
        }
        if (h->n_replies >= HUB_REPLIES_MAX)
                return;   /* cannot happen: accept() keeps a slot for every accepted command */
        if (mqtt_command_reply_json(id && *id ? id : NULL, !error, error, &json) < 0)
                return;
        if (topic_station(prefix(h), h->config->hub, hs->config->name, TOPIC_STATION_CMD_REPLY, &topic) < 0)
                return;
        q = &h->replies[(h->reply_head + h->n_replies) % HUB_REPLIES_MAX];
        q->topic = TAKE_PTR(topic);
        q->json = TAKE_PTR(json);
        h->n_replies++;
        replies_pump(h);
}

/* Whether a command arriving now at hs is taken (and so answered). */
static bool accept_command(Hub *h, HubStation *hs, nsec_t now) {
        if (hs->cmd_refilled == 0)
                hs->cmd_tokens = CMD_BURST;
        else
                hs->cmd_tokens = MIN(CMD_BURST, hs->cmd_tokens + (double) (now - hs->cmd_refilled) / 1e9 * CMD_RATE_PER_S);
        hs->cmd_refilled = now;
        if (hs->cmd_tokens < 1.0 || h->n_replies >= HUB_REPLIES_MAX) {
                if (h->commands_dropped++ == 0)
                        log_warning("%s: commands come faster than %.0f/s: dropping the excess unanswered (counted in "
                                    "the status as commands_dropped).", hs->config->name, CMD_RATE_PER_S);
                counters_changed(h);
                return false;
        }
        hs->cmd_tokens -= 1.0;
        return true;
}

/* Carries out what hub_command_decide() said (hub-command.c); the reply's error, or NULL. */
static const char *run_command(Hub *h, HubStation *hs, const MqttCommand *cmd) {
        nsec_t now = now_monotonic();
        HubCommandState st = {
                .config = h->config,
                .station_protocol = hub_station_protocol(h, hs),
                .busy = station_busy(hs->station),
                .cue = engine_cue(station_engine(hs->station))->kind,
        };
        HubAction a;
        const char *error;
        char *name;

        error = hub_command_decide(cmd, &st, &a);
        if (error)
                return error;
        switch (a.kind) {
        case HUB_ACTION_START:
                return station_start(hs->station, a.protocol, a.athlete, now) < 0 ? "cannot start" : NULL;
        case HUB_ACTION_STOP:
                return station_stop(hs->station, now) < 0 ? "no session is running" : NULL;
        case HUB_ACTION_SKIP:
                return station_skip(hs->station, now) < 0 ? "no session is running" : NULL;
        case HUB_ACTION_TARE:
                /* The tools' own zero (hub-ble.c), never a second offset in the engine. */
                return hub_ble_tare(h, hs, now);
        case HUB_ACTION_SELECT:
                name = strdup(a.protocol->name);
                if (!name)
                        return "out of memory";
                free(hs->selected_protocol);
                hs->selected_protocol = name;
                publish_state(h, hs); /* the select shows the choice */
                return NULL;
        case HUB_ACTION_NONE:
                break;
        }
        return "unknown command";
}

static void on_message(MqttClient *c, const char *topic, const void *payload, size_t len, bool retained,
                       void *userdata) {
        Hub *h = userdata;
        _cleanup_free_ char *station = NULL;
        const char *error = NULL;
        MqttCommand cmd = {};
        HubStation *hs;
        int r;

        if (hub_ha_message(h, topic, payload, len, retained))
                return;
        if (topic_parse_cmd(prefix(h), h->config->hub, topic, &station) < 0)
                return;
        hs = hub_find_station(h, station);
        if (!hs) {
                log_debug("MQTT: command for unknown station \"%s\" ignored", station);
                return;
        }
        if (retained && len == 0)
                return;   /* a retained command being cleared (by us, below): nothing to run */
        if (!accept_command(h, hs, now_monotonic()))
                return;
        r = mqtt_command_parse(payload, len, &cmd, &error);
        if (retained) {
                /* A retained command would run again at every reconnect: refuse it and clear it
                 * from the broker (an empty retained message deletes the retained one). */
                reply(h, hs, cmd.id, "retained commands are refused");
                (void) mqtt_client_publish(h->mqtt, topic, "", 0, 1, true, NULL, NULL);
                return;
        }
        if (r < 0) {
                /* the id, when the payload had a usable one, names the command anyway */
                log_info("%s: refused a malformed command: %s", hs->config->name, error);
                reply(h, hs, cmd.id, error);
                return;
        }
        if (hub_archive_command(h, hs, &cmd))
                return;
        error = run_command(h, hs, &cmd);
        log_info("%s: command %s%s%s", hs->config->name, mqtt_command_verb_to_string(cmd.verb),
                 error ? ": " : "", error ?: "");
        reply(h, hs, cmd.id, error);
}

/* ---- connection ---- */

void hub_mqtt_republish(Hub *h) {
        for (size_t i = 0; i < h->n_stations; i++)
                publish_state(h, h->stations[i]);
        for (size_t i = 0; h->ble && ble_manager_tool_at(h->ble, i); i++)
                hub_mqtt_tool(h, ble_manager_tool_at(h->ble, i));
}

static void on_connected(MqttClient *c, void *userdata) {
        Hub *h = userdata;

        log_info("MQTT: connected to %s", h->config->mqtt.client.uri);
        hub_meta_connected(h);
        hub_ha_connected(h);
        hub_mqtt_republish(h);
        for (size_t i = 0; i < h->n_stations; i++)
                hub_history_publish(h, h->stations[i]);
        publisher_connected(h->publisher);
}

static void on_connection_lost(MqttClient *c, const char *cause, void *userdata) {
        log_warning("MQTT: connection lost%s%s; reconnecting with backoff.", cause ? ": " : "", cause ?: "");
}

static void on_connect_failed(MqttClient *c, int code, const char *message, void *userdata) {
        Hub *h = userdata;
        log_warning("MQTT: cannot connect to %s (%d%s%s); retrying with backoff.", h->config->mqtt.client.uri, code,
                    message ? ": " : "", message ?: "");
}

/* What a dashboard shows of a hub besides online/offline: links, uptime, the clock, and
 * the protocols a coach or athlete may start. */
static void add_status_dashboard(Hub *h, json_object *status) {
        json_object *protocols = json_object_new_array();
        int clock;

        json_object_object_add(status, "links", json_object_new_int((int) hub_links_in_use(h)));
        json_object_object_add(status, "links_max", json_object_new_int((int) h->config->ble.manager.max_links));
        json_object_object_add(status, "uptime_s", json_object_new_int64(
                                       (int64_t) ((now_monotonic() - h->started_mono) / 1000000000ULL)));
        clock = sysinfo_clock_synced(NULL);
        json_object_object_add(status, "clock_synced", clock >= 0 ? json_object_new_boolean(clock) : NULL);
        for (size_t i = 0; protocols && i < h->config->n_protocols; i++) {
                const Protocol *p = h->config->protocols[i];
                json_object *o = json_object_new_object();
                if (!o)
                        break;
                add_str(o, "name", p->name);
                add_str(o, "title", p->title);
                json_object_object_add(o, "steps", json_object_new_int((int) p->n_steps));
                json_object_array_add(protocols, o);
        }
        json_object_object_add(status, "protocols", protocols);
}

static void on_online_status(MqttClient *c, json_object *status, void *userdata) {
        Hub *h = userdata;
        json_object *stations = json_object_new_array();

        for (size_t i = 0; stations && i < h->n_stations; i++)
                json_object_array_add(stations, json_object_new_string(h->stations[i]->config->name));
        json_object_object_add(status, "hub", json_object_new_string(h->config->hub));
        json_object_object_add(status, "stations", stations);
        json_object_object_add(status, "spool", json_object_new_int64(h->outbox ? (int64_t) outbox_count(h->outbox) : 0));
        json_object_object_add(status, "spool_max", json_object_new_int64(h->outbox ? (int64_t) outbox_max_items(h->outbox) : 0));
        json_object_object_add(status, "backlog", json_object_new_int64(h->publisher ? (int64_t) publisher_backlog(h->publisher) : 0));
        add_status_dashboard(h, status);
        json_object_object_add(status, "commands_dropped",
                               json_object_new_int64((int64_t) (h->commands_dropped + mqtt_client_incoming_dropped(h->mqtt))));
        json_object_object_add(status, "replies_failed", json_object_new_int64((int64_t) h->replies_failed));
        if (h->spool_trouble)
                json_object_object_add(status, "spool_error", json_object_new_string(
                                               "the session spool is full or not writable: sessions are not durable"));
        hub_audio_status(h, status);
}

static void on_log(MqttClient *c, MqttLogLevel level, const char *message, void *userdata) {
        log_internal((int) level, 0, "MQTT: %s", message);
}

#define SPOOL_RECHECK_USEC (5 * 1000 * 1000)

static int spool_recheck(sd_event_source *src, uint64_t usec, void *userdata);

static void spool_recheck_arm(Hub *h) {
        if (h->spool_timer)
                return;
        if (sd_event_add_time_relative(h->event, &h->spool_timer, CLOCK_MONOTONIC, SPOOL_RECHECK_USEC, 100 * 1000,
                                       spool_recheck, h) >= 0)
                (void) sd_event_source_set_description(h->spool_timer, "spool-recheck");
}

/* The alarm holds until the condition is really gone: nothing waits in memory, the spool is
 * below its bound, and a probe write of a whole document's room succeeds. */
static int spool_recheck(sd_event_source *src, uint64_t usec, void *userdata) {
        Hub *h = userdata;
        int r;

        h->spool_timer = sd_event_source_disable_unref(h->spool_timer);
        if (!h->spool_trouble || !h->outbox)
                return 0;
        r = outbox_check_room(h->outbox);
        if (r < 0 || publisher_backlog(h->publisher) > 0 || outbox_count(h->outbox) >= outbox_max_items(h->outbox)) {
                spool_recheck_arm(h);
                return 0;
        }
        h->spool_trouble = false;
        log_notice("Session spool %s is writable and has room again.", outbox_dir(h->outbox));
        (void) mqtt_client_publish_status(h->mqtt);
        return 0;
}

/* The spool is the promise that no session is lost: when it cannot keep it, say so loudly. */
static void on_publisher_report(SessionPublisher *p, PublisherReport what, int error, const char *name,
                                const char *id, void *userdata) {
        Hub *h = userdata;

        switch (what) {
        case PUBLISHER_DELIVERED:
                /* Not an all-clear: a document delivered from memory says nothing about the
                 * disk. The recheck timer decides (spool_recheck). */
                log_info("MQTT: session %s delivered", id ?: name ?: "?");
                return;
        case PUBLISHER_SPOOL_FULL:
                log_error("Session spool %s is FULL (%zu sessions): session %s is kept in memory only until the "
                          "broker takes it.", outbox_dir(h->outbox), outbox_max_items(h->outbox), id ?: "?");
                break;
        case PUBLISHER_SPOOL_ERROR:
                log_error_errno(error, "Session spool %s refused session %s (%m): kept in memory only.",
                                outbox_dir(h->outbox), id ?: "?");
                break;
        case PUBLISHER_MEMORY_FULL:
                log_error("Session %s DROPPED: the spool refuses writes and the memory backlog is full.", id ?: "?");
                break;
        case PUBLISHER_PUBLISH_ERROR:
                log_warning_errno(error, "MQTT: publishing session %s failed (%m); it stays spooled.", id ?: name ?: "?");
                return;
        case PUBLISHER_REMOVE_ERROR:
                log_error_errno(error, "Session %s was delivered but %s/%s could not be removed (%m).", id ?: "?",
                                outbox_dir(h->outbox), name ?: "?");
                return;
        case PUBLISHER_BAD_ENTRY:
                log_error("Spool entry %s/%s is unreadable; left in place for inspection.", outbox_dir(h->outbox), name ?: "?");
                return;
        case PUBLISHER_UNKNOWN_FILE:
                log_warning("Spool directory %s holds a foreign file %s; ignored.", outbox_dir(h->outbox), name ?: "?");
                return;
        }
        h->spool_trouble = true;
        (void) mqtt_client_publish_status(h->mqtt);
        spool_recheck_arm(h);
}

MqttClientOptions hub_mqtt_options(const Hub *h, const char *client_id, const char *status_topic) {
        MqttClientOptions o = h->config->mqtt.client;

        o.client_id = client_id;
        o.status_topic = status_topic;
        return o;
}

int hub_mqtt_start(Hub *h) {
        const ConfigMqtt *m = &h->config->mqtt;
        _cleanup_free_ char *status = NULL, *filter = NULL;
        char at[32];
        int r;

        if (!m->enabled)
                return 0;

        if (!h->started_at) {   /* when the daemon started, kept over a reload */
                h->started_at = strdup(iso_now(at));
                if (!h->started_at)
                        return log_oom();
        }

        /* the outbox (hub-outbox.c) is open whenever paths.spool is set */
        if (!h->outbox)
                return log_error_errno(EINVAL, "MQTT needs paths.spool: finished sessions are spooled before publishing.");

        r = topic_status(prefix(h), h->config->hub, &status);
        if (r < 0)
                return log_oom();
        MqttClientOptions o = hub_mqtt_options(h, m->client.client_id, status);
        o.software_version = TPHUB_VERSION;
        o.started_at = h->started_at;
        static const MqttClientCallbacks cb = {
                .connected = on_connected,
                .connection_lost = on_connection_lost,
                .connect_failed = on_connect_failed,
                .message = on_message,
                .online_status = on_online_status,
                .log = on_log,
        };
        r = mqtt_client_new(&h->mqtt, h->event, &o, &cb, h);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the MQTT client for %s: %m", m->client.uri);
        r = publisher_new(&h->publisher, h->mqtt, h->outbox, 0, on_publisher_report, h);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the session publisher: %m");

        r = hub_archive_start(h);
        if (r < 0)
                return r;

        r = topic_cmd_filter(prefix(h), h->config->hub, &filter);
        if (r < 0)
                return log_oom();
        r = mqtt_client_subscribe(h->mqtt, filter, 1);
        if (r < 0)
                return log_error_errno(r, "Cannot subscribe to %s: %m", filter);
        r = hub_ha_start(h);
        if (r < 0)
                return r;
        r = hub_meta_start(h);
        if (r < 0)
                return r;
        r = mqtt_client_connect(h->mqtt);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to %s: %m", m->client.uri);
        r = sd_event_add_time_relative(h->event, &h->tools_timer, CLOCK_MONOTONIC, TOOLS_PERIOD_USEC,
                                       1000 * 1000, tools_tick, h);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the tools refresh timer: %m");
        (void) sd_event_source_set_enabled(h->tools_timer, SD_EVENT_ON);
        (void) sd_event_source_set_description(h->tools_timer, "mqtt-tools");
        return 0;
}

void hub_mqtt_stop(Hub *h) {
        MqttClient *c;

        h->tools_timer = sd_event_source_disable_unref(h->tools_timer);
        h->status_timer = sd_event_source_disable_unref(h->status_timer);
        h->spool_timer = sd_event_source_disable_unref(h->spool_timer);
        for (size_t i = 0; i < h->n_stations; i++)
                hub_mqtt_station_stop(h->stations[i]);
        hub_ha_stop(h);
        hub_meta_stop(h);
        /* The publisher goes before the client it uses; replies still in flight complete
         * (cancelled) while the client is freed, with h->mqtt already cleared. */
        h->publisher = publisher_free(h->publisher);
        c = TAKE_PTR(h->mqtt);
        mqtt_client_free(c);
        replies_clear(h);
        hub_archive_stop(h);
}

int hub_mqtt_reload(Hub *h, const Config *old) {
        for (size_t i = 0; i < h->n_stations; i++)
                hub_mqtt_station_forget(h->stations[i]);   /* names and documents may have changed */
        if (!config_mqtt_equal(old, h->config) || (h->config->mqtt.enabled && !h->mqtt)) {
                hub_mqtt_stop(h);
                return hub_mqtt_start(h);
        }
        /* Same broker, same spool: the connection stays; the status, meta and discovery
         * describe the new stations (and delete what left), the state documents follow. */
        if (h->mqtt && mqtt_client_is_connected(h->mqtt)) {
                (void) mqtt_client_publish_status(h->mqtt);
                hub_meta_connected(h);
                hub_ha_connected(h);
                hub_mqtt_republish(h);
        }
        return 0;
}

static void shutdown_done(MqttClient *c, void *userdata) {
        Hub *h = userdata;

        if (h->stopped)
                h->stopped(h->stopped_userdata);
}

int hub_mqtt_shutdown(Hub *h) {
        int r;

        h->tools_timer = sd_event_source_disable_unref(h->tools_timer);
        h->status_timer = sd_event_source_disable_unref(h->status_timer);
        h->spool_timer = sd_event_source_disable_unref(h->spool_timer);
        for (size_t i = 0; i < h->n_stations; i++)
                hub_mqtt_station_stop(h->stations[i]);
        hub_meta_shutdown(h);
        if (!h->mqtt)
                return 0;
        r = mqtt_client_shutdown(h->mqtt, SHUTDOWN_TIMEOUT_USEC, shutdown_done, h);
        return r < 0 ? r : 1;
}

int hub_mqtt_attach(HubStation *hs) {
        static const StationWatch watch = {
                .finished = on_finished,
                .event = on_event,
                .cue = on_cue,
                .force = on_force,
        };
        /* announcements last: after the LEDs, the speaker and the outbox */
        return station_add_watch(hs->station, &watch, STATION_WATCH_ANNOUNCE, hs);
}
