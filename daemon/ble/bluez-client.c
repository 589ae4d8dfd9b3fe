/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ble/ble-id.h"
#include "ble/bluez-client.h"
#include "shared/macro.h"

struct BluezClient {
        sd_bus *bus;
        BluezClientCallbacks cb;
        void *userdata;

        sd_bus_slot *match_owner;
        sd_bus_slot *match_added;
        sd_bus_slot *match_removed;
        sd_bus_slot *match_changed;
        sd_bus_slot *owner_call;
        sd_bus_slot *enumerate_call;

        char *owner;            /* unique name of org.bluez, NULL while absent */
        bool up;                /* tree enumerated */

        BluezAdapter **adapters;
        size_t n_adapters;
        BluezDevice **devices;
        size_t n_devices;
        BluezCharacteristic **chars;
        size_t n_chars;
};

#define ENUMERATE_TIMEOUT_USEC (10U * 1000U * 1000U)

static bool strv_contains_n(char **v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

static void lowercase(char *s) {
        for (; s && *s; s++)
                *s = (char) tolower((unsigned char) *s);
}

int bluez_address_normalize(const char *in, char out[static 18]) {
        return ble_address_normalize(in, out);
}

/* --- object lifetimes --- */

static BluezAdapter *adapter_free(BluezAdapter *a) {
        if (!a)
                return NULL;
        free(a->path);
        free(a);
        return NULL;
}

static void adv_data_clear(BluezAdvData **v, size_t *n) {
        for (size_t i = 0; i < *n; i++) {
                free((*v)[i].uuid);
                free((*v)[i].data);
        }
        free(*v);
        *v = NULL;
        *n = 0;
}

static void strv_clear_n(char ***v, size_t *n) {
        for (size_t i = 0; i < *n; i++)
                free((*v)[i]);
        free(*v);
        *v = NULL;
        *n = 0;
}

static BluezDevice *device_free(BluezDevice *d) {
        if (!d)
                return NULL;
        free(d->path);
        free(d->adapter);
        free(d->address);
        free(d->name);
        strv_clear_n(&d->uuids, &d->n_uuids);
        adv_data_clear(&d->mfr, &d->n_mfr);
        adv_data_clear(&d->svc, &d->n_svc);
        free(d);
        return NULL;
}

static BluezCharacteristic *char_free(BluezCharacteristic *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->device);
        free(c->uuid);
        free(c);
        return NULL;
}

static size_t n_objects(const BluezClient *c) {
        return c->n_adapters + c->n_devices + c->n_chars;
}

static int ptr_array_push(void ***array, size_t *n, void *p) {
        void **grown = realloc(*array, (*n + 1) * sizeof(void *));
        if (!grown)
                return -ENOMEM;
        grown[(*n)++] = p;
        *array = grown;
        return 0;
}

static void ptr_array_remove(void **array, size_t *n, size_t i) {
        memmove(array + i, array + i + 1, (*n - i - 1) * sizeof(void *));
        (*n)--;
}

static ssize_t find_adapter(const BluezClient *c, const char *path) {
        for (size_t i = 0; i < c->n_adapters; i++)
                if (strcmp(c->adapters[i]->path, path) == 0)
                        return (ssize_t) i;
        return -1;
}

static ssize_t find_device(const BluezClient *c, const char *path) {
        for (size_t i = 0; i < c->n_devices; i++)
                if (strcmp(c->devices[i]->path, path) == 0)
                        return (ssize_t) i;
        return -1;
}

static ssize_t find_char(const BluezClient *c, const char *path) {
        for (size_t i = 0; i < c->n_chars; i++)
                if (strcmp(c->chars[i]->path, path) == 0)
                        return (ssize_t) i;
        return -1;
}

static void drop_all(BluezClient *c) {
        for (size_t i = 0; i < c->n_chars; i++)
                char_free(c->chars[i]);
        for (size_t i = 0; i < c->n_devices; i++)
                device_free(c->devices[i]);
        for (size_t i = 0; i < c->n_adapters; i++)
                adapter_free(c->adapters[i]);
        free(c->chars);
        free(c->devices);
        free(c->adapters);
        c->chars = NULL;
        c->devices = NULL;
        c->adapters = NULL;
        c->n_chars = c->n_devices = c->n_adapters = 0;
}

