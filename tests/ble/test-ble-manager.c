/* SPDX-License-Identifier: MIT */
/* BleManager against the fake bluetoothd on a private bus. One scenario per invocation
 * (argv[1]) so meson runs them in parallel, each with its own bus and simulator. */

#include <math.h>
#include <string.h>

#include "ble-lab.h"
#include "ble/drivers/driver.h"

#define A1 "AA:BB:CC:00:00:01"
#define A2 "AA:BB:CC:00:00:02"
#define A3 "AA:BB:CC:00:00:03"
#define D1 "dev_AA_BB_CC_00_00_01"
#define D2 "dev_AA_BB_CC_00_00_02"
#define D3 "dev_AA_BB_CC_00_00_03"
#define PROGRESSOR_SERVICE "7e4e1701-1ea6-40c9-9dcc-13d34ffead57"

#define MAX_TRACE 512

typedef struct Trace {
        double t[MAX_TRACE];
        double f[MAX_TRACE];
        size_t n;
} Trace;

static void make_trace(Trace *tr, size_t n, double step_ms, double base, double slope) {
        tr->n = n;
        for (size_t i = 0; i < n; i++) {
                tr->t[i] = (double) i * step_ms;
                tr->f[i] = base + slope * (double) i;
        }
}

static void tool_with_trace(Lab *lab, const char *address, const char *name, const Trace *tr, bool early) {
        sim_add_tool(lab, address, "progressor", name, -50, early);
        sim_set_trace(lab, address, tr->t, tr->f, tr->n);
}

/* Samples [from, from + n) of address equal trace rows [row, row + n), exactly. */
static bool samples_equal(const Lab *lab, const char *address, size_t from, const Trace *tr, size_t row, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const LabSample *s = lab_nth_sample(lab, address, from + i);
                if (!s) {
                        printf("# sample %zu missing\n", from + i);
                        return false;
                }
                if (s->newtons != progressor_newtons(tr->f[row + i]) || !s->has_ts ||
                    s->ts != (uint64_t) tr->t[row + i] * 1000U) {
                        printf("# sample %zu: %.9f N ts %llu, expected %.9f N ts %llu\n", from + i, s->newtons,
                               (unsigned long long) s->ts, progressor_newtons(tr->f[row + i]),
                               (unsigned long long) tr->t[row + i] * 1000U);
                        return false;
                }
        }
        return true;
}

static bool pred_battery_mv(Lab *lab, const void *arg) {
        return lab->battery_mv >= 0;
}

static bool pred_battery(Lab *lab, const void *arg) {
        return lab->battery >= 0;
}

static BleManagerConfig test_config(void) {
        return (BleManagerConfig) {
                .adapter = "hci0",
                .connect_timeout_ms = 2000,
                .resolve_timeout_ms = 2000,
                .stall_timeout_ms = 10000,     /* ended traces are silence; only the stall test wants one */
                .backoff_initial_ms = 50,
                .backoff_max_ms = 1000,
                .no_jitter = true,
                /* never steady that long: samples pass raw unless a test wants a zero */
                .zero_window_ms = 3600U * 1000U,
        };
}

/* discovery -> connect -> AcquireNotify -> commands -> exact samples in order */
static void test_stream(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();
        BleToolInfo info;

        make_trace(&tr, 20, 10, 10.0, 3.7);
        /* a Progressor sends nothing before its start command (no early_value): the link
         * takes its notifications through AcquireNotify (acquire-refused has the early one) */
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, "aa:bb:cc:00:00:01", "progressor"), 0);
        CHECK(ble_manager_add_tool(lab->manager, A1, "progressor") == -EEXIST);
        CHECK(ble_manager_add_tool(lab->manager, A2, "nosuchdriver") == -ENOENT);
        CHECK(ble_manager_add_tool(lab->manager, "AA:BB:CC:00:00", "progressor") == -EINVAL);
        CHECK_EQ(ble_manager_start(lab->manager), 0);

        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, tr.n }, 10000, "all samples");
        lab_wait(lab, pred_calls, &(LabCallsArg) { "StopDiscovery", NULL, 1 }, 5000, "discovery stopped");
        lab_wait(lab, pred_battery_mv, NULL, 5000, "battery reply");

        /* discovery: LE only, the configured driver's service, no duplicate reports */
        const LabCall *f = lab_nth_call(lab, "SetDiscoveryFilter", NULL, 0);
        CHECK(f);
        CHECK(strcmp(f->transport, "le") == 0);
        CHECK(f->duplicate_data == 0);
        CHECK(f->n_uuids == 1);
        CHECK(strcmp(f->uuid0, PROGRESSOR_SERVICE) == 0);
        CHECK(lab_count_calls(lab, "SetDiscoveryFilter", NULL) == 1);
        CHECK(lab_count_calls(lab, "StartDiscovery", NULL) == 1);
        CHECK(lab_nth_call(lab, "SetDiscoveryFilter", NULL, 0)->when <= lab_nth_call(lab, "StartDiscovery", NULL, 0)->when);

        /* one Connect, one AcquireNotify on the data characteristic (no StartNotify), then
         * battery (asked before streaming, the Progressor answers it only then) and start;
         * never a hardware tare: a tool may be pressed when it (re)connects */
        CHECK(lab_count_calls(lab, "Connect", D1) == 1);
        CHECK(lab_count_calls(lab, "AcquireNotify", NULL) == 1);
        CHECK(lab_count_calls(lab, "AcquireNotify", D1 "/service000a/char000b") == 1);
        CHECK(lab_count_calls(lab, "StartNotify", NULL) == 0);
        CHECK(lab_count_calls(lab, "WriteValue", NULL) == 2);
        CHECK(lab_nth_call(lab, "WriteValue", NULL, 0)->byte0 == 0x6F);
        CHECK(lab_nth_call(lab, "WriteValue", NULL, 1)->byte0 == 0x65);
        CHECK(lab_count_calls(lab, "ReadValue", NULL) == 0);
        CHECK(lab_nth_call(lab, "Connect", NULL, 0)->when <= lab_nth_call(lab, "AcquireNotify", NULL, 0)->when);
        CHECK(lab_nth_call(lab, "AcquireNotify", NULL, 0)->when <= lab_nth_call(lab, "WriteValue", NULL, 0)->when);
        CHECK(lab_count_logs(lab, "StartNotify") == 0);

        /* every sample, exactly, in order */
        CHECK(lab_count_samples(lab, NULL) == tr.n);
        CHECK(samples_equal(lab, A1, 0, &tr, 0, tr.n));

        CHECK(lab_count_states(lab, A1, true) == 1);
        CHECK(lab_count_states(lab, A1, false) == 0);
        CHECK(lab->battery == -1);
        CHECK(lab->battery_mv == 3900);
        CHECK_EQ(ble_manager_tool_info(lab->manager, A1, &info), 0);
        CHECK(strcmp(info.address, A1) == 0);
        CHECK(strcmp(info.driver, "progressor") == 0);
        CHECK(info.name && strcmp(info.name, "Progressor_1") == 0);
        CHECK(info.connected);
        CHECK(info.battery == -1);
        CHECK(info.battery_mv == 3900);
        CHECK(info.last_seen > 0);
        CHECK(ble_manager_tool_info(lab->manager, A2, &info) == -ENOENT);
        CHECK(strcmp(ble_manager_tool_at(lab->manager, 0), A1) == 0);
        CHECK(!ble_manager_tool_at(lab->manager, 1));

        /* a tare on request needs a steady reading (never here) and writes nothing */
        CHECK(info.zero == BLE_ZERO_NONE);
        CHECK(ble_manager_tare(lab->manager, A1) == -EAGAIN);
        CHECK(ble_manager_tare(lab->manager, A2) == -ENOENT);
        CHECK(lab_count_calls(lab, "WriteValue", NULL) == 2);
        CHECK(lab_count_logs(lab, "reconnecting") == 0);
}

