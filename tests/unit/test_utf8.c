/*
 * test_utf8.c - the shared strict UTF-8 decoder: what it accepts, what it
 * refuses (overlongs, surrogates, values past U+10FFFF, stray or missing
 * continuation bytes) and where utf8_check stops.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "coffer/utf8.h"

struct good { const char *bytes; size_t len; uint32_t cp; };
struct bad { const char *bytes; size_t len; const char *why; };

static void
test_valid_sequences(void **state)
{
	static const struct good t[] = {
		{ "A", 1, 0x41 },
		{ "\xc2\x80", 2, 0x80 },
		{ "\xdf\xbf", 2, 0x7ff },
		{ "\xe0\xa0\x80", 3, 0x800 },
		{ "\xe5\xbc\xa0", 3, 0x5f20 },          /* 张 */
		{ "\xed\x9f\xbf", 3, 0xd7ff },
		{ "\xee\x80\x80", 3, 0xe000 },
		{ "\xf0\x90\x80\x80", 4, 0x10000 },
		{ "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
	};
	uint32_t cp;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cp = 0xffffffff;
		assert_int_equal(utf8_decode((const unsigned char *)t[i].bytes,
		    t[i].len, &cp), t[i].len);
		assert_int_equal(cp, t[i].cp);
	}
}

static void
test_invalid_sequences(void **state)
{
	static const struct bad t[] = {
		{ "\x80", 1, "lone continuation" },
		{ "\xc0\xaf", 2, "overlong lead c0" },
		{ "\xc1\xbf", 2, "overlong lead c1" },
		{ "\xe0\x80\xaf", 3, "overlong 3-byte" },
		{ "\xf0\x80\x80\xaf", 4, "overlong 4-byte" },
		{ "\xed\xa0\x80", 3, "high surrogate" },
		{ "\xed\xbf\xbf", 3, "low surrogate" },
		{ "\xf4\x90\x80\x80", 4, "past U+10FFFF" },
		{ "\xf5\x80\x80\x80", 4, "lead f5" },
		{ "\xff", 1, "lead ff" },
		{ "\xe5\xbc", 2, "cut short" },
		{ "\xe5\x41\xa0", 3, "ASCII inside a sequence" },
		{ "", 0, "empty" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (utf8_decode((const unsigned char *)t[i].bytes, t[i].len,
		    NULL) != 0)
			fail_msg("accepted: %s", t[i].why);
	}
}

static void
test_check_offsets(void **state)
{
	static const char ok[] = "name=\xe5\xbc\xa0\xe4\xb8\x89 ok";
	static const char bad[] = "ab\xe5\xbc\xa0\xed\xa0\x80z";

	(void)state;
	assert_int_equal(utf8_check((const unsigned char *)ok, strlen(ok)),
	    strlen(ok));
	assert_int_equal(utf8_check((const unsigned char *)bad, strlen(bad)),
	    5);
	assert_int_equal(utf8_check((const unsigned char *)"", 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_sequences),
		cmocka_unit_test(test_invalid_sequences),
		cmocka_unit_test(test_check_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
