/* SPDX-License-Identifier: MIT */
#include <assert.h>
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
        bool away;                /* a revisit right after its own point: rest away first */
} WorkItem;

/* Runtime state of the rep in progress. Times are 0 when not reached. */
typedef struct RepState {
        size_t rec;               /* index into the session step's reps */
        bool tool;                /* force-measured (a tool was connected when it started) */
        bool recorded;            /* rep record exists */
        nsec_t cued_at;           /* when the point was cued (started_ms) */
        nsec_t contact_at;
        nsec_t settle_since;      /* auto start: in band since */
        bool in_band;
        nsec_t hold_start;
        nsec_t release_cue_at;
        nsec_t descent_at;        /* last hold sample at or above the descent floor */
        bool over;                /* above safety maximum (Schmitt state) */
        nsec_t over_since;
        bool over_hold_warned;
        bool tap_counts;          /* min_hold reached where a tap ends the hold */
        bool let_go;              /* the force fell below release_n: the hold is over */
        bool need_recontact;      /* resumed after tool loss: ignore drops until contact */
        RepOutcome pending;       /* outcome decided when the hold ended */
        CueRelease release;       /* why the release was cued */
        /* The hold's mean force is over its own samples only (docs/session.md): every
         * sample since the hold started, the prefix up to the last one at or above the
         * descent floor (the hold end without a cue) and the prefix up to the cue. */
        double sum, held_sum, cue_sum;
        uint64_t n, held_n, cue_n;
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

        if (e->cue.kind != kind || e->cue.step != step || e->cue.rep != rep || e->cue.due_ns != due) {
                e->cue.since_ns = now;
                e->cue.release = CUE_RELEASE_NONE;
                e->cue.away = false;
                e->cue.tap_counts_ns = 0;
                e->cue.not_yet_ns = 0;
        }
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
        /* The point was cued before anything was recorded: the search time belongs to it. */
        rep->started_ms = ms_between(e->session->started_mono, e->r.cued_at ?: now);
        e->r.rec = cur_session_step(e)->n_reps - 1;
        e->r.recorded = true;
        return 0;
}

/* A tap can end this step's hold as completed once min_hold is reached. */
static bool tap_can_end(const ProtocolStep *s) {
        return (s->tap_ends_hold || s->kind == STEP_STRETCH) && s->min_hold_ms < s->target_hold_ms;
}

/* When, in the current hold, a tap starts to count. */
static nsec_t tap_counts_at(const Engine *e, const ProtocolStep *s) {
        return e->r.hold_start + nsec_from_ms(s->min_hold_ms);
}

/* How a hold that reaches its target ends: a point that needs a release tap was not
 * released when the clock, not the athlete, ends the hold. */
static RepOutcome target_outcome(const ProtocolStep *s) {
        return s->needs_release_tap ? REP_NOT_RELEASED : REP_COMPLETED;
}

static CueRelease release_of(RepOutcome pending) {
        return pending == REP_OVER_FORCE ? CUE_RELEASE_OVER_FORCE :
               pending == REP_NOT_RELEASED ? CUE_RELEASE_NOT_RELEASED : CUE_RELEASE_DONE;
}

static void hold_sample(Engine *e, nsec_t now) {
        e->r.sum += e->force;
        e->r.n++;
        if (e->force >= e->params.descent_frac * (e->r.sum / (double) e->r.n)) {
                e->r.held_sum = e->r.sum;
                e->r.held_n = e->r.n;
                e->r.descent_at = now;
        }
}

/* with_sample: the hold starts at the force sample being processed, which is its first. */
static int start_hold(Engine *e, nsec_t now, bool with_sample) {
        const ProtocolStep *s = cur_step(e);
        SessionRep *rep;
        int r;

        if (!e->r.recorded) {
                r = record_rep(e, now);
                if (r < 0)
                        return r;
        }
        rep = cur_rep(e);
        rep->hold_started_ms = ms_between(e->session->started_mono, now);
        e->r.hold_start = now;
        e->r.descent_at = now;
        e->r.tool = e->tool_connected && e->have_force && s->kind != STEP_STRETCH;
        e->phase = PHASE_HOLD;
        e->last_activity = now;
        set_cue(e, CUE_HOLD, now, now + nsec_from_ms(s->target_hold_ms));
        if (tap_can_end(s) && s->min_hold_ms == 0) {
                e->r.tap_counts = true;
                e->cue.tap_counts_ns = now;
        }
        if (with_sample && e->r.tool)
                hold_sample(e, now);
        return push_event(e, EVENT_HOLD_START, now, e->force);
}

