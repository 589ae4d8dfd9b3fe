/* SPDX-License-Identifier: MIT */
/* The pure parts of the BlueZ client: recovery ladder, tool zero, tag parsing and the
 * tap rule (driven with hand-made BluezDevice values). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ble/ble-recovery.h"
#include "ble/ble-tag.h"
#include "ble/ble-zero.h"
#include "shared/macro.h"
#include "tap.h"

static void test_ladder(void) {
        BleRecovery *r = NULL;
        BleRecoveryConfig cfg = { .jitter_percent = 0 };
        static const BleRecoveryAction round1[] = {
                BLE_RECOVERY_RETRY, BLE_RECOVERY_RETRY, BLE_RECOVERY_REMOVE_DEVICE,
                BLE_RECOVERY_RETRY, BLE_RECOVERY_RETRY, BLE_RECOVERY_POWER_CYCLE,
        };
        static const bool escalated1[] = { true, false, true, false, false, true };
        static const int64_t delays_ms[] = { 1000, 2000, 4000, 8000, 16000, 30000 };
        nsec_t now = 1000 * NSEC_PER_SEC, delay;
        bool escalated;

        CHECK(ble_recovery_new(&r, &cfg, 1) == 0);
        for (size_t i = 0; i < ELEMENTSOF(round1); i++) {
                CHECK(ble_recovery_failed(r, now, &delay, &escalated) == round1[i]);
                CHECK(escalated == escalated1[i]);
                CHECK(delay == nsec_from_ms(delays_ms[i]));
        }
        /* second round within the power-cycle interval: removal instead, nothing new to log */
        for (size_t i = 0; i < 6; i++) {
                BleRecoveryAction a = ble_recovery_failed(r, now + 10 * NSEC_PER_SEC, &delay, &escalated);
                CHECK(a == (i == 2 || i == 5 ? BLE_RECOVERY_REMOVE_DEVICE : BLE_RECOVERY_RETRY));
                CHECK(!escalated);
                CHECK(delay == nsec_from_ms(30000));
        }
        /* third round after the interval: power-cycle allowed again */
        for (size_t i = 0; i < 5; i++)
                (void) ble_recovery_failed(r, now + 400 * NSEC_PER_SEC, NULL, NULL);
        CHECK(ble_recovery_failed(r, now + 400 * NSEC_PER_SEC, NULL, &escalated) == BLE_RECOVERY_POWER_CYCLE);
        CHECK(!escalated);
        /* refused by the caller (other links in use): not counted, the next round may cycle */
        ble_recovery_power_cycle_refused(r);
        for (size_t i = 0; i < 5; i++)
                (void) ble_recovery_failed(r, now + 401 * NSEC_PER_SEC, NULL, NULL);
        CHECK(ble_recovery_failed(r, now + 401 * NSEC_PER_SEC, NULL, NULL) == BLE_RECOVERY_POWER_CYCLE);
        CHECK(ble_recovery_failures(r) == 24);
        CHECK(ble_recovery_succeeded(r) == 24);
        CHECK(ble_recovery_failures(r) == 0);
        CHECK(ble_recovery_failed(r, now, &delay, &escalated) == BLE_RECOVERY_RETRY);
        CHECK(escalated);
        CHECK(delay == nsec_from_ms(1000));
        r = ble_recovery_free(r);
        CHECK(!ble_recovery_free(NULL));
}

static void test_jitter(void) {
        BleRecovery *r = NULL;
        BleRecoveryConfig cfg = { .backoff_initial_ms = 1000, .jitter_percent = 20 };
        nsec_t lo = NSEC_INFINITY, hi = 0, delay;

        CHECK(ble_recovery_new(&r, &cfg, 42) == 0);
        for (int i = 0; i < 2000; i++) {
                (void) ble_recovery_failed(r, 0, &delay, NULL);
                (void) ble_recovery_succeeded(r);
                CHECK(delay >= nsec_from_ms(800) && delay <= nsec_from_ms(1200));
                lo = MIN(lo, delay);
                hi = MAX(hi, delay);
        }
        /* spread over (nearly) the whole band */
        CHECK(lo <= nsec_from_ms(810));
        CHECK(hi >= nsec_from_ms(1190));
        ble_recovery_free(r);
}

/* Feeds v every 100 ms from t (ms) for n samples; returns the last corrected value. */
static double feed_n(BleZero *z, unsigned *t, double v, unsigned n, bool *changed) {
        double out = 0;
        bool c, any = false;

        for (unsigned i = 0; i < n; i++, *t += 100) {
                out = ble_zero_feed(z, nsec_from_ms(*t), v, &c);
                any = any || c;
        }
        if (changed)
                *changed = any;
        return out;
}

