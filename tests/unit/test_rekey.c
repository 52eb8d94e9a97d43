/*
 * test_rekey.c - rotating the database key: the rekey module (re-encrypt
 * in place, the old key refused after, the marker file's strict format)
 * and vault_rotate_key(KEYS_SUB_DATABASE) with the crash recovery that
 * vault_open does, driven by simulated crashes (a rekey left with its
 * marker, a marker without a rekey, a rekey killed part-way).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/audit.h"
#include "coffer/demo.h"
#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/rekey.h"
#include "coffer/secfile.h"
#include "coffer/store.h"
#include "coffer/vault.h"

#include "helper.h"

struct fx {
	char base[64];
	char dir[128];
	char keyfile[128];
	char marker[192];
	char db[192];
	int64_t agent;
};

/* A vault with one agent and some customers (the database exists). */
static int
make_vault(struct fx *f, size_t customers)
{
	struct vault *v = NULL;
	struct store *st = NULL;
	struct store_user u;
	struct demo_options o;
	unsigned char sk[64];
	int rc;

	if ((rc = vault_create(f->dir, f->keyfile, NULL, 0, &v)) != COFFER_OK)
		return rc;
	if ((rc = vault_store_open(v, 1, &st)) != COFFER_OK)
		goto out;
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "agent01");
	u.role = ROLE_AGENT;
	snprintf(u.team, sizeof(u.team), "north");
	snprintf(u.clearance, sizeof(u.clearance), "confidential");
	u.active = 1;
	crypto_sign_keypair(u.pubkey, sk);
	if ((rc = store_user_add(st, &u, NULL)) != COFFER_OK)
		goto out;
	f->agent = u.id;
	memset(&o, 0, sizeof(o));
	o.seed = 3;
	o.customers = customers;
	o.agent_ids = &f->agent;
	o.nagents = 1;
	rc = demo_fill(st, &o);
