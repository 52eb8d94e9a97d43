/*
 * schema.c - the record kinds of a telesales vault as static tables, and the
 * validation every record goes through before it reaches the database.
 * The SQL tables (store.c) mirror these rules with CHECK constraints.
 */
#include <stdio.h>
#include <string.h>

#include "coffer/schema.h"
#include "coffer/utf8.h"

#define TIME_MAX_ 4102444800LL     /* 2100-01-01: later times are typos */
#define MONEY_MAX_ 1000000000000LL /* 10^10 yuan in fen */
#define PHONE_IN_MAX 64            /* longest input we try to normalise */

/* Enumerations ------------------------------------------------------- */

static const char *const e_intent[] = { "none", "low", "medium", "high",
	NULL };
static const char *const e_stage[] = { "new", "screened", "excluded",
	"contacted", "following", "won", "lost", NULL };
static const char *const e_label[] = { "public", "internal", "confidential",
	"secret", NULL };
static const char *const e_outcome[] = { "answered", "no_answer", "busy",
	"voicemail", "wrong_number", "refused", NULL };
static const char *const e_fu_kind[] = { "callback", "revisit",
	"after_sales", NULL };
static const char *const e_fu_status[] = { "open", "done", "cancelled",
	NULL };
static const char *const e_payment[] = { "unpaid", "partial", "paid",
	"refunded", NULL };
static const char *const e_note_kind[] = { "market_research", "competitor",
	"feedback", "other", NULL };

/* Field tables ------------------------------------------------------- */

/* Row shorthands; every table starts with the four server fields. */
#define F_TEXT(n, fl, lo, hi, lab, h) \
	{ n, FT_TEXT, fl, lo, hi, NULL, NULL, lab, h }
#define F_INT(n, fl, lo, hi, lab, h) \
	{ n, FT_INT, fl, lo, hi, NULL, NULL, lab, h }
#define F_ENUM(n, fl, vals, lab, h) \
	{ n, FT_ENUM, fl, 0, 0, vals, NULL, lab, h }
#define F_REF(n, fl, kind, lab, h) \
	{ n, FT_REF, fl, 1, INT64_MAX, NULL, kind, lab, h }
#define F_TYPED(n, t, fl, lo, hi, lab, h) \
	{ n, t, fl, lo, hi, NULL, NULL, lab, h }
#define F_SERVER \
	F_INT("id", FF_SERVER, 1, INT64_MAX, "public", "record id"), \
	F_INT("version", FF_SERVER, 1, INT64_MAX, "public", \
	    "edit counter; updates must name the version they change"), \
	F_TYPED("created", FT_TIME, FF_SERVER, 0, TIME_MAX_, "public", \
	    "when the record was created (Unix seconds)"), \
	F_TYPED("updated", FT_TIME, FF_SERVER, 0, TIME_MAX_, "public", \
	    "when the record last changed (Unix seconds)")

/* A user id: an FT_INT whose value must name a row of users. */
#define F_USER(n, fl, lab, h) \
	{ n, FT_INT, fl, 1, INT64_MAX, NULL, "user", lab, h }

static const struct field_def customer_fields[] = {
	F_SERVER,
	F_TEXT("name", FF_REQUIRED, 1, 100, "confidential",
	    "customer's full name"),
	F_TYPED("phone", FT_PHONE, FF_REQUIRED, 0, 0, "confidential",
	    "contact number, stored normalised (13812345678, 010-12345678)"),
	F_TYPED("email", FT_EMAIL, 0, 3, 254, "confidential",
	    "e-mail address"),
	F_TEXT("company", 0, 0, 200, "internal", "employer or business"),
	F_TEXT("address", 0, 0, 300, "confidential", "postal address"),
	F_TEXT("needs", 0, 0, 2000, "confidential",
	    "needs found on the phone"),
	F_ENUM("intent", 0, e_intent, "confidential",
	    "purchase intent: none, low, medium, high"),
	F_ENUM("stage", FF_FILTER, e_stage, "internal",
	    "screening/sales stage; defaults to new"),
	F_TEXT("exclude_reason", 0, 0, 500, "internal",
	    "why the customer was excluded at screening"),
	F_USER("owner_id", FF_OWNER | FF_FILTER, "internal",
	    "user id of the owning agent"),
	F_TEXT("source_list", FF_FILTER, 0, 100, "internal",
	    "the company-provided list the customer came from"),
	F_TYPED("do_not_call", FT_BOOL, FF_FILTER, 0, 1, "internal",
	    "true: never call this customer again"),
	F_ENUM("label", 0, e_label, "internal",
	    "confidentiality label of the whole record (optional)"),
};

