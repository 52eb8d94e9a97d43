/*
 * test_vault.c - creating and opening vault directories: both sealing
 * kinds, deterministic key derivation, permission and lock refusals, and
 * that a failed creation leaves nothing behind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/store.h"
#include "coffer/vault.h"

#include "helper.h"

struct fx {
	char base[64];
	char dir[128];
	char keyfile[128];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || sodium_init() < 0)
		return -1;
	setenv("COFFER_PWHASH_FAST", "1", 1);
	snprintf(f->base, sizeof(f->base), "/tmp/coffer-vault-XXXXXX");
	if (mkdtemp(f->base) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/v", f->base);
	snprintf(f->keyfile, sizeof(f->keyfile), "%s/wrap.key", f->base);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	test_rm_tree(f->base);
	free(f);
	return 0;
}

static int
exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &sb) == 0;
}

static void
test_create_keyfile_and_reopen(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL, *w = NULL;
	unsigned char db[32], id[32], pub[32];
	char pubpath[PATH_MAX];
	struct stat sb;

	assert_int_equal(vault_create(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_true(exists(f->dir, VAULT_SEALED_FILE));
	assert_true(exists(f->dir, VAULT_DAEMON_PUB));
	assert_true(exists(f->dir, VAULT_AUDIT_PUB));
	memcpy(db, vault_db_key(v), 32);
	memcpy(id, vault_identity_pk(v), 32);
	/* the identity secret key really belongs to the public key */
	assert_memory_equal(vault_identity_sk(v) + 32, id, 32);
	assert_memory_equal(vault_audit_sign_sk(v) + 32,
	    vault_audit_sign_pk(v), 32);
	/* no two purposes share a key */
	assert_memory_not_equal(vault_db_key(v), vault_audit_hash_key(v), 32);
	assert_memory_not_equal(vault_db_key(v), vault_backup_key(v), 32);
	assert_memory_not_equal(vault_identity_pk(v), vault_audit_sign_pk(v),
	    32);
	snprintf(pubpath, sizeof(pubpath), "%s/" VAULT_DAEMON_PUB, f->dir);
	assert_int_equal(userkey_load_public(pubpath, pub), COFFER_OK);
	assert_memory_equal(pub, id, 32);
	vault_close(v);

	assert_int_equal(vault_needs_passphrase(f->dir), 0);
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &w),
	    COFFER_OK);
	assert_memory_equal(vault_db_key(w), db, 32);
	assert_memory_equal(vault_identity_pk(w), id, 32);
	assert_string_equal(vault_dir(w), f->dir);
	vault_close(w);
	/* the default key file DIR/master.key is not there */
	assert_int_not_equal(vault_open(f->dir, NULL, NULL, 0, &w),
	    COFFER_OK);
	assert_null(w);
}

static void
test_create_passphrase(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL, *w = NULL;
	unsigned char db[32];

	assert_int_equal(vault_create(f->dir, NULL, "pw", 2, &v), COFFER_OK);
	memcpy(db, vault_db_key(v), 32);
	vault_close(v);
	assert_int_equal(vault_needs_passphrase(f->dir), 1);
	assert_int_equal(vault_open(f->dir, NULL, "px", 2, &w),
	    COFFER_ERR_KEY);
	assert_null(w);
	assert_int_equal(vault_open(f->dir, NULL, NULL, 0, &w),
	    COFFER_ERR_USAGE);
	assert_int_equal(vault_open(f->dir, NULL, "pw", 2, &w), COFFER_OK);
	assert_memory_equal(vault_db_key(w), db, 32);
	vault_close(w);
	assert_int_equal(vault_create(f->base, NULL, NULL, 0, &w),
	    COFFER_ERR_USAGE);
}

static void
test_default_keyfile(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL;
	char kf[PATH_MAX];

	snprintf(kf, sizeof(kf), "%s/" VAULT_KEY_FILE, f->dir);
	assert_int_equal(vault_create(f->dir, kf, NULL, 0, &v), COFFER_OK);
	vault_close(v);
	assert_int_equal(vault_open(f->dir, NULL, NULL, 0, &v), COFFER_OK);
	vault_close(v);
	/* A loose key file is refused even though it is the right key. */
	assert_int_equal(chmod(kf, 0644), 0);
	assert_int_equal(vault_open(f->dir, NULL, NULL, 0, &v),
	    COFFER_ERR_PERM);
}

