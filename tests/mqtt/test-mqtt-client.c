/* SPDX-License-Identifier: MIT */
/* The Paho client against a real mosquitto: every topic of the contract, online/LWT, commands
 * and replies, MQTT 5, credentials, TLS, clean shutdown. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/macro.h"
#include "mqtt/mqtt-command.h"
#include "mqtt/topics.h"
#include "mqtt-fixture.h"

static const char *helper_path;
/* The loop every case runs on. */
static sd_event *loop;

static char *uri_for(const Mosquitto *m, const char *scheme) {
        char *u;
        REQUIRE(asprintf(&u, "%s://127.0.0.1:%d", scheme, m->port) > 0);
        return u;
}

/* ---- online / last will, with a separate process we can SIGKILL ---- */
static void test_online_and_last_will(void) {
        sd_event *e = loop;

        char *dir = test_tmpdir("lwt");
        Mosquitto m;
        Recorder sub, late;
        Helper h;

        CHECK(mosquitto_start(&m, dir, 0, NULL) == 0);
        char *uri = uri_for(&m, "tcp");
        CHECK(recorder_start(&sub, e, uri, "sub-lwt", "tphub/#", false) == 0);

        char *argv[] = { (char *) helper_path, (char *) "online", uri, (char *) "tphub/hub1/status", NULL };
        CHECK(helper_spawn(&h, argv) == 0);
        CHECK(helper_wait_line(&h, "connected", 20) == 0);

        RUN_UNTIL(e, recorder_count(&sub, "tphub/hub1/status") >= 1, 20);
        CHECK_STR(recorder_last(&sub, "tphub/hub1/status")->payload,
                     "{\"state\":\"online\",\"version\":\"9.9.9\",\"started_at\":\"2026-01-01T00:00:00.000Z\","
                     "\"stations\":[\"a\"]}");

        /* The online status is retained: a newcomer gets it with the retain flag. */
        CHECK(recorder_start(&late, e, uri, "sub-late", "tphub/hub1/status", false) == 0);
        RUN_UNTIL(e, recorder_count(&late, "tphub/hub1/status") >= 1, 20);
        CHECK(recorder_last(&late, "tphub/hub1/status")->retained);
        CHECK(strstr(recorder_last(&late, "tphub/hub1/status")->payload, "\"state\":\"online\""));
        recorder_done(&late);

        /* Kill the process: its TCP connection drops without DISCONNECT, the broker publishes
         * the will. */
        helper_kill(&h);
        RUN_UNTIL(e, recorder_count(&sub, "tphub/hub1/status") >= 2, 20);
        CHECK_STR(recorder_last(&sub, "tphub/hub1/status")->payload, "{\"state\":\"offline\"}");

        CHECK(recorder_start(&late, e, uri, "sub-late2", "tphub/hub1/status", false) == 0);
        RUN_UNTIL(e, recorder_count(&late, "tphub/hub1/status") >= 1, 20);
        CHECK(recorder_last(&late, "tphub/hub1/status")->retained);
        CHECK_STR(recorder_last(&late, "tphub/hub1/status")->payload, "{\"state\":\"offline\"}");
        recorder_done(&late);

        recorder_done(&sub);
        free(uri);
        mosquitto_done(&m);
        test_rm_rf(dir);
        free(dir);
}

/* ---- every topic type, exact payloads; commands in and replies out ---- */
typedef struct Hub {
        int delivered, delivery_errors;
        int commands;
        MqttClient *client;
        int shutdown_done;
} Hub;

static void hub_delivered(MqttClient *c, int error, void *userdata) {
        Hub *h = userdata;
        if (error == 0)
                h->delivered++;
        else
                h->delivery_errors++;
}

