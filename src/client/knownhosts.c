/*
 * knownhosts.c - the client's file of pinned daemon identity keys
 * (format in knownhosts.h and docs/client.md).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/keys.h"
#include "coffer/err.h"
#include "coffer/knownhosts.h"

#define KH_TYPE     "coffer-ed25519"
#define KH_FILE_MAX (1024L * 1024L)

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

int
kh_endpoint_unix(const char *path, char *out, size_t outsz)
{
	char cwd[4096];
	int n;

	if (path == NULL || *path == '\0' || has_control(path))
		return COFFER_ERR_USAGE;
	if (path[0] == '/')
		n = snprintf(out, outsz, "unix:%s", path);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		return COFFER_ERR_IO;
	else
		n = snprintf(out, outsz, "unix:%s%s%s", cwd,
		    strcmp(cwd, "/") == 0 ? "" : "/", path);
	if (n < 0 || (size_t)n >= outsz || (size_t)n >= KH_ENDPOINT_MAX)
		return COFFER_ERR_TOO_BIG;
	return COFFER_OK;
}

int
kh_endpoint_tcp(const char *hostport, char *out, size_t outsz)
{
	const char *colon;
	size_t i, hlen;
	int n;

	if (hostport == NULL || has_control(hostport) ||
	    strchr(hostport, ' ') != NULL ||
	    (colon = strrchr(hostport, ':')) == NULL || colon == hostport ||
	    colon[1] == '\0' || strspn(colon + 1, "0123456789") !=
	    strlen(colon + 1))
		return COFFER_ERR_USAGE;
	hlen = (size_t)(colon - hostport);
	n = snprintf(out, outsz, "tcp:%s", hostport);
	if (n < 0 || (size_t)n >= outsz || (size_t)n >= KH_ENDPOINT_MAX)
		return COFFER_ERR_TOO_BIG;
	/* Host names are case-insensitive; one spelling, one pin. */
	for (i = 4; i < 4 + hlen; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return COFFER_OK;
}

int
kh_format(const char *endpoint, const unsigned char pk[KH_PUBKEY_BYTES],
    char *buf, size_t bufsz)
{
	char b64[sodium_base64_ENCODED_LEN(KH_PUBKEY_BYTES,
	    sodium_base64_VARIANT_ORIGINAL)];
	int n;

	if (has_control(endpoint) || strlen(endpoint) >= KH_ENDPOINT_MAX)
		return COFFER_ERR_USAGE;
	sodium_bin2base64(b64, sizeof(b64), pk, KH_PUBKEY_BYTES,
	    sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(buf, bufsz, "%s %s %s", endpoint, KH_TYPE, b64);
	if (n < 0 || (size_t)n >= bufsz)
		return COFFER_ERR_TOO_BIG;
	return COFFER_OK;
}

/* Refuse a file others can write, or that is not a regular file we own. */
static int
check_mode(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return COFFER_ERR_IO;
	if (!S_ISREG(st.st_mode) || (st.st_mode & 022) != 0 ||
	    (st.st_uid != getuid() && st.st_uid != 0))
		return COFFER_ERR_PERM;
	if (st.st_size > KH_FILE_MAX)
		return COFFER_ERR_TOO_BIG;
	return COFFER_OK;
}

enum line_kind { LINE_OTHER, LINE_MATCH, LINE_DIFFERENT };

/*
 * Classify one line (without its newline) for endpoint.  A line for our
 * endpoint that cannot be parsed counts as a different key: silently
 * re-pinning over a damaged entry would defeat the pin.
 */
static enum line_kind
classify(const char *line, const char *endpoint,
    const unsigned char pk[KH_PUBKEY_BYTES])
{
	size_t elen = strlen(endpoint), b64len, binlen = 0;
	const char *rest, *b64;
	unsigned char key[KH_PUBKEY_BYTES];
	const char *end = NULL;

	if (strncmp(line, endpoint, elen) != 0 ||
	    (line[elen] != ' ' && line[elen] != '\0'))
		return LINE_OTHER;
	rest = line + elen;
	if (strncmp(rest, " " KH_TYPE " ", sizeof(KH_TYPE) + 1) != 0) {
		/* Maybe a longer endpoint that starts with ours plus a space. */
		return strstr(rest, " " KH_TYPE " ") != NULL ? LINE_OTHER :
		    LINE_DIFFERENT;
	}
	b64 = rest + sizeof(KH_TYPE) + 1;
	b64len = strlen(b64);
	if (!keys_b64_clean(b64, b64len) ||
	    sodium_base642bin(key, sizeof(key), b64, b64len, NULL, &binlen,
	    &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    binlen != sizeof(key) || end != b64 + b64len)
		return LINE_DIFFERENT;
	return sodium_memcmp(key, pk, sizeof(key)) == 0 ? LINE_MATCH :
	    LINE_DIFFERENT;
}

static void
chomp(char *s, ssize_t *n)
{
	while (*n > 0 && (s[*n - 1] == '\n' || s[*n - 1] == '\r'))
		s[--*n] = '\0';
}

int
kh_check(const char *path, const char *endpoint,
    const unsigned char pk[KH_PUBKEY_BYTES], size_t *line)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int fd = -1, rc, found = 0;

	if (line != NULL)
		*line = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? COFFER_ERR_NOT_FOUND : COFFER_ERR_IO;
	if ((rc = check_mode(fd)) != COFFER_OK) {
		close(fd);
		return rc;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return COFFER_ERR_IO;
	}
	rc = COFFER_ERR_NOT_FOUND;
	while ((n = getline(&buf, &cap, f)) >= 0) {
		lineno++;
		chomp(buf, &n);
		if (n == 0 || buf[0] == '#')
			continue;
		switch (n > KH_LINE_MAX ? LINE_OTHER :
		    classify(buf, endpoint, pk)) {
		case LINE_MATCH:
			found = 1;
			break;
		case LINE_DIFFERENT:
			if (line != NULL)
				*line = lineno;
			rc = COFFER_ERR_HOSTKEY;
			goto out;
		case LINE_OTHER:
			break;
		}
	}
	rc = ferror(f) ? COFFER_ERR_IO : found ? COFFER_OK :
	    COFFER_ERR_NOT_FOUND;
out:
	free(buf);
	fclose(f);
	return rc;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return COFFER_ERR_IO;
		p += w;
		len -= (size_t)w;
	}
	return COFFER_OK;
}

