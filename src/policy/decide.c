/*
 * decide.c - decisions from a compiled policy: table lookups only (role and
 * level names are resolved by short linear searches).  Deny by default,
 * with a reason a user can act on.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "coffer/err.h"
#include "coffer/policy.h"
#include "policy_int.h"

const unsigned char *
policy_hash(const struct policy *p)
{
	return p->hash;
}

const char *
policy_level_name(const struct policy *p, int level)
{
	if (level < 0 || (size_t)level >= p->nlevels)
		return NULL;
	return p->levels[level];
}

size_t
policy_level_count(const struct policy *p)
{
	return p->nlevels;
}

const char *
policy_role_name(const struct policy *p, int role)
{
	if (role < 0 || (size_t)role >= p->nroles)
		return NULL;
	return p->roles[role].name;
}

size_t
policy_role_count(const struct policy *p)
{
	return p->nroles;
}

uint32_t
policy_limit(const struct policy *p, const char *role, enum policy_limit w)
{
	int r = policy_role_find(p, role);

	if (r < 0 || (unsigned)w >= POLICY_LIMIT_COUNT_)
		return POLICY_UNLIMITED;
	return p->roles[r].limits[w];
}

int
policy_field_level(const struct policy *p, const struct kind_def *k,
    const char *field, int record_level)
{
	const struct field_def *f;
	int ki = policy_kind_index(p, k);
	int l;

	if (ki < 0 || (f = schema_field(k, field)) == NULL)
		return -1;
	l = p->fields[ki][f - k->fields].level;
	return record_level > l ? record_level : l;
}

static int deny(struct policy_decision *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int
deny(struct policy_decision *d, const char *fmt, ...)
{
	va_list ap;

	d->allowed = 0;
	d->scope.kind = SCOPE_NONE;
	d->fields = d->formats = NULL;
	d->nfields = 0;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	return COFFER_ERR_DENIED;
}

/* Deny keeping the reason already given (or a generic one). */
static int
keep_denied(struct policy_decision *d)
{
	if (d->allowed || d->reason[0] == '\0')
		return deny(d, "operation not permitted by the policy");
	d->scope.kind = SCOPE_NONE;
	d->fields = d->formats = NULL;
	d->nfields = 0;
	return COFFER_ERR_DENIED;
}

/* Words for an action in "your role (agent) may not <verb> <kind>". */
static const char *
verb(enum policy_action a)
{
	static const char *const v[POLICY_ACTION_COUNT_] = {
		[POLICY_READ] = "read", [POLICY_LIST] = "list",
		[POLICY_CREATE] = "create", [POLICY_UPDATE] = "update",
		[POLICY_DELETE] = "delete", [POLICY_REVEAL] = "reveal fields of",
		[POLICY_EXPORT] = "export",
		[POLICY_REQUEST] = "request changes to",
		[POLICY_SCREEN] = "screen",
		[POLICY_REPORT] = "see the figures of",
		[POLICY_COMPLETE] = "complete",
		[POLICY_USER_READ] = "list users",
		[POLICY_USER_ADMIN] = "manage users",
		[POLICY_AUDIT_READ] = "read the audit trail",
		[POLICY_KEY_ADMIN] = "manage keys",
		[POLICY_POLICY_ADMIN] = "manage the policy",
	};
	return v[a];
}

static int
decide_privilege(const struct policy *p, int r, enum policy_action a,
    struct policy_decision *d)
{
	if (!(p->roles[r].privs & (1u << a)))
		return deny(d, "your role (%s) may not %s", p->roles[r].name,
		    verb(a));
	d->allowed = 1;
	d->scope.kind = SCOPE_ALL;
	snprintf(d->reason, sizeof(d->reason), "allowed by role %s",
	    p->roles[r].name);
	return COFFER_OK;
}

/* The vectors that go with an allowed record action. */
static void
attach_fields(const struct policy *p, struct policy_decision *d, int ki,
    int cl)
{
	switch (d->action_) {
	case POLICY_READ:
	case POLICY_LIST:
		d->fields = p->treat[cl][ki][d->action_ == POLICY_READ ?
		    CTX_READ : CTX_LIST];
		d->formats = p->formats[ki];
		d->nfields = p->kinds[ki].nfields;
		break;
	case POLICY_CREATE:
	case POLICY_UPDATE:
	case POLICY_REQUEST:
	case POLICY_SCREEN:	/* writes stage and exclude_reason */
	case POLICY_COMPLETE:	/* writes status and outcome */
		d->fields = p->write[cl][ki];
		d->nfields = p->kinds[ki].nfields;
		break;
	default:
		break;
	}
}

static int
decide_record(const struct policy *p, const struct policy_subject *s,
    int r, int cl, int ki, struct policy_decision *d)
{
	const struct prole *role = &p->roles[r];
	const struct kind_def *k = &p->kinds[ki];
	int scope = role->grant[ki][d->action_];

	if (scope == SCOPE_NONE)
		return deny(d, "your role (%s) may not %s %s", role->name,
		    verb(d->action_), k->plural);
	if (scope == SCOPE_TEAM && (s->team == NULL || s->team[0] == '\0'))
		return deny(d, "you belong to no team");
	d->allowed = 1;
	d->scope.kind = (enum scope_kind)scope;
	d->scope.user_id = s->user_id;
	if (s->team != NULL)
		snprintf(d->scope.team, sizeof(d->scope.team), "%s", s->team);
	snprintf(d->reason, sizeof(d->reason), "allowed by role %s",
	    role->name);
	attach_fields(p, d, ki, cl);
	return COFFER_OK;
}

