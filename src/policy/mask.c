/*
 * mask.c - masking formats for fields shown only partly: phones, e-mail
 * addresses, names (UTF-8 aware) and money amounts as ranges.  Anything
 * that does not look as expected masks to "***", never to the value.
 */
#include <stdio.h>
#include <string.h>

#include "coffer/err.h"
#include "coffer/mask.h"

#define STARS "***"

static const char *const format_names[MASK_FORMAT_COUNT_] = {
	[MASK_TEXT] = "text", [MASK_PHONE] = "phone", [MASK_EMAIL] = "email",
	[MASK_NAME] = "name", [MASK_AMOUNT] = "amount",
};

const char *
mask_format_name(enum mask_format f)
{
	if ((unsigned)f < MASK_FORMAT_COUNT_)
		return format_names[f];
	return "unknown";
}

int
mask_format_parse(const char *s, enum mask_format *out)
{
	unsigned i;

	for (i = 0; s != NULL && i < MASK_FORMAT_COUNT_; i++) {
		if (strcmp(s, format_names[i]) == 0) {
			*out = (enum mask_format)i;
			return COFFER_OK;
		}
	}
	return COFFER_ERR_INVALID;
}

/* A small bounded string builder: overflow is remembered, not written. */
struct sbuf {
	char *p;
	size_t size, len;
	int overflow;
};

static void
sb_init(struct sbuf *b, char *out, size_t outsz)
{
	b->p = out;
	b->size = outsz;
	b->len = 0;
	b->overflow = (outsz == 0);
	if (outsz > 0)
		out[0] = '\0';
}

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->overflow || n >= b->size - b->len) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static int
sb_done(struct sbuf *b)
{
	if (!b->overflow)
		return COFFER_OK;
	if (b->size > 0)
		b->p[0] = '\0';
	return COFFER_ERR_TOO_BIG;
}

int
mask_text(char *out, size_t outsz)
{
	struct sbuf b;

	sb_init(&b, out, outsz);
	sb_str(&b, STARS);
	return sb_done(&b);
}

static int
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

/*
 * Length of the ITU-T E.164 country code at the start of d (digits after
 * '+').  One-digit codes are 1 (NANP) and 7; the two-digit ones are listed;
 * every other code has three digits.
 */
static size_t
country_code_len(const char *d, size_t n)
{
	static const char two[] = "20 27 30 31 32 33 34 36 39 40 41 43 44 45 "
	    "46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 "
	    "84 86 90 91 92 93 94 95 98 ";
	size_t i;

	if (n >= 1 && (d[0] == '1' || d[0] == '7'))
		return 1;
	if (n < 2)
		return 0;
	for (i = 0; i + 2 < sizeof(two); i += 3)
		if (two[i] == d[0] && two[i + 1] == d[1])
			return 2;
	return n >= 3 ? 3 : 0;
}

/* +CC then "****" then the last 4 digits when at least 7 remain. */
static void
phone_e164(struct sbuf *b, const char *in, size_t len)
{
	size_t cc = country_code_len(in + 1, len - 1);
	size_t nat = len - 1 - cc;

	if (cc == 0 || nat < 4) {
		sb_str(b, STARS);
		return;
	}
	sb_add(b, in, 1 + cc);
	sb_str(b, "****");
	if (nat >= 7)
		sb_add(b, in + len - 4, 4);
}

/* "0AA-NNNNNNN": a 3-4 digit area code from 0, a 7-8 digit number. */
static int
is_landline(const char *in, size_t len, const char *dash)
{
	size_t area, local;

	if (dash == NULL || in[0] != '0')
		return 0;
	area = (size_t)(dash - in);
	local = len - area - 1;
	return area >= 3 && area <= 4 && local >= 7 && local <= 8 &&
	    all_digits(in, area) && all_digits(dash + 1, local);
}

int
mask_phone(const char *in, size_t len, char *out, size_t outsz)
{
	const char *dash = NULL;
	struct sbuf b;

	sb_init(&b, out, outsz);
	if (in != NULL && len <= 32)
		dash = memchr(in, '-', len);
	if (in == NULL || len > 32) {
		sb_str(&b, STARS);
	} else if (len == 11 && in[0] == '1' && all_digits(in, len)) {
		sb_add(&b, in, 3);          /* mainland mobile */
		sb_str(&b, "****");
		sb_add(&b, in + 7, 4);
	} else if (is_landline(in, len, dash)) {
		sb_add(&b, in, (size_t)(dash - in) + 1); /* landline 010- */
		sb_str(&b, "****");
		sb_add(&b, in + len - 4, 4);
	} else if (len >= 6 && in[0] == '+' && all_digits(in + 1, len - 1)) {
		phone_e164(&b, in, len);
	} else {
		sb_str(&b, STARS);
	}
	return sb_done(&b);
}

