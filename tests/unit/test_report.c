/*
 * test_report.c - the KPI figures of report.h on a small fixed data set
 * written through the store API, every figure checked against values
 * computed by hand (the comments next to the rows say why each counts),
 * for each scope, with and without the clearance for amounts, and the
 * weekly trend.  docs/reports.md §2 is the definition being tested.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "coffer/err.h"
#include "coffer/msg.h"
#include "coffer/report.h"
#include "coffer/reqstore.h"
#include "coffer/schema.h"
#include "coffer/store.h"
#include "../../src/store/store_int.h"

#include "helper.h"
#include "helper_store.h"

#define DAY 86400
#define ALLOW_CONF 0x7u   /* public, internal, confidential */
#define ALLOW_ALL 0xfu

struct fx {
	char dir[64];
	struct store *st;
	int64_t now, t0;
	/* mgr heads team east (a1, a2); mgr2 heads west (b1) */
	int64_t mgr, a1, a2, mgr2, b1;
	int64_t c1, c2, c3, c4, c5, product, call2;
};

static const struct store_scope all_scope = { .kind = SCOPE_ALL };

static int64_t
create(struct store *st, const char *kind, cbor_item_t *fields)
{
	struct coffer_errdetail d;
	int64_t id = 0;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = store_record_create(st, schema_kind(kind), fields, &all_scope,
	    &id, &d);
	if (rc != COFFER_OK)
		print_error("create %s: %d %s\n", kind, rc, d.message);
	assert_int_equal(rc, COFFER_OK);
	cbor_decref(&fields);
	return id;
}

static int64_t
customer(struct fx *f, int64_t owner, const char *label)
{
	static unsigned seq;
	cbor_item_t *m = msg_new_map();
	char phone[16];

	snprintf(phone, sizeof(phone), "1390000%04u", ++seq);
	assert_int_equal(msg_put_str(m, "name", "赵六"), COFFER_OK);
	assert_int_equal(msg_put_str(m, "phone", phone), COFFER_OK);
	assert_int_equal(msg_put_int(m, "owner_id", owner), COFFER_OK);
	if (label != NULL)
		assert_int_equal(msg_put_str(m, "label", label), COFFER_OK);
	return create(f->st, "customer", m);
}

/* A call at t0 + at seconds; outcome/intent NULL leave them unset. */
static int64_t
call(struct fx *f, int64_t cust, int64_t agent, int64_t at, int64_t dur,
    const char *outcome, const char *intent)
{
	cbor_item_t *m = msg_new_map();

	assert_int_equal(msg_put_int(m, "customer_id", cust), COFFER_OK);
	assert_int_equal(msg_put_int(m, "agent_id", agent), COFFER_OK);
	assert_int_equal(msg_put_int(m, "started", f->t0 + at), COFFER_OK);
	assert_int_equal(msg_put_int(m, "duration", dur), COFFER_OK);
	if (outcome != NULL)
		assert_int_equal(msg_put_str(m, "outcome", outcome), COFFER_OK);
	if (intent != NULL)
		assert_int_equal(msg_put_str(m, "intent", intent), COFFER_OK);
	return create(f->st, "call", m);
}

/* A deal closed at t0 + at (no_close: closed unset, so created = now). */
static void
deal(struct fx *f, int64_t cust, int64_t agent, int64_t fen,
    const char *status, int sat, int64_t at, int no_close)
{
	cbor_item_t *m = msg_new_map();

	assert_int_equal(msg_put_int(m, "customer_id", cust), COFFER_OK);
	assert_int_equal(msg_put_int(m, "agent_id", agent), COFFER_OK);
	assert_int_equal(msg_put_int(m, "product_id", f->product), COFFER_OK);
	assert_int_equal(msg_put_int(m, "amount", fen), COFFER_OK);
	assert_int_equal(msg_put_str(m, "payment_status", status), COFFER_OK);
	if (sat > 0)
		assert_int_equal(msg_put_int(m, "satisfaction", sat), COFFER_OK);
	if (!no_close)
		assert_int_equal(msg_put_int(m, "closed", f->t0 + at),
		    COFFER_OK);
	(void)create(f->st, "deal", m);
}

/* A follow-up due at t0 + at; the store stamps `updated` with now. */
static void
followup(struct fx *f, int64_t cust, int64_t agent, int64_t at,
    const char *status)
{
	cbor_item_t *m = msg_new_map();

	assert_int_equal(msg_put_int(m, "customer_id", cust), COFFER_OK);
	assert_int_equal(msg_put_int(m, "agent_id", agent), COFFER_OK);
	assert_int_equal(msg_put_int(m, "due", f->t0 + at), COFFER_OK);
	assert_int_equal(msg_put_str(m, "kind", "callback"), COFFER_OK);
	assert_int_equal(msg_put_str(m, "status", status), COFFER_OK);
	(void)create(f->st, "followup", m);
}

/* A change request by who on kind/id, moved through states at t0 + at. */
static void
request(struct fx *f, int64_t who, const char *kind, int64_t id,
    const char *op, const char *final, int64_t at)
{
	static const unsigned char fields[] = { 0xa0 };
	struct store_request r;

	memset(&r, 0, sizeof(r));
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
	snprintf(r.op, sizeof(r.op), "%s", op);
	snprintf(r.reason, sizeof(r.reason), "typo");
	r.record_id = id;
	r.base_version = 1;
	r.fields = (unsigned char *)fields;
	r.fields_len = sizeof(fields);
	r.requester_id = who;
	r.created = f->t0 - 10 * DAY;
	r.expires = f->t0 + 100 * DAY;
	r.need = 1;
	assert_int_equal(store_request_add(f->st, &r), COFFER_OK);
	if (strcmp(final, "applied") == 0) {
		assert_int_equal(store_request_set_state(f->st, r.id, "pending",
		    "approved", f->mgr, f->t0 + at), COFFER_OK);
		assert_int_equal(store_request_set_state(f->st, r.id,
		    "approved", "applied", 0, f->t0 + at), COFFER_OK);
	} else if (strcmp(final, "pending") != 0)
		assert_int_equal(store_request_set_state(f->st, r.id, "pending",
		    final, f->mgr, f->t0 + at), COFFER_OK);
}

