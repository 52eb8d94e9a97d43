/*
 * test_mask.c - the masking formats against tables: phones (mainland
 * mobile, landline, E.164), e-mails, names (Chinese and Latin, UTF-8),
 * amounts as ranges; malformed input, embedded NULs and short buffers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "coffer/err.h"
#include "coffer/mask.h"

struct row {
	const char *in;
	const char *want;
};

static void
run_table(int (*fn)(const char *, size_t, char *, size_t),
    const struct row *t, size_t n)
{
	char out[MASK_OUT_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		memset(out, 'X', sizeof(out));
		assert_int_equal(fn(t[i].in, strlen(t[i].in), out,
		    sizeof(out)), COFFER_OK);
		if (strcmp(out, t[i].want) != 0)
			fail_msg("'%s' masked to '%s', want '%s'", t[i].in, out,
			    t[i].want);
	}
}

static void
test_phone(void **state)
{
	static const struct row t[] = {
		{ "13812345678", "138****5678" },
		{ "19912340000", "199****0000" },
		{ "010-12345678", "010-****5678" },
		{ "0755-1234567", "0755-****4567" },
		{ "+442071234567", "+44****4567" },
		{ "+12025550123", "+1****0123" },
		{ "+8613812345678", "+86****5678" },
		{ "+3531234567", "+353****4567" },   /* three-digit code */
		{ "+4412345", "+44****" },           /* too short for a tail */
		{ "1381234567", "***" },             /* 10 digits */
		{ "138123456789", "***" },           /* 12 digits */
		{ "23812345678", "***" },
		{ "010-123", "***" },                /* local part too short */
		{ "01-12345678", "***" },            /* area code too short */
		{ "010-1234a678", "***" },
		{ "+44", "***" },
		{ "", "***" },
		{ "hello", "***" },
	};

	(void)state;
	run_table(mask_phone, t, sizeof(t) / sizeof(t[0]));
}

static void
test_email(void **state)
{
	static const struct row t[] = {
		{ "zhang.san@example.com", "z***@example.com" },
		{ "a@qq.com", "a***@qq.com" },
		{ "12345678@qq.com", "1***@qq.com" },
		{ "张三@例子.中国", "张***@例子.中国" },
		{ "a\"b@c\"@d.com", "a***@d.com" },  /* the last @ splits */
		{ "@example.com", "***" },
		{ "nobody", "***" },
		{ "x@", "***" },
		{ "", "***" },
		{ "\xff@example.com", "***" },       /* not UTF-8 */
	};

	(void)state;
	run_table(mask_email, t, sizeof(t) / sizeof(t[0]));
}

static void
test_name(void **state)
{
	static const struct row t[] = {
		{ "张三", "张*" },
		{ "李小龙", "李**" },
		{ "欧阳娜娜", "欧阳**" },
		{ "司马相如", "司马**" },
		{ "王", "*" },
		{ "爱新觉罗溥仪", "爱新****" },
		{ "阿卜杜拉·买买提江·艾力克木", "阿卜****" }, /* stars capped */
		{ "John Smith", "J***" },
		{ "z", "z***" },
		{ " 张三", "***" },                  /* leading blank */
		{ "", "***" },
		{ "\xe5\xbc", "***" },               /* truncated UTF-8 */
		{ "\xc0\x80", "***" },               /* overlong NUL */
		{ "\xed\xa0\x80\xe4\xb8\x89", "***" }, /* surrogate */
	};

	(void)state;
	run_table(mask_name, t, sizeof(t) / sizeof(t[0]));
}

static void
test_amount(void **state)
{
	static const struct {
		int64_t fen;
		const char *want;
	} t[] = {
		{ 0, "0-1,000" },
		{ 99999, "0-1,000" },          /* 999.99 yuan */
		{ 100000, "1,000-5,000" },
		{ 1234567, "10,000-50,000" },  /* 12,345.67 yuan */
		{ 4999999, "10,000-50,000" },
		{ 5000000, "50,000-100,000" },
		{ 99999999, "500,000-1,000,000" },
		{ 100000000, "1,000,000-5,000,000" },
		{ 999999999, "5,000,000-10,000,000" },
		{ 1000000000, "10,000,000+" },
		{ INT64_MAX, "10,000,000+" },
		{ -1, "***" },
	};
	char out[MASK_OUT_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(mask_amount(t[i].fen, out, sizeof(out)),
		    COFFER_OK);
		assert_string_equal(out, t[i].want);
	}
}

