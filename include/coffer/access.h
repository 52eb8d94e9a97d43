/*
 * access.h - the single decision point every request goes through: the
 * daemon's adapter to the compiled policy (policy.h, docs/policy.md).  The
 * request path asks access_decide() and does what it says; nothing else in
 * the daemon grants access.  The same module applies a decision to the
 * rows it lets through: no read-up, per-field show/mask/omit, writes.
 */
#ifndef COFFER_ACCESS_H
#define COFFER_ACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <cbor.h>
#include "coffer/policy.h"
#include "coffer/schema.h"
#include "coffer/store.h"

/* policy/default.yaml, compiled in by the Makefile (build/gen/). */
extern const unsigned char access_default_policy[];
extern const size_t access_default_policy_len;

enum access_action {
	ACT_READ,      /* record.get */
	ACT_LIST,      /* record.list */
	ACT_CREATE,
	ACT_UPDATE,
	ACT_DELETE,
	ACT_REVEAL,    /* record.reveal: one field of one record in full */
	ACT_EXPORT,    /* bulk export (no operation yet; never granted) */
	ACT_USER_READ, /* user.list */
	ACT_USER_ADMIN, /* user.add / user.update */
	ACT_AUDIT_READ, /* audit.search / show / checkpoint / export */
	ACT_REQUEST,    /* request.create: ask for an update or a deletion */
	ACT_BACKUP,     /* backup.create: privilege key_admin */
	ACT_SCREEN,     /* customer.screen: a fresh lead's stage (workflow) */
	ACT_REPORT,     /* report.kpi: aggregated figures (docs/reports.md) */
	ACT_COMPLETE    /* followup.done: an open follow-up done (workflow) */
};

/* Who is asking, as authenticated by the session. */
struct access_subject {
	int64_t user_id;
	enum user_role role;
	const char *role_name;     /* store_role_name(role): the policy role */
	char team[65];
	char clearance[33];        /* level name from the user record */
};

/*
 * A decision: the policy's own (allowed, row scope, effective clearance,
 * per-field treatment and mask formats, reason), plus what the later
 * checks need.  For READ and LIST of customer data, pd.scope also carries
 * the label allow-list the store pushes into SQL.  Valid while the policy
 * that made it is in force (the request holds the policy lock).
 */
struct access_decision {
	struct policy_decision pd;
	const struct policy *policy;
	const struct kind_def *kind;
};

/*
 * Decide whether subject may perform action on records of kind k (k is
 * NULL for user and audit actions) under policy p.  Always fills d;
 * returns COFFER_OK if allowed, COFFER_ERR_DENIED otherwise (d->pd.reason
 * says why).  Deny by default; a NULL policy denies everything.
 */
int access_decide(const struct policy *p, const struct access_subject *s,
    enum access_action action, const struct kind_def *k,
    struct access_decision *d);

/*
 * After a fetch (or for a write, the row as it will be): no read-up, and
 * for ACT_REVEAL the field must be revealable to this user (do-not-call).
 * COFFER_ERR_DENIED with d->pd.reason set otherwise.
 */
int access_check_row(struct access_decision *d, const struct policy_row *row,
    const char *field);

/*
 * ACT_CREATE / ACT_UPDATE: every field named in the map fields must be
 * writable at the user's clearance, and a "label" given must be at or
 * below it.  COFFER_ERR_DENIED with d->pd.reason set otherwise.
 */
int access_check_write(struct access_decision *d, const cbor_item_t *fields);

/* Which fields a presented record had masked or omitted. */
struct access_seen {
	unsigned char masked[POLICY_MAX_FIELDS];
	unsigned char omitted[POLICY_MAX_FIELDS];
};

/*
 * A copy of record rec (a map of kind d->kind) as the user may see it under
 * decision d (ACT_READ or ACT_LIST): masked fields replaced by their masked
 * text, omitted fields left out; seen (may be NULL) collects which.  *out
 * is a new reference.  COFFER_ERR_NOMEM, or INTERNAL if d has no vectors.
 */
int access_present(const struct access_decision *d, const cbor_item_t *rec,
    cbor_item_t **out, struct access_seen *seen);

/* Put "masked": [names] and "omitted": [names] into result map res. */
int access_put_seen(const struct access_decision *d,
    const struct access_seen *seen, cbor_item_t *res);

/* The label allow-list for lists of kind k at clearance cl (store.h). */
unsigned access_label_allow(const struct policy *p, int cl);

/* Name of an action, for logs and the audit trail. */
const char *access_action_name(enum access_action a);

#endif
