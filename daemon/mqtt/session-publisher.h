/* SPDX-License-Identifier: MIT */
#pragma once

/* Finished sessions, from the outbox to the broker, at least once.
 *
 * publisher_push() spools the document first (outbox: fsync'ed, survives a crash or power
 * loss), then publishes it with QoS 1; the spool file is removed only once the broker sent the
 * PUBACK. After a (re)connect, and at start, whatever is still spooled is published again in
 * spool order, with at most max_inflight documents in flight. A document can therefore reach
 * the broker more than once (e.g. the PUBACK was lost with the connection): consumers drop
 * duplicates by the document's "id" (at-least-once delivery, docs/mqtt.md).
 *
 * Each spool file holds "<topic>\n<json>", so a replay after a restart knows where the document
 * goes without asking anyone.
 *
 * If the spool cannot take a document (full, read-only, disk full, I/O error) the publisher
 * reports it and still publishes that document from memory (bounded), so nothing is lost while
 * the process lives. */

#include <stddef.h>

#include "mqtt/mqtt-client.h"
#include "store/outbox.h"

typedef struct SessionPublisher SessionPublisher;

typedef enum PublisherReport {
        PUBLISHER_DELIVERED,       /* name (or NULL if memory-only), id: the broker acknowledged */
        PUBLISHER_SPOOL_FULL,      /* error -ENOSPC from the outbox bound: not durable */
        PUBLISHER_SPOOL_ERROR,     /* error: the file system refused the document: not durable */
        PUBLISHER_MEMORY_FULL,     /* not durable and the in-memory backlog is full: dropped */
        PUBLISHER_PUBLISH_ERROR,   /* error: a publish failed; it will be retried */
        PUBLISHER_REMOVE_ERROR,    /* error: delivered, but the spool file could not be removed
                                    * (it will be published again after a restart) */
        PUBLISHER_BAD_ENTRY,       /* name: a spool file that cannot be read or parsed; skipped
                                    * and left in place for a human */
        PUBLISHER_UNKNOWN_FILE,    /* name: a file in the spool dir that is no spool entry */
} PublisherReport;

typedef void (*PublisherReportFn)(SessionPublisher *p, PublisherReport what, int error,
                                  const char *name, const char *id, void *userdata);

/* Loads what is spooled already and, if the client is connected, starts publishing it.
 * max_inflight 0 = 4. The client and the outbox must outlive the publisher. */
int publisher_new(SessionPublisher **ret, MqttClient *client, Outbox *outbox, unsigned max_inflight,
                  PublisherReportFn report, void *userdata);
SessionPublisher *publisher_free(SessionPublisher *p);
static inline void publisher_freep(SessionPublisher **p) {
        if (*p)
                publisher_free(*p);
}

/* Spools and publishes one document. Returns 0 when spooled; a negative errno when it could
 * not be spooled (the document is then still published from memory, see above; -ENOBUFS if
 * not even that). topic: a plain topic; id: outbox id rules ([A-Za-z0-9_.:-], <= 128). */
int publisher_push(SessionPublisher *p, const char *topic, const char *id, const char *json);

/* Spools one document the way publisher_push() does, for a publisher to come (no broker
 * configured yet): publisher_new() loads it with the rest. 0 or the outbox's errno. */
int publisher_spool(Outbox *outbox, const char *topic, const char *id, const char *json);

/* Call from the client's connected callback: replays the spool. */
void publisher_connected(SessionPublisher *p);

/* Documents not yet acknowledged (spooled or memory-only), and those in flight now. */
size_t publisher_backlog(const SessionPublisher *p);
size_t publisher_in_flight(const SessionPublisher *p);
