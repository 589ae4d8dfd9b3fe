/* SPDX-License-Identifier: MIT */
#pragma once

/* Test bench for the BlueZ client: a private system-type dbus-daemon in a temp dir, the fake
 * bluetoothd (tests/ble/sim/tphub_bluez.py under python3-dbusmock), a control connection
 * that drives the simulator and records what it was asked to do (MethodCalled signals),
 * and a BleManager on the same sd-event loop whose callbacks are recorded too. Waiting is
 * always for an event with a deadline (lab_wait), never a sleep. The tests check with
 * tests/common/tap.h; a deadline missed or the lab itself failing aborts with a dump. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <errno.h>
#include <string.h>

#include "ble/ble-manager.h"
#include "shared/macro.h"
#include "tap.h"        /* the tests' checks; the lab's own failures abort with a dump */

#define LAB_MAX 4096

typedef struct LabCall {
        char name[32];
        char path[128];
        nsec_t when;
        int byte0;              /* WriteValue: first byte; Set Powered: 0/1 */
        /* SetDiscoveryFilter */
        char transport[8];
        int duplicate_data;     /* -1 if absent */
        int n_uuids;            /* -1 if absent */
        char uuid0[40];
} LabCall;

typedef struct LabSample {
        char address[18];
        double newtons;
        bool has_ts;
        uint64_t ts;
} LabSample;

typedef struct LabState {
        char address[18];
        bool connected;
} LabState;

typedef struct LabTap {
        char athlete[32];
        char address[18];
        int rssi;
} LabTap;

typedef struct Lab {
        char dir[64];
        char sim_path[512];
        pid_t bus_pid;
        pid_t sim_pid;
        sd_event *event;
        sd_bus *ctl;            /* drives the simulator, records its signals */
        sd_bus *bus;            /* the manager's connection */
        BleManager *manager;
        bool bluez_up;
        unsigned sim_generation;

        LabCall calls[LAB_MAX];
        size_t n_calls;
        LabSample samples[LAB_MAX];
        size_t n_samples;
        LabState states[256];
        size_t n_states;
        LabTap taps[64];
        size_t n_taps;
        char logs[128][256];
        size_t n_logs;
        int battery;
        int battery_mv;
        unsigned traces_finished;

        /* Device1.Connected as the simulator announces it */
        char connected[16][128];
        size_t n_connected;
        size_t max_connected;
        unsigned notifying_off; /* GattCharacteristic1.Notifying or NotifyAcquired went false */
} Lab;

extern Lab *lab_current;

/* What the simulator was asked and what the manager reported, to stderr. */
void lab_dump(const Lab *lab);
void lab_dump_and_abort(void) __attribute__((noreturn));

/* Starts bus + simulator (adapters hci0). */
void lab_start(Lab *lab);
void lab_stop(Lab *lab);
/* Kills the simulator (bluetoothd vanishes) / starts a fresh one; both wait for the name. */
void lab_sim_kill(Lab *lab);
void lab_sim_start(Lab *lab);

void lab_manager_new(Lab *lab, const BleManagerConfig *cfg);

typedef bool (*lab_pred_t)(Lab *lab, const void *arg);
/* Runs the loop until pred holds; aborts the test after timeout_ms. */
void lab_wait(Lab *lab, lab_pred_t pred, const void *arg, unsigned timeout_ms, const char *what);
/* Runs the loop for ms (only to assert that something does NOT happen meanwhile). */
void lab_run_for(Lab *lab, unsigned ms);

/* simulator control */
void sim_add_tool(Lab *lab, const char *address, const char *kind, const char *name, int rssi, bool early_value);
/* A tool with one boolean AddTool option set (e.g. "silent_connected"), RSSI -60. */
void sim_add_tool_flag(Lab *lab, const char *address, const char *kind, const char *name, const char *flag);
/* As sim_add_tool, but false when the simulator does not know the kind. */
bool sim_try_add_tool(Lab *lab, const char *address, const char *kind, const char *name);
void sim_set_trace(Lab *lab, const char *address, const double *t_ms, const double *force_n, size_t n);
void sim_connect_script(Lab *lab, const char *address, const char *const *outcomes);
void sim_simple(Lab *lab, const char *member, const char *address);           /* DropLink */
void sim_set_bool(Lab *lab, const char *member, const char *key, bool value); /* SetPowered, SetInRange, SetStalled */
void sim_set_rssi(Lab *lab, const char *address, int rssi);
void sim_advertise(Lab *lab, const char *address, uint16_t company, const uint8_t *mfr, size_t mfr_len,
                   const char *svc_uuid, const uint8_t *svc, size_t svc_len);

/* Makes the simulator emit PropertiesChanged(iface, {key: <string value>}) from path:
 * wrong-typed data, as a broken bluetoothd could send. */
void sim_emit_bad_property(Lab *lab, const char *path, const char *iface, const char *key, const char *value);
/* InterfacesAdded for path with one interface whose only property is {key: <string>}. */
void sim_emit_bad_object(Lab *lab, const char *path, const char *iface, const char *key, const char *value);

/* queries over what was recorded */
size_t lab_count_calls(const Lab *lab, const char *name, const char *path_suffix);
const LabCall *lab_nth_call(const Lab *lab, const char *name, const char *path_suffix, size_t nth);
size_t lab_count_logs(const Lab *lab, const char *needle);
size_t lab_count_samples(const Lab *lab, const char *address);
const LabSample *lab_nth_sample(const Lab *lab, const char *address, size_t nth);
size_t lab_count_states(const Lab *lab, const char *address, bool connected);

/* common predicates */
bool pred_samples(Lab *lab, const void *arg);   /* arg: struct { address, n } */
typedef struct LabSamplesArg {
        const char *address;
        size_t n;
} LabSamplesArg;
bool pred_state(Lab *lab, const void *arg);     /* arg: LabStateArg */
typedef struct LabStateArg {
        const char *address;
        bool connected;
        size_t count;   /* at least this many such transitions */
} LabStateArg;
bool pred_calls(Lab *lab, const void *arg);     /* arg: LabCallsArg */
typedef struct LabCallsArg {
        const char *name;
        const char *path_suffix;
        size_t n;
} LabCallsArg;

bool pred_log(Lab *lab, const void *arg);       /* arg: const char *needle */

/* A force as the simulator encodes it, decoded again (the drivers' quantisation) */
double progressor_newtons(double force_n);
double entralpi_newtons(double force_n);
double whc06_newtons(double force_n);
/* The drivers' decode contract: the exact value to 1e-9 relative. */
bool same_newtons(double a, double b);
