/*
 * test_cli.c - the client's conversion of command-line words to typed CBOR
 * values: money, times, booleans, integers, enums, field rules and rejects.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "coffer/cli.h"
#include "coffer/err.h"
#include "coffer/msg.h"

#define NOW 1714550400LL /* 2024-05-01T08:00:00Z */

static void
money_accepts(void **state)
{
	int64_t v = -1;

	(void)state;
	assert_int_equal(cli_parse_money("1234.50", &v), COFFER_OK);
	assert_int_equal(v, 123450);
	assert_int_equal(cli_parse_money("1234", &v), COFFER_OK);
	assert_int_equal(v, 123400);
	assert_int_equal(cli_parse_money("1234.5", &v), COFFER_OK);
	assert_int_equal(v, 123450);
	assert_int_equal(cli_parse_money("0.01", &v), COFFER_OK);
	assert_int_equal(v, 1);
	assert_int_equal(cli_parse_money("0", &v), COFFER_OK);
	assert_int_equal(v, 0);
	assert_int_equal(cli_parse_money("92233720368547758.07", &v),
	    COFFER_OK);
	assert_true(v == INT64_MAX);
}

static void
money_rejects(void **state)
{
	static const char *const bad[] = { "12.345", "1.", ".5", "", "-1",
	    "+1", "1,000", "1e3", "12.3a", "abc", " 1", "1 ", "1..2",
	    "92233720368547758.08", "99999999999999999999", NULL };
	int64_t v = 77;
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		assert_int_equal(cli_parse_money(bad[i], &v), COFFER_ERR_USAGE);
		assert_int_equal(v, 77); /* untouched on failure */
	}
}

static void
ints(void **state)
{
	int64_t v = 0;
	uint64_t u = 0;

	(void)state;
	assert_int_equal(cli_parse_int("42", &v), COFFER_OK);
	assert_int_equal(v, 42);
	assert_int_equal(cli_parse_int("-42", &v), COFFER_OK);
	assert_int_equal(v, -42);
	assert_int_equal(cli_parse_int("-9223372036854775808", &v), COFFER_OK);
	assert_true(v == INT64_MIN);
	assert_int_equal(cli_parse_int("9223372036854775807", &v), COFFER_OK);
	assert_true(v == INT64_MAX);
	assert_int_equal(cli_parse_int("9223372036854775808", &v),
	    COFFER_ERR_USAGE);
	assert_int_equal(cli_parse_int("-9223372036854775809", &v),
	    COFFER_ERR_USAGE);
	assert_int_equal(cli_parse_int("", &v), COFFER_ERR_USAGE);
	assert_int_equal(cli_parse_int("-", &v), COFFER_ERR_USAGE);
	assert_int_equal(cli_parse_int("12x", &v), COFFER_ERR_USAGE);
	assert_int_equal(cli_parse_int("0x10", &v), COFFER_ERR_USAGE);
	assert_int_equal(cli_parse_int(" 5", &v), COFFER_ERR_USAGE);
	assert_int_equal(cli_parse_uint("18446744073709551615", &u), COFFER_OK);
	assert_true(u == UINT64_MAX);
	assert_int_equal(cli_parse_uint("18446744073709551616", &u),
	    COFFER_ERR_USAGE);
	assert_int_equal(cli_parse_uint("-1", &u), COFFER_ERR_USAGE);
}

static void
bools(void **state)
{
	static const char *const t[] = { "true", "yes", "1", "on", "TRUE",
	    "Yes", NULL };
	static const char *const f[] = { "false", "no", "0", "off", "No",
	    NULL };
	size_t i;
	int b;

	(void)state;
	for (i = 0; t[i] != NULL; i++) {
		b = 0;
		assert_int_equal(cli_parse_bool(t[i], &b), COFFER_OK);
		assert_int_equal(b, 1);
	}
	for (i = 0; f[i] != NULL; i++) {
		b = 1;
		assert_int_equal(cli_parse_bool(f[i], &b), COFFER_OK);
		assert_int_equal(b, 0);
	}
	assert_int_equal(cli_parse_bool("y", &b), COFFER_ERR_USAGE);
	assert_int_equal(cli_parse_bool("2", &b), COFFER_ERR_USAGE);
	assert_int_equal(cli_parse_bool("", &b), COFFER_ERR_USAGE);
}