/* Embedded NULs: the value is not what it seems, so it masks fully. */
static void
test_nul_inside(void **state)
{
	char out[MASK_OUT_MAX];

	(void)state;
	assert_int_equal(mask_phone("138\0" "2345678", 11, out, sizeof(out)),
	    COFFER_OK);
	assert_string_equal(out, "***");
	assert_int_equal(mask_email("a\0b@x.com", 9, out, sizeof(out)),
	    COFFER_OK);
	assert_string_equal(out, "***");
	assert_int_equal(mask_name("张\0三", 7, out, sizeof(out)), COFFER_OK);
	assert_string_equal(out, "***");
	assert_int_equal(mask_phone(NULL, 0, out, sizeof(out)), COFFER_OK);
	assert_string_equal(out, "***");
}

static void
test_short_buffer(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'X', sizeof(out));
	assert_int_equal(mask_phone("13812345678", 11, out, sizeof(out)),
	    COFFER_ERR_TOO_BIG);
	assert_string_equal(out, "");
	assert_int_equal(mask_phone("13812345678", 11, out, 0),
	    COFFER_ERR_TOO_BIG);
	assert_int_equal(mask_text(out, 3), COFFER_ERR_TOO_BIG);
	assert_int_equal(mask_text(out, 4), COFFER_OK);
	assert_string_equal(out, "***");
	assert_int_equal(mask_amount(1234567, out, sizeof(out)),
	    COFFER_ERR_TOO_BIG);
}

static void
test_long_input(void **state)
{
	char in[MASK_IN_MAX + 2], out[MASK_OUT_MAX];

	(void)state;
	memset(in, 'a', sizeof(in));
	in[0] = 'J';
	assert_int_equal(mask_name(in, MASK_IN_MAX, out, sizeof(out)),
	    COFFER_OK);
	assert_string_equal(out, "J***");
	assert_int_equal(mask_name(in, MASK_IN_MAX + 1, out, sizeof(out)),
	    COFFER_OK);
	assert_string_equal(out, "***");
	/* A domain of 254 bytes still fits MASK_OUT_MAX. */
	in[0] = 'z';
	in[1] = '@';
	assert_int_equal(mask_email(in, 256, out, sizeof(out)), COFFER_OK);
	assert_int_equal(strlen(out), 4 + 255);
	assert_int_equal(mask_email(in, 258, out, sizeof(out)), COFFER_OK);
	assert_string_equal(out, "***");
}

static void
test_dispatch_and_names(void **state)
{
	char out[MASK_OUT_MAX];
	enum mask_format f;
	int i;

	(void)state;
	assert_int_equal(mask_string(MASK_PHONE, "13812345678", 11, out,
	    sizeof(out)), COFFER_OK);
	assert_string_equal(out, "138****5678");
	assert_int_equal(mask_string(MASK_NAME, "张三", 6, out, sizeof(out)),
	    COFFER_OK);
	assert_string_equal(out, "张*");
	assert_int_equal(mask_string(MASK_TEXT, "secret plan", 11, out,
	    sizeof(out)), COFFER_OK);
	assert_string_equal(out, "***");
	assert_int_equal(mask_string(MASK_AMOUNT, "123", 3, out, sizeof(out)),
	    COFFER_OK);
	assert_string_equal(out, "***");
	for (i = 0; i < MASK_FORMAT_COUNT_; i++) {
		assert_int_equal(mask_format_parse(mask_format_name(
		    (enum mask_format)i), &f), COFFER_OK);
		assert_int_equal((int)f, i);
	}
	assert_int_equal(mask_format_parse("Phone", &f), COFFER_ERR_INVALID);
	assert_string_equal(mask_format_name(MASK_FORMAT_COUNT_), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_amount),
		cmocka_unit_test(test_nul_inside),
		cmocka_unit_test(test_short_buffer),
		cmocka_unit_test(test_long_input),
		cmocka_unit_test(test_dispatch_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
