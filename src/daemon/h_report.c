/*
 * h_report.c - report.kpi (docs/reports.md): decides whose figures the
 * caller may see (the policy's `report` grant and its scope), which figure
 * groups (a grant per kind; deal amounts only at the clearance of their
 * label), asks the store to count, and shapes the answer per agent, per
 * team and in total.  Returns counts and sums, never a record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffer/args.h"
#include "coffer/handlers.h"
#include "coffer/msg.h"
#include "coffer/report.h"
#include "coffer/schema.h"
#include "coffer/store.h"
#include "coffer/workflow.h"

#define WEEK 604800

enum level { LV_AGENT, LV_TEAM, LV_COMPANY };
static const char *const level_names[] = { "agent", "team", "company" };
static const char *const scope_names[] = { "none", "own", "team", "all" };

/* A figure group, the kind whose `report` grant it needs, its name. */
static const struct {
	unsigned group;
	const char *kind;
	const char *name;
} group_kinds[] = {
	{ REPORT_G_CALLS, "call", "calls" },
	{ REPORT_G_DEALS, "deal", "deals" },
	{ REPORT_G_SALES, "deal", "sales" },
	{ REPORT_G_FOLLOWUPS, "followup", "followups" },
	{ REPORT_G_ACCURACY, "customer", "accuracy" },
};
#define NGROUPS (sizeof(group_kinds) / sizeof(group_kinds[0]))

struct kpi_args {
	int64_t from, to, week0;
	int trend;
	int has_level;
	enum level level;
	char agent[65];
};

static int
level_parse(const char *s, enum level *out)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum level)i;
			return COFFER_OK;
		}
	return COFFER_ERR_INVALID;
}

static int
time_arg(const cbor_item_t *args, const char *key, int64_t *out,
    struct coffer_errdetail *d)
{
	uint64_t v;
	int rc = msg_get_uint(args, key, &v);

	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, key, "%s: required, "
		    "Unix seconds", key);
	if (rc != COFFER_OK || v > 4102444800u)
		return coffer_detail(d, COFFER_ERR_INVALID, key, "%s: must be "
		    "Unix seconds up to 4102444800", key);
	*out = (int64_t)v;
	return COFFER_OK;
}

static int
kpi_args(const cbor_item_t *args, struct kpi_args *a,
    struct coffer_errdetail *d)
{
	char level[16] = "";
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = time_arg(args, "from", &a->from, d)) != COFFER_OK ||
	    (rc = time_arg(args, "to", &a->to, d)) != COFFER_OK)
		return rc;
	if (a->from >= a->to || a->to - a->from > REPORT_PERIOD_MAX)
		return coffer_detail(d, COFFER_ERR_INVALID, "to", "to: must be "
		    "after from, by at most %d days", REPORT_PERIOD_MAX / 86400);
	if ((rc = args_text(args, "level", level, sizeof(level), 0, d)) !=
	    COFFER_OK || (rc = args_text(args, "agent", a->agent,
	    sizeof(a->agent), 0, d)) != COFFER_OK)
		return rc;
	if (level[0] != '\0') {
		if (level_parse(level, &a->level) != COFFER_OK)
			return coffer_detail(d, COFFER_ERR_INVALID, "level",
			    "level: must be one of agent, team, company");
		a->has_level = 1;
	}
	if (a->agent[0] != '\0' && a->has_level && a->level != LV_AGENT)
		return coffer_detail(d, COFFER_ERR_INVALID, "agent", "agent: "
		    "names one agent; level must be agent or absent");
	rc = msg_get_bool(args, "trend", &a->trend);
	if (rc != COFFER_OK && rc != COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, "trend",
		    "trend: must be true or false");
	if (!a->trend)
		return COFFER_OK;
	if ((rc = time_arg(args, "week0", &a->week0, d)) != COFFER_OK)
		return rc;
	if (a->week0 > a->from || a->from - a->week0 >= WEEK)
		return coffer_detail(d, COFFER_ERR_INVALID, "week0", "week0: "
		    "must be within the 7 days up to from");
	return COFFER_OK;
}

static int
scope_rank(enum scope_kind k)
{
	return k == SCOPE_ALL ? 3 : k == SCOPE_TEAM ? 2 : k == SCOPE_OWN ? 1 : 0;
}

