/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "ble-lab.h"

/* The lab's own failures (a process that will not start, a bus call that cannot be built):
 * not a test's verdict, nothing to go on with. */
#define LAB_ASSERT(expr)                                                                        \
        do {                                                                                    \
                if (!(expr)) {                                                                  \
                        fprintf(stderr, "%s:%d: lab: %s\n", __FILE__, __LINE__, #expr);          \
                        lab_dump_and_abort();                                                   \
                }                                                                               \
        } while (0)

#define LAB_ASSERT_OK(expr)                                                                     \
        do {                                                                                    \
                int _r = (expr);                                                                \
                if (_r < 0) {                                                                   \
                        fprintf(stderr, "%s:%d: lab: %s failed: %s\n", __FILE__, __LINE__, #expr, \
                                strerror(-_r));                                                 \
                        lab_dump_and_abort();                                                   \
                }                                                                               \
        } while (0)
#include "ble/drivers/driver.h"

#ifndef BLE_SIM_DIR
#error "BLE_SIM_DIR must point at tests/ble/sim"
#endif

/* Test-only global so that a failed check can still kill the helper processes. */
Lab *lab_current;

static void kill_children(Lab *lab) {
        if (lab->sim_pid > 0) {
                kill(lab->sim_pid, SIGTERM);
                waitpid(lab->sim_pid, NULL, 0);
                lab->sim_pid = 0;
        }
        if (lab->bus_pid > 0) {
                kill(lab->bus_pid, SIGTERM);
                waitpid(lab->bus_pid, NULL, 0);
                lab->bus_pid = 0;
        }
}

void lab_dump(const Lab *lab) {
        fprintf(stderr, "--- simulator calls (%zu)\n", lab->n_calls);
        for (size_t i = 0; i < lab->n_calls; i++)
                fprintf(stderr, "  %8.3f ms %s %s\n", (double) lab->calls[i].when / 1e6, lab->calls[i].name,
                        lab->calls[i].path);
        fprintf(stderr, "--- samples: %zu, states: %zu, taps: %zu\n", lab->n_samples, lab->n_states, lab->n_taps);
        fprintf(stderr, "--- simulator log in %s\n", lab->dir);
}

void lab_dump_and_abort(void) {
        Lab *lab = lab_current;

        if (lab) {
                lab_dump(lab);
                kill_children(lab);
        }
        exit(EXIT_FAILURE);
}

static nsec_t lab_now(Lab *lab) {
        uint64_t usec;
        LAB_ASSERT_OK(sd_event_now(lab->event, CLOCK_MONOTONIC, &usec));
        return (nsec_t) usec * NSEC_PER_USEC;
}

/* --- signal recording --- */

static int skip_to_inner(sd_bus_message *m, char *ret_type, const char **ret_contents) {
        /* unwraps nested variants; returns the innermost type */
        for (;;) {
                char type;
                const char *contents;
                int r = sd_bus_message_peek_type(m, &type, &contents);
                if (r <= 0)
                        return r < 0 ? r : -ENODATA;
                if (type != 'v') {
                        *ret_type = type;
                        *ret_contents = contents;
                        return 0;
                }
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;
        }
}

static void parse_filter(LabCall *c, sd_bus_message *m) {
        const char *contents;
        char type;

        c->duplicate_data = -1;
        c->n_uuids = -1;
        if (skip_to_inner(m, &type, &contents) < 0 || type != 'a')
                return;
        if (sd_bus_message_enter_container(m, 'a', contents) < 0)
                return;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                const char *key;
                if (sd_bus_message_read(m, "s", &key) < 0)
                        return;
                if (skip_to_inner(m, &type, &contents) < 0)
                        return;
                if (strcmp(key, "Transport") == 0 && type == 's') {
                        const char *s;
                        if (sd_bus_message_read(m, "s", &s) >= 0)
                                snprintf(c->transport, sizeof(c->transport), "%s", s);
                } else if (strcmp(key, "DuplicateData") == 0 && type == 'b') {
                        int b;
                        if (sd_bus_message_read(m, "b", &b) >= 0)
                                c->duplicate_data = b;
                } else if (strcmp(key, "UUIDs") == 0 && type == 'a') {
                        const char *s;
                        c->n_uuids = 0;
                        if (sd_bus_message_enter_container(m, 'a', "s") < 0)
                                return;
                        while (sd_bus_message_read(m, "s", &s) > 0)
                                if (c->n_uuids++ == 0)
                                        snprintf(c->uuid0, sizeof(c->uuid0), "%s", s);
                        return;   /* enough for the tests */
                } else
                        return;
                /* leave nested variants and the dict entry */
                while (sd_bus_message_exit_container(m) >= 0) {
                        char t;
                        const char *ct;
                        if (sd_bus_message_peek_type(m, &t, &ct) > 0 && t == 'e')
                                break;
                        if (sd_bus_message_at_end(m, false) <= 0)
                                break;
                }
        }
}

