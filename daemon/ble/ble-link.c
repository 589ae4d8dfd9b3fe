/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ble/ble-link.h"
#include "shared/macro.h"

#define GATT_CALL_TIMEOUT_USEC (5U * 1000U * 1000U)
#define DISCONNECT_TIMEOUT_USEC (5U * 1000U * 1000U)
#define DETAIL_MAX 128U
#define STALL_ACCURACY_USEC (100U * 1000U)
/* Notifications read from an AcquireNotify socket per wake-up before other sources get
 * their turn (the socket is level-triggered: the rest is read on the next iteration). */
#define NOTIFY_READS_PER_WAKEUP 32U
/* A socket bluetoothd closes while the link stays up is acquired again this many times per
 * connection; after that the link uses StartNotify until it reconnects. */
#define REACQUIRE_MAX 3U

/* After StartNotify, in this order. The battery command goes before start because some
 * devices (Progressor) only answer it while not streaming. */
typedef enum SetupStep {
        STEP_INIT,              /* driver handshake */
        STEP_BATTERY_CMD,       /* battery asked for on the data channel */
        STEP_START,
        STEP_BATTERY,           /* Battery Level characteristic read */
        STEP_DONE,
} SetupStep;

struct BleLink {
        BluezClient *client;
        sd_event *event;
        const Driver *driver;
        DriverDecoder *decoder;
        char address[18];
        char *device_path;
        BleLinkConfig cfg;
        BleLinkCallbacks cb;
        void *userdata;

        BleLinkState state;
        bool connected_reported;
        bool streaming_reported;
        bool sample_seen;
        SetupStep step;
        char *notify_path;
        char *write_path;
        char *battery_path;

        sd_bus_slot *call;
        sd_event_source *timer;         /* resolve deadline, then stall watchdog */

        /* AcquireNotify: our end of bluetoothd's SOCK_SEQPACKET pair, one notification per
         * read; -1 while notifications come as PropertiesChanged (StartNotify). */
        int notify_fd;
        sd_event_source *notify_io;
        uint16_t mtu;
        bool acquire_refused;           /* this connection: bluetoothd said no, use StartNotify */
        unsigned reacquired;            /* sockets bluetoothd closed under a live link */
        bool resubscribing;             /* STREAMING, subscribing again after such a close */
        nsec_t last_notify;             /* arrival of the last data notification */

        /* what to report once Disconnect has answered */
        BleFailure pending_failure;
        char pending_detail[DETAIL_MAX];

        bool low_power_reported;

        DriverOutput outputs[DRIVER_OUTPUTS_MAX];
};

static char *mfree_str(char *s) {
        free(s);
        return NULL;
}

const char *ble_failure_to_string(BleFailure f) {
        static const char *const names[] = {
                [BLE_FAILURE_ABORT] = "connection-abort",
                [BLE_FAILURE_FAILED] = "failed",
                [BLE_FAILURE_IN_PROGRESS] = "in-progress",
                [BLE_FAILURE_TIMEOUT] = "timeout",
                [BLE_FAILURE_STALL] = "stall",
                [BLE_FAILURE_LOST] = "link-lost",
                [BLE_FAILURE_LOCAL] = "local",
        };
        return (unsigned) f < ELEMENTSOF(names) ? names[f] : "?";
}

int ble_link_new(BleLink **ret, BluezClient *client, sd_event *event, const Driver *driver, const char *address,
                 const BleLinkConfig *cfg, const BleLinkCallbacks *cb, void *userdata) {
        BleLink *l;
        int r;

        if (!ret || !client || !event || !driver || !driver->notify_uuid || !cfg || !cb)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        r = bluez_address_normalize(address, l->address);
        if (r >= 0)
                r = driver_decoder_new(driver, &l->decoder);
        if (r < 0) {
                free(l);
                return r;
        }
        l->notify_fd = -1;
        l->client = client;
        l->event = sd_event_ref(event);
        l->driver = driver;
        l->cfg = *cfg;
        l->cb = *cb;
        l->userdata = userdata;
        *ret = l;
        return 0;
}

static void close_notify_fd(BleLink *l) {
        l->notify_io = sd_event_source_disable_unref(l->notify_io);
        if (l->notify_fd >= 0)
                (void) close(l->notify_fd);     /* bluetoothd sees the HUP: notifications off */
        l->notify_fd = -1;
}

