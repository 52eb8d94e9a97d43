/*
 * test_cborcheck.c - the bounded CBOR validator: what deterministic CBOR it
 * accepts, and that hostile headers, deep nesting, non-canonical forms and
 * bad UTF-8 are refused before libcbor could see them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "coffer/cborcheck.h"
#include "coffer/err.h"

#define B(...) ((const unsigned char[]){ __VA_ARGS__ }), \
    sizeof((const unsigned char[]){ __VA_ARGS__ })

static int
check(const unsigned char *p, size_t n)
{
	return cborcheck_validate(p, n, &cborcheck_wire_limits, NULL);
}

static size_t
fault_at(const unsigned char *p, size_t n)
{
	size_t where = (size_t)-1;

	(void)cborcheck_validate(p, n, &cborcheck_wire_limits, &where);
	return where;
}

static void
test_limits_are_the_documented_ones(void **state)
{
	(void)state;
	assert_int_equal(cborcheck_wire_limits.max_depth, 16);
	assert_int_equal(cborcheck_wire_limits.max_items, 65536);
	assert_int_equal(cborcheck_wire_limits.max_string, 1024 * 1024);
}

static void
test_accepts_simple_items(void **state)
{
	(void)state;
	assert_int_equal(check(B(0x00)), COFFER_OK);
	assert_int_equal(check(B(0x17)), COFFER_OK);
	assert_int_equal(check(B(0x18, 0x18)), COFFER_OK);
	assert_int_equal(check(B(0x19, 0x01, 0x00)), COFFER_OK);
	assert_int_equal(check(B(0x1a, 0x00, 0x01, 0x00, 0x00)), COFFER_OK);
	assert_int_equal(check(B(0x1b, 0, 0, 0, 1, 0, 0, 0, 0)), COFFER_OK);
	assert_int_equal(check(B(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff)), COFFER_OK);
	assert_int_equal(check(B(0x20)), COFFER_OK);          /* -1 */
	assert_int_equal(check(B(0x38, 0x18)), COFFER_OK);    /* -25 */
	assert_int_equal(check(B(0xf4)), COFFER_OK);
	assert_int_equal(check(B(0xf5)), COFFER_OK);
	assert_int_equal(check(B(0xf6)), COFFER_OK);
	assert_int_equal(check(B(0x40)), COFFER_OK);
	assert_int_equal(check(B(0x60)), COFFER_OK);
	assert_int_equal(check(B(0x80)), COFFER_OK);
	assert_int_equal(check(B(0xa0)), COFFER_OK);
	assert_int_equal(check(B(0x43, 0x00, 0xff, 0x10)), COFFER_OK);
}

static void
test_accepts_request(void **state)
{
	/* {"id": 1, "op": "status", "args": {}} in deterministic order */
	(void)state;
	assert_int_equal(check(B(0xa3, 0x62, 'i', 'd', 0x01, 0x62, 'o', 'p',
	    0x66, 's', 't', 'a', 't', 'u', 's', 0x64, 'a', 'r', 'g', 's',
	    0xa0)), COFFER_OK);
}

static void
test_rejects_empty_and_null(void **state)
{
	unsigned char b = 0;

	(void)state;
	assert_int_equal(cborcheck_validate(&b, 0, &cborcheck_wire_limits,
	    NULL), COFFER_ERR_PROTO);
	assert_int_equal(cborcheck_validate(NULL, 1, &cborcheck_wire_limits,
	    NULL), COFFER_ERR_PROTO);
	assert_int_equal(cborcheck_validate(&b, 1, NULL, NULL),
	    COFFER_ERR_PROTO);
}