int
kh_add(const char *path, const char *endpoint,
    const unsigned char pk[KH_PUBKEY_BYTES])
{
	char line[KH_LINE_MAX + 2];
	size_t len;
	int fd = -1, rc;

	if ((rc = kh_format(endpoint, pk, line, sizeof(line) - 1)) != COFFER_OK)
		return rc;
	len = strlen(line);
	line[len++] = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return errno == ELOOP ? COFFER_ERR_PERM : COFFER_ERR_IO;
	if ((rc = check_mode(fd)) == COFFER_OK &&
	    (rc = write_all(fd, line, len)) == COFFER_OK && fsync(fd) != 0)
		rc = COFFER_ERR_IO;
	if (close(fd) != 0 && rc == COFFER_OK)
		rc = COFFER_ERR_IO;
	return rc;
}

/* Copy every line of in that is not for endpoint to fd. */
static int
copy_other_lines(FILE *in, int fd, const char *endpoint, size_t *removed)
{
	static const unsigned char zero[KH_PUBKEY_BYTES];
	char *buf = NULL;
	size_t cap = 0, elen = strlen(endpoint);
	ssize_t n;
	int rc = COFFER_OK;

	while (rc == COFFER_OK && (n = getline(&buf, &cap, in)) >= 0) {
		char *copy = strndup(buf, (size_t)n);
		ssize_t cn = n;

		if (copy == NULL) {
			rc = COFFER_ERR_NOMEM;
			break;
		}
		chomp(copy, &cn);
		/* Ours whatever the key: classify() says MATCH or DIFFERENT. */
		if (cn > 0 && copy[0] != '#' && strncmp(copy, endpoint, elen) == 0
		    && classify(copy, endpoint, zero) != LINE_OTHER)
			(*removed)++;
		else
			rc = write_all(fd, buf, (size_t)n);
		free(copy);
	}
	if (rc == COFFER_OK && ferror(in))
		rc = COFFER_ERR_IO;
	free(buf);
	return rc;
}