static void clear_link(BleLink *l) {
        l->call = sd_bus_slot_unref(l->call);
        l->timer = sd_event_source_disable_unref(l->timer);
        close_notify_fd(l);
        l->acquire_refused = false;
        l->reacquired = 0;
        l->resubscribing = false;
        l->last_notify = 0;
        l->notify_path = mfree_str(l->notify_path);
        l->write_path = mfree_str(l->write_path);
        l->battery_path = mfree_str(l->battery_path);
        l->streaming_reported = false;
        l->sample_seen = false;
        l->low_power_reported = false;
}

BleLink *ble_link_free(BleLink *l) {
        if (!l)
                return NULL;
        clear_link(l);
        driver_decoder_free(l->decoder);
        sd_event_unref(l->event);
        free(l->device_path);
        free(l);
        return NULL;
}

BleLinkState ble_link_get_state(const BleLink *l) {
        return l->state;
}

const char *ble_link_get_address(const BleLink *l) {
        return l->address;
}

const char *ble_link_get_device_path(const BleLink *l) {
        return l->device_path;
}

const Driver *ble_link_get_driver(const BleLink *l) {
        return l->driver;
}

static void report_down(BleLink *l) {
        if (l->connected_reported) {
                l->connected_reported = false;
                if (l->cb.state)
                        l->cb.state(l, false, l->userdata);
        }
}

/* Back to IDLE and tell the owner; the owner may free the link from ended(). */
static void finish(BleLink *l, BleFailure f, const char *detail) {
        clear_link(l);
        l->state = BLE_LINK_IDLE;
        report_down(l);
        if (l->cb.ended)
                l->cb.ended(l, f, detail ?: "", l->userdata);
}

static int on_disconnected(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BleLink *l = userdata;
        char detail[DETAIL_MAX];

        l->call = sd_bus_slot_unref(l->call);
        memcpy(detail, l->pending_detail, sizeof(detail));
        finish(l, l->pending_failure, detail);
        return 0;
}

/* Failure while bluetoothd may still hold a (half) link: disconnect it first so that the
 * next attempt does not race the old one. */
static void fail(BleLink *l, BleFailure f, const char *detail) {
        const BluezDevice *d = bluez_client_get_device(l->client, l->device_path);
        int r;

        clear_link(l);
        report_down(l);
        if (!d) {
                finish(l, f, detail);
                return;
        }
        l->state = BLE_LINK_DISCONNECTING;
        l->pending_failure = f;
        snprintf(l->pending_detail, sizeof(l->pending_detail), "%s", detail ?: "");
        r = bluez_client_call(l->client, &l->call, l->device_path, BLUEZ_DEVICE_IFACE, "Disconnect",
                              DISCONNECT_TIMEOUT_USEC, on_disconnected, l, NULL);
        if (r < 0)
                finish(l, f, detail);
}

static BleFailure classify(const sd_bus_error *e) {
        if (sd_bus_error_has_name(e, "org.bluez.Error.InProgress"))
                return BLE_FAILURE_IN_PROGRESS;
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) || sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT))
                return BLE_FAILURE_TIMEOUT;
        if (sd_bus_error_has_name(e, "org.bluez.Error.Failed") && e->message &&
            (strstr(e->message, "abort") || strstr(e->message, "Abort")))
                return BLE_FAILURE_ABORT;
        return BLE_FAILURE_FAILED;
}

static void fail_with_error(BleLink *l, const sd_bus_error *e) {
        char detail[DETAIL_MAX];

        snprintf(detail, sizeof(detail), "%s: %s", e->name ?: "?", e->message ?: "");
        fail(l, classify(e), detail);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        BleLink *l = userdata;

        /* The stall watchdog is armed once per stream, not per notification: at expiry it
         * looks at when the last one came and, if that was recent, sleeps for the rest. */
        if (l->state == BLE_LINK_STREAMING && l->cfg.stall_timeout_ms > 0) {
                nsec_t stall = nsec_from_ms(l->cfg.stall_timeout_ms);
                nsec_t due = l->last_notify + stall;
                if (due > (nsec_t) usec * NSEC_PER_USEC &&
                    sd_event_source_set_time(s, due / NSEC_PER_USEC) >= 0 &&
                    sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) >= 0)
                        return 0;
        }
        l->timer = sd_event_source_disable_unref(l->timer);
        if (l->state == BLE_LINK_RESOLVING)
                fail(l, BLE_FAILURE_TIMEOUT, "GATT services not resolved in time");
        else if (l->state == BLE_LINK_STREAMING || l->state == BLE_LINK_SETUP)
                fail(l, BLE_FAILURE_STALL, "no notification in time");
        return 0;
}

