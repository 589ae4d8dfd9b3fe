/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqtt/mqtt-credentials.h"
#include "shared/macro.h"

#define CREDENTIALS_MAX 4096

static int why(char **ret_why, int r, const char *fmt, ...) _printf_(3, 4);
static int why(char **ret_why, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(ret_why, fmt, ap) < 0)
                *ret_why = NULL;
        va_end(ap);
        return r;
}

/* The buffer holds the password: wiped however the function returns. */
static void buf_wipe(char (*buf)[CREDENTIALS_MAX + 1]) {
        explicit_bzero(*buf, sizeof(*buf));
}

int mqtt_credentials_read(const char *path, MqttCredentials *ret, char **ret_why) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_(buf_wipe) char buf[CREDENTIALS_MAX + 1];
        struct stat st;
        size_t len = 0;
        char *nl, *pw, *end;
        int r;

        assert(path && ret && ret_why);
        *ret = (MqttCredentials) {};
        *ret_why = NULL;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = negative_errno();
                return why(ret_why, r, "Cannot open MQTT credentials file %s: %s", path, strerror(-r));
        }
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                return why(ret_why, r, "Cannot stat MQTT credentials file %s: %s", path, strerror(-r));
        }
        if (!S_ISREG(st.st_mode))
                return why(ret_why, -EINVAL, "MQTT credentials file %s is not a regular file", path);
        if (st.st_mode & 0007)
                return why(ret_why, -EPERM,
                           "Refusing MQTT credentials file %s: it is accessible by other users (mode %04o); "
                           "chmod o-rwx it", path, (unsigned) (st.st_mode & 07777));
        while (len < CREDENTIALS_MAX) {
                ssize_t n = read(fd, buf + len, CREDENTIALS_MAX - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        return why(ret_why, r, "Cannot read MQTT credentials file %s: %s", path, strerror(-r));
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len == CREDENTIALS_MAX) {
                char extra;

                if (read(fd, &extra, 1) > 0)
                        return why(ret_why, -EFBIG, "MQTT credentials file %s is larger than %d bytes", path,
                                   CREDENTIALS_MAX);
        }
        buf[len] = 0;

        nl = strchr(buf, '\n');
        if (!nl || nl == buf)
                return why(ret_why, -EINVAL, "MQTT credentials file %s must hold \"user\\npassword\\n\"", path);
        *nl = 0;
        if (nl[-1] == '\r')
                nl[-1] = 0;
        pw = nl + 1;
        end = pw + strcspn(pw, "\r\n");
        *end = 0;

        ret->user = strdup(buf);
        ret->password = strdup(pw);
        if (!ret->user || !ret->password) {
                mqtt_credentials_done(ret);
                return -ENOMEM;
        }
        return 0;
}

void mqtt_credentials_done(MqttCredentials *c) {
        if (c->password)
                explicit_bzero(c->password, strlen(c->password));
        free(c->password);
        free(c->user);
        *c = (MqttCredentials) {};
}
