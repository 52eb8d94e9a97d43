/*
 * report.c - the store side of KPI reports (report.h, docs/reports.md):
 * aggregate queries per figure group, grouped by agent, over the users a
 * scope names, all in one read transaction so the groups agree.
 */
#include <stdlib.h>
#include <string.h>

#include "coffer/report.h"
#include "coffer/schema.h"
#include "store_int.h"

#define SQL_MAX 4096
#define FIGS_MAX 8

/* Markers in the SQL pieces below, replaced when the text is built. */
#define M_USERS "\x01"   /* the subquery of the users counted */
#define M_LABEL "\x02"   /* a deal's customer label is within clearance */

#define STR_(x) #x
#define STR(x) STR_(x)
#define GRACE STR(REPORT_GRACE)

static const char *const fig_names[RF_COUNT_] = {
	[RF_CALLS] = "calls", [RF_CONNECTED] = "connected",
	[RF_TALK_SECONDS] = "talk_seconds",
	[RF_FIRST_CONTACTED] = "first_contacted",
	[RF_REACHED_INTENT] = "reached_intent", [RF_CONVERTED] = "converted",
	[RF_DEALS] = "deals", [RF_SALES_FEN] = "sales_fen",
	[RF_SALES_WITHHELD] = "sales_withheld",
	[RF_SATISFACTION_SUM] = "satisfaction_sum",
	[RF_SATISFACTION_N] = "satisfaction_n",
	[RF_FOLLOWUPS_DUE] = "followups_due",
	[RF_FOLLOWUPS_ON_TIME] = "followups_on_time",
	[RF_FOLLOWUPS_LATE] = "followups_late",
	[RF_FOLLOWUPS_OVERDUE] = "followups_overdue",
	[RF_FOLLOWUPS_OPEN] = "followups_open",
	[RF_CORRECTED_RECORDS] = "corrected_records",
	[RF_REJECTED_REQUESTS] = "rejected_requests",
};

const char *
report_fig_name(enum report_fig f)
{
	return (unsigned)f < RF_COUNT_ ? fig_names[f] : "unknown";
}

enum report_group
report_fig_group(enum report_fig f)
{
	switch (f) {
	case RF_CALLS: case RF_CONNECTED: case RF_TALK_SECONDS:
	case RF_FIRST_CONTACTED: case RF_REACHED_INTENT:
		return REPORT_G_CALLS;
	case RF_SALES_FEN: case RF_SALES_WITHHELD:
		return REPORT_G_SALES;
	case RF_CONVERTED: case RF_DEALS: case RF_SATISFACTION_SUM:
	case RF_SATISFACTION_N:
		return REPORT_G_DEALS;
	case RF_FOLLOWUPS_DUE: case RF_FOLLOWUPS_ON_TIME:
	case RF_FOLLOWUPS_LATE: case RF_FOLLOWUPS_OVERDUE:
	case RF_FOLLOWUPS_OPEN:
		return REPORT_G_FOLLOWUPS;
	default:
		return REPORT_G_ACCURACY;
	}
}

/*
 * Without statistics SQLite prefers the equality on `deleted` (the
 * retention sweep's <table>_erasable index) to the agent's range: a scan
 * of the whole table.  The daemon gathers statistics at start
 * (store_optimize), but a plan must not hang on them, so the calls scan
 * names its covering index, and elsewhere `+x.deleted` keeps `deleted`
 * out of index choice (docs/reports.md §5).
 *
 * The figure groups.  Parameters: ?1 the user (OWN, agent) or manager
 * (TEAM), ?2 from, ?3 to, ?4 now.  Each query returns the agent id, then
 * one column per figure of figs[], in order.  docs/reports.md §5 has the
 * same text.
 */
#define CONNECTED(a) "(" a ".outcome = 'answered' OR " a ".outcome = 'refused')"
/*
 * The customers whose first live call (first with intent) the agent made
 * in the period: migration 7's call_firsts holds each customer's, kept
 * by triggers, so this is a range of its (agent, started) index.
 */
