/*
 * coffer-probe.c - a hostile client for the end-to-end tests.  It speaks
 * the real protocol through a frame-aware proxy thread that can flip a bit,
 * replay or reorder frames after the handshake, or sends malformed bytes
 * itself, and reports whether the daemon reacted as it must.
 *
 * usage: coffer-probe SOCKET USER KEYFILE MODE [HEX]
 * modes: oversize, hostile-hs, tamper, replay, reorder, cbor HEX, flood,
 *        stall, dribble, pipeline
 * exit 0: the daemon behaved as required; 1: it did not; 2: usage/setup.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/err.h"
#include "coffer/frame.h"
#include "coffer/keys.h"
#include "coffer/msg.h"
#include "coffer/session.h"

enum mangle { M_NONE, M_TAMPER, M_REPLAY, M_REORDER };

struct proxy {
	int client_fd, daemon_fd;
	enum mangle mode;
};

static int
connect_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

static int
accept_any(void *arg, const unsigned char pk[32])
{
	(void)arg;
	(void)pk;
	return COFFER_OK;
}

/* True if the daemon closes fd within a few seconds without answering. */
static int
closed_by_peer(int fd)
{
	struct timeval tv = { 5, 0 };
	unsigned char b;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return read(fd, &b, 1) <= 0;
}

/* daemon -> client: copy frames unchanged until either side closes. */
static void *
copy_back(void *arg)
{
	struct proxy *p = arg;
	unsigned char *buf;
	size_t len;

	while (frame_read(p->daemon_fd, FRAME_MAX, &buf, &len) == COFFER_OK) {
		frame_write(p->client_fd, buf, len);
		free(buf);
	}
	shutdown(p->client_fd, SHUT_RDWR);
	return NULL;
}

/*
 * client -> daemon: the two handshake frames pass; the first application
 * frames are mangled as asked.
 */
static void *
copy_forward(void *arg)
{
	struct proxy *p = arg;
	unsigned char *buf, *held = NULL;
	size_t len, heldlen = 0, n = 0;

	while (frame_read(p->client_fd, FRAME_MAX, &buf, &len) == COFFER_OK) {
		n++;
		if (n == 3 && p->mode == M_TAMPER)
			buf[len / 2] ^= 0x01;
		if (n == 3 && p->mode == M_REPLAY) {
			frame_write(p->daemon_fd, buf, len);
			usleep(200000);
		}
		if (n == 3 && p->mode == M_REORDER) {
			held = buf;
			heldlen = len;
			continue;
		}
		frame_write(p->daemon_fd, buf, len);
		free(buf);
		if (held != NULL) {
			frame_write(p->daemon_fd, held, heldlen);
			free(held);
			held = NULL;
		}
	}
	free(held);
	shutdown(p->daemon_fd, SHUT_WR);
	return NULL;
}

/* A sealed request frame, whole, for a caller that writes it itself. */
static int
seal_op(struct session *s, uint64_t id, const char *op, unsigned char **f,
    size_t *flen)
{
	cbor_item_t *m = msg_new_map();
	unsigned char *buf = NULL;
	size_t len;
	int rc;

	msg_put_uint(m, "id", id);
	msg_put_str(m, "op", op);
	msg_put(m, "args", msg_new_map());
	rc = msg_encode(m, &buf, &len);
	cbor_decref(&m);
	if (rc == COFFER_OK)
		rc = session_seal(s, buf, len, f, flen);
	free(buf);
	return rc;
}

static int
send_op(struct session *s, uint64_t id, const char *op)
{
	unsigned char *f = NULL;
	size_t flen = 0;
	int rc = seal_op(s, id, op, &f, &flen);

	if (rc == COFFER_OK)
		rc = frame_write_raw(session_fd(s), f, flen);
	free(f);
	return rc;
}

static int
send_request(struct session *s, uint64_t id)
{
	return send_op(s, id, "status");
}

static int
recv_ok(struct session *s)
{
	unsigned char *buf = NULL;
	size_t len;
	int rc = session_recv(s, &buf, &len);

	free(buf);
	return rc;
}

static struct session *
login(int fd, const char *user, const char *keyfile)
{
	unsigned char *sk = sodium_malloc(64);
	struct session *s = NULL;
	int rc;

	if (sk == NULL || userkey_load_secret(keyfile, NULL, 0, sk) !=
	    COFFER_OK) {
		fprintf(stderr, "probe: cannot load %s\n", keyfile);
		exit(2);
	}
	rc = session_client(fd, user, sk, accept_any, NULL, &s);
	sodium_free(sk);
	if (rc != COFFER_OK) {
		fprintf(stderr, "probe: handshake failed: %s\n",
		    coffer_strerror(rc));
		exit(1);
	}
	return s;
}

