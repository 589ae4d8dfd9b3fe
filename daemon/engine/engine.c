/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/force-filter.h"
#include "shared/macro.h"

/* How long the "done" cue stays before the station goes back to idle. */
#define DONE_CUE_NS (3 * NSEC_PER_SEC)
/* Largest force we accept as a plausible reading; anything above is a broken input. */
#define FORCE_LIMIT_N 100000.0
/* Bound on the work list: protocol steps plus revisits. */
#define MAX_WORK_ITEMS 4096

typedef enum Phase {
        PHASE_IDLE,
        PHASE_CUE,       /* point cued, no contact */
        PHASE_PRESSING,  /* contact, hold not started */
        PHASE_HOLD,
        PHASE_RELEASING, /* hold over, waiting for the force to drop (or the release cue to end) */
        PHASE_REST,
        PHASE_PAUSED,    /* tool lost mid-rep */
} Phase;

typedef struct WorkItem {
        size_t step;
        unsigned attempt;
} WorkItem;

/* Runtime state of the rep in progress. Times are 0 when not reached. */
typedef struct RepState {
        size_t rec;               /* index into the session step's reps */
        bool tool;                /* force-measured (a tool was connected when it started) */
        bool recorded;            /* rep record exists */
        nsec_t contact_at;
        nsec_t settle_since;      /* auto start: in band since */
        bool in_band;
        nsec_t hold_start;
        nsec_t release_cue_at;
        nsec_t descent_at;        /* last time force was at or above the descent floor */
        bool over;                /* above safety maximum (Schmitt state) */
        nsec_t over_since;
        bool over_hold_warned;
        bool need_recontact;      /* resumed after tool loss: ignore drops until contact */
        RepOutcome pending;       /* outcome decided when the hold ended */
        double hold_sum;
        uint64_t hold_n;
        double peak;
} RepState;

struct Engine {
        EngineParams params;
        char *hub;
        char *station;
        const Protocol *default_protocol;
        int64_t wall_offset_ns;
        char *next_id;
        uint64_t id_counter;

        ForceFilter filter;
        double force;             /* last smoothed, tared force */
        bool have_force;
        bool tool_connected;
        nsec_t last_now;

        /* idle check-in by press; after a session the tool must be let go first, or a
         * stop made while still pressing would check the athlete straight back in */
        bool idle_contact;
        bool idle_need_release;
        nsec_t idle_contact_since;

        /* session */
        const Protocol *protocol;
        Session *session;
        WorkItem *items;
        size_t n_items;
        size_t cursor;
        unsigned rep;             /* 1-based rep of the current item */
        Phase phase;
        Phase paused_phase;
        nsec_t paused_at;
        nsec_t phase_due;         /* rest end, pause end, tool-less release end */
        nsec_t last_activity;
        RepState r;

        Cue cue;
        nsec_t done_due;

        EngineEvent *events;
        size_t n_events, events_head, n_events_allocated;

        Session *finished;
};

static double hyst(const Engine *e, double threshold) {
        return MAX(e->params.hysteresis_n, fabs(threshold) * e->params.hysteresis_frac);
}

static const ProtocolStep *cur_step(const Engine *e) {
        if (!e->protocol || e->cursor >= e->n_items)
                return NULL;
        return &e->protocol->steps[e->items[e->cursor].step];
}

static SessionStep *cur_session_step(const Engine *e) {
        return &e->session->steps[e->items[e->cursor].step];
}

static SessionRep *cur_rep(const Engine *e) {
        if (!e->r.recorded)
                return NULL;
        return &cur_session_step(e)->reps[e->r.rec];
}

static int cur_step_index(const Engine *e) {
        return e->session && e->cursor < e->n_items ? (int) e->items[e->cursor].step : -1;
}

static int64_t ms_between(nsec_t from, nsec_t to) {
        return to >= from ? nsec_to_ms_round(to - from) : -nsec_to_ms_round(from - to);
}

static int push_event(Engine *e, EngineEventType type, nsec_t at, double value) {
        if (e->events_head > 0 && e->events_head == e->n_events) {
                e->events_head = e->n_events = 0;
        }
        if (e->n_events == e->n_events_allocated) {
                size_t n = MAX(e->n_events_allocated * 2, (size_t) 16);
                EngineEvent *ev = reallocarray(e->events, n, sizeof(EngineEvent));
                if (!ev)
                        return -ENOMEM;
                e->events = ev;
                e->n_events_allocated = n;
        }
        e->events[e->n_events++] = (EngineEvent) {
                .type = type,
                .at = at,
                .step = cur_step_index(e),
                .rep = e->session ? e->rep : 0,
                .value = value,
                .status = e->session ? e->session->status : SESSION_RUNNING,
                .outcome = _REP_OUTCOME_INVALID,
        };
        return 0;
}

static void set_cue(Engine *e, CueKind kind, nsec_t now, nsec_t due) {
        int step = cur_step_index(e);
        unsigned rep = e->session ? e->rep : 0;

        if (e->cue.kind != kind || e->cue.step != step || e->cue.rep != rep || e->cue.due_ns != due)
                e->cue.since_ns = now;
        e->cue.kind = kind;
        e->cue.step = step;
        e->cue.rep = rep;
        e->cue.due_ns = due;
}