static const struct field_def call_fields[] = {
	F_SERVER,
	F_REF("customer_id", FF_REQUIRED | FF_IMMUTABLE | FF_FILTER,
	    "customer", "internal", "the customer called"),
	F_USER("agent_id", FF_IMMUTABLE | FF_FILTER, "internal",
	    "user id of the agent who called"),
	F_TYPED("started", FT_TIME, FF_REQUIRED, 0, TIME_MAX_, "internal",
	    "when the call started (Unix seconds)"),
	F_INT("duration", FF_REQUIRED, 0, 86400, "internal",
	    "call length in seconds"),
	F_ENUM("outcome", 0, e_outcome, "internal",
	    "answered, no_answer, busy, voicemail, wrong_number, refused"),
	F_ENUM("intent", 0, e_intent, "confidential",
	    "intent heard on this call: none, low, medium, high"),
	F_TEXT("notes", 0, 0, 4000, "internal",
	    "what the customer said; feedback to forward"),
};

static const struct field_def followup_fields[] = {
	F_SERVER,
	F_REF("customer_id", FF_REQUIRED | FF_IMMUTABLE | FF_FILTER,
	    "customer", "internal", "the customer to follow up"),
	F_USER("agent_id", FF_FILTER, "internal",
	    "user id of the agent responsible"),
	F_TYPED("due", FT_TIME, FF_REQUIRED, 0, TIME_MAX_, "internal",
	    "when it is due (Unix seconds)"),
	F_ENUM("kind", FF_REQUIRED, e_fu_kind, "internal",
	    "callback, revisit or after_sales"),
	F_ENUM("status", FF_FILTER, e_fu_status, "internal",
	    "open, done or cancelled; defaults to open"),
	F_TEXT("outcome", 0, 0, 2000, "internal", "what came of it"),
};

static const struct field_def deal_fields[] = {
	F_SERVER,
	F_REF("customer_id", FF_REQUIRED | FF_IMMUTABLE | FF_FILTER,
	    "customer", "internal", "the buying customer"),
	F_USER("agent_id", FF_FILTER, "internal",
	    "user id of the closing agent"),
	F_REF("product_id", FF_REQUIRED | FF_FILTER, "product", "internal",
	    "the product sold"),
	F_TYPED("amount", FT_MONEY, FF_REQUIRED, 0, MONEY_MAX_,
	    "confidential", "contract amount in fen (0.01 yuan)"),
	F_TEXT("contract_no", 0, 1, 64, "internal", "contract number"),
	F_ENUM("payment_status", FF_FILTER, e_payment, "internal",
	    "unpaid, partial, paid or refunded; defaults to unpaid"),
	F_INT("satisfaction", 0, 1, 5, "internal",
	    "customer satisfaction 1 (poor) to 5 (excellent)"),
	F_TYPED("closed", FT_TIME, 0, 0, TIME_MAX_, "internal",
	    "when the deal was closed (Unix seconds)"),
};

static const struct field_def product_fields[] = {
	F_SERVER,
	F_TEXT("name", FF_REQUIRED, 1, 100, "public", "product name"),
	F_TEXT("spec", 0, 0, 4000, "internal",
	    "specification and technical parameters"),
	F_TYPED("list_price", FT_MONEY, 0, 0, MONEY_MAX_, "internal",
	    "list price in fen"),
	F_TYPED("price_floor", FT_MONEY, 0, 0, MONEY_MAX_, "secret",
	    "lowest price an agent may offer, in fen"),
	F_TEXT("marketing_strategy", 0, 0, 8000, "secret",
	    "how the product is positioned and sold"),
};