/* The 9-byte header that made libcbor 0.8 try to allocate gigabytes. */
static void
test_rejects_huge_array_header(void **state)
{
	(void)state;
	assert_int_equal(check(B(0x9b, 0, 0, 0, 1, 0, 0, 0, 0)),
	    COFFER_ERR_PROTO);
	assert_int_equal(fault_at(B(0x9b, 0, 0, 0, 1, 0, 0, 0, 0)), 0);
	assert_int_equal(check(B(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x9a, 0xff, 0xff, 0xff, 0xff, 0x00)),
	    COFFER_ERR_PROTO);
	/* maps: 2^63 pairs must not overflow the "2 bytes a pair" check */
	assert_int_equal(check(B(0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
	    COFFER_ERR_PROTO);
	assert_int_equal(check(B(0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff)), COFFER_ERR_PROTO);
	/* one pair needs two bytes: a header and one byte is short */
	assert_int_equal(check(B(0xa1, 0x00)), COFFER_ERR_PROTO);
}

static void
test_rejects_huge_strings(void **state)
{
	(void)state;
	assert_int_equal(check(B(0x5b, 0, 0, 0, 1, 0, 0, 0, 0)),
	    COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x5a, 0xff, 0xff, 0xff, 0xff)),
	    COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x62, 'a')), COFFER_ERR_PROTO);
}

static void
test_string_limit(void **state)
{
	struct cborcheck_limits lim = { 16, 100, 4 };

	(void)state;
	assert_int_equal(cborcheck_validate(B(0x44, 1, 2, 3, 4), &lim, NULL),
	    COFFER_OK);
	assert_int_equal(cborcheck_validate(B(0x45, 1, 2, 3, 4, 5), &lim,
	    NULL), COFFER_ERR_TOO_BIG);
	assert_int_equal(cborcheck_validate(B(0x65, 'a', 'b', 'c', 'd', 'e'),
	    &lim, NULL), COFFER_ERR_TOO_BIG);
}

static void
test_wire_string_limit(void **state)
{
	size_t n = 1024 * 1024 + 1;
	unsigned char *p = calloc(1, n + 5);

	(void)state;
	assert_non_null(p);
	p[0] = 0x5a;
	p[1] = (unsigned char)(n >> 24);
	p[2] = (unsigned char)(n >> 16);
	p[3] = (unsigned char)(n >> 8);
	p[4] = (unsigned char)n;
	assert_int_equal(check(p, n + 5), COFFER_ERR_TOO_BIG);
	n--;	/* exactly 1 MiB is allowed */
	p[2] = (unsigned char)(n >> 16);
	p[3] = (unsigned char)(n >> 8);
	p[4] = (unsigned char)n;
	assert_int_equal(check(p, n + 5), COFFER_OK);
	free(p);
}

static void
test_item_limit(void **state)
{
	struct cborcheck_limits lim3 = { 16, 3, 100 };
	struct cborcheck_limits lim4 = { 16, 4, 100 };

	(void)state;
	/* [1, 2, 3] is four items: the array and its elements */
	assert_int_equal(cborcheck_validate(B(0x83, 1, 2, 3), &lim3, NULL),
	    COFFER_ERR_TOO_BIG);
	assert_int_equal(cborcheck_validate(B(0x83, 1, 2, 3), &lim4, NULL),
	    COFFER_OK);
	/* {1: 2} is three: map, key, value */
	assert_int_equal(cborcheck_validate(B(0xa1, 1, 2), &lim3, NULL),
	    COFFER_OK);
	assert_int_equal(cborcheck_validate(B(0xa2, 1, 2, 3, 4), &lim3, NULL),
	    COFFER_ERR_TOO_BIG);
}

/* An array of 65536 zeros is 65537 items: one over the wire limit. */
static void
test_wire_item_limit(void **state)
{
	size_t n = 65536;
	unsigned char *p = calloc(1, n + 5);

	(void)state;
	assert_non_null(p);
	p[0] = 0x9a;
	p[1] = 0x00;
	p[2] = 0x01;
	p[3] = 0x00;
	p[4] = 0x00;
	assert_int_equal(check(p, n + 5), COFFER_ERR_TOO_BIG);
	p[0] = 0x99;	/* 65535 zeros: exactly at the limit */
	p[1] = 0xff;
	p[2] = 0xff;
	assert_int_equal(check(p, 65535 + 3), COFFER_OK);
	free(p);
}

