/* SPDX-License-Identifier: MIT */
#pragma once

/* The recorder: finished sessions in from MQTT, validated, stored exactly once (idempotent by
 * id, committed in small batches), and reconciled with every hub's archive so that nothing
 * acknowledged-but-not-yet-committed is lost (Paho acknowledges a QoS 1 message before the
 * application sees it). One sd-event loop; docs/recorder.md. */

#include <systemd/sd-event.h>

#include "recorder/history-store.h"
#include "recorder/recorder-config.h"

typedef struct Recorder Recorder;

/* Takes ownership of config and store. */
int recorder_new(Recorder **ret, sd_event *event, RecorderConfig *config, HistoryStore *store);
int recorder_start(Recorder *r);
/* Applies the settings a reload may change (retention, intervals, batching); takes ownership. */
int recorder_reload(Recorder *r, RecorderConfig *config);
/* Commits what is pending, disconnects cleanly, then calls done. Returns 1 if done will be
 * called, 0 if there was nothing to wait for. */
int recorder_stop(Recorder *r, void (*done)(void *userdata), void *userdata);
Recorder *recorder_free(Recorder *r);
static inline void recorder_freep(Recorder **r) {
        if (*r)
                recorder_free(*r);
}
const char *recorder_status(Recorder *r);
