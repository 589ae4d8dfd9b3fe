/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ble/ble-adapter.h"
#include "ble/ble-discovery.h"
#include "ble/ble-link.h"
#include "ble/ble-manager.h"
#include "ble/ble-recovery.h"
#include "ble/ble-tag.h"
#include "ble/ble-zero.h"
#include "ble/bluez-client.h"
#include "ble/drivers/driver.h"
#include "shared/macro.h"

#define RETRY_ACCURACY_USEC (10U * 1000U)
#define ADVERT_ACCURACY_USEC (100U * 1000U)
#define DISCONNECT_TIMEOUT_USEC (2U * 1000U * 1000U)

static char *mfree_ptr(char *s) {
        free(s);
        return NULL;
}

typedef struct Tool {
        BleManager *m;
        char address[18];
        const Driver *driver;
        char *name;
        bool adopted;
        bool connected;
        int battery;
        int battery_mv;
        nsec_t last_seen;
        BleZero zero;
        bool in_use;            /* serves a running session (set by the caller) */
        void *owner;            /* the caller's, handed back with each sample */

        /* GATT tools */
        BleLink *link;
        BleRecovery *recovery;
        sd_event_source *retry;
        sd_bus_slot *remove_call;
        char *removing;         /* device path RemoveDevice is working on */

        /* advert-only tools */
        DriverDecoder *decoder;
        sd_event_source *advert_timer;
} Tool;

struct BleManager {
        sd_bus *bus;
        sd_event *event;
        BleManagerConfig cfg;
        char *adapter_name;
        BleCallbacks cb;
        void *userdata;

        BluezClient *client;
        BleAdapter *adapter;
        BleDiscovery *discovery;
        BleTagWatch *tags;

        Tool *tools[BLE_MANAGER_MAX_TOOLS];
        size_t n_tools;
        bool auto_adopt;
        bool started;
        sd_event_source *kick;
        uint64_t seed;

        DriverOutput outputs[DRIVER_OUTPUTS_MAX];      /* advert decoding scratch */
};

_printf_(3, 4) static void logf_(BleManager *m, int priority, const char *fmt, ...) {
        char buf[256];
        va_list ap;

        if (!m->cb.log)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        m->cb.log(priority, buf, m->userdata);
}

static nsec_t now_ns(BleManager *m) {
        uint64_t usec;
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &usec) < 0)
                return now_monotonic();
        return (nsec_t) usec * NSEC_PER_USEC;
}

static void kick(BleManager *m) {
        if (m->kick)
                (void) sd_event_source_set_enabled(m->kick, SD_EVENT_ONESHOT);
}

/* --- tools --- */

static Tool *tool_free(Tool *t) {
        if (!t)
                return NULL;
        if (t->link && ble_link_get_state(t->link) != BLE_LINK_IDLE && ble_link_get_device_path(t->link)) {
                /* leave no idle-but-connected tool draining its battery; nobody waits for the reply */
                (void) bluez_client_call(t->m->client, NULL, ble_link_get_device_path(t->link), BLUEZ_DEVICE_IFACE,
                                         "Disconnect", DISCONNECT_TIMEOUT_USEC, NULL, NULL, NULL);
        }
        ble_link_free(t->link);
        ble_recovery_free(t->recovery);
        sd_event_source_disable_unref(t->retry);
        sd_bus_slot_unref(t->remove_call);
        free(t->removing);
        driver_decoder_free(t->decoder);
        sd_event_source_disable_unref(t->advert_timer);
        free(t->name);
        free(t);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Tool *, tool_free);

static Tool *find_tool(BleManager *m, const char *address) {
        for (size_t i = 0; i < m->n_tools; i++)
                if (strcasecmp(m->tools[i]->address, address) == 0)
                        return m->tools[i];
        return NULL;
}

static Tool *find_tool_by_device_path(BleManager *m, const char *path) {
        for (size_t i = 0; i < m->n_tools; i++) {
                Tool *t = m->tools[i];
                const char *p = t->link ? ble_link_get_device_path(t->link) : NULL;
                if (p && strcmp(p, path) == 0)
                        return t;
        }
        return NULL;
}

