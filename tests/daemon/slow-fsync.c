/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD shim for daemon tests: every fsync()/fdatasync() takes TPHUB_TEST_FSYNC_DELAY_MS
 * longer (a slow SD card), then does the real thing. */

#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void delay(void) {
        const char *v = getenv("TPHUB_TEST_FSYNC_DELAY_MS");
        long ms = v ? strtol(v, NULL, 10) : 0;
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        while (ms > 0 && nanosleep(&ts, &ts) < 0)
                ;
}

int fsync(int fd) {
        static int (*real)(int);

        if (!real)
                real = (int (*)(int)) dlsym(RTLD_NEXT, "fsync");
        delay();
        return real(fd);
}

int fdatasync(int fd) {
        static int (*real)(int);

        if (!real)
                real = (int (*)(int)) dlsym(RTLD_NEXT, "fdatasync");
        delay();
        return real(fd);
}
