/*
 * vault.c - creating and opening a vault directory: unseal the master key,
 * derive the per-purpose keys, hold the directory lock.  Used by cofferd
 * and coffer-admin alike so both read the vault the same way.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/audit.h"
#include "coffer/err.h"
#include "coffer/idrot.h"
#include "coffer/keys.h"
#include "coffer/rekey.h"
#include "coffer/secfile.h"
#include "coffer/store.h"
#include "coffer/vault.h"

/* Everything secret, in one guard-paged block made read-only once full. */
struct vault_keys {
	unsigned char db[32];
	unsigned char id_pk[32];
	unsigned char id_sk[64];
	unsigned char audit_pk[32];
	unsigned char audit_sk[64];
	unsigned char audit_hash[32];
	unsigned char backup[32];
};

struct vault {
	char dir[PATH_MAX];
	char store_path[PATH_MAX];
	struct vault_keys *k;
	struct keys_gen gen;      /* DIR/keys.gen as opened */
	/* public: audit keys of generations 0..gen-1 (the log's chain) */
	unsigned char (*audit_prev)[32];
	unsigned char audit_first[32]; /* generation 0: audit.pub, origin */
	int lock_fd;
	/* An interrupted database key rotation settled by vault_open. */
	enum vault_rekey_outcome rekey;
	struct rekey_marker rekey_m;
	int rekey_took_lock;      /* locked only to settle it */
	/* Set only by vault_create, for vault_discard. */
	int created;
	int made_dir;
	char made_keyfile[PATH_MAX];
};

static int
join(char *buf, size_t bufsz, const char *dir, const char *name)
{
	int n = snprintf(buf, bufsz, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= bufsz) ? COFFER_ERR_INVALID : COFFER_OK;
}

static int
vault_new(const char *dir, struct vault **out)
{
	struct vault *v = NULL;
	size_t len = strlen(dir);

	*out = NULL;
	/* "dir/" is not "dir": trailing slashes would only make odd paths. */
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len == 0 || len >= PATH_MAX)
		return COFFER_ERR_INVALID;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return COFFER_ERR_NOMEM;
	v->lock_fd = -1;
	memcpy(v->dir, dir, len);
	v->dir[len] = '\0';
	if (join(v->store_path, sizeof(v->store_path), v->dir,
	    VAULT_DB_FILE) != COFFER_OK) {
		free(v);
		return COFFER_ERR_INVALID;
	}
	*out = v;
	return COFFER_OK;
}

/* One Ed25519 keypair from a derived 32-byte seed (generation gen). */
static int
derive_keypair_gen(const unsigned char *master, enum keys_subkey id,
    unsigned gen, unsigned char pk[32], unsigned char sk[64])
{
	unsigned char *seed = NULL;
	int rc;

	if ((seed = sodium_malloc(crypto_sign_SEEDBYTES)) == NULL)
		return COFFER_ERR_NOMEM;
	rc = keys_derive_gen(master, id, gen, seed, crypto_sign_SEEDBYTES);
	if (rc == COFFER_OK && crypto_sign_seed_keypair(pk, sk, seed) != 0)
		rc = COFFER_ERR_INTERNAL;
	sodium_free(seed);
	return rc;
}

/* The public halves of the audit keys before the current generation. */
static int
derive_audit_chain(struct vault *v, const unsigned char *master)
{
	unsigned n = v->gen.g[KEYS_SUB_AUDIT_SIGN], i;
	unsigned char *sk = NULL;
	int rc = COFFER_OK;

	if ((sk = sodium_malloc(64)) == NULL)
		return COFFER_ERR_NOMEM;
	if (n > 0 && (v->audit_prev = calloc(n, 32)) == NULL)
		rc = COFFER_ERR_NOMEM;
	for (i = 0; i < n && rc == COFFER_OK; i++)
		rc = derive_keypair_gen(master, KEYS_SUB_AUDIT_SIGN, i,
		    v->audit_prev[i], sk);
	if (rc == COFFER_OK && n > 0)
		memcpy(v->audit_first, v->audit_prev[0], 32);
	sodium_free(sk);
	return rc;
}

/* Every purpose at the generation keys.gen names. */
static int
derive_all(struct vault *v, const unsigned char *master)
{
	const unsigned *g = v->gen.g;
	struct vault_keys *k = NULL;
	int rc;

	if ((k = sodium_malloc(sizeof(*k))) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = keys_derive_gen(master, KEYS_SUB_DATABASE,
	    g[KEYS_SUB_DATABASE], k->db, sizeof(k->db))) != COFFER_OK ||
	    (rc = derive_keypair_gen(master, KEYS_SUB_IDENTITY,
	    g[KEYS_SUB_IDENTITY], k->id_pk, k->id_sk)) != COFFER_OK ||
	    (rc = derive_keypair_gen(master, KEYS_SUB_AUDIT_SIGN,
	    g[KEYS_SUB_AUDIT_SIGN], k->audit_pk, k->audit_sk)) != COFFER_OK ||
	    (rc = keys_derive_gen(master, KEYS_SUB_AUDIT_HASH,
	    g[KEYS_SUB_AUDIT_HASH], k->audit_hash, sizeof(k->audit_hash))) !=
	    COFFER_OK ||
	    (rc = keys_derive_gen(master, KEYS_SUB_BACKUP, g[KEYS_SUB_BACKUP],
	    k->backup, sizeof(k->backup))) != COFFER_OK) {
		sodium_free(k); /* sodium_free wipes */
		return rc;
	}
	memcpy(v->audit_first, k->audit_pk, 32);
	if ((rc = derive_audit_chain(v, master)) != COFFER_OK) {
		sodium_free(k);
		return rc;
	}
	/* A stray write through an accessor's pointer now faults. */
	sodium_mprotect_readonly(k);
	v->k = k;
	return COFFER_OK;
}