static void test_zero(void) {
        BleZero z;
        unsigned t = 0;
        bool changed;

        /* defaults: 500 ms, 1 N band, 3 N margin, 10 N load */
        ble_zero_init(&z, NULL);
        CHECK(z.state == BLE_ZERO_NONE);
        CHECK(ble_zero_take(&z, 0) == -ENODATA);
        /* raw until steady; 4.0 N for 500 ms (6 samples) becomes a zero in doubt */
        CHECK(feed_n(&z, &t, 4.0, 5, &changed) == 4.0 && !changed && z.state == BLE_ZERO_NONE);
        CHECK(feed_n(&z, &t, 4.0, 1, &changed) == 0.0 && changed && z.state == BLE_ZERO_IN_DOUBT);
        CHECK(z.offset == 4.0);
        /* a trembling press (beyond the band) never becomes a zero */
        for (unsigned i = 0; i < 40; i++, t += 100)
                CHECK(ble_zero_feed(&z, nsec_from_ms(t), i % 2 ? 284.0 : 282.0, &changed) ==
                      (i % 2 ? 280.0 : 278.0) && !changed);
        CHECK(ble_zero_take(&z, nsec_from_ms(t)) == -EAGAIN);
        /* back to the same rest after a load: confirmed */
        CHECK(feed_n(&z, &t, 4.75, 6, &changed) == 0.0 && changed && z.state == BLE_ZERO_OK);
        CHECK(z.offset == 4.75);   /* drift beyond half the band follows */
        /* a steady load (a weight) is not a zero */
        CHECK(feed_n(&z, &t, 54.75, 20, &changed) == 50.0 && !changed && z.offset == 4.75);
        /* a reconnect keeps the zero: a steady load right after it stays a load */
        ble_zero_restart(&z);
        CHECK(feed_n(&z, &t, 54.75, 10, &changed) == 50.0 && !changed && z.offset == 4.75);
        /* a zero taken under load is corrected by a lower steady reading */
        ble_zero_set(&z, 284.0, BLE_ZERO_IN_DOUBT);
        CHECK(feed_n(&z, &t, 4.0, 6, &changed) == 0.0 && changed && z.state == BLE_ZERO_OK && z.offset == 4.0);
        /* drift within half the band is not followed */
        CHECK(feed_n(&z, &t, 4.5, 6, &changed) == 0.5 && !changed && z.offset == 4.0);
        /* a tare request takes the steady reading now, and only a steady one */
        CHECK(feed_n(&z, &t, 20.0, 2, NULL) == 16.0);
        CHECK(ble_zero_take(&z, nsec_from_ms(t)) == -EAGAIN);
        CHECK(feed_n(&z, &t, 20.0, 4, &changed) == 16.0 && !changed);
        CHECK(ble_zero_take(&z, nsec_from_ms(t - 100)) == 0 && z.offset == 20.0 && z.state == BLE_ZERO_OK);
        CHECK(feed_n(&z, &t, 20.0, 1, NULL) == 0.0);
        /* persisted values: a bad one is no zero */
        ble_zero_set(&z, 1.0 / 0.0, BLE_ZERO_OK);
        CHECK(z.state == BLE_ZERO_NONE && z.offset == 0);
        CHECK(ble_zero_state_from_string("in_doubt") == BLE_ZERO_IN_DOUBT);
        CHECK(ble_zero_state_from_string("bogus") == _BLE_ZERO_STATE_MAX);
}

typedef struct Taps {
        unsigned n;
        char athlete[32];
        int rssi;
} Taps;

static void on_tap(const char *athlete, const char *address, int rssi, void *userdata) {
        Taps *t = userdata;
        t->n++;
        snprintf(t->athlete, sizeof(t->athlete), "%s", athlete);
        t->rssi = rssi;
}

/* Runs the loop for ms: only to show that nothing happens meanwhile. False if the loop failed. */
static bool run_ms(sd_event *e, unsigned ms) {
        nsec_t end = now_monotonic() + nsec_from_ms(ms);
        while (now_monotonic() < end)
                if (sd_event_run(e, (end - now_monotonic()) / NSEC_PER_USEC + 1) < 0)
                        return false;
        return true;
}

