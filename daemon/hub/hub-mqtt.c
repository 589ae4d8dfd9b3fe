/* SPDX-License-Identifier: MIT */
/* Wires stations to MQTT (docs/mqtt.md): finished sessions through the durable outbox,
 * running sessions checkpointed at rep boundaries, live state, events, decimated force, tool
 * status, and commands from phones and dashboards. */

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/session-json.h"
#include "hub/hub-private.h"
#include "mqtt/mqtt-command.h"
#include "mqtt/topics.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "store/checkpoint.h"

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

static void publish_station(Hub *h, HubStation *hs, TopicStation kind, json_object *o, int qos, bool retain) {
        _cleanup_free_ char *topic = NULL;

        if (topic_station(prefix(h), h->config->hub, hs->config->name, kind, &topic) < 0)
                return;
        publish_json(h, topic, o, qos, retain);
}

static void add_str(json_object *o, const char *k, const char *v) {
        json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void add_ms_or_null(json_object *o, const char *k, int64_t ms) {
        json_object_object_add(o, k, ms >= 0 ? json_object_new_int64(ms) : NULL);
}

static void add_newtons_or_null(json_object *o, const char *k, double v) {
        json_object_object_add(o, k, isfinite(v) ? json_object_new_double(round(v * 10) / 10) : NULL);
}

/* What comes after the current rep or rest (docs/mqtt.md, `next`). */
static json_object *next_json(const EngineNext *n) {
        json_object *o;

        if (n->kind == NEXT_NONE || !(o = json_object_new_object()))
                return NULL;
        add_str(o, "kind", engine_next_kind_to_string(n->kind));
        json_object_object_add(o, "step", n->step >= 0 ? json_object_new_int(n->step) : NULL);
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

static void publish_state(Hub *h, HubStation *hs) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *w = json_object_new_array();
        nsec_t now = now_monotonic();
        EngineStatus st;
        const Cue *cue = engine_cue(station_engine(hs->station));
        const ProtocolStep *ps;
        char at[32];

        if (!o || !w || !h->mqtt)
                return;
        station_status(hs->station, now, &st);
        ps = step_of(hs->station, st.step);
        add_str(o, "state", cue_kind_to_string(st.state));
        add_str(o, "session_id", st.session_id);
        add_str(o, "athlete", st.athlete);
        add_str(o, "protocol", st.protocol);
        json_object_object_add(o, "step", st.step >= 0 ? json_object_new_int(st.step) : NULL);
        add_str(o, "point", ps ? ps->point : NULL);
        add_str(o, "label", st.point_label);
        json_object_object_add(o, "rep", st.rep ? json_object_new_int((int) st.rep) : NULL);
        json_object_object_add(o, "remaining_ms", st.remaining_ms >= 0 ? json_object_new_int64(st.remaining_ms) : NULL);
        json_object_object_add(o, "force_n", json_object_new_double(round(st.force_n * 10) / 10));
        json_object_object_add(o, "tool_connected", json_object_new_boolean(st.tool_connected));
        if (cue->warnings & CUE_WARN_OVER_FORCE)
                json_object_array_add(w, json_object_new_string("over_force"));
        if (cue->warnings & CUE_WARN_OVER_HOLD)
                json_object_array_add(w, json_object_new_string("over_hold"));
        if (cue->warnings & CUE_WARN_TOOL_LOST)
                json_object_array_add(w, json_object_new_string("tool_lost"));
        json_object_object_add(o, "warnings", TAKE_PTR(w));
        /* What the athlete is told: for station screens, phones and spoken cues. */
        json_object_object_add(o, "steps_total", st.steps_total >= 0 ? json_object_new_int(st.steps_total) : NULL);
        add_str(o, "side", st.side);
        add_str(o, "muscle", st.muscle);
        add_str(o, "instruction", st.instruction);
        add_str(o, "prompt", st.prompt);
        add_str(o, "release_reason", cue_release_to_string(st.release));
        json_object_object_add(o, "tap_counts", json_object_new_boolean(st.tap_counts));
        add_ms_or_null(o, "target_hold_ms", st.target_hold_ms);
        add_newtons_or_null(o, "target_min_n", st.target_min_n);
        add_newtons_or_null(o, "target_max_n", st.target_max_n);
        add_newtons_or_null(o, "safety_max_n", st.safety_max_n);
        json_object_object_add(o, "next", next_json(&st.next));
        add_str(o, "safety_notice", st.safety_notice);
        add_str(o, "at", iso_now(at));
        publish_station(h, hs, TOPIC_STATION_STATE, o, 0, true);

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

static int state_tick(sd_event_source *src, uint64_t usec, void *userdata) {
        Hub *h = userdata;

        for (size_t i = 0; i < h->n_stations; i++)
                if (h->stations[i].state_timer == src)
                        publish_state(h, &h->stations[i]);
        return 0;
}

void hub_mqtt_cue(Hub *h, HubStation *hs) {
        publish_state(h, hs);
}

void hub_mqtt_station_stop(HubStation *hs) {
        hs->state_timer = sd_event_source_disable_unref(hs->state_timer);
}

/* ---- events, force ---- */

void hub_mqtt_event(Hub *h, HubStation *hs, const EngineEvent *ev) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        const Session *session = station_session(hs->station);
        const ProtocolStep *ps = step_of(hs->station, ev->step);
        char at[32];

        if (!o || !h->mqtt)
                return;
        add_str(o, "type", engine_event_type_to_string(ev->type));
        add_str(o, "station", hs->config->name);
        add_str(o, "session_id", session ? session->id : NULL);
        json_object_object_add(o, "step", ev->step >= 0 ? json_object_new_int(ev->step) : NULL);
        add_str(o, "point", ps ? ps->point : NULL);
        add_str(o, "label", ps ? ps->label : NULL);
        json_object_object_add(o, "rep", ev->rep ? json_object_new_int((int) ev->rep) : NULL);
        json_object_object_add(o, "value", json_object_new_double(round(ev->value * 10) / 10));
        if ((int) ev->outcome >= 0)
                add_str(o, "outcome", rep_outcome_to_string(ev->outcome));
        if (ev->type == EVENT_SESSION_END)
                add_str(o, "status", session_status_to_string(ev->status));
        add_str(o, "at", format_iso8601(at, sizeof at, (nsec_t) ((int64_t) ev->at + (int64_t) now_realtime() -
                                                                   (int64_t) now_monotonic())));
        publish_station(h, hs, TOPIC_STATION_EVENT, o, 1, false);
}

void hub_mqtt_force(Hub *h, HubStation *hs, nsec_t now) {
        double rate = h->config->mqtt.force_rate_hz;
        _cleanup_(json_object_putp) json_object *o = NULL;
        EngineStatus st;
        char at[32];

        if (!h->mqtt || rate <= 0 || !mqtt_client_is_connected(h->mqtt))
                return;
        if (hs->force_published && now - hs->force_published < (nsec_t) (1e9 / rate))
                return;
        hs->force_published = now;
        station_status(hs->station, now, &st);
        o = json_object_new_object();
        if (!o)
                return;
        add_str(o, "t", iso_now(at));
        json_object_object_add(o, "force_n", json_object_new_double(round(st.force_n * 10) / 10));
        publish_station(h, hs, TOPIC_STATION_FORCE, o, 0, false);
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
        json_object_object_add(o, "connected", json_object_new_boolean(info.connected));
        json_object_object_add(o, "battery", info.battery >= 0 ? json_object_new_int(info.battery) : NULL);
        json_object_object_add(o, "battery_mv", info.battery_mv >= 0 ? json_object_new_int(info.battery_mv) : NULL);
        if (info.last_seen)
                add_str(o, "last_seen", format_iso8601(at, sizeof at, (nsec_t) ((int64_t) info.last_seen +
                                                       (int64_t) now_realtime() - (int64_t) now_monotonic())));
        else
                add_str(o, "last_seen", NULL);
        publish_json(h, topic, o, 1, true);
}

static int tools_tick(sd_event_source *src, uint64_t usec, void *userdata) {
        Hub *h = userdata;

        for (size_t i = 0; h->ble && ble_manager_tool_at(h->ble, i); i++)
                hub_mqtt_tool(h, ble_manager_tool_at(h->ble, i));
        (void) sd_event_source_set_time_relative(src, TOOLS_PERIOD_USEC);
        return 0;
}

/* ---- sessions and checkpoints ---- */

static int write_checkpoint(Hub *h, HubStation *hs, const Session *running) {
        _cleanup_(session_freep) Session *snap = session_dup(running);
        _cleanup_free_ char *json = NULL;
        const Protocol *p = station_protocol_in_use(hs->station);
        int r;

        if (!snap || !p)
                return -ENOMEM;
        /* Written as it must be read after a crash: interrupted, ended at this checkpoint. */
        snap->status = SESSION_INTERRUPTED;
        snap->ended_mono = now_monotonic();
        r = session_to_json_string(snap, p, false, &json);
        if (r < 0)
                return r;
        return checkpoint_write(h->config->state_dir, hs->config->name, json, strlen(json));
}

/* Disk writes (with fsync) happen only at rep boundaries, never during a hold or a release,
 * where they could delay a cue on a slow SD card. */
void hub_mqtt_checkpoint(Hub *h, HubStation *hs) {
        const Session *running = engine_session(station_engine(hs->station));
        int r;

        if (!h->config->state_dir || !running)
                return;
        r = write_checkpoint(h, hs, running);
        if (r < 0)
                log_warning_errno(r, "%s: cannot checkpoint session %s in %s: %m", hs->config->name, running->id,
                                  h->config->state_dir);
}

void hub_mqtt_session(Hub *h, HubStation *hs, const Session *session, const char *json) {
        _cleanup_free_ char *topic = NULL;
        int r;

        if (h->publisher && topic_station(prefix(h), h->config->hub, hs->config->name, TOPIC_STATION_SESSION, &topic) >= 0) {
                r = publisher_push(h->publisher, topic, session->id, json);
                if (r < 0)
                        log_error_errno(r, "%s: session %s could not be queued for MQTT: %m", hs->config->name, session->id);
        }
        if (h->config->state_dir) {
                r = checkpoint_clear(h->config->state_dir, hs->config->name);
                if (r < 0)
                        log_warning_errno(r, "%s: cannot clear the checkpoint: %m", hs->config->name);
        }
}

/* After a crash, the last checkpoint of each station is the session as far as it got. */
static void recover_checkpoints(Hub *h) {
        for (size_t i = 0; i < h->n_stations; i++) {
                const char *name = h->stations[i].config->name;
                _cleanup_free_ char *json = NULL, *topic = NULL;
                _cleanup_(json_object_putp) json_object *o = NULL;
                json_object *id;
                int r;

                r = checkpoint_recover(h->config->state_dir, name, &json);
                if (r <= 0) {
                        if (r < 0)
                                log_warning_errno(r, "%s: cannot read its checkpoint: %m", name);
                        continue;
                }
                o = json_tokener_parse(json);
                if (!o || !json_object_object_get_ex(o, "id", &id) || !json_object_is_type(id, json_type_string)) {
                        log_error("%s: the checkpoint in %s is not a session document; left in place.", name,
                                  h->config->state_dir);
                        continue;
                }
                log_notice("%s: session %s was interrupted; publishing what was recorded.", name,
                           json_object_get_string(id));
                if (topic_station(prefix(h), h->config->hub, name, TOPIC_STATION_SESSION, &topic) < 0)
                        continue;
                r = publisher_push(h->publisher, topic, json_object_get_string(id), json);
                if (r < 0) {
                        log_error_errno(r, "%s: cannot spool the interrupted session: %m", name);
                        continue;
                }
                (void) checkpoint_clear(h->config->state_dir, name);
        }
}

/* ---- commands ---- */

static void reply(Hub *h, HubStation *hs, const char *id, const char *error) {
        _cleanup_free_ char *json = NULL, *topic = NULL;

        if (mqtt_command_reply_json(id && *id ? id : NULL, !error, error, &json) < 0)
                return;
        if (topic_station(prefix(h), h->config->hub, hs->config->name, TOPIC_STATION_CMD_REPLY, &topic) < 0)
                return;
        (void) mqtt_client_publish(h->mqtt, topic, json, strlen(json), 1, false, NULL, NULL);
}

static const char *run_command(Hub *h, HubStation *hs, const MqttCommand *cmd) {
        nsec_t now = now_monotonic();
        int r;

        switch (cmd->verb) {
        case MQTT_COMMAND_START: {
                const Protocol *p = *cmd->protocol ? config_find_protocol(h->config, cmd->protocol)
                                                   : hs->config->default_protocol;
                if (!p)
                        return "unknown protocol";
                if (station_busy(hs->station))
                        return "a session is running";
                r = station_start(hs->station, p, *cmd->athlete ? cmd->athlete : NULL, now);
                return r < 0 ? "cannot start" : NULL;
        }
        case MQTT_COMMAND_STOP:
                return station_stop(hs->station, now) < 0 ? "no session is running" : NULL;
        case MQTT_COMMAND_SKIP:
                return station_skip(hs->station, now) < 0 ? "no session is running" : NULL;
        case MQTT_COMMAND_TARE:
                r = station_tare(hs->station, now);
                return r == -EBUSY ? "cannot tare while the tool is pressed" : r < 0 ? "cannot tare" : NULL;
        default:
                return "unknown command";
        }
}

static void on_message(MqttClient *c, const char *topic, const void *payload, size_t len, bool retained,
                       void *userdata) {
        Hub *h = userdata;
        _cleanup_free_ char *station = NULL;
        const char *error = NULL;
        MqttCommand cmd;
        HubStation *hs;

        if (topic_parse_cmd(prefix(h), h->config->hub, topic, &station) < 0)
                return;
        hs = hub_find_station(h, station);
        if (!hs) {
                log_debug("MQTT: command for unknown station \"%s\" ignored", station);
                return;
        }
        if (retained) {
                /* A retained command would run again at every reconnect. */
                reply(h, hs, NULL, "retained commands are refused");
                return;
        }
        if (mqtt_command_parse(payload, len, &cmd, &error) < 0) {
                log_info("%s: refused a malformed command: %s", hs->config->name, error);
                reply(h, hs, NULL, error);
                return;
        }
        error = run_command(h, hs, &cmd);
        log_info("%s: command %s%s%s", hs->config->name, mqtt_command_verb_to_string(cmd.verb),
                 error ? ": " : "", error ?: "");
        reply(h, hs, cmd.id, error);
}

/* ---- connection ---- */

static void publish_discovery(Hub *h) {
        HaDiscovery d = {
                .discovery_prefix = h->config->mqtt.discovery_prefix,
                .prefix = prefix(h),
                .hub = h->config->hub,
                .version = TPHUB_VERSION,
        };

        for (size_t i = 0; i < h->n_stations; i++) {
                _cleanup_free_ char *topic = NULL, *payload = NULL;
                if (ha_discovery_station(&d, h->stations[i].config->name, &topic, &payload) >= 0)
                        (void) mqtt_client_publish(h->mqtt, topic, payload, strlen(payload), 1, true, NULL, NULL);
        }
}

static void on_connected(MqttClient *c, void *userdata) {
        Hub *h = userdata;

        log_info("MQTT: connected to %s", h->config->mqtt.uri);
        if (h->config->mqtt.homeassistant)
                publish_discovery(h);
        for (size_t i = 0; i < h->n_stations; i++)
                publish_state(h, &h->stations[i]);
        for (size_t i = 0; h->ble && ble_manager_tool_at(h->ble, i); i++)
                hub_mqtt_tool(h, ble_manager_tool_at(h->ble, i));
        publisher_connected(h->publisher);
}

static void on_connection_lost(MqttClient *c, const char *cause, void *userdata) {
        log_warning("MQTT: connection lost%s%s; reconnecting with backoff.", cause ? ": " : "", cause ?: "");
}

static void on_connect_failed(MqttClient *c, int code, const char *message, void *userdata) {
        Hub *h = userdata;
        log_warning("MQTT: cannot connect to %s (%d%s%s); retrying with backoff.", h->config->mqtt.uri, code,
                    message ? ": " : "", message ?: "");
}

static void on_online_status(MqttClient *c, json_object *status, void *userdata) {
        Hub *h = userdata;
        json_object *stations = json_object_new_array();

        for (size_t i = 0; stations && i < h->n_stations; i++)
                json_object_array_add(stations, json_object_new_string(h->stations[i].config->name));
        json_object_object_add(status, "hub", json_object_new_string(h->config->hub));
        json_object_object_add(status, "stations", stations);
        json_object_object_add(status, "spool", json_object_new_int64(h->outbox ? (int64_t) outbox_count(h->outbox) : 0));
        json_object_object_add(status, "spool_max", json_object_new_int64(h->outbox ? (int64_t) outbox_max_items(h->outbox) : 0));
        if (h->spool_trouble)
                json_object_object_add(status, "spool_error", json_object_new_string(
                                               "the session spool is full or not writable: sessions are not durable"));
        hub_audio_status(h, status);
}

static void on_log(MqttClient *c, MqttLogLevel level, const char *message, void *userdata) {
        log_internal((int) level, 0, "MQTT: %s", message);
}

/* The spool is the promise that no session is lost: when it cannot keep it, say so loudly. */
static void on_publisher_report(SessionPublisher *p, PublisherReport what, int error, const char *name,
                                const char *id, void *userdata) {
        Hub *h = userdata;

        switch (what) {
        case PUBLISHER_DELIVERED:
                log_info("MQTT: session %s delivered", id ?: name ?: "?");
                if (h->spool_trouble && publisher_backlog(h->publisher) == 0 &&
                    outbox_count(h->outbox) < outbox_max_items(h->outbox)) {
                        h->spool_trouble = false;
                        log_notice("Session spool %s is writable and has room again.", outbox_dir(h->outbox));
                        (void) mqtt_client_publish_status(h->mqtt);
                }
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
}

static int mkdir_p(const char *path) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *s = '/';
                }
        if (mkdir(p, 0750) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int hub_mqtt_start(Hub *h) {
        const ConfigMqtt *m = &h->config->mqtt;
        _cleanup_free_ char *status = NULL, *filter = NULL;
        char at[32];
        int r;

        if (!m->enabled)
                return 0;

        free(h->started_at);
        h->started_at = strdup(iso_now(at));
        if (!h->started_at)
                return log_oom();

        if (!h->config->spool_dir)
                return log_error_errno(EINVAL, "MQTT needs paths.spool: finished sessions are spooled before publishing.");
        r = mkdir_p(h->config->spool_dir);
        if (r < 0)
                return log_error_errno(r, "Cannot create the spool directory %s: %m", h->config->spool_dir);
        if (h->config->state_dir) {
                r = mkdir_p(h->config->state_dir);
                if (r < 0)
                        return log_error_errno(r, "Cannot create the state directory %s: %m", h->config->state_dir);
        }
        r = outbox_open(&h->outbox, h->config->spool_dir, m->spool_max_sessions);
        if (r < 0)
                return log_error_errno(r, "Cannot open the session spool %s: %m", h->config->spool_dir);

        r = topic_status(prefix(h), h->config->hub, &status);
        if (r < 0)
                return log_oom();
        MqttClientOptions o = {
                .uri = m->uri,
                .client_id = m->client_id,
                .version = m->version,
                .credentials_file = m->credentials_file,
                .ca_file = m->ca_file,
                .cert_file = m->cert_file,
                .key_file = m->key_file,
                .keepalive_s = m->keepalive_s,
                .status_topic = status,
                .software_version = TPHUB_VERSION,
                .started_at = h->started_at,
        };
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
                return log_error_errno(r, "Cannot set up the MQTT client for %s: %m", m->uri);
        r = publisher_new(&h->publisher, h->mqtt, h->outbox, 0, on_publisher_report, h);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the session publisher: %m");

        if (h->config->state_dir)
                recover_checkpoints(h);

        r = topic_cmd_filter(prefix(h), h->config->hub, &filter);
        if (r < 0)
                return log_oom();
        r = mqtt_client_subscribe(h->mqtt, filter, 1);
        if (r < 0)
                return log_error_errno(r, "Cannot subscribe to %s: %m", filter);
        r = mqtt_client_connect(h->mqtt);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to %s: %m", m->uri);
        r = sd_event_add_time_relative(h->event, &h->tools_timer, CLOCK_MONOTONIC, TOOLS_PERIOD_USEC,
                                       1000 * 1000, tools_tick, h);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the tools refresh timer: %m");
        (void) sd_event_source_set_enabled(h->tools_timer, SD_EVENT_ON);
        (void) sd_event_source_set_description(h->tools_timer, "mqtt-tools");
        return 0;
}

void hub_mqtt_stop(Hub *h) {
        h->tools_timer = sd_event_source_disable_unref(h->tools_timer);
        for (size_t i = 0; i < h->n_stations; i++)
                hub_mqtt_station_stop(&h->stations[i]);
        /* The publisher goes before the client it uses. */
        h->publisher = publisher_free(h->publisher);
        h->mqtt = mqtt_client_free(h->mqtt);
        h->outbox = outbox_free(h->outbox);
}

static void shutdown_done(MqttClient *c, void *userdata) {
        Hub *h = userdata;

        if (h->stopped)
                h->stopped(h->stopped_userdata);
}

int hub_mqtt_shutdown(Hub *h) {
        int r;

        h->tools_timer = sd_event_source_disable_unref(h->tools_timer);
        for (size_t i = 0; i < h->n_stations; i++)
                hub_mqtt_station_stop(&h->stations[i]);
        if (!h->mqtt)
                return 0;
        r = mqtt_client_shutdown(h->mqtt, SHUTDOWN_TIMEOUT_USEC, shutdown_done, h);
        return r < 0 ? r : 1;
}
