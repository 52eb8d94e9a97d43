/*
 * h_users.c - whoami, user.list, user.add, user.update.  User management
 * is the administrator's (access_decide says who); nobody can change their
 * own role or clearance, and the last active administrator cannot be
 * disabled or demoted, so the vault is never left unmanageable.
 */
#include <string.h>

#include "coffer/handlers.h"
#include "coffer/msg.h"
#include "coffer/store.h"

static int
wrap(const char *key, cbor_item_t *v, cbor_item_t **result)
{
	cbor_item_t *res;

	if (v == NULL)
		return COFFER_ERR_NOMEM;
	if ((res = msg_new_map()) == NULL) {
		cbor_decref(&v);
		return COFFER_ERR_NOMEM;
	}
	if (msg_put(res, key, v) != COFFER_OK) {
		cbor_decref(&res);
		return COFFER_ERR_NOMEM;
	}
	*result = res;
	return COFFER_OK;
}

int
handle_whoami(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct store_user u;
	int rc;

	(void)args;
	(void)d;
	if ((rc = store_user_get_id(r->st, r->subject.user_id, &u)) != COFFER_OK)
		return rc;
	if ((*result = store_user_to_map(&u)) == NULL)
		return COFFER_ERR_NOMEM;
	return COFFER_OK;
}

static int
decide_users(struct request *r, enum access_action a,
    struct coffer_errdetail *d)
{
	struct access_decision dec;

	if (access_decide(r->policy, &r->subject, a, NULL, &dec) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "%s",
		    dec.pd.reason);
	return COFFER_OK;
}

int
handle_user_list(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	cbor_item_t *list = NULL;
	int rc;

	(void)args;
	if ((rc = decide_users(r, ACT_USER_READ, d)) != COFFER_OK)
		return rc;
	if ((rc = store_user_list(r->st, &list)) != COFFER_OK)
		return rc;
	return wrap("users", list, result);
}

/* Copy an optional text argument; absent leaves buf untouched. */
static int
opt_str(const cbor_item_t *args, const char *key, char *buf, size_t bufsz,
    struct coffer_errdetail *d)
{
	int rc = msg_get_str(args, key, buf, bufsz);

	if (rc == COFFER_OK || rc == COFFER_ERR_NOT_FOUND)
		return COFFER_OK;
	return coffer_detail(d, COFFER_ERR_INVALID, key,
	    "%s: must be text of at most %zu bytes", key, bufsz - 1);
}

/* Apply the optional arguments shared by user.add and user.update. */
static int
apply_user_args(struct request *r, const cbor_item_t *args,
    struct store_user *u, struct coffer_errdetail *d)
{
	char role[32] = "", manager[65] = "";
	const unsigned char *pk;
	struct store_user m;
	size_t pklen;
	int rc, active;

	if ((rc = opt_str(args, "display", u->display, sizeof(u->display),
	    d)) != COFFER_OK ||
	    (rc = opt_str(args, "team", u->team, sizeof(u->team), d)) !=
	    COFFER_OK ||
	    (rc = opt_str(args, "clearance", u->clearance,
	    sizeof(u->clearance), d)) != COFFER_OK ||
	    (rc = opt_str(args, "role", role, sizeof(role), d)) != COFFER_OK ||
	    (rc = opt_str(args, "manager", manager, sizeof(manager), d)) !=
	    COFFER_OK)
		return rc;
	if (role[0] && store_role_parse(role, &u->role) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_INVALID, "role", "role: must "
		    "be one of agent, manager, compliance, admin");
	if (manager[0]) {
		rc = store_user_get(r->st, manager, &m);
		if (rc == COFFER_ERR_NOT_FOUND)
			return coffer_detail(d, COFFER_ERR_INVALID, "manager",
			    "manager: no such user '%s'", manager);
		if (rc != COFFER_OK)
			return rc;
		u->manager_id = m.id;
	}
	rc = msg_get_bytes(args, "pubkey", &pk, &pklen);
	if (rc == COFFER_OK && pklen == sizeof(u->pubkey))
		memcpy(u->pubkey, pk, pklen);
	else if (rc != COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, "pubkey",
		    "pubkey: must be a 32-byte Ed25519 public key");
	rc = msg_get_bool(args, "active", &active);
	if (rc == COFFER_OK)
		u->active = active;
	else if (rc != COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, "active",
		    "active: must be true or false");
	return COFFER_OK;
}