static void
fill_calls(struct fx *f)
{
	int64_t gone;
	cbor_item_t *rec = NULL;
	int64_t version = 0;

	/* c1: first call before the period, so c1 is not first contacted */
	(void)call(f, f->c1, f->a1, -DAY, 100, "answered", "low");
	/* a1, in period: not first; first high intent of c1 (earlier: low) */
	f->call2 = call(f, f->c1, f->a1, 100, 300, "answered", "high");
	/* a tombstoned call before c2's first: never counts, never earlier */
	gone = call(f, f->c2, f->a1, 150, 10, "answered", "high");
	assert_int_equal(store_record_get(f->st, schema_kind("call"), gone,
	    &all_scope, &rec), COFFER_OK);
	assert_int_equal(msg_get_int(rec, "version", &version), COFFER_OK);
	cbor_decref(&rec);
	assert_int_equal(store_record_tombstone(f->st, schema_kind("call"),
	    gone, version), COFFER_OK);
	/* a1: c2's first call (not connected: no answer) */
	(void)call(f, f->c2, f->a1, 200, 0, "no_answer", NULL);
	/* a2: same second as c2's first, larger id: not first */
	(void)call(f, f->c2, f->a2, 200, 30, "voicemail", NULL);
	/* a1: refused counts as connected, 120 s of talk */
	(void)call(f, f->c2, f->a1, 300, 120, "refused", "none");
	/* a2: c3's first call and first medium intent */
	(void)call(f, f->c3, f->a2, 400, 600, "answered", "medium");
	/* a1 on a2's customer: connected, high, but c3 reached intent before */
	(void)call(f, f->c3, f->a1, 500, 60, "answered", "high");
	/* b1: c4's first call, first high intent */
	(void)call(f, f->c4, f->b1, 600, 200, "answered", "high");
	/* a1: c5's first call, busy */
	(void)call(f, f->c5, f->a1, 700, 50, "busy", NULL);
	/* at `to` exactly: outside the period */
	(void)call(f, f->c1, f->a1, 7 * DAY, 99, "answered", "high");
}

static void
fill_deals(struct fx *f)
{
	deal(f, f->c1, f->a1, 100000, "paid", 5, 1000, 0);
	deal(f, f->c1, f->a1, 50000, "unpaid", 3, 2000, 0); /* c1 again */
	deal(f, f->c2, f->a1, 70000, "refunded", 1, 3000, 0); /* sat only */
	deal(f, f->c5, f->a1, 200000, "paid", 0, 4000, 0); /* secret c5 */
	deal(f, f->c3, f->a2, 30000, "partial", 4, 0, 1);  /* created now */
	deal(f, f->c4, f->b1, 80000, "paid", 4, -10, 0);   /* before */
	deal(f, f->c3, f->a2, 40000, "paid", 2, 5000, 0);
}

static void
fill_followups(struct fx *f)
{
	followup(f, f->c1, f->a1, DAY, "done");          /* late */
	followup(f, f->c2, f->a1, 5 * DAY, "done");      /* on time */
	followup(f, f->c1, f->a1, DAY, "open");          /* overdue */
	followup(f, f->c2, f->a1, 6 * DAY, "open");      /* open */
	followup(f, f->c1, f->a1, DAY, "cancelled");     /* not counted */
	followup(f, f->c3, f->a2, DAY, "open");          /* overdue */
	followup(f, f->c4, f->b1, -DAY, "open");         /* before */
	followup(f, f->c1, f->a1, 7 * DAY, "open");      /* at `to` */
}

static void
fill_requests(struct fx *f)
{
	request(f, f->a1, "customer", f->c1, "update", "applied", 100);
	request(f, f->a1, "customer", f->c1, "update", "applied", 200);
	request(f, f->a1, "call", f->call2, "update", "applied", 300);
	request(f, f->a1, "customer", f->c2, "update", "rejected", 400);
	request(f, f->a1, "customer", f->c2, "delete", "applied", 500);
	request(f, f->a2, "customer", f->c3, "update", "rejected", -100);
	request(f, f->a2, "customer", f->c3, "update", "pending", 0);
	request(f, f->a1, "product", f->product, "update", "applied", 600);
}

/*
 * A new database DIR/NAME under a random key in place of f->st; path and
 * key say where, for a test that reopens it.
 */
static void
open_vault(struct fx *f, const char *name, char *path, size_t pathsz,
    unsigned char key[32])
{
	snprintf(path, pathsz, "%s/%s", f->dir, name);
	randombytes_buf(key, 32);
	if (f->st != NULL)
		store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(path, key, 1, &f->st), COFFER_OK);
}

/* The fixed people and customers the hand-computed figures are about. */
static void
add_people(struct fx *f)
{
	f->mgr = test_user_add(f->st, "mgr", ROLE_MANAGER, "east", 0);
	f->a1 = test_user_add(f->st, "a1", ROLE_AGENT, "east", f->mgr);
	f->a2 = test_user_add(f->st, "a2", ROLE_AGENT, "east", f->mgr);
	f->mgr2 = test_user_add(f->st, "mgr2", ROLE_MANAGER, "west", 0);
	f->b1 = test_user_add(f->st, "b1", ROLE_AGENT, "west", f->mgr2);
	f->c1 = customer(f, f->a1, NULL);
	f->c2 = customer(f, f->a1, NULL);
	f->c3 = customer(f, f->a2, NULL);
	f->c4 = customer(f, f->b1, NULL);
	f->c5 = customer(f, f->a1, "secret");
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	unsigned char key[32];
	char path[128];
	cbor_item_t *m;

	assert_non_null(f);
	assert_int_equal(sodium_init() >= 0, 1);
	assert_int_equal(test_tmpdir(f->dir, sizeof(f->dir), "report"), 0);
	open_vault(f, "db", path, sizeof(path), key);
	/* now lies in [t0 + 3 days, t0 + 4 days): the period is t0 + 7 days */
	f->now = (int64_t)time(NULL);
	f->t0 = f->now / DAY * DAY - 3 * DAY;
	add_people(f);
	m = msg_new_map();
	assert_int_equal(msg_put_str(m, "name", "CRM"), COFFER_OK);
	f->product = create(f->st, "product", m);
	fill_calls(f);
	fill_deals(f);
	fill_followups(f);
	fill_requests(f);
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

static struct report_query
query(const struct fx *f, enum scope_kind k, int64_t user, unsigned allow)
{
	struct report_query q;

	memset(&q, 0, sizeof(q));
	q.scope = k;
	q.user_id = user;
	q.from = f->t0;
	q.to = f->t0 + 7 * DAY;
	q.now = f->now;
	q.groups = REPORT_G_ALL;
	q.label_allow = allow;
	return q;
}

static const struct report_row *
row_of(const struct report_row *rows, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(rows[i].name, name) == 0)
			return &rows[i];
	return NULL;
}