/* ---- session lifecycle ---- */

static int finish(Engine *e, nsec_t now, SessionStatus status);
static int begin_item(Engine *e, nsec_t now);

static int record_rep(Engine *e, nsec_t now) {
        SessionRep *rep = session_step_add_rep(cur_session_step(e));
        if (!rep)
                return -ENOMEM;
        rep->attempt = e->items[e->cursor].attempt;
        rep->started_ms = ms_between(e->session->started_mono, now);
        e->r.rec = cur_session_step(e)->n_reps - 1;
        e->r.recorded = true;
        return 0;
}

static int start_hold(Engine *e, nsec_t now) {
        const ProtocolStep *s = cur_step(e);
        int r;

        if (!e->r.recorded) {
                r = record_rep(e, now);
                if (r < 0)
                        return r;
        }
        e->r.hold_start = now;
        e->r.descent_at = now;
        e->r.tool = e->tool_connected && e->have_force && s->kind != STEP_STRETCH;
        e->phase = PHASE_HOLD;
        e->last_activity = now;
        set_cue(e, CUE_HOLD, now, now + nsec_from_ms(s->target_hold_ms));
        return push_event(e, EVENT_HOLD_START, now, e->force);
}

static int begin_rep(Engine *e, nsec_t now) {
        const ProtocolStep *s = cur_step(e);
        int r;

        e->r = (RepState) { .pending = REP_COMPLETED };
        e->last_activity = now;
        e->cue.warnings = 0;

        if (e->rep == 1) {
                r = push_event(e, EVENT_STEP, now, 0);
                if (r < 0)
                        return r;
        }

        if (s->kind == STEP_STRETCH)
                return start_hold(e, now);

        e->phase = PHASE_CUE;
        set_cue(e, CUE_POINT, now, 0);

        /* Already pressing (check-in by press, or pressing on through a rest). */
        if (e->tool_connected && e->have_force && e->force >= s->contact_n) {
                e->phase = PHASE_PRESSING;
                e->r.contact_at = now;
                e->r.peak = e->force;
                set_cue(e, CUE_PRESSING, now, 0);
                return push_event(e, EVENT_PRESS, now, e->force);
        }
        return 0;
}

static int insert_revisit(Engine *e, size_t step, unsigned attempt) {
        size_t pos = e->n_items;

        if (e->n_items >= MAX_WORK_ITEMS)
                return -E2BIG;
        /* "Work elsewhere and come back": after the remaining press points of this run,
         * before the next stretch or measurement block. */
        for (size_t i = e->cursor + 1; i < e->n_items; i++)
                if (e->protocol->steps[e->items[i].step].kind != STEP_PRESS) {
                        pos = i;
                        break;
                }

        WorkItem *items = reallocarray(e->items, e->n_items + 1, sizeof(WorkItem));
        if (!items)
                return -ENOMEM;
        e->items = items;
        memmove(&e->items[pos + 1], &e->items[pos], (e->n_items - pos) * sizeof(WorkItem));
        e->items[pos] = (WorkItem) { .step = step, .attempt = attempt };
        e->n_items++;
        return 0;
}

/* Closes the current rep with its outcome and moves on: rest, next rep, next point. */
static int end_rep(Engine *e, nsec_t now, RepOutcome outcome, bool move_on_now) {
        const ProtocolStep *s = cur_step(e);
        SessionRep *rep = cur_rep(e);
        int r;

        if (rep) {
                rep->outcome = outcome;
                if (e->r.hold_start > 0 && rep->hold_ms == MS_UNKNOWN)
                        rep->hold_ms = ms_between(e->r.hold_start, now);
                rep->over_hold = rep->hold_ms != MS_UNKNOWN && rep->hold_ms > (int64_t) s->max_hold_ms;
                if (e->r.tool && e->r.hold_n > 0) {
                        rep->has_force = true;
                        rep->force_mean_n = e->r.hold_sum / (double) e->r.hold_n;
                        rep->force_peak_n = e->r.peak;
                }
        }

        bool revisit = outcome == REP_NOT_RELEASED && s->not_released == NOT_RELEASED_REVISIT &&
                       e->items[e->cursor].attempt < s->max_tries;
        if (revisit) {
                r = insert_revisit(e, e->items[e->cursor].step, e->items[e->cursor].attempt + 1);
                if (r < 0)
                        return r;
        }

        bool last_rep_of_item = e->rep >= s->reps || outcome == REP_NOT_RELEASED || move_on_now;
        bool last_item = e->cursor + 1 >= e->n_items;

        e->r.recorded = false;
        if (last_rep_of_item && last_item)
                return finish(e, now, SESSION_COMPLETED);

        if (move_on_now) {
                e->cursor++;
                e->rep = 1;
                return begin_item(e, now);
        }

        e->phase = PHASE_REST;
        e->phase_due = now + nsec_from_ms(s->rest_ms);
        e->r.hold_start = 0;
        e->cue.warnings = 0;
        set_cue(e, CUE_REST, now, e->phase_due);
        return push_event(e, EVENT_REST, now, s->rest_ms);
}

