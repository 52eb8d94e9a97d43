/*
 * test_schema.c - the kind tables are consistent, and validation accepts
 * good and refuses bad values of every field type with a message naming
 * the field and the rule; phone normalisation against a table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "coffer/err.h"
#include "coffer/msg.h"
#include "coffer/schema.h"

/* Validate {name: value} for create (with the kind's required fields
 * filled in) and return the status; detail goes to *d. */
static int
check_one(const char *kind, const char *name, cbor_item_t *value,
    struct coffer_errdetail *d)
{
	const struct kind_def *k = schema_kind(kind);
	cbor_item_t *m = msg_new_map();
	size_t i;
	int rc;

	assert_non_null(k);
	for (i = 0; i < k->nfields; i++) {
		const struct field_def *f = &k->fields[i];

		if (!(f->flags & FF_REQUIRED) || strcmp(f->name, name) == 0)
			continue;
		if (f->type == FT_PHONE)
			msg_put_str(m, f->name, "13812345678");
		else if (f->type == FT_ENUM)
			msg_put_str(m, f->name, f->enum_values[0]);
		else if (f->type == FT_TEXT)
			msg_put_str(m, f->name, "x");
		else
			msg_put_int(m, f->name, 1);
	}
	assert_int_equal(msg_put(m, name, value), COFFER_OK);
	memset(d, 0, sizeof(*d));
	rc = schema_validate(k, m, 1, d);
	cbor_decref(&m);
	return rc;
}

static void
expect_ok(const char *kind, const char *name, cbor_item_t *value)
{
	struct coffer_errdetail d;
	int rc = check_one(kind, name, value, &d);

	if (rc != COFFER_OK)
		print_error("%s.%s: %s\n", kind, name, d.message);
	assert_int_equal(rc, COFFER_OK);
}

