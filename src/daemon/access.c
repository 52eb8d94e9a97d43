/*
 * access.c - the built-in rule set behind access_decide(): one table of
 * (role, action, kind class) -> scope.  Deny by default.  The policy
 * issue replaces this table with a compiled policy file.
 */
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "coffer/access.h"
#include "coffer/err.h"

/* Which record kinds a rule covers. */
enum kind_class {
	KC_USERS,    /* user management, k == NULL */
	KC_OWNED,    /* customer data: owned through an agent */
	KC_SHARED,   /* company data readable by staff (products) */
	KC_AUDIT     /* the audit trail, k == NULL */
};

struct rule {
	enum user_role role;
	enum access_action action;
	enum kind_class kinds;
	enum scope_kind scope;
};

/*
 * The rules.  An action not matched here is denied.  Managers may write
 * products (price lists); agents only read them.  The administrator and the
 * compliance officer never touch customer data: separation of duties.
 */
static const struct rule rules[] = {
	{ ROLE_AGENT, ACT_READ, KC_OWNED, SCOPE_OWN },
	{ ROLE_AGENT, ACT_LIST, KC_OWNED, SCOPE_OWN },
	{ ROLE_AGENT, ACT_CREATE, KC_OWNED, SCOPE_OWN },
	{ ROLE_AGENT, ACT_UPDATE, KC_OWNED, SCOPE_OWN },
	{ ROLE_AGENT, ACT_DELETE, KC_OWNED, SCOPE_OWN },
	{ ROLE_AGENT, ACT_READ, KC_SHARED, SCOPE_ALL },
	{ ROLE_AGENT, ACT_LIST, KC_SHARED, SCOPE_ALL },

	{ ROLE_MANAGER, ACT_READ, KC_OWNED, SCOPE_TEAM },
	{ ROLE_MANAGER, ACT_LIST, KC_OWNED, SCOPE_TEAM },
	{ ROLE_MANAGER, ACT_CREATE, KC_OWNED, SCOPE_TEAM },
	{ ROLE_MANAGER, ACT_UPDATE, KC_OWNED, SCOPE_TEAM },
	{ ROLE_MANAGER, ACT_DELETE, KC_OWNED, SCOPE_TEAM },
	{ ROLE_MANAGER, ACT_READ, KC_SHARED, SCOPE_ALL },
	{ ROLE_MANAGER, ACT_LIST, KC_SHARED, SCOPE_ALL },
	{ ROLE_MANAGER, ACT_CREATE, KC_SHARED, SCOPE_ALL },
	{ ROLE_MANAGER, ACT_UPDATE, KC_SHARED, SCOPE_ALL },
	{ ROLE_MANAGER, ACT_USER_READ, KC_USERS, SCOPE_ALL },

	{ ROLE_COMPLIANCE, ACT_USER_READ, KC_USERS, SCOPE_ALL },
	/* The trail is read by the compliance officer alone. */
	{ ROLE_COMPLIANCE, ACT_AUDIT_READ, KC_AUDIT, SCOPE_ALL },

	{ ROLE_ADMIN, ACT_USER_READ, KC_USERS, SCOPE_ALL },
	{ ROLE_ADMIN, ACT_USER_ADMIN, KC_USERS, SCOPE_ALL },
};

static const char *const action_names[] = {
	[ACT_READ] = "read", [ACT_LIST] = "list", [ACT_CREATE] = "create",
	[ACT_UPDATE] = "update", [ACT_DELETE] = "delete",
	[ACT_USER_READ] = "user-read", [ACT_USER_ADMIN] = "user-admin",
	[ACT_AUDIT_READ] = "audit-read",
};

const char *
access_action_name(enum access_action a)
{
	if ((size_t)a < sizeof(action_names) / sizeof(action_names[0]) &&
	    action_names[a] != NULL)
		return action_names[a];
	return "unknown";
}

static enum kind_class
classify(enum access_action action, const struct kind_def *k)
{
	if (action == ACT_AUDIT_READ)
		return KC_AUDIT;
	if (k == NULL)
		return KC_USERS;
	return k->scope == SCOPE_SHARED ? KC_SHARED : KC_OWNED;
}

static const char *
deny_reason(enum user_role role, enum kind_class kc)
{
	if (kc == KC_OWNED && (role == ROLE_ADMIN || role == ROLE_COMPLIANCE))
		return "your role does not give access to customer data";
	if (kc == KC_USERS)
		return "your role may not manage users";
	if (kc == KC_AUDIT)
		return "only the compliance officer may read the audit trail";
	return "your role does not permit this operation";
}

int
access_decide(const struct access_subject *s, enum access_action action,
    const struct kind_def *k, struct access_decision *d)
{
	enum kind_class kc = classify(action, k);
	size_t i;

	memset(d, 0, sizeof(*d));
	d->scope.kind = SCOPE_NONE;
	d->reason = deny_reason(s->role, kc);
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct rule *r = &rules[i];

		if (r->role != s->role || r->action != action || r->kinds != kc)
			continue;
		d->allowed = 1;
		d->scope.kind = r->scope;
		d->scope.user_id = s->user_id;
		memcpy(d->scope.team, s->team, sizeof(d->scope.team));
		d->reason = "allowed by role";
		/* A manager without a team has no team to see. */
		if (r->scope == SCOPE_TEAM && s->team[0] == '\0') {
			d->allowed = 0;
			d->scope.kind = SCOPE_NONE;
			d->reason = "you belong to no team";
		}
		break;
	}
	return d->allowed ? COFFER_OK : COFFER_ERR_DENIED;
}

/* The hash covers a text rendering of the rule table, one rule a line. */
void
access_policy_hash(unsigned char out[32])
{
	static const char head[] = "coffer builtin rules 1\n";
	crypto_hash_sha256_state st;
	char line[64];
	size_t i;
	int n;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)head,
	    sizeof(head) - 1);
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		n = snprintf(line, sizeof(line), "%s %s %d %d\n",
		    store_role_name(rules[i].role),
		    access_action_name(rules[i].action), (int)rules[i].kinds,
		    (int)rules[i].scope);
		if (n > 0 && (size_t)n < sizeof(line))
			crypto_hash_sha256_update(&st,
			    (const unsigned char *)line, (size_t)n);
	}
	crypto_hash_sha256_final(&st, out);
}