static void set_connected(Tool *t, bool connected) {
        BleManager *m = t->m;

        if (t->connected == connected)
                return;
        t->connected = connected;
        /* A new stream: steadiness is judged afresh, the zero stays (never re-taken just
         * because the tool came back: someone may be pressing it). */
        ble_zero_restart(&t->zero);
        if (m->cb.tool_state)
                m->cb.tool_state(t->address, t->driver->name, connected, m->userdata);
}

static void deliver_sample(Tool *t, double raw, nsec_t arrival, bool has_ts, uint64_t ts) {
        BleManager *m = t->m;
        BleZeroState before = t->zero.state;
        bool changed;
        double newtons = ble_zero_feed(&t->zero, arrival, raw, &changed);

        if (changed) {
                if (t->zero.state != before)
                        logf_(m, t->zero.state == BLE_ZERO_IN_DOUBT ? LOG_WARNING : LOG_INFO,
                              "tool %s (%s): zero %s at %.2f N raw%s", t->address, t->driver->name,
                              ble_zero_state_to_string(t->zero.state), t->zero.offset,
                              t->zero.state == BLE_ZERO_IN_DOUBT ?
                              " (first steady reading, nothing known before: tare it unloaded)" : "");
                if (m->cb.tool_zero)
                        m->cb.tool_zero(t->address, t->zero.offset, t->zero.state, m->userdata);
        }
        t->last_seen = arrival;
        if (m->cb.tool_sample)
                m->cb.tool_sample(t->address, t->owner, newtons, arrival, has_ts, ts, m->userdata);
}

static void deliver_battery(Tool *t, int percent, int mv) {
        BleManager *m = t->m;

        if (t->battery == percent && t->battery_mv == mv)
                return;
        t->battery = percent;
        t->battery_mv = mv;
        if (m->cb.tool_battery)
                m->cb.tool_battery(t->address, percent, mv, m->userdata);
}

/* --- link callbacks --- */

static void on_link_state(BleLink *l, bool connected, void *userdata) {
        set_connected(userdata, connected);
}

static void on_link_streaming(BleLink *l, void *userdata) {
        Tool *t = userdata;
        BleManager *m = t->m;
        unsigned failures;

        failures = ble_recovery_succeeded(t->recovery);
        if (failures > 0)
                logf_(m, LOG_INFO, "tool %s (%s): streaming again after %u failed attempt%s", t->address,
                      t->driver->name, failures, failures == 1 ? "" : "s");
        kick(m);   /* the next tool may connect now */
}

static void on_link_sample(BleLink *l, double newtons, nsec_t arrival, bool has_ts, uint64_t ts, void *userdata) {
        deliver_sample(userdata, newtons, arrival, has_ts, ts);
}

static void on_link_battery(BleLink *l, int percent, int mv, void *userdata) {
        deliver_battery(userdata, percent, mv);
}

static void on_link_low_power(BleLink *l, void *userdata) {
        Tool *t = userdata;

        logf_(t->m, LOG_WARNING, "tool %s (%s): device reports low power and may switch off", t->address,
              t->driver->name);
}

static void on_link_subscribed(BleLink *l, bool acquired, uint16_t mtu, const char *reason, void *userdata) {
        Tool *t = userdata;
        BleManager *m = t->m;

        if (acquired)
                logf_(m, LOG_DEBUG, "tool %s (%s): notifications through AcquireNotify (ATT MTU %u)", t->address,
                      t->driver->name, (unsigned) mtu);
        else
                logf_(m, t->driver->acquire_notify ? LOG_INFO : LOG_DEBUG,
                      "tool %s (%s): notifications through StartNotify (%s)", t->address, t->driver->name,
                      reason ?: "");
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Tool *t = userdata;
        t->retry = sd_event_source_disable_unref(t->retry);
        kick(t->m);
        return 0;
}

static int on_removed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Tool *t = userdata;

        t->remove_call = sd_bus_slot_unref(t->remove_call);
        /* on success InterfacesRemoved clears t->removing; on error nothing will */
        if (sd_bus_message_is_method_error(reply, NULL))
                t->removing = mfree_ptr(t->removing);
        kick(t->m);
        return 0;
}