/* the device drops the link mid-stream: state goes down, the link comes back, the stream
 * continues with nothing lost or repeated */
static void test_reconnect(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();

        make_trace(&tr, 40, 10, 5.0, 1.25);
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);

        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, 10 }, 10000, "first samples");
        sim_simple(lab, "DropLink", A1);
        lab_wait(lab, pred_state, &(LabStateArg) { A1, false, 1 }, 5000, "tool down");
        lab_wait(lab, pred_state, &(LabStateArg) { A1, true, 2 }, 5000, "tool up again");
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, tr.n }, 10000, "all samples");

        CHECK(lab_count_samples(lab, A1) == tr.n);
        CHECK(samples_equal(lab, A1, 0, &tr, 0, tr.n));
        CHECK(lab_count_calls(lab, "Connect", D1) == 2);
        /* the socket closed with the link; the new link acquired a new one */
        CHECK(lab_count_calls(lab, "AcquireNotify", D1) == 2);
        CHECK(lab_count_calls(lab, "StartNotify", D1) == 0);
        CHECK(lab_count_states(lab, A1, true) == 2);
        CHECK(lab_count_states(lab, A1, false) == 1);
        CHECK(lab_count_logs(lab, "link-lost") == 1);
        CHECK(lab_count_logs(lab, "streaming again after 1 failed attempt") == 1);
}

/* a stale pending Connect (InProgress) is cleared by the ladder: Disconnect + RemoveDevice */
static void test_inprogress(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();
        static const char *const script[] = { "inprogress", "inprogress", "inprogress", NULL };

        make_trace(&tr, 10, 10, 20.0, 0.5);
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        sim_connect_script(lab, A1, script);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);

        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, tr.n }, 15000, "samples after recovery");
        CHECK(samples_equal(lab, A1, 0, &tr, 0, tr.n));

        CHECK(lab_count_calls(lab, "Connect", D1) == 4);
        CHECK(lab_count_calls(lab, "RemoveDevice", "/org/bluez/hci0") == 1);
        CHECK(lab_count_calls(lab, "Disconnect", D1) >= 3);
        /* RemoveDevice came after the third failure and before the fourth attempt, and was
         * preceded by a Disconnect */
        const LabCall *rm = lab_nth_call(lab, "RemoveDevice", NULL, 0);
        CHECK(lab_nth_call(lab, "Connect", D1, 2)->when <= rm->when);
        CHECK(rm->when <= lab_nth_call(lab, "Connect", D1, 3)->when);
        CHECK(lab_nth_call(lab, "Disconnect", D1, 2)->when <= rm->when);
        /* logged once per rung, not per retry */
        CHECK(lab_count_logs(lab, "reconnecting with backoff") == 1);
        CHECK(lab_count_logs(lab, "in-progress") == 2);
        CHECK(lab_count_logs(lab, "removing the device from BlueZ") == 1);
        CHECK(lab_count_logs(lab, "power-cycling") == 0);
        CHECK(lab_count_states(lab, A1, true) == 1);
}

/* le-connection-abort-by-local: retries with exponential backoff */
static void test_abort(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();
        static const char *const script[] = { "abort", "abort", NULL };

        cfg.backoff_initial_ms = 150;
        make_trace(&tr, 10, 10, 7.0, 2.0);
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        sim_connect_script(lab, A1, script);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);

        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, tr.n }, 15000, "samples after retries");
        CHECK(samples_equal(lab, A1, 0, &tr, 0, tr.n));
        CHECK(lab_count_calls(lab, "Connect", D1) == 3);
        CHECK(lab_count_calls(lab, "RemoveDevice", NULL) == 0);

        nsec_t gap1 = lab_nth_call(lab, "Connect", D1, 1)->when - lab_nth_call(lab, "Connect", D1, 0)->when;
        nsec_t gap2 = lab_nth_call(lab, "Connect", D1, 2)->when - lab_nth_call(lab, "Connect", D1, 1)->when;
        fprintf(stderr, "retry gaps: %.1f ms, %.1f ms\n", (double) gap1 / 1e6, (double) gap2 / 1e6);
        CHECK(gap1 >= 150 * NSEC_PER_MSEC);
        CHECK(gap2 >= 300 * NSEC_PER_MSEC);
        CHECK(gap2 >= gap1 + 100 * NSEC_PER_MSEC);
        CHECK(lab_count_logs(lab, "connection-abort (org.bluez.Error.Failed: le-connection-abort-by-local)") == 1);
        CHECK(lab_count_logs(lab, "reconnecting with backoff") == 1);
        CHECK(lab_count_logs(lab, "streaming again after 2 failed attempts") == 1);
}

