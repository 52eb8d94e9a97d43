/*
 * admin_user.c - coffer-admin user add and user list, and the one way a
 * user is added offline (with its audit record), which init and demo use
 * too.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cbor.h>

#include "coffer/audit.h"
#include "coffer/err.h"
#include "coffer/store.h"
#include "coffer/vault.h"

#include "admin.h"

static const char help_user_add[] =
"usage: coffer-admin user add DIR NAME --role ROLE --clearance LEVEL\n"
"                             --pubkey FILE.pub [--team TEAM]\n"
"                             [--manager NAME] [--display TEXT]\n"
"                             [--key-file FILE | --passphrase-file FILE]\n"
"\n"
"Register user NAME in the vault in DIR, offline.  Meant for bootstrap and\n"
"recovery (e.g. all administrators lost their keys); day-to-day, an\n"
"administrator uses 'coffer user add' against the running daemon.\n"
"The vault is locked while the user is added: stop cofferd first.\n"
"\n"
"options:\n"
"  --role ROLE            agent, manager, compliance or admin (required)\n"
"  --clearance LEVEL      public, internal, confidential or secret: the\n"
"                         highest label the user may read (required)\n"
"  --pubkey FILE          the user's public key file (required)\n"
"  --team TEAM            team name (agents and managers)\n"
"  --manager NAME         the agent's manager, an existing user\n"
"  --display TEXT         display name\n"
"  -k, --key-file FILE    wrapping key file (default DIR/master.key)\n"
"  -p, --passphrase-file FILE\n"
"                         passphrase file for a passphrase vault (default:\n"
"                         ask on the terminal)\n"
"\n"
"exit status: 0 added, 1 failure (e.g. the name exists, a field is\n"
"invalid, the vault is in use), 2 usage error.\n";

static const char help_user_list[] =
"usage: coffer-admin user list DIR [--key-file FILE | --passphrase-file FILE]\n"
"\n"
"List the users of the vault in DIR: id, name, role, clearance, team,\n"
"manager, whether the account is active, and the fingerprint of the\n"
"user's public key (SHA256:..., compare it with 'coffer keygen' output).\n"
"Reading does not take the vault lock, so it works while cofferd runs.\n"
"\n"
"options:\n"
"  -k, --key-file FILE    wrapping key file (default DIR/master.key)\n"
"  -p, --passphrase-file FILE\n"
"                         passphrase file for a passphrase vault\n"
"\n"
"exit status: 0 listed, 1 failure, 2 usage error.\n";

static void
copy_field(char *dst, size_t dstsz, const char *src)
{
	snprintf(dst, dstsz, "%s", src != NULL ? src : "");
}

/*
 * Fill a store_user from words; the store validates the values.  The
 * role is checked here so the message can list the valid names.
 */
int
admin_user_from_args(const char *name, const char *role, const char *clearance,
    const char *team, const char *display, const unsigned char pk[32],
    struct store_user *u)
{
	memset(u, 0, sizeof(*u));
	if (strlen(name) >= sizeof(u->name)) {
		fprintf(stderr, PROG ": user name '%.20s...': longer than %zu "
		    "bytes\n", name, sizeof(u->name) - 1);
		return EX_USAGE;
	}
	if (store_role_parse(role, &u->role) != COFFER_OK) {
		fprintf(stderr, PROG ": --role %s: not one of agent, manager, "
		    "compliance, admin\n", role);
		return EX_USAGE;
	}
	copy_field(u->name, sizeof(u->name), name);
	copy_field(u->clearance, sizeof(u->clearance), clearance);
	copy_field(u->team, sizeof(u->team), team);
	copy_field(u->display, sizeof(u->display), display ? display : name);
	memcpy(u->pubkey, pk, 32);
	u->active = 1;
	return EX_OK;
}

static int
add_user(struct store *st, struct store_user *u)
{
	struct coffer_errdetail d;
	int rc;

	memset(&d, 0, sizeof(d));
	if ((rc = store_user_add(st, u, &d)) == COFFER_OK)
		return EX_OK;
	if (rc == COFFER_ERR_CONFLICT)
		fprintf(stderr, PROG ": user %s: already exists\n", u->name);
	else if (d.message[0] != '\0' && d.field[0] != '\0' &&
	    strncmp(d.message, d.field, strlen(d.field)) != 0)
		fprintf(stderr, PROG ": user %s: %s: %s\n", u->name, d.field,
		    d.message);
	else if (d.message[0] != '\0')
		fprintf(stderr, PROG ": user %s: %s\n", u->name, d.message);
	else
		admin_report("user", u->name, rc);
	return EX_FAIL;
}