out:
	store_close(st);
	vault_close(v);
	return rc;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || sodium_init() < 0)
		return -1;
	setenv("COFFER_PWHASH_FAST", "1", 1);
	if (test_tmpdir(f->base, sizeof(f->base), "rekey") != 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/v", f->base);
	snprintf(f->keyfile, sizeof(f->keyfile), "%s/wrap.key", f->base);
	snprintf(f->marker, sizeof(f->marker), "%s/" REKEY_MARKER_FILE, f->dir);
	snprintf(f->db, sizeof(f->db), "%s/" VAULT_DB_FILE, f->dir);
	if (make_vault(f, 300) != COFFER_OK)
		return -1;
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

/* Generation gen of the vault's database key, straight from the sealed
 * master key (what a crashed rotation had in memory). */
static void
db_key(const struct fx *f, unsigned gen, unsigned char *key)
{
	char sealed[PATH_MAX];
	unsigned char *master = sodium_malloc(KEYS_MASTER_BYTES);

	assert_non_null(master);
	snprintf(sealed, sizeof(sealed), "%s/" VAULT_SEALED_FILE, f->dir);
	assert_int_equal(keys_unseal(sealed, f->keyfile, NULL, 0, master),
	    COFFER_OK);
	assert_int_equal(keys_derive_gen(master, KEYS_SUB_DATABASE, gen, key,
	    32), COFFER_OK);
	sodium_free(master);
}

/* The store opens with key and holds the agent and 300 customers. */
static void
assert_data(const struct fx *f, const unsigned char *key)
{
	struct store *st = NULL;
	struct store_user u;

	assert_int_equal(store_open(f->db, key, 0, &st), COFFER_OK);
	assert_int_equal(store_user_get(st, "agent01", &u), COFFER_OK);
	assert_int_equal(u.id, f->agent);
	store_close(st);
	assert_int_equal(rekey_check(f->db, key), COFFER_OK);
}

static int
exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static unsigned
gen_on_disk(const struct fx *f)
{
	char path[PATH_MAX];
	struct keys_gen g;

	snprintf(path, sizeof(path), "%s/" KEYS_GEN_FILE, f->dir);
	assert_int_equal(keys_gen_load(path, &g), COFFER_OK);
	return g.g[KEYS_SUB_DATABASE];
}

/* 1 if the audit log's segments contain text. */
static int
log_has(const struct fx *f, const char *text)
{
	char cmd[PATH_MAX + 128];

	snprintf(cmd, sizeof(cmd), "cat %s/audit/seg-*.log | grep -aqF '%s'",
	    f->dir, text);
	return system(cmd) == 0;
}

/* ---- the marker ---------------------------------------------------------- */

static void
test_marker_roundtrip(void **state)
{
	struct fx *f = *state;
	struct rekey_marker m = { 4, 5 }, r;
	struct stat sb;
	char *text = NULL;
	size_t len;

	assert_int_equal(rekey_marker_read(f->marker, &r), COFFER_ERR_NOT_FOUND);
	assert_int_equal(rekey_marker_write(f->marker, &m), COFFER_OK);
	assert_int_equal(stat(f->marker, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(file_read_all(f->marker, 64, &text, &len), COFFER_OK);
	assert_string_equal(text, "coffer-db-rekey-v1 4 5\n");
	free(text);
	assert_int_equal(rekey_marker_read(f->marker, &r), COFFER_OK);
	assert_int_equal(r.from, 4);
	assert_int_equal(r.to, 5);
	assert_int_equal(rekey_marker_remove(f->marker), COFFER_OK);
	assert_false(exists(f->marker));
	assert_int_equal(rekey_marker_remove(f->marker), COFFER_OK);
	/* only "one step forward" markers are written */
	m.to = 7;
	assert_int_equal(rekey_marker_write(f->marker, &m), COFFER_ERR_INVALID);
	m.from = KEYS_GEN_MAX;
	m.to = KEYS_GEN_MAX + 1;
	assert_int_equal(rekey_marker_write(f->marker, &m), COFFER_ERR_INVALID);
	assert_false(exists(f->marker));
}

static void
test_marker_malformed(void **state)
{
	static const char *const bad[] = {
		"", "coffer-db-rekey-v1 0 1", "coffer-db-rekey-v1 0 1\n\n",
		"coffer-db-rekey-v1 0 2\n", "coffer-db-rekey-v1 1 0\n",
		"coffer-db-rekey-v1 00 1\n", "coffer-db-rekey-v1 0 01\n",
		"coffer-db-rekey-v1 -1 0\n", "coffer-db-rekey-v1  0 1\n",
		"coffer-db-rekey-v2 0 1\n", "coffer-db-rekey-v1 65535 65536\n",
		"coffer-db-rekey-v1 0 1\nx", "coffer-db-rekey-v1 0 1 \n",
		"coffer-db-rekey-v1 999999999 1000000000\n",
		"coffer-db-rekey-v1 0 1\n                                      "
		"                                       ",
	};
	struct fx *f = *state;
	struct rekey_marker r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unlink(f->marker);
		assert_int_equal(secfile_create(f->marker, bad[i],
		    strlen(bad[i])), COFFER_OK);
		if (rekey_marker_read(f->marker, &r) != COFFER_ERR_PROTO)
			fail_msg("accepted marker %zu: \"%s\"", i, bad[i]);
	}
	/* and the largest good one */
	unlink(f->marker);
	assert_int_equal(secfile_create(f->marker,
	    "coffer-db-rekey-v1 65534 65535\n", 31), COFFER_OK);
	assert_int_equal(rekey_marker_read(f->marker, &r), COFFER_OK);
	assert_int_equal(r.to, 65535);
}

/* ---- the rekey itself ---------------------------------------------------- */

static void
test_rekey_db(void **state)
{
	struct fx *f = *state;
	unsigned char k0[32], k1[32], wrong[32];
	struct store *st = NULL;

	db_key(f, 0, k0);
	db_key(f, 1, k1);
	memset(wrong, 0x5a, sizeof(wrong));
	assert_data(f, k0);
	assert_int_equal(rekey_check(f->db, k1), COFFER_ERR_KEY);
	/* a wrong "current" key changes nothing */
	assert_int_equal(rekey_db(f->db, wrong, k1), COFFER_ERR_KEY);
	assert_data(f, k0);
	assert_int_equal(rekey_db(f->db, k0, k1), COFFER_OK);
	assert_data(f, k1);
	/* the old key no longer opens the database */
	assert_int_equal(store_open(f->db, k0, 0, &st), COFFER_ERR_KEY);
	assert_null(st);
	assert_int_equal(rekey_check(f->db, k0), COFFER_ERR_KEY);
	/* the WAL was checkpointed away: the main file alone has it all */
	{
		char wal[256];
		struct stat sb;

		snprintf(wal, sizeof(wal), "%s-wal", f->db);
		assert_true(stat(wal, &sb) != 0 || sb.st_size == 0);
	}
	assert_int_equal(rekey_check("/nonexistent/coffer.db", k1),
	    COFFER_ERR_NOT_FOUND);
}

/* A second connection holding a read transaction blocks the rekey's
 * checkpoint: refused, and the old key stays. */
static void
test_rekey_busy(void **state)
{
	struct fx *f = *state;
	unsigned char k0[32], k1[32];
	struct store *st = NULL;

	db_key(f, 0, k0);
	db_key(f, 1, k1);
	assert_int_equal(store_open(f->db, k0, 0, &st), COFFER_OK);
	assert_int_equal(store_begin(st), COFFER_OK);
	{
		struct store_user u;

		assert_int_equal(store_user_get(st, "agent01", &u), COFFER_OK);
	}
	assert_int_not_equal(rekey_db(f->db, k0, k1), COFFER_OK);
	store_rollback(st);
	store_close(st);
	assert_data(f, k0);
}

/* ---- vault_rotate_key(KEYS_SUB_DATABASE) -------------------------------- */

static void
rotate_event(struct audit_event *e, const char *why)
{
	memset(e, 0, sizeof(*e));
	e->op = "key.rotate";
	e->kind = "database-key";
	e->actor = "test";
	e->decision = AUDIT_ALLOWED;
	e->reason = why;
}

static void
test_rotate_twice(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL;
	struct store *st = NULL;
	struct audit_event e;
	unsigned char k0[32], k1[32], k2[32];
	unsigned gen = 99;
	int resumed = 7;

	db_key(f, 0, k0);
	db_key(f, 1, k1);
	db_key(f, 2, k2);
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	assert_int_equal(vault_rekey_recovered(v, NULL, NULL),
	    VAULT_REKEY_NONE);
	rotate_event(&e, "database-key rotated from generation 0 to "
	    "generation 1");
	/* without the lock: refused, nothing changes */
	assert_int_equal(vault_rotate_key(v, KEYS_SUB_DATABASE, f->keyfile,
	    NULL, 0, &e, &gen, &resumed), COFFER_ERR_BUSY);
	assert_data(f, k0);
	assert_int_equal(vault_lock(v), COFFER_OK);
	/* the wrong unseal material: refused before anything is written */
	assert_int_not_equal(vault_rotate_key(v, KEYS_SUB_DATABASE,
	    "/nonexistent", NULL, 0, &e, &gen, &resumed), COFFER_OK);
	assert_data(f, k0);
	assert_false(log_has(f, "to generation 1"));
	assert_int_equal(vault_rotate_key(v, KEYS_SUB_DATABASE, f->keyfile,
	    NULL, 0, &e, &gen, &resumed), COFFER_OK);
	assert_int_equal(gen, 1);
	assert_int_equal(resumed, 0);
	assert_int_equal(vault_key_generation(v, KEYS_SUB_DATABASE), 1);
	assert_memory_equal(vault_db_key(v), k1, 32);
	assert_int_equal(gen_on_disk(f), 1);
	assert_false(exists(f->marker));
	assert_true(log_has(f, "database-key rotated from generation 0 to "
	    "generation 1"));
	/* v's own connection uses the new key; the old key is refused */
	assert_int_equal(vault_store_open(v, 0, &st), COFFER_OK);
	store_close(st);
	assert_int_equal(store_open(f->db, k0, 0, &st), COFFER_ERR_KEY);
	vault_close(v);

	/* a fresh open finds generation 1 and rotates on to 2 */
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	assert_memory_equal(vault_db_key(v), k1, 32);
	assert_int_equal(vault_lock(v), COFFER_OK);
	rotate_event(&e, "database-key rotated from generation 1 to "
	    "generation 2");
	assert_int_equal(vault_rotate_key(v, KEYS_SUB_DATABASE, f->keyfile,
	    NULL, 0, &e, &gen, NULL), COFFER_OK);
	assert_int_equal(gen, 2);
	vault_close(v);
	assert_int_equal(gen_on_disk(f), 2);
	assert_data(f, k2);
	assert_int_equal(rekey_check(f->db, k1), COFFER_ERR_KEY);
	assert_int_equal(rekey_check(f->db, k0), COFFER_ERR_KEY);
	/* the other purposes did not move */
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	assert_int_equal(vault_key_generation(v, KEYS_SUB_AUDIT_SIGN), 0);
	assert_int_equal(vault_key_generation(v, KEYS_SUB_BACKUP), 0);
	vault_close(v);
}

/* While another handle holds the lock (cofferd): refused, and a marker
 * found then is left alone (a rotation may be running). */
static void
test_rotate_locked_out(void **state)
{
	struct fx *f = *state;
	struct vault *held = NULL, *v = NULL;
	struct rekey_marker m = { 0, 1 };
	struct audit_event e;
	unsigned char k0[32];

	db_key(f, 0, k0);
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &held),
	    COFFER_OK);
	assert_int_equal(vault_lock(held), COFFER_OK);
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	assert_int_equal(vault_lock(v), COFFER_ERR_BUSY);
	rotate_event(&e, "x");
	assert_int_equal(vault_rotate_key(v, KEYS_SUB_DATABASE, f->keyfile,
	    NULL, 0, &e, NULL, NULL), COFFER_ERR_BUSY);
	vault_close(v);
	assert_int_equal(rekey_marker_write(f->marker, &m), COFFER_OK);
	v = NULL;
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_ERR_BUSY);
	assert_null(v);
	assert_true(exists(f->marker));
	vault_close(held);
	assert_data(f, k0);
}

