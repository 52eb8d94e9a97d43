/*
 * secfile.c - files that hold secrets (created exclusively 0600, refused
 * when others could read them) and the plain file helpers built beside them.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffer/err.h"
#include "coffer/secfile.h"

/* write(2) until done; a short write to a regular file is not an error. */
static int
write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return COFFER_ERR_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return COFFER_OK;
}

/*
 * Read up to max + 1 bytes so a file that is larger than max (or grew after
 * fstat) is detected rather than silently truncated.
 */
static int
read_bounded(int fd, unsigned char *buf, size_t max, size_t *len)
{
	size_t got = 0;
	unsigned char extra;

	while (got < max) {
		ssize_t n = read(fd, buf + got, max - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return COFFER_ERR_IO;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got == max) {
		ssize_t n;

		do {
			n = read(fd, &extra, 1);
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			return COFFER_ERR_IO;
		if (n > 0)
			return COFFER_ERR_TOO_BIG;
	}
	*len = got;
	return COFFER_OK;
}

/*
 * Make a completed create or rename durable: the directory entry needs its
 * own fsync.  Failure here is reported because a key that vanishes after a
 * crash is as bad as one never written.
 */
int
fsync_parent(const char *path)
{
	char copy[PATH_MAX];
	int fd = -1, rc = COFFER_ERR_IO;

	if (strlen(path) >= sizeof(copy))
		return COFFER_ERR_INVALID;
	memcpy(copy, path, strlen(path) + 1);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return COFFER_ERR_IO;
	if (fsync(fd) == 0)
		rc = COFFER_OK;
	close(fd);
	return rc;
}

int
secfile_create(const char *path, const void *data, size_t len)
{
	int fd = -1, rc;

	fd = open(path, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return errno == EEXIST ? COFFER_ERR_CONFLICT : COFFER_ERR_IO;
	if ((rc = write_all(fd, data, len)) != COFFER_OK)
		goto out;
	if (fsync(fd) != 0) {
		rc = COFFER_ERR_IO;
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = COFFER_ERR_IO;
		goto out;
	}
	fd = -1;
	rc = fsync_parent(path);
out:
	if (fd >= 0)
		close(fd);
	if (rc != COFFER_OK && rc != COFFER_ERR_INVALID) {
		int saved = errno;

		/* Never leave half a key behind under the final name. */
		unlink(path);
		errno = saved;
	}
	return rc;
}

/*
 * The ssh rule: a secret file must be a regular file, ours, and closed to
 * group and others.  O_NONBLOCK keeps a FIFO planted under the name from
 * blocking the open; it has no effect on regular files.
 */
int
secfile_read(const char *path, void *buf, size_t max, size_t *len)
{
	struct stat sb;
	int fd = -1, rc;

	*len = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? COFFER_ERR_PERM : COFFER_ERR_IO;
	if (fstat(fd, &sb) != 0) {
		rc = COFFER_ERR_IO;
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & 077) != 0) {
		rc = COFFER_ERR_PERM;
		goto out;
	}
	if ((unsigned long long)sb.st_size > (unsigned long long)max) {
		rc = COFFER_ERR_TOO_BIG;
		goto out;
	}
	rc = read_bounded(fd, buf, max, len);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
file_read_all(const char *path, size_t max, char **out, size_t *len)
{
	unsigned char *buf = NULL;
	size_t got = 0;
	int fd = -1, rc;

	*out = NULL;
	*len = 0;
	if (max >= SIZE_MAX - 1)
		return COFFER_ERR_INVALID;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return COFFER_ERR_IO;
	if ((buf = malloc(max + 1)) == NULL) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	if ((rc = read_bounded(fd, buf, max, &got)) != COFFER_OK)
		goto out;
	buf[got] = '\0';
	*out = (char *)buf;
	buf = NULL; /* transferred */
	*len = got;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
file_write_atomic(const char *path, const void *data, size_t len,
    unsigned mode)
{
	char tmp[PATH_MAX];
	int fd = -1, rc, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return COFFER_ERR_INVALID;
	if ((fd = mkstemp(tmp)) < 0)
		return COFFER_ERR_IO;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
	    fchmod(fd, (mode_t)(mode & 07777)) != 0) {
		rc = COFFER_ERR_IO;
		goto out;
	}
	if ((rc = write_all(fd, data, len)) != COFFER_OK)
		goto out;
	if (fsync(fd) != 0) {
		rc = COFFER_ERR_IO;
		goto out;
	}
	n = close(fd);
	fd = -1;
	if (n != 0) {
		rc = COFFER_ERR_IO;
		goto out;
	}
	if (rename(tmp, path) != 0) {
		rc = COFFER_ERR_IO;
		goto out;
	}
	return fsync_parent(path);
out:
	n = errno; /* keep the cause for the caller's message */
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = n;
	return rc;
}
