/* SPDX-License-Identifier: MIT */
/* Sessions from the outbox to a real mosquitto: a broker outage while 20 sessions finish, a
 * process killed before the PUBACK, a checkpoint recovered as an interrupted session. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqtt/session-publisher.h"
#include "mqtt/topics.h"
#include "shared/macro.h"
#include "store/checkpoint.h"
#include "store/outbox.h"
#include "mqtt-fixture.h"

static const char *helper_path;
/* The loop every case runs on. */
static sd_event *loop;

typedef struct Hub {
        MqttClient *client;
        Outbox *outbox;
        SessionPublisher *pub;
        bool connected;
        int n_lost;
        int delivered;
        int reports[16];
        int last_error;
        int commands;
} Hub;

static void hub_connected(MqttClient *c, void *userdata) {
        Hub *h = userdata;
        h->connected = true;
        publisher_connected(h->pub);
}

static void hub_lost(MqttClient *c, const char *cause, void *userdata) {
        Hub *h = userdata;
        h->connected = false;
        h->n_lost++;
}

static void hub_message(MqttClient *c, const char *topic, const void *payload, size_t len, bool retained,
                        void *userdata) {
        Hub *h = userdata;
        if (strcmp(topic, "tphub/hub1/left/cmd") == 0)
                h->commands++;
}

static void hub_log(MqttClient *c, MqttLogLevel level, const char *message, void *userdata) {
        fprintf(stderr, "[hub] %s\n", message);
}

static void hub_report(SessionPublisher *p, PublisherReport what, int error, const char *name, const char *id,
                       void *userdata) {
        Hub *h = userdata;

        fprintf(stderr, "[publisher] report %d error %d name %s id %s\n", what, error, name ?: "-", id ?: "-");
        h->reports[what]++;
        if (what == PUBLISHER_DELIVERED)
                h->delivered++;
        else
                h->last_error = error;
}

static const MqttClientCallbacks hub_callbacks = {
        .connected = hub_connected,
        .connection_lost = hub_lost,
        .message = hub_message,
        .log = hub_log,
};

static void hub_start(Hub *h, sd_event *e, const char *uri, const char *spool) {
        MqttClientOptions o = { .uri = uri, .client_id = "hub1", .status_topic = "tphub/hub1/status" };

        *h = (Hub) {};
        CHECK(outbox_open(&h->outbox, spool, 100) == 0);
        CHECK(mqtt_client_new(&h->client, e, &o, &hub_callbacks, h) == 0);
        CHECK(mqtt_client_subscribe(h->client, "tphub/hub1/+/cmd", 1) == 0);
        CHECK(publisher_new(&h->pub, h->client, h->outbox, 4, hub_report, h) == 0);
        CHECK(mqtt_client_connect(h->client) == 0);
}

static void hub_stop(Hub *h) {
        h->pub = publisher_free(h->pub);
        h->client = mqtt_client_free(h->client);
        h->outbox = outbox_free(h->outbox);
}

static char *uri_for(const Mosquitto *m) {
        char *u;
        REQUIRE(asprintf(&u, "tcp://127.0.0.1:%d", m->port) > 0);
        return u;
}

static size_t spool_entries(const char *spool) {
        Outbox *o;
        OutboxList l = {};
        size_t n;

        REQUIRE(outbox_open(&o, spool, 0) == 0);
        REQUIRE(outbox_list(o, &l) == 0);
        n = l.n_items;
        outbox_list_done(&l);
        outbox_free(o);
        return n;
}