/*
 * Rewrite path without endpoint's lines, then with add (a whole line with
 * its newline) at the end when not NULL; temporary file, fsync, rename.
 */
static int
rewrite(const char *path, const char *endpoint, const char *add,
    size_t *removed)
{
	char *tmp = NULL;
	FILE *in = NULL;
	int fd = -1, rc;

	*removed = 0;
	if ((in = fopen(path, "re")) == NULL)
		return errno == ENOENT ? COFFER_OK : COFFER_ERR_IO;
	if ((rc = check_mode(fileno(in))) != COFFER_OK)
		goto out;
	if ((tmp = malloc(strlen(path) + sizeof(".XXXXXX"))) == NULL) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	memcpy(tmp, path, strlen(path));
	memcpy(tmp + strlen(path), ".XXXXXX", sizeof(".XXXXXX"));
	if ((fd = mkstemp(tmp)) < 0) {  /* mode 0600 */
		rc = COFFER_ERR_IO;
		goto out;
	}
	if ((rc = copy_other_lines(in, fd, endpoint, removed)) != COFFER_OK ||
	    (add != NULL && (rc = write_all(fd, add, strlen(add))) !=
	    COFFER_OK))
		goto out;
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		rc = COFFER_ERR_IO;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = COFFER_ERR_IO;
		goto out;
	}
	free(tmp);
	tmp = NULL; /* renamed into place */
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	fclose(in);
	return rc;
}

int
kh_remove(const char *path, const char *endpoint, size_t *removed)
{
	return rewrite(path, endpoint, NULL, removed);
}

int
kh_replace(const char *path, const char *endpoint,
    const unsigned char pk[KH_PUBKEY_BYTES])
{
	char line[KH_LINE_MAX + 2];
	size_t len, removed = 0;
	int rc;

	if ((rc = kh_format(endpoint, pk, line, sizeof(line) - 1)) != COFFER_OK)
		return rc;
	len = strlen(line);
	line[len++] = '\n';
	line[len] = '\0';
	if ((rc = rewrite(path, endpoint, line, &removed)) != COFFER_OK)
		return rc;
	/* rewrite() found no file: nothing was pinned, so pin afresh */
	return removed == 0 && access(path, F_OK) != 0 ?
	    kh_add(path, endpoint, pk) : COFFER_OK;
}

int
kh_lookup(const char *path, const char *endpoint,
    unsigned char pk[KH_PUBKEY_BYTES])
{
	FILE *f = NULL;
	char *buf = NULL;
	const char *b64, *end = NULL;
	size_t cap = 0, elen = strlen(endpoint), bin = 0;
	ssize_t n;
	int fd, rc = COFFER_ERR_NOT_FOUND;

	memset(pk, 0, KH_PUBKEY_BYTES);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? COFFER_ERR_NOT_FOUND : COFFER_ERR_IO;
	if ((rc = check_mode(fd)) != COFFER_OK || (f = fdopen(fd, "r")) ==
	    NULL) {
		close(fd);
		return rc != COFFER_OK ? rc : COFFER_ERR_IO;
	}
	rc = COFFER_ERR_NOT_FOUND;
	while (rc == COFFER_ERR_NOT_FOUND && (n = getline(&buf, &cap, f)) >= 0) {
		chomp(buf, &n);
		if (n == 0 || n > KH_LINE_MAX || buf[0] == '#' ||
		    classify(buf, endpoint, pk) == LINE_OTHER)
			continue;
		rc = COFFER_ERR_HOSTKEY; /* ours; the key must parse */
		if (strncmp(buf + elen, " " KH_TYPE " ", sizeof(KH_TYPE) + 1) !=
		    0)
			break;
		b64 = buf + elen + sizeof(KH_TYPE) + 1;
		if (keys_b64_clean(b64, strlen(b64)) &&
		    sodium_base642bin(pk, KH_PUBKEY_BYTES, b64, strlen(b64),
		    NULL, &bin, &end, sodium_base64_VARIANT_ORIGINAL) == 0 &&
		    bin == KH_PUBKEY_BYTES && end == b64 + strlen(b64))
			rc = COFFER_OK;
		else
			memset(pk, 0, KH_PUBKEY_BYTES);
	}
	free(buf);
	fclose(f);
	return rc;
}
