/*
 * rekey.c - re-encrypting the vault's SQLCipher database under a new raw
 * key on one connection, checking which key opens it, and the marker that
 * says a rotation was under way (docs/keys.md, "Rotating the database
 * key").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/rekey.h"
#include "coffer/secfile.h"

#define HEXKEY_LEN 67 /* x'<64 hex>' */

/* The raw-key form x'<64 hex>' in guarded memory; sodium_free wipes it. */
static char *
hex_key(const unsigned char key[32])
{
	char *k;

	if ((k = sodium_malloc(HEXKEY_LEN + 1)) == NULL)
		return NULL;
	k[0] = 'x';
	k[1] = '\'';
	sodium_bin2hex(k + 2, 65, key, 32);
	k[66] = '\'';
	k[67] = '\0';
	return k;
}

static int
sql_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return COFFER_OK;
	case SQLITE_NOTADB:
		return COFFER_ERR_KEY;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return COFFER_ERR_BUSY;
	case SQLITE_NOMEM:
		return COFFER_ERR_NOMEM;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
		return COFFER_ERR_IO;
	default:
		return COFFER_ERR_DB;
	}
}

/*
 * One read-write connection (never CREATE: a missing file is not ours to
 * make here) keyed with key; reading page 1 fails right away on a wrong
 * key.  SQLCipher's own logging is off: library code does not print.
 */
static int
open_keyed(const char *path, const unsigned char key[32], sqlite3 **out)
{
	sqlite3 *db = NULL;
	struct stat sb;
	char *k = NULL;
	int rc;

	*out = NULL;
	if (lstat(path, &sb) != 0)
		return errno == ENOENT ? COFFER_ERR_NOT_FOUND : COFFER_ERR_IO;
	if (!S_ISREG(sb.st_mode))
		return COFFER_ERR_IO;
	if ((k = hex_key(key)) == NULL)
		return COFFER_ERR_NOMEM;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE,
	    NULL) != SQLITE_OK) {
		rc = COFFER_ERR_DB;
		goto out;
	}
	sqlite3_exec(db, "PRAGMA cipher_log_level = NONE", NULL, NULL, NULL);
	if (sqlite3_key(db, k, HEXKEY_LEN) != SQLITE_OK) {
		rc = COFFER_ERR_KEY;
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	if ((rc = sql_status(sqlite3_exec(db, "SELECT count(*) FROM "
	    "sqlite_master", NULL, NULL, NULL))) != COFFER_OK)
		goto out;
	/* every commit, the rekey's above all, durable before we go on */
	rc = sql_status(sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL,
	    NULL, NULL));
out:
	sodium_free(k);
	if (rc == COFFER_OK)
		*out = db;
	else
		sqlite3_close(db);
	return rc;
}

/* PRAGMA wal_checkpoint(TRUNCATE): busy (first column 1) means some
 * other connection kept frames from being copied. */
static int
checkpoint(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)",
	    -1, &s, NULL)) != SQLITE_OK)
		return sql_status(rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = sqlite3_column_int(s, 0) != 0 ? COFFER_ERR_BUSY :
		    COFFER_OK;
	else
		rc = sql_status(rc == SQLITE_DONE ? SQLITE_ERROR : rc);
	sqlite3_finalize(s);
	return rc;
}

/* "ok" as the one row of PRAGMA quick_check: every b-tree page read
 * (so decrypted and its HMAC checked) and its structure sound. */
static int
quick_check(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *t;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &s,
	    NULL)) != SQLITE_OK)
		return sql_status(rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		t = sqlite3_column_text(s, 0);
		rc = t != NULL && strcmp((const char *)t, "ok") == 0 ?
		    COFFER_OK : COFFER_ERR_DB;
	} else {
		rc = COFFER_ERR_DB; /* no row, or the read itself failed */
	}
	sqlite3_finalize(s);
	return rc;
}

int
rekey_check(const char *path, const unsigned char key[32])
{
	sqlite3 *db = NULL;
	int rc;

	if ((rc = open_keyed(path, key, &db)) != COFFER_OK)
		return rc;
	rc = quick_check(db);
	if (sqlite3_close(db) != SQLITE_OK && rc == COFFER_OK)
		rc = COFFER_ERR_DB;
	return rc;
}

