/* SPDX-License-Identifier: MIT */
/* The credentials file reader (mqtt-credentials.h): the format, the mode check and every
 * refusal with its reason (expected values from the format in mqtt-credentials.h). */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqtt/mqtt-credentials.h"
#include "tap.h"

static char dir[] = "/tmp/tphub-cred-XXXXXX";

static const char *write_file(const char *name, const char *content, mode_t mode) {
        static char path[256];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t) strlen(content))
                abort();
        close(fd);
        /* The umask must not decide the mode under test. */
        if (chmod(path, mode) < 0)
                abort();
        return path;
}

static void expect_ok(const char *content, const char *user, const char *password) {
        MqttCredentials c;
        char *why = NULL;

        CHECK_EQ(mqtt_credentials_read(write_file("ok", content, 0600), &c, &why), 0);
        CHECK(!why);
        CHECK_STR(c.user, user);
        CHECK_STR(c.password, password);
        mqtt_credentials_done(&c);
        CHECK(!c.user && !c.password);
}

static void test_formats(void) {
        expect_ok("hub\nsecret\n", "hub", "secret");
        expect_ok("hub\nsecret", "hub", "secret");             /* no final newline */
        expect_ok("hub\r\nsecret\r\n", "hub", "secret");       /* CRLF */
        expect_ok("hub\n\n", "hub", "");                       /* an empty password */
        expect_ok("hub\nsecret\nignored\n", "hub", "secret");
}

static void expect_refused(const char *path, int error, const char *reason_part) {
        MqttCredentials c;
        char *why = NULL;

        CHECK_EQ(mqtt_credentials_read(path, &c, &why), error);
        CHECK(why && strstr(why, reason_part));
        CHECK(strstr(why, path));
        CHECK(!c.user && !c.password);
        free(why);
}

static void test_refusals(void) {
        char missing[300];

        expect_refused(write_file("world", "hub\nsecret\n", 0644), -EPERM, "accessible by other users (mode 0644)");
        expect_refused(write_file("world-w", "hub\nsecret\n", 0602), -EPERM, "chmod o-rwx");
        expect_refused(write_file("noline", "hubsecret", 0600), -EINVAL, "must hold");
        expect_refused(write_file("nouser", "\nsecret\n", 0600), -EINVAL, "must hold");
        expect_refused(write_file("empty", "", 0600), -EINVAL, "must hold");
        expect_refused(dir, -EINVAL, "not a regular file");
        snprintf(missing, sizeof(missing), "%s/missing", dir);
        expect_refused(missing, -ENOENT, "Cannot open");
}

static void test_group_readable_is_fine(void) {
        /* The daemon's group may read it (the package installs it root:tphub 0640). */
        expect_ok("hub\nsecret\n", "hub", "secret");
        MqttCredentials c;
        char *why = NULL;
        CHECK_EQ(mqtt_credentials_read(write_file("group", "u\np\n", 0640), &c, &why), 0);
        CHECK_STR(c.user, "u");
        mqtt_credentials_done(&c);
}

static void test_size_limit(void) {
        /* Exactly 4 KiB is read whole; one byte more is refused, never cut silently. */
        char *big = malloc(4098);
        MqttCredentials c;
        char *why = NULL;

        CHECK(big);
        memcpy(big, "u\n", 2);
        memset(big + 2, 'p', 4094);
        big[4096] = 0;
        CHECK_EQ(mqtt_credentials_read(write_file("4k", big, 0600), &c, &why), 0);
        CHECK_STR(c.user, "u");
        CHECK_EQ(strlen(c.password), 4094);
        mqtt_credentials_done(&c);
        big[4096] = 'p';
        big[4097] = 0;
        expect_refused(write_file("4k1", big, 0600), -EFBIG, "larger than 4096 bytes");
        free(big);
}

static const TapCase cases[] = {
        { "formats", test_formats },
        { "refusals", test_refusals },
        { "group_readable_is_fine", test_group_readable_is_fine },
        { "size_limit", test_size_limit },
};

int main(int argc, char **argv) {
        char cmd[300];
        int r;

        if (!mkdtemp(dir))
                return 1;
        r = tap_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        (void) !system(cmd);
        return r;
}
