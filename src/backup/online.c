/*
 * online.c - a backup taken by the running daemon: the database exported
 * from one of its own connections, the audit log copied from its open log
 * up to a checkpoint signed for the purpose, the manifest signed through
 * the daemon's signing callback.  Format and reasoning: docs/backup.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coffer/audit.h"
#include "coffer/backup.h"
#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/secfile.h"
#include "coffer/vault.h"
#include "backup_int.h"
#include "../audit/audit_int.h"
#include "../store/store_int.h"

/* A segment is read whole; the log rotates at 64 MiB by default. */
#define SEG_READ_MAX ((size_t)1 << 30)

/* The whole of a regular file (no symlinks), at most SEG_READ_MAX bytes. */
static int
read_whole(const char *path, unsigned char **out, size_t *len)
{
	unsigned char *p = NULL;
	struct stat sb;
	size_t got = 0;
	ssize_t n;
	int fd, rc = COFFER_OK;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return COFFER_ERR_IO;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = COFFER_ERR_IO;
		goto out;
	}
	if ((uint64_t)sb.st_size > SEG_READ_MAX) {
		rc = COFFER_ERR_TOO_BIG;
		goto out;
	}
	/* the active segment may grow meanwhile: bytes past st_size are
	 * records after the checkpoint we cut at, never needed */
	if ((p = malloc((size_t)sb.st_size + 1)) == NULL) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		n = read(fd, p + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*out = p;
	*len = got;
	p = NULL; /* transferred */
out:
	free(p);
	close(fd);
	return rc;
}

/*
 * Where segment p (first record first) is to be cut so that the copy
 * ends with the checkpoint frame of size want: *cut is the end of that
 * frame and *found 1, or *cut the end of the last whole frame and
 * *found 0 when the frame is not in this segment.
 */
static int
find_cut(const unsigned char *p, size_t len, uint64_t first, uint64_t want,
    size_t *cut, int *found)
{
	struct seg_header h;
	const unsigned char *pl;
	struct ckpt c;
	uint64_t records;
	size_t pos = 0, plen;
	int type;

	*found = 0;
	if (seg_header_parse(p, len, &h, &pos) != COFFER_OK ||
	    h.first != first)
		return COFFER_ERR_AUDIT;
	records = first;
	*cut = pos;
	while (frame_next(p, len, &pos, &type, &pl, &plen) == FR_OK) {
		*cut = pos;
		if (type == FRAME_RECORD)
			records++;
		else if (records == want &&
		    ckpt_peek((const char *)pl, plen, &c) == COFFER_OK &&
		    c.size == want) {
			*found = 1;
			return COFFER_OK;
		}
	}
	return COFFER_OK;
}

/*
 * Copy the log's segments into outdir up to and including the checkpoint
 * frame of tree size want: nothing appended after it reaches the backup,
 * and the copy ends on a whole frame.
 */
static int
copy_segments(const char *srcdir, const char *outdir, uint64_t want,
    struct filelist *l, struct coffer_errdetail *d)
{
	char name[SEG_NAME_LEN], s[PATH_MAX], o[PATH_MAX];
	char rel[BACKUP_PATH_MAX];
	unsigned char *buf = NULL;
	struct backup_file *f;
	uint64_t *firsts = NULL;
	size_t i, n = 0, len, cut;
	int found = 0, rc;

	if ((rc = seg_list(srcdir, &firsts, &n)) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_AUDIT, BACKUP_AUDIT,
		    "cannot list the audit segments");
	for (i = 0; i < n && !found && firsts[i] <= want; i++) {
		seg_name(name, firsts[i]);
		if ((rc = bk_join(s, sizeof(s), srcdir, name)) != COFFER_OK ||
		    (rc = bk_join(o, sizeof(o), outdir, name)) != COFFER_OK ||
		    (rc = bk_join(rel, sizeof(rel), BACKUP_AUDIT, name)) !=
		    COFFER_OK)
			break;
		if ((rc = read_whole(s, &buf, &len)) != COFFER_OK ||
		    (rc = find_cut(buf, len, firsts[i], want, &cut, &found)) !=
		    COFFER_OK) {
			coffer_detail(d, rc, rel, "cannot read the segment");
			break;
		}
		if ((f = bk_add_file(l, rel)) == NULL) {
			rc = coffer_detail(d, COFFER_ERR_TOO_BIG, rel,
			    "too many files");
			break;
		}
		if ((rc = bk_write_file(o, 0600, buf, cut, f)) != COFFER_OK) {
			coffer_detail(d, rc, rel, "cannot write the copy");
			break;
		}
		free(buf);
		buf = NULL;
	}
	free(buf);
	free(firsts);
	if (rc == COFFER_OK && !found)
		rc = coffer_detail(d, COFFER_ERR_AUDIT, BACKUP_AUDIT, "the "
		    "checkpoint of %llu records is not in the log",
		    (unsigned long long)want);
	return rc;
}