static int on_method_called(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Lab *lab = userdata;
        const char *name, *contents;
        char type;
        LabCall *c;

        if (lab->n_calls >= LAB_MAX)
                return 0;
        if (sd_bus_message_read(m, "s", &name) < 0)
                return 0;
        c = &lab->calls[lab->n_calls++];
        memset(c, 0, sizeof(*c));
        c->byte0 = -1;
        c->duplicate_data = -1;
        c->n_uuids = -1;
        snprintf(c->name, sizeof(c->name), "%s", name);
        snprintf(c->path, sizeof(c->path), "%s", sd_bus_message_get_path(m) ?: "");
        c->when = lab_now(lab);
        if (sd_bus_message_enter_container(m, 'a', "v") < 0)
                return 0;
        if (strcmp(name, "WriteValue") == 0) {
                const void *p;
                size_t n;
                if (skip_to_inner(m, &type, &contents) >= 0 && type == 'a' &&
                    sd_bus_message_read_array(m, 'y', &p, &n) >= 0 && n > 0)
                        c->byte0 = ((const uint8_t *) p)[0];
        } else if (strcmp(name, "Set") == 0) {
                const char *iface, *prop;
                int b;
                if (sd_bus_message_read(m, "v", "s", &iface) >= 0 && sd_bus_message_read(m, "v", "s", &prop) >= 0 &&
                    strcmp(prop, "Powered") == 0 && skip_to_inner(m, &type, &contents) >= 0 && type == 'b' &&
                    sd_bus_message_read(m, "b", &b) >= 0)
                        c->byte0 = b;
        } else if (strcmp(name, "SetDiscoveryFilter") == 0)
                parse_filter(c, m);
        return 0;
}

static void connected_set(Lab *lab, const char *path, bool on) {
        for (size_t i = 0; i < lab->n_connected; i++)
                if (strcmp(lab->connected[i], path) == 0) {
                        if (!on) {
                                memmove(lab->connected[i], lab->connected[i + 1],
                                        (lab->n_connected - i - 1) * sizeof(lab->connected[0]));
                                lab->n_connected--;
                        }
                        return;
                }
        if (on && lab->n_connected < 16) {
                snprintf(lab->connected[lab->n_connected++], sizeof(lab->connected[0]), "%s", path);
                if (lab->n_connected > lab->max_connected)
                        lab->max_connected = lab->n_connected;
        }
}