/* Every figure of a row, in enum report_fig order. */
static void
expect(const struct report_row *r, const int64_t want[RF_COUNT_])
{
	size_t i;

	assert_non_null(r);
	for (i = 0; i < RF_COUNT_; i++) {
		if (r->v[i] != want[i])
			print_error("%s: %s is %lld, expected %lld\n", r->name,
			    report_fig_name((enum report_fig)i),
			    (long long)r->v[i], (long long)want[i]);
		assert_int_equal(r->v[i], want[i]);
	}
}

/*
 * Hand-computed (comments in fill_*):
 *           calls conn talk first intent conv deals sales withh satS satN
 *  a1 conf:   5    3   480    2     1     2    3  150000   1    9    3
 *  a2     :   2    1   600    1     1     1    2   70000   0    6    2
 *  b1     :   1    1   200    1     1     0    0       0   0    0    0
 *  follow-ups due/on time/late/overdue/open: a1 4/1/1/1/1, a2 1/0/0/1/0
 *  accuracy corrected/rejected: a1 2/1 (product excluded), a2 0/0
 */
static const int64_t want_a1_conf[RF_COUNT_] = { 5, 3, 480, 2, 1, 2, 3,
	150000, 1, 9, 3, 4, 1, 1, 1, 1, 2, 1 };
static const int64_t want_a1_all[RF_COUNT_] = { 5, 3, 480, 2, 1, 2, 3,
	350000, 0, 9, 3, 4, 1, 1, 1, 1, 2, 1 };
static const int64_t want_a2[RF_COUNT_] = { 2, 1, 600, 1, 1, 1, 2,
	70000, 0, 6, 2, 1, 0, 0, 1, 0, 0, 0 };
static const int64_t want_b1[RF_COUNT_] = { 1, 1, 200, 1, 1, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

static void
test_company(void **state)
{
	struct fx *f = *state;
	struct report_query q = query(f, SCOPE_ALL, 0, ALLOW_ALL);
	struct report_row *rows = NULL;
	size_t n = 0;

	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_OK);
	/* agents only: the managers have no figure */
	assert_int_equal(n, 3);
	assert_string_equal(rows[0].name, "a1");
	assert_string_equal(rows[1].name, "a2");
	assert_string_equal(rows[2].name, "b1");
	assert_string_equal(rows[2].team, "west");
	expect(row_of(rows, n, "a1"), want_a1_all);
	expect(row_of(rows, n, "a2"), want_a2);
	expect(row_of(rows, n, "b1"), want_b1);
	free(rows);
}

static void
test_clearance(void **state)
{
	struct fx *f = *state;
	struct report_query q = query(f, SCOPE_ALL, 0, ALLOW_CONF);
	struct report_row *rows = NULL;
	size_t n = 0;

	/* c5 is labelled secret: its 2000.00 yuan are withheld, not summed */
	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_OK);
	expect(row_of(rows, n, "a1"), want_a1_conf);
	free(rows);
}

static void
test_team_and_own(void **state)
{
	struct fx *f = *state;
	struct report_query q = query(f, SCOPE_TEAM, f->mgr, ALLOW_ALL);
	struct report_row *rows = NULL;
	size_t n = 0;

	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_OK);
	assert_int_equal(n, 2);
	assert_null(row_of(rows, n, "b1"));
	expect(row_of(rows, n, "a2"), want_a2);
	free(rows);
	q = query(f, SCOPE_OWN, f->b1, ALLOW_ALL);
	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_OK);
	assert_int_equal(n, 1);
	expect(row_of(rows, n, "b1"), want_b1);
	free(rows);
	/* one named agent, whatever the scope */
	q = query(f, SCOPE_TEAM, f->mgr, ALLOW_CONF);
	q.agent = f->a1;
	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_OK);
	assert_int_equal(n, 1);
	expect(row_of(rows, n, "a1"), want_a1_conf);
	free(rows);
	/* a manager's own figures: none, and a manager is not an agent */
	q = query(f, SCOPE_OWN, f->mgr, ALLOW_ALL);
	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_OK);
	assert_int_equal(n, 0);
	free(rows);
}

static void
test_groups_and_period(void **state)
{
	struct fx *f = *state;
	struct report_query q = query(f, SCOPE_OWN, f->a1, ALLOW_ALL);
	struct report_row *rows = NULL;
	size_t n = 0, i;

	q.groups = REPORT_G_CALLS | REPORT_G_DEALS;
	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_OK);
	assert_int_equal(n, 1);
	for (i = 0; i < RF_COUNT_; i++)
		if (report_fig_group((enum report_fig)i) &
		    (REPORT_G_CALLS | REPORT_G_DEALS))
			assert_int_equal(rows[0].v[i], want_a1_all[i]);
		else
			assert_int_equal(rows[0].v[i], 0);
	free(rows);
	/* the day before the period: only the first call of c1 */
	q.groups = REPORT_G_ALL;
	q.from = f->t0 - DAY;
	q.to = f->t0;
	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_OK);
	assert_int_equal(rows[0].v[RF_CALLS], 1);
	assert_int_equal(rows[0].v[RF_FIRST_CONTACTED], 1);
	assert_int_equal(rows[0].v[RF_REACHED_INTENT], 0);   /* low */
	assert_int_equal(rows[0].v[RF_TALK_SECONDS], 100);
	assert_int_equal(rows[0].v[RF_DEALS], 0);
	free(rows);
	q = query(f, SCOPE_OWN, f->a1, ALLOW_ALL);
	q.to = q.from;
	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_ERR_INVALID);
	q.to = q.from + REPORT_PERIOD_MAX + 1;
	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_ERR_INVALID);
	q = query(f, SCOPE_NONE, f->a1, ALLOW_ALL);
	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_ERR_INVALID);
	q = query(f, SCOPE_OWN, 0, ALLOW_ALL);
	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_ERR_INVALID);
	assert_null(rows);
	assert_string_equal(report_fig_name(RF_SALES_FEN), "sales_fen");
	assert_int_equal(report_fig_group(RF_SALES_WITHHELD), REPORT_G_SALES);
}