/* A connected tool other than t that serves a running session: power-cycling the shared
 * adapter would drop it mid-session (mid-rep, even), so it is not done then. */
static Tool *other_in_use(BleManager *m, const Tool *t) {
        for (size_t i = 0; i < m->n_tools; i++)
                if (m->tools[i] != t && m->tools[i]->connected && m->tools[i]->in_use)
                        return m->tools[i];
        return NULL;
}

static void on_link_ended(BleLink *l, BleFailure f, const char *detail, void *userdata) {
        Tool *t = userdata;
        BleManager *m = t->m;
        BleRecoveryAction action;
        nsec_t delay;
        bool escalated;
        int r;

        kick(m);
        if (f == BLE_FAILURE_LOCAL)
                return;

        action = ble_recovery_failed(t->recovery, now_ns(m), &delay, &escalated);
        if (action == BLE_RECOVERY_POWER_CYCLE) {
                Tool *o = other_in_use(m, t);
                if (o) {
                        logf_(m, LOG_WARNING, "tool %s (%s): %u failed attempts; not power-cycling adapter %s while "
                              "tool %s is in use: removing the device instead", t->address, t->driver->name,
                              ble_recovery_failures(t->recovery), ble_adapter_name(m->adapter) ?: "?", o->address);
                        ble_recovery_power_cycle_refused(t->recovery);
                        action = BLE_RECOVERY_REMOVE_DEVICE;
                        escalated = false;
                }
        }
        switch (action) {
        case BLE_RECOVERY_RETRY:
                if (escalated)
                        logf_(m, LOG_WARNING, "tool %s (%s): %s (%s); reconnecting with backoff", t->address,
                              t->driver->name, ble_failure_to_string(f), detail);
                break;
        case BLE_RECOVERY_REMOVE_DEVICE:
                if (escalated)
                        logf_(m, LOG_WARNING,
                              "tool %s (%s): %u failed attempts (last: %s); removing the device from BlueZ",
                              t->address, t->driver->name, ble_recovery_failures(t->recovery),
                              ble_failure_to_string(f));
                if (!t->removing && ble_link_get_device_path(l)) {
                        t->removing = strdup(ble_link_get_device_path(l));
                        if (t->removing) {
                                r = ble_adapter_remove_device(m->adapter, t->removing, &t->remove_call, on_removed,
                                                              t);
                                if (r < 0)
                                        t->removing = mfree_ptr(t->removing);
                        }
                }
                break;
        case BLE_RECOVERY_POWER_CYCLE:
                if (escalated)
                        logf_(m, LOG_ERR, "tool %s (%s): %u failed attempts (last: %s); power-cycling adapter %s",
                              t->address, t->driver->name, ble_recovery_failures(t->recovery),
                              ble_failure_to_string(f), ble_adapter_name(m->adapter) ?: "?");
                r = ble_adapter_power_cycle(m->adapter);
                if (r < 0 && r != -EALREADY)
                        logf_(m, LOG_ERR, "cannot power-cycle adapter: %s", strerror(-r));
                break;
        }
        t->retry = sd_event_source_disable_unref(t->retry);
        (void) sd_event_add_time_relative(m->event, &t->retry, CLOCK_MONOTONIC, delay / NSEC_PER_USEC,
                                          RETRY_ACCURACY_USEC, on_retry, t);
}

/* --- advert-only tools --- */

static int on_advert_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Tool *t = userdata;
        t->advert_timer = sd_event_source_disable_unref(t->advert_timer);
        set_connected(t, false);
        return 0;
}

