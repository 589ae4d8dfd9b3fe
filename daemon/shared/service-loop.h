/* SPDX-License-Identifier: MIT */
#pragma once

/* The event loop of one of our systemd services (tphubd, tphub-recorder): SIGTERM and SIGINT
 * call on_terminate, SIGHUP calls on_reload, and the loop pings the service manager's
 * watchdog when the unit asks for one (WATCHDOG_USEC). The signals are blocked before the
 * loop watches them, so none that arrives during start-up is lost or kills the process. */

#include <systemd/sd-event.h>

int service_loop_new(sd_event **ret, sd_event_signal_handler_t on_terminate, sd_event_signal_handler_t on_reload,
                     void *userdata);