/* ---- crash recovery at open -------------------------------------------- */

/* What a rotation that died after the rekey and before keys.gen leaves:
 * the file under generation 1, keys.gen at 0, the marker 0 -> 1.  This
 * is the test-only entry point: the steps of rotate_database by hand. */
static void
crash_after_rekey(const struct fx *f, int save_gen)
{
	struct rekey_marker m = { 0, 1 };
	unsigned char k0[32], k1[32];
	char path[PATH_MAX];
	struct keys_gen g;

	db_key(f, 0, k0);
	db_key(f, 1, k1);
	assert_int_equal(rekey_marker_write(f->marker, &m), COFFER_OK);
	assert_int_equal(rekey_db(f->db, k0, k1), COFFER_OK);
	if (save_gen) {
		memset(&g, 0, sizeof(g));
		g.g[KEYS_SUB_DATABASE] = 1;
		snprintf(path, sizeof(path), "%s/" KEYS_GEN_FILE, f->dir);
		assert_int_equal(keys_gen_save(path, &g), COFFER_OK);
	}
}

static void
assert_settled(const struct fx *f, enum vault_rekey_outcome want,
    unsigned gen)
{
	struct vault *v = NULL;
	struct store *st = NULL;
	unsigned from = 9, to = 9;
	unsigned char k[32];

	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	assert_int_equal(vault_rekey_recovered(v, &from, &to), want);
	assert_int_equal(from, 0);
	assert_int_equal(to, 1);
	assert_int_equal(vault_key_generation(v, KEYS_SUB_DATABASE), gen);
	assert_false(exists(f->marker));
	assert_int_equal(gen_on_disk(f), gen);
	/* the lock taken to settle it was given back */
	assert_int_equal(vault_lock(v), COFFER_OK);
	assert_int_equal(vault_store_open(v, 0, &st), COFFER_OK);
	store_close(st);
	vault_close(v);
	db_key(f, gen, k);
	assert_data(f, k);
	/* a second open has nothing left to do */
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	assert_int_equal(vault_rekey_recovered(v, NULL, NULL),
	    VAULT_REKEY_NONE);
	vault_close(v);
}

