/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "shared/session-id.h"

bool session_id_valid(const char *s) {
        return s && strlen(s) == SESSION_ID_LEN && strspn(s, "0123456789abcdef") == SESSION_ID_LEN;
}