static int begin_rep(Engine *e, nsec_t now) {
        const ProtocolStep *s = cur_step(e);
        int r;

        e->r = (RepState) { .pending = REP_COMPLETED, .cued_at = now };
        e->last_activity = now;
        e->cue.warnings = 0;

        if (e->rep == 1) {
                r = push_event(e, EVENT_STEP, now, 0);
                if (r < 0)
                        return r;
        }

        if (s->kind == STEP_STRETCH)
                return start_hold(e, now, false);

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

static StepKind item_kind(const Engine *e, size_t i) {
        return e->protocol->steps[e->items[i].step].kind;
}

/* Where a revisit of the current point goes. "Remove the pressure, work somewhere else,
 * then come back": after the remaining press points of this run, before the next
 * measurement (a re-test must follow all the work). When that would cue the point again
 * straight away, it goes after the stretch that comes next, or, when nothing but a
 * measurement or the end is left, after a rest away from the point (*ret_away). */
static size_t revisit_slot(const Engine *e, bool *ret_away) {
        size_t pos = e->n_items;

        for (size_t i = e->cursor + 1; i < e->n_items; i++)
                if (item_kind(e, i) != STEP_PRESS) {
                        pos = i;
                        break;
                }
        *ret_away = false;
        if (pos == e->cursor + 1) {
                if (pos < e->n_items && item_kind(e, pos) == STEP_STRETCH)
                        pos++;
                else
                        *ret_away = true;
        }
        return pos;
}

static int insert_revisit(Engine *e, size_t step, unsigned attempt) {
        bool away;
        size_t pos = revisit_slot(e, &away);

        if (e->n_items >= MAX_WORK_ITEMS)
                return -E2BIG;

        WorkItem *items = reallocarray(e->items, e->n_items + 1, sizeof(WorkItem));
        if (!items)
                return -ENOMEM;
        e->items = items;
        memmove(&e->items[pos + 1], &e->items[pos], (e->n_items - pos) * sizeof(WorkItem));
        e->items[pos] = (WorkItem) { .step = step, .attempt = attempt, .away = away };
        e->n_items++;
        return 0;
}

static nsec_t hold_end(const Engine *e);

static uint32_t cur_step_revisit_rest(const Engine *e) {
        return cur_step(e)->revisit_rest_ms;
}

/* The hold is still running (not ended by a cue or a descent). */
static bool hold_running(const Engine *e) {
        return !e->r.let_go &&
               (e->phase == PHASE_HOLD || (e->phase == PHASE_PAUSED && e->paused_phase == PHASE_HOLD));
}

/* The samples of the hold (docs/session.md): from its start to its end, which is the last
 * sample at or above the descent floor, but never before the release cue. A hold cut short
 * while running (skip, stop) ends now, so all its samples count. */
static uint64_t hold_samples(const Engine *e, double *ret_sum) {
        if (hold_running(e)) {
                *ret_sum = e->r.sum;
                return e->r.n;
        }
        if (e->r.release_cue_at && e->r.release_cue_at > e->r.descent_at) {
                *ret_sum = e->r.cue_sum;
                return e->r.cue_n;
        }
        *ret_sum = e->r.held_sum;
        return e->r.held_n;
}

/* Derived fields of a rep whose hold_ms is final. A measure trial is not a hold: nothing
 * about its duration or release is flagged. */
static void record_flags_and_force(Engine *e, const ProtocolStep *s, SessionRep *rep) {
        double sum;
        uint64_t n;

        rep->over_hold = s->kind != STEP_MEASURE && rep->hold_ms != MS_UNKNOWN &&
                         rep->hold_ms > (int64_t) s->max_hold_ms;
        if (s->kind == STEP_MEASURE)
                rep->release_too_fast = false;
        n = hold_samples(e, &sum);
        if (e->r.tool && n > 0) {
                rep->has_force = true;
                rep->force_mean_n = sum / (double) n;
                rep->force_peak_n = e->r.peak;
        }
}

/* Closes the current rep with its outcome and moves on: rest, next rep, next point. */
/* A point not released comes back later, while it has tries left. */
static bool rep_revisits(const Engine *e, const ProtocolStep *s, RepOutcome outcome) {
        return outcome == REP_NOT_RELEASED && s->not_released == NOT_RELEASED_REVISIT &&
               e->items[e->cursor].attempt < s->max_tries;
}

/* The rep ending so is the last of its work item. */
static bool rep_ends_item(const Engine *e, const ProtocolStep *s, RepOutcome outcome, bool move_on_now) {
        return e->rep >= s->reps || outcome == REP_NOT_RELEASED || move_on_now;
}

/* Ending the current rep so ends the session (a revisit adds an item after this one). */
static bool rep_ends_session(const Engine *e, const ProtocolStep *s, RepOutcome outcome, bool move_on_now) {
        return rep_ends_item(e, s, outcome, move_on_now) && !rep_revisits(e, s, outcome) &&
               e->cursor + 1 >= e->n_items;
}

static int end_rep(Engine *e, nsec_t now, RepOutcome outcome, bool move_on_now) {
        const ProtocolStep *s = cur_step(e);
        SessionRep *rep = cur_rep(e);
        int r;

        if (rep) {
                rep->outcome = outcome;
                if (e->r.hold_start > 0 && rep->hold_ms == MS_UNKNOWN)
                        rep->hold_ms = ms_between(e->r.hold_start, hold_running(e) ? now : hold_end(e));
                record_flags_and_force(e, s, rep);
        }

        bool ends_session = rep_ends_session(e, s, outcome, move_on_now);
        bool revisit = rep_revisits(e, s, outcome);
        if (revisit) {
                r = insert_revisit(e, e->items[e->cursor].step, e->items[e->cursor].attempt + 1);
                if (r < 0)
                        return r;
        }

        bool last_rep_of_item = rep_ends_item(e, s, outcome, move_on_now);

        e->r.recorded = false;
        if (ends_session)
                return finish(e, now, SESSION_COMPLETED);

        if (move_on_now) {
                e->cursor++;
                e->rep = 1;
                return begin_item(e, now);
        }

        /* A revisit with nothing else to work on in between: the rest before it is spent
         * away from the point, and at least revisit_rest long. */
        bool away = last_rep_of_item && e->items[e->cursor + 1].away;
        uint32_t rest_ms = away ? MAX(s->rest_ms, cur_step_revisit_rest(e)) : s->rest_ms;

        e->phase = PHASE_REST;
        e->phase_due = now + nsec_from_ms(rest_ms);
        e->r.hold_start = 0;
        e->cue.warnings = 0;
        set_cue(e, CUE_REST, now, e->phase_due);
        e->cue.away = away;
        return push_event(e, EVENT_REST, now, rest_ms);
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
                                                          !hold_running(e) ? hold_end(e) :
                                                          e->phase == PHASE_PAUSED ? e->paused_at : now);
                        record_flags_and_force(e, cur_step(e), rep);
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
        e->r.cue_sum = e->r.sum;
        e->r.cue_n = e->r.n;
        e->r.release = release_of(pending);
        /* The release cue is the safety stop now: its own sound must not be drowned by the
         * over-force warning it answers. */
        e->r.over = false;
        e->cue.warnings &= ~CUE_WARN_OVER_FORCE;
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
        e->cue.release = e->r.release;
        r = push_event(e, EVENT_RELEASE_CUE, now, e->force);
        if (r < 0)
                return r;
        if (pending == REP_NOT_RELEASED)
                return push_event(e, EVENT_NOT_RELEASED, now, 0);
        return 0;
}