static void hub_message(MqttClient *c, const char *topic, const void *payload, size_t len, bool retained,
                        void *userdata) {
        Hub *h = userdata;
        _cleanup_free_ char *station = NULL, *reply_topic = NULL, *reply = NULL;
        MqttCommand cmd;
        const char *err = NULL;
        int r;

        CHECK(topic_parse_cmd("tphub", "hub1", topic, &station) == 0);
        r = mqtt_command_parse(payload, len, &cmd, &err);
        CHECK(mqtt_command_reply_json(cmd.id, r == 0, err, &reply) == 0);
        CHECK(topic_station("tphub", "hub1", station, TOPIC_STATION_CMD_REPLY, &reply_topic) == 0);
        CHECK(mqtt_client_publish(c, reply_topic, reply, strlen(reply), 1, false, NULL, NULL) == 0);
        h->commands++;
}

static void hub_shutdown_done(MqttClient *c, void *userdata) {
        Hub *h = userdata;
        h->shutdown_done++;
}

static void free_in_done(MqttClient *c, void *userdata) {
        Hub *h = userdata;
        CHECK(c == h->client);
        h->client = mqtt_client_free(c);
}

static void publish_and_check(sd_event *e, Hub *hub, Recorder *sub, const char *topic, const char *payload,
                              int qos, bool retain) {
        size_t before = recorder_count(sub, topic);
        int delivered = hub->delivered;

        CHECK(mqtt_client_publish(hub->client, topic, payload, strlen(payload), qos, retain, hub_delivered, hub) == 0);
        RUN_UNTIL(e, hub->delivered > delivered, 20);
        RUN_UNTIL(e, recorder_count(sub, topic) > before, 20);
        CHECK_STR(recorder_last(sub, topic)->payload, payload);
        CHECK_EQ(recorder_last(sub, topic)->len, strlen(payload));
}

