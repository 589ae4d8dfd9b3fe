/* SPDX-License-Identifier: MIT */
/* hub_command_decide(): each verb's verdict and reply text (docs/mqtt.md, "Commands"), as a
 * pure function of the command and the station's state. */

#include <string.h>

#include "hub/hub-command.h"
#include "sim.h"
#include "tap.h"

static Protocol *protocols[2];
static Config config;

static void setup(void) {
        ProtocolStep a = sim_press_step("upper-trap", HOLD_START_AUTO, 5000);
        ProtocolStep b = sim_press_step("levator", HOLD_START_AUTO, 5000);

        protocols[0] = sim_protocol("neck", &a, 1);
        protocols[1] = sim_protocol("shoulder", &b, 1);
        config = (Config) { .protocols = protocols, .n_protocols = 2 };
}

static void teardown(void) {
        for (size_t i = 0; i < 2; i++)
                protocols[i] = protocol_free(protocols[i]);
}

static MqttCommand command(MqttCommandVerb verb, const char *protocol, const char *athlete) {
        MqttCommand c = { .verb = verb };

        snprintf(c.protocol, sizeof c.protocol, "%s", protocol);
        snprintf(c.athlete, sizeof c.athlete, "%s", athlete);
        return c;
}

static HubCommandState idle(void) {
        return (HubCommandState) { .config = &config, .station_protocol = protocols[0], .cue = CUE_IDLE };
}

static void test_start(void) {
        HubCommandState st;
        MqttCommand c;
        HubAction a;

        setup();
        st = idle();
        /* no protocol named: the station's (selected or default), no athlete: NULL */
        c = command(MQTT_COMMAND_START, "", "");
        CHECK(hub_command_decide(&c, &st, &a) == NULL);
        CHECK_EQ(a.kind, HUB_ACTION_START);
        CHECK(a.protocol == protocols[0]);
        CHECK(a.athlete == NULL);
        /* a named one, an athlete */
        c = command(MQTT_COMMAND_START, "shoulder", "ann");
        CHECK(hub_command_decide(&c, &st, &a) == NULL);
        CHECK_EQ(a.kind, HUB_ACTION_START);
        CHECK(a.protocol == protocols[1]);
        CHECK_STR(a.athlete, "ann");
        /* unknown protocol, and a station without one */
        c = command(MQTT_COMMAND_START, "hips", "ann");
        CHECK_STR(hub_command_decide(&c, &st, &a), "unknown protocol");
        CHECK_EQ(a.kind, HUB_ACTION_NONE);
        st.station_protocol = NULL;
        c = command(MQTT_COMMAND_START, "", "");
        CHECK_STR(hub_command_decide(&c, &st, &a), "unknown protocol");
        /* busy */
        st = idle();
        st.busy = true;
        st.cue = CUE_POINT;
        c = command(MQTT_COMMAND_START, "neck", "");
        CHECK_STR(hub_command_decide(&c, &st, &a), "a session is running");
        CHECK_EQ(a.kind, HUB_ACTION_NONE);
        teardown();
}

static void test_stop_skip(void) {
        HubCommandState st = idle();
        MqttCommand c;
        HubAction a;

        setup();
        c = command(MQTT_COMMAND_STOP, "", "");
        CHECK_STR(hub_command_decide(&c, &st, &a), "no session is running");
        c = command(MQTT_COMMAND_SKIP, "", "");
        CHECK_STR(hub_command_decide(&c, &st, &a), "no session is running");
        st.busy = true;
        st.cue = CUE_HOLD;
        c = command(MQTT_COMMAND_STOP, "", "");
        CHECK(hub_command_decide(&c, &st, &a) == NULL);
        CHECK_EQ(a.kind, HUB_ACTION_STOP);
        c = command(MQTT_COMMAND_SKIP, "", "");
        CHECK(hub_command_decide(&c, &st, &a) == NULL);
        CHECK_EQ(a.kind, HUB_ACTION_SKIP);
        teardown();
}

/* Refused exactly in the states where the tool is pressed (the press would be erased). */
static void test_tare(void) {
        HubCommandState st = idle();
        MqttCommand c = command(MQTT_COMMAND_TARE, "", "");
        HubAction a;

        setup();
        for (int k = 0; k < _CUE_KIND_MAX; k++) {
                bool pressed = k == CUE_PRESSING || k == CUE_HOLD || k == CUE_RELEASE || k == CUE_PAUSED;
                const char *e;

                st.cue = (CueKind) k;
                e = hub_command_decide(&c, &st, &a);
                if (pressed) {
                        CHECK_STR(e, "cannot tare while the tool is pressed");
                        CHECK_EQ(a.kind, HUB_ACTION_NONE);
                } else {
                        CHECK(e == NULL);
                        CHECK_EQ(a.kind, HUB_ACTION_TARE);
                }
        }
        teardown();
}

/* select never starts, also when busy; the protocol must exist. */
static void test_select(void) {
        HubCommandState st = idle();
        MqttCommand c;
        HubAction a;

        setup();
        c = command(MQTT_COMMAND_SELECT, "shoulder", "");
        st.busy = true;
        CHECK(hub_command_decide(&c, &st, &a) == NULL);
        CHECK_EQ(a.kind, HUB_ACTION_SELECT);
        CHECK(a.protocol == protocols[1]);
        c = command(MQTT_COMMAND_SELECT, "hips", "");
        CHECK_STR(hub_command_decide(&c, &st, &a), "unknown protocol");
        CHECK_EQ(a.kind, HUB_ACTION_NONE);
        teardown();
}

/* Hub-wide verbs are not a station's (hub-archive.c answers them before). */
static void test_hub_wide(void) {
        HubCommandState st = idle();
        MqttCommand c;
        HubAction a;

        setup();
        c = command(MQTT_COMMAND_SESSIONS_SINCE, "", "");
        CHECK_STR(hub_command_decide(&c, &st, &a), "unknown command");
        c = command(MQTT_COMMAND_RESEND, "", "");
        CHECK_STR(hub_command_decide(&c, &st, &a), "unknown command");
        CHECK_EQ(a.kind, HUB_ACTION_NONE);
        teardown();
}

static const TapCase cases[] = {
        { "start: the station's or the named protocol, refused when unknown or busy", test_start },
        { "stop and skip need a running session", test_stop_skip },
        { "tare is refused while the tool is pressed, and only then", test_tare },
        { "select names an existing protocol and never starts", test_select },
        { "hub-wide verbs are no station command", test_hub_wide },
};

TAP_MAIN(cases)
