/*
 * reqstore.c - change requests, approvals and record history on the
 * store's connection (reqstore.h; tables of migration 2 in store.c,
 * docs/requests.md).  The database refuses changing a request's content
 * or any approval, event or history row (triggers); this file only ever
 * inserts them, and moves a request's state along with an event row.
 */
#include <stdlib.h>
#include <string.h>

#include "coffer/reqstore.h"
#include "store_int.h"

/* A copy of a blob column in malloc'd memory (at least one byte). */
static int
col_blob(sqlite3_stmt *s, int col, unsigned char **out, size_t *len)
{
	const void *b = sqlite3_column_blob(s, col);
	int n = sqlite3_column_bytes(s, col);

	*out = NULL;
	*len = 0;
	if (n < 0 || n > REQ_FIELDS_MAX)
		return COFFER_ERR_DB;
	if ((*out = malloc(n > 0 ? (size_t)n : 1)) == NULL)
		return COFFER_ERR_NOMEM;
	if (n > 0)
		memcpy(*out, b, (size_t)n);
	*len = (size_t)n;
	return COFFER_OK;
}

static int
col_fixed(sqlite3_stmt *s, int col, unsigned char *dst, size_t len)
{
	if (sqlite3_column_bytes(s, col) != (int)len)
		return COFFER_ERR_DB;
	memcpy(dst, sqlite3_column_blob(s, col), len);
	return COFFER_OK;
}

void
store_request_clear(struct store_request *r)
{
	if (r == NULL)
		return;
	free(r->fields);
	memset(r, 0, sizeof(*r));
}

static int
add_event(struct store *st, int64_t id, const char *state, int64_t actor,
    int64_t now)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "INSERT INTO request_events (request_id, state, "
	    "actor_id, time) VALUES (?1, ?2, ?3, ?4)", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC);
	if (actor > 0)
		sqlite3_bind_int64(s, 3, actor);
	sqlite3_bind_int64(s, 4, now);
	return store_step_done(s);
}

int
store_request_add(struct store *st, struct store_request *r)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (r->fields == NULL || r->fields_len == 0 ||
	    r->fields_len > REQ_FIELDS_MAX)
		return COFFER_ERR_INVALID;
	if ((rc = store_prep(st, "INSERT INTO change_requests (kind, record_id, "
	    "base_version, op, fields, reason, requester_id, created, expires, "
	    "need, roles, hash, state, updated) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6, ?7, ?8, ?9, ?10, ?11, ?12, 'pending', ?8)", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, r->record_id);
	sqlite3_bind_int64(s, 3, r->base_version);
	sqlite3_bind_text(s, 4, r->op, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, r->fields, (int)r->fields_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, r->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, r->requester_id);
	sqlite3_bind_int64(s, 8, r->created);
	sqlite3_bind_int64(s, 9, r->expires);
	sqlite3_bind_int64(s, 10, (int64_t)r->need);
	sqlite3_bind_text(s, 11, r->roles, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 12, r->hash, 32, SQLITE_STATIC);
	if ((rc = store_step_done(s)) != COFFER_OK)
		return rc;
	r->id = sqlite3_last_insert_rowid(store_sqlite(st));
	snprintf(r->state, sizeof(r->state), "pending");
	r->updated = r->created;
	return add_event(st, r->id, "pending", r->requester_id, r->created);
}

#define REQ_COLS "id, kind, record_id, base_version, op, fields, reason, " \
	"requester_id, created, expires, need, roles, hash, state, updated"

static int
request_from_row(sqlite3_stmt *s, struct store_request *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	store_col_text(r->kind, sizeof(r->kind), s, 1);
	r->record_id = sqlite3_column_int64(s, 2);
	r->base_version = sqlite3_column_int64(s, 3);
	store_col_text(r->op, sizeof(r->op), s, 4);
	if ((rc = col_blob(s, 5, &r->fields, &r->fields_len)) != COFFER_OK)
		return rc;
	store_col_text(r->reason, sizeof(r->reason), s, 6);
	r->requester_id = sqlite3_column_int64(s, 7);
	r->created = sqlite3_column_int64(s, 8);
	r->expires = sqlite3_column_int64(s, 9);
	r->need = (unsigned)sqlite3_column_int(s, 10);
	store_col_text(r->roles, sizeof(r->roles), s, 11);
	if ((rc = col_fixed(s, 12, r->hash, 32)) != COFFER_OK)
		return rc;
	store_col_text(r->state, sizeof(r->state), s, 13);
	r->updated = sqlite3_column_int64(s, 14);
	return COFFER_OK;
}

int
store_request_get(struct store *st, int64_t id, struct store_request *r)
{
	sqlite3_stmt *s = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = store_prep(st, "SELECT " REQ_COLS " FROM change_requests WHERE "
	    "id = ?1", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = request_from_row(s, r);
	else
		rc = rc == SQLITE_DONE ? COFFER_ERR_NOT_FOUND :
		    store_db_status(rc);
	sqlite3_finalize(s);
	if (rc != COFFER_OK)
		store_request_clear(r);
	return rc;
}

static int
collect_ids(sqlite3_stmt *s, int64_t *ids, size_t max, size_t *n)
{
	int rc;

	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max)
		ids[(*n)++] = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? COFFER_OK :
	    store_db_status(rc);
}

int
store_request_ids(struct store *st, const char *state, int64_t requester,
    int64_t *ids, size_t max, size_t *n)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*n = 0;
	if ((rc = store_prep(st, "SELECT id FROM change_requests WHERE (?1 IS NULL "
	    "OR state = ?1) AND (?2 = 0 OR requester_id = ?2) ORDER BY id "
	    "DESC LIMIT ?3", &s)) != COFFER_OK)
		return rc;
	if (state != NULL)
		sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, requester);
	sqlite3_bind_int64(s, 3, (int64_t)max);
	return collect_ids(s, ids, max, n);
}

