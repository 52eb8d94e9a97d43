/*
 * dnc.h - the company's do-not-call list on the store's connection
 * (tables dnc_list and dnc_events of migration 6, docs/dnc.md): numbers
 * in their normalised form (schema_normalize_phone), listed at once,
 * removed only after a second person approves.  No access decisions
 * here: the caller (h_dnc.c) has made them.
 */
#ifndef COFFER_DNC_H
#define COFFER_DNC_H

#include <stddef.h>
#include <stdint.h>

#include "coffer/store.h"

#define DNC_PHONE_MAX 32      /* a normalised number and its NUL */
#define DNC_REASON_MAX 500    /* bytes of a reason, as the table checks */
#define DNC_EXCLUDE_REASON "on the do-not-call list"

/* One listed number, with its pending removal if one is asked for. */
struct dnc_entry {
	char phone[DNC_PHONE_MAX];
	char reason[DNC_REASON_MAX + 1];
	int64_t added_by;             /* user id */
	char added_by_name[65];
	int64_t added;                /* Unix seconds */
	int pending;                  /* 1: a removal waits for approval */
	int64_t remove_by;            /* who asked (0 if none) */
	char remove_by_name[65];
	char remove_reason[DNC_REASON_MAX + 1];
	int64_t remove_asked;
};

/*
 * The stored form of a number, into out (at least DNC_PHONE_MAX bytes).
 * COFFER_ERR_INVALID if in is not a plausible phone number.
 */
int dnc_normalize(const char *in, char *out, size_t outsz);

/*
 * Put phone (normalised) on the list with reason (1..DNC_REASON_MAX
 * bytes), by user `by` at now, and record the event.  A number already
 * listed keeps its entry; the event is then a "readd" and a pending
 * removal of it is cancelled (the customer asked again).  *was_listed
 * (may be NULL) says which.  COFFER_ERR_INVALID for a bad phone or
 * reason.  Call inside a transaction together with dnc_flag_customers.
 */
int dnc_add(struct store *st, const char *phone, const char *reason,
    int64_t by, int64_t now, int *was_listed);

/*
 * Set do_not_call on every live customer with this phone that does not
 * have it yet (version + 1, updated = now): *total gets how many, ids
 * the first max of them (ascending), *n how many were written.
 */
int dnc_flag_customers(struct store *st, const char *phone, int64_t now,
    int64_t *ids, size_t max, size_t *n, uint64_t *total);

/* *found = 1 if phone (normalised) is on the list. */
int dnc_contains(struct store *st, const char *phone, int *found);

/* The entry of phone; COFFER_ERR_NOT_FOUND if it is not listed. */
int dnc_get(struct store *st, const char *phone, struct dnc_entry *e);

/*
 * Ask for phone to be removed, by `by` with reason.  NOT_FOUND if it is
 * not listed, CONFLICT if a removal is already pending, INVALID for a
 * bad reason.
 */
int dnc_request_removal(struct store *st, const char *phone,
    const char *reason, int64_t by, int64_t now);

/*
 * Decide the pending removal of phone: approve removes the number from
 * the list, reject keeps it and clears the request; both are events with
 * comment (may be empty).  NOT_FOUND if not listed, CONFLICT if no
 * removal is pending, DENIED if `by` is the user who asked for it.
 * Customers' do_not_call flags are left as they are (docs/dnc.md).
 */
int dnc_decide_removal(struct store *st, const char *phone, int approve,
    const char *comment, int64_t by, int64_t now);

/*
 * The entries in phone order (only those with a pending removal when
 * pending_only), skipping offset and at most limit, each to fn; fn's
 * non-OK status stops the walk and is returned.  *total (may be NULL)
 * gets the number of matching entries.
 */
int dnc_list(struct store *st, int pending_only, size_t limit,
    size_t offset, int (*fn)(void *arg, const struct dnc_entry *e),
    void *arg, uint64_t *total);

/*
 * A prepared membership test for many numbers in a row (an import):
 * open once, ask per number, close.  Borrowed connection: close before
 * store_close.
 */
struct dnc_lookup;
int dnc_lookup_open(struct store *st, struct dnc_lookup **out);
int dnc_lookup_has(struct dnc_lookup *lk, const char *phone, int *found);
void dnc_lookup_close(struct dnc_lookup *lk);

#endif
