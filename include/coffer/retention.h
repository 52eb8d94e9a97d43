/*
 * retention.h - the end of a tombstone's life (docs/requests.md §6): a
 * deleted record is kept, with its history, for the retention period the
 * policy sets for its kind (policy_retention); then cofferd erases its
 * values like a purge and records record.erase.  A thread runs a sweep
 * every interval, and once at start.
 */
#ifndef COFFER_RETENTION_H
#define COFFER_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "coffer/daemon.h"

#define RETENTION_EVERY_DEFAULT 3600u     /* seconds between sweeps */
#define RETENTION_EVERY_MAX (7u * 86400)
#define RETENTION_BATCH 64                /* tombstones per kind per sweep */

/*
 * One sweep on st (a connection of the caller's) at time now: first the
 * pending change requests whose expiry has passed are closed (each with
 * its request.expire record, docs/requests.md §2); then, for each
 * kind with a retention period, erase up to RETENTION_BATCH tombstones
 * deleted at or before now - period, oldest first.  Each is its own write
 * transaction under d->write_lock, committed only after its record.erase
 * audit record is durable; if the log cannot be written the erasure is
 * rolled back and the sweep stops (COFFER_ERR_AUDIT).  *erased (may be
 * NULL) gets how many were erased.
 */
int retention_sweep(struct daemon_ctx *d, struct store *st, int64_t now,
    size_t *erased);

struct retention;

/*
 * Start the sweeping thread: a sweep at once, then every every_s seconds
 * (1..RETENTION_EVERY_MAX), on its own database connection.  d must
 * outlive retention_stop.
 */
int retention_start(struct daemon_ctx *d, unsigned every_s,
    struct retention **out);

/* Finish a sweep in progress, stop the thread, free.  NULL is allowed. */
void retention_stop(struct retention *r);

#endif
