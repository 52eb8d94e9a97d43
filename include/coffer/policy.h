/*
 * policy.h - the access policy: a YAML file (docs/policy.md) validated whole
 * and compiled at load into lookup tables, and the decisions made from them
 * (deny by default, row scope, clearance, per-field show/mask/omit, reveal,
 * do-not-call, volume limits, separation of duties).
 */
#ifndef COFFER_POLICY_H
#define COFFER_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "coffer/mask.h"
#include "coffer/schema.h"
#include "coffer/store.h"

#define POLICY_FILE_MAX (256 * 1024) /* larger files are refused */
#define POLICY_MAX_LEVELS 16
#define POLICY_MAX_ROLES 32
#define POLICY_MAX_FIELDS 32         /* per kind; schema kinds fit */
#define POLICY_MAX_ERRORS 32         /* policy_check_* reports at most */
#define POLICY_UNLIMITED UINT32_MAX  /* a limit the policy does not set */

struct policy;

/* Where a policy file is wrong.  line/column are 1-based; 0 = whole file. */
struct policy_error {
	char file[256];
	unsigned line, column;
	char message[256];
};

enum policy_action {
	/* on records of a kind (k != NULL) */
	POLICY_READ,        /* record.get */
	POLICY_LIST,        /* record.list / search */
	POLICY_CREATE,
	POLICY_UPDATE,
	POLICY_DELETE,
	POLICY_REVEAL,      /* the full value of one field of one record */
	POLICY_EXPORT,      /* bulk export */
	POLICY_REQUEST,     /* ask for an update/delete by change request */
	POLICY_SCREEN,      /* set a fresh lead's screening stage (workflow) */
	POLICY_REPORT,      /* KPI figures aggregated over rows (reports) */
	POLICY_COMPLETE,    /* mark an open follow-up done (workflow) */
	/* privileges (k == NULL) */
	POLICY_USER_READ,   /* user.list */
	POLICY_USER_ADMIN,  /* user.add / user.update */
	POLICY_AUDIT_READ,  /* read and search the audit trail */
	POLICY_KEY_ADMIN,   /* key rotation, backups of keys */
	POLICY_POLICY_ADMIN,/* install / reload the policy */
	POLICY_ACTION_COUNT_
};
#define POLICY_RECORD_ACTIONS (POLICY_COMPLETE + 1)

/* What a user sees of one field. */
enum policy_treat { POLICY_SHOW = 0, POLICY_MASK = 1, POLICY_OMIT = 2 };

/* Volume limits, counted per user over a sliding hour by the daemon. */
enum policy_limit {
	POLICY_LIMIT_READ,   /* customer-data records returned by record.get */
	POLICY_LIMIT_LIST,   /* customer-data rows returned by lists */
	POLICY_LIMIT_REVEAL, /* reveals */
	POLICY_LIMIT_WRITE,  /* creates + updates + deletes */
	POLICY_LIMIT_COUNT_
};

/* Who is asking, as authenticated by the session. */
struct policy_subject {
	const char *role;      /* role name, e.g. store_role_name(u.role) */
	const char *clearance; /* level name from the user record */
	int64_t user_id;
	const char *team;      /* "" or NULL: no team */
};

/*
 * Facts of one row that only the store knows (after the fetch).  label is
 * the record's own label (for kinds owned via a customer: the customer's);
 * NULL or "" for none.  do_not_call and stage are the customer's.
 */
struct policy_row {
	const char *label;
	int do_not_call;
	const char *stage;     /* NULL if unknown */
};

/*
 * A decision.  The pointers point into the policy and stay valid as long
 * as it does (keep a reference across a reload).  fields[i] is for
 * kind->fields[i]:
 *   READ / LIST: POLICY_SHOW / MASK / OMIT, mask format in formats[i];
 *   CREATE / UPDATE: POLICY_SHOW = the user may write the field,
 *     POLICY_OMIT = it is above their clearance (refuse the request);
 *   other actions: NULL.
 */
struct policy_decision {
	int allowed;                  /* 1 allow, 0 deny */
	struct store_scope scope;     /* row scope to push into SQL */
	int clearance;                /* effective level index, -1 if none */
	const unsigned char *fields;  /* enum policy_treat per field, or NULL */
	const unsigned char *formats; /* enum mask_format per field, or NULL */
	size_t nfields;
	char reason[192];             /* for the user and the audit log */
	/* for policy_check_row / policy_check_write */
	int role_, kind_;
	enum policy_action action_;
};

/*
 * Read, validate and compile the policy file at path.  The file must be a
 * regular file, owned by the caller or root, not writable by group or
 * others, at most POLICY_FILE_MAX bytes.  On error *out is NULL, err (may be
 * NULL) holds the first problem, and the status is COFFER_ERR_PERM (loose
 * permissions), COFFER_ERR_TOO_BIG, COFFER_ERR_IO, COFFER_ERR_NOMEM or
 * COFFER_ERR_INVALID (anything wrong in the content).  *out is owned by
 * the caller: policy_free.
 */
