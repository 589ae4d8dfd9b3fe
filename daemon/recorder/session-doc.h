/* SPDX-License-Identifier: MIT */
#pragma once

/* A finished-session document (docs/session.md) as it arrives from the network, checked
 * strictly before anything is stored: bytes from a broker anyone on the site may publish to.
 * Every field the history needs is checked for type, range and character set; the document
 * itself is kept whole (canonical JSON), so fields added later travel along unharmed. */

#include <stddef.h>
#include <stdint.h>

#include "shared/iso8601.h"

#define SESSION_DOC_MAX_BYTES (1024 * 1024)   /* the hub spools at most 1 MiB per session */
#define SESSION_DOC_MAX_DEPTH 16
#define SESSION_DOC_MAX_STEPS 256
#define SESSION_DOC_MAX_REPS 64               /* per step */
#define SESSION_DOC_NAME_MAX 64               /* hub, station, athlete, protocol, point */
#define SESSION_DOC_TEXT_MAX 512              /* label, muscle */

/* A JSON number the document may leave null: has == 0 then. */
typedef struct DocNumber {
        int has;
        double v;
} DocNumber;

typedef struct DocInt {
        int has;
        int64_t v;
} DocInt;

typedef struct SessionRep {
        unsigned step;           /* index into the session's steps */
        unsigned rep;            /* index in the step's reps */
        const char *point, *side, *kind;  /* side may be NULL */
        const char *outcome;
        int64_t attempt;
        DocInt started_ms, hold_ms, release_ms, target_hold_ms;
        DocNumber force_mean_n, force_peak_n, threshold_n;
} SessionRep;

typedef struct SessionDoc SessionDoc;

struct SessionDoc {
        const char *id, *hub, *station, *athlete, *protocol, *status;   /* athlete may be NULL */
        int64_t started_at_ms;   /* Unix epoch, UTC */
        DocInt ended_at_ms, duration_ms;
        SessionRep *reps;
        size_t n_reps;
        char *canonical;         /* the whole document, re-serialised compactly */
        size_t canonical_len;
        void *json;              /* owns the strings above */
};

/* Returns 0 and a document, or -EINVAL with *ret_error a static sentence naming the problem
 * (-ENOMEM on allocation failure). Never stores anything; never logs. */
int session_doc_parse(const void *data, size_t len, SessionDoc **ret, const char **ret_error);
SessionDoc *session_doc_free(SessionDoc *d);
static inline void session_doc_freep(SessionDoc **d) {
        if (*d)
                session_doc_free(*d);
}


/* Names the hub uses as topic levels and ids: 1..SESSION_DOC_NAME_MAX of [A-Za-z0-9_.-]. */
int session_doc_name_valid(const char *s);