/* Run a session through the proxy with one kind of mangling. */
static int
probe_mangled(const char *sock, const char *user, const char *key,
    enum mangle mode)
{
	struct proxy p;
	pthread_t fw, bw;
	struct session *s;
	int sp[2], r1, r2;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		return 2;
	p.client_fd = sp[1];
	p.daemon_fd = connect_unix(sock);
	p.mode = mode;
	pthread_create(&fw, NULL, copy_forward, &p);
	pthread_create(&bw, NULL, copy_back, &p);
	s = login(sp[0], user, key);
	send_request(s, 1);
	if (mode == M_REORDER)
		send_request(s, 2);
	r1 = recv_ok(s);
	r2 = recv_ok(s);
	session_free(s);
	shutdown(sp[0], SHUT_RDWR);
	pthread_join(fw, NULL);
	pthread_join(bw, NULL);
	close(sp[0]);
	close(sp[1]);
	close(p.daemon_fd);
	printf("first answer: %s, second: %s\n", coffer_errname(r1),
	    coffer_errname(r2));
	switch (mode) {
	case M_TAMPER:  /* no answer at all: the session is dead */
	case M_REORDER:
		return r1 != COFFER_OK && r2 != COFFER_OK ? 0 : 1;
	case M_REPLAY:  /* the original is answered, the copy kills it */
		return r1 == COFFER_OK && r2 != COFFER_OK ? 0 : 1;
	default:
		return 2;
	}
}

static size_t
unhex(const char *hex, unsigned char *out, size_t max)
{
	size_t n = 0;

	if (sodium_hex2bin(out, max, hex, strlen(hex), NULL, &n, NULL) != 0)
		return 0;
	return n;
}

/* A valid session that sends raw bytes as a request: expect an error
 * response naming proto or too_big, and the session still usable. */
static int
probe_cbor(const char *sock, const char *user, const char *key,
    const char *hex)
{
	static unsigned char raw[65536];
	unsigned char *buf = NULL;
	cbor_item_t *resp = NULL, *err;
	char name[32] = "?";
	size_t len, n = unhex(hex, raw, sizeof(raw));
	struct session *s;
	int fd = connect_unix(sock), ok = 0;

	if (n == 0)
		return 2;
	s = login(fd, user, key);
	if (session_send(s, raw, n) != COFFER_OK ||
	    session_recv(s, &buf, &len) != COFFER_OK)
		goto out;
	if (msg_decode(buf, len, &resp) != COFFER_OK)
		goto out;
	err = (cbor_item_t *)msg_get(resp, "error");
	if (err != NULL)
		msg_get_str(err, "name", name, sizeof(name));
	printf("error: %s\n", name);
	/* The same session must still answer a good request. */
	ok = strcmp(name, "proto") == 0 || strcmp(name, "too_big") == 0;
	ok = ok && send_request(s, 9) == COFFER_OK && recv_ok(s) == COFFER_OK;
out:
	if (resp != NULL)
		cbor_decref(&resp);
	free(buf);
	session_free(s);
	close(fd);
	return ok ? 0 : 1;
}

/*
 * Ask and never read the answers: the daemon, which sends a read's answer
 * from its audit commit without blocking, must end this session rather
 * than stall (it closes the connection; our sends then fail or we read
 * to the end).
 */
static int
probe_flood(const char *sock, const char *user, const char *key)
{
	struct timeval tv = { 10, 0 };
	unsigned char buf[65536];
	struct session *s;
	int fd = connect_unix(sock), closed = 0;
	uint64_t i, sent = 0;
	ssize_t r;

	s = login(fd, user, key);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (i = 1; i <= 200000; i++, sent++)
		if (send_op(s, i, "whoami") != COFFER_OK)
			break;
	/* Whatever was answered, then the end - or a timeout if kept open. */
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		;
	closed = r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
	printf("%llu requests sent; daemon %s the connection\n",
	    (unsigned long long)sent, closed ? "closed" : "kept");
	session_free(s);
	close(fd);
	return closed && sent < 200000 ? 0 : 1;
}