static int rest_done(Engine *e, nsec_t now) {
        const ProtocolStep *s = cur_step(e);

        if (e->rep < s->reps && !(e->r.pending == REP_NOT_RELEASED)) {
                e->rep++;
                return begin_rep(e, now);
        }
        e->cursor++;
        e->rep = 1;
        return begin_item(e, now);
}

static int begin_item(Engine *e, nsec_t now) {
        if (e->cursor >= e->n_items)
                return finish(e, now, SESSION_COMPLETED);
        e->rep = 1;
        return begin_rep(e, now);
}

static int start_session(Engine *e, nsec_t now, const Protocol *p, const char *athlete) {
        _cleanup_(session_freep) Session *s = NULL;
        _cleanup_free_ WorkItem *items = NULL;
        _cleanup_free_ char *id = NULL;

        if (!p || p->n_steps == 0)
                return -EINVAL;
        if (p->n_steps > MAX_WORK_ITEMS)
                return -E2BIG;

        if (e->next_id)
                id = TAKE_PTR(e->next_id);
        else if (asprintf(&id, "%s-%s-%llu", e->hub, e->station,
                          (unsigned long long) ++e->id_counter) < 0)
                return -ENOMEM;

        s = calloc(1, sizeof(Session));
        if (!s)
                return -ENOMEM;
        s->steps = calloc(p->n_steps, sizeof(SessionStep));
        items = calloc(p->n_steps, sizeof(WorkItem));
        s->hub = strdup(e->hub);
        s->station = strdup(e->station);
        s->protocol = strdup(p->name ?: "");
        s->athlete = athlete ? strdup(athlete) : NULL;
        if (!s->steps || !items || !s->hub || !s->station || !s->protocol || (athlete && !s->athlete))
                return -ENOMEM;
        s->id = TAKE_PTR(id);
        s->n_steps = p->n_steps;
        for (size_t i = 0; i < p->n_steps; i++) {
                s->steps[i].protocol_step = i;
                items[i] = (WorkItem) { .step = i, .attempt = 1 };
        }
        s->status = SESSION_RUNNING;
        s->started_mono = now;
        s->wall_offset_ns = e->wall_offset_ns;

        free(e->items);
        e->items = TAKE_PTR(items);
        e->n_items = p->n_steps;
        e->cursor = 0;
        e->rep = 1;
        e->protocol = p;
        e->session = TAKE_PTR(s);
        e->idle_contact = false;

        int r = push_event(e, EVENT_CHECKIN, now, 0);
        if (r < 0)
                return r;
        return begin_item(e, now);
}

static int finish(Engine *e, nsec_t now, SessionStatus status) {
        int r;

        e->session->status = status;
        e->session->ended_mono = now;
        r = push_event(e, EVENT_SESSION_END, now, 0);
        if (r < 0)
                return r;

        session_free(e->finished);
        e->finished = TAKE_PTR(e->session);
        e->protocol = NULL;
        e->phase = PHASE_IDLE;
        e->r = (RepState) {};
        e->done_due = now + DONE_CUE_NS;
        e->idle_need_release = true;
        e->idle_contact = false;
        e->cue = (Cue) { .kind = CUE_DONE, .step = -1, .since_ns = now, .due_ns = e->done_due };
        return 0;
}

/* Ends the session early: a rep in flight is closed as skipped, one never touched is dropped. */
static int stop_session(Engine *e, nsec_t now, SessionStatus status, RepOutcome in_flight) {
        SessionRep *rep = cur_rep(e);

        if (rep) {
                bool touched = e->r.contact_at > 0 || e->r.hold_start > 0 ||
                               e->phase == PHASE_RELEASING || e->phase == PHASE_PAUSED;
                if (!touched) {
                        cur_session_step(e)->n_reps--;
                } else {
                        RepOutcome o = e->phase == PHASE_RELEASING ? e->r.pending : in_flight;
                        rep->outcome = o;
                        if (e->r.hold_start > 0 && rep->hold_ms == MS_UNKNOWN)
                                rep->hold_ms = ms_between(e->r.hold_start,
                                                          e->phase == PHASE_PAUSED ? e->paused_at : now);
                        rep->over_hold = rep->hold_ms != MS_UNKNOWN &&
                                         rep->hold_ms > (int64_t) cur_step(e)->max_hold_ms;
                        if (e->r.tool && e->r.hold_n > 0) {
                                rep->has_force = true;
                                rep->force_mean_n = e->r.hold_sum / (double) e->r.hold_n;
                                rep->force_peak_n = e->r.peak;
                        }
                }
        }
        e->r.recorded = false;
        return finish(e, now, status);
}

/* ---- hold endings ---- */