static void topics_roundtrip(sd_event *e, unsigned version) {
        char *dir = test_tmpdir("topics");
        Mosquitto m;
        Recorder sub, late;
        Hub hub = {};
        MqttClientCallbacks cb = { .message = hub_message };
        char *uri;
        _cleanup_free_ char *state = NULL, *session = NULL, *event = NULL, *force = NULL, *tool = NULL,
                *cmd = NULL, *reply = NULL, *status = NULL, *filter = NULL;

        CHECK(mosquitto_start(&m, dir, 0, NULL) == 0);
        uri = uri_for(&m, "tcp");
        CHECK(topic_status(NULL, "hub1", &status) == 0);
        CHECK(topic_station(NULL, "hub1", "left", TOPIC_STATION_STATE, &state) == 0);
        CHECK(topic_station(NULL, "hub1", "left", TOPIC_STATION_SESSION, &session) == 0);
        CHECK(topic_station(NULL, "hub1", "left", TOPIC_STATION_EVENT, &event) == 0);
        CHECK(topic_station(NULL, "hub1", "left", TOPIC_STATION_FORCE, &force) == 0);
        CHECK(topic_station(NULL, "hub1", "left", TOPIC_STATION_CMD, &cmd) == 0);
        CHECK(topic_station(NULL, "hub1", "left", TOPIC_STATION_CMD_REPLY, &reply) == 0);
        CHECK(topic_tool(NULL, "hub1", "AA:BB:CC:DD:EE:FF", &tool) == 0);
        CHECK(topic_cmd_filter(NULL, "hub1", &filter) == 0);
        CHECK_STR(reply, "tphub/hub1/left/cmd/reply");
        CHECK_STR(filter, "tphub/hub1/+/cmd");

        CHECK(recorder_start(&sub, e, uri, "sub-topics", "tphub/#", false) == 0);

        MqttClientOptions o = {
                .uri = uri, .client_id = "hub1", .version = version, .status_topic = status,
                .software_version = "0.1.0", .started_at = "2026-11-21T10:00:00.000Z",
        };
        CHECK(mqtt_client_new(&hub.client, e, &o, &cb, &hub) == 0);
        CHECK_STR(mqtt_client_get_id(hub.client), "hub1");
        CHECK(mqtt_client_subscribe(hub.client, filter, 1) == 0);
        CHECK(mqtt_client_subscribe(hub.client, filter, 1) == -EEXIST);
        CHECK(!mqtt_client_is_connected(hub.client));
        CHECK(mqtt_client_connect(hub.client) == 0);
        RUN_UNTIL(e, mqtt_client_is_connected(hub.client), 20);
        RUN_UNTIL(e, recorder_count(&sub, status) >= 1, 20);
        CHECK_STR(recorder_last(&sub, status)->payload,
                     "{\"state\":\"online\",\"version\":\"0.1.0\",\"started_at\":\"2026-11-21T10:00:00.000Z\"}");

        publish_and_check(e, &hub, &sub, state, "{\"state\":\"idle\",\"athlete\":null,\"force_kg\":0.0}", 0, true);
        publish_and_check(e, &hub, &sub, session, "{\"id\":\"s-1\",\"status\":\"completed\",\"steps\":[]}", 1, false);
        publish_and_check(e, &hub, &sub, event, "{\"type\":\"release\",\"at\":\"2026-11-21T10:00:01.000Z\"}", 1, false);
        publish_and_check(e, &hub, &sub, force, "{\"t\":12.5,\"kg\":[1.25,1.5,1.75]}", 0, false);
        publish_and_check(e, &hub, &sub, tool,
                          "{\"type\":\"progressor\",\"name\":\"P1\",\"connected\":true,\"battery\":87,"
                          "\"last_seen\":\"2026-11-21T10:00:00.000Z\"}", 1, true);
        CHECK_EQ(hub.delivery_errors, 0);

        /* Retained topics reach a newcomer. */
        CHECK(recorder_start(&late, e, uri, "sub-topics-late", "tphub/hub1/#", false) == 0);
        RUN_UNTIL(e, recorder_count(&late, state) >= 1 && recorder_count(&late, tool) >= 1, 20);
        CHECK(recorder_last(&late, state)->retained);
        CHECK_STR(recorder_last(&late, state)->payload, "{\"state\":\"idle\",\"athlete\":null,\"force_kg\":0.0}");
        CHECK(recorder_last(&late, tool)->retained);
        CHECK_EQ(recorder_count(&late, session), 0);
        recorder_done(&late);

        /* A command in, a reply out, with the id echoed; then a malformed one. */
        const char *good = "{\"cmd\":\"start\",\"athlete\":\"anna\",\"protocol\":\"back-12\",\"id\":\"r1\"}";
        CHECK(mqtt_client_publish(sub.client, cmd, good, strlen(good), 1, false, NULL, NULL) == 0);
        RUN_UNTIL(e, recorder_count(&sub, reply) >= 1, 20);
        CHECK_STR(recorder_last(&sub, reply)->payload, "{\"id\":\"r1\",\"ok\":true}");

        const char *bad = "{\"cmd\":\"launch\",\"id\":\"r2\"}";
        CHECK(mqtt_client_publish(sub.client, cmd, bad, strlen(bad), 1, false, NULL, NULL) == 0);
        RUN_UNTIL(e, recorder_count(&sub, reply) >= 2, 20);
        CHECK_STR(recorder_last(&sub, reply)->payload, "{\"id\":\"r2\",\"ok\":false,\"error\":\"unknown command\"}");
        CHECK_EQ(hub.commands, 2);

        /* Clean shutdown: offline published by us (no will on a clean disconnect), then the
         * done callback on the loop, then free. */
        size_t n_status = recorder_count(&sub, status);
        CHECK(mqtt_client_shutdown(hub.client, 5 * 1000 * 1000, hub_shutdown_done, &hub) == 0);
        CHECK(mqtt_client_shutdown(hub.client, 5 * 1000 * 1000, hub_shutdown_done, &hub) == -EALREADY);
        RUN_UNTIL(e, hub.shutdown_done == 1, 10);
        CHECK(!mqtt_client_is_connected(hub.client));
        RUN_UNTIL(e, recorder_count(&sub, status) > n_status, 20);
        CHECK_STR(recorder_last(&sub, status)->payload, "{\"state\":\"offline\"}");
        CHECK(mqtt_client_connect(hub.client) == -ESHUTDOWN);
        hub.client = mqtt_client_free(hub.client);

        /* done may free the client itself (the daemon's natural shutdown path). */
        o.client_id = "hub1-again";
        o.status_topic = NULL;
        CHECK(mqtt_client_new(&hub.client, e, &o, NULL, NULL) == 0);
        CHECK(mqtt_client_connect(hub.client) == 0);
        RUN_UNTIL(e, mqtt_client_is_connected(hub.client), 20);
        CHECK(mqtt_client_shutdown(hub.client, 5 * 1000 * 1000, free_in_done, &hub) == 0);
        RUN_UNTIL(e, !hub.client, 10);

        recorder_done(&sub);
        free(uri);
        mosquitto_done(&m);
        test_rm_rf(dir);
        free(dir);
}

