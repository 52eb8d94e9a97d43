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

/* The length a frame header declares. */
static size_t
frame_header_get(const unsigned char hdr[FRAME_HEADER])
{
	return ((size_t)hdr[0] << 24) | ((size_t)hdr[1] << 16) |
	    ((size_t)hdr[2] << 8) | (size_t)hdr[3];
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
	len = frame_header_get(hdr);
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

/* --- reading in pieces from a non-blocking socket ---------------------- */

/*
 * recv() without blocking.  1 if bytes came, 0 if none are there yet;
 * otherwise a status: COFFER_ERR_EOF for a close, COFFER_ERR_IO.
 */
static int
frame_recv_some(int fd, unsigned char *p, size_t n, size_t *got)
{
	ssize_t r;

	do
		r = recv(fd, p, n, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 :
		    -COFFER_ERR_IO;
	if (r == 0)
		return -COFFER_ERR_EOF;
	*got += (size_t)r;
	return 1;
}

/* The header is in: check its length and make room for the body. */
static int
frame_reader_start_body(struct frame_reader *fr, size_t max)
{
	fr->len = frame_header_get(fr->hdr);
	if (fr->len == 0)
		return COFFER_ERR_PROTO;
	if (fr->len > max)
		return COFFER_ERR_TOO_BIG;
	if ((fr->body = malloc(fr->len)) == NULL)
		return COFFER_ERR_NOMEM;
	return COFFER_OK;
}

int
frame_reader_fill(struct frame_reader *fr, int fd, size_t max, int *done)
{
	int r;

	*done = 0;
	while (fr->hgot < FRAME_HEADER) {
		r = frame_recv_some(fd, fr->hdr + fr->hgot,
		    FRAME_HEADER - fr->hgot, &fr->hgot);
		if (r == 0)
			return COFFER_OK;
		if (r < 0)	/* a close inside the header is a truncation */
			return fr->hgot > 0 && r == -COFFER_ERR_EOF ?
			    COFFER_ERR_IO : -r;
		if (fr->hgot == FRAME_HEADER &&
		    (r = frame_reader_start_body(fr, max)) != COFFER_OK)
			return r;
	}
	while (fr->got < fr->len) {
		r = frame_recv_some(fd, fr->body + fr->got, fr->len - fr->got,
		    &fr->got);
		if (r == 0)
			return COFFER_OK;
		if (r < 0)
			return COFFER_ERR_IO;	/* a truncated body */
	}
	*done = 1;
	return COFFER_OK;
}

void
frame_reader_take(struct frame_reader *fr, unsigned char **out,
    size_t *outlen)
{
	*out = fr->body;
	*outlen = fr->len;
	fr->body = NULL;
	frame_reader_reset(fr);
}

void
frame_reader_reset(struct frame_reader *fr)
{
	free(fr->body);
	fr->body = NULL;
	fr->hgot = fr->len = fr->got = 0;
}
