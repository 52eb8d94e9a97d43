/*
 * backup.c - taking a backup of a vault (database exported under the
 * backup key, audit log, master.sealed, signed manifest) and restoring one
 * into a new vault directory.  Format: docs/backup.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/backup.h"
#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/secfile.h"
#include "coffer/vault.h"
#include "backup_int.h"
#include "../audit/audit_int.h"

#define ATTACHED "coffer_backup_target"

/* ---- the database ------------------------------------------------------- */

static int
exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ?
	    COFFER_OK : COFFER_ERR_DB;
}

static int
query_int(sqlite3 *db, const char *sql, long long *out)
{
	sqlite3_stmt *s = NULL;
	int rc = COFFER_ERR_DB;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = COFFER_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

/* ATTACH path under the raw key; the key text stays in guarded memory. */
static int
attach(sqlite3 *db, const char *path, const unsigned char key[32])
{
	sqlite3_stmt *s = NULL;
	char *k = NULL;
	int rc = COFFER_ERR_DB;

	if ((k = sodium_malloc(68)) == NULL)
		return COFFER_ERR_NOMEM;
	memcpy(k, "x'", 2);
	sodium_bin2hex(k + 2, 65, key, 32);
	memcpy(k + 66, "'", 2);
	if (sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS " ATTACHED
	    " KEY ?2", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(s, 2, k, 67, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_DONE)
		rc = COFFER_OK;
	sqlite3_finalize(s);
	sodium_free(k);
	return rc;
}

/*
 * Stage 1 of an export: make path, ATTACH it under key and BEGIN a read
 * transaction on src that reads the schema, which fixes the WAL snapshot
 * the export will copy.  Whatever commits after this is not in the copy.
 * On failure nothing is left attached or open and path is removed.
 */
int
bk_export_begin(sqlite3 *src, const unsigned char key[32], const char *path)
{
	long long n = 0;
	int fd, rc;

	/* An empty file is a new database to SQLite; we choose its mode. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return errno == EEXIST ? COFFER_ERR_CONFLICT : COFFER_ERR_IO;
	close(fd);
	if ((rc = attach(src, path, key)) != COFFER_OK) {
		unlink(path);
		return rc;
	}
	if ((rc = exec(src, "BEGIN")) == COFFER_OK &&
	    (rc = query_int(src, "SELECT count(*) FROM main.sqlite_master",
	    &n)) != COFFER_OK)
		exec(src, "ROLLBACK");
	if (rc != COFFER_OK) {
		exec(src, "DETACH DATABASE " ATTACHED);
		unlink(path);
	}
	return rc;
}

/*
 * sqlcipher_export copies schema and rows; the two header fields the
 * store checks at open (user_version = schema version, application_id)
 * are copied explicitly so the copy does not depend on which of them a
 * given SQLCipher version carries over.
 */
static int
export_tx(sqlite3 *db)
{
	char sql[128];
	long long uv = 0, app = 0;
	int rc;

	if ((rc = query_int(db, "PRAGMA main.user_version", &uv)) !=
	    COFFER_OK ||
	    (rc = query_int(db, "PRAGMA main.application_id", &app)) !=
	    COFFER_OK ||
	    (rc = exec(db, "SELECT sqlcipher_export('" ATTACHED "')")) !=
	    COFFER_OK)
		goto out;
	snprintf(sql, sizeof(sql), "PRAGMA " ATTACHED ".user_version = %lld;"
	    "PRAGMA " ATTACHED ".application_id = %lld;", uv, app);
	if ((rc = exec(db, sql)) != COFFER_OK)
		goto out;
	rc = exec(db, "COMMIT");
out:
	if (rc != COFFER_OK)
		exec(db, "ROLLBACK");
	return rc;
}

/*
 * Stage 2: copy the snapshot (ok != 0) or abandon it (ok == 0), end the
 * transaction, DETACH, and make the copy durable.  Returns the outcome;
 * path is removed unless it is COFFER_OK.
 */
int
bk_export_finish(sqlite3 *src, const char *path, int ok)
{
	int fd, rc;

	if (ok)
		rc = export_tx(src);
	else {
		exec(src, "ROLLBACK");
		rc = COFFER_ERR_INTERNAL;
	}
	if (exec(src, "DETACH DATABASE " ATTACHED) != COFFER_OK &&
	    rc == COFFER_OK)
		rc = COFFER_ERR_DB;
	if (rc == COFFER_OK) {
		/* SQLite syncs at commit; this covers a rollback journal too */
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    fsync(fd) != 0)
			rc = COFFER_ERR_IO;
		if (fd >= 0)
			close(fd);
	}
	if (rc != COFFER_OK)
		unlink(path);
	return rc;
}

int
backup_export_db(struct sqlite3 *src, const unsigned char key[32],
    const char *path)
{
	int rc;

	if ((rc = bk_export_begin(src, key, path)) != COFFER_OK)
		return rc;
	return bk_export_finish(src, path, 1);
}

/* ---- taking a backup ---------------------------------------------------- */

struct backup_file *
bk_add_file(struct filelist *l, const char *path)
{
	struct backup_file *f;

	if (l->n >= BACKUP_FILES_MAX || strlen(path) >= BACKUP_PATH_MAX)
		return NULL;
	f = &l->f[l->n++];
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	return f;
}

int
bk_cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct backup_file *)a)->path,
	    ((const struct backup_file *)b)->path);
}

