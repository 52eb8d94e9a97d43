/*
 * admin_backup.c - coffer-admin backup, backup verify and restore: offline
 * backups of a locked vault, each step recorded in an audit log.  Format:
 * docs/backup.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coffer/audit.h"
#include "coffer/backup.h"
#include "coffer/err.h"
#include "coffer/vault.h"

#include "admin.h"

static const char help_backup[] =
"usage: coffer-admin backup DIR OUT [--key-file FILE | --passphrase-file FILE]\n"
"\n"
"Write a backup of the vault in DIR into the new directory OUT (made 0700;\n"
"it must not exist).  The vault is locked meanwhile: stop cofferd first.\n"
"First a \"backup.create\" record naming OUT is appended to the vault's audit\n"
"log and a checkpoint signed, so the backup carries the record of itself.\n"
"OUT then holds:\n"
"\n"
"  coffer.db       the database, re-encrypted under the vault's backup key\n"
"                  (derived from the master key; never the database key)\n"
"  master.sealed   a copy of the sealed master key: the backup opens with\n"
"                  the vault's passphrase or key file, nothing else\n"
"  policy.yaml     the access policy, if the vault has one\n"
"  audit/          the audit log, its signed checkpoint and verifier key\n"
"  MANIFEST        sizes and SHA-256 of every file, the vault and audit\n"
"                  keys, the audit tree size; signed by the daemon key\n"
"\n"
"The key file is never copied: keep it (or the passphrase) apart from the\n"
"backups.  Format: docs/backup.md.\n"
"\n"
"options:\n"
"  -k, --key-file FILE    wrapping key file (default DIR/master.key)\n"
"  -p, --passphrase-file FILE\n"
"                         passphrase file for a passphrase vault\n"
"\n"
"exit status: 0 written, 1 failure (nothing is left in OUT), 2 usage error.\n";

static const char help_backup_verify[] =
"usage: coffer-admin backup verify OUT [--key FILE.pub | --vault DIR]\n"
"                  [--key-file FILE | --passphrase-file FILE | --no-db]\n"
"\n"
"Check the backup in OUT without restoring it: the manifest's signature\n"
"and form, that the signing key is the expected daemon key, every file's\n"
"size and SHA-256, that no file is missing or unlisted, the audit log with\n"
"the coffer-verify algorithm up to the included checkpoint (which must be\n"
"the one the manifest names), and - with the vault's passphrase or key\n"
"file - that the included master.sealed opens and derives the manifest's\n"
"keys, and that the database copy opens with the backup key and passes\n"
"PRAGMA cipher_integrity_check and integrity_check.  The first fault is\n"
"printed with the file it concerns.\n"
"\n"
"options:\n"
"  --key FILE.pub         the daemon public key the backup must be signed\n"
"                         with (e.g. a copy of DIR/daemon.pub)\n"
"  --vault DIR            the vault the backup came from: its daemon.pub is\n"
"                         the expected key, its key file the default for\n"
"                         -k, and the check is recorded in its audit log\n"
"                         (\"backup.verify\"; the vault is locked: stop\n"
"                         cofferd first)\n"
"  -k, --key-file FILE    the vault's wrapping key file\n"
"  -p, --passphrase-file FILE\n"
"                         the vault's passphrase file\n"
"  --no-db                do not open the database copy (no secret needed);\n"
"                         everything else is still checked\n"
"Without --key or --vault the key named in the manifest itself is used,\n"
"which proves integrity but not origin: a warning says so.\n"
"\n"
"exit status: 0 the backup is good, 1 it is not (or cannot be read),\n"
"2 usage error.\n";

static const char help_restore[] =
"usage: coffer-admin restore OUT NEWDIR [--key FILE.pub]\n"
"                  [--key-file FILE | --passphrase-file FILE]\n"
"\n"
"Restore the backup in OUT into a new vault directory NEWDIR (made 0700;\n"
"an existing empty directory of yours is accepted).  The backup is first\n"
"verified exactly as by 'backup verify' and refused on any fault.  The\n"
"restored vault keeps the master key, so it opens with the same passphrase\n"
"or key file (copy the key file to NEWDIR/master.key, or give it to cofferd\n"
"with -k); its database is re-encrypted from the backup key to the\n"
"database key.  Finally a \"vault.restore\" record naming the backup's\n"
"manifest hash and your uid is appended to the restored audit log, which\n"
"therefore continues the backup's signed log.\n"
"\n"
"options:\n"
"  --key FILE.pub         the daemon public key the backup must be signed\n"
"                         with (without it: a warning, see backup verify)\n"
"  -k, --key-file FILE    the vault's wrapping key file (required for a\n"
"                         key-file vault: backups never contain it)\n"
"  -p, --passphrase-file FILE\n"
"                         the vault's passphrase file\n"
"\n"
"exit status: 0 restored, 1 failure (nothing is left in NEWDIR), 2 usage\n"
"error.\n";

static void
report_backup(const char *what, const char *dir, int rc,
    const struct coffer_errdetail *d)
{
	if (d->message[0] != '\0')
		fprintf(stderr, PROG ": %s: %s%s%s: %s\n", what, dir,
		    d->field[0] ? "/" : "", d->field, d->message);
	else
		admin_report(what, dir, rc);
}

static void
fmt_utc(uint64_t secs, char *buf, size_t bufsz)
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, bufsz, "?");
}

static void
print_backup_info(const struct backup_info *bi, const char *dir)
{
	char t[32];

	fmt_utc(bi->m.created, t, sizeof(t));
	printf("backup      %s\n", dir);
	printf("manifest    sha256:%s\n", bi->id);
	admin_print_fingerprint("vault key  ", bi->m.vault_pk);
	printf("created     %s\n", t);
	printf("files       %zu\n", bi->m.nfiles);
	printf("audit log   %" PRIu64 " records, all covered by the signed "
	    "checkpoint\n", bi->audit_records);
	printf("sealed by   %s\n", bi->m.seal == BACKUP_SEAL_PASSPHRASE ?
	    "the vault passphrase" : "the vault key file (not in the backup)");
	printf("database    %s\n", bi->db_checked ? "opens with the backup "
	    "key; integrity_check and cipher_integrity_check ok" :
	    "not opened (--no-db)");
}

static int
admin_backup_create(int argc, char **argv)
{
	static const struct option opts[] = {
		ADMIN_OPTS_UNLOCK,
		ADMIN_OPTS_END
	};
	struct coffer_errdetail d;
	struct vault *v = NULL;
	struct args a;
	char id[65], reason[PATH_MAX + 64];
	double t0;
	int ex, rc;

	if ((ex = admin_parse_args("backup", argc, argv, opts, 2,
	    help_backup, &a)) != EX_OK || a.help)
		return ex;
	if ((ex = admin_need_pos("backup", &a, 2, "DIR and OUT")) ||
	    (ex = admin_open_vault(&a, a.pos[0], 1, &v)) != EX_OK)
		return ex;
	t0 = admin_now_seconds();
	snprintf(reason, sizeof(reason), "backup to %s", a.pos[1]);
	/* Before the snapshot: the backup carries the record of itself. */
	if ((ex = admin_audit(v, "backup.create", AUDIT_ALLOWED, 0, reason)) !=
	    EX_OK)
		goto out;
	memset(&d, 0, sizeof(d));
	errno = 0;
	if ((rc = backup_create(v, a.pos[1], id, &d)) != COFFER_OK) {
		report_backup("backup", a.pos[1], rc, &d);
		snprintf(reason, sizeof(reason), "backup to %s failed: %s %s",
		    a.pos[1], d.field, d.message[0] ? d.message :
		    coffer_strerror(rc));
		admin_audit(v, "backup.create", AUDIT_ERROR, rc, reason);
		ex = EX_FAIL;
		goto out;
	}
	printf("backup written: %s\n", a.pos[1]);
	printf("manifest: sha256:%s\n", id);
	admin_print_fingerprint("vault key:", vault_identity_pk(v));
	printf("time: %.2f s\n", admin_now_seconds() - t0);
