/*
 * test_dnc.c - the do-not-call list in the store (dnc.h): adding,
 * flagging customers, the customer facts consulting the list, a removal
 * that needs a second person, listing, the lookup of an import, and the
 * append-only event history the database enforces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "coffer/dnc.h"
#include "coffer/err.h"
#include "coffer/msg.h"
#include "coffer/schema.h"
#include "coffer/store.h"

#include "helper.h"
#include "helper_store.h"

/* store_int.h is private to src/store; the test needs the connection */
sqlite3 *store_sqlite(struct store *st);

#define NOW 1760000000

struct fx {
	char dir[64];
	struct store *st;
	int64_t agent, agent2, mgr;
};

static const struct store_scope all_scope = { .kind = SCOPE_ALL };

static int64_t
customer(struct fx *f, const char *phone)
{
	struct coffer_errdetail d;
	cbor_item_t *m = msg_new_map();
	int64_t id = 0;

	assert_int_equal(msg_put_str(m, "name", "王五"), COFFER_OK);
	assert_int_equal(msg_put_str(m, "phone", phone), COFFER_OK);
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_record_create(f->st, schema_kind("customer"), m,
	    &all_scope, &id, &d), COFFER_OK);
	cbor_decref(&m);
	return id;
}

/* A customer field as an integer (bools as 0/1); -1 when absent. */
static int64_t
field_of(struct fx *f, int64_t id, const char *name)
{
	cbor_item_t *rec = NULL;
	int64_t v = -1;
	int b = 0;

	assert_int_equal(store_record_get(f->st, schema_kind("customer"), id,
	    &all_scope, &rec), COFFER_OK);
	if (msg_get_bool(rec, name, &b) == COFFER_OK)
		v = b;
	else
		(void)msg_get_int(rec, name, &v);
	cbor_decref(&rec);
	return v;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || test_store_new(f->dir, sizeof(f->dir), "dnc", NULL, 0,
	    NULL, &f->st) != 0)
		return -1;
	f->agent = test_user_add(f->st, "a1", ROLE_AGENT, "east", 0);
	f->agent2 = test_user_add(f->st, "a2", ROLE_AGENT, "east", 0);
	f->mgr = test_user_add(f->st, "mgr", ROLE_MANAGER, "east", 0);
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

static void
test_normalize(void **state)
{
	char out[DNC_PHONE_MAX];

	(void)state;
	assert_int_equal(dnc_normalize("+86 138-1234-5678", out, sizeof(out)),
	    COFFER_OK);
	assert_string_equal(out, "13812345678");
	assert_int_equal(dnc_normalize("12", out, sizeof(out)),
	    COFFER_ERR_INVALID);
	assert_string_equal(out, "");
	assert_int_equal(dnc_normalize("13812345678", out, 8),
	    COFFER_ERR_INVALID);
}

static void
test_add_contains(void **state)
{
	struct fx *f = *state;
	struct dnc_entry e;
	char big[DNC_REASON_MAX + 2];
	int found = 1, was = 1;

	assert_int_equal(dnc_contains(f->st, "13812345678", &found),
	    COFFER_OK);
	assert_false(found);
	assert_int_equal(dnc_add(f->st, "13812345678", "asked on the call",
	    f->agent, NOW, &was), COFFER_OK);
	assert_false(was);
	assert_int_equal(dnc_contains(f->st, "13812345678", &found),
	    COFFER_OK);
	assert_true(found);
	assert_int_equal(dnc_get(f->st, "13812345678", &e), COFFER_OK);
	assert_string_equal(e.reason, "asked on the call");
	assert_string_equal(e.added_by_name, "a1");
	assert_int_equal(e.added, NOW);
	assert_false(e.pending);
	/* a second add keeps the first entry */
	assert_int_equal(dnc_add(f->st, "13812345678", "again", f->agent2,
	    NOW + 5, &was), COFFER_OK);
	assert_true(was);
	assert_int_equal(dnc_get(f->st, "13812345678", &e), COFFER_OK);
	assert_string_equal(e.reason, "asked on the call");
	assert_int_equal(e.added_by, f->agent);
	/* only normalised numbers and real reasons */
	assert_int_equal(dnc_add(f->st, "+86 13812345679", "x", f->agent, NOW,
	    NULL), COFFER_ERR_INVALID);
	assert_int_equal(dnc_add(f->st, "13812345679", "", f->agent, NOW,
	    NULL), COFFER_ERR_INVALID);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(dnc_add(f->st, "13812345679", big, f->agent, NOW,
	    NULL), COFFER_ERR_INVALID);
	assert_int_equal(dnc_get(f->st, "13812345679", &e),
	    COFFER_ERR_NOT_FOUND);
}

