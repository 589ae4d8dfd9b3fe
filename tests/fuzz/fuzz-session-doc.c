/* SPDX-License-Identifier: MIT */
/* libFuzzer target: session documents arrive at the recorder from the network. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/session-doc.h"
#include "shared/session-id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SessionDoc *d = NULL;
        const char *err = NULL;
        int r;

        r = session_doc_parse(data, size, &d, &err);
        if (r == 0) {
                /* An accepted document is well-formed by construction. */
                if (!session_id_valid(d->id) || !session_doc_name_valid(d->hub) ||
                    !session_doc_name_valid(d->station) || !session_doc_name_valid(d->protocol) ||
                    (d->athlete && !session_doc_name_valid(d->athlete)) || !d->canonical ||
                    strlen(d->canonical) != d->canonical_len)
                        abort();
                for (size_t i = 0; i < d->n_reps; i++)
                        if (!session_doc_name_valid(d->reps[i].point) || !d->reps[i].outcome)
                                abort();
                /* Its canonical form parses again to the same thing. */
                SessionDoc *again = NULL;
                if (session_doc_parse(d->canonical, d->canonical_len, &again, &err) != 0 ||
                    strcmp(again->canonical, d->canonical) != 0)
                        abort();
                session_doc_free(again);
                session_doc_free(d);
        } else if (r == -EINVAL && !err)
                abort();
        return 0;
}