static void
test_create_refuses_nonempty(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL;
	char stray[PATH_MAX];
	FILE *fp;

	assert_int_equal(mkdir(f->dir, 0755), 0);
	snprintf(stray, sizeof(stray), "%s/stray", f->dir);
	assert_non_null(fp = fopen(stray, "w"));
	fclose(fp);
	assert_int_equal(vault_create(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_ERR_CONFLICT);
	assert_null(v);
	assert_false(exists(f->base, "wrap.key"));
	/* an empty existing directory is fine and tightened to 0700 */
	assert_int_equal(unlink(stray), 0);
	assert_int_equal(vault_create(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	vault_close(v);
	{
		struct stat sb;

		assert_int_equal(stat(f->dir, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0700);
	}
}

static void
test_create_keyfile_exists(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL;
	FILE *fp;

	assert_non_null(fp = fopen(f->keyfile, "w"));
	fclose(fp);
	assert_int_equal(vault_create(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_ERR_CONFLICT);
	/* nothing left behind: not even the directory it made */
	assert_false(exists(f->base, "v"));
}

static void
test_discard_removes_everything(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL;

	assert_int_equal(vault_create(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	assert_int_equal(vault_lock(v), COFFER_OK);
	vault_discard(v);
	assert_false(exists(f->base, "v"));
	assert_false(exists(f->base, "wrap.key"));
}

static void
test_open_refuses_loose_dir(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL;

	assert_int_equal(vault_create(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	vault_close(v);
	assert_int_equal(chmod(f->dir, 0770), 0);
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_ERR_PERM);
	assert_int_equal(chmod(f->dir, 0755), 0); /* readable is fine */
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	vault_close(v);
	assert_int_equal(vault_open(f->base, f->keyfile, NULL, 0, &v),
	    COFFER_ERR_IO); /* no master.sealed there */
}

static void
test_open_wrong_keyfile(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL;
	char other_dir[PATH_MAX], other_key[PATH_MAX];

	snprintf(other_dir, sizeof(other_dir), "%s/o", f->base);
	snprintf(other_key, sizeof(other_key), "%s/o.key", f->base);
	assert_int_equal(vault_create(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	vault_close(v);
	assert_int_equal(vault_create(other_dir, other_key, NULL, 0, &v),
	    COFFER_OK);
	vault_close(v);
	assert_int_equal(vault_open(f->dir, other_key, NULL, 0, &v),
	    COFFER_ERR_KEY);
	assert_null(v);
}

static void
test_lock_is_exclusive(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL, *w = NULL;

	assert_int_equal(vault_create(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	assert_int_equal(vault_lock(v), COFFER_OK);
	assert_int_equal(vault_lock(v), COFFER_OK); /* idempotent */
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &w),
	    COFFER_OK);
	assert_int_equal(vault_lock(w), COFFER_ERR_BUSY);
	vault_close(v); /* releases */
	assert_int_equal(vault_lock(w), COFFER_OK);
	vault_close(w);
}

static void
test_store_opens_with_derived_key(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL;
	struct store *st = NULL;
	unsigned char wrong[32];

	assert_int_equal(vault_create(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	assert_int_equal(vault_store_open(v, 1, &st), COFFER_OK);
	store_close(st);
	st = NULL;
	assert_int_equal(vault_store_open(v, 0, &st), COFFER_OK);
	store_close(st);
	st = NULL;
	memcpy(wrong, vault_db_key(v), 32);
	wrong[0] ^= 1;
	assert_int_equal(store_open(vault_store_path(v), wrong, 0, &st),
	    COFFER_ERR_KEY);
	vault_close(v);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_create_keyfile_and_reopen),
		T(test_create_passphrase),
		T(test_default_keyfile),
		T(test_create_refuses_nonempty),
		T(test_create_keyfile_exists),
		T(test_discard_removes_everything),
		T(test_open_refuses_loose_dir),
		T(test_open_wrong_keyfile),
		T(test_lock_is_exclusive),
		T(test_store_opens_with_derived_key),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