static int on_props_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Lab *lab = userdata;
        const char *iface;

        if (sd_bus_message_read(m, "s", &iface) < 0)
                return 0;
        if (strcmp(iface, "org.bluez.GattCharacteristic1") == 0) {
                int b;
                if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
                        return 0;
                while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                        const char *key;
                        if (sd_bus_message_read(m, "s", &key) < 0)
                                return 0;
                        if ((strcmp(key, "Notifying") == 0 || strcmp(key, "NotifyAcquired") == 0) &&
                            sd_bus_message_read(m, "v", "b", &b) >= 0) {
                                if (!b)
                                        lab->notifying_off++;
                        }
                        else if (sd_bus_message_skip(m, "v") < 0)
                                return 0;
                        if (sd_bus_message_exit_container(m) < 0)
                                return 0;
                }
                return 0;
        }
        if (strcmp(iface, "org.bluez.Device1") != 0)
                return 0;
        if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                const char *key;
                if (sd_bus_message_read(m, "s", &key) < 0)
                        return 0;
                if (strcmp(key, "Connected") == 0) {
                        int b;
                        if (sd_bus_message_read(m, "v", "b", &b) >= 0)
                                connected_set(lab, sd_bus_message_get_path(m), b);
                } else if (sd_bus_message_skip(m, "v") < 0)
                        return 0;
                if (sd_bus_message_exit_container(m) < 0)
                        return 0;
        }
        return 0;
}

static int on_trace_finished(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Lab *lab = userdata;
        lab->traces_finished++;
        return 0;
}

static int on_owner(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Lab *lab = userdata;
        const char *name, *old, *new;

        if (sd_bus_message_read(m, "sss", &name, &old, &new) >= 0 && strcmp(name, "org.bluez") == 0) {
                lab->bluez_up = new[0] != '\0';
                if (!lab->bluez_up)
                        lab->n_connected = 0;
        }
        return 0;
}

/* --- manager callbacks --- */

static void cb_state(const char *address, const char *driver, bool connected, void *userdata) {
        Lab *lab = userdata;
        LAB_ASSERT(lab->n_states < ELEMENTSOF(lab->states));
        LabState *s = &lab->states[lab->n_states++];
        snprintf(s->address, sizeof(s->address), "%s", address);
        s->connected = connected;
}

static void cb_sample(const char *address, void *owner, double newtons, nsec_t arrival, bool has_ts,
                      uint64_t ts, void *userdata) {
        Lab *lab = userdata;
        LAB_ASSERT(lab->n_samples < LAB_MAX);
        LabSample *s = &lab->samples[lab->n_samples++];
        snprintf(s->address, sizeof(s->address), "%s", address);
        s->newtons = newtons;
        s->has_ts = has_ts;
        s->ts = ts;
}

static void cb_battery(const char *address, int percent, int mv, void *userdata) {
        Lab *lab = userdata;
        lab->battery = percent;
        lab->battery_mv = mv;
}

static void cb_tap(const char *athlete, const char *address, int rssi, void *userdata) {
        Lab *lab = userdata;
        LAB_ASSERT(lab->n_taps < ELEMENTSOF(lab->taps));
        LabTap *t = &lab->taps[lab->n_taps++];
        snprintf(t->athlete, sizeof(t->athlete), "%s", athlete);
        snprintf(t->address, sizeof(t->address), "%s", address);
        t->rssi = rssi;
}

static void cb_log(int priority, const char *message, void *userdata) {
        Lab *lab = userdata;
        fprintf(stderr, "[ble <%d>] %s\n", priority, message);
        if (lab->n_logs < ELEMENTSOF(lab->logs))
                snprintf(lab->logs[lab->n_logs++], sizeof(lab->logs[0]), "%s", message);
}

/* --- processes --- */

