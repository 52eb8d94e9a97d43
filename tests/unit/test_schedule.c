/*
 * test_schedule.c - the scheduled backups' pure parts (src/daemon/
 * schedule.c): interval parsing, backup names and what pruning removes -
 * only its own, valid, oldest backups, never anything else in the
 * directory.  The thread itself is tested end to end (t_schedule.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "coffer/backup.h"
#include "coffer/schedule.h"
#include "helper.h"

static void
test_interval_good(void **state)
{
	static const struct { const char *s; uint64_t ms; } v[] = {
		{ "6", 6 * 3600000ull }, { "0.5", 1800000ull },
		{ "0.001", 3600ull }, { "1s", 1000ull }, { "30s", 30000ull },
		{ "15m", 900000ull }, { "6h", 21600000ull },
		{ "1d", 86400000ull }, { "1.5s", 1500ull }, { ".5m", 30000ull },
		{ "2.", 7200000ull }, { "366d", 366ull * 86400000ull },
		{ "0.0002777778", 1000ull }, /* rounds to the nearest ms */
	};
	uint64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ms = 0;
		assert_int_equal(schedule_parse_interval(v[i].s, &ms),
		    COFFER_OK);
		assert_int_equal(ms, v[i].ms);
	}
}

static void
test_interval_bad(void **state)
{
	static const char *const bad[] = {
		"", "h", ".", "0", "0s", "0.5s", "999ms", "-1", "+1", " 1",
		"1 ", "1e3", "inf", "nan", "0x10", "1..2", "1.2.3", "1hh",
		"1H", "367d", "99999999999999999999", "1s ", "1w",
	};
	uint64_t ms = 77;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(schedule_parse_interval(bad[i], &ms),
		    COFFER_ERR_INVALID);
		assert_int_equal(ms, 77); /* untouched on failure */
	}
}

static void
test_names(void **state)
{
	char id[SCHEDULE_ID_LEN + 1], name[SCHEDULE_NAME_LEN + 1];
	char a[SCHEDULE_NAME_LEN + 1];
	unsigned char pk[32];

	(void)state;
	memset(pk, 0xfb, sizeof(pk)); /* base64 with '+' and '/' */
	schedule_vault_id(pk, id);
	assert_int_equal(strlen(id), SCHEDULE_ID_LEN);
	assert_null(strpbrk(id, "+/=:"));
	schedule_backup_name(id, 1795843821, 123, name);
	assert_int_equal(strlen(name), SCHEDULE_NAME_LEN);
	assert_true(strncmp(name, "coffer-", 7) == 0);
	assert_string_equal(name + 7 + SCHEDULE_ID_LEN,
	    "-20261128T053021.123Z");
	assert_true(schedule_name_is_ours(id, name));
	/* later sorts after */
	schedule_backup_name(id, 1795843821, 124, a);
	assert_true(strcmp(a, name) > 0);
	schedule_backup_name(id, 1795843822, 0, a);
	assert_true(strcmp(a, name) > 0);
	/* another vault's id, a changed shape, extra bytes: not ours */
	memcpy(a, name, sizeof(a));
	a[7] = a[7] == 'A' ? 'B' : 'A';
	assert_false(schedule_name_is_ours(id, a));
	memcpy(a, name, sizeof(a));
	a[SCHEDULE_NAME_LEN - 1] = 'z';
	assert_false(schedule_name_is_ours(id, a));
	memcpy(a, name, sizeof(a));
	a[7 + SCHEDULE_ID_LEN + 3] = 'x';
	assert_false(schedule_name_is_ours(id, a));
	assert_false(schedule_name_is_ours(id, "coffer-"));
	snprintf(a, sizeof(a), "%.*s", SCHEDULE_NAME_LEN - 1, name);
	assert_false(schedule_name_is_ours(id, a));
}

/* --- pruning ---------------------------------------------------------- */

struct pfx {
	char dir[256];
	char id[SCHEDULE_ID_LEN + 1];
	unsigned char pk[32], sk[64];
	unsigned char pk2[32], sk2[64];
	int calls, refuse;
};

static int
pfx_setup(void **state)
{
	struct pfx *f = calloc(1, sizeof(*f));

	if (f == NULL || sodium_init() < 0 ||
	    test_tmpdir(f->dir, sizeof(f->dir), "sched") != 0)
		return -1;
	crypto_sign_keypair(f->pk, f->sk);
	crypto_sign_keypair(f->pk2, f->sk2);
	schedule_vault_id(f->pk, f->id);
	*state = f;
	return 0;
}

static int
pfx_teardown(void **state)
{
	struct pfx *f = *state;

	test_rm_tree(f->dir);
	free(f);
	return 0;
}

static void
put_file(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	fclose(fp);
}

/* DIR/name with audit/ and a MANIFEST signed by sk (NULL: garbage). */
static void
make_backup(const struct pfx *f, const char *name, const unsigned char *sk,
    const unsigned char *pk)
{
	struct backup_manifest m;
	char p[1024], *text = NULL;
	size_t len = 0;

	snprintf(p, sizeof(p), "%s/%s", f->dir, name);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/%s/audit", f->dir, name);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/%s/" BACKUP_MANIFEST_FILE, f->dir, name);
	if (sk == NULL) {
		put_file(p, "coffer-backup-v1\nnot really\n", 28);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.created = 1795843821;
	memcpy(m.vault_pk, pk, 32);
	m.seal = BACKUP_SEAL_KEYFILE;
	assert_int_equal(backup_manifest_encode(&m, sk, &text, &len),
	    COFFER_OK);
	put_file(p, text, len);
	free(text);
}

