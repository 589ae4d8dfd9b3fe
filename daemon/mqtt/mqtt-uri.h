/* SPDX-License-Identifier: MIT */
#pragma once

/* What the MQTT client accepts as a broker address and a client id, checked in one place: the
 * client refuses what these refuse, and the configuration reader reports it with file and
 * line (docs/config.md, mqtt.uri and mqtt.client_id).
 *
 * A broker URI is SCHEME://HOST[:PORT][/PATH] with a non-empty host and no white space;
 * the schemes are Paho's: tcp, mqtt, ws in the clear, ssl, mqtts, wss over TLS. */

#include <stdbool.h>

#define MQTT_CLIENT_ID_MAX 64

/* true for a URI as above; *ret_tls (optional) tells whether its scheme is a TLS one. */
bool mqtt_uri_valid(const char *uri, bool *ret_tls);

/* true for 1 to MQTT_CLIENT_ID_MAX characters without white space, '/', '+' or '#'. */
bool mqtt_client_id_valid(const char *id);