static void test_broker_outage(void) {
        sd_event *e = loop;

        char *dir = test_tmpdir("outage"), *spool, *conf, *uri;
        Mosquitto m;
        Recorder sub;
        Hub hub;

        CHECK(asprintf(&spool, "%s/spool", dir) > 0);
        /* Broker persistence keeps the subscriber's session (and what is queued for it)
         * across the restart, so no message can slip by while the subscriber reconnects. */
        CHECK(asprintf(&conf, "persistence true\npersistence_location %s/", dir) > 0);
        CHECK(mosquitto_start(&m, dir, 0, conf) == 0);
        uri = uri_for(&m);

        CHECK(recorder_start(&sub, e, uri, "sub-sessions", "tphub/hub1/+/session", true) == 0);
        hub_start(&hub, e, uri, spool);
        RUN_UNTIL(e, hub.connected, 20);

        mosquitto_stop(&m);
        RUN_UNTIL(e, hub.n_lost == 1 && sub.n_lost == 1, 20);

        for (int i = 1; i <= 20; i++) {
                char id[16], json[128];
                snprintf(id, sizeof(id), "s-%02d", i);
                snprintf(json, sizeof(json), "{\"id\":\"%s\",\"seq\":%d,\"status\":\"completed\"}", id, i);
                CHECK(publisher_push(hub.pub, "tphub/hub1/left/session", id, json) == 0);
        }
        CHECK_EQ(publisher_backlog(hub.pub), 20);
        CHECK_EQ(outbox_count(hub.outbox), 20);
        CHECK_EQ(hub.delivered, 0);

        CHECK(mosquitto_restart(&m) == 0);
        RUN_UNTIL(e, recorder_count(&sub, "tphub/hub1/left/session") >= 20 && hub.delivered == 20, 90);
        RUN_UNTIL(e, publisher_backlog(hub.pub) == 0, 20);

        /* Each once, in order. */
        int expect = 1;
        for (size_t i = 0; i < sub.n_msgs; i++) {
                char json[128];
                if (strcmp(sub.msgs[i].topic, "tphub/hub1/left/session") != 0)
                        continue;
                snprintf(json, sizeof(json), "{\"id\":\"s-%02d\",\"seq\":%d,\"status\":\"completed\"}", expect, expect);
                CHECK_STR(sub.msgs[i].payload, json);
                expect++;
        }
        CHECK_EQ(expect, 21);
        CHECK_EQ(spool_entries(spool), 0);
        CHECK_EQ(hub.reports[PUBLISHER_SPOOL_ERROR] + hub.reports[PUBLISHER_SPOOL_FULL], 0);

        /* The hub's session is clean, so the broker forgot its subscription with the restart:
         * a command reaching it proves the client subscribed again on reconnect. */
        RUN_UNTIL(e, sub.connected, 20);
        CHECK(mqtt_client_publish(sub.client, "tphub/hub1/left/cmd", "{\"cmd\":\"stop\"}", 15, 1, false,
                                  NULL, NULL) == 0);
        RUN_UNTIL(e, hub.commands == 1, 20);

        hub_stop(&hub);
        recorder_done(&sub);
        mosquitto_done(&m);
        free(uri);
        free(conf);
        free(spool);
        test_rm_rf(dir);
        free(dir);
}

static void test_killed_before_puback(void) {
        sd_event *e = loop;

        char *dir = test_tmpdir("kill"), *spool, *uri, *dead_uri;
        const char *json = "{\"id\":\"s-kill\",\"status\":\"completed\",\"athlete\":\"anna\"}";
        Mosquitto m;
        Recorder sub;
        Helper h;
        Hub hub;

        CHECK(asprintf(&spool, "%s/spool", dir) > 0);
        CHECK(mosquitto_start(&m, dir, 0, NULL) == 0);
        uri = uri_for(&m);
        /* Nothing listens on port 1: the helper's PUBACK can never come. */
        CHECK(asprintf(&dead_uri, "tcp://127.0.0.1:1") > 0);

        char *argv[] = { (char *) helper_path, (char *) "push", dead_uri, spool,
                         (char *) "tphub/hub1/left/session", (char *) "s-kill", (char *) json, NULL };
        CHECK(helper_spawn(&h, argv) == 0);
        CHECK(helper_wait_line(&h, "spooled", 20) == 0);
        helper_kill(&h);
        CHECK_EQ(spool_entries(spool), 1);

        CHECK(recorder_start(&sub, e, uri, "sub-kill", "tphub/hub1/+/session", false) == 0);
        hub_start(&hub, e, uri, spool);
        CHECK_EQ(publisher_backlog(hub.pub), 1);
        RUN_UNTIL(e, recorder_count(&sub, "tphub/hub1/left/session") == 1, 20);
        CHECK_STR(recorder_last(&sub, "tphub/hub1/left/session")->payload, json);
        RUN_UNTIL(e, hub.delivered == 1, 20);
        CHECK_EQ(spool_entries(spool), 0);

        hub_stop(&hub);
        recorder_done(&sub);
        mosquitto_done(&m);
        free(uri);
        free(dead_uri);
        free(spool);
        test_rm_rf(dir);
        free(dir);
}