/*
 * Like ssh with ~/.ssh: whoever can write the directory can swap the
 * sealed key, the database or daemon.pub, so it must be ours and closed.
 */
static int
check_dir(const char *dir)
{
	struct stat sb;

	if (stat(dir, &sb) != 0)
		return errno == ENOENT ? COFFER_ERR_NOT_FOUND : COFFER_ERR_IO;
	if (!S_ISDIR(sb.st_mode))
		return COFFER_ERR_INVALID;
	if (sb.st_uid != geteuid() || (sb.st_mode & 022) != 0)
		return COFFER_ERR_PERM;
	return COFFER_OK;
}

static int
dir_is_empty(const char *dir)
{
	DIR *d = NULL;
	struct dirent *e;
	int rc = COFFER_OK;

	if ((d = opendir(dir)) == NULL)
		return COFFER_ERR_IO;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			rc = COFFER_ERR_CONFLICT;
			break;
		}
	}
	closedir(d);
	return rc;
}

/* Make dir 0700, or accept an existing empty directory of ours. */
static int
make_dir(struct vault *v)
{
	struct stat sb;
	int rc;

	if (mkdir(v->dir, 0700) == 0) {
		v->made_dir = 1;
		return COFFER_OK;
	}
	if (errno != EEXIST)
		return COFFER_ERR_IO;
	if (lstat(v->dir, &sb) != 0)
		return COFFER_ERR_IO;
	if (!S_ISDIR(sb.st_mode))
		return COFFER_ERR_CONFLICT;
	if (sb.st_uid != geteuid())
		return COFFER_ERR_PERM;
	if ((rc = dir_is_empty(v->dir)) != COFFER_OK)
		return rc;
	return chmod(v->dir, 0700) == 0 ? COFFER_OK : COFFER_ERR_IO;
}

static int
write_pub(const struct vault *v, const char *name, const unsigned char pk[32],
    const char *comment)
{
	char path[PATH_MAX], line[USERKEY_PUBLIC_TEXT + 1];
	size_t len;
	int rc;

	if ((rc = join(path, sizeof(path), v->dir, name)) != COFFER_OK)
		return rc;
	userkey_format_public(pk, comment, line, sizeof(line) - 1);
	len = strlen(line);
	line[len++] = '\n';
	return file_write_atomic(path, line, len, 0644);
}

/* Seal a new master key the chosen way and derive from it. */
static int
seal_new(struct vault *v, const char *keyfile, const char *pass,
    size_t passlen)
{
	char sealed[PATH_MAX];
	unsigned char *master = NULL;
	int rc;

	if ((rc = join(sealed, sizeof(sealed), v->dir, VAULT_SEALED_FILE)) !=
	    COFFER_OK)
		return rc;
	if ((master = sodium_malloc(KEYS_MASTER_BYTES)) == NULL)
		return COFFER_ERR_NOMEM;
	keys_master_generate(master);
	if (keyfile != NULL) {
		rc = keys_seal_keyfile(master, keyfile, sealed);
		if (rc == COFFER_OK)
			snprintf(v->made_keyfile, sizeof(v->made_keyfile),
			    "%s", keyfile);
	} else {
		rc = keys_seal_passphrase(master, pass, passlen, sealed);
	}
	if (rc == COFFER_OK)
		rc = derive_all(v, master);
	sodium_free(master);
	return rc;
}

void
vault_audit_origin(const struct vault *v, char *buf, size_t bufsz)
{
	char fpr[USERKEY_FPR_TEXT];
	size_t i;

	/* "SHA256:" + base64: keep 24 characters, made origin-safe.  The
	 * first key names the log for good: rotations keep the origin. */
	userkey_fingerprint(v->audit_first, fpr, sizeof(fpr));
	for (i = 0; fpr[i] != '\0'; i++)
		if (fpr[i] == '+' || fpr[i] == '/' || fpr[i] == ':')
			fpr[i] = '-';
	snprintf(buf, bufsz, "coffer/%.24s", fpr + 7);
}

int
vault_audit_path(const struct vault *v, char *buf, size_t bufsz)
{
	return join(buf, bufsz, v->dir, VAULT_AUDIT_DIR);
}

void
vault_audit_prev_pks(const struct vault *v, const unsigned char (**pks)[32],
    size_t *n)
{
	*pks = (const unsigned char (*)[32])v->audit_prev;
	*n = v->gen.g[KEYS_SUB_AUDIT_SIGN];
}

/* Open the vault's audit log with the key of generation gen (sk), the
 * ones before it as the chain. */
