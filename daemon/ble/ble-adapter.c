/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ble/ble-adapter.h"
#include "shared/macro.h"

#define ADAPTER_CALL_TIMEOUT_USEC (5U * 1000U * 1000U)

static char *mfree_str(char *s) {
        free(s);
        return NULL;
}

struct BleAdapter {
        BluezClient *client;
        char *want;             /* NULL: first powered */
        BleAdapterCallbacks cb;
        void *userdata;

        char *path;             /* the usable adapter, NULL if none */
        char *cycle_path;       /* adapter being power-cycled */
        sd_bus_slot *cycle_call;
        bool cycle_on;          /* second half of the cycle in flight */
};

int ble_adapter_new(BleAdapter **ret, BluezClient *client, const char *want, const BleAdapterCallbacks *cb,
                    void *userdata) {
        BleAdapter *a;

        if (!ret || !client || !cb)
                return -EINVAL;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        if (want && *want) {
                a->want = strdup(want);
                if (!a->want) {
                        free(a);
                        return -ENOMEM;
                }
        }
        a->client = client;
        a->cb = *cb;
        a->userdata = userdata;
        *ret = a;
        return 0;
}

BleAdapter *ble_adapter_free(BleAdapter *a) {
        if (!a)
                return NULL;
        sd_bus_slot_unref(a->cycle_call);
        free(a->want);
        free(a->path);
        free(a->cycle_path);
        free(a);
        return NULL;
}

static const BluezAdapter *choose(const BleAdapter *a) {
        const BluezAdapter *ad;

        if (!bluez_client_is_up(a->client))
                return NULL;
        for (size_t i = 0; (ad = bluez_client_adapter_at(a->client, i)); i++) {
                if (a->want && strcmp(ad->name, a->want) != 0)
                        continue;
                if (!a->want && a->path && strcmp(ad->path, a->path) != 0)
                        continue;   /* stay with the current one while it is fine */
                if (ad->powered)
                        return ad;
        }
        if (a->want || !a->path)
                return NULL;
        for (size_t i = 0; (ad = bluez_client_adapter_at(a->client, i)); i++)
                if (ad->powered)
                        return ad;
        return NULL;
}

void ble_adapter_update(BleAdapter *a) {
        const BluezAdapter *ad;
        const char *path;

        if (!a)
                return;
        if (a->cycle_path && !bluez_client_get_adapter(a->client, a->cycle_path)) {
                /* adapter or bluetoothd gone mid-cycle: nothing left to cycle */
                a->cycle_call = sd_bus_slot_unref(a->cycle_call);
                a->cycle_path = mfree_str(a->cycle_path);
                if (a->cb.power_cycled)
                        a->cb.power_cycled(-ENODEV, a->userdata);
        }
        ad = a->cycle_path ? NULL : choose(a);
        path = ad ? ad->path : NULL;
        if ((!path && !a->path) || (path && a->path && strcmp(path, a->path) == 0))
                return;
        free(a->path);
        a->path = path ? strdup(path) : NULL;
        if (a->cb.ready)
                a->cb.ready(a->path, a->userdata);
}

const char *ble_adapter_path(const BleAdapter *a) {
        return a ? a->path : NULL;
}

const char *ble_adapter_name(const BleAdapter *a) {
        const char *slash;

        if (!a || !(a->path || a->cycle_path))
                return a && a->want ? a->want : NULL;
        slash = strrchr(a->path ? a->path : a->cycle_path, '/');
        return slash ? slash + 1 : NULL;
}

bool ble_adapter_is_cycling(const BleAdapter *a) {
        return a && a->cycle_path;
}

static int set_powered(BleAdapter *a, bool on);

static int on_powered_set(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BleAdapter *a = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r = 0;

        a->cycle_call = sd_bus_slot_unref(a->cycle_call);
        if (e)
                r = -sd_bus_error_get_errno(e) ?: -EIO;
        else if (!a->cycle_on) {
                a->cycle_on = true;
                r = set_powered(a, true);
                if (r >= 0)
                        return 0;
        }
        a->cycle_path = mfree_str(a->cycle_path);
        a->cycle_on = false;
        if (a->cb.power_cycled)
                a->cb.power_cycled(r < 0 ? r : 0, a->userdata);
        ble_adapter_update(a);
        return 0;
}

static int set_powered(BleAdapter *a, bool on) {
        return bluez_client_call(a->client, &a->cycle_call, a->cycle_path, "org.freedesktop.DBus.Properties", "Set",
                                 ADAPTER_CALL_TIMEOUT_USEC, on_powered_set, a, "ssv", BLUEZ_ADAPTER_IFACE, "Powered",
                                 "b", (int) on);
}

int ble_adapter_power_cycle(BleAdapter *a) {
        int r;

        if (!a)
                return -EINVAL;
        if (a->cycle_path)
                return -EALREADY;
        if (!a->path)
                return -ENODEV;
        a->cycle_path = strdup(a->path);
        if (!a->cycle_path)
                return -ENOMEM;
        a->cycle_on = false;
        r = set_powered(a, false);
        if (r < 0) {
                a->cycle_path = mfree_str(a->cycle_path);
                return r;
        }
        ble_adapter_update(a);   /* not usable while cycling */
        return 0;
}

int ble_adapter_remove_device(BleAdapter *a, const char *device_path, sd_bus_slot **ret_slot,
                              sd_bus_message_handler_t handler, void *userdata) {
        if (!a || !device_path)
                return -EINVAL;
        if (!a->path)
                return -ENODEV;
        return bluez_client_call(a->client, ret_slot, a->path, BLUEZ_ADAPTER_IFACE, "RemoveDevice",
                                 ADAPTER_CALL_TIMEOUT_USEC, handler, userdata, "o", device_path);
}
