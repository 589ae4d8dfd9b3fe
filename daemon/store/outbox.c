/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "shared/macro.h"
#include "store/atomic-file.h"
#include "store/outbox.h"

#define OUTBOX_DEFAULT_MAX 1000
#define SEQ_DIGITS 16
#define TMP_PREFIX ".tmp-"

struct Outbox {
        char *dir;
        int dir_fd;
        size_t max_items;
        size_t count;
        uint64_t next_seq;
};

static bool id_valid(const char *id) {
        size_t n = strlen(id);

        if (n == 0 || n > OUTBOX_ID_MAX)
                return false;
        for (const char *p = id; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_.:-", *p))
                        return false;
        return true;
}

int outbox_parse_name(const char *name, uint64_t *ret_seq, char **ret_id) {
        size_t n = strlen(name);
        uint64_t seq = 0;

        if (n < SEQ_DIGITS + 1 + 1 + 5 || name[SEQ_DIGITS] != '-' || strcmp(name + n - 5, ".json") != 0)
                return -EINVAL;
        for (size_t i = 0; i < SEQ_DIGITS; i++) {
                if (name[i] < '0' || name[i] > '9')
                        return -EINVAL;
                seq = seq * 10 + (uint64_t) (name[i] - '0');
        }

        _cleanup_free_ char *id = strndup(name + SEQ_DIGITS + 1, n - SEQ_DIGITS - 1 - 5);
        if (!id)
                return -ENOMEM;
        if (!id_valid(id))
                return -EINVAL;

        if (ret_seq)
                *ret_seq = seq;
        if (ret_id)
                *ret_id = TAKE_PTR(id);
        return 0;
}

static int item_cmp(const void *a, const void *b) {
        const OutboxItem *x = a, *y = b;

        if (x->seq != y->seq)
                return x->seq < y->seq ? -1 : 1;
        return strcmp(x->name, y->name);
}

void outbox_list_done(OutboxList *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n_items; i++) {
                free(l->items[i].name);
                free(l->items[i].id);
        }
        free(l->items);
        for (size_t i = 0; i < l->n_skipped; i++)
                free(l->skipped[i]);
        free(l->skipped);
        *l = (OutboxList) {};
}

/* Scans the directory. remove_stale_tmp: temp files are only ever ours and incomplete by
 * definition (a crash between create and rename), so outbox_open() deletes them. */
static int scan(Outbox *o, OutboxList *ret, bool remove_stale_tmp) {
        _cleanup_(outbox_list_done) OutboxList l = {};
        size_t items_alloc = 0;
        int fd;

        fd = openat(o->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();
                close(fd);
                return r;
        }

        int r = 0;
        for (;;) {
                struct dirent *de;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                r = negative_errno();
                        break;
                }
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
                        if (remove_stale_tmp)
                                (void) unlinkat(o->dir_fd, de->d_name, 0);
                        continue;
                }

                uint64_t seq;
                char *id = NULL;
                if (outbox_parse_name(de->d_name, &seq, &id) < 0) {
                        char **s = realloc(l.skipped, (l.n_skipped + 1) * sizeof(char *));
                        if (!s) {
                                r = -ENOMEM;
                                break;
                        }
                        l.skipped = s;
                        if (!(l.skipped[l.n_skipped] = strdup(de->d_name))) {
                                r = -ENOMEM;
                                break;
                        }
                        l.n_skipped++;
                        continue;
                }

                if (l.n_items == items_alloc) {
                        size_t na = MAX(items_alloc * 2, (size_t) 16);
                        OutboxItem *it = realloc(l.items, na * sizeof(OutboxItem));
                        if (!it) {
                                free(id);
                                r = -ENOMEM;
                                break;
                        }
                        l.items = it;
                        items_alloc = na;
                }
                l.items[l.n_items] = (OutboxItem) { .seq = seq, .id = id, .name = strdup(de->d_name) };
                if (!l.items[l.n_items].name) {
                        free(id);
                        r = -ENOMEM;
                        break;
                }
                l.n_items++;
        }
        closedir(d);
        if (r < 0)
                return r;

        if (l.n_items > 0)
                qsort(l.items, l.n_items, sizeof(OutboxItem), item_cmp);

        o->count = l.n_items;
        for (size_t i = 0; i < l.n_items; i++)
                if (l.items[i].seq >= o->next_seq)
                        o->next_seq = l.items[i].seq + 1;

        *ret = l;
        l = (OutboxList) {};
        return 0;
}

