/*
 * backup_int.h - what the backup module's files share (files, hashing,
 * keyed SQLCipher connections).  Not public: src/backup only.
 */
#ifndef COFFER_BACKUP_INT_H
#define COFFER_BACKUP_INT_H

#include <stddef.h>
#include <sqlite3.h>

#include "coffer/backup.h"

#define BACKUP_DB "coffer.db"
#define BACKUP_SEALED "master.sealed"
#define BACKUP_POLICY "policy.yaml"
#define BACKUP_AUDIT "audit"
/* key rotation: generations, the first audit key, identity statements */
#define BACKUP_KEYS_GEN "keys.gen"
#define BACKUP_AUDIT_PUB "audit.pub"
#define BACKUP_IDROT "identity.rot"

/* "dir/name" into buf; COFFER_ERR_INVALID if it does not fit. */
int bk_join(char *buf, size_t bufsz, const char *dir, const char *name);

/* SHA-256 and size of a regular file (no symlinks). */
int bk_hash_file(const char *path, struct backup_file *f);

/*
 * Copy src to the new file dst (O_EXCL, mode), fsync'd; f gets the size and
 * SHA-256 of the bytes written (f->path is left alone).
 */
int bk_copy_file(const char *src, const char *dst, unsigned mode,
    struct backup_file *f);

/*
 * Open path with a raw 32-byte SQLCipher key and read page 1, so a wrong
 * key fails here (COFFER_ERR_KEY).  flags: SQLITE_OPEN_READONLY or
 * SQLITE_OPEN_READWRITE (never CREATE).
 */
int bk_open_db(const char *path, const unsigned char key[32], int flags,
    sqlite3 **out);

/* The files a backup under construction lists (capacity BACKUP_FILES_MAX). */
struct filelist {
	struct backup_file *f;
	size_t n;
};
/* A new zeroed entry for path; NULL if full or path too long. */
struct backup_file *bk_add_file(struct filelist *l, const char *path);
/* qsort comparator: by path, bytewise. */
int bk_cmp_file(const void *a, const void *b);

/*
 * An export in two stages (backup_export_db is both in a row), so that a
 * caller can act between fixing the snapshot and copying it: begin makes
 * path, ATTACHes it and opens the read transaction; finish copies (ok) or
 * abandons (!ok), detaches, syncs, and removes path on failure.
 */
int bk_export_begin(sqlite3 *src, const unsigned char key[32],
    const char *path);
int bk_export_finish(sqlite3 *src, const char *path, int ok);

/* Write p[0..n) to the new file dst (O_EXCL, mode), fsync'd; f gets the
 * size and SHA-256. */
int bk_write_file(const char *dst, unsigned mode, const void *p, size_t n,
    struct backup_file *f);

/* fsync a directory so the names in it are durable. */
int bk_sync_dir(const char *dir);

#endif