/* ---- credentials ---- */
typedef struct LogCapture {
        char *last;
} LogCapture;

static void capture_log(MqttClient *c, MqttLogLevel level, const char *message, void *userdata) {
        LogCapture *l = userdata;
        free(l->last);
        l->last = strdup(message);
}

static void test_credentials(void) {
        sd_event *e = loop;

        char *dir = test_tmpdir("creds");
        char *path, *pwfile, *conf, *uri, *cmd;
        MqttClient *c = NULL;
        LogCapture lc = {};
        MqttClientCallbacks cb = { .log = capture_log };
        Mosquitto m;
        Recorder r = {};

        CHECK(asprintf(&path, "%s/credentials", dir) > 0);
        CHECK(test_write_file(path, "hubuser\nsecret-pw\n", 0644) == 0);

        MqttClientOptions o = { .uri = "tcp://127.0.0.1:1", .client_id = "c", .credentials_file = path };
        CHECK_EQ(mqtt_client_new(&c, e, &o, &cb, &lc), -EPERM);
        CHECK(!c);
        CHECK(lc.last && strstr(lc.last, "accessible by other users (mode 0644)"));

        CHECK(chmod(path, 0640) == 0);
        CHECK(test_write_file(path, "hubuser\nsecret-pw\n", 0640) == 0);

        /* A broker that wants exactly these credentials. */
        CHECK(asprintf(&pwfile, "%s/passwd", dir) > 0);
        CHECK(asprintf(&cmd, "mosquitto_passwd -b -c %s hubuser secret-pw", pwfile) > 0);
        CHECK(system(cmd) == 0);
        CHECK(asprintf(&conf, "persistence false\nallow_anonymous false\npassword_file %s", pwfile) > 0);
        /* listener-specific settings need per_listener_settings false (the default): fine */
        CHECK(mosquitto_start(&m, dir, 0, conf) == 0);
        uri = uri_for(&m, "tcp");

        o.uri = uri;
        o.client_id = "cred-ok";
        CHECK(mqtt_client_new(&r.client, e, &o, &recorder_callbacks, &r) == 0);
        CHECK(mqtt_client_connect(r.client) == 0);
        RUN_UNTIL(e, r.connected, 20);
        recorder_done(&r);

        CHECK(test_write_file(path, "hubuser\nwrong\n", 0600) == 0);
        o.client_id = "cred-bad";
        CHECK(mqtt_client_new(&r.client, e, &o, &recorder_callbacks, &r) == 0);
        CHECK(mqtt_client_connect(r.client) == 0);
        RUN_UNTIL(e, r.connect_failed > 0, 20);
        CHECK(!r.connected);
        recorder_done(&r);

        /* A file without the password line is refused. */
        CHECK(test_write_file(path, "justuser", 0600) == 0);
        CHECK_EQ(mqtt_client_new(&c, e, &o, &cb, &lc), -EINVAL);
        CHECK(strstr(lc.last, "must hold"));

        free(lc.last);
        free(uri);
        free(conf);
        free(cmd);
        free(pwfile);
        free(path);
        mosquitto_done(&m);
        test_rm_rf(dir);
        free(dir);
}