/* At or above the descent floor: still holding, not yet releasing. */
static bool holding(const Engine *e) {
        return e->r.n > 0 && e->force >= e->params.descent_frac * (e->r.sum / (double) e->r.n);
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

        e->r.let_go = true;
        rep->hold_ms = ms_between(e->r.hold_start, descent);
        rep->release_ms = ms_between(descent, now);
        rep->release_too_fast = s->kind != STEP_MEASURE && rep->release_ms < (int64_t) s->min_release_ms;

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
                                        return start_hold(e, now, true);
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
                /* The release ends at the first sample below release_n; that sample and
                 * those of the descent before it are not the hold's (hold_samples()). */
                if (e->force < s->release_n)
                        return released(e, now);
                hold_sample(e, now);
                if (e->phase == PHASE_HOLD) {
                        r = check_over_force(e, now, s);
                        if (r < 0)
                                return r;
                }
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

/* A tap that does not count gets an immediate answer instead of silence. */
static int not_yet(Engine *e, nsec_t now) {
        e->cue.not_yet_ns = now;
        return push_event(e, EVENT_NOT_YET, now, 0);
}

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
                        return start_hold(e, now, false);
                /* With one, the hold needs contact first. */
                return not_yet(e, now);

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
                        rep->hold_started_ms = ms_between(e->session->started_mono, now);
                        e->r.descent_at = now;
                        hold_sample(e, now);
                        r = push_event(e, EVENT_MEASURED, now, e->force);
                        if (r < 0)
                                return r;
                        return release_cue(e, now, REP_COMPLETED);
                }
                return start_hold(e, now, false);

        case PHASE_HOLD:
                if (s->kind == STEP_STRETCH)
                        return release_cue(e, now, now - e->r.hold_start >= nsec_from_ms(s->min_hold_ms) ?
                                                   REP_COMPLETED : REP_EARLY_RELEASE);
                if (s->tap_ends_hold && now - e->r.hold_start >= nsec_from_ms(s->min_hold_ms))
                        return release_cue(e, now, REP_COMPLETED);
                return not_yet(e, now);

        case PHASE_REST:
                /* The rest away from a point before its revisit is the point of the rest. */
                if (e->cue.away)
                        return not_yet(e, now);
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
        /* The hold goes on from here: what was held before the loss stays the hold's. */
        e->r.descent_at = now;
        e->r.held_sum = e->r.sum;
        e->r.held_n = e->r.n;
        e->r.need_recontact = true;
        e->cue.warnings &= ~(CUE_WARN_TOOL_LOST | CUE_WARN_OVER_FORCE);
        e->phase = e->paused_phase;
        e->last_activity = now;

        switch (e->phase) {
        case PHASE_HOLD: {
                const ProtocolStep *s = cur_step(e);
                nsec_t counts = e->r.hold_start + nsec_from_ms(s->min_hold_ms);

                set_cue(e, CUE_HOLD, now, e->r.hold_start + nsec_from_ms(s->target_hold_ms));
                if (e->r.tap_counts)
                        e->cue.tap_counts_ns = counts;
                break;
        }
        case PHASE_RELEASING:
                set_cue(e, CUE_RELEASE, now, 0);
                e->cue.release = e->r.release;
                break;
        default:
                set_cue(e, CUE_PRESSING, now, 0);
                break;
        }
        return push_event(e, EVENT_TOOL_BACK, now, (double) nsec_to_ms_round(paused));
}