/* The hold is over (clock, tap, over-force): cue the release and measure it. */
static int release_cue(Engine *e, nsec_t now, RepOutcome pending) {
        const ProtocolStep *s = cur_step(e);
        SessionRep *rep = cur_rep(e);
        int r;

        e->r.pending = pending;
        e->r.release_cue_at = now;
        e->phase = PHASE_RELEASING;

        if (!e->r.tool) {
                /* Nothing to measure: the hold ends at the cue and the cue lasts as long as a
                 * slow release should take. A cue given by the clock ends the hold when the
                 * engine decided, not when the timer happened to run (a millisecond later). */
                if (rep)
                        rep->hold_ms = ms_between(e->r.hold_start,
                                                  MIN(now, e->r.hold_start + nsec_from_ms(s->target_hold_ms)));
                e->phase_due = now + nsec_from_ms(s->min_release_ms);
        } else
                e->phase_due = 0;

        set_cue(e, CUE_RELEASE, now, e->phase_due);
        r = push_event(e, EVENT_RELEASE_CUE, now, e->force);
        if (r < 0)
                return r;
        if (pending == REP_NOT_RELEASED)
                return push_event(e, EVENT_NOT_RELEASED, now, 0);
        return 0;
}

/* At or above the descent floor: still holding, not yet releasing. */
static bool holding(const Engine *e) {
        return e->r.hold_n > 0 && e->force >= e->params.descent_frac * (e->r.hold_sum / (double) e->r.hold_n);
}

/* Where a force-measured hold ended: the start of the final descent. Once the release was
 * cued, the hold lasted at least until the cue, even if the force had sagged before it. */
static nsec_t hold_end(const Engine *e) {
        nsec_t end = MAX(e->r.descent_at, e->r.hold_start);

        if (e->r.release_cue_at)
                end = MAX(end, e->r.release_cue_at);
        return end;
}

/* Force fell below the release threshold. */
static int released(Engine *e, nsec_t now) {
        const ProtocolStep *s = cur_step(e);
        SessionRep *rep = cur_rep(e);
        nsec_t descent = hold_end(e);
        RepOutcome outcome;
        int r;

        rep->hold_ms = ms_between(e->r.hold_start, descent);
        rep->release_ms = ms_between(descent, now);
        rep->release_too_fast = rep->release_ms < (int64_t) s->min_release_ms;

        if (e->phase == PHASE_RELEASING)
                outcome = e->r.pending;
        else if (descent - e->r.hold_start < nsec_from_ms(s->min_hold_ms)) {
                outcome = REP_EARLY_RELEASE;
                r = push_event(e, EVENT_EARLY_RELEASE, now, (double) rep->hold_ms);
                if (r < 0)
                        return r;
        } else if (s->needs_release_tap) {
                outcome = REP_NOT_RELEASED;
                r = push_event(e, EVENT_NOT_RELEASED, now, 0);
                if (r < 0)
                        return r;
        } else
                outcome = REP_COMPLETED;

        r = push_event(e, EVENT_RELEASED, now, (double) rep->release_ms);
        if (r < 0)
                return r;
        e->events[e->n_events - 1].outcome = outcome;
        e->r.pending = outcome;
        return end_rep(e, now, outcome, false);
}

/* ---- force handling per phase ---- */

static int check_over_force(Engine *e, nsec_t now, const ProtocolStep *s) {
        SessionRep *rep;

        if (!e->r.over && e->force > s->safety_max_n) {
                e->r.over = true;
                e->r.over_since = now;
                e->cue.warnings |= CUE_WARN_OVER_FORCE;
                rep = cur_rep(e);
                if (rep)
                        rep->over_force_warnings++;
                return push_event(e, EVENT_OVER_FORCE, now, e->force);
        }
        if (e->r.over && e->force < s->safety_max_n - hyst(e, s->safety_max_n)) {
                e->r.over = false;
                e->cue.warnings &= ~CUE_WARN_OVER_FORCE;
        }
        return 0;
}

static bool in_band(Engine *e, const ProtocolStep *s) {
        double h_lo = hyst(e, s->target_min_n), h_hi = hyst(e, s->target_max_n);

        if (e->r.in_band)
                e->r.in_band = e->force >= s->target_min_n - h_lo && e->force <= s->target_max_n + h_hi;
        else
                e->r.in_band = e->force >= s->target_min_n && e->force <= s->target_max_n;
        return e->r.in_band;
}

static int force_in_session(Engine *e, nsec_t now) {
        const ProtocolStep *s = cur_step(e);
        int r;

        if (!s || s->kind == STEP_STRETCH)
                return 0;

        if (e->force >= s->contact_n)
                e->last_activity = now;

        switch (e->phase) {
        case PHASE_CUE:
                if (e->force < s->contact_n)
                        return 0;
                e->phase = PHASE_PRESSING;
                e->r.contact_at = now;
                e->r.peak = e->force;
                e->r.settle_since = 0;
                e->r.in_band = false;
                set_cue(e, CUE_PRESSING, now, 0);
                return push_event(e, EVENT_PRESS, now, e->force);

        case PHASE_PRESSING:
                e->r.peak = MAX(e->r.peak, e->force);
                if (e->force < s->release_n) {
                        /* Let go before the hold began: still searching. */
                        e->phase = PHASE_CUE;
                        e->r.contact_at = 0;
                        e->r.over = false;
                        e->cue.warnings &= ~CUE_WARN_OVER_FORCE;
                        set_cue(e, CUE_POINT, now, 0);
                        return 0;
                }
                r = check_over_force(e, now, s);
                if (r < 0)
                        return r;
                if (s->start == HOLD_START_AUTO) {
                        if (in_band(e, s) && !e->r.over) {
                                if (e->r.settle_since == 0)
                                        e->r.settle_since = now;
                                if (now - e->r.settle_since >= nsec_from_ms(s->settle_ms))
                                        return start_hold(e, now);
                        } else
                                e->r.settle_since = 0;
                }
                return 0;

        case PHASE_HOLD:
        case PHASE_RELEASING:
                if (!e->r.tool)
                        return 0;
                if (e->r.need_recontact) {
                        if (e->force < s->contact_n)
                                return 0;
                        e->r.need_recontact = false;
                }
                e->r.peak = MAX(e->r.peak, e->force);
                /* The mean is of the hold only; the release must not drag it down. */
                if (e->phase == PHASE_HOLD) {
                        e->r.hold_sum += e->force;
                        e->r.hold_n++;
                        r = check_over_force(e, now, s);
                        if (r < 0)
                                return r;
                }
                if (holding(e))
                        e->r.descent_at = now;
                if (e->force < s->release_n)
                        return released(e, now);
                return 0;

        default:
                return 0;
        }
}

