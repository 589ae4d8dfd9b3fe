/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ble/ble-discovery.h"
#include "shared/macro.h"
#include "shared/time-util.h"

#define DISCOVERY_CALL_TIMEOUT_USEC (5U * 1000U * 1000U)
#define DISCOVERY_RETRY_USEC (1U * 1000U * 1000U)
#define DISCOVERY_RETRY_ACCURACY_USEC (100U * 1000U)
#define DISCOVERY_MAX_UUIDS 64U

typedef enum Op { OP_NONE, OP_FILTER, OP_START, OP_STOP } Op;

struct BleDiscovery {
        BluezClient *client;
        sd_event *event;
        char *adapter;

        char **uuids;           /* NULL: no UUID filter */
        size_t n_uuids;
        bool duplicate_data;

        bool wanted;
        bool filter_applied;
        bool running;
        Op op;
        sd_bus_slot *call;
        sd_event_source *retry;
};

static void step(BleDiscovery *d);

static void uuids_clear(BleDiscovery *d) {
        for (size_t i = 0; i < d->n_uuids; i++)
                free(d->uuids[i]);
        free(d->uuids);
        d->uuids = NULL;
        d->n_uuids = 0;
}

int ble_discovery_new(BleDiscovery **ret, BluezClient *client, sd_event *event) {
        BleDiscovery *d;

        if (!ret || !client || !event)
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->client = client;
        d->event = sd_event_ref(event);
        *ret = d;
        return 0;
}

BleDiscovery *ble_discovery_free(BleDiscovery *d) {
        if (!d)
                return NULL;
        sd_bus_slot_unref(d->call);
        sd_event_source_disable_unref(d->retry);
        sd_event_unref(d->event);
        uuids_clear(d);
        free(d->adapter);
        free(d);
        return NULL;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        BleDiscovery *d = userdata;
        d->retry = sd_event_source_disable_unref(d->retry);
        step(d);
        return 0;
}

static void schedule_retry(BleDiscovery *d) {
        if (d->retry)
                return;
        (void) sd_event_add_time_relative(d->event, &d->retry, CLOCK_MONOTONIC, DISCOVERY_RETRY_USEC,
                                          DISCOVERY_RETRY_ACCURACY_USEC, on_retry, d);
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BleDiscovery *d = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        Op op = d->op;

        d->call = sd_bus_slot_unref(d->call);
        d->op = OP_NONE;
        switch (op) {
        case OP_FILTER:
                if (!e)
                        d->filter_applied = true;
                else
                        schedule_retry(d);
                break;
        case OP_START:
                /* InProgress: a session of ours survived (reply lost or duplicated) */
                if (!e || sd_bus_error_has_name(e, "org.bluez.Error.InProgress"))
                        d->running = true;
                else
                        schedule_retry(d);
                break;
        case OP_STOP:
                /* Failed "No discovery started": it is stopped either way */
                d->running = false;
                break;
        case OP_NONE:
                break;
        }
        if (!d->retry)
                step(d);
        return 0;
}

static int call_filter(BleDiscovery *d) {
        sd_bus_message *m = NULL;
        int r;

        r = bluez_client_new_call(d->client, &m, d->adapter, BLUEZ_ADAPTER_IFACE, "SetDiscoveryFilter");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "Transport", "s", "le");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "DuplicateData", "b", (int) d->duplicate_data);
        if (r >= 0 && d->uuids) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "UUIDs");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "s");
                for (size_t i = 0; r >= 0 && i < d->n_uuids; i++)
                        r = sd_bus_message_append(m, "s", d->uuids[i]);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = bluez_client_send(d->client, &d->call, m, DISCOVERY_CALL_TIMEOUT_USEC, on_reply, d);
        sd_bus_message_unref(m);
        return r;
}

static void step(BleDiscovery *d) {
        int r = 0;

        if (d->call || d->retry || !d->adapter || !bluez_client_is_up(d->client))
                return;
        if (!d->filter_applied) {
                d->op = OP_FILTER;
                r = call_filter(d);
        } else if (d->wanted && !d->running) {
                d->op = OP_START;
                r = bluez_client_call(d->client, &d->call, d->adapter, BLUEZ_ADAPTER_IFACE, "StartDiscovery",
                                      DISCOVERY_CALL_TIMEOUT_USEC, on_reply, d, NULL);
        } else if (!d->wanted && d->running) {
                d->op = OP_STOP;
                r = bluez_client_call(d->client, &d->call, d->adapter, BLUEZ_ADAPTER_IFACE, "StopDiscovery",
                                      DISCOVERY_CALL_TIMEOUT_USEC, on_reply, d, NULL);
        }
        if (r < 0) {
                d->op = OP_NONE;
                schedule_retry(d);
        }
}

int ble_discovery_set_filter(BleDiscovery *d, const char *const *uuids, bool duplicate_data) {
        char **copy = NULL;
        size_t n = 0;

        if (!d)
                return -EINVAL;
        if (uuids) {
                for (; uuids[n]; n++)
                        if (n >= DISCOVERY_MAX_UUIDS)
                                return -E2BIG;
                copy = calloc(n + 1, sizeof(char *));
                if (!copy)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        if (!(copy[i] = strdup(uuids[i]))) {
                                for (size_t j = 0; j < i; j++)
                                        free(copy[j]);
                                free(copy);
                                return -ENOMEM;
                        }
        }
        /* unchanged filters are not re-sent */
        if (d->duplicate_data == duplicate_data && !!d->uuids == !!copy && d->n_uuids == n) {
                bool same = true;
                for (size_t i = 0; i < n && same; i++)
                        same = strcmp(d->uuids[i], copy[i]) == 0;
                if (same) {
                        for (size_t i = 0; i < n; i++)
                                free(copy[i]);
                        free(copy);
                        return 0;
                }
        }
        uuids_clear(d);
        d->uuids = copy;
        d->n_uuids = n;
        d->duplicate_data = duplicate_data;
        d->filter_applied = false;
        step(d);
        return 0;
}

void ble_discovery_set_wanted(BleDiscovery *d, bool wanted) {
        if (!d || d->wanted == wanted)
                return;
        d->wanted = wanted;
        step(d);
}

int ble_discovery_set_adapter(BleDiscovery *d, const char *path) {
        if (!d)
                return -EINVAL;
        if ((path && d->adapter && strcmp(path, d->adapter) == 0) || (!path && !d->adapter && !d->call)) {
                step(d);
                return 0;
        }
        d->call = sd_bus_slot_unref(d->call);
        d->retry = sd_event_source_disable_unref(d->retry);
        d->op = OP_NONE;
        d->filter_applied = false;
        d->running = false;
        free(d->adapter);
        d->adapter = NULL;
        if (path) {
                d->adapter = strdup(path);
                if (!d->adapter)
                        return -ENOMEM;
        }
        step(d);
        return 0;
}

void ble_discovery_adapter_discovering(BleDiscovery *d, bool discovering) {
        if (!d || discovering || !d->running || d->call)
                return;
        d->running = false;
        d->filter_applied = false;
        step(d);
}

bool ble_discovery_is_running(const BleDiscovery *d) {
        return d && d->running;
}

bool ble_discovery_is_wanted(const BleDiscovery *d) {
        return d && d->wanted;
}