/* bluetoothd dies mid-stream and comes back: state dropped, everything re-applied */
static void test_bluez_restart(Lab *lab) {
        static Trace tr, tr2;
        BleManagerConfig cfg = test_config();
        size_t n0;

        make_trace(&tr, 300, 10, 1.0, 0.5);
        make_trace(&tr2, 30, 10, 100.0, -1.5);
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);

        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, 10 }, 10000, "first samples");
        lab_sim_kill(lab);
        lab_wait(lab, pred_state, &(LabStateArg) { A1, false, 1 }, 5000, "tool down with bluetoothd");
        n0 = lab_count_samples(lab, A1);
        CHECK(samples_equal(lab, A1, 0, &tr, 0, n0));
        CHECK(lab_count_logs(lab, "bluetoothd went away") == 1);
        size_t filters = lab_count_calls(lab, "SetDiscoveryFilter", NULL);
        CHECK(filters == 1);

        lab_sim_start(lab);
        tool_with_trace(lab, A1, "Progressor_1", &tr2, false);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, n0 + tr2.n }, 15000, "samples from the new bluetoothd");
        CHECK(samples_equal(lab, A1, n0, &tr2, 0, tr2.n));
        /* the new bluetoothd knew nothing: filter, discovery and notifications re-applied */
        CHECK(lab_count_calls(lab, "SetDiscoveryFilter", NULL) == 2);
        CHECK(lab_count_calls(lab, "StartDiscovery", NULL) == 2);
        CHECK(lab_count_calls(lab, "AcquireNotify", NULL) == 2);
        CHECK(lab_count_states(lab, A1, true) == 2);
        CHECK(lab_count_logs(lab, "bluetoothd is up") == 2);
}

/* the adapter is powered off and on from outside (rfkill, controller reset) */
static void test_power_cycle(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();

        make_trace(&tr, 60, 10, 3.0, 0.75);
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);

        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, 10 }, 10000, "first samples");
        sim_set_bool(lab, "SetPowered", "hci0", false);
        lab_wait(lab, pred_state, &(LabStateArg) { A1, false, 1 }, 5000, "tool down with the adapter");
        lab_wait(lab, pred_log, "no usable Bluetooth adapter", 5000, "adapter loss noticed");
        CHECK(lab_count_logs(lab, "no usable Bluetooth adapter") == 1);
        sim_set_bool(lab, "SetPowered", "hci0", true);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, tr.n }, 15000, "all samples");
        CHECK(lab_count_samples(lab, A1) == tr.n);
        CHECK(samples_equal(lab, A1, 0, &tr, 0, tr.n));
        CHECK(lab_count_calls(lab, "SetDiscoveryFilter", NULL) == 2);
        CHECK(lab_count_calls(lab, "Connect", D1) == 2);
        CHECK(lab_count_calls(lab, "AcquireNotify", NULL) == 2);
        CHECK(lab_count_logs(lab, "using Bluetooth adapter /org/bluez/hci0") == 2);
}

/* the full ladder: retry, RemoveDevice, then power-cycle the adapter via Powered */
static void test_ladder(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();
        static const char *const script[] = { "abort", "failed", "timeout", NULL };

        cfg.retries_before_remove = 2;
        cfg.retries_before_power_cycle = 3;
        cfg.connect_timeout_ms = 300;
        make_trace(&tr, 10, 10, 11.0, 1.0);
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        sim_connect_script(lab, A1, script);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);

        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, tr.n }, 20000, "samples after the ladder");
        CHECK(samples_equal(lab, A1, 0, &tr, 0, tr.n));
        CHECK(lab_count_calls(lab, "Connect", D1) == 4);
        CHECK(lab_count_calls(lab, "RemoveDevice", NULL) == 1);
        CHECK(lab_count_calls(lab, "Set", "/org/bluez/hci0") == 2);
        const LabCall *off = lab_nth_call(lab, "Set", "/org/bluez/hci0", 0);
        const LabCall *on = lab_nth_call(lab, "Set", "/org/bluez/hci0", 1);
        CHECK(off->byte0 == 0 && on->byte0 == 1);
        CHECK(lab_nth_call(lab, "RemoveDevice", NULL, 0)->when <= off->when);
        CHECK(lab_nth_call(lab, "Connect", D1, 2)->when <= off->when);
        CHECK(on->when <= lab_nth_call(lab, "Connect", D1, 3)->when);
        CHECK(lab_count_logs(lab, "reconnecting with backoff") == 1);
        CHECK(lab_count_logs(lab, "removing the device from BlueZ") == 1);
        CHECK(lab_count_logs(lab, "power-cycling adapter hci0") == 1);
        CHECK(lab_count_logs(lab, "(last: timeout)") == 1);
}

/* max_links 2 with three tools: never more than two connected at once */
static void test_link_cap(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();

        cfg.max_links = 2;
        cfg.stall_timeout_ms = 30000;   /* finished traces are silence, not a stall, here */
        make_trace(&tr, 80, 10, 2.0, 0.25);
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        tool_with_trace(lab, A2, "Progressor_2", &tr, false);
        tool_with_trace(lab, A3, "Progressor_3", &tr, false);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A2, "progressor"), 0);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A3, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);

        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, tr.n }, 10000, "tool 1 stream");
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A2, tr.n }, 10000, "tool 2 stream");
        CHECK(lab->max_connected == 2);
        CHECK(lab_count_calls(lab, "Connect", D3) == 0);
        CHECK(lab_count_states(lab, A3, true) == 0);
        /* one connection attempt at a time: the second Connect only after the first stream
         * was set up */
        CHECK(lab_nth_call(lab, "Connect", NULL, 1)->when >= lab_nth_call(lab, "WriteValue", D1, 0)->when);

        /* tool 1 leaves: its slot goes to tool 3 */
        sim_set_bool(lab, "SetInRange", A1, false);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A3, tr.n }, 10000, "tool 3 stream");
        CHECK(samples_equal(lab, A3, 0, &tr, 0, tr.n));
        CHECK(lab->max_connected == 2);
        CHECK(lab_count_states(lab, A1, false) == 1);
}

