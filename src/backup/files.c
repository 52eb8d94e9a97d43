/*
 * files.c - the backup module's file plumbing: hashing and copying files
 * whole, opening a SQLCipher file with a raw key, removing a backup.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/err.h"
#include "backup_int.h"

#define CHUNK 65536

int
bk_join(char *buf, size_t bufsz, const char *dir, const char *name)
{
	int n = snprintf(buf, bufsz, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= bufsz) ? COFFER_ERR_INVALID : COFFER_OK;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return COFFER_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return COFFER_OK;
}

/* Read fd to its end, hashing, and writing to out when out >= 0. */
static int
pump(int in, int out, struct backup_file *f)
{
	crypto_hash_sha256_state st;
	unsigned char buf[CHUNK];
	ssize_t n;
	int rc = COFFER_OK;

	crypto_hash_sha256_init(&st);
	f->size = 0;
	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = COFFER_ERR_IO;
			break;
		}
		if (n == 0)
			break;
		crypto_hash_sha256_update(&st, buf, (size_t)n);
		f->size += (uint64_t)n;
		if (out >= 0 && (rc = write_all(out, buf, (size_t)n)) !=
		    COFFER_OK)
			break;
	}
	crypto_hash_sha256_final(&st, f->sha256);
	/* the database's pages pass through here */
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

static int
open_regular(const char *path, int *fd)
{
	struct stat sb;

	*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return errno == ENOENT ? COFFER_ERR_NOT_FOUND : COFFER_ERR_IO;
	if (fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(*fd);
		*fd = -1;
		return COFFER_ERR_INVALID;
	}
	return COFFER_OK;
}

int
bk_hash_file(const char *path, struct backup_file *f)
{
	int fd = -1, rc;

	if ((rc = open_regular(path, &fd)) != COFFER_OK)
		return rc;
	rc = pump(fd, -1, f);
	close(fd);
	return rc;
}

int
bk_copy_file(const char *src, const char *dst, unsigned mode,
    struct backup_file *f)
{
	int in = -1, out = -1, rc;

	if ((rc = open_regular(src, &in)) != COFFER_OK)
		return rc;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    (mode_t)mode);
	if (out < 0) {
		close(in);
		return errno == EEXIST ? COFFER_ERR_CONFLICT : COFFER_ERR_IO;
	}
	rc = pump(in, out, f);
	if (rc == COFFER_OK && (fchmod(out, (mode_t)mode) != 0 ||
	    fsync(out) != 0))
		rc = COFFER_ERR_IO;
	close(in);
	if (close(out) != 0 && rc == COFFER_OK)
		rc = COFFER_ERR_IO;
	if (rc != COFFER_OK)
		unlink(dst);
	return rc;
}

int
bk_write_file(const char *dst, unsigned mode, const void *p, size_t n,
    struct backup_file *f)
{
	crypto_hash_sha256_state st;
	int fd, rc;

	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    (mode_t)mode);
	if (fd < 0)
		return errno == EEXIST ? COFFER_ERR_CONFLICT : COFFER_ERR_IO;
	rc = write_all(fd, p, n);
	if (rc == COFFER_OK && (fchmod(fd, (mode_t)mode) != 0 ||
	    fsync(fd) != 0))
		rc = COFFER_ERR_IO;
	if (close(fd) != 0 && rc == COFFER_OK)
		rc = COFFER_ERR_IO;
	if (rc != COFFER_OK) {
		unlink(dst);
		return rc;
	}
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, p, n);
	crypto_hash_sha256_final(&st, f->sha256);
	f->size = n;
	return COFFER_OK;
}

int
bk_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return COFFER_ERR_IO;
	rc = fsync(fd) == 0 ? COFFER_OK : COFFER_ERR_IO;
	close(fd);
	return rc;
}

/*
 * Raw-key syntax x'<64 hex>' as store.c uses it: the bytes are the
 * SQLCipher key, no PBKDF2 (they already come from crypto_kdf).
 */
int
bk_open_db(const char *path, const unsigned char key[32], int flags,
    sqlite3 **out)
{
	sqlite3 *db = NULL;
	char *k = NULL;
	int rc;

	*out = NULL;
	if ((k = sodium_malloc(68)) == NULL)
		return COFFER_ERR_NOMEM;
	memcpy(k, "x'", 2);
	sodium_bin2hex(k + 2, 65, key, 32);
	memcpy(k + 66, "'", 2);
	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOFOLLOW, NULL) !=
	    SQLITE_OK) {
		rc = COFFER_ERR_DB;
		goto out;
	}
	if (sqlite3_key(db, k, 67) != SQLITE_OK) {
		rc = COFFER_ERR_KEY;
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	/* The first read decrypts page 1: a wrong key fails right here. */
	rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL,
	    NULL);
	if (rc == SQLITE_NOTADB) {
		rc = COFFER_ERR_KEY;
		goto out;
	}
	if (rc != SQLITE_OK) {
		rc = COFFER_ERR_DB;
		goto out;
	}
	*out = db;
	db = NULL; /* transferred */
	rc = COFFER_OK;
out:
	sodium_free(k);
	sqlite3_close(db);
	return rc;
}

static void
remove_files(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    bk_join(path, sizeof(path), dir, e->d_name) == COFFER_OK)
			unlink(path);
	closedir(d);
}

void
backup_remove_dir(const char *dir)
{
	char sub[PATH_MAX];

	if (bk_join(sub, sizeof(sub), dir, BACKUP_AUDIT) == COFFER_OK) {
		remove_files(sub);
		rmdir(sub);
	}
	remove_files(dir);
	rmdir(dir);
}