static void advert_tool_device(Tool *t, const BluezDevice *d, unsigned changed) {
        BleManager *m = t->m;
        DriverOutput *out = m->outputs;
        const BluezAdvData *a;
        nsec_t now;
        int n;

        if (!(changed & (BLUEZ_DEVICE_MFR | BLUEZ_DEVICE_NEW)))
                return;
        a = bluez_device_get_mfr(d, t->driver->company_id);
        if (!a)
                return;
        now = now_ns(m);
        n = driver_decoder_feed(t->decoder, a->data, a->len, out, ELEMENTSOF(m->outputs));
        if (n <= 0)
                return;
        if (!t->connected)
                set_connected(t, true);
        if (t->advert_timer)
                (void) sd_event_source_set_time_relative(t->advert_timer, (uint64_t) m->cfg.advert_timeout_ms * 1000U);
        else
                (void) sd_event_add_time_relative(m->event, &t->advert_timer, CLOCK_MONOTONIC,
                                                  (uint64_t) m->cfg.advert_timeout_ms * 1000U, ADVERT_ACCURACY_USEC,
                                                  on_advert_timeout, t);
        (void) sd_event_source_set_enabled(t->advert_timer, SD_EVENT_ONESHOT);
        for (int i = 0; i < n; i++) {
                double newtons = out[i].newtons;
                if (out[i].type == DRIVER_OUT_BATTERY)
                        deliver_battery(t, out[i].battery_percent, out[i].battery_mv);
                if (out[i].type != DRIVER_OUT_SAMPLE)
                        continue;
                deliver_sample(t, newtons, now, out[i].has_device_ts, out[i].device_ts_us);
        }
}

/* --- policy: discovery filter and whether to scan --- */

static bool tool_needs_scan(BleManager *m, Tool *t) {
        if (t->driver->advert_only)
                return true;
        return !bluez_client_find_device(m->client, ble_adapter_path(m->adapter), t->address);
}

static void update_discovery(BleManager *m) {
        bool wanted = m->auto_adopt || ble_tag_watch_count(m->tags) > 0;

        for (size_t i = 0; !wanted && i < m->n_tools; i++)
                wanted = tool_needs_scan(m, m->tools[i]);
        ble_discovery_set_wanted(m->discovery, m->started && wanted);
}

static int update_filter(BleManager *m) {
        const char *uuids[BLE_MANAGER_MAX_TOOLS + 64];
        size_t n = 0;
        bool advert = ble_tag_watch_count(m->tags) > 0, unfiltered = advert;

        for (size_t i = 0; i < m->n_tools; i++)
                if (m->tools[i]->driver->advert_only)
                        advert = unfiltered = true;
        /* A UUID filter hides devices that advertise none (tags, WH-C06): use it only when
         * every wanted device is known by its service. */
        if (!unfiltered) {
                for (size_t i = 0; i < m->n_tools; i++) {
                        const char *u = m->tools[i]->driver->service_uuid;
                        bool dup = false;
                        if (!u)
                                unfiltered = true;
                        for (size_t j = 0; u && j < n && !dup; j++)
                                dup = strcmp(uuids[j], u) == 0;
                        if (u && !dup && n < ELEMENTSOF(uuids) - 1)
                                uuids[n++] = u;
                }
                if (m->auto_adopt)
                        for (size_t i = 0; driver_table[i]; i++) {
                                const Driver *d = driver_table[i];
                                bool dup = false;
                                if (d->advert_only || !d->service_uuid) {
                                        unfiltered = true;
                                        continue;
                                }
                                for (size_t j = 0; j < n && !dup; j++)
                                        dup = strcmp(uuids[j], d->service_uuid) == 0;
                                if (!dup && n < ELEMENTSOF(uuids) - 1)
                                        uuids[n++] = d->service_uuid;
                        }
        }
        uuids[n] = NULL;
        return ble_discovery_set_filter(m->discovery, unfiltered || n == 0 ? NULL : uuids, advert);
}

/* --- scheduling: one connection attempt at a time, at most max_links links --- */

static int on_kick(sd_event_source *s, void *userdata) {
        BleManager *m = userdata;
        const char *adapter = ble_adapter_path(m->adapter);
        unsigned active = 0;
        bool busy = false;

        update_discovery(m);
        if (!m->started || !adapter)
                return 0;
        for (size_t i = 0; i < m->n_tools; i++) {
                BleLink *l = m->tools[i]->link;
                BleLinkState st = l ? ble_link_get_state(l) : BLE_LINK_IDLE;
                if (st == BLE_LINK_IDLE)
                        continue;
                active++;
                if (st != BLE_LINK_STREAMING)
                        busy = true;
        }
        for (size_t i = 0; i < m->n_tools && !busy && active < m->cfg.max_links; i++) {
                Tool *t = m->tools[i];
                const BluezDevice *d;
                int r;

                if (!t->link || ble_link_get_state(t->link) != BLE_LINK_IDLE || t->retry || t->removing)
                        continue;
                d = bluez_client_find_device(m->client, adapter, t->address);
                if (!d)
                        continue;
                r = ble_link_connect(t->link, d->path);
                if (r < 0) {
                        logf_(m, LOG_ERR, "tool %s: cannot start connecting: %s", t->address, strerror(-r));
                        continue;
                }
                busy = true;
                active++;
        }
        return 0;
}