static const uint8_t IBEACON[] = { 0x02, 0x15, 0xf7, 0x82, 0x6d, 0xa6, 0x4f, 0xa2, 0x4e, 0x98, 0x80, 0x24,
                                   0xbc, 0x5b, 0x71, 0xe0, 0x89, 0x3e, 0x00, 0x64, 0x00, 0x07, 0xc5 };
static const uint8_t EDDYSTONE[] = { 0x00, 0xee, 0xed, 0xd1, 0xeb, 0xea, 0xc0, 0x4e, 0x5d, 0xef, 0xa0,
                                     0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa1, 0x00, 0x00 };
#define T1 "C0:00:00:00:00:01"
#define T2 "C0:00:00:00:00:02"
#define T3 "C0:00:00:00:00:03"

static bool pred_taps(Lab *lab, const void *arg) {
        return lab->n_taps >= *(const size_t *) arg;
}

/* tag tap-in: RSSI at or above the level for the hold time gives exactly one tap */
static void test_tags(Lab *lab) {
        BleManagerConfig cfg = test_config();
        static const size_t one = 1, two = 2, three = 3, four = 4;

        cfg.tag_rssi_dbm = -55;
        cfg.tag_hold_ms = 400;  /* long enough that a loaded CI machine still sees the brush-past as brief */
        sim_add_tool(lab, T1, "tag", "", -80, false);
        sim_add_tool(lab, T2, "tag", "", -80, false);
        sim_add_tool(lab, T3, "tag", "", -80, false);   /* known by its fixed address only */
        sim_advertise(lab, T1, 0x004C, IBEACON, sizeof(IBEACON), NULL, NULL, 0);
        sim_advertise(lab, T2, 0, NULL, 0, "0000feaa-0000-1000-8000-00805f9b34fb", EDDYSTONE, sizeof(EDDYSTONE));
        lab_manager_new(lab, &cfg);
        CHECK(ble_manager_add_tag(lab->manager, "x", NULL, "f7826da6-4fa2-4e98:1:2", NULL) == -EINVAL);
        CHECK(ble_manager_add_tag(lab->manager, "x", NULL, NULL, "edd1ebeac04e5defa017:00000000") == -EINVAL);
        CHECK(ble_manager_add_tag(lab->manager, "x", NULL, NULL, NULL) == -EINVAL);
        CHECK_EQ(ble_manager_add_tag(lab->manager, "ath-7", NULL, "f7826da6-4fa2-4e98-8024-bc5b71e0893e:100:7", NULL), 0);
        CHECK_EQ(ble_manager_add_tag(lab->manager, "ath-9", NULL, NULL, "edd1ebeac04e5defa017:0000000000a1"), 0);
        CHECK_EQ(ble_manager_add_tag(lab->manager, "ath-3", "c0:00:00:00:00:03", NULL, NULL), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);
        lab_wait(lab, pred_calls, &(LabCallsArg) { "StartDiscovery", NULL, 1 }, 5000, "discovery");
        const LabCall *f = lab_nth_call(lab, "SetDiscoveryFilter", NULL, 0);
        CHECK(f->duplicate_data == 1);
        CHECK(f->n_uuids == -1);

        nsec_t t0 = now_monotonic();
        sim_set_rssi(lab, T1, -40);
        lab_wait(lab, pred_taps, &one, 3000, "tap of ath-7");
        CHECK(now_monotonic() - t0 >= 400 * NSEC_PER_MSEC);
        CHECK(strcmp(lab->taps[0].athlete, "ath-7") == 0);
        CHECK(strcmp(lab->taps[0].address, T1) == 0);
        CHECK(lab->taps[0].rssi == -40);

        /* still close: no second tap */
        sim_set_rssi(lab, T1, -45);
        lab_run_for(lab, 700);
        CHECK(lab->n_taps == 1);

        /* away and back: a new tap */
        sim_set_rssi(lab, T1, -70);
        sim_set_rssi(lab, T1, -41);
        lab_wait(lab, pred_taps, &two, 3000, "second tap of ath-7");
        CHECK(strcmp(lab->taps[1].athlete, "ath-7") == 0);
        CHECK(lab->taps[1].rssi == -41);

        /* a brush past (above the level shorter than the hold time): nothing */
        sim_set_rssi(lab, T2, -40);
        sim_set_rssi(lab, T2, -70);
        lab_run_for(lab, 700);
        CHECK(lab->n_taps == 2);

        sim_set_rssi(lab, T2, -55);
        lab_wait(lab, pred_taps, &three, 3000, "tap of ath-9");
        CHECK(strcmp(lab->taps[2].athlete, "ath-9") == 0);
        CHECK(strcmp(lab->taps[2].address, T2) == 0);
        CHECK(lab->taps[2].rssi == -55);
        lab_run_for(lab, 500);
        CHECK(lab->n_taps == 3);

        sim_set_rssi(lab, T3, -30);
        lab_wait(lab, pred_taps, &four, 3000, "tap of ath-3");
        CHECK(strcmp(lab->taps[3].athlete, "ath-3") == 0);
        CHECK(strcmp(lab->taps[3].address, T3) == 0);
        CHECK(lab->taps[3].rssi == -30);
}

#define W1 "D0:00:00:00:00:01"

