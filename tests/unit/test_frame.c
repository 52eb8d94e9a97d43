/*
 * test_frame.c - length-prefixed framing over a socketpair: the byte layout,
 * the cap checked before the body is read, clean and unclean closes, and
 * the same read in pieces without blocking (frame_reader).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "coffer/err.h"
#include "coffer/frame.h"

struct pair {
	int a;
	int b;
};

static int
setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int fds[2];

	if (p == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
		free(p);
		return -1;
	}
	p->a = fds[0];
	p->b = fds[1];
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	struct pair *p = *state;

	if (p->a >= 0)
		close(p->a);
	if (p->b >= 0)
		close(p->b);
	free(p);
	return 0;
}

static void
raw_write(int fd, const unsigned char *buf, size_t n)
{
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
}

static void
test_round_trip(void **state)
{
	struct pair *p = *state;
	unsigned char *got = NULL;
	size_t n = 0;

	assert_int_equal(frame_write(p->a, (const unsigned char *)"hello", 5),
	    COFFER_OK);
	assert_int_equal(frame_read(p->b, 100, &got, &n), COFFER_OK);
	assert_int_equal(n, 5);
	assert_memory_equal(got, "hello", 5);
	free(got);
}

static void
test_layout_is_big_endian_length(void **state)
{
	static const unsigned char want[] = { 0, 0, 1, 2, 'x' };
	struct pair *p = *state;
	unsigned char body[258], raw[262];

	memset(body, 'x', sizeof(body));
	assert_int_equal(frame_write(p->a, body, sizeof(body)), COFFER_OK);
	assert_int_equal(read(p->b, raw, sizeof(raw)), (ssize_t)sizeof(raw));
	assert_memory_equal(raw, want, sizeof(want));
}

static void
test_zero_length(void **state)
{
	static const unsigned char zero[] = { 0, 0, 0, 0 };
	struct pair *p = *state;
	unsigned char *got = NULL;
	size_t n = 7;

	assert_int_equal(frame_write(p->a, (const unsigned char *)"x", 0),
	    COFFER_ERR_PROTO);
	raw_write(p->a, zero, sizeof(zero));
	assert_int_equal(frame_read(p->b, 100, &got, &n), COFFER_ERR_PROTO);
	assert_null(got);
	assert_int_equal(n, 0);
}

/* Over the cap: refused from the header alone, the body stays unread. */
static void
test_over_cap_reads_no_body(void **state)
{
	static const unsigned char hdr[] = { 0, 0, 0, 11 };
	struct pair *p = *state;
	unsigned char *got = NULL, next[3];
	size_t n = 0;

	raw_write(p->a, hdr, sizeof(hdr));
	raw_write(p->a, (const unsigned char *)"abc", 3);
	assert_int_equal(frame_read(p->b, 10, &got, &n), COFFER_ERR_TOO_BIG);
	assert_null(got);
	assert_int_equal(read(p->b, next, 3), 3);
	assert_memory_equal(next, "abc", 3);
}

static void
test_huge_declared_length(void **state)
{
	static const unsigned char hdr[] = { 0xff, 0xff, 0xff, 0xff };
	struct pair *p = *state;
	unsigned char *got = NULL;
	size_t n = 0;

	raw_write(p->a, hdr, sizeof(hdr));
	assert_int_equal(frame_read(p->b, FRAME_MAX, &got, &n),
	    COFFER_ERR_TOO_BIG);
	assert_null(got);
}

static void
test_exactly_at_cap(void **state)
{
	struct pair *p = *state;
	unsigned char body[10] = { 0 }, *got = NULL;
	size_t n = 0;

	assert_int_equal(frame_write(p->a, body, sizeof(body)), COFFER_OK);
	assert_int_equal(frame_read(p->b, 10, &got, &n), COFFER_OK);
	assert_int_equal(n, 10);
	free(got);
}

static void
test_clean_eof(void **state)
{
	struct pair *p = *state;
	unsigned char *got = NULL;
	size_t n = 0;

	close(p->a);
	p->a = -1;
	assert_int_equal(frame_read(p->b, 100, &got, &n), COFFER_ERR_EOF);
	assert_null(got);
}

static void
test_eof_inside_header(void **state)
{
	static const unsigned char half[] = { 0, 0 };
	struct pair *p = *state;
	unsigned char *got = NULL;
	size_t n = 0;

	raw_write(p->a, half, sizeof(half));
	close(p->a);
	p->a = -1;
	assert_int_equal(frame_read(p->b, 100, &got, &n), COFFER_ERR_IO);
	assert_null(got);
}

static void
test_eof_inside_body(void **state)
{
	static const unsigned char hdr[] = { 0, 0, 0, 5, 'a', 'b' };
	struct pair *p = *state;
	unsigned char *got = NULL;
	size_t n = 0;

	raw_write(p->a, hdr, sizeof(hdr));
	close(p->a);
	p->a = -1;
	assert_int_equal(frame_read(p->b, 100, &got, &n), COFFER_ERR_IO);
	assert_null(got);
}

static void
test_write_to_closed_peer(void **state)
{
	struct pair *p = *state;

	close(p->b);
	p->b = -1;
	/* MSG_NOSIGNAL: an error, not a SIGPIPE that kills the test. */
	assert_int_equal(frame_write(p->a, (const unsigned char *)"x", 1),
	    COFFER_ERR_IO);
}

static void
test_bad_fd(void **state)
{
	unsigned char *got = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(frame_write(-1, (const unsigned char *)"x", 1),
	    COFFER_ERR_IO);
	assert_int_equal(frame_read(-1, 10, &got, &n), COFFER_ERR_IO);
}