/* stdout to out_fd if >= 0 (else to log_path), stderr to log_path */
static pid_t spawn(const char *const argv[], const char *log_path, int out_fd) {
        pid_t pid = fork();
        LAB_ASSERT(pid >= 0);
        if (pid == 0) {
                int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (log < 0 || dup2(out_fd >= 0 ? out_fd : log, STDOUT_FILENO) < 0 || dup2(log, STDERR_FILENO) < 0)
                        _exit(127);
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
        return pid;
}

static bool pred_bluez(Lab *lab, const void *arg) {
        return lab->bluez_up == *(const bool *) arg;
}

void lab_sim_start(Lab *lab) {
        char log[128];
        static const bool up = true;

        snprintf(log, sizeof(log), "%s/sim-%u.log", lab->dir, lab->sim_generation++);
        const char *const argv[] = { "/usr/bin/python3", "-m", "dbusmock", "--system", "-t", lab->sim_path,
                                     "-p", "{\"adapters\": [\"hci0\"]}", NULL };
        lab->sim_pid = spawn(argv, log, -1);
        lab_wait(lab, pred_bluez, &up, 15000, "simulator owns org.bluez");
}

void lab_sim_kill(Lab *lab) {
        static const bool down = false;

        LAB_ASSERT(lab->sim_pid > 0);
        LAB_ASSERT(kill(lab->sim_pid, SIGTERM) == 0);
        lab_wait(lab, pred_bluez, &down, 5000, "org.bluez released");
        LAB_ASSERT(waitpid(lab->sim_pid, NULL, 0) == lab->sim_pid);
        lab->sim_pid = 0;
}

static bool have_dbusmock(void) {
        int status;
        pid_t pid = fork();

        LAB_ASSERT(pid >= 0);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0)
                        (void) dup2(null, STDERR_FILENO);
                execl("/usr/bin/python3", "python3", "-c", "import dbusmock, gi.repository.GLib", (char *) NULL);
                _exit(127);
        }
        LAB_ASSERT(waitpid(pid, &status, 0) == pid);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void lab_start(Lab *lab) {
        char conf[128], addr[256], env[300];
        int pipefd[2];
        FILE *f;
        ssize_t n;
        size_t got = 0;

        memset(lab, 0, sizeof(*lab));
        lab_current = lab;
        lab->battery = -1;
        lab->battery_mv = -1;
        snprintf(lab->sim_path, sizeof(lab->sim_path), "%s/tphub_bluez.py", BLE_SIM_DIR);
        if (access("/usr/bin/python3", X_OK) < 0 || access("/usr/bin/dbus-daemon", X_OK) < 0 ||
            !have_dbusmock()) {
                fprintf(stderr, "python3, python3-dbusmock or dbus-daemon missing: skipping\n");
                exit(77);
        }
        snprintf(lab->dir, sizeof(lab->dir), "/tmp/tphub-ble-XXXXXX");
        LAB_ASSERT(mkdtemp(lab->dir));
        snprintf(conf, sizeof(conf), "%s/bus.conf", lab->dir);
        f = fopen(conf, "we");
        LAB_ASSERT(f);
        fprintf(f,
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<busconfig>\n"
                "  <type>system</type>\n"
                "  <listen>unix:path=%s/system_bus_socket</listen>\n"
                "  <auth>EXTERNAL</auth>\n"
                "  <policy context=\"default\">\n"
                "    <allow user=\"*\"/>\n"
                "    <allow own=\"*\"/>\n"
                "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                "    <allow receive_sender=\"*\"/>\n"
                "    <allow eavesdrop=\"true\"/>\n"
                "  </policy>\n"
                "</busconfig>\n",
                lab->dir);
        LAB_ASSERT(fclose(f) == 0);

        LAB_ASSERT(pipe2(pipefd, O_CLOEXEC) == 0);
        char conf_arg[160];
        snprintf(conf_arg, sizeof(conf_arg), "--config-file=%s", conf);
        const char *const argv[] = { "/usr/bin/dbus-daemon", conf_arg, "--nofork", "--print-address=1", NULL };
        char bus_log[128];
        snprintf(bus_log, sizeof(bus_log), "%s/bus.log", lab->dir);
        lab->bus_pid = spawn(argv, bus_log, pipefd[1]);
        close(pipefd[1]);
        /* the address line is the daemon's "ready" */
        while (got < sizeof(addr) - 1 && (n = read(pipefd[0], addr + got, sizeof(addr) - 1 - got)) > 0) {
                got += (size_t) n;
                if (memchr(addr, '\n', got))
                        break;
        }
        close(pipefd[0]);
        addr[got] = '\0';
        LAB_ASSERT(strchr(addr, '\n'));
        *strchr(addr, '\n') = '\0';
        snprintf(env, sizeof(env), "%s", addr);
        LAB_ASSERT(setenv("DBUS_SYSTEM_BUS_ADDRESS", env, 1) == 0);

        LAB_ASSERT_OK(sd_event_new(&lab->event));
        LAB_ASSERT_OK(sd_bus_open_system(&lab->ctl));
        LAB_ASSERT_OK(sd_bus_attach_event(lab->ctl, lab->event, 0));
        LAB_ASSERT_OK(sd_bus_match_signal(lab->ctl, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "NameOwnerChanged", on_owner, lab));
        LAB_ASSERT_OK(sd_bus_add_match(lab->ctl, NULL,
                                  "type='signal',interface='org.freedesktop.DBus.Mock',member='MethodCalled'",
                                  on_method_called, lab));
        LAB_ASSERT_OK(sd_bus_add_match(lab->ctl, NULL,
                                  "type='signal',interface='org.freedesktop.DBus.Properties',"
                                  "member='PropertiesChanged',path_namespace='/org/bluez'",
                                  on_props_changed, lab));
        LAB_ASSERT_OK(sd_bus_add_match(lab->ctl, NULL,
                                  "type='signal',interface='org.tphub.BlueZSim1',member='TraceFinished'",
                                  on_trace_finished, lab));
        lab_sim_start(lab);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -errno : 0;
}