/* --- property parsing --- */

static int read_string_variant(sd_bus_message *m, const char *type, char **ret) {
        const char *s;
        int r = sd_bus_message_read(m, "v", type, &s);
        if (r < 0)
                return r;
        char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        free(*ret);
        *ret = copy;
        return 0;
}

static int read_bool_variant(sd_bus_message *m, bool *ret) {
        int b;
        int r = sd_bus_message_read(m, "v", "b", &b);
        if (r < 0)
                return r;
        *ret = b;
        return 0;
}

static int read_strv_variant(sd_bus_message *m, char ***ret, size_t *ret_n) {
        char **v = NULL;
        size_t n = 0;
        const char *s;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "as");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "s", &s)) > 0) {
                char *copy = strdup(s);
                if (!copy || ptr_array_push((void ***) &v, &n, copy) < 0) {
                        free(copy);
                        strv_clear_n(&v, &n);
                        return -ENOMEM;
                }
                lowercase(copy);
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0 || (r = sd_bus_message_exit_container(m)) < 0) {
                strv_clear_n(&v, &n);
                return r;
        }
        strv_clear_n(ret, ret_n);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ManufacturerData a{qv} / ServiceData a{sv}, each v holding ay. */
static int read_adv_variant(sd_bus_message *m, bool by_company, BluezAdvData **ret, size_t *ret_n) {
        BluezAdvData *v = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'v', by_company ? "a{qv}" : "a{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', by_company ? "{qv}" : "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                BluezAdvData e = {};
                const void *bytes;
                size_t len;

                r = sd_bus_message_enter_container(m, 'e', by_company ? "qv" : "sv");
                if (r <= 0)
                        break;
                if (by_company)
                        r = sd_bus_message_read(m, "q", &e.company);
                else {
                        const char *uuid;
                        r = sd_bus_message_read(m, "s", &uuid);
                        if (r >= 0) {
                                e.uuid = strdup(uuid);
                                if (!e.uuid)
                                        r = -ENOMEM;
                                lowercase(e.uuid);
                        }
                }
                if (r >= 0)
                        r = sd_bus_message_enter_container(m, 'v', "ay");
                if (r >= 0)
                        r = sd_bus_message_read_array(m, 'y', &bytes, &len);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r >= 0) {
                        e.data = malloc(MAX(len, 1U));
                        if (!e.data)
                                r = -ENOMEM;
                        else if (len > 0)
                                memcpy(e.data, bytes, len);
                        e.len = len;
                }
                if (r >= 0) {
                        BluezAdvData *grown = realloc(v, (n + 1) * sizeof(*v));
                        if (!grown)
                                r = -ENOMEM;
                        else {
                                v = grown;
                                v[n++] = e;
                        }
                }
                if (r < 0) {
                        free(e.uuid);
                        free(e.data);
                        break;
                }
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0 || (r = sd_bus_message_exit_container(m)) < 0) {
                adv_data_clear(&v, &n);
                return r;
        }
        adv_data_clear(ret, ret_n);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Reads one a{sv} into the object; *changed gets the Device1 change bits. Unknown
 * properties are skipped. For GattCharacteristic1 a Value is returned through ret_value. */
