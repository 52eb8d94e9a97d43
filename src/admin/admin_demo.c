/*
 * admin_demo.c - coffer-admin demo, a complete demo vault with users, key
 * pairs and generated data, and coffer-admin pubkey, the daemon key that
 * users compare on their first connection.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffer/demo.h"
#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/store.h"
#include "coffer/vault.h"

#include "admin.h"

static const char help_demo[] =
"usage: coffer-admin demo DIR [--customers N] [--calls C] [--seed S]\n"
"                            [--keys-dir D]\n"
"\n"
"Create a complete demo vault in DIR, which must not exist yet (or be an\n"
"empty directory).  The master key is sealed under a key file\n"
"DIR/master.key.  The users are:\n"
"\n"
"  admin                   admin,      clearance internal\n"
"  compliance              compliance, clearance secret\n"
"  mgr-north, mgr-south    manager of team north / south, confidential\n"
"  agent01..agent05        agents of team north (manager mgr-north)\n"
"  agent06..agent10        agents of team south (manager mgr-south)\n"
"                          agents are confidential\n"
"\n"
"Each user gets an UNENCRYPTED key pair D/NAME.key and D/NAME.pub (mode\n"
"0600 / 0644) so the demo can be driven without passphrases; never use\n"
"such keys for real data.  Then about 20 products and N customers with\n"
"their calls, follow-ups and deals are generated, deterministically from\n"
"the seed; the customers are spread over the ten agents, and about one\n"
"note per hundred customers is written by agent01.  Progress is shown on\n"
"stderr when it is a terminal.\n"
"\n"
"options:\n"
"  --customers N          number of customers (default 10000, 1..1000000)\n"
"  --calls C              average calls per customer (default 3, 0..50;\n"
"                         fractions allowed; 0: none) - e.g. 10 for a\n"
"                         benchmark of reports over 10,000,000 calls\n"
"  --seed S               random seed (default 1); the same seed gives the\n"
"                         same data\n"
"  --keys-dir D           where the user keys go (default DIR/keys)\n"
"\n"
"exit status: 0 created, 1 failure, 2 usage error.\n"
"example:\n"
"  coffer-admin demo var/demo && cofferd -d var/demo\n";

static const char help_pubkey[] =
"usage: coffer-admin pubkey DIR\n"
"\n"
"Print the daemon's public key line (from DIR/daemon.pub, written by init)\n"
"and its fingerprint.  Users compare the fingerprint with what the coffer\n"
"client shows on its first connection.  No key or passphrase is needed.\n"
"\n"
"exit status: 0 printed, 1 failure (missing or malformed DIR/daemon.pub),\n"
"2 usage error.\n";

struct demo_user {
	char name[16], display[32], team[8], manager[16];
	enum user_role role;
	const char *clearance;
};

#define DEMO_AGENTS 10
#define DEMO_USERS (4 + DEMO_AGENTS)

static void
demo_users(struct demo_user *u)
{
	static const struct demo_user fixed[4] = {
		{ "admin", "Administrator", "", "", ROLE_ADMIN, "internal" },
		{ "compliance", "Compliance Officer", "", "", ROLE_COMPLIANCE,
		    "secret" },
		{ "mgr-north", "Manager North", "north", "", ROLE_MANAGER,
		    "confidential" },
		{ "mgr-south", "Manager South", "south", "", ROLE_MANAGER,
		    "confidential" },
	};

	memcpy(u, fixed, sizeof(fixed));
	for (int i = 0; i < DEMO_AGENTS; i++) {
		struct demo_user *a = &u[4 + i];
		int north = i < DEMO_AGENTS / 2;

		memset(a, 0, sizeof(*a));
		snprintf(a->name, sizeof(a->name), "agent%02d", i + 1);
		snprintf(a->display, sizeof(a->display), "Agent %02d", i + 1);
		snprintf(a->team, sizeof(a->team), "%s",
		    north ? "north" : "south");
		snprintf(a->manager, sizeof(a->manager), "%s",
		    north ? "mgr-north" : "mgr-south");
		a->role = ROLE_AGENT;
		a->clearance = "confidential";
	}
}

/* NAME.key / NAME.pub in keys_dir, unencrypted (demo only). */
static int
demo_keypair(const char *keys_dir, const char *name, unsigned char pk[32])
{
	char sk_path[PATH_MAX], pk_path[PATH_MAX];
	int n1, n2, rc;

	n1 = snprintf(sk_path, sizeof(sk_path), "%s/%s.key", keys_dir, name);
	n2 = snprintf(pk_path, sizeof(pk_path), "%s/%s.pub", keys_dir, name);
	if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof(sk_path) ||
	    (size_t)n2 >= sizeof(pk_path)) {
		fprintf(stderr, PROG ": --keys-dir %s: path too long\n",
		    keys_dir);
		return EX_FAIL;
	}
	errno = 0;
	if ((rc = userkey_generate(sk_path, pk_path, NULL, 0, name)) !=
	    COFFER_OK || (rc = userkey_load_public(pk_path, pk)) != COFFER_OK) {
		if (rc == COFFER_ERR_CONFLICT)
			fprintf(stderr, PROG ": %s: already exists\n", sk_path);
		else
			admin_report("key", sk_path, rc);
		return EX_FAIL;
	}
	return EX_OK;
}