/*
 * The level asked for must be within the scope of the grant: the figures
 * of one agent need own (the caller) or more, a team's team, the
 * company's all.  Absent: the widest the grant allows.
 */
static int
pick_level(struct request *r, const struct access_decision *dec,
    struct kpi_args *a, struct report_query *q, struct coffer_errdetail *d)
{
	enum scope_kind sk = dec->pd.scope.kind;
	static const enum scope_kind need[] = { SCOPE_OWN, SCOPE_TEAM,
		SCOPE_ALL };

	if (!a->has_level)
		a->level = a->agent[0] ? LV_AGENT : sk == SCOPE_ALL ? LV_COMPANY :
		    sk == SCOPE_TEAM ? LV_TEAM : LV_AGENT;
	if (scope_rank(sk) < scope_rank(need[a->level]))
		return coffer_detail(d, COFFER_ERR_DENIED, "level", "%s figures "
		    "need the report grant with scope %s; your role (%s) has "
		    "%s", a->level == LV_COMPANY ? "company-wide" : "team",
		    scope_names[need[a->level]], r->subject.role_name != NULL ?
		    r->subject.role_name : "?", scope_names[sk]);
	q->scope = a->level == LV_COMPANY ? SCOPE_ALL : a->level == LV_TEAM ?
	    SCOPE_TEAM : SCOPE_OWN;
	q->user_id = r->subject.user_id;
	if (q->scope == SCOPE_TEAM && dec->pd.scope.team[0] == '\0')
		return coffer_detail(d, COFFER_ERR_DENIED, "level", "team "
		    "figures need a team: you are in none");
	return COFFER_OK;
}

/* --agent NAME: an existing user within the grant's scope. */
static int
pick_agent(struct request *r, const struct access_decision *dec,
    const struct kpi_args *a, struct report_query *q,
    struct coffer_errdetail *d)
{
	struct store_user u;
	int in = 0, rc;

	if (a->agent[0] == '\0')
		return COFFER_OK;
	rc = store_user_get(r->st, a->agent, &u);
	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, rc, "agent", "agent: no such user '%s'",
		    a->agent);
	if (rc != COFFER_OK ||
	    (rc = wf_user_in_scope(r->st, &dec->pd.scope, u.id, &in)) !=
	    COFFER_OK)
		return rc;
	if (!in)
		return coffer_detail(d, COFFER_ERR_DENIED, "agent", "%s is not "
		    "within your report scope (%s)", u.name,
		    scope_names[dec->pd.scope.kind]);
	q->agent = u.id;
	return COFFER_OK;
}

/*
 * The groups the caller may see: each needs the `report` grant on its
 * kind with a scope at least as wide as the customer grant's (so no group
 * counts rows its own grant would not cover); deal amounts also need the
 * clearance of the amount's label.  The label allow-list for amounts is
 * the deal decision's clearance.
 */
static void
pick_groups(struct request *r, const struct access_decision *cdec,
    struct report_query *q)
{
	const struct kind_def *deal = schema_kind("deal");
	struct access_decision dec;
	size_t i;
	int lv;

	q->groups = 0;
	for (i = 0; i < NGROUPS; i++) {
		if (access_decide(r->policy, &r->subject, ACT_REPORT,
		    schema_kind(group_kinds[i].kind), &dec) != COFFER_OK ||
		    scope_rank(dec.pd.scope.kind) <
		    scope_rank(cdec->pd.scope.kind))
			continue;
		if (group_kinds[i].group == REPORT_G_SALES) {
			lv = policy_field_level(r->policy, deal, "amount", -1);
			if (lv < 0 || lv > dec.pd.clearance)
				continue;
			q->label_allow = access_label_allow(r->policy,
			    dec.pd.clearance);
		}
		q->groups |= group_kinds[i].group;
	}
}

/* ---- the answer ------------------------------------------------------ */

static int
put_figures(cbor_item_t *m, const int64_t *v, unsigned groups)
{
	size_t i;

	for (i = 0; i < RF_COUNT_; i++)
		if ((groups & report_fig_group((enum report_fig)i)) &&
		    msg_put_int(m, report_fig_name((enum report_fig)i), v[i]) !=
		    COFFER_OK)
			return COFFER_ERR_NOMEM;
	return COFFER_OK;
}

