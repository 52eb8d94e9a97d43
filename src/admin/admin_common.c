/*
 * admin_common.c - the steps the coffer-admin commands share: opening and
 * locking a vault, the messages that say what the admin can fix when that
 * fails, and the records the tool appends to the vault's audit log.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/access.h"
#include "coffer/audit.h"
#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/passphrase.h"
#include "coffer/rekey.h"
#include "coffer/store.h"
#include "coffer/vault.h"

#include "admin.h"

void
admin_report(const char *what, const char *subject, int rc)
{
	if (rc == COFFER_ERR_IO && errno != 0)
		fprintf(stderr, PROG ": %s%s%s: %s\n", what,
		    subject ? " " : "", subject ? subject : "",
		    strerror(errno));
	else
		fprintf(stderr, PROG ": %s%s%s: %s\n", what,
		    subject ? " " : "", subject ? subject : "",
		    coffer_strerror(rc));
}

int
admin_load_pubkey(const char *path, unsigned char pk[32])
{
	int rc;

	errno = 0;
	if ((rc = userkey_load_public(path, pk)) == COFFER_OK)
		return EX_OK;
	if (rc == COFFER_ERR_INVALID)
		fprintf(stderr, PROG ": %s: not a coffer public key (expected "
		    "one line \"coffer-ed25519 BASE64 [COMMENT]\")\n", path);
	else
		admin_report("public key", path, rc);
	return EX_FAIL;
}

/*
 * Explain a vault_open failure in terms of what the admin can fix.
 * keyfile is the key file that was tried (NULL for a passphrase vault).
 */
void
admin_report_open(const char *dir, const char *keyfile, int rc)
{
	switch (rc) {
	case COFFER_ERR_KEY:
		if (keyfile != NULL)
			fprintf(stderr, PROG ": %s: wrong or damaged key file "
			    "for vault %s\n", keyfile, dir);
		else
			fprintf(stderr, PROG ": %s: wrong passphrase\n", dir);
		break;
	case COFFER_ERR_PERM:
		fprintf(stderr, PROG ": %s: unsafe permissions: the directory "
		    "must be yours and not writable by others, the sealed "
		    "master key and the key file yours and mode 0600\n", dir);
		break;
	case COFFER_ERR_NOT_FOUND:
		fprintf(stderr, PROG ": %s: no such vault directory\n", dir);
		break;
	case COFFER_ERR_PROTO:
		fprintf(stderr, PROG ": %s/" VAULT_SEALED_FILE ": damaged or "
		    "not a sealed master key\n", dir);
		break;
	case COFFER_ERR_IO:
		if (keyfile != NULL)
			fprintf(stderr, PROG ": key file %s: %s%s\n", keyfile,
			    strerror(errno), errno == ENOENT ? " (give the "
			    "key file with --key-file)" : "");
		else
			admin_report("vault", dir, rc);
		break;
	case COFFER_ERR_BUSY:
		fprintf(stderr, PROG ": %s: an interrupted database key "
		    "rotation must be settled, but the vault is in use (a "
		    "rotation running now, or cofferd): try again when it is "
		    "free\n", dir);
		break;
	case COFFER_ERR_CONFLICT:
		fprintf(stderr, PROG ": %s/" REKEY_MARKER_FILE ": malformed, "
		    "or names generations that do not fit %s/" KEYS_GEN_FILE
		    " (an interrupted database key rotation): see "
		    "docs/keys.md\n", dir, dir);
		break;
	case COFFER_ERR_DB:
		fprintf(stderr, PROG ": %s: the database opens with neither "
		    "generation named by %s/" REKEY_MARKER_FILE " (an "
		    "interrupted database key rotation): see docs/keys.md\n",
		    dir, dir);
		break;
	default:
		admin_report("vault", dir, rc);
	}
}

/* vault_open settled an interrupted database key rotation: say how. */
void
admin_report_rekey_recovery(const struct vault *v, const char *dir)
{
	unsigned from = 0, to = 0;

	switch (vault_rekey_recovered(v, &from, &to)) {
	case VAULT_REKEY_COMPLETED:
		fprintf(stderr, PROG ": %s: completed an interrupted database "
		    "key rotation: generation %u is in force (was %u)\n", dir,
		    to, from);
		break;
	case VAULT_REKEY_ROLLED_BACK:
		fprintf(stderr, PROG ": %s: an interrupted database key "
		    "rotation to generation %u had not taken effect: "
		    "generation %u stays in force\n", dir, to, from);
		break;
	default:
		break;
	}
}

/* PASSPHRASE_MAX bytes of locked memory for a passphrase, or NULL told. */
char *
admin_passphrase_buffer(void)
{
	char *p = sodium_malloc(PASSPHRASE_MAX);

	if (p == NULL)
		fputs(PROG ": no locked memory for a passphrase\n", stderr);
	return p;
}

int
admin_new_passphrase(const char *keyfile, const char *passfile,
    const char *missing, const char *file_what, char **pass,
    size_t *passlen)
{
	int rc;

	*pass = NULL;
	*passlen = 0;
	if (keyfile != NULL)
		return EX_OK;
	if ((*pass = admin_passphrase_buffer()) == NULL)
		return EX_FAIL;
	rc = passphrase_get(passfile, "New vault passphrase: ", 1, *pass,
	    PASSPHRASE_MAX, passlen);
	if (rc == COFFER_OK)
		return EX_OK;
	if (passfile == NULL && rc == COFFER_ERR_USAGE)
		fprintf(stderr, PROG ": %s\n", missing);
	else
		admin_report(file_what, passfile, rc);
	sodium_free(*pass);
	*pass = NULL;
	return EX_FAIL;
}

