/*
 * test_msg.c - deterministic encoding (shortest heads, sorted keys), the
 * guarded decoder, builders and typed getters, and the request/response
 * test vectors of docs/protocol.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "coffer/err.h"
#include "coffer/frame.h"
#include "coffer/msg.h"
#include "../vectors/vectors.h"

#define B(...) ((const unsigned char[]){ __VA_ARGS__ }), \
    sizeof((const unsigned char[]){ __VA_ARGS__ })

/* Encode item (reference taken) and compare with the expected bytes. */
static void
expect_enc(cbor_item_t *item, const unsigned char *want, size_t wantlen)
{
	unsigned char *out = NULL;
	size_t n = 0;

	assert_non_null(item);
	assert_int_equal(msg_encode(item, &out, &n), COFFER_OK);
	assert_int_equal(n, wantlen);
	assert_memory_equal(out, want, wantlen);
	free(out);
	cbor_decref(&item);
}

static int
enc_status(cbor_item_t *item)
{
	unsigned char *out = NULL;
	size_t n = 0;
	int r = msg_encode(item, &out, &n);

	if (r == COFFER_OK)
		assert_non_null(out);
	else
		assert_null(out);
	free(out);
	cbor_decref(&item);
	return r;
}

static void
test_uint_widths(void **state)
{
	(void)state;
	expect_enc(msg_new_uint(0), B(0x00));
	expect_enc(msg_new_uint(23), B(0x17));
	expect_enc(msg_new_uint(24), B(0x18, 0x18));
	expect_enc(msg_new_uint(255), B(0x18, 0xff));
	expect_enc(msg_new_uint(256), B(0x19, 0x01, 0x00));
	expect_enc(msg_new_uint(65535), B(0x19, 0xff, 0xff));
	expect_enc(msg_new_uint(65536), B(0x1a, 0x00, 0x01, 0x00, 0x00));
	expect_enc(msg_new_uint(UINT32_MAX), B(0x1a, 0xff, 0xff, 0xff, 0xff));
	expect_enc(msg_new_uint((uint64_t)UINT32_MAX + 1),
	    B(0x1b, 0, 0, 0, 1, 0, 0, 0, 0));
	expect_enc(msg_new_uint(UINT64_MAX), B(0x1b, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff));
}

/* libcbor's own items keep their width; we still write the shortest. */
static void
test_wide_libcbor_item_is_shortened(void **state)
{
	(void)state;
	expect_enc(cbor_build_uint64(1), B(0x01));
	expect_enc(cbor_build_negint32(0), B(0x20));
}

static void
test_int_widths(void **state)
{
	(void)state;
	expect_enc(msg_new_int(5), B(0x05));
	expect_enc(msg_new_int(-1), B(0x20));
	expect_enc(msg_new_int(-24), B(0x37));
	expect_enc(msg_new_int(-25), B(0x38, 0x18));
	expect_enc(msg_new_int(-256), B(0x38, 0xff));
	expect_enc(msg_new_int(-257), B(0x39, 0x01, 0x00));
	expect_enc(msg_new_int(-65537), B(0x3a, 0x00, 0x01, 0x00, 0x00));
	expect_enc(msg_new_int(INT64_MIN), B(0x3b, 0x7f, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff));
	expect_enc(msg_new_int(INT64_MAX), B(0x1b, 0x7f, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff));
}

static void
test_strings_and_simple(void **state)
{
	(void)state;
	expect_enc(msg_new_str(""), B(0x60));
	expect_enc(msg_new_str("abc"), B(0x63, 'a', 'b', 'c'));
	expect_enc(msg_new_bytes(NULL, 0), B(0x40));
	expect_enc(msg_new_bytes((const unsigned char *)"\x01\x02", 2),
	    B(0x42, 0x01, 0x02));
	expect_enc(msg_new_bool(1), B(0xf5));
	expect_enc(msg_new_bool(0), B(0xf4));
	expect_enc(msg_new_null(), B(0xf6));
}

static void
test_long_string_head(void **state)
{
	char s[301];
	unsigned char *out = NULL;
	size_t n = 0;
	cbor_item_t *it;

	(void)state;
	memset(s, 'x', 300);
	s[300] = '\0';
	it = msg_new_str(s);
	assert_int_equal(msg_encode(it, &out, &n), COFFER_OK);
	assert_int_equal(n, 303);
	assert_memory_equal(out, "\x79\x01\x2c", 3);
	free(out);
	cbor_decref(&it);
}

