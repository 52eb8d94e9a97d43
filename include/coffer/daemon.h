/*
 * daemon.h - state shared by the daemon's modules (server, dispatch,
 * handlers) and the request context a handler works in.  Internal to
 * cofferd; not used by the client.
 */
#ifndef COFFER_DAEMON_H
#define COFFER_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cbor.h>

#include "coffer/access.h"
#include "coffer/err.h"
#include "coffer/store.h"

#define COFFER_VERSION "0.1.0"

/*
 * What the request path may use of the keys.  The secret identity key is
 * not here: handshakes get signatures through sign(), the narrow interface
 * a separate key-holding process will serve later.  The database key is
 * here because each connection opens its own database handle.
 */
struct daemon_keys {
	const char *db_path;
	const unsigned char *db_key;        /* 32 bytes, sodium_malloc'd */
	const unsigned char *identity_pk;   /* 32 bytes */
	int (*sign)(void *arg, unsigned char sig[64], const unsigned char *m,
	    size_t len);
	void *sign_arg;
	/* Online backups (h_backup.c): the vault directory (master.sealed,
	 * policy.yaml) and the 32-byte backup key (KEYS_SUB_BACKUP). */
	const char *vault_dir;
	const unsigned char *backup_key;
	/* Identity key rotations (idrot.h) sent in every handshake. */
	const struct idrot *idrot;
	size_t nidrot;
};

struct audit_log;
struct idrot;
struct limits;
struct backup_schedule;

struct daemon_ctx {
	struct daemon_keys keys;
	struct audit_log *audit;     /* every request is recorded here */
	/*
	 * The policy in force.  A request holds policy_lock for reading for
	 * its whole dispatch; a reload swaps the pointer under the write
	 * lock and frees the old policy after, so no request ever sees a
	 * policy change halfway.
	 */
	struct policy *policy;
	pthread_rwlock_t policy_lock;
	struct limits *limits;       /* volume limits, per user (limits.c) */
	time_t started;
	atomic_uint connections;     /* sessions open now */
	atomic_ulong requests;       /* requests answered since start */
	atomic_ulong auth_failures;  /* failed handshakes since start */
	pthread_mutex_t write_lock;  /* one writer to the database */
	/*
	 * One online backup at a time, requested (backup.create) or
	 * scheduled (schedule.c); the schedule is NULL when none is set.
	 */
	pthread_mutex_t backup_lock;
	struct backup_schedule *schedule;
};

/* One authenticated request being served. */
struct request {
	struct daemon_ctx *d;
	struct store *st;            /* this connection's own DB connection */
	struct access_subject subject;
	/* The policy deciding this request: d->policy, read-locked by
	 * dispatch_request for the request's whole run; NULL outside. */
	const struct policy *policy;
	const char *user;            /* authenticated user name */
	const char *role;            /* role name, for the audit trail */
	char fpr[56];                /* user key fingerprint */
	const char *peer;            /* "unix:uid=..,pid=.." or "tcp:host:port" */
	const unsigned char *session_id;
	/*
	 * The login could not be recorded (audit log faulted): every request
	 * first retries that record and is refused while it fails.
	 */
	int login_unrecorded;
	/*
	 * Set by a handler to shape its own audit record (dispatch.c resets
	 * them per request): decision "pending" instead of "allowed", a
	 * target other than args.kind / args.id, a reason for an allowed
	 * request (change requests: "request 12: ...").
	 */
	int audit_pending;
	char audit_kind[32];
	int64_t audit_target;
	char audit_reason[160];
	/*
	 * Set by the server (NULL in tests and tools): where a read's answer
	 * waits for its audit record, so the session thread need not sleep
	 * on the disk (dispatch_request).
	 */
	struct reply_slot *reply;
	/*
	 * Set by the server when this request runs on a thread of its own;
	 * without it an operation that may run long is not started
	 * (dispatch_request returns DISPATCH_LONG).  Tools and tests set it.
	 */
	int on_own_thread;
};

/*
 * Deferred answers (server.c).  reply_slot_post hands over an encoded
 * answer (ownership passes); reply_slot_done, an audit_done_fn, sends it
 * once the request's audit record is durable, or the refusal of
 * dispatch_refusal when the record could not be written.  A session has
 * at most one answer waiting: the server reads its next request only
 * after the answer has left and dispatch_request has returned.
 */
struct reply_slot;
void reply_slot_post(struct reply_slot *s, uint64_t id, unsigned char *resp,
    size_t len);
void reply_slot_done(void *slot, int status);

/* The answer to request id when its audit record could not be written. */
int dispatch_refusal(uint64_t id, unsigned char **resp, size_t *len);

/*
 * Record a daemon-level event (start, stop, login, policy.load,
 * alert.volume) that is not the request itself; r may be NULL.  The record
 * carries the hash of r->policy when set (inside a request), else of the
 * policy in force (taking the read lock).  Returns the audit status:
 * COFFER_ERR_AUDIT means it was not recorded.
 */
int dispatch_audit_event(struct daemon_ctx *d, const char *op,
    const struct request *r, int status, const char *reason);

/*
 * Serve one decrypted request message and produce the encoded response in
 * a malloc'd buffer the caller frees.  Never fails for bad input: a
 * malformed request yields an error response.  Returns COFFER_ERR_NOMEM
 * only if no response could be built at all.  With r->reply set, a read's
 * answer (up to DISPATCH_DEFER_MAX bytes) is instead posted there and sent
 * when its audit record is durable: *resp is then NULL.
 *
 * DISPATCH_LONG (not a status) when the operation may run long and
 * r->on_own_thread is not set: nothing was done or recorded; run the same
 * message again on a thread of its own.
 */
#define DISPATCH_DEFER_MAX (64u * 1024u)
#define DISPATCH_LONG (-1)
int dispatch_request(struct request *r, const unsigned char *msg, size_t len,
    unsigned char **resp, size_t *resplen);

/*
 * Volume limits (limits.c): per user, counted over a sliding hour in
 * one-minute buckets, in a mutex-protected table of at most max_users
 * entries (users idle for an hour are reused).
 */
int limits_new(size_t max_users, struct limits **out);
void limits_free(struct limits *l);
/*
 * Count n events of kind w for user at time now if that keeps the user's
 * count of the last hour within max, else count nothing and return
 * COFFER_ERR_DENIED.  max POLICY_UNLIMITED counts nothing and allows.
 * COFFER_ERR_BUSY if the table is full of active users (refuse: fail
 * closed).
 */
int limits_take(struct limits *l, int64_t user, enum policy_limit w,
    uint32_t max, uint32_t n, time_t now);

#endif
