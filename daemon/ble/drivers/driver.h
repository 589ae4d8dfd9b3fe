/* SPDX-License-Identifier: MIT */
#pragma once

/* A force-tool driver: one device family's GATT layout and bytes, nothing of BlueZ or
 * stations. The BlueZ client looks drivers up by advertised name / service UUID, writes
 * their command bytes, and feeds every notification (or advertisement) to the decoder.
 * Decoders normalise to newtons and keep the device's own timestamp where it has one. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct DriverDecoder DriverDecoder;

typedef enum DriverOutputType {
        DRIVER_OUT_SAMPLE,      /* newtons (+ device_ts_us when has_device_ts) */
        DRIVER_OUT_BATTERY,     /* battery_percent (0-100), or battery_mv when > 100 known */
        DRIVER_OUT_LOW_POWER,   /* device warns it is about to turn off */
} DriverOutputType;

typedef struct DriverOutput {
        DriverOutputType type;
        double newtons;
        bool has_device_ts;
        uint64_t device_ts_us;  /* device clock, microseconds, monotonic per device stream */
        int battery_percent;    /* -1 if unknown */
        int battery_mv;         /* -1 if unknown */
} DriverOutput;

typedef struct DriverStats {
        uint64_t frames;        /* notifications/adverts seen */
        uint64_t samples;       /* samples produced */
        uint64_t dropped;       /* malformed, short, oversized, bad checksum, ... and, for
                                 * stream devices, skipped garbage runs (see take_dropped) */
} DriverStats;

/* The largest ATT attribute value (Core spec Vol 3 Part F 3.2.9): longer input is refused
 * with -EMSGSIZE by every decoder, so no decoder ever copies more than this. */
#define DRIVER_FRAME_MAX 512
/* With max >= DRIVER_OUTPUTS_MAX no decoder can fail with -ENOBUFS on any input of at
 * most DRIVER_FRAME_MAX bytes: callers that pass this many never lose a frame to it. */
#define DRIVER_OUTPUTS_MAX 256

/* A command to write to write_uuid (with response) after notifications are on. */
typedef struct DriverCommand {
        const uint8_t *bytes;
        size_t len;
} DriverCommand;

typedef struct Driver {
        const char *name;              /* "progressor", "forceboard", ... (config value) */
        const char *description;
        const char *const *name_prefixes; /* advertised names that identify it, NULL-terminated */
        const char *service_uuid;      /* primary service to discover by, lower-case 128-bit */
        bool uuid_identifies;          /* service_uuid alone identifies the device; false for
                                        * generic ones (HM-10 UART 0xFFE0, SIG Weight Scale) */
        const char *notify_uuid;       /* characteristic to subscribe to, NULL if advert-only */
        /* Subscribe through AcquireNotify (a socket from bluetoothd, one notification per
         * read, nothing crossing dbus-daemon) rather than StartNotify. BlueZ drops what the
         * device notifies before the CCC write has completed under AcquireNotify, so only a
         * device that sends nothing until a start command, written once subscribed, may use
         * it; each driver says why it chose (docs/ble.md, "Notification transport"). The link
         * falls back to StartNotify when bluetoothd refuses. */
        bool acquire_notify;
        const char *write_uuid;        /* control characteristic, NULL if none */
        const char *battery_uuid;      /* 0x2A19 if offered, NULL if not */
        bool advert_only;              /* samples come from ManufacturerData (no connection) */
        uint16_t company_id;           /* advert_only: manufacturer data key */
        bool hw_tare;                  /* tare_cmd zeroes the device; else tare in software */
        DriverCommand init_cmd;        /* handshake written once before start_cmd, len 0 if none */
        DriverCommand start_cmd;       /* start streaming, len 0 if it streams by itself */
        DriverCommand stop_cmd;
        DriverCommand tare_cmd;
        DriverCommand battery_cmd;     /* ask for battery via the data channel, len 0 if none */
        double nominal_rate_hz;

        size_t state_size;             /* decoder private state (reassembly buffers) */
        /* Decodes one notification value (or advert payload without the company id).
         * Appends at most max outputs to out and returns how many, or a negative errno when
         * the frame was malformed (then nothing is appended). Must never read out of bounds,
         * whatever len is, and never invent a sample. */
        int (*decode)(void *state, const uint8_t *buf, size_t len, DriverOutput *out, size_t max);
        /* Stream decoders only (NULL otherwise): how many broken frames or runs of garbage the
         * last decode call skipped while resynchronising, also when that call still produced
         * samples; reading resets it. driver_decoder_feed adds it to DriverStats.dropped
         * (at least 1 for a call that failed). */
        unsigned (*take_dropped)(void *state);
} Driver;

/* All drivers, NULL-terminated. */
extern const Driver *const driver_table[];

const Driver *driver_find(const char *name);
/* Matches an advertised name and/or a list of service UUIDs (either may be NULL): first by
 * name prefix, then by a service UUID of a driver with uuid_identifies (case-insensitive). */
const Driver *driver_match(const char *adv_name, const char *const *uuids, size_t n_uuids);

/* A decoder instance per connected device: state plus statistics. */
int driver_decoder_new(const Driver *d, DriverDecoder **ret);
DriverDecoder *driver_decoder_free(DriverDecoder *dec);
void driver_decoder_reset(DriverDecoder *dec);    /* after reconnect: drop partial frames */
/* As Driver.decode, but counts frames/samples/dropped. */
int driver_decoder_feed(DriverDecoder *dec, const uint8_t *buf, size_t len, DriverOutput *out, size_t max);
const DriverStats *driver_decoder_stats(const DriverDecoder *dec);
const Driver *driver_decoder_driver(const DriverDecoder *dec);

#define KG_TO_N 9.80665
#define LBF_TO_N 4.4482216152605
