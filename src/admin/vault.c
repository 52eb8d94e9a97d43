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
#include <unistd.h>

#include <sodium.h>

#include "coffer/audit.h"
#include "coffer/err.h"
#include "coffer/keys.h"
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
	int lock_fd;
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

/* One Ed25519 keypair from a derived 32-byte seed. */
static int
derive_keypair(const unsigned char *master, enum keys_subkey id,
    unsigned char pk[32], unsigned char sk[64])
{
	unsigned char *seed = NULL;
	int rc;

	if ((seed = sodium_malloc(crypto_sign_SEEDBYTES)) == NULL)
		return COFFER_ERR_NOMEM;
	rc = keys_derive(master, id, seed, crypto_sign_SEEDBYTES);
	if (rc == COFFER_OK && crypto_sign_seed_keypair(pk, sk, seed) != 0)
		rc = COFFER_ERR_INTERNAL;
	sodium_free(seed);
	return rc;
}

static int
derive_all(struct vault *v, const unsigned char *master)
{
	struct vault_keys *k = NULL;
	int rc;

	if ((k = sodium_malloc(sizeof(*k))) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = keys_derive(master, KEYS_SUB_DATABASE, k->db,
	    sizeof(k->db))) != COFFER_OK ||
	    (rc = derive_keypair(master, KEYS_SUB_IDENTITY, k->id_pk,
	    k->id_sk)) != COFFER_OK ||
	    (rc = derive_keypair(master, KEYS_SUB_AUDIT_SIGN, k->audit_pk,
	    k->audit_sk)) != COFFER_OK ||
	    (rc = keys_derive(master, KEYS_SUB_AUDIT_HASH, k->audit_hash,
	    sizeof(k->audit_hash))) != COFFER_OK ||
	    (rc = keys_derive(master, KEYS_SUB_BACKUP, k->backup,
	    sizeof(k->backup))) != COFFER_OK) {
		sodium_free(k); /* sodium_free wipes */
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

	/* "SHA256:" + base64: keep 24 characters, made origin-safe. */
	userkey_fingerprint(v->k->audit_pk, fpr, sizeof(fpr));
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

/* Open (or with create, start) the vault's audit log, append e,
 * checkpoint, close. */
static int
append_record(struct vault *v, int create, const struct audit_event *e)
{
	struct coffer_errdetail det;
	struct audit_options ao;
	struct audit_log *l = NULL;
	char dir[PATH_MAX], origin[64];
	int rc;

	if ((rc = vault_audit_path(v, dir, sizeof(dir))) != COFFER_OK)
		return rc;
	vault_audit_origin(v, origin, sizeof(origin));
	memset(&ao, 0, sizeof(ao));
	ao.dir = dir;
	ao.origin = origin;
	ao.create = create;
	if ((rc = audit_open(&ao, v->k->audit_sk, v->k->audit_hash, &det,
	    &l)) != COFFER_OK)
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

static int
unseal(struct vault *v, const char *keyfile, const char *pass,
    size_t passlen)
{
	unsigned char *master = NULL;
	int rc;

	if ((master = sodium_malloc(KEYS_MASTER_BYTES)) == NULL)
		return COFFER_ERR_NOMEM;
	rc = unseal_master(v->dir, keyfile, pass, passlen, master);
	if (rc == COFFER_OK)
		rc = derive_all(v, master);
	sodium_free(master);
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
	rc = derive_keypair(master, KEYS_SUB_IDENTITY, pk, sk);
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
	    VAULT_DAEMON_PUB, VAULT_AUDIT_PUB, VAULT_DB_FILE,
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
