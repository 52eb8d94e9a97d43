/*
 * backup.h - vault backups: a directory holding the database re-encrypted
 * under the backup key, the audit log with its signed checkpoint, a copy of
 * master.sealed and a manifest signed by the daemon identity key; verified
 * without restoring, and restored into a new vault directory.
 * Format and reasoning: docs/backup.md.
 *
 * Every function returns a COFFER_* status; when a coffer_errdetail is
 * given, detail->field names the file at fault (path inside the backup,
 * e.g. "coffer.db") and detail->message says what is wrong.
 */
#ifndef COFFER_BACKUP_H
#define COFFER_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "coffer/err.h"

#define BACKUP_MANIFEST_FILE "MANIFEST"
#define BACKUP_MAGIC "coffer-backup-v1"
#define BACKUP_MANIFEST_MAX 65536 /* bytes read of a manifest */
#define BACKUP_FILES_MAX 4096     /* files a manifest may list */
#define BACKUP_PATH_MAX 128       /* longest path inside a backup + NUL */

enum backup_seal { BACKUP_SEAL_PASSPHRASE = 1, BACKUP_SEAL_KEYFILE = 2 };

struct backup_file {
	char path[BACKUP_PATH_MAX]; /* relative, [A-Za-z0-9._-] and '/' */
	uint64_t size;
	unsigned char sha256[32];
};

/* What a manifest says (docs/backup.md, "MANIFEST"). */
struct backup_manifest {
	uint64_t created;           /* Unix time, seconds, UTC */
	unsigned char vault_pk[32]; /* daemon identity key: signs the manifest */
	unsigned char audit_pk[32]; /* audit checkpoint key */
	uint64_t audit_size;        /* records the included checkpoint covers */
	unsigned char audit_root[32]; /* its Merkle root */
	enum backup_seal seal;      /* how the included master.sealed opens */
	struct backup_file *files;  /* sorted by path, bytewise; malloc'd */
	size_t nfiles;
};

/*
 * Canonical text of m (files must already be sorted and valid) followed
 * by the signature line, signed with sk (Ed25519, 64 bytes) whose public
 * half must be m->vault_pk.  *out is malloc'd, not NUL-terminated.
 */
int backup_manifest_encode(const struct backup_manifest *m,
    const unsigned char sk[64], char **out, size_t *len);

/*
 * A signer holding the daemon identity key (struct daemon_keys.sign):
 * Ed25519 signature of m[0..len) into sig; a COFFER_* status.
 */
typedef int (*backup_sign_fn)(void *arg, unsigned char sig[64],
    const unsigned char *m, size_t len);

/*
 * As backup_manifest_encode, signed by sign(arg, ...) instead of a secret
 * key in the caller's memory.  The signature is checked against
 * m->vault_pk before it is used (COFFER_ERR_CRYPTO otherwise).
 */
int backup_manifest_encode_signed(const struct backup_manifest *m,
    backup_sign_fn sign, void *arg, char **out, size_t *len);

/*
 * Parse and check a manifest: strict grammar, canonical form (it must
 * re-encode to the same bytes), and a valid signature by the key it
 * names.  With pin != NULL that key must also equal pin
 * (COFFER_ERR_HOSTKEY otherwise).  COFFER_ERR_PROTO malformed,
 * COFFER_ERR_CRYPTO bad signature.  m is filled only on success; free it
 * with backup_manifest_free (harmless on a zeroed or failed one).
 */
int backup_manifest_parse(const char *text, size_t len,
    const unsigned char *pin, struct backup_manifest *m,
    struct coffer_errdetail *detail);
void backup_manifest_free(struct backup_manifest *m);

/* SHA-256 of manifest bytes as 64 hex characters + NUL (for records). */
void backup_manifest_id(const char *text, size_t len, char out[65]);

struct sqlite3;
/*
 * Copy the database open on src into a new file path (must not exist,
 * created 0600) encrypted with the raw 32-byte key, with
 * sqlcipher_export inside one read transaction: a consistent snapshot
 * even while other connections write (WAL).  src is borrowed and must
 * not be inside a transaction (ATTACH is refused there): a daemon may
 * pass an idle connection of its own; coffer-admin passes one opened by
 * backup_create.  On failure path is removed.
 */