static void
test_weeks(void **state)
{
	struct fx *f = *state;
	struct report_query q = query(f, SCOPE_ALL, 0, ALLOW_CONF);
	struct report_week w[REPORT_WEEKS_MAX];
	size_t n = 0;

	/* one week from t0: 8 calls, 5 connected; deals of a1 (3) and a2
	 * (2); amounts within confidential: 150000 + 70000 */
	assert_int_equal(report_weeks(f->st, &q, f->t0, w, REPORT_WEEKS_MAX,
	    &n), COFFER_OK);
	assert_int_equal(n, 1);
	assert_int_equal(w[0].start, f->t0);
	assert_int_equal(w[0].calls, 8);
	assert_int_equal(w[0].connected, 5);
	assert_int_equal(w[0].deals, 5);
	assert_int_equal(w[0].sales_fen, 220000);
	/* weeks starting 3 days earlier: all of it in the first, none after */
	assert_int_equal(report_weeks(f->st, &q, f->t0 - 3 * DAY, w,
	    REPORT_WEEKS_MAX, &n), COFFER_OK);
	assert_int_equal(n, 2);
	assert_int_equal(w[0].calls, 8);
	assert_int_equal(w[1].start, f->t0 + 4 * DAY);
	assert_int_equal(w[1].calls, 0);
	assert_int_equal(w[1].deals, 0);
	/* without the sales group no amount */
	q.groups = REPORT_G_CALLS | REPORT_G_DEALS;
	assert_int_equal(report_weeks(f->st, &q, f->t0, w, REPORT_WEEKS_MAX,
	    &n), COFFER_OK);
	assert_int_equal(w[0].sales_fen, 0);
	assert_int_equal(w[0].deals, 5);
	assert_int_equal(report_weeks(f->st, &q, f->t0 + 1, w,
	    REPORT_WEEKS_MAX, &n), COFFER_ERR_INVALID);
	assert_int_equal(report_weeks(f->st, &q, f->t0, w, 0, &n),
	    COFFER_ERR_TOO_BIG);
}

/* ---- call_firsts (migration 7), kept by triggers ---------------------- */

/*
 * The definition of docs/reports.md §2.2 computed from calls alone (the
 * report's SQL before migration 7): a live call with no live call of the
 * same customer before it in (started, id) order; W narrows both sides
 * to calls with intent.
 */
#define DEF_FIRSTS(w) "SELECT c.customer_id, c.id, c.started, c.agent_id" \
	" FROM calls c WHERE c.deleted = 0" w("c") " AND NOT EXISTS (SELECT 1" \
	" FROM calls e WHERE e.customer_id = c.customer_id AND e.deleted = 0" \
	" AND e.started <= c.started AND (e.started < c.started" \
	" OR e.id < c.id)" w("e") ")"
#define ANY_CALL(a) ""
#define INTENT_CALL(a) " AND (" a ".intent = 'medium' OR " a ".intent = 'high')"
#define KEPT_FIRSTS "SELECT customer_id, first_id, first_started, first_agent" \
	" FROM call_firsts"
#define KEPT_INTENT "SELECT customer_id, intent_id, intent_started," \
	" intent_agent FROM call_firsts WHERE intent_id IS NOT NULL"

static int64_t
sql_count(struct store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(store_sqlite(st), sql, -1, &s,
	    NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Rows in which call_firsts and the definition differ, either way. */
static int64_t
firsts_diff(struct store *st)
{
	static const char *const sql[] = {
		"SELECT count(*) FROM (" DEF_FIRSTS(ANY_CALL) " EXCEPT "
		    KEPT_FIRSTS ")",
		"SELECT count(*) FROM (" KEPT_FIRSTS " EXCEPT "
		    DEF_FIRSTS(ANY_CALL) ")",
		"SELECT count(*) FROM (" DEF_FIRSTS(INTENT_CALL) " EXCEPT "
		    KEPT_INTENT ")",
		"SELECT count(*) FROM (" KEPT_INTENT " EXCEPT "
		    DEF_FIRSTS(INTENT_CALL) ")",
	};
	int64_t n = 0;
	size_t i;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		n += sql_count(st, sql[i]);
	return n;
}

/* first_contacted / reached_intent of a1, a2, b1, and the table agrees. */
static void
expect_firsts(struct fx *f, const int64_t want[6])
{
	static const char *const names[3] = { "a1", "a2", "b1" };
	struct report_query q = query(f, SCOPE_ALL, 0, ALLOW_ALL);
	struct report_row *rows = NULL;
	const struct report_row *r;
	size_t n = 0, i;

	q.groups = REPORT_G_CALLS;
	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_OK);
	for (i = 0; i < 3; i++) {
		r = row_of(rows, n, names[i]);
		assert_non_null(r);
		if (r->v[RF_FIRST_CONTACTED] != want[2 * i] ||
		    r->v[RF_REACHED_INTENT] != want[2 * i + 1])
			print_error("%s: first %lld intent %lld, expected "
			    "%lld %lld\n", names[i],
			    (long long)r->v[RF_FIRST_CONTACTED],
			    (long long)r->v[RF_REACHED_INTENT],
			    (long long)want[2 * i], (long long)want[2 * i + 1]);
		assert_int_equal(r->v[RF_FIRST_CONTACTED], want[2 * i]);
		assert_int_equal(r->v[RF_REACHED_INTENT], want[2 * i + 1]);
	}
	free(rows);
	assert_int_equal(firsts_diff(f->st), 0);
}

/* The whole company report equals the hand-computed one. */
static void
expect_original(struct fx *f)
{
	struct report_query q = query(f, SCOPE_ALL, 0, ALLOW_ALL);
	struct report_row *rows = NULL;
	size_t n = 0;

	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_OK);
	expect(row_of(rows, n, "a1"), want_a1_all);
	expect(row_of(rows, n, "a2"), want_a2);
	expect(row_of(rows, n, "b1"), want_b1);
	free(rows);
	assert_int_equal(firsts_diff(f->st), 0);
}

/* The id of the call of cust by agent at t0 + at. */
static int64_t
call_id(struct fx *f, int64_t cust, int64_t agent, int64_t at)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT id FROM calls WHERE customer_id = "
	    "%lld AND agent_id = %lld AND started = %lld", (long long)cust,
	    (long long)agent, (long long)(f->t0 + at));
	return sql_count(f->st, sql);
}