static void
test_flag_customers(void **state)
{
	struct fx *f = *state;
	struct store_customer_facts cf;
	int64_t c1, c2, c3, ids[4];
	uint64_t total = 0;
	size_t n = 0;

	c1 = customer(f, "13900000001");
	c2 = customer(f, "+86 139 0000 0001");   /* the same number */
	c3 = customer(f, "13900000002");
	/* the facts see the list before any flag is set */
	assert_int_equal(store_customer_facts(f->st, c1, &cf), COFFER_OK);
	assert_false(cf.do_not_call);
	assert_int_equal(dnc_add(f->st, "13900000001", "asked", f->agent, NOW,
	    NULL), COFFER_OK);
	assert_int_equal(store_customer_facts(f->st, c1, &cf), COFFER_OK);
	assert_true(cf.do_not_call);
	assert_int_equal(field_of(f, c1, "do_not_call"), 0);
	assert_int_equal(dnc_flag_customers(f->st, "13900000001", NOW, ids, 4,
	    &n, &total), COFFER_OK);
	assert_int_equal(total, 2);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], c1);
	assert_int_equal(ids[1], c2);
	assert_int_equal(field_of(f, c1, "do_not_call"), 1);
	assert_int_equal(field_of(f, c2, "do_not_call"), 1);
	assert_int_equal(field_of(f, c1, "version"), 2);
	assert_int_equal(field_of(f, c1, "updated"), NOW);
	assert_int_equal(field_of(f, c3, "do_not_call"), 0);
	assert_int_equal(store_customer_facts(f->st, c3, &cf), COFFER_OK);
	assert_false(cf.do_not_call);
	/* flagged ones are not flagged again; max bounds the ids written */
	assert_int_equal(dnc_flag_customers(f->st, "13900000001", NOW, ids, 4,
	    &n, &total), COFFER_OK);
	assert_int_equal(total, 0);
	assert_int_equal(field_of(f, c1, "version"), 2);
	(void)customer(f, "13900000003");
	(void)customer(f, "13900000003");
	assert_int_equal(dnc_flag_customers(f->st, "13900000003", NOW, ids, 1,
	    &n, &total), COFFER_OK);
	assert_int_equal(total, 2);
	assert_int_equal(n, 1);
}

