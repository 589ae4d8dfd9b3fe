/* SPDX-License-Identifier: MIT */
#pragma once

/* What a hub says about the machine it runs on (the "sysinfo" document): a Pi has no
 * real-time clock, so whether the clock is synchronised decides whether every timestamp it
 * writes can be trusted. Reads /proc, /sys and the kernel's clock state; never logs. */

#include <stdbool.h>
#include <stdint.h>

typedef struct SysInfo {
        int64_t uptime_s;          /* of the machine */
        int64_t rss_kb;            /* of this process */
        int64_t mem_available_kb;  /* -1 if unknown */
        int64_t disk_free_mb;      /* on the file system of the given path, -1 if unknown */
        bool has_cpu_temp;
        double cpu_temp_c;         /* thermal zone 0 (the SoC on a Pi) */
        int clock_synced;          /* 1 yes, 0 no, -1 unknown */
} SysInfo;

/* root: where /proc and /sys are found (NULL = "/"; tests pass a fake tree). disk_path: the
 * directory whose free space counts (the spool), NULL = none. Fields it cannot read are left
 * unknown; it fails only for bad arguments. */
int sysinfo_read(const char *root, const char *disk_path, SysInfo *ret);

/* Just the clock: 1 synchronised, 0 not, -1 unknown (see SysInfo.clock_synced). */
int sysinfo_clock_synced(const char *root);
