/*
 * test_leads.c - lead-list parsing (leads.h): encodings as Excel writes
 * them, RFC 4180 quoting with physical line numbers, the header table,
 * the phone rule, de-duplication, vault and do-not-call marking, limits.
 */
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "coffer/leads.h"
#include "coffer/schema.h"

/* Parse a C string with default options. */
static int
parse_str(const char *s, struct leads_result **out,
    struct coffer_errdetail *d)
{
	memset(d, 0, sizeof(*d));
	return leads_parse((const unsigned char *)s, strlen(s), NULL, out, d);
}

static struct leads_result *
parse_ok(const char *s)
{
	struct leads_result *r = NULL;
	struct coffer_errdetail d;

	assert_int_equal(parse_str(s, &r, &d), COFFER_OK);
	assert_non_null(r);
	return r;
}

static void
expect_fail(const char *s, int status, const char *field, const char *msg)
{
	struct leads_result *r = NULL;
	struct coffer_errdetail d;

	assert_int_equal(parse_str(s, &r, &d), status);
	assert_null(r);
	if (field != NULL)
		assert_string_equal(d.field, field);
	if (msg != NULL && strstr(d.message, msg) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", d.message, msg);
}

/* Like Excel's "CSV UTF-8": a BOM, Chinese headers, CRLF. */
static void
test_utf8_bom_chinese(void **state)
{
	struct leads_result *r;

	(void)state;
	r = parse_ok("\xef\xbb\xbf姓名,电话,公司,意向\r\n"
	    "张三,138-1234-5678,北京星辰科技,高\r\n"
	    "李四,021 6543 2109,,中\r\n");
	assert_int_equal(r->encoding, LEADS_ENC_UTF8);
	assert_int_equal(r->bom, 1);
	assert_int_equal(r->header_line, 1);
	assert_int_equal(r->ncolumns, 4);
	assert_int_equal(r->nunknown, 0);
	assert_string_equal(r->columns[0].name, "姓名");
	assert_int_equal(r->columns[1].field, LEADS_F_PHONE);
	assert_int_equal(r->nrows, 2);
	assert_int_equal(r->rows[0].status, LEADS_OK);
	assert_null(r->rows[0].reason);
	assert_int_equal(r->rows[0].line, 2);
	assert_string_equal(r->rows[0].v[LEADS_F_NAME], "张三");
	assert_string_equal(r->rows[0].v[LEADS_F_PHONE], "13812345678");
	assert_string_equal(r->rows[0].v[LEADS_F_COMPANY], "北京星辰科技");
	assert_string_equal(r->rows[0].v[LEADS_F_INTENT], "high");
	assert_int_equal(r->rows[1].line, 3);
	assert_string_equal(r->rows[1].v[LEADS_F_PHONE], "021-65432109");
	assert_null(r->rows[1].v[LEADS_F_COMPANY]);
	assert_string_equal(r->rows[1].v[LEADS_F_INTENT], "medium");
	assert_int_equal(leads_count(r, LEADS_OK), 2);
	leads_free(r);
}

/*
 * What Excel's plain "CSV" writes on Chinese Windows: GBK, CRLF.  The
 * UTF-8 original:
 *   姓名,手机,公司,备注,来源
 *   张三,138 1234 5678,北京星辰科技有限公司,"要报价, 下周再打",展会
 *   李四,+86 139-8765-4321,上海某某贸易,,网络
 *   王五,12345,广州工厂,"第一行<CRLF>第二行",
 */
static const char gbk_file[] =
    "\xd0\xd5\xc3\xfb,\xca\xd6\xbb\xfa,\xb9\xab\xcb\xbe,\xb1\xb8\xd7\xa2,"
    "\xc0\xb4\xd4\xb4\r\n"
    "\xd5\xc5\xc8\xfd,138 1234 5678,\xb1\xb1\xbe\xa9\xd0\xc7\xb3\xbd\xbf\xc6"
    "\xbc\xbc\xd3\xd0\xcf\xde\xb9\xab\xcb\xbe,\"\xd2\xaa\xb1\xa8\xbc\xdb, "
    "\xcf\xc2\xd6\xdc\xd4\xd9\xb4\xf2\",\xd5\xb9\xbb\xe1\r\n"
    "\xc0\xee\xcb\xc4,+86 139-8765-4321,\xc9\xcf\xba\xa3\xc4\xb3\xc4\xb3"
    "\xc3\xb3\xd2\xd7,,\xcd\xf8\xc2\xe7\r\n"
    "\xcd\xf5\xce\xe5,12345,\xb9\xe3\xd6\xdd\xb9\xa4\xb3\xa7,\"\xb5\xda"
    "\xd2\xbb\xd0\xd0\r\n\xb5\xda\xb6\xfe\xd0\xd0\",\r\n";

static void
test_gbk_excel(void **state)
{
	struct leads_result *r;

	(void)state;
	r = parse_ok(gbk_file);
	assert_int_equal(r->encoding, LEADS_ENC_GB18030);
	assert_int_equal(r->bom, 0);
	assert_int_equal(r->nunknown, 1);
	assert_string_equal(r->unknown[0], "来源");
	assert_int_equal(r->columns[4].index, 5);
	assert_int_equal(r->columns[4].field, -1);
	assert_int_equal(r->columns[3].field, LEADS_F_NEEDS);
	assert_int_equal(r->nrows, 3);
	assert_string_equal(r->rows[0].v[LEADS_F_NAME], "张三");
	assert_string_equal(r->rows[0].v[LEADS_F_COMPANY],
	    "北京星辰科技有限公司");
	assert_string_equal(r->rows[0].v[LEADS_F_NEEDS], "要报价, 下周再打");
	assert_string_equal(r->rows[1].v[LEADS_F_PHONE], "13987654321");
	assert_null(r->rows[1].v[LEADS_F_NEEDS]);
	assert_int_equal(r->rows[2].line, 4);
	assert_int_equal(r->rows[2].status, LEADS_INVALID);
	assert_non_null(strstr(r->rows[2].reason, "phone: not a valid number"));
	assert_string_equal(r->rows[2].v[LEADS_F_NEEDS], "第一行\r\n第二行");
	leads_free(r);
}

/* Converted at test time, with a character GBK lacks (4 bytes in GB18030). */
static void
test_gb18030_four_byte(void **state)
{
	const char *u8 = "name,phone\n陈𠀀€,13700001111\n";
	char in[64], gb[128], *ip = in, *op = gb;
	size_t il = strlen(u8), ol = sizeof(gb);
	struct leads_result *r = NULL;
	struct leads_options opt = { LEADS_ENC_AUTO, 0 };
	struct coffer_errdetail d;
	iconv_t cd;

	(void)state;
	memcpy(in, u8, il);
	cd = iconv_open("GB18030", "UTF-8");
	assert_true(cd != (iconv_t)-1);
	assert_int_not_equal(iconv(cd, &ip, &il, &op, &ol), (size_t)-1);
	iconv_close(cd);
	assert_int_equal(leads_parse((unsigned char *)gb, sizeof(gb) - ol,
	    &opt, &r, &d), COFFER_OK);
	assert_int_equal(r->encoding, LEADS_ENC_GB18030);
	assert_string_equal(r->rows[0].v[LEADS_F_NAME], "陈𠀀€");
	leads_free(r);
	/* the same bytes forced as UTF-8 are refused, with the line */
	opt.encoding = LEADS_ENC_UTF8;
	assert_int_equal(leads_parse((unsigned char *)gb, sizeof(gb) - ol,
	    &opt, &r, &d), COFFER_ERR_INVALID);
	assert_null(r);
	assert_string_equal(d.message, "not valid UTF-8: bad bytes on line 2");
}

static void
test_encoding_options(void **state)
{
	enum leads_encoding e = LEADS_ENC_AUTO;
	struct leads_options opt = { LEADS_ENC_GB18030, 0 };
	struct leads_result *r = NULL;
	struct coffer_errdetail d;
	const char *bom = "\xef\xbb\xbfname,phone\n";
	const char *ascii = "name,phone\nZhang,13812345678\n";

	(void)state;
	assert_int_equal(leads_encoding_parse("GBK", &e), COFFER_OK);
	assert_int_equal(e, LEADS_ENC_GB18030);
	assert_int_equal(leads_encoding_parse("utf8", &e), COFFER_OK);
	assert_int_equal(e, LEADS_ENC_UTF8);
	assert_int_equal(leads_encoding_parse("Auto", &e), COFFER_OK);
	assert_int_equal(e, LEADS_ENC_AUTO);
	assert_int_equal(leads_encoding_parse("latin1", &e), COFFER_ERR_USAGE);
	assert_string_equal(leads_encoding_name(LEADS_ENC_GB18030), "gb18030");
	/* a UTF-8 BOM contradicts a forced gb18030 */
	assert_int_equal(leads_parse((const unsigned char *)bom, strlen(bom),
	    &opt, &r, &d), COFFER_ERR_INVALID);
	assert_null(r);
	/* forced gb18030 on ASCII is fine and says what it read */
	assert_int_equal(leads_parse((const unsigned char *)ascii,
	    strlen(ascii), &opt, &r, &d), COFFER_OK);
	assert_int_equal(r->encoding, LEADS_ENC_GB18030);
	assert_int_equal(r->nrows, 1);
	leads_free(r);
	/* GBK bytes forced as UTF-8: the first bad byte is on line 1 */
	opt.encoding = LEADS_ENC_UTF8;
	assert_int_equal(leads_parse((const unsigned char *)gbk_file,
	    strlen(gbk_file), &opt, &r, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.message, "not valid UTF-8: bad bytes on line 1");
	/* neither UTF-8 nor GB18030 */
	expect_fail("name,phone\nA,138\xff\xff\n", COFFER_ERR_INVALID, "file",
	    "not valid GB18030: bad bytes on line 2");
	expect_fail("\xff\xfen\0a\0m\0e\0", COFFER_ERR_INVALID, "file",
	    "UTF-16");
}

/* Quoting per RFC 4180; line numbers count the lines inside quotes. */
static void
test_quoted_fields(void **state)
{
	struct leads_result *r;

	(void)state;
	r = parse_ok("name,phone,notes\n"
	    "\"Li, Lei\",13812345678,\"said \"\"call later\"\"\n"
	    "and hung up\"\n"
	    "\n"
	    "Wang,13912345678,\"a\r\nb\r\nc\"\n"
	    "\"Zhao\",\"139 0000 1111\",plain\n"
	    "Qian,bad,x\n");
	assert_int_equal(r->nrows, 4);
	assert_string_equal(r->rows[0].v[LEADS_F_NAME], "Li, Lei");
	assert_string_equal(r->rows[0].v[LEADS_F_NEEDS],
	    "said \"call later\"\nand hung up");
	assert_int_equal(r->rows[0].line, 2);
	assert_int_equal(r->rows[1].line, 5);
	assert_string_equal(r->rows[1].v[LEADS_F_NEEDS], "a\r\nb\r\nc");
	assert_int_equal(r->rows[2].line, 8);
	assert_string_equal(r->rows[2].v[LEADS_F_PHONE], "13900001111");
	assert_int_equal(r->rows[3].line, 9);
	assert_int_equal(r->rows[3].status, LEADS_INVALID);
	leads_free(r);
	/* old Mac line ends (CR only) and a last line with no line end */
	r = parse_ok("name,phone\r\rA,13812345678\rB,13812345679");
	assert_int_equal(r->nrows, 2);
	assert_int_equal(r->rows[0].line, 3);
	assert_int_equal(r->rows[1].line, 4);
	leads_free(r);
}

static void
test_malformed_csv(void **state)
{
	(void)state;
	expect_fail("name,phone\nA,13812345678\n\"B,13812345679\nC,1\n",
	    COFFER_ERR_INVALID, "file", "starts on line 3 is never closed");
	expect_fail("name,phone\nA,13812345678\nB\"x,13812345679\n",
	    COFFER_ERR_INVALID, "file", "malformed CSV on line 3");
	expect_fail("name,phone\n\"multi\nline\"x,1\n", COFFER_ERR_INVALID,
	    "file", "malformed CSV on line 3");
}

static void
test_english_headers(void **state)
{
	struct leads_result *r;

	(void)state;
	r = parse_ok("  Full_Name , PHONE NUMBER,E-Mail,Company,Source,,"
	    "Address,Intent\n"
	    "Ann Lee,13812345678,ann@example.com,ACME,fair,,1 Road,HIGH\n");
	assert_int_equal(r->ncolumns, 8);
	assert_int_equal(r->columns[0].field, LEADS_F_NAME);
	assert_string_equal(r->columns[0].name, "Full_Name");
	assert_int_equal(r->columns[1].field, LEADS_F_PHONE);
	assert_int_equal(r->columns[2].field, LEADS_F_EMAIL);
	assert_int_equal(r->columns[5].field, -1);
	/* the unnamed column is not reported as unknown */
	assert_int_equal(r->nunknown, 1);
	assert_string_equal(r->unknown[0], "Source");
	assert_int_equal(r->rows[0].status, LEADS_OK);
	assert_string_equal(r->rows[0].v[LEADS_F_EMAIL], "ann@example.com");
	assert_string_equal(r->rows[0].v[LEADS_F_ADDRESS], "1 Road");
	assert_string_equal(r->rows[0].v[LEADS_F_INTENT], "high");
	leads_free(r);
}

static void
test_header_errors(void **state)
{
	(void)state;
	expect_fail("姓名,公司\n张三,ACME\n", COFFER_ERR_INVALID, "phone",
	    "missing required column phone");
	expect_fail("phone,company\n13812345678,ACME\n", COFFER_ERR_INVALID,
	    "name", "missing required column name");
	expect_fail("姓名,电话,手机\n张三,010-12345678,13812345678\n",
	    COFFER_ERR_INVALID, "phone",
	    "columns 2 (电话) and 3 (手机) both map to phone");
}

/* One row per case: input -> normalised, or the reason's start. */
static void
test_phone_rule(void **state)
{
	static const struct { const char *in, *norm, *why; } t[] = {
		{ "13812345678", "13812345678", NULL },
		{ "+86 138-1234-5678", "13812345678", NULL },
		{ "0086 138 1234 5678", "13812345678", NULL },
		{ "8613812345678", "13812345678", NULL },
		{ "86 138.1234.5678", "13812345678", NULL },
		{ "(010) 1234-5678", "010-12345678", NULL },
		{ "0755-1234567", "0755-1234567", NULL },
		{ "+86 755 12345678", "0755-12345678", NULL },
		{ "０１０－１２３４５６７８", "010-12345678", NULL },
		{ "+44 20 7946 0958", "+442079460958", NULL },
		{ "12812345678", NULL, "phone: not a valid number" },
		{ "138123456789", NULL, "phone: not a valid number" },
		{ "1381234567", NULL, "phone: not a valid number" },
		{ "010-123456", NULL, "phone: not a valid number" },
		{ "138-1234-5678 ext 5", NULL, "phone: not a valid number" },
		{ "1.38123E+10", NULL, "phone: written in scientific" },
	};
	char csv[256];
	size_t i;
	struct leads_result *r;
	const struct leads_row *row;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(csv, sizeof(csv), "name,phone\n\nP,\"%s\"\n", t[i].in);
		r = parse_ok(csv);
		assert_int_equal(r->nrows, 1);
		row = &r->rows[0];
		assert_int_equal(row->line, 3);
		if (t[i].norm != NULL) {
			if (row->status != LEADS_OK)
				fail_msg("%s: %s", t[i].in, row->reason);
			assert_string_equal(row->v[LEADS_F_PHONE], t[i].norm);
		} else {
			assert_int_equal(row->status, LEADS_INVALID);
			assert_null(row->v[LEADS_F_PHONE]);
			if (strncmp(row->reason, t[i].why, strlen(t[i].why)))
				fail_msg("%s: %s", t[i].in, row->reason);
			/* reasons never quote the value */
			assert_null(strstr(row->reason, "1381234"));
		}
		leads_free(r);
	}
}

static void
test_field_rules(void **state)
{
	char csv[512], longname[102];
	struct leads_result *r;

	(void)state;
	memset(longname, 'x', 101);
	longname[101] = '\0';
	snprintf(csv, sizeof(csv), "name,phone,email,intent\n"
	    "%s,13812345678,,\n"
	    ",13812345679,a@b.cn,low\n"
	    "Bad Esc\x1b[2J,13812345670,not-an-address,maybe\n"
	    "Ok,13812345671,,无\n", longname);
	r = parse_ok(csv);
	assert_int_equal(r->nrows, 4);
	assert_int_equal(r->rows[0].status, LEADS_INVALID);
	assert_string_equal(r->rows[0].reason,
	    "name: must be 1 to 100 bytes long");
	assert_string_equal(r->rows[1].reason, "name: required");
	/* every problem of a row is listed, in column order */
	assert_string_equal(r->rows[2].reason,
	    "name: invalid UTF-8 or control character; "
	    "email: not a valid address; "
	    "intent: must be one of none, low, medium, high (无, 低, 中, 高)");
	assert_string_equal(r->rows[2].v[LEADS_F_PHONE], "13812345670");
	assert_int_equal(r->rows[3].status, LEADS_OK);
	assert_string_equal(r->rows[3].v[LEADS_F_INTENT], "none");
	assert_int_equal(leads_count(r, LEADS_INVALID), 3);
	leads_free(r);
}

static void
test_ragged_rows(void **state)
{
	struct leads_result *r;

	(void)state;
	r = parse_ok("name,phone,company\n"
	    "A,13812345678\n"
	    "B,13812345679,C,,\n"
	    "C,13812345670,C,x\n"
	    ",,\n"
	    "D,13812345671,D\n");
	assert_int_equal(r->nrows, 4);
	assert_int_equal(r->rows[0].status, LEADS_INVALID);
	assert_string_equal(r->rows[0].reason,
	    "row has 2 fields, the header has 3");
	assert_null(r->rows[0].v[LEADS_F_NAME]);
	assert_int_equal(r->rows[1].status, LEADS_OK); /* empty extras */
	assert_int_equal(r->rows[2].status, LEADS_INVALID);
	assert_string_equal(r->rows[2].reason,
	    "row has 4 fields, the header has 3");
	/* the all-empty row is skipped, but its line still counts */
	assert_int_equal(r->rows[3].line, 6);
	leads_free(r);
}

static void
test_duplicates_in_file(void **state)
{
	struct leads_result *r;

	(void)state;
	r = parse_ok("name,phone\n"
	    ",13812345678\n"           /* invalid: does not claim the number */
	    "A,138 1234 5678\n"
	    "B,13900001111\n"
	    "C,+86 138-1234-5678\n"
	    "D,8613812345678\n");
	assert_int_equal(r->rows[0].status, LEADS_INVALID);
	assert_int_equal(r->rows[1].status, LEADS_OK);
	assert_int_equal(r->rows[2].status, LEADS_OK);
	assert_int_equal(r->rows[3].status, LEADS_DUP_FILE);
	assert_int_equal(r->rows[3].dup_line, 3);
	assert_string_equal(r->rows[3].reason, "same phone as line 3");
	assert_int_equal(r->rows[4].status, LEADS_DUP_FILE);
	assert_int_equal(r->rows[4].dup_line, 3);
	assert_int_equal(leads_count(r, LEADS_DUP_FILE), 2);
	assert_string_equal(leads_status_name(LEADS_DUP_FILE), "duplicate");
	leads_free(r);
}

static const char *const mark_csv =
    "name,phone\n"
    "A,13800000001\n"
    "B,13800000002\n"
    "C,13800000003\n"
    "D,13800000004\n"
    "E,bad\n";

struct cb_ctx {
	const char *hit;
	int calls;
	int err_at;
};

static int
contains_cb(void *ctx, const char *phone, int *found)
{
	struct cb_ctx *c = ctx;

	if (++c->calls == c->err_at)
		return COFFER_ERR_DB;
	*found = strcmp(phone, c->hit) == 0;
	return COFFER_OK;
}

static void
check_marks(const struct leads_result *r)
{
	assert_int_equal(r->rows[0].status, LEADS_DUP_VAULT);
	assert_string_equal(r->rows[0].reason, "phone already in the vault");
	assert_int_equal(r->rows[1].status, LEADS_DUP_VAULT); /* both lists */
	assert_int_equal(r->rows[2].status, LEADS_EXCLUDED);
	assert_string_equal(r->rows[2].reason, "on the do-not-call list");
	assert_int_equal(r->rows[3].status, LEADS_OK);
	assert_int_equal(r->rows[4].status, LEADS_INVALID);
}

static void
test_vault_and_dnc(void **state)
{
	const char *vault[] = { "010-12345678", "13800000001", "13800000002" };
	const char *dnc[] = { "13800000002", "13800000003" };
	const char *unsorted[] = { "2", "1" };
	struct leads_phone_set vs = { vault, 3, NULL, NULL };
	struct leads_phone_set ds = { dnc, 2, NULL, NULL };
	struct leads_phone_set bad = { unsorted, 2, NULL, NULL };
	struct leads_phone_set empty = { NULL, 0, NULL, NULL };
	struct cb_ctx ctx = { "13800000003", 0, 0 };
	struct leads_phone_set cs = { NULL, 0, contains_cb, &ctx };
	struct leads_result *r;

	(void)state;
	/* vault first, then do-not-call */
	r = parse_ok(mark_csv);
	assert_int_equal(leads_mark_vault(r, &vs), COFFER_OK);
	assert_int_equal(leads_mark_dnc(r, &ds), COFFER_OK);
	check_marks(r);
	leads_free(r);
	/* the other order gives the same statuses */
	r = parse_ok(mark_csv);
	assert_int_equal(leads_mark_dnc(r, &ds), COFFER_OK);
	assert_int_equal(leads_count(r, LEADS_EXCLUDED), 2);
	assert_int_equal(leads_mark_vault(r, &vs), COFFER_OK);
	check_marks(r);
	assert_int_equal(leads_mark_vault(r, &bad), COFFER_ERR_INVALID);
	assert_int_equal(leads_mark_vault(r, &empty), COFFER_OK);
	leads_free(r);
	/* a callback: asked only for rows that can change, errors stop it */
	r = parse_ok(mark_csv);
	assert_int_equal(leads_mark_dnc(r, &cs), COFFER_OK);
	assert_int_equal(ctx.calls, 4);
	assert_int_equal(r->rows[2].status, LEADS_EXCLUDED);
	ctx.calls = 0;
	ctx.err_at = 2;
	assert_int_equal(leads_mark_vault(r, &cs), COFFER_ERR_DB);
	leads_free(r);
}

/* The map for store_record_create passes the schema's create check. */
static void
test_row_fields(void **state)
{
	const struct kind_def *k = schema_kind("customer");
	const char *dnc[] = { "13800000003" };
	struct leads_phone_set ds = { dnc, 1, NULL, NULL };
	struct coffer_errdetail d;
	struct leads_result *r;
	cbor_item_t *m = NULL;
	size_t i;

	(void)state;
	r = parse_ok("姓名,电话,公司,意向,邮箱\n"
	    "张三,13800000001,ACME,高,z@example.cn\n"
	    "李四,bad,,,\n"
	    "王五,13800000003,,,\n");
	assert_int_equal(leads_mark_dnc(r, &ds), COFFER_OK);
	assert_int_equal(leads_row_fields(&r->rows[0], "expo-2024", &m),
	    COFFER_OK);
	assert_int_equal(schema_validate(k, m, 1, &d), COFFER_OK);
	assert_int_equal(cbor_map_size(m), 7);
	cbor_decref(&m);
	assert_int_equal(leads_row_fields(&r->rows[1], NULL, &m),
	    COFFER_ERR_INVALID);
	assert_null(m);
	assert_int_equal(leads_row_fields(&r->rows[2], NULL, &m), COFFER_OK);
	assert_int_equal(schema_validate(k, m, 1, &d), COFFER_OK);
	/* name, phone, stage, do_not_call, exclude_reason */
	assert_int_equal(cbor_map_size(m), 5);
	for (i = 0; i < cbor_map_size(m); i++) {
		struct cbor_pair p = cbor_map_handle(m)[i];

		if (cbor_string_length(p.key) == 5 &&
		    memcmp(cbor_string_handle(p.key), "stage", 5) == 0)
			assert_memory_equal(cbor_string_handle(p.value),
			    "excluded", 8);
	}
	cbor_decref(&m);
	leads_free(r);
}

static void
test_limits(void **state)
{
	struct leads_options opt = { LEADS_ENC_AUTO, 3 };
	const char *four = "name,phone\nA,13800000001\nB,13800000002\n"
	    "C,13800000003\nD,13800000004\n";
	struct leads_result *r = NULL;
	struct coffer_errdetail d;
	unsigned char *big;
	char wide[2048];
	size_t i, used = 0;

	(void)state;
	assert_int_equal(leads_parse((const unsigned char *)four,
	    strlen(four), &opt, &r, &d), COFFER_ERR_TOO_BIG);
	assert_null(r);
	assert_string_equal(d.message, "more than 3 data rows");
	opt.max_rows = 4;
	assert_int_equal(leads_parse((const unsigned char *)four,
	    strlen(four), &opt, &r, &d), COFFER_OK);
	assert_int_equal(r->nrows, 4);
	leads_free(r);
	/* over 64 MiB is refused before anything is read */
	big = calloc(1, LEADS_MAX_BYTES + 1);
	assert_non_null(big);
	assert_int_equal(leads_parse(big, LEADS_MAX_BYTES + 1, NULL, &r, &d),
	    COFFER_ERR_TOO_BIG);
	assert_string_equal(d.field, "file");
	free(big);
	/* too many header columns */
	used += (size_t)snprintf(wide, sizeof(wide), "name,phone");
	for (i = 0; i < LEADS_MAX_COLUMNS; i++)
		used += (size_t)snprintf(wide + used, sizeof(wide) - used,
		    ",c%zu", i);
	assert_true(used < sizeof(wide) - 1);
	expect_fail(wide, COFFER_ERR_TOO_BIG, "header", "more than 256");
}

static void
test_empty_and_header_only(void **state)
{
	struct leads_result *r;

	(void)state;
	expect_fail("", COFFER_ERR_INVALID, "file", "the file is empty");
	expect_fail("\xef\xbb\xbf", COFFER_ERR_INVALID, "file", "empty");
	expect_fail("\r\n\r\n  \n,,,\n", COFFER_ERR_INVALID, "file", "empty");
	r = parse_ok("\n\n姓名,手机号\r\n\r\n,\r\n");
	assert_int_equal(r->nrows, 0);
	assert_int_equal(r->header_line, 3);
	assert_int_equal(r->ncolumns, 2);
	leads_free(r);
	leads_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_bom_chinese),
		cmocka_unit_test(test_gbk_excel),
		cmocka_unit_test(test_gb18030_four_byte),
		cmocka_unit_test(test_encoding_options),
		cmocka_unit_test(test_quoted_fields),
		cmocka_unit_test(test_malformed_csv),
		cmocka_unit_test(test_english_headers),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_phone_rule),
		cmocka_unit_test(test_field_rules),
		cmocka_unit_test(test_ragged_rows),
		cmocka_unit_test(test_duplicates_in_file),
		cmocka_unit_test(test_vault_and_dnc),
		cmocka_unit_test(test_row_fields),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_empty_and_header_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