static void
test_removal(void **state)
{
	struct fx *f = *state;
	struct store_customer_facts cf;
	struct dnc_entry e;
	int64_t c1 = customer(f, "13700000001");
	int found = 0;

	assert_int_equal(dnc_request_removal(f->st, "13700000001", "wrong",
	    f->agent, NOW), COFFER_ERR_NOT_FOUND);
	assert_int_equal(dnc_add(f->st, "13700000001", "asked", f->agent, NOW,
	    NULL), COFFER_OK);
	assert_int_equal(dnc_decide_removal(f->st, "13700000001", 1, "", f->mgr,
	    NOW), COFFER_ERR_CONFLICT);              /* nothing pending */
	assert_int_equal(dnc_request_removal(f->st, "13700000001", "", f->agent,
	    NOW), COFFER_ERR_INVALID);
	assert_int_equal(dnc_request_removal(f->st, "13700000001",
	    "customer asked to be called again", f->agent2, NOW + 1), COFFER_OK);
	assert_int_equal(dnc_request_removal(f->st, "13700000001", "again",
	    f->agent, NOW + 2), COFFER_ERR_CONFLICT);
	assert_int_equal(dnc_get(f->st, "13700000001", &e), COFFER_OK);
	assert_true(e.pending);
	assert_string_equal(e.remove_by_name, "a2");
	assert_string_equal(e.remove_reason,
	    "customer asked to be called again");
	assert_int_equal(e.remove_asked, NOW + 1);
	/* the one who asked never decides */
	assert_int_equal(dnc_decide_removal(f->st, "13700000001", 1, "",
	    f->agent2, NOW), COFFER_ERR_DENIED);
	assert_int_equal(dnc_contains(f->st, "13700000001", &found), COFFER_OK);
	assert_true(found);
	/* reject: stays listed, nothing pending */
	assert_int_equal(dnc_decide_removal(f->st, "13700000001", 0, "no",
	    f->mgr, NOW), COFFER_OK);
	assert_int_equal(dnc_get(f->st, "13700000001", &e), COFFER_OK);
	assert_false(e.pending);
	/* asked again, then cancelled by a new add */
	assert_int_equal(dnc_request_removal(f->st, "13700000001", "please",
	    f->agent2, NOW), COFFER_OK);
	assert_int_equal(dnc_add(f->st, "13700000001", "asked again", f->agent,
	    NOW, NULL), COFFER_OK);
	assert_int_equal(dnc_get(f->st, "13700000001", &e), COFFER_OK);
	assert_false(e.pending);
	/* approve: off the list; the customer's facts follow the list */
	assert_int_equal(dnc_request_removal(f->st, "13700000001", "please",
	    f->agent2, NOW), COFFER_OK);
	assert_int_equal(store_customer_facts(f->st, c1, &cf), COFFER_OK);
	assert_true(cf.do_not_call);
	assert_int_equal(dnc_decide_removal(f->st, "13700000001", 1, "ok",
	    f->mgr, NOW), COFFER_OK);
	assert_int_equal(dnc_contains(f->st, "13700000001", &found), COFFER_OK);
	assert_false(found);
	assert_int_equal(store_customer_facts(f->st, c1, &cf), COFFER_OK);
	assert_false(cf.do_not_call);
	assert_int_equal(dnc_decide_removal(f->st, "13700000001", 1, "", f->mgr,
	    NOW), COFFER_ERR_NOT_FOUND);
}

struct seen {
	char phones[8][DNC_PHONE_MAX];
	size_t n;
	int stop_at;
};

static int
collect(void *arg, const struct dnc_entry *e)
{
	struct seen *s = arg;

	if (s->stop_at > 0 && (int)s->n == s->stop_at)
		return COFFER_ERR_NOMEM;
	if (s->n < 8)
		snprintf(s->phones[s->n++], DNC_PHONE_MAX, "%s", e->phone);
	return COFFER_OK;
}