static const struct field_def note_fields[] = {
	F_SERVER,
	F_ENUM("kind", FF_REQUIRED | FF_FILTER, e_note_kind, "internal",
	    "market_research, competitor, feedback or other"),
	F_TEXT("subject", FF_REQUIRED, 1, 200, "internal", "one-line subject"),
	F_TEXT("body", 0, 0, 8000, "internal", "the note itself"),
	F_REF("customer_id", FF_FILTER, "customer", "internal",
	    "the customer it concerns, if any"),
	F_TEXT("department", FF_FILTER, 0, 64, "internal",
	    "department feedback is routed to"),
	F_USER("author_id", FF_OWNER | FF_FILTER, "internal",
	    "user id of the author"),
};

#define NF(a) (sizeof(a) / sizeof((a)[0]))

static const struct kind_def kinds[] = {
	{ "customer", "customers", "customers", customer_fields,
	    NF(customer_fields), SCOPE_VIA_OWNER_FIELD,
	    "a person or business on a call list (customer archive)" },
	{ "call", "calls", "calls", call_fields, NF(call_fields),
	    SCOPE_VIA_CUSTOMER, "one telephone call with a customer" },
	{ "followup", "followups", "followups", followup_fields,
	    NF(followup_fields), SCOPE_VIA_CUSTOMER,
	    "a scheduled callback, revisit or after-sales contact" },
	{ "deal", "deals", "deals", deal_fields, NF(deal_fields),
	    SCOPE_VIA_CUSTOMER, "a closed sale: product, amount, payment" },
	{ "product", "products", "products", product_fields,
	    NF(product_fields), SCOPE_SHARED,
	    "a product in the catalogue, with its price system" },
	{ "note", "notes", "notes", note_fields, NF(note_fields),
	    SCOPE_VIA_OWNER_FIELD,
	    "market research, competitor information or routed feedback" },
};

const struct kind_def *
schema_kinds(size_t *n)
{
	if (n != NULL)
		*n = NF(kinds);
	return kinds;
}

const struct kind_def *
schema_kind(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < NF(kinds); i++) {
		if (strcmp(kinds[i].name, name) == 0 ||
		    strcmp(kinds[i].plural, name) == 0)
			return &kinds[i];
	}
	return NULL;
}

const struct field_def *
schema_field(const struct kind_def *k, const char *name)
{
	size_t i;

	if (k == NULL || name == NULL)
		return NULL;
	for (i = 0; i < k->nfields; i++) {
		if (strcmp(k->fields[i].name, name) == 0)
			return &k->fields[i];
	}
	return NULL;
}

/* Text checks -------------------------------------------------------- */

/*
 * Well-formed UTF-8 without control characters other than tab and line
 * breaks.  Controls are refused because records end up on terminals: an
 * escape sequence in a customer's name must not repaint an agent's screen.
 */
static int
text_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		unsigned char c = s[i];

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
			    c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if ((len = utf8_decode(s + i, n - i, &cp)) == 0)
			return 0;
		if (cp >= 0x80 && cp <= 0x9f)   /* a C1 control */
			return 0;
		i += len;
	}
	return 1;
}

static int
is_alnum_(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
email_local_ok(const char *s, size_t n)
{
	static const char extra[] = "!#$%&'*+/=?^_`{|}~-";
	size_t i;

	if (n < 1 || n > 64 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
			continue;
		}
		if (!is_alnum_((unsigned char)s[i]) &&
		    strchr(extra, s[i]) == NULL)
			return 0;
	}
	return 1;
}

/* Dot-separated labels of letters, digits and inner hyphens; TLD alpha. */
static int
email_domain_ok(const char *s, size_t n)
{
	size_t i, start = 0, labels = 0, tld_alpha = 1;

	if (n < 3 || n > 253)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			size_t len = i - start;

			if (len < 1 || len > 63 || s[start] == '-' ||
			    s[i - 1] == '-')
				return 0;
			labels++;
			tld_alpha = 1;
			for (size_t j = start; j < i; j++) {
				if (!((s[j] >= 'a' && s[j] <= 'z') ||
				    (s[j] >= 'A' && s[j] <= 'Z')))
					tld_alpha = 0;
			}
			if (i == n && (!tld_alpha || len < 2))
				return 0;
			start = i + 1;
			continue;
		}
		if (!is_alnum_((unsigned char)s[i]) && s[i] != '-')
			return 0;
	}
	return labels >= 2;
}