static void
expect_bad(const char *kind, const char *name, cbor_item_t *value,
    const char *message)
{
	struct coffer_errdetail d;

	assert_int_equal(check_one(kind, name, value, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.field, name);
	if (message != NULL)
		assert_string_equal(d.message, message);
}

static void
test_kinds_consistent(void **state)
{
	const struct kind_def *k;
	size_t n, i, j, owners;

	(void)state;
	k = schema_kinds(&n);
	assert_int_equal(n, 6);
	for (i = 0; i < n; i++) {
		assert_ptr_equal(schema_kind(k[i].name), &k[i]);
		assert_ptr_equal(schema_kind(k[i].plural), &k[i]);
		assert_true(k[i].nfields <= 64);
		assert_non_null(schema_field(&k[i], "id"));
		assert_true(schema_field(&k[i], "id")->flags & FF_SERVER);
		assert_true(schema_field(&k[i], "version")->flags & FF_SERVER);
		assert_true(schema_field(&k[i], "created")->flags & FF_SERVER);
		assert_true(schema_field(&k[i], "updated")->flags & FF_SERVER);
		for (j = 0, owners = 0; j < k[i].nfields; j++) {
			const struct field_def *f = &k[i].fields[j];

			assert_non_null(f->help);
			assert_non_null(f->label);
			assert_ptr_equal(schema_field(&k[i], f->name), f);
			assert_true((f->type == FT_ENUM) ==
			    (f->enum_values != NULL));
			if (f->type == FT_REF)
				assert_non_null(schema_kind(f->ref_kind));
			owners += (f->flags & FF_OWNER) != 0;
		}
		assert_int_equal(owners,
		    k[i].scope == SCOPE_VIA_OWNER_FIELD ? 1 : 0);
		if (k[i].scope == SCOPE_VIA_CUSTOMER)
			assert_int_equal(schema_field(&k[i],
			    "customer_id")->type, FT_REF);
	}
	assert_null(schema_kind("nope"));
	assert_null(schema_kind(NULL));
	assert_null(schema_field(schema_kind("customer"), "nope"));
	assert_string_equal(schema_field(schema_kind("product"),
	    "price_floor")->label, "secret");
	assert_string_equal(schema_field(schema_kind("customer"),
	    "phone")->label, "confidential");
}

static void
test_text(void **state)
{
	char big[2002];

	(void)state;
	expect_ok("customer", "name", msg_new_str("欧阳娜娜"));
	expect_ok("customer", "needs", msg_new_str("line one\nline two\t."));
	expect_bad("customer", "name", msg_new_str(""),
	    "name: must be 1 to 100 bytes long");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_bad("customer", "needs", msg_new_str(big),
	    "needs: must be 0 to 2000 bytes long");
	big[2000] = '\0';
	expect_ok("customer", "needs", msg_new_str(big));
	expect_bad("customer", "name", msg_new_int(5), "name: must be text");
	expect_bad("customer", "name", msg_new_str("esc\033[2Jape"),
	    "name: invalid UTF-8 or control character");
	expect_bad("customer", "name", msg_new_str("bad \xff utf8"), NULL);
	expect_bad("customer", "name", msg_new_str("overlong \xc0\xaf"),
	    NULL);
	expect_bad("customer", "name", msg_new_str("c1 \xc2\x9b"), NULL);
	expect_bad("customer", "name", msg_new_str("surrogate \xed\xa0\x80"),
	    NULL);
	expect_bad("customer", "company", msg_new_bytes((const unsigned char *)
	    "abc", 3), "company: must be text");
}

static void
test_int_money_time_bool_ref(void **state)
{
	(void)state;
	expect_ok("call", "duration", msg_new_int(0));
	expect_ok("call", "duration", msg_new_int(86400));
	expect_bad("call", "duration", msg_new_int(86401),
	    "duration: must be between 0 and 86400");
	expect_bad("call", "duration", msg_new_int(-1), NULL);
	expect_bad("call", "duration", msg_new_str("60"),
	    "duration: must be an integer");
	expect_ok("deal", "satisfaction", msg_new_int(5));
	expect_bad("deal", "satisfaction", msg_new_int(0), NULL);
	expect_ok("deal", "amount", msg_new_int(0));
	expect_bad("deal", "amount", msg_new_int(-100), NULL);
	expect_bad("deal", "amount", msg_new_uint(UINT64_MAX),
	    "amount: must be an integer");
	expect_ok("call", "started", msg_new_int(1718000000));
	expect_bad("call", "started", msg_new_int(-5), NULL);
	expect_bad("call", "started", msg_new_int(99999999999LL), NULL);
	expect_ok("customer", "do_not_call", msg_new_bool(1));
	expect_bad("customer", "do_not_call", msg_new_int(1),
	    "do_not_call: must be true or false");
	expect_ok("call", "customer_id", msg_new_int(7));
	expect_bad("call", "customer_id", msg_new_int(0),
	    "customer_id: must be a record id");
	expect_bad("customer", "owner_id", msg_new_int(0), NULL);
	expect_ok("customer", "owner_id", msg_new_int(3));
}

static void
test_enum(void **state)
{
	(void)state;
	expect_ok("customer", "stage", msg_new_str("screened"));
	expect_ok("customer", "label", msg_new_str("secret"));
	expect_bad("customer", "stage", msg_new_str("closed"),
	    "stage: must be one of new, screened, excluded, contacted, "
	    "following, won, lost");
	expect_bad("customer", "intent", msg_new_str("HIGH"), NULL);
	expect_bad("followup", "kind", msg_new_str(""), NULL);
	expect_ok("followup", "kind", msg_new_str("after_sales"));
	expect_ok("note", "kind", msg_new_str("competitor"));
	expect_ok("call", "outcome", msg_new_str("wrong_number"));
	expect_bad("deal", "payment_status", msg_new_str("paidx"), NULL);
}

static void
test_email(void **state)
{
	static const char *const good[] = { "a@b.cn", "li.na+crm@example.com",
		"12345678@qq.com", "x_y@mail.sub-domain.com.cn", NULL };
	static const char *const bad[] = { "", "plain", "@b.cn", "a@",
		"a@b", "a@@b.cn", "a@b@c.cn", ".a@b.cn", "a.@b.cn", "a..b@c.cn",
		"a@-b.cn", "a@b-.cn", "a@b..cn", "a@b.c", "a@b.c1", "a b@c.cn",
		"a@b_c.cn", "张@b.cn", NULL };
	char longer[300];
	size_t i;

	(void)state;
	for (i = 0; good[i] != NULL; i++)
		expect_ok("customer", "email", msg_new_str(good[i]));
	for (i = 0; bad[i] != NULL; i++)
		expect_bad("customer", "email", msg_new_str(bad[i]),
		    "email: not a valid address");
	memset(longer, 'a', sizeof(longer));
	memcpy(longer + 250, "@b.cn", 6);
	expect_bad("customer", "email", msg_new_str(longer), NULL);
}

static void
test_map_rules(void **state)
{
	const struct kind_def *k = schema_kind("call");
	struct coffer_errdetail d;
	cbor_item_t *m;

	(void)state;
	m = msg_new_map();
	msg_put_int(m, "customer_id", 1);
	msg_put_int(m, "started", 1718000000);
	assert_int_equal(schema_validate(k, m, 1, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.message, "duration: required");
	msg_put_int(m, "duration", 30);
	assert_int_equal(schema_validate(k, m, 1, &d), COFFER_OK);
	/* customer_id is immutable: refused on update */
	assert_int_equal(schema_validate(k, m, 0, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.message, "customer_id: cannot be changed");
	msg_put_int(m, "id", 5);
	assert_int_equal(schema_validate(k, m, 1, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.message, "id: set by the server");
	cbor_decref(&m);

	m = msg_new_map();
	assert_int_equal(schema_validate(k, m, 0, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.message, "fields: nothing to update");
	msg_put_int(m, "colour", 1);
	assert_int_equal(schema_validate(k, m, 0, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.message, "colour: unknown field of call");
	cbor_decref(&m);

	/* null: clears an optional field on update, never a required one */
	m = msg_new_map();
	msg_put(m, "notes", msg_new_null());
	assert_int_equal(schema_validate(k, m, 0, &d), COFFER_OK);
	msg_put(m, "duration", msg_new_null());
	assert_int_equal(schema_validate(k, m, 0, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.message, "duration: required");
	cbor_decref(&m);

	m = msg_new_array();
	assert_int_equal(schema_validate(k, m, 0, &d), COFFER_ERR_INVALID);
	assert_string_equal(d.field, "fields");
	cbor_decref(&m);
	assert_int_equal(schema_validate(k, NULL, 1, NULL), COFFER_ERR_INVALID);

	/* map keys must be text */
	m = cbor_new_definite_map(1);
	cbor_map_add(m, (struct cbor_pair){ .key = cbor_move(msg_new_int(1)),
	    .value = cbor_move(msg_new_int(1)) });
	assert_int_equal(schema_validate(k, m, 0, &d), COFFER_ERR_INVALID);
	cbor_decref(&m);
}

static void
test_phone_table(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: must be refused */
	} t[] = {
		{ "13812345678", "13812345678" },
		{ "+86 138 1234 5678", "13812345678" },
		{ "0086-138-1234-5678", "13812345678" },
		{ "+86 (138) 1234.5678", "13812345678" },
		{ "199 0000 1111", "19900001111" },
		{ "010-12345678", "010-12345678" },
		{ "(010) 1234 5678", "010-12345678" },
		{ "+86 10 12345678", "010-12345678" },
		{ "+86 010 12345678", "010-12345678" },
		{ "021-6543210", "021-6543210" },
		{ "0755 8765 4321", "0755-87654321" },
		{ "+86 571 8888 7777", "0571-88887777" },
		{ "+44 20 7946 0958", "+442079460958" },
		{ "0044 20 7946 0958", "+442079460958" },
		{ "+1 (415) 555-0100", "+14155550100" },
		{ "12812345678", NULL },     /* 12x is no mobile prefix */
		{ "1381234567", NULL },      /* too short */
		{ "138123456789", NULL },    /* too long */
		{ "0101234567", "010-1234567" },
		{ "010-123456", NULL },      /* subscriber too short */
		{ "010-123456789", NULL },   /* too long */
		{ "011-12345678", NULL },    /* 011 is no area code */
		{ "00-12345678", "+12345678" }, /* 00 = international */
		{ "00", NULL },
		{ "0086", NULL },
		{ "+0 123456789", NULL },
		{ "+1234567", NULL },        /* E.164 needs 8..15 digits */
		{ "+1234567890123456", NULL },
		{ "138abc45678", NULL },
		{ "1381234567８", NULL },    /* full-width digit */
		{ "13812345678 ext 1", NULL },
		{ "++8613812345678", NULL },
		{ "138+12345678", NULL },
		{ "", NULL },
		{ "   ", NULL },
		{ "+", NULL },
		{ "+86", NULL },
		{ "12345", NULL },
	};
	char out[32], longin[100];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = schema_normalize_phone(t[i].in, out, sizeof(out));

		if (t[i].out == NULL) {
			if (rc != COFFER_ERR_INVALID)
				print_error("accepted '%s' as '%s'\n", t[i].in,
				    out);
			assert_int_equal(rc, COFFER_ERR_INVALID);
		} else {
			if (rc != COFFER_OK)
				print_error("refused '%s'\n", t[i].in);
			assert_int_equal(rc, COFFER_OK);
			assert_string_equal(out, t[i].out);
		}
	}
	assert_int_equal(schema_normalize_phone("13812345678", out, 8),
	    COFFER_ERR_TOO_BIG);
	/* input beyond 64 characters is refused even if it is separators */
	memset(longin, ' ', sizeof(longin) - 12);
	memcpy(longin + sizeof(longin) - 12, "13812345678", 12);
	assert_int_equal(schema_normalize_phone(longin, out, sizeof(out)),
	    COFFER_ERR_INVALID);
	expect_ok("customer", "phone", msg_new_str("+86 138 1234 5678"));
	expect_bad("customer", "phone", msg_new_str("junk"),
	    "phone: not a valid number");
}

static void
test_validate_value(void **state)
{
	const struct field_def *f = schema_field(schema_kind("customer"),
	    "stage");
	cbor_item_t *v = msg_new_str("won");

	(void)state;
	assert_int_equal(schema_validate_value(f, v, NULL), COFFER_OK);
	cbor_decref(&v);
	v = msg_new_null();
	assert_int_equal(schema_validate_value(f, v, NULL), COFFER_ERR_INVALID);
	cbor_decref(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds_consistent),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_int_money_time_bool_ref),
		cmocka_unit_test(test_enum),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_map_rules),
		cmocka_unit_test(test_phone_table),
		cmocka_unit_test(test_validate_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
