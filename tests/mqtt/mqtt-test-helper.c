/* SPDX-License-Identifier: MIT */
/* A process the tests can SIGKILL at a known point:
 *   mqtt-test-helper online URI STATUS_TOPIC        connect with a last will, print "connected"
 *   mqtt-test-helper push URI SPOOL TOPIC ID JSON   spool+publish a session, print "spooled"
 *   mqtt-test-helper checkpoint DIR STATION JSON    write a checkpoint, print "written"
 * then run the loop until killed. */
#include <stdio.h>
#include <string.h>

#include "mqtt/mqtt-client.h"
#include "mqtt/session-publisher.h"
#include "store/checkpoint.h"
#include "store/outbox.h"

static void on_connected(MqttClient *c, void *userdata) {
        printf("connected\n");
        fflush(stdout);
}

static void on_online(MqttClient *c, json_object *status, void *userdata) {
        json_object *a = json_object_new_array();
        json_object_array_add(a, json_object_new_string("a"));
        json_object_object_add(status, "stations", a);
}

static void on_log(MqttClient *c, MqttLogLevel level, const char *message, void *userdata) {
        fprintf(stderr, "helper: %s\n", message);
}

int main(int argc, char *argv[]) {
        sd_event *e = NULL;
        MqttClient *c = NULL;
        Outbox *o = NULL;
        SessionPublisher *p = NULL;
        MqttClientCallbacks cb = { .connected = on_connected, .online_status = on_online, .log = on_log };
        int r;

        if (argc < 2)
                return 2;
        if (sd_event_default(&e) < 0)
                return 1;

        if (!strcmp(argv[1], "online") && argc == 4) {
                MqttClientOptions opts = {
                        .uri = argv[2],
                        .client_id = "helper-online",
                        .status_topic = argv[3],
                        .software_version = "9.9.9",
                        .started_at = "2026-01-01T00:00:00.000Z",
                        .keepalive_s = 5,
                };
                if (mqtt_client_new(&c, e, &opts, &cb, NULL) < 0 || mqtt_client_connect(c) < 0)
                        return 1;
        } else if (!strcmp(argv[1], "push") && argc == 7) {
                MqttClientOptions opts = { .uri = argv[2], .client_id = "helper-push" };
                cb.connected = NULL;
                if (mqtt_client_new(&c, e, &opts, &cb, NULL) < 0 || mqtt_client_connect(c) < 0)
                        return 1;
                if (outbox_open(&o, argv[3], 0) < 0 || publisher_new(&p, c, o, 0, NULL, NULL) < 0)
                        return 1;
                r = publisher_push(p, argv[4], argv[5], argv[6]);
                if (r < 0)
                        return 1;
                printf("spooled\n");
                fflush(stdout);
        } else if (!strcmp(argv[1], "checkpoint") && argc == 5) {
                if (checkpoint_write(argv[2], argv[3], argv[4], strlen(argv[4])) < 0)
                        return 1;
                printf("written\n");
                fflush(stdout);
        } else
                return 2;

        /* until SIGKILL */
        r = sd_event_loop(e);
        publisher_free(p);
        outbox_free(o);
        mqtt_client_free(c);
        sd_event_unref(e);
        return r < 0 ? 1 : 0;
}
