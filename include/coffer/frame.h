/*
 * frame.h - length-prefixed frames on a stream socket: a 4-byte big-endian
 * length followed by that many bytes.  The length is checked against the
 * caller's cap before any allocation.  Zero-length frames are invalid.
 */
#ifndef COFFER_FRAME_H
#define COFFER_FRAME_H

#include <stddef.h>

#define FRAME_MAX           (1024u * 1024u) /* after the handshake */
#define FRAME_HANDSHAKE_MAX 1024u           /* during the handshake */

#define FRAME_HEADER_BYTES  4

/* Write one frame; retries on EINTR and short writes.  COFFER_ERR_IO. */
int frame_write(int fd, const unsigned char *buf, size_t len);

/* The 4-byte header of a frame whose body is len (<= UINT32_MAX) bytes. */
void frame_header_put(unsigned char hdr[FRAME_HEADER_BYTES], size_t len);

/* Write bytes that already form whole frames, header included, as
 * frame_write does.  COFFER_ERR_IO. */
int frame_write_raw(int fd, const unsigned char *p, size_t n);

/*
 * Read one frame of at most max bytes into a malloc'd buffer the caller
 * frees.  COFFER_ERR_EOF on a clean close before the first byte,
 * COFFER_ERR_TOO_BIG if the declared length exceeds max (nothing more is
 * read), COFFER_ERR_PROTO for a zero length, COFFER_ERR_IO otherwise.
 */
int frame_read(int fd, size_t max, unsigned char **out, size_t *outlen);

/*
 * A frame read in pieces from a non-blocking socket (the daemon's event
 * loop, server.c): the state between the pieces.  Zero it to start;
 * frame_reader_reset frees a partial frame.
 */
struct frame_reader {
	unsigned char hdr[FRAME_HEADER_BYTES];
	size_t hgot;             /* header bytes in */
	unsigned char *body;     /* malloc'd once the header is in */
	size_t len, got;         /* declared body length, bytes in */
};

/*
 * Read what has arrived of the current frame, never blocking and never
 * past its end (so the socket, not this buffer, holds whatever follows:
 * readiness is the socket's).  *done is set when the frame is whole;
 * take it with frame_reader_take.  Errors as frame_read; on an error the
 * caller resets the reader.
 */
int frame_reader_fill(struct frame_reader *fr, int fd, size_t max, int *done);

/* Hand the whole frame's body (malloc'd) to the caller; the reader is
 * ready for the next frame. */
void frame_reader_take(struct frame_reader *fr, unsigned char **out,
    size_t *outlen);

void frame_reader_reset(struct frame_reader *fr);

#endif