/* ---- deadlines ---- */

/* What a timer does when it is due. */
typedef enum TimerAction {
        TIMER_DONE_SHOWN,        /* the "done" cue has been shown long enough */
        TIMER_CHECKIN_PRESS,     /* a press held at check-in starts the default protocol */
        TIMER_IDLE,              /* nobody did anything for idle_timeout: abandoned */
        TIMER_OVER_FORCE_PRESS,  /* too much force before any hold: the rep ends for safety */
        TIMER_SETTLED,           /* an auto-start press settled: the hold starts */
        TIMER_OVER_FORCE_HOLD,   /* too much force during the hold */
        TIMER_HOLD_TARGET,       /* the target hold time is reached: release cue */
        TIMER_TAP_COUNTS,        /* min_hold reached: a tap now ends the hold */
        TIMER_RELEASE_SHOWN,     /* without a tool, the release cue has been shown long enough */
        TIMER_OVER_HOLD,         /* held past max_hold */
        TIMER_RELEASE_GIVE_UP,   /* the force never dropped after the release cue */
        TIMER_REST_DONE,
        TIMER_PAUSE_EXPIRED,     /* the tool did not come back in time */
} TimerAction;

typedef struct Timer {
        nsec_t due;
        TimerAction action;
} Timer;

#define MAX_TIMERS 3

