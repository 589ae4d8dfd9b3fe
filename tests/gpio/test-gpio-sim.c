/* SPDX-License-Identifier: MIT */
/* The sim backend's control socket, as the demo and shell scripts use it: a client
 * presses the foot-switch and sees the cue it causes; bad commands get clear errors. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gpio/cue-player.h"
#include "gpio/footswitch.h"
#include "gpio/gpio-sim.h"
#include "shared/time-util.h"
#include "tap.h"
#include "loop-util.h"
#include "shared/macro.h"

#define MS(x) nsec_from_ms(x)

typedef struct Ctx {
        CuePlayer *player;
        int client;
        char msgs[32][128];
        unsigned n_msgs;
        SwitchGesture gestures[8];
        unsigned n_gestures;
        const char *const *script;   /* commands sent one per timer tick */
        unsigned next;
        nsec_t pressed_at;
        unsigned n_expect_msgs;
} Ctx;

static bool got_msgs(void *userdata) {
        Ctx *c = userdata;
        return c->n_msgs >= c->n_expect_msgs;
}

static void on_gesture(SwitchGesture g, nsec_t at, void *userdata) {
        Ctx *c = userdata;

        CHECK(c->n_gestures < ELEMENTSOF(c->gestures));
        c->gestures[c->n_gestures++] = g;
        if (g == GESTURE_TAP)
                CHECK_OK(cue_player_show(c->player, &(Cue) { .kind = CUE_POINT, .since_ns = at },
                                         now_monotonic()));
}

static int on_client(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Ctx *c = userdata;
        char buf[128];
        ssize_t k = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

        if (k < 0 && errno == EAGAIN)
                return 0;
        REQUIRE(k > 0);
        buf[k] = 0;
        REQUIRE(c->n_msgs < ELEMENTSOF(c->msgs));
        strcpy(c->msgs[c->n_msgs++], buf);
        return 0;
}

static int on_send(sd_event_source *s, uint64_t usec, void *userdata) {
        Ctx *c = userdata;
        const char *cmd = c->script[c->next];

        if (c->next++ == 0)
                c->pressed_at = now_monotonic();
        /* The NUL-containing command is sent with its terminator on purpose. */
        REQUIRE(send(c->client, cmd, strlen(cmd) + (strcmp(cmd, "in\t") == 0), 0) >= 0);
        return 0;
}

static const char *const script[] = {
        "in gpiochip0 17 0\n",       /* press (active-low, pulled up) */
        "in gpiochip0 17 1",         /* release 40 ms later: a tap */
        "bogus",
        "in gpiochip0 17",
        "in gpiochip0 17 2",
        "in cues amber 1",           /* an output cannot be driven */
        "in gpiochip0 17 0 extra words",
        "in\t",                      /* sent with a NUL */
        "  \n",
};

static const char *const replies[] = {
        "ok\n",
        "ok\n",
        "err unknown command\n",
        "err usage: in <chip> <line> <0|1>\n",
        "err level must be 0 or 1\n",
        "err line is an output\n",
        "err usage: in <chip> <line> <0|1>\n",
        "err NUL in message\n",
        "err empty command\n",
};

static bool all_in(void *userdata) {
        Ctx *c = userdata;
        return c->n_msgs >= ELEMENTSOF(replies) + 1;
}

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        REQUIRE(fd >= 0);
        strcpy(sa.sun_path, path);
        REQUIRE(connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        return fd;
}

/* The directory for this run's sockets (made by main). */
static char dir[] = "/tmp/test-gpio-sim-XXXXXX";

