/* SPDX-License-Identifier: MIT */
/* The spool on a file system that refuses writes: a read-only remount (EROFS) and a full
 * tmpfs (ENOSPC). Errors must be reported, what was spooled before must stay untouched, no
 * temp file may be left behind, and everything must still reach the broker later.
 *
 * Needs mount(2): the test enters its own mount namespace (so nothing leaks to the host and
 * parallel tests do not see it; as non-root inside a new user namespace) and mounts a 64 KiB
 * tmpfs. Where neither is allowed (a container that forbids both) it skips itself (TAP "1..0 # SKIP"),
 * saying why. */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqtt/session-publisher.h"
#include "shared/macro.h"
#include "store/atomic-file.h"
#include "store/outbox.h"
#include "mqtt-fixture.h"

typedef struct Hub {
        MqttClient *client;
        SessionPublisher *pub;
        int reports[16];
        int errors[16];
        int delivered;
} Hub;

static void hub_connected(MqttClient *c, void *userdata) {
        publisher_connected(((Hub *) userdata)->pub);
}

static void hub_report(SessionPublisher *p, PublisherReport what, int error, const char *name, const char *id,
                       void *userdata) {
        Hub *h = userdata;

        fprintf(stderr, "[publisher] report %d error %d (%s) name %s id %s\n", what, error,
                error < 0 ? strerror(-error) : "ok", name ?: "-", id ?: "-");
        h->reports[what]++;
        h->errors[what] = error;
        if (what == PUBLISHER_DELIVERED)
                h->delivered++;
}

static size_t count_files(const char *dir, size_t *ret_tmp) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0, tmp = 0;

        REQUIRE(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
                else if (strncmp(de->d_name, ".tmp-", 5) == 0)
                        tmp++;
        closedir(d);
        if (ret_tmp)
                *ret_tmp = tmp;
        return n;
}

static int write_proc(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = write(fd, text, strlen(text));
        close(fd);
        return n == (ssize_t) strlen(text) ? 0 : -EIO;
}

static int enter_user_namespace(void) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        char map[64];
        int r;

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return -errno;
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned) uid);
        if ((r = write_proc("/proc/self/uid_map", map)) < 0)
                return r;
        if ((r = write_proc("/proc/self/setgroups", "deny")) < 0)
                return r;
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned) gid);
        return write_proc("/proc/self/gid_map", map);
}

/* The spool: a 64 KiB tmpfs in this process's own mount namespace (made by main). */
static char *dir, *spool;