static int
open_log(struct vault *v, int create, unsigned gen, const unsigned char *sk,
    struct audit_log **l)
{
	struct coffer_errdetail det;
	struct audit_options ao;
	char dir[PATH_MAX], origin[64];
	int rc;

	if ((rc = vault_audit_path(v, dir, sizeof(dir))) != COFFER_OK)
		return rc;
	vault_audit_origin(v, origin, sizeof(origin));
	memset(&ao, 0, sizeof(ao));
	ao.dir = dir;
	ao.origin = origin;
	ao.create = create;
	ao.prev_pks = (const unsigned char (*)[32])v->audit_prev;
	ao.nprev_pks = gen;
	return audit_open(&ao, sk, v->k->audit_hash, &det, l);
}

/* Open (or with create, start) the vault's audit log, append e,
 * checkpoint, close. */
static int
append_record(struct vault *v, int create, const struct audit_event *e)
{
	struct audit_log *l = NULL;
	int rc;

	if ((rc = open_log(v, create, v->gen.g[KEYS_SUB_AUDIT_SIGN],
	    v->k->audit_sk, &l)) != COFFER_OK)
		return rc;
	rc = audit_append(l, e, NULL);
	if (rc == COFFER_OK)
		rc = audit_checkpoint_now(l);
	audit_close(l);
	return rc;
}

/*
 * Offline tools (coffer-admin, while holding the vault lock) record what
 * they change in the same log the daemon writes, so there is no unaudited
 * way to change a vault.
 */
int
vault_audit_append(struct vault *v, const struct audit_event *e)
{
	if (v->lock_fd < 0)
		return COFFER_ERR_BUSY;
	return append_record(v, 0, e);
}

/*
 * The audit log is born with the vault, its first record saying so, so
 * that the daemon never has to create one: a vault whose log is missing
 * is refused, not silently given a new chain.
 */
static int
create_audit_log(struct vault *v)
{
	struct audit_event e;

	memset(&e, 0, sizeof(e));
	e.op = "vault.create";
	e.decision = AUDIT_ALLOWED;
	return append_record(v, 1, &e);
}

int
vault_create(const char *dir, const char *keyfile, const char *pass,
    size_t passlen, struct vault **out)
{
	struct vault *v = NULL;
	int rc;

	*out = NULL;
	if (keyfile == NULL && (pass == NULL || passlen == 0))
		return COFFER_ERR_USAGE;
	if (keyfile != NULL && strlen(keyfile) >= PATH_MAX)
		return COFFER_ERR_INVALID;
	if ((rc = vault_new(dir, &v)) != COFFER_OK)
		return rc;
	if ((rc = make_dir(v)) != COFFER_OK) {
		free(v);
		return rc;
	}
	v->created = 1;
	if ((rc = seal_new(v, keyfile, pass, passlen)) != COFFER_OK ||
	    (rc = write_pub(v, VAULT_DAEMON_PUB, v->k->id_pk, "cofferd")) !=
	    COFFER_OK ||
	    (rc = write_pub(v, VAULT_AUDIT_PUB, v->k->audit_pk,
	    "coffer-audit")) != COFFER_OK ||
	    (rc = create_audit_log(v)) != COFFER_OK) {
		vault_discard(v);
		return rc;
	}
	*out = v;
	return COFFER_OK;
}

int
vault_needs_passphrase(const char *dir)
{
	char sealed[PATH_MAX];

	if (join(sealed, sizeof(sealed), dir, VAULT_SEALED_FILE) != COFFER_OK)
		return -COFFER_ERR_INVALID;
	return keys_sealed_with_passphrase(sealed);
}

/* The master key from dir/master.sealed into master (KEYS_MASTER_BYTES). */
static int
unseal_master(const char *dir, const char *keyfile, const char *pass,
    size_t passlen, unsigned char *master)
{
	char sealed[PATH_MAX], defkey[PATH_MAX];
	int kind, rc;

	if ((rc = join(sealed, sizeof(sealed), dir, VAULT_SEALED_FILE)) !=
	    COFFER_OK ||
	    (rc = join(defkey, sizeof(defkey), dir, VAULT_KEY_FILE)) !=
	    COFFER_OK)
		return rc;
	if ((kind = keys_sealed_with_passphrase(sealed)) < 0)
		return -kind;
	if (kind == 0 && keyfile == NULL)
		keyfile = defkey;
	if (kind == 1 && pass == NULL)
		return COFFER_ERR_USAGE;
	return keys_unseal(sealed, keyfile, pass, passlen, master);
}

static int rekey_settle(struct vault *v, const unsigned char *master);
static int rekey_settled(struct vault *v);

static int
unseal(struct vault *v, const char *keyfile, const char *pass,
    size_t passlen)
{
	char path[PATH_MAX];
	unsigned char *master = NULL;
	int rc;

	if ((rc = join(path, sizeof(path), v->dir, KEYS_GEN_FILE)) !=
	    COFFER_OK || (rc = keys_gen_load(path, &v->gen)) != COFFER_OK)
		return rc;
	if ((master = sodium_malloc(KEYS_MASTER_BYTES)) == NULL)
		return COFFER_ERR_NOMEM;
	rc = unseal_master(v->dir, keyfile, pass, passlen, master);
	/* before deriving: settling may move the database generation */
	if (rc == COFFER_OK)
		rc = rekey_settle(v, master);
	if (rc == COFFER_OK)
		rc = derive_all(v, master);
	sodium_free(master);
	if (rc == COFFER_OK && v->rekey != VAULT_REKEY_NONE)
		rc = rekey_settled(v);
	return rc;
}