/* The log's own files: segments, checkpoint, verifier key. */
static int
is_log_file(const char *name)
{
	size_t n = strlen(name);

	return strcmp(name, AUDIT_CHECKPOINT_FILE) == 0 ||
	    strcmp(name, AUDIT_VKEY_FILE) == 0 ||
	    (n == SEG_NAME_LEN - 1 && strncmp(name, "seg-", 4) == 0 &&
	    strcmp(name + n - 4, ".log") == 0);
}

/* Copy src/audit's log files into out/audit, listing them. */
static int
copy_audit(const char *srcdir, const char *outdir, struct filelist *l,
    struct coffer_errdetail *d)
{
	char s[PATH_MAX], o[PATH_MAX], rel[BACKUP_PATH_MAX];
	struct backup_file *f;
	struct dirent *e;
	DIR *dp = NULL;
	int rc = COFFER_OK;

	if (mkdir(outdir, 0700) != 0)
		return coffer_detail(d, COFFER_ERR_IO, BACKUP_AUDIT, "%s",
		    strerror(errno));
	if ((dp = opendir(srcdir)) == NULL)
		return coffer_detail(d, COFFER_ERR_IO, BACKUP_AUDIT,
		    "cannot read the vault's audit log: %s", strerror(errno));
	while (rc == COFFER_OK && (e = readdir(dp)) != NULL) {
		/* is_log_file bounds the name: rel always fits */
		if (!is_log_file(e->d_name) ||
		    bk_join(rel, sizeof(rel), BACKUP_AUDIT, e->d_name) !=
		    COFFER_OK)
			continue;
		if ((f = bk_add_file(l, rel)) == NULL) {
			rc = coffer_detail(d, COFFER_ERR_TOO_BIG, rel,
			    "too many files");
			break;
		}
		if ((rc = bk_join(s, sizeof(s), srcdir, e->d_name)) ==
		    COFFER_OK &&
		    (rc = bk_join(o, sizeof(o), outdir, e->d_name)) == COFFER_OK)
			rc = bk_copy_file(s, o, 0600, f);
		if (rc != COFFER_OK)
			coffer_detail(d, rc, rel, "cannot copy: %s",
			    coffer_strerror(rc));
	}
	closedir(dp);
	if (rc == COFFER_OK)
		rc = bk_sync_dir(outdir);
	return rc;
}

/* The checkpoint the backup carries, checked with the vault's audit key. */
static int
read_checkpoint(const char *auditdir, const unsigned char pk[32],
    struct ckpt *c, struct coffer_errdetail *d)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = bk_join(path, sizeof(path), auditdir,
	    AUDIT_CHECKPOINT_FILE)) != COFFER_OK)
		return rc;
	if ((rc = file_read_all(path, CKPT_MAX, &text, &len)) != COFFER_OK)
		return coffer_detail(d, rc, BACKUP_AUDIT "/" AUDIT_CHECKPOINT_FILE,
		    "cannot read the signed checkpoint");
	rc = ckpt_open(text, len, NULL, pk, c);
	free(text);
	if (rc != COFFER_OK)
		return coffer_detail(d, rc, BACKUP_AUDIT "/"
		    AUDIT_CHECKPOINT_FILE, "no valid signed checkpoint");
	return COFFER_OK;
}

