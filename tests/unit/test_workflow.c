/*
 * test_workflow.c - the store queries of the working day (workflow.h):
 * who is within a scope (and that it is the store's own line), moving
 * customers with their follow-ups, the pool of unassigned leads, the
 * transfer of an agent's customers, the order and filters of today, and
 * marking a follow-up done.
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
#include "coffer/schema.h"
#include "coffer/store.h"
#include "coffer/workflow.h"

#include "helper.h"
#include "helper_store.h"

struct fx {
	char dir[64];
	struct store *st;
	/* mgr heads team east (a1, a2); lead is mgr's own manager (team hq);
	 * b1 is in team west under mgr2 */
	int64_t lead, mgr, a1, a2, mgr2, b1;
};

static const struct store_scope all_scope = { .kind = SCOPE_ALL };
/* public, internal, confidential (bits 0-2); secret is bit 3 */
#define ALLOW_CONF 0x7u
#define ALLOW_ALL 0xfu

static struct store_scope
scope_of(enum scope_kind k, int64_t user, const char *team)
{
	struct store_scope s;

	memset(&s, 0, sizeof(s));
	s.kind = k;
	s.user_id = user;
	snprintf(s.team, sizeof(s.team), "%s", team);
	return s;
}

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

/* A customer; stage/list/label NULL and dnc 0 leave them unset. */
static int64_t
customer(struct fx *f, int64_t owner, const char *stage, const char *list,
    int dnc, const char *label)
{
	static unsigned seq;
	cbor_item_t *m = msg_new_map();
	char phone[16];

	snprintf(phone, sizeof(phone), "1380000%04u", ++seq);
	assert_int_equal(msg_put_str(m, "name", "王五"), COFFER_OK);
	assert_int_equal(msg_put_str(m, "phone", phone), COFFER_OK);
	if (owner > 0)
		assert_int_equal(msg_put_int(m, "owner_id", owner), COFFER_OK);
	if (stage != NULL)
		assert_int_equal(msg_put_str(m, "stage", stage), COFFER_OK);
	if (list != NULL)
		assert_int_equal(msg_put_str(m, "source_list", list),
		    COFFER_OK);
	if (dnc)
		assert_int_equal(msg_put_bool(m, "do_not_call", 1), COFFER_OK);
	if (label != NULL)
		assert_int_equal(msg_put_str(m, "label", label), COFFER_OK);
	return create(f->st, "customer", m);
}

static int64_t
followup(struct fx *f, int64_t cust, int64_t agent, int64_t due,
    const char *kind, const char *status)
{
	cbor_item_t *m = msg_new_map();

	assert_int_equal(msg_put_int(m, "customer_id", cust), COFFER_OK);
	if (agent > 0)
		assert_int_equal(msg_put_int(m, "agent_id", agent), COFFER_OK);
	assert_int_equal(msg_put_int(m, "due", due), COFFER_OK);
	assert_int_equal(msg_put_str(m, "kind", kind), COFFER_OK);
	if (status != NULL)
		assert_int_equal(msg_put_str(m, "status", status), COFFER_OK);
	return create(f->st, "followup", m);
}

static void
add_call(struct fx *f, int64_t cust)
{
	cbor_item_t *m = msg_new_map();

	assert_int_equal(msg_put_int(m, "customer_id", cust), COFFER_OK);
	assert_int_equal(msg_put_int(m, "started", 1718000000), COFFER_OK);
	assert_int_equal(msg_put_int(m, "duration", 60), COFFER_OK);
	(void)create(f->st, "call", m);
}

/* A field of a record (any scope); -1 when absent. */
static int64_t
field_of(struct fx *f, const char *kind, int64_t id, const char *name)
{
	cbor_item_t *rec = NULL;
	int64_t v = -1;

	assert_int_equal(store_record_get(f->st, schema_kind(kind), id,
	    &all_scope, &rec), COFFER_OK);
	(void)msg_get_int(rec, name, &v);
	cbor_decref(&rec);
	return v;
}