out:
	vault_close(v);
	return ex;
}

/* The expected daemon key: --key FILE.pub or --vault DIR's daemon.pub. */
static int
backup_pin(const struct args *a, unsigned char pk[32], int *have)
{
	char path[PATH_MAX];

	*have = 0;
	if (a->pin_key != NULL && a->vault != NULL) {
		fprintf(stderr, PROG ": give --key or --vault, not both\n");
		return EX_USAGE;
	}
	if (a->pin_key != NULL) {
		if (admin_load_pubkey(a->pin_key, pk) != EX_OK)
			return EX_FAIL;
		*have = 1;
	} else if (a->vault != NULL) {
		if (snprintf(path, sizeof(path), "%s/" VAULT_DAEMON_PUB,
		    a->vault) >= (int)sizeof(path) ||
		    admin_load_pubkey(path, pk) != EX_OK)
			return EX_FAIL;
		*have = 1;
	}
	return EX_OK;
}

/*
 * The backup directory opened as a vault: its own master.sealed unsealed
 * with the recovery material gives the backup key.  A key-file vault's
 * key file defaults to the source vault's (--vault) DIR/master.key.
 */
static int
open_backup_keys(const struct args *a, const char *out, struct vault **keys)
{
	char defkey[PATH_MAX];
	struct args b = *a;

	if (b.key_file == NULL && b.pass_file == NULL && b.vault != NULL &&
	    vault_needs_passphrase(out) == 0) {
		snprintf(defkey, sizeof(defkey), "%s/" VAULT_KEY_FILE, b.vault);
		b.key_file = defkey;
	}
	return admin_open_vault(&b, out, 0, keys);
}