static void test_press_and_cue(void) {
        _cleanup_(gpio_backend_freep) GpioBackend *sim = NULL;
        _cleanup_(footswitch_freep) Footswitch *fs = NULL;
        _cleanup_(cue_player_freep) CuePlayer *p = NULL;
        sd_event_source *src = NULL;
        sd_event *e = NULL;
        char path[256];
        Ctx c = { .script = script };
        static const GpioLineSpec foot = {
                .chip = "gpiochip0", .offset = 17, .active_low = true, .bias = GPIO_BIAS_PULL_UP,
        };
        static const CuePlayerLines lines = {
                .green = { .chip = "cues", .name = "green" },
                .amber = { .chip = "cues", .name = "amber" },
        };

        snprintf(path, sizeof(path), "%s/gpio.sock", dir);
        CHECK_OK(sd_event_new(&e));
        CHECK_OK(gpio_sim_new(e, path, &sim));
        CHECK_OK(footswitch_new(&fs, e, sim, &foot, 10,
                                &(SwitchGestureParams) { 300, 1000, 3000 }, on_gesture, &c));
        CHECK_OK(cue_player_new(&p, e, sim, &lines));
        c.player = p;

        /* A second client that goes away must not disturb anything. */
        close(connect_to(path));

        c.client = connect_to(path);
        CHECK_OK(sd_event_add_io(e, &src, c.client, EPOLLIN, on_client, &c));

        nsec_t base = now_monotonic() + MS(20);
        for (unsigned i = 0; i < ELEMENTSOF(script); i++)
                loop_at(e, base + MS(i == 0 ? 0 : 40 + 20 * i), on_send, &c);

        CHECK(loop_run_until(e, all_in, &c, base + MS(2000)));

        for (unsigned i = 0; i < c.n_msgs; i++)
                fprintf(stderr, "  got: %s", c.msgs[i]);

        /* Replies in order; exactly one output change: amber on, after the press. */
        unsigned r = 0, outs = 0;
        for (unsigned i = 0; i < c.n_msgs; i++) {
                if (strncmp(c.msgs[i], "out ", 4) == 0) {
                        char line[32];
                        int v;
                        unsigned long long ts;

                        CHECK_EQ(sscanf(c.msgs[i], "out %31s %d %llu", line, &v, &ts), 3);
                        CHECK(strcmp(line, "amber") == 0);
                        CHECK_EQ(v, 1);
                        CHECK(ts >= c.pressed_at && ts <= now_monotonic());
                        outs++;
                        continue;
                }
                CHECK(r < ELEMENTSOF(replies));
                CHECK(strcmp(c.msgs[i], replies[r]) == 0);
                r++;
        }
        CHECK_EQ(r, ELEMENTSOF(replies));
        CHECK_EQ(outs, 1);
        CHECK_EQ(c.n_gestures, 3);
        CHECK_EQ(c.gestures[0], GESTURE_PRESS);
        CHECK_EQ(c.gestures[1], GESTURE_RELEASE);
        CHECK_EQ(c.gestures[2], GESTURE_TAP);

        /* A client joining mid-session asks for the current outputs. */
        unsigned before = c.n_msgs;
        CHECK(send(c.client, "state", 5, 0) == 5);
        c.n_expect_msgs = before + 3;
        CHECK(loop_run_until(e, got_msgs, &c, now_monotonic() + 2 * NSEC_PER_SEC));
        CHECK(strcmp(c.msgs[before], "out green 0 0\n") == 0);
        CHECK(strncmp(c.msgs[before + 1], "out amber 1 ", 12) == 0);
        CHECK(strcmp(c.msgs[before + 2], "ok\n") == 0);
        CHECK(send(c.client, "state now", 9, 0) == 9);
        c.n_expect_msgs = before + 4;
        CHECK(loop_run_until(e, got_msgs, &c, now_monotonic() + 2 * NSEC_PER_SEC));
        CHECK(strcmp(c.msgs[before + 3], "err usage: state\n") == 0);

        /* The safe state on exit reaches the client too. */
        p = cue_player_free(p);
        CHECK(loop_run_until(e, all_in, &c, 0) || true);
        char buf[128];
        ssize_t k = recv(c.client, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        CHECK(k > 0);
        buf[k] = 0;
        CHECK(strncmp(buf, "out amber 0 ", 12) == 0);

        sd_event_source_disable_unref(src);
        fs = footswitch_free(fs);
        sim = gpio_backend_free(sim);
        struct stat st;
        CHECK(stat(path, &st) < 0 && errno == ENOENT);   /* socket removed on free */
        close(c.client);
        sd_event_unref(e);
}

static void test_socket_path(void) {
        GpioBackend *sim = NULL;
        sd_event *e = NULL;
        char path[256];
        int fd;

        CHECK_OK(sd_event_new(&e));

        /* Something that is not a socket is never removed. */
        snprintf(path, sizeof(path), "%s/not-a-socket", dir);
        fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        close(fd);
        CHECK_EQ(gpio_sim_new(e, path, &sim), -EEXIST);
        CHECK(!sim);
        CHECK(unlink(path) == 0);

        /* A stale socket from a crashed run is replaced. */
        snprintf(path, sizeof(path), "%s/stale.sock", dir);
        CHECK_OK(gpio_sim_new(e, path, &sim));
        {
                /* Simulate the crash: keep the file, drop the backend without cleanup. */
                char keep[280];
                snprintf(keep, sizeof(keep), "%s.keep", path);
                CHECK(link(path, keep) == 0);
                sim = gpio_backend_free(sim);
                CHECK(rename(keep, path) == 0);
        }
        CHECK_OK(gpio_sim_new(e, path, &sim));
        close(connect_to(path));
        sim = gpio_backend_free(sim);

        CHECK_EQ(gpio_sim_new(NULL, path, &sim), -EINVAL);
        CHECK_EQ(gpio_sim_new(e, "", &sim), -EINVAL);
        sd_event_unref(e);
}

static void test_api(void) {
        GpioBackend *sim = NULL;

        CHECK_OK(gpio_sim_new(NULL, NULL, &sim));
        CHECK(gpio_backend_is_sim(sim));
        CHECK_EQ(gpio_sim_get_level(sim, "x", "1"), -ENOENT);
        CHECK_OK(gpio_sim_set_input(sim, "x", "1", 1, 0));
        CHECK_EQ(gpio_sim_get_level(sim, "x", "1"), 1);
        CHECK_EQ(gpio_sim_set_input(sim, "x", "", 1, 0), -EINVAL);
        CHECK_EQ(gpio_bias_from_string("pull-up"), GPIO_BIAS_PULL_UP);
        CHECK_EQ(gpio_bias_from_string("as-is"), GPIO_BIAS_AS_IS);
        CHECK_EQ(gpio_bias_from_string("pullup"), _GPIO_BIAS_INVALID);
        CHECK(strcmp(gpio_bias_to_string(GPIO_BIAS_PULL_DOWN), "pull-down") == 0);

        /* Reading an output's events, or writing an input, is refused. */
        GpioLine *in = NULL, *out = NULL;
        GpioEdge ev[4];
        CHECK_OK(gpio_backend_request_input(sim, &(GpioLineSpec) { .chip = "x", .offset = 1 },
                                            NULL, &in));
        CHECK_OK(gpio_backend_request_output(sim, &(GpioLineSpec) { .chip = "x", .offset = 2 },
                                             NULL, true, &out));
        CHECK_EQ(gpio_line_set_value(in, 1), -EPERM);
        CHECK_EQ(gpio_line_read_events(out, ev, 4), -ENOTTY);
        CHECK_EQ(gpio_line_read_events(in, ev, 4), -EAGAIN);
        CHECK_OK(gpio_sim_set_input(sim, "x", "1", 0, 12345));
        CHECK_EQ(gpio_line_read_events(in, ev, 4), 1);
        CHECK_EQ(ev[0].rising, false);
        CHECK_EQ(ev[0].ts, 12345);
        CHECK_EQ(gpio_line_get_value(in), 0);
        CHECK_EQ(gpio_line_get_value(out), 1);
        CHECK_EQ(gpio_sim_set_input(sim, "x", "2", 0, 0), -EPERM);
        CHECK_EQ(gpio_backend_request_input(sim, &(GpioLineSpec) { .chip = "x", .offset = 1,
                                                                   .bias = 17 }, NULL, &in), -EINVAL);
        in = gpio_line_free(in);
        out = gpio_line_free(out);
        sim = gpio_backend_free(sim);
}

/* The record keeps the newest GPIO_SIM_RECORD_MAX output changes, oldest first, however
 * many there were (a soak on the sim must stay flat), and says how many it dropped. */
static void test_record_bound(void) {
        _cleanup_(gpio_backend_freep) GpioBackend *sim = NULL;
        GpioLine *a = NULL, *b = NULL;
        const GpioSimEdge *rec;
        size_t n;
        /* Three times around the ring plus a bit: every wrap position gets exercised. */
        const unsigned total = 3 * GPIO_SIM_RECORD_MAX + 77;
        nsec_t prev = 0;

        CHECK_OK(gpio_sim_new(NULL, NULL, &sim));
        CHECK_OK(gpio_backend_request_output(sim, &(GpioLineSpec) { .chip = "c", .name = "a" },
                                             NULL, false, &a));
        CHECK_OK(gpio_backend_request_output(sim, &(GpioLineSpec) { .chip = "c", .name = "b" },
                                             NULL, false, &b));
        rec = gpio_sim_get_record(sim, &n);
        CHECK_EQ(n, 0);

        /* Change k (0-based) goes to line a when k % 3 != 2, else b; each line toggles, so
         * its k-th own change sets it to 1 when that count is odd. */
        unsigned n_a = 0, n_b = 0;
        for (unsigned k = 0; k < total; k++) {
                if (k % 3 != 2)
                        CHECK_OK(gpio_line_set_value(a, ++n_a % 2));
                else
                        CHECK_OK(gpio_line_set_value(b, ++n_b % 2));
                if (k == 100) {
                        /* Before the bound: everything is kept. */
                        rec = gpio_sim_get_record(sim, &n);
                        CHECK_EQ(n, 101);
                        CHECK_EQ(gpio_sim_get_record_dropped(sim), 0);
                }
        }

        rec = gpio_sim_get_record(sim, &n);
        CHECK_EQ(n, GPIO_SIM_RECORD_MAX);
        CHECK_EQ(gpio_sim_get_record_dropped(sim), total - GPIO_SIM_RECORD_MAX);
        /* Replay the expected sequence and compare the tail, entry by entry. */
        n_a = n_b = 0;
        for (unsigned k = 0; k < total; k++) {
                bool on_a = k % 3 != 2;
                unsigned own = on_a ? ++n_a : ++n_b;

                if (k < total - GPIO_SIM_RECORD_MAX)
                        continue;
                const GpioSimEdge *e = &rec[k - (total - GPIO_SIM_RECORD_MAX)];
                CHECK(strcmp(e->chip, "c") == 0);
                CHECK(strcmp(e->line, on_a ? "a" : "b") == 0);
                CHECK_EQ(e->value, own % 2);
                CHECK(e->at >= prev);
                prev = e->at;
        }
        /* Reading it twice gives the same (the rotation happened once). */
        rec = gpio_sim_get_record(sim, &n);
        CHECK_EQ(n, GPIO_SIM_RECORD_MAX);
        CHECK(strcmp(rec[n - 1].line, (total - 1) % 3 != 2 ? "a" : "b") == 0);

        /* After a wrap and a read, new changes go on in order. */
        CHECK_OK(gpio_line_set_value(b, ++n_b % 2));
        rec = gpio_sim_get_record(sim, &n);
        CHECK_EQ(n, GPIO_SIM_RECORD_MAX);
        CHECK(strcmp(rec[n - 1].line, "b") == 0);
        CHECK_EQ(rec[n - 1].value, n_b % 2);
        CHECK(rec[n - 1].at >= rec[n - 2].at);

        gpio_sim_clear_record(sim);
        rec = gpio_sim_get_record(sim, &n);
        CHECK_EQ(n, 0);
        CHECK_EQ(gpio_sim_get_record_dropped(sim), 0);
        CHECK_OK(gpio_line_set_value(a, ++n_a % 2));
        rec = gpio_sim_get_record(sim, &n);
        CHECK_EQ(n, 1);
        CHECK(strcmp(rec[0].line, "a") == 0);
        CHECK_EQ(rec[0].value, n_a % 2);

        a = gpio_line_free(a);
        b = gpio_line_free(b);
}

/* Random and mutated commands: every message gets exactly one reply, in order, and the
 * sim survives (run it under ASan/valgrind to catch memory errors too). */
static void test_fuzz_commands(void) {
        _cleanup_(gpio_backend_freep) GpioBackend *sim = NULL;
        sd_event *e = NULL;
        char path[256];
        static const char *const seeds[] = {
                "in gpiochip0 17 0", "in a b 1\n", "in   x   y   0  ", "in c 3 1 1",
                "out green 1 5", "in", "in x y z", "in \xff\xfe 1 1",
        };
        unsigned seed = 12345, ok = 0, err = 0;

        snprintf(path, sizeof(path), "%s/fuzz.sock", dir);
        CHECK_OK(sd_event_new(&e));
        CHECK_OK(gpio_sim_new(e, path, &sim));
        int fd = connect_to(path);

        for (unsigned i = 0; i < 3000; i++) {
                char msg[400], reply[300];
                size_t len;

                seed = seed * 1103515245u + 12345u;
                if (i % 2) {
                        /* A seed with a few random bytes changed, cut or extended. */
                        const char *sd = seeds[(seed >> 8) % ELEMENTSOF(seeds)];
                        len = strlen(sd);
                        memcpy(msg, sd, len);
                        for (unsigned m = 0; m < 3; m++) {
                                seed = seed * 1103515245u + 12345u;
                                msg[(seed >> 4) % len] = (char) (seed >> 16);
                        }
                        seed = seed * 1103515245u + 12345u;
                        len = 1 + (seed >> 8) % len;
                } else {
                        len = 1 + (seed >> 8) % sizeof(msg);
                        for (size_t b = 0; b < len; b++) {
                                seed = seed * 1103515245u + 12345u;
                                msg[b] = (char) (seed >> 16);
                        }
                }
                CHECK(send(fd, msg, len, 0) == (ssize_t) len);

                /* The reply comes once the loop has served the message. */
                ssize_t k;
                while ((k = recv(fd, reply, sizeof(reply) - 1, MSG_DONTWAIT)) < 0 && errno == EAGAIN)
                        CHECK(sd_event_run(e, 1000000) >= 0);
                CHECK(k > 0);
                reply[k] = 0;
                if (strcmp(reply, "ok\n") == 0)
                        ok++;
                else {
                        CHECK(strncmp(reply, "err ", 4) == 0);
                        err++;
                }
                if (len > 255)
                        CHECK(strcmp(reply, "err message too long\n") == 0);
        }
        fprintf(stderr, "fuzz: %u ok, %u err\n", ok, err);
        CHECK(ok > 0 && err > 0);

        close(fd);
        sim = gpio_backend_free(sim);
        sd_event_unref(e);
}

static const TapCase cases[] = {
        { "api", test_api },
        { "record_bound", test_record_bound },
        { "socket_path", test_socket_path },
        { "press_and_cue", test_press_and_cue },
        { "fuzz_commands", test_fuzz_commands },
};

int main(int argc, char **argv) {
        int r;

        if (!mkdtemp(dir))
                return 1;
        r = tap_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
        if (rmdir(dir) < 0) {
                printf("# %s left behind\n", dir);
                r = 1;
        }
        return r;
}