/*
 * The first checkpoint empties the WAL so the rekey's transaction holds
 * every page and nothing written under the old key is left behind it; the
 * second copies that transaction into the file and truncates the WAL.
 * sqlite3_rekey is what PRAGMA rekey calls, without the key passing
 * through the SQL parser's buffers.
 */
int
rekey_db(const char *path, const unsigned char oldkey[32],
    const unsigned char newkey[32])
{
	sqlite3 *db = NULL;
	char *k = NULL;
	int rc;

	if ((rc = open_keyed(path, oldkey, &db)) != COFFER_OK)
		return rc;
	if ((k = hex_key(newkey)) == NULL) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	if ((rc = checkpoint(db)) != COFFER_OK ||
	    (rc = sql_status(sqlite3_rekey(db, k, HEXKEY_LEN))) != COFFER_OK ||
	    (rc = checkpoint(db)) != COFFER_OK)
		goto out;
out:
	sodium_free(k);
	if (sqlite3_close(db) != SQLITE_OK && rc == COFFER_OK)
		rc = COFFER_ERR_DB;
	if (rc == COFFER_OK)
		rc = rekey_check(path, newkey);
	return rc;
}

/* ---- the marker -------------------------------------------------------- */


int
rekey_marker_write(const char *path, const struct rekey_marker *m)
{
	char text[REKEY_MARKER_MAX];
	int n;

	if (m->from >= KEYS_GEN_MAX || m->to != m->from + 1)
		return COFFER_ERR_INVALID;
	n = snprintf(text, sizeof(text), REKEY_MARKER_MAGIC " %u %u\n",
	    m->from, m->to);
	if (n < 0 || (size_t)n >= sizeof(text))
		return COFFER_ERR_INTERNAL;
	/* temporary file, fsync, rename, directory fsync */
	return file_write_atomic(path, text, (size_t)n, 0600);
}

/* A decimal 0..KEYS_GEN_MAX without sign or leading zeros, ending at
 * *end == stop. */
static int
parse_gen(const char *s, char stop, unsigned *out, const char **end)
{
	unsigned long v = 0;
	size_t i = 0;

	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return COFFER_ERR_PROTO;
	while (s[i] >= '0' && s[i] <= '9' && i < 6)
		v = v * 10 + (unsigned long)(s[i++] - '0');
	if (i == 0 || s[i] != stop || v > KEYS_GEN_MAX)
		return COFFER_ERR_PROTO;
	*out = (unsigned)v;
	*end = s + i + 1;
	return COFFER_OK;
}

int
rekey_marker_read(const char *path, struct rekey_marker *m)
{
	const size_t mlen = sizeof(REKEY_MARKER_MAGIC) - 1;
	struct rekey_marker r;
	struct stat sb;
	char *text = NULL;
	const char *p;
	size_t len = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	if (lstat(path, &sb) != 0)
		return errno == ENOENT ? COFFER_ERR_NOT_FOUND : COFFER_ERR_IO;
	if (!S_ISREG(sb.st_mode))
		return COFFER_ERR_PROTO;
	if ((rc = file_read_all(path, REKEY_MARKER_MAX, &text, &len)) !=
	    COFFER_OK)
		return rc == COFFER_ERR_TOO_BIG ? COFFER_ERR_PROTO : rc;
	rc = COFFER_ERR_PROTO;
	if (len <= mlen + 1 || strlen(text) != len ||
	    memcmp(text, REKEY_MARKER_MAGIC " ", mlen + 1) != 0)
		goto out;
	p = text + mlen + 1;
	if (parse_gen(p, ' ', &r.from, &p) != COFFER_OK ||
	    parse_gen(p, '\n', &r.to, &p) != COFFER_OK ||
	    *p != '\0' || r.to != r.from + 1)
		goto out;
	*m = r;
	rc = COFFER_OK;
out:
	free(text);
	return rc;
}

int
rekey_marker_remove(const char *path)
{
	if (unlink(path) != 0)
		return errno == ENOENT ? COFFER_OK : COFFER_ERR_IO;
	return fsync_parent(path);
}
