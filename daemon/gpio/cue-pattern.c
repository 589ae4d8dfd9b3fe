/* SPDX-License-Identifier: MIT */
#include "gpio/cue-pattern.h"
#include "shared/macro.h"

/* One output switching periodically between start and end: on during the first `on` ns
 * of every `period` counted from `phase0`; period 0 means steady on. */
typedef struct Segment {
        CueOutput out;
        nsec_t start, end;
        nsec_t phase0, period, on;
} Segment;

typedef struct Segments {
        Segment s[24];
        unsigned n;
} Segments;

#define MS(x) nsec_from_ms(x)

static void add(Segments *l, CueOutput out, nsec_t start, nsec_t end, nsec_t phase0,
                nsec_t period, nsec_t on) {
        start = MAX(start, phase0);
        if (start >= end || l->n >= ELEMENTSOF(l->s))
                return;
        l->s[l->n++] = (Segment) { out, start, end, phase0, period, on };
}

static void steady(Segments *l, CueOutput out, nsec_t start, nsec_t end) {
        add(l, out, start, end, start, 0, 0);
}

static bool segment_on(const Segment *s, nsec_t t) {
        if (t < s->start || t >= s->end)
                return false;
        return s->period == 0 || (t - s->phase0) % s->period < s->on;
}

static nsec_t segment_next(const Segment *s, nsec_t t) {
        nsec_t phase, n;

        if (t < s->start)
                return s->start;
        if (t >= s->end)
                return NSEC_INFINITY;
        if (s->period == 0)
                return s->end;
        phase = (t - s->phase0) % s->period;
        n = t - phase + (phase < s->on ? s->on : s->period);
        return MIN(n, s->end);
}

static void base_pattern(Segments *l, const Cue *cue, nsec_t anchor) {
        nsec_t due = cue->due_ns ?: NSEC_INFINITY;
        nsec_t cd;

        switch (cue->kind) {
        case CUE_IDLE:
                add(l, CUE_OUT_GREEN, anchor, NSEC_INFINITY, anchor,
                    MS(CUE_IDLE_PERIOD_MS), MS(CUE_IDLE_ON_MS));
                break;
        case CUE_POINT:
                steady(l, CUE_OUT_AMBER, anchor, NSEC_INFINITY);
                break;
        case CUE_PRESSING:
                add(l, CUE_OUT_AMBER, anchor, NSEC_INFINITY, anchor,
                    MS(CUE_PRESSING_PERIOD_MS), MS(CUE_PRESSING_ON_MS));
                break;
        case CUE_HOLD:
                if (due == NSEC_INFINITY) {
                        steady(l, CUE_OUT_GREEN, anchor, NSEC_INFINITY);
                        break;
                }
                /* Countdown phases are anchored at due - 3 s, so the last blink ends and
                 * the last beep falls exactly one second before the release. */
                cd = due > MS(CUE_COUNTDOWN_MS) ? due - MS(CUE_COUNTDOWN_MS) : 0;
                steady(l, CUE_OUT_GREEN, anchor, MAX(cd, anchor));
                add(l, CUE_OUT_GREEN, MAX(cd, anchor), due, cd,
                    MS(CUE_COUNTDOWN_PERIOD_MS), MS(CUE_COUNTDOWN_ON_MS));
                add(l, CUE_OUT_BUZZER, MAX(cd, anchor), due, cd, NSEC_PER_SEC, MS(CUE_BEEP_MS));
                if (cue->tap_counts_ns) {
                        nsec_t tc = cue->tap_counts_ns;

                        /* "A tap now counts": amber joins green until the release cue, and a
                         * double chirp marks the moment (not when the hold began with it). */
                        steady(l, CUE_OUT_AMBER, MAX(tc, anchor), due);
                        if (tc > anchor)
                                add(l, CUE_OUT_BUZZER, tc, tc + MS(CUE_TAP_COUNTS_CHIRPS * CUE_TAP_COUNTS_PERIOD_MS),
                                    tc, MS(CUE_TAP_COUNTS_PERIOD_MS), MS(CUE_TAP_COUNTS_CHIRP_MS));
                }
                break;
        case CUE_RELEASE:
                switch (cue->release) {
                case CUE_RELEASE_NOT_RELEASED:
                        /* come back later: slow amber blink, two long tones */
                        add(l, CUE_OUT_AMBER, anchor, NSEC_INFINITY, anchor,
                            MS(CUE_NOT_RELEASED_BLINK_PERIOD_MS), MS(CUE_NOT_RELEASED_BLINK_ON_MS));
                        add(l, CUE_OUT_BUZZER, anchor,
                            anchor + MS(CUE_NOT_RELEASED_TONES * CUE_NOT_RELEASED_TONE_PERIOD_MS),
                            anchor, MS(CUE_NOT_RELEASED_TONE_PERIOD_MS), MS(CUE_NOT_RELEASED_TONE_MS));
                        break;
                case CUE_RELEASE_OVER_FORCE:
                        /* safety stop: red and amber steady, a burst of short beeps */
                        steady(l, CUE_OUT_RED, anchor, NSEC_INFINITY);
                        steady(l, CUE_OUT_AMBER, anchor, NSEC_INFINITY);
                        add(l, CUE_OUT_BUZZER, anchor,
                            anchor + MS(CUE_SAFETY_STOP_BEEPS * CUE_SAFETY_STOP_PERIOD_MS),
                            anchor, MS(CUE_SAFETY_STOP_PERIOD_MS), MS(CUE_SAFETY_STOP_BEEP_MS));
                        break;
                default:
                        /* done: green and amber steady, one long tone */
                        steady(l, CUE_OUT_GREEN, anchor, NSEC_INFINITY);
                        steady(l, CUE_OUT_AMBER, anchor, NSEC_INFINITY);
                        steady(l, CUE_OUT_BUZZER, anchor, anchor + MS(CUE_RELEASE_TONE_MS));
                        break;
                }
                break;
        case CUE_REST:
                add(l, CUE_OUT_AMBER, anchor, due, anchor,
                    MS(CUE_REST_PERIOD_MS), MS(CUE_REST_ON_MS));
                /* away from the point before its revisit: red fills amber's off-phase */
                if (cue->away)
                        add(l, CUE_OUT_RED, anchor + MS(CUE_REST_ON_MS), due, anchor + MS(CUE_REST_ON_MS),
                            MS(CUE_REST_PERIOD_MS), MS(CUE_REST_PERIOD_MS - CUE_REST_ON_MS));
                break;
        case CUE_PAUSED:
                add(l, CUE_OUT_RED, anchor, NSEC_INFINITY, anchor,
                    MS(CUE_PAUSED_PERIOD_MS), MS(CUE_PAUSED_ON_MS));
                break;
        case CUE_DONE: {
                nsec_t end = anchor + MS(CUE_DONE_BLINKS * CUE_DONE_PERIOD_MS);

                add(l, CUE_OUT_GREEN, anchor, end, anchor,
                    MS(CUE_DONE_PERIOD_MS), MS(CUE_DONE_ON_MS));
                add(l, CUE_OUT_GREEN, end, NSEC_INFINITY, end,
                    MS(CUE_IDLE_PERIOD_MS), MS(CUE_IDLE_ON_MS));
                break;
        }
        default:
                break;
        }
}