int
admin_set_manager(struct store *st, const char *manager, struct store_user *u)
{
	struct store_user m;
	int rc;

	if (manager == NULL)
		return EX_OK;
	if ((rc = store_user_get(st, manager, &m)) != COFFER_OK) {
		if (rc == COFFER_ERR_NOT_FOUND)
			fprintf(stderr, PROG ": --manager %s: no such user\n",
			    manager);
		else
			admin_report("user", manager, rc);
		return EX_FAIL;
	}
	u->manager_id = m.id;
	return EX_OK;
}

/*
 * Add u inside one transaction that commits only after the audit record
 * of the addition is durable, as the daemon does for every write.
 */
int
admin_add_user_audited(struct vault *v, struct store *st, struct store_user *u)
{
	struct audit_event e;
	char peer[ADMIN_PEER_MAX];
	int ex, rc;

	if (store_begin(st) != COFFER_OK) {
		fprintf(stderr, PROG ": cannot start a transaction\n");
		return EX_FAIL;
	}
	if ((ex = add_user(st, u)) != EX_OK) {
		store_rollback(st);
		return ex;
	}
	admin_event(&e, "user.add", peer, sizeof(peer));
	e.kind = "user";
	e.target_id = u->id;
	e.decision = AUDIT_ALLOWED;
	e.reason = u->name;
	if ((rc = vault_audit_append(v, &e)) != COFFER_OK) {
		store_rollback(st);
		fprintf(stderr, PROG ": user %s not added: the audit "
		    "log cannot be written: %s\n", u->name, coffer_strerror(rc));
		return EX_FAIL;
	}
	if (store_commit(st) != COFFER_OK) {
		store_rollback(st);
		fprintf(stderr, PROG ": user %s: commit failed\n",
		    u->name);
		return EX_FAIL;
	}
	return EX_OK;
}

static int
admin_user_add(int argc, char **argv)
{
	static const struct option opts[] = {
		ADMIN_OPTS_UNLOCK,
		{ "role", required_argument, NULL, O_ROLE },
		{ "clearance", required_argument, NULL, O_CLEARANCE },
		{ "team", required_argument, NULL, O_TEAM },
		{ "manager", required_argument, NULL, O_MANAGER },
		{ "display", required_argument, NULL, O_DISPLAY },
		{ "pubkey", required_argument, NULL, O_PUBKEY },
		ADMIN_OPTS_END
	};
	unsigned char pk[32];
	struct vault *v = NULL;
	struct store *st = NULL;
	struct store_user u;
	struct args a;
	int ex;

	if ((ex = admin_parse_args("user add", argc, argv, opts, 2,
	    help_user_add, &a)) != EX_OK || a.help)
		return ex;
	if ((ex = admin_need_pos("user add", &a, 2, "DIR and NAME")) ||
	    (ex = admin_need_opt("user add", a.role, "--role ROLE")) ||
	    (ex = admin_need_opt("user add", a.clearance,
	    "--clearance LEVEL")) ||
	    (ex = admin_need_opt("user add", a.pubkey, "--pubkey FILE")))
		return ex;
	if ((ex = admin_load_pubkey(a.pubkey, pk)) != EX_OK ||
	    (ex = admin_user_from_args(a.pos[1], a.role, a.clearance, a.team,
	    a.display, pk, &u)) != EX_OK)
		return ex;
	if ((ex = admin_open_vault(&a, a.pos[0], 1, &v)) != EX_OK)
		return ex;
	if ((ex = admin_open_db(v, 0, &st)) == EX_OK &&
	    (ex = admin_set_manager(st, a.manager, &u)) == EX_OK &&
	    (ex = admin_add_user_audited(v, st, &u)) == EX_OK) {
		printf("user %s added (id %" PRId64 ")\n", u.name, u.id);
		admin_print_fingerprint("key:", u.pubkey);
	}
	store_close(st);
	vault_close(v);
	return ex;
}