/* The timers of the engine's state: the one place that says which timers run when. When
 * several are due at once they are served in this order (one per engine_tick() round: each
 * action changes the state, and so the list).
 *
 * Returns the earliest due time (NSEC_INFINITY: none), the timers in t, their number in *ret_n.
 * Inlined: it runs for every input (the daemon's hot path), and so the list of a caller that
 * only wants the time costs nothing. */
static inline __attribute__((always_inline))
nsec_t state_timers(const Engine *e, Timer t[static MAX_TIMERS], size_t *ret_n) {
        const ProtocolStep *s;
        nsec_t first = NSEC_INFINITY;
        size_t n = 0;

#define TIMER(d, a)                                                     \
        do {                                                            \
                nsec_t _d = (d);                                        \
                t[n++] = (Timer) { .due = _d, .action = (a) };          \
                first = MIN(first, _d);                                 \
        } while (0)
        if (!e->session) {
                if (e->cue.kind == CUE_DONE)
                        TIMER(e->done_due, TIMER_DONE_SHOWN);
                if (e->idle_contact && e->default_protocol && e->params.checkin_press_ms > 0)
                        TIMER(e->idle_contact_since + nsec_from_ms(e->params.checkin_press_ms), TIMER_CHECKIN_PRESS);
                *ret_n = n;
                return first;
        }

        s = cur_step(e);

        switch (e->phase) {
        case PHASE_CUE:
                TIMER(e->last_activity + nsec_from_ms(e->params.idle_timeout_ms), TIMER_IDLE);
                break;
        case PHASE_PRESSING:
                if (e->r.over)
                        TIMER(e->r.over_since + nsec_from_ms(s->over_force_ms), TIMER_OVER_FORCE_PRESS);
                if (s->start == HOLD_START_AUTO && e->r.settle_since)
                        TIMER(e->r.settle_since + nsec_from_ms(s->settle_ms), TIMER_SETTLED);
                TIMER(e->last_activity + nsec_from_ms(e->params.idle_timeout_ms), TIMER_IDLE);
                break;
        case PHASE_HOLD:
                if (e->r.over)
                        TIMER(e->r.over_since + nsec_from_ms(s->over_force_ms), TIMER_OVER_FORCE_HOLD);
                /* Before the tap signal: a hold whose target is reached gets its release cue,
                 * and a tap signal after that would be news of nothing. */
                TIMER(e->r.hold_start + nsec_from_ms(s->target_hold_ms), TIMER_HOLD_TARGET);
                if (tap_can_end(s) && !e->r.tap_counts)
                        TIMER(tap_counts_at(e, s), TIMER_TAP_COUNTS);
                break;
        case PHASE_RELEASING:
                if (!e->r.tool) {
                        TIMER(e->phase_due, TIMER_RELEASE_SHOWN);
                        break;
                }
                /* A measurement ends at the tap: nothing is "held too long" after it. */
                if (!e->r.over_hold_warned && e->r.hold_start && s->kind != STEP_MEASURE)
                        TIMER(e->r.hold_start + nsec_from_ms(s->max_hold_ms), TIMER_OVER_HOLD);
                TIMER(e->r.release_cue_at + nsec_from_ms(e->params.idle_timeout_ms), TIMER_RELEASE_GIVE_UP);
                break;
        case PHASE_REST:
                TIMER(e->phase_due, TIMER_REST_DONE);
                break;
        case PHASE_PAUSED:
                TIMER(e->phase_due, TIMER_PAUSE_EXPIRED);
                break;
        default:
                break;
        }
#undef TIMER
        *ret_n = n;   /* at most MAX_TIMERS: count the TIMER()s of a case */
        return first;
}

/* One copy of the inlined list, shared by its two callers. */
static __attribute__((noinline)) nsec_t deadline(const Engine *e) {
        Timer t[MAX_TIMERS];
        size_t n;

        return state_timers(e, t, &n);
}

nsec_t engine_next_deadline(const Engine *e) {
        return deadline(e);
}

/* 1 when a due deadline was served, negative errno on failure. */
static int acted(int r) {
        return r < 0 ? r : 1;
}

