/*
 * test_session.c - the coffer/1 handshake and record channel over a
 * socketpair, the daemon side in a thread: success, every refusal, and a
 * man in the middle that alters, replays, reorders, reflects and inflates
 * frames.  Also the key schedule and record vectors of docs/protocol.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "coffer/err.h"
#include "coffer/frame.h"
#include "coffer/msg.h"
#include "coffer/session.h"
#include "../../src/common/session_kdf.h"
#include "../vectors/vectors.h"

struct idkeys {
	unsigned char pk[SESSION_PUBKEY_BYTES];
	unsigned char sk[SESSION_SECKEY_BYTES];
};

static struct idkeys daemon_key, alice_key, other_key;

/* The daemon thread: who it claims to be and with which key it signs. */
struct daemon_run {
	int fd;
	const unsigned char *claimed_pk;
	const unsigned char *sign_sk;
	int lookups;
	int status;
	struct session *s;
};

struct fixture {
	int c;	/* client end */
	int d;	/* daemon end */
	struct daemon_run run;
	pthread_t th;
	struct session *client;
	int pin_calls;
	const unsigned char *pin_want;
};

static int
sign_cb(void *arg, unsigned char sig[SESSION_SIG_BYTES],
    const unsigned char *m, size_t len)
{
	struct daemon_run *r = arg;

	crypto_sign_detached(sig, NULL, m, len, r->sign_sk);
	return COFFER_OK;
}

static int
lookup_cb(void *arg, const char *user, unsigned char pk[SESSION_PUBKEY_BYTES])
{
	struct daemon_run *r = arg;

	r->lookups++;
	if (strcmp(user, "alice") != 0)
		return COFFER_ERR_NOT_FOUND;
	memcpy(pk, alice_key.pk, SESSION_PUBKEY_BYTES);
	return COFFER_OK;
}

static int
pin_cb(void *arg, const unsigned char server_pk[SESSION_PUBKEY_BYTES])
{
	struct fixture *f = arg;

	f->pin_calls++;
	if (sodium_memcmp(server_pk, f->pin_want, SESSION_PUBKEY_BYTES) != 0)
		return COFFER_ERR_HOSTKEY;
	return COFFER_OK;
}

static void *
daemon_main(void *arg)
{
	struct daemon_run *r = arg;

	r->status = session_server(r->fd, r->claimed_pk, sign_cb, r, lookup_cb,
	    r, &r->s);
	return NULL;
}

static int
group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(daemon_key.pk, daemon_key.sk);
	crypto_sign_keypair(alice_key.pk, alice_key.sk);
	crypto_sign_keypair(other_key.pk, other_key.sk);
	return 0;
}

