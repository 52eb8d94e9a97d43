/*
 * workflow.c - the store side of screening, assignment and the agent's
 * day (workflow.h, docs/workflow.md): a few indexed queries on the
 * customers, follow-ups and calls tables, run on the caller's connection
 * and inside the caller's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffer/schema.h"
#include "coffer/workflow.h"
#include "store_int.h"

/* Live customers that never reach anyone's call list. */
#define WF_CALLABLE(A) \
	A ".deleted = 0 AND coalesce(" A ".stage, 'new') <> 'excluded' AND " \
	"coalesce(" A ".do_not_call, 0) = 0"

#define SQL_MAX 1024

/* Step a statement that returns no row, and finalize it. */
static int
run_done(sqlite3_stmt *s, size_t *changes, struct store *st)
{
	int rc = sqlite3_step(s);

	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_db_status(rc);
	if (changes != NULL)
		*changes += (size_t)sqlite3_changes(store_sqlite(st));
	return COFFER_OK;
}

/*
 * "(A.label IS NULL OR A.label IN ('public', ...))" for the bits of allow,
 * the literals taken from schema.c's enum, never from a caller.
 */
static int
label_cond(char *buf, size_t sz, const char *alias, unsigned allow)
{
	const struct kind_def *ck = schema_kind("customer");
	const struct field_def *lf = ck != NULL ? schema_field(ck, "label") :
	    NULL;
	char set[160] = "";
	size_t i, used = 0;
	int n;

	if (lf == NULL || lf->type != FT_ENUM || lf->enum_values == NULL)
		return COFFER_ERR_INTERNAL;
	for (i = 0; lf->enum_values[i] != NULL && i < 32; i++) {
		if (!(allow & (1u << i)))
			continue;
		n = snprintf(set + used, sizeof(set) - used, "%s'%s'",
		    used ? ", " : "", lf->enum_values[i]);
		if (n < 0 || (size_t)n >= sizeof(set) - used)
			return COFFER_ERR_INTERNAL;
		used += (size_t)n;
	}
	if (used == 0)
		n = snprintf(buf, sz, "(%s.label IS NULL)", alias);
	else
		n = snprintf(buf, sz, "(%s.label IS NULL OR %s.label IN (%s))",
		    alias, alias, set);
	return n > 0 && (size_t)n < sz ? COFFER_OK : COFFER_ERR_INTERNAL;
}

int
wf_user_in_scope(struct store *st, const struct store_scope *sc,
    int64_t user, int *in)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*in = 0;
	if (sc == NULL || user <= 0)
		return COFFER_OK;
	switch (sc->kind) {
	case SCOPE_ALL:
		*in = 1;
		return COFFER_OK;
	case SCOPE_OWN:
		*in = sc->user_id > 0 && user == sc->user_id;
		return COFFER_OK;
	case SCOPE_TEAM:
		break;
	default:
		return COFFER_OK;
	}
	if (sc->user_id <= 0 || sc->team[0] == '\0')
		return COFFER_OK;   /* a team scope naming nobody: nothing */
	if ((rc = store_prep(st, "SELECT 1 WHERE ?2 IN (" SQL_TEAM_USERS("?1") ")",
	    &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, sc->user_id);
	sqlite3_bind_int64(s, 2, user);
	rc = sqlite3_step(s);
	*in = rc == SQLITE_ROW;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? COFFER_OK :
	    store_db_status(rc);
}

/*
 * Open follow-ups of customer id that its current owner was responsible
 * for; run before the owner changes.
 */
static const char move_followups_sql[] =
	"UPDATE followups SET agent_id = ?2, version = version + 1, "
	"updated = ?3 WHERE customer_id = ?1 AND deleted = 0 AND "
	"status = 'open' AND agent_id IS NOT ?2 AND (agent_id IS NULL OR "
	"agent_id = (SELECT c.owner_id FROM customers c WHERE c.id = ?1))";
static const char move_customer_sql[] =
	"UPDATE customers SET owner_id = ?2, version = version + 1, "
	"updated = ?3 WHERE id = ?1 AND deleted = 0 AND owner_id IS NOT ?2";

static int
move_one(struct store *st, const char *sql, int64_t id, int64_t to,
    int64_t now, size_t *changes)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, sql, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, to);
	sqlite3_bind_int64(s, 3, now);
	return run_done(s, changes, st);
}