/* ---- TLS ---- */
static void make_ca(const char *dir, const char *name) {
        char *cmd;
        CHECK(asprintf(&cmd,
                       "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=%s "
                       "-keyout %s.key -out %s.crt >/dev/null 2>&1", dir, name, name, name) > 0);
        CHECK(system(cmd) == 0);
        free(cmd);
}

/* openssl: a key and a certificate NAME signed by ca, with the given subjectAltName. */
static void make_cert(const char *dir, const char *name, const char *subject, const char *san) {
        char *cmd;
        CHECK(asprintf(&cmd,
                       "cd %s && printf 'subjectAltName=%s\\n' > %s.ext && "
                       "openssl req -newkey rsa:2048 -nodes -subj /CN=%s -keyout %s.key -out %s.csr >/dev/null 2>&1 && "
                       "openssl x509 -req -in %s.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
                       "-extfile %s.ext -out %s.crt >/dev/null 2>&1",
                       dir, san, name, subject, name, name, name, name, name) > 0);
        CHECK(system(cmd) == 0);
        free(cmd);
}

static void tls_expect_refused(sd_event *e, MqttClientOptions *o, const char *client_id, const char *log) {
        Recorder r = {};

        o->client_id = client_id;
        CHECK(mqtt_client_new(&r.client, e, o, &recorder_callbacks, &r) == 0);
        CHECK(mqtt_client_connect(r.client) == 0);
        /* The failed connect and the TLS library's reason come from different Paho threads:
         * either may reach the loop first (under valgrind the reason often comes second). */
        RUN_UNTIL(e, r.connect_failed > 0 && (!log || recorder_has_log(&r, log)), 20);
        CHECK(!r.connected);
        recorder_done(&r);
}

static void tls_expect_ok(sd_event *e, MqttClientOptions *o, const char *client_id) {
        Recorder r = {};

        o->client_id = client_id;
        CHECK(mqtt_client_new(&r.client, e, o, &recorder_callbacks, &r) == 0);
        CHECK(mqtt_client_subscribe(r.client, "tls/test", 1) == 0);
        CHECK(mqtt_client_connect(r.client) == 0);
        RUN_UNTIL(e, r.connected, 20);
        /* and data flows over it */
        CHECK(mqtt_client_publish(r.client, "tls/test", "hello", 5, 1, false, NULL, NULL) == 0);
        RUN_UNTIL(e, recorder_count(&r, "tls/test") == 1, 20);
        CHECK_STR(recorder_last(&r, "tls/test")->payload, "hello");
        recorder_done(&r);
}