/* advert-only tool (WH-C06): every advertisement is a sample, none taken away */
static void test_advert_tool(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();
        static const double forces[] = { 1.0, 1.0, 20.5, 20.5, 20.5, 33.3, -4.0, 50.0 };

        cfg.advert_timeout_ms = 1000;
        tr.n = ELEMENTSOF(forces);
        for (size_t i = 0; i < tr.n; i++) {
                tr.t[i] = (double) i * 40;
                tr.f[i] = forces[i];
        }
        sim_add_tool(lab, W1, "whc06", "IF_B7", -60, false);
        sim_set_trace(lab, W1, tr.t, tr.f, tr.n);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, W1, "whc06"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);

        lab_wait(lab, pred_samples, &(LabSamplesArg) { W1, tr.n }, 10000, "advert samples");
        const LabCall *f = lab_nth_call(lab, "SetDiscoveryFilter", NULL, 0);
        CHECK(f->duplicate_data == 1);
        CHECK(f->n_uuids == -1);
        for (size_t i = 0; i < tr.n; i++) {
                const LabSample *s = lab_nth_sample(lab, W1, i);
                CHECK(same_newtons(s->newtons, whc06_newtons(forces[i])));
                CHECK(!s->has_ts);
        }
        CHECK(lab_count_states(lab, W1, true) == 1);
        lab_wait(lab, pred_state, &(LabStateArg) { W1, false, 1 }, 3000, "advert tool silent");
        CHECK(lab_count_calls(lab, "Connect", NULL) == 0);
}

#define E1 "E0:00:00:00:00:01"

/* a tool without commands (Entralpi): streams once notifications are on, no writes; the
 * first steady reading (4 samples within 1 N over 500 ms) becomes its zero, in doubt;
 * battery from 0x2A19 */
static void test_selfstream(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();
        static const double forces[] = { 1.0, 1.5, 0.5, 1.0, 40.0, 41.0, 42.5, 60.0, 0.0, 12.25, 100.0 };
        BleToolInfo info;
        double offset = 0;

        cfg.zero_window_ms = 500;       /* rows 200 ms apart: steady at the 4th (600 ms), not the 3rd */
        cfg.zero_band_n = 1.0;
        tr.n = ELEMENTSOF(forces);
        for (size_t i = 0; i < tr.n; i++) {
                tr.t[i] = (double) i * 200;
                tr.f[i] = forces[i];
        }
        sim_add_tool(lab, E1, "entralpi", "ENTRALPI", -60, false);
        sim_set_trace(lab, E1, tr.t, tr.f, tr.n);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, E1, "entralpi"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);

        lab_wait(lab, pred_samples, &(LabSamplesArg) { E1, tr.n }, 10000, "every sample");
        lab_wait(lab, pred_battery, NULL, 5000, "battery level read");
        CHECK(lab->battery == 87);
        CHECK(lab_count_calls(lab, "ReadValue", "E0_00_00_00_00_01") == 1);
        CHECK(lab_count_calls(lab, "WriteValue", NULL) == 0);
        CHECK(lab_count_calls(lab, "StartNotify", NULL) == 1);
        CHECK(lab_count_calls(lab, "AcquireNotify", NULL) == 0);
        for (size_t i = 0; i < 4; i++)
                offset += entralpi_newtons(forces[i]);
        offset /= 4;
        for (size_t i = 0; i < tr.n; i++) {
                const LabSample *s = lab_nth_sample(lab, E1, i);
                CHECK(same_newtons(s->newtons, entralpi_newtons(forces[i]) - (i >= 3 ? offset : 0)));
                CHECK(!s->has_ts);
        }
        CHECK(lab_count_samples(lab, E1) == tr.n);
        CHECK_EQ(ble_manager_tool_info(lab->manager, E1, &info), 0);
        CHECK(info.zero == BLE_ZERO_IN_DOUBT);
        CHECK(same_newtons(info.zero_n, offset));
        CHECK(ble_manager_tare(lab->manager, E1) == -EAGAIN);   /* one sample of 100 N: not steady */
}

/* auto-adopt by driver match on the advertised service */
static void test_adopt(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();

        make_trace(&tr, 10, 10, 8.0, 0.5);
        tool_with_trace(lab, A2, "Progressor_X", &tr, false);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_set_auto_adopt(lab->manager, true), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A2, tr.n }, 10000, "adopted tool streams");
        CHECK(samples_equal(lab, A2, 0, &tr, 0, tr.n));
        CHECK(lab_count_logs(lab, "adopted " A2 " \"Progressor_X\" as a progressor tool") == 1);
        /* adopting keeps scanning for more */
        CHECK(lab_count_calls(lab, "StopDiscovery", NULL) == 0);
}

/* connected but silent: the stall watchdog drops and reconnects the link */
static void test_stall(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();

        cfg.stall_timeout_ms = 600;
        make_trace(&tr, 150, 10, 4.0, 0.1);
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, 5 }, 10000, "first samples");
        sim_set_bool(lab, "SetStalled", A1, true);
        lab_wait(lab, pred_state, &(LabStateArg) { A1, false, 1 }, 3000, "stall detected");
        lab_wait(lab, pred_log, "stall", 3000, "stall reported");
        CHECK(lab_count_logs(lab, "stall (no notification in time)") == 1);
        CHECK(lab_count_calls(lab, "Disconnect", D1) == 1);
        sim_set_bool(lab, "SetStalled", A1, false);
        lab_wait(lab, pred_state, &(LabStateArg) { A1, true, 2 }, 5000, "reconnected");
        size_t n = lab_count_samples(lab, A1);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, n + 5 }, 5000, "samples again");
}

/* bluetoothd refuses AcquireNotify (NotSupported): the link falls back to StartNotify, says
 * why once, and loses nothing: even a value sent while StartNotify is in flight arrives */
static void test_acquire_refused(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();

        make_trace(&tr, 30, 10, 6.0, 2.25);
        tool_with_trace(lab, A1, "Progressor_1", &tr, true);
        sim_set_bool(lab, "SetRefuseAcquire", A1, true);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, tr.n }, 10000, "all samples");

        CHECK(lab_count_calls(lab, "AcquireNotify", D1) == 1);
        CHECK(lab_count_calls(lab, "StartNotify", D1) == 1);
        CHECK(lab_nth_call(lab, "AcquireNotify", D1, 0)->when <= lab_nth_call(lab, "StartNotify", D1, 0)->when);
        CHECK(lab_nth_call(lab, "StartNotify", D1, 0)->when <= lab_nth_call(lab, "WriteValue", D1, 0)->when);
        CHECK(lab_count_logs(lab, "notifications through StartNotify (AcquireNotify refused: "
                                  "org.bluez.Error.NotSupported)") == 1);
        CHECK(lab_count_samples(lab, A1) == tr.n);
        CHECK(samples_equal(lab, A1, 0, &tr, 0, tr.n));
        CHECK(lab_count_calls(lab, "Disconnect", D1) == 0);
        CHECK(lab_count_states(lab, A1, true) == 1);
        CHECK(lab_count_states(lab, A1, false) == 0);
}