int
wf_move(struct store *st, const int64_t *ids, size_t n, int64_t to,
    size_t *moved, size_t *followups)
{
	int64_t now = (int64_t)time(NULL);
	size_t m = 0, f = 0, i;
	int rc = COFFER_OK;

	if (to <= 0 || (n > 0 && ids == NULL))
		return COFFER_ERR_INVALID;
	for (i = 0; i < n && rc == COFFER_OK; i++) {
		rc = move_one(st, move_followups_sql, ids[i], to, now, &f);
		if (rc == COFFER_OK)
			rc = move_one(st, move_customer_sql, ids[i], to, now,
			    &m);
	}
	if (moved != NULL)
		*moved = m;
	if (followups != NULL)
		*followups = f;
	return rc;
}

int
wf_pool(struct store *st, int64_t owner, int with_unowned,
    const char *list, unsigned label_allow, int64_t *ids, size_t max,
    size_t *n)
{
	char sql[SQL_MAX], lab[256];
	sqlite3_stmt *s = NULL;
	int rc, len;

	*n = 0;
	if (max == 0)
		return COFFER_OK;
	if ((rc = label_cond(lab, sizeof(lab), "t", label_allow)) != COFFER_OK)
		return rc;
	len = snprintf(sql, sizeof(sql), "SELECT t.id FROM customers t WHERE "
	    "(t.owner_id = ?1%s) AND " WF_CALLABLE("t") " AND "
	    "coalesce(t.stage, 'new') IN ('new', 'screened') AND %s%s "
	    "ORDER BY t.id LIMIT ?3", with_unowned ? " OR t.owner_id IS NULL" :
	    "", lab, list != NULL ? " AND t.source_list = ?2" : "");
	if (len < 0 || (size_t)len >= sizeof(sql))
		return COFFER_ERR_INTERNAL;
	if ((rc = store_prep(st, sql, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, owner);
	if (list != NULL)
		sqlite3_bind_text(s, 2, list, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max)
		ids[(*n)++] = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? COFFER_OK :
	    store_db_status(rc);
}

int
wf_owned_count(struct store *st, int64_t owner, unsigned label_allow,
    uint64_t *total, uint64_t *above)
{
	char sql[SQL_MAX], lab[256];
	sqlite3_stmt *s = NULL;
	int rc, len;

	*total = *above = 0;
	if ((rc = label_cond(lab, sizeof(lab), "t", label_allow)) != COFFER_OK)
		return rc;
	len = snprintf(sql, sizeof(sql), "SELECT count(*), coalesce(sum(NOT "
	    "%s), 0) FROM customers t WHERE t.owner_id = ?1 AND "
	    "t.deleted = 0", lab);
	if (len < 0 || (size_t)len >= sizeof(sql))
		return COFFER_ERR_INTERNAL;
	if ((rc = store_prep(st, sql, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, owner);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*total = (uint64_t)sqlite3_column_int64(s, 0);
		*above = (uint64_t)sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? COFFER_OK : store_db_status(rc);
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int
wf_transfer(struct store *st, int64_t from, int64_t to, int64_t *ids,
    size_t max, size_t *nids, uint64_t *moved, uint64_t *followups)
{
	int64_t now = (int64_t)time(NULL);
	sqlite3_stmt *s = NULL;
	size_t f = 0;
	uint64_t m = 0;
	int rc;

	*nids = 0;
	*moved = *followups = 0;
	if (from <= 0 || to <= 0 || from == to)
		return COFFER_ERR_INVALID;
	/* The follow-ups first, while their customers still name from. */
	if ((rc = store_prep(st, "UPDATE followups SET agent_id = ?2, version = "
	    "version + 1, updated = ?3 WHERE deleted = 0 AND status = 'open' "
	    "AND (agent_id IS NULL OR agent_id = ?1) AND customer_id IN "
	    "(SELECT c.id FROM customers c WHERE c.owner_id = ?1 AND "
	    "c.deleted = 0)", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, from);
	sqlite3_bind_int64(s, 2, to);
	sqlite3_bind_int64(s, 3, now);
	if ((rc = run_done(s, &f, st)) != COFFER_OK)
		return rc;
	if ((rc = store_prep(st, "UPDATE customers SET owner_id = ?2, version = "
	    "version + 1, updated = ?3 WHERE owner_id = ?1 AND deleted = 0 "
	    "RETURNING id", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, from);
	sqlite3_bind_int64(s, 2, to);
	sqlite3_bind_int64(s, 3, now);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*nids < max)
			ids[(*nids)++] = sqlite3_column_int64(s, 0);
		m++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_db_status(rc);
	if (*nids > 1)
		qsort(ids, *nids, sizeof(*ids), cmp_id);
	*moved = m;
	*followups = f;
	return COFFER_OK;
}

/* The agent's day ---------------------------------------------------- */

/* Open follow-ups due by ?2 of callable customers of ?1 (label cond %s). */
#define TODAY_FU_WHERE \
	" FROM followups f JOIN customers t ON t.id = f.customer_id " \
	"WHERE t.owner_id = ?1 AND " WF_CALLABLE("t") " AND %s AND " \
	"f.deleted = 0 AND f.status = 'open' AND f.due <= ?2"
/* Fresh leads of ?1: screened or new, callable, never called. */
#define TODAY_LEAD_WHERE \
	" FROM customers t WHERE t.owner_id = ?1 AND " WF_CALLABLE("t") \
	" AND %s AND coalesce(t.stage, 'new') IN ('new', 'screened') AND " \
	"NOT EXISTS (SELECT 1 FROM calls k WHERE k.customer_id = t.id AND " \
	"k.deleted = 0)"

static int
count_of(struct store *st, const char *where, int64_t agent, int64_t until,
    uint64_t *out)
{
	char sql[SQL_MAX];
	sqlite3_stmt *s = NULL;
	int rc, len;

	*out = 0;
	len = snprintf(sql, sizeof(sql), "SELECT count(*)%s", where);
	if (len < 0 || (size_t)len >= sizeof(sql))
		return COFFER_ERR_INTERNAL;
	if ((rc = store_prep(st, sql, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, agent);
	(void)sqlite3_bind_int64(s, 2, until); /* SQLITE_RANGE if unused */
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? COFFER_OK : store_db_status(rc);
}

static void
copy_text(char *dst, size_t sz, sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(dst, sz, "%s", t != NULL ? (const char *)t : "");
}

static int
today_followups(struct store *st, const char *where, int64_t agent,
    int64_t until, struct wf_task *out, size_t max, size_t *n)
{
	char sql[SQL_MAX];
	sqlite3_stmt *s = NULL;
	int rc, len;

	len = snprintf(sql, sizeof(sql), "SELECT f.id, f.customer_id, f.due, "
	    "f.kind%s ORDER BY f.due, f.id LIMIT ?3", where);
	if (len < 0 || (size_t)len >= sizeof(sql))
		return COFFER_ERR_INTERNAL;
	if ((rc = store_prep(st, sql, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, agent);
	sqlite3_bind_int64(s, 2, until);
	sqlite3_bind_int64(s, 3, (int64_t)(max - *n));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		struct wf_task *t = &out[(*n)++];

		memset(t, 0, sizeof(*t));
		t->kind = WF_TASK_FOLLOWUP;
		t->followup_id = sqlite3_column_int64(s, 0);
		t->customer_id = sqlite3_column_int64(s, 1);
		t->due = sqlite3_column_int64(s, 2);
		copy_text(t->what, sizeof(t->what), s, 3);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? COFFER_OK :
	    store_db_status(rc);
}

static int
today_leads(struct store *st, const char *where, int64_t agent,
    struct wf_task *out, size_t max, size_t *n)
{
	char sql[SQL_MAX];
	sqlite3_stmt *s = NULL;
	int rc, len;

	len = snprintf(sql, sizeof(sql), "SELECT t.id, coalesce(t.stage, "
	    "'new')%s ORDER BY coalesce(t.stage, 'new') = 'new', t.id "
	    "LIMIT ?3", where);
	if (len < 0 || (size_t)len >= sizeof(sql))
		return COFFER_ERR_INTERNAL;
	if ((rc = store_prep(st, sql, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, agent);
	sqlite3_bind_int64(s, 3, (int64_t)(max - *n));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		struct wf_task *t = &out[(*n)++];

		memset(t, 0, sizeof(*t));
		t->kind = WF_TASK_LEAD;
		t->customer_id = sqlite3_column_int64(s, 0);
		copy_text(t->what, sizeof(t->what), s, 1);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? COFFER_OK :
	    store_db_status(rc);
}

int
wf_today(struct store *st, int64_t agent, int64_t until,
    unsigned label_allow, struct wf_task *out, size_t max, size_t *n,
    uint64_t *nfollowups, uint64_t *nleads)
{
	char lab[256], fu[SQL_MAX], leads[SQL_MAX];
	int rc, l1, l2;

	*n = 0;
	*nfollowups = *nleads = 0;
	if (agent <= 0 || (max > 0 && out == NULL))
		return COFFER_ERR_INVALID;
	if ((rc = label_cond(lab, sizeof(lab), "t", label_allow)) != COFFER_OK)
		return rc;
	l1 = snprintf(fu, sizeof(fu), TODAY_FU_WHERE, lab);
	l2 = snprintf(leads, sizeof(leads), TODAY_LEAD_WHERE, lab);
	if (l1 < 0 || (size_t)l1 >= sizeof(fu) || l2 < 0 ||
	    (size_t)l2 >= sizeof(leads))
		return COFFER_ERR_INTERNAL;
	if ((rc = count_of(st, fu, agent, until, nfollowups)) != COFFER_OK ||
	    (rc = count_of(st, leads, agent, until, nleads)) != COFFER_OK)
		return rc;
	if (max > 0 && (rc = today_followups(st, fu, agent, until, out, max,
	    n)) != COFFER_OK)
		return rc;
	if (*n < max)
		rc = today_leads(st, leads, agent, out, max, n);
	return rc;
}

/* ---- completing a follow-up ----------------------------------------- */

/* Only an open, live follow-up is closed; the note, if any, is its outcome. */
static const char followup_done_sql[] =
	"UPDATE followups SET status = 'done', version = version + 1, "
	"updated = ?2, outcome = coalesce(?3, outcome) WHERE id = ?1 AND "
	"deleted = 0 AND coalesce(status, 'open') = 'open'";
static const char followup_status_sql[] =
	"SELECT coalesce(status, 'open') FROM followups WHERE id = ?1 AND "
	"deleted = 0";

/* Why nothing changed: gone (NOT_FOUND), or no longer open (CONFLICT). */
static int
followup_not_open(struct store *st, int64_t id, char *status, size_t sz)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, followup_status_sql, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && status != NULL)
		store_col_text(status, sz, s, 0);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return COFFER_ERR_CONFLICT;
	return rc == SQLITE_DONE ? COFFER_ERR_NOT_FOUND : store_db_status(rc);
}

int
wf_followup_done(struct store *st, int64_t id, const char *note,
    char *status, size_t statussz)
{
	sqlite3_stmt *s = NULL;
	size_t changed = 0;
	int rc;

	if (status != NULL && statussz > 0)
		status[0] = '\0';
	if (id <= 0)
		return COFFER_ERR_NOT_FOUND;
	if ((rc = store_prep(st, followup_done_sql, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
	if (note != NULL)
		sqlite3_bind_text(s, 3, note, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 3);
	if ((rc = run_done(s, &changed, st)) != COFFER_OK)
		return rc;
	if (changed == 0)
		return followup_not_open(st, id, status, statussz);
	if (status != NULL && statussz > 0)
		snprintf(status, statussz, "open");
	return COFFER_OK;
}
