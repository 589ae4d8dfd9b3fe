/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/macro.h"
#include "shared/session-id.h"
#include "store/archive.h"
#include "store/atomic-file.h"
#include "store/outbox.h"

#define TMP_PREFIX ".tmp-"

struct Archive {
        int dir_fd;
        size_t max_items;
        int64_t max_age_ms;
        ArchiveEntry *entries;   /* ordered by (at_ms, id) */
        size_t n, cap;
};

static int entry_cmp(const void *x, const void *y) {
        const ArchiveEntry *a = x, *b = y;

        if (a->at_ms != b->at_ms)
                return a->at_ms < b->at_ms ? -1 : 1;
        return strcmp(a->id, b->id);
}

static void entry_name(char *buf, size_t size, const ArchiveEntry *e) {
        snprintf(buf, size, "%013lld-%s.json", (long long) e->at_ms, e->id);
}

/* "<13 digits>-<32 hex>.json" */
static int parse_name(const char *name, ArchiveEntry *ret) {
        char *end;
        long long at;

        if (strlen(name) != 13 + 1 + 32 + 5 || strspn(name, "0123456789") != 13 || name[13] != '-' ||
            strcmp(name + 46, ".json") != 0)
                return -EINVAL;
        at = strtoll(name, &end, 10);
        if (end != name + 13)
                return -EINVAL;
        memcpy(ret->id, name + 14, 32);
        ret->id[32] = 0;
        if (!session_id_valid(ret->id))
                return -EINVAL;
        ret->at_ms = at;
        return 0;
}

static int push_entry(Archive *a, const ArchiveEntry *e) {
        if (a->n == a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 64;
                ArchiveEntry *n = realloc(a->entries, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                a->entries = n;
                a->cap = cap;
        }
        a->entries[a->n++] = *e;
        return 0;
}

static void drop_at(Archive *a, size_t i) {
        memmove(&a->entries[i], &a->entries[i + 1], (a->n - i - 1) * sizeof(ArchiveEntry));
        a->n--;
}

static void remove_at(Archive *a, size_t i) {
        char name[64];

        entry_name(name, sizeof name, &a->entries[i]);
        (void) unlinkat(a->dir_fd, name, 0);
        drop_at(a, i);
}

static ssize_t find_id(const Archive *a, const char *id) {
        for (size_t i = 0; i < a->n; i++)
                if (!strcmp(a->entries[i].id, id))
                        return (ssize_t) i;
        return -1;
}

static int load(Archive *a) {
        int fd = openat(a->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return negative_errno();
        }
        while ((de = readdir(d))) {
                ArchiveEntry e;
                if (!strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX))) {
                        /* incomplete by definition: a crash before its rename */
                        (void) unlinkat(a->dir_fd, de->d_name, 0);
                        continue;
                }
                if (parse_name(de->d_name, &e) < 0)
                        continue;
                r = push_entry(a, &e);
                if (r < 0)
                        break;
        }
        closedir(d);
        if (a->n)
                qsort(a->entries, a->n, sizeof(ArchiveEntry), entry_cmp);
        return r;
}