static int
copy_top(const struct vault *v, const char *out, const char *name,
    struct filelist *l, int optional, struct coffer_errdetail *d)
{
	char s[PATH_MAX], o[PATH_MAX];
	struct backup_file f;
	int rc;

	if ((rc = bk_join(s, sizeof(s), vault_dir(v), name)) != COFFER_OK ||
	    (rc = bk_join(o, sizeof(o), out, name)) != COFFER_OK)
		return rc;
	memset(&f, 0, sizeof(f));
	rc = bk_copy_file(s, o, 0600, &f);
	if (rc == COFFER_ERR_NOT_FOUND && optional)
		return COFFER_OK;
	if (rc != COFFER_OK)
		return coffer_detail(d, rc, name, "cannot copy: %s",
		    coffer_strerror(rc));
	if (bk_add_file(l, name) == NULL)
		return COFFER_ERR_INTERNAL;
	l->f[l->n - 1].size = f.size;
	memcpy(l->f[l->n - 1].sha256, f.sha256, 32);
	return COFFER_OK;
}

/* out/coffer.db: the vault's database exported under the backup key. */
static int
export_vault_db(const struct vault *v, const char *out, struct filelist *l,
    struct coffer_errdetail *d)
{
	char o[PATH_MAX];
	struct backup_file *f;
	sqlite3 *db = NULL;
	int rc;

	if ((rc = bk_join(o, sizeof(o), out, BACKUP_DB)) != COFFER_OK)
		return rc;
	if ((rc = bk_open_db(vault_store_path(v), vault_db_key(v),
	    SQLITE_OPEN_READWRITE, &db)) != COFFER_OK)
		return coffer_detail(d, rc, BACKUP_DB, "cannot open the "
		    "vault's database: %s", coffer_strerror(rc));
	rc = backup_export_db(db, vault_backup_key(v), o);
	sqlite3_close(db);
	if (rc != COFFER_OK)
		return coffer_detail(d, rc, BACKUP_DB, "export failed: %s",
		    coffer_strerror(rc));
	if ((f = bk_add_file(l, BACKUP_DB)) == NULL)
		return COFFER_ERR_INTERNAL;
	if ((rc = bk_hash_file(o, f)) != COFFER_OK)
		return coffer_detail(d, rc, BACKUP_DB, "cannot hash the copy");
	return COFFER_OK;
}

static int
write_manifest(const struct vault *v, const char *out, struct filelist *l,
    const struct ckpt *cp, char id[65], struct coffer_errdetail *d)
{
	struct backup_manifest m;
	char path[PATH_MAX], sealed[PATH_MAX];
	char *text = NULL;
	size_t len = 0;
	int kind, rc;

	if ((rc = bk_join(sealed, sizeof(sealed), vault_dir(v),
	    VAULT_SEALED_FILE)) != COFFER_OK ||
	    (rc = bk_join(path, sizeof(path), out, BACKUP_MANIFEST_FILE)) !=
	    COFFER_OK)
		return rc;
	if ((kind = keys_sealed_with_passphrase(sealed)) < 0)
		return coffer_detail(d, -kind, BACKUP_SEALED, "unreadable");
	qsort(l->f, l->n, sizeof(*l->f), bk_cmp_file);
	memset(&m, 0, sizeof(m));
	m.created = (uint64_t)time(NULL);
	memcpy(m.vault_pk, vault_identity_pk(v), 32);
	memcpy(m.audit_pk, vault_audit_sign_pk(v), 32);
	m.audit_size = cp->size;
	memcpy(m.audit_root, cp->root, 32);
	m.seal = kind ? BACKUP_SEAL_PASSPHRASE : BACKUP_SEAL_KEYFILE;
	m.files = l->f;
	m.nfiles = l->n;
	if ((rc = backup_manifest_encode(&m, vault_identity_sk(v), &text,
	    &len)) != COFFER_OK)
		return rc;
	/* Written last: a backup without a manifest is visibly unfinished. */
	rc = file_write_atomic(path, text, len, 0600);
	if (rc == COFFER_OK && id != NULL)
		backup_manifest_id(text, len, id);
	free(text);
	return rc;
}