/* *nmade counts the key pairs written, so a failure removes only those. */
static int
demo_add_users(struct vault *v, struct store *st, const char *keys_dir,
    int64_t *agent_ids, int *nmade)
{
	struct demo_user du[DEMO_USERS];
	struct store_user u;
	unsigned char pk[32];
	int ex;

	demo_users(du);
	for (int i = 0; i < DEMO_USERS; i++) {
		if ((ex = demo_keypair(keys_dir, du[i].name, pk)) != EX_OK)
			return ex;
		(*nmade)++;
		if ((ex = admin_user_from_args(du[i].name,
		    store_role_name(du[i].role), du[i].clearance, du[i].team,
		    du[i].display, pk, &u)) != EX_OK ||
		    (du[i].manager[0] != '\0' &&
		    (ex = admin_set_manager(st, du[i].manager, &u)) != EX_OK) ||
		    (ex = admin_add_user_audited(v, st, &u)) != EX_OK)
			return ex;
		if (du[i].role == ROLE_AGENT)
			agent_ids[i - 4] = u.id;
	}
	return EX_OK;
}

/* One self-overwriting line; demo_fill reports the end twice. */
static void
demo_progress(void *arg, size_t done, size_t total)
{
	int *finished = arg;

	if (*finished)
		return;
	fprintf(stderr, "\rdemo data: %zu/%zu customers", done, total);
	if (done >= total) {
		fputc('\n', stderr);
		*finished = 1;
	}
}

/* What the demo generates (--seed, --customers, --calls). */
struct demo_params {
	uint64_t seed;
	size_t customers;
	double calls;      /* average per customer; < 0: none */
};

static int
demo_populate(struct vault *v, const char *keys_dir,
    const struct demo_params *dp, int *nmade)
{
	int64_t agent_ids[DEMO_AGENTS];
	struct demo_options o;
	struct store *st = NULL;
	int finished = 0, ex, rc;

	if ((ex = admin_open_db(v, 1, &st)) != EX_OK)
		return ex;
	if ((ex = demo_add_users(v, st, keys_dir, agent_ids, nmade)) != EX_OK)
		goto out;
	memset(&o, 0, sizeof(o));
	o.seed = dp->seed;
	o.customers = dp->customers;
	o.calls_per_customer = dp->calls;
	o.agent_ids = agent_ids;
	o.nagents = DEMO_AGENTS;
	o.author_id = 0; /* notes by the first agent: admins see no data */
	if (isatty(STDERR_FILENO)) {
		o.progress = demo_progress;
		o.progress_arg = &finished;
	}
	if ((rc = demo_fill(st, &o)) != COFFER_OK) {
		admin_report("demo data", vault_store_path(v), rc);
		ex = EX_FAIL;
	}
out:
	store_close(st);
	return ex;
}

/* Remove the first nmade key pairs demo_keypair wrote, after a failure. */
static void
demo_remove_keys(const char *keys_dir, int nmade, int made_dir)
{
	struct demo_user du[DEMO_USERS];
	char path[PATH_MAX];

	demo_users(du);
	for (int i = 0; i < nmade && i < DEMO_USERS; i++) {
		snprintf(path, sizeof(path), "%s/%s.key", keys_dir, du[i].name);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.pub", keys_dir, du[i].name);
		unlink(path);
	}
	if (made_dir)
		rmdir(keys_dir);
}

static int
demo_options_parse(const struct args *a, struct demo_params *dp)
{
	uint64_t n = DEMO_DEFAULT_CUSTOMERS;
	uint64_t *seed = &dp->seed;
	char *end = NULL;

	*seed = 1;
	dp->calls = DEMO_DEFAULT_CALLS;
	if (a->calls != NULL) {
		errno = 0;
		dp->calls = strtod(a->calls, &end);
		if (end == a->calls || *end != '\0' || errno != 0 ||
		    !(dp->calls >= 0.0 && dp->calls <= 50.0)) {
			fprintf(stderr, PROG " demo: --calls %s: not a number "
			    "from 0 to 50\n", a->calls);
			return EX_USAGE;
		}
		if (dp->calls == 0.0)
			dp->calls = -1.0;  /* demo_fill: none */
	}
	if (a->customers != NULL &&
	    admin_parse_u64(a->customers, 1, 1000000, &n) != 0) {
		fprintf(stderr, PROG " demo: --customers %s: not a number from "
		    "1 to 1000000\n", a->customers);
		return EX_USAGE;
	}
	if (a->seed != NULL &&
	    admin_parse_u64(a->seed, 0, UINT64_MAX, seed) != 0) {
		fprintf(stderr, PROG " demo: --seed %s: not an unsigned "
		    "64-bit number\n", a->seed);
		return EX_USAGE;
	}
	dp->customers = (size_t)n;
	return EX_OK;
}

