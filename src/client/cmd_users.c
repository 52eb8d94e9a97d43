/*
 * cmd_users.c - user administration: user list, add, update, disable and
 * enable (administrator).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/client.h"

/* ---- user administration ------------------------------------------- */

static int
print_user_result(struct ctx *c, const cbor_item_t *res)
{
	if (c->json)
		return print_json(res);
	if (c->quiet)
		return COFFER_OK;
	return print_fields(NULL, msg_get(res, "user"));
}

int
cmd_user_list(struct ctx *c, int argc, char **argv)
{
	static const char *const heads[] = { "name", "display", "role", "team",
	    "manager", "clearance", "active", "fingerprint" };
	const cbor_item_t *users;
	cbor_item_t *res = NULL;
	int rc;

	if ((rc = record_opts(c, "user list", argc, argv, 0, NULL)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if (optind < argc)
		return fail(c, COFFER_ERR_USAGE, "user list: takes no "
		    "arguments");
	if ((rc = call(c, "user.list", NULL, &res)) != COFFER_OK)
		return rc;
	users = msg_get(res, "users");
	if (c->json)
		rc = print_json(res);
	else if (users == NULL || !cbor_isa_array(users))
		rc = fail(c, COFFER_ERR_PROTO, "user list: the daemon's answer "
		    "has no users");
	else
		rc = print_table(c, NULL, 8, heads, users);
	cbor_decref(&res);
	return rc;
}

/* --pubkey FILE -> "pubkey": 32 bytes. */
static int
put_pubkey(struct ctx *c, cbor_item_t *args, const char *file)
{
	unsigned char pk[32];
	char fpr[USERKEY_FPR_TEXT];
	int rc;

	if ((rc = userkey_load_public(file, pk)) != COFFER_OK)
		return fail(c, COFFER_ERR_USAGE, "pubkey=%s: %s", file,
		    rc == COFFER_ERR_INVALID ? "not a coffer public key file "
		    "(made by 'coffer keygen')" : coffer_strerror(rc));
	if (!c->quiet && !c->json) {
		userkey_fingerprint(pk, fpr, sizeof(fpr));
		fprintf(stderr, "coffer: registering key %s\n", fpr);
	}
	return msg_put_bytes(args, "pubkey", pk, sizeof(pk));
}

/*
 * Options of user add/update into args.  required lists the options that
 * must be present (add); *nset counts those given.
 */
static int
user_opts(struct ctx *c, const char *cmd, int argc, char **argv,
    cbor_item_t *args, int is_add, int *nset)
{
	static const struct option lo[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "clearance", required_argument, NULL, 'c' },
		{ "pubkey", required_argument, NULL, 'p' },
		{ "team", required_argument, NULL, 't' },
		{ "manager", required_argument, NULL, 'm' },
		{ "display", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *key;
	int opt, rc;

	optind = 0;
	opterr = 0;
	*nset = 0;
	while ((opt = getopt_long(argc, argv, is_add ? ":r:c:p:t:m:d:h" :
	    ":r:c:p:t:m:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'h':
			show_help(cmd);
			return -1;
		case 'p':
			if ((rc = put_pubkey(c, args, optarg)) != COFFER_OK)
				return rc;
			(*nset)++;
			continue;
		case 'r': key = "role"; break;
		case 'c': key = "clearance"; break;
		case 't': key = "team"; break;
		case 'm': key = "manager"; break;
		case 'd':
			if (!is_add)
				return bad_option(c, cmd, argv, '?');
			key = "display";
			break;
		default:
			return bad_option(c, cmd, argv, opt);
		}
		if (msg_get(args, key) != NULL)
			return fail(c, COFFER_ERR_USAGE, "%s: --%s given twice",
			    cmd, key);
		if (!cli_utf8_valid(optarg, strlen(optarg)))
			return fail(c, COFFER_ERR_USAGE, "%s: not valid UTF-8",
			    key);
		if ((rc = msg_put_str(args, key, optarg)) != COFFER_OK)
			return rc;
		(*nset)++;
	}
	return COFFER_OK;
}

/* The NAME operand: exactly one word after the options. */
static int
user_name(struct ctx *c, const char *cmd, int argc, char **argv,
    cbor_item_t *args)
{
	if (optind >= argc)
		return fail(c, COFFER_ERR_USAGE, "%s: missing user NAME (usage: "
		    "coffer %s)", cmd, help_find(cmd)->synopsis);
	if (optind + 1 < argc)
		return fail(c, COFFER_ERR_USAGE, "%s: unexpected '%.40s'", cmd,
		    argv[optind + 1]);
	if (strlen(argv[optind]) > SESSION_USER_MAX ||
	    !cli_utf8_valid(argv[optind], strlen(argv[optind])))
		return fail(c, COFFER_ERR_USAGE, "%s: bad user name", cmd);
	return msg_put_str(args, "name", argv[optind]);
}

int
cmd_user_add(struct ctx *c, int argc, char **argv)
{
	static const char *const need[] = { "role", "clearance", "pubkey" };
	cbor_item_t *args = msg_new_map(), *res = NULL;
	size_t i;
	int n = 0, rc;

	if (args == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = user_opts(c, "user add", argc, argv, args, 1, &n)) !=
	    COFFER_OK || (rc = user_name(c, "user add", argc, argv, args)) !=
	    COFFER_OK)
		goto out;
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (msg_get(args, need[i]) == NULL) {
			rc = fail(c, COFFER_ERR_USAGE, "user add: --%s is "
			    "required", need[i]);
			goto out;
		}
	rc = call(c, "user.add", args, &res);
	args = NULL; /* taken */
	if (rc == COFFER_OK)
		rc = print_user_result(c, res);
out:
	if (args != NULL)
		cbor_decref(&args);
	if (res != NULL)
		cbor_decref(&res);
	return rc < 0 ? COFFER_OK : rc;
}

int
cmd_user_update(struct ctx *c, int argc, char **argv)
{
	cbor_item_t *args = msg_new_map(), *res = NULL;
	int n = 0, rc;

	if (args == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = user_opts(c, "user update", argc, argv, args, 0, &n)) !=
	    COFFER_OK || (rc = user_name(c, "user update", argc, argv, args)) !=
	    COFFER_OK)
		goto out;
	if (n == 0) {
		rc = fail(c, COFFER_ERR_USAGE, "user update: nothing to change "
		    "(give --role, --clearance, --team, --manager or --pubkey)");
		goto out;
	}
	rc = call(c, "user.update", args, &res);
	args = NULL; /* taken */
	if (rc == COFFER_OK)
		rc = print_user_result(c, res);
out:
	if (args != NULL)
		cbor_decref(&args);
	if (res != NULL)
		cbor_decref(&res);
	return rc < 0 ? COFFER_OK : rc;
}

static int
user_set_active(struct ctx *c, const char *cmd, int argc, char **argv,
    int active)
{
	cbor_item_t *args = NULL, *res = NULL;
	int rc;

	if ((rc = record_opts(c, cmd, argc, argv, 0, NULL)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((args = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = user_name(c, cmd, argc, argv, args)) != COFFER_OK ||
	    (rc = msg_put_bool(args, "active", active)) != COFFER_OK) {
		cbor_decref(&args);
		return rc;
	}
	if ((rc = call(c, "user.update", args, &res)) != COFFER_OK)
		return rc;
	rc = print_user_result(c, res);
	cbor_decref(&res);
	return rc;
}

int
cmd_user_disable(struct ctx *c, int argc, char **argv)
{
	return user_set_active(c, "user disable", argc, argv, 0);
}

int
cmd_user_enable(struct ctx *c, int argc, char **argv)
{
	return user_set_active(c, "user enable", argc, argv, 1);
}