static int arm_timer(BleLink *l, uint32_t ms, uint64_t accuracy_usec) {
        uint64_t now;
        int r;

        if (ms == 0) {
                l->timer = sd_event_source_disable_unref(l->timer);
                return 0;
        }
        r = sd_event_now(l->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        if (l->timer) {
                r = sd_event_source_set_time(l->timer, now + (uint64_t) ms * 1000U);
                if (r >= 0)
                        r = sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
                return r;
        }
        return sd_event_add_time(l->event, &l->timer, CLOCK_MONOTONIC, now + (uint64_t) ms * 1000U, accuracy_usec,
                                 on_timer, l);
}

static void setup_next(BleLink *l);

/* "Streaming" means set up completely and delivering: the owner may start the next
 * connection attempt and reset its recovery ladder. */
static void maybe_report_streaming(BleLink *l) {
        if (l->streaming_reported || !l->sample_seen || l->state != BLE_LINK_STREAMING)
                return;
        l->streaming_reported = true;
        if (l->cb.streaming)
                l->cb.streaming(l, l->userdata);
}

static int on_setup_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BleLink *l = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        l->call = sd_bus_slot_unref(l->call);
        if (l->step == STEP_BATTERY) {
                const void *bytes;
                size_t len;
                /* a missing battery level is no reason to drop a working link */
                if (!e && sd_bus_message_read_array(reply, 'y', &bytes, &len) >= 0 && len >= 1 &&
                    ((const uint8_t *) bytes)[0] <= 100 && l->cb.battery)
                        l->cb.battery(l, ((const uint8_t *) bytes)[0], -1, l->userdata);
        } else if (e) {
                fail_with_error(l, e);
                return 0;
        }
        l->step++;
        setup_next(l);
        return 0;
}

static int write_command(BleLink *l, const DriverCommand *cmd) {
        sd_bus_message *m = NULL;
        int r;

        r = bluez_client_new_call(l->client, &m, l->write_path, BLUEZ_CHAR_IFACE, "WriteValue");
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(m, 'y', cmd->bytes, cmd->len);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 1, "type", "s", "request");
        if (r >= 0)
                r = bluez_client_send(l->client, &l->call, m, GATT_CALL_TIMEOUT_USEC, on_setup_reply, l);
        sd_bus_message_unref(m);
        return r;
}

static void setup_next(BleLink *l) {
        const Driver *d = l->driver;
        int r = 0;

        for (; l->step < STEP_DONE; l->step++) {
                if (l->step == STEP_INIT && l->write_path && d->init_cmd.len > 0) {
                        r = write_command(l, &d->init_cmd);
                        break;
                }
                if (l->step == STEP_BATTERY_CMD && l->write_path && d->battery_cmd.len > 0) {
                        r = write_command(l, &d->battery_cmd);
                        break;
                }
                if (l->step == STEP_START && l->write_path && d->start_cmd.len > 0) {
                        r = write_command(l, &d->start_cmd);
                        break;
                }
                if (l->step == STEP_BATTERY && l->battery_path) {
                        r = bluez_client_call(l->client, &l->call, l->battery_path, BLUEZ_CHAR_IFACE, "ReadValue",
                                              GATT_CALL_TIMEOUT_USEC, on_setup_reply, l, "a{sv}", 0);
                        break;
                }
        }
        if (r < 0) {
                fail(l, BLE_FAILURE_FAILED, "cannot send GATT request");
                return;
        }
        if (l->step == STEP_DONE) {
                uint64_t now;
                l->state = BLE_LINK_STREAMING;
                l->resubscribing = false;
                /* silence is counted from the stream's start, not from a sample during setup */
                if (sd_event_now(l->event, CLOCK_MONOTONIC, &now) >= 0)
                        l->last_notify = MAX(l->last_notify, (nsec_t) now * NSEC_PER_USEC);
                if (arm_timer(l, l->cfg.stall_timeout_ms, STALL_ACCURACY_USEC) < 0) {
                        fail(l, BLE_FAILURE_FAILED, "cannot arm stall timer");
                        return;
                }
                maybe_report_streaming(l);
        }
}

static void report_subscribed(BleLink *l, const char *reason) {
        if (l->cb.subscribed)
                l->cb.subscribed(l, l->notify_fd >= 0, l->mtu, reason, l->userdata);
}

