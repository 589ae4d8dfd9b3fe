/* SPDX-License-Identifier: MIT */
/* Benchmark helper: the store-side latency of each history query (history_query(), i.e. parse,
 * SQL, reply JSON; no MQTT), median and worst of N runs.
 * Usage: bench-history-query sqlite|postgresql PATH|CONNINFO ATHLETE SESSION_ID */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recorder/history-store.h"

#define RUNS 50

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
        HistoryStore *s = NULL;
        char *err = NULL, q[8][256];
        const char *names[8] = { "sessions (page of 50)", "sessions (a month)", "session (one document)",
                                 "trends (one point)", "ppt pairs", "adherence per week", "trends (all points)",
                                 "documents (page of 100)" };
        Db *db = NULL;

        if (argc != 5)
                return 2;
        if ((strcmp(argv[1], "postgresql") ? db_open_sqlite(&db, argv[2]) : db_open_postgresql(&db, argv[2])) < 0 ||
            history_store_open(&s, db, &err) < 0) {
                fprintf(stderr, "cannot open: %s\n", err ?: "?");
                return 1;
        }
        snprintf(q[0], sizeof q[0], "{\"query\":\"sessions\",\"athlete\":\"%s\"}", argv[3]);
        snprintf(q[1], sizeof q[1], "{\"query\":\"sessions\",\"athlete\":\"%s\",\"from\":\"2026-01-31T00:00:00Z\","
                 "\"to\":\"2026-03-02T00:00:00Z\"}", argv[3]);
        snprintf(q[2], sizeof q[2], "{\"query\":\"session\",\"id\":\"%s\"}", argv[4]);
        snprintf(q[3], sizeof q[3], "{\"query\":\"trends\",\"athlete\":\"%s\",\"point\":\"pt-05\"}", argv[3]);
        snprintf(q[4], sizeof q[4], "{\"query\":\"ppt\",\"athlete\":\"%s\"}", argv[3]);
        snprintf(q[5], sizeof q[5], "{\"query\":\"adherence\",\"athlete\":\"%s\"}", argv[3]);
        snprintf(q[6], sizeof q[6], "{\"query\":\"trends\",\"athlete\":\"%s\",\"limit\":500}", argv[3]);
        snprintf(q[7], sizeof q[7], "{\"query\":\"documents\",\"athlete\":\"%s\",\"limit\":100}", argv[3]);
        printf("  %s, %lld sessions stored, store-side latency (history_query, %d runs):\n", argv[1],
               (long long) history_store_count(s), RUNS);
        for (int k = 0; k < 8; k++) {
                double t[RUNS];
                size_t len = 0;
                for (int i = 0; i < RUNS; i++) {
                        char *reply = NULL;
                        double t0 = now_ms();
                        if (history_query(s, q[k], strlen(q[k]), &reply) < 0 || !strstr(reply, "\"ok\":true")) {
                                fprintf(stderr, "%s: %s\n", q[k], reply ?: "failed");
                                return 1;
                        }
                        t[i] = now_ms() - t0;
                        len = strlen(reply);
                        free(reply);
                }
                qsort(t, RUNS, sizeof t[0], cmp);
                printf("    %-24s median %7.2f ms, worst %7.2f ms, reply %zu bytes\n", names[k], t[RUNS / 2],
                       t[RUNS - 1], len);
        }
        history_store_free(s);
        return 0;
}