static int force_idle(Engine *e, nsec_t now) {
        const Protocol *p = e->default_protocol;
        const ProtocolStep *first = NULL;

        if (!p || e->params.checkin_press_ms == 0 || !e->tool_connected)
                return 0;
        for (size_t i = 0; i < p->n_steps; i++)
                if (p->steps[i].kind != STEP_STRETCH) {
                        first = &p->steps[i];
                        break;
                }
        if (!first)
                return 0;

        if (e->idle_need_release) {
                if (e->force < first->release_n)
                        e->idle_need_release = false;
                return 0;
        }
        if (!e->idle_contact && e->force >= first->contact_n) {
                e->idle_contact = true;
                e->idle_contact_since = now;
        } else if (e->idle_contact && e->force < first->release_n)
                e->idle_contact = false;

        if (e->idle_contact && now - e->idle_contact_since >= nsec_from_ms(e->params.checkin_press_ms))
                return start_session(e, now, p, NULL);
        return 0;
}

/* ---- other inputs ---- */

static int on_tap(Engine *e, nsec_t now) {
        const ProtocolStep *s = cur_step(e);

        if (!e->session) {
                if (!e->default_protocol)
                        return 0;
                return start_session(e, now, e->default_protocol, NULL);
        }
        e->last_activity = now;

        switch (e->phase) {
        case PHASE_CUE:
                /* Without a tool the athlete's tap is the only signal that the spot is found. */
                if (s->kind == STEP_PRESS && !e->tool_connected)
                        return start_hold(e, now);
                return 0;

        case PHASE_PRESSING:
                if (s->kind == STEP_MEASURE) {
                        SessionRep *rep;
                        int r;

                        /* Right after a reconnect there is no reading yet to record. */
                        if (!e->have_force)
                                return 0;

                        if (!e->r.recorded) {
                                r = record_rep(e, now);
                                if (r < 0)
                                        return r;
                        }
                        rep = cur_rep(e);
                        rep->has_threshold = true;
                        rep->threshold_n = e->force;
                        rep->ramp_n_per_s = now > e->r.contact_at ?
                                (e->force - s->contact_n) / ((double) (now - e->r.contact_at) / 1e9) : 0;
                        /* Releasing after a measurement is timed like any release. */
                        e->r.tool = true;
                        e->r.hold_start = now;
                        e->r.descent_at = now;
                        e->r.hold_sum = e->force;
                        e->r.hold_n = 1;
                        r = push_event(e, EVENT_MEASURED, now, e->force);
                        if (r < 0)
                                return r;
                        return release_cue(e, now, REP_COMPLETED);
                }
                return start_hold(e, now);

        case PHASE_HOLD:
                if (s->kind == STEP_STRETCH)
                        return release_cue(e, now, now - e->r.hold_start >= nsec_from_ms(s->min_hold_ms) ?
                                                   REP_COMPLETED : REP_EARLY_RELEASE);
                if (s->tap_ends_hold && now - e->r.hold_start >= nsec_from_ms(s->min_hold_ms))
                        return release_cue(e, now, REP_COMPLETED);
                return 0;

        case PHASE_REST:
                return rest_done(e, now);

        default:
                return 0;
        }
}

static int on_skip(Engine *e, nsec_t now) {
        if (!e->session)
                return 0;
        if (e->phase == PHASE_REST)
                return rest_done(e, now);

        int r = push_event(e, EVENT_SKIPPED, now, 0);
        if (r < 0)
                return r;
        if (!e->r.recorded) {
                r = record_rep(e, now);
                if (r < 0)
                        return r;
        }
        e->cue.warnings = 0;
        return end_rep(e, now, REP_SKIPPED, true);
}

static int on_tool_lost(Engine *e, nsec_t now) {
        const ProtocolStep *s = cur_step(e);

        e->tool_connected = false;
        e->idle_contact = false;
        force_filter_reset(&e->filter);
        e->have_force = false;
        e->force = 0;

        if (!e->session || !s || s->kind == STEP_STRETCH)
                return 0;
        if (!(e->phase == PHASE_PRESSING || (e->phase == PHASE_HOLD && e->r.tool) ||
              (e->phase == PHASE_RELEASING && e->r.tool)))
                return 0;

        e->paused_phase = e->phase;
        e->paused_at = now;
        e->phase = PHASE_PAUSED;
        e->phase_due = now + nsec_from_ms(e->params.tool_grace_ms);
        e->cue.warnings |= CUE_WARN_TOOL_LOST;
        set_cue(e, CUE_PAUSED, now, e->phase_due);
        return push_event(e, EVENT_TOOL_LOST, now, 0);
}