static void
times_absolute(void **state)
{
	int64_t t = 0;

	(void)state;
	assert_int_equal(cli_parse_time("1714550400", NOW, &t), COFFER_OK);
	assert_int_equal(t, 1714550400);
	assert_int_equal(cli_parse_time("1970-01-01", NOW, &t), COFFER_OK);
	assert_int_equal(t, 0);
	assert_int_equal(cli_parse_time("2024-05-01", NOW, &t), COFFER_OK);
	assert_int_equal(t, 1714521600);
	assert_int_equal(cli_parse_time("2024-05-01T08:00", NOW, &t),
	    COFFER_OK);
	assert_int_equal(t, NOW);
	assert_int_equal(cli_parse_time("2024-05-01 08:00:59Z", NOW, &t),
	    COFFER_OK);
	assert_int_equal(t, NOW + 59);
	assert_int_equal(cli_parse_time("2024-02-29", NOW, &t), COFFER_OK);
	assert_int_equal(t, 1709164800);
	assert_int_equal(cli_parse_time("2000-02-29T23:59:59", NOW, &t),
	    COFFER_OK);
	assert_int_equal(t, 951868799);
}

static void
times_relative(void **state)
{
	int64_t t = 0;

	(void)state;
	assert_int_equal(cli_parse_time("now", NOW, &t), COFFER_OK);
	assert_int_equal(t, NOW);
	assert_int_equal(cli_parse_time("+3d", NOW, &t), COFFER_OK);
	assert_int_equal(t, NOW + 3 * 86400);
	assert_int_equal(cli_parse_time("-2h", NOW, &t), COFFER_OK);
	assert_int_equal(t, NOW - 7200);
	assert_int_equal(cli_parse_time("+30m", NOW, &t), COFFER_OK);
	assert_int_equal(t, NOW + 1800);
	assert_int_equal(cli_parse_time("+1w", NOW, &t), COFFER_OK);
	assert_int_equal(t, NOW + 604800);
	assert_int_equal(cli_parse_time("+45s", NOW, &t), COFFER_OK);
	assert_int_equal(t, NOW + 45);
}

static void
times_reject(void **state)
{
	static const char *const bad[] = { "", "2023-02-29", "2024-13-01",
	    "2024-00-10", "2024-04-31", "1969-12-31", "2024-5-1",
	    "2024-05-01T24:00", "2024-05-01T12:60", "2024-05-01T12:00:60",
	    "2024-05-01X12:00", "2024-05-01T12", "+3", "+d", "+3y", "3d",
	    "+-3d", "-99999999999d", "Now", "yesterday", "12:00", "1.5",
	    "-1000000w", NULL };
	int64_t t = 5;
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		if (cli_parse_time(bad[i], NOW, &t) != COFFER_ERR_USAGE)
			fail_msg("accepted bad time '%s'", bad[i]);
	}
}

