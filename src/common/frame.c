/*
 * frame.c - length-prefixed frames on a stream socket (docs/protocol.md,
 * "Framing").  The declared length is checked against the caller's cap
 * before a byte of the body is read or a byte of memory is allocated.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coffer/err.h"
#include "coffer/frame.h"

#define FRAME_HEADER FRAME_HEADER_BYTES

/*
 * send() with MSG_NOSIGNAL so a vanished peer is an error, not SIGPIPE;
 * plain write() for fds that are not sockets (pipes in tests, files).
 */
static ssize_t
frame_send_some(int fd, const unsigned char *p, size_t n)
{
	ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

	if (w < 0 && errno == ENOTSOCK)
		w = write(fd, p, n);
	return w;
}

static int
frame_write_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = frame_send_some(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return COFFER_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return COFFER_OK;
}

/*
 * Read exactly n bytes.  *got tells how many arrived before a close, so the
 * caller can tell a clean end between frames from a truncated frame.
 */
static int
frame_read_all(int fd, unsigned char *p, size_t n, size_t *got)
{
	ssize_t r;

	*got = 0;
	while (*got < n) {
		r = read(fd, p + *got, n - *got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return COFFER_ERR_IO;
		if (r == 0)
			return COFFER_ERR_EOF;
		*got += (size_t)r;
	}
	return COFFER_OK;
}

void
frame_header_put(unsigned char hdr[FRAME_HEADER_BYTES], size_t len)
{
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
}

int
frame_write_raw(int fd, const unsigned char *p, size_t n)
{
	return frame_write_all(fd, p, n);
}

int
frame_write(int fd, const unsigned char *buf, size_t len)
{
	unsigned char hdr[FRAME_HEADER];
	int r;

	if (len == 0 || buf == NULL)
		return COFFER_ERR_PROTO;
	if (len > UINT32_MAX)
		return COFFER_ERR_TOO_BIG;
	frame_header_put(hdr, len);
	if ((r = frame_write_all(fd, hdr, sizeof(hdr))) != COFFER_OK)
		return r;
	return frame_write_all(fd, buf, len);
}

int
frame_read(int fd, size_t max, unsigned char **out, size_t *outlen)
{
	unsigned char hdr[FRAME_HEADER];
	unsigned char *body = NULL;
	size_t len, got;
	int r;

	*out = NULL;
	*outlen = 0;
	r = frame_read_all(fd, hdr, sizeof(hdr), &got);
	if (r == COFFER_ERR_EOF && got > 0)
		r = COFFER_ERR_IO;	/* closed inside the header */
	if (r != COFFER_OK)
		goto out;
	len = ((size_t)hdr[0] << 24) | ((size_t)hdr[1] << 16) |
	    ((size_t)hdr[2] << 8) | (size_t)hdr[3];
	if (len == 0) {
		r = COFFER_ERR_PROTO;
		goto out;
	}
	if (len > max) {
		r = COFFER_ERR_TOO_BIG;
		goto out;
	}
	if ((body = malloc(len)) == NULL) {
		r = COFFER_ERR_NOMEM;
		goto out;
	}
	r = frame_read_all(fd, body, len, &got);
	if (r == COFFER_ERR_EOF)
		r = COFFER_ERR_IO;	/* truncated body */
	if (r != COFFER_OK)
		goto out;
	*out = body;
	body = NULL;	/* transferred */
	*outlen = len;
out:
	free(body);
	return r;
}