int
policy_decide(const struct policy *p, const struct policy_subject *s,
    enum policy_action action, const struct kind_def *k,
    struct policy_decision *d)
{
	int r, cl, ki;

	memset(d, 0, sizeof(*d));
	d->scope.kind = SCOPE_NONE;
	d->clearance = d->role_ = d->kind_ = -1;
	d->action_ = action;
	if ((unsigned)action >= POLICY_ACTION_COUNT_)
		return deny(d, "unknown operation");
	if ((r = policy_role_find(p, s->role)) < 0)
		return deny(d, "your role '%s' is not defined in the policy",
		    s->role != NULL ? s->role : "");
	d->role_ = r;
	if (action >= POLICY_USER_READ)
		return k != NULL ? deny(d, "unknown operation") :
		    decide_privilege(p, r, action, d);
	if ((ki = policy_kind_index(p, k)) < 0)
		return deny(d, "unknown record kind");
	d->kind_ = ki;
	if ((cl = policy_level_find(p, s->clearance)) < 0)
		return deny(d, "your clearance '%s' is not a level of the "
		    "policy", s->clearance != NULL ? s->clearance : "");
	/* The role caps what any of its users may be cleared for. */
	if (cl > p->roles[r].max_clearance)
		cl = p->roles[r].max_clearance;
	d->clearance = cl;
	return decide_record(p, s, r, cl, ki, d);
}

/* "customers.phone is confidential; your clearance is internal" */
static int
deny_level(const struct policy *p, struct policy_decision *d,
    const char *what, int level)
{
	return deny(d, "%s is %s; your clearance is %s", what,
	    p->levels[level], p->levels[d->clearance]);
}

static int
dnc_blocks(const struct policy *p, const struct policy_decision *d,
    const struct policy_row *row, int fi)
{
	size_t i;

	if (!p->roles[d->role_].dnc || !p->fields[d->kind_][fi].dnc)
		return 0;
	if (row->do_not_call)
		return 1;
	for (i = 0; row->stage != NULL && i < p->nstages; i++)
		if (strcmp(row->stage, p->stages[i]) == 0)
			return 1;
	return 0;
}

static int
check_reveal(const struct policy *p, struct policy_decision *d,
    const struct policy_row *row, const char *field)
{
	const struct kind_def *k = &p->kinds[d->kind_];
	const struct field_def *f = schema_field(k, field);
	char what[96];
	int fi;

	if (f == NULL)
		return deny(d, "%s has no field '%s'", k->name,
		    field != NULL ? field : "");
	fi = (int)(f - k->fields);
	snprintf(what, sizeof(what), "%s.%s", k->plural, f->name);
	if (!p->fields[d->kind_][fi].reveal)
		return deny(d, "%s cannot be revealed", what);
	if (p->fields[d->kind_][fi].level > d->clearance)
		return deny_level(p, d, what, p->fields[d->kind_][fi].level);
	if (dnc_blocks(p, d, row, fi))
		return deny(d, "this customer must not be called: %s is never "
		    "revealed to your role", what);
	return COFFER_OK;
}

int
policy_check_row(const struct policy *p, struct policy_decision *d,
    const struct policy_row *row, const char *field)
{
	static const struct policy_row none = { NULL, 0, NULL };
	int lv;

	if (!d->allowed || d->kind_ < 0 || d->clearance < 0)
		return keep_denied(d);
	if (row == NULL)
		row = &none;
	if (row->label != NULL && row->label[0] != '\0') {
		lv = policy_level_find(p, row->label);
		if (lv < 0)
			return deny(d, "this record's label '%s' is not a "
			    "level of the policy", row->label);
		if (lv > d->clearance)
			return deny_level(p, d, "this record", lv);
	}
	if (d->action_ == POLICY_REVEAL)
		return check_reveal(p, d, row, field);
	return COFFER_OK;
}

int
policy_check_write(const struct policy *p, struct policy_decision *d,
    const char *field)
{
	const struct kind_def *k;
	const struct field_def *f;
	char what[96];
	int fi;

	if (!d->allowed || d->kind_ < 0 || (d->action_ != POLICY_CREATE &&
	    d->action_ != POLICY_UPDATE && d->action_ != POLICY_REQUEST &&
	    d->action_ != POLICY_SCREEN && d->action_ != POLICY_COMPLETE))
		return keep_denied(d);
	k = &p->kinds[d->kind_];
	if ((f = schema_field(k, field)) == NULL)
		return deny(d, "%s has no field '%s'", k->name,
		    field != NULL ? field : "");
	fi = (int)(f - k->fields);
	if (p->write[d->clearance][d->kind_][fi] == POLICY_SHOW)
		return COFFER_OK;
	snprintf(what, sizeof(what), "%s.%s", k->plural, f->name);
	return deny_level(p, d, what, p->fields[d->kind_][fi].level);
}
