/*
 * staging.c - a session's import rows in a TEMP table of its own database
 * connection (docs/import.md §6): filled by many requests, checked
 * against the vault, then inserted in one transaction by the caller.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "coffer/staging.h"
#include "store_int.h"

static int
exec(struct store *st, const char *sql)
{
	return store_db_status(sqlite3_exec(store_sqlite(st), sql, NULL, NULL,
	    NULL));
}

int
staging_reset_if_absent(struct store *st)
{
	return exec(st, "CREATE TEMP TABLE IF NOT EXISTS import_rows ("
	    " line INTEGER PRIMARY KEY,"
	    " phone TEXT NOT NULL,"
	    " map BLOB NOT NULL,"
	    " status TEXT NOT NULL,"
	    " reason TEXT);"
	    "CREATE INDEX IF NOT EXISTS temp.import_rows_phone ON"
	    " import_rows(phone);");
}

int
staging_reset(struct store *st)
{
	int rc = staging_reset_if_absent(st);

	return rc != COFFER_OK ? rc : exec(st, "DELETE FROM temp.import_rows;");
}

/* The first line staged with phone, 0 if none. */
static int
first_line(struct store *st, const char *phone, int64_t *line)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*line = 0;
	if ((rc = store_prep(st, "SELECT min(line) FROM temp.import_rows WHERE "
	    "phone = ?1", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_text(s, 1, phone, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*line = sqlite3_column_int64(s, 0);
		rc = COFFER_OK;
	} else
		rc = store_db_status(rc);
	sqlite3_finalize(s);
	return rc;
}

int
staging_add(struct store *st, int64_t line, const char *phone,
    const unsigned char *map, size_t len, const char *reason)
{
	sqlite3_stmt *s = NULL;
	char dup[64];
	const char *status = reason != NULL ? "invalid" : "ok";
	int64_t first = 0;
	int rc;

	if (reason == NULL && phone[0] != '\0') {
		if ((rc = first_line(st, phone, &first)) != COFFER_OK)
			return rc;
		if (first != 0) {
			snprintf(dup, sizeof(dup), "the same phone number as "
			    "line %lld", (long long)first);
			status = "duplicate";
			reason = dup;
		}
	}
	if ((rc = store_prep(st, "INSERT INTO temp.import_rows (line, phone, map, "
	    "status, reason) VALUES (?1, ?2, ?3, ?4, ?5)", &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, line);
	sqlite3_bind_text(s, 2, phone, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, map, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, status, -1, SQLITE_STATIC);
	if (reason != NULL)
		sqlite3_bind_text(s, 5, reason, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	rc = sqlite3_step(s);
	/* the same line twice: the client sent it twice */
	rc = rc == SQLITE_DONE ? COFFER_OK :
	    (rc & 0xff) == SQLITE_CONSTRAINT ? COFFER_ERR_INVALID :
	    store_db_status(rc);
	sqlite3_finalize(s);
	return rc;
}

int
staging_mark_vault(struct store *st, size_t *n)
{
	int rc;

	*n = 0;
	rc = exec(st, "UPDATE temp.import_rows SET status = 'in_vault', "
	    "reason = 'the vault already has this phone number' WHERE "
	    "status = 'ok' AND phone IN (SELECT phone FROM main.customers)");
	if (rc == COFFER_OK)
		*n = (size_t)sqlite3_changes(store_sqlite(st));
	return rc;
}

int
staging_counts(struct store *st, size_t *total, size_t *good,
    size_t *rejected)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*total = *good = *rejected = 0;
	if ((rc = store_prep(st, "SELECT count(*), count(*) FILTER (WHERE status = "
	    "'ok') FROM temp.import_rows", &s)) != COFFER_OK)
		return rc;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*total = (size_t)sqlite3_column_int64(s, 0);
		*good = (size_t)sqlite3_column_int64(s, 1);
		*rejected = *total - *good;
		rc = COFFER_OK;
	} else
		rc = store_db_status(rc);
	sqlite3_finalize(s);
	return rc;
}

int
staging_each_reject(struct store *st, size_t max,
    int (*fn)(void *arg, int64_t line, const char *status,
    const char *reason), void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "SELECT line, status, coalesce(reason, '') FROM "
	    "temp.import_rows WHERE status <> 'ok' ORDER BY line LIMIT ?1",
	    &s)) != COFFER_OK)
		return rc;
	sqlite3_bind_int64(s, 1, (int64_t)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		rc = fn(arg, sqlite3_column_int64(s, 0),
		    (const char *)sqlite3_column_text(s, 1),
		    (const char *)sqlite3_column_text(s, 2));
		if (rc != COFFER_OK)
			goto out;
	}
	rc = rc == SQLITE_DONE ? COFFER_OK : store_db_status(rc);
out:
	sqlite3_finalize(s);
	return rc;
}

int
staging_each_good(struct store *st,
    int (*fn)(void *arg, int64_t line, const unsigned char *map,
    size_t len), void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "SELECT line, map FROM temp.import_rows WHERE "
	    "status = 'ok' ORDER BY line", &s)) != COFFER_OK)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		rc = fn(arg, sqlite3_column_int64(s, 0),
		    sqlite3_column_blob(s, 1),
		    (size_t)sqlite3_column_bytes(s, 1));
		if (rc != COFFER_OK)
			goto out;
	}
	rc = rc == SQLITE_DONE ? COFFER_OK : store_db_status(rc);
out:
	sqlite3_finalize(s);
	return rc;
}
