/*
 * dnc.c - the do-not-call list on the store's connection (dnc.h; tables
 * of migration 6 in store.c, docs/dnc.md).  The list holds the current
 * state; every change is also an append-only dnc_events row, so the
 * history of a number cannot be rewritten by an UPDATE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/dnc.h"
#include "coffer/schema.h"
#include "store_int.h"

struct dnc_lookup {
	sqlite3_stmt *has;
};

/* A reason the table accepts: 1..DNC_REASON_MAX bytes (min 0 if empty_ok). */
static int
reason_ok(const char *reason, int empty_ok)
{
	size_t n;

	if (reason == NULL)
		return empty_ok;
	n = strlen(reason);
	return (n > 0 || empty_ok) && n <= DNC_REASON_MAX;
}

/* A normalised number: what schema_normalize_phone gives back unchanged. */
static int
phone_ok(const char *phone)
{
	char again[DNC_PHONE_MAX];

	return phone != NULL && dnc_normalize(phone, again, sizeof(again)) ==
	    COFFER_OK && strcmp(again, phone) == 0;
}

int
dnc_normalize(const char *in, char *out, size_t outsz)
{
	if (in == NULL || out == NULL || outsz < DNC_PHONE_MAX)
		return COFFER_ERR_INVALID;
	if (schema_normalize_phone(in, out, outsz) != COFFER_OK) {
		out[0] = '\0';
		return COFFER_ERR_INVALID;
	}
	return COFFER_OK;
}

static int
add_event(struct store *st, const char *phone, const char *event,
    int64_t actor, const char *reason, int64_t now)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "INSERT INTO dnc_events (phone, event, actor_id, "
	    "reason, time) VALUES (?1, ?2, ?3, ?4, ?5)", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, phone, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, event, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, actor);
	sqlite3_bind_text(s, 4, reason != NULL ? reason : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, now);
	return store_step_done(s);
}

int
dnc_contains(struct store *st, const char *phone, int *found)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*found = 0;
	if ((rc = store_prep(st, "SELECT 1 FROM dnc_list WHERE phone = ?1", &s)) !=
	    COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, phone, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	*found = rc == SQLITE_ROW;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? COFFER_OK :
	    store_db_status(rc);
	sqlite3_finalize(s);
	return rc;
}

int
dnc_add(struct store *st, const char *phone, const char *reason,
    int64_t by, int64_t now, int *was_listed)
{
	sqlite3_stmt *s = NULL;
	int rc, listed = 0;

	if (was_listed != NULL)
		*was_listed = 0;
	if (!phone_ok(phone) || !reason_ok(reason, 0))
		return COFFER_ERR_INVALID;
	if ((rc = dnc_contains(st, phone, &listed)) != COFFER_OK)
		return rc;
	if (listed)
		/* asked again: the number stays, a pending removal is void */
		rc = store_prep(st, "UPDATE dnc_list SET remove_by = NULL, "
		    "remove_reason = NULL, remove_asked = NULL WHERE "
		    "phone = ?1", &s);
	else
		rc = store_prep(st, "INSERT INTO dnc_list (phone, reason, added_by, "
		    "added) VALUES (?1, ?2, ?3, ?4)", &s);
	if (rc != COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, phone, -1, SQLITE_STATIC);
	if (!listed) {
		sqlite3_bind_text(s, 2, reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, by);
		sqlite3_bind_int64(s, 4, now);
	}
	if ((rc = store_step_done(s)) != COFFER_OK)
		return rc;
	if (was_listed != NULL)
		*was_listed = listed;
	return add_event(st, phone, listed ? "readd" : "add", by, reason, now);
}