static int
exists(const struct pfx *f, const char *name)
{
	char p[1024];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", f->dir, name);
	return lstat(p, &sb) == 0;
}

static int
on_prune(void *arg, const char *path, const char *mid)
{
	struct pfx *f = arg;

	assert_true(strncmp(path, f->dir, strlen(f->dir)) == 0);
	assert_int_equal(strlen(mid), 64);
	f->calls++;
	return f->refuse ? COFFER_ERR_AUDIT : COFFER_OK;
}

static void
ours_at(const struct pfx *f, time_t t, char out[SCHEDULE_NAME_LEN + 1])
{
	schedule_backup_name(f->id, t, 0, out);
}

static void
test_prune_only_ours(void **state)
{
	struct pfx *f = *state;
	char n[6][SCHEDULE_NAME_LEN + 1], other[SCHEDULE_NAME_LEN + 1];
	char oid[SCHEDULE_ID_LEN + 1], p[1024], t[1024];
	unsigned removed = 99;
	int i;

	for (i = 0; i < 6; i++)
		ours_at(f, 1795843000 + i * 10, n[i]);
	make_backup(f, n[0], NULL, NULL);       /* oldest: bad MANIFEST */
	make_backup(f, n[1], f->sk2, f->pk2);   /* another key's */
	make_backup(f, n[2], f->sk, f->pk);     /* valid, oldest valid */
	make_backup(f, n[3], f->sk, f->pk);     /* valid */
	make_backup(f, n[4], f->sk, f->pk);     /* valid */
	/* a symlink with our name to a valid backup of ours: not followed */
	snprintf(p, sizeof(p), "%s/%s", f->dir, n[5]);
	snprintf(t, sizeof(t), "%s/%s", f->dir, n[3]);
	assert_int_equal(symlink(t, p), 0);
	/* another vault's backup and unrelated entries */
	schedule_vault_id(f->pk2, oid);
	schedule_backup_name(oid, 1795842000, 0, other);
	make_backup(f, other, f->sk2, f->pk2);
	make_backup(f, "coffer-backup-old", f->sk, f->pk);
	snprintf(p, sizeof(p), "%s/notes.txt", f->dir);
	put_file(p, "x", 1);

	assert_int_equal(schedule_prune(f->dir, f->id, f->pk, 1, on_prune, f,
	    &removed), COFFER_OK);
	assert_int_equal(removed, 2);
	assert_int_equal(f->calls, 2);
	assert_false(exists(f, n[2]));
	assert_false(exists(f, n[3]));
	assert_true(exists(f, n[4]));
	for (i = 0; i < 2; i++)
		assert_true(exists(f, n[i]));
	assert_true(exists(f, n[5]));
	assert_true(exists(f, other));
	assert_true(exists(f, "coffer-backup-old"));
	assert_true(exists(f, "notes.txt"));
	/* within keep: nothing more */
	assert_int_equal(schedule_prune(f->dir, f->id, f->pk, 1, on_prune, f,
	    &removed), COFFER_OK);
	assert_int_equal(removed, 0);
}

static void
test_prune_refused_and_symlinked_audit(void **state)
{
	struct pfx *f = *state;
	char a[SCHEDULE_NAME_LEN + 1], b[SCHEDULE_NAME_LEN + 1];
	char c[SCHEDULE_NAME_LEN + 1], p[1024], t[1024];
	unsigned removed = 99;

	ours_at(f, 1795843000, a);
	ours_at(f, 1795843010, b);
	ours_at(f, 1795843020, c);
	make_backup(f, a, f->sk, f->pk);
	make_backup(f, b, f->sk, f->pk);
	make_backup(f, c, f->sk, f->pk);
	/* the callback refuses (e.g. audit log down): nothing is removed,
	 * and a newer one is not removed instead */
	f->refuse = 1;
	assert_int_equal(schedule_prune(f->dir, f->id, f->pk, 1, on_prune, f,
	    &removed), COFFER_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(f->calls, 2);
	assert_true(exists(f, a) && exists(f, b) && exists(f, c));
	/* an "audit" that is a symlink disqualifies a backup */
	snprintf(p, sizeof(p), "%s/%s/audit", f->dir, a);
	assert_int_equal(rmdir(p), 0);
	snprintf(t, sizeof(t), "%s/%s/audit", f->dir, c);
	assert_int_equal(symlink(t, p), 0);
	f->refuse = 0;
	assert_int_equal(schedule_prune(f->dir, f->id, f->pk, 1, on_prune, f,
	    &removed), COFFER_OK);
	assert_int_equal(removed, 1);
	assert_true(exists(f, a));
	assert_false(exists(f, b));
	assert_true(exists(f, c));
	/* a missing directory is an error */
	snprintf(p, sizeof(p), "%s/missing", f->dir);
	assert_int_equal(schedule_prune(p, f->id, f->pk, 1, NULL, NULL,
	    &removed), COFFER_ERR_IO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interval_good),
		cmocka_unit_test(test_interval_bad),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_prune_only_ours,
		    pfx_setup, pfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_prune_refused_and_symlinked_audit, pfx_setup,
		    pfx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