/*
 * The log part: the record of this backup (o->before_audit), a checkpoint
 * covering it, then segments up to that checkpoint, the checkpoint as
 * audit/checkpoint and the verifier key.  *cp gets the checkpoint.
 */
static int
snapshot_audit(const struct backup_online *o, const char *outdir,
    struct filelist *l, struct ckpt *cp, struct coffer_errdetail *d)
{
	char p[PATH_MAX], s[PATH_MAX];
	struct audit_view view;
	struct backup_file *f;
	char *text = NULL;
	int rc;

	if (o->before_audit != NULL &&
	    (rc = o->before_audit(o->before_arg)) != COFFER_OK)
		return coffer_detail(d, rc, BACKUP_AUDIT, "the backup cannot "
		    "be recorded in the audit log");
	if ((rc = audit_checkpoint_now(o->audit)) != COFFER_OK ||
	    (rc = audit_latest_checkpoint(o->audit, &text)) != COFFER_OK)
		return coffer_detail(d, rc, BACKUP_AUDIT, "cannot sign a "
		    "checkpoint");
	audit_view_get(o->audit, &view);
	if ((rc = ckpt_open(text, strlen(text), NULL, view.pk, cp)) !=
	    COFFER_OK) {
		free(text);
		return coffer_detail(d, rc, BACKUP_AUDIT, "the log's newest "
		    "checkpoint does not verify");
	}
	if (mkdir(outdir, 0700) != 0)
		rc = coffer_detail(d, COFFER_ERR_IO, BACKUP_AUDIT, "%s",
		    strerror(errno));
	else if ((rc = copy_segments(view.dir, outdir, cp->size, l, d)) ==
	    COFFER_OK &&
	    (rc = bk_join(p, sizeof(p), outdir, AUDIT_CHECKPOINT_FILE)) ==
	    COFFER_OK) {
		if ((f = bk_add_file(l, BACKUP_AUDIT "/"
		    AUDIT_CHECKPOINT_FILE)) == NULL)
			rc = COFFER_ERR_INTERNAL;
		else
			rc = bk_write_file(p, 0600, text, strlen(text), f);
	}
	free(text);
	if (rc != COFFER_OK)
		return rc;
	if ((rc = bk_join(s, sizeof(s), view.dir, AUDIT_VKEY_FILE)) !=
	    COFFER_OK ||
	    (rc = bk_join(p, sizeof(p), outdir, AUDIT_VKEY_FILE)) != COFFER_OK)
		return rc;
	if ((f = bk_add_file(l, BACKUP_AUDIT "/" AUDIT_VKEY_FILE)) == NULL)
		return COFFER_ERR_INTERNAL;
	if ((rc = bk_copy_file(s, p, 0600, f)) != COFFER_OK)
		return coffer_detail(d, rc, BACKUP_AUDIT "/" AUDIT_VKEY_FILE,
		    "cannot copy");
	return bk_sync_dir(outdir);
}

/* master.sealed (required) or policy.yaml (optional) from the vault. */
static int
copy_vault_file(const char *vdir, const char *out, const char *name,
    int optional, struct filelist *l, struct coffer_errdetail *d)
{
	char s[PATH_MAX], o[PATH_MAX];
	struct backup_file f;
	struct backup_file *e;
	int rc;

	if ((rc = bk_join(s, sizeof(s), vdir, name)) != COFFER_OK ||
	    (rc = bk_join(o, sizeof(o), out, name)) != COFFER_OK)
		return rc;
	memset(&f, 0, sizeof(f));
	rc = bk_copy_file(s, o, 0600, &f);
	if (rc == COFFER_ERR_NOT_FOUND && optional)
		return COFFER_OK;
	if (rc != COFFER_OK)
		return coffer_detail(d, rc, name, "cannot copy: %s",
		    coffer_strerror(rc));
	if ((e = bk_add_file(l, name)) == NULL)
		return COFFER_ERR_INTERNAL;
	e->size = f.size;
	memcpy(e->sha256, f.sha256, 32);
	return COFFER_OK;
}