void lab_stop(Lab *lab) {
        lab->manager = ble_manager_free(lab->manager);
        if (lab->bus) {
                sd_bus_flush(lab->bus);
                lab->bus = sd_bus_flush_close_unref(lab->bus);
        }
        lab->ctl = sd_bus_flush_close_unref(lab->ctl);
        lab->event = sd_event_unref(lab->event);
        kill_children(lab);
        (void) nftw(lab->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        lab_current = NULL;
}

void lab_manager_new(Lab *lab, const BleManagerConfig *cfg) {
        static const BleCallbacks cb = {
                .tool_state = cb_state,
                .tool_sample = cb_sample,
                .tool_battery = cb_battery,
                .tag_tap = cb_tap,
                .log = cb_log,
        };

        LAB_ASSERT_OK(sd_bus_open_system(&lab->bus));
        LAB_ASSERT_OK(sd_bus_attach_event(lab->bus, lab->event, 0));
        LAB_ASSERT_OK(ble_manager_new(&lab->manager, lab->bus, lab->event, cfg, &cb, lab));
}

/* --- waiting --- */

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        *(bool *) userdata = true;
        return 0;
}

void lab_wait(Lab *lab, lab_pred_t pred, const void *arg, unsigned timeout_ms, const char *what) {
        sd_event_source *deadline = NULL;
        bool expired = false;

        LAB_ASSERT_OK(sd_event_add_time_relative(lab->event, &deadline, CLOCK_MONOTONIC, (uint64_t) timeout_ms * 1000U,
                                            1000, on_deadline, &expired));
        while (!pred(lab, arg) && !expired)
                LAB_ASSERT_OK(sd_event_run(lab->event, UINT64_MAX));
        sd_event_source_disable_unref(deadline);
        if (!pred(lab, arg)) {
                fprintf(stderr, "timed out after %u ms waiting for: %s\n", timeout_ms, what);
                lab_dump_and_abort();
        }
}

static bool pred_never(Lab *lab, const void *arg) {
        return false;
}

void lab_run_for(Lab *lab, unsigned ms) {
        sd_event_source *deadline = NULL;
        bool expired = false;

        LAB_ASSERT_OK(sd_event_add_time_relative(lab->event, &deadline, CLOCK_MONOTONIC, (uint64_t) ms * 1000U, 1000,
                                            on_deadline, &expired));
        while (!expired && !pred_never(lab, NULL))
                LAB_ASSERT_OK(sd_event_run(lab->event, UINT64_MAX));
        sd_event_source_disable_unref(deadline);
}

/* --- simulator control (synchronous: the simulator never waits for us) --- */