static int parse_adapter_props(BluezAdapter *a, sd_bus_message *m) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (strcmp(name, "Powered") == 0)
                        r = read_bool_variant(m, &a->powered);
                else if (strcmp(name, "Discovering") == 0)
                        r = read_bool_variant(m, &a->discovering);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int parse_device_props(BluezDevice *d, sd_bus_message *m, unsigned *changed) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (strcmp(name, "Address") == 0) {
                        r = read_string_variant(m, "s", &d->address);
                        if (r >= 0) {
                                char norm[18];
                                if (bluez_address_normalize(d->address, norm) >= 0)
                                        strcpy(d->address, norm);
                        }
                } else if (strcmp(name, "Adapter") == 0)
                        r = read_string_variant(m, "o", &d->adapter);
                else if (strcmp(name, "Name") == 0) {
                        r = read_string_variant(m, "s", &d->name);
                        *changed |= BLUEZ_DEVICE_NAME;
                } else if (strcmp(name, "Connected") == 0) {
                        r = read_bool_variant(m, &d->connected);
                        *changed |= BLUEZ_DEVICE_CONNECTED;
                } else if (strcmp(name, "ServicesResolved") == 0) {
                        r = read_bool_variant(m, &d->services_resolved);
                        *changed |= BLUEZ_DEVICE_RESOLVED;
                } else if (strcmp(name, "RSSI") == 0) {
                        int16_t rssi;
                        r = sd_bus_message_read(m, "v", "n", &rssi);
                        if (r >= 0) {
                                d->rssi = rssi;
                                d->has_rssi = true;
                                *changed |= BLUEZ_DEVICE_RSSI;
                        }
                } else if (strcmp(name, "UUIDs") == 0) {
                        r = read_strv_variant(m, &d->uuids, &d->n_uuids);
                        *changed |= BLUEZ_DEVICE_UUIDS;
                } else if (strcmp(name, "ManufacturerData") == 0) {
                        r = read_adv_variant(m, true, &d->mfr, &d->n_mfr);
                        *changed |= BLUEZ_DEVICE_MFR;
                } else if (strcmp(name, "ServiceData") == 0) {
                        r = read_adv_variant(m, false, &d->svc, &d->n_svc);
                        *changed |= BLUEZ_DEVICE_SVC;
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int parse_char_props(BluezCharacteristic *c, sd_bus_message *m, const void **ret_value, size_t *ret_len) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (strcmp(name, "UUID") == 0) {
                        r = read_string_variant(m, "s", &c->uuid);
                        lowercase(c->uuid);
                } else if (strcmp(name, "Service") == 0) {
                        r = read_string_variant(m, "o", &c->device);
                        if (r >= 0) {
                                /* the device is the service's parent object */
                                char *slash = strrchr(c->device, '/');
                                if (slash && slash != c->device)
                                        *slash = '\0';
                        }
                } else if (strcmp(name, "Notifying") == 0)
                        r = read_bool_variant(m, &c->notifying);
                else if (strcmp(name, "Flags") == 0) {
                        char **flags = NULL;
                        size_t n = 0;
                        r = read_strv_variant(m, &flags, &n);
                        if (r >= 0) {
                                c->has_notify_flag = strv_contains_n(flags, n, "notify");
                                c->can_notify = c->has_notify_flag || strv_contains_n(flags, n, "indicate");
                                c->can_write = strv_contains_n(flags, n, "write") ||
                                               strv_contains_n(flags, n, "write-without-response");
                                c->can_read = strv_contains_n(flags, n, "read");
                                strv_clear_n(&flags, &n);
                        }
                } else if (strcmp(name, "Value") == 0 && ret_value) {
                        r = sd_bus_message_enter_container(m, 'v', "ay");
                        if (r >= 0)
                                r = sd_bus_message_read_array(m, 'y', ret_value, ret_len);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* --- interfaces added / removed --- */

static int add_adapter(BluezClient *c, const char *path, sd_bus_message *m) {
        ssize_t i = find_adapter(c, path);
        BluezAdapter *a;
        int r;

        if (i >= 0)
                a = c->adapters[i];
        else {
                if (n_objects(c) >= BLUEZ_CLIENT_MAX_OBJECTS)
                        return sd_bus_message_skip(m, "a{sv}");
                a = calloc(1, sizeof(*a));
                if (!a)
                        return -ENOMEM;
                a->path = strdup(path);
                if (!a->path || ptr_array_push((void ***) &c->adapters, &c->n_adapters, a) < 0) {
                        adapter_free(a);
                        return -ENOMEM;
                }
                const char *slash = strrchr(a->path, '/');
                a->name = slash ? slash + 1 : a->path;
        }
        r = parse_adapter_props(a, m);
        if (r < 0)
                return r;
        if (c->up && c->cb.adapter)
                c->cb.adapter(a, false, c->userdata);
        return 0;
}

static int add_device(BluezClient *c, const char *path, sd_bus_message *m) {
        ssize_t i = find_device(c, path);
        unsigned changed = 0;
        BluezDevice *d;
        int r;

        if (i >= 0)
                d = c->devices[i];
        else {
                if (n_objects(c) >= BLUEZ_CLIENT_MAX_OBJECTS)
                        return sd_bus_message_skip(m, "a{sv}");
                d = calloc(1, sizeof(*d));
                if (!d)
                        return -ENOMEM;
                d->path = strdup(path);
                if (!d->path || ptr_array_push((void ***) &c->devices, &c->n_devices, d) < 0) {
                        device_free(d);
                        return -ENOMEM;
                }
                changed |= BLUEZ_DEVICE_NEW;
        }
        r = parse_device_props(d, m, &changed);
        if (r < 0 || !d->address) {
                /* unusable without an address: forget it rather than keep half an object (an
                 * object known before keeps its last good address) */
                if (changed & BLUEZ_DEVICE_NEW) {
                        ptr_array_remove((void **) c->devices, &c->n_devices, (size_t) find_device(c, path));
                        device_free(d);
                }
                return r < 0 ? r : 0;
        }
        if (c->up && c->cb.device)
                c->cb.device(d, changed, false, c->userdata);
        return 0;
}

static int add_char(BluezClient *c, const char *path, sd_bus_message *m) {
        ssize_t i = find_char(c, path);
        BluezCharacteristic *ch;
        int r;

        bool is_new = i < 0;

        if (i >= 0)
                ch = c->chars[i];
        else {
                if (n_objects(c) >= BLUEZ_CLIENT_MAX_OBJECTS)
                        return sd_bus_message_skip(m, "a{sv}");
                ch = calloc(1, sizeof(*ch));
                if (!ch)
                        return -ENOMEM;
                ch->path = strdup(path);
                if (!ch->path || ptr_array_push((void ***) &c->chars, &c->n_chars, ch) < 0) {
                        char_free(ch);
                        return -ENOMEM;
                }
        }
        r = parse_char_props(ch, m, NULL, NULL);
        if (r < 0 || !ch->uuid || !ch->device) {
                if (is_new) {
                        ptr_array_remove((void **) c->chars, &c->n_chars, (size_t) find_char(c, path));
                        char_free(ch);
                }
                return r < 0 ? r : 0;
        }
        if (c->up && c->cb.characteristic)
                c->cb.characteristic(ch, false, c->userdata);
        return 0;
}

/* Reads "a{sa{sv}}" for one object path. */
static int add_interfaces(BluezClient *c, const char *path, sd_bus_message *m) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
                const char *iface;
                r = sd_bus_message_read(m, "s", &iface);
                if (r < 0)
                        return r;
                if (strcmp(iface, BLUEZ_ADAPTER_IFACE) == 0)
                        r = add_adapter(c, path, m);
                else if (strcmp(iface, BLUEZ_DEVICE_IFACE) == 0)
                        r = add_device(c, path, m);
                else if (strcmp(iface, BLUEZ_CHAR_IFACE) == 0)
                        r = add_char(c, path, m);
                else
                        r = sd_bus_message_skip(m, "a{sv}");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static void remove_interface(BluezClient *c, const char *path, const char *iface) {
        ssize_t i;

        if (strcmp(iface, BLUEZ_ADAPTER_IFACE) == 0 && (i = find_adapter(c, path)) >= 0) {
                BluezAdapter *a = c->adapters[i];
                ptr_array_remove((void **) c->adapters, &c->n_adapters, (size_t) i);
                if (c->up && c->cb.adapter)
                        c->cb.adapter(a, true, c->userdata);
                adapter_free(a);
        } else if (strcmp(iface, BLUEZ_DEVICE_IFACE) == 0 && (i = find_device(c, path)) >= 0) {
                BluezDevice *d = c->devices[i];
                ptr_array_remove((void **) c->devices, &c->n_devices, (size_t) i);
                if (c->up && c->cb.device)
                        c->cb.device(d, 0, true, c->userdata);
                device_free(d);
        } else if (strcmp(iface, BLUEZ_CHAR_IFACE) == 0 && (i = find_char(c, path)) >= 0) {
                BluezCharacteristic *ch = c->chars[i];
                ptr_array_remove((void **) c->chars, &c->n_chars, (size_t) i);
                if (c->up && c->cb.characteristic)
                        c->cb.characteristic(ch, true, c->userdata);
                char_free(ch);
        }
}

/* --- signal handlers --- */

static bool from_owner(BluezClient *c, sd_bus_message *m) {
        const char *sender = sd_bus_message_get_sender(m);
        return c->owner && sender && strcmp(sender, c->owner) == 0;
}

static int on_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BluezClient *c = userdata;
        const char *path;

        if (!c->up || !from_owner(c, m))
                return 0;
        if (sd_bus_message_read(m, "o", &path) < 0)
                return 0;
        (void) add_interfaces(c, path, m);
        return 0;
}

static int on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BluezClient *c = userdata;
        const char *path, *iface;
        int r;

        if (!c->up || !from_owner(c, m))
                return 0;
        if (sd_bus_message_read(m, "o", &path) < 0)
                return 0;
        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return 0;
        while (sd_bus_message_read(m, "s", &iface) > 0)
                remove_interface(c, path, iface);
        return 0;
}

