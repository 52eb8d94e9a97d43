/*
 * secfile.h - reading and writing files that hold secrets.  New secret
 * files are created O_EXCL|O_NOFOLLOW with mode 0600 and fsync'd; existing
 * ones are refused if they are not regular files or are readable or
 * writable by group or others (like ssh refusing a loose private key).
 */
#ifndef COFFER_SECFILE_H
#define COFFER_SECFILE_H

#include <stddef.h>

/* Create path exclusively (mode 0600) with the given contents. */
int secfile_create(const char *path, const void *data, size_t len);

/*
 * Read a secret file of at most max bytes into buf (which the caller
 * supplies, typically sodium_malloc'd).  COFFER_ERR_PERM if the mode is
 * looser than 0600 or the file is not a regular file we own,
 * COFFER_ERR_TOO_BIG if larger than max, COFFER_ERR_IO otherwise.
 */
int secfile_read(const char *path, void *buf, size_t max, size_t *len);

/* Read a non-secret file of at most max bytes into a malloc'd,
 * NUL-terminated buffer the caller frees. */
int file_read_all(const char *path, size_t max, char **out, size_t *len);

/*
 * fsync the directory that holds path, so that a create, rename or unlink
 * of path survives a crash.
 */
int fsync_parent(const char *path);

/* Atomically replace path with data (write temp, fsync, rename) at mode. */
int file_write_atomic(const char *path, const void *data, size_t len,
    unsigned mode);

#endif