static void
tombstone(struct fx *f, int64_t id)
{
	assert_int_equal(store_record_tombstone(f->st, schema_kind("customer"),
	    id, field_of(f, "customer", id, "version")), COFFER_OK);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || test_store_new(f->dir, sizeof(f->dir), "workflow", NULL, 0,
	    NULL, &f->st) != 0)
		return -1;
	f->lead = test_user_add(f->st, "lead", ROLE_MANAGER, "hq", 0);
	f->mgr = test_user_add(f->st, "mgr", ROLE_MANAGER, "east", f->lead);
	f->a1 = test_user_add(f->st, "a1", ROLE_AGENT, "east", f->mgr);
	f->a2 = test_user_add(f->st, "a2", ROLE_AGENT, "east", f->mgr);
	f->mgr2 = test_user_add(f->st, "mgr2", ROLE_MANAGER, "west", 0);
	f->b1 = test_user_add(f->st, "b1", ROLE_AGENT, "west", f->mgr2);
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

/* ---- scope ---------------------------------------------------------- */

static int
in(struct fx *f, struct store_scope sc, int64_t user)
{
	int v = -1;

	assert_int_equal(wf_user_in_scope(f->st, &sc, user, &v), COFFER_OK);
	return v;
}

static void
test_user_in_scope(void **state)
{
	struct fx *f = *state;
	struct store_scope team = scope_of(SCOPE_TEAM, f->mgr, "east");
	struct store_scope top = scope_of(SCOPE_TEAM, f->lead, "hq");
	int64_t users[6] = { f->lead, f->mgr, f->a1, f->a2, f->mgr2, f->b1 };
	size_t i;

	assert_int_equal(in(f, team, f->a1), 1);
	assert_int_equal(in(f, team, f->a2), 1);
	assert_int_equal(in(f, team, f->mgr), 1);
	assert_int_equal(in(f, team, f->b1), 0);
	assert_int_equal(in(f, team, f->lead), 0);   /* above, not below */
	assert_int_equal(in(f, top, f->a1), 1);      /* subtree */
	assert_int_equal(in(f, top, f->b1), 0);
	assert_int_equal(in(f, scope_of(SCOPE_OWN, f->a1, ""), f->a1), 1);
	assert_int_equal(in(f, scope_of(SCOPE_OWN, f->a1, ""), f->a2), 0);
	assert_int_equal(in(f, scope_of(SCOPE_ALL, 0, ""), f->b1), 1);
	assert_int_equal(in(f, scope_of(SCOPE_NONE, f->a1, ""), f->a1), 0);
	assert_int_equal(in(f, scope_of(SCOPE_TEAM, f->mgr, ""), f->a1), 0);
	assert_int_equal(in(f, team, 0), 0);
	/* The same line as the store's row scope: a customer of each user
	 * is readable under the team scope exactly when the user is in it. */
	for (i = 0; i < 6; i++) {
		int64_t c = customer(f, users[i], NULL, NULL, 0, NULL);
		cbor_item_t *rec = NULL;
		int rc = store_record_get(f->st, schema_kind("customer"), c,
		    &team, &rec);

		if (rec != NULL)
			cbor_decref(&rec);
		assert_int_equal(rc == COFFER_OK, in(f, team, users[i]));
		assert_true(rc == COFFER_OK || rc == COFFER_ERR_DENIED);
	}
}

/* ---- moving --------------------------------------------------------- */