int
backup_create(const struct vault *v, const char *out, char id[65],
    struct coffer_errdetail *d)
{
	char srcaudit[PATH_MAX], outaudit[PATH_MAX];
	struct filelist l = { NULL, 0 };
	struct ckpt cp;
	int rc;

	if ((rc = vault_audit_path(v, srcaudit, sizeof(srcaudit))) !=
	    COFFER_OK ||
	    (rc = bk_join(outaudit, sizeof(outaudit), out, BACKUP_AUDIT)) !=
	    COFFER_OK)
		return rc;
	if ((l.f = calloc(BACKUP_FILES_MAX, sizeof(*l.f))) == NULL)
		return COFFER_ERR_NOMEM;
	if (mkdir(out, 0700) != 0) {
		rc = coffer_detail(d, errno == EEXIST ? COFFER_ERR_CONFLICT :
		    COFFER_ERR_IO, "", "%s: %s", out, errno == EEXIST ?
		    "already exists" : strerror(errno));
		free(l.f);
		return rc;
	}
	if ((rc = read_checkpoint(srcaudit, vault_audit_sign_pk(v), &cp, d)) !=
	    COFFER_OK ||
	    (rc = copy_audit(srcaudit, outaudit, &l, d)) != COFFER_OK ||
	    (rc = copy_top(v, out, BACKUP_SEALED, &l, 0, d)) != COFFER_OK ||
	    (rc = copy_top(v, out, BACKUP_POLICY, &l, 1, d)) != COFFER_OK ||
	    (rc = copy_top(v, out, BACKUP_KEYS_GEN, &l, 1, d)) != COFFER_OK ||
	    (rc = copy_top(v, out, BACKUP_AUDIT_PUB, &l, 1, d)) != COFFER_OK ||
	    (rc = copy_top(v, out, BACKUP_IDROT, &l, 1, d)) != COFFER_OK ||
	    (rc = export_vault_db(v, out, &l, d)) != COFFER_OK ||
	    (rc = write_manifest(v, out, &l, &cp, id, d)) != COFFER_OK ||
	    (rc = bk_sync_dir(out)) != COFFER_OK)
		backup_remove_dir(out);
	free(l.f);
	return rc;
}

/* ---- restoring ---------------------------------------------------------- */

