/*
 * admin_keys.c - coffer-admin passphrase and rotate: reseal the master key
 * or move a subkey to its next generation, each recorded in the audit log
 * before anything changes.  docs/keys.md.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/audit.h"
#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/passphrase.h"
#include "coffer/vault.h"

#include "admin.h"

static const char help_passphrase[] =
"usage: coffer-admin passphrase DIR [--key-file FILE | --passphrase-file FILE]\n"
"                  [--new-passphrase-file FILE | --new-key-file FILE]\n"
"\n"
"Change what seals the vault's master key: a new administrator passphrase\n"
"(asked twice on the terminal, or read from --new-passphrase-file), or a\n"
"fresh wrapping key written to the new file given with --new-key-file.\n"
"The master key itself does not change, so nothing else is re-encrypted:\n"
"the database, the audit log, the daemon's identity and existing backups\n"
"stay as they are (old backups still open with the material that was\n"
"valid when they were taken).  Stop cofferd first (the vault is locked).\n"
"\n"
"The new master.sealed is written beside the old one, synced, opened again\n"
"with the new material, and renamed over it: a crash leaves the old file\n"
"or the new one, never neither.  A \"key.reseal\" record is appended to the\n"
"audit log first; a failure is recorded too.  After switching to a key\n"
"file, move it to DIR/master.key (mode 0600) or give it to cofferd with -k;\n"
"after switching from a key file, the old one opens nothing: delete it.\n"
"\n"
"options:\n"
"  -k, --key-file FILE    the current wrapping key file (default\n"
"                         DIR/master.key)\n"
"  -p, --passphrase-file FILE\n"
"                         the current passphrase (default: ask)\n"
"      --new-passphrase-file FILE\n"
"                         the new passphrase, first line of FILE (0600)\n"
"      --new-key-file FILE\n"
"                         seal under a new random key written to FILE\n"
"                         (must not exist; made 0600)\n"
"\n"
"exit status: 0 changed, 1 failure (the old material still works), 2 usage\n"
"error.\n";

/* The current passphrase, read once, for both vault_open and the reseal. */
static int
current_passphrase(const struct args *a, const char *dir, char **pass,
    size_t *passlen)
{
	int needs, rc;

	*pass = NULL;
	*passlen = 0;
	if ((needs = vault_needs_passphrase(dir)) < 0) {
		admin_report_open(dir, NULL, -needs);
		return EX_FAIL;
	}
	if (needs == 0)
		return EX_OK;
	if ((*pass = admin_passphrase_buffer()) == NULL)
		return EX_FAIL;
	if ((rc = passphrase_get(a->pass_file, "Current vault passphrase: ", 0,
	    *pass, PASSPHRASE_MAX, passlen)) != COFFER_OK) {
		admin_report("passphrase", a->pass_file, rc);
		sodium_free(*pass);
		*pass = NULL;
		return EX_FAIL;
	}
	return EX_OK;
}

/*
 * Open the vault at dir (with pass, or a's key file, or DIR's) and take its
 * lock, for a command that changes keys; each failure said on stderr.
 */
static int
open_locked(const struct args *a, const char *dir, const char *pass,
    size_t passlen, struct vault **v)
{
	int rc;

	errno = 0;
	if ((rc = vault_open(dir, pass ? NULL : a->key_file, pass, passlen,
	    v)) != COFFER_OK) {
		admin_report_open(dir, pass ? NULL : a->key_file != NULL ?
		    a->key_file : VAULT_KEY_FILE, rc);
		return EX_FAIL;
	}
	admin_report_rekey_recovery(*v, dir);
	if ((rc = vault_lock(*v)) != COFFER_OK) {
		fprintf(stderr, PROG ": %s: %s\n", dir, rc == COFFER_ERR_BUSY ?
		    "the vault is in use (is cofferd running? stop it first)" :
		    coffer_strerror(rc));
		return EX_FAIL;
	}
	return EX_OK;
}

