/*
 * verify.c - checking a backup without restoring it: the signed manifest,
 * every file's size and hash, nothing unlisted, the audit log with the
 * coffer-verify engine, and (given the keys) the database copy itself.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "coffer/audit.h"
#include "coffer/backup.h"
#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/secfile.h"
#include "coffer/vault.h"
#include "backup_int.h"
#include "../audit/audit_int.h"

void
backup_info_free(struct backup_info *info)
{
	if (info != NULL)
		backup_manifest_free(&info->m);
}

static int
read_manifest(const char *dir, const unsigned char *pin,
    struct backup_info *bi, struct coffer_errdetail *d)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = bk_join(path, sizeof(path), dir, BACKUP_MANIFEST_FILE)) !=
	    COFFER_OK)
		return rc;
	if ((rc = file_read_all(path, BACKUP_MANIFEST_MAX, &text, &len)) !=
	    COFFER_OK)
		return coffer_detail(d, rc, BACKUP_MANIFEST_FILE, "cannot read "
		    "(%s): not a backup, or an unfinished one",
		    rc == COFFER_ERR_IO ? strerror(errno) : coffer_strerror(rc));
	rc = backup_manifest_parse(text, len, pin, &bi->m, d);
	if (rc == COFFER_OK)
		backup_manifest_id(text, len, bi->id);
	free(text);
	return rc;
}

static const struct backup_file *
listed(const struct backup_manifest *m, const char *path)
{
	size_t i;

	for (i = 0; i < m->nfiles; i++)
		if (strcmp(m->files[i].path, path) == 0)
			return &m->files[i];
	return NULL;
}

/* Every entry of dir (rel: its path in the backup) must be listed. */
static int
no_strangers(const char *dir, const char *rel,
    const struct backup_manifest *m, struct coffer_errdetail *d)
{
	char p[BACKUP_PATH_MAX + 8];
	struct dirent *e;
	int n;
	DIR *dp;
	int rc = COFFER_OK;

	if ((dp = opendir(dir)) == NULL)
		return coffer_detail(d, COFFER_ERR_IO, rel[0] ? rel : ".",
		    "cannot read: %s", strerror(errno));
	while (rc == COFFER_OK && (e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n = snprintf(p, sizeof(p), "%s%s%.*s", rel, rel[0] ? "/" : "",
		    BACKUP_PATH_MAX, e->d_name);
		if (n < 0 || (size_t)n >= BACKUP_PATH_MAX) {
			rc = coffer_detail(d, COFFER_ERR_PROTO, rel[0] ? rel :
			    ".", "holds a file not listed in the manifest");
			break;
		}
		if (rel[0] == '\0' && (strcmp(p, BACKUP_MANIFEST_FILE) == 0 ||
		    strcmp(p, BACKUP_AUDIT) == 0))
			continue;
		if (listed(m, p) == NULL)
			rc = coffer_detail(d, COFFER_ERR_PROTO, p, "not listed "
			    "in the manifest");
	}
	closedir(dp);
	return rc;
}

static int
check_files(const char *dir, const struct backup_manifest *m,
    struct coffer_errdetail *d)
{
	char path[PATH_MAX];
	struct backup_file f;
	size_t i;
	int rc;

	for (i = 0; i < m->nfiles; i++) {
		if ((rc = bk_join(path, sizeof(path), dir, m->files[i].path)) !=
		    COFFER_OK)
			return rc;
		if ((rc = bk_hash_file(path, &f)) != COFFER_OK)
			return coffer_detail(d, rc, m->files[i].path, "%s",
			    rc == COFFER_ERR_NOT_FOUND ? "missing" :
			    "cannot be read");
		if (f.size != m->files[i].size)
			return coffer_detail(d, COFFER_ERR_CRYPTO,
			    m->files[i].path, "size %llu, the manifest says "
			    "%llu (truncated or changed)",
			    (unsigned long long)f.size,
			    (unsigned long long)m->files[i].size);
		if (memcmp(f.sha256, m->files[i].sha256, 32) != 0)
			return coffer_detail(d, COFFER_ERR_CRYPTO,
			    m->files[i].path, "SHA-256 differs from the "
			    "manifest (damaged or changed)");
	}
	if (listed(m, BACKUP_DB) == NULL || listed(m, BACKUP_SEALED) == NULL ||
	    listed(m, BACKUP_AUDIT "/" AUDIT_CHECKPOINT_FILE) == NULL)
		return coffer_detail(d, COFFER_ERR_PROTO, BACKUP_MANIFEST_FILE,
		    "lists no %s, %s or audit checkpoint", BACKUP_DB,
		    BACKUP_SEALED);
	if ((rc = bk_join(path, sizeof(path), dir, BACKUP_AUDIT)) != COFFER_OK ||
	    (rc = no_strangers(dir, "", m, d)) != COFFER_OK)
		return rc;
	return no_strangers(path, BACKUP_AUDIT, m, d);
}

/*
 * The key the log started with: the backup's audit.pub when it has one
 * (after an audit key rotation the manifest names the current key, which
 * signed only the newest checkpoints), else the manifest's key.
 */
static int
first_audit_key(const char *dir, const struct backup_manifest *m,
    unsigned char pk[32], struct coffer_errdetail *d)
{
	char path[PATH_MAX];

	memcpy(pk, m->audit_pk, 32);
	if (listed(m, BACKUP_AUDIT_PUB) == NULL)
		return COFFER_OK;
	if (bk_join(path, sizeof(path), dir, BACKUP_AUDIT_PUB) != COFFER_OK ||
	    userkey_load_public(path, pk) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_PROTO, BACKUP_AUDIT_PUB,
		    "is not a public key line");
	return COFFER_OK;
}

/* The coffer-verify algorithm over dir/audit; c is the caller's.  The log
 * starts with first and must end signed by the manifest's key, pk. */
static int
scan_log(struct av_ctx *c, const char *adir, const unsigned char pk[32],
    const unsigned char first[32], struct coffer_errdetail *d)
{
	char path[PATH_MAX], *text = NULL;
	uint64_t *firsts = NULL;
	size_t i, n = 0, len = 0;
	int rc;

	av_init(c, adir, first, NULL);
	/* The included checkpoint file is a reference the log must reach. */
	if ((rc = bk_join(path, sizeof(path), adir, AUDIT_CHECKPOINT_FILE)) !=
	    COFFER_OK ||
	    (rc = file_read_all(path, CKPT_MAX, &text, &len)) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_AUDIT, BACKUP_AUDIT "/"
		    AUDIT_CHECKPOINT_FILE, "cannot be read");
	rc = ckpt_open(text, len, NULL, pk, &c->refs[0].c);
	free(text);
	if (rc != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_AUDIT, BACKUP_AUDIT "/"
		    AUDIT_CHECKPOINT_FILE, "no valid signature by the audit key "
		    "the manifest names");
	c->refs[0].what = "the backup's checkpoint";
	c->nrefs = 1;
	if (seg_list(adir, &firsts, &n) != COFFER_OK || n == 0) {
		free(firsts);
		return coffer_detail(d, COFFER_ERR_AUDIT, BACKUP_AUDIT,
		    "no audit segments");
	}
	for (i = 0; i < n && c->fault == AV_OK; i++)
		av_segment(c, firsts[i], 0, i == n - 1);
	av_finish(c);
	free(firsts);
	if (c->fault != AV_OK)
		return coffer_detail(d, COFFER_ERR_AUDIT, BACKUP_AUDIT,
		    "audit log fault (%s): %s", av_kind_name(c->fault), c->msg);
	if (memcmp(c->cur, pk, 32) != 0)
		return coffer_detail(d, COFFER_ERR_AUDIT, BACKUP_AUDIT, "the "
		    "log's chain of audit keys does not end at the key the "
		    "manifest names");
	return COFFER_OK;
}

/* The log must end exactly at the checkpoint the manifest signed. */
static int
check_log(const char *dir, const struct backup_manifest *m,
    struct backup_info *bi, struct coffer_errdetail *d)
{
	char adir[PATH_MAX];
	unsigned char first[32];
	struct av_ctx *c = NULL;
	int rc;

	if ((rc = bk_join(adir, sizeof(adir), dir, BACKUP_AUDIT)) != COFFER_OK ||
	    (rc = first_audit_key(dir, m, first, d)) != COFFER_OK)
		return rc;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = scan_log(c, adir, m->audit_pk, first, d)) != COFFER_OK)
		goto out;
	if (!c->have_ckpt || c->last_ckpt.size != m->audit_size ||
	    memcmp(c->last_ckpt.root, m->audit_root, 32) != 0 ||
	    c->refs[0].c.size != m->audit_size ||
	    c->st.size != m->audit_size || c->torn != 0) {
		rc = coffer_detail(d, COFFER_ERR_AUDIT, BACKUP_AUDIT,
		    "the log holds %llu records, its newest checkpoint covers "
		    "%llu; the manifest says %llu with another root or size",
		    (unsigned long long)c->st.size,
		    (unsigned long long)c->last_ckpt.size,
		    (unsigned long long)m->audit_size);
		goto out;
	}
	bi->audit_records = c->st.size;