static int on_tool_connected(Engine *e, nsec_t now) {
        e->tool_connected = true;
        if (e->phase != PHASE_PAUSED)
                return 0;

        /* Resume: the paused time does not count toward the hold. */
        nsec_t paused = now - e->paused_at;
        if (e->r.hold_start)
                e->r.hold_start += paused;
        if (e->r.release_cue_at)
                e->r.release_cue_at += paused;
        if (e->r.contact_at)
                e->r.contact_at += paused;
        e->r.settle_since = 0;
        e->r.over = false;
        e->r.descent_at = now;
        e->r.need_recontact = true;
        e->cue.warnings &= ~(CUE_WARN_TOOL_LOST | CUE_WARN_OVER_FORCE);
        e->phase = e->paused_phase;
        e->last_activity = now;

        switch (e->phase) {
        case PHASE_HOLD:
                set_cue(e, CUE_HOLD, now, e->r.hold_start + nsec_from_ms(cur_step(e)->target_hold_ms));
                break;
        case PHASE_RELEASING:
                set_cue(e, CUE_RELEASE, now, 0);
                break;
        default:
                set_cue(e, CUE_PRESSING, now, 0);
                break;
        }
        return push_event(e, EVENT_TOOL_BACK, now, (double) nsec_to_ms_round(paused));
}

/* ---- deadlines ---- */

static nsec_t deadline(const Engine *e) {
        const ProtocolStep *s = cur_step(e);
        nsec_t d = NSEC_INFINITY;

        if (!e->session) {
                if (e->cue.kind == CUE_DONE)
                        d = MIN(d, e->done_due);
                if (e->idle_contact && e->default_protocol && e->params.checkin_press_ms > 0)
                        d = MIN(d, e->idle_contact_since + nsec_from_ms(e->params.checkin_press_ms));
                return d;
        }

        switch (e->phase) {
        case PHASE_CUE:
                d = e->last_activity + nsec_from_ms(e->params.idle_timeout_ms);
                break;
        case PHASE_PRESSING:
                if (s->start == HOLD_START_AUTO && e->r.settle_since)
                        d = MIN(d, e->r.settle_since + nsec_from_ms(s->settle_ms));
                if (e->r.over)
                        d = MIN(d, e->r.over_since + nsec_from_ms(s->over_force_ms));
                d = MIN(d, e->last_activity + nsec_from_ms(e->params.idle_timeout_ms));
                break;
        case PHASE_HOLD:
                d = e->r.hold_start + nsec_from_ms(s->target_hold_ms);
                if (e->r.over)
                        d = MIN(d, e->r.over_since + nsec_from_ms(s->over_force_ms));
                break;
        case PHASE_RELEASING:
                if (!e->r.tool)
                        d = e->phase_due;
                else {
                        if (!e->r.over_hold_warned && e->r.hold_start)
                                d = MIN(d, e->r.hold_start + nsec_from_ms(s->max_hold_ms));
                        d = MIN(d, e->r.release_cue_at + nsec_from_ms(e->params.idle_timeout_ms));
                }
                break;
        case PHASE_REST:
        case PHASE_PAUSED:
                d = e->phase_due;
                break;
        default:
                break;
        }
        return d;
}

nsec_t engine_next_deadline(const Engine *e) {
        return deadline(e);
}

/* 1 when a due deadline was served, 0 when nothing was due, negative errno on failure. */
static int acted(int r) {
        return r < 0 ? r : 1;
}