#define FIRSTS(w) "SELECT f." w "_agent, count(*)" \
	" FROM call_firsts f INDEXED BY call_firsts_" w \
	" WHERE f." w "_agent IN (" M_USERS ")" \
	" AND f." w "_started >= ?2 AND f." w "_started < ?3" \
	" GROUP BY f." w "_agent"
/*
 * Calls, connected calls and connected talk seconds: migration 8 keeps
 * them per agent and 15-minute slot (slot = started / 900) in call_slots,
 * so the whole slots of the period are added from there and only the
 * partial slots at either end are read from calls, the agent's calls in
 * [?2, ?5) and [?8, ?3); ?6..?7 are the whole slots (bind_split()).  A
 * call is in exactly one of the three parts, and each part counts it as
 * the one scan of calls did (docs/reports.md §5).
 */
#define SLOT_SECONDS 900
#define CALLS_EDGE(lo, hi) "SELECT c.agent_id, count(*)," \
	" coalesce(sum(" CONNECTED("c") "), 0)," \
	" coalesce(sum(CASE WHEN " CONNECTED("c") " THEN c.duration END), 0)" \
	" FROM calls c INDEXED BY calls_agent_time" \
	" WHERE c.agent_id IN (" M_USERS ")" \
	" AND c.started >= " lo " AND c.started < " hi " AND c.deleted = 0" \
	" GROUP BY c.agent_id"
#define CALLS_SPLIT "SELECT a, sum(n), sum(k), sum(t) FROM (" \
	"SELECT s.agent_id AS a, sum(s.calls) AS n, sum(s.connected) AS k," \
	" sum(s.talk) AS t FROM call_slots s" \
	" WHERE s.agent_id IN (" M_USERS ")" \
	" AND s.slot >= ?6 AND s.slot < ?7 GROUP BY s.agent_id" \
	" UNION ALL " CALLS_EDGE("?2", "?5") \
	" UNION ALL " CALLS_EDGE("?8", "?3") ") GROUP BY a"
#define NOT_REFUNDED "coalesce(d.payment_status, 'unpaid') <> 'refunded'"
#define FU_STATUS "coalesce(f.status, 'open')"

struct group_sql {
	unsigned group;
	const char *sql;
	enum report_fig figs[FIGS_MAX];
	size_t nfigs;
};

static const struct group_sql groups[] = {
	{ REPORT_G_CALLS, CALLS_SPLIT,
	  { RF_CALLS, RF_CONNECTED, RF_TALK_SECONDS }, 3 },
	{ REPORT_G_CALLS, FIRSTS("first"), { RF_FIRST_CONTACTED }, 1 },
	{ REPORT_G_CALLS, FIRSTS("intent"), { RF_REACHED_INTENT }, 1 },
	{ REPORT_G_DEALS,
	  "SELECT d.agent_id,"
	  " count(DISTINCT CASE WHEN " NOT_REFUNDED " THEN d.customer_id END),"
	  " coalesce(sum(" NOT_REFUNDED "), 0),"
	  " coalesce(sum(d.satisfaction), 0), count(d.satisfaction)"
	  " FROM deals d WHERE d.agent_id IN (" M_USERS ") AND +d.deleted = 0"
	  " AND coalesce(d.closed, d.created) >= ?2"
	  " AND coalesce(d.closed, d.created) < ?3 GROUP BY d.agent_id",
	  { RF_CONVERTED, RF_DEALS, RF_SATISFACTION_SUM, RF_SATISFACTION_N },
	  4 },
	{ REPORT_G_SALES,
	  "SELECT d.agent_id,"
	  " coalesce(sum(CASE WHEN " M_LABEL " THEN d.amount END), 0),"
	  " coalesce(sum(NOT " M_LABEL "), 0)"
	  " FROM deals d JOIN customers k INDEXED BY customers_label"
	  " ON k.id = d.customer_id"
	  " WHERE d.agent_id IN (" M_USERS ") AND +d.deleted = 0"
	  " AND " NOT_REFUNDED
	  " AND coalesce(d.closed, d.created) >= ?2"
	  " AND coalesce(d.closed, d.created) < ?3 GROUP BY d.agent_id",
	  { RF_SALES_FEN, RF_SALES_WITHHELD }, 2 },
	{ REPORT_G_FOLLOWUPS,
	  "SELECT f.agent_id, count(*),"
	  " coalesce(sum(" FU_STATUS " = 'done' AND f.updated <= f.due + "
	  GRACE "), 0),"
	  " coalesce(sum(" FU_STATUS " = 'done' AND f.updated > f.due + "
	  GRACE "), 0),"
	  " coalesce(sum(" FU_STATUS " = 'open' AND ?4 > f.due + " GRACE "), 0),"
	  " coalesce(sum(" FU_STATUS " = 'open' AND ?4 <= f.due + " GRACE
	  "), 0)"
	  " FROM followups f WHERE f.agent_id IN (" M_USERS ")"
	  " AND +f.deleted = 0 AND f.due >= ?2 AND f.due < ?3"
	  " AND " FU_STATUS " <> 'cancelled' GROUP BY f.agent_id",
	  { RF_FOLLOWUPS_DUE, RF_FOLLOWUPS_ON_TIME, RF_FOLLOWUPS_LATE,
	    RF_FOLLOWUPS_OVERDUE, RF_FOLLOWUPS_OPEN }, 5 },
	{ REPORT_G_ACCURACY,
	  "SELECT r.requester_id,"
	  " count(DISTINCT CASE WHEN r.state = 'applied' AND r.op = 'update'"
	  " THEN r.kind || ' ' || r.record_id END),"
	  " coalesce(sum(r.state = 'rejected'), 0)"
	  " FROM change_requests r WHERE r.requester_id IN (" M_USERS ")"
	  " AND r.updated >= ?2 AND r.updated < ?3 AND r.kind <> 'product'"
	  " GROUP BY r.requester_id",
	  { RF_CORRECTED_RECORDS, RF_REJECTED_REQUESTS }, 2 },
};

