/*
 * cli.c - command-line words to typed CBOR values for the coffer client.
 * Everything here is pure parsing; it never talks to the daemon or prints.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coffer/cli.h"
#include "coffer/err.h"
#include "coffer/msg.h"

/* Longest value echoed back in an error message. */
#define ECHO_MAX 40

static int
fail(char *err, size_t errsz, const char *name, const char *value,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "name=value: reason" (value cut short so a long argument stays readable). */
static int
fail(char *err, size_t errsz, const char *name, const char *value,
    const char *fmt, ...)
{
	char reason[400];
	va_list ap;

	if (err == NULL || errsz == 0)
		return COFFER_ERR_USAGE;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (value != NULL)
		snprintf(err, errsz, "%s=%.*s%s: %s", name, ECHO_MAX, value,
		    strlen(value) > ECHO_MAX ? "..." : "", reason);
	else
		snprintf(err, errsz, "%s: %s", name, reason);
	return COFFER_ERR_USAGE;
}

int
cli_parse_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	if (s == NULL || *s == '\0')
		return COFFER_ERR_USAGE;
	for (p = s; *p != '\0'; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return COFFER_ERR_USAGE;
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return COFFER_ERR_USAGE;
		v = v * 10 + d;
	}
	*out = v;
	return COFFER_OK;
}

int
cli_parse_int(const char *s, int64_t *out)
{
	uint64_t mag;
	int neg = 0;

	if (s == NULL)
		return COFFER_ERR_USAGE;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (cli_parse_uint(s, &mag) != COFFER_OK)
		return COFFER_ERR_USAGE;
	if (neg) {
		if (mag > (uint64_t)INT64_MAX + 1)
			return COFFER_ERR_USAGE;
		*out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	} else {
		if (mag > (uint64_t)INT64_MAX)
			return COFFER_ERR_USAGE;
		*out = (int64_t)mag;
	}
	return COFFER_OK;
}

int
cli_parse_money(const char *s, int64_t *fen)
{
	const char *dot;
	char whole[24];
	uint64_t yuan, frac = 0;
	size_t wlen, flen;

	if (s == NULL)
		return COFFER_ERR_USAGE;
	dot = strchr(s, '.');
	wlen = dot != NULL ? (size_t)(dot - s) : strlen(s);
	if (wlen == 0 || wlen >= sizeof(whole))
		return COFFER_ERR_USAGE;
	memcpy(whole, s, wlen);
	whole[wlen] = '\0';
	if (cli_parse_uint(whole, &yuan) != COFFER_OK)
		return COFFER_ERR_USAGE;
	if (dot != NULL) {
		flen = strlen(dot + 1);
		if (flen == 0 || flen > 2 ||
		    cli_parse_uint(dot + 1, &frac) != COFFER_OK)
			return COFFER_ERR_USAGE;
		if (flen == 1)
			frac *= 10;
	}
	if (yuan > ((uint64_t)INT64_MAX - frac) / 100)
		return COFFER_ERR_USAGE;
	*fen = (int64_t)(yuan * 100 + frac);
	return COFFER_OK;
}

int
cli_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1", NULL };
	static const char *const no[] = { "false", "no", "off", "0", NULL };
	size_t i;

	if (s == NULL)
		return COFFER_ERR_USAGE;
	for (i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return COFFER_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return COFFER_OK;
		}
	}
	return COFFER_ERR_USAGE;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's method). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned
days_in_month(unsigned y, unsigned m)
{
	static const unsigned dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* Exactly n decimal digits at s, as a number; -1 if not. */
static long
digits(const char *s, size_t n)
{
	long v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD[(T| )HH:MM[:SS]][Z]" in UTC. */
static int
parse_datetime(const char *s, int64_t *out)
{
	long y, mo, d, h = 0, mi = 0, sec = 0;
	size_t len = strlen(s);

	if (len > 0 && (s[len - 1] == 'Z' || s[len - 1] == 'z'))
		len--;
	if (len != 10 && len != 16 && len != 19)
		return COFFER_ERR_USAGE;
	if (s[4] != '-' || s[7] != '-')
		return COFFER_ERR_USAGE;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > (long)days_in_month((unsigned)y, (unsigned)mo))
		return COFFER_ERR_USAGE;
	if (len > 10) {
		if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
		    s[13] != ':')
			return COFFER_ERR_USAGE;
		h = digits(s + 11, 2);
		mi = digits(s + 14, 2);
		if (len == 19) {
			if (s[16] != ':')
				return COFFER_ERR_USAGE;
			sec = digits(s + 17, 2);
		}
		if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
			return COFFER_ERR_USAGE;
	}
	*out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + sec;
	return COFFER_OK;
}