/* 0 if master is the key v was opened with (same daemon identity). */
static int
same_master(const struct vault *v, const unsigned char *master)
{
	unsigned char pk[32], *sk = NULL;
	int rc;

	if ((sk = sodium_malloc(64)) == NULL)
		return COFFER_ERR_NOMEM;
	rc = derive_keypair_gen(master, KEYS_SUB_IDENTITY,
	    v->gen.g[KEYS_SUB_IDENTITY], pk, sk);
	sodium_free(sk);
	if (rc == COFFER_OK && sodium_memcmp(pk, v->k->id_pk, 32) != 0)
		rc = COFFER_ERR_KEY;
	return rc;
}

/*
 * Seal master the new way into tmp, then open tmp with the new material
 * and require the same master: a file that would not open never
 * replaces one that does.
 */
static int
seal_checked(const unsigned char *master, const char *tmp,
    const char *new_keyfile, const char *new_pass, size_t new_len)
{
	unsigned char *again = NULL;
	int rc;

	if (new_keyfile != NULL)
		rc = keys_seal_keyfile(master, new_keyfile, tmp);
	else
		rc = keys_seal_passphrase(master, new_pass, new_len, tmp);
	if (rc != COFFER_OK)
		return rc;
	if ((again = sodium_malloc(KEYS_MASTER_BYTES)) == NULL)
		rc = COFFER_ERR_NOMEM;
	else if ((rc = keys_unseal(tmp, new_keyfile, new_pass, new_len,
	    again)) == COFFER_OK && sodium_memcmp(again, master,
	    KEYS_MASTER_BYTES) != 0)
		rc = COFFER_ERR_INTERNAL;
	sodium_free(again);
	/* ours: keys_seal_keyfile made it (O_EXCL) just above */
	if (rc != COFFER_OK && new_keyfile != NULL)
		unlink(new_keyfile);
	return rc;
}

int
vault_reseal(struct vault *v, const char *old_keyfile, const char *old_pass,
    size_t old_len, const char *new_keyfile, const char *new_pass,
    size_t new_len)
{
	char sealed[PATH_MAX], tmp[PATH_MAX];
	unsigned char *master = NULL;
	int dfd, rc;

	if (v->lock_fd < 0)
		return COFFER_ERR_BUSY;
	if (new_keyfile == NULL && (new_pass == NULL || new_len == 0))
		return COFFER_ERR_USAGE;
	if ((rc = join(sealed, sizeof(sealed), v->dir, VAULT_SEALED_FILE)) !=
	    COFFER_OK ||
	    (rc = join(tmp, sizeof(tmp), v->dir, VAULT_SEALED_NEW)) !=
	    COFFER_OK)
		return rc;
	if ((master = sodium_malloc(KEYS_MASTER_BYTES)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = unseal_master(v->dir, old_keyfile, old_pass, old_len,
	    master)) != COFFER_OK ||
	    (rc = same_master(v, master)) != COFFER_OK)
		goto out;
	/* left by a reseal that crashed before its rename: never in use */
	if (unlink(tmp) != 0 && errno != ENOENT) {
		rc = COFFER_ERR_IO;
		goto out;
	}
	if ((rc = seal_checked(master, tmp, new_keyfile, new_pass,
	    new_len)) != COFFER_OK)
		goto out;
	/* rename(2) replaces atomically: master.sealed is the old file or
	 * the new one, never missing; the directory sync makes it durable */
	if (rename(tmp, sealed) != 0) {
		if (new_keyfile != NULL)
			unlink(new_keyfile); /* seals nothing in use */
		rc = COFFER_ERR_IO;
		goto out;
	}
	if ((dfd = open(v->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) != 0)
		rc = COFFER_ERR_IO;
	if (dfd >= 0)
		close(dfd);
out:
	if (rc != COFFER_OK)
		unlink(tmp);
	sodium_free(master);
	return rc;
}

int
vault_open(const char *dir, const char *keyfile, const char *pass,
    size_t passlen, struct vault **out)
{
	struct vault *v = NULL;
	int rc;

	*out = NULL;
	if ((rc = vault_new(dir, &v)) != COFFER_OK)
		return rc;
	if ((rc = check_dir(v->dir)) != COFFER_OK ||
	    (rc = unseal(v, keyfile, pass, passlen)) != COFFER_OK) {
		vault_close(v);
		return rc;
	}
	*out = v;
	return COFFER_OK;
}

int
vault_lock(struct vault *v)
{
	char path[PATH_MAX];
	int fd, rc;

	if (v->lock_fd >= 0)
		return COFFER_OK;
	if ((rc = join(path, sizeof(path), v->dir, VAULT_LOCK_FILE)) !=
	    COFFER_OK)
		return rc;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return COFFER_ERR_IO;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? COFFER_ERR_BUSY : COFFER_ERR_IO;
		close(fd);
		return rc;
	}
	v->lock_fd = fd;
	return COFFER_OK;
}

