/*
 * vault.h - one vault directory, opened: the master key unsealed, every
 * subkey derived from it, and the lock that keeps a second writer out.
 * Shared by cofferd and the offline coffer-admin.  Directory layout and
 * key hierarchy: docs/keys.md.
 *
 * A struct vault owns its keys in one guard-paged, read-only
 * sodium_malloc'd block; the pointers the accessors return stay valid
 * until vault_close(), which wipes them.  The master key itself is not
 * kept once the subkeys are derived.
 */
#ifndef COFFER_VAULT_H
#define COFFER_VAULT_H

#include <stddef.h>

#include "coffer/keys.h"
#include "coffer/store.h"

/* Names inside the vault directory. */
#define VAULT_SEALED_FILE "master.sealed" /* sealed master key, 0600 */
#define VAULT_KEY_FILE "master.key"  /* default wrapping key file (demo) */
#define VAULT_DB_FILE "coffer.db"    /* SQLCipher database */
#define VAULT_DAEMON_PUB "daemon.pub" /* daemon identity, public line */
#define VAULT_AUDIT_PUB "audit.pub"  /* audit checkpoint key, public line */
#define VAULT_LOCK_FILE "cofferd.lock" /* flock(2) target */
#define VAULT_AUDIT_DIR "audit"      /* the audit log, made with the vault */

struct vault;

/*
 * Create a new vault in dir: dir is made 0700 (an existing, empty
 * directory we own is accepted and tightened to 0700; anything else is
 * COFFER_ERR_CONFLICT), a master key is generated and sealed - under a
 * fresh wrapping key written to keyfile (O_EXCL, 0600) when keyfile is not
 * NULL, otherwise under pass/passlen - daemon.pub and audit.pub are
 * written, and the audit log is started in dir/audit with a first record
 * "vault.create".  The database is not created: call vault_store_open(v, 1, ...).
 * On failure nothing is left behind.
 */
int vault_create(const char *dir, const char *keyfile, const char *pass,
    size_t passlen, struct vault **out);

/*
 * Open an existing vault: dir must be a directory owned by the effective
 * user and not writable by group or others (COFFER_ERR_PERM).  For a vault
 * sealed with a key file, keyfile names it; NULL means dir/master.key.
 * For a passphrase vault pass/passlen is the passphrase (NULL:
 * COFFER_ERR_USAGE).  COFFER_ERR_KEY for a wrong key or passphrase.
 * An interrupted database key rotation (DIR/coffer.db.rekey) is settled
 * first, under the vault lock (COFFER_ERR_BUSY while another process
 * holds it), and recorded in the audit log: see vault_rekey_recovered.
 * COFFER_ERR_DB if neither of its generations opens the database,
 * COFFER_ERR_CONFLICT if the marker is malformed or keys.gen names
 * neither of them.
 */
int vault_open(const char *dir, const char *keyfile, const char *pass,
    size_t passlen, struct vault **out);

/* 1 if dir's master key is sealed under a passphrase, 0 if under a key
 * file, or minus a COFFER_ERR_* code. */
int vault_needs_passphrase(const char *dir);

/*
 * Take the vault's exclusive lock (flock on dir/cofferd.lock, held until
 * vault_close).  COFFER_ERR_BUSY if another process holds it - cofferd, or
 * coffer-admin changing the vault.  Calling it twice is harmless.
 */
int vault_lock(struct vault *v);

/* Close, release the lock and wipe every key.  NULL is allowed. */
void vault_close(struct vault *v);

/*
 * Undo a vault_create() that the caller could not finish (e.g. the first
 * administrator could not be registered): close v and remove every file
 * vault_create and the database made, and the directory if it made it.
 * Only for a struct vault from vault_create; otherwise the same as
 * vault_close.
 */
void vault_discard(struct vault *v);

#define VAULT_SEALED_NEW "master.sealed.new" /* a reseal in progress */

/*
 * Reseal the master key (key rotation without re-encryption): unseal
 * master.sealed with the current material (old_keyfile, NULL meaning
 * DIR/master.key, or old_pass for a passphrase vault, as vault_open) and
 * seal the same master key under a new passphrase new_pass/new_len, or -
 * when new_keyfile is not NULL - under a fresh wrapping key written to the
 * new file new_keyfile (O_EXCL, 0600; removed again on failure).  The new
 * file is written as DIR/master.sealed.new (fsync'd), opened again with
 * the new material, then renamed over master.sealed and the directory
 * fsync'd: after a crash master.sealed is the old file or the new one,
 * never neither.  Needs the vault lock (COFFER_ERR_BUSY).  COFFER_ERR_KEY:
 * wrong current material, or master.sealed no longer holds v's key.
 */