static int
demo_build(const char *dir, const char *keys_arg, const struct demo_params *dp)
{
	char keyfile[PATH_MAX], keys_dir[PATH_MAX];
	struct vault *v = NULL;
	int made_keys = 0, nmade = 0, ex, rc;

	if (snprintf(keyfile, sizeof(keyfile), "%s/" VAULT_KEY_FILE, dir) >=
	    (int)sizeof(keyfile) || snprintf(keys_dir, sizeof(keys_dir),
	    "%s", keys_arg ? keys_arg : dir) >= (int)sizeof(keys_dir) ||
	    (keys_arg == NULL && strlen(keys_dir) + 5 >= sizeof(keys_dir))) {
		fprintf(stderr, PROG " demo: %s: path too long\n", dir);
		return EX_FAIL;
	}
	if (keys_arg == NULL)
		strcat(keys_dir, "/keys");
	errno = 0;
	if ((rc = vault_create(dir, keyfile, NULL, 0, &v)) != COFFER_OK) {
		admin_report_create(dir, rc);
		return EX_FAIL;
	}
	if ((rc = vault_lock(v)) != COFFER_OK) {
		admin_report("lock", dir, rc);
		vault_discard(v);
		return EX_FAIL;
	}
	if (mkdir(keys_dir, 0700) == 0)
		made_keys = 1;
	else if (errno != EEXIST) {
		admin_report("keys directory", keys_dir, COFFER_ERR_IO);
		vault_discard(v);
		return EX_FAIL;
	}
	if ((ex = demo_populate(v, keys_dir, dp, &nmade)) !=
	    EX_OK) {
		demo_remove_keys(keys_dir, nmade, made_keys);
		vault_discard(v);
		return ex;
	}
	if ((ex = admin_write_policy(vault_dir(v))) != EX_OK) {
		demo_remove_keys(keys_dir, nmade, made_keys);
		vault_discard(v);
		return ex;
	}
	printf("demo vault created: %s\n", vault_dir(v));
	printf("user keys (unencrypted, demo only): %s\n", keys_dir);
	admin_print_fingerprint("daemon key:", vault_identity_pk(v));
	vault_close(v);
	return EX_OK;
}

int
admin_cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "customers", required_argument, NULL, O_CUSTOMERS },
		{ "calls", required_argument, NULL, O_CALLS },
		{ "seed", required_argument, NULL, O_SEED },
		{ "keys-dir", required_argument, NULL, O_KEYS_DIR },
		ADMIN_OPTS_END
	};
	struct args a;
	struct demo_params dp;
	int ex;

	if ((ex = admin_parse_args("demo", argc, argv, opts, 1,
	    help_demo, &a)) != EX_OK || a.help)
		return ex;
	if (a.key_file != NULL || a.pass_file != NULL) {
		fprintf(stderr, PROG " demo: the demo always uses a key file "
		    "DIR/master.key; --key-file/--passphrase-file are not "
		    "options of demo\n");
		return EX_USAGE;
	}
	if ((ex = admin_need_pos("demo", &a, 1, "the vault directory DIR")) ||
	    (ex = demo_options_parse(&a, &dp)))
		return ex;
	return demo_build(a.pos[0], a.keys_dir, &dp);
}

int
admin_cmd_pubkey(int argc, char **argv)
{
	static const struct option opts[] = {
		ADMIN_OPTS_END
	};
	char path[PATH_MAX], line[USERKEY_PUBLIC_TEXT];
	unsigned char pk[32];
	struct args a;
	int ex, n;

	if ((ex = admin_parse_args("pubkey", argc, argv, opts, 1,
	    help_pubkey, &a)) != EX_OK || a.help)
		return ex;
	if (a.key_file != NULL || a.pass_file != NULL) {
		fprintf(stderr, PROG " pubkey: needs no key or passphrase\n");
		return EX_USAGE;
	}
	if ((ex = admin_need_pos("pubkey", &a, 1, "the vault directory DIR")))
		return ex;
	n = snprintf(path, sizeof(path), "%s/" VAULT_DAEMON_PUB, a.pos[0]);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, PROG " pubkey: %s: path too long\n", a.pos[0]);
		return EX_FAIL;
	}
	if ((ex = admin_load_pubkey(path, pk)) != EX_OK)
		return ex;
	userkey_format_public(pk, "cofferd", line, sizeof(line));
	printf("%s\n", line);
	admin_print_fingerprint("fingerprint:", pk);
	return EX_OK;
}