static int64_t
version_of(struct fx *f, int64_t call)
{
	cbor_item_t *rec = NULL;
	int64_t version = 0;
	int deleted = 0;

	assert_int_equal(store_record_get_any(f->st, schema_kind("call"), call,
	    &all_scope, &rec, &deleted), COFFER_OK);
	assert_int_equal(msg_get_int(rec, "version", &version), COFFER_OK);
	cbor_decref(&rec);
	return version;
}

/* Erase a call as the retention sweep does (docs/requests.md §6). */
static void
erase_call(struct fx *f, int64_t id)
{
	const struct kind_def *k = schema_kind("call");
	const char *names[16];
	size_t n = schema_erasable_fields(k, names, 16);

	assert_true(n > 0);
	assert_int_equal(store_record_erase(f->st, k, id, version_of(f, id),
	    names, n), COFFER_OK);
}

/*
 * Every write path keeps call_firsts equal to the definition: insert,
 * tombstone, erasure of a tombstone and of a live call, a correction
 * of `started`, and the manager's direct delete.  The figures after
 * each step are worked out in the comments; the table is also compared
 * row by row with the definition computed from calls.
 */
static void
test_firsts_kept(void **state)
{
	struct fx *f = *state;
	const struct kind_def *k = schema_kind("call");
	cbor_item_t *up = NULL;
	struct coffer_errdetail d;
	int64_t early, first_c3, late_c2, only_c5;
	/* a1 first, a1 intent, a2 first, a2 intent, b1 first, b1 intent */
	static const int64_t start[6] = { 2, 1, 1, 1, 1, 1 };
	static const int64_t after_insert[6] = { 1, 1, 1, 1, 2, 2 };
	static const int64_t after_erase[6] = { 3, 2, 0, 0, 1, 1 };
	static const int64_t after_update[6] = { 2, 2, 1, 0, 1, 1 };
	static const int64_t after_delete[6] = { 1, 2, 1, 0, 1, 1 };

	expect_firsts(f, start);
	/* b1 calls c2 before a1 did, with high intent: c2 is b1's now */
	early = call(f, f->c2, f->b1, 50, 30, "answered", "high");
	expect_firsts(f, after_insert);
	/* tombstoned, the call counts nowhere: the hand-computed report */
	assert_int_equal(store_record_tombstone(f->st, k, early,
	    version_of(f, early)), COFFER_OK);
	expect_original(f);
	/* its retention ends: erased (intent wiped), still nowhere */
	erase_call(f, early);
	expect_original(f);
	assert_int_equal(sql_count(f->st, "SELECT count(*) FROM call_firsts"),
	    5);
	/* c3's first call (a2, medium) erased: a1's high call at 500 is
	 * c3's first call and first intent now */
	first_c3 = call_id(f, f->c3, f->a2, 400);
	erase_call(f, first_c3);
	expect_firsts(f, after_erase);
	/* a correction moves a2's c2 call (200, larger id) to 199: first */
	late_c2 = call_id(f, f->c2, f->a2, 200);
	up = msg_new_map();
	assert_int_equal(msg_put_int(up, "started", f->t0 + 199), COFFER_OK);
	assert_int_equal(store_record_update(f->st, k, late_c2,
	    version_of(f, late_c2), up, &all_scope, &d), COFFER_OK);
	cbor_decref(&up);
	expect_firsts(f, after_update);
	/* c5's only call deleted outright: c5 has no first call */
	only_c5 = call_id(f, f->c5, f->a1, 700);
	assert_int_equal(store_record_delete(f->st, k, only_c5,
	    version_of(f, only_c5), &all_scope), COFFER_OK);
	expect_firsts(f, after_delete);
	assert_int_equal(sql_count(f->st, "SELECT count(*) FROM call_firsts"),
	    4);
	/* the check itself can fail: a row out of step is seen */
	assert_int_equal(sqlite3_exec(store_sqlite(f->st), "UPDATE call_firsts"
	    " SET first_started = first_started + 1", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(firsts_diff(f->st), 0);
}

/*
 * Migration 7 fills call_firsts from the calls already there: a vault
 * with the fixture's calls is taken back to version 6 (its table,
 * triggers and indexes undone) and opened again.
 */
static void
test_firsts_migration(void **state)
{
	static const int64_t start[6] = { 2, 1, 1, 1, 1, 1 };
	struct fx *f = *state;
	unsigned char key[32];
	char path[128];

	open_vault(f, "db7", path, sizeof(path), key);
	add_people(f);
	fill_calls(f);
	assert_int_equal(sqlite3_exec(store_sqlite(f->st),
	    "DROP TRIGGER calls_first_insert; DROP TRIGGER calls_first_update;"
	    "DROP TRIGGER calls_first_delete; DROP TABLE call_firsts;"
	    "DROP INDEX followups_agent_due; DROP INDEX deals_agent_time;"
	    "DROP INDEX customers_label;"
	    "CREATE INDEX followups_agent ON followups(agent_id);"
	    "CREATE INDEX deals_agent ON deals(agent_id);"
	    "DELETE FROM migrations WHERE version = 7;"
	    "PRAGMA user_version = 6;", NULL, NULL, NULL), SQLITE_OK);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(path, key, 0, &f->st), COFFER_OK);
	assert_int_equal(sql_count(f->st, "SELECT count(*) FROM migrations"
	    " WHERE version = 7"), 1);
	/* c1..c5 have live calls; c2's tombstoned call is no first */
	assert_int_equal(sql_count(f->st, "SELECT count(*) FROM call_firsts"),
	    5);
	expect_firsts(f, start);
}

/* ---- call_slots (migration 8), kept by triggers ----------------------- */

#define SLOT 900
#define SPAN (3 * DAY)    /* random calls fall in [t0, t0 + SPAN) */
#define PERIODS 400       /* random periods compared per check */

/* The calls figures by definition (docs/reports.md §2.1), from calls. */
#define DEF_CALLS "SELECT c.agent_id, count(*)," \
	" coalesce(sum(c.outcome = 'answered' OR c.outcome = 'refused'), 0)," \
	" coalesce(sum(CASE WHEN c.outcome = 'answered'" \
	" OR c.outcome = 'refused' THEN c.duration END), 0)" \
	" FROM calls c NOT INDEXED WHERE c.deleted = 0 AND c.agent_id > 0" \
	" AND c.started >= ?1 AND c.started < ?2 GROUP BY c.agent_id"
/* call_slots by definition: one row per agent and slot with a live call */
#define DEF_SLOTS "SELECT c.agent_id, c.started / 900, count(*)," \
	" sum(c.outcome IS 'answered' OR c.outcome IS 'refused')," \
	" sum(CASE WHEN c.outcome = 'answered' OR c.outcome = 'refused'" \
	" THEN c.duration ELSE 0 END) FROM calls c" \
	" WHERE c.deleted = 0 AND c.agent_id IS NOT NULL GROUP BY 1, 2"
#define KEPT_SLOTS "SELECT agent_id, slot, calls, connected, talk" \
	" FROM call_slots"

static const char *const outcomes[] = { "answered", "refused", "no_answer",
	"busy", "voicemail", "wrong_number", NULL };

/* xorshift64*: the same seed gives the same calls and periods */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int64_t
below(uint64_t *s, int64_t n)
{
	return (int64_t)(rnd(s) % (uint64_t)n);
}

/* A time in [t0, t0 + SPAN): a quarter exactly on a slot edge. */
static int64_t
rnd_started(const struct fx *f, uint64_t *s)
{
	int64_t t = f->t0 + below(s, SPAN);

	switch (below(s, 8)) {
	case 0: case 1:
		return t / SLOT * SLOT;
	case 2:
		return t / SLOT * SLOT + SLOT - 1;
	default:
		return t;
	}
}

/* One of the agents, a manager, or (one in ten) no agent: 0. */
static int64_t
rnd_agent(const struct fx *f, uint64_t *s)
{
	const int64_t who[4] = { f->a1, f->a2, f->b1, f->mgr };

	return below(s, 10) == 0 ? 0 : who[below(s, 4)];
}

static void
sql_exec(struct fx *f, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(store_sqlite(f->st), sql, NULL, NULL, &err) !=
	    SQLITE_OK)
		print_error("%s: %s\n", sql, err != NULL ? err : "?");
	assert_null(err);
}