out:
	free(c);
	return rc;
}

static int
pragma_ok(sqlite3 *db, const char *sql, int want_ok_row)
{
	sqlite3_stmt *s = NULL;
	int rows = 0, good = 1, step;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return 0;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);

		rows++;
		if (!want_ok_row || t == NULL || strcmp((const char *)t, "ok"))
			good = 0;
	}
	sqlite3_finalize(s);
	if (step != SQLITE_DONE)
		return 0;
	/* integrity_check says "ok"; cipher_integrity_check says nothing */
	return good && (want_ok_row ? rows == 1 : rows == 0);
}

/* The keys from the backup's master.sealed must be the manifest's, and
 * the database copy must open with the backup key and be whole. */
#define VERIFY_CACHE_MAX_KIB (1024LL * 1024)   /* integrity check cache */

static int
check_db(const char *dir, const struct vault *keys,
    const struct backup_manifest *m, struct coffer_errdetail *d)
{
	char path[PATH_MAX], pragma[64];
	struct stat sb;
	sqlite3 *db = NULL;
	int rc;

	if (sodium_memcmp(vault_identity_pk(keys), m->vault_pk, 32) != 0 ||
	    sodium_memcmp(vault_audit_sign_pk(keys), m->audit_pk, 32) != 0)
		return coffer_detail(d, COFFER_ERR_KEY, BACKUP_SEALED, "its "
		    "master key is not the one of the vault that signed the "
		    "manifest");
	if ((rc = bk_join(path, sizeof(path), dir, BACKUP_DB)) != COFFER_OK)
		return rc;
	if ((rc = bk_open_db(path, vault_backup_key(keys),
	    SQLITE_OPEN_READONLY, &db)) != COFFER_OK)
		return coffer_detail(d, rc, BACKUP_DB, "does not open with the "
		    "backup key: %s", coffer_strerror(rc));
	/*
	 * integrity_check looks up every index entry's row: with the default
	 * 8 MB cache a large copy is decrypted again and again (83 s for a
	 * 235 MB copy, 25 s with the whole file cached).  The cache holds the
	 * whole file, up to 1 GiB (freed on close).
	 */
	if (stat(path, &sb) == 0) {
		long long kib = (long long)sb.st_size / 1024 + 1024;

		snprintf(pragma, sizeof(pragma), "PRAGMA cache_size = -%lld",
		    kib < VERIFY_CACHE_MAX_KIB ? kib : VERIFY_CACHE_MAX_KIB);
		(void)sqlite3_exec(db, pragma, NULL, NULL, NULL);
	}
	if (!pragma_ok(db, "PRAGMA cipher_integrity_check", 0))
		rc = coffer_detail(d, COFFER_ERR_DB, BACKUP_DB,
		    "cipher_integrity_check failed (damaged pages)");
	else if (!pragma_ok(db, "PRAGMA integrity_check", 1))
		rc = coffer_detail(d, COFFER_ERR_DB, BACKUP_DB,
		    "integrity_check failed");
	sqlite3_close(db);
	return rc;
}

int
backup_verify(const char *dir, const unsigned char *pin,
    const struct vault *keys, struct backup_info *info,
    struct coffer_errdetail *d)
{
	struct backup_info bi;
	int rc;

	memset(&bi, 0, sizeof(bi));
	if (info != NULL)
		memset(info, 0, sizeof(*info));
	if ((rc = read_manifest(dir, pin, &bi, d)) != COFFER_OK ||
	    (rc = check_files(dir, &bi.m, d)) != COFFER_OK ||
	    (rc = check_log(dir, &bi.m, &bi, d)) != COFFER_OK)
		goto out;
	if (keys != NULL) {
		if ((rc = check_db(dir, keys, &bi.m, d)) != COFFER_OK)
			goto out;
		bi.db_checked = 1;
	}
	if (info != NULL) {
		*info = bi;
		memset(&bi, 0, sizeof(bi)); /* transferred */
	}
out:
	backup_info_free(&bi);
	return rc;
}