static int
sign_manifest(const struct backup_online *o, const char *out,
    struct filelist *l, const struct ckpt *cp, const unsigned char apk[32],
    char id[65], struct coffer_errdetail *d)
{
	struct backup_manifest m;
	char path[PATH_MAX], sealed[PATH_MAX];
	char *text = NULL;
	size_t len = 0;
	int kind, rc;

	if ((rc = bk_join(sealed, sizeof(sealed), o->vault_dir,
	    VAULT_SEALED_FILE)) != COFFER_OK ||
	    (rc = bk_join(path, sizeof(path), out, BACKUP_MANIFEST_FILE)) !=
	    COFFER_OK)
		return rc;
	if ((kind = keys_sealed_with_passphrase(sealed)) < 0)
		return coffer_detail(d, -kind, BACKUP_SEALED, "unreadable");
	qsort(l->f, l->n, sizeof(*l->f), bk_cmp_file);
	memset(&m, 0, sizeof(m));
	m.created = (uint64_t)time(NULL);
	memcpy(m.vault_pk, o->identity_pk, 32);
	memcpy(m.audit_pk, apk, 32);
	m.audit_size = cp->size;
	memcpy(m.audit_root, cp->root, 32);
	m.seal = kind ? BACKUP_SEAL_PASSPHRASE : BACKUP_SEAL_KEYFILE;
	m.files = l->f;
	m.nfiles = l->n;
	if ((rc = backup_manifest_encode_signed(&m, o->sign, o->sign_arg,
	    &text, &len)) != COFFER_OK)
		return coffer_detail(d, rc, BACKUP_MANIFEST_FILE, "cannot sign "
		    "the manifest");
	rc = file_write_atomic(path, text, len, 0600);
	if (rc == COFFER_OK && id != NULL)
		backup_manifest_id(text, len, id);
	free(text);
	return rc;
}

/* Everything after the database snapshot is fixed and before it is
 * copied: the log, master.sealed, the policy. */
static int
between(const struct backup_online *o, const char *out, struct filelist *l,
    struct ckpt *cp, struct coffer_errdetail *d)
{
	char outaudit[PATH_MAX];
	int rc;

	if ((rc = bk_join(outaudit, sizeof(outaudit), out, BACKUP_AUDIT)) !=
	    COFFER_OK ||
	    (rc = snapshot_audit(o, outaudit, l, cp, d)) != COFFER_OK ||
	    (rc = copy_vault_file(o->vault_dir, out, BACKUP_SEALED, 0, l,
	    d)) != COFFER_OK)
		return rc;
	if ((rc = copy_vault_file(o->vault_dir, out, BACKUP_KEYS_GEN, 1, l,
	    d)) != COFFER_OK ||
	    (rc = copy_vault_file(o->vault_dir, out, BACKUP_AUDIT_PUB, 1, l,
	    d)) != COFFER_OK ||
	    (rc = copy_vault_file(o->vault_dir, out, BACKUP_IDROT, 1, l, d)) !=
	    COFFER_OK)
		return rc;
	return copy_vault_file(o->vault_dir, out, BACKUP_POLICY, 1, l, d);
}

int
backup_create_online(const struct backup_online *o, const char *out,
    char id[65], struct coffer_errdetail *d)
{
	char dbpath[PATH_MAX];
	struct filelist l = { NULL, 0 };
	struct audit_view view;
	struct backup_file *f;
	struct ckpt cp;
	sqlite3 *db;
	int rc, frc;

	if (o->st == NULL || o->audit == NULL || o->sign == NULL ||
	    (db = store_sqlite(o->st)) == NULL)
		return COFFER_ERR_INVALID;
	if ((rc = bk_join(dbpath, sizeof(dbpath), out, BACKUP_DB)) != COFFER_OK)
		return rc;
	if ((l.f = calloc(BACKUP_FILES_MAX, sizeof(*l.f))) == NULL)
		return COFFER_ERR_NOMEM;
	if (mkdir(out, 0700) != 0) {
		rc = coffer_detail(d, errno == EEXIST ? COFFER_ERR_CONFLICT :
		    COFFER_ERR_IO, "path", "%s: %s", out, errno == EEXIST ?
		    "already exists" : strerror(errno));
		free(l.f);
		return rc;
	}
	/* Snapshot first: every change in it was audited before it was
	 * committed, so the log copied next covers all of them. */
	if ((rc = bk_export_begin(db, o->backup_key, dbpath)) != COFFER_OK) {
		coffer_detail(d, rc, BACKUP_DB, "cannot start the export: %s",
		    coffer_strerror(rc));
		goto out;
	}
	rc = between(o, out, &l, &cp, d);
	frc = bk_export_finish(db, dbpath, rc == COFFER_OK);
	if (rc != COFFER_OK)
		goto out;
	if ((rc = frc) != COFFER_OK) {
		coffer_detail(d, rc, BACKUP_DB, "export failed: %s",
		    coffer_strerror(rc));
		goto out;
	}
	audit_view_get(o->audit, &view);
	if ((f = bk_add_file(&l, BACKUP_DB)) == NULL) {
		rc = COFFER_ERR_INTERNAL;
		goto out;
	}
	if ((rc = bk_hash_file(dbpath, f)) != COFFER_OK ||
	    (rc = sign_manifest(o, out, &l, &cp, view.pk, id, d)) !=
	    COFFER_OK ||
	    (rc = bk_sync_dir(out)) != COFFER_OK)
		goto out;
out:
	if (rc != COFFER_OK)
		backup_remove_dir(out);
	free(l.f);
	return rc;
}