/* The users counted, as a subquery over parameter ?1. */
static const char *
users_sql(const struct report_query *q)
{
	if (q->agent > 0)
		return "SELECT ?1";
	switch (q->scope) {
	case SCOPE_OWN:
		return "SELECT ?1";
	case SCOPE_TEAM:
		return SQL_TEAM_USERS("?1");
	case SCOPE_ALL:
		return "SELECT au.id FROM users au";
	default:
		return NULL;
	}
}

/*
 * "(k.label IS NULL OR k.label IN ('public', ...))" for the bits of allow,
 * the literals taken from schema.c's enum, never from a caller.
 */
static int
label_sql(unsigned allow, char *buf, size_t sz)
{
	const struct kind_def *ck = schema_kind("customer");
	const struct field_def *lf = ck != NULL ? schema_field(ck, "label") :
	    NULL;
	size_t i, used;

	if (lf == NULL || lf->type != FT_ENUM || lf->enum_values == NULL ||
	    sz < 64)
		return COFFER_ERR_INTERNAL;
	used = (size_t)snprintf(buf, sz, "(k.label IS NULL OR k.label IN (''");
	for (i = 0; lf->enum_values[i] != NULL && i < 32; i++) {
		if (!(allow & (1u << i)))
			continue;
		if (used + strlen(lf->enum_values[i]) + 8 >= sz)
			return COFFER_ERR_INTERNAL;
		used += (size_t)snprintf(buf + used, sz - used, ", '%s'",
		    lf->enum_values[i]);
	}
	if (used + 3 >= sz)
		return COFFER_ERR_INTERNAL;
	memcpy(buf + used, "))", 3);
	return COFFER_OK;
}

/* Copy tmpl into buf with the markers replaced. */
static int
build_sql(const char *tmpl, const char *users, const char *label, char *buf,
    size_t sz)
{
	size_t used = 0, len;
	const char *p, *piece;

	for (p = tmpl; *p != '\0'; p++) {
		if (*p == M_USERS[0])
			piece = users;
		else if (*p == M_LABEL[0])
			piece = label;
		else
			piece = NULL;
		len = piece != NULL ? strlen(piece) : 1;
		if (used + len >= sz)
			return COFFER_ERR_INTERNAL;
		memcpy(buf + used, piece != NULL ? piece : p, len);
		used += len;
	}
	buf[used] = '\0';
	return COFFER_OK;
}

