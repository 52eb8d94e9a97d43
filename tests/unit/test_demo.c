/*
 * test_demo.c - the demo generator: counts and the calls ratio, progress
 * reports, byte-identical output for the same seed (and different output
 * for another), and every generated record passing schema validation.
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
#include <unistd.h>

#include <sodium.h>

#include "coffer/demo.h"
#include "coffer/err.h"
#include "coffer/msg.h"
#include "coffer/schema.h"
#include "coffer/store.h"

#include "helper.h"
#include "../../src/store/store_int.h"

#define NOW 1718000000 /* fixed clock: the output depends only on inputs */
#define N_CUST 250

struct fx {
	char dir[64];
	unsigned char key[32];
	struct store *st[2];
	int64_t agents[3];
	size_t progress_calls, last_done, last_total;
};

static const struct store_scope all_scope = { .kind = SCOPE_ALL };

static struct store *
open_store(struct fx *f, const char *name, int64_t *agents)
{
	char path[PATH_MAX];
	struct store *st = NULL;
	struct store_user u;
	struct coffer_errdetail d;
	int i;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(store_open(path, f->key, 1, &st), COFFER_OK);
	for (i = 0; i < 4; i++) {
		memset(&u, 0, sizeof(u));
		snprintf(u.name, sizeof(u.name), "user%d", i);
		snprintf(u.team, sizeof(u.team), "east");
		snprintf(u.clearance, sizeof(u.clearance), "confidential");
		u.role = i < 3 ? ROLE_AGENT : ROLE_MANAGER;
		u.active = 1;
		memset(u.pubkey, i + 1, sizeof(u.pubkey));
		assert_int_equal(store_user_add(st, &u, &d), COFFER_OK);
		if (i < 3)
			agents[i] = u.id;
	}
	return st;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || sodium_init() < 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-demo-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	randombytes_buf(f->key, sizeof(f->key));
	f->st[0] = open_store(f, "a.db", f->agents);
	f->st[1] = open_store(f, "b.db", f->agents);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st[0]);
	store_close(f->st[1]);
	test_rm_tree(f->dir);
	free(f);
	return 0;
}

static void
on_progress(void *arg, size_t done, size_t total)
{
	struct fx *f = arg;

	assert_true(done > f->last_done);
	assert_true(done <= total);
	f->progress_calls++;
	f->last_done = done;
	f->last_total = total;
}

static struct demo_options
options(struct fx *f, uint64_t seed)
{
	struct demo_options o;

	memset(&o, 0, sizeof(o));
	o.seed = seed;
	o.customers = N_CUST;
	o.agent_ids = f->agents;
	o.nagents = 3;
	o.now = NOW;
	return o;
}

static int64_t
count(struct store *st, const char *kind)
{
	cbor_item_t *stats = NULL;
	int64_t n = -1;

	assert_int_equal(store_stats(st, &stats), COFFER_OK);
	assert_int_equal(msg_get_int(stats, kind, &n), COFFER_OK);
	cbor_decref(&stats);
	return n;
}

/* Every record of a kind, in id order, deterministically encoded. */
static void
dump_kind(struct store *st, const char *kind, unsigned char **out,
    size_t *outlen)
{
	cbor_item_t *all = msg_new_array(), *page = NULL;
	uint64_t total = 0;
	size_t off = 0, i;

	do {
		assert_int_equal(store_record_list(st, schema_kind(kind), NULL,
		    0, &all_scope, STORE_LIST_MAX, off, &page, &total),
		    COFFER_OK);
		for (i = 0; i < cbor_array_size(page); i++)
			msg_push(all, cbor_incref(cbor_array_handle(page)[i]));
		off += cbor_array_size(page);
		cbor_decref(&page);
	} while (off < total);
	assert_int_equal(msg_encode(all, out, outlen), COFFER_OK);
	cbor_decref(&all);
}

static void
test_counts_and_progress(void **state)
{
	struct fx *f = *state;
	struct demo_options o = options(f, 42);
	int64_t calls;

	o.progress = on_progress;
	o.progress_arg = f;
	assert_int_equal(demo_fill(f->st[0], &o), COFFER_OK);
	assert_int_equal(count(f->st[0], "customer"), N_CUST);
	assert_int_equal(count(f->st[0], "product"), 20);
	assert_int_equal(count(f->st[0], "note"), N_CUST / 100);
	calls = count(f->st[0], "call");
	/* about three per customer */
	assert_true(calls > N_CUST * 2 && calls < N_CUST * 4);
	assert_true(count(f->st[0], "followup") > 0);
	assert_true(count(f->st[0], "deal") > 0);
	assert_int_equal(f->last_done, N_CUST);
	assert_int_equal(f->last_total, N_CUST);
	assert_int_equal(f->progress_calls, 1);

	/* the calls ratio is a parameter; below zero means none */
	o = options(f, 42);
	o.calls_per_customer = -1;
	assert_int_equal(demo_fill(f->st[1], &o), COFFER_OK);
	assert_int_equal(count(f->st[1], "call"), 0);
	assert_int_equal(count(f->st[1], "customer"), N_CUST);
}

/* Rows of the planner's statistics for a table (demo_fill gathers them). */
static int64_t
stat1_rows(struct store *st, const char *table)
{
	sqlite3_stmt *s = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(store_sqlite(st), "SELECT count(*) FROM"
	    " sqlite_stat1 WHERE tbl = ?", -1, &s, NULL) != SQLITE_OK)
		return -1;	/* no sqlite_stat1 at all */
	sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void
