/*
 * output.c - display width, sanitizing, value formatting and aligned tables
 * for the coffer client's human-readable output.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "coffer/err.h"
#include "coffer/json.h"
#include "coffer/output.h"
#include "coffer/utf8.h"

struct range {
	uint32_t lo, hi;
};

/* Zero-width: combining marks, zero-width spaces/joiners, variation selectors. */
static const struct range zero_width[] = {
	{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd },
	{ 0x0610, 0x061a }, { 0x064b, 0x065f }, { 0x200b, 0x200f },
	{ 0x20d0, 0x20ff }, { 0x302a, 0x302d }, { 0x3099, 0x309a },
	{ 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f }, { 0xfeff, 0xfeff },
	{ 0xe0100, 0xe01ef },
};

/* East Asian Wide and Fullwidth blocks (Unicode EastAsianWidth W/F). */
static const struct range wide[] = {
	{ 0x1100, 0x115f }, { 0x231a, 0x231b }, { 0x2329, 0x232a },
	{ 0x2e80, 0x303e }, { 0x3041, 0x33ff }, { 0x3400, 0x4dbf },
	{ 0x4e00, 0x9fff }, { 0xa000, 0xa4cf }, { 0xa960, 0xa97f },
	{ 0xac00, 0xd7a3 }, { 0xf900, 0xfaff }, { 0xfe10, 0xfe19 },
	{ 0xfe30, 0xfe6f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 },
	{ 0x16fe0, 0x18cff }, { 0x1b000, 0x1b2ff }, { 0x1f300, 0x1f64f },
	{ 0x1f900, 0x1f9ff }, { 0x20000, 0x2fffd }, { 0x30000, 0x3fffd },
};

static int
in_ranges(uint32_t cp, const struct range *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return 1;
	return 0;
}

int
out_cp_width(uint32_t cp)
{
	if (in_ranges(cp, zero_width, sizeof(zero_width) / sizeof(zero_width[0])))
		return 0;
	if (in_ranges(cp, wide, sizeof(wide) / sizeof(wide[0])))
		return 2;
	return 1;
}

/* One character of the NUL-terminated s (the NUL ends any sequence). */
static size_t
utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t len = 0;

	while (len < 4 && s[len] != '\0')
		len++;
	return utf8_decode(s, len, cp);
}

size_t
out_width(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t w = 0, n;
	uint32_t cp;

	while (*s != '\0') {
		if ((n = utf8_next(s, &cp)) == 0) {
			w++;
			s++;
			continue;
		}
		w += (size_t)out_cp_width(cp);
		s += n;
	}
	return w;
}

/* Characters that must not reach a terminal as they are. */
static int
unsafe_cp(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0x061c || cp == 0x200e || cp == 0x200f;
}

int
out_sanitize(const char *str, size_t max_cols, char *buf, size_t bufsz)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t used = 0, cols = 0, n, w;
	uint32_t cp;

	if (bufsz == 0)
		return COFFER_OK;
	/* Leave room for "..." both in bytes and in columns. */
	while (*s != '\0') {
		const unsigned char *src = s;

		n = utf8_next(s, &cp);
		if (n == 0 || unsafe_cp(cp)) {
			src = (const unsigned char *)"?";
			s += n == 0 ? 1 : n;
			n = 1;
			w = 1;
		} else {
			s += n;
			w = (size_t)out_cp_width(cp);
		}
		if ((max_cols > 0 && cols + w > max_cols) ||
		    used + n + 1 > bufsz) {
			/* Cut: back off until "..." fits in both limits. */
			while (used > 0 && ((max_cols > 0 && cols + 3 > max_cols) ||
			    used + 4 > bufsz)) {
				size_t back = 1;
				uint32_t c2;

				while (back < used &&
				    ((unsigned char)buf[used - back] & 0xc0) == 0x80)
					back++;
				if (utf8_next((const unsigned char *)buf + used - back,
				    &c2) == back)
					cols -= (size_t)out_cp_width(c2);
				else
					cols--;
				used -= back;
				buf[used] = '\0';
			}
			if (used + 4 <= bufsz) {
				memcpy(buf + used, "...", 3);
				used += 3;
			}
			break;
		}
		memcpy(buf + used, src, n);
		used += n;
		cols += w;
	}
	buf[used] = '\0';
	return COFFER_OK;
}