/* Subscribed (first time, or again after bluetoothd closed the socket): the commands. */
static void subscribed(BleLink *l) {
        if (l->resubscribing) {
                /* The stream goes on: only the start command again, since a device may stop
                 * streaming once bluetoothd turned its notifications off. */
                l->step = STEP_START;
                setup_next(l);
                return;
        }
        l->state = BLE_LINK_SETUP;
        l->step = STEP_INIT;
        /* commands and battery get a deadline of their own; the watchdog covers the stream */
        if (arm_timer(l, l->cfg.stall_timeout_ms, STALL_ACCURACY_USEC) < 0) {
                fail(l, BLE_FAILURE_FAILED, "cannot arm stall timer");
                return;
        }
        setup_next(l);
}

static int on_start_notify(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BleLink *l = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        l->call = sd_bus_slot_unref(l->call);
        if (e) {
                fail_with_error(l, e);
                return 0;
        }
        subscribed(l);
        return 0;
}

static void start_notify(BleLink *l, const char *reason) {
        int r;

        report_subscribed(l, reason);
        if (l->state != BLE_LINK_SUBSCRIBING && !l->resubscribing)
                return;   /* the owner changed its mind from the callback */
        r = bluez_client_call(l->client, &l->call, l->notify_path, BLUEZ_CHAR_IFACE, "StartNotify",
                              GATT_CALL_TIMEOUT_USEC, on_start_notify, l, NULL);
        if (r < 0)
                fail(l, BLE_FAILURE_FAILED, "cannot call StartNotify");
}

static void deliver(BleLink *l, const uint8_t *value, size_t len, nsec_t now);
static void acquire_notify(BleLink *l);

static void notify_fd_closed(BleLink *l) {
        const BluezDevice *d = bluez_client_get_device(l->client, l->device_path);

        close_notify_fd(l);
        if (l->state != BLE_LINK_STREAMING || l->resubscribing) {
                fail(l, BLE_FAILURE_LOST, "notification socket closed during setup");
                return;
        }
        /* On a disconnect bluetoothd closes the socket and says Connected=false; the device
         * event ends the link then. Otherwise the link is up and the stream must go on. */
        if (!d || !d->services_resolved)
                return;
        l->resubscribing = true;
        if (++l->reacquired > REACQUIRE_MAX) {
                l->acquire_refused = true;
                start_notify(l, "bluetoothd kept closing the AcquireNotify socket");
        } else
                acquire_notify(l);
}

static int on_notify_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        BleLink *l = userdata;
        /* one more byte than any ATT value: a longer message is seen as too long (the driver
         * refuses it) rather than truncated into something that might parse */
        uint8_t buf[DRIVER_FRAME_MAX + 1];
        uint64_t usec;
        nsec_t now;

        if (sd_event_now(l->event, CLOCK_MONOTONIC, &usec) < 0)
                usec = now_monotonic() / NSEC_PER_USEC;
        now = (nsec_t) usec * NSEC_PER_USEC;
        for (unsigned i = 0; i < NOTIFY_READS_PER_WAKEUP; i++) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        notify_fd_closed(l);
                        return 0;
                }
                /* a zero-length read is the end of the stream only with HUP; otherwise it is
                 * an empty notification */
                if (n == 0 && (revents & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))) {
                        notify_fd_closed(l);
                        return 0;
                }
                deliver(l, buf, MIN((size_t) n, sizeof(buf)), now);
                if (l->notify_fd != fd)
                        return 0;   /* the owner ended the link from a callback */
        }
        return 0;
}