static void test_checkpoint_recovered(void) {
        sd_event *e = loop;

        char *dir = test_tmpdir("ckpt"), *spool, *state, *uri;
        const char *running = "{\"id\":\"s-run\",\"station\":\"left\",\"status\":\"running\","
                              "\"started_at\":\"2026-11-21T10:00:00.000Z\",\"steps\":[{\"n\":1}]}";
        _cleanup_free_ char *recovered = NULL, *interrupted = NULL, *again = NULL;
        Mosquitto m;
        Recorder sub;
        Helper h;
        Hub hub;

        CHECK(asprintf(&spool, "%s/spool", dir) > 0);
        CHECK(asprintf(&state, "%s/state", dir) > 0);

        /* The "daemon" dies mid-session, right after a checkpoint. */
        char *argv[] = { (char *) helper_path, (char *) "checkpoint", state, (char *) "left", (char *) running, NULL };
        CHECK(helper_spawn(&h, argv) == 0);
        CHECK(helper_wait_line(&h, "written", 20) == 0);
        helper_kill(&h);

        /* Next start: recover, mark interrupted, push, and only then clear. */
        CHECK_EQ(checkpoint_recover(state, "left", &recovered), 1);
        CHECK_STR(recovered, running);
        CHECK(session_json_mark_interrupted(recovered, "2026-11-21T10:05:00.000Z", &interrupted) == 0);
        CHECK_STR(interrupted,
                     "{\"id\":\"s-run\",\"station\":\"left\",\"status\":\"interrupted\","
                     "\"started_at\":\"2026-11-21T10:00:00.000Z\",\"steps\":[{\"n\":1}],"
                     "\"ended_at\":\"2026-11-21T10:05:00.000Z\"}");

        CHECK(mosquitto_start(&m, dir, 0, NULL) == 0);
        uri = uri_for(&m);
        CHECK(recorder_start(&sub, e, uri, "sub-ckpt", "tphub/hub1/+/session", false) == 0);
        hub_start(&hub, e, uri, spool);
        CHECK(publisher_push(hub.pub, "tphub/hub1/left/session", "s-run", interrupted) == 0);
        CHECK(checkpoint_clear(state, "left") == 0);
        CHECK_EQ(checkpoint_recover(state, "left", &again), 0);
        CHECK(!again);

        RUN_UNTIL(e, recorder_count(&sub, "tphub/hub1/left/session") == 1, 20);
        CHECK_STR(recorder_last(&sub, "tphub/hub1/left/session")->payload, interrupted);
        RUN_UNTIL(e, hub.delivered == 1, 20);

        hub_stop(&hub);
        recorder_done(&sub);
        mosquitto_done(&m);
        free(uri);
        free(state);
        free(spool);
        test_rm_rf(dir);
        free(dir);
}

/* A corrupt file and a foreign file in the spool are reported, skipped and left in place. */
static void test_bad_spool_entries(void) {
        sd_event *e = loop;

        char *dir = test_tmpdir("badspool"), *spool, *p1, *p2, *uri;
        Mosquitto m;
        Recorder sub;
        Hub hub;

        CHECK(asprintf(&spool, "%s/spool", dir) > 0);
        CHECK(mkdir(spool, 0750) == 0);
        CHECK(asprintf(&p1, "%s/0000000000000001-s-bad.json", spool) > 0);
        CHECK(test_write_file(p1, "no newline, no topic", 0640) == 0);
        CHECK(asprintf(&p2, "%s/notes.txt", spool) > 0);
        CHECK(test_write_file(p2, "hello", 0640) == 0);

        CHECK(mosquitto_start(&m, dir, 0, NULL) == 0);
        uri = uri_for(&m);
        CHECK(recorder_start(&sub, e, uri, "sub-bad", "tphub/hub1/+/session", false) == 0);
        hub_start(&hub, e, uri, spool);
        CHECK_EQ(hub.reports[PUBLISHER_UNKNOWN_FILE], 1);
        CHECK(publisher_push(hub.pub, "tphub/hub1/left/session", "s-good", "{\"id\":\"s-good\"}") == 0);
        RUN_UNTIL(e, recorder_count(&sub, "tphub/hub1/left/session") == 1, 20);
        CHECK_STR(recorder_last(&sub, "tphub/hub1/left/session")->payload, "{\"id\":\"s-good\"}");
        CHECK_EQ(hub.reports[PUBLISHER_BAD_ENTRY], 1);
        CHECK(access(p1, F_OK) == 0);
        CHECK(access(p2, F_OK) == 0);

        hub_stop(&hub);
        recorder_done(&sub);
        mosquitto_done(&m);
        free(uri);
        free(p1);
        free(p2);
        free(spool);
        test_rm_rf(dir);
        free(dir);
}

static const TapCase cases[] = {
        { "killed_before_puback", test_killed_before_puback },
        { "checkpoint_recovered", test_checkpoint_recovered },
        { "bad_spool_entries", test_bad_spool_entries },
        { "broker_outage", test_broker_outage },
};

int main(int argc, char *argv[]) {
        int r;

        REQUIRE(argc >= 2);
        helper_path = argv[1];
        test_require_program("mosquitto");

        REQUIRE(sd_event_new(&loop) >= 0);
        r = tap_run(cases, sizeof(cases) / sizeof(cases[0]), argc - 1, argv + 1);
        sd_event_unref(loop);
        return r;
}