static void
test_map_keys_sorted(void **state)
{
	cbor_item_t *m = msg_new_map();

	(void)state;
	/* inserted in the wrong order; "b" sorts before "aa" (shorter) */
	assert_int_equal(msg_put_uint(m, "zz", 1), COFFER_OK);
	assert_int_equal(msg_put_uint(m, "aa", 2), COFFER_OK);
	assert_int_equal(msg_put_uint(m, "b", 3), COFFER_OK);
	expect_enc(m, B(0xa3, 0x61, 'b', 0x03, 0x62, 'a', 'a', 0x02,
	    0x62, 'z', 'z', 0x01));
}

static void
test_nested_maps_sorted(void **state)
{
	cbor_item_t *m = msg_new_map(), *inner = msg_new_map();
	cbor_item_t *arr = msg_new_array(), *inarr = msg_new_map();

	(void)state;
	assert_int_equal(msg_put_bool(inner, "y", 1), COFFER_OK);
	assert_int_equal(msg_put_bool(inner, "x", 0), COFFER_OK);
	assert_int_equal(msg_put_uint(inarr, "q", 1), COFFER_OK);
	assert_int_equal(msg_put_uint(inarr, "p", 2), COFFER_OK);
	assert_int_equal(msg_push(arr, inarr), COFFER_OK);
	assert_int_equal(msg_put(m, "m", inner), COFFER_OK);
	assert_int_equal(msg_put(m, "a", arr), COFFER_OK);
	expect_enc(m, B(0xa2, 0x61, 'a', 0x81, 0xa2, 0x61, 'p', 0x02, 0x61,
	    'q', 0x01, 0x61, 'm', 0xa2, 0x61, 'x', 0xf4, 0x61, 'y', 0xf5));
}

/*
 * More entries than the encoder keeps on its stack, inserted in a
 * scrambled order, nested in a map that is itself out of order: the bytes
 * must equal the same maps built in key order, which encode as built.
 */
static void
test_big_map_sorted(void **state)
{
	cbor_item_t *scrambled = msg_new_map(), *ordered = msg_new_map();
	cbor_item_t *a = msg_new_map(), *b = msg_new_map();
	unsigned char *x = NULL, *y = NULL;
	size_t nx = 0, ny = 0, i;
	char key[8], val[40];

	(void)state;
	/* keys k0..k99; in key order: k0..k9 (shorter), then k10..k99; the
	 * values make the map bigger than the reorder's stack copy */
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%zu", (i * 37) % 100);
		snprintf(val, sizeof(val), "value %03zu of the scrambled map",
		    (i * 37) % 100);
		assert_int_equal(msg_put_str(a, key, val), COFFER_OK);
		snprintf(key, sizeof(key), "k%zu", i);
		snprintf(val, sizeof(val), "value %03zu of the scrambled map",
		    i);
		assert_int_equal(msg_put_str(b, key, val), COFFER_OK);
	}
	assert_int_equal(msg_put(scrambled, "zz", a), COFFER_OK);
	assert_int_equal(msg_put_str(scrambled, "b", "x"), COFFER_OK);
	assert_int_equal(msg_put_str(ordered, "b", "x"), COFFER_OK);
	assert_int_equal(msg_put(ordered, "zz", b), COFFER_OK);
	assert_int_equal(msg_encode(scrambled, &x, &nx), COFFER_OK);
	assert_int_equal(msg_encode(ordered, &y, &ny), COFFER_OK);
	assert_int_equal(nx, ny);
	assert_true(nx > 2048);
	assert_memory_equal(x, y, nx);
	assert_memory_equal(x, "\xa2\x61" "b", 3);	/* "b" first */
	free(x);
	free(y);
	cbor_decref(&scrambled);
	cbor_decref(&ordered);
}

/* msg_map_of: one entry; a failed builder upstream (NULL) is refused. */
static void
test_map_of(void **state)
{
	cbor_item_t *m = NULL;

	(void)state;
	assert_int_equal(msg_map_of("k", msg_new_uint(5), &m), COFFER_OK);
	expect_enc(m, B(0xa1, 0x61, 'k', 0x05));
	m = (cbor_item_t *)1;
	assert_int_equal(msg_map_of("k", NULL, &m), COFFER_ERR_NOMEM);
	assert_null(m);
}