static void
test_depth(void **state)
{
	unsigned char buf[10001];
	size_t where = 0;

	(void)state;
	/* 16 nested arrays around a 0 is fine, 17 is not */
	memset(buf, 0x81, 16);
	buf[16] = 0x00;
	assert_int_equal(check(buf, 17), COFFER_OK);
	memset(buf, 0x81, 17);
	buf[17] = 0x00;
	assert_int_equal(check(buf, 18), COFFER_ERR_TOO_BIG);
	/* 10000 deep: refused at the 17th header, not a stack overflow */
	memset(buf, 0x81, 10000);
	buf[10000] = 0x00;
	assert_int_equal(cborcheck_validate(buf, sizeof(buf),
	    &cborcheck_wire_limits, &where), COFFER_ERR_TOO_BIG);
	assert_int_equal(where, 16);
	memset(buf, 0xa1, 10000);
	assert_int_equal(check(buf, sizeof(buf)), COFFER_ERR_TOO_BIG);
}

static void
test_depth_cap_ignores_silly_limits(void **state)
{
	struct cborcheck_limits lim = { SIZE_MAX, SIZE_MAX, SIZE_MAX };
	unsigned char buf[10001];

	(void)state;
	memset(buf, 0x81, 10000);
	buf[10000] = 0x00;
	assert_int_equal(cborcheck_validate(buf, sizeof(buf), &lim, NULL),
	    COFFER_ERR_TOO_BIG);
}

static void
test_rejects_indefinite(void **state)
{
	(void)state;
	assert_int_equal(check(B(0x9f, 0x01, 0xff)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0xbf, 0x01, 0x02, 0xff)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x5f, 0x41, 0x00, 0xff)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x7f, 0x61, 'a', 0xff)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0xff)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x1f)), COFFER_ERR_PROTO);
}

static void
test_rejects_trailing_bytes(void **state)
{
	(void)state;
	assert_int_equal(check(B(0x01, 0x02)), COFFER_ERR_PROTO);
	assert_int_equal(fault_at(B(0x01, 0x02)), 1);
	assert_int_equal(check(B(0xa0, 0x00)), COFFER_ERR_PROTO);
}

static void
test_rejects_non_shortest_heads(void **state)
{
	(void)state;
	assert_int_equal(check(B(0x18, 0x17)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x19, 0x00, 0xff)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x1a, 0x00, 0x00, 0xff, 0xff)),
	    COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff)),
	    COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x38, 0x00)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x98, 0x01, 0x00)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x78, 0x01, 'a')), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0xb8, 0x00)), COFFER_ERR_PROTO);
	/* reserved additional information */
	assert_int_equal(check(B(0x1c)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x1e)), COFFER_ERR_PROTO);
	/* truncated argument */
	assert_int_equal(check(B(0x19, 0x01)), COFFER_ERR_PROTO);
}

static void
test_map_key_order(void **state)
{
	(void)state;
	/* {"a": 1, "b": 2} good; {"b": 2, "a": 1} and {"a", "a"} bad */
	assert_int_equal(check(B(0xa2, 0x61, 'a', 1, 0x61, 'b', 2)),
	    COFFER_OK);
	assert_int_equal(check(B(0xa2, 0x61, 'b', 2, 0x61, 'a', 1)),
	    COFFER_ERR_PROTO);
	assert_int_equal(fault_at(B(0xa2, 0x61, 'b', 2, 0x61, 'a', 1)), 4);
	assert_int_equal(check(B(0xa2, 0x61, 'a', 1, 0x61, 'a', 2)),
	    COFFER_ERR_PROTO);
	/* bytewise order of encodings: "b" (61 62) sorts before "aa" */
	assert_int_equal(check(B(0xa2, 0x61, 'b', 1, 0x62, 'a', 'a', 2)),
	    COFFER_OK);
	assert_int_equal(check(B(0xa2, 0x62, 'a', 'a', 2, 0x61, 'b', 1)),
	    COFFER_ERR_PROTO);
	/* integer keys: 1 (01) before -1 (20) before "a" (61 61) */
	assert_int_equal(check(B(0xa3, 0x01, 0xf6, 0x20, 0xf6, 0x61, 'a',
	    0xf6)), COFFER_OK);
	assert_int_equal(check(B(0xa2, 0x20, 0xf6, 0x01, 0xf6)),
	    COFFER_ERR_PROTO);
	/* the order is checked inside nested maps too */
	assert_int_equal(check(B(0x81, 0xa2, 0x02, 0xf6, 0x01, 0xf6)),
	    COFFER_ERR_PROTO);
}