static int
admin_backup_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, O_PIN_KEY },
		{ "vault", required_argument, NULL, O_VAULT },
		{ "no-db", no_argument, NULL, O_NO_DB },
		ADMIN_OPTS_UNLOCK,
		ADMIN_OPTS_END
	};
	struct coffer_errdetail d;
	struct backup_info bi;
	struct vault *keys = NULL, *src = NULL;
	unsigned char pin[32];
	char reason[PATH_MAX + 400];
	struct args a;
	int ex, rc, have_pin = 0;

	memset(&bi, 0, sizeof(bi));
	if ((ex = admin_parse_args("backup verify", argc, argv, opts, 1,
	    help_backup_verify, &a)) != EX_OK || a.help)
		return ex;
	if ((ex = admin_need_pos("backup verify", &a, 1, "the backup OUT")) ||
	    (ex = backup_pin(&a, pin, &have_pin)) != EX_OK)
		return ex;
	if (a.no_db != NULL && (a.key_file != NULL || a.pass_file != NULL)) {
		fprintf(stderr, PROG " backup verify: --no-db needs no key "
		    "file or passphrase\n");
		return EX_USAGE;
	}
	if (a.no_db == NULL &&
	    (ex = open_backup_keys(&a, a.pos[0], &keys)) != EX_OK)
		return ex;
	if (a.vault != NULL && (ex = admin_open_vault(&a, a.vault, 1, &src)) !=
	    EX_OK)
		goto out;
	memset(&d, 0, sizeof(d));
	errno = 0;
	rc = backup_verify(a.pos[0], have_pin ? pin : NULL, keys, &bi, &d);
	if (rc != COFFER_OK) {
		report_backup("backup verify", a.pos[0], rc, &d);
		printf("result      FAULT: %s: %s\n", d.field[0] ? d.field :
		    a.pos[0], d.message[0] ? d.message : coffer_strerror(rc));
		snprintf(reason, sizeof(reason), "backup %s FAILED: %s: %s",
		    a.pos[0], d.field, d.message);
		ex = EX_FAIL;
	} else {
		print_backup_info(&bi, a.pos[0]);
		if (!have_pin)
			printf("WARNING     no --key or --vault: the signing key "
			    "was taken from the backup\n            itself; "
			    "compare the vault key fingerprint above.\n");
		printf("result      OK\n");
		snprintf(reason, sizeof(reason), "backup %s OK, manifest "
		    "sha256:%s", a.pos[0], bi.id);
	}
	if (src != NULL && admin_audit(src, "backup.verify", rc ? AUDIT_ERROR :
	    AUDIT_ALLOWED, rc, reason) != EX_OK)
		ex = EX_FAIL;