int
handle_user_add(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct store_user u;
	int rc;

	if ((rc = decide_users(r, ACT_USER_ADMIN, d)) != COFFER_OK)
		return rc;
	memset(&u, 0, sizeof(u));
	u.active = 1;
	if (msg_get_str(args, "name", u.name, sizeof(u.name)) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_INVALID, "name",
		    "name: required, text of at most %zu bytes",
		    sizeof(u.name) - 1);
	if ((rc = apply_user_args(r, args, &u, d)) != COFFER_OK)
		return rc;
	if (u.role == 0)
		return coffer_detail(d, COFFER_ERR_INVALID, "role",
		    "role: required");
	if (u.clearance[0] == '\0')
		return coffer_detail(d, COFFER_ERR_INVALID, "clearance",
		    "clearance: required");
	if (msg_get(args, "pubkey") == NULL)
		return coffer_detail(d, COFFER_ERR_INVALID, "pubkey",
		    "pubkey: required");
	rc = store_user_add(r->st, &u, d);
	if (rc == COFFER_ERR_CONFLICT && d->message[0] == '\0')
		return coffer_detail(d, rc, "name", "name: user '%s' exists",
		    u.name);
	if (rc != COFFER_OK)
		return rc;
	return wrap("user", store_user_to_map(&u), result);
}

/* Would this change leave no active administrator? */
static int
last_admin_lost(struct request *r, const struct store_user *before,
    const struct store_user *after)
{
	cbor_item_t *list = NULL;
	size_t i, admins = 0;
	char role[32];
	int active;

	if (before->role != ROLE_ADMIN || !before->active ||
	    (after->role == ROLE_ADMIN && after->active))
		return 0;
	if (store_user_list(r->st, &list) != COFFER_OK)
		return 1; /* fail safe */
	for (i = 0; i < cbor_array_size(list); i++) {
		cbor_item_t *m = cbor_array_handle(list)[i];

		if (msg_get_str(m, "role", role, sizeof(role)) == COFFER_OK &&
		    strcmp(role, "admin") == 0 &&
		    msg_get_bool(m, "active", &active) == COFFER_OK && active)
			admins++;
	}
	cbor_decref(&list);
	return admins <= 1;
}

int
handle_user_update(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct store_user before, u;
	char name[65];
	int rc;

	if ((rc = decide_users(r, ACT_USER_ADMIN, d)) != COFFER_OK)
		return rc;
	if (msg_get_str(args, "name", name, sizeof(name)) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_INVALID, "name",
		    "name: required");
	rc = store_user_get(r->st, name, &before);
	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, rc, "name", "name: no such user '%s'",
		    name);
	if (rc != COFFER_OK)
		return rc;
	u = before;
	if ((rc = apply_user_args(r, args, &u, d)) != COFFER_OK)
		return rc;
	if (u.id == r->subject.user_id && (u.role != before.role ||
	    strcmp(u.clearance, before.clearance) != 0 || !u.active))
		return coffer_detail(d, COFFER_ERR_DENIED, "name",
		    "you may not change your own role, clearance or status");
	if (last_admin_lost(r, &before, &u))
		return coffer_detail(d, COFFER_ERR_CONFLICT, "name",
		    "%s is the last active administrator", name);
	if ((rc = store_user_update(r->st, &u, d)) != COFFER_OK)
		return rc;
	if ((rc = store_user_get(r->st, name, &u)) != COFFER_OK)
		return rc;
	return wrap("user", store_user_to_map(&u), result);
}