static void
test_put_duplicate_key(void **state)
{
	cbor_item_t *m = msg_new_map();
	const cbor_item_t *v;
	int64_t i = 0;

	(void)state;
	assert_int_equal(msg_put_int(m, "k", -5), COFFER_OK);
	assert_int_equal(msg_put_int(m, "k", 6), COFFER_ERR_CONFLICT);
	v = msg_get(m, "k");
	assert_non_null(v);
	assert_int_equal(msg_item_int(v, &i), COFFER_OK);
	assert_int_equal(i, -5);
	cbor_decref(&m);
}

/* msg_put_fresh adds without looking; a key added twice by mistake is
 * still caught, by the encoder. */
static void
test_put_fresh(void **state)
{
	cbor_item_t *m = msg_new_map();
	int64_t i = 0;

	(void)state;
	assert_int_equal(msg_put_fresh(m, "a", msg_new_int(1)), COFFER_OK);
	assert_int_equal(msg_put_fresh(m, "b", msg_new_int(2)), COFFER_OK);
	assert_int_equal(msg_put_fresh(m, "c", NULL), COFFER_ERR_NOMEM);
	assert_int_equal(msg_put_fresh(NULL, "c", msg_new_int(3)),
	    COFFER_ERR_INVALID);
	assert_int_equal(cbor_map_size(m), 2);
	assert_int_equal(msg_item_int(msg_get(m, "b"), &i), COFFER_OK);
	assert_int_equal(i, 2);
	assert_int_equal(enc_status(cbor_incref(m)), COFFER_OK);
	assert_int_equal(msg_put_fresh(m, "a", msg_new_int(3)), COFFER_OK);
	assert_int_equal(enc_status(m), COFFER_ERR_INVALID);
}

/* A map with duplicate keys built by hand is refused by the encoder. */
static void
test_encode_rejects_duplicates(void **state)
{
	cbor_item_t *m = cbor_new_indefinite_map();
	cbor_item_t *k1 = msg_new_str("a"), *k2 = msg_new_str("a");
	cbor_item_t *v1 = msg_new_uint(1), *v2 = msg_new_uint(2);

	(void)state;
	assert_true(cbor_map_add(m, (struct cbor_pair){ k1, v1 }));
	assert_true(cbor_map_add(m, (struct cbor_pair){ k2, v2 }));
	cbor_decref(&k1);
	cbor_decref(&k2);
	cbor_decref(&v1);
	cbor_decref(&v2);
	assert_int_equal(enc_status(m), COFFER_ERR_INVALID);
}

static void
test_encode_rejects_non_protocol_items(void **state)
{
	cbor_item_t *tag = cbor_new_tag(1);
	cbor_item_t *zero = msg_new_uint(0);

	(void)state;
	assert_int_equal(enc_status(cbor_build_float8(1.5)),
	    COFFER_ERR_INVALID);
	assert_int_equal(enc_status(cbor_new_undef()), COFFER_ERR_INVALID);
	cbor_tag_set_item(tag, zero);
	cbor_decref(&zero);
	assert_int_equal(enc_status(tag), COFFER_ERR_INVALID);
	/* text that is not UTF-8 would be refused by the peer */
	assert_int_equal(enc_status(msg_new_str("\xff\xfe")),
	    COFFER_ERR_INVALID);
}

static void
test_encode_indefinite_becomes_definite(void **state)
{
	cbor_item_t *s = cbor_new_indefinite_string();
	cbor_item_t *c1 = msg_new_str("ab"), *c2 = msg_new_str("c");

	(void)state;
	assert_true(cbor_string_add_chunk(s, c1));
	assert_true(cbor_string_add_chunk(s, c2));
	cbor_decref(&c1);
	cbor_decref(&c2);
	expect_enc(s, B(0x63, 'a', 'b', 'c'));
}