test_batches(void **state)
{
	struct fx *f = *state;
	struct demo_options o = options(f, 7);

	o.customers = DEMO_BATCH + 10;
	o.calls_per_customer = 0.5;
	o.progress = on_progress;
	o.progress_arg = f;
	assert_int_equal(demo_fill(f->st[0], &o), COFFER_OK);
	assert_int_equal(f->progress_calls, 2);
	assert_int_equal(f->last_done, DEMO_BATCH + 10);
	assert_int_equal(count(f->st[0], "customer"), DEMO_BATCH + 10);
	assert_true(stat1_rows(f->st[0], "customers") > 0);
}

static void
test_same_seed_same_data(void **state)
{
	static const char *const kinds[] = { "customer", "call", "followup",
		"deal", "product", "note" };
	struct fx *f = *state;
	struct demo_options o = options(f, 0x5eed);
	unsigned char *a = NULL, *b = NULL;
	size_t alen, blen, i;

	assert_int_equal(demo_fill(f->st[0], &o), COFFER_OK);
	assert_int_equal(demo_fill(f->st[1], &o), COFFER_OK);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		dump_kind(f->st[0], kinds[i], &a, &alen);
		dump_kind(f->st[1], kinds[i], &b, &blen);
		assert_true(alen > 10);
		assert_int_equal(alen, blen);
		assert_memory_equal(a, b, alen);
		free(a);
		free(b);
	}
}

static void
test_other_seed_other_data(void **state)
{
	struct fx *f = *state;
	struct demo_options o = options(f, 1);
	unsigned char *a = NULL, *b = NULL;
	size_t alen, blen;

	assert_int_equal(demo_fill(f->st[0], &o), COFFER_OK);
	o.seed = 2;
	assert_int_equal(demo_fill(f->st[1], &o), COFFER_OK);
	dump_kind(f->st[0], "customer", &a, &alen);
	dump_kind(f->st[1], "customer", &b, &blen);
	assert_true(alen != blen || memcmp(a, b, alen) != 0);
	free(a);
	free(b);
}

/* A record minus its server fields, as a client would send it. */
static cbor_item_t *
client_fields(const struct kind_def *k, const cbor_item_t *rec)
{
	cbor_item_t *m = msg_new_map();
	struct cbor_pair *p = cbor_map_handle(rec);
	size_t i;
	char name[64];

	for (i = 0; i < cbor_map_size(rec); i++) {
		assert_int_equal(msg_item_str(p[i].key, name, sizeof(name)),
		    COFFER_OK);
		if (schema_field(k, name)->flags & FF_SERVER)
			continue;
		assert_int_equal(msg_put(m, name, cbor_incref(p[i].value)),
		    COFFER_OK);
	}
	return m;
}

static void
test_records_are_valid(void **state)
{
	static const char *const kinds[] = { "customer", "call", "followup",
		"deal", "product", "note" };
	struct fx *f = *state;
	struct demo_options o = options(f, 99);
	struct coffer_errdetail d;
	cbor_item_t *page = NULL, *m;
	uint64_t total;
	char phone[32], norm[32];
	int64_t owner;
	size_t i, j;

	assert_int_equal(demo_fill(f->st[0], &o), COFFER_OK);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct kind_def *k = schema_kind(kinds[i]);

		assert_int_equal(store_record_list(f->st[0], k, NULL, 0,
		    &all_scope, STORE_LIST_MAX, 0, &page, &total), COFFER_OK);
		assert_true(cbor_array_size(page) > 0);
		for (j = 0; j < cbor_array_size(page); j++) {
			const cbor_item_t *rec = cbor_array_handle(page)[j];

			m = client_fields(k, rec);
			if (schema_validate(k, m, 1, &d) != COFFER_OK)
				print_error("%s: %s\n", kinds[i], d.message);
			assert_int_equal(schema_validate(k, m, 1, &d),
			    COFFER_OK);
			cbor_decref(&m);
			if (strcmp(kinds[i], "customer") != 0)
				continue;
			/* stored phones are already in normal form */
			assert_int_equal(msg_get_str(rec, "phone", phone,
			    sizeof(phone)), COFFER_OK);
			assert_int_equal(schema_normalize_phone(phone, norm,
			    sizeof(norm)), COFFER_OK);
			assert_string_equal(phone, norm);
			owner = -1;
			assert_int_equal(msg_get_int(rec, "owner_id", &owner),
			    COFFER_OK);
			assert_true(owner == f->agents[0] ||
			    owner == f->agents[1] || owner == f->agents[2]);
		}
		cbor_decref(&page);
	}
}

static void
test_bad_options(void **state)
{
	struct fx *f = *state;
	struct demo_options o = options(f, 1);

	assert_int_equal(demo_fill(f->st[0], NULL), COFFER_ERR_USAGE);
	o.nagents = 0;
	assert_int_equal(demo_fill(f->st[0], &o), COFFER_ERR_USAGE);
	o = options(f, 1);
	o.agent_ids = NULL;
	assert_int_equal(demo_fill(f->st[0], &o), COFFER_ERR_USAGE);
	assert_int_equal(demo_fill(NULL, &o), COFFER_ERR_USAGE);
	/* ids that name no user are refused before anything is written */
	o = options(f, 1);
	o.agent_ids = (const int64_t[]){ f->agents[0], 999 };
	o.nagents = 2;
	assert_int_equal(demo_fill(f->st[0], &o), COFFER_ERR_USAGE);
	o = options(f, 1);
	o.author_id = 998;
	assert_int_equal(demo_fill(f->st[0], &o), COFFER_ERR_USAGE);
	assert_int_equal(count(f->st[0], "customer"), 0);
	assert_int_equal(count(f->st[0], "product"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts_and_progress,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_seed_same_data,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_seed_other_data,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_are_valid,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_options, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