/* The ids of the live customers with phone not yet flagged, ascending. */
static int
unflagged(struct store *st, const char *phone, int64_t *ids, size_t max,
    size_t *n, uint64_t *total)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*n = 0;
	*total = 0;
	if ((rc = store_prep(st, "SELECT id FROM customers WHERE phone = ?1 AND "
	    "deleted = 0 AND coalesce(do_not_call, 0) = 0 ORDER BY id", &s)) !=
	    COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, phone, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n < max)
			ids[(*n)++] = sqlite3_column_int64(s, 0);
		(*total)++;
	}
	rc = rc == SQLITE_DONE ? COFFER_OK : store_db_status(rc);
	sqlite3_finalize(s);
	return rc;
}

int
dnc_flag_customers(struct store *st, const char *phone, int64_t now,
    int64_t *ids, size_t max, size_t *n, uint64_t *total)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (!phone_ok(phone))
		return COFFER_ERR_INVALID;
	if ((rc = unflagged(st, phone, ids, max, n, total)) != COFFER_OK ||
	    *total == 0)
		return rc;
	if ((rc = store_prep(st, "UPDATE customers SET do_not_call = 1, version = "
	    "version + 1, updated = ?2 WHERE phone = ?1 AND deleted = 0 AND "
	    "coalesce(do_not_call, 0) = 0", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, phone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	return store_step_done(s);
}

#define ENTRY_COLS "l.phone, l.reason, l.added_by, coalesce(a.name, ''), " \
	"l.added, l.remove_by, coalesce(r.name, ''), l.remove_reason, " \
	"l.remove_asked FROM dnc_list l LEFT JOIN users a ON a.id = " \
	"l.added_by LEFT JOIN users r ON r.id = l.remove_by"

static void
entry_from(sqlite3_stmt *s, struct dnc_entry *e)
{
	memset(e, 0, sizeof(*e));
	store_col_text(e->phone, sizeof(e->phone), s, 0);
	store_col_text(e->reason, sizeof(e->reason), s, 1);
	e->added_by = sqlite3_column_int64(s, 2);
	store_col_text(e->added_by_name, sizeof(e->added_by_name), s, 3);
	e->added = sqlite3_column_int64(s, 4);
	e->pending = sqlite3_column_type(s, 5) != SQLITE_NULL;
	e->remove_by = sqlite3_column_int64(s, 5);
	store_col_text(e->remove_by_name, sizeof(e->remove_by_name), s, 6);
	store_col_text(e->remove_reason, sizeof(e->remove_reason), s, 7);
	e->remove_asked = sqlite3_column_int64(s, 8);
}

int
dnc_get(struct store *st, const char *phone, struct dnc_entry *e)
{
	sqlite3_stmt *s = NULL;
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = store_prep(st, "SELECT " ENTRY_COLS " WHERE l.phone = ?1", &s)) !=
	    COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, phone, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		entry_from(s, e);
		rc = COFFER_OK;
	} else
		rc = rc == SQLITE_DONE ? COFFER_ERR_NOT_FOUND :
		    store_db_status(rc);
	sqlite3_finalize(s);
	return rc;
}

