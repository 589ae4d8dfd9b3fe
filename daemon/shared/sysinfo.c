/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <unistd.h>

#include "shared/macro.h"
#include "shared/sysinfo.h"

static FILE *open_at(const char *root, const char *path) {
        char buf[512];

        if (snprintf(buf, sizeof buf, "%s%s", root ? root : "", path) >= (int) sizeof buf)
                return NULL;
        return fopen(buf, "re");
}

static int read_uptime(const char *root, int64_t *ret) {
        _cleanup_fclose_ FILE *f = open_at(root, "/proc/uptime");
        double up;

        if (!f || fscanf(f, "%lf", &up) != 1 || up < 0)
                return -EIO;
        *ret = (int64_t) up;
        return 0;
}

static int read_rss(const char *root, int64_t *ret) {
        _cleanup_fclose_ FILE *f = open_at(root, "/proc/self/statm");
        long pages, resident, page = sysconf(_SC_PAGESIZE);

        if (!f || page <= 0 || fscanf(f, "%ld %ld", &pages, &resident) != 2 || resident < 0)
                return -EIO;
        *ret = (int64_t) resident * (page / 1024);
        return 0;
}

static int read_mem_available(const char *root, int64_t *ret) {
        _cleanup_fclose_ FILE *f = open_at(root, "/proc/meminfo");
        char line[256];
        long long kb;

        if (!f)
                return -EIO;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1 && kb >= 0) {
                        *ret = kb;
                        return 0;
                }
        return -ENOENT;
}

static int read_cpu_temp(const char *root, double *ret) {
        _cleanup_fclose_ FILE *f = open_at(root, "/sys/class/thermal/thermal_zone0/temp");
        long long milli;

        /* millidegrees Celsius */
        if (!f || fscanf(f, "%lld", &milli) != 1 || milli < -100000 || milli > 200000)
                return -EIO;
        *ret = (double) milli / 1000.0;
        return 0;
}

int sysinfo_clock_synced(const char *root) {
        struct timex tx = { .modes = 0 };
        char flag[512];
        int state;

        /* The kernel's own verdict (what timedatectl's NTPSynchronized reads): an NTP client
         * that disciplines the clock clears STA_UNSYNC; TIME_ERROR means not synchronised.
         * A fake root has no kernel of its own to ask, and the unit's ProtectClock= forbids
         * even reading adjtimex(); then systemd-timesyncd's flag file is the answer (it
         * exists once timesyncd has synchronised; its absence proves nothing: another NTP
         * client may run). */
        state = root ? -1 : adjtimex(&tx);
        if (state >= 0)
                return state != TIME_ERROR && !(tx.status & STA_UNSYNC);
        if (snprintf(flag, sizeof flag, "%s/run/systemd/timesync/synchronized", root ?: "") < (int) sizeof flag &&
            access(flag, F_OK) >= 0)
                return 1;
        return -1;
}

int sysinfo_read(const char *root, const char *disk_path, SysInfo *ret) {
        struct statvfs vfs;

        if (!ret)
                return -EINVAL;
        *ret = (SysInfo) { .uptime_s = -1, .rss_kb = -1, .mem_available_kb = -1, .disk_free_mb = -1,
                           .clock_synced = -1 };
        (void) read_uptime(root, &ret->uptime_s);
        (void) read_rss(root, &ret->rss_kb);
        (void) read_mem_available(root, &ret->mem_available_kb);
        ret->has_cpu_temp = read_cpu_temp(root, &ret->cpu_temp_c) >= 0;
        if (disk_path && statvfs(disk_path, &vfs) >= 0)
                ret->disk_free_mb = (int64_t) ((uint64_t) vfs.f_bavail * vfs.f_frsize / (1024 * 1024));
        ret->clock_synced = sysinfo_clock_synced(root);
        return 0;
}
