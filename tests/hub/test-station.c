/* SPDX-License-Identifier: MIT */
/* A station's announcements (station.h): the order of the kinds of announcement for one
 * input, the order of the watches within each (priority, then the order added), removal
 * from inside a callback, and what station_session() names while a session's last events go
 * out. Real sd-event loop, real engine; inputs are fed directly. */

#include <stdio.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "hub/station.h"
#include "sim.h"
#include "tap.h"

#define LOG_MAX 256

static char log_lines[LOG_MAX][160];
static size_t n_log;
static Station *the_station;
static unsigned removable_id;
static char ending_seen[64];

static void say(const char *what, const char *who) {
        if (n_log < LOG_MAX)
                snprintf(log_lines[n_log++], sizeof log_lines[0], "%s %s", what, who);
}

static void on_render(Station *s, const Cue *cue, void *userdata) {
        say("render", userdata);
}

static void on_finished(Station *s, const Session *session, const Protocol *protocol, void *userdata) {
        char buf[64];

        snprintf(buf, sizeof buf, "finished(%s)", protocol->name);
        say(buf, userdata);
}

static void on_checkpoint(Station *s, const Session *running, void *userdata) {
        say("checkpoint", userdata);
}

static void on_event(Station *s, const EngineEvent *ev, void *userdata) {
        char buf[64];
        const Session *session = station_session(s);

        snprintf(buf, sizeof buf, "event:%s", engine_event_type_to_string(ev->type));
        say(buf, userdata);
        if (ev->type == EVENT_SESSION_END && session)
                snprintf(ending_seen, sizeof ending_seen, "%s", session->id);
}

static void on_cue(Station *s, const Cue *cue, void *userdata) {
        say("cue", userdata);
}

static void on_force(Station *s, double newtons, nsec_t at, void *userdata) {
        char buf[64];

        snprintf(buf, sizeof buf, "force(%.1f)", newtons);
        say(buf, userdata);
}

static const StationWatch all = {
        .render = on_render, .finished = on_finished, .checkpoint = on_checkpoint,
        .event = on_event, .cue = on_cue, .force = on_force,
};
static const StationWatch only_events = { .event = on_event };

static void on_event_remove_self(Station *s, const EngineEvent *ev, void *userdata) {
        say("event-once", userdata);
        CHECK(station_remove_watch(s, removable_id));
}
static const StationWatch remove_self = { .event = on_event_remove_self };

/* Index of the first log line equal to line at or after from, or -1. */
static int find(const char *line, size_t from) {
        for (size_t i = from; i < n_log; i++)
                if (strcmp(log_lines[i], line) == 0)
                        return (int) i;
        return -1;
}

static void dump(void) {
        for (size_t i = 0; i < n_log; i++)
                printf("#   %zu: %s\n", i, log_lines[i]);
}

static Protocol *protocol;
static sd_event *loop;

static void setup(void) {
        ProtocolStep step = sim_press_step("upper-trap", HOLD_START_AUTO, 5000);

        n_log = 0;
        ending_seen[0] = 0;
        protocol = sim_protocol("test-protocol", &step, 1);
        CHECK(sd_event_new(&loop) >= 0);
        CHECK(station_new(&the_station, loop, "s1", &ENGINE_PARAMS_DEFAULT) >= 0);
}

static void teardown(void) {
        the_station = station_free(the_station);
        loop = sd_event_unref(loop);
        protocol = protocol_free(protocol);
}

/* Within one kind, lowest priority first, equal priorities in the order added. */
static void test_priority_order(void) {
        setup();
        CHECK(station_add_watch(the_station, &all, STATION_WATCH_ANNOUNCE, "mqtt") > 0);
        CHECK(station_add_watch(the_station, &all, STATION_WATCH_OUTPUT, "leds") > 0);
        CHECK(station_add_watch(the_station, &all, STATION_WATCH_DURABLE, "outbox") > 0);
        CHECK(station_add_watch(the_station, &all, STATION_WATCH_OUTPUT, "speaker") > 0);

        CHECK(station_start(the_station, protocol, "ann", now_monotonic()) >= 0);
        {
                int a = find("render leds", 0), b = find("render speaker", 0), c = find("render outbox", 0),
                    d = find("render mqtt", 0);
                if (!(a >= 0 && a < b && b < c && c < d))
                        dump();
                CHECK(a >= 0 && a < b && b < c && c < d);
                /* nothing else came between the renders */
                CHECK_EQ(b, a + 1);
                CHECK_EQ(c, b + 1);
                CHECK_EQ(d, c + 1);
        }
        teardown();
}

/* Start: render, then per boundary event the checkpoint before the event, then cue last. */
static void test_start_order(void) {
        int render, checkpoint, checkin, cue;

        setup();
        CHECK(station_add_watch(the_station, &all, STATION_WATCH_DEFAULT, "w") > 0);
        CHECK(station_start(the_station, protocol, "ann", now_monotonic()) >= 0);
        render = find("render w", 0);
        checkpoint = find("checkpoint w", 0);
        checkin = find("event:checkin w", 0);
        cue = find("cue w", 0);
        if (!(render == 0 && checkpoint == 1 && checkin == 2 && cue == (int) n_log - 1))
                dump();
        CHECK_EQ(render, 0);
        CHECK_EQ(checkpoint, 1);
        CHECK_EQ(checkin, 2);
        CHECK_EQ(cue, (int) n_log - 1);
        /* one checkpoint: the step event is no rep boundary */
        CHECK_EQ(find("checkpoint w", (size_t) checkpoint + 1), -1);
        CHECK(find("event:step w", 0) > checkin);
        teardown();
}

