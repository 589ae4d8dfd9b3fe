/* SPDX-License-Identifier: MIT */
/* The pure parts of the BlueZ client: recovery ladder, software tare, tag parsing and the
 * tap rule (driven with hand-made BluezDevice values). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ble/ble-recovery.h"
#include "ble/ble-tag.h"
#include "ble/ble-tare.h"
#include "shared/macro.h"

#define CHECK(expr)                                                                             \
        do {                                                                                    \
                if (!(expr)) {                                                                  \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
                        exit(EXIT_FAILURE);                                                     \
                }                                                                               \
        } while (0)

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
        CHECK(ble_recovery_failures(r) == 18);
        CHECK(ble_recovery_succeeded(r) == 18);
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

static void test_tare(void) {
        BleTare t;
        double v;

        ble_tare_init(&t, nsec_from_ms(250), 3);
        v = 5.0;
        CHECK(ble_tare_apply(&t, 0, &v) && v == 5.0);   /* no tare begun: unchanged */
        ble_tare_begin(&t);
        v = 1.0;
        CHECK(!ble_tare_apply(&t, nsec_from_ms(100), &v));
        v = 2.0;
        CHECK(!ble_tare_apply(&t, nsec_from_ms(110), &v));
        v = 3.0;
        CHECK(!ble_tare_apply(&t, nsec_from_ms(120), &v));
        v = 10.0;   /* sample limit reached */
        CHECK(ble_tare_apply(&t, nsec_from_ms(130), &v) && v == 8.0);
        ble_tare_begin(&t);
        v = 4.0;
        CHECK(!ble_tare_apply(&t, nsec_from_ms(1000), &v));
        v = 5.0;    /* window over */
        CHECK(ble_tare_apply(&t, nsec_from_ms(1250), &v) && v == 1.0);
        ble_tare_init(&t, 0, 0);   /* degenerate: still one sample, never 0/0 */
        ble_tare_begin(&t);
        v = 7.0;
        CHECK(!ble_tare_apply(&t, 0, &v));
        v = 9.0;
        CHECK(ble_tare_apply(&t, 0, &v) && v == 2.0);
}

typedef struct Taps {
        unsigned n;
        char athlete[32];
        int rssi;
} Taps;

static void on_tap(void *userdata, const char *athlete, const char *address, int rssi) {
        Taps *t = userdata;
        t->n++;
        snprintf(t->athlete, sizeof(t->athlete), "%s", athlete);
        t->rssi = rssi;
}

/* Runs the loop for ms: only to show that nothing happens meanwhile. */
static void run_ms(sd_event *e, unsigned ms) {
        nsec_t end = now_monotonic() + nsec_from_ms(ms);
        while (now_monotonic() < end)
                CHECK(sd_event_run(e, (end - now_monotonic()) / NSEC_PER_USEC + 1) >= 0);
}

/* Runs the loop until the n-th tap, failing after a generous deadline. */
static void wait_taps(sd_event *e, const Taps *taps, unsigned n) {
        nsec_t end = now_monotonic() + nsec_from_ms(5000);
        while (taps->n < n && now_monotonic() < end)
                CHECK(sd_event_run(e, (end - now_monotonic()) / NSEC_PER_USEC + 1) >= 0);
        CHECK(taps->n == n);
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
        run_ms(e, 60);
        CHECK(taps.n == 0);
        d.rssi = -50;   /* at the level counts */
        ble_tag_watch_device(w, &d, false);
        wait_taps(e, &taps, 1);
        CHECK(strcmp(taps.athlete, "ib") == 0 && taps.rssi == -50);
        d.rssi = -45;
        ble_tag_watch_device(w, &d, false);
        run_ms(e, 60);
        CHECK(taps.n == 1);
        /* RSSI invalidated (scan stopped): re-armed */
        d.has_rssi = false;
        ble_tag_watch_device(w, &d, false);
        d.has_rssi = true;
        ble_tag_watch_device(w, &d, false);
        wait_taps(e, &taps, 2);
        /* removed while the hold runs: no tap */
        d.rssi = -90;
        ble_tag_watch_device(w, &d, false);
        d.rssi = -40;
        ble_tag_watch_device(w, &d, false);
        ble_tag_watch_device(w, &d, true);
        run_ms(e, 60);
        CHECK(taps.n == 2);

        ble_tag_watch_free(w);
        sd_event_unref(e);
}

int main(void) {
        test_ladder();
        test_jitter();
        test_tare();
        test_tags();
        fprintf(stderr, "ok\n");
        return 0;
}
