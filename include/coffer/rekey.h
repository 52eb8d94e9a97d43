/*
 * rekey.h - changing the raw key of the vault's SQLCipher database in
 * place, and the marker file that makes an interrupted change
 * recoverable.  The vault (vault.c) decides which key generation is in
 * force; this module only re-encrypts, checks and records intent.
 * Procedure and crash analysis: docs/keys.md, "Rotating the database key".
 */
#ifndef COFFER_REKEY_H
#define COFFER_REKEY_H

#define REKEY_MARKER_FILE "coffer.db.rekey" /* in the vault directory */
#define REKEY_MARKER_MAGIC "coffer-db-rekey-v1"
#define REKEY_MARKER_MAX 64 /* bytes read of a marker */

/*
 * Open the database at path with the raw 32-byte key on one connection
 * and run PRAGMA quick_check.  COFFER_OK: the key opens it and the check
 * says "ok".  COFFER_ERR_KEY: the key does not open it.
 * COFFER_ERR_NOT_FOUND: no such file.  COFFER_ERR_DB: it opens but the
 * check fails (or another SQLite error).
 */
int rekey_check(const char *path, const unsigned char key[32]);

/*
 * Re-encrypt the database at path from oldkey to newkey, both raw 32-byte
 * keys.  The caller guarantees that no other connection is open (the
 * vault lock, cofferd stopped).  On one connection: checkpoint the WAL
 * (TRUNCATE), sqlite3_rekey (the whole file rewritten in one WAL
 * transaction, atomic at its commit frame), checkpoint again, close; then
 * rekey_check with newkey.  COFFER_ERR_KEY: oldkey does not open the
 * file; COFFER_ERR_BUSY: another connection holds a lock; otherwise the
 * rekey_check status.  After a failure either key may be in force:
 * find out with rekey_check (docs/keys.md).
 */
int rekey_db(const char *path, const unsigned char oldkey[32],
    const unsigned char newkey[32]);

/* A rotation in progress: the database moves from generation from to to. */
struct rekey_marker {
	unsigned from, to;
};

/*
 * Write the marker file path ("coffer-db-rekey-v1 FROM TO\n", mode 0600,
 * temporary file + fsync + rename + directory fsync), replacing any.
 */
int rekey_marker_write(const char *path, const struct rekey_marker *m);

/*
 * Read it.  COFFER_ERR_NOT_FOUND: no marker (no rotation in progress).
 * COFFER_ERR_PROTO: not a well-formed marker (to must be from + 1 and at
 * most KEYS_GEN_MAX).
 */
int rekey_marker_read(const char *path, struct rekey_marker *m);

/* Remove it and fsync the directory; a missing marker is COFFER_OK. */
int rekey_marker_remove(const char *path);

#endif
