/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "shared/macro.h"
#include "store/atomic-file.h"
#include "store/checkpoint.h"

#define CHECKPOINT_SUFFIX ".checkpoint.json"
#define CHECKPOINT_MAX_SIZE (4 * 1024 * 1024)

static bool station_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > 64)
                return false;
        /* A file name: no '/', and no leading '.' (hidden, "..") */
        if (s[0] == '.')
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && *s != '_' && *s != '-' && *s != '.')
                        return false;
        return true;
}

static int open_dir(const char *dir, bool create) {
        int fd;

        if (create && mkdir(dir, 0750) < 0 && errno != EEXIST)
                return negative_errno();
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return fd;
}

static char *checkpoint_name(const char *station) {
        char *n;

        if (asprintf(&n, "%s" CHECKPOINT_SUFFIX, station) < 0)
                return NULL;
        return n;
}

int checkpoint_write(const char *dir, const char *station, const char *json, size_t len) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *name = NULL;

        if (!dir || !station_valid(station) || (!json && len > 0))
                return -EINVAL;
        name = checkpoint_name(station);
        if (!name)
                return -ENOMEM;
        fd = open_dir(dir, true);
        if (fd < 0)
                return fd;
        return atomic_file_write_at(fd, name, ".tmp-", json, len, 0640);
}

int checkpoint_clear(const char *dir, const char *station) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *name = NULL;

        if (!dir || !station_valid(station))
                return -EINVAL;
        name = checkpoint_name(station);
        if (!name)
                return -ENOMEM;
        fd = open_dir(dir, false);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        if (unlinkat(fd, name, 0) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

int checkpoint_recover(const char *dir, const char *station, char **ret_json) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *name = NULL;
        int r;

        if (!dir || !station_valid(station) || !ret_json)
                return -EINVAL;
        name = checkpoint_name(station);
        if (!name)
                return -ENOMEM;
        fd = open_dir(dir, false);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        r = atomic_file_read_at(fd, name, CHECKPOINT_MAX_SIZE, ret_json, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return 1;
}

int session_json_mark_interrupted(const char *json_in, const char *ended_at_iso, char **ret_json) {
        json_object *o;
        char *s;

        if (!json_in || !ended_at_iso || !ret_json)
                return -EINVAL;

        o = json_tokener_parse(json_in);
        if (!o)
                return -EBADMSG;
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }

        if (json_object_object_add(o, "status", json_object_new_string("interrupted")) < 0 ||
            json_object_object_add(o, "ended_at", json_object_new_string(ended_at_iso)) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }

        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        if (!s)
                return -ENOMEM;
        *ret_json = s;
        return 0;
}