static void
test_move(void **state)
{
	struct fx *f = *state;
	int64_t now = (int64_t)time(NULL);
	int64_t c1 = customer(f, f->a1, NULL, NULL, 0, NULL);
	int64_t c2 = customer(f, f->a1, NULL, NULL, 0, NULL);
	int64_t gone = customer(f, f->a1, NULL, NULL, 0, NULL);
	int64_t fu_open = followup(f, c1, f->a1, now, "callback", NULL);
	int64_t fu_unset = followup(f, c1, 0, now, "revisit", NULL);
	int64_t fu_done = followup(f, c1, f->a1, now, "callback", "done");
	int64_t fu_other = followup(f, c1, f->mgr, now, "revisit", NULL);
	int64_t ids[3] = { c1, c2, gone };
	size_t moved = 99, fus = 99;

	tombstone(f, gone);
	assert_int_equal(wf_move(f->st, ids, 3, f->a2, &moved, &fus),
	    COFFER_OK);
	assert_int_equal(moved, 2);              /* not the tombstone */
	assert_int_equal(fus, 2);                /* fu_open and fu_unset */
	assert_int_equal(field_of(f, "customer", c1, "owner_id"), f->a2);
	assert_int_equal(field_of(f, "customer", c1, "version"), 2);
	assert_int_equal(field_of(f, "customer", c2, "owner_id"), f->a2);
	assert_int_equal(field_of(f, "followup", fu_open, "agent_id"), f->a2);
	assert_int_equal(field_of(f, "followup", fu_open, "version"), 2);
	assert_int_equal(field_of(f, "followup", fu_unset, "agent_id"), f->a2);
	assert_int_equal(field_of(f, "followup", fu_done, "agent_id"), f->a1);
	assert_int_equal(field_of(f, "followup", fu_done, "version"), 1);
	assert_int_equal(field_of(f, "followup", fu_other, "agent_id"),
	    f->mgr);
	/* Already theirs: nothing changes, no version bump. */
	assert_int_equal(wf_move(f->st, ids, 2, f->a2, &moved, &fus),
	    COFFER_OK);
	assert_int_equal(moved, 0);
	assert_int_equal(fus, 0);
	assert_int_equal(field_of(f, "customer", c1, "version"), 2);
	assert_int_equal(wf_move(f->st, ids, 1, 0, NULL, NULL),
	    COFFER_ERR_INVALID);
}

static void
test_pool(void **state)
{
	struct fx *f = *state;
	int64_t m = f->mgr, ids[16];
	int64_t n1 = customer(f, m, NULL, "spring", 0, NULL);
	int64_t s1 = customer(f, m, "screened", "spring", 0, NULL);
	int64_t sec, nul, aut;
	size_t n = 0;

	(void)customer(f, m, "excluded", "spring", 0, NULL);
	(void)customer(f, m, "new", "spring", 1, NULL);       /* dnc */
	(void)customer(f, m, "contacted", "spring", 0, NULL);
	(void)customer(f, f->a1, "new", "spring", 0, NULL);   /* assigned */
	tombstone(f, customer(f, m, "new", "spring", 0, NULL));
	sec = customer(f, m, "new", "spring", 0, "secret");
	aut = customer(f, m, "new", "autumn", 0, NULL);
	nul = customer(f, 0, "new", "spring", 0, NULL);

	assert_int_equal(wf_pool(f->st, m, 0, "spring", ALLOW_CONF, ids, 16,
	    &n), COFFER_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], n1);
	assert_int_equal(ids[1], s1);
	assert_int_equal(wf_pool(f->st, m, 0, "spring", ALLOW_CONF, ids, 1,
	    &n), COFFER_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], n1);
	assert_int_equal(wf_pool(f->st, m, 0, NULL, ALLOW_CONF, ids, 16, &n),
	    COFFER_OK);
	assert_int_equal(n, 3);
	assert_int_equal(ids[2], aut);
	assert_int_equal(wf_pool(f->st, m, 1, "spring", ALLOW_ALL, ids, 16,
	    &n), COFFER_OK);
	assert_int_equal(n, 4);
	assert_int_equal(ids[2], sec);
	assert_int_equal(ids[3], nul);
	assert_int_equal(wf_pool(f->st, m, 0, "none-such", ALLOW_ALL, ids, 16,
	    &n), COFFER_OK);
	assert_int_equal(n, 0);
}