static void sim_send(Lab *lab, sd_bus_message *m) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r = sd_bus_call(lab->ctl, m, 5 * 1000 * 1000, &e, &reply);
        if (r < 0) {
                fprintf(stderr, "simulator call %s failed: %s %s\n", sd_bus_message_get_member(m), e.name, e.message);
                lab_dump_and_abort();
        }
        sd_bus_error_free(&e);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
}

static sd_bus_message *sim_msg(Lab *lab, const char *member) {
        sd_bus_message *m = NULL;
        LAB_ASSERT_OK(sd_bus_message_new_method_call(lab->ctl, &m, "org.bluez", "/", "org.tphub.BlueZSim1", member));
        return m;
}

void sim_add_tool(Lab *lab, const char *address, const char *kind, const char *name, int rssi, bool early_value) {
        sd_bus_message *m = sim_msg(lab, "AddTool");
        LAB_ASSERT_OK(sd_bus_message_append(m, "ssss", "hci0", address, kind, name));
        LAB_ASSERT_OK(sd_bus_message_append(m, "a{sv}", 4, "rssi", "n", (int16_t) rssi, "early_value", "b", (int) early_value,
                                       "connect_delay_ms", "u", 10U, "resolve_delay_ms", "u", 10U));
        sim_send(lab, m);
}

void sim_add_tool_flag(Lab *lab, const char *address, const char *kind, const char *name, const char *flag) {
        sd_bus_message *m = sim_msg(lab, "AddTool");
        LAB_ASSERT_OK(sd_bus_message_append(m, "ssss", "hci0", address, kind, name));
        LAB_ASSERT_OK(sd_bus_message_append(m, "a{sv}", 3, flag, "b", 1, "connect_delay_ms", "u", 10U,
                                       "resolve_delay_ms", "u", 10U));
        sim_send(lab, m);
}

bool sim_try_add_tool(Lab *lab, const char *address, const char *kind, const char *name) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = sim_msg(lab, "AddTool");
        int r;

        LAB_ASSERT_OK(sd_bus_message_append(m, "ssss", "hci0", address, kind, name));
        LAB_ASSERT_OK(sd_bus_message_append(m, "a{sv}", 0));
        r = sd_bus_call(lab->ctl, m, 5 * 1000 * 1000, &e, NULL);
        sd_bus_message_unref(m);
        if (r < 0 && !sd_bus_error_has_name(&e, "org.tphub.BlueZSim1.Error")) {
                fprintf(stderr, "AddTool %s: %s %s\n", kind, e.name, e.message);
                lab_dump_and_abort();
        }
        sd_bus_error_free(&e);
        return r >= 0;
}

void sim_set_trace(Lab *lab, const char *address, const double *t_ms, const double *force_n, size_t n) {
        sd_bus_message *m = sim_msg(lab, "SetTrace");
        LAB_ASSERT_OK(sd_bus_message_append(m, "s", address));
        LAB_ASSERT_OK(sd_bus_message_open_container(m, 'a', "(dd)"));
        for (size_t i = 0; i < n; i++)
                LAB_ASSERT_OK(sd_bus_message_append(m, "(dd)", t_ms[i], force_n[i]));
        LAB_ASSERT_OK(sd_bus_message_close_container(m));
        sim_send(lab, m);
}

void sim_connect_script(Lab *lab, const char *address, const char *const *outcomes) {
        sd_bus_message *m = sim_msg(lab, "SetConnectScript");
        LAB_ASSERT_OK(sd_bus_message_append(m, "s", address));
        LAB_ASSERT_OK(sd_bus_message_append_strv(m, (char **) outcomes));
        sim_send(lab, m);
}

void sim_simple(Lab *lab, const char *member, const char *address) {
        sd_bus_message *m = sim_msg(lab, member);
        LAB_ASSERT_OK(sd_bus_message_append(m, "s", address));
        sim_send(lab, m);
}

void sim_set_bool(Lab *lab, const char *member, const char *key, bool value) {
        sd_bus_message *m = sim_msg(lab, member);
        LAB_ASSERT_OK(sd_bus_message_append(m, "sb", key, (int) value));
        sim_send(lab, m);
}