void
out_money(int64_t fen, char *buf, size_t bufsz)
{
	uint64_t mag = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;

	snprintf(buf, bufsz, "%s%llu.%02u", fen < 0 ? "-" : "",
	    (unsigned long long)(mag / 100), (unsigned)(mag % 100));
}

void
out_time(int64_t t, char *buf, size_t bufsz)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, bufsz, "%lld", (long long)t);
}

/* Arrays and maps inside a human cell: compact JSON. */
static int
value_json(const cbor_item_t *v, char *buf, size_t bufsz)
{
	char *mem = NULL;
	size_t memlen = 0;
	FILE *f;
	int rc;

	if ((f = open_memstream(&mem, &memlen)) == NULL)
		return COFFER_ERR_NOMEM;
	rc = json_write(f, v);
	if (fclose(f) != 0 && rc == COFFER_OK)
		rc = COFFER_ERR_NOMEM;
	if (rc == COFFER_OK)
		out_sanitize(mem, 0, buf, bufsz);
	free(mem);
	return rc;
}

static int
value_bytes(const cbor_item_t *v, char *buf, size_t bufsz)
{
	size_t len = cbor_bytestring_length(v);
	size_t need = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_ORIGINAL);

	if (!cbor_bytestring_is_definite(v))
		return COFFER_ERR_INVALID;
	if (need > bufsz) {
		snprintf(buf, bufsz, "(%zu bytes)", len);
		return COFFER_OK;
	}
	sodium_bin2base64(buf, bufsz, cbor_bytestring_handle(v), len,
	    sodium_base64_VARIANT_ORIGINAL);
	return COFFER_OK;
}

/* Text item (definite, as cborcheck guarantees) into a sanitized cell. */
static int
value_text(const cbor_item_t *v, char *buf, size_t bufsz)
{
	size_t len = cbor_string_length(v);
	char *tmp;

	if (!cbor_string_is_definite(v))
		return COFFER_ERR_INVALID;
	if ((tmp = malloc(len + 1)) == NULL)
		return COFFER_ERR_NOMEM;
	memcpy(tmp, cbor_string_handle(v), len);
	tmp[len] = '\0';
	/* An embedded NUL shortens the text; it would be '?' anyway. */
	out_sanitize(tmp, 0, buf, bufsz);
	free(tmp);
	return COFFER_OK;
}

static int
value_int(const struct field_def *f, const char *key, const cbor_item_t *v,
    char *buf, size_t bufsz)
{
	uint64_t u = cbor_get_int(v);
	int64_t i;
	int is_time = 0, is_money = 0;

	if (cbor_isa_negint(v)) {
		if (u > (uint64_t)INT64_MAX) {
			snprintf(buf, bufsz, "-%llu", (unsigned long long)u + 1);
			return COFFER_OK;
		}
		i = -1 - (int64_t)u;
	} else if (u > (uint64_t)INT64_MAX) {
		snprintf(buf, bufsz, "%llu", (unsigned long long)u);
		return COFFER_OK;
	} else {
		i = (int64_t)u;
	}
	if (f != NULL) {
		is_time = f->type == FT_TIME;
		is_money = f->type == FT_MONEY;
	} else if (key != NULL) {
		is_time = strcmp(key, "created") == 0 ||
		    strcmp(key, "updated") == 0;
	}
	if (is_time)
		out_time(i, buf, bufsz);
	else if (is_money)
		out_money(i, buf, bufsz);
	else
		snprintf(buf, bufsz, "%lld", (long long)i);
	return COFFER_OK;
}

int
out_value(const struct field_def *f, const char *key, const cbor_item_t *v,
    char *buf, size_t bufsz)
{
	if (bufsz == 0)
		return COFFER_ERR_INTERNAL;
	buf[0] = '\0';
	switch (cbor_typeof(v)) {
	case CBOR_TYPE_UINT:
	case CBOR_TYPE_NEGINT:
		return value_int(f, key, v, buf, bufsz);
	case CBOR_TYPE_STRING:
		return value_text(v, buf, bufsz);
	case CBOR_TYPE_BYTESTRING:
		return value_bytes(v, buf, bufsz);
	case CBOR_TYPE_ARRAY:
	case CBOR_TYPE_MAP:
		return value_json(v, buf, bufsz);
	case CBOR_TYPE_FLOAT_CTRL:
		if (cbor_is_bool(v))
			snprintf(buf, bufsz, "%s",
			    cbor_get_bool(v) ? "true" : "false");
		else if (cbor_is_null(v))
			snprintf(buf, bufsz, "-");
		else
			snprintf(buf, bufsz, "?");
		return COFFER_OK;
	default:
		snprintf(buf, bufsz, "?");
		return COFFER_OK;
	}
}