static void
test_transfer(void **state)
{
	struct fx *f = *state;
	int64_t now = (int64_t)time(NULL), ids[4];
	int64_t c1 = customer(f, f->a1, NULL, NULL, 0, NULL);
	int64_t c2 = customer(f, f->a1, "won", NULL, 0, "secret");
	int64_t c3 = customer(f, f->a1, "excluded", NULL, 1, NULL);
	int64_t gone = customer(f, f->a1, NULL, NULL, 0, NULL);
	int64_t fu = followup(f, c2, f->a1, now, "after_sales", NULL);
	int64_t fu0 = followup(f, c1, 0, now, "callback", NULL);
	int64_t fum = followup(f, c1, f->mgr, now, "revisit", NULL);
	int64_t keep = customer(f, f->a2, NULL, NULL, 0, NULL);
	uint64_t total = 0, above = 0, moved = 0, fus = 0;
	size_t nids = 0;

	tombstone(f, gone);
	assert_int_equal(wf_owned_count(f->st, f->a1, ALLOW_CONF, &total,
	    &above), COFFER_OK);
	assert_int_equal(total, 3);
	assert_int_equal(above, 1);              /* the secret one */
	assert_int_equal(wf_owned_count(f->st, f->a1, ALLOW_ALL, &total,
	    &above), COFFER_OK);
	assert_int_equal(above, 0);
	/* ids capped at 2, the count is all of them */
	assert_int_equal(wf_transfer(f->st, f->a1, f->b1, ids, 2, &nids,
	    &moved, &fus), COFFER_OK);
	assert_int_equal(moved, 3);
	assert_int_equal(nids, 2);
	assert_true(ids[0] < ids[1]);
	assert_true(ids[0] == c1 || ids[0] == c2 || ids[0] == c3);
	assert_int_equal(fus, 2);
	assert_int_equal(field_of(f, "followup", fu0, "agent_id"), f->b1);
	assert_int_equal(field_of(f, "followup", fum, "agent_id"), f->mgr);
	assert_int_equal(field_of(f, "customer", c1, "owner_id"), f->b1);
	assert_int_equal(field_of(f, "customer", c2, "owner_id"), f->b1);
	assert_int_equal(field_of(f, "customer", c3, "owner_id"), f->b1);
	assert_int_equal(field_of(f, "customer", keep, "owner_id"), f->a2);
	assert_int_equal(field_of(f, "followup", fu, "agent_id"), f->b1);
	assert_int_equal(wf_owned_count(f->st, f->a1, ALLOW_ALL, &total,
	    &above), COFFER_OK);
	assert_int_equal(total, 0);
	assert_int_equal(wf_transfer(f->st, f->a1, f->b1, ids, 4, &nids,
	    &moved, &fus), COFFER_OK);
	assert_int_equal(moved, 0);
	assert_int_equal(nids, 0);
	assert_int_equal(wf_transfer(f->st, f->b1, f->b1, ids, 4, &nids,
	    &moved, &fus), COFFER_ERR_INVALID);
}

/* ---- today ---------------------------------------------------------- */