/* Warnings own the red LED and the buzzer while they last; the most urgent one wins. */
static bool warning_pattern(Segments *l, const CuePatternWarnings *w) {
        nsec_t s;

        if ((s = w->since[1]) != NSEC_INFINITY) {              /* CUE_WARN_OVER_HOLD */
                steady(l, CUE_OUT_RED, s, NSEC_INFINITY);
                add(l, CUE_OUT_BUZZER, s, NSEC_INFINITY, s,
                    MS(CUE_OVERHOLD_TONE_PERIOD_MS), MS(CUE_OVERHOLD_TONE_MS));
                return true;
        }
        if ((s = w->since[0]) != NSEC_INFINITY) {              /* CUE_WARN_OVER_FORCE */
                nsec_t s2 = s + MS(CUE_FORCE_BEEP_MS + CUE_FORCE_BEEP_GAP_MS);

                add(l, CUE_OUT_RED, s, NSEC_INFINITY, s,
                    MS(CUE_FORCE_PERIOD_MS), MS(CUE_FORCE_ON_MS));
                add(l, CUE_OUT_BUZZER, s, NSEC_INFINITY, s,
                    MS(CUE_FORCE_BEEP_PERIOD_MS), MS(CUE_FORCE_BEEP_MS));
                add(l, CUE_OUT_BUZZER, s2, NSEC_INFINITY, s2,
                    MS(CUE_FORCE_BEEP_PERIOD_MS), MS(CUE_FORCE_BEEP_MS));
                return true;
        }
        if ((s = w->since[2]) != NSEC_INFINITY) {              /* CUE_WARN_TOOL_LOST */
                add(l, CUE_OUT_RED, s, NSEC_INFINITY, s,
                    MS(CUE_PAUSED_PERIOD_MS), MS(CUE_PAUSED_ON_MS));
                return true;
        }
        return false;
}

/* The answer to a tap that did not count: immediate, whatever else is showing. */
static void not_yet_pattern(Segments *l, const Cue *cue, nsec_t anchor, nsec_t onset) {
        nsec_t n = onset;
        nsec_t end;

        if (cue->not_yet_ns == 0 || cue->not_yet_ns < anchor || n == NSEC_INFINITY)
                return;
        end = n + MS(CUE_NOT_YET_BLIPS * CUE_NOT_YET_PERIOD_MS);
        add(l, CUE_OUT_BUZZER, n, end, n, MS(CUE_NOT_YET_PERIOD_MS), MS(CUE_NOT_YET_BLIP_MS));
        steady(l, CUE_OUT_RED, n, end);
}

unsigned cue_pattern_eval(const Cue *cue, nsec_t anchor, const CuePatternWarnings *w, nsec_t t,
                          nsec_t *ret_next) {
        Segments base = {}, warn = {};
        unsigned bits = 0;
        nsec_t next = NSEC_INFINITY;
        bool warned;

        base_pattern(&base, cue, anchor);
        warned = w && warning_pattern(&warn, w);
        not_yet_pattern(&warn, cue, anchor, w ? w->not_yet : cue->not_yet_ns);

        for (unsigned i = 0; i < base.n; i++) {
                const Segment *s = &base.s[i];

                if (warned && (s->out == CUE_OUT_RED || s->out == CUE_OUT_BUZZER))
                        continue;
                if (segment_on(s, t))
                        bits |= CUE_OUT_BIT(s->out);
                next = MIN(next, segment_next(s, t));
        }
        for (unsigned i = 0; i < warn.n; i++) {
                if (segment_on(&warn.s[i], t))
                        bits |= CUE_OUT_BIT(warn.s[i].out);
                next = MIN(next, segment_next(&warn.s[i], t));
        }

        if (ret_next)
                *ret_next = next;
        return bits;
}

const char *cue_output_to_string(CueOutput o) {
        static const char *const names[_CUE_OUT_MAX] = {
                [CUE_OUT_GREEN] = "green",
                [CUE_OUT_AMBER] = "amber",
                [CUE_OUT_RED] = "red",
                [CUE_OUT_BUZZER] = "buzzer",
        };
        return (unsigned) o < _CUE_OUT_MAX ? names[o] : NULL;
}