struct out_table {
	size_t ncols, nrows, cap;
	char **cells;        /* (nrows + 1) * ncols, row 0 is the header */
	size_t *widths;
};

struct out_table *
out_table_new(size_t ncols, const char *const *headers)
{
	struct out_table *t = NULL;

	if (ncols == 0 || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ncols = ncols;
	if ((t->widths = calloc(ncols, sizeof(*t->widths))) == NULL) {
		free(t);
		return NULL;
	}
	/* The header is stored as row -1, i.e. cells[0..ncols). */
	if (out_table_add(t, headers) != COFFER_OK) {
		out_table_free(t);
		return NULL;
	}
	t->nrows = 0;
	return t;
}

static int
table_grow(struct out_table *t)
{
	size_t rows = t->nrows + 1, newcap;
	char **n;

	if (rows + 1 <= t->cap)
		return COFFER_OK;
	newcap = t->cap == 0 ? 16 : t->cap * 2;
	if (newcap > SIZE_MAX / sizeof(char *) / t->ncols)
		return COFFER_ERR_NOMEM;
	if ((n = realloc(t->cells, newcap * t->ncols * sizeof(char *))) == NULL)
		return COFFER_ERR_NOMEM;
	t->cells = n;
	t->cap = newcap;
	return COFFER_OK;
}

int
out_table_add(struct out_table *t, const char *const *cells)
{
	char buf[OUT_LAST_MAX_COLS * 4 + 8];
	size_t i, base, w;
	int header = t->cells == NULL;

	if (table_grow(t) != COFFER_OK)
		return COFFER_ERR_NOMEM;
	base = (header ? 0 : t->nrows + 1) * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		/* The last column pads nothing, so it need not be cut. */
		out_sanitize(cells[i] != NULL ? cells[i] : "",
		    i + 1 < t->ncols ? OUT_CELL_MAX_COLS : OUT_LAST_MAX_COLS,
		    buf, sizeof(buf));
		if ((t->cells[base + i] = strdup(buf)) == NULL) {
			/* Leave no dangling pointer for out_table_free. */
			while (i-- > 0) {
				free(t->cells[base + i]);
				t->cells[base + i] = NULL;
			}
			if (header) {
				free(t->cells);
				t->cells = NULL;
			}
			return COFFER_ERR_NOMEM;
		}
		if ((w = out_width(buf)) > t->widths[i])
			t->widths[i] = w;
	}
	if (!header)
		t->nrows++;
	return COFFER_OK;
}

size_t
out_table_rows(const struct out_table *t)
{
	return t->nrows;
}

static int
print_row(const struct out_table *t, FILE *f, size_t row)
{
	size_t i, pad, last = t->ncols - 1;
	char *const *cells = t->cells + row * t->ncols;

	/* Trailing empty cells would only produce trailing blanks. */
	while (last > 0 && cells[last][0] == '\0')
		last--;
	for (i = 0; i <= last; i++) {
		if (fputs(cells[i], f) == EOF)
			return COFFER_ERR_IO;
		if (i == last)
			break;
		pad = t->widths[i] - out_width(cells[i]) + 2;
		while (pad-- > 0)
			if (fputc(' ', f) == EOF)
				return COFFER_ERR_IO;
	}
	return fputc('\n', f) == EOF ? COFFER_ERR_IO : COFFER_OK;
}

int
out_table_print(const struct out_table *t, FILE *f, int header)
{
	size_t r;
	int rc;

	for (r = header ? 0 : 1; r <= t->nrows; r++)
		if ((rc = print_row(t, f, r)) != COFFER_OK)
			return rc;
	return COFFER_OK;
}

void
out_table_free(struct out_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->cells != NULL)
		for (i = 0; i < (t->nrows + 1) * t->ncols; i++)
			free(t->cells[i]);
	free(t->cells);
	free(t->widths);
	free(t);
}
