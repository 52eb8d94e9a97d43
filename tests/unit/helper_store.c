/*
 * helper_store.c - users for the unit tests that need a vault with people
 * in it; written once here instead of in each test file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "coffer/err.h"
#include "helper.h"
#include "helper_store.h"

int64_t
test_user_add(struct store *st, const char *name, enum user_role role,
    const char *team, int64_t manager)
{
	struct store_user u;
	struct coffer_errdetail d;

	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "%s", name);
	snprintf(u.display, sizeof(u.display), "User %s", name);
	snprintf(u.team, sizeof(u.team), "%s", team);
	snprintf(u.clearance, sizeof(u.clearance), "confidential");
	u.role = role;
	u.active = 1;
	u.manager_id = manager;
	randombytes_buf(u.pubkey, sizeof(u.pubkey));
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_user_add(st, &u, &d), COFFER_OK);
	return u.id;
}

int
test_store_new(char *dir, size_t dirsz, const char *tag, char *path,
    size_t pathsz, unsigned char key[32], struct store **st)
{
	unsigned char k[32];
	char p[256];
	int n;

	if (sodium_init() < 0 || test_tmpdir(dir, dirsz, tag) != 0)
		return -1;
	n = snprintf(p, sizeof(p), "%s/vault.db", dir);
	if (n < 0 || (size_t)n >= sizeof(p))
		return -1;
	randombytes_buf(k, sizeof(k));
	if (store_open(p, k, 1, st) != COFFER_OK)
		return -1;
	if (path != NULL)
		snprintf(path, pathsz, "%s", p);
	if (key != NULL)
		memcpy(key, k, sizeof(k));
	sodium_memzero(k, sizeof(k));
	return 0;
}
