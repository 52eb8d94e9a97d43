/*
 * test_output.c - the client's human output: display width of Chinese
 * text, sanitizing of terminal control sequences, cutting at character
 * boundaries, money/time formatting and table alignment.
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
#include "coffer/output.h"

static void
widths(void **state)
{
	(void)state;
	assert_int_equal(out_width(""), 0);
	assert_int_equal(out_width("abc"), 3);
	assert_int_equal(out_width("张三"), 4);
	assert_int_equal(out_width("李娜 Li"), 7);
	assert_int_equal(out_width("ｆｕｌｌ"), 8);        /* fullwidth */
	assert_int_equal(out_width("\xe3\x80\x80"), 2);    /* ideographic sp. */
	assert_int_equal(out_width("한국"), 4);
	assert_int_equal(out_width("e\xcc\x81"), 1);       /* e + combining */
	assert_int_equal(out_width("\xff" "a"), 2);        /* invalid byte */
	assert_int_equal(out_cp_width(0x4e00), 2);
	assert_int_equal(out_cp_width(0x41), 1);
	assert_int_equal(out_cp_width(0x200b), 0);
	assert_int_equal(out_cp_width(0x1f600), 2);
}

static void
sanitize(void **state)
{
	char buf[64];

	(void)state;
	out_sanitize("ok 张三", 0, buf, sizeof(buf));
	assert_string_equal(buf, "ok 张三");
	out_sanitize("\x1b[2Jx\ty\n", 0, buf, sizeof(buf));
	assert_string_equal(buf, "?[2Jx?y?");
	out_sanitize("a\xc2\x9b" "b", 0, buf, sizeof(buf));     /* C1 CSI */
	assert_string_equal(buf, "a?b");
	out_sanitize("a\xe2\x80\xae" "b", 0, buf, sizeof(buf)); /* RLO */
	assert_string_equal(buf, "a?b");
	out_sanitize("a\xff\xfe" "b", 0, buf, sizeof(buf));
	assert_string_equal(buf, "a??b");
	out_sanitize("del\x7f", 0, buf, sizeof(buf));
	assert_string_equal(buf, "del?");
}

static void
cutting(void **state)
{
	char buf[64], small[8];

	(void)state;
	out_sanitize("abcdefghij", 10, buf, sizeof(buf));
	assert_string_equal(buf, "abcdefghij");           /* fits exactly */
	out_sanitize("abcdefghijk", 10, buf, sizeof(buf));
	assert_string_equal(buf, "abcdefg...");
	assert_int_equal(out_width(buf), 10);
	/* Wide characters are never split and the cut stays within limit. */
	out_sanitize("张三李四王五赵六", 9, buf, sizeof(buf));
	assert_string_equal(buf, "张三李...");
	assert_true(out_width(buf) <= 9);
	/* Byte-limited buffer: cut on a character boundary. */
	out_sanitize("张三李四", 0, small, sizeof(small));
	assert_string_equal(small, "张...");
	out_sanitize("abcdefghij", 0, small, sizeof(small));
	assert_string_equal(small, "abcd...");
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void
money_time(void **state)
{
	char buf[48];

	(void)state;
	out_money(123450, buf, sizeof(buf));
	assert_string_equal(buf, "1234.50");
	out_money(5, buf, sizeof(buf));
	assert_string_equal(buf, "0.05");
	out_money(0, buf, sizeof(buf));
	assert_string_equal(buf, "0.00");
	out_money(-199, buf, sizeof(buf));
	assert_string_equal(buf, "-1.99");
	out_money(INT64_MIN, buf, sizeof(buf));
	assert_string_equal(buf, "-92233720368547758.08");
	out_time(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	out_time(1714550400, buf, sizeof(buf));
	assert_string_equal(buf, "2024-05-01T08:00:00Z");
}

static char *
print_to_string(const struct out_table *t, int header)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	assert_non_null(f);
	assert_int_equal(out_table_print(t, f, header), COFFER_OK);
	assert_int_equal(fclose(f), 0);
	return mem;
}

static void
table_alignment(void **state)
{
	static const char *const heads[] = { "id", "name", "stage" };
	static const char *const r1[] = { "1", "张三", "new" };
	static const char *const r2[] = { "12", "Li Na", "" };
	static const char *const r3[] = { "3", "\x1b]0;pwn\x07", "x" };
	struct out_table *t = out_table_new(3, heads);
	char *out;

	(void)state;
	assert_non_null(t);
	assert_int_equal(out_table_add(t, r1), COFFER_OK);
	assert_int_equal(out_table_add(t, r2), COFFER_OK);
	assert_int_equal(out_table_add(t, r3), COFFER_OK);
	assert_int_equal(out_table_rows(t), 3);
	out = print_to_string(t, 1);
	/*
	 * "张三" is 4 columns wide (6 bytes) and is padded to the 8 columns
	 * of the sanitized escape sequence; the empty last cell of row 2
	 * leaves no trailing blanks.
	 */
	assert_string_equal(out,
	    "id  name      stage\n"
	    "1   张三      new\n"
	    "12  Li Na\n"
	    "3   ?]0;pwn?  x\n");
	free(out);
	out = print_to_string(t, 0);
	assert_int_equal(strncmp(out, "1   张三      new\n", 20), 0);
	free(out);
	out_table_free(t);
}

static void
table_cuts_wide_cells(void **state)
{
	static const char *const heads[] = { "a", "b" };
	char longcell[200];
	const char *row[2];
	struct out_table *t = out_table_new(2, heads);
	char *out, *nl;

	(void)state;
	memset(longcell, 'x', sizeof(longcell) - 1);
	longcell[sizeof(longcell) - 1] = '\0';
	row[0] = longcell;
	row[1] = longcell;
	assert_int_equal(out_table_add(t, row), COFFER_OK);
	out = print_to_string(t, 0);
	nl = strchr(out, '\n');
	assert_non_null(nl);
	/* First column cut to its cap, last column kept whole (199). */
	assert_int_equal((size_t)(nl - out), OUT_CELL_MAX_COLS + 2 + 199);
	free(out);
	out_table_free(t);
	out_table_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(widths),
		cmocka_unit_test(sanitize),
		cmocka_unit_test(cutting),
		cmocka_unit_test(money_time),
		cmocka_unit_test(table_alignment),
		cmocka_unit_test(table_cuts_wide_cells),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