/* Samples of address from index `from` on: each one a trace row, exact, later than the
 * one before (nothing repeated); returns the row of the last, SIZE_MAX if one is not. */
static size_t check_later_rows(Lab *lab, const char *address, size_t from, const Trace *tr) {
        size_t n = lab_count_samples(lab, address), row = 0;
        uint64_t last = from > 0 ? lab_nth_sample(lab, address, from - 1)->ts : 0;

        for (size_t i = from; i < n; i++) {
                const LabSample *s = lab_nth_sample(lab, address, i);
                row = (size_t) (s->ts / 10000U);
                if (!(i == 0 || s->ts > last) || s->ts % 10000U != 0 || row >= tr->n ||
                    s->newtons != progressor_newtons(tr->f[row])) {
                        printf("# sample %zu: ts %llu, %.9f N\n", i, (unsigned long long) s->ts, s->newtons);
                        return SIZE_MAX;
                }
                last = s->ts;
        }
        return row;
}

static bool pred_last_row(Lab *lab, const void *arg) {
        const Trace *tr = arg;
        size_t n = lab_count_samples(lab, A1);
        return n > 0 && lab_nth_sample(lab, A1, n - 1)->ts == (uint64_t) tr->t[tr->n - 1] * 1000U;
}

static bool pred_acquire_calls(Lab *lab, const void *arg) {
        return lab_count_calls(lab, "AcquireNotify", D1) >= *(const size_t *) arg;
}

/* bluetoothd closes the AcquireNotify socket while the link stays up: the link acquires a
 * new one (and writes start again) without dropping the tool; when bluetoothd then refuses
 * to hand out another, it falls back to StartNotify. The stream goes on in order, nothing
 * repeated, to its last row. */
static void test_acquire_close(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();
        size_t n0, n1, want;

        make_trace(&tr, 300, 10, 2.0, 0.25);
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, 20 }, 10000, "first samples");
        CHECK(lab_count_calls(lab, "AcquireNotify", D1) == 1);

        sim_simple(lab, "CloseNotifySocket", A1);
        want = 2;
        lab_wait(lab, pred_acquire_calls, &want, 5000, "acquired again");
        n0 = lab_count_samples(lab, A1);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, n0 + 20 }, 5000, "samples through the new socket");
        CHECK(lab_count_calls(lab, "StartNotify", D1) == 0);
        /* start written again on the new socket: 0x6F, 0x65 at set-up, then 0x65 */
        CHECK(lab_count_calls(lab, "WriteValue", D1) == 3);
        CHECK(lab_nth_call(lab, "WriteValue", D1, 2)->byte0 == 0x65);

        sim_set_bool(lab, "SetRefuseAcquire", A1, true);
        sim_simple(lab, "CloseNotifySocket", A1);
        want = 3;
        lab_wait(lab, pred_acquire_calls, &want, 5000, "asked for another socket");
        lab_wait(lab, pred_calls, &(LabCallsArg) { "StartNotify", D1, 1 }, 5000, "fell back to StartNotify");
        n1 = lab_count_samples(lab, A1);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, n1 + 20 }, 5000, "samples through StartNotify");
        lab_wait(lab, pred_last_row, &tr, 10000, "the last row");
        CHECK(check_later_rows(lab, A1, 0, &tr) == tr.n - 1);

        /* the tool never went down, nothing was disconnected, no failure counted */
        CHECK(lab_count_states(lab, A1, false) == 0);
        CHECK(lab_count_states(lab, A1, true) == 1);
        CHECK(lab_count_calls(lab, "Disconnect", D1) == 0);
        CHECK(lab_count_calls(lab, "Connect", D1) == 1);
        CHECK(lab_count_logs(lab, "reconnecting") == 0);
        CHECK(lab_count_logs(lab, "notifications through StartNotify (AcquireNotify refused: "
                                  "org.bluez.Error.NotSupported)") == 1);
}

/* The stall watchdog is armed once per stream and re-armed only for what remains when it
 * expires: a stream running for several stall periods is never taken for a stall, a
 * silence of one is, within the timer's accuracy. */
static void test_stall_rearm(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();
        nsec_t silent_since, detected;

        cfg.stall_timeout_ms = 300;
        make_trace(&tr, 150, 10, 4.0, 0.1);     /* 1.5 s of samples: five stall periods */
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, tr.n }, 10000, "the whole stream");
        CHECK(lab_count_states(lab, A1, false) == 0);
        CHECK(lab_count_logs(lab, "stall") == 0);
        CHECK(samples_equal(lab, A1, 0, &tr, 0, tr.n));

        /* the trace has ended: silence from the last sample on */
        silent_since = now_monotonic();
        lab_wait(lab, pred_state, &(LabStateArg) { A1, false, 1 }, 3000, "stall detected");
        detected = now_monotonic();
        lab_wait(lab, pred_log, "stall", 3000, "stall reported");
        CHECK(lab_count_logs(lab, "stall (no notification in time)") == 1);
        /* at most one stall period after the silence began, plus the 100 ms accuracy and the
         * Disconnect round trip */
        CHECK(detected - silent_since <= nsec_from_ms(300 + 100 + 500));
}

/* the controller disappears (USB unplug, hciuart death) and comes back; no adapter
 * configured: the first powered one is used */