static const cbor_item_t *
map_get(const cbor_item_t *map, const char *key)
{
	struct cbor_pair *p = cbor_map_handle(map);
	size_t n = cbor_map_size(map), klen = strlen(key);

	for (size_t i = 0; i < n; i++) {
		if (cbor_isa_string(p[i].key) &&
		    cbor_string_is_definite(p[i].key) &&
		    cbor_string_length(p[i].key) == klen &&
		    memcmp(cbor_string_handle(p[i].key), key, klen) == 0)
			return p[i].value;
	}
	return NULL;
}

/* A text value, control characters shown as '?'; "-" when absent. */
static void
map_text(const cbor_item_t *map, const char *key, char *buf, size_t bufsz)
{
	const cbor_item_t *v = map_get(map, key);
	size_t n, i;

	snprintf(buf, bufsz, "-");
	if (v == NULL || !cbor_isa_string(v) || !cbor_string_is_definite(v) ||
	    cbor_string_length(v) == 0)
		return;
	n = cbor_string_length(v);
	if (n >= bufsz)
		n = bufsz - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = cbor_string_handle(v)[i];

		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	buf[i] = '\0';
}

static uint64_t
map_uint(const cbor_item_t *map, const char *key)
{
	const cbor_item_t *v = map_get(map, key);

	return (v != NULL && cbor_isa_uint(v)) ? cbor_get_int(v) : 0;
}

static int
map_bool(const cbor_item_t *map, const char *key)
{
	const cbor_item_t *v = map_get(map, key);

	return v != NULL && cbor_is_bool(v) && cbor_get_bool(v);
}

static void
print_user_row(const cbor_item_t *m)
{
	char name[65], role[16], clr[33], team[65], mgr[65], fpr[64];

	map_text(m, "name", name, sizeof(name));
	map_text(m, "role", role, sizeof(role));
	map_text(m, "clearance", clr, sizeof(clr));
	map_text(m, "team", team, sizeof(team));
	map_text(m, "manager", mgr, sizeof(mgr));
	map_text(m, "fingerprint", fpr, sizeof(fpr));
	printf("%4" PRIu64 "  %-16s %-10s %-12s %-8s %-16s %-3s %s\n",
	    map_uint(m, "id"), name, role, clr, team, mgr,
	    map_bool(m, "active") ? "yes" : "no", fpr);
}

static int
admin_user_list(int argc, char **argv)
{
	static const struct option opts[] = {
		ADMIN_OPTS_UNLOCK,
		ADMIN_OPTS_END
	};
	struct vault *v = NULL;
	struct store *st = NULL;
	cbor_item_t *list = NULL;
	struct args a;
	int ex, rc;

	if ((ex = admin_parse_args("user list", argc, argv, opts, 1,
	    help_user_list, &a)) != EX_OK || a.help)
		return ex;
	if ((ex = admin_need_pos("user list", &a, 1,
	    "the vault directory DIR")) ||
	    (ex = admin_open_vault(&a, a.pos[0], 0, &v)) != EX_OK)
		return ex;
	if ((ex = admin_open_db(v, 0, &st)) != EX_OK)
		goto out;
	if ((rc = store_user_list(st, &list)) != COFFER_OK ||
	    !cbor_isa_array(list)) {
		admin_report("user list", vault_store_path(v), rc ? rc :
		    COFFER_ERR_INTERNAL);
		ex = EX_FAIL;
		goto out;
	}
	printf("%4s  %-16s %-10s %-12s %-8s %-16s %-3s %s\n", "ID", "NAME",
	    "ROLE", "CLEARANCE", "TEAM", "MANAGER", "ON", "FINGERPRINT");
	for (size_t i = 0; i < cbor_array_size(list); i++) {
		cbor_item_t *m = cbor_array_handle(list)[i];

		if (cbor_isa_map(m))
			print_user_row(m);
	}
out:
	if (list != NULL)
		cbor_decref(&list);
	store_close(st);
	vault_close(v);
	return ex;
}

int
admin_cmd_user(int argc, char **argv)
{
	static const struct admin_sub subs[] = {
		{ "add", admin_user_add, help_user_add },
		{ "list", admin_user_list, help_user_list },
	};

	return admin_run_sub("user", argc, argv, subs,
	    sizeof(subs) / sizeof(subs[0]), NULL);
}
