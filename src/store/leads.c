/*
 * leads.c - lead lists in: decode a company's CSV list (UTF-8 or GB18030),
 * parse it per RFC 4180 with libcsv, map its header, validate every row with
 * the schema's own rules and de-duplicate by normalised phone.  The rules
 * are written down in docs/import.md; this file must agree with it.
 */
#include <errno.h>
#include <stddef.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

#include "coffer/leads.h"
#include "coffer/msg.h"
#include "coffer/schema.h"
#include "coffer/utf8.h"

#define ARENA_BLOCK ((size_t)1 << 20)
#define FEED_CHUNK ((size_t)64 << 10) /* lets a failed row stop the parse */
#define REASON_MAX 480
#define PHONE_ASCII_MAX 64 /* schema_normalize_phone's input bound */

/* Storage -------------------------------------------------------------- */

/*
 * All strings of a result live in a few large blocks that never move, so
 * 100,000 rows cost a handful of allocations and one walk to free.
 */
struct block {
	struct block *next;
	size_t used, cap;
	max_align_t data[]; /* used as bytes; the type only aligns it */
};

struct arena {
	struct block *head;
};

static char *
arena_alloc(struct arena *a, size_t n)
{
	struct block *b = a->head;
	size_t cap;

	if (b == NULL || b->cap - b->used < n) {
		if (n > SIZE_MAX - sizeof(*b))
			return NULL;
		cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	b->used += n;
	return (char *)b->data + b->used - n;
}

/* A NUL-terminated copy of p[0..n). */
static char *
arena_strndup(struct arena *a, const void *p, size_t n)
{
	char *s;

	if (n == SIZE_MAX || (s = arena_alloc(a, n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* Room for n structures of size sz, aligned for any type. */
static void *
arena_array(struct arena *a, size_t n, size_t sz)
{
	const size_t al = _Alignof(max_align_t);
	struct block *b = a->head;
	size_t pad;

	if (n == 0)
		n = 1;
	if (n > (SIZE_MAX - al) / sz)
		return NULL;
	/* pad the current block; a new block's data is aligned already */
	if (b != NULL) {
		pad = (al - b->used % al) % al;
		b->used = b->cap - b->used >= pad ? b->used + pad : b->cap;
	}
	return arena_alloc(a, n * sz);
}

static void
arena_free(struct arena *a)
{
	struct block *b, *next;

	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
}

/* Names ---------------------------------------------------------------- */

static const char *const field_names[LEADS_NFIELDS] = {
	"name", "phone", "email", "company", "address", "needs", "intent"
};

const char *
leads_field_name(int f)
{
	if (f < 0 || f >= LEADS_NFIELDS)
		return NULL;
	return field_names[f];
}

const char *
leads_status_name(enum leads_status s)
{
	switch (s) {
	case LEADS_OK: return "ok";
	case LEADS_EXCLUDED: return "excluded";
	case LEADS_INVALID: return "invalid";
	case LEADS_DUP_FILE: return "duplicate";
	case LEADS_DUP_VAULT: return "in_vault";
	}
	return "unknown";
}

int
leads_encoding_parse(const char *s, enum leads_encoding *out)
{
	if (s == NULL || out == NULL)
		return COFFER_ERR_USAGE;
	if (strcasecmp(s, "auto") == 0)
		*out = LEADS_ENC_AUTO;
	else if (strcasecmp(s, "utf-8") == 0 || strcasecmp(s, "utf8") == 0)
		*out = LEADS_ENC_UTF8;
	else if (strcasecmp(s, "gb18030") == 0 || strcasecmp(s, "gbk") == 0)
		*out = LEADS_ENC_GB18030;
	else
		return COFFER_ERR_USAGE;
	return COFFER_OK;
}

const char *
leads_encoding_name(enum leads_encoding e)
{
	switch (e) {
	case LEADS_ENC_AUTO: return "auto";
	case LEADS_ENC_UTF8: return "utf-8";
	case LEADS_ENC_GB18030: return "gb18030";
	}
	return "unknown";
}

/* Header table (docs/import.md, "Columns") ----------------------------- */

/* English aliases are lower case with '_' written as ' '. */
static const struct {
	const char *alias;
	enum leads_field field;
} header_aliases[] = {
	{ "姓名", LEADS_F_NAME }, { "名字", LEADS_F_NAME },
	{ "客户姓名", LEADS_F_NAME }, { "联系人", LEADS_F_NAME },
	{ "name", LEADS_F_NAME }, { "full name", LEADS_F_NAME },
	{ "customer name", LEADS_F_NAME }, { "contact name", LEADS_F_NAME },

	{ "电话", LEADS_F_PHONE }, { "手机", LEADS_F_PHONE },
	{ "手机号", LEADS_F_PHONE }, { "手机号码", LEADS_F_PHONE },
	{ "电话号码", LEADS_F_PHONE }, { "联系电话", LEADS_F_PHONE },
	{ "联系方式", LEADS_F_PHONE }, { "phone", LEADS_F_PHONE },
	{ "mobile", LEADS_F_PHONE }, { "tel", LEADS_F_PHONE },
	{ "telephone", LEADS_F_PHONE }, { "phone number", LEADS_F_PHONE },
	{ "mobile phone", LEADS_F_PHONE }, { "cell", LEADS_F_PHONE },

	{ "邮箱", LEADS_F_EMAIL }, { "电子邮箱", LEADS_F_EMAIL },
	{ "电子邮件", LEADS_F_EMAIL }, { "email", LEADS_F_EMAIL },
	{ "e-mail", LEADS_F_EMAIL },

	{ "公司", LEADS_F_COMPANY }, { "单位", LEADS_F_COMPANY },
	{ "公司名称", LEADS_F_COMPANY }, { "工作单位", LEADS_F_COMPANY },
	{ "企业", LEADS_F_COMPANY }, { "company", LEADS_F_COMPANY },
	{ "employer", LEADS_F_COMPANY }, { "organization", LEADS_F_COMPANY },
	{ "organisation", LEADS_F_COMPANY },

	{ "地址", LEADS_F_ADDRESS }, { "联系地址", LEADS_F_ADDRESS },
	{ "通讯地址", LEADS_F_ADDRESS }, { "住址", LEADS_F_ADDRESS },
	{ "address", LEADS_F_ADDRESS },

	{ "需求", LEADS_F_NEEDS }, { "客户需求", LEADS_F_NEEDS },
	{ "备注", LEADS_F_NEEDS }, { "说明", LEADS_F_NEEDS },
	{ "needs", LEADS_F_NEEDS }, { "notes", LEADS_F_NEEDS },
	{ "note", LEADS_F_NEEDS }, { "remarks", LEADS_F_NEEDS },
	{ "comments", LEADS_F_NEEDS },

	{ "意向", LEADS_F_INTENT }, { "意向度", LEADS_F_INTENT },
	{ "购买意向", LEADS_F_INTENT }, { "intent", LEADS_F_INTENT },
	{ "intention", LEADS_F_INTENT },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Column header -> field, or -1.  name is trimmed and NUL-terminated. */
static int
header_field(const char *name)
{
	char canon[64];
	size_t i, n = strlen(name);

	if (n >= sizeof(canon))
		return -1;
	for (i = 0; i <= n; i++) {
		char c = name[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (c == '_')
			c = ' ';
		canon[i] = c;
	}
	for (i = 0; i < NELEM(header_aliases); i++) {
		if (strcmp(header_aliases[i].alias, canon) == 0)
			return (int)header_aliases[i].field;
	}
	return -1;
}

/* Text helpers ----------------------------------------------------------- */

/* Bytes of blank at s (ASCII blanks, U+00A0, U+3000, U+FEFF), else 0. */
static size_t
blank_at(const unsigned char *s, size_t n)
{
	if (n >= 1 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' ||
	    s[0] == '\n'))
		return 1;
	if (n >= 2 && s[0] == 0xc2 && s[1] == 0xa0)
		return 2;
	if (n >= 3 && ((s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) ||
	    (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)))
		return 3;
	return 0;
}

/* Blank of up to 3 bytes ending at s[n-1]. */
static size_t
blank_before(const unsigned char *s, size_t n)
{
	size_t k;

	for (k = 1; k <= 3 && k <= n; k++) {
		if (blank_at(s + n - k, k) == k)
			return k;
	}
	return 0;
}

static void
trim(const unsigned char **p, size_t *n)
{
	size_t k;

	while (*n > 0 && (k = blank_at(*p, *n)) > 0) {
		*p += k;
		*n -= k;
	}
	while (*n > 0 && (k = blank_before(*p, *n)) > 0)
		*n -= k;
}

/* Line breaks in s[0..n): LF, CRLF and a lone CR each count once. */
static unsigned long
line_breaks(const unsigned char *s, size_t n)
{
	unsigned long count = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == n ||
		    s[i + 1] != '\n')))
			count++;
	}
	return count;
}

/* Encoding --------------------------------------------------------------- */

/* The file as UTF-8: text points into buf or into *owned. */
struct decoded {
	const unsigned char *text;
	size_t len;
	unsigned char *owned;
};

static int
bad_bytes(struct coffer_errdetail *d, const unsigned char *buf, size_t off,
    const char *what)
{
	return coffer_detail(d, COFFER_ERR_INVALID, "file",
	    "not valid %s: bad bytes on line %lu", what,
	    line_breaks(buf, off) + 1);
}

/* GB18030 to UTF-8 with glibc iconv; 1.5x is enough, more is allowed. */
static int
from_gb18030(const unsigned char *in, size_t len, struct decoded *out,
    struct coffer_errdetail *d)
{
	iconv_t cd;
	char *ip = (char *)(uintptr_t)in, *op;
	size_t ileft = len, oleft, used, cap = len + len / 2 + 16;
	unsigned char *buf = NULL, *nbuf;
	int r = COFFER_OK;

	if ((cd = iconv_open("UTF-8", "GB18030")) == (iconv_t)-1)
		return coffer_detail(d, COFFER_ERR_INTERNAL, "file",
		    "GB18030 conversion is not available");
	if ((buf = malloc(cap)) == NULL) {
		r = COFFER_ERR_NOMEM;
		goto out;
	}
	op = (char *)buf;
	oleft = cap;
	while (ileft > 0) {
		if (iconv(cd, &ip, &ileft, &op, &oleft) != (size_t)-1)
			continue;
		if (errno != E2BIG) {
			r = bad_bytes(d, in, len - ileft, "GB18030");
			goto out;
		}
		used = cap - oleft;
		if ((nbuf = realloc(buf, cap * 2)) == NULL) {
			r = COFFER_ERR_NOMEM;
			goto out;
		}
		op = (char *)nbuf + used;
		oleft += cap;
		cap *= 2;
		buf = nbuf;
	}
	out->len = cap - oleft;
	if (utf8_check(buf, out->len) != out->len) {
		r = COFFER_ERR_INTERNAL;
		goto out;
	}
	out->text = buf;
	out->owned = buf;
	buf = NULL; /* transferred */
out:
	free(buf);
	iconv_close(cd);
	return r;
}

/*
 * Decide the encoding (docs/import.md, "Encodings") and produce UTF-8.
 * A UTF-8 BOM is dropped; UTF-16 is refused by name, since "Unicode text"
 * from Excel is a tab-separated file that would otherwise fail obscurely.
 */
static int
decode(const unsigned char *buf, size_t len, enum leads_encoding want,
    struct leads_result *res, struct decoded *out,
    struct coffer_errdetail *d)
{
	size_t bad;

	if (len >= 2 && ((buf[0] == 0xff && buf[1] == 0xfe) ||
	    (buf[0] == 0xfe && buf[1] == 0xff)))
		return coffer_detail(d, COFFER_ERR_INVALID, "file",
		    "UTF-16 text is not supported: save as \"CSV UTF-8\" "
		    "or \"CSV\"");
	if (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf) {
		if (want == LEADS_ENC_GB18030)
			return coffer_detail(d, COFFER_ERR_INVALID, "file",
			    "the file starts with a UTF-8 byte order mark "
			    "but gb18030 was asked for");
		res->bom = 1;
		buf += 3;
		len -= 3;
		want = LEADS_ENC_UTF8;
	}
	if (want != LEADS_ENC_GB18030) {
		bad = utf8_check(buf, len);
		if (bad == len) {
			res->encoding = LEADS_ENC_UTF8;
			out->text = buf;
			out->len = len;
			return COFFER_OK;
		}
		if (want == LEADS_ENC_UTF8)
			return bad_bytes(d, buf, bad, "UTF-8");
	}
	res->encoding = LEADS_ENC_GB18030;
	return from_gb18030(buf, len, out, d);
}

/* Row validation ---------------------------------------------------------- */

struct reason {
	char buf[REASON_MAX];
	size_t used;
};

static void
reason_add(struct reason *rs, const char *msg)
{
	int w;

	if (rs->used >= sizeof(rs->buf) - 1)
		return;
	w = snprintf(rs->buf + rs->used, sizeof(rs->buf) - rs->used, "%s%s",
	    rs->used > 0 ? "; " : "", msg);
	if (w > 0)
		rs->used += (size_t)w;
	if (rs->used >= sizeof(rs->buf))
		rs->used = sizeof(rs->buf) - 1;
}

/* Full-width forms Chinese input methods produce, as ASCII; 0 if none. */
static char
fullwidth_ascii(uint32_t cp)
{
	if (cp >= 0xff10 && cp <= 0xff19)
		return (char)('0' + (cp - 0xff10));
	switch (cp) {
	case 0xff0b: return '+';
	case 0xff0d: return '-';
	case 0xff0e: return '.';
	case 0xff08: return '(';
	case 0xff09: return ')';
	case 0x3000: return ' ';
	}
	return 0;
}

/* The value as ASCII (full-width folded); -1 if too long or other text. */
static int
phone_ascii(const unsigned char *p, size_t n, char *out, size_t outsz)
{
	size_t i = 0, o = 0, k;
	uint32_t cp;
	char c;

	while (i < n) {
		if (p[i] < 0x80) {
			c = (char)p[i++];
		} else {
			if ((k = utf8_decode(p + i, n - i, &cp)) == 0 ||
			    (c = fullwidth_ascii(cp)) == 0)
				return -1;
			i += k;
		}
		if (c == '\0' || o + 1 >= outsz)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* "1.38123E+10": what Excel writes for a long number in a General cell. */
static int
looks_scientific(const char *s)
{
	return strpbrk(s, "eE") != NULL && strchr(s, '.') != NULL &&
	    strpbrk(s, "0123456789") != NULL;
}

/*
 * docs/import.md, "Phone numbers": schema_normalize_phone, after folding
 * full-width forms and reading 13 digits starting 86 as +86.
 */
static int
lead_phone(const unsigned char *p, size_t n, char *norm, size_t normsz,
    struct reason *rs)
{
	char a[PHONE_ASCII_MAX + 1], plus[PHONE_ASCII_MAX + 2], digits[16];
	size_t i, nd = 0;
	const char *in = a;

	if (phone_ascii(p, n, a, sizeof(a)) != 0)
		goto bad;
	if (looks_scientific(a)) {
		reason_add(rs, "phone: written in scientific notation by a "
		    "spreadsheet; format the column as text");
		return COFFER_ERR_INVALID;
	}
	for (i = 0; a[i] != '\0' && nd < sizeof(digits); i++) {
		if (a[i] >= '0' && a[i] <= '9')
			digits[nd++] = a[i];
		else if (strchr(" -.()", a[i]) == NULL)
			break;
	}
	if (a[i] == '\0' && nd == 13 && digits[0] == '8' && digits[1] == '6') {
		snprintf(plus, sizeof(plus), "+%s", a);
		in = plus;
	}
	if (schema_normalize_phone(in, norm, normsz) == COFFER_OK)
		return COFFER_OK;
bad:
	reason_add(rs, "phone: not a valid number (mobile: 11 digits "
	    "starting 13-19; landline: 0, area code, 7-8 digits)");
	return COFFER_ERR_INVALID;
}

/* Intent in English (any case) or Chinese, as the schema's enum value. */
static const char *
lead_intent(const unsigned char *p, size_t n)
{
	static const struct { const char *in, *out; } t[] = {
		{ "none", "none" }, { "low", "low" }, { "medium", "medium" },
		{ "high", "high" }, { "无", "none" }, { "没有", "none" },
		{ "低", "low" }, { "中", "medium" }, { "一般", "medium" },
		{ "高", "high" },
	};
	size_t i;

	for (i = 0; i < NELEM(t); i++) {
		if (strlen(t[i].in) == n && strncasecmp(t[i].in,
		    (const char *)p, n) == 0)
			return t[i].out;
	}
	return NULL;
}

/* A text field through the schema's own per-value check. */
static int
lead_text(const struct field_def *f, const unsigned char *p, size_t n,
    struct reason *rs)
{
	struct coffer_errdetail d;
	cbor_item_t *v;
	int r;

	if ((v = cbor_build_stringn((const char *)p, n)) == NULL)
		return COFFER_ERR_NOMEM;
	memset(&d, 0, sizeof(d));
	r = schema_validate_value(f, v, &d);
	cbor_decref(&v);
	if (r == COFFER_ERR_INVALID)
		reason_add(rs, d.message);
	return r;
}

/* Parser state ------------------------------------------------------------ */

struct parse {
	struct arena *arena;
	struct leads_result *res;
	const struct field_def *fdefs[LEADS_NFIELDS];
	struct coffer_errdetail *detail;
	int status;               /* first failure inside a callback */
	size_t max_rows, rows_cap;
	int have_header;
	unsigned long line;       /* physical line at the parse position */
	int last_cr;              /* the last thing seen was a CR break */
	unsigned long row_line;   /* line the current record started on */
	size_t nf;                /* fields of the current record so far */
	int nonempty, extra_nonempty;
	/* header being read */
	struct leads_column cols[LEADS_MAX_COLUMNS];
	int colfield[LEADS_MAX_COLUMNS];
	/* current data row: trimmed field values, by leads_field */
	const unsigned char *cur[LEADS_NFIELDS];
	size_t curlen[LEADS_NFIELDS];
};

static void
fail(struct parse *ps, int status)
{
	if (ps->status == COFFER_OK)
		ps->status = status;
}

/* One header cell, kept whole (the column list reports all of them). */
static void
header_cell(struct parse *ps, const unsigned char *p, size_t n)
{
	char *name;

	if (ps->nf >= LEADS_MAX_COLUMNS) {
		fail(ps, coffer_detail(ps->detail, COFFER_ERR_TOO_BIG, "header",
		    "more than %d columns", LEADS_MAX_COLUMNS));
		return;
	}
	if ((name = arena_strndup(ps->arena, p, n)) == NULL) {
		fail(ps, COFFER_ERR_NOMEM);
		return;
	}
	ps->cols[ps->nf].index = (unsigned)ps->nf + 1;
	ps->cols[ps->nf].name = name;
	ps->cols[ps->nf].field = -1;
}

static void
data_cell(struct parse *ps, const unsigned char *p, size_t n)
{
	int f;
	char *copy;

	if (ps->nf >= ps->res->ncolumns) {
		if (n > 0)
			ps->extra_nonempty = 1;
		return;
	}
	if ((f = ps->colfield[ps->nf]) < 0)
		return;
	if ((copy = arena_strndup(ps->arena, p, n)) == NULL) {
		fail(ps, COFFER_ERR_NOMEM);
		return;
	}
	ps->cur[f] = (const unsigned char *)copy;
	ps->curlen[f] = n;
}

/* libcsv's end-of-field callback. */
static void
on_field(void *data, size_t len, void *arg)
{
	struct parse *ps = arg;
	const unsigned char *p = data;
	size_t n = len;

	if (ps->status != COFFER_OK)
		return;
	if (p == NULL)
		n = 0;
	if (ps->nf == 0)
		ps->row_line = ps->line;
	ps->line += line_breaks(p, n);
	ps->last_cr = 0;
	trim(&p, &n);
	if (n > 0)
		ps->nonempty = 1;
	if (!ps->have_header)
		header_cell(ps, p, n);
	else
		data_cell(ps, p, n);
	ps->nf++;
}

static int
header_map(struct parse *ps)
{
	struct leads_result *res = ps->res;
	int first[LEADS_NFIELDS];
	size_t i, nunk = 0;
	int f;

	for (f = 0; f < LEADS_NFIELDS; f++)
		first[f] = -1;
	for (i = 0; i < ps->nf; i++) {
		f = header_field(ps->cols[i].name);
		ps->cols[i].field = f;
		ps->colfield[i] = f;
		if (f < 0) {
			nunk++;
			continue;
		}
		if (first[f] >= 0)
			return coffer_detail(ps->detail, COFFER_ERR_INVALID,
			    field_names[f], "columns %d (%s) and %zu (%s) "
			    "both map to %s", first[f] + 1,
			    ps->cols[first[f]].name, i + 1, ps->cols[i].name,
			    field_names[f]);
		first[f] = (int)i;
	}
	if (first[LEADS_F_NAME] < 0)
		return coffer_detail(ps->detail, COFFER_ERR_INVALID, "name",
		    "missing required column name (姓名, name, ...)");
	if (first[LEADS_F_PHONE] < 0)
		return coffer_detail(ps->detail, COFFER_ERR_INVALID, "phone",
		    "missing required column phone (电话, 手机, phone, "
		    "mobile, ...)");
	res->columns = arena_array(ps->arena, ps->nf, sizeof(*res->columns));
	res->unknown = arena_array(ps->arena, nunk, sizeof(*res->unknown));
	return res->columns == NULL || res->unknown == NULL ?
	    COFFER_ERR_NOMEM : COFFER_OK;
}

static int
header_done(struct parse *ps)
{
	struct leads_result *res = ps->res;
	size_t i;
	int r;

	if ((r = header_map(ps)) != COFFER_OK)
		return r;
	memcpy(res->columns, ps->cols, ps->nf * sizeof(*res->columns));
	res->ncolumns = ps->nf;
	for (i = 0; i < ps->nf; i++) {
		/* an unnamed column is padding, not something to report */
		if (ps->cols[i].field < 0 && ps->cols[i].name[0] != '\0')
			res->unknown[res->nunknown++] = ps->cols[i].name;
	}
	res->header_line = ps->row_line;
	ps->have_header = 1;
	return COFFER_OK;
}

/* The mapped values of the current row, each by its own rule. */
static int
row_values(struct parse *ps, struct leads_row *row, struct reason *rs)
{
	char norm[32];
	const char *iv;
	int f, r = COFFER_OK, rf;

	for (f = 0; f < LEADS_NFIELDS; f++) {
		const unsigned char *p = ps->cur[f];
		size_t n = ps->curlen[f];

		if (p == NULL || n == 0) {
			if (f == LEADS_F_NAME || f == LEADS_F_PHONE) {
				reason_add(rs, f == LEADS_F_NAME ?
				    "name: required" : "phone: required");
				r = COFFER_ERR_INVALID;
			}
			continue;
		}
		if (f == LEADS_F_PHONE) {
			if ((rf = lead_phone(p, n, norm, sizeof(norm), rs)) ==
			    COFFER_OK && (row->v[f] = arena_strndup(ps->arena,
			    norm, strlen(norm))) == NULL)
				return COFFER_ERR_NOMEM;
		} else if (f == LEADS_F_INTENT) {
			rf = COFFER_OK;
			if ((iv = lead_intent(p, n)) == NULL) {
				reason_add(rs, "intent: must be one of none, "
				    "low, medium, high (无, 低, 中, 高)");
				rf = COFFER_ERR_INVALID;
			}
			row->v[f] = iv;
		} else if ((rf = lead_text(ps->fdefs[f], p, n, rs)) ==
		    COFFER_OK) {
			row->v[f] = (const char *)p;
		}
		if (rf == COFFER_ERR_NOMEM)
			return rf;
		if (rf != COFFER_OK)
			r = COFFER_ERR_INVALID;
	}
	return r;
}

static struct leads_row *
row_new(struct parse *ps)
{
	struct leads_result *res = ps->res;
	struct leads_row *rows;
	size_t cap;

	if (res->nrows >= ps->max_rows) {
		fail(ps, coffer_detail(ps->detail, COFFER_ERR_TOO_BIG, "file",
		    "more than %zu data rows", ps->max_rows));
		return NULL;
	}
	if (res->nrows == ps->rows_cap) {
		cap = ps->rows_cap ? ps->rows_cap * 2 : 1024;
		if (cap > ps->max_rows)
			cap = ps->max_rows;
		if ((rows = realloc(res->rows, cap * sizeof(*rows))) == NULL) {
			fail(ps, COFFER_ERR_NOMEM);
			return NULL;
		}
		res->rows = rows;
		ps->rows_cap = cap;
	}
	rows = &res->rows[res->nrows++];
	memset(rows, 0, sizeof(*rows));
	rows->line = ps->row_line;
	return rows;
}

static void
data_done(struct parse *ps)
{
	struct leads_row *row;
	struct reason rs;
	int r;

	if ((row = row_new(ps)) == NULL)
		return;
	rs.used = 0;
	rs.buf[0] = '\0';
	if (ps->nf < ps->res->ncolumns || ps->extra_nonempty) {
		snprintf(rs.buf, sizeof(rs.buf), "row has %zu fields, the "
		    "header has %zu", ps->nf, ps->res->ncolumns);
		r = COFFER_ERR_INVALID;
	} else {
		r = row_values(ps, row, &rs);
	}
	if (r == COFFER_ERR_NOMEM) {
		fail(ps, r);
		return;
	}
	if (r != COFFER_OK) {
		row->status = LEADS_INVALID;
		if ((row->reason = arena_strndup(ps->arena, rs.buf,
		    strlen(rs.buf))) == NULL)
			fail(ps, COFFER_ERR_NOMEM);
	}
}

/* libcsv's end-of-record callback; c is the terminator, -1 at the end. */
static void
on_record(int c, void *arg)
{
	struct parse *ps = arg;
	int r;

	if (ps->status != COFFER_OK)
		return;
	if (ps->nf > 0 && ps->nonempty) {
		if (!ps->have_header) {
			if ((r = header_done(ps)) != COFFER_OK)
				fail(ps, r);
		} else {
			data_done(ps);
		}
	}
	/* with CSV_REPALL_NL every CR and LF comes here: CRLF is one break */
	if (c == '\r' || (c == '\n' && !(ps->last_cr && ps->nf == 0)))
		ps->line++;
	ps->last_cr = c == '\r';
	ps->nf = 0;
	ps->nonempty = ps->extra_nonempty = 0;
	memset(ps->cur, 0, sizeof(ps->cur));
	memset(ps->curlen, 0, sizeof(ps->curlen));
}

/* CSV --------------------------------------------------------------------- */

static int
csv_failed(struct parse *ps, struct csv_parser *cp, const unsigned char *t,
    size_t off)
{
	if (csv_error(cp) == CSV_ENOMEM || csv_error(cp) == CSV_ETOOBIG)
		return COFFER_ERR_NOMEM;
	return coffer_detail(ps->detail, COFFER_ERR_INVALID, "file",
	    "malformed CSV on line %lu: a quote inside an unquoted field or "
	    "text after a closing quote", line_breaks(t, off) + 1);
}

static int
run_csv(struct parse *ps, const unsigned char *t, size_t len)
{
	struct csv_parser cp;
	size_t off = 0, n, done;
	int r = COFFER_OK;

	if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0)
		return COFFER_ERR_NOMEM;
	while (off < len && ps->status == COFFER_OK) {
		n = len - off < FEED_CHUNK ? len - off : FEED_CHUNK;
		done = csv_parse(&cp, t + off, n, on_field, on_record, ps);
		if (done != n && ps->status == COFFER_OK) {
			r = csv_failed(ps, &cp, t, off + done);
			goto out;
		}
		off += n;
	}
	if (ps->status == COFFER_OK &&
	    csv_fini(&cp, on_field, on_record, ps) != 0)
		r = coffer_detail(ps->detail, COFFER_ERR_INVALID, "file",
		    "malformed CSV: the quoted field that starts on line %lu "
		    "is never closed", ps->line);
out:
	csv_free(&cp);
	return r != COFFER_OK ? r : ps->status;
}

/* De-duplication ---------------------------------------------------------- */

static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

/* Later rows with a phone an earlier valid row has become duplicates. */
static int
dedup_file(struct leads_result *res, struct arena *a)
{
	size_t cap = 16, mask, i, j, slot;
	uint32_t *tab;
	char why[64];
	struct leads_row *row;

	while (cap < res->nrows * 2)
		cap *= 2;
	if ((tab = calloc(cap, sizeof(*tab))) == NULL)
		return COFFER_ERR_NOMEM;
	mask = cap - 1;
	for (i = 0; i < res->nrows; i++) {
		row = &res->rows[i];
		if (row->status != LEADS_OK)
			continue;
		for (slot = fnv1a(row->v[LEADS_F_PHONE]) & mask; tab[slot] != 0;
		    slot = (slot + 1) & mask) {
			j = tab[slot] - 1;
			if (strcmp(res->rows[j].v[LEADS_F_PHONE],
			    row->v[LEADS_F_PHONE]) == 0)
				break;
		}
		if (tab[slot] == 0) {
			tab[slot] = (uint32_t)i + 1;
			continue;
		}
		row->status = LEADS_DUP_FILE;
		row->dup_line = res->rows[tab[slot] - 1].line;
		snprintf(why, sizeof(why), "same phone as line %lu",
		    row->dup_line);
		if ((row->reason = arena_strndup(a, why, strlen(why))) == NULL) {
			free(tab);
			return COFFER_ERR_NOMEM;
		}
	}
	free(tab);
	return COFFER_OK;
}

/* Entry points ------------------------------------------------------------ */

static int
parse_init(struct parse *ps, const struct leads_options *opt,
    struct leads_result *res, struct arena *a, struct coffer_errdetail *d)
{
	const struct kind_def *k = schema_kind("customer");
	int f;

	memset(ps, 0, sizeof(*ps));
	ps->arena = a;
	ps->res = res;
	ps->detail = d;
	ps->line = 1;
	ps->max_rows = LEADS_MAX_ROWS;
	if (opt != NULL && opt->max_rows > 0 && opt->max_rows < LEADS_MAX_ROWS)
		ps->max_rows = opt->max_rows;
	for (f = 0; f < LEADS_NFIELDS; f++) {
		if (k == NULL ||
		    (ps->fdefs[f] = schema_field(k, field_names[f])) == NULL)
			return COFFER_ERR_INTERNAL;
	}
	return COFFER_OK;
}

int
leads_parse(const unsigned char *buf, size_t len,
    const struct leads_options *opt, struct leads_result **out,
    struct coffer_errdetail *detail)
{
	struct leads_result *res = NULL;
	struct arena *a = NULL;
	struct parse *ps = NULL;
	struct decoded dec = { NULL, 0, NULL };
	int r;

	if (out == NULL || (buf == NULL && len > 0))
		return COFFER_ERR_INTERNAL;
	*out = NULL;
	if (len > LEADS_MAX_BYTES)
		return coffer_detail(detail, COFFER_ERR_TOO_BIG, "file",
		    "larger than %zu MiB", LEADS_MAX_BYTES >> 20);
	if ((res = calloc(1, sizeof(*res))) == NULL ||
	    (a = calloc(1, sizeof(*a))) == NULL ||
	    (ps = malloc(sizeof(*ps))) == NULL) {
		r = COFFER_ERR_NOMEM;
		goto out;
	}
	res->priv_ = a;
	a = NULL; /* transferred */
	if ((r = parse_init(ps, opt, res, res->priv_, detail)) != COFFER_OK ||
	    (r = decode(buf, len, opt != NULL ? opt->encoding : LEADS_ENC_AUTO,
	    res, &dec, detail)) != COFFER_OK ||
	    (r = run_csv(ps, dec.text, dec.len)) != COFFER_OK)
		goto out;
	if (!ps->have_header) {
		r = coffer_detail(detail, COFFER_ERR_INVALID, "file",
		    "the file is empty: no header row");
		goto out;
	}
	if ((r = dedup_file(res, res->priv_)) != COFFER_OK)
		goto out;
	*out = res;
	res = NULL; /* transferred */
out:
	free(dec.owned);
	free(ps);
	free(a);
	leads_free(res);
	return r;
}

void
leads_free(struct leads_result *r)
{
	if (r == NULL)
		return;
	if (r->priv_ != NULL) {
		arena_free(r->priv_);
		free(r->priv_);
	}
	free(r->rows);
	free(r);
}

size_t
leads_count(const struct leads_result *r, enum leads_status s)
{
	size_t i, n = 0;

	for (i = 0; r != NULL && i < r->nrows; i++)
		n += r->rows[i].status == s;
	return n;
}

/* Marking against the vault and the do-not-call list ---------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
set_check(const struct leads_phone_set *s)
{
	size_t i;

	if (s == NULL || (s->contains == NULL && s->sorted == NULL && s->n > 0))
		return COFFER_ERR_INTERNAL;
	for (i = 1; s->contains == NULL && i < s->n; i++) {
		if (strcmp(s->sorted[i - 1], s->sorted[i]) > 0)
			return COFFER_ERR_INVALID;
	}
	return COFFER_OK;
}

static int
set_has(const struct leads_phone_set *s, const char *phone, int *found)
{
	*found = 0;
	if (s->contains != NULL)
		return s->contains(s->ctx, phone, found);
	*found = s->n > 0 && bsearch(&phone, s->sorted, s->n,
	    sizeof(*s->sorted), cmp_str) != NULL;
	return COFFER_OK;
}

/* Rows in status from_a or from_b found in s move to status to. */
static int
mark(struct leads_result *r, const struct leads_phone_set *s,
    enum leads_status from_a, enum leads_status from_b,
    enum leads_status to, const char *why)
{
	struct leads_row *row;
	size_t i;
	int found, rc;

	if (r == NULL)
		return COFFER_ERR_INTERNAL;
	if ((rc = set_check(s)) != COFFER_OK)
		return rc;
	for (i = 0; i < r->nrows; i++) {
		row = &r->rows[i];
		if (row->status != from_a && row->status != from_b)
			continue;
		if ((rc = set_has(s, row->v[LEADS_F_PHONE], &found)) !=
		    COFFER_OK)
			return rc;
		if (found) {
			row->status = to;
			row->reason = why;
		}
	}
	return COFFER_OK;
}

int
leads_mark_vault(struct leads_result *r, const struct leads_phone_set *s)
{
	return mark(r, s, LEADS_OK, LEADS_EXCLUDED, LEADS_DUP_VAULT,
	    "phone already in the vault");
}

int
leads_mark_dnc(struct leads_result *r, const struct leads_phone_set *s)
{
	return mark(r, s, LEADS_OK, LEADS_OK, LEADS_EXCLUDED,
	    "on the do-not-call list");
}

/* Customer record ---------------------------------------------------------- */

int
leads_row_fields(const struct leads_row *row, const char *source_list,
    cbor_item_t **out)
{
	cbor_item_t *map = NULL;
	int f, r = COFFER_OK, excluded;

	if (out == NULL || row == NULL)
		return COFFER_ERR_INTERNAL;
	*out = NULL;
	if (row->status != LEADS_OK && row->status != LEADS_EXCLUDED)
		return COFFER_ERR_INVALID;
	excluded = row->status == LEADS_EXCLUDED;
	if ((map = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	for (f = 0; f < LEADS_NFIELDS && r == COFFER_OK; f++) {
		if (row->v[f] != NULL)
			r = msg_put_str(map, field_names[f], row->v[f]);
	}
	if (r == COFFER_OK && source_list != NULL && source_list[0] != '\0')
		r = msg_put_str(map, "source_list", source_list);
	if (r == COFFER_OK)
		r = msg_put_str(map, "stage", excluded ? "excluded" : "new");
	if (r == COFFER_OK && excluded)
		r = msg_put_bool(map, "do_not_call", 1);
	if (r == COFFER_OK && excluded && row->reason != NULL)
		r = msg_put_str(map, "exclude_reason", row->reason);
	if (r != COFFER_OK)
		goto out;
	*out = map;
	map = NULL; /* transferred */
out:
	if (map != NULL)
		cbor_decref(&map);
	return r;
}
