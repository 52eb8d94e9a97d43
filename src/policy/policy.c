/*
 * policy.c - loading the policy: the file checks (owner, mode, size), the
 * strict YAML tree (ytree.c), validation of every key against the schema,
 * and compilation into the lookup tables decide.c reads.  Every problem is
 * reported with file and line; a policy with any error is never used.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/err.h"
#include "coffer/policy.h"
#include "policy_int.h"

/* Compile context: where errors go and what is being built. */
struct cc {
	struct perrs *e;
	struct policy *p;
	unsigned levels_line;
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const action_names[POLICY_ACTION_COUNT_] = {
	[POLICY_READ] = "read", [POLICY_LIST] = "list",
	[POLICY_CREATE] = "create", [POLICY_UPDATE] = "update",
	[POLICY_DELETE] = "delete", [POLICY_REVEAL] = "reveal",
	[POLICY_EXPORT] = "export", [POLICY_REQUEST] = "request",
	[POLICY_SCREEN] = "screen", [POLICY_REPORT] = "report",
	[POLICY_COMPLETE] = "complete",
	[POLICY_USER_READ] = "user_read",
	[POLICY_USER_ADMIN] = "user_admin", [POLICY_AUDIT_READ] = "audit_read",
	[POLICY_KEY_ADMIN] = "key_admin", [POLICY_POLICY_ADMIN] = "policy_admin",
};
static const char *const limit_names[POLICY_LIMIT_COUNT_] = {
	[POLICY_LIMIT_READ] = "read", [POLICY_LIMIT_LIST] = "list",
	[POLICY_LIMIT_REVEAL] = "reveal", [POLICY_LIMIT_WRITE] = "write",
};
static const char *const treat_names[] = { "show", "mask", "omit" };
static const char *const scope_names[] = {
	[SCOPE_OWN] = "own", [SCOPE_TEAM] = "team", [SCOPE_ALL] = "all",
};

const char *
policy_action_name(enum policy_action a)
{
	return (unsigned)a < POLICY_ACTION_COUNT_ ? action_names[a] : "unknown";
}

const char *
policy_limit_name(enum policy_limit l)
{
	return (unsigned)l < POLICY_LIMIT_COUNT_ ? limit_names[l] : "unknown";
}

const char *
policy_treat_name(enum policy_treat t)
{
	return (unsigned)t < NELEM(treat_names) ? treat_names[t] : "unknown";
}

/* Tree helpers -------------------------------------------------------- */

static const struct ynode *
map_get(const struct ynode *map, const char *key)
{
	size_t i;

	for (i = 0; i + 1 < map->nkids; i += 2)
		if (strcmp(map->kids[i]->str, key) == 0)
			return map->kids[i + 1];
	return NULL;
}

static void err_at(struct cc *c, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
err_at(struct cc *c, const struct ynode *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	perr_add(c->e, n->line, n->col, "%s", msg);
}

/*
 * n must be a mapping whose keys are all in allowed (NULL-terminated);
 * unknown keys are reported with the list of known ones.  0 if n is not
 * a mapping (reported), 1 otherwise.
 */
static int
check_map(struct cc *c, const struct ynode *n, const char *const *allowed,
    const char *where)
{
	char expected[160];
	size_t i, j, off;

	if (n->type != YN_MAP) {
		perr_add(c->e, n->line, n->col, "%s: expected a mapping",
		    where);
		return 0;
	}
	for (i = 0; i + 1 < n->nkids; i += 2) {
		const char *k = n->kids[i]->str;

		for (j = 0; allowed[j] != NULL && strcmp(allowed[j], k); j++)
			;
		if (allowed[j] != NULL)
			continue;
		expected[0] = '\0';
		for (j = 0, off = 0; allowed[j] != NULL &&
		    off < sizeof(expected); j++)
			off += (size_t)snprintf(expected + off,
			    sizeof(expected) - off, "%s%s", j ? ", " : "",
			    allowed[j]);
		perr_add(c->e, n->kids[i]->line, n->kids[i]->col,
		    "unknown key '%s' in %s (expected %s)", k, where, expected);
	}
	return 1;
}

static const struct ynode *
require(struct cc *c, const struct ynode *map, const char *key,
    const char *where)
{
	const struct ynode *v = map_get(map, key);

	if (v == NULL)
		perr_add(c->e, map->line, map->col, "%s: missing key '%s'",
		    where, key);
	return v;
}

static int
is_seq(struct cc *c, const struct ynode *n, const char *where)
{
	if (n->type == YN_SEQ)
		return 1;
	perr_add(c->e, n->line, n->col, "%s: expected a list", where);
	return 0;
}

/* Lower-case letter, then letters, digits, '_' or '-'; at most 32. */
static int
valid_name(const char *s)
{
	size_t i;

	if (s[0] < 'a' || s[0] > 'z')
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return i <= POLICY_NAME_MAX;
}

/* A scalar that is a name; reported and NULL otherwise. */
static const char *
scalar(struct cc *c, const struct ynode *n, const char *what)
{
	if (n->type == YN_SCALAR && n->str[0] != '\0')
		return n->str;
	perr_add(c->e, n->line, n->col, "expected %s", what);
	return NULL;
}

static int
lookup(const char *s, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* Levels -------------------------------------------------------------- */

int
policy_level_find(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < p->nlevels; i++)
		if (strcmp(p->levels[i], name) == 0)
			return (int)i;
	return -1;
}

/* A level named by node n; -1 (reported) if undefined. */
static int
level_ref(struct cc *c, const struct ynode *n)
{
	const char *s = scalar(c, n, "a level name");
	int l;

	if (s == NULL)
		return -1;
	if ((l = policy_level_find(c->p, s)) < 0)
		err_at(c, n, "undefined level '%s'", s);
	return l;
}

static int
parse_levels(struct cc *c, const struct ynode *n)
{
	size_t i;

	if (!is_seq(c, n, "levels"))
		return -1;
	if (n->nkids == 0 || n->nkids > POLICY_MAX_LEVELS) {
		perr_add(c->e, n->line, n->col,
		    "levels: between 1 and %d levels, lowest first",
		    POLICY_MAX_LEVELS);
		return -1;
	}
	c->levels_line = n->line;
	for (i = 0; i < n->nkids; i++) {
		const char *s = scalar(c, n->kids[i], "a level name");

		if (s == NULL)
			return -1;
		if (!valid_name(s)) {
			err_at(c, n->kids[i], "bad level name '%s' (lower-case "
			    "letters, digits, _ and -, at most 32)", s);
			return -1;
		}
		if (policy_level_find(c->p, s) >= 0) {
			err_at(c, n->kids[i], "level '%s' is listed twice", s);
			return -1;
		}
		memcpy(c->p->levels[c->p->nlevels++], s, strlen(s) + 1);
	}
	return 0;
}

static int
treat_ref(struct cc *c, const struct ynode *n, int allow_show)
{
	const char *s = scalar(c, n, "show, mask or omit");
	int t;

	if (s == NULL)
		return -1;
	t = lookup(s, treat_names, NELEM(treat_names));
	if (t < 0 || (t == POLICY_SHOW && !allow_show)) {
		err_at(c, n, allow_show ? "bad treatment '%s' (expected show, "
		    "mask or omit)" : "bad treatment '%s' (expected mask or "
		    "omit)", s);
		return -1;
	}
	return t;
}

static void
parse_above(struct cc *c, const struct ynode *n)
{
	static const char *const none[] = { NULL };
	size_t i;
	int l, t;

	if (n->type != YN_MAP) {
		check_map(c, n, none, "above_clearance");
		return;
	}
	for (i = 0; i + 1 < n->nkids; i += 2) {
		l = level_ref(c, n->kids[i]);
		t = treat_ref(c, n->kids[i + 1], 0);
		if (l >= 0 && t >= 0)
			c->p->above_level[l] = (unsigned char)t;
	}
}

/* Fields -------------------------------------------------------------- */

int
policy_kind_index(const struct policy *p, const struct kind_def *k)
{
	if (k == NULL || k < p->kinds || k >= p->kinds + p->nkinds)
		return -1;
	return (int)(k - p->kinds);
}

static int
field_index(const struct kind_def *k, const char *name)
{
	const struct field_def *f = schema_field(k, name);

	return f != NULL ? (int)(f - k->fields) : -1;
}

/* A mask format fits the field's type (text masks anything). */
static int
format_fits(enum mask_format m, enum field_type t)
{
	switch (m) {
	case MASK_PHONE: return t == FT_PHONE;
	case MASK_EMAIL: return t == FT_EMAIL;
	case MASK_NAME: return t == FT_TEXT;
	case MASK_AMOUNT: return t == FT_MONEY;
	default: return 1;
	}
}

static enum mask_format
default_format(enum field_type t)
{
	switch (t) {
	case FT_PHONE: return MASK_PHONE;
	case FT_EMAIL: return MASK_EMAIL;
	case FT_MONEY: return MASK_AMOUNT;
	default: return MASK_TEXT;
	}
}

static int
bool_ref(struct cc *c, const struct ynode *n)
{
	if (n->type == YN_SCALAR && n->plain && strcmp(n->str, "true") == 0)
		return 1;
	if (n->type == YN_SCALAR && n->plain && strcmp(n->str, "false") == 0)
		return 0;
	perr_add(c->e, n->line, n->col, "expected true or false");
	return -1;
}

static void
parse_format(struct cc *c, const struct ynode *n, const struct field_def *f,
    const char *where, struct pfield *pf)
{
	const char *s = scalar(c, n, "a mask format");
	enum mask_format m;

	if (s == NULL)
		return;
	if (mask_format_parse(s, &m) != COFFER_OK) {
		err_at(c, n, "unknown mask format '%s' (expected text, phone, "
		    "email, name or amount)", s);
	} else if (!format_fits(m, f->type)) {
		perr_add(c->e, n->line, n->col, "%s: format %s does not fit "
		    "this field's type", where, s);
	} else {
		pf->format = (unsigned char)m;
	}
}

/* One field's description: label, above, format, read, list, reveal. */
static void
parse_field(struct cc *c, const struct kind_def *k, const struct ynode *key,
    const struct ynode *n)
{
	static const char *const keys[] = { "label", "above", "format", "read",
		"list", "reveal", NULL };
	const struct field_def *f = schema_field(k, key->str);
	const struct ynode *v;
	struct pfield *pf;
	char where[96];
	int t;

	if (f == NULL) {
		perr_add(c->e, key->line, key->col,
		    "unknown field '%s' of %s", key->str, k->name);
		return;
	}
	snprintf(where, sizeof(where), "%s.%s", k->plural, f->name);
	if (f->flags & FF_SERVER) {
		perr_add(c->e, key->line, key->col, "%s: set by the server; "
		    "it cannot be labelled or masked", where);
		return;
	}
	pf = &c->p->fields[policy_kind_index(c->p, k)][f - k->fields];
	if (pf->line != 0) {
		perr_add(c->e, key->line, key->col, "%s is already described "
		    "at line %u", where, pf->line);
		return;
	}
	pf->line = key->line;
	if (!check_map(c, n, keys, where))
		return;
	if ((v = map_get(n, "label")) != NULL)
		pf->level = level_ref(c, v);
	if ((v = map_get(n, "above")) != NULL && (t = treat_ref(c, v, 0)) >= 0) {
		pf->above = (unsigned char)t;
		pf->above_set = 1;
	}
	if ((v = map_get(n, "format")) != NULL)
		parse_format(c, v, f, where, pf);
	if ((v = map_get(n, "read")) != NULL && (t = treat_ref(c, v, 1)) >= 0)
		pf->read = pf->list = (unsigned char)t;
	if ((v = map_get(n, "list")) != NULL && (t = treat_ref(c, v, 1)) >= 0) {
		if (t < pf->read)
			perr_add(c->e, v->line, v->col, "%s: a list may not "
			    "show more than a read (list %s, read %s)", where,
			    treat_names[t], treat_names[pf->read]);
		else
			pf->list = (unsigned char)t;
	}
	if ((v = map_get(n, "reveal")) != NULL && (t = bool_ref(c, v)) >= 0)
		pf->reveal = (unsigned char)t;
}

static void
parse_fields(struct cc *c, const struct ynode *n)
{
	static const char *const none[] = { NULL };
	const struct ynode *seen[POLICY_MAX_KINDS] = { NULL };
	const struct kind_def *k;
	size_t i, j;
	int ki;

	if (n->type != YN_MAP) {
		check_map(c, n, none, "fields");
		return;
	}
	for (i = 0; i + 1 < n->nkids; i += 2) {
		const struct ynode *key = n->kids[i], *v = n->kids[i + 1];

		if ((k = schema_kind(key->str)) == NULL) {
			err_at(c, key, "unknown record kind '%s'", key->str);
			continue;
		}
		ki = policy_kind_index(c->p, k);
		if (seen[ki] != NULL) {
			perr_add(c->e, key->line, key->col, "kind %s is already "
			    "described at line %u", k->name, seen[ki]->line);
			continue;
		}
		seen[ki] = key;
		if (v->type != YN_MAP) {
			check_map(c, v, none, k->name);
			continue;
		}
		for (j = 0; j + 1 < v->nkids; j += 2)
			parse_field(c, k, v->kids[j], v->kids[j + 1]);
	}
}

/* Roles --------------------------------------------------------------- */

int
policy_role_find(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < p->nroles; i++)
		if (strcmp(p->roles[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Kinds named by one entry of a grant's kinds: a kind or a group. */
static int
grant_kinds(struct cc *c, const struct ynode *n, unsigned char *set)
{
	const char *s = scalar(c, n, "a record kind");
	const struct kind_def *k;
	size_t i;
	int group = -1;

	if (s == NULL)
		return -1;
	if (strcmp(s, "customer-data") == 0)
		group = 0;
	else if (strcmp(s, "shared") == 0)
		group = 1;
	if (group >= 0) {
		for (i = 0; i < c->p->nkinds; i++)
			if ((c->p->kinds[i].scope == SCOPE_SHARED) == group)
				set[i] = 1;
		return 0;
	}
	if ((k = schema_kind(s)) == NULL) {
		err_at(c, n, "unknown record kind '%s'", s);
		return -1;
	}
	set[policy_kind_index(c->p, k)] = 1;
	return 0;
}

static int
scope_ref(struct cc *c, const struct ynode *n)
{
	const char *s = scalar(c, n, "a scope");
	int sc;

	if (s == NULL)
		return -1;
	sc = lookup(s, scope_names, NELEM(scope_names));
	if (sc <= 0)
		err_at(c, n, "bad scope '%s' (expected own, team or all)", s);
	return sc <= 0 ? -1 : sc;
}

/* Record each (kind, action) of one grant; a repeat is an error. */
static void
apply_grant(struct cc *c, struct prole *r, const unsigned char *kinds,
    const struct ynode *act, int action, int scope, const struct ynode *sn)
{
	size_t i;

	for (i = 0; i < c->p->nkinds; i++) {
		const struct kind_def *k = &c->p->kinds[i];

		if (!kinds[i])
			continue;
		if (k->scope == SCOPE_SHARED && scope != SCOPE_ALL) {
			perr_add(c->e, sn->line, sn->col, "%s is shared, not "
			    "owned: its scope must be all", k->plural);
			return;
		}
		if (r->grant[i][action] != SCOPE_NONE) {
			perr_add(c->e, act->line, act->col, "role %s: %s on %s "
			    "is already granted at line %u", r->name,
			    action_names[action], k->plural,
			    r->grant_line[i][action]);
			continue;
		}
		r->grant[i][action] = (unsigned char)scope;
		r->grant_line[i][action] = act->line;
		if (r->first_grant_line == 0)
			r->first_grant_line = act->line;
	}
}

static void
parse_grant(struct cc *c, struct prole *r, const struct ynode *n)
{
	static const char *const keys[] = { "kinds", "actions", "scope", NULL };
	unsigned char kinds[POLICY_MAX_KINDS] = { 0 };
	const struct ynode *kn, *an, *sn;
	char where[64];
	size_t i;
	int scope, a, bad = 0;

	snprintf(where, sizeof(where), "a grant of role %s", r->name);
	if (!check_map(c, n, keys, where))
		return;
	kn = require(c, n, "kinds", where);
	an = require(c, n, "actions", where);
	sn = require(c, n, "scope", where);
	if (kn == NULL || an == NULL || sn == NULL || !is_seq(c, kn, "kinds") ||
	    !is_seq(c, an, "actions"))
		return;
	for (i = 0; i < kn->nkids; i++)
		bad |= grant_kinds(c, kn->kids[i], kinds) != 0;
	if ((scope = scope_ref(c, sn)) < 0)
		bad = 1;
	/* Actions are checked even when the rest is wrong: all errors. */
	for (i = 0; i < an->nkids; i++) {
		const char *s = scalar(c, an->kids[i], "an action");

		if (s == NULL)
			continue;
		a = lookup(s, action_names, POLICY_RECORD_ACTIONS);
		if (a < 0)
			err_at(c, an->kids[i], "unknown action '%s' (expected "
			    "read, list, create, update, delete, reveal, "
			    "export, request, screen, report or complete)", s);
		else if (!bad)
			apply_grant(c, r, kinds, an->kids[i], a, scope, sn);
	}
}

static void
parse_privileges(struct cc *c, struct prole *r, const struct ynode *n)
{
	size_t i;
	int a;

	if (!is_seq(c, n, "privileges"))
		return;
	for (i = 0; i < n->nkids; i++) {
		const char *s = scalar(c, n->kids[i], "a privilege");

		if (s == NULL)
			continue;
		a = lookup(s, action_names, POLICY_ACTION_COUNT_);
		if (a < POLICY_USER_READ) {
			err_at(c, n->kids[i], "unknown privilege '%s' (expected "
			    "user_read, user_admin, audit_read, key_admin or "
			    "policy_admin)", s);
		} else if (r->privs & (1u << a)) {
			err_at(c, n->kids[i], "privilege %s is listed twice", s);
		} else {
			r->privs |= 1u << a;
			r->priv_line[a] = n->kids[i]->line;
		}
	}
}

static void
parse_limits(struct cc *c, struct prole *r, const struct ynode *n)
{
	static const char *const keys[] = { "read", "list", "reveal", "write",
		NULL };
	size_t i;
	int l;

	if (!check_map(c, n, keys, "limits"))
		return;
	for (i = 0; i + 1 < n->nkids; i += 2) {
		const struct ynode *v = n->kids[i + 1];
		char *end = NULL;
		unsigned long long x = 0;

		if ((l = lookup(n->kids[i]->str, keys, 4)) < 0)
			continue;
		if (v->type == YN_SCALAR && v->plain && v->str[0] >= '0' &&
		    v->str[0] <= '9' && strlen(v->str) <= 10)
			x = strtoull(v->str, &end, 10);
		if (end == NULL || *end != '\0' || x > 1000000000ull) {
			perr_add(c->e, v->line, v->col, "limits.%s: expected a "
			    "number from 0 to 1000000000", keys[l]);
			continue;
		}
		r->limits[l] = (uint32_t)x;
	}
}

static void
parse_role(struct cc *c, const struct ynode *key, const struct ynode *n)
{
	static const char *const keys[] = { "clearance", "grants",
		"privileges", "limits", NULL };
	struct prole *r;
	const struct ynode *v;
	char where[64];
	size_t i;

	if (!valid_name(key->str)) {
		err_at(c, key, "bad role name '%s' (lower-case letters, digits, "
		    "_ and -, at most 32)", key->str);
		return;
	}
	if (c->p->nroles >= POLICY_MAX_ROLES) {
		perr_add(c->e, key->line, key->col, "too many roles (at most "
		    "%d)", POLICY_MAX_ROLES);
		return;
	}
	r = &c->p->roles[c->p->nroles++];
	memcpy(r->name, key->str, strlen(key->str) + 1);
	r->line = key->line;
	r->max_clearance = (int)c->p->nlevels - 1;
	for (i = 0; i < POLICY_LIMIT_COUNT_; i++)
		r->limits[i] = POLICY_UNLIMITED;
	snprintf(where, sizeof(where), "role %s", r->name);
	if (!check_map(c, n, keys, where))
		return;
	if ((v = map_get(n, "clearance")) != NULL)
		r->max_clearance = level_ref(c, v);
	if ((v = map_get(n, "grants")) != NULL && is_seq(c, v, "grants"))
		for (i = 0; i < v->nkids; i++)
			parse_grant(c, r, v->kids[i]);
	if ((v = map_get(n, "privileges")) != NULL)
		parse_privileges(c, r, v);
	if ((v = map_get(n, "limits")) != NULL)
		parse_limits(c, r, v);
}

static void
parse_roles(struct cc *c, const struct ynode *n)
{
	static const char *const none[] = { NULL };
	size_t i;

	if (n->type != YN_MAP) {
		check_map(c, n, none, "roles");
		return;
	}
	if (n->nkids == 0)
		perr_add(c->e, n->line, n->col, "roles: at least one role");
	for (i = 0; i + 1 < n->nkids; i += 2)
		parse_role(c, n->kids[i], n->kids[i + 1]);
}

/* Do-not-call ---------------------------------------------------------- */

static void
dnc_fields(struct cc *c, const struct kind_def *cust, const struct ynode *n)
{
	size_t i;
	int fi;

	if (!is_seq(c, n, "do_not_call.fields"))
		return;
	for (i = 0; i < n->nkids; i++) {
		const char *s = scalar(c, n->kids[i], "a customer field");

		if (s == NULL)
			continue;
		if ((fi = field_index(cust, s)) < 0)
			err_at(c, n->kids[i], "unknown field '%s' of customer",
			    s);
		else
			c->p->fields[policy_kind_index(c->p, cust)][fi].dnc = 1;
	}
}

static void
dnc_stages(struct cc *c, const struct kind_def *cust, const struct ynode *n)
{
	const struct field_def *stage = schema_field(cust, "stage");
	size_t i, j;

	if (!is_seq(c, n, "do_not_call.stages"))
		return;
	for (i = 0; i < n->nkids; i++) {
		const char *s = scalar(c, n->kids[i], "a customer stage");

		if (s == NULL)
			continue;
		for (j = 0; stage != NULL && stage->enum_values[j] != NULL &&
		    strcmp(stage->enum_values[j], s); j++)
			;
		if (stage == NULL || stage->enum_values[j] == NULL)
			err_at(c, n->kids[i], "unknown customer stage '%s'", s);
		else if (c->p->nstages >= POLICY_MAX_STAGES)
			err_at(c, n->kids[i], "too many stages at '%s'", s);
		else
			memcpy(c->p->stages[c->p->nstages++], s, strlen(s) + 1);
	}
}

static void
parse_dnc(struct cc *c, const struct ynode *n)
{
	static const char *const keys[] = { "fields", "stages", "roles", NULL };
	const struct kind_def *cust = schema_kind("customer");
	const struct ynode *v;
	size_t i;
	int r;

	if (!check_map(c, n, keys, "do_not_call"))
		return;
	if (cust == NULL || policy_kind_index(c->p, cust) < 0) {
		perr_add(c->e, n->line, n->col, "do_not_call: this schema has "
		    "no customers");
		return;
	}
	if ((v = require(c, n, "fields", "do_not_call")) != NULL)
		dnc_fields(c, cust, v);
	if ((v = map_get(n, "stages")) != NULL)
		dnc_stages(c, cust, v);
	if ((v = require(c, n, "roles", "do_not_call")) == NULL ||
	    !is_seq(c, v, "do_not_call.roles"))
		return;
	for (i = 0; i < v->nkids; i++) {
		const char *s = scalar(c, v->kids[i], "a role name");

		if (s == NULL)
			continue;
		if ((r = policy_role_find(c->p, s)) < 0)
			err_at(c, v->kids[i], "undefined role '%s'", s);
		else
			c->p->roles[r].dnc = 1;
	}
}

/* Approvals (change requests) -------------------------------------------- */

#define EXPIRY_DEFAULT (72 * 3600)
#define EXPIRY_MAX (366LL * 24 * 3600)

/* "3600", "90s", "30m", "72h", "7d": 1 second to max; what names it. */
static int64_t
duration_ref(struct cc *c, const struct ynode *n, const char *what,
    int64_t max, const char *range)
{
	char *end = NULL;
	unsigned long long x = 0;
	int64_t mul = 1;

	if (n->type == YN_SCALAR && n->plain && n->str[0] >= '0' &&
	    n->str[0] <= '9' && strlen(n->str) <= 12)
		x = strtoull(n->str, &end, 10);
	if (end != NULL && end[0] != '\0' && end[1] == '\0') {
		mul = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ?
		    3600 : end[0] == 'd' ? 86400 : 0;
		end = mul != 0 ? end + 1 : end;
	}
	if (end == NULL || *end != '\0' || x == 0 ||
	    (int64_t)x > max / mul) {
		err_at(c, n, "%s: expected a duration from 1 second to %s "
		    "(e.g. 3600, 90s, 30m, 72h, 7d)", what, range);
		return -1;
	}
	return (int64_t)x * mul;
}

static void
rule_ops(struct cc *c, struct papproval *a, const struct ynode *n)
{
	size_t i;

	if (!is_seq(c, n, "ops"))
		return;
	for (i = 0; i < n->nkids; i++) {
		const char *s = scalar(c, n->kids[i],
		    "update, delete or purge");

		if (s != NULL && strcmp(s, "update") == 0)
			a->ops |= 1;
		else if (s != NULL && strcmp(s, "delete") == 0)
			a->ops |= 2;
		else if (s != NULL && strcmp(s, "purge") == 0)
			a->ops |= 4;
		else if (s != NULL)
			err_at(c, n->kids[i], "unknown op '%s' (expected update, "
			    "delete or purge)", s);
	}
}

static void
rule_roles(struct cc *c, struct papproval *a, const struct ynode *n)
{
	size_t i, j;
	int r;

	if (!is_seq(c, n, "roles"))
		return;
	for (i = 0; i < n->nkids; i++) {
		const char *s = scalar(c, n->kids[i], "a role name");

		if (s == NULL)
			continue;
		if ((r = policy_role_find(c->p, s)) < 0) {
			err_at(c, n->kids[i], "undefined role '%s'", s);
			continue;
		}
		for (j = 0; j < a->nroles && a->roles[j] != r; j++)
			;
		if (j < a->nroles)
			err_at(c, n->kids[i], "role %s is listed twice", s);
		else if (a->nroles >= POLICY_APPROVAL_ROLES)
			err_at(c, n->kids[i], "at most %d roles",
			    POLICY_APPROVAL_ROLES);
		else
			a->roles[a->nroles++] = r;
	}
}

static void
parse_approval_rule(struct cc *c, const struct ynode *n)
{
	static const char *const keys[] = { "kinds", "ops", "approvals",
		"roles", NULL };
	struct papproval a;
	const struct ynode *v;
	size_t i;
	char *end = NULL;
	unsigned long x = 0;

	memset(&a, 0, sizeof(a));
	if (!check_map(c, n, keys, "an approval rule"))
		return;
	if ((v = require(c, n, "kinds", "an approval rule")) != NULL &&
	    is_seq(c, v, "kinds"))
		for (i = 0; i < v->nkids; i++)
			(void)grant_kinds(c, v->kids[i], a.kinds);
	if ((v = require(c, n, "ops", "an approval rule")) != NULL)
		rule_ops(c, &a, v);
	a.approvals = 1;
	if ((v = map_get(n, "approvals")) != NULL) {
		if (v->type == YN_SCALAR && v->plain && strlen(v->str) <= 2)
			x = strtoul(v->str, &end, 10);
		if (end == NULL || *end != '\0' || x < 1 ||
		    x > POLICY_APPROVALS_MAX)
			err_at(c, v, "approvals: expected a number from 1 to "
			    "%d", POLICY_APPROVALS_MAX);
		else
			a.approvals = (unsigned)x;
	}
	if ((v = map_get(n, "roles")) != NULL)
		rule_roles(c, &a, v);
	if (a.nroles > a.approvals)
		err_at(c, n, "approval rule: %zu roles must each approve, but "
		    "only %u approvals are asked for", a.nroles, a.approvals);
	if (c->p->napprovals >= POLICY_MAX_APPROVAL_RULES) {
		err_at(c, n, "at most %d approval rules",
		    POLICY_MAX_APPROVAL_RULES);
		return;
	}
	c->p->approval_rules[c->p->napprovals++] = a;
}

static void
parse_approvals(struct cc *c, const struct ynode *n)
{
	static const char *const keys[] = { "expiry", "rules", NULL };
	const struct ynode *v;
	int64_t e;
	size_t i;

	if (!check_map(c, n, keys, "approvals"))
		return;
	if ((v = map_get(n, "expiry")) != NULL && (e = duration_ref(c, v,
	    "approvals.expiry", EXPIRY_MAX, "366 days")) > 0)
		c->p->approval_expiry = e;
	if ((v = map_get(n, "rules")) == NULL || !is_seq(c, v,
	    "approvals.rules"))
		return;
	for (i = 0; i < v->nkids; i++)
		parse_approval_rule(c, v->kids[i]);
}

/* Corrections (direct fixes by the owner) ------------------------------ */

#define CORRECT_MAX 86400   /* a correction window is at most a day */

/*
 * May field name of kind k be named in a correction?  Only a field the
 * owner could write on create and that does not move the record: not one
 * the server sets, not an immutable one, not the owner.
 */
static int
correctable(const struct kind_def *k, const struct field_def *f)
{
	return !(f->flags & (FF_SERVER | FF_IMMUTABLE | FF_OWNER)) &&
	    strcmp(f->name, "agent_id") != 0 && k->scope != SCOPE_SHARED;
}

/* One field of a rule, for every kind the rule names. */
static void
correction_field(struct cc *c, const unsigned char *kinds, int64_t window,
    const struct ynode *n)
{
	const char *s = scalar(c, n, "a field name");
	const struct kind_def *k;
	const struct field_def *f;
	size_t i, fi;

	for (i = 0; s != NULL && i < c->p->nkinds; i++) {
		if (!kinds[i])
			continue;
		k = &c->p->kinds[i];
		if ((f = schema_field(k, s)) == NULL) {
			err_at(c, n, "kind %s has no field '%s'", k->name, s);
			continue;
		}
		if (!correctable(k, f)) {
			err_at(c, n, "%s.%s cannot be corrected directly (set "
			    "by the server, immutable, the owner, or a shared "
			    "kind)", k->name, s);
			continue;
		}
		fi = (size_t)(f - k->fields);
		if (fi >= POLICY_MAX_FIELDS)
			continue;
		if (c->p->correct[i][fi] != 0)
			err_at(c, n, "%s.%s is named by two corrections",
			    k->name, s);
		else if (window > 0)
			c->p->correct[i][fi] = window;
	}
}

static void
parse_correction(struct cc *c, const struct ynode *n)
{
	static const char *const keys[] = { "kinds", "fields", "window",
		NULL };
	unsigned char kinds[POLICY_MAX_KINDS];
	const struct ynode *v, *fields;
	int64_t window = 0;
	size_t i;

	memset(kinds, 0, sizeof(kinds));
	if (!check_map(c, n, keys, "a correction"))
		return;
	if ((v = require(c, n, "window", "a correction")) != NULL)
		window = duration_ref(c, v, "corrections.window", CORRECT_MAX,
		    "1 day");
	if ((v = require(c, n, "kinds", "a correction")) != NULL &&
	    is_seq(c, v, "kinds"))
		for (i = 0; i < v->nkids; i++)
			(void)grant_kinds(c, v->kids[i], kinds);
	if ((fields = require(c, n, "fields", "a correction")) == NULL ||
	    !is_seq(c, fields, "fields"))
		return;
	if (fields->nkids == 0)
		err_at(c, fields, "fields: name at least one field");
	for (i = 0; i < fields->nkids; i++)
		correction_field(c, kinds, window, fields->kids[i]);
}

static void
parse_corrections(struct cc *c, const struct ynode *n)
{
	size_t i;

	if (!is_seq(c, n, "corrections"))
		return;
	for (i = 0; i < n->nkids; i++)
		parse_correction(c, n->kids[i]);
}

int64_t
policy_correction_window(const struct policy *p, const struct kind_def *k,
    const char *field)
{
	int ki = policy_kind_index(p, k);
	const struct field_def *f;
	size_t fi;

	if (ki < 0 || (f = schema_field(k, field)) == NULL)
		return 0;
	fi = (size_t)(f - k->fields);
	return fi < POLICY_MAX_FIELDS ? p->correct[ki][fi] : 0;
}

/* Retention of tombstones --------------------------------------------- */

#define RETAIN_MAX (36500LL * 86400)   /* 100 years */

static void
parse_retention_entry(struct cc *c, const struct ynode *n)
{
	static const char *const keys[] = { "kinds", "keep", NULL };
	unsigned char kinds[POLICY_MAX_KINDS];
	const struct ynode *v;
	int64_t keep = 0;
	size_t i;

	memset(kinds, 0, sizeof(kinds));
	if (!check_map(c, n, keys, "a retention entry"))
		return;
	if ((v = require(c, n, "keep", "a retention entry")) != NULL)
		keep = duration_ref(c, v, "retention.keep", RETAIN_MAX,
		    "36500 days");
	if ((v = require(c, n, "kinds", "a retention entry")) == NULL ||
	    !is_seq(c, v, "kinds"))
		return;
	for (i = 0; i < v->nkids; i++)
		(void)grant_kinds(c, v->kids[i], kinds);
	for (i = 0; i < c->p->nkinds; i++) {
		if (!kinds[i])
			continue;
		if (c->p->retain[i] != 0)
			err_at(c, v, "kind %s is named by two retention entries",
			    c->p->kinds[i].name);
		else if (keep > 0)
			c->p->retain[i] = keep;
	}
}

static void
parse_retention(struct cc *c, const struct ynode *n)
{
	size_t i;

	if (!is_seq(c, n, "retention"))
		return;
	for (i = 0; i < n->nkids; i++)
		parse_retention_entry(c, n->kids[i]);
}

int64_t
policy_retention(const struct policy *p, const struct kind_def *k)
{
	int ki = policy_kind_index(p, k);

	return ki < 0 ? 0 : p->retain[ki];
}

void
policy_approval_rule(const struct policy *p, const struct kind_def *k,
    int del, struct policy_approval *out)
{
	int ki = policy_kind_index(p, k);
	size_t i, j;

	memset(out, 0, sizeof(*out));
	/* a purge has no default: only a rule that names it allows one */
	out->approvals = del == 2 ? 0 : 1;
	out->expiry = p->approval_expiry > 0 ? p->approval_expiry :
	    EXPIRY_DEFAULT;
	for (i = 0; ki >= 0 && del >= 0 && del <= 2 &&
	    i < p->napprovals; i++) {
		const struct papproval *a = &p->approval_rules[i];

		if (!a->kinds[ki] || !(a->ops & (1 << del)))
			continue;
		/* the first rule that matches decides */
		out->approvals = a->approvals;
		out->nroles = a->nroles;
		for (j = 0; j < a->nroles; j++)
			out->roles[j] = p->roles[a->roles[j]].name;
		return;
	}
}

int
policy_role_has_data(const struct policy *p, const char *role)
{
	int r = policy_role_find(p, role);

	return r >= 0 && p->roles[r].first_grant_line != 0;
}

/* Whole-policy checks -------------------------------------------------- */

/*
 * Fields the policy does not label keep the schema's label, which must be
 * a level; every value a record's own label field can take must be one
 * too, or such records could not be judged.
 */
static void
check_schema_levels(struct cc *c)
{
	size_t k, f, j;

	for (k = 0; k < c->p->nkinds; k++) {
		const struct kind_def *kd = &c->p->kinds[k];

		for (f = 0; f < kd->nfields; f++) {
			const struct field_def *fd = &kd->fields[f];
			struct pfield *pf = &c->p->fields[k][f];

			if (pf->line == 0 || pf->level < 0)
				pf->level = policy_level_find(c->p, fd->label);
			if (pf->level < 0 && pf->line == 0)
				perr_add(c->e, c->levels_line, 0, "levels: '%s' "
				    "(the schema's label of %s.%s) is not a "
				    "level", fd->label, kd->plural, fd->name);
			if (strcmp(fd->name, "label") || fd->type != FT_ENUM)
				continue;
			for (j = 0; fd->enum_values[j] != NULL; j++)
				if (policy_level_find(c->p,
				    fd->enum_values[j]) < 0)
					perr_add(c->e, c->levels_line, 0,
					    "levels: '%s' (a value of %s.label) "
					    "is not a level", fd->enum_values[j],
					    kd->plural);
		}
	}
}

/*
 * Separation of duties: customer data (any record grant), the audit trail
 * (audit_read) and administration (users, keys, policy) are three duties;
 * a role holds at most one.
 */
static void
check_duties(struct cc *c, const struct prole *r)
{
	static const int admin[] = { POLICY_USER_ADMIN, POLICY_KEY_ADMIN,
		POLICY_POLICY_ADMIN };
	const char *name[3] = { "record grants", NULL, NULL };
	unsigned line[3] = { r->first_grant_line, 0, 0 };
	size_t i, a, b;

	if (r->privs & (1u << POLICY_AUDIT_READ)) {
		name[1] = "audit_read";
		line[1] = r->priv_line[POLICY_AUDIT_READ];
	}
	for (i = 0; i < NELEM(admin); i++) {
		if ((r->privs & (1u << admin[i])) && line[2] == 0) {
			name[2] = action_names[admin[i]];
			line[2] = r->priv_line[admin[i]];
		}
	}
	for (a = 0; a < 3; a++)
		for (b = a + 1; b < 3; b++)
			if (line[a] != 0 && line[b] != 0)
				perr_add(c->e, line[a] > line[b] ? line[a] :
				    line[b], 0, "role %s: separation of duties: "
				    "%s (line %u) and %s (line %u) cannot be "
				    "held by one role", r->name, name[a],
				    line[a], name[b], line[b]);
}

/* Compilation ---------------------------------------------------------- */

/* What someone cleared to level cl sees of field pf in context ctx. */
static unsigned char
treatment(const struct policy *p, const struct pfield *pf, int cl, int ctx)
{
	unsigned char within = ctx == CTX_READ ? pf->read : pf->list;
	unsigned char above;

	if (pf->level <= cl)
		return within;
	above = pf->above_set ? pf->above : p->above_level[pf->level];
	return above > within ? above : within;
}

static void
compile_tables(struct policy *p)
{
	size_t cl, k, f;

	for (k = 0; k < p->nkinds; k++)
		for (f = 0; f < p->kinds[k].nfields; f++)
			p->formats[k][f] = p->fields[k][f].format;
	for (cl = 0; cl < p->nlevels; cl++) {
		for (k = 0; k < p->nkinds; k++) {
			for (f = 0; f < p->kinds[k].nfields; f++) {
				const struct pfield *pf = &p->fields[k][f];

				p->treat[cl][k][CTX_READ][f] =
				    treatment(p, pf, (int)cl, CTX_READ);
				p->treat[cl][k][CTX_LIST][f] =
				    treatment(p, pf, (int)cl, CTX_LIST);
				p->write[cl][k][f] = pf->level <= (int)cl ?
				    POLICY_SHOW : POLICY_OMIT;
			}
		}
	}
}

/* Schema-derived starting point: default formats, labels unresolved. */
static int
init_policy(struct policy *p)
{
	size_t k, f;

	p->kinds = schema_kinds(&p->nkinds);
	if (p->nkinds > POLICY_MAX_KINDS)
		return COFFER_ERR_INTERNAL;
	for (k = 0; k < p->nkinds; k++) {
		if (p->kinds[k].nfields > POLICY_MAX_FIELDS)
			return COFFER_ERR_INTERNAL;
		for (f = 0; f < p->kinds[k].nfields; f++) {
			p->fields[k][f].level = -1;
			p->fields[k][f].format = (unsigned char)
			    default_format(p->kinds[k].fields[f].type);
		}
	}
	for (k = 0; k < POLICY_MAX_LEVELS; k++)
		p->above_level[k] = POLICY_OMIT;
	return COFFER_OK;
}

static void
compile_root(struct cc *c, const struct ynode *root)
{
	static const char *const keys[] = { "version", "levels",
		"above_clearance", "fields", "roles", "do_not_call", "approvals",
		"corrections", "retention", NULL };
	const struct ynode *v;
	size_t i;

	if (!check_map(c, root, keys, "the policy"))
		return;
	if ((v = require(c, root, "version", "the policy")) != NULL &&
	    (v->type != YN_SCALAR || !v->plain || strcmp(v->str, "1") != 0))
		err_at(c, v, "unsupported policy version '%s' (expected 1)",
		    v->type == YN_SCALAR ? v->str : "?");
	/* Everything else names levels: without them, stop here. */
	if ((v = require(c, root, "levels", "the policy")) == NULL ||
	    parse_levels(c, v) != 0)
		return;
	if ((v = map_get(root, "above_clearance")) != NULL)
		parse_above(c, v);
	if ((v = map_get(root, "fields")) != NULL)
		parse_fields(c, v);
	if ((v = require(c, root, "roles", "the policy")) != NULL)
		parse_roles(c, v);
	if ((v = map_get(root, "do_not_call")) != NULL)
		parse_dnc(c, v);
	if ((v = map_get(root, "approvals")) != NULL)
		parse_approvals(c, v);
	if ((v = map_get(root, "corrections")) != NULL)
		parse_corrections(c, v);
	if ((v = map_get(root, "retention")) != NULL)
		parse_retention(c, v);
	check_schema_levels(c);
	for (i = 0; i < c->p->nroles; i++)
		check_duties(c, &c->p->roles[i]);
}

/* Loading -------------------------------------------------------------- */

/* Parse, validate and compile; errors collected in e. */
static int
load_bytes(const unsigned char *data, size_t len, struct perrs *e,
    struct policy **out)
{
	struct policy *p = NULL;
	struct ynode *root = NULL;
	struct cc c;
	int rc;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = init_policy(p)) != COFFER_OK)
		goto out;
	crypto_hash_sha256(p->hash, data, len);
	rc = ytree_parse(data, len, e, &root);
	if (rc != COFFER_OK)
		goto out;
	if (root == NULL || (root->type == YN_SCALAR && root->str[0] == '\0')) {
		perr_add(e, 0, 0, "empty policy");
		rc = COFFER_ERR_INVALID;
		goto out;
	}
	memset(&c, 0, sizeof(c));
	c.e = e;
	c.p = p;
	compile_root(&c, root);
	if (e->total > 0) {
		rc = COFFER_ERR_INVALID;
		goto out;
	}
	compile_tables(p);
	*out = p;
	p = NULL; /* transferred */
out:
	ytree_free(root);
	free(p);
	return rc;
}

static void
perrs_init(struct perrs *e, const char *name)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->file, sizeof(e->file), "%s", name != NULL ? name : "-");
}

/* A whole-file problem (permissions, size, I/O) as the only error. */
static int file_error(struct perrs *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
file_error(struct perrs *e, int status, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	perr_add(e, 0, 0, "%s", msg);
	e->status = status;
	return status;
}

/*
 * Read the file, refusing what another user could have changed: like
 * OpenSSH with authorized_keys, a policy writable by group or others (or
 * owned by someone other than us or root) is not trusted.
 */
static int
read_policy_file(const char *path, struct perrs *e, unsigned char **buf,
    size_t *len)
{
	struct stat st;
	unsigned char *b = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc = COFFER_OK;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) < 0)
		return file_error(e, COFFER_ERR_IO, "cannot open: %s",
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = file_error(e, COFFER_ERR_IO, "not a regular file");
	} else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		rc = file_error(e, COFFER_ERR_PERM, "writable by group or others"
		    " (mode %04o): refused; run chmod go-w on it",
		    (unsigned)(st.st_mode & 07777));
	} else if (st.st_uid != geteuid() && st.st_uid != 0) {
		rc = file_error(e, COFFER_ERR_PERM, "owned by uid %u, neither "
		    "this user nor root: refused", (unsigned)st.st_uid);
	} else if (st.st_size > POLICY_FILE_MAX) {
		rc = file_error(e, COFFER_ERR_TOO_BIG, "larger than %u bytes",
		    POLICY_FILE_MAX);
	} else if ((b = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = COFFER_ERR_NOMEM;
	}
	/* Read one byte past the size seen, to notice a file that grew. */
	while (rc == COFFER_OK && got <= (size_t)st.st_size) {
		n = read(fd, b + got, (size_t)st.st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = file_error(e, COFFER_ERR_IO, "read error: %s",
			    strerror(errno));
		else if (n == 0)
			break;
		else
			got += (size_t)n;
	}
	if (rc == COFFER_OK && got > (size_t)st.st_size)
		rc = file_error(e, COFFER_ERR_IO, "changed while being read");
	close(fd);
	if (rc != COFFER_OK) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = got;
	return COFFER_OK;
}

static int
finish(struct perrs *e, int rc, struct policy_error *err)
{
	perr_sort(e);
	if (err != NULL) {
		memset(err, 0, sizeof(*err));
		if (e->n > 0)
			*err = e->list[0];
		else if (rc != COFFER_OK)
			snprintf(err->message, sizeof(err->message), "%s",
			    coffer_strerror(rc));
		if (e->n == 0)
			snprintf(err->file, sizeof(err->file), "%s", e->file);
	}
	return rc;
}

static int
load_file_errs(const char *path, struct perrs *e, struct policy **out)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = read_policy_file(path, e, &buf, &len)) != COFFER_OK)
		return rc;
	rc = load_bytes(buf, len, e, out);
	free(buf);
	return rc;
}