int outbox_open(Outbox **ret, const char *dir, size_t max_items) {
        _cleanup_(outbox_freep) Outbox *o = NULL;
        int r;

        if (!ret || !dir || !*dir)
                return -EINVAL;

        o = calloc(1, sizeof(Outbox));
        if (!o)
                return -ENOMEM;
        o->dir_fd = -EBADF;
        o->max_items = max_items > 0 ? max_items : OUTBOX_DEFAULT_MAX;
        o->next_seq = 1;
        o->dir = strdup(dir);
        if (!o->dir)
                return -ENOMEM;

        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                return negative_errno();
        o->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (o->dir_fd < 0)
                return negative_errno();

        _cleanup_(outbox_list_done) OutboxList l = {};
        r = scan(o, &l, true);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

Outbox *outbox_free(Outbox *o) {
        if (!o)
                return NULL;
        if (o->dir_fd >= 0)
                close(o->dir_fd);
        free(o->dir);
        free(o);
        return NULL;
}

const char *outbox_dir(const Outbox *o) {
        return o ? o->dir : NULL;
}

size_t outbox_count(const Outbox *o) {
        return o ? o->count : 0;
}

size_t outbox_max_items(const Outbox *o) {
        return o ? o->max_items : 0;
}

int outbox_list(Outbox *o, OutboxList *ret) {
        if (!o || !ret)
                return -EINVAL;
        return scan(o, ret, false);
}

int outbox_check_room(Outbox *o) {
        struct statvfs sv;
        int r;

        if (!o)
                return -EINVAL;
        if (fstatvfs(o->dir_fd, &sv) < 0)
                return -errno;
        if (sv.f_flag & ST_RDONLY)
                return -EROFS;
        if ((uint64_t) sv.f_bavail * sv.f_frsize < OUTBOX_DOC_MAX)
                return -ENOSPC;
        /* and a real write: a file system can refuse with room left (quota, inodes, I/O) */
        r = atomic_file_write_at(o->dir_fd, TMP_PREFIX "probe", TMP_PREFIX, "probe\n", 6, 0600);
        (void) unlinkat(o->dir_fd, TMP_PREFIX "probe", 0);
        return r;
}

int outbox_has_id(Outbox *o, const char *id) {
        OutboxList l = {};
        int r, found = 0;

        if (!o || !id)
                return -EINVAL;
        r = outbox_list(o, &l);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l.n_items && !found; i++)
                found = strcmp(l.items[i].id, id) == 0;
        outbox_list_done(&l);
        return found;
}

int outbox_push(Outbox *o, const char *id, const char *json, size_t len, char **ret_name) {
        char name[SEQ_DIGITS + 1 + OUTBOX_ID_MAX + 5 + 1];
        int r;

        if (!o || !id || (!json && len > 0))
                return -EINVAL;
        if (!id_valid(id))
                return -EINVAL;
        if (len > OUTBOX_DOC_MAX)
                return -EFBIG;
        if (o->count >= o->max_items)
                return -ENOSPC;

        snprintf(name, sizeof(name), "%0*" PRIu64 "-%s.json", SEQ_DIGITS, o->next_seq, id);

        r = atomic_file_write_at(o->dir_fd, name, TMP_PREFIX, json, len, 0640);
        if (r < 0) {
                /* Only the final directory fsync can fail with the entry in place: we cannot
                 * promise it survives a power loss, so the push fails as a whole. */
                (void) unlinkat(o->dir_fd, name, 0);
                return r;
        }

        if (ret_name) {
                char *n = strdup(name);
                if (!n) {
                        /* The entry is durable already; dropping it now would lose nothing, but
                         * the caller could not name it: undo it to keep the contract simple. */
                        (void) unlinkat(o->dir_fd, name, 0);
                        (void) fsync(o->dir_fd);
                        return -ENOMEM;
                }
                *ret_name = n;
        }
        o->next_seq++;
        o->count++;
        return 0;
}

int outbox_read(Outbox *o, const char *name, char **ret_json, size_t *ret_len) {
        if (!o || !name || !ret_json || strchr(name, '/'))
                return -EINVAL;
        return atomic_file_read_at(o->dir_fd, name, OUTBOX_DOC_MAX, ret_json, ret_len);
}

int outbox_remove(Outbox *o, const char *name) {
        if (!o || !name || strchr(name, '/') || outbox_parse_name(name, NULL, NULL) < 0)
                return -EINVAL;
        if (unlinkat(o->dir_fd, name, 0) < 0)
                return negative_errno();
        if (o->count > 0)
                o->count--;
        if (fsync(o->dir_fd) < 0)
                return negative_errno();
        return 0;
}