static void
test_list(void **state)
{
	struct fx *f = *state;
	struct seen s;
	uint64_t total = 0;

	assert_int_equal(dnc_add(f->st, "13600000003", "c", f->agent, NOW,
	    NULL), COFFER_OK);
	assert_int_equal(dnc_add(f->st, "13600000001", "a", f->agent, NOW,
	    NULL), COFFER_OK);
	assert_int_equal(dnc_add(f->st, "13600000002", "b", f->agent, NOW,
	    NULL), COFFER_OK);
	assert_int_equal(dnc_request_removal(f->st, "13600000002", "why",
	    f->agent, NOW), COFFER_OK);
	memset(&s, 0, sizeof(s));
	assert_int_equal(dnc_list(f->st, 0, 10, 0, collect, &s, &total),
	    COFFER_OK);
	assert_int_equal(total, 3);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.phones[0], "13600000001");
	assert_string_equal(s.phones[2], "13600000003");
	memset(&s, 0, sizeof(s));
	assert_int_equal(dnc_list(f->st, 0, 1, 1, collect, &s, &total),
	    COFFER_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.phones[0], "13600000002");
	memset(&s, 0, sizeof(s));
	assert_int_equal(dnc_list(f->st, 1, 10, 0, collect, &s, &total),
	    COFFER_OK);
	assert_int_equal(total, 1);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.phones[0], "13600000002");
	/* the callback's failure stops the walk and is returned */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(dnc_list(f->st, 0, 10, 0, collect, &s, NULL),
	    COFFER_ERR_NOMEM);
	assert_int_equal(s.n, 1);
}

static void
test_lookup(void **state)
{
	struct fx *f = *state;
	struct dnc_lookup *lk = NULL;
	int found = 0;

	assert_int_equal(dnc_add(f->st, "13500000001", "a", f->agent, NOW,
	    NULL), COFFER_OK);
	assert_int_equal(dnc_lookup_open(f->st, &lk), COFFER_OK);
	assert_int_equal(dnc_lookup_has(lk, "13500000001", &found), COFFER_OK);
	assert_true(found);
	assert_int_equal(dnc_lookup_has(lk, "13500000002", &found), COFFER_OK);
	assert_false(found);
	assert_int_equal(dnc_lookup_has(lk, "13500000001", &found), COFFER_OK);
	assert_true(found);
	dnc_lookup_close(lk);
	dnc_lookup_close(NULL);
}

static int
count_events(struct fx *f, const char *event)
{
	sqlite3_stmt *s = NULL;
	int n = -1;

	assert_int_equal(sqlite3_prepare_v2(store_sqlite(f->st), "SELECT "
	    "count(*) FROM dnc_events WHERE event = ?1", -1, &s, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(s, 1, event, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void
test_history_append_only(void **state)
{
	struct fx *f = *state;
	sqlite3 *db = store_sqlite(f->st);

	assert_int_equal(dnc_add(f->st, "13400000001", "a", f->agent, NOW,
	    NULL), COFFER_OK);
	assert_int_equal(dnc_add(f->st, "13400000001", "b", f->agent, NOW,
	    NULL), COFFER_OK);
	assert_int_equal(dnc_request_removal(f->st, "13400000001", "r",
	    f->agent, NOW), COFFER_OK);
	assert_int_equal(dnc_decide_removal(f->st, "13400000001", 0, "", f->mgr,
	    NOW), COFFER_OK);
	assert_int_equal(dnc_request_removal(f->st, "13400000001", "r",
	    f->agent, NOW), COFFER_OK);
	assert_int_equal(dnc_decide_removal(f->st, "13400000001", 1, "", f->mgr,
	    NOW), COFFER_OK);
	assert_int_equal(count_events(f, "add"), 1);
	assert_int_equal(count_events(f, "readd"), 1);
	assert_int_equal(count_events(f, "remove_request"), 2);
	assert_int_equal(count_events(f, "remove_reject"), 1);
	assert_int_equal(count_events(f, "remove_approve"), 1);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE dnc_events SET reason = "
	    "'x'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM dnc_events", NULL,
	    NULL, NULL), SQLITE_OK);
	assert_int_equal(count_events(f, "add"), 1);
	/* the table's own checks: half a pending removal is refused */
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO dnc_list (phone, "
	    "reason, added_by, added, remove_by) VALUES ('13400000009', 'x', "
	    "1, 1, 1)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO dnc_list (phone, "
	    "reason, added_by, added) VALUES ('1340abc0009', 'x', 1, 1)", NULL,
	    NULL, NULL), SQLITE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test_setup_teardown(test_add_contains, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flag_customers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_append_only, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