/* floor and ceiling of t / 900 (C division truncates towards zero) */
static int64_t
slot_floor(int64_t t)
{
	return t / SLOT_SECONDS - (t % SLOT_SECONDS < 0);
}

static int64_t
slot_ceil(int64_t t)
{
	return t / SLOT_SECONDS + (t % SLOT_SECONDS > 0);
}

/*
 * Bind [from, to) as CALLS_SPLIT reads it: ?2 from, ?3 to, ?5 the end
 * of the head, ?6..?7 the whole slots, ?8 the start of the tail.  With
 * no whole slot inside, the head is the whole period.  lo * 900 and
 * hi * 900 lie in [from, to] when used, so they cannot overflow.
 */
static void
bind_split(sqlite3_stmt *s, int64_t from, int64_t to)
{
	int64_t lo = slot_ceil(from), hi = slot_floor(to);

	if (lo >= hi)
		lo = hi = 0;
	sqlite3_bind_int64(s, 2, from);
	sqlite3_bind_int64(s, 3, to);
	sqlite3_bind_int64(s, 5, lo < hi ? lo * SLOT_SECONDS : to);
	sqlite3_bind_int64(s, 6, lo);
	sqlite3_bind_int64(s, 7, hi);
	sqlite3_bind_int64(s, 8, lo < hi ? hi * SLOT_SECONDS : to);
}

static int
prepare_bound(struct store *st, const char *sql, const struct report_query *q,
    sqlite3_stmt **s)
{
	int np;

	*s = NULL;
	if (sqlite3_prepare_v2(store_sqlite(st), sql, -1, s, NULL) !=
	    SQLITE_OK)
		return COFFER_ERR_DB;
	np = sqlite3_bind_parameter_count(*s);
	if (np >= 1)
		sqlite3_bind_int64(*s, 1, q->agent > 0 ? q->agent : q->user_id);
	if (np >= 2)
		sqlite3_bind_int64(*s, 2, q->from);
	if (np >= 3)
		sqlite3_bind_int64(*s, 3, q->to);
	if (np >= 4)
		sqlite3_bind_int64(*s, 4, q->now);
	if (np >= 8)	/* ?5..?8: a CALLS_SPLIT */
		bind_split(*s, q->from, q->to);
	return COFFER_OK;
}

static int
by_id(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;

	return (x->user_id > y->user_id) - (x->user_id < y->user_id);
}

static int
by_name(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static void
copy_text(sqlite3_stmt *s, int col, char *buf, size_t sz)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t n = t != NULL ? (size_t)sqlite3_column_bytes(s, col) : 0;

	if (n >= sz)
		n = sz - 1;
	if (n > 0)
		memcpy(buf, t, n);
	buf[n] = '\0';
}

/* The users the query names, ordered by id. */
static int
load_users(struct store *st, const struct report_query *q, const char *users,
    struct report_row **rows, size_t *n)
{
	char sql[SQL_MAX];
	sqlite3_stmt *s = NULL;
	struct report_row *r = NULL, *nr;
	size_t cap = 0;
	int rc, step;

	*n = 0;
	if ((rc = build_sql("SELECT u.id, u.name, u.display, u.team, u.role"
	    " FROM users u WHERE u.id IN (" M_USERS ") ORDER BY u.id", users,
	    "", sql, sizeof(sql))) != COFFER_OK ||
	    (rc = prepare_bound(st, sql, q, &s)) != COFFER_OK)
		return rc;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == REPORT_USERS_MAX) {
			rc = COFFER_ERR_TOO_BIG;
			goto out;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nr = realloc(r, cap * sizeof(*r))) == NULL) {
				rc = COFFER_ERR_NOMEM;
				goto out;
			}
			r = nr;
		}
		memset(&r[*n], 0, sizeof(r[*n]));
		r[*n].user_id = sqlite3_column_int64(s, 0);
		copy_text(s, 1, r[*n].name, sizeof(r[*n].name));
		copy_text(s, 2, r[*n].display, sizeof(r[*n].display));
		copy_text(s, 3, r[*n].team, sizeof(r[*n].team));
		if (store_role_parse((const char *)sqlite3_column_text(s, 4),
		    &r[*n].role) != COFFER_OK)
			r[*n].role = ROLE_AGENT;
		(*n)++;
	}
	rc = step == SQLITE_DONE ? COFFER_OK : store_db_status(step);