int
admin_cmd_passphrase(int argc, char **argv)
{
	static const struct option opts[] = {
		ADMIN_OPTS_UNLOCK,
		{ "new-passphrase-file", required_argument, NULL,
		    O_NEW_PASSFILE },
		{ "new-key-file", required_argument, NULL, O_NEW_KEYFILE },
		ADMIN_OPTS_END
	};
	struct vault *v = NULL;
	struct args a;
	char *pass = NULL, *npass = NULL, reason[PATH_MAX + 96];
	size_t passlen = 0, npasslen = 0;
	const char *was, *now;
	int ex, rc;

	if ((ex = admin_parse_args("passphrase", argc, argv, opts, 1,
	    help_passphrase, &a)) != EX_OK || a.help)
		return ex;
	if ((ex = admin_need_pos("passphrase", &a, 1, "DIR")) != EX_OK)
		return ex;
	if (a.new_pass_file != NULL && a.new_key_file != NULL) {
		fprintf(stderr, PROG " passphrase: give --new-passphrase-file "
		    "or --new-key-file, not both\n");
		return EX_USAGE;
	}
	if ((ex = current_passphrase(&a, a.pos[0], &pass, &passlen)) !=
	    EX_OK)
		return ex;
	if ((ex = open_locked(&a, a.pos[0], pass, passlen, &v)) != EX_OK)
		goto out;
	if ((ex = admin_new_passphrase(a.new_key_file, a.new_pass_file,
	    "passphrase: no new passphrase (no terminal, empty, or the two "
	    "entries differ)", "new passphrase file", &npass, &npasslen)) !=
	    EX_OK)
		goto out;
	was = pass != NULL ? "a passphrase" : "a key file";
	now = a.new_key_file != NULL ? "a new key file" : "a new passphrase";
	snprintf(reason, sizeof(reason), "master key resealed under %s "
	    "(was %s)", now, was);
	/* Recorded first: if the log cannot be written, nothing changes. */
	if ((ex = admin_audit(v, "key.reseal", AUDIT_ALLOWED, 0, reason)) !=
	    EX_OK)
		goto out;
	errno = 0;
	if ((rc = vault_reseal(v, pass ? NULL : a.key_file, pass, passlen,
	    a.new_key_file, npass, npasslen)) != COFFER_OK) {
		if (rc == COFFER_ERR_CONFLICT)
			fprintf(stderr, PROG ": %s: exists (the new key file must "
			    "be a new file)\n", a.new_key_file);
		else
			admin_report("reseal", a.pos[0], rc);
		snprintf(reason, sizeof(reason), "reseal failed: %s; the old "
		    "material still opens the vault", coffer_strerror(rc));
		admin_audit(v, "key.reseal", AUDIT_ERROR, rc, reason);
		ex = EX_FAIL;
		goto out;
	}
	printf("master key of %s resealed under %s (was %s)\n", a.pos[0], now,
	    was);
	if (a.new_key_file != NULL)
		printf("new key file: %s - move it to %s/" VAULT_KEY_FILE
		    " or give it to cofferd with -k\n", a.new_key_file,
		    a.pos[0]);
	if (pass == NULL)
		printf("the old key file opens nothing now: delete it\n");
out:
	sodium_free(pass);
	sodium_free(npass);
	vault_close(v);
	return ex;
}

static const char help_rotate[] =
"usage: coffer-admin rotate audit-key|identity-key|database-key DIR\n"
"                           [-k FILE | -p FILE]\n"
"\n"
"Move one of the vault's keys to its next generation (docs/keys.md,\n"
"\"Rotating keys\").  cofferd must be stopped (the vault lock).\n"
"\n"
"  audit-key     a \"key.rotate\" record naming the new audit signing key,\n"
"                certified by the old key, is appended; every checkpoint\n"
"                after it is signed by the new key.  audit.pub keeps the\n"
"                FIRST key: coffer-verify started with it follows the chain.\n"
"  identity-key  a statement signed by the old daemon key names the new\n"
"                one (DIR/identity.rot); clients that pinned the old key\n"
"                follow it at their next connection.  daemon.pub is the\n"
"                new key, the old one is kept as daemon.pub.GEN.\n"
"  database-key  the database is re-encrypted in place under the next\n"
"                generation of the database key (PRAGMA rekey), checked\n"
"                (PRAGMA quick_check) and keys.gen updated.  The time\n"
"                grows with the database (17 s for 1,000,000 customers,\n"
"                743 MB); cofferd stays stopped meanwhile, and free disk\n"
"                space of the database's size is needed for the WAL.\n"
"                A crash at any point is settled at the next open\n"
"                (DIR/coffer.db.rekey).\n"
"\n"
"The old subkeys stay derivable from the master key: rotation protects\n"
"against a leaked subkey, not against a leaked master key.\n"
"\n"
"options:\n"
"  -k, --key-file FILE    the wrapping key file (default DIR/master.key)\n"
"  -p, --passphrase-file FILE\n"
"                         the vault passphrase (default: ask)\n"
"\n"
"exit status: 0 rotated, 1 failure (the old key stays in force; also\n"
"while cofferd runs: \"the vault is in use\"), 2 usage error.\n";

static int
rotate_what(const char *w, enum keys_subkey *id, const char **kind)
{
	if (strcmp(w, "audit-key") == 0) {
		*id = KEYS_SUB_AUDIT_SIGN;
		*kind = "audit-key";
	} else if (strcmp(w, "identity-key") == 0) {
		*id = KEYS_SUB_IDENTITY;
		*kind = "identity-key";
	} else if (strcmp(w, "database-key") == 0) {
		*id = KEYS_SUB_DATABASE;
		*kind = "database-key";
	} else {
		fprintf(stderr, PROG " rotate: unknown key '%s' (audit-key, "
		    "identity-key or database-key)\n", w);
		return EX_USAGE;
	}
	return EX_OK;
}

