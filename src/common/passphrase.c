/*
 * passphrase.c - passphrase from a 0600 file or from the terminal with echo
 * off (termios), never from the command line or the environment, where
 * other users could read it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/err.h"
#include "coffer/passphrase.h"
#include "coffer/secfile.h"

static void
chomp(char *buf, size_t *len)
{
	size_t n = strcspn(buf, "\r\n");

	buf[n] = '\0';
	*len = n;
}

static int
from_file(const char *file, char *buf, size_t bufsz, size_t *len)
{
	size_t n = 0;
	int rc;

	rc = secfile_read(file, buf, bufsz - 1, &n);
	if (rc != COFFER_OK)
		return rc;
	buf[n] = '\0';
	chomp(buf, len);
	return *len > 0 ? COFFER_OK : COFFER_ERR_USAGE;
}

/* One line from the terminal with echo off. */
static int
prompt_once(int fd, const char *prompt, char *buf, size_t bufsz, size_t *len)
{
	struct termios old, quiet;
	size_t n = 0;
	ssize_t r;
	char c;
	int restore = 0;

	if (write(fd, prompt, strlen(prompt)) < 0)
		return COFFER_ERR_IO;
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	while ((r = read(fd, &c, 1)) == 1 && c != '\n' && c != '\r')
		if (n + 1 < bufsz)
			buf[n++] = c;
	buf[n] = '\0';
	c = 0;
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		return COFFER_ERR_IO;
	*len = n;
	if (r < 0)
		return COFFER_ERR_IO;
	return n > 0 ? COFFER_OK : COFFER_ERR_USAGE;
}

int
passphrase_get(const char *file, const char *prompt, int confirm, char *buf,
    size_t bufsz, size_t *len)
{
	char *again = NULL;
	size_t againlen = 0;
	int fd, rc;

	*len = 0;
	if (file != NULL)
		return from_file(file, buf, bufsz, len);
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) < 0)
		return COFFER_ERR_USAGE;
	rc = prompt_once(fd, prompt, buf, bufsz, len);
	if (rc == COFFER_OK && confirm) {
		rc = COFFER_ERR_NOMEM;
		if ((again = sodium_malloc(bufsz)) == NULL)
			goto out;
		rc = prompt_once(fd, "Again: ", again, bufsz, &againlen);
		if (rc == COFFER_OK && (againlen != *len ||
		    sodium_memcmp(again, buf, *len) != 0))
			rc = COFFER_ERR_USAGE;
	}
out:
	if (again != NULL)
		sodium_free(again);
	if (rc != COFFER_OK) {
		sodium_memzero(buf, bufsz);
		*len = 0;
	}
	close(fd);
	return rc;
}