out:
	sqlite3_finalize(s);
	if (rc != COFFER_OK) {
		free(r);
		r = NULL;
		*n = 0;
	}
	*rows = r;
	return rc;
}

/* Run one group's query and add its figures to the rows (by id). */
static int
run_group(struct store *st, const struct report_query *q,
    const struct group_sql *g, const char *users, const char *label,
    struct report_row *rows, size_t n)
{
	char sql[SQL_MAX];
	sqlite3_stmt *s = NULL;
	struct report_row key, *row;
	size_t i;
	int rc, step;

	if ((rc = build_sql(g->sql, users, label, sql, sizeof(sql))) !=
	    COFFER_OK || (rc = prepare_bound(st, sql, q, &s)) != COFFER_OK)
		return rc;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		key.user_id = sqlite3_column_int64(s, 0);
		row = bsearch(&key, rows, n, sizeof(*rows), by_id);
		if (row == NULL)
			continue;	/* a user who left the set meanwhile */
		for (i = 0; i < g->nfigs; i++)
			row->v[g->figs[i]] += sqlite3_column_int64(s,
			    (int)i + 1);
	}
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? COFFER_OK : store_db_status(step);
}

static int
query_ok(const struct report_query *q)
{
	return q != NULL && q->from < q->to &&
	    q->to - q->from <= REPORT_PERIOD_MAX &&
	    (q->agent > 0 || q->scope == SCOPE_ALL || q->user_id > 0);
}

/* Agents always get a row; other users only when they have a figure. */
static size_t
keep_rows(struct report_row *rows, size_t n)
{
	size_t i, j, k = 0;
	int any;

	for (i = 0; i < n; i++) {
		any = rows[i].role == ROLE_AGENT;
		for (j = 0; !any && j < RF_COUNT_; j++)
			any = rows[i].v[j] != 0;
		if (any)
			rows[k++] = rows[i];
	}
	return k;
}