int policy_load(const char *path, struct policy **out,
    struct policy_error *err);
/* The same for bytes in memory; name is used in errors (no file checks). */
int policy_load_buffer(const char *name, const void *data, size_t len,
    struct policy **out, struct policy_error *err);
void policy_free(struct policy *p);

/*
 * Validate without keeping the result: writes "policy OK\n" or every error
 * (up to POLICY_MAX_ERRORS), one "FILE:LINE:COL: message\n" each (or
 * "FILE: message" for whole-file problems), to out.  Returns COFFER_OK or
 * the status policy_load would return.  For `cofferd --check --policy`.
 */
int policy_check_file(const char *path, FILE *out);
int policy_check_buffer(const char *name, const void *data, size_t len,
    FILE *out);

/* SHA-256 of the file's bytes (32 bytes, owned by p). */
const unsigned char *policy_hash(const struct policy *p);

/*
 * Decide whether s may perform action on records of kind k (k NULL for
 * privileges).  Always fills d; COFFER_OK if allowed, COFFER_ERR_DENIED
 * otherwise (reason says why, in words the user understands).  Deny by
 * default.  Costs a few table lookups and short name comparisons.
 */
int policy_decide(const struct policy *p, const struct policy_subject *s,
    enum policy_action action, const struct kind_def *k,
    struct policy_decision *d);

/*
 * After fetching a row allowed by d: no read-up (the row's label must be at
 * or below the clearance; an unknown label is above everyone) and, for
 * POLICY_REVEAL, the field (by name) must be revealable, within clearance
 * and not held back by the do-not-call rule.  For CREATE/UPDATE pass the
 * row as it will be (a user cannot label a record above their clearance).
 * Clears d->allowed and sets d->reason on denial.  Returns COFFER_OK or
 * COFFER_ERR_DENIED.
 */
int policy_check_row(const struct policy *p, struct policy_decision *d,
    const struct policy_row *row, const char *field);

/* CREATE/UPDATE: may the field be written?  DENIED with reason if not. */
int policy_check_write(const struct policy *p, struct policy_decision *d,
    const char *field);

/*
 * The level of field f of kind k in a record labelled record_level (-1:
 * none): the higher of the two.  -1 if k or f is not in the schema.
 */
int policy_field_level(const struct policy *p, const struct kind_def *k,
    const char *field, int record_level);

/*
 * Change requests (docs/requests.md, docs/policy.md §2.7): what a request
 * to update (del 0), delete (del 1) or purge (del 2) a record of kind k
 * needs.  approvals in all, and one from each of roles[] (none listed: any
 * role).  A role with record grants approves only requests of people it
 * manages (the requester's manager chain); one without (compliance) any.
 * expiry: seconds a request stays open.  Without a matching rule: 1
 * approval, no role named, the policy's expiry (default 72 hours); for a
 * purge, approvals 0: no purge may be requested.
 */
#define POLICY_APPROVAL_ROLES 4
#define POLICY_APPROVALS_MAX 8
struct policy_approval {
	unsigned approvals;
	size_t nroles;
	const char *roles[POLICY_APPROVAL_ROLES]; /* into the policy */
	int64_t expiry;
};
void policy_approval_rule(const struct policy *p, const struct kind_def *k,
    int del, struct policy_approval *out);
/* 1 if the role holds any record grant (the data duty); 0 if not/unknown. */
int policy_role_has_data(const struct policy *p, const char *role);

/*
 * Corrections (docs/policy.md §2.8): the seconds after a record's creation
 * during which its owner may change field of kind k directly, without a
 * change request; 0 if the policy names no such correction.
 */
int64_t policy_correction_window(const struct policy *p,
    const struct kind_def *k, const char *field);

/*
 * Retention (docs/policy.md §2.9): the seconds a deleted record (a
 * tombstone) of kind k is kept, with its history, before the daemon
 * erases its values; 0 if the policy sets none (kept for ever).
 */
int64_t policy_retention(const struct policy *p, const struct kind_def *k);

/* Volume limit of a role; POLICY_UNLIMITED if not set or role unknown. */
uint32_t policy_limit(const struct policy *p, const char *role,
    enum policy_limit which);

/* Levels: index (0 = lowest) by name or -1; name by index or NULL. */
int policy_level_find(const struct policy *p, const char *name);
const char *policy_level_name(const struct policy *p, int level);
size_t policy_level_count(const struct policy *p);
/* Role index by name or -1; name by index or NULL. */
int policy_role_find(const struct policy *p, const char *name);
const char *policy_role_name(const struct policy *p, int role);
size_t policy_role_count(const struct policy *p);

/* Names for logs: "read", "user_admin", ...; "list" limit names. */
const char *policy_action_name(enum policy_action a);
const char *policy_limit_name(enum policy_limit l);
const char *policy_treat_name(enum policy_treat t);

#endif