/* Stop: the finished record goes out before any of the session's last events, and those
 * events still see the session through station_session(). No checkpoint: it is over. */
static void test_finished_before_last_events(void) {
        char id[64];
        int fin, end;

        setup();
        CHECK(station_add_watch(the_station, &all, STATION_WATCH_DEFAULT, "w") > 0);
        CHECK(station_start(the_station, protocol, "ann", now_monotonic()) >= 0);
        snprintf(id, sizeof id, "%s", station_session(the_station)->id);
        n_log = 0;
        CHECK(station_stop(the_station, now_monotonic()) >= 0);
        fin = find("finished(test-protocol) w", 0);
        end = find("event:session_end w", 0);
        if (!(fin >= 0 && end > fin))
                dump();
        CHECK_EQ(find("render w", 0), 0);
        CHECK_EQ(fin, 1);
        CHECK(end > fin);
        CHECK_EQ(find("checkpoint w", 0), -1);
        CHECK_EQ(find("cue w", 0), (int) n_log - 1);
        CHECK_STR(ending_seen, id);
        /* after the input, the session is gone */
        CHECK(station_session(the_station) == NULL);
        CHECK(!station_busy(the_station));
        teardown();
}

/* A watch removed from inside its own callback hears nothing more, the others go on; a
 * removed id cannot be removed twice. */
static void test_remove_inside_callback(void) {
        int r;

        setup();
        r = station_add_watch(the_station, &remove_self, STATION_WATCH_DEFAULT, "once");
        CHECK(r > 0);
        removable_id = (unsigned) r;
        CHECK(station_add_watch(the_station, &only_events, STATION_WATCH_DEFAULT, "after") > 0);
        CHECK(station_start(the_station, protocol, "ann", now_monotonic()) >= 0);
        CHECK_EQ(find("event-once once", 0), 0);
        CHECK_EQ(find("event-once once", 1), -1);
        /* the watch after it still heard the same event and the next ones */
        CHECK_EQ(find("event:checkin after", 0), 1);
        CHECK(find("event:step after", 0) > 1);
        CHECK(!station_remove_watch(the_station, removable_id));
        teardown();
}

/* A sample is announced once, after what it caused, with the force the engine read from it
 * (its smoothing filter between two different samples: not the raw value). */
static void test_force_after_sample(void) {
        char want[64];
        nsec_t t = now_monotonic();

        setup();
        CHECK(station_add_watch(the_station, &all, STATION_WATCH_DEFAULT, "w") > 0);
        CHECK(station_force(the_station, 10.0, t) >= 0);
        CHECK(station_force(the_station, 30.0, t + 12500000) >= 0);
        CHECK(engine_force(station_engine(the_station)) < 29.95);   /* smoothed: not the raw 30 */
        snprintf(want, sizeof want, "force(%.1f) w", engine_force(station_engine(the_station)));
        CHECK_EQ(find(want, 0), (int) n_log - 1);
        CHECK_EQ(find(want, (size_t) n_log), -1);
        teardown();
}

/* A reload's engine settings wait for the running session's end (docs/operations.md). The
 * idle timeout is visible as the deadline of a cued point: start + idle_timeout_ms. */
static void test_settings_wait_for_session_end(void) {
        EngineParams p = ENGINE_PARAMS_DEFAULT, shorter = ENGINE_PARAMS_DEFAULT;
        nsec_t t0, t1;

        setup();
        p.idle_timeout_ms = 120000;
        shorter.idle_timeout_ms = 60000;
        CHECK(station_configure(the_station, &p, protocol) >= 0);
        t0 = now_monotonic();
        CHECK(station_start(the_station, protocol, "ann", t0) >= 0);
        CHECK_EQ(engine_next_deadline(station_engine(the_station)), t0 + MS(120000));
        CHECK(station_configure(the_station, &shorter, protocol) >= 0);
        CHECK_EQ(engine_next_deadline(station_engine(the_station)), t0 + MS(120000));
        /* a second reload replaces what waits */
        CHECK(station_configure(the_station, &shorter, protocol) >= 0);
        CHECK(station_stop(the_station, now_monotonic()) >= 0);
        t1 = now_monotonic();
        CHECK(station_start(the_station, protocol, "bob", t1) >= 0);
        CHECK_EQ(engine_next_deadline(station_engine(the_station)), t1 + MS(60000));
        /* idle: at once */
        CHECK(station_stop(the_station, now_monotonic()) >= 0);
        CHECK(station_configure(the_station, &p, protocol) >= 0);
        t1 = now_monotonic();
        CHECK(station_start(the_station, protocol, "cy", t1) >= 0);
        CHECK_EQ(engine_next_deadline(station_engine(the_station)), t1 + MS(120000));
        teardown();
}

static const TapCase cases[] = {
        { "watches run by priority, then in the order added", test_priority_order },
        { "start: render, checkpoint before check-in, cue last", test_start_order },
        { "stop: finished before the last events, which still see the session", test_finished_before_last_events },
        { "a watch removes itself inside its callback", test_remove_inside_callback },
        { "force is announced after the sample is fed", test_force_after_sample },
        { "a reload's engine settings wait for the running session's end", test_settings_wait_for_session_end },
};

TAP_MAIN(cases)