/* Bind ?1.. as given (INT64_MIN: NULL, else a number), then run once. */
static void
sql_run(struct fx *f, const char *sql, const char *text, int64_t a,
    int64_t b, int64_t c, int64_t d)
{
	const int64_t v[4] = { a, b, c, d };
	sqlite3_stmt *s = NULL;
	int i;

	assert_int_equal(sqlite3_prepare_v2(store_sqlite(f->st), sql, -1, &s,
	    NULL), SQLITE_OK);
	for (i = 0; i < 4 && i < sqlite3_bind_parameter_count(s); i++)
		if (v[i] != INT64_MIN)
			sqlite3_bind_int64(s, i + 1, v[i]);
	if (sqlite3_bind_parameter_index(s, "?9") > 0 && text != NULL)
		sqlite3_bind_text(s, 9, text, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
}

static int64_t
nullable(int64_t agent)
{
	return agent == 0 ? INT64_MIN : agent;
}

/* Random values of the columns a figure reads, drawn in a fixed order. */
struct call_vals {
	const char *outcome;
	int64_t agent, started, duration;
};

static struct call_vals
rnd_values(const struct fx *f, uint64_t *s)
{
	struct call_vals c;

	c.outcome = outcomes[below(s, 7)];
	c.agent = nullable(rnd_agent(f, s));
	c.started = rnd_started(f, s);
	c.duration = below(s, 3601);
	return c;
}

/* Insert a random call straight into the table (the triggers see it). */
static void
rnd_insert(struct fx *f, uint64_t *s)
{
	const int64_t cust[5] = { f->c1, f->c2, f->c3, f->c4, f->c5 };
	struct call_vals c = rnd_values(f, s);

	sql_run(f, "INSERT INTO calls (created, updated, customer_id,"
	    " agent_id, started, duration, outcome) VALUES (1, 1, ?1, ?2, ?3,"
	    " ?4, ?9)", c.outcome, cust[below(s, 5)], c.agent, c.started,
	    c.duration);
}

/* A random call, live or not (0 if there is none). */
static int64_t
rnd_call(struct fx *f, uint64_t *s)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT id FROM calls ORDER BY id LIMIT 1"
	    " OFFSET %lld", (long long)below(s, sql_count(f->st,
	    "SELECT count(*) FROM calls")));
	return sql_count(f->st, sql);
}

/*
 * One random write to a random call, straight in SQL: corrections of
 * each column a figure reads (one or several at once), of one it does
 * not, a tombstone, its undoing, and a delete.
 */
static void
rnd_write(struct fx *f, uint64_t *s)
{
	int64_t id = rnd_call(f, s);
	struct call_vals c;

	switch (below(s, 10)) {
	case 0:
		sql_run(f, "UPDATE calls SET outcome = ?9 WHERE id = ?1",
		    outcomes[below(s, 7)], id, 0, 0, 0);
		break;
	case 1:
		sql_run(f, "UPDATE calls SET duration = ?2 WHERE id = ?1",
		    NULL, id, below(s, 3601), 0, 0);
		break;
	case 2:
		sql_run(f, "UPDATE calls SET started = ?2 WHERE id = ?1",
		    NULL, id, rnd_started(f, s), 0, 0);
		break;
	case 3:
		sql_run(f, "UPDATE calls SET agent_id = ?2 WHERE id = ?1",
		    NULL, id, nullable(rnd_agent(f, s)), 0, 0);
		break;
	case 4:
		c = rnd_values(f, s);
		sql_run(f, "UPDATE calls SET agent_id = ?2, started = ?3,"
		    " duration = ?4, outcome = ?9 WHERE id = ?1", c.outcome,
		    id, c.agent, c.started, c.duration);
		break;
	case 5:
		sql_run(f, "UPDATE calls SET notes = 'x', outcome = outcome,"
		    " started = started WHERE id = ?1", NULL, id, 0, 0, 0);
		break;
	case 6: case 7:
		sql_run(f, "UPDATE calls SET deleted = 1 WHERE id = ?1", NULL,
		    id, 0, 0, 0);
		break;
	case 8:
		sql_run(f, "UPDATE calls SET deleted = 0 WHERE id = ?1"
		    " AND erased = 0", NULL, id, 0, 0, 0);
		break;
	default:
		sql_run(f, "DELETE FROM calls WHERE id = ?1", NULL, id, 0, 0,
		    0);
		break;
	}
}