/* Unseal the vault, asking for the passphrase if it needs one. */
int
admin_open_vault(const struct args *a, const char *dir, int lock,
    struct vault **out)
{
	char *pass = NULL;
	size_t passlen = 0;
	char defkey[PATH_MAX];
	const char *keyfile = a->key_file;
	int needs, rc;

	*out = NULL;
	errno = 0;
	if ((needs = vault_needs_passphrase(dir)) < 0) {
		if (-needs == COFFER_ERR_IO)
			fprintf(stderr, PROG ": %s: not a vault (%s/"
			    VAULT_SEALED_FILE ": %s)\n", dir, dir,
			    strerror(errno));
		else
			admin_report_open(dir, NULL, -needs);
		return EX_FAIL;
	}
	if (needs == 0 && keyfile == NULL) {
		/* the same default vault_open uses, named in messages */
		snprintf(defkey, sizeof(defkey), "%s/" VAULT_KEY_FILE, dir);
		keyfile = defkey;
	}
	if (needs == 1) {
		if ((pass = admin_passphrase_buffer()) == NULL)
			return EX_FAIL;
		rc = passphrase_get(a->pass_file, "Vault passphrase: ", 0, pass,
		    PASSPHRASE_MAX, &passlen);
		if (rc != COFFER_OK) {
			admin_report("passphrase", a->pass_file, rc);
			sodium_free(pass);
			return EX_FAIL;
		}
	}
	errno = 0;
	rc = vault_open(dir, needs ? NULL : keyfile, pass, passlen, out);
	sodium_free(pass);
	if (rc != COFFER_OK) {
		admin_report_open(dir, needs ? NULL : keyfile, rc);
		return EX_FAIL;
	}
	admin_report_rekey_recovery(*out, dir);
	if (lock && (rc = vault_lock(*out)) != COFFER_OK) {
		if (rc == COFFER_ERR_BUSY)
			fprintf(stderr, PROG ": %s: the vault is in use (is "
			    "cofferd running? stop it first)\n", dir);
		else
			admin_report("lock", dir, rc);
		vault_close(*out);
		*out = NULL;
		return EX_FAIL;
	}
	return EX_OK;
}

int
admin_open_db(struct vault *v, int create, struct store **st)
{
	int rc = vault_store_open(v, create, st);

	if (rc != COFFER_OK) {
		admin_report("database", vault_store_path(v), rc);
		return EX_FAIL;
	}
	return EX_OK;
}

void
admin_print_fingerprint(const char *label, const unsigned char pk[32])
{
	char fpr[USERKEY_FPR_TEXT];

	userkey_fingerprint(pk, fpr, sizeof(fpr));
	printf("%s %s\n", label, fpr);
}

void
admin_report_create(const char *dir, int rc)
{
	if (rc == COFFER_ERR_CONFLICT)
		fprintf(stderr, PROG ": %s: exists and is not an empty "
		    "directory\n", dir);
	else if (rc == COFFER_ERR_PERM)
		fprintf(stderr, PROG ": %s: exists and is not yours\n", dir);
	else
		admin_report("cannot create vault", dir, rc);
}

/*
 * DIR/policy.yaml: the default policy compiled into the tools, for the
 * site to adapt (docs/policy.md).  Mode 0640 and never over an existing
 * file: cofferd refuses a policy writable by group or others.
 */
int
admin_write_policy(const char *dir)
{
	char path[PATH_MAX];
	size_t off = 0;
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/policy.yaml", dir) >=
	    (int)sizeof(path)) {
		fprintf(stderr, PROG ": %s: path too long\n", dir);
		return EX_FAIL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0640);
	if (fd < 0) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return EX_FAIL;
	}
	while (off < access_default_policy_len) {
		n = write(fd, access_default_policy + off,
		    access_default_policy_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off != access_default_policy_len || fsync(fd) != 0) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		close(fd);
		unlink(path);
		return EX_FAIL;
	}
	close(fd);
	return EX_OK;
}

double
admin_now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
admin_event(struct audit_event *e, const char *op, char *peer,
    size_t peersz)
{
	snprintf(peer, peersz, "offline:uid=%u", (unsigned)getuid());
	memset(e, 0, sizeof(*e));
	e->op = op;
	e->actor = PROG;
	e->peer = peer;
}

/* One record by this tool in v's log; failure is reported here. */
int
admin_audit(struct vault *v, const char *op, enum audit_decision dec,
    int status, const char *reason)
{
	struct audit_event e;
	char peer[ADMIN_PEER_MAX];
	int rc;

	admin_event(&e, op, peer, sizeof(peer));
	e.decision = dec;
	e.status = status;
	e.reason = reason;
	if ((rc = vault_audit_append(v, &e)) != COFFER_OK) {
		fprintf(stderr, PROG ": %s: the audit log cannot be written: "
		    "%s\n", op, coffer_strerror(rc));
		return EX_FAIL;
	}
	return EX_OK;
}