static void
utf8(void **state)
{
	(void)state;
	assert_true(cli_utf8_valid("张三 abc", strlen("张三 abc")));
	assert_true(cli_utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_false(cli_utf8_valid("\xc0\xaf", 2));          /* overlong */
	assert_false(cli_utf8_valid("\xed\xa0\x80", 3));      /* surrogate */
	assert_false(cli_utf8_valid("\xe5\xbc", 2));          /* truncated */
	assert_false(cli_utf8_valid("\xf4\x90\x80\x80", 4));  /* > U+10FFFF */
	assert_false(cli_utf8_valid("a\0b", 3));
}

/* A small kind for cli_fields/cli_value, independent of the real schema. */
static const char *const colours[] = { "red", "green", NULL };
static const struct field_def tfields[] = {
	{ "id", FT_INT, FF_SERVER, 1, INT64_MAX, NULL, NULL, "public", "" },
	{ "name", FT_TEXT, FF_REQUIRED, 1, 100, NULL, NULL, "public", "" },
	{ "owner", FT_REF, FF_IMMUTABLE | FF_FILTER, 1, INT64_MAX, NULL,
	  "customer", "public", "" },
	{ "amount", FT_MONEY, 0, 0, INT64_MAX, NULL, NULL, "public", "" },
	{ "duration", FT_INT, 0, 0, 86400, NULL, NULL, "public", "" },
	{ "due", FT_TIME, FF_FILTER, 0, INT64_MAX, NULL, NULL, "public", "" },
	{ "vip", FT_BOOL, FF_FILTER, 0, 1, NULL, NULL, "public", "" },
	{ "colour", FT_ENUM, 0, 0, 0, colours, NULL, "public", "" },
};
static const struct kind_def tkind = { "thing", "things", "things", tfields,
	sizeof(tfields) / sizeof(tfields[0]), SCOPE_SHARED, "test kind" };

static void
value_types(void **state)
{
	char err[CLI_ERR_MAX];
	cbor_item_t *v = NULL;
	int64_t i = 0;

	(void)state;
	assert_int_equal(cli_value(&tfields[3], "12.30", NOW, &v, err,
	    sizeof(err)), COFFER_OK);
	assert_int_equal(msg_item_int(v, &i), COFFER_OK);
	assert_int_equal(i, 1230);
	cbor_decref(&v);
	assert_int_equal(cli_value(&tfields[5], "+1d", NOW, &v, err,
	    sizeof(err)), COFFER_OK);
	assert_int_equal(msg_item_int(v, &i), COFFER_OK);
	assert_int_equal(i, NOW + 86400);
	cbor_decref(&v);
	assert_int_equal(cli_value(&tfields[6], "no", NOW, &v, err,
	    sizeof(err)), COFFER_OK);
	assert_true(cbor_is_bool(v));
	assert_false(cbor_get_bool(v));
	cbor_decref(&v);
	assert_int_equal(cli_value(&tfields[1], "张三", NOW, &v, err,
	    sizeof(err)), COFFER_OK);
	assert_true(cbor_isa_string(v));
	assert_int_equal(cbor_string_length(v), strlen("张三"));
	cbor_decref(&v);
	assert_int_equal(cli_value(&tfields[7], "green", NOW, &v, err,
	    sizeof(err)), COFFER_OK);
	cbor_decref(&v);
}

static void
value_errors_name_argument(void **state)
{
	char err[CLI_ERR_MAX];
	cbor_item_t *v = NULL;

	(void)state;
	assert_int_equal(cli_value(&tfields[4], "abc", NOW, &v, err,
	    sizeof(err)), COFFER_ERR_USAGE);
	assert_null(v);
	assert_string_equal(err, "duration=abc: not an integer");
	assert_int_equal(cli_value(&tfields[3], "1.234", NOW, &v, err,
	    sizeof(err)), COFFER_ERR_USAGE);
	assert_non_null(strstr(err, "amount=1.234: "));
	assert_int_equal(cli_value(&tfields[2], "0", NOW, &v, err,
	    sizeof(err)), COFFER_ERR_USAGE);
	assert_non_null(strstr(err, "owner=0: "));
	assert_int_equal(cli_value(&tfields[7], "blue", NOW, &v, err,
	    sizeof(err)), COFFER_ERR_USAGE);
	assert_string_equal(err, "colour=blue: must be one of: red, green");
	assert_int_equal(cli_value(&tfields[1], "\xff", NOW, &v, err,
	    sizeof(err)), COFFER_ERR_USAGE);
	assert_string_equal(err, "name: not valid UTF-8");
}

static void
fields_create(void **state)
{
	char *ok[] = { "name=Li", "amount=5", "vip=yes", "owner=3" };
	char *missing[] = { "amount=5" };
	char *server[] = { "name=a", "id=4" };
	char *twice[] = { "name=a", "name=b" };
	char *noeq[] = { "name" };
	char *unknown[] = { "name=a", "colour=red", "size=3" };
	char err[CLI_ERR_MAX];
	cbor_item_t *m = NULL;
	char buf[8];

	(void)state;
	assert_int_equal(cli_fields(&tkind, ok, 4, CLI_CREATE, NOW, &m, err,
	    sizeof(err)), COFFER_OK);
	assert_int_equal(cbor_map_size(m), 4);
	assert_int_equal(msg_get_str(m, "name", buf, sizeof(buf)), COFFER_OK);
	assert_string_equal(buf, "Li");
	cbor_decref(&m);
	assert_int_equal(cli_fields(&tkind, missing, 1, CLI_CREATE, NOW, &m,
	    err, sizeof(err)), COFFER_ERR_USAGE);
	assert_null(m);
	assert_non_null(strstr(err, "name: required"));
	assert_int_equal(cli_fields(&tkind, server, 2, CLI_CREATE, NOW, &m,
	    err, sizeof(err)), COFFER_ERR_USAGE);
	assert_non_null(strstr(err, "id: "));
	assert_int_equal(cli_fields(&tkind, twice, 2, CLI_CREATE, NOW, &m,
	    err, sizeof(err)), COFFER_ERR_USAGE);
	assert_non_null(strstr(err, "more than once"));
	assert_int_equal(cli_fields(&tkind, noeq, 1, CLI_CREATE, NOW, &m,
	    err, sizeof(err)), COFFER_ERR_USAGE);
	assert_string_equal(err, "name: expected FIELD=VALUE");
	assert_int_equal(cli_fields(&tkind, unknown, 3, CLI_CREATE, NOW, &m,
	    err, sizeof(err)), COFFER_ERR_USAGE);
	assert_non_null(strstr(err, "size: no such field in thing"));
	assert_null(m);
}

static void
fields_update_filter(void **state)
{
	char *imm[] = { "owner=5" };
	char *upd[] = { "colour=red" };
	char *flt_ok[] = { "vip=1", "due=2024-05-01" };
	char *flt_bad[] = { "name=x" };
	char err[CLI_ERR_MAX];
	cbor_item_t *m = NULL;
	int64_t due = 0;

	(void)state;
	assert_int_equal(cli_fields(&tkind, imm, 1, CLI_UPDATE, NOW, &m, err,
	    sizeof(err)), COFFER_ERR_USAGE);
	assert_non_null(strstr(err, "owner: cannot be changed"));
	assert_int_equal(cli_fields(&tkind, upd, 0, CLI_UPDATE, NOW, &m, err,
	    sizeof(err)), COFFER_ERR_USAGE);
	assert_int_equal(cli_fields(&tkind, upd, 1, CLI_UPDATE, NOW, &m, err,
	    sizeof(err)), COFFER_OK);
	cbor_decref(&m);
	assert_int_equal(cli_fields(&tkind, flt_ok, 2, CLI_FILTER, NOW, &m,
	    err, sizeof(err)), COFFER_OK);
	assert_int_equal(msg_get_int(m, "due", &due), COFFER_OK);
	assert_int_equal(due, 1714521600);
	cbor_decref(&m);
	assert_int_equal(cli_fields(&tkind, flt_bad, 1, CLI_FILTER, NOW, &m,
	    err, sizeof(err)), COFFER_ERR_USAGE);
	assert_non_null(strstr(err, "name: cannot be used as a filter"));
	assert_non_null(strstr(err, "owner, due, vip"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(money_accepts),
		cmocka_unit_test(money_rejects),
		cmocka_unit_test(ints),
		cmocka_unit_test(bools),
		cmocka_unit_test(times_absolute),
		cmocka_unit_test(times_relative),
		cmocka_unit_test(times_reject),
		cmocka_unit_test(utf8),
		cmocka_unit_test(value_types),
		cmocka_unit_test(value_errors_name_argument),
		cmocka_unit_test(fields_create),
		cmocka_unit_test(fields_update_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