/* A read transaction of our own unless the caller holds one. */
static int
begin_read(struct store *st, int *mine)
{
	*mine = 0;
	if (!sqlite3_get_autocommit(store_sqlite(st)))
		return COFFER_OK;
	if (sqlite3_exec(store_sqlite(st), "BEGIN", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return COFFER_ERR_DB;
	*mine = 1;
	return COFFER_OK;
}

static void
end_read(struct store *st, int mine)
{
	if (mine)
		(void)sqlite3_exec(store_sqlite(st), "COMMIT", NULL, NULL, NULL);
}

int
report_kpi(struct store *st, const struct report_query *q,
    struct report_row **rows, size_t *n)
{
	const char *users = q != NULL ? users_sql(q) : NULL;
	char label[256];
	struct report_row *r = NULL;
	size_t i, nr = 0;
	int rc, mine = 0;

	*rows = NULL;
	*n = 0;
	if (users == NULL || !query_ok(q))
		return COFFER_ERR_INVALID;
	if ((rc = label_sql(q->label_allow, label, sizeof(label))) !=
	    COFFER_OK || (rc = begin_read(st, &mine)) != COFFER_OK)
		return rc;
	if ((rc = load_users(st, q, users, &r, &nr)) != COFFER_OK)
		goto out;
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if ((q->groups & groups[i].group) && (rc = run_group(st, q,
		    &groups[i], users, label, r, nr)) != COFFER_OK)
			goto out;
	nr = keep_rows(r, nr);
	if (nr > 1)
		qsort(r, nr, sizeof(*r), by_name);
	*rows = r;
	*n = nr;
	r = NULL; /* transferred */
out:
	end_read(st, mine);
	free(r);
	return rc;
}

/* ---- the weekly trend ------------------------------------------------ */

/*
 * Calls: the calls figures of each week's part of the period, split as
 * the report's are (whole slots from call_slots, the ends from calls),
 * summed over the agents.  A single GROUP BY on the week number sorted
 * every call of the period first (a second for a month of a million
 * calls, docs/performance.md §10.1).  Deals are few: one query.
 */
static const char weeks_calls_sql[] = CALLS_SPLIT;
static const char weeks_deals_sql[] =
	"SELECT (coalesce(d.closed, d.created) - ?5) / 604800, count(*),"
	" coalesce(sum(CASE WHEN " M_LABEL " THEN d.amount END), 0)"
	" FROM deals d JOIN customers k INDEXED BY customers_label"
	" ON k.id = d.customer_id"
	" WHERE d.agent_id IN (" M_USERS ") AND +d.deleted = 0"
	" AND " NOT_REFUNDED " AND coalesce(d.closed, d.created) >= ?2"
	" AND coalesce(d.closed, d.created) < ?3 GROUP BY 1";

static int
run_week_calls(struct store *st, const struct report_query *q,
    const char *users, struct report_week *w, size_t n)
{
	char sql[SQL_MAX];
	sqlite3_stmt *s = NULL;
	int64_t lo, hi;
	size_t i;
	int rc, step = SQLITE_DONE;

	if ((rc = build_sql(weeks_calls_sql, users, "", sql, sizeof(sql))) !=
	    COFFER_OK || (rc = prepare_bound(st, sql, q, &s)) != COFFER_OK)
		return rc;
	for (i = 0; i < n && step == SQLITE_DONE; i++) {
		lo = w[i].start > q->from ? w[i].start : q->from;
		hi = w[i].start + 604800 < q->to ? w[i].start + 604800 : q->to;
		sqlite3_reset(s);
		bind_split(s, lo, hi);
		while ((step = sqlite3_step(s)) == SQLITE_ROW) {
			w[i].calls += sqlite3_column_int64(s, 1);
			w[i].connected += sqlite3_column_int64(s, 2);
		}
	}
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? COFFER_OK : store_db_status(step);
}

static int
run_week_deals(struct store *st, const struct report_query *q,
    const char *users, const char *label, int64_t week0,
    struct report_week *w, size_t n)
{
	char sql[SQL_MAX];
	sqlite3_stmt *s = NULL;
	int64_t b;
	int rc, step;

	if ((rc = build_sql(weeks_deals_sql, users, label, sql, sizeof(sql)))
	    != COFFER_OK || (rc = prepare_bound(st, sql, q, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 5, week0);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		b = sqlite3_column_int64(s, 0);
		if (b < 0 || (uint64_t)b >= n)
			continue;
		w[b].deals += sqlite3_column_int64(s, 1);
		if (q->groups & REPORT_G_SALES)
			w[b].sales_fen += sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? COFFER_OK : store_db_status(step);
}

int
report_weeks(struct store *st, const struct report_query *q, int64_t week0,
    struct report_week *w, size_t max, size_t *n)
{
	const char *users = q != NULL ? users_sql(q) : NULL;
	char label[256];
	size_t i, nw;
	int rc = COFFER_OK, mine = 0;

	*n = 0;
	if (users == NULL || !query_ok(q) || week0 > q->from)
		return COFFER_ERR_INVALID;
	nw = (size_t)((q->to - week0 + 604799) / 604800);
	if (nw > max)
		return COFFER_ERR_TOO_BIG;
	for (i = 0; i < nw; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].start = week0 + (int64_t)i * 604800;
	}
	if ((rc = label_sql(q->label_allow, label, sizeof(label))) !=
	    COFFER_OK || (rc = begin_read(st, &mine)) != COFFER_OK)
		return rc;
	if ((q->groups & REPORT_G_CALLS) && (rc = run_week_calls(st, q,
	    users, w, nw)) != COFFER_OK)
		goto out;
	if ((q->groups & REPORT_G_DEALS) && (rc = run_week_deals(st, q,
	    users, label, week0, w, nw)) != COFFER_OK)
		goto out;
	*n = nw;
out:
	end_read(st, mine);
	return rc;
}