void
vault_close(struct vault *v)
{
	if (v == NULL)
		return;
	if (v->lock_fd >= 0)
		close(v->lock_fd); /* releases the flock */
	sodium_free(v->k);     /* wipes, read-only or not */
	free(v->audit_prev);
	sodium_memzero(v, sizeof(*v));
	free(v);
}

/* Best effort: a file that is already gone is what we want anyway. */
static void
remove_in(const char *dir, const char *name)
{
	char path[PATH_MAX];

	if (join(path, sizeof(path), dir, name) == COFFER_OK)
		unlink(path);
}

/* The audit directory vault_create made, with what the log put in it. */
static void
remove_audit_dir(const char *vdir)
{
	char adir[PATH_MAX], path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (join(adir, sizeof(adir), vdir, VAULT_AUDIT_DIR) != COFFER_OK ||
	    (d = opendir(adir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' &&
		    join(path, sizeof(path), adir, e->d_name) == COFFER_OK)
			unlink(path);
	closedir(d);
	rmdir(adir);
}

void
vault_discard(struct vault *v)
{
	static const char *const made[] = { VAULT_SEALED_FILE,
	    VAULT_DAEMON_PUB, VAULT_AUDIT_PUB, VAULT_DB_FILE, KEYS_GEN_FILE,
	    IDROT_FILE,
	    VAULT_DB_FILE "-wal", VAULT_DB_FILE "-shm",
	    VAULT_DB_FILE "-journal", VAULT_LOCK_FILE };
	char dir[PATH_MAX];
	int made_dir;

	if (v == NULL)
		return;
	if (!v->created) {
		vault_close(v);
		return;
	}
	memcpy(dir, v->dir, sizeof(dir));
	made_dir = v->made_dir;
	if (v->made_keyfile[0] != '\0')
		unlink(v->made_keyfile);
	vault_close(v);
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		remove_in(dir, made[i]);
	remove_audit_dir(dir);
	if (made_dir)
		rmdir(dir);
}

int
vault_store_open(const struct vault *v, int create, struct store **out)
{
	return store_open(v->store_path, v->k->db, create, out);
}

const char *
vault_dir(const struct vault *v)
{
	return v->dir;
}

const char *
vault_store_path(const struct vault *v)
{
	return v->store_path;
}

const unsigned char *
vault_db_key(const struct vault *v)
{
	return v->k->db;
}

const unsigned char *
vault_identity_pk(const struct vault *v)
{
	return v->k->id_pk;
}

const unsigned char *
vault_identity_sk(const struct vault *v)
{
	return v->k->id_sk;
}

const unsigned char *
vault_audit_sign_pk(const struct vault *v)
{
	return v->k->audit_pk;
}

const unsigned char *
vault_audit_first_pk(const struct vault *v)
{
	return v->audit_first;
}

unsigned
vault_key_generation(const struct vault *v, enum keys_subkey id)
{
	return (unsigned)id < KEYS_SUB_COUNT ? v->gen.g[id] : 0;
}

const unsigned char *
vault_audit_sign_sk(const struct vault *v)
{
	return v->k->audit_sk;
}

const unsigned char *
vault_audit_hash_key(const struct vault *v)
{
	return v->k->audit_hash;
}

const unsigned char *
vault_backup_key(const struct vault *v)
{
	return v->k->backup;
}

/* ---- key rotation ------------------------------------------------------ */

/* The new keypair of purpose id, generation gen, from a fresh unseal. */
static int
derive_next(struct vault *v, const char *keyfile, const char *pass,
    size_t passlen, enum keys_subkey id, unsigned gen, unsigned char pk[32],
    unsigned char *sk)
{
	unsigned char *master = NULL;
	int rc;

	if ((master = sodium_malloc(KEYS_MASTER_BYTES)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = unseal_master(v->dir, keyfile, pass, passlen, master)) ==
	    COFFER_OK && (rc = same_master(v, master)) == COFFER_OK)
		rc = derive_keypair_gen(master, id, gen, pk, sk);
	sodium_free(master);
	return rc;
}

/*
 * Announce the new audit key in the log (certified by the old one) and
 * switch the log to it.  A log that already opens with the new key is a
 * rotation that stopped before keys.gen was written: nothing to append.
 */
static int
rotate_audit_log(struct vault *v, unsigned gen, const unsigned char *sk,
    const unsigned char pk[32], const struct audit_event *e, int *resumed)
{
	unsigned char (*chain)[32] = NULL, (*saved)[32] = v->audit_prev;
	struct audit_log *l = NULL;
	int rc;

	*resumed = 0;
	if ((rc = open_log(v, 0, gen, v->k->audit_sk, &l)) == COFFER_OK) {
		rc = audit_rotate_key(l, e, sk, NULL);
		audit_close(l);
		return rc;
	}
	if ((chain = calloc(gen + 1u, 32)) == NULL)
		return COFFER_ERR_NOMEM;
	if (gen > 0)
		memcpy(chain, v->audit_prev, (size_t)gen * 32);
	memcpy(chain[gen], v->k->audit_pk, 32);
	v->audit_prev = chain;
	if (open_log(v, 0, gen + 1, sk, &l) == COFFER_OK) {
		audit_close(l);
		*resumed = 1;
		rc = COFFER_OK;
	}
	v->audit_prev = saved;
	free(chain);
	(void)pk;
	return rc;
}

/* The signed statement goes to the log (as the record's key fields) and to
 * DIR/identity.rot, which the daemon sends to clients. */
static int
rotate_identity(struct vault *v, unsigned gen, const unsigned char pk[32],
    const struct audit_event *e)
{
	struct audit_event ev = *e;
	struct idrot r;
	char path[PATH_MAX];
	int rc;

	memset(&r, 0, sizeof(r));
	r.time = (uint64_t)time(NULL);
	r.gen = gen;
	memcpy(r.old_pk, v->k->id_pk, 32);
	memcpy(r.new_pk, pk, 32);
	if ((rc = idrot_sign(&r, v->k->id_sk)) != COFFER_OK ||
	    (rc = join(path, sizeof(path), v->dir, IDROT_FILE)) != COFFER_OK)
		return rc;
	ev.new_key = pk;
	ev.new_key_sig = r.sig;
	if ((rc = vault_audit_append(v, &ev)) != COFFER_OK)
		return rc;
	return idrot_append(path, &r);
}

/* keys.gen says gen for purpose id from now on; v follows. */
static int
commit_generation(struct vault *v, enum keys_subkey id, unsigned gen,
    const unsigned char pk[32], const unsigned char *sk)
{
	struct keys_gen g = v->gen;
	unsigned char (*prev)[32] = NULL;
	char path[PATH_MAX];
	int rc;

	g.g[id] = gen;
	if ((rc = join(path, sizeof(path), v->dir, KEYS_GEN_FILE)) !=
	    COFFER_OK || (rc = keys_gen_save(path, &g)) != COFFER_OK)
		return rc;
	v->gen = g;
	sodium_mprotect_readwrite(v->k);
	if (id == KEYS_SUB_AUDIT_SIGN &&
	    (prev = realloc(v->audit_prev, (size_t)gen * 32)) != NULL) {
		memcpy(prev[gen - 1], v->k->audit_pk, 32);
		v->audit_prev = prev;
	}
	if (id == KEYS_SUB_AUDIT_SIGN) {
		memcpy(v->k->audit_pk, pk, 32);
		memcpy(v->k->audit_sk, sk, 64); /* the old secret is gone */
	} else {
		memcpy(v->k->id_pk, pk, 32);
		memcpy(v->k->id_sk, sk, 64);
	}
	sodium_mprotect_readonly(v->k);
	if (id == KEYS_SUB_AUDIT_SIGN && prev == NULL)
		return COFFER_ERR_NOMEM; /* keys.gen is right; reopen the vault */
	return COFFER_OK;
}

/* daemon.pub is the new key; the old line is kept as daemon.pub.GEN. */
static int
publish_identity(const struct vault *v, unsigned oldgen,
    const unsigned char oldpk[32])
{
	char name[64];

	snprintf(name, sizeof(name), VAULT_DAEMON_PUB ".%u", oldgen);
	if (write_pub(v, name, oldpk, "cofferd (retired)") != COFFER_OK)
		return COFFER_ERR_IO;
	return write_pub(v, VAULT_DAEMON_PUB, v->k->id_pk, "cofferd");
}

/* ---- database key rotation (docs/keys.md, "Rotating the database key") */

static int
marker_path(const struct vault *v, char *buf, size_t bufsz)
{
	return join(buf, bufsz, v->dir, REKEY_MARKER_FILE);
}

/* Generation gen of the database key into key (32 bytes, guarded). */
static int
derive_db_key(const unsigned char *master, unsigned gen, unsigned char *key)
{
	return keys_derive_gen(master, KEYS_SUB_DATABASE, gen, key, 32);
}

/* keys.gen names generation gen of the database key from now on. */
static int
save_db_generation(struct vault *v, unsigned gen)
{
	struct keys_gen g = v->gen;
	char path[PATH_MAX];
	int rc;

	g.g[KEYS_SUB_DATABASE] = gen;
	if ((rc = join(path, sizeof(path), v->dir, KEYS_GEN_FILE)) !=
	    COFFER_OK || (rc = keys_gen_save(path, &g)) != COFFER_OK)
		return rc;
	v->gen = g;
	return COFFER_OK;
}

/*
 * Which of the two generations of marker m opens the database, trying the
 * one keys.gen names (g) first, so an uncommitted rekey is never looked at
 * with the key it did not reach.  Sets v->rekey and, when the target is in
 * force, keys.gen.  COFFER_ERR_DB when neither opens a sound database,
 * COFFER_ERR_CONFLICT when keys.gen is at neither generation: nothing is
 * touched and the marker stays for the administrator.
 */
static int
rekey_decide(struct vault *v, const unsigned char *master,
    const struct rekey_marker *m)
{
	unsigned g = v->gen.g[KEYS_SUB_DATABASE];
	unsigned char *key = NULL;
	int rc;

	if (g != m->from && g != m->to)
		return COFFER_ERR_CONFLICT; /* marker and keys.gen disagree */
	if ((key = sodium_malloc(32)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = derive_db_key(master, g, key)) != COFFER_OK)
		goto out;
	if ((rc = rekey_check(v->store_path, key)) == COFFER_OK) {
		v->rekey = g == m->to ? VAULT_REKEY_COMPLETED :
		    VAULT_REKEY_ROLLED_BACK;
		goto out;
	}
	if (rc != COFFER_ERR_KEY || g == m->to) {
		rc = COFFER_ERR_DB;
		goto out;
	}
	if ((rc = derive_db_key(master, m->to, key)) != COFFER_OK)
		goto out;
	if ((rc = rekey_check(v->store_path, key)) != COFFER_OK) {
		rc = COFFER_ERR_DB;
		goto out;
	}
	if ((rc = save_db_generation(v, m->to)) == COFFER_OK)
		v->rekey = VAULT_REKEY_COMPLETED;
out:
	sodium_free(key);
	return rc;
}

/* Give back a lock taken only to settle a rotation. */
static void
settle_unlock(struct vault *v)
{
	if (v->rekey_took_lock && v->lock_fd >= 0) {
		close(v->lock_fd); /* releases the flock */
		v->lock_fd = -1;
	}
	v->rekey_took_lock = 0;
}

/*
 * A marker means a rotation crashed - or runs right now in another
 * process, which holds the vault lock: then COFFER_ERR_BUSY.  Under the
 * lock keys.gen and the marker are read again, as that rotation may just
 * have finished.
 */
static int
rekey_settle(struct vault *v, const unsigned char *master)
{
	struct rekey_marker m;
	char mpath[PATH_MAX], gpath[PATH_MAX];
	int rc, took = v->lock_fd < 0;

	if ((rc = marker_path(v, mpath, sizeof(mpath))) != COFFER_OK ||
	    (rc = join(gpath, sizeof(gpath), v->dir, KEYS_GEN_FILE)) !=
	    COFFER_OK)
		return rc;
	if ((rc = rekey_marker_read(mpath, &m)) == COFFER_ERR_NOT_FOUND)
		return COFFER_OK;
	if ((rc = vault_lock(v)) != COFFER_OK)
		return rc;
	v->rekey_took_lock = took;
	if ((rc = keys_gen_load(gpath, &v->gen)) != COFFER_OK)
		return rc;
	if ((rc = rekey_marker_read(mpath, &m)) == COFFER_ERR_NOT_FOUND) {
		settle_unlock(v); /* finished meanwhile */
		return COFFER_OK;
	}
	if (rc != COFFER_OK)
		return rc == COFFER_ERR_PROTO ? COFFER_ERR_CONFLICT : rc;
	v->rekey_m = m;
	return rekey_decide(v, master, &m);
}

/*
 * The outcome goes to the audit log before the marker is removed: a crash
 * in between settles (and records) it again at the next open.  The lock
 * taken only for this is given back.
 */
static int
rekey_settled(struct vault *v)
{
	struct audit_event e;
	char mpath[PATH_MAX], reason[160], peer[48];
	const struct rekey_marker *m = &v->rekey_m;
	int rc;

	if (v->rekey == VAULT_REKEY_COMPLETED)
		snprintf(reason, sizeof(reason), "interrupted database-key "
		    "rotation from generation %u to generation %u completed "
		    "at open", m->from, m->to);
	else
		snprintf(reason, sizeof(reason), "interrupted database-key "
		    "rotation from generation %u to generation %u rolled back "
		    "at open: generation %u stays in force", m->from, m->to,
		    m->from);
	snprintf(peer, sizeof(peer), "offline:uid=%u", (unsigned)getuid());
	memset(&e, 0, sizeof(e));
	e.op = "key.rotate";
	e.kind = "database-key";
	e.target_id = (int64_t)m->to; /* the aim; dec says if it holds */
	e.peer = peer;
	e.decision = v->rekey == VAULT_REKEY_COMPLETED ? AUDIT_ALLOWED :
	    AUDIT_ERROR;
	e.reason = reason;
	if ((rc = vault_audit_append(v, &e)) != COFFER_OK ||
	    (rc = marker_path(v, mpath, sizeof(mpath))) != COFFER_OK ||
	    (rc = rekey_marker_remove(mpath)) != COFFER_OK)
		return rc;
	settle_unlock(v);
	return COFFER_OK;
}

enum vault_rekey_outcome
vault_rekey_recovered(const struct vault *v, unsigned *from, unsigned *to)
{
	if (from != NULL)
		*from = v->rekey_m.from;
	if (to != NULL)
		*to = v->rekey_m.to;
	return v->rekey;
}

/* v's database key is newkey (generation gen); the old one is wiped. */
static int
commit_db_key(struct vault *v, unsigned gen, const unsigned char *newkey)
{
	int rc;

	if ((rc = save_db_generation(v, gen)) != COFFER_OK)
		return rc;
	sodium_mprotect_readwrite(v->k);
	memcpy(v->k->db, newkey, 32);
	sodium_mprotect_readonly(v->k);
	return COFFER_OK;
}

/*
 * After a failed rekey either key may be in force (the rekey is one WAL
 * transaction: it took effect iff its commit frame is on disk).  Old key:
 * nothing changed, the marker goes.  New key: finish as if it had
 * succeeded.  Neither: leave everything for the next open to settle.
 */
static int
rekey_failed(struct vault *v, unsigned gen, const unsigned char *newkey,
    const char *mpath, int why)
{
	if (rekey_check(v->store_path, v->k->db) == COFFER_OK) {
		rekey_marker_remove(mpath);
		return why;
	}
	if (rekey_check(v->store_path, newkey) == COFFER_OK &&
	    commit_db_key(v, gen, newkey) == COFFER_OK) {
		rekey_marker_remove(mpath);
		return COFFER_OK;
	}
	return why;
}

/* Generation gen of the database key, from a fresh unseal that must be
 * v's master key. */
static int
derive_next_db(struct vault *v, const char *keyfile, const char *pass,
    size_t passlen, unsigned gen, unsigned char *key)
{
	unsigned char *master = NULL;
	int rc;

	if ((master = sodium_malloc(KEYS_MASTER_BYTES)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = unseal_master(v->dir, keyfile, pass, passlen, master)) ==
	    COFFER_OK && (rc = same_master(v, master)) == COFFER_OK)
		rc = derive_db_key(master, gen, key);
	sodium_free(master);
	return rc;
}

/*
 * Record, mark, re-encrypt, commit keys.gen, unmark.  The marker (fsync'd)
 * is on disk before the file's key can change and goes only after
 * keys.gen names the new generation, so every crash leaves a marker that
 * lets vault_open find the key in force (rekey_settle).
 */
static int
rotate_database(struct vault *v, const char *keyfile, const char *pass,
    size_t passlen, const struct audit_event *e)
{
	struct rekey_marker m;
	unsigned char *newkey = NULL;
	char mpath[PATH_MAX];
	int rc;

	m.from = v->gen.g[KEYS_SUB_DATABASE];
	m.to = m.from + 1;
	if ((rc = marker_path(v, mpath, sizeof(mpath))) != COFFER_OK)
		return rc;
	if ((newkey = sodium_malloc(32)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = derive_next_db(v, keyfile, pass, passlen, m.to, newkey)) !=
	    COFFER_OK)
		goto out;
	/* recorded first: if the log cannot be written, nothing changes */
	if ((rc = vault_audit_append(v, e)) != COFFER_OK ||
	    (rc = rekey_marker_write(mpath, &m)) != COFFER_OK)
		goto out;
	if ((rc = rekey_db(v->store_path, v->k->db, newkey)) != COFFER_OK) {
		rc = rekey_failed(v, m.to, newkey, mpath, rc);
		goto out;
	}
	if ((rc = commit_db_key(v, m.to, newkey)) != COFFER_OK)
		goto out; /* the marker stays: the next open completes it */
	/* done; a marker left behind is settled as "completed" at open */
	rekey_marker_remove(mpath);
out:
	sodium_free(newkey); /* wipes */
	return rc;
}

int
vault_rotate_key(struct vault *v, enum keys_subkey id, const char *keyfile,
    const char *pass, size_t passlen, const struct audit_event *e,
    unsigned *newgen, int *resumed)
{
	unsigned char pk[32], oldpk[32], *sk = NULL;
	unsigned gen;
	int rc, again = 0;

	if (v->lock_fd < 0)
		return COFFER_ERR_BUSY;
	if ((id != KEYS_SUB_AUDIT_SIGN && id != KEYS_SUB_IDENTITY &&
	    id != KEYS_SUB_DATABASE) || e == NULL)
		return COFFER_ERR_INVALID;
	gen = v->gen.g[id];
	if (gen >= KEYS_GEN_MAX)
		return COFFER_ERR_TOO_BIG;
	if (id == KEYS_SUB_DATABASE) {
		if (resumed != NULL)
			*resumed = 0;
		rc = rotate_database(v, keyfile, pass, passlen, e);
		if (rc == COFFER_OK && newgen != NULL)
			*newgen = v->gen.g[id];
		return rc;
	}
	if ((sk = sodium_malloc(64)) == NULL)
		return COFFER_ERR_NOMEM;
	memcpy(oldpk, v->k->id_pk, 32);
	if ((rc = derive_next(v, keyfile, pass, passlen, id, gen + 1, pk,
	    sk)) != COFFER_OK)
		goto out;
	if (id == KEYS_SUB_AUDIT_SIGN)
		rc = rotate_audit_log(v, gen, sk, pk, e, &again);
	else
		rc = rotate_identity(v, gen + 1, pk, e);
	if (rc != COFFER_OK ||
	    (rc = commit_generation(v, id, gen + 1, pk, sk)) != COFFER_OK)
		goto out;
	if (id == KEYS_SUB_IDENTITY)
		rc = publish_identity(v, gen, oldpk);
	if (newgen != NULL)
		*newgen = gen + 1;
	if (resumed != NULL)
		*resumed = again;
out:
	sodium_free(sk);
	return rc;
}

int
vault_identity_rotations(const struct vault *v, struct idrot *out,
    size_t max, size_t *n)
{
	char path[PATH_MAX];
	int rc;

	*n = 0;
	if ((rc = join(path, sizeof(path), v->dir, IDROT_FILE)) != COFFER_OK)
		return rc;
	return idrot_load(path, out, max, n);
}