static void invalidate_device(BluezDevice *d, const char *name, unsigned *changed) {
        if (strcmp(name, "RSSI") == 0) {
                d->has_rssi = false;
                *changed |= BLUEZ_DEVICE_RSSI;
        } else if (strcmp(name, "ManufacturerData") == 0) {
                adv_data_clear(&d->mfr, &d->n_mfr);
                *changed |= BLUEZ_DEVICE_MFR;
        } else if (strcmp(name, "ServiceData") == 0) {
                adv_data_clear(&d->svc, &d->n_svc);
                *changed |= BLUEZ_DEVICE_SVC;
        }
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BluezClient *c = userdata;
        const char *path = sd_bus_message_get_path(m), *iface, *name;
        ssize_t i;
        int r;

        if (!c->up || !path || !from_owner(c, m))
                return 0;
        if (sd_bus_message_read(m, "s", &iface) < 0)
                return 0;

        if (strcmp(iface, BLUEZ_ADAPTER_IFACE) == 0 && (i = find_adapter(c, path)) >= 0) {
                BluezAdapter *a = c->adapters[i];
                if (parse_adapter_props(a, m) < 0)
                        return 0;
                if (c->cb.adapter)
                        c->cb.adapter(a, false, c->userdata);
        } else if (strcmp(iface, BLUEZ_DEVICE_IFACE) == 0 && (i = find_device(c, path)) >= 0) {
                BluezDevice *d = c->devices[i];
                unsigned changed = 0;
                if (parse_device_props(d, m, &changed) < 0)
                        return 0;
                r = sd_bus_message_enter_container(m, 'a', "s");
                if (r > 0)
                        while (sd_bus_message_read(m, "s", &name) > 0)
                                invalidate_device(d, name, &changed);
                if (changed && c->cb.device)
                        c->cb.device(d, changed, false, c->userdata);
        } else if (strcmp(iface, BLUEZ_CHAR_IFACE) == 0 && (i = find_char(c, path)) >= 0) {
                BluezCharacteristic *ch = c->chars[i];
                const void *value = NULL;
                size_t len = 0;
                bool was_notifying = ch->notifying;
                if (parse_char_props(ch, m, &value, &len) < 0)
                        return 0;
                if (value && c->cb.notification)
                        c->cb.notification(ch, value, len, c->userdata);
                if (was_notifying != ch->notifying && c->cb.characteristic)
                        c->cb.characteristic(ch, false, c->userdata);
        }
        return 0;
}