/* --- BlueZ events --- */

static void drop_links(BleManager *m) {
        for (size_t i = 0; i < m->n_tools; i++) {
                Tool *t = m->tools[i];
                if (t->link)
                        ble_link_drop(t->link);
                t->retry = sd_event_source_disable_unref(t->retry);
                t->remove_call = sd_bus_slot_unref(t->remove_call);
                t->removing = mfree_ptr(t->removing);
                t->advert_timer = sd_event_source_disable_unref(t->advert_timer);
                set_connected(t, false);
        }
}

static void on_adapter_ready(const char *path, void *userdata) {
        BleManager *m = userdata;

        if (path)
                logf_(m, LOG_INFO, "using Bluetooth adapter %s", path);
        else {
                logf_(m, LOG_WARNING, "no usable Bluetooth adapter%s%s", m->adapter_name ? " " : "",
                      m->adapter_name ?: "");
                drop_links(m);
                ble_tag_watch_reset(m->tags);
        }
        (void) ble_discovery_set_adapter(m->discovery, path);
        kick(m);
}

static void on_power_cycled(int error, void *userdata) {
        BleManager *m = userdata;

        if (error < 0)
                logf_(m, LOG_ERR, "adapter power cycle failed: %s", strerror(-error));
        kick(m);
}

static Tool *adopt(BleManager *m, const BluezDevice *d);
static void device_event(BleManager *m, const BluezDevice *d, unsigned changed, bool removed);

static void on_service(bool up, void *userdata) {
        BleManager *m = userdata;
        const BluezDevice *d;

        logf_(m, up ? LOG_INFO : LOG_WARNING, "bluetoothd %s", up ? "is up" : "went away; dropping all BLE state");
        if (!up)
                drop_links(m);
        ble_adapter_update(m->adapter);
        if (up && !ble_adapter_path(m->adapter))
                logf_(m, LOG_WARNING, "bluetoothd has no usable adapter%s%s yet", m->adapter_name ? " " : "",
                      m->adapter_name ?: "");
        if (up)
                for (size_t i = 0; (d = bluez_client_device_at(m->client, i)); i++)
                        device_event(m, d, BLUEZ_DEVICE_NEW | BLUEZ_DEVICE_MFR | BLUEZ_DEVICE_SVC | BLUEZ_DEVICE_RSSI,
                                     false);
        kick(m);
}

static void on_adapter(const BluezAdapter *a, bool removed, void *userdata) {
        BleManager *m = userdata;

        ble_adapter_update(m->adapter);
        if (!removed && ble_adapter_path(m->adapter) && strcmp(a->path, ble_adapter_path(m->adapter)) == 0) {
                ble_discovery_adapter_discovering(m->discovery, a->discovering);
                if (!a->discovering)
                        ble_tag_watch_reset(m->tags);
        }
}

static void device_event(BleManager *m, const BluezDevice *d, unsigned changed, bool removed) {
        const char *adapter = ble_adapter_path(m->adapter);
        Tool *t;

        if (!adapter || !d->adapter || strcmp(d->adapter, adapter) != 0)
                return;
        ble_tag_watch_device(m->tags, d, removed);

        t = find_tool(m, d->address);
        if (!t && !removed && m->auto_adopt && (changed & (BLUEZ_DEVICE_NEW | BLUEZ_DEVICE_NAME | BLUEZ_DEVICE_UUIDS)))
                t = adopt(m, d);
        if (!t)
                return;
        if (d->name && (!t->name || strcmp(t->name, d->name) != 0)) {
                char *n = strdup(d->name);
                if (n) {
                        free(t->name);
                        t->name = n;
                }
        }
        if (t->driver->advert_only) {
                if (!removed)
                        advert_tool_device(t, d, changed);
                return;
        }
        if (removed && t->removing && strcmp(t->removing, d->path) == 0)
                t->removing = mfree_ptr(t->removing);
        ble_link_device_event(t->link, d, changed, removed);
        if (removed || (changed & BLUEZ_DEVICE_NEW))
                kick(m);
}