/* newdir made 0700, or an existing empty directory of ours. */
static int
make_newdir(const char *dir, struct coffer_errdetail *d)
{
	struct dirent *e;
	struct stat sb;
	DIR *dp;

	if (mkdir(dir, 0700) == 0)
		return COFFER_OK;
	if (errno != EEXIST || lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
	    sb.st_uid != geteuid())
		return coffer_detail(d, COFFER_ERR_CONFLICT, "", "%s: exists "
		    "and is not an empty directory of yours", dir);
	if ((dp = opendir(dir)) == NULL)
		return COFFER_ERR_IO;
	while ((e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			closedir(dp);
			return coffer_detail(d, COFFER_ERR_CONFLICT, "", "%s: "
			    "not empty", dir);
		}
	closedir(dp);
	return chmod(dir, 0700) == 0 ? COFFER_OK : COFFER_ERR_IO;
}

static unsigned
restored_mode(const char *path)
{
	if (strcmp(path, BACKUP_POLICY) == 0)
		return 0640; /* as init writes it */
	if (strcmp(path, BACKUP_AUDIT_PUB) == 0 ||
	    strcmp(path, BACKUP_IDROT) == 0)
		return 0644;
	if (strcmp(path, BACKUP_AUDIT "/" AUDIT_VKEY_FILE) == 0 ||
	    strcmp(path, BACKUP_AUDIT "/" AUDIT_CHECKPOINT_FILE) == 0)
		return 0644; /* public, as the log writes them */
	return 0600;
}

/*
 * Every listed file but the database, copied and hashed again as it is
 * copied: what lands in newdir is what the manifest signed, even if the
 * backup changed after it was verified.
 */
static int
restore_files(const char *dir, const char *newdir,
    const struct backup_manifest *m, struct coffer_errdetail *d)
{
	char s[PATH_MAX], o[PATH_MAX];
	struct backup_file f;
	size_t i;
	int rc;

	if ((rc = bk_join(o, sizeof(o), newdir, BACKUP_AUDIT)) != COFFER_OK)
		return rc;
	if (mkdir(o, 0700) != 0)
		return COFFER_ERR_IO;
	for (i = 0; i < m->nfiles; i++) {
		const struct backup_file *mf = &m->files[i];

		if (strcmp(mf->path, BACKUP_DB) == 0)
			continue;
		if ((rc = bk_join(s, sizeof(s), dir, mf->path)) != COFFER_OK ||
		    (rc = bk_join(o, sizeof(o), newdir, mf->path)) != COFFER_OK)
			return rc;
		if ((rc = bk_copy_file(s, o, restored_mode(mf->path), &f)) !=
		    COFFER_OK)
			return coffer_detail(d, rc, mf->path, "cannot copy: %s",
			    coffer_strerror(rc));
		if (f.size != mf->size || memcmp(f.sha256, mf->sha256, 32) != 0)
			return coffer_detail(d, COFFER_ERR_CRYPTO, mf->path,
			    "changed since it was verified");
	}
	if ((rc = bk_join(o, sizeof(o), newdir, BACKUP_AUDIT)) != COFFER_OK)
		return rc;
	return bk_sync_dir(o);
}

static int
write_pub(const char *newdir, const char *name, const unsigned char pk[32],
    const char *comment)
{
	char path[PATH_MAX], line[USERKEY_PUBLIC_TEXT + 1];
	size_t len;
	int rc;

	if ((rc = bk_join(path, sizeof(path), newdir, name)) != COFFER_OK)
		return rc;
	userkey_format_public(pk, comment, line, sizeof(line) - 1);
	len = strlen(line);
	line[len++] = '\n';
	return file_write_atomic(path, line, len, 0644);
}

/* newdir/coffer.db: the copy re-encrypted from the backup key to the
 * database key. */
static int
restore_db(const char *dir, const char *newdir, const struct vault *keys,
    struct coffer_errdetail *d)
{
	char s[PATH_MAX], o[PATH_MAX];
	sqlite3 *db = NULL;
	int rc;

	if ((rc = bk_join(s, sizeof(s), dir, BACKUP_DB)) != COFFER_OK ||
	    (rc = bk_join(o, sizeof(o), newdir, VAULT_DB_FILE)) != COFFER_OK)
		return rc;
	/* read-write: an ATTACHed target inherits the connection's flags;
	 * only read here, so no journal is made next to the copy */
	if ((rc = bk_open_db(s, vault_backup_key(keys), SQLITE_OPEN_READWRITE,
	    &db)) != COFFER_OK)
		return coffer_detail(d, rc, BACKUP_DB, "does not open with the "
		    "backup key");
	rc = backup_export_db(db, vault_db_key(keys), o);
	sqlite3_close(db);
	if (rc != COFFER_OK)
		return coffer_detail(d, rc, BACKUP_DB, "re-encryption failed: %s",
		    coffer_strerror(rc));
	return COFFER_OK;
}

int
backup_restore(const char *dir, const unsigned char *pin,
    const struct vault *keys, const char *newdir, struct backup_info *info,
    struct coffer_errdetail *d)
{
	struct backup_info own;
	struct backup_info *bi = info != NULL ? info : &own;
	int rc;

	memset(&own, 0, sizeof(own));
	if (keys == NULL)
		return COFFER_ERR_USAGE;
	if ((rc = backup_verify(dir, pin, keys, bi, d)) != COFFER_OK)
		return rc;
	if ((rc = make_newdir(newdir, d)) != COFFER_OK)
		goto out;
	if ((rc = restore_files(dir, newdir, &bi->m, d)) != COFFER_OK ||
	    (rc = write_pub(newdir, VAULT_DAEMON_PUB, vault_identity_pk(keys),
	    "cofferd")) != COFFER_OK ||
	    (rc = write_pub(newdir, VAULT_AUDIT_PUB, vault_audit_first_pk(keys),
	    "coffer-audit")) != COFFER_OK ||
	    (rc = restore_db(dir, newdir, keys, d)) != COFFER_OK ||
	    (rc = bk_sync_dir(newdir)) != COFFER_OK)
		backup_remove_dir(newdir);
out:
	if (info == NULL || rc != COFFER_OK)
		backup_info_free(bi);
	return rc;
}