void sim_set_rssi(Lab *lab, const char *address, int rssi) {
        sd_bus_message *m = sim_msg(lab, "SetRssi");
        LAB_ASSERT_OK(sd_bus_message_append(m, "sn", address, (int16_t) rssi));
        sim_send(lab, m);
}

void sim_advertise(Lab *lab, const char *address, uint16_t company, const uint8_t *mfr, size_t mfr_len,
                   const char *svc_uuid, const uint8_t *svc, size_t svc_len) {
        sd_bus_message *m = sim_msg(lab, "Advertise");
        LAB_ASSERT_OK(sd_bus_message_append(m, "s", address));
        LAB_ASSERT_OK(sd_bus_message_open_container(m, 'a', "{qay}"));
        if (mfr) {
                LAB_ASSERT_OK(sd_bus_message_open_container(m, 'e', "qay"));
                LAB_ASSERT_OK(sd_bus_message_append(m, "q", company));
                LAB_ASSERT_OK(sd_bus_message_append_array(m, 'y', mfr, mfr_len));
                LAB_ASSERT_OK(sd_bus_message_close_container(m));
        }
        LAB_ASSERT_OK(sd_bus_message_close_container(m));
        LAB_ASSERT_OK(sd_bus_message_open_container(m, 'a', "{say}"));
        if (svc) {
                LAB_ASSERT_OK(sd_bus_message_open_container(m, 'e', "say"));
                LAB_ASSERT_OK(sd_bus_message_append(m, "s", svc_uuid));
                LAB_ASSERT_OK(sd_bus_message_append_array(m, 'y', svc, svc_len));
                LAB_ASSERT_OK(sd_bus_message_close_container(m));
        }
        LAB_ASSERT_OK(sd_bus_message_close_container(m));
        sim_send(lab, m);
}

static sd_bus_message *mock_emit_msg(Lab *lab, const char *path, const char *iface, const char *member,
                                      const char *signature) {
        sd_bus_message *m = NULL;
        LAB_ASSERT_OK(sd_bus_message_new_method_call(lab->ctl, &m, "org.bluez", path, "org.freedesktop.DBus.Mock",
                                                "EmitSignal"));
        LAB_ASSERT_OK(sd_bus_message_append(m, "sss", iface, member, signature));
        return m;
}

void sim_emit_bad_property(Lab *lab, const char *path, const char *iface, const char *key, const char *value) {
        sd_bus_message *m = mock_emit_msg(lab, path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                          "sa{sv}as");
        LAB_ASSERT_OK(sd_bus_message_open_container(m, 'a', "v"));
        LAB_ASSERT_OK(sd_bus_message_append(m, "v", "s", iface));
        LAB_ASSERT_OK(sd_bus_message_open_container(m, 'v', "a{sv}"));
        LAB_ASSERT_OK(sd_bus_message_append(m, "a{sv}", 1, key, "s", value));
        LAB_ASSERT_OK(sd_bus_message_close_container(m));
        LAB_ASSERT_OK(sd_bus_message_open_container(m, 'v', "as"));
        LAB_ASSERT_OK(sd_bus_message_append(m, "as", 0));
        LAB_ASSERT_OK(sd_bus_message_close_container(m));
        LAB_ASSERT_OK(sd_bus_message_close_container(m));
        sim_send(lab, m);
}

void sim_emit_bad_object(Lab *lab, const char *path, const char *iface, const char *key, const char *value) {
        sd_bus_message *m = mock_emit_msg(lab, "/", "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
                                          "oa{sa{sv}}");
        LAB_ASSERT_OK(sd_bus_message_open_container(m, 'a', "v"));
        LAB_ASSERT_OK(sd_bus_message_append(m, "v", "o", path));
        LAB_ASSERT_OK(sd_bus_message_open_container(m, 'v', "a{sa{sv}}"));
        LAB_ASSERT_OK(sd_bus_message_open_container(m, 'a', "{sa{sv}}"));
        LAB_ASSERT_OK(sd_bus_message_open_container(m, 'e', "sa{sv}"));
        LAB_ASSERT_OK(sd_bus_message_append(m, "s", iface));
        LAB_ASSERT_OK(sd_bus_message_append(m, "a{sv}", 1, key, "s", value));
        LAB_ASSERT_OK(sd_bus_message_close_container(m));
        LAB_ASSERT_OK(sd_bus_message_close_container(m));
        LAB_ASSERT_OK(sd_bus_message_close_container(m));
        LAB_ASSERT_OK(sd_bus_message_close_container(m));
        sim_send(lab, m);
}