static int on_acquire_notify(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BleLink *l = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        char reason[DETAIL_MAX];
        uint16_t mtu;
        int fd, r;

        l->call = sd_bus_slot_unref(l->call);
        if (e) {
                /* NotSupported (no notify flag, or an old bluetoothd), NotPermitted or
                 * InProgress (another client holds a StartNotify session): StartNotify works
                 * in all of those. */
                l->acquire_refused = true;
                snprintf(reason, sizeof(reason), "AcquireNotify refused: %s", e->name ?: "?");
                start_notify(l, reason);
                return 0;
        }
        r = sd_bus_message_read(reply, "hq", &fd, &mtu);
        if (r >= 0) {
                /* the descriptor belongs to the message: keep a copy of our own */
                fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                r = fd < 0 ? -errno : 0;
        }
        if (r >= 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
                r = -errno;
        if (r >= 0)
                r = sd_event_add_io(l->event, &l->notify_io, fd, EPOLLIN | EPOLLRDHUP, on_notify_io, l);
        if (r < 0) {
                if (fd >= 0)
                        (void) close(fd);
                l->acquire_refused = true;
                start_notify(l, "AcquireNotify reply unusable");
                return 0;
        }
        l->notify_fd = fd;
        l->mtu = mtu;
        report_subscribed(l, NULL);
        if (l->notify_fd < 0)
                return 0;   /* ended from the callback */
        subscribed(l);
        return 0;
}

static void acquire_notify(BleLink *l) {
        int r;

        r = bluez_client_call(l->client, &l->call, l->notify_path, BLUEZ_CHAR_IFACE, "AcquireNotify",
                              GATT_CALL_TIMEOUT_USEC, on_acquire_notify, l, "a{sv}", 0);
        if (r < 0) {
                l->acquire_refused = true;
                start_notify(l, "cannot call AcquireNotify");
        }
}

/* AcquireNotify where the driver allows it (see Driver.acquire_notify) and the
 * characteristic notifies (bluetoothd 5.66 acquires only "notify", not "indicate"). */
static void subscribe(BleLink *l, const BluezCharacteristic *notify) {
        if (!l->driver->acquire_notify)
                start_notify(l, "driver: the device may notify before the CCC write completes");
        else if (!notify->has_notify_flag)
                start_notify(l, "the characteristic indicates, AcquireNotify needs notify");
        else if (l->acquire_refused)
                start_notify(l, "AcquireNotify refused before on this link");
        else
                acquire_notify(l);
}

static int dup_path(char **dst, const BluezCharacteristic *c) {
        if (!c) {
                *dst = mfree_str(*dst);
                return 0;
        }
        if (*dst && strcmp(*dst, c->path) == 0)
                return 0;
        free(*dst);
        *dst = strdup(c->path);
        return *dst ? 0 : -ENOMEM;
}

/* RESOLVING -> SUBSCRIBING once bluetoothd says so and the objects we need exist. */
static void check_resolved(BleLink *l) {
        const BluezDevice *d = bluez_client_get_device(l->client, l->device_path);
        const BluezCharacteristic *notify, *write = NULL, *battery = NULL;

        /* ServicesResolved alone: bluetoothd (5.66) can leave Connected false. When the ATT
         * channel comes up before it handles the kernel's Device Connected event,
         * device_add_connection() finds the bearer connected already and emits nothing;
         * Connect has answered and ServicesResolved is true only on a live link. */
        if (l->state != BLE_LINK_RESOLVING || !d || !d->services_resolved)
                return;
        notify = bluez_client_find_characteristic(l->client, l->device_path, l->driver->notify_uuid);
        if (!notify)
                return;
        if (l->driver->write_uuid) {
                write = bluez_client_find_characteristic(l->client, l->device_path, l->driver->write_uuid);
                if (!write)
                        return;
        }
        if (l->driver->battery_uuid) {
                battery = bluez_client_find_characteristic(l->client, l->device_path, l->driver->battery_uuid);
                if (battery && !battery->can_read)
                        battery = NULL;
        }
        if (dup_path(&l->notify_path, notify) < 0 || dup_path(&l->write_path, write) < 0 ||
            dup_path(&l->battery_path, battery) < 0) {
                fail(l, BLE_FAILURE_FAILED, "out of memory");
                return;
        }

        l->timer = sd_event_source_disable_unref(l->timer);
        l->state = BLE_LINK_SUBSCRIBING;
        driver_decoder_reset(l->decoder);
        l->connected_reported = true;
        if (l->cb.state)
                l->cb.state(l, true, l->userdata);
        if (l->state != BLE_LINK_SUBSCRIBING)
                return;   /* the owner changed its mind from the callback */

        subscribe(l, notify);
}

static int on_connect(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BleLink *l = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        l->call = sd_bus_slot_unref(l->call);
        if (e && !sd_bus_error_has_name(e, "org.bluez.Error.AlreadyConnected")) {
                fail_with_error(l, e);
                return 0;
        }
        /* Connect answers when ATT is up; GATT browsing goes on after it */
        l->state = BLE_LINK_RESOLVING;
        if (arm_timer(l, l->cfg.resolve_timeout_ms, 10U * 1000U) < 0) {
                fail(l, BLE_FAILURE_FAILED, "cannot arm resolve timer");
                return 0;
        }
        check_resolved(l);
        return 0;
}

int ble_link_connect(BleLink *l, const char *device_path) {
        int r;

        if (!l || !device_path)
                return -EINVAL;
        if (l->state != BLE_LINK_IDLE)
                return -EBUSY;
        if (!l->device_path || strcmp(l->device_path, device_path) != 0) {
                char *p = strdup(device_path);
                if (!p)
                        return -ENOMEM;
                free(l->device_path);
                l->device_path = p;
        }
        r = bluez_client_call(l->client, &l->call, l->device_path, BLUEZ_DEVICE_IFACE, "Connect",
                              (uint64_t) l->cfg.connect_timeout_ms * 1000U, on_connect, l, NULL);
        if (r < 0)
                return r;
        l->state = BLE_LINK_CONNECTING;
        return 0;
}

int ble_link_disconnect(BleLink *l) {
        if (!l)
                return -EINVAL;
        if (l->state == BLE_LINK_IDLE || l->state == BLE_LINK_DISCONNECTING)
                return 0;
        fail(l, BLE_FAILURE_LOCAL, "disconnect requested");
        return 0;
}

bool ble_link_drop(BleLink *l) {
        bool was = l->connected_reported;

        clear_link(l);
        l->state = BLE_LINK_IDLE;
        l->connected_reported = false;
        return was;
}

void ble_link_device_event(BleLink *l, const BluezDevice *d, unsigned changed, bool removed) {
        if (!l->device_path || strcmp(d->path, l->device_path) != 0)
                return;
        switch (l->state) {
        case BLE_LINK_IDLE:
        case BLE_LINK_CONNECTING:       /* Connect's reply decides */
                return;
        case BLE_LINK_DISCONNECTING:
                if (removed) {
                        /* no reply will say more than this */
                        char detail[DETAIL_MAX];
                        memcpy(detail, l->pending_detail, sizeof(detail));
                        finish(l, l->pending_failure, detail);
                }
                return;
        default:
                break;
        }
        if (removed || ((changed & BLUEZ_DEVICE_CONNECTED) && !d->connected)) {
                clear_link(l);
                finish(l, BLE_FAILURE_LOST, removed ? "device removed" : "disconnected");
                return;
        }
        if (changed & (BLUEZ_DEVICE_RESOLVED | BLUEZ_DEVICE_CONNECTED))
                check_resolved(l);
}

void ble_link_characteristic_event(BleLink *l, const BluezCharacteristic *c, bool removed) {
        if (!l->device_path || strcmp(c->device, l->device_path) != 0)
                return;
        if (l->state == BLE_LINK_RESOLVING && !removed)
                check_resolved(l);
}

/* One data notification, from either transport. */
static void deliver(BleLink *l, const uint8_t *value, size_t len, nsec_t now) {
        DriverOutput *out = l->outputs;
        int n;

        l->last_notify = now;
        n = driver_decoder_feed(l->decoder, value, len, out, ELEMENTSOF(l->outputs));
        for (int i = 0; i < n; i++) {
                const DriverOutput *o = &out[i];
                if (o->type == DRIVER_OUT_SAMPLE) {
                        double newtons = o->newtons;
                        l->sample_seen = true;
                        maybe_report_streaming(l);
                        if (l->cb.sample)
                                l->cb.sample(l, newtons, now, o->has_device_ts, o->device_ts_us, l->userdata);
                } else if (o->type == DRIVER_OUT_BATTERY && (o->battery_percent >= 0 || o->battery_mv >= 0)) {
                        if (l->cb.battery)
                                l->cb.battery(l, o->battery_percent, o->battery_mv, l->userdata);
                } else if (o->type == DRIVER_OUT_LOW_POWER && !l->low_power_reported) {
                        l->low_power_reported = true;
                        if (l->cb.low_power)
                                l->cb.low_power(l, l->userdata);
                }
                if (l->state == BLE_LINK_IDLE || l->state == BLE_LINK_DISCONNECTING)
                        return;   /* the owner ended the link from a callback */
        }
}

void ble_link_notification(BleLink *l, const BluezCharacteristic *c, const uint8_t *value, size_t len,
                           nsec_t now) {
        if (l->state != BLE_LINK_SUBSCRIBING && l->state != BLE_LINK_SETUP && l->state != BLE_LINK_STREAMING)
                return;
        if (l->battery_path && strcmp(c->path, l->battery_path) == 0) {
                if (len >= 1 && value[0] <= 100 && l->cb.battery)
                        l->cb.battery(l, value[0], -1, l->userdata);
                return;
        }
        /* while acquired, bluetoothd sends data through the socket only */
        if (l->notify_fd >= 0 || !l->notify_path || strcmp(c->path, l->notify_path) != 0)
                return;
        deliver(l, value, len, now);
}