/* "+3d", "-2h": now plus or minus a count of s/m/h/d/w. */
static int
parse_relative(const char *s, int64_t now, int64_t *out)
{
	static const struct { char unit; int64_t secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 604800 }
	};
	char num[21];
	size_t len = strlen(s), i;
	uint64_t n;
	int64_t delta;

	if (len < 3 || len - 2 >= sizeof(num))
		return COFFER_ERR_USAGE;
	memcpy(num, s + 1, len - 2);
	num[len - 2] = '\0';
	if (cli_parse_uint(num, &n) != COFFER_OK)
		return COFFER_ERR_USAGE;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (units[i].unit != s[len - 1])
			continue;
		/* Ten thousand years is plenty and keeps the sum in range. */
		if (n > (uint64_t)(315576000000LL / units[i].secs))
			return COFFER_ERR_USAGE;
		delta = (int64_t)n * units[i].secs;
		*out = s[0] == '-' ? now - delta : now + delta;
		return *out < 0 ? COFFER_ERR_USAGE : COFFER_OK;
	}
	return COFFER_ERR_USAGE;
}

int
cli_parse_time(const char *s, int64_t now, int64_t *out)
{
	uint64_t u;

	if (s == NULL || *s == '\0')
		return COFFER_ERR_USAGE;
	if (strcmp(s, "now") == 0) {
		*out = now;
		return COFFER_OK;
	}
	if (s[0] == '+' || s[0] == '-')
		return parse_relative(s, now, out);
	if (strchr(s, '-') != NULL)
		return parse_datetime(s, out);
	if (cli_parse_uint(s, &u) != COFFER_OK || u > (uint64_t)INT64_MAX)
		return COFFER_ERR_USAGE;
	*out = (int64_t)u;
	return COFFER_OK;
}

int
cli_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		unsigned char c = s[i];

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1; cp = c & 0x1f; min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2; cp = c & 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; cp = c & 0x07; min = 0x10000;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

const char *
cli_type_name(enum field_type t)
{
	switch (t) {
	case FT_TEXT:  return "text";
	case FT_INT:   return "integer";
	case FT_MONEY: return "money (yuan, 2 decimals)";
	case FT_ENUM:  return "one of a list";
	case FT_PHONE: return "phone number";
	case FT_EMAIL: return "e-mail address";
	case FT_TIME:  return "time (UTC)";
	case FT_BOOL:  return "boolean";
	case FT_REF:   return "record id";
	}
	return "value";
}

static int
enum_value(const struct field_def *f, const char *text, cbor_item_t **out,
    char *err, size_t errsz)
{
	char list[128] = "";
	size_t i;

	for (i = 0; f->enum_values != NULL && f->enum_values[i] != NULL; i++) {
		if (strcmp(f->enum_values[i], text) == 0) {
			*out = msg_new_str(text);
			return *out != NULL ? COFFER_OK : COFFER_ERR_NOMEM;
		}
		if (i > 0)
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
		strncat(list, f->enum_values[i], sizeof(list) - strlen(list) - 1);
	}
	return fail(err, errsz, f->name, text, "must be one of: %s", list);
}

static int
text_value(const struct field_def *f, const char *text, cbor_item_t **out,
    char *err, size_t errsz)
{
	if (!cli_utf8_valid(text, strlen(text)))
		return fail(err, errsz, f->name, NULL, "not valid UTF-8");
	*out = msg_new_str(text);
	return *out != NULL ? COFFER_OK : COFFER_ERR_NOMEM;
}

int
cli_value(const struct field_def *f, const char *text, int64_t now,
    cbor_item_t **out, char *err, size_t errsz)
{
	int64_t v;
	int b;

	*out = NULL;
	switch (f->type) {
	case FT_TEXT:
	case FT_PHONE:
	case FT_EMAIL:
		return text_value(f, text, out, err, errsz);
	case FT_ENUM:
		return enum_value(f, text, out, err, errsz);
	case FT_INT:
		if (cli_parse_int(text, &v) != COFFER_OK)
			return fail(err, errsz, f->name, text, "not an integer");
		break;
	case FT_REF:
		if (cli_parse_int(text, &v) != COFFER_OK || v <= 0)
			return fail(err, errsz, f->name, text,
			    "not a record id (a positive integer)");
		break;
	case FT_MONEY:
		if (cli_parse_money(text, &v) != COFFER_OK)
			return fail(err, errsz, f->name, text,
			    "not an amount in yuan (like 1234 or 1234.50, "
			    "at most 2 decimals)");
		break;
	case FT_TIME:
		if (cli_parse_time(text, now, &v) != COFFER_OK)
			return fail(err, errsz, f->name, text,
			    "not a time (Unix seconds, YYYY-MM-DD, "
			    "YYYY-MM-DDTHH:MM[:SS] UTC, now, +3d, -2h)");
		break;
	case FT_BOOL:
		if (cli_parse_bool(text, &b) != COFFER_OK)
			return fail(err, errsz, f->name, text,
			    "not a boolean (true/false, yes/no, 1/0)");
		*out = msg_new_bool(b);
		return *out != NULL ? COFFER_OK : COFFER_ERR_NOMEM;
	default:
		return fail(err, errsz, f->name, NULL, "unsupported field type");
	}
	*out = msg_new_int(v);
	return *out != NULL ? COFFER_OK : COFFER_ERR_NOMEM;
}

