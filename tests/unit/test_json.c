/*
 * test_json.c - the client's CBOR -> JSON writer: string escaping (quotes,
 * backslashes, control characters, U+2028), UTF-8 passthrough, invalid
 * UTF-8, integers at the 64-bit edges, bytes, nesting and the depth cap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "coffer/err.h"
#include "coffer/json.h"

/* Render item to a malloc'd string; asserts the expected status. */
static char *
render(const cbor_item_t *item, int want_rc)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	assert_non_null(f);
	assert_int_equal(json_write(f, item), want_rc);
	assert_int_equal(fclose(f), 0);
	return mem;
}

static void
check_text(const char *in, size_t inlen, const char *want)
{
	cbor_item_t *s = cbor_build_stringn(in, inlen);
	char *out;

	assert_non_null(s);
	out = render(s, COFFER_OK);
	assert_string_equal(out, want);
	free(out);
	cbor_decref(&s);
}

static void
escapes(void **state)
{
	(void)state;
	check_text("plain", 5, "\"plain\"");
	check_text("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check_text("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
	check_text("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
	check_text("\x1b[31m", 5, "\"\\u001b[31m\"");
	check_text("a\0b", 3, "\"a\\u0000b\"");
	check_text("/", 1, "\"/\"");
	check_text("", 0, "\"\"");
}

static void
utf8_passthrough(void **state)
{
	(void)state;
	check_text("张三", strlen("张三"), "\"张三\"");
	check_text("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");
	/* Line/paragraph separators break JavaScript; C1 controls terminals. */
	check_text("\xe2\x80\xa8\xe2\x80\xa9", 6, "\"\\u2028\\u2029\"");
	check_text("\xc2\x85", 2, "\"\\u0085\"");
}

static void
invalid_utf8(void **state)
{
	(void)state;
	check_text("a\xff" "b", 3, "\"a\\ufffdb\"");
	check_text("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");        /* overlong */
	check_text("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
	check_text("\xe5\xbc", 2, "\"\\ufffd\\ufffd\"");        /* truncated */
}

static void
integers(void **state)
{
	cbor_item_t *a = cbor_new_definite_array(4);
	cbor_item_t *n1 = cbor_build_uint64(UINT64_MAX);
	cbor_item_t *n2 = cbor_build_negint64(UINT64_MAX); /* -2^64 */
	cbor_item_t *n3 = cbor_build_negint8(0);           /* -1 */
	cbor_item_t *n4 = cbor_build_uint8(0);
	char *out;

	(void)state;
	assert_true(cbor_array_push(a, n1) && cbor_array_push(a, n2) &&
	    cbor_array_push(a, n3) && cbor_array_push(a, n4));
	out = render(a, COFFER_OK);
	assert_string_equal(out, "[18446744073709551615,-18446744073709551616,"
	    "-1,0]");
	free(out);
	cbor_decref(&n1);
	cbor_decref(&n2);
	cbor_decref(&n3);
	cbor_decref(&n4);
	cbor_decref(&a);
}

static void
maps_bytes_simple(void **state)
{
	static const unsigned char raw[] = { 0xfb, 0xff, 0x00 };
	cbor_item_t *m = cbor_new_definite_map(5);
	char *out;

	(void)state;
	assert_true(cbor_map_add(m, (struct cbor_pair){
	    cbor_move(cbor_build_string("b")),
	    cbor_move(cbor_build_bytestring(raw, sizeof(raw))) }));
	assert_true(cbor_map_add(m, (struct cbor_pair){
	    cbor_move(cbor_build_string("t")), cbor_move(cbor_build_bool(true)) }));
	assert_true(cbor_map_add(m, (struct cbor_pair){
	    cbor_move(cbor_build_string("n")), cbor_move(cbor_new_null()) }));
	assert_true(cbor_map_add(m, (struct cbor_pair){
	    cbor_move(cbor_build_uint8(7)), cbor_move(cbor_build_bool(false)) }));
	assert_true(cbor_map_add(m, (struct cbor_pair){
	    cbor_move(cbor_build_string("k\"")),
	    cbor_move(cbor_new_definite_array(0)) }));
	out = render(m, COFFER_OK);
	assert_string_equal(out, "{\"b\":\"+/8A\",\"t\":true,\"n\":null,"
	    "\"7\":false,\"k\\\"\":[]}");
	free(out);
	cbor_decref(&m);
}

static void
depth_cap(void **state)
{
	cbor_item_t *top = NULL, *cur;
	char *out;
	int i;

	(void)state;
	cur = cbor_build_uint8(1);
	for (i = 0; i < JSON_MAX_DEPTH; i++) {
		top = cbor_new_definite_array(1);
		assert_true(cbor_array_push(top, cbor_move(cur)));
		cur = top;
	}
	/* JSON_MAX_DEPTH arrays around an int: one level too deep. */
	out = render(top, COFFER_ERR_TOO_BIG);
	free(out);
	cbor_decref(&top);
	/* One level fewer is fine. */
	cur = cbor_build_uint8(1);
	for (i = 0; i < JSON_MAX_DEPTH - 1; i++) {
		top = cbor_new_definite_array(1);
		assert_true(cbor_array_push(top, cbor_move(cur)));
		cur = top;
	}
	out = render(top, COFFER_OK);
	assert_int_equal(out[JSON_MAX_DEPTH - 1], '1');
	free(out);
	cbor_decref(&top);
}

static void
write_string(void **state)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	(void)state;
	assert_int_equal(json_write_string(f, "x\ty"), COFFER_OK);
	fclose(f);
	assert_string_equal(mem, "\"x\\ty\"");
	free(mem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escapes),
		cmocka_unit_test(utf8_passthrough),
		cmocka_unit_test(invalid_utf8),
		cmocka_unit_test(integers),
		cmocka_unit_test(maps_bytes_simple),
		cmocka_unit_test(depth_cap),
		cmocka_unit_test(write_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