int vault_reseal(struct vault *v, const char *old_keyfile, const char *old_pass,
    size_t old_len, const char *new_keyfile, const char *new_pass,
    size_t new_len);

struct audit_event;
/*
 * Key rotation (docs/keys.md "Rotating keys"): move purpose id
 * (KEYS_SUB_AUDIT_SIGN, KEYS_SUB_IDENTITY or KEYS_SUB_DATABASE) to its
 * next generation.  The
 * master key is unsealed again with keyfile/pass as for vault_reseal.
 * e describes the change for the audit record (op "key.rotate", kind
 * "audit-key" / "identity-key", actor...); the new key and the old key's
 * certification are added to it.  Audit key: the record goes in through
 * audit_rotate_key, certified by the old key, and every later checkpoint is
 * signed by the new one.  Identity key: a rotation statement signed by the
 * old identity key is appended to DIR/identity.rot and recorded; the old
 * daemon.pub is kept as daemon.pub.GEN.  Then DIR/keys.gen is rewritten
 * atomically and v uses the new key (the old secret is wiped).
 * *resumed (may be NULL) is 1 when the log already held the announcement
 * of an earlier, interrupted run, which this call only completed.
 * Database key (kind "database-key"): e is appended as it is, then the
 * database is re-encrypted in place under the next generation (marker
 * DIR/coffer.db.rekey while it runs), checked, and keys.gen rewritten;
 * no connection to the database may be open (cofferd stopped).  On
 * failure the key actually in force is found and kept (vault_db_key).
 * Needs the vault lock (COFFER_ERR_BUSY).
 */
int vault_rotate_key(struct vault *v, enum keys_subkey id,
    const char *keyfile, const char *pass, size_t passlen,
    const struct audit_event *e, unsigned *newgen, int *resumed);

/* What vault_open found of an interrupted database key rotation. */
enum vault_rekey_outcome {
	VAULT_REKEY_NONE = 0,        /* no marker */
	VAULT_REKEY_COMPLETED = 1,   /* the new generation is in force */
	VAULT_REKEY_ROLLED_BACK = 2  /* the old generation stays */
};
/* ... and the generations the marker named (from, to may be NULL). */
enum vault_rekey_outcome vault_rekey_recovered(const struct vault *v,
    unsigned *from, unsigned *to);

/* Current generation of purpose id (0: never rotated). */
unsigned vault_key_generation(const struct vault *v, enum keys_subkey id);
/* The first (generation 0) audit public key: audit.pub, the log origin. */
const unsigned char *vault_audit_first_pk(const struct vault *v);
/* The audit public keys before the current one, oldest first, for
 * audit_options.prev_pks; valid until vault_close or a rotation. */
void vault_audit_prev_pks(const struct vault *v,
    const unsigned char (**pks)[32], size_t *n);
struct idrot;
/* The identity rotation statements of DIR/identity.rot (idrot_load). */
int vault_identity_rotations(const struct vault *v, struct idrot *out,
    size_t max, size_t *n);

/* DIR/audit into buf; COFFER_ERR_INVALID if it does not fit. */
int vault_audit_path(const struct vault *v, char *buf, size_t bufsz);
/* The audit log's checkpoint origin: "coffer/" + 24 characters of the
 * audit key's fingerprint. */
void vault_audit_origin(const struct vault *v, char *buf, size_t bufsz);

struct audit_event;
/*
 * Append one record to the vault's audit log from an offline tool: needs
 * the vault lock (COFFER_ERR_BUSY otherwise, so never while cofferd runs);
 * returns once the record and a new checkpoint are durable.
 */
int vault_audit_append(struct vault *v, const struct audit_event *e);

/* Open a new connection to the vault's database (one per thread). */
int vault_store_open(const struct vault *v, int create, struct store **out);

const char *vault_dir(const struct vault *v);
const char *vault_store_path(const struct vault *v);

/* 32-byte SQLCipher raw key (KEYS_SUB_DATABASE). */
const unsigned char *vault_db_key(const struct vault *v);
/* Daemon identity Ed25519 keypair (seed KEYS_SUB_IDENTITY): pk 32, sk 64. */
const unsigned char *vault_identity_pk(const struct vault *v);
const unsigned char *vault_identity_sk(const struct vault *v);
/* Audit checkpoint Ed25519 keypair (seed KEYS_SUB_AUDIT_SIGN). */
const unsigned char *vault_audit_sign_pk(const struct vault *v);
const unsigned char *vault_audit_sign_sk(const struct vault *v);
/* 32-byte key for keyed hashes in the audit log (KEYS_SUB_AUDIT_HASH). */
const unsigned char *vault_audit_hash_key(const struct vault *v);
/* 32-byte backup encryption key (KEYS_SUB_BACKUP). */
const unsigned char *vault_backup_key(const struct vault *v);

#endif
