/*
 * report.h - the KPI figures of a period (docs/reports.md), aggregated in
 * SQL per agent: calls, customers developed, sales, follow-up discipline
 * and data accuracy.  No access decisions here: the daemon (h_report.c)
 * decides the set of users and which figure groups the caller may see;
 * these functions count.  Figures are integers (counts, seconds, fen);
 * averages and rates are derived by the reader with the formulas of
 * docs/reports.md §2.
 */
#ifndef COFFER_REPORT_H
#define COFFER_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include "coffer/err.h"
#include "coffer/store.h"

#define REPORT_GRACE 86400          /* a follow-up done within a day is on time */
#define REPORT_PERIOD_MAX (400 * 86400) /* longest period one report covers */
#define REPORT_WEEKS_MAX 60         /* weekly buckets of one trend */
#define REPORT_USERS_MAX 100000     /* users one report lists */

/* Figure groups: each is one SQL pass, and each needs its own grant. */
enum report_group {
	REPORT_G_CALLS = 1,       /* calls: calls, connected, talk, developed */
	REPORT_G_DEALS = 2,       /* deals: converted, deals, satisfaction */
	REPORT_G_SALES = 4,       /* deal amounts (confidential) */
	REPORT_G_FOLLOWUPS = 8,   /* followups: discipline */
	REPORT_G_ACCURACY = 16,   /* change requests: data accuracy */
	REPORT_G_ALL = 31
};

/* The figures, in the order of docs/reports.md §2 (the wire names). */
enum report_fig {
	RF_CALLS, RF_CONNECTED, RF_TALK_SECONDS, RF_FIRST_CONTACTED,
	RF_REACHED_INTENT, RF_CONVERTED, RF_DEALS, RF_SALES_FEN,
	RF_SALES_WITHHELD, RF_SATISFACTION_SUM, RF_SATISFACTION_N,
	RF_FOLLOWUPS_DUE, RF_FOLLOWUPS_ON_TIME, RF_FOLLOWUPS_LATE,
	RF_FOLLOWUPS_OVERDUE, RF_FOLLOWUPS_OPEN, RF_CORRECTED_RECORDS,
	RF_REJECTED_REQUESTS,
	RF_COUNT_
};

/* Wire name ("calls", "sales_fen", ...) and group of a figure. */
const char *report_fig_name(enum report_fig f);
enum report_group report_fig_group(enum report_fig f);

/* One user's figures. */
struct report_row {
	int64_t user_id;
	char name[65];
	char display[129];
	char team[65];
	enum user_role role;
	int64_t v[RF_COUNT_];
};

/*
 * What to count.  The users: with agent > 0 that one user; else by scope
 * (SCOPE_OWN: user_id; SCOPE_TEAM: the TEAM_USERS of manager user_id,
 * docs/schema.md §4; SCOPE_ALL: every user).  The caller has decided
 * that the caller may see them.  Period [from, to), Unix seconds; now
 * decides which open follow-ups are overdue.  label_allow (bits of the
 * customer label enum, as store_scope) limits which deals' amounts are
 * summed into sales_fen: the others are counted in sales_withheld.
 */
struct report_query {
	enum scope_kind scope;
	int64_t user_id;
	int64_t agent;
	int64_t from, to, now;
	unsigned groups;          /* enum report_group bits to compute */
	unsigned label_allow;
};

/*
 * The rows of the users the query names, ordered by login name: every
 * user of role agent, and any other user with a figure that is not zero.
 * Figures of groups not asked for are 0.  *rows is malloc'd (free()),
 * *n rows.  COFFER_ERR_INVALID for a bad query (from >= to, a period
 * longer than REPORT_PERIOD_MAX, SCOPE_NONE), COFFER_ERR_TOO_BIG above
 * REPORT_USERS_MAX users, COFFER_ERR_DB on a database failure.
 */
int report_kpi(struct store *st, const struct report_query *q,
    struct report_row **rows, size_t *n);

/* One week of the trend. */
struct report_week {
	int64_t start;            /* week0 + i * 7 days */
	int64_t calls, connected, deals, sales_fen;
};

/*
 * The weekly trend over the query's users: calls and connected calls by
 * `started`, deals (not refunded) and their amounts (within label_allow;
 * 0 without REPORT_G_SALES) by closing time, in buckets of 7 * 86400
 * seconds starting at week0 (<= from), for the period [from, to).
 * w gets *n = ceil((to - week0) / 7 days) buckets, at most max
 * (COFFER_ERR_TOO_BIG if more are needed).
 */
int report_weeks(struct store *st, const struct report_query *q,
    int64_t week0, struct report_week *w, size_t max, size_t *n);

#endif