/* Conservative: what mail systems here actually accept, not all of 5322. */
static int
email_ok(const char *s, size_t n)
{
	const char *at;

	if (n < 3 || n > 254 || memchr(s, '\0', n) != NULL)
		return 0;
	at = memchr(s, '@', n);
	if (at == NULL || memchr(at + 1, '@', n - (size_t)(at - s) - 1) != NULL)
		return 0;
	return email_local_ok(s, (size_t)(at - s)) &&
	    email_domain_ok(at + 1, n - (size_t)(at - s) - 1);
}

/* Phone numbers ------------------------------------------------------ */

/* Keep digits and one leading '+'; drop separators; anything else fails. */
static int
phone_digits(const char *in, char *d, size_t dsz, int *plus)
{
	size_t i, n = 0;

	*plus = 0;
	for (i = 0; in[i] != '\0'; i++) {
		char c = in[i];

		if (i >= PHONE_IN_MAX)
			return -1;
		if (c >= '0' && c <= '9') {
			if (n + 1 >= dsz)
				return -1;
			d[n++] = c;
		} else if (c == '+' && n == 0 && !*plus) {
			*plus = 1;
		} else if (c != ' ' && c != '-' && c != '.' && c != '(' &&
		    c != ')') {
			return -1;
		}
	}
	d[n] = '\0';
	return (int)n;
}

static int
length_in(const char *s, size_t lo, size_t hi)
{
	size_t n = strlen(s);

	return n >= lo && n <= hi;
}

/*
 * National number without the country code: mobile 1[3-9] + 9 digits, or a
 * landline "0" + area code (2 digits for 10 and 2X, else 3) + 7..8 digits.  need_zero tells whether the trunk 0 is present (absent
 * after +86).
 */
static int
phone_national(const char *d, int need_zero, char *out, size_t outsz)
{
	size_t n = strlen(d), area;
	const char *a = d;

	if (n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9') {
		snprintf(out, outsz, "%s", d);
		return COFFER_OK;
	}
	if (need_zero) {
		if (d[0] != '0')
			return COFFER_ERR_INVALID;
		a = d + 1;
	}
	if (a[0] == '0' || a[0] == '\0')
		return COFFER_ERR_INVALID;
	area = (a[0] == '1' || a[0] == '2') ? 2 : 3;
	if (a[0] == '1' && a[1] != '0')
		return COFFER_ERR_INVALID; /* 1X other than 10 is no area code */
	if (strlen(a) <= area || !length_in(a + area, 7, 8))
		return COFFER_ERR_INVALID;
	snprintf(out, outsz, "0%.*s-%s", (int)area, a, a + area);
	return COFFER_OK;
}

int
schema_normalize_phone(const char *in, char *out, size_t outsz)
{
	char d[PHONE_IN_MAX + 1];
	int plus, n;
	const char *rest;

	if (in == NULL || out == NULL || outsz < 17)
		return COFFER_ERR_TOO_BIG;
	out[0] = '\0';
	if ((n = phone_digits(in, d, sizeof(d), &plus)) < 1)
		return COFFER_ERR_INVALID;
	if (!plus && strncmp(d, "00", 2) == 0) {
		plus = 1; /* 00 is the international prefix dialled from China */
		memmove(d, d + 2, (size_t)n - 1);
		n -= 2;
	}
	if (!plus)
		return phone_national(d, 1, out, outsz);
	if (strncmp(d, "86", 2) == 0) {
		rest = d + 2;
		/* some people write +86 0755...; the trunk 0 is tolerated */
		return phone_national(rest, rest[0] == '0', out, outsz);
	}
	if (n < 8 || n > 15 || d[0] == '0')
		return COFFER_ERR_INVALID;
	snprintf(out, outsz, "+%s", d);
	return COFFER_OK;
}

/* Values ------------------------------------------------------------- */

static int
item_text(const cbor_item_t *v, const unsigned char **p, size_t *n)
{
	if (!cbor_isa_string(v) || !cbor_string_is_definite(v))
		return 0;
	*p = cbor_string_handle(v);
	*n = cbor_string_length(v);
	if (*p == NULL && *n == 0)
		*p = (const unsigned char *)"";
	return *p != NULL;
}

