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
#include "store/atomic-file.h"
#include "store/checkpoint.h"
#include "store/outbox.h"
#include "tap.h"


static char *tmpdir(void) {
        char *p;
        REQUIRE(asprintf(&p, "%s/tphub-outbox-XXXXXX", getenv("TMPDIR") ?: "/tmp") > 0);
        REQUIRE(mkdtemp(p));
        return p;
}

static void rm_rf(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                char *p;
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                CHECK(asprintf(&p, "%s/%s", dir, de->d_name) > 0);
                if (de->d_type == DT_DIR)
                        rm_rf(p);
                else
                        unlink(p);
                free(p);
        }
        closedir(d);
        rmdir(dir);
}

static char *read_all(const char *dir, const char *name) {
        char *p, *buf = calloc(1, 65536);
        int fd;

        REQUIRE(asprintf(&p, "%s/%s", dir, name) > 0);
        fd = open(p, O_RDONLY);
        REQUIRE(fd >= 0);
        REQUIRE(read(fd, buf, 65535) >= 0);
        close(fd);
        free(p);
        return buf;
}

static void test_names(void) {
        uint64_t seq;
        char *id = NULL;

        CHECK(outbox_parse_name("0000000000000042-s-1.json", &seq, &id) == 0);
        CHECK(seq == 42);
        CHECK_STR(id, "s-1");
        free(id);
        CHECK(outbox_parse_name("42-s-1.json", NULL, NULL) == -EINVAL);
        CHECK(outbox_parse_name("0000000000000042-.json", NULL, NULL) == -EINVAL);
        CHECK(outbox_parse_name("0000000000000042-a b.json", NULL, NULL) == -EINVAL);
        CHECK(outbox_parse_name("000000000000004x-a.json", NULL, NULL) == -EINVAL);
        CHECK(outbox_parse_name("0000000000000042-a.txt", NULL, NULL) == -EINVAL);
        CHECK(outbox_parse_name(".tmp-0000000000000042-a.json", NULL, NULL) == -EINVAL);
}

static void test_push_list_remove(void) {
        char *dir = tmpdir(), *spool;
        _cleanup_(outbox_freep) Outbox *o = NULL;
        OutboxList l = {};
        char *name = NULL, *json = NULL;
        size_t len;

        CHECK(asprintf(&spool, "%s/spool", dir) > 0);
        CHECK(outbox_open(&o, spool, 3) == 0);
        CHECK(outbox_count(o) == 0);
        CHECK(outbox_max_items(o) == 3);

        CHECK(outbox_push(o, "a", "{\"n\":1}", 7, &name) == 0);
        CHECK_STR(name, "0000000000000001-a.json");
        free(name);
        CHECK(outbox_push(o, "b", "{\"n\":2}", 7, NULL) == 0);
        CHECK(outbox_push(o, "bad id", "{}", 2, NULL) == -EINVAL);
        CHECK(outbox_push(o, "", "{}", 2, NULL) == -EINVAL);
        {
                char *big = calloc(1, OUTBOX_DOC_MAX + 1);
                CHECK(big);
                CHECK(outbox_push(o, "big", big, OUTBOX_DOC_MAX + 1, NULL) == -EFBIG);
                free(big);
        }
        CHECK(outbox_push(o, "c", "{\"n\":3}", 7, NULL) == 0);

        /* Full: refused, and nothing already spooled is touched. */
        CHECK(outbox_push(o, "d", "{\"n\":4}", 7, NULL) == -ENOSPC);
        CHECK(outbox_count(o) == 3);

        CHECK(outbox_list(o, &l) == 0);
        CHECK(l.n_items == 3 && l.n_skipped == 0);
        CHECK_STR(l.items[0].id, "a");
        CHECK_STR(l.items[1].id, "b");
        CHECK_STR(l.items[2].id, "c");
        CHECK(l.items[2].seq == 3);
        CHECK(outbox_read(o, l.items[1].name, &json, &len) == 0);
        CHECK_STR(json, "{\"n\":2}");
        CHECK(len == 7);
        free(json);

        CHECK(outbox_remove(o, l.items[0].name) == 0);
        CHECK(outbox_remove(o, l.items[0].name) == -ENOENT);
        CHECK(outbox_remove(o, "../etc/passwd") == -EINVAL);
        CHECK(outbox_count(o) == 2);
        outbox_list_done(&l);

        /* Room again; the sequence keeps growing. */
        CHECK(outbox_push(o, "d", "{\"n\":4}", 7, &name) == 0);
        CHECK_STR(name, "0000000000000004-d.json");
        free(name);

        /* Reopen: the next seq continues after the highest on disk; foreign files and stale
         * temp files: the former reported and kept, the latter (ours, never visible) removed. */
        o = outbox_free(o);
        char *p;
        CHECK(asprintf(&p, "%s/README", spool) > 0);
        FILE *f = fopen(p, "w");
        CHECK(f);
        fputs("not a spool entry\n", f);
        fclose(f);
        free(p);
        CHECK(asprintf(&p, "%s/.tmp-0000000000000009-x.json", spool) > 0);
        f = fopen(p, "w");
        CHECK(f);
        fclose(f);

        CHECK(outbox_open(&o, spool, 10) == 0);
        CHECK(access(p, F_OK) < 0);
        free(p);
        CHECK(outbox_count(o) == 3);
        CHECK(outbox_list(o, &l) == 0);
        CHECK(l.n_items == 3);
        CHECK(l.n_skipped == 1);
        CHECK_STR(l.skipped[0], "README");
        outbox_list_done(&l);
        CHECK(outbox_push(o, "e", "{}", 2, &name) == 0);
        CHECK_STR(name, "0000000000000005-e.json");
        free(name);
        CHECK(asprintf(&p, "%s/README", spool) > 0);
        CHECK(access(p, F_OK) == 0);
        free(p);

        o = outbox_free(o);
        rm_rf(dir);
        free(spool);
        free(dir);
}

