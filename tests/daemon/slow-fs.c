/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD shim for daemon tests: a slow or a full SD card.
 *   TPHUB_TEST_FSYNC_DELAY_MS=N   every fsync()/fdatasync() takes N ms longer, then runs
 *   TPHUB_TEST_FULL_DIR=DIR       while the file TPHUB_TEST_FULL_FLAG exists, creating a file
 *   TPHUB_TEST_FULL_FLAG=FILE     in DIR fails with ENOSPC and statvfs of DIR says 0 free */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define REAL(name) real_##name = real_##name ? real_##name : dlsym(RTLD_NEXT, #name)

static void delay(void) {
        const char *v = getenv("TPHUB_TEST_FSYNC_DELAY_MS");
        long ms = v ? strtol(v, NULL, 10) : 0;
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        while (ms > 0 && nanosleep(&ts, &ts) < 0)
                ;
}

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_fstatvfs)(int, struct statvfs *);

int fsync(int fd) {
        REAL(fsync);
        delay();
        return real_fsync(fd);
}

int fdatasync(int fd) {
        REAL(fdatasync);
        delay();
        return real_fdatasync(fd);
}

/* Whether fd (a directory) is the full one, while the flag file exists. */
static int is_full_dir_fd(int fd) {
        const char *dir = getenv("TPHUB_TEST_FULL_DIR"), *flag = getenv("TPHUB_TEST_FULL_FLAG");
        char link[64], path[PATH_MAX];
        struct stat st;
        ssize_t n;

        if (!dir || !flag || stat(flag, &st) < 0)
                return 0;
        if (fd == AT_FDCWD) {
                if (!getcwd(path, sizeof path))
                        return 0;
        } else {
                snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
                n = readlink(link, path, sizeof path - 1);
                if (n < 0)
                        return 0;
                path[n] = 0;
        }
        return strcmp(path, dir) == 0;
}

int openat(int dirfd, const char *pathname, int flags, ...) {
        mode_t mode = 0;

        REAL(openat);
        if (flags & (O_CREAT | __O_TMPFILE)) {
                va_list ap;
                va_start(ap, flags);
                mode = (mode_t) va_arg(ap, int);
                va_end(ap);
        }
        if ((flags & O_CREAT) && pathname[0] != '/' && !strchr(pathname, '/') && is_full_dir_fd(dirfd)) {
                errno = ENOSPC;
                return -1;
        }
        return real_openat(dirfd, pathname, flags, mode);
}

int fstatvfs(int fd, struct statvfs *buf) {
        int r;

        REAL(fstatvfs);
        r = real_fstatvfs(fd, buf);
        if (r == 0 && is_full_dir_fd(fd))
                buf->f_bavail = buf->f_bfree = 0;
        return r;
}
