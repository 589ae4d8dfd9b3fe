/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the trace CSV parser: any bytes must give either a clean error
 * or a trace that keeps the documented invariants. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replay/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Trace *t = NULL;
        char err[256];
        int r;

        err[0] = 0;
        r = trace_parse((const char *) data, size, "fuzz", &t, err, sizeof err);
        if (r < 0) {
                /* Every failure explains itself. */
                if (t || strncmp(err, "fuzz:", 5) != 0)
                        abort();
                return 0;
        }
        if (!t || t->n == 0)
                abort();
        for (size_t i = 0; i < t->n; i++) {
                const TraceRow *row = &t->rows[i];
                if (!isfinite(row->t_ms) || !isfinite(row->force_n) || row->t_ms < 0)
                        abort();
                if (i > 0 && row->t_ms < t->rows[i - 1].t_ms)
                        abort();
                if (t->has_switch ? (row->sw != 0 && row->sw != 1) : row->sw != -1)
                        abort();
        }
        trace_free(t);
        return 0;
}