/* Runs the loop until the n-th tap; false after a generous deadline (or with more taps). */
static bool wait_taps(sd_event *e, const Taps *taps, unsigned n) {
        nsec_t end = now_monotonic() + nsec_from_ms(5000);
        while (taps->n < n && now_monotonic() < end)
                if (sd_event_run(e, (end - now_monotonic()) / NSEC_PER_USEC + 1) < 0)
                        return false;
        return taps->n == n;
}

static void test_tags(void) {
        sd_event *e = NULL;
        BleTagWatch *w = NULL;
        Taps taps = {};
        uint8_t ib[23] = { 0x02, 0x15 };
        BluezAdvData mfr = { .company = BLE_TAG_APPLE_COMPANY, .data = ib, .len = sizeof(ib) };
        BluezDevice d = { .path = (char *) "/org/bluez/hci0/dev_X", .address = (char *) "11:22:33:44:55:66",
                          .mfr = &mfr, .n_mfr = 1, .has_rssi = true, .rssi = -80 };

        CHECK(sd_event_new(&e) >= 0);
        CHECK(ble_tag_watch_new(&w, e, -50, nsec_from_ms(30), on_tap, &taps) == 0);
        CHECK(ble_tag_watch_add(w, "a", "11:22:33:44:55", NULL, NULL) == -EINVAL);
        CHECK(ble_tag_watch_add(w, "a", NULL, "00112233-4455-6677-8899-aabbccddeeff:1", NULL) == -EINVAL);
        CHECK(ble_tag_watch_add(w, "a", NULL, "00112233-4455-6677-8899-aabbccddeeff:1:65536", NULL) == -EINVAL);
        CHECK(ble_tag_watch_add(w, "a", NULL, "00112233-4455-6677-8899-aabbccddeefg:1:2", NULL) == -EINVAL);
        CHECK(ble_tag_watch_add(w, "a", NULL, NULL, "00112233445566778899:aabbccddeeff00") == -EINVAL);
        CHECK(ble_tag_watch_add(w, "", "11:22:33:44:55:66", NULL, NULL) == -EINVAL);
        CHECK(ble_tag_watch_count(w) == 0);
        CHECK(ble_tag_watch_add(w, "ib", NULL, "00112233-4455-6677-8899-aabbccddeeff:258:772", NULL) == 0);
        CHECK(ble_tag_watch_add(w, "ed", NULL, NULL, "00112233445566778899:aabbccddeeff") == 0);
        CHECK(ble_tag_watch_count(w) == 2);

        /* the advertised iBeacon: uuid, major 0x0102, minor 0x0304 */
        for (int i = 0; i < 16; i++)
                ib[2 + i] = (uint8_t) (i * 0x11);
        ib[18] = 0x01, ib[19] = 0x02, ib[20] = 0x03, ib[21] = 0x05;   /* minor off by one */
        CHECK(!ble_tag_watch_matches(w, &d));
        ib[21] = 0x04;
        CHECK(ble_tag_watch_matches(w, &d));
        mfr.len = 21;   /* truncated: no match, no overread */
        CHECK(!ble_tag_watch_matches(w, &d));
        mfr.len = sizeof(ib);

        ble_tag_watch_device(w, &d, false);
        CHECK(run_ms(e, 60));
        CHECK(taps.n == 0);
        d.rssi = -50;   /* at the level counts */
        ble_tag_watch_device(w, &d, false);
        CHECK(wait_taps(e, &taps, 1));
        CHECK(strcmp(taps.athlete, "ib") == 0 && taps.rssi == -50);
        d.rssi = -45;
        ble_tag_watch_device(w, &d, false);
        CHECK(run_ms(e, 60));
        CHECK(taps.n == 1);
        /* RSSI invalidated (scan stopped): re-armed */
        d.has_rssi = false;
        ble_tag_watch_device(w, &d, false);
        d.has_rssi = true;
        ble_tag_watch_device(w, &d, false);
        CHECK(wait_taps(e, &taps, 2));
        /* removed while the hold runs: no tap */
        d.rssi = -90;
        ble_tag_watch_device(w, &d, false);
        d.rssi = -40;
        ble_tag_watch_device(w, &d, false);
        ble_tag_watch_device(w, &d, true);
        CHECK(run_ms(e, 60));
        CHECK(taps.n == 2);

        ble_tag_watch_free(w);
        sd_event_unref(e);
}

static const TapCase cases[] = {
        { "ladder", test_ladder },
        { "jitter", test_jitter },
        { "zero", test_zero },
        { "tags", test_tags },
};

TAP_MAIN(cases)
