/*
 * test_store.c - the encrypted store: open/reopen and wrong keys, no
 * plaintext on disk, users, record CRUD, row scope (DENIED vs NOT_FOUND),
 * versions, filters, paging, references, bulk loading, and list totals
 * kept in customer_counts (migration 9) against a plain count(*).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/err.h"
#include "coffer/msg.h"
#include "coffer/schema.h"
#include "coffer/store.h"
#include "coffer/workflow.h"

#include "../../src/store/store_int.h"
#include "helper.h"
#include "helper_store.h"

#define MARKER "ZQXJ-plaintext-marker-7731"

struct fx {
	char dir[64];
	char path[PATH_MAX];
	unsigned char key[32];
	struct store *st;
	int64_t a1, a2, b1, mgr; /* agents a1, a2 (team east), b1 (west) */
	int64_t product;
};

/* Helpers ------------------------------------------------------------ */

static struct store_scope
scope_of(enum scope_kind k, int64_t user, const char *team)
{
	struct store_scope s;

	memset(&s, 0, sizeof(s));
	s.kind = k;
	s.user_id = user;
	snprintf(s.team, sizeof(s.team), "%s", team != NULL ? team : "");
	return s;
}

static const struct store_scope all_scope = { .kind = SCOPE_ALL };

static int64_t
create(struct store *st, const char *kind, cbor_item_t *fields,
    const struct store_scope *sc)
{
	struct coffer_errdetail d;
	int64_t id = 0;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = store_record_create(st, schema_kind(kind), fields, sc, &id, &d);
	if (rc != COFFER_OK)
		print_error("create %s: %d %s\n", kind, rc, d.message);
	assert_int_equal(rc, COFFER_OK);
	cbor_decref(&fields);
	return id;
}

static cbor_item_t *
customer_map(const char *name, const char *phone, int64_t owner)
{
	cbor_item_t *m = msg_new_map();

	assert_non_null(m);
	assert_int_equal(msg_put_str(m, "name", name), COFFER_OK);
	assert_int_equal(msg_put_str(m, "phone", phone), COFFER_OK);
	if (owner > 0)
		assert_int_equal(msg_put_int(m, "owner_id", owner), COFFER_OK);
	return m;
}

static cbor_item_t *
call_map(int64_t customer, int64_t agent)
{
	cbor_item_t *m = msg_new_map();

	assert_int_equal(msg_put_int(m, "customer_id", customer), COFFER_OK);
	if (agent > 0)
		assert_int_equal(msg_put_int(m, "agent_id", agent), COFFER_OK);
	assert_int_equal(msg_put_int(m, "started", 1718000000), COFFER_OK);
	assert_int_equal(msg_put_int(m, "duration", 95), COFFER_OK);
	return m;
}

static int64_t
rec_int(const cbor_item_t *rec, const char *key)
{
	int64_t v = -1;

	assert_int_equal(msg_get_int(rec, key, &v), COFFER_OK);
	return v;
}

static int
get_rc(struct store *st, const char *kind, int64_t id,
    const struct store_scope *sc)
{
	cbor_item_t *rec = NULL;
	int rc = store_record_get(st, schema_kind(kind), id, sc, &rec);

	if (rc == COFFER_OK)
		cbor_decref(&rec);
	else
		assert_null(rec);
	return rc;
}

/* Does the file at path contain needle anywhere? */
static int
file_contains(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;
	int found = 0;

	if (fp == NULL)
		return -1;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	if (n > 0 && (buf = malloc((size_t)n)) != NULL &&
	    fread(buf, 1, (size_t)n, fp) == (size_t)n)
		found = memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
	free(buf);
	fclose(fp);
	return found;
}

/* Fixture ------------------------------------------------------------ */

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	cbor_item_t *p;

	if (f == NULL || test_store_new(f->dir, sizeof(f->dir), "store", f->path,
	    sizeof(f->path), f->key, &f->st) != 0)
		return -1;
	f->a1 = test_user_add(f->st, "a1", ROLE_AGENT, "east", 0);
	f->a2 = test_user_add(f->st, "a2", ROLE_AGENT, "east", 0);
	f->b1 = test_user_add(f->st, "b1", ROLE_AGENT, "west", 0);
	f->mgr = test_user_add(f->st, "boss", ROLE_MANAGER, "east", 0);
	p = msg_new_map();
	msg_put_str(p, "name", "云呼叫中心 标准版");
	msg_put_int(p, "list_price", 980000);
	msg_put_int(p, "price_floor", 720000);
	f->product = create(f->st, "product", p, &all_scope);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	test_rm_tree(f->dir);
	free(f);
	return 0;
}

/* Interrupting ------------------------------------------------------- */

struct long_query {
	struct store *st;
	int status;
};

/* Counts to 300 million: tens of seconds unless interrupted. */
static void *
run_long_query(void *arg)
{
	struct long_query *q = arg;
	sqlite3_stmt *s = NULL;

	q->status = store_prep(q->st, "WITH RECURSIVE c(x) AS (SELECT 1 "
	    "UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) "
	    "SELECT count(*) FROM c", &s);
	if (q->status == COFFER_OK)
		q->status = store_db_status(sqlite3_step(s));
	sqlite3_finalize(s);
	return NULL;
}

/* store_interrupt from another thread ends a running query with
 * "unavailable" (the daemon's stop), and the connection goes on working. */
static void
test_interrupt(void **state)
{
	struct fx *f = *state;
	struct long_query q = { .st = f->st, .status = -1 };
	struct timespec t0, t1, nap = { 0, 200 * 1000000L };
	struct store_user u;
	pthread_t t;
	double secs;

	store_interrupt(NULL);	/* nothing to stop: no effect */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&t, NULL, run_long_query, &q), 0);
	nanosleep(&nap, NULL);
	store_interrupt(f->st);
	pthread_join(t, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(q.status, COFFER_ERR_UNAVAILABLE);
	assert_true(secs < 5.0);
	/* the next query is not affected */
	assert_int_equal(store_user_get(f->st, "a1", &u), COFFER_OK);
	assert_int_equal(u.id, f->a1);
}

/* Opening ------------------------------------------------------------ */