static void service_down(BluezClient *c) {
        bool was_up = c->up;

        c->enumerate_call = sd_bus_slot_unref(c->enumerate_call);
        c->up = false;
        drop_all(c);
        if (was_up && c->cb.service)
                c->cb.service(false, c->userdata);
}

static int on_managed_objects(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BluezClient *c = userdata;
        int r;

        c->enumerate_call = sd_bus_slot_unref(c->enumerate_call);
        if (sd_bus_message_is_method_error(reply, NULL))
                return 0;   /* the owner left meanwhile, or is broken: NameOwnerChanged drives the rest */

        drop_all(c);
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return 0;
        while (sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}") > 0) {
                const char *path;
                if (sd_bus_message_read(reply, "o", &path) < 0 || add_interfaces(c, path, reply) < 0 ||
                    sd_bus_message_exit_container(reply) < 0) {
                        drop_all(c);
                        return 0;
                }
        }
        c->up = true;
        if (c->cb.service)
                c->cb.service(true, c->userdata);
        return 0;
}

static int enumerate(BluezClient *c) {
        c->enumerate_call = sd_bus_slot_unref(c->enumerate_call);
        return bluez_client_call(c, &c->enumerate_call, "/", "org.freedesktop.DBus.ObjectManager",
                                 "GetManagedObjects", ENUMERATE_TIMEOUT_USEC, on_managed_objects, c, NULL);
}

