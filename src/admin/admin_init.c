/*
 * admin_init.c - coffer-admin init: a new vault with its sealed master key,
 * database, first administrator and default policy, or nothing at all if a
 * step fails.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include <sodium.h>

#include "coffer/err.h"
#include "coffer/passphrase.h"
#include "coffer/store.h"
#include "coffer/vault.h"

#include "admin.h"

static const char help_init[] =
"usage: coffer-admin init DIR --admin NAME --admin-pubkey FILE.pub\n"
"                         [--key-file FILE | --passphrase-file FILE]\n"
"                         [--display TEXT]\n"
"\n"
"Create a new vault in DIR.  DIR is created with mode 0700; an existing\n"
"empty directory owned by you is accepted (and set to 0700), anything else\n"
"is refused.  A random 256-bit master key is generated and sealed into\n"
"DIR/master.sealed, either:\n"
"\n"
"  --key-file FILE        under a fresh random wrapping key written to FILE\n"
"                         (created, must not exist, mode 0600).  Keep FILE\n"
"                         off the vault's disk and out of its backups if you\n"
"                         can: whoever has both files has the vault.  Use\n"
"                         DIR/master.key to have cofferd and coffer-admin\n"
"                         find it without -k (what the demo does).\n"
"  --passphrase-file FILE under an administrator passphrase (Argon2id),\n"
"                         read from the first line of FILE (mode 0600).\n"
"  (neither)              under a passphrase asked twice on the terminal.\n"
"\n"
"The database DIR/coffer.db is created, the first administrator is\n"
"registered with the Ed25519 public key in FILE.pub (a line\n"
"\"coffer-ed25519 BASE64 COMMENT\", as written by 'coffer keygen'), and the\n"
"daemon's identity key (derived from the master key) is written to\n"
"DIR/daemon.pub and its fingerprint printed: give it to the users so they\n"
"can check the daemon on first connection.  If any step fails, everything\n"
"made so far is removed again.\n"
"\n"
"options:\n"
"  --admin NAME           user name of the first administrator (required)\n"
"  --admin-pubkey FILE    the administrator's public key file (required)\n"
"  --display TEXT         the administrator's display name\n"
"\n"
"exit status: 0 created, 1 failure, 2 usage error.\n"
"example:\n"
"  coffer-admin init /var/lib/coffer --key-file /etc/coffer/master.key \\\n"
"      --admin alice --admin-pubkey alice.pub\n";

/* The new vault's database with its first administrator. */
static int
init_database(struct vault *v, const struct args *a,
    const unsigned char pk[32])
{
	struct store *st = NULL;
	struct store_user u;
	int ex;

	if ((ex = admin_user_from_args(a->admin, "admin", "internal", NULL,
	    a->display, pk, &u)) != EX_OK)
		return ex;
	if ((ex = admin_open_db(v, 1, &st)) != EX_OK)
		return ex;
	ex = admin_add_user_audited(v, st, &u);
	store_close(st);
	return ex;
}

int
admin_cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		ADMIN_OPTS_UNLOCK,
		{ "admin", required_argument, NULL, O_ADMIN },
		{ "admin-pubkey", required_argument, NULL, O_ADMIN_PUBKEY },
		{ "display", required_argument, NULL, O_DISPLAY },
		ADMIN_OPTS_END
	};
	unsigned char pk[32];
	struct vault *v = NULL;
	struct stat sb;
	struct args a;
	char *pass = NULL;
	size_t passlen = 0;
	int ex, rc;

	if ((ex = admin_parse_args("init", argc, argv, opts, 1,
	    help_init, &a)) != EX_OK || a.help)
		return ex;
	if ((ex = admin_need_pos("init", &a, 1, "the vault directory DIR")) ||
	    (ex = admin_need_opt("init", a.admin, "--admin NAME")) ||
	    (ex = admin_need_opt("init", a.admin_pubkey,
	    "--admin-pubkey FILE")))
		return ex;
	/* Check every input before anything is created. */
	if (a.key_file != NULL && lstat(a.key_file, &sb) == 0) {
		fprintf(stderr, PROG ": --key-file %s: already exists; init "
		    "writes a new key file and never overwrites one\n",
		    a.key_file);
		return EX_FAIL;
	}
	if ((ex = admin_load_pubkey(a.admin_pubkey, pk)) != EX_OK ||
	    (ex = admin_new_passphrase(a.key_file, a.pass_file, "init: no "
	    "passphrase (no terminal, empty, or the two entries differ); use "
	    "--key-file or --passphrase-file", "passphrase file", &pass,
	    &passlen)) != EX_OK)
		return ex;
	errno = 0;
	rc = vault_create(a.pos[0], a.key_file, pass, passlen, &v);
	sodium_free(pass);
	if (rc != COFFER_OK) {
		admin_report_create(a.pos[0], rc);
		return EX_FAIL;
	}
	if ((rc = vault_lock(v)) != COFFER_OK) {
		admin_report("lock", a.pos[0], rc);
		vault_discard(v);
		return EX_FAIL;
	}
	if ((ex = init_database(v, &a, pk)) != EX_OK) {
		vault_discard(v);
		return ex;
	}
	if ((ex = admin_write_policy(vault_dir(v))) != EX_OK) {
		vault_discard(v);
		return ex;
	}
	printf("vault created: %s\n", vault_dir(v));
	printf("administrator: %s\n", a.admin);
	admin_print_fingerprint("daemon key:", vault_identity_pk(v));
	vault_close(v);
	return EX_OK;
}
