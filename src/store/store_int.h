/*
 * store_int.h - what the store's files share (store.c owns the
 * connection; reqstore.c keeps change requests on it).  Not public.
 */
#ifndef COFFER_STORE_INT_H
#define COFFER_STORE_INT_H

#include <sqlite3.h>
#include "coffer/store.h"

/* The connection of st (borrowed). */
sqlite3 *store_sqlite(struct store *st);
/* SQLite result code -> Coffer status (as store.c maps them). */
int store_db_status(int rc);
/* Prepare sql on st's connection (not cached); a status. */
int store_prep(struct store *st, const char *sql, sqlite3_stmt **s);
/* Run a prepared write to completion and finalize it. */
int store_step_done(sqlite3_stmt *s);
/* Copy a text column into dst (empty for NULL), truncating to dstsz. */
void store_col_text(char *dst, size_t dstsz, sqlite3_stmt *s, int col);

/*
 * The users a manager's TEAM scope covers, given the manager's user id as
 * parameter P: everyone in the team of any user in the manager's subtree
 * (the manager, their reports, their reports' reports, ...), so a head of
 * sales with team leads under them sees every team below.  One definition
 * for the whole store (docs/schema.md §4): scope, workflow and reports
 * must draw the same line.
 */
#define SQL_TEAM_USERS(P) \
	"SELECT tu.id FROM users tu WHERE tu.team <> '' AND tu.team IN (" \
	"WITH RECURSIVE sub(id) AS (SELECT " P " UNION " \
	"SELECT x.id FROM users x JOIN sub ON x.manager_id = sub.id) " \
	"SELECT y.team FROM users y JOIN sub ON y.id = sub.id)"

#endif