static cbor_item_t *
agent_map(const struct report_row *row, unsigned groups)
{
	cbor_item_t *m = msg_new_map();

	if (m == NULL || msg_put_int(m, "id", row->user_id) != COFFER_OK ||
	    msg_put_str(m, "name", row->name) != COFFER_OK ||
	    msg_put_str(m, "display", row->display) != COFFER_OK ||
	    msg_put_str(m, "team", row->team) != COFFER_OK ||
	    put_figures(m, row->v, groups) != COFFER_OK) {
		if (m != NULL)
			cbor_decref(&m);
		return NULL;
	}
	return m;
}

static cbor_item_t *
sum_map(const char *team, const int64_t *v, size_t agents, unsigned groups)
{
	cbor_item_t *m = msg_new_map();

	if (m == NULL || (team != NULL && msg_put_str(m, "team", team) !=
	    COFFER_OK) || msg_put_uint(m, "agents", agents) != COFFER_OK ||
	    put_figures(m, v, groups) != COFFER_OK) {
		if (m != NULL)
			cbor_decref(&m);
		return NULL;
	}
	return m;
}

static int
by_team(const void *a, const void *b)
{
	const struct report_row *const *x = a, *const *y = b;
	int c = strcmp((*x)->team, (*y)->team);

	return c != 0 ? c : strcmp((*x)->name, (*y)->name);
}

/* One sum per team, teams in byte order of their names. */
static int
put_teams(cbor_item_t *res, const struct report_row *rows, size_t n,
    unsigned groups)
{
	const struct report_row **ord = NULL;
	cbor_item_t *arr = msg_new_array();
	int64_t v[RF_COUNT_];
	size_t i, j, k, cnt;
	int rc = COFFER_ERR_NOMEM;

	if (arr == NULL || (n > 0 && (ord = calloc(n, sizeof(*ord))) == NULL))
		goto out;
	for (i = 0; i < n; i++)
		ord[i] = &rows[i];
	if (n > 1)
		qsort(ord, n, sizeof(*ord), by_team);
	for (i = 0; i < n; i = j) {
		memset(v, 0, sizeof(v));
		for (j = i, cnt = 0; j < n && strcmp(ord[j]->team,
		    ord[i]->team) == 0; j++, cnt++)
			for (k = 0; k < RF_COUNT_; k++)
				v[k] += ord[j]->v[k];
		if (msg_push(arr, sum_map(ord[i]->team, v, cnt, groups)) !=
		    COFFER_OK)
			goto out;
	}
	rc = msg_put(res, "teams", arr);
	arr = NULL; /* taken */
out:
	if (arr != NULL)
		cbor_decref(&arr);
	free(ord);
	return rc;
}

static int
put_rows(cbor_item_t *res, const struct report_row *rows, size_t n,
    unsigned groups, enum level level)
{
	cbor_item_t *arr = msg_new_array();
	int64_t v[RF_COUNT_];
	size_t i, k;

	memset(v, 0, sizeof(v));
	if (arr == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		for (k = 0; k < RF_COUNT_; k++)
			v[k] += rows[i].v[k];
		if (msg_push(arr, agent_map(&rows[i], groups)) != COFFER_OK) {
			cbor_decref(&arr);
			return COFFER_ERR_NOMEM;
		}
	}
	if (msg_put(res, "agents", arr) != COFFER_OK ||
	    msg_put(res, "total", sum_map(NULL, v, n, groups)) != COFFER_OK)
		return COFFER_ERR_NOMEM;
	if (level == LV_AGENT)
		return COFFER_OK;
	return put_teams(res, rows, n, groups);
}

static int
put_groups(cbor_item_t *res, unsigned groups)
{
	cbor_item_t *in = msg_new_array(), *out = msg_new_array();
	size_t i;

	for (i = 0; in != NULL && out != NULL && i < NGROUPS; i++)
		if (msg_push((groups & group_kinds[i].group) ? in : out,
		    msg_new_str(group_kinds[i].name)) != COFFER_OK)
			break;
	if (in == NULL || out == NULL || i < NGROUPS) {
		if (in != NULL)
			cbor_decref(&in);
		if (out != NULL)
			cbor_decref(&out);
		return COFFER_ERR_NOMEM;
	}
	if (msg_put(res, "groups", in) != COFFER_OK) {
		cbor_decref(&out);
		return COFFER_ERR_NOMEM;
	}
	return msg_put(res, "omitted", out);
}

