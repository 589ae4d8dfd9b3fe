/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "mqtt/mqtt-uri.h"
#include "shared/macro.h"

bool mqtt_uri_valid(const char *uri, bool *ret_tls) {
        static const struct {
                const char *scheme;
                bool tls;
        } schemes[] = {
                { "tcp://", false }, { "mqtt://", false }, { "ws://", false },
                { "ssl://", true },  { "mqtts://", true }, { "wss://", true },
        };

        if (!uri)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(schemes); i++) {
                size_t l = strlen(schemes[i].scheme);
                const char *host = uri + l;

                if (strncmp(uri, schemes[i].scheme, l) != 0)
                        continue;
                if (!*host || *host == ':' || *host == '/' || strpbrk(host, " \t\r\n"))
                        return false;
                if (ret_tls)
                        *ret_tls = schemes[i].tls;
                return true;
        }
        return false;
}

bool mqtt_client_id_valid(const char *id) {
        size_t n = id ? strlen(id) : 0;

        return n >= 1 && n <= MQTT_CLIENT_ID_MAX && !strpbrk(id, " \t\r\n/+#");
}
