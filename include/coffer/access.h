/*
 * access.h - the single decision point every request goes through.  The
 * request path asks access_decide() and does what it says; nothing else in
 * the daemon grants access.  Today the rules are built in (agents: own
 * customers; managers: their team; compliance: no customer data;
 * administrator: users and keys only); the policy engine will replace the
 * body of this module behind the same interface.
 */
#ifndef COFFER_ACCESS_H
#define COFFER_ACCESS_H

#include <stdint.h>
#include "coffer/schema.h"
#include "coffer/store.h"

enum access_action {
	ACT_READ,      /* record.get */
	ACT_LIST,      /* record.list */
	ACT_CREATE,
	ACT_UPDATE,
	ACT_DELETE,
	ACT_USER_READ, /* user.list */
	ACT_USER_ADMIN, /* user.add / user.update */
	ACT_AUDIT_READ  /* audit.search / show / checkpoint / export */
};

/* Who is asking, as authenticated by the session. */
struct access_subject {
	int64_t user_id;
	enum user_role role;
	char team[65];
	char clearance[33];
};

struct access_decision {
	int allowed;               /* 1 allow, 0 deny */
	struct store_scope scope;  /* row scope to push into SQL */
	const char *reason;        /* static text, for the error and the log */
};

/*
 * Decide whether subject may perform action on records of kind k (k is
 * NULL for user and audit actions).  Always fills d; returns COFFER_OK if allowed,
 * COFFER_ERR_DENIED otherwise.  Deny by default: anything not listed in the
 * rules is refused.
 */
int access_decide(const struct access_subject *s, enum access_action action,
    const struct kind_def *k, struct access_decision *d);

/* SHA-256 identifying the rules in force, recorded in every audit record. */
void access_policy_hash(unsigned char out[32]);

/* Name of an action, for logs and the audit trail. */
const char *access_action_name(enum access_action a);

#endif
