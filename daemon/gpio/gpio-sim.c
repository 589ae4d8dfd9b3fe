/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gpio/gpio-sim.h"
#include "shared/macro.h"

typedef struct SimPin {
        char *chip;
        char *key;
        int external;        /* driven physical level, -1 when floating (bias decides) */
        bool physical;       /* current physical level */
        bool requested;
        bool output;
        bool active_low;
        GpioBias bias;
        nsec_t changed_at;   /* last output change, CLOCK_MONOTONIC */
        int pipe[2];         /* input edge queue: the event fd is pipe[0] */
} SimPin;

typedef struct SimLine {
        GpioLine base;
        SimPin *pin;
} SimLine;

typedef struct SimClient {
        struct SimBackend *sim;
        int fd;
        sd_event_source *source;
} SimClient;

typedef struct SimBackend {
        GpioBackend base;
        SimPin **pins;
        size_t n_pins;
        /* The last GPIO_SIM_RECORD_MAX output changes: a ring, grown on demand up to that
         * size, oldest at record_head. A long demo or soak must not grow without bound. */
        GpioSimEdge *record;
        size_t n_record, allocated_record, record_head;
        uint64_t record_dropped;

        sd_event *event;
        char *socket_path;
        int listen_fd;
        sd_event_source *listen_source;
        SimClient **clients;
        size_t n_clients;
} SimBackend;

static const GpioBackendOps sim_ops;

bool gpio_backend_is_sim(const GpioBackend *b) {
        return b && b->ops == &sim_ops;
}

static SimBackend *to_sim(GpioBackend *b) {
        return gpio_backend_is_sim(b) ? (SimBackend *) b : NULL;
}

static void line_key(const GpioLineSpec *spec, char buf[static 64]) {
        if (spec->name)
                snprintf(buf, 64, "%s", spec->name);
        else
                snprintf(buf, 64, "%u", spec->offset);
}

static SimPin *pin_find(SimBackend *s, const char *chip, const char *key) {
        for (size_t i = 0; i < s->n_pins; i++)
                if (strcmp(s->pins[i]->chip, chip) == 0 && strcmp(s->pins[i]->key, key) == 0)
                        return s->pins[i];
        return NULL;
}

static int pin_get(SimBackend *s, const char *chip, const char *key, SimPin **ret) {
        SimPin *p = pin_find(s, chip, key), **a;

        if (p) {
                *ret = p;
                return 0;
        }
        if (strlen(chip) >= 64 || strlen(key) >= 64)
                return -ENAMETOOLONG;

        a = realloc(s->pins, (s->n_pins + 1) * sizeof(*a));
        if (!a)
                return -ENOMEM;
        s->pins = a;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *p = (SimPin) { .external = -1, .pipe = { -EBADF, -EBADF } };
        p->chip = strdup(chip);
        p->key = strdup(key);
        if (!p->chip || !p->key) {
                free(p->chip);
                free(p->key);
                free(p);
                return -ENOMEM;
        }
        s->pins[s->n_pins++] = p;
        *ret = p;
        return 0;
}

static bool pin_input_physical(const SimPin *p) {
        if (p->external >= 0)
                return p->external;
        return p->requested && p->bias == GPIO_BIAS_PULL_UP;
}

static void clients_broadcast(SimBackend *s, const char *msg);

static void record_push(SimBackend *s, const SimPin *p) {
        GpioSimEdge *e;

        if (s->n_record == s->allocated_record && s->allocated_record < GPIO_SIM_RECORD_MAX &&
            s->record_head == 0) {
                /* Still growing: the ring has not wrapped yet (head is 0). */
                size_t n = MIN(MAX(s->allocated_record * 2, (size_t) 64), (size_t) GPIO_SIM_RECORD_MAX);
                GpioSimEdge *a = realloc(s->record, n * sizeof(*a));
                if (a) {
                        s->record = a;
                        s->allocated_record = n;
                }
        }
        if (s->allocated_record == 0) {
                s->record_dropped++;   /* out of memory: the history is best effort */
                return;
        }
        if (s->n_record < s->allocated_record)
                e = &s->record[(s->record_head + s->n_record++) % s->allocated_record];
        else {
                /* Full: the oldest change makes room. */
                e = &s->record[s->record_head];
                s->record_head = (s->record_head + 1) % s->allocated_record;
                s->record_dropped++;
        }
        *e = (GpioSimEdge) { .chip = p->chip, .line = p->key, .value = p->physical, .at = p->changed_at };
}