static int tick_once(Engine *e, nsec_t now) {
        const ProtocolStep *s = cur_step(e);

        if (!e->session) {
                if (e->cue.kind == CUE_DONE && now >= e->done_due) {
                        e->cue = (Cue) { .kind = CUE_IDLE, .step = -1, .since_ns = now };
                        return 1;
                }
                if (e->idle_contact && e->default_protocol && e->params.checkin_press_ms > 0 &&
                    now >= e->idle_contact_since + nsec_from_ms(e->params.checkin_press_ms))
                        return acted(start_session(e, now, e->default_protocol, NULL));
                return 0;
        }

        switch (e->phase) {
        case PHASE_CUE:
                if (now >= e->last_activity + nsec_from_ms(e->params.idle_timeout_ms))
                        return acted(stop_session(e, now, SESSION_ABANDONED, REP_SKIPPED));
                return 0;

        case PHASE_PRESSING:
                if (e->r.over && now >= e->r.over_since + nsec_from_ms(s->over_force_ms)) {
                        /* Never reached a hold; the rep ends for safety. */
                        int r = start_hold(e, now);
                        if (r < 0)
                                return r;
                        return acted(release_cue(e, now, REP_OVER_FORCE));
                }
                if (s->start == HOLD_START_AUTO && e->r.settle_since &&
                    now >= e->r.settle_since + nsec_from_ms(s->settle_ms))
                        return acted(start_hold(e, now));
                if (now >= e->last_activity + nsec_from_ms(e->params.idle_timeout_ms))
                        return acted(stop_session(e, now, SESSION_ABANDONED, REP_SKIPPED));
                return 0;

        case PHASE_HOLD:
                if (e->r.over && now >= e->r.over_since + nsec_from_ms(s->over_force_ms))
                        return acted(release_cue(e, now, REP_OVER_FORCE));
                if (now >= e->r.hold_start + nsec_from_ms(s->target_hold_ms))
                        return acted(release_cue(e, now, s->needs_release_tap ? REP_NOT_RELEASED : REP_COMPLETED));
                return 0;

        case PHASE_RELEASING:
                if (!e->r.tool) {
                        if (now >= e->phase_due)
                                return acted(end_rep(e, now, e->r.pending, false));
                        return 0;
                }
                if (!e->r.over_hold_warned && now >= e->r.hold_start + nsec_from_ms(s->max_hold_ms)) {
                        e->r.over_hold_warned = true;
                        /* Still holding, not releasing slowly as told: only then warn. */
                        if (e->r.hold_n > 0 && !holding(e))
                                return 1;
                        e->cue.warnings |= CUE_WARN_OVER_HOLD;
                        return acted(push_event(e, EVENT_OVER_HOLD, now, e->force));
                }
                if (now >= e->r.release_cue_at + nsec_from_ms(e->params.idle_timeout_ms)) {
                        /* The force never dropped: give up measuring the release. */
                        SessionRep *rep = cur_rep(e);
                        rep->hold_ms = ms_between(e->r.hold_start, hold_end(e));
                        return acted(end_rep(e, now, e->r.pending, false));
                }
                return 0;

        case PHASE_REST:
                if (now >= e->phase_due) {
                        e->cue.warnings = 0;
                        return acted(rest_done(e, now));
                }
                return 0;

        case PHASE_PAUSED:
                if (now >= e->phase_due)
                        return acted(stop_session(e, now, SESSION_ABANDONED, REP_TOOL_LOST));
                return 0;

        default:
                return 0;
        }
}

static int check_time(Engine *e, nsec_t now) {
        if (now < e->last_now)
                return -EINVAL;
        e->last_now = now;
        return 0;
}

int engine_tick(Engine *e, nsec_t now) {
        int r = check_time(e, now);
        if (r < 0)
                return r;

        /* Several deadlines can be due at once (a late tick, or two that coincide): serve them
         * one by one until none is. Each transition moves a deadline forward, so this ends;
         * the bound only guards against a bug turning into a hang. */
        for (unsigned i = 0; i < 1024; i++) {
                if (deadline(e) > now)
                        return 0;
                r = tick_once(e, now);
                if (r <= 0)
                        return r;
        }
        return -ELOOP;
}

int engine_feed(Engine *e, const EngineInput *in) {
        nsec_t now = in->now;
        int r;

        if ((unsigned) in->type >= _INPUT_TYPE_MAX)
                return -EINVAL;
        if (in->type == INPUT_FORCE && (!isfinite(in->force_n) || fabs(in->force_n) > FORCE_LIMIT_N))
                return -EINVAL;
        if (in->type == INPUT_CMD_START && !in->protocol)
                return -EINVAL;
        if (in->type == INPUT_CMD_START && e->session)
                return -EBUSY;

        /* Deadlines that passed before this input take effect first. */
        r = engine_tick(e, now);
        if (r < 0)
                return r;

        switch (in->type) {
        case INPUT_FORCE:
                /* Samples prove the tool is there, even if its connect event got lost. */
                if (!e->tool_connected || e->phase == PHASE_PAUSED) {
                        r = on_tool_connected(e, now);
                        if (r < 0)
                                return r;
                }
                e->force = force_filter_push(&e->filter, now, in->force_n);
                e->have_force = true;
                if (!e->session)
                        return force_idle(e, now);
                return force_in_session(e, now);

        case INPUT_SWITCH_TAP:
                return on_tap(e, now);

        case INPUT_SWITCH_LONG:
        case INPUT_CMD_SKIP:
                return on_skip(e, now);

        case INPUT_SWITCH_VERY_LONG:
        case INPUT_CMD_STOP:
                if (!e->session)
                        return 0;
                return stop_session(e, now, SESSION_ABORTED, REP_SKIPPED);

        case INPUT_TOOL_CONNECTED:
                return on_tool_connected(e, now);

        case INPUT_TOOL_LOST:
                return on_tool_lost(e, now);

        case INPUT_TARE:
                /* Zeroing while someone presses would erase their press from the record. */
                if (e->session && (e->phase == PHASE_PRESSING || e->phase == PHASE_HOLD ||
                                   e->phase == PHASE_RELEASING || e->phase == PHASE_PAUSED))
                        return -EBUSY;
                force_filter_tare(&e->filter);
                e->force = force_filter_value(&e->filter);
                return 0;

        case INPUT_CMD_START:
                return start_session(e, now, in->protocol, in->athlete);

        default:
                return -EINVAL;
        }
}

/* ---- object ---- */