/*
 * The daemon's own write paths on a random call: a correction through
 * store_record_update, a tombstone, a retention erasure, a delete.
 */
static void
rnd_store_write(struct fx *f, uint64_t *s)
{
	const struct kind_def *k = schema_kind("call");
	int64_t id = rnd_call(f, s);
	struct coffer_errdetail d;
	cbor_item_t *up = NULL;
	int deleted = 0, rc;
	cbor_item_t *rec = NULL;

	assert_int_equal(store_record_get_any(f->st, k, id, &all_scope, &rec,
	    &deleted), COFFER_OK);
	cbor_decref(&rec);
	switch (deleted ? 2 : below(s, 4)) { /* a tombstone: erasure only */
	case 0:
		/* agent_id is the owner field: no update changes it */
		up = msg_new_map();
		assert_int_equal(msg_put_int(up, "started", rnd_started(f, s)),
		    COFFER_OK);
		assert_int_equal(msg_put_int(up, "duration", below(s, 3601)),
		    COFFER_OK);
		assert_int_equal(msg_put_str(up, "outcome", outcomes[below(s,
		    6)]), COFFER_OK);
		memset(&d, 0, sizeof(d));
		rc = store_record_update(f->st, k, id, version_of(f, id), up,
		    &all_scope, &d);
		if (rc != COFFER_OK)
			print_error("update: %s\n", d.message);
		assert_int_equal(rc, COFFER_OK);
		cbor_decref(&up);
		break;
	case 1:
		assert_int_equal(store_record_tombstone(f->st, k, id,
		    version_of(f, id)), COFFER_OK);
		break;
	case 2:
		erase_call(f, id);
		break;
	default:
		assert_int_equal(store_record_delete(f->st, k, id,
		    version_of(f, id), &all_scope), COFFER_OK);
		break;
	}
}

/* A bound on a slot edge or anywhere, around [t0, t0 + SPAN). */
static int64_t
rnd_bound(const struct fx *f, uint64_t *s)
{
	int64_t t = f->t0 - DAY + below(s, SPAN + 2 * DAY);

	switch (below(s, 4)) {
	case 0:
		return t / SLOT * SLOT;
	case 1:
		return t / SLOT * SLOT + (below(s, 2) ? 1 : -1);
	default:
		return t;
	}
}

static int
by_user_id(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;

	return (x->user_id > y->user_id) - (x->user_id < y->user_id);
}