static int pin_drive_output(SimBackend *s, SimPin *p, bool physical) {
        char msg[128];

        if (p->physical == physical)
                return 0;
        p->physical = physical;
        p->changed_at = now_monotonic();
        record_push(s, p);

        snprintf(msg, sizeof(msg), "out %s %d %" PRIu64 "\n", p->key, physical, p->changed_at);
        clients_broadcast(s, msg);
        return 0;
}

/* Recomputes an input's level after its drive or bias changed; queues an edge if the
 * logical level of a requested input changed. A full queue drops edges, as the kernel's
 * 16-entry v1 event FIFO does. */
static void pin_update_input(SimPin *p, nsec_t ts) {
        bool physical = pin_input_physical(p);
        bool was = p->physical;

        p->physical = physical;
        if (was == physical || !p->requested || p->output || p->pipe[1] < 0)
                return;

        GpioEdge e;

        memset(&e, 0, sizeof(e));   /* padding goes through a pipe */
        e.rising = physical != p->active_low;
        e.ts = ts ?: now_monotonic();
        (void) !write(p->pipe[1], &e, sizeof(e));
}

static int sim_request(GpioBackend *b, const GpioLineSpec *spec, bool output, bool initial,
                       GpioLine **ret) {
        SimBackend *s = (SimBackend *) b;
        SimPin *p;
        SimLine *l;
        char key[64];
        int r;

        line_key(spec, key);
        r = pin_get(s, spec->chip, key, &p);
        if (r < 0)
                return r;
        if (p->requested)
                return -EBUSY;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;

        if (!output && pipe2(p->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = negative_errno();
                free(l);
                return r;
        }

        l->base.backend = b;
        l->pin = p;
        p->requested = true;
        p->output = output;
        p->active_low = spec->active_low;
        p->bias = output ? GPIO_BIAS_AS_IS : spec->bias;

        if (output)
                (void) pin_drive_output(s, p, initial != spec->active_low);
        else
                /* Requesting with a bias applies the pull, as on real hardware: no event,
                 * the requester reads its initial level. */
                p->physical = pin_input_physical(p);

        *ret = &l->base;
        return 0;
}

static int sim_request_input(GpioBackend *b, const GpioLineSpec *spec, const char *consumer,
                             GpioLine **ret) {
        return sim_request(b, spec, false, false, ret);
}

static int sim_request_output(GpioBackend *b, const GpioLineSpec *spec, const char *consumer,
                              bool initial, GpioLine **ret) {
        return sim_request(b, spec, true, initial, ret);
}

static int sim_line_event_fd(GpioLine *gl) {
        SimLine *l = (SimLine *) gl;

        return l->pin->output ? -ENOTTY : l->pin->pipe[0];
}

static int sim_line_read_events(GpioLine *gl, GpioEdge *buf, size_t n) {
        SimLine *l = (SimLine *) gl;
        ssize_t k;

        if (l->pin->output)
                return -ENOTTY;
        n = MIN(n, (size_t) 16);
        k = read(l->pin->pipe[0], buf, n * sizeof(GpioEdge));
        if (k < 0)
                return errno == EAGAIN ? -EAGAIN : negative_errno();
        if (k == 0)
                return -EAGAIN;
        return (int) ((size_t) k / sizeof(GpioEdge));
}

static int sim_line_get_value(GpioLine *gl) {
        SimLine *l = (SimLine *) gl;

        return l->pin->physical != l->pin->active_low;
}

static int sim_line_set_value(GpioLine *gl, bool value) {
        SimLine *l = (SimLine *) gl;

        if (!l->pin->output)
                return -EPERM;
        return pin_drive_output((SimBackend *) gl->backend, l->pin, value != l->pin->active_low);
}

static void sim_line_free(GpioLine *gl) {
        SimLine *l = (SimLine *) gl;
        SimPin *p = l->pin;

        closep(&p->pipe[0]);
        closep(&p->pipe[1]);
        p->pipe[0] = p->pipe[1] = -EBADF;
        p->requested = false;
        if (!p->output)
                p->physical = pin_input_physical(p);
        free(l);
}

int gpio_sim_set_input(GpioBackend *b, const char *chip, const char *line, bool level, nsec_t ts) {
        SimBackend *s = to_sim(b);
        SimPin *p;
        int r;

        if (!s || !chip || !line || !chip[0] || !line[0])
                return -EINVAL;
        r = pin_get(s, chip, line, &p);
        if (r < 0)
                return r;
        if (p->requested && p->output)
                return -EPERM;
        p->external = level;
        pin_update_input(p, ts);
        return 0;
}

int gpio_sim_get_level(GpioBackend *b, const char *chip, const char *line) {
        SimBackend *s = to_sim(b);
        SimPin *p;

        if (!s || !chip || !line)
                return -EINVAL;
        p = pin_find(s, chip, line);
        return p ? p->physical : -ENOENT;
}

static void edges_reverse(GpioSimEdge *a, size_t n) {
        for (size_t i = 0; i < n / 2; i++) {
                GpioSimEdge t = a[i];
                a[i] = a[n - 1 - i];
                a[n - 1 - i] = t;
        }
}

const GpioSimEdge *gpio_sim_get_record(GpioBackend *b, size_t *ret_n) {
        SimBackend *s = to_sim(b);

        if (!s) {
                *ret_n = 0;
                return NULL;
        }
        if (s->record_head > 0) {
                /* Wrapped (so full): rotate in place, oldest first, without allocating. */
                size_t h = s->record_head, n = s->n_record;

                edges_reverse(s->record, h);
                edges_reverse(s->record + h, n - h);
                edges_reverse(s->record, n);
                s->record_head = 0;
        }
        *ret_n = s->n_record;
        return s->record;
}

uint64_t gpio_sim_get_record_dropped(GpioBackend *b) {
        SimBackend *s = to_sim(b);

        return s ? s->record_dropped : 0;
}

void gpio_sim_clear_record(GpioBackend *b) {
        SimBackend *s = to_sim(b);

        if (s) {
                s->n_record = 0;
                s->record_head = 0;
                s->record_dropped = 0;
        }
}

/* ---- control socket ---- */

static void client_free(SimClient *c) {
        sd_event_source_disable_unref(c->source);
        closep(&c->fd);
        free(c);
}

static void client_remove(SimBackend *s, SimClient *c) {
        for (size_t i = 0; i < s->n_clients; i++)
                if (s->clients[i] == c) {
                        s->clients[i] = s->clients[--s->n_clients];
                        break;
                }
        client_free(c);
}

static int client_send(SimClient *c, const char *msg) {
        return send(c->fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? negative_errno() : 0;
}

static void clients_broadcast(SimBackend *s, const char *msg) {
        /* A client that cannot keep up is dropped: the sim must never block the loop. */
        for (size_t i = s->n_clients; i > 0; i--) {
                SimClient *c = s->clients[i - 1];

                if (client_send(c, msg) < 0)
                        client_remove(s, c);
        }
}

/* The current level of every output, for a client that connects mid-session. */
static int client_send_state(SimClient *c) {
        SimBackend *s = c->sim;
        char msg[128];

        for (size_t i = 0; i < s->n_pins; i++) {
                SimPin *p = s->pins[i];

                if (!p->output)
                        continue;
                snprintf(msg, sizeof(msg), "out %s %d %" PRIu64 "\n", p->key, p->physical,
                         p->changed_at);
                if (client_send(c, msg) < 0)
                        return -EAGAIN;
        }
        return 0;
}

/* Returns NULL on success, else the reason. */
static const char *client_command(SimClient *c, char *msg) {
        SimBackend *s = c->sim;
        char *words[8], *save = NULL;
        size_t n = 0;
        int r;

        for (char *w = strtok_r(msg, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
                if (n == ELEMENTSOF(words))
                        return "too many words";
                words[n++] = w;
        }
        if (n == 0)
                return "empty command";
        if (strcmp(words[0], "state") == 0) {
                if (n != 1)
                        return "usage: state";
                return client_send_state(c) < 0 ? "state too large" : NULL;
        }
        if (strcmp(words[0], "in") != 0)
                return "unknown command";
        if (n != 4)
                return "usage: in <chip> <line> <0|1>";
        if (strcmp(words[3], "0") != 0 && strcmp(words[3], "1") != 0)
                return "level must be 0 or 1";

        r = gpio_sim_set_input(&s->base, words[1], words[2], words[3][0] == '1', 0);
        if (r == -EPERM)
                return "line is an output";
        if (r == -ENAMETOOLONG)
                return "name too long";
        if (r < 0)
                return "failed";
        return NULL;
}

static int on_client(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        SimClient *c = userdata;
        SimBackend *s = c->sim;
        char buf[256], reply[128];
        const char *err;
        ssize_t k;

        k = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT | MSG_TRUNC);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (k <= 0) {
                client_remove(s, c);
                return 0;
        }

        if ((size_t) k >= sizeof(buf))
                err = "message too long";
        else {
                buf[k] = 0;
                err = memchr(buf, 0, (size_t) k) ? "NUL in message" : client_command(c, buf);
        }

        snprintf(reply, sizeof(reply), err ? "err %s\n" : "ok\n", err);
        if (client_send(c, reply) < 0)
                client_remove(s, c);
        return 0;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        SimBackend *s = userdata;
        SimClient *c, **a;
        int r;

        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0; /* the client went away, or out of fds: keep serving the others */

        a = realloc(s->clients, (s->n_clients + 1) * sizeof(*a));
        if (!a) {
                close(cfd);
                return 0;
        }
        s->clients = a;

        c = calloc(1, sizeof(*c));
        if (!c) {
                close(cfd);
                return 0;
        }
        c->sim = s;
        c->fd = cfd;
        r = sd_event_add_io(s->event, &c->source, cfd, EPOLLIN, on_client, c);
        if (r < 0) {
                client_free(c);
                return 0;
        }
        s->clients[s->n_clients++] = c;
        return 0;
}

static int sim_listen(SimBackend *s, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        /* A stale socket from a crashed run would make bind() fail; anything else at that
         * path is not ours to remove. */
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return -EEXIST;
                if (unlink(path) < 0)
                        return negative_errno();
        }

        s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->listen_fd < 0)
                return negative_errno();
        if (bind(s->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        s->socket_path = strdup(path);
        if (!s->socket_path) {
                unlink(path);
                return -ENOMEM;
        }
        if (listen(s->listen_fd, 8) < 0)
                return negative_errno();

        r = sd_event_add_io(s->event, &s->listen_source, s->listen_fd, EPOLLIN, on_accept, s);
        return r < 0 ? r : 0;
}

static void sim_free(GpioBackend *b) {
        SimBackend *s = (SimBackend *) b;

        for (size_t i = 0; i < s->n_clients; i++)
                client_free(s->clients[i]);
        free(s->clients);
        sd_event_source_disable_unref(s->listen_source);
        closep(&s->listen_fd);
        if (s->socket_path)
                unlink(s->socket_path);
        free(s->socket_path);
        sd_event_unref(s->event);

        for (size_t i = 0; i < s->n_pins; i++) {
                closep(&s->pins[i]->pipe[0]);
                closep(&s->pins[i]->pipe[1]);
                free(s->pins[i]->chip);
                free(s->pins[i]->key);
                free(s->pins[i]);
        }
        free(s->pins);
        free(s->record);
        free(s);
}

static const GpioBackendOps sim_ops = {
        .name = "sim",
        .request_input = sim_request_input,
        .request_output = sim_request_output,
        .line_event_fd = sim_line_event_fd,
        .line_read_events = sim_line_read_events,
        .line_get_value = sim_line_get_value,
        .line_set_value = sim_line_set_value,
        .line_free = sim_line_free,
        .free = sim_free,
};

int gpio_sim_new(sd_event *event, const char *socket_path, GpioBackend **ret) {
        SimBackend *s;
        int r;

        if (!ret || (socket_path && (!event || !socket_path[0])))
                return -EINVAL;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->base.ops = &sim_ops;
        s->listen_fd = -EBADF;

        if (socket_path) {
                s->event = sd_event_ref(event);
                r = sim_listen(s, socket_path);
                if (r < 0) {
                        sim_free(&s->base);
                        return r;
                }
        }

        *ret = &s->base;
        return 0;
}