/* Any CBOR integer (major 0/1) that fits in int64_t. */
static int
item_int(const cbor_item_t *v, int64_t *out)
{
	uint64_t u;

	if (!cbor_is_int(v))
		return 0;
	u = cbor_get_int(v);
	if (u > (uint64_t)INT64_MAX)
		return 0;
	*out = cbor_isa_negint(v) ? -1 - (int64_t)u : (int64_t)u;
	return 1;
}

static int
check_enum(const struct field_def *f, const unsigned char *p, size_t n,
    struct coffer_errdetail *detail)
{
	char list[160];
	size_t i, used = 0;

	for (i = 0; f->enum_values[i] != NULL; i++) {
		if (strlen(f->enum_values[i]) == n &&
		    memcmp(f->enum_values[i], p, n) == 0)
			return COFFER_OK;
	}
	list[0] = '\0';
	for (i = 0; f->enum_values[i] != NULL && used < sizeof(list); i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s",
		    i ? ", " : "", f->enum_values[i]);

		if (w < 0)
			break;
		used += (size_t)w;
	}
	return coffer_detail(detail, COFFER_ERR_INVALID, f->name,
	    "%s: must be one of %s", f->name, list);
}

static int
check_text_value(const struct field_def *f, const cbor_item_t *v,
    struct coffer_errdetail *detail)
{
	const unsigned char *p;
	size_t n;
	char buf[PHONE_IN_MAX + 1], norm[32];

	if (!item_text(v, &p, &n))
		return coffer_detail(detail, COFFER_ERR_INVALID, f->name,
		    "%s: must be text", f->name);
	if (!text_ok(p, n))
		return coffer_detail(detail, COFFER_ERR_INVALID, f->name,
		    "%s: invalid UTF-8 or control character", f->name);
	switch (f->type) {
	case FT_ENUM:
		return check_enum(f, p, n, detail);
	case FT_PHONE:
		if (n >= sizeof(buf))
			goto badphone;
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (schema_normalize_phone(buf, norm, sizeof(norm)) != COFFER_OK)
			goto badphone;
		return COFFER_OK;
	case FT_EMAIL:
		if (!email_ok((const char *)p, n))
			return coffer_detail(detail, COFFER_ERR_INVALID,
			    f->name, "%s: not a valid address", f->name);
		return COFFER_OK;
	default:
		break;
	}
	if ((int64_t)n < f->min || (int64_t)n > f->max)
		return coffer_detail(detail, COFFER_ERR_INVALID, f->name,
		    "%s: must be %lld to %lld bytes long", f->name,
		    (long long)f->min, (long long)f->max);
	return COFFER_OK;
badphone:
	return coffer_detail(detail, COFFER_ERR_INVALID, f->name,
	    "%s: not a valid number", f->name);
}

static int
check_int_value(const struct field_def *f, const cbor_item_t *v,
    struct coffer_errdetail *detail)
{
	int64_t x;

	if (!item_int(v, &x))
		return coffer_detail(detail, COFFER_ERR_INVALID, f->name,
		    "%s: must be an integer", f->name);
	if (f->type == FT_REF && x < 1)
		return coffer_detail(detail, COFFER_ERR_INVALID, f->name,
		    "%s: must be a record id", f->name);
	if (x < f->min || x > f->max)
		return coffer_detail(detail, COFFER_ERR_INVALID, f->name,
		    "%s: must be between %lld and %lld", f->name,
		    (long long)f->min, (long long)f->max);
	return COFFER_OK;
}

int
schema_validate_value(const struct field_def *f, const cbor_item_t *v,
    struct coffer_errdetail *detail)
{
	if (f == NULL || v == NULL)
		return COFFER_ERR_INTERNAL;
	switch (f->type) {
	case FT_TEXT:
	case FT_ENUM:
	case FT_PHONE:
	case FT_EMAIL:
		return check_text_value(f, v, detail);
	case FT_INT:
	case FT_MONEY:
	case FT_TIME:
	case FT_REF:
		return check_int_value(f, v, detail);
	case FT_BOOL:
		if (!cbor_is_bool(v))
			return coffer_detail(detail, COFFER_ERR_INVALID,
			    f->name, "%s: must be true or false", f->name);
		return COFFER_OK;
	}
	return COFFER_ERR_INTERNAL;
}