/* Mismatches of the calls figures of [from, to) against DEF_CALLS. */
static int64_t
period_diff(struct fx *f, int64_t from, int64_t to, int64_t *calls)
{
	struct report_query q = query(f, SCOPE_ALL, 0, ALLOW_ALL);
	struct report_row *rows = NULL, key, *r;
	sqlite3_stmt *s = NULL;
	int64_t bad = 0, seen = 0, v[3];
	size_t n = 0, i;
	int j;

	q.from = from;
	q.to = to;
	q.groups = REPORT_G_CALLS;
	assert_int_equal(report_kpi(f->st, &q, &rows, &n), COFFER_OK);
	if (n > 1)	/* report rows come by name: look them up by id */
		qsort(rows, n, sizeof(*rows), by_user_id);
	assert_int_equal(sqlite3_prepare_v2(store_sqlite(f->st), DEF_CALLS,
	    -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, from);
	sqlite3_bind_int64(s, 2, to);
	while (sqlite3_step(s) == SQLITE_ROW) {
		key.user_id = sqlite3_column_int64(s, 0);
		for (j = 0; j < 3; j++)
			v[j] = sqlite3_column_int64(s, j + 1);
		*calls += v[0];
		seen += v[0];
		r = bsearch(&key, rows, n, sizeof(*rows), by_user_id);
		if (r == NULL || r->v[RF_CALLS] != v[0] ||
		    r->v[RF_CONNECTED] != v[1] ||
		    r->v[RF_TALK_SECONDS] != v[2])
			bad++;
	}
	sqlite3_finalize(s);
	for (i = 0; i < n; i++)	/* and no figure the definition lacks */
		seen -= rows[i].v[RF_CALLS];
	free(rows);
	return bad + (seen != 0);
}


/* Mismatches of the weekly trend's calls against the definition. */
static int64_t
weeks_diff(struct fx *f, int64_t from, int64_t to, int64_t week0)
{
	struct report_query q = query(f, SCOPE_ALL, 0, ALLOW_ALL);
	struct report_week w[REPORT_WEEKS_MAX];
	sqlite3_stmt *s = NULL;
	int64_t bad = 0, lo, hi;
	size_t n = 0, i;

	q.from = from;
	q.to = to;
	q.groups = REPORT_G_CALLS;
	assert_int_equal(report_weeks(f->st, &q, week0, w, REPORT_WEEKS_MAX,
	    &n), COFFER_OK);
	assert_true(n >= 1);
	assert_int_equal(sqlite3_prepare_v2(store_sqlite(f->st), "SELECT"
	    " count(*), coalesce(sum(c.outcome = 'answered' OR c.outcome ="
	    " 'refused'), 0) FROM calls c NOT INDEXED WHERE c.deleted = 0"
	    " AND c.agent_id IN (SELECT id FROM users) AND c.started >= ?1"
	    " AND c.started < ?2", -1, &s, NULL), SQLITE_OK);
	for (i = 0; i < n; i++) {
		lo = w[i].start > from ? w[i].start : from;
		hi = w[i].start + 7 * DAY < to ? w[i].start + 7 * DAY : to;
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, lo);
		sqlite3_bind_int64(s, 2, hi);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		bad += w[i].calls != sqlite3_column_int64(s, 0) ||
		    w[i].connected != sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return bad;
}

/* Rows in which call_slots and the definition differ, either way. */
static int64_t
slots_diff(struct fx *f)
{
	return sql_count(f->st, "SELECT count(*) FROM (" DEF_SLOTS " EXCEPT "
	    KEPT_SLOTS ")") + sql_count(f->st, "SELECT count(*) FROM ("
	    KEPT_SLOTS " EXCEPT " DEF_SLOTS ")");
}

/*
 * Random periods (and weekly trends) compared with the definition; also
 * counts how many had whole slots and a partial end, so a run that
 * never exercised the split cannot pass as one that did.
 */
static int64_t
periods_diff(struct fx *f, uint64_t *s, int rounds, int64_t *split)
{
	int64_t bad = 0, calls = 0, from, to;
	int i;

	for (i = 0; i < rounds; i++) {
		from = rnd_bound(f, s);
		while ((to = below(s, 3) == 0 ? from + 1 + below(s, 2 * SLOT) :
		    rnd_bound(f, s)) <= from)
			;
		bad += period_diff(f, from, to, &calls);
		bad += weeks_diff(f, from, to, from - below(s, 7 * DAY));
		if ((from + SLOT - 1) / SLOT < to / SLOT &&
		    (from % SLOT != 0 || to % SLOT != 0))
			(*split)++;
	}
	assert_true(calls > 0);
	return bad;
}

/*
 * The calls figures from call_slots plus the partial slots at the ends
 * equal the scan of calls, for random periods, after random inserts,
 * corrections of every column a figure reads, tombstones (and their
 * undoing), erasures and deletes, in SQL and through the store's own
 * write paths; and the table equals its definition row for row.
 */
static void
test_slots_random(void **state)
{
	static const int64_t edges[][2] = { { 0, SLOT }, { 1, SLOT },
		{ 0, SLOT - 1 }, { SLOT - 1, SLOT + 1 }, { SLOT, SLOT + 1 },
		{ SLOT - 1, 2 * SLOT }, { 1, 2 * SLOT - 1 }, { -1, SPAN + 1 },
		{ 0, SPAN }, { SLOT + 1, SPAN - SLOT - 1 } };
	struct fx *f = *state;
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	int64_t split = 0;
	int i;

	sql_exec(f, "BEGIN");
	for (i = 0; i < 1500; i++)
		rnd_insert(f, &s);
	sql_exec(f, "COMMIT");
	assert_int_equal(slots_diff(f), 0);
	assert_int_equal(periods_diff(f, &s, 100, &split), 0);
	for (i = 0; i < 1500; i++) {
		if (i % 3 == 0)
			rnd_insert(f, &s);
		if (i % 40 == 0)
			rnd_store_write(f, &s);
		else
			rnd_write(f, &s);
		if (i % 500 == 499) {
			assert_int_equal(slots_diff(f), 0);
			assert_int_equal(periods_diff(f, &s, 100, &split), 0);
		}
	}
	assert_int_equal(periods_diff(f, &s, PERIODS, &split), 0);
	assert_true(split > PERIODS / 4);
	/* fixed corner cases: one slot, one second, ends around an edge,
	 * and periods around time 0 (bounds below it round down) */
	for (i = 0; i < (int)(sizeof(edges) / sizeof(edges[0])); i++)
		assert_int_equal(period_diff(f, f->t0 + edges[i][0],
		    f->t0 + edges[i][1], &split), 0);
	for (i = 0; i < 4; i++)	/* calls at 0, 899, 900, 1799 */
		sql_run(f, "INSERT INTO calls (created, updated, customer_id,"
		    " agent_id, started, duration, outcome) VALUES (1, 1, ?1,"
		    " ?2, ?3, ?4, 'answered')", NULL, f->c1, f->a1,
		    (i + 1) / 2 * SLOT - i % 2, 10 + i);
	assert_int_equal(period_diff(f, -SLOT - 1, SLOT - 1, &split), 0);
	assert_int_equal(period_diff(f, -SLOT, 2 * SLOT, &split), 0);
	assert_int_equal(period_diff(f, -1, SLOT + 1, &split), 0);
	assert_true(sql_count(f->st, "SELECT count(*) FROM calls WHERE"
	    " deleted = 1") > 100);
	/* the check itself can fail: one counter out of step is seen */
	sql_exec(f, "UPDATE call_slots SET talk = talk + 1 WHERE (agent_id,"
	    " slot) = (SELECT agent_id, slot FROM call_slots ORDER BY calls"
	    " DESC LIMIT 1)");
	assert_int_not_equal(slots_diff(f), 0);
	assert_int_not_equal(period_diff(f, f->t0 - DAY, f->t0 + SPAN + DAY,
	    &split), 0);
}

/*
 * Migration 8 fills call_slots from the calls there are: a vault is
 * taken back to version 7 (table and triggers undone), written to as a
 * version-7 build would (inserts, corrections, tombstones, deletes that
 * no trigger counts), and opened again.
 */
static void
test_slots_migration(void **state)
{
	struct fx *f = *state;
	uint64_t s = 7;
	int64_t split = 0;
	char path[128];
	unsigned char key[32];
	int i;

	open_vault(f, "db8", path, sizeof(path), key);
	add_people(f);
	fill_calls(f);
	sql_exec(f, "DROP TRIGGER calls_slot_insert;"
	    "DROP TRIGGER calls_slot_unset; DROP TRIGGER calls_slot_set;"
	    "DROP TRIGGER calls_slot_delete; DROP TABLE call_slots;"
	    "DELETE FROM migrations WHERE version = 8;"
	    "PRAGMA user_version = 7;");
	sql_exec(f, "BEGIN");
	for (i = 0; i < 800; i++)
		rnd_insert(f, &s);
	for (i = 0; i < 400; i++)
		rnd_write(f, &s);
	sql_exec(f, "COMMIT");
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(path, key, 0, &f->st), COFFER_OK);
	assert_int_equal(sql_count(f->st, "SELECT count(*) FROM migrations"
	    " WHERE version = 8"), 1);
	assert_int_equal(sql_count(f->st, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	assert_true(sql_count(f->st, "SELECT count(*) FROM call_slots") >
	    100);
	assert_int_equal(slots_diff(f), 0);
	assert_int_equal(periods_diff(f, &s, PERIODS, &split), 0);
	assert_true(split > PERIODS / 4);
	/* and the triggers are back: the fixture's report is unchanged */
	for (i = 0; i < 200; i++)
		rnd_write(f, &s);
	assert_int_equal(slots_diff(f), 0);
	assert_int_equal(periods_diff(f, &s, 100, &split), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_company),
		cmocka_unit_test(test_clearance),
		cmocka_unit_test(test_team_and_own),
		cmocka_unit_test(test_groups_and_period),
		cmocka_unit_test(test_weeks),
		cmocka_unit_test_setup_teardown(test_firsts_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_firsts_migration, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_slots_random, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_slots_migration, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