static void test_tls(void) {
        sd_event *e = loop;

        char *dir = test_tmpdir("tls");
        char *conf, *uri, *uri_mutual, *uri_badname, *ca, *wrong_ca, *client_crt, *client_key;
        int port_mutual = test_free_port(), port_badname = test_free_port();
        Mosquitto m;

        make_ca(dir, "ca");
        make_ca(dir, "otherca");
        make_cert(dir, "server", "127.0.0.1", "IP:127.0.0.1,DNS:localhost");
        make_cert(dir, "badname", "example.invalid", "DNS:example.invalid");
        make_cert(dir, "client", "hub1", "DNS:hub1");

        /* Three TLS listeners: server auth only; client certificates required; a server
         * certificate for another name. (cafile/certfile/... apply to the listener above.) */
        CHECK(asprintf(&conf,
                       "persistence false\ncafile %1$s/ca.crt\ncertfile %1$s/server.crt\nkeyfile %1$s/server.key\n"
                       "listener %2$d 127.0.0.1\ncafile %1$s/ca.crt\ncertfile %1$s/server.crt\n"
                       "keyfile %1$s/server.key\nrequire_certificate true\n"
                       "listener %3$d 127.0.0.1\ncafile %1$s/ca.crt\ncertfile %1$s/badname.crt\n"
                       "keyfile %1$s/badname.key",
                       dir, port_mutual, port_badname) > 0);
        CHECK(mosquitto_start(&m, dir, 0, conf) == 0);
        uri = uri_for(&m, "ssl");
        CHECK(asprintf(&uri_mutual, "ssl://127.0.0.1:%d", port_mutual) > 0);
        CHECK(asprintf(&uri_badname, "ssl://127.0.0.1:%d", port_badname) > 0);
        CHECK(asprintf(&ca, "%s/ca.crt", dir) > 0);
        CHECK(asprintf(&wrong_ca, "%s/otherca.crt", dir) > 0);
        CHECK(asprintf(&client_crt, "%s/client.crt", dir) > 0);
        CHECK(asprintf(&client_key, "%s/client.key", dir) > 0);

        MqttClientOptions o = { .uri = uri, .ca_file = ca };
        tls_expect_ok(e, &o, "tls-ok");

        /* A CA that did not sign the broker: refused, and OpenSSL's reason is logged. */
        o.ca_file = wrong_ca;
        tls_expect_refused(e, &o, "tls-wrong-ca", "certificate verify failed");

        /* The right CA, but the certificate names another host. */
        o.uri = uri_badname;
        o.ca_file = ca;
        tls_expect_refused(e, &o, "tls-bad-name", "TLS: host name mismatch: the broker's certificate is not valid for");

        /* A broker that wants client certificates: without one refused, with one fine. */
        o.uri = uri_mutual;
        tls_expect_refused(e, &o, "tls-no-client-cert", NULL);
        o.cert_file = client_crt;
        o.key_file = client_key;
        tls_expect_ok(e, &o, "tls-mutual");

        free(ca);
        free(wrong_ca);
        free(client_crt);
        free(client_key);
        free(uri);
        free(uri_mutual);
        free(uri_badname);
        free(conf);
        mosquitto_done(&m);
        test_rm_rf(dir);
        free(dir);
}

static void test_bad_options(void) {
        sd_event *e = loop;

        MqttClient *c = NULL;
        MqttClientOptions o = { .uri = "tcp://127.0.0.1:1", .version = 4 };

        CHECK_EQ(mqtt_client_new(&c, e, &o, NULL, NULL), -EINVAL);
        o.version = 3;
        o.uri = NULL;
        CHECK_EQ(mqtt_client_new(&c, e, &o, NULL, NULL), -EINVAL);
        CHECK(!c);

        /* Host name as client id by default; freeing a never-connected client is fine. */
        o.uri = "tcp://127.0.0.1:1";
        CHECK(mqtt_client_new(&c, e, &o, NULL, NULL) == 0);
        char host[256] = {};
        CHECK(gethostname(host, sizeof(host) - 1) == 0);
        CHECK_STR(mqtt_client_get_id(c), host);
        CHECK_EQ(mqtt_client_publish(c, "a/+", "x", 1, 0, false, NULL, NULL), -EINVAL);
        CHECK_EQ(mqtt_client_publish(c, "a", "x", 1, 3, false, NULL, NULL), -EINVAL);
        CHECK_EQ(mqtt_client_subscribe(c, "", 0), -EINVAL);
        c = mqtt_client_free(c);
}

static void test_topics_roundtrip_v3(void) {
        topics_roundtrip(loop, 3);
}

static void test_topics_roundtrip_v5(void) {
        topics_roundtrip(loop, 5);
}

static const TapCase cases[] = {
        { "bad_options", test_bad_options },
        { "online_and_last_will", test_online_and_last_will },
        { "topics_roundtrip_v3", test_topics_roundtrip_v3 },
        { "topics_roundtrip_v5", test_topics_roundtrip_v5 },
        { "credentials", test_credentials },
        { "tls", test_tls },
};

int main(int argc, char *argv[]) {
        int r;

        REQUIRE(argc >= 2);
        helper_path = argv[1];
        test_require_program("mosquitto");
        test_require_program("mosquitto_passwd");
        test_require_program("openssl");

        REQUIRE(sd_event_new(&loop) >= 0);
        r = tap_run(cases, sizeof(cases) / sizeof(cases[0]), argc - 1, argv + 1);
        sd_event_unref(loop);
        return r;
}
