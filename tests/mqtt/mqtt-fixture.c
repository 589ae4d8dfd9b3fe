/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shared/macro.h"
#include "mqtt-fixture.h"

extern char **environ;

void test_require_program(const char *program) {
        const char *path = getenv("PATH") ?: "/usr/bin:/bin";
        _cleanup_free_ char *copy = strdup(path);
        char *save = NULL;

        REQUIRE(copy);
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char *p;
                bool ok;
                REQUIRE(asprintf(&p, "%s/%s", d, program) > 0);
                ok = access(p, X_OK) == 0;
                free(p);
                if (ok)
                        return;
        }
        /* TAP's way to skip the whole program (meson reads a non-zero exit as an error). */
        printf("1..0 # SKIP %s is not installed (Debian package: %s)\n", program,
               strncmp(program, "mosquitto", 9) == 0 ? "mosquitto" : program);
        exit(0);
}

char *test_tmpdir(const char *tag) {
        const char *base = getenv("TMPDIR") ?: "/tmp";
        char *p;

        REQUIRE(asprintf(&p, "%s/tphub-%s-XXXXXX", base, tag) > 0);
        REQUIRE(mkdtemp(p));
        return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        if (flag == FTW_DP)
                rmdir(path);
        else
                unlink(path);
        return 0;
}