/* --- queries --- */

static bool path_matches(const char *path, const char *suffix) {
        size_t lp = strlen(path), ls = suffix ? strlen(suffix) : 0;
        return !suffix || (lp >= ls && strcmp(path + lp - ls, suffix) == 0) || strstr(path, suffix);
}

size_t lab_count_calls(const Lab *lab, const char *name, const char *path_suffix) {
        size_t n = 0;
        for (size_t i = 0; i < lab->n_calls; i++)
                if (strcmp(lab->calls[i].name, name) == 0 && path_matches(lab->calls[i].path, path_suffix))
                        n++;
        return n;
}

const LabCall *lab_nth_call(const Lab *lab, const char *name, const char *path_suffix, size_t nth) {
        for (size_t i = 0; i < lab->n_calls; i++)
                if (strcmp(lab->calls[i].name, name) == 0 && path_matches(lab->calls[i].path, path_suffix) &&
                    nth-- == 0)
                        return &lab->calls[i];
        return NULL;
}

size_t lab_count_logs(const Lab *lab, const char *needle) {
        size_t n = 0;
        for (size_t i = 0; i < lab->n_logs; i++)
                if (strstr(lab->logs[i], needle))
                        n++;
        return n;
}

size_t lab_count_samples(const Lab *lab, const char *address) {
        size_t n = 0;
        for (size_t i = 0; i < lab->n_samples; i++)
                if (!address || strcmp(lab->samples[i].address, address) == 0)
                        n++;
        return n;
}

const LabSample *lab_nth_sample(const Lab *lab, const char *address, size_t nth) {
        for (size_t i = 0; i < lab->n_samples; i++)
                if ((!address || strcmp(lab->samples[i].address, address) == 0) && nth-- == 0)
                        return &lab->samples[i];
        return NULL;
}

size_t lab_count_states(const Lab *lab, const char *address, bool connected) {
        size_t n = 0;
        for (size_t i = 0; i < lab->n_states; i++)
                if (strcmp(lab->states[i].address, address) == 0 && lab->states[i].connected == connected)
                        n++;
        return n;
}

bool pred_samples(Lab *lab, const void *arg) {
        const LabSamplesArg *a = arg;
        return lab_count_samples(lab, a->address) >= a->n;
}

bool pred_state(Lab *lab, const void *arg) {
        const LabStateArg *a = arg;
        return lab_count_states(lab, a->address, a->connected) >= (a->count ? a->count : 1);
}

bool pred_calls(Lab *lab, const void *arg) {
        const LabCallsArg *a = arg;
        return lab_count_calls(lab, a->name, a->path_suffix) >= a->n;
}

bool pred_log(Lab *lab, const void *arg) {
        return lab_count_logs(lab, arg) > 0;
}

double progressor_newtons(double force_n) {
        float kg = (float) (force_n / KG_TO_N);
        return (double) kg * KG_TO_N;
}

/* encode.py rounds half away from zero, as round() does */
double entralpi_newtons(double force_n) {
        double centi = CLAMP(round(force_n / KG_TO_N * 100), 0, 65535);
        return centi / 100.0 * KG_TO_N;
}

double whc06_newtons(double force_n) {
        double centi = CLAMP(round(force_n / KG_TO_N * 100), -32768, 32767);
        return centi / 100.0 * KG_TO_N;
}

bool same_newtons(double a, double b) {
        return fabs(a - b) <= 1e-9 * MAX(fabs(a), fabs(b)) + 1e-12;
}