static void
test_today(void **state)
{
	struct fx *f = *state;
	int64_t now = (int64_t)time(NULL);
	int64_t cA = customer(f, f->a1, NULL, NULL, 0, NULL);      /* new */
	int64_t cB = customer(f, f->a1, "screened", NULL, 0, NULL);
	int64_t cC = customer(f, f->a1, "screened", NULL, 0, NULL); /* called */
	int64_t cD = customer(f, f->a1, "excluded", NULL, 0, NULL);
	int64_t cE = customer(f, f->a1, "new", NULL, 1, NULL);       /* dnc */
	int64_t cF = customer(f, f->a1, "following", NULL, 0, NULL);
	int64_t cG = customer(f, f->a1, "new", NULL, 0, "secret");
	int64_t cX = customer(f, f->a2, "new", NULL, 0, NULL);
	int64_t late, soon;
	struct wf_task t[8];
	uint64_t nf = 0, nl = 0;
	size_t n = 0, i;

	add_call(f, cC);
	soon = followup(f, cF, f->a1, now + 600, "after_sales", NULL);
	late = followup(f, cF, f->a1, now - 3600, "callback", NULL);
	(void)followup(f, cF, f->a1, now + 3 * 86400, "revisit", NULL);
	(void)followup(f, cF, f->a1, now - 7200, "callback", "done");
	(void)followup(f, cD, f->a1, now - 7200, "callback", NULL);
	(void)followup(f, cE, f->a1, now - 7200, "callback", NULL);
	(void)followup(f, cG, f->a1, now - 7200, "callback", NULL);
	(void)followup(f, cX, f->a2, now - 7200, "callback", NULL);

	assert_int_equal(wf_today(f->st, f->a1, now + 3600, ALLOW_CONF, t, 8,
	    &n, &nf, &nl), COFFER_OK);
	assert_int_equal(nf, 2);
	assert_int_equal(nl, 2);
	assert_int_equal(n, 4);
	assert_int_equal(t[0].kind, WF_TASK_FOLLOWUP);
	assert_int_equal(t[0].followup_id, late);    /* overdue first */
	assert_int_equal(t[0].customer_id, cF);
	assert_int_equal(t[0].due, now - 3600);
	assert_string_equal(t[0].what, "callback");
	assert_int_equal(t[1].followup_id, soon);
	assert_string_equal(t[1].what, "after_sales");
	assert_int_equal(t[2].kind, WF_TASK_LEAD);   /* screened before new */
	assert_int_equal(t[2].customer_id, cB);
	assert_string_equal(t[2].what, "screened");
	assert_int_equal(t[3].customer_id, cA);
	assert_string_equal(t[3].what, "new");
	for (i = 0; i < n; i++)
		assert_true(t[i].customer_id != cC && t[i].customer_id != cD &&
		    t[i].customer_id != cE && t[i].customer_id != cG &&
		    t[i].customer_id != cX);
	/* a limit cuts the lines, not the totals */
	assert_int_equal(wf_today(f->st, f->a1, now + 3600, ALLOW_CONF, t, 3,
	    &n, &nf, &nl), COFFER_OK);
	assert_int_equal(n, 3);
	assert_int_equal(nf + nl, 4);
	/* until now: the one due in ten minutes is not yet there */
	assert_int_equal(wf_today(f->st, f->a1, now, ALLOW_CONF, t, 8, &n,
	    &nf, &nl), COFFER_OK);
	assert_int_equal(nf, 1);
	/* cleared for secret: cG comes in, as a lead and its follow-up */
	assert_int_equal(wf_today(f->st, f->a1, now + 3600, ALLOW_ALL, t, 8,
	    &n, &nf, &nl), COFFER_OK);
	assert_int_equal(nf, 3);
	assert_int_equal(nl, 3);
	assert_int_equal(t[0].customer_id, cG);
	/* excluding a lead takes it off the list */
	{
		cbor_item_t *m = msg_new_map();
		struct coffer_errdetail d;

		msg_put_str(m, "stage", "excluded");
		msg_put_str(m, "exclude_reason", "no need");
		assert_int_equal(store_record_update(f->st,
		    schema_kind("customer"), cA, 1, m, &all_scope, &d),
		    COFFER_OK);
		cbor_decref(&m);
	}
	assert_int_equal(wf_today(f->st, f->a1, now + 3600, ALLOW_CONF, t, 8,
	    &n, &nf, &nl), COFFER_OK);
	assert_int_equal(nl, 1);
	assert_int_equal(wf_today(f->st, 0, now, ALLOW_CONF, t, 8, &n, &nf,
	    &nl), COFFER_ERR_INVALID);
}

/* ---- completing a follow-up ----------------------------------------- */

static void
status_of(struct fx *f, int64_t id, char *buf, size_t sz)
{
	cbor_item_t *rec = NULL;

	buf[0] = '\0';
	assert_int_equal(store_record_get(f->st, schema_kind("followup"), id,
	    &all_scope, &rec), COFFER_OK);
	(void)msg_get_str(rec, "status", buf, sz);
	cbor_decref(&rec);
}