static void
test_reopen_and_wrong_key(void **state)
{
	struct fx *f = *state;
	unsigned char bad[32];
	struct store *st = NULL;
	struct store_user u;
	struct stat sb;
	char missing[PATH_MAX];

	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_close(f->st);
	f->st = NULL;

	memcpy(bad, f->key, sizeof(bad));
	bad[31] ^= 1;
	assert_int_equal(store_open(f->path, bad, 0, &st), COFFER_ERR_KEY);
	assert_null(st);
	assert_int_equal(store_open(f->path, bad, 1, &st), COFFER_ERR_KEY);

	snprintf(missing, sizeof(missing), "%s/nope.db", f->dir);
	assert_int_equal(store_open(missing, f->key, 0, &st),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(access(missing, F_OK), -1);

	assert_int_equal(store_open(f->path, f->key, 0, &f->st), COFFER_OK);
	assert_int_equal(store_user_get(f->st, "b1", &u), COFFER_OK);
	assert_int_equal(u.id, f->b1);
	assert_string_equal(u.team, "west");
	assert_int_equal(get_rc(f->st, "product", f->product, &all_scope),
	    COFFER_OK);
}

static void
test_empty_file_not_a_vault(void **state)
{
	struct fx *f = *state;
	struct store *st = NULL;
	char p[PATH_MAX];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/empty.db", f->dir);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fclose(fp);
	/* an empty file is no vault: only create may initialise it */
	assert_int_equal(store_open(p, f->key, 0, &st), COFFER_ERR_DB);
	assert_int_equal(store_open(p, f->key, 1, &st), COFFER_OK);
	store_close(st);
}

static void
test_no_plaintext_on_disk(void **state)
{
	struct fx *f = *state;
	char wal[PATH_MAX + 8];
	struct stat sb;
	cbor_item_t *m = customer_map("王" MARKER, "13812345678", f->a1);

	msg_put_str(m, "needs", "needs " MARKER);
	create(f->st, "customer", m, &all_scope);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* the marker is in the WAL before a checkpoint ... */
	assert_int_equal(file_contains(wal, MARKER), 0);
	assert_int_equal(file_contains(wal, "SQLite format 3"), 0);
	assert_int_equal(file_contains(f->path, "CREATE TABLE"), 0);
	store_close(f->st);
	f->st = NULL;
	/* ... and in the main file after it */
	assert_int_equal(file_contains(f->path, MARKER), 0);
	assert_int_equal(file_contains(f->path, "SQLite format 3"), 0);
	assert_int_equal(file_contains(f->path, "customers"), 0);
	assert_int_equal(store_open(f->path, f->key, 0, &f->st), COFFER_OK);
}

/* Users -------------------------------------------------------------- */

static void
test_users(void **state)
{
	struct fx *f = *state;
	struct store_user u, g;
	struct coffer_errdetail d;
	cbor_item_t *list = NULL, *m;
	char mgr[65];

	assert_int_equal(store_user_get(f->st, "nobody", &u),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(store_user_get_id(f->st, 9999, &u),
	    COFFER_ERR_NOT_FOUND);

	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "a1");
	snprintf(u.clearance, sizeof(u.clearance), "internal");
	u.role = ROLE_AGENT;
	assert_int_equal(store_user_add(f->st, &u, &d), COFFER_ERR_CONFLICT);
	assert_string_equal(d.field, "name");

	snprintf(u.name, sizeof(u.name), "bad name");
	assert_int_equal(store_user_add(f->st, &u, &d), COFFER_ERR_INVALID);
	snprintf(u.name, sizeof(u.name), "c1");
	snprintf(u.clearance, sizeof(u.clearance), "top");
	assert_int_equal(store_user_add(f->st, &u, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.field, "clearance");
	snprintf(u.clearance, sizeof(u.clearance), "secret");
	u.role = (enum user_role)9;
	assert_int_equal(store_user_add(f->st, &u, &d), COFFER_ERR_INVALID);
	u.role = ROLE_COMPLIANCE;
	snprintf(u.team, sizeof(u.team), "bad\033[2Jteam");
	assert_int_equal(store_user_add(f->st, &u, &d), COFFER_ERR_INVALID);
	snprintf(u.team, sizeof(u.team), "华东一组");
	u.manager_id = 4242;
	assert_int_equal(store_user_add(f->st, &u, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.field, "manager");
	u.manager_id = f->mgr;
	assert_int_equal(store_user_add(f->st, &u, &d), COFFER_OK);

	assert_int_equal(store_user_get(f->st, "c1", &g), COFFER_OK);
	assert_int_equal(g.id, u.id);
	assert_int_equal(g.role, ROLE_COMPLIANCE);
	assert_int_equal(g.manager_id, f->mgr);
	assert_string_equal(g.team, "华东一组");
	assert_int_equal(g.version, 1);
	assert_int_equal(g.active, 0);
	assert_memory_equal(g.pubkey, u.pubkey, 32);

	g.active = 1;
	snprintf(g.clearance, sizeof(g.clearance), "public");
	assert_int_equal(store_user_update(f->st, &g, &d), COFFER_OK);
	assert_int_equal(store_user_get_id(f->st, g.id, &u), COFFER_OK);
	assert_int_equal(u.active, 1);
	assert_int_equal(u.version, 2);
	assert_string_equal(u.clearance, "public");
	g.manager_id = g.id;
	assert_int_equal(store_user_update(f->st, &g, &d), COFFER_ERR_INVALID);
	g.manager_id = 0;
	g.id = 9999;
	assert_int_equal(store_user_update(f->st, &g, &d),
	    COFFER_ERR_NOT_FOUND);

	assert_int_equal(store_user_list(f->st, &list), COFFER_OK);
	assert_int_equal(cbor_array_size(list), 5);
	m = cbor_array_handle(list)[4];
	assert_int_equal(msg_get_str(m, "manager", mgr, sizeof(mgr)),
	    COFFER_OK);
	assert_string_equal(mgr, "boss");
	assert_non_null(msg_get(m, "fingerprint"));
	assert_null(msg_get(cbor_array_handle(list)[0], "manager"));
	cbor_decref(&list);

	assert_string_equal(store_role_name(ROLE_MANAGER), "manager");
	assert_null(store_role_name((enum user_role)0));
	assert_int_equal(store_role_parse("admin", &u.role), COFFER_OK);
	assert_int_equal(u.role, ROLE_ADMIN);
	assert_int_equal(store_role_parse("root", &u.role), COFFER_ERR_INVALID);
}

/* Records ------------------------------------------------------------ */

static void
test_record_crud(void **state)
{
	struct fx *f = *state;
	const struct kind_def *k = schema_kind("customer");
	struct store_scope own = scope_of(SCOPE_OWN, f->a1, NULL);
	struct coffer_errdetail d;
	cbor_item_t *rec = NULL, *up;
	char buf[64];
	int64_t id, v;
	int b;

	id = create(f->st, "customer",
	    customer_map("李娜", "+86 138 1234 5678", 0), &own);
	assert_int_equal(store_record_get(f->st, k, id, &own, &rec),
	    COFFER_OK);
	assert_int_equal(rec_int(rec, "id"), id);
	assert_int_equal(rec_int(rec, "version"), 1);
	/* the owner defaulted to the writer; the phone is normalised */
	assert_int_equal(rec_int(rec, "owner_id"), f->a1);
	assert_int_equal(msg_get_str(rec, "phone", buf, sizeof(buf)),
	    COFFER_OK);
	assert_string_equal(buf, "13812345678");
	assert_int_equal(msg_get_str(rec, "stage", buf, sizeof(buf)),
	    COFFER_OK);
	assert_string_equal(buf, "new");
	assert_int_equal(msg_get_bool(rec, "do_not_call", &b), COFFER_OK);
	assert_int_equal(b, 0);
	assert_null(msg_get(rec, "email")); /* NULL columns are omitted */
	assert_true(rec_int(rec, "created") > 1700000000);
	cbor_decref(&rec);

	up = msg_new_map();
	msg_put_str(up, "stage", "contacted");
	msg_put_str(up, "email", "li.na@example.com");
	msg_put_bool(up, "do_not_call", 1);
	assert_int_equal(store_record_update(f->st, k, id, 1, up, &own, &d),
	    COFFER_OK);
	/* the same version again is a conflict, with no detail */
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_record_update(f->st, k, id, 1, up, &own, &d),
	    COFFER_ERR_CONFLICT);
	assert_string_equal(d.message, "");
	cbor_decref(&up);

	assert_int_equal(store_record_get(f->st, k, id, &own, &rec),
	    COFFER_OK);
	v = rec_int(rec, "version");
	assert_int_equal(v, 2);
	assert_int_equal(msg_get_str(rec, "email", buf, sizeof(buf)),
	    COFFER_OK);
	assert_string_equal(buf, "li.na@example.com");
	assert_int_equal(msg_get_bool(rec, "do_not_call", &b), COFFER_OK);
	assert_int_equal(b, 1);
	cbor_decref(&rec);

	/* null clears an optional field; required fields cannot be cleared */
	up = msg_new_map();
	msg_put(up, "email", msg_new_null());
	assert_int_equal(store_record_update(f->st, k, id, 2, up, &own, &d),
	    COFFER_OK);
	cbor_decref(&up);
	assert_int_equal(store_record_get(f->st, k, id, &own, &rec),
	    COFFER_OK);
	assert_null(msg_get(rec, "email"));
	cbor_decref(&rec);
	up = msg_new_map();
	msg_put(up, "phone", msg_new_null());
	assert_int_equal(store_record_update(f->st, k, id, 3, up, &own, &d),
	    COFFER_ERR_INVALID);
	assert_string_equal(d.field, "phone");
	cbor_decref(&up);

	assert_int_equal(store_record_delete(f->st, k, id, 2, &own),
	    COFFER_ERR_CONFLICT);
	assert_int_equal(store_record_delete(f->st, k, id, 3, &own),
	    COFFER_OK);
	assert_int_equal(get_rc(f->st, "customer", id, &all_scope),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(store_record_delete(f->st, k, id, 3, &own),
	    COFFER_ERR_NOT_FOUND);
}

static void
test_validation_in_store(void **state)
{
	struct fx *f = *state;
	const struct kind_def *k = schema_kind("customer");
	struct coffer_errdetail d;
	cbor_item_t *m = customer_map("张伟", "12345", f->a1);
	int64_t id = 0;

	assert_int_equal(store_record_create(f->st, k, m, &all_scope, &id, &d),
	    COFFER_ERR_INVALID);
	assert_string_equal(d.field, "phone");
	assert_string_equal(d.message, "phone: not a valid number");
	cbor_decref(&m);
	m = msg_new_map();
	msg_put_str(m, "name", "x");
	assert_int_equal(store_record_create(f->st, k, m, &all_scope, &id, &d),
	    COFFER_ERR_INVALID);
	assert_string_equal(d.field, "phone");
	cbor_decref(&m);
	assert_int_equal(id, 0);
}

static void
test_scope_denied_vs_not_found(void **state)
{
	struct fx *f = *state;
	struct store_scope own1 = scope_of(SCOPE_OWN, f->a1, NULL);
	struct store_scope own2 = scope_of(SCOPE_OWN, f->a2, NULL);
	struct store_scope east = scope_of(SCOPE_TEAM, f->mgr, "east");
	struct store_scope west = scope_of(SCOPE_TEAM, f->b1, "west");
	struct store_scope none = scope_of(SCOPE_NONE, f->a1, NULL);
	struct store_scope noteam = scope_of(SCOPE_TEAM, f->a1, "");
	int64_t c, call, orphan;

	c = create(f->st, "customer", customer_map("赵敏", "010-12345678",
	    f->a1), &all_scope);
	orphan = create(f->st, "customer", customer_map("无主", "13900001111",
	    0), &all_scope);
	call = create(f->st, "call", call_map(c, f->a1), &own1);

	assert_int_equal(get_rc(f->st, "customer", c, &own1), COFFER_OK);
	assert_int_equal(get_rc(f->st, "customer", c, &own2),
	    COFFER_ERR_DENIED);
	assert_int_equal(get_rc(f->st, "customer", c, &east), COFFER_OK);
	assert_int_equal(get_rc(f->st, "customer", c, &west),
	    COFFER_ERR_DENIED);
	assert_int_equal(get_rc(f->st, "customer", c, &all_scope), COFFER_OK);
	assert_int_equal(get_rc(f->st, "customer", c, &none),
	    COFFER_ERR_DENIED);
	assert_int_equal(get_rc(f->st, "customer", c, NULL),
	    COFFER_ERR_DENIED);
	/* a team scope with no team sees nothing, not the unowned rows */
	assert_int_equal(get_rc(f->st, "customer", orphan, &noteam),
	    COFFER_ERR_DENIED);
	assert_int_equal(get_rc(f->st, "customer", orphan, &own1),
	    COFFER_ERR_DENIED);
	assert_int_equal(get_rc(f->st, "customer", orphan, &all_scope),
	    COFFER_OK);

	/* calls are scoped through their customer */
	assert_int_equal(get_rc(f->st, "call", call, &own1), COFFER_OK);
	assert_int_equal(get_rc(f->st, "call", call, &own2),
	    COFFER_ERR_DENIED);
	assert_int_equal(get_rc(f->st, "call", call, &east), COFFER_OK);
	assert_int_equal(get_rc(f->st, "call", call, &west),
	    COFFER_ERR_DENIED);

	/* products are shared: any scope but NONE */
	assert_int_equal(get_rc(f->st, "product", f->product, &west),
	    COFFER_OK);
	assert_int_equal(get_rc(f->st, "product", f->product, &own2),
	    COFFER_OK);
	assert_int_equal(get_rc(f->st, "product", f->product, &none),
	    COFFER_ERR_DENIED);

	/* absent rows are NOT_FOUND in every scope */
	assert_int_equal(get_rc(f->st, "customer", 987654, &own1),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(get_rc(f->st, "call", 987654, &none),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(get_rc(f->st, "product", 987654, &all_scope),
	    COFFER_ERR_NOT_FOUND);

	/* writes out of scope are refused the same way */
	assert_int_equal(store_record_delete(f->st, schema_kind("call"), call,
	    1, &own2), COFFER_ERR_DENIED);
	assert_int_equal(store_record_delete(f->st, schema_kind("customer"),
	    c, 1, &west), COFFER_ERR_DENIED);
}

static void
test_references_and_owner(void **state)
{
	struct fx *f = *state;
	struct store_scope own1 = scope_of(SCOPE_OWN, f->a1, NULL);
	struct store_scope east = scope_of(SCOPE_TEAM, f->mgr, "east");
	const struct kind_def *ck = schema_kind("customer");
	struct coffer_errdetail d;
	cbor_item_t *m;
	int64_t c1, cb, id = 0;

	c1 = create(f->st, "customer", customer_map("周杰", "13700001234",
	    f->a1), &all_scope);
	cb = create(f->st, "customer", customer_map("吴芳", "13700004321",
	    f->b1), &all_scope);

	m = call_map(424242, f->a1);
	assert_int_equal(store_record_create(f->st, schema_kind("call"), m,
	    &all_scope, &id, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.field, "customer_id");
	cbor_decref(&m);
	m = call_map(cb, f->a1);
	assert_int_equal(store_record_create(f->st, schema_kind("call"), m,
	    &own1, &id, &d), COFFER_ERR_DENIED);
	assert_string_equal(d.field, "customer_id");
	cbor_decref(&m);
	m = call_map(c1, 5555);
	assert_int_equal(store_record_create(f->st, schema_kind("call"), m,
	    &own1, &id, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.field, "agent_id");
	cbor_decref(&m);

	m = msg_new_map();
	msg_put_int(m, "customer_id", c1);
	msg_put_int(m, "product_id", 31337);
	msg_put_int(m, "amount", 100);
	assert_int_equal(store_record_create(f->st, schema_kind("deal"), m,
	    &own1, &id, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.field, "product_id");
	cbor_decref(&m);
	m = msg_new_map();
	msg_put_int(m, "customer_id", c1);
	msg_put_int(m, "product_id", f->product);
	msg_put_int(m, "amount", 980000);
	create(f->st, "deal", m, &own1);

	/* an agent cannot create for, or hand a customer to, someone else */
	m = customer_map("郑爽", "13600001111", f->a2);
	assert_int_equal(store_record_create(f->st, ck, m, &own1, &id, &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.field, "owner_id");
	cbor_decref(&m);
	m = msg_new_map();
	msg_put_int(m, "owner_id", f->a2);
	assert_int_equal(store_record_update(f->st, ck, c1, 1, m, &own1, &d),
	    COFFER_ERR_DENIED);
	/* a manager may move it within the team, not outside */
	assert_int_equal(store_record_update(f->st, ck, c1, 1, m, &east, &d),
	    COFFER_OK);
	cbor_decref(&m);
	m = msg_new_map();
	msg_put_int(m, "owner_id", f->b1);
	assert_int_equal(store_record_update(f->st, ck, c1, 2, m, &east, &d),
	    COFFER_ERR_DENIED);
	cbor_decref(&m);
	m = msg_new_map();
	msg_put(m, "owner_id", msg_new_null());
	assert_int_equal(store_record_update(f->st, ck, c1, 2, m, &east, &d),
	    COFFER_ERR_DENIED);
	cbor_decref(&m);

	/* immutable fields stay put */
	m = msg_new_map();
	msg_put_int(m, "customer_id", cb);
	assert_int_equal(store_record_update(f->st, schema_kind("deal"), 1, 1,
	    m, &all_scope, &d), COFFER_ERR_INVALID);
	cbor_decref(&m);

	/* a customer with deals cannot be deleted */
	assert_int_equal(store_record_delete(f->st, ck, c1, 2, &all_scope),
	    COFFER_ERR_CONFLICT);
	assert_int_equal(get_rc(f->st, "customer", c1, &all_scope), COFFER_OK);
}

static void
test_list_filters_paging(void **state)
{
	struct fx *f = *state;
	const struct kind_def *k = schema_kind("customer");
	struct store_scope own1 = scope_of(SCOPE_OWN, f->a1, NULL);
	struct store_scope east = scope_of(SCOPE_TEAM, f->mgr, "east");
	struct store_scope none = scope_of(SCOPE_NONE, 0, NULL);
	struct store_filter flt[2];
	cbor_item_t *m, *arr = NULL, *v, *v2;
	uint64_t total = 0;
	char name[32];
	int64_t owner, prev = 0, first = 0;
	size_t i;

	for (i = 0; i < 30; i++) {
		owner = i % 3 == 0 ? f->a1 : i % 3 == 1 ? f->a2 : f->b1;
		snprintf(name, sizeof(name), "客户%zu", i);
		m = customer_map(name, "13800138000", owner);
		msg_put_str(m, "stage", i % 2 ? "screened" : "new");
		create(f->st, "customer", m, &all_scope);
	}
	assert_int_equal(store_record_list(f->st, k, NULL, 0, &all_scope, 0, 0,
	    &arr, &total), COFFER_OK);
	assert_int_equal(total, 30);
	assert_int_equal(cbor_array_size(arr), 30);
	for (i = 0; i < 30; i++) { /* ordered by id */
		int64_t id = rec_int(cbor_array_handle(arr)[i], "id");

		assert_true(id > prev);
		prev = id;
	}
	cbor_decref(&arr);

	assert_int_equal(store_record_list(f->st, k, NULL, 0, &own1, 4, 0,
	    &arr, &total), COFFER_OK);
	assert_int_equal(total, 10);
	assert_int_equal(cbor_array_size(arr), 4);
	first = rec_int(cbor_array_handle(arr)[0], "id");
	cbor_decref(&arr);
	assert_int_equal(store_record_list(f->st, k, NULL, 0, &own1, 4, 8,
	    &arr, &total), COFFER_OK);
	assert_int_equal(total, 10);
	assert_int_equal(cbor_array_size(arr), 2);
	assert_true(rec_int(cbor_array_handle(arr)[0], "id") > first);
	cbor_decref(&arr);

	assert_int_equal(store_record_list(f->st, k, NULL, 0, &east, 0, 0,
	    &arr, &total), COFFER_OK);
	assert_int_equal(total, 20);
	cbor_decref(&arr);

	v = msg_new_str("screened");
	v2 = msg_new_int(f->a2);
	flt[0].field = "stage";
	flt[0].value = v;
	flt[1].field = "owner_id";
	flt[1].value = v2;
	assert_int_equal(store_record_list(f->st, k, flt, 1, &all_scope, 0, 0,
	    &arr, &total), COFFER_OK);
	assert_int_equal(total, 15);
	cbor_decref(&arr);
	assert_int_equal(store_record_list(f->st, k, flt, 2, &east, 0, 0,
	    &arr, &total), COFFER_OK);
	assert_int_equal(total, 5);
	for (i = 0; i < cbor_array_size(arr); i++)
		assert_int_equal(rec_int(cbor_array_handle(arr)[i], "owner_id"),
		    f->a2);
	cbor_decref(&arr);

	/* not a filter field, wrong type, bad enum, no scope */
	flt[1].field = "name";
	assert_int_equal(store_record_list(f->st, k, flt, 2, &all_scope, 0, 0,
	    &arr, &total), COFFER_ERR_INVALID);
	flt[0].field = "owner_id";
	assert_int_equal(store_record_list(f->st, k, flt, 1, &all_scope, 0, 0,
	    &arr, &total), COFFER_ERR_INVALID);
	flt[0].field = "stage";
	flt[0].value = v2;
	assert_int_equal(store_record_list(f->st, k, flt, 1, &all_scope, 0, 0,
	    &arr, &total), COFFER_ERR_INVALID);
	assert_int_equal(store_record_list(f->st, k, NULL, 0, &none, 0, 0,
	    &arr, &total), COFFER_ERR_DENIED);
	cbor_decref(&v);
	cbor_decref(&v2);
}

/* A manager's team scope covers the teams of everyone below them. */
static void
test_team_subtree(void **state)
{
	struct fx *f = *state;
	struct store_scope head_scope, east = scope_of(SCOPE_TEAM, f->mgr,
	    "east");
	struct store_user boss, head;
	int64_t c, cw;

	head.id = test_user_add(f->st, "head", ROLE_MANAGER, "hq", 0);
	head_scope = scope_of(SCOPE_TEAM, head.id, "hq");
	assert_int_equal(store_user_get_id(f->st, f->mgr, &boss), COFFER_OK);
	boss.manager_id = head.id;
	assert_int_equal(store_user_update(f->st, &boss, NULL), COFFER_OK);
	c = create(f->st, "customer", customer_map("钱一", "13811110000",
	    f->a1), &all_scope);
	cw = create(f->st, "customer", customer_map("孙二", "13811110001",
	    f->b1), &all_scope);
	/* head -> boss (east) -> a1: head sees east's customer */
	assert_int_equal(get_rc(f->st, "customer", c, &head_scope), COFFER_OK);
	assert_int_equal(get_rc(f->st, "customer", c, &east), COFFER_OK);
	/* west is nobody's subtree here */
	assert_int_equal(get_rc(f->st, "customer", cw, &head_scope),
	    COFFER_ERR_DENIED);
	/* and the subtree does not go upwards */
	boss.manager_id = 0;
	assert_int_equal(store_user_update(f->st, &boss, NULL), COFFER_OK);
	assert_int_equal(get_rc(f->st, "customer", c, &head_scope),
	    COFFER_ERR_DENIED);
}

static void
test_list_via_customer_and_null_filter(void **state)
{
	struct fx *f = *state;
	struct store_scope own1 = scope_of(SCOPE_OWN, f->a1, NULL);
	struct store_scope west = scope_of(SCOPE_TEAM, f->b1, "west");
	struct store_filter flt;
	cbor_item_t *arr = NULL, *nul = msg_new_null();
	uint64_t total = 0;
	int64_t c1, c2;

	c1 = create(f->st, "customer", customer_map("甲", "13811112222",
	    f->a1), &all_scope);
	c2 = create(f->st, "customer", customer_map("乙", "13811113333",
	    f->b1), &all_scope);
	create(f->st, "call", call_map(c1, f->a1), &all_scope);
	create(f->st, "call", call_map(c1, 0), &all_scope);
	create(f->st, "call", call_map(c2, f->b1), &all_scope);

	assert_int_equal(store_record_list(f->st, schema_kind("calls"), NULL, 0,
	    &own1, 0, 0, &arr, &total), COFFER_OK);
	assert_int_equal(total, 2);
	cbor_decref(&arr);
	assert_int_equal(store_record_list(f->st, schema_kind("call"), NULL, 0,
	    &west, 0, 0, &arr, &total), COFFER_OK);
	assert_int_equal(total, 1);
	assert_int_equal(rec_int(cbor_array_handle(arr)[0], "customer_id"), c2);
	cbor_decref(&arr);

	flt.field = "agent_id";
	flt.value = nul;
	assert_int_equal(store_record_list(f->st, schema_kind("call"), &flt, 1,
	    &all_scope, 0, 0, &arr, &total), COFFER_OK);
	assert_int_equal(total, 1);
	assert_null(msg_get(cbor_array_handle(arr)[0], "agent_id"));
	cbor_decref(&arr);
	cbor_decref(&nul);
}

static void
test_transactions_and_stats(void **state)
{
	struct fx *f = *state;
	cbor_item_t *stats = NULL;
	int64_t id, n = -1;

	assert_int_equal(store_begin(f->st), COFFER_OK);
	id = create(f->st, "customer", customer_map("回滚", "13811114444", 0),
	    &all_scope);
	store_rollback(f->st);
	assert_int_equal(get_rc(f->st, "customer", id, &all_scope),
	    COFFER_ERR_NOT_FOUND);

	assert_int_equal(store_begin(f->st), COFFER_OK);
	id = create(f->st, "customer", customer_map("提交", "13811114444", 0),
	    &all_scope);
	assert_int_equal(store_commit(f->st), COFFER_OK);
	assert_int_equal(get_rc(f->st, "customer", id, &all_scope), COFFER_OK);

	assert_int_equal(store_stats(f->st, &stats), COFFER_OK);
	assert_int_equal(msg_get_int(stats, "customer", &n), COFFER_OK);
	assert_int_equal(n, 1);
	assert_int_equal(msg_get_int(stats, "product", &n), COFFER_OK);
	assert_int_equal(n, 1);
	assert_int_equal(msg_get_int(stats, "call", &n), COFFER_OK);
	assert_int_equal(n, 0);
	cbor_decref(&stats);
}

/* Every descriptor field must be a column of its table (no drift). */
static void
test_tables_match_schema(void **state)
{
	struct fx *f = *state;
	const struct kind_def *kinds;
	const char *names[64];
	struct store_bulk *b = NULL;
	size_t nk, i, j, n;

	kinds = schema_kinds(&nk);
	for (i = 0; i < nk; i++) {
		for (j = 0, n = 0; j < kinds[i].nfields; j++) {
			if (strcmp(kinds[i].fields[j].name, "id") != 0 &&
			    strcmp(kinds[i].fields[j].name, "version") != 0)
				names[n++] = kinds[i].fields[j].name;
		}
		assert_int_equal(store_bulk_open(f->st, &kinds[i], names, n,
		    &b), COFFER_OK);
		store_bulk_close(b);
	}
	names[0] = "id";
	assert_int_equal(store_bulk_open(f->st, &kinds[0], names, 1, &b),
	    COFFER_ERR_USAGE);
	names[0] = "nonexistent";
	assert_int_equal(store_bulk_open(f->st, &kinds[0], names, 1, &b),
	    COFFER_ERR_USAGE);
}

static void
test_bulk(void **state)
{
	struct fx *f = *state;
	static const char *const cols[] = { "name", "phone", "owner_id",
		"stage" };
	struct store_bulk *b = NULL;
	cbor_item_t *rec = NULL;
	int64_t id = 0, first = 0;
	char buf[32];
	int i;

	assert_int_equal(store_bulk_open(f->st, schema_kind("customer"), cols,
	    4, &b), COFFER_OK);
	assert_int_equal(store_begin(f->st), COFFER_OK);
	for (i = 0; i < 100; i++) {
		assert_int_equal(store_bulk_text(b, 0, "批量"), COFFER_OK);
		assert_int_equal(store_bulk_text(b, 1, "13912345678"),
		    COFFER_OK);
		assert_int_equal(store_bulk_int(b, 2, f->a1), COFFER_OK);
		if (i == 0)
			assert_int_equal(store_bulk_text(b, 3, "won"),
			    COFFER_OK);
		assert_int_equal(store_bulk_insert(b, &id), COFFER_OK);
		if (i == 0)
			first = id;
	}
	assert_int_equal(store_bulk_int(b, 4, 1), COFFER_ERR_USAGE);
	/* the table's CHECK constraints still hold */
	assert_int_equal(store_bulk_text(b, 0, "x"), COFFER_OK);
	assert_int_equal(store_bulk_text(b, 1, "not-a-phone"), COFFER_OK);
	assert_int_equal(store_bulk_insert(b, NULL), COFFER_ERR_INVALID);
	assert_int_equal(store_commit(f->st), COFFER_OK);
	store_bulk_close(b);

	assert_int_equal(store_record_get(f->st, schema_kind("customer"), first,
	    &all_scope, &rec), COFFER_OK);
	assert_int_equal(msg_get_str(rec, "stage", buf, sizeof(buf)),
	    COFFER_OK);
	assert_string_equal(buf, "won");
	assert_int_equal(rec_int(rec, "version"), 1);
	cbor_decref(&rec);
	/* values do not leak into the next row: unset means NULL */
	assert_int_equal(store_record_get(f->st, schema_kind("customer"), id,
	    &all_scope, &rec), COFFER_OK);
	assert_null(msg_get(rec, "stage"));
	assert_int_equal(rec_int(rec, "owner_id"), f->a1);
	cbor_decref(&rec);
}

/* List totals from customer_counts (migration 9) -------------------- */

#define OWNERS 5 /* a1, a2, b1, mgr and nobody */

static uint64_t rnd_state;

static uint64_t
rnd(uint64_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state % n;
}

static int64_t
rnd_owner(const struct fx *f)
{
	const int64_t o[OWNERS] = { f->a1, f->a2, f->b1, f->mgr, 0 };

	return o[rnd(OWNERS)];
}

/* NULL or one of the label enum's values. */
static const char *
rnd_label(void)
{
	const struct field_def *lf = schema_field(schema_kind("customer"),
	    "label");
	size_t n = 0;

	while (lf->enum_values[n] != NULL)
		n++;
	n = rnd(n + 1);
	return n == 0 ? NULL : lf->enum_values[n - 1];
}

static void
sql_exec(struct store *st, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(store_sqlite(st), sql, NULL, NULL, &err) !=
	    SQLITE_OK)
		print_error("%s: %s\n", sql, err != NULL ? err : "?");
	assert_null(err);
}

static int64_t
sql_int(struct store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(store_sqlite(st), sql, -1, &s,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* A random live customer's id (with its version), or 0 if none. */
static int64_t
pick_live(struct store *st, int64_t *version)
{
	sqlite3_stmt *s = NULL;
	int64_t id = 0, n = sql_int(st, "SELECT count(*) FROM customers"
	    " WHERE deleted = 0");

	if (n == 0)
		return 0;
	assert_int_equal(sqlite3_prepare_v2(store_sqlite(st), "SELECT id,"
	    " version FROM customers WHERE deleted = 0 ORDER BY id"
	    " LIMIT 1 OFFSET ?", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, (int64_t)rnd((uint64_t)n));
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	id = sqlite3_column_int64(s, 0);
	*version = sqlite3_column_int64(s, 1);
	sqlite3_finalize(s);
	return id;
}

/* Any customer, live or not; 0 if there is none. */
static int64_t
pick_any(struct store *st)
{
	return sql_int(st, "SELECT coalesce((SELECT id FROM customers"
	    " ORDER BY random() LIMIT 1), 0)");
}

static int64_t
version_of(struct store *st, int64_t id)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT version FROM customers WHERE id ="
	    " %lld", (long long)id);
	return sql_int(st, sql);
}

/* Raw SQL, below the store: what an import or a future writer may do. */
static void
sql_write(struct fx *f)
{
	char sql[256], lbl[32], own[32];
	const char *l = rnd_label();
	int64_t o = rnd_owner(f), id = pick_any(f->st);

	snprintf(lbl, sizeof(lbl), l != NULL ? "'%s'" : "NULL", l);
	snprintf(own, sizeof(own), o > 0 ? "%lld" : "NULL", (long long)o);
	switch (rnd(5)) {
	case 0:
		snprintf(sql, sizeof(sql), "INSERT INTO customers (name, phone,"
		    " owner_id, label, deleted, created, updated) VALUES"
		    " ('x', '13800000000', %s, %s, %d, 1, 1)", own, lbl,
		    (int)rnd(4) == 0);
		break;
	case 1:
		snprintf(sql, sizeof(sql), "UPDATE customers SET owner_id = %s"
		    " WHERE id = %lld", own, (long long)id);
		break;
	case 2:
		snprintf(sql, sizeof(sql), "UPDATE customers SET label = %s,"
		    " stage = 'won' WHERE id = %lld", lbl, (long long)id);
		break;
	case 3:
		/* erased = 0 too: an erased row cannot come back otherwise */
		snprintf(sql, sizeof(sql), "UPDATE customers SET deleted = %d,"
		    " erased = 0, owner_id = %s WHERE id = %lld", (int)rnd(2),
		    own, (long long)id);
		break;
	default:
		snprintf(sql, sizeof(sql), "DELETE FROM customers WHERE id ="
		    " %lld", (long long)id);
		break;
	}
	sql_exec(f->st, sql);
}

static void
put_owner_label(cbor_item_t *m, int64_t owner, const char *label)
{
	cbor_item_t *nul = msg_new_null();

	assert_non_null(nul);
	assert_int_equal(owner > 0 ? msg_put_int(m, "owner_id", owner) :
	    msg_put(m, "owner_id", cbor_copy(nul)), COFFER_OK);
	assert_int_equal(label != NULL ? msg_put_str(m, "label", label) :
	    msg_put(m, "label", cbor_copy(nul)), COFFER_OK);
	cbor_decref(&nul);
}

/* Through the store's and the workflow's own write paths. */
static void
store_write(struct fx *f)
{
	const struct kind_def *ck = schema_kind("customer");
	const char *names[32];
	struct coffer_errdetail d;
	cbor_item_t *m = NULL;
	int64_t ver = 0, id = pick_live(f->st, &ver), to = rnd_owner(f);
	int64_t ids[4];
	uint64_t moved, fus;
	size_t n, nids;

	if (id == 0)
		return;
	memset(&d, 0, sizeof(d));
	switch (rnd(7)) {
	case 0:
		m = customer_map("新", "13800000001", 0);
		put_owner_label(m, rnd_owner(f), rnd_label());
		create(f->st, "customer", m, &all_scope);
		return;
	case 1:
		assert_non_null(m = msg_new_map());
		put_owner_label(m, to, rnd_label());
		assert_int_equal(store_record_update(f->st, ck, id, ver, m,
		    &all_scope, &d), COFFER_OK);
		cbor_decref(&m);
		return;
	case 2:
		assert_int_equal(store_record_tombstone(f->st, ck, id, ver),
		    COFFER_OK);
		return;
	case 3:
		assert_int_equal(store_record_delete(f->st, ck, id, ver,
		    &all_scope), COFFER_OK);
		return;
	case 4:
		/* a purge of a live customer, or retention of a tombstone */
		if (rnd(2) == 0) {
			id = sql_int(f->st, "SELECT coalesce((SELECT id FROM"
			    " customers WHERE deleted = 1 ORDER BY random()"
			    " LIMIT 1), 0)");
			if (id == 0)
				return;
			ver = version_of(f->st, id);
		}
		n = schema_erasable_fields(ck, names, 32);
		assert_int_equal(store_record_erase(f->st, ck, id, ver, names,
		    n), COFFER_OK);
		return;
	case 5:
		if (to > 0)
			assert_int_equal(wf_move(f->st, &id, 1, to, NULL, NULL),
			    COFFER_OK);
		return;
	default:
		if (to > 0 && to != f->a1)
			assert_int_equal(wf_transfer(f->st, f->a1, to, ids, 4,
			    &nids, &moved, &fus), COFFER_OK);
		return;
	}
}

/* count(*) of live customers by owner set and label allow-list, in SQL
 * written independently of the store's. */
static uint64_t
plain_count(struct store *st, const char *owners, int filter,
    unsigned allow)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM customers WHERE"
	    " deleted = 0 AND %s AND (%d = 0 OR label IS NULL OR"
	    " ((%u >> CASE label WHEN 'public' THEN 0 WHEN 'internal' THEN 1"
	    " WHEN 'confidential' THEN 2 ELSE 3 END) & 1) = 1)", owners,
	    filter, allow);
	return (uint64_t)sql_int(st, sql);
}

/* First id of the page at offset, in SQL of its own (0 if none). */
static int64_t
plain_first(struct store *st, const char *owners, size_t offset)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT coalesce((SELECT id FROM customers"
	    " WHERE deleted = 0 AND %s ORDER BY id LIMIT 1 OFFSET %zu), 0)",
	    owners, offset);
	return sql_int(st, sql);
}

/* One scope: the list's total against count(*); 1 if they differ. */
static int
scope_diff(struct fx *f, struct store_scope sc, const char *owners,
    int filter, unsigned allow)
{
	cbor_item_t *arr = NULL;
	uint64_t total = 0, want;
	size_t off = (size_t)rnd(20);
	int64_t first;

	sc.label_filter = filter;
	sc.label_allow = allow;
	assert_int_equal(store_record_list(f->st, schema_kind("customer"),
	    NULL, 0, &sc, 5, off, &arr, &total), COFFER_OK);
	want = plain_count(f->st, owners, filter, allow);
	if (!filter) {
		/* the page itself: ids ascending from the right offset */
		first = plain_first(f->st, owners, off);
		assert_int_equal(cbor_array_size(arr) > 0 ?
		    rec_int(cbor_array_handle(arr)[0], "id") : 0, first);
	}
	cbor_decref(&arr);
	if (total != want)
		print_message("scope %d user %lld filter %d allow %u: total"
		    " %llu, count(*) %llu\n", sc.kind, (long long)sc.user_id,
		    filter, allow, (unsigned long long)total,
		    (unsigned long long)want);
	return total != want;
}

typedef int (*scope_diff_fn)(struct fx *, struct store_scope, const char *,
    int, unsigned);

/*
 * Mismatches of diff over every owner, team and ALL, for a few
 * allow-lists; col names the owner column in diff's SQL.
 */
static int
scopes_diff(struct fx *f, scope_diff_fn diff, const char *col)
{
	static const unsigned allow[] = { 0, 1, 3, 5, 15 };
	const int64_t users[] = { f->a1, f->a2, f->b1, f->mgr };
	static const char *const teams[] = { "east", "west" };
	const int64_t leads[] = { f->mgr, f->b1 };
	char owners[128];
	size_t i, j;
	int d = 0;

	for (j = 0; j < sizeof(allow) / sizeof(allow[0]); j++) {
		for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
			snprintf(owners, sizeof(owners), "%s = %lld", col,
			    (long long)users[i]);
			d += diff(f, scope_of(SCOPE_OWN, users[i], NULL),
			    owners, j > 0, allow[j]);
		}
		for (i = 0; i < 2; i++) {
			snprintf(owners, sizeof(owners), "%s IN (SELECT id FROM"
			    " users WHERE team = '%s')", col, teams[i]);
			d += diff(f, scope_of(SCOPE_TEAM, leads[i], teams[i]),
			    owners, j > 0, allow[j]);
		}
		d += diff(f, all_scope, "1", j > 0, allow[j]);
	}
	return d;
}

static int
totals_diff(struct fx *f)
{
	return scopes_diff(f, scope_diff, "owner_id");
}

/* The counters' own invariant: no row counts nothing. */
static void
assert_counts_tidy(struct store *st)
{
	assert_int_equal(sql_int(st, "SELECT count(*) FROM customer_counts"
	    " WHERE n <= 0"), 0);
	assert_int_equal(sql_int(st, "SELECT count(*) FROM (SELECT"
	    " coalesce(owner_id, 0), coalesce(label, ''), count(*) FROM"
	    " customers WHERE deleted = 0 GROUP BY 1, 2 EXCEPT SELECT"
	    " owner_id, label, n FROM customer_counts)"), 0);
}

static void
fill_customers(struct fx *f, int n)
{
	static const char *const cols[] = { "name", "phone", "owner_id",
		"label" };
	struct store_bulk *b = NULL;
	int64_t o;
	int i;

	assert_int_equal(store_bulk_open(f->st, schema_kind("customer"), cols,
	    4, &b), COFFER_OK);
	assert_int_equal(store_begin(f->st), COFFER_OK);
	for (i = 0; i < n; i++) {
		assert_int_equal(store_bulk_text(b, 0, "随机"), COFFER_OK);
		assert_int_equal(store_bulk_text(b, 1, "13912345678"),
		    COFFER_OK);
		if ((o = rnd_owner(f)) > 0)
			assert_int_equal(store_bulk_int(b, 2, o), COFFER_OK);
		assert_int_equal(store_bulk_text(b, 3, rnd_label()), COFFER_OK);
		assert_int_equal(store_bulk_insert(b, NULL), COFFER_OK);
	}
	assert_int_equal(store_commit(f->st), COFFER_OK);
	store_bulk_close(b);
	sql_exec(f->st, "UPDATE customers SET deleted = 1 WHERE id % 7 = 0");
}

static void
seed_rnd(void)
{
	rnd_state = ((uint64_t)randombytes_random() << 32) |
	    randombytes_random() | 1;
	print_message("seed %llu\n", (unsigned long long)rnd_state);
}

static void
test_list_totals_counted(void **state)
{
	struct fx *f = *state;
	int i, r;

	seed_rnd();
	fill_customers(f, 400);
	assert_int_equal(totals_diff(f), 0);
	for (r = 0; r < 6; r++) {
		for (i = 0; i < 40; i++) {
			sql_write(f);
			store_write(f);
		}
		assert_int_equal(totals_diff(f), 0);
		assert_counts_tidy(f->st);
	}
	/* the comparison can fail: without one trigger it does */
	sql_exec(f->st, "DROP TRIGGER customers_count_set;"
	    "UPDATE customers SET label = 'secret' WHERE deleted = 0"
	    " AND label IS NOT 'secret' AND owner_id IS NOT NULL;");
	assert_true(totals_diff(f) > 0);
}

/* A vault taken back to schema 8 and written without the triggers. */
static void
test_list_counts_migration(void **state)
{
	struct fx *f = *state;
	int i;

	seed_rnd();
	fill_customers(f, 300);
	sql_exec(f->st, "DROP TRIGGER customers_count_insert;"
	    "DROP TRIGGER customers_count_unset;"
	    "DROP TRIGGER customers_count_set;"
	    "DROP TRIGGER customers_count_delete;"
	    "DROP INDEX customers_scope_id;"
	    "DELETE FROM migrations WHERE version = 9;"
	    "PRAGMA user_version = 8;");
	for (i = 0; i < 200; i++)
		sql_write(f);
	/* stale counters left behind must not survive the migration */
	assert_true(totals_diff(f) > 0);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->path, f->key, 0, &f->st), COFFER_OK);
	assert_int_equal(sql_int(f->st, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	assert_int_equal(sql_int(f->st, "SELECT count(*) FROM migrations"
	    " WHERE version = 9"), 1);
	assert_true(sql_int(f->st, "SELECT count(*) FROM customer_counts") >
	    10);
	assert_int_equal(totals_diff(f), 0);
	assert_counts_tidy(f->st);
	for (i = 0; i < 100; i++) {
		sql_write(f);
		store_write(f);
	}
	assert_int_equal(totals_diff(f), 0);
}

/* An agent's page walks customers_scope_id in id order: no sort. */
static void
test_list_plan(void **state)
{
	struct fx *f = *state;
	sqlite3_stmt *s = NULL;
	char plan[1024] = "";
	size_t n = 0;

	fill_customers(f, 200);
	sql_exec(f->st, "ANALYZE");
	assert_int_equal(sqlite3_prepare_v2(store_sqlite(f->st),
	    "EXPLAIN QUERY PLAN SELECT t.* FROM customers t WHERE"
	    " t.deleted = 0 AND t.owner_id = ?1 AND (t.label IS NULL OR"
	    " t.label IN ('public', 'internal')) ORDER BY t.id"
	    " LIMIT 50 OFFSET 100", -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		n += (size_t)snprintf(plan + n, sizeof(plan) - n, "%s;",
		    (const char *)sqlite3_column_text(s, 3));
	sqlite3_finalize(s);
	print_message("plan: %s\n", plan);
	assert_non_null(strstr(plan, "customers_scope_id"));
	assert_null(strstr(plan, "TEMP B-TREE"));
}

/*
 * A list of calls in own or team scope with a label filter: the filter
 * rides on the scope's customer set (sql_scope_cond).  Its total and its
 * first page against plain SQL over a join, for every owner, team and
 * ALL, and several allow-lists.
 */
static int
calls_diff(struct fx *f, struct store_scope sc, const char *owners,
    int filter, unsigned allow)
{
	cbor_item_t *arr = NULL;
	uint64_t total = 0;
	int64_t want, first, got;
	char cond[640], sql[800];

	sc.label_filter = filter;
	sc.label_allow = allow;
	assert_int_equal(store_record_list(f->st, schema_kind("call"), NULL,
	    0, &sc, 5, 3, &arr, &total), COFFER_OK);
	snprintf(cond, sizeof(cond), "FROM calls t JOIN customers c ON c.id"
	    " = t.customer_id WHERE t.deleted = 0 AND %s AND (%d = 0 OR"
	    " c.label IS NULL OR ((%u >> CASE c.label WHEN 'public' THEN 0"
	    " WHEN 'internal' THEN 1 WHEN 'confidential' THEN 2 ELSE 3 END)"
	    " & 1) = 1)", owners, filter, allow);
	snprintf(sql, sizeof(sql), "SELECT count(*) %s", cond);
	want = sql_int(f->st, sql);
	snprintf(sql, sizeof(sql), "SELECT coalesce((SELECT t.id %s ORDER BY"
	    " t.id LIMIT 1 OFFSET 3), 0)", cond);
	first = sql_int(f->st, sql);
	got = cbor_array_size(arr) > 0 ?
	    rec_int(cbor_array_handle(arr)[0], "id") : 0;
	cbor_decref(&arr);
	if (total == (uint64_t)want && got == first)
		return 0;
	print_message("scope %d user %lld filter %d allow %u: total %llu,"
	    " want %lld; first id %lld, want %lld\n", sc.kind,
	    (long long)sc.user_id, filter, allow, (unsigned long long)total,
	    (long long)want, (long long)got, (long long)first);
	return 1;
}

static void
test_list_calls_label_scope(void **state)
{
	struct fx *f = *state;
	int d;

	seed_rnd();
	fill_customers(f, 150);
	/* two calls per customer, live or not, one in five tombstoned */
	sql_exec(f->st, "INSERT INTO calls (customer_id, started, duration,"
	    " created, updated) SELECT id, 1700000000 + id, 60, 1700000000,"
	    " 1700000000 FROM customers, (SELECT 1 UNION ALL SELECT 2)");
	sql_exec(f->st, "UPDATE calls SET deleted = 1 WHERE id % 5 = 0");
	d = scopes_diff(f, calls_diff, "c.owner_id");
	assert_int_equal(d, 0);
}

static int64_t
stat_rows(struct store *st, const char *table)
{
	char sql[160];

	if (sql_int(st, "SELECT count(*) FROM sqlite_master WHERE"
	    " name = 'sqlite_stat1'") == 0)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_stat1"
	    " WHERE tbl = '%s'", table);
	return sql_int(st, sql);
}

/*
 * Statistics are gathered by store_optimize (the daemon's start and its
 * hourly refresh), never by a close: a vault's plans no longer depend on
 * whether a daemon once stopped cleanly.
 */
static void
test_optimize(void **state)
{
	struct fx *f = *state;

	fill_customers(f, 200);
	store_close(f->st);
	assert_int_equal(store_open(f->path, f->key, 0, &f->st), COFFER_OK);
	assert_int_equal(stat_rows(f->st, "customers"), 0);
	assert_int_equal(store_optimize(f->st), COFFER_OK);
	assert_true(stat_rows(f->st, "customers") > 0);
	assert_true(stat_rows(f->st, "users") > 0);
	assert_int_equal(store_optimize(f->st), COFFER_OK); /* again: fine */
	assert_int_equal(store_optimize(NULL), COFFER_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reopen_and_wrong_key,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_optimize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_calls_label_scope,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file_not_a_vault,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_plaintext_on_disk,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_crud, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_validation_in_store,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope_denied_vs_not_found,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_references_and_owner,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_filters_paging,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_list_via_customer_and_null_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_team_subtree, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_transactions_and_stats,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_tables_match_schema,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bulk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_totals_counted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_counts_migration,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