static void
test_put_and_push_take_the_reference(void **state)
{
	cbor_item_t *m = msg_new_map(), *a = msg_new_array();
	cbor_item_t *v = msg_new_uint(7);

	(void)state;
	assert_int_equal(msg_put(m, "v", v), COFFER_OK);
	assert_int_equal(cbor_refcount(v), 1);	/* owned by the map only */
	/* NULL from a failed builder is reported, not crashed on */
	assert_int_equal(msg_put(m, "x", NULL), COFFER_ERR_NOMEM);
	assert_int_equal(msg_push(a, NULL), COFFER_ERR_NOMEM);
	assert_int_equal(msg_put(a, "x", msg_new_uint(1)), COFFER_ERR_INVALID);
	assert_int_equal(msg_push(m, msg_new_uint(1)), COFFER_ERR_INVALID);
	cbor_decref(&m);
	cbor_decref(&a);
}

static void
test_decode_round_trip(void **state)
{
	unsigned char *out = NULL, *again = NULL;
	size_t n = 0, n2 = 0;
	cbor_item_t *m = msg_new_map(), *d = NULL;
	const unsigned char *bp = NULL;
	size_t blen = 0;
	char buf[16];
	uint64_t u = 0;
	int64_t i = 0;
	int b = 0;

	(void)state;
	assert_int_equal(msg_put_str(m, "name", "alice"), COFFER_OK);
	assert_int_equal(msg_put_int(m, "neg", -300), COFFER_OK);
	assert_int_equal(msg_put_uint(m, "big", UINT64_MAX), COFFER_OK);
	assert_int_equal(msg_put_bool(m, "on", 1), COFFER_OK);
	assert_int_equal(msg_put_bytes(m, "raw", (const unsigned char *)"\0z",
	    2), COFFER_OK);
	assert_int_equal(msg_encode(m, &out, &n), COFFER_OK);
	assert_int_equal(msg_decode(out, n, &d), COFFER_OK);
	assert_int_equal(msg_get_str(d, "name", buf, sizeof(buf)), COFFER_OK);
	assert_string_equal(buf, "alice");
	assert_int_equal(msg_get_int(d, "neg", &i), COFFER_OK);
	assert_int_equal(i, -300);
	assert_int_equal(msg_get_uint(d, "big", &u), COFFER_OK);
	assert_true(u == UINT64_MAX);
	assert_int_equal(msg_get_bool(d, "on", &b), COFFER_OK);
	assert_int_equal(b, 1);
	assert_int_equal(msg_get_bytes(d, "raw", &bp, &blen), COFFER_OK);
	assert_int_equal(blen, 2);
	assert_memory_equal(bp, "\0z", 2);
	/* re-encoding a decoded item gives the same bytes */
	assert_int_equal(msg_encode(d, &again, &n2), COFFER_OK);
	assert_int_equal(n2, n);
	assert_memory_equal(again, out, n);
	free(out);
	free(again);
	cbor_decref(&m);
	cbor_decref(&d);
}

static void
test_decode_rejects(void **state)
{
	cbor_item_t *d = NULL;

	(void)state;
	assert_int_equal(msg_decode(B(0xa2, 0x61, 'b', 1, 0x61, 'a', 2), &d),
	    COFFER_ERR_PROTO);
	assert_null(d);
	assert_int_equal(msg_decode(B(0x01, 0x02), &d), COFFER_ERR_PROTO);
	assert_int_equal(msg_decode(B(0x9b, 0, 0, 0, 1, 0, 0, 0, 0), &d),
	    COFFER_ERR_PROTO);
	assert_int_equal(msg_decode(B(0x18, 0x01), &d), COFFER_ERR_PROTO);
	assert_int_equal(msg_decode(B(0x9f, 0xff), &d), COFFER_ERR_PROTO);
	assert_int_equal(msg_decode(B(0xfb, 0, 0, 0, 0, 0, 0, 0, 0), &d),
	    COFFER_ERR_PROTO);
	assert_null(d);
}