/* Maps --------------------------------------------------------------- */

/* Rules that depend on the operation rather than on the value. */
static int
check_flags(const struct field_def *f, const cbor_item_t *v, int is_create,
    struct coffer_errdetail *detail)
{
	if (f->flags & FF_SERVER)
		return coffer_detail(detail, COFFER_ERR_INVALID, f->name,
		    "%s: set by the server", f->name);
	if (!is_create && (f->flags & FF_IMMUTABLE))
		return coffer_detail(detail, COFFER_ERR_INVALID, f->name,
		    "%s: cannot be changed", f->name);
	if (cbor_is_null(v) && (f->flags & FF_REQUIRED))
		return coffer_detail(detail, COFFER_ERR_INVALID, f->name,
		    "%s: required", f->name);
	return COFFER_OK;
}

static int
check_pair(const struct kind_def *k, const struct cbor_pair *pr,
    int is_create, uint64_t *seen, struct coffer_errdetail *detail)
{
	const unsigned char *kp;
	size_t kn, idx;
	char name[64];
	const struct field_def *f;
	int r;

	if (!item_text(pr->key, &kp, &kn) || kn >= sizeof(name) ||
	    memchr(kp, '\0', kn) != NULL)
		return coffer_detail(detail, COFFER_ERR_INVALID, "fields",
		    "fields: keys must be field names");
	memcpy(name, kp, kn);
	name[kn] = '\0';
	if ((f = schema_field(k, name)) == NULL)
		return coffer_detail(detail, COFFER_ERR_INVALID, name,
		    "%s: unknown field of %s", name, k->name);
	idx = (size_t)(f - k->fields);
	if (*seen & ((uint64_t)1 << idx))
		return coffer_detail(detail, COFFER_ERR_INVALID, name,
		    "%s: given twice", name);
	*seen |= (uint64_t)1 << idx;
	if ((r = check_flags(f, pr->value, is_create, detail)) != COFFER_OK)
		return r;
	if (cbor_is_null(pr->value))
		return COFFER_OK; /* absent on create, cleared on update */
	return schema_validate_value(f, pr->value, detail);
}

int
schema_validate(const struct kind_def *k, const cbor_item_t *fields,
    int is_create, struct coffer_errdetail *detail)
{
	struct cbor_pair *pairs;
	size_t i, n;
	uint64_t seen = 0;
	int r;

	if (k == NULL || k->nfields > 64)
		return COFFER_ERR_INTERNAL;
	/* indefinite maps are what msg_new_map builds in-process */
	if (fields == NULL || !cbor_isa_map(fields))
		return coffer_detail(detail, COFFER_ERR_INVALID, "fields",
		    "fields: must be a map");
	n = cbor_map_size(fields);
	pairs = cbor_map_handle(fields);
	if (!is_create && n == 0)
		return coffer_detail(detail, COFFER_ERR_INVALID, "fields",
		    "fields: nothing to update");
	for (i = 0; i < n; i++) {
		if ((r = check_pair(k, &pairs[i], is_create, &seen,
		    detail)) != COFFER_OK)
			return r;
	}
	for (i = 0; is_create && i < k->nfields; i++) {
		if ((k->fields[i].flags & FF_REQUIRED) &&
		    !(seen & ((uint64_t)1 << i)))
			return coffer_detail(detail, COFFER_ERR_INVALID,
			    k->fields[i].name, "%s: required",
			    k->fields[i].name);
	}
	return COFFER_OK;
}

size_t
schema_erasable_fields(const struct kind_def *k, const char **names,
    size_t max)
{
	const struct field_def *f;
	size_t i, n = 0;

	for (i = 0; i < k->nfields && n < max; i++) {
		f = &k->fields[i];
		if ((f->flags & (FF_SERVER | FF_OWNER | FF_FILTER)) ||
		    f->type == FT_REF)
			continue;
		/* a required column keeps a value its CHECK accepts */
		if ((f->flags & FF_REQUIRED) && f->type != FT_TEXT &&
		    f->type != FT_PHONE)
			continue;
		if (f->type == FT_TEXT || (strcmp(f->label, "public") != 0 &&
		    strcmp(f->label, "internal") != 0))
			names[n++] = f->name;
	}
	return n;
}