static void
test_followup_done(void **state)
{
	struct fx *f = *state;
	int64_t now = (int64_t)time(NULL);
	int64_t c1 = customer(f, f->a1, "following", NULL, 0, NULL);
	int64_t fu = followup(f, c1, f->a1, now - 60, "callback", NULL);
	int64_t fu2 = followup(f, c1, f->a1, now - 60, "revisit", "open");
	int64_t fc = followup(f, c1, f->a1, now - 60, "revisit", "cancelled");
	int64_t fd = followup(f, c1, f->a1, now - 60, "callback", NULL);
	int64_t other = followup(f, c1, f->a1, now - 60, "callback", NULL);
	struct wf_task t[8];
	uint64_t nf = 0, nl = 0;
	size_t n = 0;
	char was[16], st[16];
	cbor_item_t *rec = NULL;

	/* unset status counts as open; the note is kept as the outcome */
	assert_int_equal(wf_followup_done(f->st, fu, "已确认", was,
	    sizeof(was)), COFFER_OK);
	assert_string_equal(was, "open");
	status_of(f, fu, st, sizeof(st));
	assert_string_equal(st, "done");
	assert_int_equal(field_of(f, "followup", fu, "version"), 2);
	assert_true(field_of(f, "followup", fu, "updated") >= now);
	assert_int_equal(store_record_get(f->st, schema_kind("followup"), fu,
	    &all_scope, &rec), COFFER_OK);
	assert_int_equal(msg_get_str(rec, "outcome", st, sizeof(st)),
	    COFFER_OK);
	assert_string_equal(st, "已确认");
	cbor_decref(&rec);
	/* without a note, status only; the other follow-ups are untouched */
	assert_int_equal(wf_followup_done(f->st, fu2, NULL, NULL, 0),
	    COFFER_OK);
	assert_int_equal(field_of(f, "followup", fu2, "version"), 2);
	assert_int_equal(field_of(f, "followup", other, "version"), 1);
	status_of(f, other, st, sizeof(st));
	assert_true(st[0] == '\0' || strcmp(st, "open") == 0);
	/* done again: a conflict naming the status, nothing written */
	assert_int_equal(wf_followup_done(f->st, fu, NULL, was, sizeof(was)),
	    COFFER_ERR_CONFLICT);
	assert_string_equal(was, "done");
	assert_int_equal(field_of(f, "followup", fu, "version"), 2);
	/* cancelled: a conflict too */
	assert_int_equal(wf_followup_done(f->st, fc, "x", was, sizeof(was)),
	    COFFER_ERR_CONFLICT);
	assert_string_equal(was, "cancelled");
	status_of(f, fc, st, sizeof(st));
	assert_string_equal(st, "cancelled");
	assert_int_equal(field_of(f, "followup", fc, "version"), 1);
	/* deleted (tombstoned) and unknown ids: not found */
	assert_int_equal(store_record_tombstone(f->st, schema_kind("followup"),
	    fd, 1), COFFER_OK);
	assert_int_equal(wf_followup_done(f->st, fd, NULL, was, sizeof(was)),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(wf_followup_done(f->st, other + 100, NULL, was,
	    sizeof(was)), COFFER_ERR_NOT_FOUND);
	assert_int_equal(wf_followup_done(f->st, 0, NULL, NULL, 0),
	    COFFER_ERR_NOT_FOUND);
	/* a done follow-up leaves the agent's day; the open one stays */
	assert_int_equal(wf_today(f->st, f->a1, now, ALLOW_CONF, t, 8, &n,
	    &nf, &nl), COFFER_OK);
	assert_int_equal(nf, 1);
	assert_int_equal(t[0].followup_id, other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_user_in_scope, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_today, setup, teardown),
		cmocka_unit_test_setup_teardown(test_followup_done, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