int
dnc_request_removal(struct store *st, const char *phone, const char *reason,
    int64_t by, int64_t now)
{
	struct dnc_entry e;
	sqlite3_stmt *s = NULL;
	int rc;

	if (!reason_ok(reason, 0))
		return COFFER_ERR_INVALID;
	if ((rc = dnc_get(st, phone, &e)) != COFFER_OK)
		return rc;
	if (e.pending)
		return COFFER_ERR_CONFLICT;
	if ((rc = store_prep(st, "UPDATE dnc_list SET remove_by = ?2, remove_reason "
	    "= ?3, remove_asked = ?4 WHERE phone = ?1 AND remove_by IS NULL",
	    &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, phone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, by);
	sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, now);
	if ((rc = store_step_done(s)) != COFFER_OK)
		return rc;
	return add_event(st, phone, "remove_request", by, reason, now);
}

int
dnc_decide_removal(struct store *st, const char *phone, int approve,
    const char *comment, int64_t by, int64_t now)
{
	struct dnc_entry e;
	sqlite3_stmt *s = NULL;
	int rc;

	if (!reason_ok(comment, 1))
		return COFFER_ERR_INVALID;
	if ((rc = dnc_get(st, phone, &e)) != COFFER_OK)
		return rc;
	if (!e.pending)
		return COFFER_ERR_CONFLICT;
	/* two people, always: the one who asked never decides */
	if (e.remove_by == by)
		return COFFER_ERR_DENIED;
	rc = approve ? store_prep(st, "DELETE FROM dnc_list WHERE phone = ?1", &s) :
	    store_prep(st, "UPDATE dnc_list SET remove_by = NULL, remove_reason = "
	    "NULL, remove_asked = NULL WHERE phone = ?1", &s);
	if (rc != COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, phone, -1, SQLITE_STATIC);
	if ((rc = store_step_done(s)) != COFFER_OK)
		return rc;
	return add_event(st, phone, approve ? "remove_approve" :
	    "remove_reject", by, comment, now);
}

static int
list_total(struct store *st, int pending_only, uint64_t *total)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, pending_only ? "SELECT count(*) FROM dnc_list "
	    "WHERE remove_asked IS NOT NULL" : "SELECT count(*) FROM dnc_list",
	    &s)) != COFFER_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*total = (uint64_t)sqlite3_column_int64(s, 0);
		rc = COFFER_OK;
	} else
		rc = store_db_status(rc == SQLITE_DONE ? SQLITE_ERROR : rc);
	sqlite3_finalize(s);
	return rc;
}

int
dnc_list(struct store *st, int pending_only, size_t limit, size_t offset,
    int (*fn)(void *arg, const struct dnc_entry *e), void *arg,
    uint64_t *total)
{
	struct dnc_entry *e = NULL;
	sqlite3_stmt *s = NULL;
	int rc;

	if (offset > (size_t)INT64_MAX || limit > (size_t)INT64_MAX)
		return COFFER_ERR_INVALID;
	if (total != NULL && (rc = list_total(st, pending_only, total)) !=
	    COFFER_OK)
		return rc;
	if ((e = malloc(sizeof(*e))) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = store_prep(st, pending_only ? "SELECT " ENTRY_COLS " WHERE "
	    "l.remove_asked IS NOT NULL ORDER BY l.phone LIMIT ?1 OFFSET ?2" :
	    "SELECT " ENTRY_COLS " ORDER BY l.phone LIMIT ?1 OFFSET ?2", &s)) !=
	    COFFER_OK)
		goto out;
	sqlite3_bind_int64(s, 1, (int64_t)limit);
	sqlite3_bind_int64(s, 2, (int64_t)offset);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		entry_from(s, e);
		if ((rc = fn(arg, e)) != COFFER_OK)
			goto out;
	}
	rc = rc == SQLITE_DONE ? COFFER_OK : store_db_status(rc);
out:
	sqlite3_finalize(s);
	free(e);
	return rc;
}

int
dnc_lookup_open(struct store *st, struct dnc_lookup **out)
{
	struct dnc_lookup *lk;
	int rc;

	*out = NULL;
	if ((lk = calloc(1, sizeof(*lk))) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = store_prep(st, "SELECT 1 FROM dnc_list WHERE phone = ?1",
	    &lk->has)) != COFFER_OK) {
		free(lk);
		return rc;
	}
	*out = lk;
	return COFFER_OK;
}

int
dnc_lookup_has(struct dnc_lookup *lk, const char *phone, int *found)
{
	int rc;

	*found = 0;
	sqlite3_bind_text(lk->has, 1, phone, -1, SQLITE_STATIC);
	rc = sqlite3_step(lk->has);
	*found = rc == SQLITE_ROW;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? COFFER_OK :
	    store_db_status(rc);
	sqlite3_reset(lk->has);
	sqlite3_clear_bindings(lk->has);
	return rc;
}

void
dnc_lookup_close(struct dnc_lookup *lk)
{
	if (lk == NULL)
		return;
	sqlite3_finalize(lk->has);
	free(lk);
}
