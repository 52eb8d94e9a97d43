/*
 * workflow.h - the store queries of the telesales working day
 * (docs/workflow.md): who a manager may assign to, the pool of unassigned
 * leads, moving customers between agents (with the follow-ups that go with
 * them) and an agent's list of things to do today.  No access decisions
 * here: the daemon (h_workflow.c) decides, these functions carry it out.
 * Every write runs in the caller's transaction (the dispatcher's).
 */
#ifndef COFFER_WORKFLOW_H
#define COFFER_WORKFLOW_H

#include <stddef.h>
#include <stdint.h>
#include "coffer/err.h"
#include "coffer/store.h"

#define WF_IDS_MAX 4096     /* ids a bulk move lists back (and audits) */
#define WF_POOL_MAX 10000   /* customers one distribute moves at most */
#define WF_ASSIGN_MAX 500   /* ids one assign names */
#define WF_TODAY_MAX 500    /* tasks one today answer holds */

/*
 * *in = 1 if user is within scope sc: SCOPE_OWN the scope's own user,
 * SCOPE_TEAM a user of the team subtree of the manager sc->user_id (the
 * store's TEAM_USERS, docs/schema.md §4), SCOPE_ALL anyone; else 0
 * (also for SCOPE_NONE).  COFFER_ERR_DB on a database failure.
 */
int wf_user_in_scope(struct store *st, const struct store_scope *sc,
    int64_t user, int *in);

/*
 * Give the live customers ids[0..n) to user to: owner_id = to, version + 1,
 * updated = now.  The open follow-ups of each that its previous owner was
 * responsible for (agent_id unset or that owner) go with it (agent_id =
 * to, version + 1).  A customer already owned by to is left alone.
 * *moved = customers changed, *followups = follow-ups changed (either may
 * be NULL).  No scope check: the caller has decided every id.
 */
int wf_move(struct store *st, const int64_t *ids, size_t n, int64_t to,
    size_t *moved, size_t *followups);

/*
 * The pool of unassigned leads a manager distributes, oldest id first, at
 * most max into ids: live customers owned by owner (or, with_unowned set,
 * by nobody) in stage new or screened, not do_not_call, whose label is
 * NULL or one of the customer label enum values whose bit is set in
 * label_allow (as store_scope), and with source_list = list when list is
 * not NULL.  *n = ids written.
 */
int wf_pool(struct store *st, int64_t owner, int with_unowned,
    const char *list, unsigned label_allow, int64_t *ids, size_t max,
    size_t *n);

/*
 * Customers (live) owned by owner: *total of them, *above of them with a
 * label outside label_allow.
 */
int wf_owned_count(struct store *st, int64_t owner, unsigned label_allow,
    uint64_t *total, uint64_t *above);

/*
 * Move every live customer of from to to (and their open follow-ups as
 * wf_move does), in one statement each.  *moved = customers moved; ids
 * gets up to max of their ids, ascending, *nids how many.
 */
int wf_transfer(struct store *st, int64_t from, int64_t to, int64_t *ids,
    size_t max, size_t *nids, uint64_t *moved, uint64_t *followups);

/* One line of an agent's day. */
enum wf_task_kind { WF_TASK_FOLLOWUP = 0, WF_TASK_LEAD = 1 };
struct wf_task {
	enum wf_task_kind kind;
	int64_t customer_id;
	int64_t followup_id;   /* WF_TASK_FOLLOWUP only */
	int64_t due;           /* WF_TASK_FOLLOWUP only: Unix seconds */
	char what[16];         /* follow-up kind, or the lead's stage */
};

/*
 * What agent should do: first the open follow-ups due at or before until
 * (overdue ones included), ordered by due time then id; then the fresh
 * leads - customers of agent in stage screened (first) or new with no
 * call logged - ordered by id.  Only live customers of agent that are
 * not excluded, not do_not_call and labelled within label_allow.  At most
 * max tasks into out, *n written; *nfollowups and *nleads get the totals
 * (all of them, not only those written).
 */
int wf_today(struct store *st, int64_t agent, int64_t until,
    unsigned label_allow, struct wf_task *out, size_t max, size_t *n,
    uint64_t *nfollowups, uint64_t *nleads);

/*
 * Mark the live follow-up id done: status = 'done', updated = now,
 * version + 1, and outcome = note when note is not NULL (NULL keeps the
 * outcome it has).  Only an open follow-up (status open or unset) is
 * closed.  COFFER_ERR_NOT_FOUND if there is no live follow-up id;
 * COFFER_ERR_CONFLICT if it is no longer open, status (when not NULL)
 * then getting the status it has ("done", "cancelled"); on COFFER_OK
 * status gets "open", the status it had.  No scope check: the caller has
 * decided.  Runs in the caller's transaction.
 */
int wf_followup_done(struct store *st, int64_t id, const char *note,
    char *status, size_t statussz);

#endif
