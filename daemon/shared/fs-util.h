/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

/* Creates path and its missing parents (0755); the last level gets leaf_mode. An existing
 * directory is fine. Returns 0 or a negative errno. */
int mkdir_p(const char *path, mode_t leaf_mode);