static int copy_params(Engine *e, const EngineParams *p) {
        char *hub = strdup(p->hub ?: "hub"), *station = strdup(p->station ?: "station");

        if (!hub || !station) {
                free(hub);
                free(station);
                return -ENOMEM;
        }
        free(e->hub);
        free(e->station);
        e->hub = hub;
        e->station = station;
        e->params = *p;
        e->params.hub = e->hub;
        e->params.station = e->station;
        if (e->params.descent_frac <= 0 || e->params.descent_frac > 1)
                e->params.descent_frac = 0.8;
        force_filter_set_smoothing(&e->filter, p->smoothing_ms);
        return 0;
}

int engine_new(Engine **ret, const EngineParams *params) {
        _cleanup_(engine_freep) Engine *e = calloc(1, sizeof(Engine));
        EngineParams def = ENGINE_PARAMS_DEFAULT;
        int r;

        if (!e)
                return -ENOMEM;
        force_filter_init(&e->filter, 0);
        r = copy_params(e, params ?: &def);
        if (r < 0)
                return r;
        e->cue = (Cue) { .kind = CUE_IDLE, .step = -1 };
        *ret = TAKE_PTR(e);
        return 0;
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        session_free(e->session);
        session_free(e->finished);
        free(e->items);
        free(e->events);
        free(e->next_id);
        free(e->hub);
        free(e->station);
        free(e);
        return NULL;
}

int engine_set_params(Engine *e, const EngineParams *params) {
        return copy_params(e, params);
}

void engine_set_default_protocol(Engine *e, const Protocol *p) {
        e->default_protocol = p;
        e->idle_contact = false;
}

void engine_set_wall_offset(Engine *e, int64_t offset_ns) {
        e->wall_offset_ns = offset_ns;
}

int engine_set_next_session_id(Engine *e, const char *id) {
        char *c = strdup(id);
        if (!c)
                return -ENOMEM;
        free(e->next_id);
        e->next_id = c;
        return 0;
}

const Cue *engine_cue(const Engine *e) {
        return &e->cue;
}

bool engine_pop_event(Engine *e, EngineEvent *ret) {
        if (e->events_head >= e->n_events) {
                e->events_head = e->n_events = 0;
                return false;
        }
        *ret = e->events[e->events_head++];
        return true;
}

Session *engine_take_finished(Engine *e) {
        return TAKE_PTR(e->finished);
}

const Session *engine_session(const Engine *e) {
        return e->session;
}

const Protocol *engine_protocol(const Engine *e) {
        return e->protocol;
}

void engine_status(const Engine *e, nsec_t now, EngineStatus *ret) {
        const ProtocolStep *s = cur_step(e);

        *ret = (EngineStatus) {
                .state = e->cue.kind,
                .protocol = e->session ? e->session->protocol : NULL,
                .athlete = e->session ? e->session->athlete : NULL,
                .session_id = e->session ? e->session->id : NULL,
                .step = cur_step_index(e),
                .point_label = e->session && s ? s->label : NULL,
                .rep = e->session ? e->rep : 0,
                .remaining_ms = -1,
                .force_n = e->have_force ? e->force : 0,
                .tool_connected = e->tool_connected,
        };
        if (e->cue.due_ns > 0)
                ret->remaining_ms = e->cue.due_ns > now ? nsec_to_ms(e->cue.due_ns - now) : 0;
}

const char *engine_event_type_to_string(EngineEventType t) {
        static const char *const names[_EVENT_TYPE_MAX] = {
                [EVENT_CHECKIN] = "checkin",
                [EVENT_STEP] = "step",
                [EVENT_PRESS] = "press",
                [EVENT_HOLD_START] = "hold_start",
                [EVENT_RELEASE_CUE] = "release_cue",
                [EVENT_RELEASED] = "released",
                [EVENT_EARLY_RELEASE] = "early_release",
                [EVENT_NOT_RELEASED] = "not_released",
                [EVENT_OVER_FORCE] = "over_force",
                [EVENT_OVER_HOLD] = "over_hold",
                [EVENT_TOOL_LOST] = "tool_lost",
                [EVENT_TOOL_BACK] = "tool_back",
                [EVENT_MEASURED] = "measured",
                [EVENT_SKIPPED] = "skipped",
                [EVENT_REST] = "rest",
                [EVENT_SESSION_END] = "session_end",
        };
        return (unsigned) t < _EVENT_TYPE_MAX ? names[t] : NULL;
}

const char *engine_input_type_to_string(EngineInputType t) {
        static const char *const names[_INPUT_TYPE_MAX] = {
                [INPUT_FORCE] = "force",
                [INPUT_SWITCH_TAP] = "tap",
                [INPUT_SWITCH_LONG] = "long",
                [INPUT_SWITCH_VERY_LONG] = "very_long",
                [INPUT_TOOL_CONNECTED] = "tool_connected",
                [INPUT_TOOL_LOST] = "tool_lost",
                [INPUT_TARE] = "tare",
                [INPUT_CMD_START] = "start",
                [INPUT_CMD_STOP] = "stop",
                [INPUT_CMD_SKIP] = "skip",
        };
        return (unsigned) t < _INPUT_TYPE_MAX ? names[t] : NULL;
}