out:
	backup_info_free(&bi);
	vault_close(src);
	vault_close(keys);
	return ex;
}

int
admin_cmd_backup(int argc, char **argv)
{
	static const struct admin_sub verify = { "verify",
	    admin_backup_verify, help_backup_verify };
	static const struct admin_sub create = { "", admin_backup_create,
	    help_backup };

	return admin_run_sub("backup", argc, argv, &verify, 1, &create);
}

/* The restored vault's first own record: where it came from, who did it. */
static int
record_restore(const struct args *a, const struct backup_info *bi)
{
	struct vault *nv = NULL;
	char reason[PATH_MAX + 256], t[32];
	int ex;

	if ((ex = admin_open_vault(a, a->pos[1], 1, &nv)) != EX_OK)
		return ex;
	fmt_utc(bi->m.created, t, sizeof(t));
	snprintf(reason, sizeof(reason), "restored from backup manifest "
	    "sha256:%s (%s), created %s, audit size %" PRIu64, bi->id,
	    a->pos[0], t, bi->m.audit_size);
	ex = admin_audit(nv, "vault.restore", AUDIT_ALLOWED, 0, reason);
	vault_close(nv);
	return ex;
}

int
admin_cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, O_PIN_KEY },
		ADMIN_OPTS_UNLOCK,
		ADMIN_OPTS_END
	};
	struct coffer_errdetail d;
	struct backup_info bi;
	struct vault *keys = NULL;
	unsigned char pin[32];
	struct args a;
	int ex, rc, have_pin = 0;

	memset(&bi, 0, sizeof(bi));
	if ((ex = admin_parse_args("restore", argc, argv, opts, 2,
	    help_restore, &a)) != EX_OK || a.help)
		return ex;
	if ((ex = admin_need_pos("restore", &a, 2,
	    "the backup OUT and NEWDIR")) ||
	    (ex = backup_pin(&a, pin, &have_pin)) != EX_OK ||
	    (ex = open_backup_keys(&a, a.pos[0], &keys)) != EX_OK)
		return ex;
	memset(&d, 0, sizeof(d));
	errno = 0;
	rc = backup_restore(a.pos[0], have_pin ? pin : NULL, keys, a.pos[1],
	    &bi, &d);
	vault_close(keys);
	if (rc != COFFER_OK) {
		report_backup("restore refused", a.pos[0], rc, &d);
		return EX_FAIL;
	}
	if ((ex = record_restore(&a, &bi)) != EX_OK) {
		fprintf(stderr, PROG ": restore: %s removed again\n", a.pos[1]);
		backup_remove_dir(a.pos[1]);
		goto out;
	}
	if (!have_pin)
		fprintf(stderr, PROG ": warning: no --key: the backup's signing "
		    "key was not compared with a known daemon key\n");
	printf("restored: %s\n", a.pos[1]);
	printf("from backup manifest sha256:%s\n", bi.id);
	admin_print_fingerprint("daemon key:", bi.m.vault_pk);
	printf("audit log: %" PRIu64 " records from the backup, then "
	    "\"vault.restore\"\n", bi.m.audit_size);
out:
	backup_info_free(&bi);
	return ex;
}