int
policy_load(const char *path, struct policy **out, struct policy_error *err)
{
	struct perrs *e = calloc(1, sizeof(*e));
	int rc;

	*out = NULL;
	if (e == NULL)
		return COFFER_ERR_NOMEM;
	perrs_init(e, path);
	rc = finish(e, load_file_errs(path, e, out), err);
	free(e);
	return rc;
}

int
policy_load_buffer(const char *name, const void *data, size_t len,
    struct policy **out, struct policy_error *err)
{
	struct perrs *e = calloc(1, sizeof(*e));
	int rc;

	*out = NULL;
	if (e == NULL)
		return COFFER_ERR_NOMEM;
	perrs_init(e, name);
	if (len > POLICY_FILE_MAX)
		rc = file_error(e, COFFER_ERR_TOO_BIG, "larger than %u bytes",
		    POLICY_FILE_MAX);
	else
		rc = load_bytes(data != NULL ? data : (const void *)"", len, e,
		    out);
	rc = finish(e, rc, err);
	free(e);
	return rc;
}

void
policy_free(struct policy *p)
{
	free(p);
}

static void
print_errors(const struct perrs *e, int rc, FILE *out)
{
	size_t i;

	if (rc == COFFER_OK) {
		fprintf(out, "policy OK\n");
		return;
	}
	for (i = 0; i < e->n; i++) {
		const struct policy_error *pe = &e->list[i];

		if (pe->line == 0)
			fprintf(out, "%s: %s\n", pe->file, pe->message);
		else if (pe->column == 0)
			fprintf(out, "%s:%u: %s\n", pe->file, pe->line,
			    pe->message);
		else
			fprintf(out, "%s:%u:%u: %s\n", pe->file, pe->line,
			    pe->column, pe->message);
	}
	if (e->n == 0)
		fprintf(out, "%s: %s\n", e->file, coffer_strerror(rc));
	if (e->total > e->n)
		fprintf(out, "%s: %zu more errors not shown\n", e->file,
		    e->total - e->n);
}

int
policy_check_file(const char *path, FILE *out)
{
	struct perrs *e = calloc(1, sizeof(*e));
	struct policy *p = NULL;
	int rc;

	if (e == NULL)
		return COFFER_ERR_NOMEM;
	perrs_init(e, path);
	rc = load_file_errs(path, e, &p);
	perr_sort(e);
	print_errors(e, rc, out);
	policy_free(p);
	free(e);
	return rc;
}

int
policy_check_buffer(const char *name, const void *data, size_t len,
    FILE *out)
{
	struct perrs *e = calloc(1, sizeof(*e));
	struct policy *p = NULL;
	int rc;

	if (e == NULL)
		return COFFER_ERR_NOMEM;
	perrs_init(e, name);
	if (len > POLICY_FILE_MAX)
		rc = file_error(e, COFFER_ERR_TOO_BIG, "larger than %u bytes",
		    POLICY_FILE_MAX);
	else
		rc = load_bytes(data != NULL ? data : (const void *)"", len, e,
		    &p);
	perr_sort(e);
	print_errors(e, rc, out);
	policy_free(p);
	free(e);
	return rc;
}