int
store_request_due(struct store *st, int64_t now, int64_t *ids, size_t max,
    size_t *n)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*n = 0;
	if ((rc = store_prep(st, "SELECT id FROM change_requests WHERE state = "
	    "'pending' AND expires <= ?1 ORDER BY id LIMIT ?2", &s)) !=
	    COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, (int64_t)max);
	return collect_ids(s, ids, max, n);
}

int
store_request_set_state(struct store *st, int64_t id, const char *from,
    const char *to, int64_t actor, int64_t now)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "UPDATE change_requests SET state = ?3, updated = "
	    "?4 WHERE id = ?1 AND state = ?2", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, now);
	if ((rc = store_step_done(s)) != COFFER_OK)
		return rc;
	if (sqlite3_changes(store_sqlite(st)) != 1)
		return COFFER_ERR_CONFLICT;
	return add_event(st, id, to, actor, now);
}

int
store_approval_add(struct store *st, const struct store_approval *a)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "INSERT INTO approvals (request_id, approver_id, "
	    "role, decision, comment, time, signature, statement_hash) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, a->request_id);
	sqlite3_bind_int64(s, 2, a->approver_id);
	sqlite3_bind_text(s, 3, a->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, a->decision, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, a->comment, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, a->time);
	sqlite3_bind_blob(s, 7, a->signature, 64, SQLITE_STATIC);
	sqlite3_bind_blob(s, 8, a->statement_hash, 32, SQLITE_STATIC);
	return store_step_done(s);
}

int
store_approval_list(struct store *st, int64_t request_id,
    struct store_approval *out, size_t max, size_t *n)
{
	sqlite3_stmt *s = NULL;
	struct store_approval *a;
	int rc;

