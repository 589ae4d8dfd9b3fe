/* SPDX-License-Identifier: MIT */
#pragma once

/* Reads one protocol file (file I/O, so not part of the pure engine) (libconfig syntax, docs/protocols.md). */

#include "config/config-errors.h"
#include "engine/protocol.h"

/* name defaults to the file stem. Every problem goes to errs with file and line. */
int protocol_load(const char *path, Protocol **ret, ConfigErrors *errs);