static void test_readonly_and_full_spool(void) {
        char *uri, *first_path;
        _cleanup_free_ char *before = NULL, *after = NULL;
        Outbox *o = NULL;
        Mosquitto m;
        Recorder sub;
        Hub hub = {};
        sd_event *e;
        size_t tmp;

        CHECK(sd_event_new(&e) >= 0);
        CHECK(outbox_open(&o, spool, 10) == 0);

        /* The broker's port is chosen now, the broker starts later: until then documents stay
         * in the spool (or in memory) and Paho keeps retrying. */
        int port = test_free_port();
        CHECK(asprintf(&uri, "tcp://127.0.0.1:%d", port) > 0);
        /* Paho's own retries wait longer than this test: the hub connects when told to, once
         * the subscriber below is listening, and no document goes out before it is. */
        MqttClientOptions opts = { .uri = uri, .client_id = "hub-ro", .min_retry_s = 60, .max_retry_s = 60 };
        MqttClientCallbacks cb = { .connected = hub_connected };
        CHECK(mqtt_client_new(&hub.client, e, &opts, &cb, &hub) == 0);
        CHECK(publisher_new(&hub.pub, hub.client, o, 4, hub_report, &hub) == 0);
        CHECK(mqtt_client_connect(hub.client) == 0);

        const char *doc1 = "{\"id\":\"s-1\",\"n\":1}";
        CHECK(publisher_push(hub.pub, "tphub/hub1/left/session", "s-1", doc1) == 0);
        CHECK(asprintf(&first_path, "%s/0000000000000001-s-1.json", spool) > 0);
        {
                int dfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                CHECK(dfd >= 0);
                CHECK(atomic_file_read_at(dfd, "0000000000000001-s-1.json", 4096, &before, NULL) == 0);
                close(dfd);
        }
        CHECK_STR(before, "tphub/hub1/left/session\n{\"id\":\"s-1\",\"n\":1}");

        /* Read-only. */
        CHECK(mount("tmpfs", spool, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL) == 0);
        const char *doc2 = "{\"id\":\"s-2\",\"n\":2}";
        CHECK_EQ(publisher_push(hub.pub, "tphub/hub1/left/session", "s-2", doc2), -EROFS);
        CHECK_EQ(hub.reports[PUBLISHER_SPOOL_ERROR], 1);
        CHECK_EQ(hub.errors[PUBLISHER_SPOOL_ERROR], -EROFS);
        CHECK_EQ(count_files(spool, &tmp), 1);
        CHECK_EQ(tmp, 0);

        /* Disk full: a document larger than the whole tmpfs. */
        CHECK(mount("tmpfs", spool, "tmpfs", MS_REMOUNT, "size=64k") == 0);
        size_t big_len = 100 * 1024;
        char *doc3 = malloc(big_len + 64);
        CHECK(doc3);
        int k = sprintf(doc3, "{\"id\":\"s-3\",\"pad\":\"");
        memset(doc3 + k, 'x', big_len);
        strcpy(doc3 + k + big_len, "\"}");
        CHECK_EQ(publisher_push(hub.pub, "tphub/hub1/left/session", "s-3", doc3), -ENOSPC);
        CHECK_EQ(hub.reports[PUBLISHER_SPOOL_ERROR], 2);
        CHECK_EQ(hub.errors[PUBLISHER_SPOOL_ERROR], -ENOSPC);
        CHECK_EQ(hub.reports[PUBLISHER_SPOOL_FULL], 0);
        CHECK_EQ(count_files(spool, &tmp), 1);
        CHECK_EQ(tmp, 0);   /* the partial temp file was cleaned up */
        {
                int dfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                CHECK(dfd >= 0);
                CHECK(atomic_file_read_at(dfd, "0000000000000001-s-1.json", 4096, &after, NULL) == 0);
                close(dfd);
        }
        CHECK_STR(after, before);
        CHECK_EQ(publisher_backlog(hub.pub), 3);

        /* The broker comes: all three arrive, in order (the two that never reached the disk
         * from memory), and the spool empties. */
        CHECK(mosquitto_start(&m, dir, port, NULL) == 0);
        CHECK(recorder_start(&sub, e, uri, "sub-ro", "tphub/hub1/+/session", false) == 0);
        (void) mqtt_client_reconnect_now(hub.client);
        RUN_UNTIL(e, hub.delivered == 3, 60);
        RUN_UNTIL(e, recorder_count(&sub, "tphub/hub1/left/session") == 3, 20);
        CHECK_STR(sub.msgs[1].payload, doc1);       /* [0] is the recorder's sync message */
        CHECK_STR(sub.msgs[2].payload, doc2);
        CHECK_STR(sub.msgs[3].payload, doc3);
        CHECK_EQ(publisher_backlog(hub.pub), 0);
        CHECK_EQ(count_files(spool, NULL), 0);

        publisher_free(hub.pub);
        mqtt_client_free(hub.client);
        recorder_done(&sub);
        mosquitto_done(&m);
        outbox_free(o);
        free(doc3);
        free(uri);
        free(first_path);
        sd_event_unref(e);
}

static const TapCase cases[] = {
        { "readonly_and_full_spool", test_readonly_and_full_spool },
};

int main(int argc, char *argv[]) {
        int r;

        test_require_program("mosquitto");

        /* Before any thread exists (unshare() refuses multi-threaded callers). Not root: a user
         * namespace, where we are root enough to mount a tmpfs, if the kernel allows those. */
        if (unshare(CLONE_NEWNS) < 0) {
                r = enter_user_namespace();
                if (r < 0) {
                        printf("1..0 # SKIP cannot create a mount namespace (%s) nor a user namespace (%s)\n",
                               strerror(errno), strerror(-r));
                        return 0;
                }
        }
        if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
                printf("1..0 # SKIP cannot make / private in the namespace (%s)\n", strerror(errno));
                return 0;
        }

        dir = test_tmpdir("rospool");
        REQUIRE(asprintf(&spool, "%s/spool", dir) > 0);
        REQUIRE(mkdir(spool, 0750) == 0);
        if (mount("tmpfs", spool, "tmpfs", 0, "size=64k,mode=0750") < 0) {
                printf("1..0 # SKIP cannot mount a tmpfs (%s)\n", strerror(errno));
                test_rm_rf(dir);
                return 0;
        }

        r = tap_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);

        umount(spool);
        test_rm_rf(dir);
        free(spool);
        free(dir);
        return r;
}