int archive_open(Archive **ret, const char *dir, size_t max_items, unsigned max_age_days) {
        Archive *a;
        int r;

        if (!ret || !dir)
                return -EINVAL;
        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                return negative_errno();
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->max_items = max_items ? max_items : ARCHIVE_DEFAULT_MAX;
        a->max_age_ms = (int64_t) max_age_days * 86400 * 1000;
        a->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (a->dir_fd < 0) {
                r = negative_errno();
                free(a);
                return r;
        }
        r = load(a);
        if (r < 0) {
                archive_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

Archive *archive_free(Archive *a) {
        if (!a)
                return NULL;
        if (a->dir_fd >= 0)
                close(a->dir_fd);
        free(a->entries);
        free(a);
        return NULL;
}

void archive_prune(Archive *a, int64_t now_ms) {
        while (a->n > a->max_items)
                remove_at(a, 0);
        if (a->max_age_ms > 0)
                while (a->n > 0 && a->entries[0].at_ms < now_ms - a->max_age_ms)
                        remove_at(a, 0);
}

int archive_add(Archive *a, int64_t now_ms, const char *id, const char *topic, const char *json) {
        _cleanup_free_ char *data = NULL;
        ArchiveEntry e = { .at_ms = now_ms };
        char name[64];
        ssize_t old;
        int r, len;

        if (!a || !session_id_valid(id) || !topic || strchr(topic, '\n') || !json || now_ms < 0 || now_ms > 9999999999999LL)
                return -EINVAL;
        len = asprintf(&data, "%s\n%s", topic, json);
        if (len < 0)
                return -ENOMEM;
        if ((size_t) len > OUTBOX_DOC_MAX + 4096)
                return -EFBIG;
        memcpy(e.id, id, 33);
        /* Keep the time order even if the clock stepped back: never before the newest entry. */
        if (a->n > 0 && e.at_ms < a->entries[a->n - 1].at_ms)
                e.at_ms = a->entries[a->n - 1].at_ms;
        entry_name(name, sizeof name, &e);
        r = atomic_file_write_at(a->dir_fd, name, TMP_PREFIX, data, (size_t) len, 0640);
        if (r < 0)
                return r;
        old = find_id(a, id);
        if (old >= 0) {
                /* The older copy goes; unless it had this very name, which the write replaced. */
                if (entry_cmp(&a->entries[old], &e) != 0)
                        remove_at(a, (size_t) old);
                else
                        drop_at(a, (size_t) old);
        }
        r = push_entry(a, &e);
        if (r < 0)
                return r;
        /* e.at_ms is not below any entry, and ties are ordered by id: keep the order exact. */
        if (a->n > 1 && entry_cmp(&a->entries[a->n - 2], &a->entries[a->n - 1]) > 0)
                qsort(a->entries, a->n, sizeof(ArchiveEntry), entry_cmp);
        archive_prune(a, now_ms);
        return 0;
}

int archive_since(Archive *a, int64_t since_ms, const char *after_id, ArchiveEntry *ret, size_t limit,
                  int *ret_more) {
        ArchiveEntry key = { .at_ms = since_ms };
        size_t n = 0, i;

        if (!a || (!ret && limit))
                return -EINVAL;
        /* Without a cursor ("" sorts before every id), "since" includes its own millisecond. */
        snprintf(key.id, sizeof key.id, "%s", after_id ? after_id : "");
        for (i = 0; i < a->n; i++)
                if (entry_cmp(&a->entries[i], &key) > 0)
                        break;
        for (; i < a->n && n < limit; i++)
                ret[n++] = a->entries[i];
        if (ret_more)
                *ret_more = i < a->n;
        return (int) n;
}

int archive_read(Archive *a, const char *id, char **ret_topic, char **ret_json) {
        _cleanup_free_ char *data = NULL;
        char name[64], *nl;
        ssize_t i;
        size_t len;
        int r;

        if (!a || !id || !ret_topic || !ret_json)
                return -EINVAL;
        i = find_id(a, id);
        if (i < 0)
                return -ENOENT;
        entry_name(name, sizeof name, &a->entries[i]);
        r = atomic_file_read_at(a->dir_fd, name, OUTBOX_DOC_MAX + 4096, &data, &len);
        if (r < 0)
                return r;
        nl = memchr(data, '\n', len);
        if (!nl)
                return -EBADMSG;
        *ret_topic = strndup(data, (size_t) (nl - data));
        *ret_json = strdup(nl + 1);
        if (!*ret_topic || !*ret_json) {
                free(*ret_topic);
                free(*ret_json);
                return -ENOMEM;
        }
        return 0;
}

size_t archive_count(const Archive *a) {
        return a ? a->n : 0;
}