void test_rm_rf(const char *path) {
        if (path)
                nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int test_write_file(const char *path, const char *content, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        size_t len = strlen(content);

        if (fd < 0)
                return -errno;
        if (write(fd, content, len) != (ssize_t) len) {
                close(fd);
                return -EIO;
        }
        if (fchmod(fd, mode) < 0) {
                close(fd);
                return -errno;
        }
        close(fd);
        return 0;
}

int test_free_port(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        REQUIRE(fd >= 0);
        REQUIRE(bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0);
        REQUIRE(getsockname(fd, (struct sockaddr *) &a, &l) == 0);
        close(fd);
        return ntohs(a.sin_port);
}

static bool port_open(int port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool ok;

        REQUIRE(fd >= 0);
        ok = connect(fd, (struct sockaddr *) &a, sizeof(a)) == 0;
        close(fd);
        return ok;
}

/* Brokers and helpers we started: a failed case (which returns, and the program goes on to its
 * end), a failed REQUIRE (abort) or meson's timeout (SIGTERM) must not leave them running. Only
 * async-signal-safe calls in the handler. */
#define MAX_CHILDREN 16
static volatile pid_t children[MAX_CHILDREN];

static void kill_children(void) {
        for (size_t i = 0; i < MAX_CHILDREN; i++)
                if (children[i] > 0)
                        kill(children[i], SIGKILL);
}

static void on_fatal_signal(int sig) {
        kill_children();
        signal(sig, SIG_DFL);
        raise(sig);
}

static void child_track(pid_t pid) {
        static bool installed;

        if (!installed) {
                struct sigaction sa = { .sa_handler = on_fatal_signal };
                sigemptyset(&sa.sa_mask);
                sigaction(SIGABRT, &sa, NULL);
                sigaction(SIGTERM, &sa, NULL);
                sigaction(SIGINT, &sa, NULL);
                atexit(kill_children);
                installed = true;
        }
        for (size_t i = 0; i < MAX_CHILDREN; i++)
                if (children[i] <= 0) {
                        children[i] = pid;
                        return;
                }
}

static void child_untrack(pid_t pid) {
        for (size_t i = 0; i < MAX_CHILDREN; i++)
                if (children[i] == pid)
                        children[i] = 0;
}

static int mosquitto_spawn(Mosquitto *m) {
        char *argv[] = { (char *) "mosquitto", (char *) "-c", m->conf, NULL };
        posix_spawn_file_actions_t fa;
        char *log;
        int r;

        REQUIRE(asprintf(&log, "%s/mosquitto.out", m->dir) > 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        r = posix_spawnp(&m->pid, "mosquitto", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        free(log);
        if (r != 0)
                return -r;
        child_track(m->pid);

        /* Bounded wait for the listener; a failed start shows in mosquitto.out. */
        uint64_t deadline = loop_now_usec() + 10 * 1000000ULL;
        while (!port_open(m->port)) {
                int status;
                if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
                        fprintf(stderr, "mosquitto exited early, see %s/mosquitto.out\n", m->dir);
                        child_untrack(m->pid);
                        m->pid = 0;
                        return -ECHILD;
                }
                if (loop_now_usec() > deadline)
                        return -ETIMEDOUT;
                usleep(10 * 1000);
        }
        return 0;
}

int mosquitto_start(Mosquitto *m, const char *dir, int port, const char *extra_conf) {
        char *conf_text;

        *m = (Mosquitto) {};
        m->dir = strdup(dir);
        m->port = port > 0 ? port : test_free_port();
        REQUIRE(asprintf(&m->conf, "%s/mosquitto.conf", dir) > 0);
        /* "user root": started as root, mosquitto would drop to user mosquitto, which cannot
         * write into a root-owned temp dir; ignored when not run as root. */
        REQUIRE(asprintf(&conf_text,
                       "user root\n"
                       "listener %d 127.0.0.1\n"
                       "allow_anonymous true\n"
                       "log_dest stdout\n"
                       "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
                       "%s\n",
                       m->port, extra_conf ?: "persistence false") > 0);
        REQUIRE(test_write_file(m->conf, conf_text, 0644) == 0);
        free(conf_text);
        return mosquitto_spawn(m);
}

void mosquitto_stop(Mosquitto *m) {
        int status;

        if (m->pid <= 0)
                return;
        kill(m->pid, SIGTERM);
        waitpid(m->pid, &status, 0);
        child_untrack(m->pid);
        m->pid = 0;
}

int mosquitto_restart(Mosquitto *m) {
        mosquitto_stop(m);
        return mosquitto_spawn(m);
}

void mosquitto_done(Mosquitto *m) {
        mosquitto_stop(m);
        free(m->dir);
        free(m->conf);
        *m = (Mosquitto) {};
}

int helper_spawn(Helper *h, char *const argv[]) {
        posix_spawn_file_actions_t fa;
        int p[2], r;

        REQUIRE(pipe2(p, O_CLOEXEC) == 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        r = posix_spawn(&h->pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        if (r != 0) {
                close(p[0]);
                return -r;
        }
        child_track(h->pid);
        h->out_fd = p[0];
        return 0;
}

int helper_wait_line(Helper *h, const char *line, int timeout_s) {
        char buf[4096];
        size_t len = 0;
        uint64_t deadline = loop_now_usec() + (uint64_t) timeout_s * 1000000ULL;

        for (;;) {
                struct pollfd pfd = { .fd = h->out_fd, .events = POLLIN };
                uint64_t now = loop_now_usec();
                if (now > deadline)
                        return -ETIMEDOUT;
                int n = poll(&pfd, 1, (int) ((deadline - now) / 1000) + 1);
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n <= 0)
                        continue;
                ssize_t k = read(h->out_fd, buf + len, 1);
                if (k <= 0)
                        return -EPIPE;
                if (buf[len] == '\n') {
                        buf[len] = 0;
                        if (strcmp(buf, line) == 0)
                                return 0;
                        len = 0;
                        continue;
                }
                if (++len >= sizeof(buf) - 1)
                        len = 0;
        }
}

void helper_kill(Helper *h) {
        int status;

        if (h->pid > 0) {
                kill(h->pid, SIGKILL);
                waitpid(h->pid, &status, 0);
                child_untrack(h->pid);
        }
        if (h->out_fd >= 0)
                close(h->out_fd);
        h->pid = 0;
        h->out_fd = -1;
}

/* ---- recorder ---- */

static void rec_connected(MqttClient *c, void *userdata) {
        Recorder *r = userdata;
        r->connected = true;
        r->n_connected++;
}

static void rec_lost(MqttClient *c, const char *cause, void *userdata) {
        Recorder *r = userdata;
        r->connected = false;
        r->n_lost++;
}

static void rec_failed(MqttClient *c, int code, const char *message, void *userdata) {
        Recorder *r = userdata;
        r->connect_failed++;
        free(r->connect_error);
        r->connect_error = strdup(message ? message : "(none)");
}

static void rec_message(MqttClient *c, const char *topic, const void *payload, size_t len, bool retained,
                        void *userdata) {
        Recorder *r = userdata;

        r->msgs = realloc(r->msgs, (r->n_msgs + 1) * sizeof(Received));
        REQUIRE(r->msgs);
        Received *m = &r->msgs[r->n_msgs++];
        m->topic = strdup(topic);
        m->payload = strndup(payload, len);
        m->len = len;
        m->retained = retained;
}

static void rec_log(MqttClient *c, MqttLogLevel level, const char *message, void *userdata) {
        Recorder *r = userdata;

        fprintf(stderr, "[mqtt %s] %s\n", mqtt_client_get_id(c), message);
        r->logs = realloc(r->logs, (r->n_logs + 1) * sizeof(char *));
        REQUIRE(r->logs);
        r->logs[r->n_logs++] = strdup(message);
}

const MqttClientCallbacks recorder_callbacks = {
        .connected = rec_connected,
        .connection_lost = rec_lost,
        .connect_failed = rec_failed,
        .message = rec_message,
        .log = rec_log,
};

void recorder_done(Recorder *r) {
        r->client = mqtt_client_free(r->client);
        for (size_t i = 0; i < r->n_msgs; i++) {
                free(r->msgs[i].topic);
                free(r->msgs[i].payload);
        }
        free(r->msgs);
        for (size_t i = 0; i < r->n_logs; i++)
                free(r->logs[i]);
        free(r->logs);
        free(r->connect_error);
        *r = (Recorder) {};
}

const Received *recorder_last(const Recorder *r, const char *topic) {
        for (size_t i = r->n_msgs; i > 0; i--)
                if (strcmp(r->msgs[i - 1].topic, topic) == 0)
                        return &r->msgs[i - 1];
        return NULL;
}

size_t recorder_count(const Recorder *r, const char *topic) {
        size_t n = 0;

        for (size_t i = 0; i < r->n_msgs; i++)
                if (strcmp(r->msgs[i].topic, topic) == 0)
                        n++;
        return n;
}

bool recorder_has_log(const Recorder *r, const char *s) {
        for (size_t i = 0; i < r->n_logs; i++)
                if (strstr(r->logs[i], s))
                        return true;
        return false;
}

int recorder_start(Recorder *r, sd_event *e, const char *uri, const char *client_id, const char *filter,
                   bool persistent) {
        MqttClientOptions o = {
                .uri = uri,
                .client_id = client_id,
                .persistent_session = persistent,
        };
        char sync[256];
        int k;

        *r = (Recorder) {};
        k = mqtt_client_new(&r->client, e, &o, &recorder_callbacks, r);
        if (k < 0)
                return k;
        if (filter)
                REQUIRE(mqtt_client_subscribe(r->client, filter, 1) == 0);
        /* Subscriptions are handled in order: once a message on the sync topic (subscribed
         * last) comes back, the filter is active too. */
        snprintf(sync, sizeof(sync), "test-sync/%s", client_id);
        REQUIRE(mqtt_client_subscribe(r->client, sync, 1) == 0);
        REQUIRE(mqtt_client_connect(r->client) == 0);
        if (!LOOP_WAIT(e, r->connected, 20))
                return -ETIMEDOUT;
        REQUIRE(mqtt_client_publish(r->client, sync, "sync", 4, 1, false, NULL, NULL) == 0);
        if (!LOOP_WAIT(e, recorder_count(r, sync) > 0, 20))
                return -ETIMEDOUT;
        return 0;
}
