/* SPDX-License-Identifier: MIT */
#pragma once

/* The MQTT credentials file: "user\npassword\n" (a trailing CR is allowed on each line, the
 * newline after the password is optional), at most 4 KiB, a regular file that "other" may
 * not read or write. */

typedef struct MqttCredentials {
        char *user;
        char *password;
} MqttCredentials;

/* Returns 0, or a negative errno with *ret_why (malloc'd) saying what is wrong for a log
 * line: -EPERM when the file is accessible by "other", -EINVAL when it is not a regular
 * file or not in the format, -EFBIG when it is larger than 4 KiB, the open/read error
 * otherwise. */
int mqtt_credentials_read(const char *path, MqttCredentials *ret, char **ret_why);
/* Wipes the password before freeing it. */
void mqtt_credentials_done(MqttCredentials *c);