static void
test_recover_completes(void **state)
{
	struct fx *f = *state;

	crash_after_rekey(f, 0);
	assert_int_equal(gen_on_disk(f), 0);
	assert_settled(f, VAULT_REKEY_COMPLETED, 1);
	assert_true(log_has(f, "rotation from generation 0 to generation 1 "
	    "completed at open"));
}

static void
test_recover_after_keys_gen(void **state)
{
	struct fx *f = *state;

	crash_after_rekey(f, 1);
	assert_settled(f, VAULT_REKEY_COMPLETED, 1);
}

static void
test_recover_rolls_back(void **state)
{
	struct fx *f = *state;
	struct rekey_marker m = { 0, 1 };

	assert_int_equal(rekey_marker_write(f->marker, &m), COFFER_OK);
	assert_settled(f, VAULT_REKEY_ROLLED_BACK, 0);
	assert_true(log_has(f, "rolled back at open: generation 0 stays"));
}

/* Neither generation opens, or the marker does not fit keys.gen: the
 * vault is not opened and the marker is kept for the administrator. */
static void
test_recover_refuses(void **state)
{
	struct fx *f = *state;
	struct rekey_marker m = { 0, 1 };
	struct vault *v = NULL;
	unsigned char k0[32], k5[32];

	db_key(f, 0, k0);
	db_key(f, 5, k5);
	assert_int_equal(rekey_db(f->db, k0, k5), COFFER_OK);
	assert_int_equal(rekey_marker_write(f->marker, &m), COFFER_OK);
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_ERR_DB);
	assert_null(v);
	assert_true(exists(f->marker));
	assert_int_equal(gen_on_disk(f), 0);
	assert_int_equal(rekey_db(f->db, k5, k0), COFFER_OK);
	m.from = 3;
	m.to = 4;
	assert_int_equal(rekey_marker_write(f->marker, &m), COFFER_OK);
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_ERR_CONFLICT);
	assert_true(exists(f->marker));
	unlink(f->marker);
	assert_int_equal(secfile_create(f->marker, "junk\n", 5), COFFER_OK);
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_ERR_CONFLICT);
	unlink(f->marker);
	assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
	    COFFER_OK);
	vault_close(v);
}