/*
 * The database key: e (prepared by admin_cmd_rotate) gets both generations in
 * its reason; a failure is a second record saying which key is in force.
 */
static int
rotate_database_key(struct vault *v, const char *dir, const char *keyfile,
    const char *pass, size_t passlen, struct audit_event *e)
{
	unsigned from = vault_key_generation(v, KEYS_SUB_DATABASE), gen = 0;
	char reason[192];
	double t0;
	int rc;

	snprintf(reason, sizeof(reason), "database-key rotated from "
	    "generation %u to generation %u", from, from + 1);
	e->reason = reason;
	t0 = admin_now_seconds();
	errno = 0;
	if ((rc = vault_rotate_key(v, KEYS_SUB_DATABASE, keyfile, pass,
	    passlen, e, &gen, NULL)) != COFFER_OK) {
		admin_report("rotate database-key", dir, rc);
		snprintf(reason, sizeof(reason), "database-key rotation from "
		    "generation %u to generation %u failed: %s; generation %u "
		    "is in force", from, from + 1, coffer_strerror(rc),
		    vault_key_generation(v, KEYS_SUB_DATABASE));
		e->decision = AUDIT_ERROR;
		e->status = rc;
		if (vault_audit_append(v, e) != COFFER_OK)
			fprintf(stderr, PROG ": rotate: the audit log cannot be "
			    "written\n");
		fprintf(stderr, PROG ": %s: database key generation %u is in "
		    "force\n", dir, vault_key_generation(v, KEYS_SUB_DATABASE));
		return EX_FAIL;
	}
	printf("database-key of %s rotated from generation %u to generation "
	    "%u in %.1f s\n", dir, from, gen, admin_now_seconds() - t0);
	printf("the database is re-encrypted; the old key no longer opens "
	    "it\n");
	return EX_OK;
}

int
admin_cmd_rotate(int argc, char **argv)
{
	static const struct option opts[] = {
		ADMIN_OPTS_UNLOCK,
		ADMIN_OPTS_END
	};
	struct audit_event e;
	struct vault *v = NULL;
	enum keys_subkey id = KEYS_SUB_AUDIT_SIGN;
	struct args a;
	char *pass = NULL, peer[ADMIN_PEER_MAX], reason[160], fpr[USERKEY_FPR_TEXT];
	const char *kind = NULL;
	size_t passlen = 0;
	unsigned gen = 0;
	int ex, rc, resumed = 0;

	if ((ex = admin_parse_args("rotate", argc, argv, opts, 2,
	    help_rotate, &a)) != EX_OK || a.help)
		return ex;
	if ((ex = admin_need_pos("rotate", &a, 2, "the key and DIR")) !=
	    EX_OK ||
	    (ex = rotate_what(a.pos[0], &id, &kind)) != EX_OK ||
	    (ex = current_passphrase(&a, a.pos[1], &pass, &passlen)) != EX_OK)
		goto out;
	if ((ex = open_locked(&a, a.pos[1], pass, passlen, &v)) != EX_OK)
		goto out;
	snprintf(reason, sizeof(reason), "%s rotated to generation %u",
	    kind, vault_key_generation(v, id) + 1);
	admin_event(&e, "key.rotate", peer, sizeof(peer));
	e.kind = kind;
	e.target_id = (int64_t)vault_key_generation(v, id) + 1;
	e.decision = AUDIT_ALLOWED;
	e.reason = reason;
	if (id == KEYS_SUB_DATABASE) {
		ex = rotate_database_key(v, a.pos[1], pass ? NULL : a.key_file,
		    pass, passlen, &e);
		goto out;
	}
	errno = 0;
	if ((rc = vault_rotate_key(v, id, pass ? NULL : a.key_file, pass,
	    passlen, &e, &gen, &resumed)) != COFFER_OK) {
		admin_report("rotate", a.pos[1], rc);
		ex = EX_FAIL;
		goto out;
	}
	userkey_fingerprint(id == KEYS_SUB_AUDIT_SIGN ? vault_audit_sign_pk(v) :
	    vault_identity_pk(v), fpr, sizeof(fpr));
	if (resumed)
		printf("completed an interrupted rotation found in the audit "
		    "log\n");
	printf("%s of %s rotated to generation %u\nnew key: %s\n", kind,
	    a.pos[1], gen, fpr);
	if (id == KEYS_SUB_AUDIT_SIGN)
		printf("verify with the first key, %s/" VAULT_AUDIT_PUB
		    " (unchanged)\n", a.pos[1]);
	else
		printf("clients that pinned the old key follow the rotation at "
		    "their next connection\n");
out:
	sodium_free(pass);
	vault_close(v);
	return ex;
}
