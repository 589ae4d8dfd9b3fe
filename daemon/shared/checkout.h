/* SPDX-License-Identifier: MIT */
#pragma once

/* Programs run from a meson build directory of a source checkout (not installed) also look
 * at the checkout's own data: its protocols in config/protocols. An installed program never
 * does: this is decided by where the running executable is (/proc/self/exe), not by the
 * working directory. */

#include <stdbool.h>

/* true when the running executable lies inside the build directory it was built in. */
bool checkout_running_from_build(void);

/* The checkout's protocol directory when running from the build directory, else NULL. */
const char *checkout_protocols_dir(void);