/* Names of the fields a mode accepts, for "unknown field" messages. */
static void
field_list(const struct kind_def *k, enum cli_mode mode, char *buf,
    size_t bufsz)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < k->nfields; i++) {
		unsigned fl = k->fields[i].flags;

		if ((fl & FF_SERVER) != 0 ||
		    (mode == CLI_UPDATE && (fl & FF_IMMUTABLE) != 0) ||
		    (mode == CLI_FILTER && (fl & FF_FILTER) == 0))
			continue;
		if (buf[0] != '\0')
			strncat(buf, ", ", bufsz - strlen(buf) - 1);
		strncat(buf, k->fields[i].name, bufsz - strlen(buf) - 1);
	}
}

/* Is this field allowed in this mode?  Explains why not in err. */
static int
field_allowed(const struct kind_def *k, const struct field_def *f,
    enum cli_mode mode, char *err, size_t errsz)
{
	char list[320];

	if (mode == CLI_FILTER && (f->flags & FF_FILTER) == 0) {
		field_list(k, mode, list, sizeof(list));
		return fail(err, errsz, f->name, NULL,
		    "cannot be used as a filter for %s (filters: %s)", k->plural,
		    list[0] != '\0' ? list : "none");
	}
	if (mode != CLI_FILTER && (f->flags & FF_SERVER) != 0)
		return fail(err, errsz, f->name, NULL,
		    "is set by the daemon and cannot be given");
	if (mode == CLI_UPDATE && (f->flags & FF_IMMUTABLE) != 0)
		return fail(err, errsz, f->name, NULL,
		    "cannot be changed after the record is created");
	return COFFER_OK;
}

/* One "FIELD=VALUE" word into the map. */
static int
add_word(const struct kind_def *k, cbor_item_t *map, const char *word,
    enum cli_mode mode, int64_t now, char *err, size_t errsz)
{
	char name[64], list[320];
	const char *eq = strchr(word, '=');
	const struct field_def *f;
	cbor_item_t *v = NULL;
	size_t nlen;
	int rc;

	if (eq == NULL || eq == word)
		return fail(err, errsz, word, NULL, "expected FIELD=VALUE");
	nlen = (size_t)(eq - word);
	if (nlen >= sizeof(name))
		return fail(err, errsz, "field", NULL, "name too long");
	memcpy(name, word, nlen);
	name[nlen] = '\0';
	if ((f = schema_field(k, name)) == NULL) {
		field_list(k, mode, list, sizeof(list));
		return fail(err, errsz, name, NULL, "no such field in %s "
		    "(fields: %s; see 'coffer fields %s')", k->name, list,
		    k->name);
	}
	if ((rc = field_allowed(k, f, mode, err, errsz)) != COFFER_OK)
		return rc;
	if (msg_get(map, f->name) != NULL)
		return fail(err, errsz, f->name, NULL, "given more than once");
	if ((rc = cli_value(f, eq + 1, now, &v, err, errsz)) != COFFER_OK)
		return rc;
	return msg_put(map, f->name, v);
}

static int
check_required(const struct kind_def *k, const cbor_item_t *map, char *err,
    size_t errsz)
{
	size_t i;

	for (i = 0; i < k->nfields; i++) {
		const struct field_def *f = &k->fields[i];

		if ((f->flags & FF_REQUIRED) != 0 &&
		    (f->flags & FF_SERVER) == 0 && msg_get(map, f->name) == NULL)
			return fail(err, errsz, f->name, NULL,
			    "required to create a %s (give %s=VALUE)", k->name,
			    f->name);
	}
	return COFFER_OK;
}

int
cli_fields(const struct kind_def *k, char *const *words, size_t n,
    enum cli_mode mode, int64_t now, cbor_item_t **out, char *err,
    size_t errsz)
{
	cbor_item_t *map = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	if ((map = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		rc = add_word(k, map, words[i], mode, now, err, errsz);
		if (rc != COFFER_OK)
			goto out;
	}
	if (mode == CLI_CREATE &&
	    (rc = check_required(k, map, err, errsz)) != COFFER_OK)
		goto out;
	if (mode == CLI_UPDATE && n == 0) {
		rc = fail(err, errsz, k->name, NULL,
		    "nothing to update (give FIELD=VALUE)");
		goto out;
	}
	*out = map;
	map = NULL; /* transferred */
	rc = COFFER_OK;
out:
	if (map != NULL)
		cbor_decref(&map);
	return rc;
}