static void on_device(const BluezDevice *d, unsigned changed, bool removed, void *userdata) {
        device_event(userdata, d, changed, removed);
}

static void on_characteristic(const BluezCharacteristic *c, bool removed, void *userdata) {
        Tool *t = find_tool_by_device_path(userdata, c->device);
        if (t)
                ble_link_characteristic_event(t->link, c, removed);
}

static void on_notification(const BluezCharacteristic *c, const uint8_t *value, size_t len, void *userdata) {
        BleManager *m = userdata;
        Tool *t = find_tool_by_device_path(m, c->device);
        if (t)
                ble_link_notification(t->link, c, value, len, now_ns(m));
}

static void on_tag_tap(const char *athlete, const char *address, int rssi, void *userdata) {
        BleManager *m = userdata;
        if (m->cb.tag_tap)
                m->cb.tag_tap(athlete, address, rssi, m->userdata);
}

/* --- construction --- */

static int tool_new(BleManager *m, const char *address, const Driver *driver, bool adopted, Tool **ret) {
        _cleanup_(tool_freep) Tool *t = NULL;
        int r;

        if (m->n_tools >= BLE_MANAGER_MAX_TOOLS)
                return -E2BIG;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->m = m;
        t->driver = driver;
        t->adopted = adopted;
        t->battery = -1;
        t->battery_mv = -1;
        ble_zero_init(&t->zero, &(BleZeroParams) {
                        .window = nsec_from_ms(m->cfg.zero_window_ms),
                        .band_n = m->cfg.zero_band_n,
                        .margin_n = m->cfg.zero_margin_n,
                        .load_n = m->cfg.zero_load_n,
                });
        r = bluez_address_normalize(address, t->address);
        if (r < 0)
                return r;
        if (driver->advert_only) {
                r = driver_decoder_new(driver, &t->decoder);
                if (r < 0)
                        return r;
        } else {
                BleLinkConfig lc = {
                        .connect_timeout_ms = m->cfg.connect_timeout_ms,
                        .resolve_timeout_ms = m->cfg.resolve_timeout_ms,
                        .stall_timeout_ms = m->cfg.stall_timeout_ms,
                };
                BleLinkCallbacks lcb = {
                        .state = on_link_state,
                        .ended = on_link_ended,
                        .streaming = on_link_streaming,
                        .sample = on_link_sample,
                        .battery = on_link_battery,
                        .low_power = on_link_low_power,
                        .subscribed = on_link_subscribed,
                };
                BleRecoveryConfig rc = {
                        .backoff_initial_ms = m->cfg.backoff_initial_ms,
                        .backoff_max_ms = m->cfg.backoff_max_ms,
                        .jitter_percent = m->cfg.jitter_percent,
                        .retries_before_remove = m->cfg.retries_before_remove,
                        .retries_before_power_cycle = m->cfg.retries_before_power_cycle,
                        .power_cycle_min_interval_ms = m->cfg.power_cycle_min_interval_ms,
                };
                /* the link's callbacks get the tool itself: no lookup per sample */
                r = ble_link_new(&t->link, m->client, m->event, driver, t->address, &lc, &lcb, t);
                if (r < 0)
                        return r;
                r = ble_recovery_new(&t->recovery, &rc, m->seed ^ ((uint64_t) m->n_tools * 0x9e3779b97f4a7c15ULL));
                if (r < 0)
                        return r;
        }
        if (ret)
                *ret = t;
        m->tools[m->n_tools++] = TAKE_PTR(t);
        return 0;
}

