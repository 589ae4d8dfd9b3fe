/* SPDX-License-Identifier: MIT */
#pragma once

/* The finished-session document (docs/session.md), built with json-c. */

#include <json-c/json.h>

#include "engine/protocol.h"
#include "engine/session.h"

/* protocol gives the labels and targets of each step; it must be the session's protocol. */
int session_to_json(const Session *s, const Protocol *protocol, json_object **ret);

/* Serialised, pretty or compact; the caller frees the string. */
int session_to_json_string(const Session *s, const Protocol *protocol, bool pretty, char **ret);