/*
 * Length of the UTF-8 sequence at s (at most n bytes), or 0 if it is not
 * a valid, shortest-form encoding of a scalar value.
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t need, i;
	unsigned long cp;

	if (n == 0 || s[0] == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

/* Number of code points in s, or 0 if it is not valid UTF-8 (or empty). */
static size_t
utf8_count(const char *s, size_t n)
{
	size_t i = 0, count = 0, l;

	while (i < n) {
		l = utf8_len((const unsigned char *)s + i, n - i);
		if (l == 0)
			return 0;
		i += l;
		count++;
	}
	return count;
}

int
mask_email(const char *in, size_t len, char *out, size_t outsz)
{
	const char *at = NULL;
	size_t i, first;
	struct sbuf b;

	sb_init(&b, out, outsz);
	if (in != NULL && len <= MASK_IN_MAX && utf8_count(in, len) > 0)
		for (i = 0; i < len; i++)
			if (in[i] == '@')
				at = in + i;
	first = at != NULL ? utf8_len((const unsigned char *)in,
	    (size_t)(at - in)) : 0;
	/* The domain is kept: it says which provider, not who. */
	if (at == NULL || first == 0 || at + 1 == in + len ||
	    len - (size_t)(at - in) > 255) {
		sb_str(&b, STARS);
	} else {
		sb_add(&b, in, first);
		sb_str(&b, STARS);
		sb_add(&b, at, len - (size_t)(at - in));
	}
	return sb_done(&b);
}

/*
 * Chinese names: 2-3 characters keep the surname character (张*, 张**),
 * 4 or more keep two (compound surnames: 欧阳**).  A name that starts with
 * an ASCII character is Latin: first letter + "***", whatever its length.
 */
int
mask_name(const char *in, size_t len, char *out, size_t outsz)
{
	size_t n = 0, keep, i, off = 0;
	struct sbuf b;

	sb_init(&b, out, outsz);
	if (in != NULL && len <= MASK_IN_MAX)
		n = utf8_count(in, len);
	if (n == 0 || (unsigned char)in[0] <= ' ') {
		sb_str(&b, STARS);
	} else if ((unsigned char)in[0] < 0x80) {
		sb_add(&b, in, 1);
		sb_str(&b, STARS);
	} else if (n == 1) {
		sb_str(&b, "*");
	} else {
		keep = n >= 4 ? 2 : 1;
		for (i = 0; i < keep; i++)
			off += utf8_len((const unsigned char *)in + off,
			    len - off);
		sb_add(&b, in, off);
		/* At most 4 stars: the exact length of a long name is not
		 * the reader's business either. */
		for (i = keep; i < n && i < keep + 4; i++)
			sb_str(&b, "*");
	}
	return sb_done(&b);
}

int
mask_string(enum mask_format f, const char *in, size_t len, char *out,
    size_t outsz)
{
	switch (f) {
	case MASK_PHONE:
		return mask_phone(in, len, out, outsz);
	case MASK_EMAIL:
		return mask_email(in, len, out, outsz);
	case MASK_NAME:
		return mask_name(in, len, out, outsz);
	default:
		return mask_text(out, outsz);
	}
}

/* 1234567 -> "1,234,567". */
static void
put_grouped(struct sbuf *b, long long v)
{
	char digits[24];
	int n, i;

	n = snprintf(digits, sizeof(digits), "%lld", v);
	for (i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			sb_str(b, ",");
		sb_add(b, digits + i, 1);
	}
}

/* Bucket bounds in yuan; the last bucket is open ("10,000,000+"). */
static const long long amount_bounds[] = { 0, 1000, 5000, 10000, 50000,
	100000, 500000, 1000000, 5000000, 10000000 };
#define NBOUNDS (sizeof(amount_bounds) / sizeof(amount_bounds[0]))

int
mask_amount(int64_t fen, char *out, size_t outsz)
{
	long long yuan;
	size_t i;
	struct sbuf b;

	sb_init(&b, out, outsz);
	if (fen < 0) {
		sb_str(&b, STARS);
		return sb_done(&b);
	}
	yuan = (long long)(fen / 100);
	for (i = 1; i < NBOUNDS && yuan >= amount_bounds[i]; i++)
		;
	put_grouped(&b, amount_bounds[i - 1]);
	if (i < NBOUNDS) {
		sb_str(&b, "-");
		put_grouped(&b, amount_bounds[i]);
	} else {
		sb_str(&b, "+");
	}
	return sb_done(&b);
}