static int fire(Engine *e, TimerAction action, nsec_t now) {
        const ProtocolStep *s = cur_step(e);
        int r;

        switch (action) {
        case TIMER_DONE_SHOWN:
                e->cue = (Cue) { .kind = CUE_IDLE, .step = -1, .since_ns = now };
                return 1;
        case TIMER_CHECKIN_PRESS:
                return acted(start_session(e, now, e->default_protocol, NULL));
        case TIMER_IDLE:
                return acted(stop_session(e, now, SESSION_ABANDONED, REP_SKIPPED));
        case TIMER_OVER_FORCE_PRESS:
                /* Never reached a hold; the rep ends for safety. */
                r = start_hold(e, now, false);
                if (r < 0)
                        return r;
                return acted(release_cue(e, now, REP_OVER_FORCE));
        case TIMER_SETTLED:
                return acted(start_hold(e, now, false));
        case TIMER_OVER_FORCE_HOLD:
                return acted(release_cue(e, now, REP_OVER_FORCE));
        case TIMER_HOLD_TARGET:
                return acted(release_cue(e, now, target_outcome(s)));
        case TIMER_TAP_COUNTS:
                e->r.tap_counts = true;
                e->cue.tap_counts_ns = tap_counts_at(e, s);
                return acted(push_event(e, EVENT_TAP_COUNTS, now, 0));
        case TIMER_RELEASE_SHOWN:
                return acted(end_rep(e, now, e->r.pending, false));
        case TIMER_OVER_HOLD:
                e->r.over_hold_warned = true;
                /* Still holding, not releasing slowly as told: only then warn. */
                if (e->r.n > 0 && !holding(e))
                        return 1;
                e->cue.warnings |= CUE_WARN_OVER_HOLD;
                return acted(push_event(e, EVENT_OVER_HOLD, now, e->force));
        case TIMER_RELEASE_GIVE_UP: {
                /* The force never dropped: give up measuring the release. */
                SessionRep *rep = cur_rep(e);
                rep->hold_ms = ms_between(e->r.hold_start, hold_end(e));
                return acted(end_rep(e, now, e->r.pending, false));
        }
        case TIMER_REST_DONE:
                e->cue.warnings = 0;
                return acted(rest_done(e, now));
        case TIMER_PAUSE_EXPIRED:
                return acted(stop_session(e, now, SESSION_ABANDONED, REP_TOOL_LOST));
        }
        assert(!"unknown timer action");
        return -EINVAL;
}

static int check_time(Engine *e, nsec_t now) {
        if (now < e->last_now)
                return -EINVAL;
        e->last_now = now;
        return 0;
}

/* Serves the timer due first (of those due at the same moment, the first in the state's
 * order) at its due time, never before floor. Out of line: engine_tick() runs for every input
 * and mostly finds nothing due. */
static __attribute__((noinline)) int serve_due(Engine *e, nsec_t floor) {
        Timer t[MAX_TIMERS];
        size_t n;
        nsec_t at = MAX(state_timers(e, t, &n), floor);

        for (size_t k = 0; k < n; k++)
                if (t[k].due <= at)
                        return fire(e, t[k].action, at);
        return 0;
}