	*n = 0;
	if ((rc = store_prep(st, "SELECT a.approver_id, u.name, a.role, a.decision, "
	    "a.comment, a.time, a.signature, a.statement_hash FROM approvals a "
	    "JOIN users u ON u.id = a.approver_id WHERE a.request_id = ?1 "
	    "ORDER BY a.id", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, request_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		a = &out[*n];
		memset(a, 0, sizeof(*a));
		a->request_id = request_id;
		a->approver_id = sqlite3_column_int64(s, 0);
		store_col_text(a->approver, sizeof(a->approver), s, 1);
		store_col_text(a->role, sizeof(a->role), s, 2);
		store_col_text(a->decision, sizeof(a->decision), s, 3);
		store_col_text(a->comment, sizeof(a->comment), s, 4);
		a->time = sqlite3_column_int64(s, 5);
		if (col_fixed(s, 6, a->signature, 64) != COFFER_OK ||
		    col_fixed(s, 7, a->statement_hash, 32) != COFFER_OK) {
			sqlite3_finalize(s);
			return COFFER_ERR_DB;
		}
		(*n)++;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? COFFER_OK :
	    store_db_status(rc);
}

int
store_history_add(struct store *st, const struct store_history *h)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (h->fields == NULL || h->fields_len > REQ_FIELDS_MAX)
		return COFFER_ERR_INVALID;
	if ((rc = store_prep(st, "INSERT INTO record_history (kind, record_id, "
	    "version, request_id, op, requester_id, approvers, time, fields) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, h->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, h->record_id);
	sqlite3_bind_int64(s, 3, h->version);
	sqlite3_bind_int64(s, 4, h->request_id);
	sqlite3_bind_text(s, 5, h->op, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, h->requester_id);
	sqlite3_bind_text(s, 7, h->approvers, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, h->time);
	sqlite3_bind_blob(s, 9, h->fields, (int)h->fields_len, SQLITE_STATIC);
	return store_step_done(s);
}

void
store_history_free(struct store_history *h, size_t n)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < n; i++)
		free(h[i].fields);
	free(h);
}

#define HISTORY_MAX 1000

int
store_history_list(struct store *st, const char *kind, int64_t record_id,
    struct store_history **out, size_t *n)
{
	struct store_history *h = NULL, *e;
	sqlite3_stmt *s = NULL;
	size_t cnt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((h = calloc(HISTORY_MAX, sizeof(*h))) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = store_prep(st, "SELECT version, request_id, op, requester_id, "
	    "approvers, time, fields FROM record_history WHERE kind = ?1 AND "
	    "record_id = ?2 ORDER BY id", &s)) != COFFER_OK)
		goto out;
	sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, record_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && cnt < HISTORY_MAX) {
		e = &h[cnt];
		snprintf(e->kind, sizeof(e->kind), "%s", kind);
		e->record_id = record_id;
		e->version = sqlite3_column_int64(s, 0);
		e->request_id = sqlite3_column_int64(s, 1);
		store_col_text(e->op, sizeof(e->op), s, 2);
		e->requester_id = sqlite3_column_int64(s, 3);
		store_col_text(e->approvers, sizeof(e->approvers), s, 4);
		e->time = sqlite3_column_int64(s, 5);
		cnt++;
		if ((rc = col_blob(s, 6, &e->fields, &e->fields_len)) !=
		    COFFER_OK)
			goto out;
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? COFFER_OK :
	    store_db_status(rc);
out:
	sqlite3_finalize(s);
	if (rc != COFFER_OK) {
		store_history_free(h, cnt);
		return rc;
	}
	*out = h;
	*n = cnt;
	return COFFER_OK;
}

int
store_user_in_chain(struct store *st, int64_t user, int64_t ancestor,
    int *yes)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*yes = 0;
	/* depth bound: a manager_id cycle cannot loop forever */
	if ((rc = store_prep(st, "WITH RECURSIVE up(id, depth) AS (SELECT manager_id, "
	    "1 FROM users WHERE id = ?1 UNION SELECT u.manager_id, up.depth + 1 "
	    "FROM users u JOIN up ON u.id = up.id WHERE up.depth < 32) "
	    "SELECT 1 FROM up WHERE id = ?2 LIMIT 1", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, user);
	sqlite3_bind_int64(s, 2, ancestor);
	rc = sqlite3_step(s);
	*yes = rc == SQLITE_ROW;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? COFFER_OK :
	    store_db_status(rc);
}

int
store_request_pending_on(struct store *st, const char *kind,
    int64_t record_id, int64_t *ids, size_t max, size_t *n)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*n = 0;
	if ((rc = store_prep(st, "SELECT id FROM change_requests WHERE kind = ?1 "
	    "AND record_id = ?2 AND state = 'pending' ORDER BY id LIMIT ?3",
	    &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, record_id);
	sqlite3_bind_int64(s, 3, (int64_t)max);
	return collect_ids(s, ids, max, n);
}

/* One erasing UPDATE; *n gets the number of rows it changed. */
static int
erase_one(struct store *st, const char *sql, const char *kind,
    int64_t record_id, size_t *n)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, sql, &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, record_id);
	if ((rc = store_step_done(s)) == COFFER_OK)
		*n = (size_t)sqlite3_changes(store_sqlite(st));
	return rc;
}

int
store_purge_erase(struct store *st, const char *kind, int64_t record_id,
    size_t *nhistory, size_t *nrequests)
{
	int rc;

	*nhistory = *nrequests = 0;
	if ((rc = erase_one(st, "UPDATE record_history SET fields = X'A0' "
	    "WHERE kind = ?1 AND record_id = ?2 AND fields <> X'A0'", kind,
	    record_id, nhistory)) != COFFER_OK)
		return rc;
	return erase_one(st, "UPDATE change_requests SET fields = X'A0' "
	    "WHERE kind = ?1 AND record_id = ?2 AND state <> 'pending' "
	    "AND fields <> X'A0'", kind, record_id, nrequests);
}
