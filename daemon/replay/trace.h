/* SPDX-License-Identifier: MIT */
#pragma once

/* Recorded force traces for tphub-replay and the engine tests: CSV text
 *
 *     # comment lines and blank lines are ignored anywhere
 *     t_ms,force_n[,switch]
 *     0,0.0,0
 *     20,1.5,0
 *
 * t_ms: milliseconds from the trace start (>= 0, never decreasing); force_n: raw force in
 * newtons; switch (optional column): foot-switch level, 1 = pressed. Numbers are plain
 * C numbers (no NaN or infinity). Lines are at most TRACE_LINE_MAX characters, a trace at
 * most TRACE_SIZE_MAX bytes. docs/traces.md describes the format. */

#include <stdbool.h>
#include <stddef.h>

#define TRACE_LINE_MAX 4096
#define TRACE_SIZE_MAX (64u * 1024u * 1024u)

typedef struct TraceRow {
        double t_ms;
        double force_n;
        int sw;          /* 0 or 1, -1 when the trace has no switch column */
} TraceRow;

typedef struct Trace {
        TraceRow *rows;
        size_t n;
        bool has_switch;
} Trace;

/* Both return 0, -EINVAL for a malformed trace, -EFBIG when too large, -ENOMEM, or (load)
 * the error of open/read. On failure errbuf holds "NAME:LINE: message" (or "NAME: message"
 * when no line applies) and *ret is untouched. name is used in messages only. */
int trace_parse(const char *text, size_t len, const char *name, Trace **ret, char *errbuf, size_t errlen);
int trace_load(const char *path, Trace **ret, char *errbuf, size_t errlen);

Trace *trace_free(Trace *t);
static inline void trace_freep(Trace **t) {
        if (*t)
                trace_free(*t);
}