int engine_tick(Engine *e, nsec_t now) {
        nsec_t floor = e->last_now;
        int r = check_time(e, now);
        if (r < 0)
                return r;

        /* Several deadlines can be due at once (a late tick, or two that coincide): serve them
         * one by one until none is. Each transition moves a deadline forward, so this ends;
         * the bound only guards against a bug turning into a hang.
         * A deadline takes effect at its own time, not at the (later) time the timer ran: a
         * rest, a release cue or a countdown that follows starts from when it was due, so
         * timer latency never adds up over a session. Never before an input already taken. */
        for (unsigned i = 0; i < 1024; i++) {
                if (deadline(e) > now)
                        return 0;
                r = serve_due(e, floor);
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

bool engine_forecast(const Engine *e, Cue *ret_shown, Cue *ret_next) {
        const ProtocolStep *s;
        nsec_t target;

        assert(e && ret_shown && ret_next);
        if (!e->session)
                return false;
        s = cur_step(e);
        /* A release cue without a tool lasts min_release (TIMER_RELEASE_SHOWN); when its rep
         * is the session's last, the done cue follows then (finish()). */
        if (e->phase == PHASE_RELEASING && e->cue.kind == CUE_RELEASE && !e->r.tool && e->phase_due > 0) {
                if (!rep_ends_session(e, s, e->r.pending, false))
                        return false;
                *ret_shown = e->cue;
                *ret_next = (Cue) { .kind = CUE_DONE, .step = -1, .since_ns = e->phase_due,
                                    .due_ns = e->phase_due + DONE_CUE_NS };
                return true;
        }
        if (e->phase != PHASE_HOLD || e->cue.kind != CUE_HOLD)
                return false;
        target = e->r.hold_start + nsec_from_ms(s->target_hold_ms);
        /* The same rules as the timers that will fire (TIMER_TAP_COUNTS, TIMER_HOLD_TARGET)
         * and the cue release_cue() will show. */
        *ret_shown = e->cue;
        if (tap_can_end(s) && !e->r.tap_counts)
                ret_shown->tap_counts_ns = tap_counts_at(e, s);
        *ret_next = (Cue) {
                .kind = CUE_RELEASE,
                .warnings = e->cue.warnings & ~CUE_WARN_OVER_FORCE,
                .step = e->cue.step,
                .rep = e->cue.rep,
                .since_ns = target,
                .due_ns = e->r.tool ? 0 : target + nsec_from_ms(s->min_release_ms),
                .release = release_of(target_outcome(s)),
        };
        return true;
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

/* The short prompt of the moment. Steps may carry their own for finding the point and for
 * the hold; the rest are fixed (docs/mqtt.md lists them). */
static const char *prompt(const Engine *e, const ProtocolStep *s) {
        switch (e->cue.kind) {
        case CUE_POINT:
        case CUE_PRESSING:
                if (e->cue.warnings & CUE_WARN_OVER_FORCE)
                        return "Too hard: ease off";
                if (s->find_prompt)
                        return s->find_prompt;
                if (s->kind == STEP_MEASURE)
                        return "Press slowly, tap at the first pain";
                return s->start == HOLD_START_CONFIRM ? "Find the spot, then tap" : "Find the spot and press";
        case CUE_HOLD:
                if (e->cue.warnings & CUE_WARN_OVER_FORCE)
                        return "Too hard: ease off";
                if (s->kind == STEP_STRETCH)
                        return e->r.tap_counts && s->min_hold_ms > 0 ? "Tap when you are done" : s->hold_prompt ?: "Hold the stretch";
                if (e->r.tap_counts && s->tap_ends_hold)
                        return s->needs_release_tap ? "Tap when it releases" : "Tap when it eases";
                return s->hold_prompt ?: "Hold the pressure";
        case CUE_RELEASE:
                if (e->cue.warnings & CUE_WARN_OVER_HOLD)
                        return "Let go now";
                switch (e->cue.release) {
                case CUE_RELEASE_NOT_RELEASED:
                        return "Let go, we come back to this point later";
                case CUE_RELEASE_OVER_FORCE:
                        return "Too hard for too long: release slowly now";
                default:
                        return s->kind == STEP_STRETCH ? "Ease out of the stretch" : "Release slowly";
                }
        case CUE_REST:
                return e->cue.away ? "Rest away from this point, we come back to it" : "Rest";
        case CUE_PAUSED:
                return "Tool lost: keep still, reconnecting";
        default:
                return NULL;
        }
}

static void next_item(const Engine *e, size_t item, EngineNext *ret) {
        const WorkItem *w = &e->items[item];
        const ProtocolStep *s = &e->protocol->steps[w->step];

        ret->kind = w->attempt > 1 ? NEXT_REVISIT :
                    s->kind == STEP_STRETCH ? NEXT_STRETCH :
                    s->kind == STEP_MEASURE ? NEXT_MEASURE : NEXT_POINT;
        ret->step = (int) w->step;
        ret->point = s->point;
        ret->label = s->label;
        ret->side = s->side;
}

/* What follows the current rep (or rest), as the engine would walk it from here. */
static void next_of(const Engine *e, EngineNext *ret) {
        const ProtocolStep *s = cur_step(e);
        RepOutcome pending = e->r.pending;
        bool revisit, away = false;

        *ret = (EngineNext) { .kind = NEXT_NONE, .step = -1 };
        if (!e->session || !s)
                return;

        if (e->phase == PHASE_REST) {
                if (e->rep < s->reps && pending != REP_NOT_RELEASED)
                        next_item(e, e->cursor, ret);
                else if (e->cursor + 1 < e->n_items)
                        next_item(e, e->cursor + 1, ret);
                else
                        ret->kind = NEXT_END;
                return;
        }

        /* In a rep: the outcome is known once the release was cued. */
        bool releasing = e->phase == PHASE_RELEASING ||
                         (e->phase == PHASE_PAUSED && e->paused_phase == PHASE_RELEASING);
        if (!releasing)
                pending = REP_COMPLETED;
        revisit = pending == REP_NOT_RELEASED && s->not_released == NOT_RELEASED_REVISIT &&
                  e->items[e->cursor].attempt < s->max_tries;
        if (revisit)
                (void) revisit_slot(e, &away);

        if (away) {
                /* nothing else to work on: the rest away from the point, then the revisit */
                *ret = (EngineNext) { .kind = NEXT_REST, .step = -1, .label = "Rest away from this point" };
                return;
        }
        if (e->rep < s->reps && pending != REP_NOT_RELEASED)
                next_item(e, e->cursor, ret);
        else if (e->cursor + 1 < e->n_items)
                next_item(e, e->cursor + 1, ret);
        else
                ret->kind = NEXT_END;
}

double engine_force(const Engine *e) {
        return e->have_force ? e->force : 0;
}

void engine_status(const Engine *e, nsec_t now, EngineStatus *ret) {
        const ProtocolStep *s = e->session ? cur_step(e) : NULL;

        *ret = (EngineStatus) {
                .state = e->cue.kind,
                .protocol = e->session ? e->session->protocol : NULL,
                .athlete = e->session ? e->session->athlete : NULL,
                .session_id = e->session ? e->session->id : NULL,
                .step = cur_step_index(e),
                .point_label = s ? s->label : NULL,
                .rep = e->session ? e->rep : 0,
                .remaining_ms = -1,
                .force_n = engine_force(e),
                .tool_connected = e->tool_connected,
                .steps_total = e->session ? (int) e->protocol->n_steps : -1,
                .release = e->cue.kind == CUE_RELEASE ? e->cue.release : CUE_RELEASE_NONE,
                .target_hold_ms = -1,
                .target_min_n = NAN,
                .target_max_n = NAN,
                .safety_max_n = NAN,
                .next = { .kind = NEXT_NONE, .step = -1 },
        };
        if (e->cue.due_ns > 0)
                ret->remaining_ms = e->cue.due_ns > now ? nsec_to_ms(e->cue.due_ns - now) : 0;
        if (e->cue.kind == CUE_DONE)
                ret->prompt = "Session complete";
        if (!s)
                return;

        ret->side = s->side;
        ret->muscle = s->muscle;
        ret->instruction = s->instruction;
        ret->prompt = prompt(e, s);
        ret->tap_counts = e->cue.kind == CUE_HOLD && e->r.tap_counts;
        ret->target_hold_ms = s->kind == STEP_MEASURE ? -1 : (int64_t) s->target_hold_ms;
        if (s->kind == STEP_PRESS) {
                ret->target_min_n = s->target_min_n;
                ret->target_max_n = s->target_max_n;
        }
        if (s->kind != STEP_STRETCH)
                ret->safety_max_n = s->safety_max_n;
        ret->safety_notice = protocol_safety_notice(e->protocol);
        next_of(e, &ret->next);
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
                [EVENT_TAP_COUNTS] = "tap_counts",
                [EVENT_NOT_YET] = "not_yet",
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

const char *engine_next_kind_to_string(EngineNextKind k) {
        static const char *const names[_NEXT_KIND_MAX] = {
                [NEXT_NONE] = NULL,
                [NEXT_POINT] = "point",
                [NEXT_STRETCH] = "stretch",
                [NEXT_MEASURE] = "measure",
                [NEXT_REST] = "rest",
                [NEXT_REVISIT] = "revisit",
                [NEXT_END] = "end",
        };
        return (unsigned) k < _NEXT_KIND_MAX ? names[k] : NULL;
}