static void test_adapter_hotplug(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();

        cfg.adapter = NULL;
        make_trace(&tr, 80, 10, 6.0, 0.5);
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, 10 }, 10000, "first samples");
        CHECK(lab_count_logs(lab, "using Bluetooth adapter /org/bluez/hci0") == 1);

        sim_simple(lab, "RemoveAdapter", "hci0");
        lab_wait(lab, pred_log, "no usable Bluetooth adapter", 5000, "adapter loss noticed");
        CHECK(lab_count_states(lab, A1, false) == 1);
        sim_simple(lab, "AddAdapter", "hci0");
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, tr.n }, 15000, "all samples");
        CHECK(samples_equal(lab, A1, 0, &tr, 0, tr.n));
        CHECK(lab_count_logs(lab, "using Bluetooth adapter /org/bluez/hci0") == 2);
        /* the new adapter object knew no filter and had no device: both found again */
        CHECK(lab_count_calls(lab, "SetDiscoveryFilter", NULL) == 2);
        CHECK(lab_count_calls(lab, "StartDiscovery", NULL) == 2);
        CHECK(lab_count_calls(lab, "Connect", D1) == 2);
        CHECK(lab_count_states(lab, A1, true) == 2);
}

static bool pred_notify_off(Lab *lab, const void *arg) {
        return lab->notifying_off > 0;
}

/* tphubd dies (its bus connection closes without a Disconnect) and starts again while
 * bluetoothd keeps the link: Connect says AlreadyConnected, the notify session (which died
 * with the old connection) is opened again, samples resume */
static void test_client_restart(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();
        size_t n0, n1;

        make_trace(&tr, 300, 10, 2.0, 0.125);
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, 10 }, 10000, "first samples");

        /* a crash: the connection goes, nothing is said to bluetoothd */
        sd_bus_close(lab->bus);
        lab->manager = ble_manager_free(lab->manager);
        lab->bus = sd_bus_unref(lab->bus);
        lab_wait(lab, pred_notify_off, NULL, 5000, "notify session ended with the connection");
        n0 = lab_count_samples(lab, A1);
        CHECK(samples_equal(lab, A1, 0, &tr, 0, n0));

        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, n0 + 20 }, 10000, "samples after the restart");
        n1 = lab_count_samples(lab, A1);

        /* the stream went on meanwhile: later rows, in order, exact */
        uint64_t last = lab_nth_sample(lab, A1, n0 - 1)->ts;
        for (size_t i = n0; i < n1; i++) {
                const LabSample *s = lab_nth_sample(lab, A1, i);
                size_t row = (size_t) (s->ts / 10000U);
                CHECK(s->ts > last && s->ts % 10000U == 0 && row < tr.n);
                CHECK(s->newtons == progressor_newtons(tr.f[row]));
                last = s->ts;
        }
        CHECK(lab_count_calls(lab, "Connect", D1) == 2);
        CHECK(lab_count_calls(lab, "Disconnect", D1) == 0);
        CHECK(lab_count_calls(lab, "AcquireNotify", D1) == 2);
        CHECK(lab->max_connected == 1);
        CHECK(lab_count_states(lab, A1, true) == 2);
        CHECK(lab_count_logs(lab, "reconnecting") == 0);
}

/* every connected-tool driver the simulator can emulate (all of them once the drivers'
 * encode.py is there): connect, set up (init/battery/start as each driver says),
 * stream; values within the device's own resolution */
static void test_all_drivers(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();
        char addresses[16][18];
        const char *names[16];
        size_t n = 0;

        cfg.max_links = 16;
        /* 25 unloaded samples, then a ramp */
        tr.n = 85;
        for (size_t i = 0; i < tr.n; i++) {
                tr.t[i] = (double) i * 10;
                tr.f[i] = i < 25 ? 0.0 : 10.0 + 3.0 * (double) (i - 25);
        }
        lab_manager_new(lab, &cfg);
        for (size_t i = 0; driver_table[i] && n < ELEMENTSOF(addresses); i++) {
                const Driver *d = driver_table[i];
                if (d->advert_only)
                        continue;
                snprintf(addresses[n], sizeof(addresses[n]), "F0:00:00:00:00:%02zX", i);
                if (!sim_try_add_tool(lab, addresses[n], d->name, d->name_prefixes && d->name_prefixes[0] ?
                                      d->name_prefixes[0] : d->name)) {
                        fprintf(stderr, "simulator cannot emulate %s: not tested\n", d->name);
                        continue;
                }
                sim_set_trace(lab, addresses[n], tr.t, tr.f, tr.n);
                CHECK_EQ(ble_manager_add_tool(lab->manager, addresses[n], d->name), 0);
                names[n++] = d->name;
        }
        CHECK(n >= 2);
        CHECK_EQ(ble_manager_start(lab->manager), 0);
        for (size_t k = 0; k < n; k++) {
                size_t got;
                /* every row arrives */
                size_t want = tr.n;
                lab_wait(lab, pred_samples, &(LabSamplesArg) { addresses[k], want }, 15000, names[k]);
                got = lab_count_samples(lab, addresses[k]);
                CHECK(got == want);
                CHECK(lab_count_states(lab, addresses[k], true) == 1);
                /* the transport the driver chose, and only that one */
                char dev[32];
                snprintf(dev, sizeof(dev), "dev_%.2s_%.2s_%.2s_%.2s_%.2s_%.2s", addresses[k], addresses[k] + 3,
                         addresses[k] + 6, addresses[k] + 9, addresses[k] + 12, addresses[k] + 15);
                const Driver *drv = driver_find(names[k]);
                CHECK(drv);
                CHECK(lab_count_calls(lab, "AcquireNotify", dev) == (drv->acquire_notify ? 1U : 0U));
                CHECK(lab_count_calls(lab, "StartNotify", dev) == (drv->acquire_notify ? 0U : 1U));
                /* the last 60 rows are the ramp, in order */
                for (size_t j = 0; j < 60; j++) {
                        const LabSample *s = lab_nth_sample(lab, addresses[k], got - 60 + j);
                        double expected = tr.f[tr.n - 60 + j];
                        if (fabs(s->newtons - expected) > 2.5) {
                                fprintf(stderr, "%s sample %zu: %.3f N, want %.3f N\n", names[k], j, s->newtons,
                                        expected);
                                CHECK(false);
                        }
                }
                fprintf(stderr, "%s: %zu samples ok\n", names[k], got);
        }
}

/* a broken bluetoothd: wrong-typed properties and half objects change nothing and lose
 * nothing */