/* A regression that leaves a side waiting must fail, not hang the run. */
static void
set_timeout(int fd)
{
	struct timeval tv = { 10, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fds[2];

	if (f == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
		free(f);
		return -1;
	}
	f->c = fds[0];
	f->d = fds[1];
	set_timeout(f->c);
	set_timeout(f->d);
	f->run.fd = f->d;
	f->run.claimed_pk = daemon_key.pk;
	f->run.sign_sk = daemon_key.sk;
	f->run.status = -1;
	f->pin_want = daemon_key.pk;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	session_free(f->client);
	session_free(f->run.s);
	if (f->c >= 0)
		close(f->c);
	if (f->d >= 0)
		close(f->d);
	free(f);
	return 0;
}

/* Run both sides; returns the client's status, the daemon's is in run. */
static int
handshake(struct fixture *f, const char *user, const unsigned char *sk)
{
	int r;

	assert_int_equal(pthread_create(&f->th, NULL, daemon_main, &f->run), 0);
	r = session_client(f->c, user, sk, pin_cb, f, &f->client);
	if (r != COFFER_OK)
		shutdown(f->c, SHUT_RDWR);	/* let the daemon see the end */
	assert_int_equal(pthread_join(f->th, NULL), 0);
	return r;
}

static void
connect_ok(struct fixture *f)
{
	assert_int_equal(handshake(f, "alice", alice_key.sk), COFFER_OK);
	assert_int_equal(f->run.status, COFFER_OK);
	assert_non_null(f->client);
	assert_non_null(f->run.s);
}

static void
send_ok(struct session *from, const char *text)
{
	assert_int_equal(session_send(from, (const unsigned char *)text,
	    strlen(text)), COFFER_OK);
}

static void
recv_expect(struct session *to, const char *text)
{
	unsigned char *m = NULL;
	size_t n = 0;

	assert_int_equal(session_recv(to, &m, &n), COFFER_OK);
	assert_int_equal(n, strlen(text));
	assert_memory_equal(m, text, n);
	free(m);
}

static void
recv_fails(struct session *to, int status)
{
	unsigned char *m = NULL;
	size_t n = 0;

	assert_int_equal(session_recv(to, &m, &n), status);
	assert_null(m);
	assert_int_equal(n, 0);
}

/* Take the next raw frame off fd (what a man in the middle sees). */
static unsigned char *
grab(int fd, size_t *n)
{
	unsigned char *p = NULL;

	assert_int_equal(frame_read(fd, FRAME_MAX, &p, n), COFFER_OK);
	return p;
}

/* ---- handshake ---------------------------------------------------------- */

static void
test_handshake_ok(void **state)
{
	static const unsigned char zero[SESSION_ID_BYTES];
	struct fixture *f = *state;

	connect_ok(f);
	assert_int_equal(f->pin_calls, 1);
	assert_int_equal(f->run.lookups, 1);
	assert_string_equal(session_user(f->run.s), "alice");
	assert_string_equal(session_user(f->client), "alice");
	assert_memory_equal(session_id(f->client), session_id(f->run.s),
	    SESSION_ID_BYTES);
	assert_memory_not_equal(session_id(f->client), zero, SESSION_ID_BYTES);
	assert_memory_equal(session_peer_key(f->client), daemon_key.pk,
	    SESSION_PUBKEY_BYTES);
	assert_memory_equal(session_peer_key(f->run.s), alice_key.pk,
	    SESSION_PUBKEY_BYTES);
	assert_int_equal(session_fd(f->client), f->c);
	assert_int_equal(session_fd(f->run.s), f->d);
}

static void
test_records_both_ways(void **state)
{
	struct fixture *f = *state;
	unsigned char *big = NULL, *m = NULL;
	size_t n = 0, bigsz = 64 * 1024;

	connect_ok(f);
	send_ok(f->client, "request one");
	send_ok(f->client, "request two");
	recv_expect(f->run.s, "request one");
	recv_expect(f->run.s, "request two");
	send_ok(f->run.s, "response");
	recv_expect(f->client, "response");
	/* an empty message is a valid record */
	assert_int_equal(session_send(f->client, NULL, 0), COFFER_OK);
	assert_int_equal(session_recv(f->run.s, &m, &n), COFFER_OK);
	assert_int_equal(n, 0);
	free(m);
	big = malloc(bigsz);
	assert_non_null(big);
	memset(big, 0x5a, bigsz);
	assert_int_equal(session_send(f->run.s, big, bigsz), COFFER_OK);
	assert_int_equal(session_recv(f->client, &m, &n), COFFER_OK);
	assert_int_equal(n, bigsz);
	assert_memory_equal(m, big, bigsz);
	free(m);
	free(big);
}

static void
test_two_sessions_differ(void **state)
{
	struct fixture *f = *state;
	unsigned char first[SESSION_ID_BYTES];
	unsigned char *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	int fds[2];

	connect_ok(f);
	memcpy(first, session_id(f->client), sizeof(first));
	send_ok(f->client, "same text");
	a = grab(f->d, &na);
	/* a second connection: new id, new keys, different ciphertext */
	session_free(f->client);
	session_free(f->run.s);
	f->client = NULL;
	f->run.s = NULL;
	close(f->c);
	close(f->d);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	f->c = fds[0];
	f->d = fds[1];
	set_timeout(f->c);
	set_timeout(f->d);
	f->run.fd = f->d;
	connect_ok(f);
	assert_memory_not_equal(session_id(f->client), first, sizeof(first));
	send_ok(f->client, "same text");
	b = grab(f->d, &nb);
	assert_int_equal(na, nb);
	assert_memory_not_equal(a, b, na);
	free(a);
	free(b);
}

static void
test_wrong_user_key(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(handshake(f, "alice", other_key.sk), COFFER_ERR_AUTH);
	assert_int_equal(f->run.status, COFFER_ERR_AUTH);
	assert_null(f->client);
	assert_null(f->run.s);
}

static void
test_unknown_user(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(handshake(f, "mallory", other_key.sk),
	    COFFER_ERR_AUTH);
	assert_int_equal(f->run.status, COFFER_ERR_AUTH);
	assert_int_equal(f->run.lookups, 1);
	assert_null(f->client);
	assert_null(f->run.s);
}

/* A real user signing with her real key but a different name is refused. */
static void
test_name_is_bound(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(handshake(f, "alicf", alice_key.sk), COFFER_ERR_AUTH);
	assert_int_equal(f->run.status, COFFER_ERR_AUTH);
}

static void
test_pin_refusal(void **state)
{
	struct fixture *f = *state;

	f->pin_want = other_key.pk;
	assert_int_equal(handshake(f, "alice", alice_key.sk),
	    COFFER_ERR_HOSTKEY);
	assert_int_equal(f->pin_calls, 1);
	assert_null(f->client);
	/* the client left before proving anything: no lookup happened */
	assert_int_equal(f->run.lookups, 0);
	assert_int_equal(f->run.status, COFFER_ERR_EOF);
}

/* A daemon that claims a key it does not hold. */
static void
test_bad_daemon_proof(void **state)
{
	struct fixture *f = *state;

	f->run.sign_sk = other_key.sk;
	assert_int_equal(handshake(f, "alice", alice_key.sk),
	    COFFER_ERR_CRYPTO);
	assert_int_equal(f->pin_calls, 0);
	assert_null(f->client);
}

static void
test_client_usage(void **state)
{
	struct fixture *f = *state;
	char longname[SESSION_USER_MAX + 2];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(session_client(f->c, "", alice_key.sk, pin_cb, f,
	    &f->client), COFFER_ERR_USAGE);
	assert_int_equal(session_client(f->c, longname, alice_key.sk, pin_cb,
	    f, &f->client), COFFER_ERR_USAGE);
	assert_int_equal(session_client(f->c, "\xc0\x80", alice_key.sk,
	    pin_cb, f, &f->client), COFFER_ERR_USAGE);
	assert_int_equal(session_client(f->c, "alice", alice_key.sk, NULL,
	    f, &f->client), COFFER_ERR_USAGE);
	assert_null(f->client);
}

/* Feed the daemon a first message and return its status. */
static int
daemon_on_hs1(struct fixture *f, cbor_item_t *hs1)
{
	unsigned char *p = NULL;
	size_t n = 0;

	assert_int_equal(msg_encode(hs1, &p, &n), COFFER_OK);
	cbor_decref(&hs1);
	assert_int_equal(frame_write(f->c, p, n), COFFER_OK);
	free(p);
	return session_server(f->d, daemon_key.pk, sign_cb, &f->run,
	    lookup_cb, &f->run, &f->run.s);
}

static cbor_item_t *
make_hs1(const char *version, const unsigned char *e, size_t elen)
{
	cbor_item_t *a = msg_new_array();

	assert_int_equal(msg_push(a, msg_new_str(version)), COFFER_OK);
	assert_int_equal(msg_push(a, msg_new_bytes(e, elen)), COFFER_OK);
	return a;
}

static void
test_daemon_rejects_bad_hs1(void **state)
{
	struct fixture *f = *state;
	unsigned char e[32], esk[32];

	crypto_kx_keypair(e, esk);
	assert_int_equal(daemon_on_hs1(f, make_hs1("coffer/2", e, 32)),
	    COFFER_ERR_PROTO);
	assert_int_equal(daemon_on_hs1(f, make_hs1("coffer/1", e, 31)),
	    COFFER_ERR_PROTO);
	/* a low-order ephemeral gives an all-zero shared secret */
	memset(e, 0, sizeof(e));
	assert_int_equal(daemon_on_hs1(f, make_hs1("coffer/1", e, 32)),
	    COFFER_ERR_CRYPTO);
	assert_null(f->run.s);
}

static void
test_daemon_rejects_big_hs1(void **state)
{
	static const unsigned char hdr[] = { 0, 0, 0x04, 0x01 }; /* 1025 */
	struct fixture *f = *state;

	assert_int_equal(write(f->c, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(session_server(f->d, daemon_key.pk, sign_cb, &f->run,
	    lookup_cb, &f->run, &f->run.s), COFFER_ERR_TOO_BIG);
}

static void
test_daemon_rejects_non_cbor_hs1(void **state)
{
	struct fixture *f = *state;

	/* an HTTP client, say */
	assert_int_equal(frame_write(f->c, (const unsigned char *)"GET /",
	    5), COFFER_OK);
	assert_int_equal(session_server(f->d, daemon_key.pk, sign_cb, &f->run,
	    lookup_cb, &f->run, &f->run.s), COFFER_ERR_PROTO);
}

static void
test_client_rejects_garbage_hs2(void **state)
{
	struct fixture *f = *state;
	cbor_item_t *a = msg_new_array();
	unsigned char *p = NULL;
	size_t n = 0;

	assert_int_equal(msg_push(a, msg_new_str("hello")), COFFER_OK);
	assert_int_equal(msg_encode(a, &p, &n), COFFER_OK);
	cbor_decref(&a);
	assert_int_equal(frame_write(f->d, p, n), COFFER_OK);
	free(p);
	assert_int_equal(session_client(f->c, "alice", alice_key.sk, pin_cb,
	    f, &f->client), COFFER_ERR_PROTO);
	assert_int_equal(f->pin_calls, 0);
}

/* ---- records under attack ----------------------------------------------- */

static void
test_tampered_record(void **state)
{
	struct fixture *f = *state;
	unsigned char *raw = NULL;
	size_t n = 0;

	connect_ok(f);
	send_ok(f->client, "transfer 100");
	raw = grab(f->d, &n);
	raw[0] ^= 0x01;
	assert_int_equal(frame_write(f->c, raw, n), COFFER_OK);
	recv_fails(f->run.s, COFFER_ERR_CRYPTO);
	/* the session is dead: even a genuine next record is refused */
	send_ok(f->client, "genuine");
	recv_fails(f->run.s, COFFER_ERR_CRYPTO);
	assert_int_equal(session_send(f->run.s, (const unsigned char *)"x", 1),
	    COFFER_ERR_CRYPTO);
	free(raw);
}

static void
test_tampered_tag(void **state)
{
	struct fixture *f = *state;
	unsigned char *raw = NULL;
	size_t n = 0;

	connect_ok(f);
	send_ok(f->run.s, "data");
	raw = grab(f->c, &n);
	raw[n - 1] ^= 0x80;
	assert_int_equal(frame_write(f->d, raw, n), COFFER_OK);
	recv_fails(f->client, COFFER_ERR_CRYPTO);
	free(raw);
}

static void
test_replayed_record(void **state)
{
	struct fixture *f = *state;
	unsigned char *raw = NULL;
	size_t n = 0;

	connect_ok(f);
	send_ok(f->client, "delete 7");
	raw = grab(f->d, &n);
	assert_int_equal(frame_write(f->c, raw, n), COFFER_OK);
	assert_int_equal(frame_write(f->c, raw, n), COFFER_OK);
	recv_expect(f->run.s, "delete 7");
	recv_fails(f->run.s, COFFER_ERR_CRYPTO);
	free(raw);
}

static void
test_reordered_records(void **state)
{
	struct fixture *f = *state;
	unsigned char *r1 = NULL, *r2 = NULL;
	size_t n1 = 0, n2 = 0;

	connect_ok(f);
	send_ok(f->client, "first");
	send_ok(f->client, "second");
	r1 = grab(f->d, &n1);
	r2 = grab(f->d, &n2);
	assert_int_equal(frame_write(f->c, r2, n2), COFFER_OK);
	assert_int_equal(frame_write(f->c, r1, n1), COFFER_OK);
	recv_fails(f->run.s, COFFER_ERR_CRYPTO);
	recv_fails(f->run.s, COFFER_ERR_CRYPTO);
	free(r1);
	free(r2);
}

/* A dropped record shows as a counter gap on the next one. */
static void
test_dropped_record(void **state)
{
	struct fixture *f = *state;
	unsigned char *r1 = NULL, *r2 = NULL;
	size_t n1 = 0, n2 = 0;

	connect_ok(f);
	send_ok(f->client, "first");
	send_ok(f->client, "second");
	r1 = grab(f->d, &n1);
	r2 = grab(f->d, &n2);
	assert_int_equal(frame_write(f->c, r2, n2), COFFER_OK);
	recv_fails(f->run.s, COFFER_ERR_CRYPTO);
	free(r1);
	free(r2);
}

/* The daemon's own record sent back to it: each direction has its key. */
static void
test_reflected_record(void **state)
{
	struct fixture *f = *state;
	unsigned char *raw = NULL;
	size_t n = 0;

	connect_ok(f);
	send_ok(f->run.s, "response");
	raw = grab(f->c, &n);
	assert_int_equal(frame_write(f->c, raw, n), COFFER_OK);
	recv_fails(f->run.s, COFFER_ERR_CRYPTO);
	free(raw);
}

static void
test_truncated_record(void **state)
{
	struct fixture *f = *state;
	unsigned char *raw = NULL;
	size_t n = 0;

	connect_ok(f);
	send_ok(f->client, "truncate me");
	raw = grab(f->d, &n);
	assert_int_equal(frame_write(f->c, raw, n - 1), COFFER_OK);
	recv_fails(f->run.s, COFFER_ERR_CRYPTO);
	free(raw);
}

static void
test_record_shorter_than_tag(void **state)
{
	struct fixture *f = *state;

	connect_ok(f);
	assert_int_equal(frame_write(f->c, (const unsigned char *)"short", 5),
	    COFFER_OK);
	recv_fails(f->run.s, COFFER_ERR_CRYPTO);
}

static void
test_oversize_frame(void **state)
{
	static const unsigned char hdr[] = { 0x00, 0x10, 0x00, 0x01 };
	struct fixture *f = *state;

	connect_ok(f);
	assert_int_equal(write(f->c, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	recv_fails(f->run.s, COFFER_ERR_TOO_BIG);
	recv_fails(f->run.s, COFFER_ERR_CRYPTO);
}

/* Too big to send is the caller's mistake: nothing sent, session lives. */
static void
test_send_too_big(void **state)
{
	struct fixture *f = *state;
	unsigned char *big = calloc(1, FRAME_MAX);

	assert_non_null(big);
	connect_ok(f);
	assert_int_equal(session_send(f->client, big,
	    FRAME_MAX - SKDF_TAG_BYTES + 1), COFFER_ERR_TOO_BIG);
	send_ok(f->client, "still alive");
	recv_expect(f->run.s, "still alive");
	free(big);
}

static void
test_peer_closes(void **state)
{
	struct fixture *f = *state;

	connect_ok(f);
	shutdown(f->c, SHUT_WR);
	recv_fails(f->run.s, COFFER_ERR_EOF);
	recv_fails(f->run.s, COFFER_ERR_CRYPTO);
}

/* ---- vectors from docs/protocol.md -------------------------------------- */

static unsigned char *
vec(const char *name, size_t want)
{
	size_t n = 0;
	unsigned char *p = vec_get(name, &n);

	assert_non_null(p);
	if (want != 0)
		assert_int_equal(n, want);
	return p;
}

static void
expect_vec(const char *name, const unsigned char *got, size_t n)
{
	unsigned char *want = vec(name, n);

	assert_memory_equal(got, want, n);
	free(want);
}

static void
test_vector_key_schedule(void **state)
{
	unsigned char *csk = vec("kdf-client-eph-sk", 32);
	unsigned char *ssk = vec("kdf-server-eph-sk", 32);
	unsigned char *th4 = vec("kdf-th4", 32);
	unsigned char cpk[32], spk[32], th2[32], k[32];
	unsigned char c2s[32], s2c[32], c2s_s[32], s2c_s[32];
	unsigned char *hs1 = NULL;
	size_t hs1len = 0;
	cbor_item_t *hs1item = NULL;
	crypto_generichash_state st;

	(void)state;
	assert_int_equal(crypto_scalarmult_base(cpk, csk), 0);
	assert_int_equal(crypto_scalarmult_base(spk, ssk), 0);
	expect_vec("kdf-client-eph-pk", cpk, 32);
	expect_vec("kdf-server-eph-pk", spk, 32);
	hs1item = make_hs1("coffer/1", cpk, 32);
	assert_int_equal(msg_encode(hs1item, &hs1, &hs1len), COFFER_OK);
	cbor_decref(&hs1item);
	expect_vec("kdf-hs1", hs1, hs1len);
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, hs1, hs1len);
	crypto_generichash_update(&st, spk, 32);
	crypto_generichash_final(&st, th2, 32);
	expect_vec("kdf-th2", th2, 32);
	assert_int_equal(session_kdf_kx(1, cpk, csk, spk, c2s, s2c),
	    COFFER_OK);
	assert_int_equal(session_kdf_kx(0, spk, ssk, cpk, c2s_s, s2c_s),
	    COFFER_OK);
	assert_memory_equal(c2s, c2s_s, 32);
	assert_memory_equal(s2c, s2c_s, 32);
	expect_vec("kdf-c2s", c2s, 32);
	expect_vec("kdf-s2c", s2c, 32);
	session_kdf_derive(k, c2s, SKDF_LABEL_HS_C2S, th2);
	expect_vec("kdf-hs-c2s", k, 32);
	session_kdf_derive(k, s2c, SKDF_LABEL_HS_S2C, th2);
	expect_vec("kdf-hs-s2c", k, 32);
	session_kdf_derive(k, c2s, SKDF_LABEL_APP_C2S, th4);
	expect_vec("kdf-app-c2s", k, 32);
	session_kdf_derive(k, s2c, SKDF_LABEL_APP_S2C, th4);
	expect_vec("kdf-app-s2c", k, 32);
	free(hs1);
	free(csk);
	free(ssk);
	free(th4);
}

static void
test_vector_record(void **state)
{
	unsigned char *key = vec("record-key", 32);
	unsigned char *frame = NULL, *pt = NULL, *ct = NULL, *out = NULL;
	size_t flen = 0, ptlen = 0, ctlen;

	(void)state;
	pt = vec_get("request-status", &ptlen);
	frame = vec_get("record-frame", &flen);
	assert_non_null(pt);
	assert_non_null(frame);
	ctlen = ptlen + SKDF_TAG_BYTES;
	assert_int_equal(flen, ctlen + 4);
	/* the frame's length prefix is the ciphertext length */
	assert_int_equal(((size_t)frame[2] << 8) | frame[3], ctlen);
	ct = malloc(ctlen);
	out = malloc(ptlen);
	assert_non_null(ct);
	assert_non_null(out);
	assert_int_equal(session_kdf_record_seal(ct, pt, ptlen, key, 1),
	    COFFER_OK);
	assert_memory_equal(ct, frame + 4, ctlen);
	assert_int_equal(session_kdf_record_open(out, frame + 4, ctlen, key, 1),
	    COFFER_OK);
	assert_memory_equal(out, pt, ptlen);
	/* the counter and the length are both authenticated */
	assert_int_equal(session_kdf_record_open(out, frame + 4, ctlen, key, 2),
	    COFFER_ERR_CRYPTO);
	assert_int_equal(session_kdf_open(out, frame + 4, ctlen, NULL, 0, key,
	    1), COFFER_ERR_CRYPTO);
	free(key);
	free(frame);
	free(pt);
	free(ct);
	free(out);
}

static void
test_nonce_layout(void **state)
{
	static const unsigned char want[12] = { 0, 0, 0, 0, 0x01, 0x02, 0x03,
	    0x04, 0x05, 0x06, 0x07, 0x08 };
	unsigned char n[12];

	(void)state;
	session_kdf_nonce(n, 0x0102030405060708ull);
	assert_memory_equal(n, want, sizeof(want));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_handshake_ok),
		T(test_records_both_ways),
		T(test_two_sessions_differ),
		T(test_wrong_user_key),
		T(test_unknown_user),
		T(test_name_is_bound),
		T(test_pin_refusal),
		T(test_bad_daemon_proof),
		T(test_client_usage),
		T(test_daemon_rejects_bad_hs1),
		T(test_daemon_rejects_big_hs1),
		T(test_daemon_rejects_non_cbor_hs1),
		T(test_client_rejects_garbage_hs2),
		T(test_tampered_record),
		T(test_tampered_tag),
		T(test_replayed_record),
		T(test_reordered_records),
		T(test_dropped_record),
		T(test_reflected_record),
		T(test_truncated_record),
		T(test_record_shorter_than_tag),
		T(test_oversize_frame),
		T(test_send_too_big),
		T(test_peer_closes),
		cmocka_unit_test(test_vector_key_schedule),
		cmocka_unit_test(test_vector_record),
		cmocka_unit_test(test_nonce_layout),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