static void
test_pipe_not_socket(void **state)
{
	int fds[2];
	unsigned char *got = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(frame_write(fds[1], (const unsigned char *)"ab", 2),
	    COFFER_OK);
	assert_int_equal(frame_read(fds[0], 2, &got, &n), COFFER_OK);
	assert_memory_equal(got, "ab", 2);
	free(got);
	close(fds[0]);
	close(fds[1]);
}

struct big_writer {
	int fd;
	unsigned char *buf;
	size_t len;
	int status;
};

static void *
big_write(void *arg)
{
	struct big_writer *w = arg;

	w->status = frame_write(w->fd, w->buf, w->len);
	return NULL;
}

/* A full-size frame is far bigger than the socket buffer: short writes. */
static void
test_max_frame(void **state)
{
	struct pair *p = *state;
	struct big_writer w = { p->a, NULL, FRAME_MAX, -1 };
	unsigned char *got = NULL;
	pthread_t th;
	size_t i, n = 0;

	w.buf = malloc(FRAME_MAX);
	assert_non_null(w.buf);
	for (i = 0; i < FRAME_MAX; i++)
		w.buf[i] = (unsigned char)(i * 7);
	assert_int_equal(pthread_create(&th, NULL, big_write, &w), 0);
	assert_int_equal(frame_read(p->b, FRAME_MAX, &got, &n), COFFER_OK);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.status, COFFER_OK);
	assert_int_equal(n, FRAME_MAX);
	assert_memory_equal(got, w.buf, FRAME_MAX);
	free(got);
	free(w.buf);
}

/* --- frame_reader: a frame read in pieces, never blocking ------------- */

/* Byte by byte across header and body; each piece returns at once. */
static void
test_reader_pieces(void **state)
{
	struct pair *p = *state;
	static const unsigned char f[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o',
	    0, 0, 0, 2, 'o', 'k' };
	struct frame_reader fr;
	unsigned char *body = NULL;
	size_t len = 0, i;
	int done = 1;

	memset(&fr, 0, sizeof(fr));
	assert_int_equal(frame_reader_fill(&fr, p->b, 16, &done), COFFER_OK);
	assert_int_equal(done, 0);	/* nothing there yet: no block */
	for (i = 0; i < 9; i++) {
		assert_int_equal(write(p->a, f + i, 1), 1);
		assert_int_equal(frame_reader_fill(&fr, p->b, 16, &done), COFFER_OK);
		assert_int_equal(done, i == 8);
	}
	frame_reader_take(&fr, &body, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(body, "hello", 5);
	free(body);
	/* the next frame, whole in one write, is read no further than its end */
	assert_int_equal(write(p->a, f + 9, 6), 6);
	assert_int_equal(write(p->a, "\0", 1), 1);
	assert_int_equal(frame_reader_fill(&fr, p->b, 16, &done), COFFER_OK);
	assert_int_equal(done, 1);
	frame_reader_take(&fr, &body, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(body, "ok", 2);
	free(body);
	assert_int_equal(frame_reader_fill(&fr, p->b, 16, &done), COFFER_OK);
	assert_int_equal(done, 0);
	assert_int_equal(fr.hgot, 1);	/* the byte after it stayed queued */
	frame_reader_reset(&fr);
}

static void
test_reader_limits(void **state)
{
	struct pair *p = *state;
	static const unsigned char zero[] = { 0, 0, 0, 0 };
	static const unsigned char big[] = { 0, 0, 0, 17, 'x' };
	struct frame_reader fr;
	int done = 0;

	memset(&fr, 0, sizeof(fr));
	assert_int_equal(write(p->a, zero, 4), 4);
	assert_int_equal(frame_reader_fill(&fr, p->b, 16, &done), COFFER_ERR_PROTO);
	frame_reader_reset(&fr);
	assert_int_equal(write(p->a, big, 5), 5);
	assert_int_equal(frame_reader_fill(&fr, p->b, 16, &done), COFFER_ERR_TOO_BIG);
	assert_null(fr.body);	/* nothing allocated for it */
	frame_reader_reset(&fr);
}

static void
test_reader_closes(void **state)
{
	struct pair *p = *state;
	struct frame_reader fr;
	int done = 0, fds[2];

	memset(&fr, 0, sizeof(fr));
	/* a close between frames is a clean end */
	close(p->a);
	p->a = -1;
	assert_int_equal(frame_reader_fill(&fr, p->b, 16, &done), COFFER_ERR_EOF);
	/* inside the header or the body it is a truncation */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(write(fds[0], "\0\0", 2), 2);
	close(fds[0]);
	assert_int_equal(frame_reader_fill(&fr, fds[1], 16, &done), COFFER_ERR_IO);
	frame_reader_reset(&fr);
	close(fds[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(write(fds[0], "\0\0\0\3ab", 6), 6);
	close(fds[0]);
	assert_int_equal(frame_reader_fill(&fr, fds[1], 16, &done), COFFER_ERR_IO);
	frame_reader_reset(&fr);
	close(fds[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_layout_is_big_endian_length,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_length, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_over_cap_reads_no_body,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_declared_length,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_exactly_at_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_clean_eof, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_eof_inside_header, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_eof_inside_body, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_write_to_closed_peer,
		    setup, teardown),
		cmocka_unit_test(test_bad_fd),
		cmocka_unit_test(test_pipe_not_socket),
		cmocka_unit_test_setup_teardown(test_reader_pieces, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reader_limits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reader_closes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_max_frame, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