static void
test_getters_errors(void **state)
{
	cbor_item_t *m = msg_new_map(), *arr = msg_new_array();
	const unsigned char *bp = NULL;
	size_t blen = 0;
	char buf[4];
	uint64_t u = 0;
	int64_t i = 0;
	int b = 0;

	(void)state;
	assert_int_equal(msg_put_str(m, "s", "abcd"), COFFER_OK);
	assert_int_equal(msg_put_str(m, "t", "abc"), COFFER_OK);
	assert_int_equal(msg_put(m, "nul", cbor_build_stringn("a\0b", 3)),
	    COFFER_OK);
	assert_int_equal(msg_put_int(m, "neg", -1), COFFER_OK);
	assert_int_equal(msg_put_uint(m, "huge", UINT64_MAX), COFFER_OK);
	assert_int_equal(msg_put(m, "minneg", cbor_build_negint64(UINT64_MAX)),
	    COFFER_OK);

	assert_int_equal(msg_get_str(m, "absent", buf, sizeof(buf)),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(msg_get_str(m, "s", buf, sizeof(buf)),
	    COFFER_ERR_TOO_BIG);
	assert_int_equal(msg_get_str(m, "t", buf, sizeof(buf)), COFFER_OK);
	assert_string_equal(buf, "abc");
	assert_int_equal(msg_get_str(m, "nul", buf, sizeof(buf)),
	    COFFER_ERR_INVALID);
	assert_int_equal(msg_get_str(m, "neg", buf, sizeof(buf)),
	    COFFER_ERR_INVALID);
	assert_int_equal(msg_get_uint(m, "neg", &u), COFFER_ERR_INVALID);
	assert_int_equal(msg_get_int(m, "huge", &i), COFFER_ERR_INVALID);
	assert_int_equal(msg_get_int(m, "minneg", &i), COFFER_ERR_INVALID);
	assert_int_equal(msg_get_int(m, "s", &i), COFFER_ERR_INVALID);
	assert_int_equal(msg_get_int(m, "absent", &i), COFFER_ERR_NOT_FOUND);
	assert_int_equal(msg_get_bool(m, "s", &b), COFFER_ERR_INVALID);
	assert_int_equal(msg_get_bool(m, "absent", &b), COFFER_ERR_NOT_FOUND);
	assert_int_equal(msg_get_bytes(m, "s", &bp, &blen),
	    COFFER_ERR_INVALID);
	assert_int_equal(msg_get_bytes(m, "absent", &bp, &blen),
	    COFFER_ERR_NOT_FOUND);
	/* lookups compare length and bytes, not a prefix */
	assert_null(msg_get(m, "ss"));
	assert_null(msg_get(m, ""));
	assert_null(msg_get(arr, "s"));
	assert_null(msg_get(NULL, "s"));
	assert_int_equal(msg_item_int(NULL, &i), COFFER_ERR_INVALID);
	assert_int_equal(msg_item_str(msg_get(m, "t"), buf, 0),
	    COFFER_ERR_TOO_BIG);
	cbor_decref(&m);
	cbor_decref(&arr);
}

static void
test_int64_min_round_trip(void **state)
{
	cbor_item_t *m = msg_new_map(), *d = NULL;
	unsigned char *out = NULL;
	size_t n = 0;
	int64_t i = 0;

	(void)state;
	assert_int_equal(msg_put_int(m, "v", INT64_MIN), COFFER_OK);
	assert_int_equal(msg_encode(m, &out, &n), COFFER_OK);
	assert_int_equal(msg_decode(out, n, &d), COFFER_OK);
	assert_int_equal(msg_get_int(d, "v", &i), COFFER_OK);
	assert_true(i == INT64_MIN);
	free(out);
	cbor_decref(&m);
	cbor_decref(&d);
}

/* ---- vectors from docs/protocol.md -------------------------------------- */

static void
expect_vector(const char *name, cbor_item_t *item)
{
	unsigned char *want;
	size_t wantlen = 0;

	want = vec_get(name, &wantlen);
	assert_non_null(want);
	expect_enc(item, want, wantlen);
	free(want);
}

static cbor_item_t *
request_status(void)
{
	cbor_item_t *m = msg_new_map();

	assert_int_equal(msg_put_uint(m, "id", 1), COFFER_OK);
	assert_int_equal(msg_put_str(m, "op", "status"), COFFER_OK);
	assert_int_equal(msg_put(m, "args", msg_new_map()), COFFER_OK);
	return m;
}

static void
test_vector_request(void **state)
{
	(void)state;
	expect_vector("request-status", request_status());
}

/* The framed request, as written by frame_write on a socket. */
static void
test_vector_request_frame(void **state)
{
	unsigned char *want = NULL, *enc = NULL, raw[64];
	size_t wantlen = 0, n = 0;
	cbor_item_t *m = request_status();
	int fds[2];

	(void)state;
	want = vec_get("request-status-frame", &wantlen);
	assert_non_null(want);
	assert_true(wantlen < sizeof(raw));
	assert_int_equal(msg_encode(m, &enc, &n), COFFER_OK);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(frame_write(fds[0], enc, n), COFFER_OK);
	close(fds[0]);
	assert_int_equal(read(fds[1], raw, sizeof(raw)), (ssize_t)wantlen);
	assert_memory_equal(raw, want, wantlen);
	close(fds[1]);
	free(enc);
	free(want);
	cbor_decref(&m);
}

static void
test_vector_response(void **state)
{
	cbor_item_t *r = msg_new_map(), *res = msg_new_map();
	cbor_item_t *counts = msg_new_map();

	(void)state;
	assert_int_equal(msg_put_uint(counts, "customer", 1200), COFFER_OK);
	assert_int_equal(msg_put_uint(counts, "call", 45000), COFFER_OK);
	assert_int_equal(msg_put_str(res, "version", "0.1.0"), COFFER_OK);
	assert_int_equal(msg_put_uint(res, "uptime", 3600), COFFER_OK);
	assert_int_equal(msg_put_uint(res, "schema", 1), COFFER_OK);
	assert_int_equal(msg_put_uint(res, "connections", 2), COFFER_OK);
	assert_int_equal(msg_put(res, "counts", counts), COFFER_OK);
	assert_int_equal(msg_put_uint(r, "id", 1), COFFER_OK);
	assert_int_equal(msg_put_bool(r, "ok", 1), COFFER_OK);
	assert_int_equal(msg_put(r, "result", res), COFFER_OK);
	expect_vector("response-status", r);
}

static void
test_vector_error_response(void **state)
{
	cbor_item_t *r = msg_new_map(), *e = msg_new_map();

	(void)state;
	assert_int_equal(msg_put_uint(e, "code", COFFER_ERR_NOT_FOUND),
	    COFFER_OK);
	assert_int_equal(msg_put_str(e, "name",
	    coffer_errname(COFFER_ERR_NOT_FOUND)), COFFER_OK);
	assert_int_equal(msg_put_str(e, "message", "no such record"),
	    COFFER_OK);
	assert_int_equal(msg_put_uint(r, "id", 2), COFFER_OK);
	assert_int_equal(msg_put_bool(r, "ok", 0), COFFER_OK);
	assert_int_equal(msg_put(r, "error", e), COFFER_OK);
	expect_vector("response-error", r);
}

/* The vectors decode, and the decoded items re-encode to the same bytes. */
static void
test_vectors_decode(void **state)
{
	static const char *const names[] = { "request-status",
	    "response-status", "response-error" };
	unsigned char *v = NULL, *out = NULL;
	size_t i, vlen = 0, n = 0;
	cbor_item_t *d = NULL;
	uint64_t id = 0;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = vec_get(names[i], &vlen);
		assert_non_null(v);
		assert_int_equal(msg_decode(v, vlen, &d), COFFER_OK);
		assert_int_equal(msg_get_uint(d, "id", &id), COFFER_OK);
		assert_int_equal(msg_encode(d, &out, &n), COFFER_OK);
		assert_int_equal(n, vlen);
		assert_memory_equal(out, v, vlen);
		free(out);
		free(v);
		cbor_decref(&d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint_widths),
		cmocka_unit_test(test_wide_libcbor_item_is_shortened),
		cmocka_unit_test(test_int_widths),
		cmocka_unit_test(test_strings_and_simple),
		cmocka_unit_test(test_long_string_head),
		cmocka_unit_test(test_map_keys_sorted),
		cmocka_unit_test(test_nested_maps_sorted),
		cmocka_unit_test(test_big_map_sorted),
		cmocka_unit_test(test_map_of),
		cmocka_unit_test(test_put_duplicate_key),
		cmocka_unit_test(test_put_fresh),
		cmocka_unit_test(test_encode_rejects_duplicates),
		cmocka_unit_test(test_encode_rejects_non_protocol_items),
		cmocka_unit_test(test_encode_indefinite_becomes_definite),
		cmocka_unit_test(test_put_and_push_take_the_reference),
		cmocka_unit_test(test_decode_round_trip),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_getters_errors),
		cmocka_unit_test(test_int64_min_round_trip),
		cmocka_unit_test(test_vector_request),
		cmocka_unit_test(test_vector_request_frame),
		cmocka_unit_test(test_vector_response),
		cmocka_unit_test(test_vector_error_response),
		cmocka_unit_test(test_vectors_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