/* The id of the next answer, or 0 if none came in 5 s or it failed. */
static uint64_t
answer_id(struct session *s)
{
	struct timeval tv = { 5, 0 };
	cbor_item_t *resp = NULL;
	unsigned char *buf = NULL;
	uint64_t id = 0;
	size_t len;
	int ok = 0;

	setsockopt(session_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (session_recv(s, &buf, &len) == COFFER_OK &&
	    msg_decode(buf, len, &resp) == COFFER_OK &&
	    msg_get_uint(resp, "id", &id) == COFFER_OK &&
	    msg_get_bool(resp, "ok", &ok) == COFFER_OK && !ok)
		id = 0;
	if (resp != NULL)
		cbor_decref(&resp);
	free(buf);
	return id;
}

#define STALLED 4

/*
 * Sessions that send part of a request and stop must not hold the
 * daemon's workers: with more of them than workers (run cofferd with
 * --workers 2), a fresh session must still be answered.
 */
static int
probe_stall(const char *sock, const char *user, const char *key)
{
	struct session *st[STALLED], *s;
	unsigned char *f = NULL;
	size_t flen = 0, i;
	int fd[STALLED], fresh, ok;

	for (i = 0; i < STALLED; i++) {
		fd[i] = connect_unix(sock);
		st[i] = login(fd[i], user, key);
		/* the header and half the body of a request, then nothing */
		if (seal_op(st[i], 1, "whoami", &f, &flen) != COFFER_OK ||
		    write(fd[i], f, flen / 2) != (ssize_t)(flen / 2))
			return 2;
		free(f);
		f = NULL;
	}
	fresh = connect_unix(sock);
	s = login(fresh, user, key);
	ok = send_op(s, 7, "whoami") == COFFER_OK && answer_id(s) == 7;
	printf("%d half-sent requests held; a fresh session was %s\n",
	    STALLED, ok ? "answered" : "not answered in 5 s");
	session_free(s);
	close(fresh);
	for (i = 0; i < STALLED; i++) {
		session_free(st[i]);
		close(fd[i]);
	}
	return ok ? 0 : 1;
}

/* A request sent a byte at a time is read across all its pieces. */
static int
probe_dribble(const char *sock, const char *user, const char *key)
{
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	unsigned char *f = NULL;
	struct session *s;
	size_t flen = 0, i;
	int fd = connect_unix(sock), ok;

	s = login(fd, user, key);
	if (seal_op(s, 5, "whoami", &f, &flen) != COFFER_OK)
		return 2;
	for (i = 0; i < flen; i++) {
		if (write(fd, f + i, 1) != 1)
			return 1;
		nanosleep(&pause, NULL);
	}
	free(f);
	ok = answer_id(s) == 5;
	printf("a request in %zu one-byte writes was %s\n", flen,
	    ok ? "answered" : "not answered");
	session_free(s);
	close(fd);
	return ok ? 0 : 1;
}

#define PIPELINED 3

/* Requests written back to back in one write are all answered, in order. */
static int
probe_pipeline(const char *sock, const char *user, const char *key)
{
	static const char *const op[PIPELINED] = { "whoami", "status",
	    "whoami" };
	unsigned char all[4096], *f = NULL;
	struct session *s;
	size_t n = 0, flen = 0, i;
	int fd = connect_unix(sock), ok = 1;

	s = login(fd, user, key);
	for (i = 0; i < PIPELINED; i++) {
		if (seal_op(s, 11 + i, op[i], &f, &flen) != COFFER_OK ||
		    n + flen > sizeof(all))
			return 2;
		memcpy(all + n, f, flen);
		n += flen;
		free(f);
		f = NULL;
	}
	if (write(fd, all, n) != (ssize_t)n)
		return 1;
	for (i = 0; i < PIPELINED; i++)
		ok = ok && answer_id(s) == 11 + i;
	printf("%d requests in one write: %s\n", PIPELINED,
	    ok ? "all answered in order" : "not all answered in order");
	session_free(s);
	close(fd);
	return ok ? 0 : 1;
}

static int
probe_raw(const char *sock, const unsigned char *bytes, size_t n)
{
	int fd = connect_unix(sock), closed;

	if (write(fd, bytes, n) != (ssize_t)n)
		return 2;
	closed = closed_by_peer(fd);
	close(fd);
	printf("daemon %s the connection\n", closed ? "closed" : "kept");
	return closed ? 0 : 1;
}

int
main(int argc, char **argv)
{
	/* a frame header declaring 16 MiB */
	static const unsigned char oversize[] = { 0x01, 0x00, 0x00, 0x00, 0xaa };
	/* HS1 frame: an array header declaring 2^32 items */
	static const unsigned char hostile[] = { 0x00, 0x00, 0x00, 0x09, 0x9b,
	    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00 };
	const char *mode;

	if (argc < 5 || sodium_init() < 0) {
		fprintf(stderr, "usage: coffer-probe SOCKET USER KEYFILE MODE [HEX]\n");
		return 2;
	}
	mode = argv[4];
	if (strcmp(mode, "oversize") == 0)
		return probe_raw(argv[1], oversize, sizeof(oversize));
	if (strcmp(mode, "hostile-hs") == 0)
		return probe_raw(argv[1], hostile, sizeof(hostile));
	if (strcmp(mode, "tamper") == 0)
		return probe_mangled(argv[1], argv[2], argv[3], M_TAMPER);
	if (strcmp(mode, "replay") == 0)
		return probe_mangled(argv[1], argv[2], argv[3], M_REPLAY);
	if (strcmp(mode, "reorder") == 0)
		return probe_mangled(argv[1], argv[2], argv[3], M_REORDER);
	if (strcmp(mode, "flood") == 0)
		return probe_flood(argv[1], argv[2], argv[3]);
	if (strcmp(mode, "stall") == 0)
		return probe_stall(argv[1], argv[2], argv[3]);
	if (strcmp(mode, "dribble") == 0)
		return probe_dribble(argv[1], argv[2], argv[3]);
	if (strcmp(mode, "pipeline") == 0)
		return probe_pipeline(argv[1], argv[2], argv[3]);
	if (strcmp(mode, "cbor") == 0 && argc == 6)
		return probe_cbor(argv[1], argv[2], argv[3], argv[5]);
	fprintf(stderr, "coffer-probe: unknown mode '%s'\n", mode);
	return 2;
}