static int set_owner(BluezClient *c, const char *owner) {
        if (c->owner && owner && strcmp(c->owner, owner) == 0)
                return 0;
        if (c->owner) {
                free(c->owner);
                c->owner = NULL;
                service_down(c);
        }
        if (owner && *owner) {
                c->owner = strdup(owner);
                if (!c->owner)
                        return -ENOMEM;
                return enumerate(c);
        }
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BluezClient *c = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (strcmp(name, BLUEZ_SERVICE) != 0)
                return 0;
        /* a late GetNameOwner reply must not undo what this signal says */
        c->owner_call = sd_bus_slot_unref(c->owner_call);
        (void) set_owner(c, new_owner);
        return 0;
}

static int on_get_name_owner(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BluezClient *c = userdata;
        const char *owner;

        c->owner_call = sd_bus_slot_unref(c->owner_call);
        if (sd_bus_message_is_method_error(reply, NULL))
                return 0;   /* NameHasNoOwner: wait for NameOwnerChanged */
        if (sd_bus_message_read(reply, "s", &owner) < 0)
                return 0;
        (void) set_owner(c, owner);
        return 0;
}

/* --- public --- */

int bluez_client_new(BluezClient **ret, sd_bus *bus, const BluezClientCallbacks *cb, void *userdata) {
        BluezClient *c;

        if (!ret || !bus || !cb)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->bus = sd_bus_ref(bus);
        c->cb = *cb;
        c->userdata = userdata;
        *ret = c;
        return 0;
}

BluezClient *bluez_client_free(BluezClient *c) {
        if (!c)
                return NULL;
        sd_bus_slot_unref(c->match_owner);
        sd_bus_slot_unref(c->match_added);
        sd_bus_slot_unref(c->match_removed);
        sd_bus_slot_unref(c->match_changed);
        sd_bus_slot_unref(c->owner_call);
        sd_bus_slot_unref(c->enumerate_call);
        drop_all(c);
        free(c->owner);
        sd_bus_unref(c->bus);
        free(c);
        return NULL;
}

int bluez_client_start(BluezClient *c) {
        int r;

        if (!c)
                return -EINVAL;
        if (c->match_owner)
                return -EALREADY;

        /* Matches first: the daemon handles our messages in order, so no signal sent after
         * the enumeration below can be missed. */
        r = sd_bus_add_match_async(c->bus, &c->match_owner,
                                   "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                   "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" BLUEZ_SERVICE "'",
                                   on_name_owner_changed, NULL, c);
        if (r < 0)
                return r;
        r = sd_bus_add_match_async(c->bus, &c->match_added,
                                   "type='signal',sender='" BLUEZ_SERVICE "',path='/',"
                                   "interface='org.freedesktop.DBus.ObjectManager',member='InterfacesAdded'",
                                   on_interfaces_added, NULL, c);
        if (r < 0)
                return r;
        r = sd_bus_add_match_async(c->bus, &c->match_removed,
                                   "type='signal',sender='" BLUEZ_SERVICE "',path='/',"
                                   "interface='org.freedesktop.DBus.ObjectManager',member='InterfacesRemoved'",
                                   on_interfaces_removed, NULL, c);
        if (r < 0)
                return r;
        r = sd_bus_add_match_async(c->bus, &c->match_changed,
                                   "type='signal',sender='" BLUEZ_SERVICE "',path_namespace='/org/bluez',"
                                   "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'",
                                   on_properties_changed, NULL, c);
        if (r < 0)
                return r;
        sd_bus_message *m = NULL;
        r = sd_bus_message_new_method_call(c->bus, &m, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "GetNameOwner");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", BLUEZ_SERVICE);
        if (r >= 0)
                r = sd_bus_call_async(c->bus, &c->owner_call, m, on_get_name_owner, c, ENUMERATE_TIMEOUT_USEC);
        sd_bus_message_unref(m);
        return r;
}