static Tool *adopt(BleManager *m, const BluezDevice *d) {
        const Driver *driver = driver_match(d->name, (const char *const *) d->uuids, d->n_uuids);
        Tool *t = NULL;

        if (!driver || ble_tag_watch_matches(m->tags, d))
                return NULL;
        if (tool_new(m, d->address, driver, true, &t) < 0)
                return NULL;
        logf_(m, LOG_INFO, "adopted %s \"%s\" as a %s tool", t->address, d->name ?: "", driver->name);
        (void) update_filter(m);
        return t;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(BleManager *, ble_manager_free);

int ble_manager_new(BleManager **ret, sd_bus *bus, sd_event *event, const BleManagerConfig *cfg,
                    const BleCallbacks *cb, void *userdata) {
        _cleanup_(ble_manager_freep) BleManager *m = NULL;
        int r;

        if (!ret || !bus || !event || !cb)
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->bus = sd_bus_ref(bus);
        m->event = sd_event_ref(event);
        m->cb = *cb;
        m->userdata = userdata;
        if (cfg)
                m->cfg = *cfg;
        m->cfg.adapter = NULL;
        if (cfg && cfg->adapter && *cfg->adapter) {
                m->adapter_name = strdup(cfg->adapter);
                if (!m->adapter_name)
                        return -ENOMEM;
        }
#define DEFAULT(field, value) if (m->cfg.field == 0) m->cfg.field = (value)
        DEFAULT(max_links, BLE_MANAGER_DEFAULT_MAX_LINKS);
        DEFAULT(connect_timeout_ms, BLE_MANAGER_DEFAULT_CONNECT_TIMEOUT_MS);
        DEFAULT(resolve_timeout_ms, 10000);
        DEFAULT(stall_timeout_ms, 5000);
        DEFAULT(advert_timeout_ms, 10000);
        DEFAULT(tag_rssi_dbm, BLE_MANAGER_DEFAULT_TAG_RSSI_DBM);
        DEFAULT(tag_hold_ms, BLE_MANAGER_DEFAULT_TAG_HOLD_MS);
#undef DEFAULT
        if (m->cfg.no_jitter)
                m->cfg.jitter_percent = 0;
        else if (m->cfg.jitter_percent == 0 || m->cfg.jitter_percent >= 100)
                m->cfg.jitter_percent = 20;
        m->seed = now_monotonic() ^ (uint64_t) (uintptr_t) m;

        BluezClientCallbacks ccb = {
                .service = on_service,
                .adapter = on_adapter,
                .device = on_device,
                .characteristic = on_characteristic,
                .notification = on_notification,
        };
        BleAdapterCallbacks acb = {
                .ready = on_adapter_ready,
                .power_cycled = on_power_cycled,
        };
        r = bluez_client_new(&m->client, bus, &ccb, m);
        if (r < 0)
                return r;
        r = ble_adapter_new(&m->adapter, m->client, m->adapter_name, &acb, m);
        if (r < 0)
                return r;
        r = ble_discovery_new(&m->discovery, m->client, event);
        if (r < 0)
                return r;
        r = ble_tag_watch_new(&m->tags, event, m->cfg.tag_rssi_dbm, nsec_from_ms(m->cfg.tag_hold_ms), on_tag_tap, m);
        if (r < 0)
                return r;
        r = sd_event_add_defer(event, &m->kick, on_kick, m);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(m->kick, SD_EVENT_OFF);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

BleManager *ble_manager_free(BleManager *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_tools; i++)
                tool_free(m->tools[i]);
        sd_event_source_disable_unref(m->kick);
        ble_tag_watch_free(m->tags);
        ble_discovery_free(m->discovery);
        ble_adapter_free(m->adapter);
        bluez_client_free(m->client);
        sd_event_unref(m->event);
        sd_bus_unref(m->bus);
        free(m->adapter_name);
        free(m);
        return NULL;
}

int ble_manager_add_tool(BleManager *m, const char *address, const char *driver) {
        const Driver *d;
        char norm[18];
        int r;

        if (!m || !address || !driver)
                return -EINVAL;
        if (bluez_address_normalize(address, norm) < 0)
                return -EINVAL;
        d = driver_find(driver);
        if (!d)
                return -ENOENT;
        if (!d->advert_only && !d->notify_uuid)
                return -EINVAL;
        if (find_tool(m, norm))
                return -EEXIST;
        r = tool_new(m, norm, d, false, NULL);
        if (r < 0)
                return r;
        if (m->started) {
                (void) update_filter(m);
                kick(m);
        }
        return 0;
}

int ble_manager_set_auto_adopt(BleManager *m, bool on) {
        if (!m)
                return -EINVAL;
        m->auto_adopt = on;
        if (m->started) {
                (void) update_filter(m);
                kick(m);
        }
        return 0;
}

int ble_manager_add_tag(BleManager *m, const char *athlete, const char *address, const char *ibeacon,
                        const char *eddystone) {
        int r;

        if (!m)
                return -EINVAL;
        r = ble_tag_watch_add(m->tags, athlete, address, ibeacon, eddystone);
        if (r < 0)
                return r;
        if (m->started) {
                (void) update_filter(m);
                kick(m);
        }
        return 0;
}

int ble_manager_start(BleManager *m) {
        int r;

        if (!m)
                return -EINVAL;
        if (m->started)
                return -EALREADY;
        r = update_filter(m);
        if (r < 0)
                return r;
        r = bluez_client_start(m->client);
        if (r < 0)
                return r;
        m->started = true;
        kick(m);
        return 0;
}

int ble_manager_tare(BleManager *m, const char *address) {
        Tool *t;
        int r;

        if (!m || !address)
                return -EINVAL;
        t = find_tool(m, address);
        if (!t)
                return -ENOENT;
        if (!t->connected)
                return -ENOTCONN;
        r = ble_zero_take(&t->zero, now_ns(m));
        if (r < 0)
                return r;
        logf_(m, LOG_INFO, "tool %s (%s): tared, zero ok at %.2f N raw", t->address, t->driver->name, t->zero.offset);
        if (m->cb.tool_zero)
                m->cb.tool_zero(t->address, t->zero.offset, t->zero.state, m->userdata);
        return 0;
}

int ble_manager_set_tool_in_use(BleManager *m, const char *address, bool in_use) {
        Tool *t;

        if (!m || !address)
                return -EINVAL;
        t = find_tool(m, address);
        if (!t)
                return -ENOENT;
        t->in_use = in_use;
        return 0;
}

int ble_manager_set_tool_owner(BleManager *m, const char *address, void *owner) {
        Tool *t;

        if (!m || !address)
                return -EINVAL;
        t = find_tool(m, address);
        if (!t)
                return -ENOENT;
        t->owner = owner;
        return 0;
}

void ble_manager_clear_tool_owners(BleManager *m) {
        if (!m)
                return;
        for (size_t i = 0; i < m->n_tools; i++)
                m->tools[i]->owner = NULL;
}

int ble_manager_set_zero(BleManager *m, const char *address, double zero_n, BleZeroState state) {
        Tool *t;

        if (!m || !address || (unsigned) state >= _BLE_ZERO_STATE_MAX)
                return -EINVAL;
        t = find_tool(m, address);
        if (!t)
                return -ENOENT;
        ble_zero_set(&t->zero, zero_n, state);
        return 0;
}

static void fill_info(BleManager *m, const Tool *t, BleToolInfo *ret) {
        /* BlueZ updates RSSI from advertisements: the last one heard, while discovering. */
        const BluezDevice *d = bluez_client_find_device(m->client, ble_adapter_path(m->adapter), t->address);

        *ret = (BleToolInfo) {
                .address = t->address,
                .driver = t->driver->name,
                .name = t->name,
                .connected = t->connected,
                .battery = t->battery,
                .battery_mv = t->battery_mv,
                .last_seen = t->last_seen,
                .has_rssi = d && d->has_rssi,
                .rssi = d && d->has_rssi ? d->rssi : 0,
                .zero_n = t->zero.offset,
                .zero = t->zero.state,
        };
}

int ble_manager_tool_info(BleManager *m, const char *address, BleToolInfo *ret) {
        Tool *t;

        if (!m || !address || !ret)
                return -EINVAL;
        t = find_tool(m, address);
        if (!t)
                return -ENOENT;
        fill_info(m, t, ret);
        return 0;
}

const char *ble_manager_tool_at(BleManager *m, size_t i) {
        return m && i < m->n_tools ? m->tools[i]->address : NULL;
}