int backup_export_db(struct sqlite3 *src, const unsigned char key[32],
    const char *path);

struct vault;
/*
 * Take a backup of v into the new directory out (must not exist; made
 * 0700).  The caller holds the vault lock (vault_lock), so nothing writes
 * the database or the audit log meanwhile, and has already appended the
 * audit record of this backup.  On failure out is removed.  *id (may be
 * NULL) gets the manifest id (backup_manifest_id).
 */
int backup_create(const struct vault *v, const char *out, char id[65],
    struct coffer_errdetail *detail);

struct store;
struct audit_log;
/*
 * What an online backup (the running daemon, docs/backup.md section 7)
 * works with.  Everything is borrowed.
 */
struct backup_online {
	const char *vault_dir;            /* master.sealed, policy.yaml */
	struct store *st;                 /* an idle connection (no open
	                                   * transaction) of the vault's db */
	const unsigned char *backup_key;  /* 32 bytes, KEYS_SUB_BACKUP */
	const unsigned char *identity_pk; /* 32 bytes: the manifest's "vault" */
	backup_sign_fn sign;              /* with the identity key */
	void *sign_arg;
	struct audit_log *audit;          /* the vault's open log */
	/*
	 * Called once the database snapshot is fixed and before the audit
	 * log is copied: appends the backup.create record, which is then
	 * inside the backup.  A status other than COFFER_OK stops the backup.
	 */
	int (*before_audit)(void *arg);
	void *before_arg;
};

/*
 * Take a backup of a vault that a running daemon serves, into the new
 * directory out (must not exist; made 0700), while other connections
 * keep reading and writing.  The database is exported from o->st in one
 * read transaction begun first, so every change in the copy was recorded
 * in the audit log before the copy's snapshot; then o->before_audit runs,
 * a checkpoint is signed (audit_checkpoint_now) and the log is copied up
 * to and including that checkpoint's frame - records appended meanwhile
 * are left out - with the checkpoint as audit/checkpoint.  The result is
 * the same format as backup_create's and passes backup_verify.  On
 * failure out is removed.  *id (may be NULL) gets the manifest id.
 */
int backup_create_online(const struct backup_online *o, const char *out,
    char id[65], struct coffer_errdetail *detail);

/* What a verified backup contains, for the caller to show. */
struct backup_info {
	struct backup_manifest m;   /* owned: backup_info_free */
	char id[65];                /* backup_manifest_id */
	uint64_t audit_records;     /* records in the included log */
	int db_checked;             /* 1 if the database copy was opened */
};
void backup_info_free(struct backup_info *info);

/*
 * Verify the backup in dir: manifest (signature, pin as in
 * backup_manifest_parse), every listed file's size and SHA-256, no file
 * missing and no unlisted file, the audit log inside with the coffer-verify
 * engine up to the included checkpoint (which must match the manifest).
 * When keys is not NULL - the backup opened as a vault with its own
 * master.sealed and the recovery material, vault_open(dir, ...) - its
 * identity and audit keys must be the manifest's, and the database copy
 * must open with its backup key and pass PRAGMA integrity_check and
 * cipher_integrity_check.  info (may be NULL) is filled on success.
 */
int backup_verify(const char *dir, const unsigned char *pin,
    const struct vault *keys, struct backup_info *info,
    struct coffer_errdetail *detail);

/*
 * Restore: verify dir as above (keys required), then make newdir (must
 * not exist, or be an empty directory of ours; 0700) with master.sealed,
 * daemon.pub, audit.pub, the policy if the backup has one, the audit log,
 * and coffer.db re-encrypted from the backup key to the database key.
 * The new vault keeps the master key, so it opens with the same
 * passphrase or key file.  The caller then opens newdir as a vault and
 * appends the "vault.restore" record.  On failure everything made is
 * removed.
 */
int backup_restore(const char *dir, const unsigned char *pin,
    const struct vault *keys, const char *newdir, struct backup_info *info,
    struct coffer_errdetail *detail);

/* Remove a directory that backup_create/backup_restore made, and the
 * files in it (one level of subdirectories).  Best effort. */
void backup_remove_dir(const char *dir);

#endif