static void test_bad_data(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();
        static const char *const dev = "/org/bluez/hci0/" D1;
        static const char *const data = "/org/bluez/hci0/" D1 "/service000a/char000b";

        make_trace(&tr, 60, 10, 9.0, 0.5);
        tool_with_trace(lab, A1, "Progressor_1", &tr, false);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_add_tag(lab->manager, "ath-1", "C0:00:00:00:00:01", NULL, NULL), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);
        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, 5 }, 10000, "first samples");

        sim_emit_bad_property(lab, dev, "org.bluez.Device1", "Connected", "no");
        sim_emit_bad_property(lab, dev, "org.bluez.Device1", "RSSI", "loud");
        sim_emit_bad_property(lab, dev, "org.bluez.Device1", "ManufacturerData", "junk");
        sim_emit_bad_property(lab, dev, "org.bluez.Device1", "ServicesResolved", "maybe");
        sim_emit_bad_property(lab, data, "org.bluez.GattCharacteristic1", "Value", "not bytes");
        sim_emit_bad_property(lab, "/org/bluez/hci0", "org.bluez.Adapter1", "Powered", "off");
        sim_emit_bad_object(lab, "/org/bluez/hci0/dev_C0_00_00_00_00_01", "org.bluez.Device1", "Address", "nonsense");
        sim_emit_bad_object(lab, "/org/bluez/hci0/dev_C0_00_00_00_00_02", "org.bluez.Device1", "Name", "no address");
        sim_emit_bad_object(lab, data, "org.bluez.GattCharacteristic1", "Service", "not a path");
        sim_emit_bad_object(lab, "/org/bluez/hci9", "org.bluez.Adapter1", "Powered", "yes");

        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, tr.n }, 10000, "all samples");
        CHECK(samples_equal(lab, A1, 0, &tr, 0, tr.n));
        CHECK(lab_count_states(lab, A1, false) == 0);
        CHECK(lab_count_calls(lab, "Connect", D1) == 1);
        CHECK(lab->n_taps == 0);
        CHECK(lab_count_logs(lab, "reconnecting") == 0);
        CHECK(lab_count_logs(lab, "no usable Bluetooth adapter") == 0);
}

/* bluetoothd 5.66 can leave Connected unsignalled (ATT up before it handles the kernel's
 * Device Connected event; seen in the VM lab): ServicesResolved alone must do, or every such
 * link fails its resolve timeout and is retried, forever if the race repeats */
static void test_silent_connected(Lab *lab) {
        static Trace tr;
        BleManagerConfig cfg = test_config();

        make_trace(&tr, 20, 10, 10.0, 3.7);
        sim_add_tool_flag(lab, A1, "progressor", "Progressor_1", "silent_connected");
        sim_set_trace(lab, A1, tr.t, tr.f, tr.n);
        lab_manager_new(lab, &cfg);
        CHECK_EQ(ble_manager_add_tool(lab->manager, A1, "progressor"), 0);
        CHECK_EQ(ble_manager_start(lab->manager), 0);

        lab_wait(lab, pred_samples, &(LabSamplesArg) { A1, tr.n }, 5000, "all samples");
        CHECK(samples_equal(lab, A1, 0, &tr, 0, tr.n));
        CHECK(lab_count_states(lab, A1, true) == 1);
        CHECK(lab_count_states(lab, A1, false) == 0);
        CHECK(lab_count_calls(lab, "Connect", D1) == 1);
        CHECK(lab_count_logs(lab, "reconnecting") == 0);
}

/* Each scenario in a lab of its own (bus, simulator, manager); on a failed check, what the
 * simulator was asked goes to stderr. */
#define SCENARIO(fn)                                    \
        static void run_##fn(void) {                    \
                static Lab lab;                         \
                lab_start(&lab);                        \
                fn(&lab);                               \
                if (tap_failed)                         \
                        lab_dump(&lab);                 \
                lab_stop(&lab);                         \
        }

SCENARIO(test_stream)
SCENARIO(test_reconnect)
SCENARIO(test_inprogress)
SCENARIO(test_abort)
SCENARIO(test_bluez_restart)
SCENARIO(test_power_cycle)
SCENARIO(test_ladder)
SCENARIO(test_link_cap)
SCENARIO(test_tags)
SCENARIO(test_advert_tool)
SCENARIO(test_adopt)
SCENARIO(test_stall)
SCENARIO(test_client_restart)
SCENARIO(test_adapter_hotplug)
SCENARIO(test_selfstream)
SCENARIO(test_all_drivers)
SCENARIO(test_bad_data)
SCENARIO(test_silent_connected)
SCENARIO(test_acquire_refused)
SCENARIO(test_acquire_close)
SCENARIO(test_stall_rearm)

static const TapCase cases[] = {
        { "stream", run_test_stream },
        { "reconnect", run_test_reconnect },
        { "inprogress", run_test_inprogress },
        { "abort", run_test_abort },
        { "bluez-restart", run_test_bluez_restart },
        { "power-cycle", run_test_power_cycle },
        { "ladder", run_test_ladder },
        { "link-cap", run_test_link_cap },
        { "tags", run_test_tags },
        { "advert-tool", run_test_advert_tool },
        { "adopt", run_test_adopt },
        { "stall", run_test_stall },
        { "client-restart", run_test_client_restart },
        { "adapter-hotplug", run_test_adapter_hotplug },
        { "selfstream", run_test_selfstream },
        { "all-drivers", run_test_all_drivers },
        { "bad-data", run_test_bad_data },
        { "silent-connected", run_test_silent_connected },
        { "acquire-refused", run_test_acquire_refused },
        { "acquire-close", run_test_acquire_close },
        { "stall-rearm", run_test_stall_rearm },
};

int main(int argc, char *argv[]) {
        /* one scenario per run (meson runs them in parallel): a name that is not one fails */
        bool known = false;
        for (size_t i = 0; argc == 2 && i < ELEMENTSOF(cases); i++)
                known = known || strcmp(cases[i].name, argv[1]) == 0;
        if (!known) {
                fprintf(stderr, "usage: %s SCENARIO (one of the cases)\n", argv[0]);
                return 2;
        }
        return tap_run(cases, ELEMENTSOF(cases), argc, argv);
}