static void test_checkpoint(void) {
        char *dir = tmpdir(), *state;
        char *json = NULL, *out = NULL;

        CHECK(asprintf(&state, "%s/state", dir) > 0);
        CHECK(checkpoint_recover(state, "left", &json) == 0);
        CHECK(!json);
        CHECK(checkpoint_clear(state, "left") == 0);

        CHECK(checkpoint_write(state, "left", "{\"v\":1}", 7) == 0);
        CHECK(checkpoint_write(state, "left", "{\"v\":2}", 7) == 0);
        CHECK(checkpoint_write(state, "right", "{\"v\":9}", 7) == 0);
        CHECK(checkpoint_write(state, "../x", "{}", 2) == -EINVAL);
        CHECK(checkpoint_write(state, "", "{}", 2) == -EINVAL);
        CHECK(checkpoint_write(state, "..", "{}", 2) == -EINVAL);
        CHECK(checkpoint_write(state, ".hidden", "{}", 2) == -EINVAL);
        CHECK(checkpoint_write(state, "bench-1.a", "{}", 2) == 0);
        CHECK(checkpoint_clear(state, "bench-1.a") == 0);
        CHECK(checkpoint_recover(state, "left", &json) == 1);
        CHECK_STR(json, "{\"v\":2}");
        free(json);
        json = read_all(state, "right.checkpoint.json");
        CHECK_STR(json, "{\"v\":9}");
        free(json);

        CHECK(checkpoint_clear(state, "left") == 0);
        json = NULL;
        CHECK(checkpoint_recover(state, "left", &json) == 0);
        CHECK(!json);
        CHECK(checkpoint_recover(state, "right", &json) == 1);
        free(json);

        CHECK(session_json_mark_interrupted("{\"id\":\"s\",\"status\":\"running\",\"ended_at\":null}",
                                            "2026-11-21T10:00:00.000Z", &out) == 0);
        CHECK_STR(out, "{\"id\":\"s\",\"status\":\"interrupted\",\"ended_at\":\"2026-11-21T10:00:00.000Z\"}");
        free(out);
        out = NULL;
        CHECK(session_json_mark_interrupted("[1,2]", "x", &out) == -EBADMSG);
        CHECK(session_json_mark_interrupted("{\"id\":", "x", &out) == -EBADMSG);
        CHECK(session_json_mark_interrupted("", "x", &out) == -EBADMSG);
        CHECK(!out);

        rm_rf(dir);
        free(state);
        free(dir);
}

/* The spool on a healthy file system has room; an entry with an id is found by it; the
 * fsync-less replace (a tool's zero) replaces whole files and leaves no temp file. */
static void test_room_id_replace(void) {
        char *dir = tmpdir(), *spool, *got;
        _cleanup_(outbox_freep) Outbox *o = NULL;
        int fd;

        CHECK(asprintf(&spool, "%s/spool", dir) > 0);
        CHECK(outbox_open(&o, spool, 3) == 0);
        CHECK(outbox_check_room(o) == 0);
        CHECK(outbox_count(o) == 0);   /* the probe is no entry */
        CHECK(outbox_push(o, "s1", "{}", 2, NULL) == 0);
        CHECK(outbox_has_id(o, "s1") == 1);
        CHECK(outbox_has_id(o, "s2") == 0);

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(atomic_file_replace_at(fd, "z.json", ".tmp-", "first", 5, 0640) == 0);
        CHECK(atomic_file_replace_at(fd, "z.json", ".tmp-", "2nd", 3, 0640) == 0);
        CHECK(atomic_file_replace_at(fd, "a/b", ".tmp-", "x", 1, 0640) == -EINVAL);
        close(fd);
        got = read_all(dir, "z.json");
        CHECK_STR(got, "2nd");
        free(got);
        CHECK(access(dir, F_OK) == 0);
        {
                char *tmp;
                CHECK(asprintf(&tmp, "%s/.tmp-z.json", dir) > 0);
                CHECK(access(tmp, F_OK) < 0 && errno == ENOENT);
                free(tmp);
        }
        o = outbox_free(o);
        free(spool);
        rm_rf(dir);
        free(dir);
}

static const TapCase cases[] = {
        { "an id replaces the older file", test_room_id_replace },
        { "names", test_names },
        { "push, list, remove", test_push_list_remove },
        { "checkpoint", test_checkpoint },
};

TAP_MAIN(cases)