static void
test_utf8(void **state)
{
	(void)state;
	assert_int_equal(check(B(0x63, 0xe2, 0x82, 0xac)), COFFER_OK);
	assert_int_equal(check(B(0x64, 0xf0, 0x9d, 0x84, 0x9e)), COFFER_OK);
	assert_int_equal(check(B(0x64, 0xf4, 0x8f, 0xbf, 0xbf)), COFFER_OK);
	assert_int_equal(check(B(0x63, 0xed, 0x9f, 0xbf)), COFFER_OK);
	assert_int_equal(check(B(0x63, 0xee, 0x80, 0x80)), COFFER_OK);
	assert_int_equal(check(B(0x62, 0xc2, 0x80)), COFFER_OK);
	/* overlong forms */
	assert_int_equal(check(B(0x62, 0xc0, 0x80)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x62, 0xc1, 0xbf)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x63, 0xe0, 0x80, 0x80)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x64, 0xf0, 0x80, 0x80, 0x80)),
	    COFFER_ERR_PROTO);
	/* surrogates */
	assert_int_equal(check(B(0x63, 0xed, 0xa0, 0x80)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x63, 0xed, 0xbf, 0xbf)), COFFER_ERR_PROTO);
	/* beyond U+10FFFF */
	assert_int_equal(check(B(0x64, 0xf4, 0x90, 0x80, 0x80)),
	    COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x64, 0xf5, 0x80, 0x80, 0x80)),
	    COFFER_ERR_PROTO);
	/* stray continuation, truncated sequence, bad continuation */
	assert_int_equal(check(B(0x61, 0x80)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x62, 0xe2, 0x82)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x63, 0xe2, 0x41, 0xac)), COFFER_ERR_PROTO);
	assert_int_equal(fault_at(B(0x63, 'a', 0xff, 'b')), 2);
	/* byte strings carry anything */
	assert_int_equal(check(B(0x42, 0xc0, 0x80)), COFFER_OK);
}

static void
test_rejects_tags_floats_simple(void **state)
{
	(void)state;
	assert_int_equal(check(B(0xc0, 0x60)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0xc1, 0x00)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0xd8, 0x20, 0x60)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0xf9, 0x00, 0x00)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0xfa, 0, 0, 0, 0)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0xfb, 0, 0, 0, 0, 0, 0, 0, 0)),
	    COFFER_ERR_PROTO);
	assert_int_equal(check(B(0xf7)), COFFER_ERR_PROTO);	/* undefined */
	assert_int_equal(check(B(0xf0)), COFFER_ERR_PROTO);	/* simple 16 */
	assert_int_equal(check(B(0xf8, 0x20)), COFFER_ERR_PROTO);
	assert_int_equal(check(B(0x81, 0xfb, 0, 0, 0, 0, 0, 0, 0, 0)),
	    COFFER_ERR_PROTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits_are_the_documented_ones),
		cmocka_unit_test(test_accepts_simple_items),
		cmocka_unit_test(test_accepts_request),
		cmocka_unit_test(test_rejects_empty_and_null),
		cmocka_unit_test(test_rejects_huge_array_header),
		cmocka_unit_test(test_rejects_huge_strings),
		cmocka_unit_test(test_string_limit),
		cmocka_unit_test(test_wire_string_limit),
		cmocka_unit_test(test_item_limit),
		cmocka_unit_test(test_wire_item_limit),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_depth_cap_ignores_silly_limits),
		cmocka_unit_test(test_rejects_indefinite),
		cmocka_unit_test(test_rejects_trailing_bytes),
		cmocka_unit_test(test_rejects_non_shortest_heads),
		cmocka_unit_test(test_map_key_order),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_rejects_tags_floats_simple),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
