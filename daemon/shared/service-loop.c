/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>

#include "shared/macro.h"
#include "shared/service-loop.h"

int service_loop_new(sd_event **ret, sd_event_signal_handler_t on_terminate, sd_event_signal_handler_t on_reload,
                     void *userdata) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        sigset_t mask;
        int r;

        assert(ret && on_terminate && on_reload);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        r = sd_event_default(&e);
        if (r < 0)
                return r;
        if ((r = sd_event_add_signal(e, NULL, SIGTERM, on_terminate, userdata)) < 0 ||
            (r = sd_event_add_signal(e, NULL, SIGINT, on_terminate, userdata)) < 0 ||
            (r = sd_event_add_signal(e, NULL, SIGHUP, on_reload, userdata)) < 0)
                return r;
        /* Without WATCHDOG_USEC (a test, a shell) this does nothing; if it fails, the service
         * manager's watchdog says so by restarting us, which is what it is for. */
        (void) sd_event_set_watchdog(e, true);
        *ret = TAKE_PTR(e);
        return 0;
}