static int
put_weeks(struct request *r, const struct report_query *q,
    const struct kpi_args *a, cbor_item_t *res)
{
	struct report_week w[REPORT_WEEKS_MAX];
	cbor_item_t *arr = NULL, *m;
	size_t i, n = 0;
	int rc;

	if (!a->trend)
		return COFFER_OK;
	if ((rc = report_weeks(r->st, q, a->week0, w, REPORT_WEEKS_MAX, &n)) !=
	    COFFER_OK)
		return rc;
	if ((arr = msg_new_array()) == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		m = msg_new_map();
		if (m == NULL || msg_put_int(m, "start", w[i].start) !=
		    COFFER_OK ||
		    ((q->groups & REPORT_G_CALLS) && (msg_put_int(m, "calls",
		    w[i].calls) != COFFER_OK || msg_put_int(m, "connected",
		    w[i].connected) != COFFER_OK)) ||
		    ((q->groups & REPORT_G_DEALS) && msg_put_int(m, "deals",
		    w[i].deals) != COFFER_OK) ||
		    ((q->groups & REPORT_G_SALES) && msg_put_int(m, "sales_fen",
		    w[i].sales_fen) != COFFER_OK) || msg_push(arr, m) !=
		    COFFER_OK) {
			cbor_decref(&arr);
			return COFFER_ERR_NOMEM;
		}
	}
	return msg_put(res, "weeks", arr);
}

static int
kpi_result(struct request *r, const struct report_query *q,
    const struct kpi_args *a, const struct access_decision *dec,
    const struct report_row *rows, size_t n, cbor_item_t **result)
{
	cbor_item_t *res = msg_new_map();
	int rc = COFFER_ERR_NOMEM;

	if (res == NULL ||
	    msg_put_str(res, "level", level_names[a->level]) != COFFER_OK ||
	    msg_put_str(res, "scope", scope_names[dec->pd.scope.kind]) !=
	    COFFER_OK || msg_put_int(res, "from", q->from) != COFFER_OK ||
	    msg_put_int(res, "to", q->to) != COFFER_OK ||
	    msg_put_int(res, "now", q->now) != COFFER_OK ||
	    msg_put_int(res, "grace", REPORT_GRACE) != COFFER_OK ||
	    (rc = put_groups(res, q->groups)) != COFFER_OK ||
	    (rc = put_rows(res, rows, n, q->groups, a->level)) != COFFER_OK ||
	    (rc = put_weeks(r, q, a, res)) != COFFER_OK) {
		if (res != NULL)
			cbor_decref(&res);
		return rc == COFFER_OK ? COFFER_ERR_NOMEM : rc;
	}
	*result = res;
	return COFFER_OK;
}

int
handle_report_kpi(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct access_decision dec;
	struct report_query q;
	struct report_row *rows = NULL;
	struct kpi_args a;
	size_t n = 0;
	int rc;

	memset(&q, 0, sizeof(q));
	if ((rc = kpi_args(args, &a, d)) != COFFER_OK)
		return rc;
	if (access_decide(r->policy, &r->subject, ACT_REPORT,
	    schema_kind("customer"), &dec) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "%s",
		    dec.pd.reason);
	if ((rc = pick_level(r, &dec, &a, &q, d)) != COFFER_OK ||
	    (rc = pick_agent(r, &dec, &a, &q, d)) != COFFER_OK)
		return rc;
	q.from = a.from;
	q.to = a.to;
	q.now = (int64_t)time(NULL);
	pick_groups(r, &dec, &q);
	if ((rc = report_kpi(r->st, &q, &rows, &n)) != COFFER_OK)
		return coffer_detail(d, rc, "", "report: %s",
		    coffer_strerror(rc));
	rc = kpi_result(r, &q, &a, &dec, rows, n, result);
	if (rc == COFFER_OK)
		snprintf(r->audit_reason, sizeof(r->audit_reason), "report %s "
		    "%lld..%lld: %zu agents", level_names[a.level],
		    (long long)a.from, (long long)a.to, n);
	free(rows);
	return rc;
}
