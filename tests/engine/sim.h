/* SPDX-License-Identifier: MIT */
#pragma once

/* Drives an Engine the way the daemon does, on a simulated clock: deadlines are served by
 * ticks exactly when due (as the daemon's 1 ms timer would), samples arrive at 80 Hz with
 * seeded Gaussian noise. Every event and the finished session are captured. */

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

#define SIM_HZ 80
#define SIM_PERIOD_NS (NSEC_PER_SEC / SIM_HZ)
#define SIM_T0 (1000 * NSEC_PER_SEC)

typedef struct Sim {
        Engine *engine;
        nsec_t now;
        double noise_n;       /* sigma of the added noise */
        uint64_t rng;
        double force;         /* last force the athlete applied (before noise) */
        bool tool;            /* samples flow */
        EngineEvent events[4096];
        size_t n_events;
        Session *finished;
        int last_error;
        unsigned long long n_samples;
        /* With log_force set: every sample's time and the engine's smoothed force after it. */
        bool log_force;
        nsec_t *log_t;
        double *log_f;
        size_t n_log, n_log_allocated;
        nsec_t skips[1024];   /* times of skip inputs (long press, command) */
        size_t n_skips;
} Sim;

void sim_init(Sim *s, const EngineParams *p, double noise_n, uint64_t seed);
void sim_done(Sim *s);

/* Advance to t (absolute ns) with no samples, serving deadlines on the way. */
void sim_advance_to(Sim *s, nsec_t t);
void sim_advance_ms(Sim *s, double ms);

/* Athlete force: linear ramp from the current force to `to` over ms, then stays. Samples at
 * 80 Hz when the tool is connected. */
void sim_ramp(Sim *s, double to, double ms);
void sim_hold(Sim *s, double ms);

void sim_input(Sim *s, EngineInputType type);
void sim_start(Sim *s, const Protocol *p, const char *athlete);
void sim_tool(Sim *s, bool connected);

/* Events of a type, in order: index k (0-based), NULL if fewer. */
const EngineEvent *sim_event(const Sim *s, EngineEventType t, unsigned k);
/* Like sim_event, but never NULL: a missing event reads as at=0, step=-99, so a check
 * on it fails instead of crashing the run. */
const EngineEvent *sim_ev(const Sim *s, EngineEventType t, unsigned k);
unsigned sim_count(const Sim *s, EngineEventType t);
double sim_rand_gauss(Sim *s);
uint64_t sim_rand(Sim *s);

/* A protocol step with sane defaults, for tests to adjust. */
ProtocolStep sim_press_step(const char *point, HoldStart start, uint32_t target_ms);
Protocol *sim_protocol(const char *name, const ProtocolStep *steps, size_t n);

#define MS(x) ((nsec_t) ((x) * 1e6))
