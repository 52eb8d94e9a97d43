/*
 * staging.h - the rows of a lead-list import waiting on one session's own
 * database connection (a TEMP table, in memory: temp_store is MEMORY), so
 * that a list sent in many requests is inserted in one transaction or not
 * at all (docs/import.md §6).  A row is a validated customer map, encoded,
 * with the line of the file it came from and a status.
 */
#ifndef COFFER_STAGING_H
#define COFFER_STAGING_H

#include <stddef.h>
#include <stdint.h>

#include "coffer/store.h"

#define STAGING_MAX_ROWS 1000000   /* rows one import may stage */

/* Create the table if need be and empty it (a new import). */
int staging_reset(struct store *st);
/* Create the table if need be, keeping what it holds. */
int staging_reset_if_absent(struct store *st);

/*
 * Stage one row: phone is its normalised phone (de-duplicated within the
 * import: a second row with the same phone is staged as "duplicate",
 * naming the first line).  reason NULL for a good row, else the row is
 * staged rejected with that reason.  The caller keeps the total within
 * STAGING_MAX_ROWS (staging_counts).  COFFER_ERR_INVALID: line is staged.
 */
int staging_add(struct store *st, int64_t line, const char *phone,
    const unsigned char *map, size_t len, const char *reason);

/*
 * Mark good rows whose phone the vault already has (any customer, also a
 * deleted one) as "in_vault"; *n gets how many were marked.
 */
int staging_mark_vault(struct store *st, size_t *n);

/* Rows staged, good ones, rejected ones. */
int staging_counts(struct store *st, size_t *total, size_t *good,
    size_t *rejected);

/*
 * The rejected rows in line order, at most max, each to fn (line, status
 * word, reason); fn's non-OK status stops and is returned.
 */
int staging_each_reject(struct store *st, size_t max,
    int (*fn)(void *arg, int64_t line, const char *status,
    const char *reason), void *arg);

/* The good rows in line order, each to fn (line, encoded map). */
int staging_each_good(struct store *st,
    int (*fn)(void *arg, int64_t line, const unsigned char *map,
    size_t len), void *arg);

#endif
