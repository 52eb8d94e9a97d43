/*
 * reqstore.h - change requests in the encrypted database (docs/
 * requests.md): the immutable request, its state and the events that
 * moved it, the approvals with their signatures, and the history of
 * applied changes per record.  Same connection and transaction rules as
 * store.h; the daemon holds the write lock around every write.
 */
#ifndef COFFER_REQSTORE_H
#define COFFER_REQSTORE_H

#include <stddef.h>
#include <stdint.h>
#include "coffer/store.h"

#define REQ_FIELDS_MAX 65536   /* bytes of the {field: [old, new]} CBOR */
#define REQ_REASON_MAX 500
#define REQ_ROLES_MAX 200
#define REQ_LIST_MAX 200       /* most requests one list returns */

struct store_request {
	int64_t id;
	char kind[17];
	int64_t record_id, base_version;
	char op[8];                  /* "update" / "delete" / "purge" */
	/* Deterministic CBOR {field: [old, new]}.  Borrowed by
	 * store_request_add; malloc'd by store_request_get (clear frees). */
	unsigned char *fields;
	size_t fields_len;
	char reason[REQ_REASON_MAX + 1];
	int64_t requester_id, created, expires;
	unsigned need;               /* approvals needed in all */
	char roles[REQ_ROLES_MAX + 1]; /* "a,b": each role approves once */
	unsigned char hash[32];      /* approval_request_hash of the content */
	char state[12];              /* pending, rejected, withdrawn, ... */
	int64_t updated;             /* time of the last state change */
};

/* Frees what store_request_get allocated; r may be reused after. */
void store_request_clear(struct store_request *r);

/* Insert r (state pending, plus its first event); sets r->id. */
int store_request_add(struct store *st, struct store_request *r);
/* COFFER_ERR_NOT_FOUND if there is none. */
int store_request_get(struct store *st, int64_t id, struct store_request *r);
/*
 * Ids of requests, newest first, at most max: state NULL for any,
 * requester 0 for anyone's.
 */
int store_request_ids(struct store *st, const char *state, int64_t requester,
    int64_t *ids, size_t max, size_t *n);
/* Pending requests whose expiry is at or before now. */
int store_request_due(struct store *st, int64_t now, int64_t *ids,
    size_t max, size_t *n);
/*
 * Move request id from state `from` to `to` and record the event (actor 0:
 * the daemon).  COFFER_ERR_CONFLICT if it is not in `from` any more.
 */
int store_request_set_state(struct store *st, int64_t id, const char *from,
    const char *to, int64_t actor, int64_t now);

struct store_approval {
	int64_t request_id, approver_id;
	char approver[65];           /* user name (filled by list) */
	char role[33];               /* the approver's role at the time */
	char decision[8];            /* "approve" / "reject" */
	char comment[501];
	int64_t time;
	unsigned char signature[64];
	unsigned char statement_hash[32]; /* SHA-256 of the signed statement */
};

/* Append an approval; CONFLICT if this approver already decided. */
int store_approval_add(struct store *st, const struct store_approval *a);
/* The approvals of a request, oldest first, at most max. */
int store_approval_list(struct store *st, int64_t request_id,
    struct store_approval *out, size_t max, size_t *n);

struct store_history {
	char kind[17];
	int64_t record_id, version, request_id;
	char op[8];
	int64_t requester_id;
	char approvers[601];         /* "name,name" */
	int64_t time;
	unsigned char *fields;       /* as in the request; see above */
	size_t fields_len;
};

/* Append one applied change. */
int store_history_add(struct store *st, const struct store_history *h);
/* A record's applied changes, oldest first: a malloc'd array the caller
 * releases with store_history_free. */
int store_history_list(struct store *st, const char *kind, int64_t record_id,
    struct store_history **out, size_t *n);
void store_history_free(struct store_history *h, size_t n);

/* Pending requests on one record, oldest first, at most max. */
int store_request_pending_on(struct store *st, const char *kind,
    int64_t record_id, int64_t *ids, size_t max, size_t *n);

/*
 * Purge (docs/requests.md §7): replace the change set of every history
 * row and every closed request of the record with REQ_PURGED (the empty
 * CBOR map).  The database allows exactly this and only once the record
 * is a purged customer (store_customer_purge first, same transaction);
 * close its pending requests before.  *nhistory / *nrequests: rows
 * erased.
 */
#define REQ_PURGED "\xa0"
int store_purge_erase(struct store *st, const char *kind, int64_t record_id,
    size_t *nhistory, size_t *nrequests);

/* *yes = 1 if ancestor is user's manager, their manager's, ... */
int store_user_in_chain(struct store *st, int64_t user, int64_t ancestor,
    int *yes);

#endif
