/* SPDX-License-Identifier: MIT */
/* Cost of the engine per force sample, the daemon's hot path (80-250 Hz per tool): a
 * cooperative athlete works through a 12-point protocol over and over. Prints ns per sample
 * (machine-dependent) and the sample count, so that `valgrind --tool=callgrind` over this
 * binary gives a repeatable instructions-per-sample figure (docs/benchmarks.md). */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "shared/macro.h"
#include "sim.h"

int main(int argc, char **argv) {
        unsigned sessions = argc > 1 ? (unsigned) strtoul(argv[1], NULL, 10) : 20;
        ProtocolStep steps[12];
        struct timespec a, b;
        Sim s;

        for (int i = 0; i < 12; i++) {
                char name[8];
                snprintf(name, sizeof name, "p%d", i);
                steps[i] = sim_press_step(name, HOLD_START_CONFIRM, 7000);
        }
        _cleanup_(protocol_freep) Protocol *p = sim_protocol("bench", steps, 12);

        sim_init(&s, NULL, 0.5, 42);
        sim_tool(&s, true);
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (unsigned k = 0; k < sessions; k++) {
                sim_start(&s, p, NULL);
                for (int i = 0; i < 12; i++) {
                        sim_ramp(&s, 60, 500);
                        sim_hold(&s, 500);
                        sim_input(&s, INPUT_SWITCH_TAP);
                        sim_hold(&s, 7300);
                        sim_ramp(&s, 0, 3000);
                        sim_hold(&s, 5000);
                }
                sim_advance_ms(&s, 4000);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ns = (double) (b.tv_sec - a.tv_sec) * 1e9 + (double) (b.tv_nsec - a.tv_nsec);
        printf("%u sessions, %llu force samples, %.1f ns per sample (simulation harness included)\n",
               sessions, s.n_samples, ns / (double) s.n_samples);
        int bad = s.last_error != 0 || sim_count(&s, EVENT_SESSION_END) != sessions;
        sim_done(&s);
        return bad;
}