bool bluez_client_is_up(const BluezClient *c) {
        return c && c->up;
}

sd_bus *bluez_client_get_bus(const BluezClient *c) {
        return c ? c->bus : NULL;
}

const BluezAdapter *bluez_client_get_adapter(const BluezClient *c, const char *path) {
        ssize_t i = path ? find_adapter(c, path) : -1;
        return i >= 0 ? c->adapters[i] : NULL;
}

const BluezAdapter *bluez_client_adapter_at(const BluezClient *c, size_t i) {
        return i < c->n_adapters ? c->adapters[i] : NULL;
}

const BluezDevice *bluez_client_get_device(const BluezClient *c, const char *path) {
        ssize_t i = path ? find_device(c, path) : -1;
        return i >= 0 ? c->devices[i] : NULL;
}

const BluezDevice *bluez_client_device_at(const BluezClient *c, size_t i) {
        return i < c->n_devices ? c->devices[i] : NULL;
}

const BluezDevice *bluez_client_find_device(const BluezClient *c, const char *adapter_path, const char *address) {
        for (size_t i = 0; i < c->n_devices; i++) {
                const BluezDevice *d = c->devices[i];
                if (strcasecmp(d->address, address) == 0 &&
                    (!adapter_path || (d->adapter && strcmp(d->adapter, adapter_path) == 0)))
                        return d;
        }
        return NULL;
}

const BluezCharacteristic *bluez_client_find_characteristic(const BluezClient *c, const char *device_path,
                                                            const char *uuid) {
        for (size_t i = 0; i < c->n_chars; i++) {
                const BluezCharacteristic *ch = c->chars[i];
                if (strcmp(ch->device, device_path) == 0 && strcasecmp(ch->uuid, uuid) == 0)
                        return ch;
        }
        return NULL;
}

const BluezAdvData *bluez_device_get_mfr(const BluezDevice *d, uint16_t company) {
        for (size_t i = 0; i < d->n_mfr; i++)
                if (d->mfr[i].company == company)
                        return &d->mfr[i];
        return NULL;
}

const BluezAdvData *bluez_device_get_svc(const BluezDevice *d, const char *uuid) {
        for (size_t i = 0; i < d->n_svc; i++)
                if (strcasecmp(d->svc[i].uuid, uuid) == 0)
                        return &d->svc[i];
        return NULL;
}

int bluez_client_call(BluezClient *c, sd_bus_slot **ret_slot, const char *path, const char *interface,
                      const char *member, uint64_t timeout_usec, sd_bus_message_handler_t handler,
                      void *userdata, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        if (!c || !path || !interface || !member)
                return -EINVAL;
        r = sd_bus_message_new_method_call(c->bus, &m, BLUEZ_SERVICE, path, interface, member);
        if (r < 0)
                return r;
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }
        return sd_bus_call_async(c->bus, ret_slot, m, handler, userdata, timeout_usec);
}

int bluez_client_new_call(BluezClient *c, sd_bus_message **ret, const char *path, const char *interface,
                          const char *member) {
        if (!c || !ret)
                return -EINVAL;
        return sd_bus_message_new_method_call(c->bus, ret, BLUEZ_SERVICE, path, interface, member);
}

int bluez_client_send(BluezClient *c, sd_bus_slot **ret_slot, sd_bus_message *m, uint64_t timeout_usec,
                      sd_bus_message_handler_t handler, void *userdata) {
        if (!c || !m)
                return -EINVAL;
        return sd_bus_call_async(c->bus, ret_slot, m, handler, userdata, timeout_usec);
}
