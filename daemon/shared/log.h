/* SPDX-License-Identifier: MIT */
#pragma once

/* Daemon logging: one line per message on stderr, with a syslog priority prefix ("<3>")
 * that journald turns into the priority when stderr is the journal. Library modules never
 * log: they return errors, or report through a callback the daemon routes here. */

#include <errno.h>
#include <stdarg.h>
#include <syslog.h>

void log_set_max_level(int level);
int log_get_max_level(void);

void log_internal(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Returns -abs(error) so callers can "return log_error_errno(r, ...)". %m prints error. */
int log_internal_errno(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...) log_internal_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal_errno(LOG_ERR, (e), __VA_ARGS__)
#define log_oom() log_internal_errno(LOG_ERR, ENOMEM, "Out of memory.")