/*
 * A real crash: the rekey runs in a child killed with SIGKILL after a
 * growing delay, so the kill lands before, inside and after the rekey's
 * transaction.  Every time the vault must open, settle on one generation
 * and serve the data with it.
 */
static void
test_recover_killed(void **state)
{
	struct fx *f = *state;
	static const useconds_t delays[] = { 0, 2000, 8000, 20000, 60000,
	    200000 };
	int seen[3] = { 0, 0, 0 };
	size_t i;

	/* a bigger database, so the rekey takes a while */
	test_rm_tree(f->dir);
	unlink(f->keyfile);
	assert_int_equal(make_vault(f, 6000), COFFER_OK);
	for (i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
		struct rekey_marker m = { 0, 1 };
		struct vault *v = NULL;
		unsigned char k0[32], k1[32], k[32];
		enum vault_rekey_outcome out;
		pid_t pid;
		int st;

		db_key(f, 0, k0);
		db_key(f, 1, k1);
		assert_int_equal(rekey_marker_write(f->marker, &m), COFFER_OK);
		if ((pid = fork()) == 0)
			_exit(rekey_db(f->db, k0, k1) == COFFER_OK ? 0 : 1);
		assert_true(pid > 0);
		usleep(delays[i]);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_int_equal(vault_open(f->dir, f->keyfile, NULL, 0, &v),
		    COFFER_OK);
		out = vault_rekey_recovered(v, NULL, NULL);
		assert_true(out == VAULT_REKEY_COMPLETED ||
		    out == VAULT_REKEY_ROLLED_BACK);
		seen[out]++;
		db_key(f, vault_key_generation(v, KEYS_SUB_DATABASE), k);
		assert_memory_equal(vault_db_key(v), k, 32);
		vault_close(v);
		assert_data(f, k);
		assert_false(exists(f->marker));
		/* back to generation 0 for the next round */
		if (out == VAULT_REKEY_COMPLETED) {
			char path[PATH_MAX];
			struct keys_gen g;

			assert_int_equal(rekey_db(f->db, k1, k0), COFFER_OK);
			memset(&g, 0, sizeof(g));
			snprintf(path, sizeof(path), "%s/" KEYS_GEN_FILE,
			    f->dir);
			assert_int_equal(keys_gen_save(path, &g), COFFER_OK);
		}
	}
	print_message("# killed rekeys: %d completed, %d rolled back\n",
	    seen[VAULT_REKEY_COMPLETED], seen[VAULT_REKEY_ROLLED_BACK]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_marker_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_marker_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rekey_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_busy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rotate_twice, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rotate_locked_out, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recover_completes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recover_after_keys_gen,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_rolls_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recover_refuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recover_killed, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
