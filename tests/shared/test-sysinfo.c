/* SPDX-License-Identifier: MIT */
/* sysinfo_read over a fake /proc and /sys: each figure as the kernel's files define it, and
 * what it cannot read stays unknown instead of failing. */

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/sysinfo.h"
#include "tap.h"

static char root[64];

static void put(const char *path, const char *text) {
        char p[256], dir[256];
        FILE *f;

        snprintf(p, sizeof p, "%s%s", root, path);
        for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
                snprintf(dir, sizeof dir, "%.*s", (int) (s - p), p);
                (void) mkdir(dir, 0755);
        }
        f = fopen(p, "we");
        if (f) {
                fputs(text, f);
                fclose(f);
        }
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

static void test_fake_tree(void) {
        SysInfo si;
        long page = sysconf(_SC_PAGESIZE);

        put("/proc/uptime", "12345.67 40000.00\n");
        put("/proc/self/statm", "5000 1500 300 10 0 800 0\n");
        put("/proc/meminfo", "MemTotal:        3884000 kB\nMemFree:          100000 kB\nMemAvailable:    2500000 kB\n");
        put("/sys/class/thermal/thermal_zone0/temp", "48312\n");
        CHECK_EQ(sysinfo_read(root, root, &si), 0);
        CHECK_EQ(si.uptime_s, 12345);                       /* seconds, fraction dropped */
        CHECK_EQ(si.rss_kb, 1500 * (page / 1024));          /* resident pages */
        CHECK_EQ(si.mem_available_kb, 2500000);
        CHECK(si.has_cpu_temp);
        CHECK_NEAR(si.cpu_temp_c, 48.312, 1e-9);            /* millidegrees */
        CHECK(si.disk_free_mb >= 0);
        CHECK_EQ(si.clock_synced, -1);                      /* a fake root has no kernel to ask */
        put("/run/systemd/timesync/synchronized", "");      /* ... but timesyncd's flag says so */
        CHECK_EQ(sysinfo_read(root, NULL, &si), 0);
        CHECK_EQ(si.clock_synced, 1);
}

static void test_missing(void) {
        SysInfo si;

        CHECK_EQ(sysinfo_read("/nonexistent-root", NULL, &si), 0);
        CHECK_EQ(si.uptime_s, -1);
        CHECK_EQ(si.rss_kb, -1);
        CHECK_EQ(si.mem_available_kb, -1);
        CHECK_EQ(si.disk_free_mb, -1);
        CHECK(!si.has_cpu_temp);
        CHECK_EQ(sysinfo_read(NULL, NULL, NULL), -EINVAL);
}

static void test_real(void) {
        SysInfo si;

        CHECK_EQ(sysinfo_read(NULL, "/", &si), 0);
        CHECK(si.uptime_s > 0 && si.rss_kb > 0 && si.mem_available_kb > 0 && si.disk_free_mb >= 0);
        CHECK(si.clock_synced == 0 || si.clock_synced == 1);
}

static const TapCase cases[] = {
        { "fake /proc and /sys", test_fake_tree },
        { "nothing readable", test_missing },
        { "this machine", test_real },
};

int main(int argc, char **argv) {
        int r;

        snprintf(root, sizeof root, "/tmp/tphub-sysinfo-XXXXXX");
        if (!mkdtemp(root))
                return 1;
        r = tap_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
        (void) nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return r;
}
