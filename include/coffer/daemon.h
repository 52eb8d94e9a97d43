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
};

struct audit_log;

struct daemon_ctx {
	struct daemon_keys keys;
	struct audit_log *audit;     /* every request is recorded here */
	unsigned char policy_hash[32]; /* of the rules in force */
	time_t started;
	atomic_uint connections;     /* sessions open now */
	atomic_ulong requests;       /* requests answered since start */
	atomic_ulong auth_failures;  /* failed handshakes since start */
	pthread_mutex_t write_lock;  /* one writer to the database */
};

/* One authenticated request being served. */
struct request {
	struct daemon_ctx *d;
	struct store *st;            /* this connection's own DB connection */
	struct access_subject subject;
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
};

/*
 * Record a daemon-level event (start, stop, login) that is not a request.
 * Returns the audit status: COFFER_ERR_AUDIT means it was not recorded.
 */
int dispatch_audit_event(struct daemon_ctx *d, const char *op,
    const struct request *r, int status, const char *reason);

/*
 * Serve one decrypted request message and produce the encoded response in
 * a malloc'd buffer the caller frees.  Never fails for bad input: a
 * malformed request yields an error response.  Returns COFFER_ERR_NOMEM
 * only if no response could be built at all.
 */
int dispatch_request(struct request *r, const unsigned char *msg, size_t len,
    unsigned char **resp, size_t *resplen);

#endif
