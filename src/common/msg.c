/*
 * msg.c - CBOR messages on top of libcbor: guarded decoding (cborcheck
 * first), our own deterministic serializer (libcbor's writer keeps the
 * widths items were built with and the order keys were added in), builders
 * and typed getters.  docs/protocol.md, "CBOR rules".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/cborcheck.h"
#include "coffer/err.h"
#include "coffer/msg.h"

/* Items we build ourselves can nest deeper than the wire allows, not more. */
#define MSG_ENCODE_DEPTH 64

static const struct cborcheck_limits msg_encode_limits = {
	.max_depth = MSG_ENCODE_DEPTH,
	.max_items = SIZE_MAX,
	.max_string = SIZE_MAX,
};

/* ---- decoding ---------------------------------------------------------- */

int
msg_decode(const unsigned char *buf, size_t len, cbor_item_t **out)
{
	struct cbor_load_result res;
	cbor_item_t *item = NULL;
	int r;

	*out = NULL;
	r = cborcheck_validate(buf, len, &cborcheck_wire_limits, NULL);
	if (r != COFFER_OK)
		return r;
	item = cbor_load(buf, len, &res);
	if (item == NULL) {
		return res.error.code == CBOR_ERR_MEMERROR ?
		    COFFER_ERR_NOMEM : COFFER_ERR_PROTO;
	}
	if (res.error.code != CBOR_ERR_NONE || res.read != len) {
		cbor_decref(&item);
		return COFFER_ERR_PROTO;
	}
	*out = item;
	return COFFER_OK;
}

/* ---- deterministic serializer ------------------------------------------ */

struct obuf {
	unsigned char *p;
	size_t len;
	size_t cap;
};

static int
obuf_put(struct obuf *b, const void *src, size_t n)
{
	unsigned char *np;
	size_t ncap;

	if (n == 0)
		return COFFER_OK;
	if (n > SIZE_MAX - b->len)
		return COFFER_ERR_TOO_BIG;
	if (b->len + n > b->cap) {
		/* a record's answer fits the first buffer: one allocation */
		ncap = b->cap ? b->cap : 1024;
		while (ncap < b->len + n) {
			if (ncap > SIZE_MAX / 2)
				return COFFER_ERR_TOO_BIG;
			ncap *= 2;
		}
		if ((np = realloc(b->p, ncap)) == NULL)
			return COFFER_ERR_NOMEM;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
	return COFFER_OK;
}

/* The head of a data item with its argument in the shortest form. */
static int
enc_head(struct obuf *b, unsigned major, uint64_t arg)
{
	unsigned char h[9];
	size_t n, i;

	if (arg < 24) {
		h[0] = (unsigned char)((major << 5) | arg);
		return obuf_put(b, h, 1);
	}
	if (arg <= 0xff)
		n = 1;
	else if (arg <= 0xffff)
		n = 2;
	else if (arg <= 0xffffffffu)
		n = 4;
	else
		n = 8;
	h[0] = (unsigned char)((major << 5) | (n == 1 ? 24 : n == 2 ? 25 :
	    n == 4 ? 26 : 27));
	for (i = 0; i < n; i++)
		h[1 + i] = (unsigned char)(arg >> (8 * (n - 1 - i)));
	return obuf_put(b, h, n + 1);
}

static int enc_item(struct obuf *b, const cbor_item_t *it, size_t depth);

/* Bytes of a definite string chunk (byte or text). */
static void
str_span(const cbor_item_t *it, int bytes, const unsigned char **p,
    size_t *n)
{
	*p = bytes ? cbor_bytestring_handle(it) : cbor_string_handle(it);
	*n = bytes ? cbor_bytestring_length(it) : cbor_string_length(it);
}

/* Byte and text strings; an indefinite one is emitted as one definite. */
static int
enc_string(struct obuf *b, const cbor_item_t *it, unsigned major)
{
	int bytes = major == CBOR_TYPE_BYTESTRING;
	cbor_item_t **chunks = NULL;
	const unsigned char *p = NULL;
	size_t i, n, nchunks, total = 0;
	int r;

	if (bytes ? cbor_bytestring_is_definite(it) :
	    cbor_string_is_definite(it)) {
		str_span(it, bytes, &p, &n);
		if ((r = enc_head(b, major, n)) != COFFER_OK)
			return r;
		return obuf_put(b, p, n);
	}
	chunks = bytes ? cbor_bytestring_chunks_handle(it) :
	    cbor_string_chunks_handle(it);
	nchunks = bytes ? cbor_bytestring_chunk_count(it) :
	    cbor_string_chunk_count(it);
	for (i = 0; i < nchunks; i++) {
		str_span(chunks[i], bytes, &p, &n);
		total += n;
	}
	if ((r = enc_head(b, major, total)) != COFFER_OK)
		return r;
	for (i = 0; i < nchunks && r == COFFER_OK; i++) {
		str_span(chunks[i], bytes, &p, &n);
		r = obuf_put(b, p, n);
	}
	return r;
}

static int
enc_array(struct obuf *b, const cbor_item_t *it, size_t depth)
{
	cbor_item_t **v = cbor_array_handle(it);
	size_t i, n = cbor_array_size(it);
	int r;

	if ((r = enc_head(b, CBOR_TYPE_ARRAY, n)) != COFFER_OK)
		return r;
	for (i = 0; i < n && r == COFFER_OK; i++)
		r = enc_item(b, v[i], depth + 1);
	return r;
}

/*
 * A map's entries are encoded one after another into the output, then put
 * in key order: a span per entry (offsets into the output) is sorted, and
 * only if the order changed are the bytes rearranged, through one scratch
 * copy.  A buffer per entry, as before, made two allocations per key of
 * every answer (docs/performance.md §6).
 */
struct enc_span {
	size_t off;       /* where the entry starts in the output */
	size_t klen;      /* bytes of it that are the key */
	size_t len;       /* key and value */
};

#define ENC_SPANS_ON_STACK 32

static int
enc_span_cmp(const void *a, const void *b, void *base)
{
	const struct enc_span *x = a, *y = b;
	const unsigned char *p = base;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(p + x->off, p + y->off, n);

	if (c != 0)
		return c;
	return (x->klen > y->klen) - (x->klen < y->klen);
}

/* Rewrite the n entries from start on in the sorted order of sp. */
static int
enc_map_reorder(struct obuf *b, size_t start, const struct enc_span *sp,
    size_t n)
{
	size_t i, at = start, total = b->len - start;
	unsigned char small[2048], *copy = small;

	for (i = 0; i < n && sp[i].off == at; i++)
		at += sp[i].len;
	if (i == n)
		return COFFER_OK;	/* already in order */
	if (total > sizeof(small) && (copy = malloc(total)) == NULL)
		return COFFER_ERR_NOMEM;
	memcpy(copy, b->p + start, total);
	for (i = 0, at = start; i < n; i++) {
		memcpy(b->p + at, copy + (sp[i].off - start), sp[i].len);
		at += sp[i].len;
	}
	if (copy != small)
		free(copy);
	return COFFER_OK;
}

static int
enc_map(struct obuf *b, const cbor_item_t *it, size_t depth)
{
	struct enc_span stack[ENC_SPANS_ON_STACK], *sp = stack;
	struct cbor_pair *kv = cbor_map_handle(it);
	size_t i, start, n = cbor_map_size(it);
	int r;

	if ((r = enc_head(b, CBOR_TYPE_MAP, n)) != COFFER_OK || n == 0)
		return r;
	if (n > ENC_SPANS_ON_STACK && (sp = calloc(n, sizeof(*sp))) == NULL)
		return COFFER_ERR_NOMEM;
	start = b->len;
	for (i = 0; i < n && r == COFFER_OK; i++) {
		sp[i].off = b->len;
		r = enc_item(b, kv[i].key, depth + 1);
		sp[i].klen = b->len - sp[i].off;
		if (r == COFFER_OK)
			r = enc_item(b, kv[i].value, depth + 1);
		sp[i].len = b->len - sp[i].off;
	}
	if (r != COFFER_OK)
		goto out;
	if (n > 1)
		qsort_r(sp, n, sizeof(*sp), enc_span_cmp, b->p);
	for (i = 1; i < n; i++)
		if (enc_span_cmp(&sp[i - 1], &sp[i], b->p) == 0) {
			r = COFFER_ERR_INVALID;	/* duplicate key */
			goto out;
		}
	r = enc_map_reorder(b, start, sp, n);
out:
	if (sp != stack)
		free(sp);
	return r;
}

/* false, true and null; floats and other simple values are not ours. */
static int
enc_simple(struct obuf *b, const cbor_item_t *it)
{
	unsigned char c;

	if (!cbor_float_ctrl_is_ctrl(it))
		return COFFER_ERR_INVALID;
	c = cbor_ctrl_value(it);
	if (c != CBOR_CTRL_FALSE && c != CBOR_CTRL_TRUE && c != CBOR_CTRL_NULL)
		return COFFER_ERR_INVALID;
	c = (unsigned char)(0xe0 | c);
	return obuf_put(b, &c, 1);
}

static int
enc_item(struct obuf *b, const cbor_item_t *it, size_t depth)
{
	if (it == NULL)
		return COFFER_ERR_INVALID;
	if (depth > MSG_ENCODE_DEPTH)
		return COFFER_ERR_TOO_BIG;
	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT:
		return enc_head(b, CBOR_TYPE_UINT, cbor_get_int(it));
	case CBOR_TYPE_NEGINT:
		return enc_head(b, CBOR_TYPE_NEGINT, cbor_get_int(it));
	case CBOR_TYPE_BYTESTRING:
	case CBOR_TYPE_STRING:
		return enc_string(b, it, cbor_typeof(it));
	case CBOR_TYPE_ARRAY:
		return enc_array(b, it, depth);
	case CBOR_TYPE_MAP:
		return enc_map(b, it, depth);
	case CBOR_TYPE_FLOAT_CTRL:
		return enc_simple(b, it);
	default:	/* tags */
		return COFFER_ERR_INVALID;
	}
}

int
msg_encode(const cbor_item_t *item, unsigned char **out, size_t *outlen)
{
	struct obuf b = { NULL, 0, 0 };
	int r;

	*out = NULL;
	*outlen = 0;
	if ((r = enc_item(&b, item, 1)) != COFFER_OK)
		goto out;
	/*
	 * What we send must pass the peer's validator; this catches text
	 * strings that are not UTF-8, which the builders do not inspect.
	 */
	if (cborcheck_validate(b.p, b.len, &msg_encode_limits, NULL) !=
	    COFFER_OK) {
		r = COFFER_ERR_INVALID;
		goto out;
	}
	*out = b.p;
	*outlen = b.len;
	b.p = NULL;	/* transferred */
out:
	free(b.p);
	return r;
}

/* ---- builders ---------------------------------------------------------- */

cbor_item_t *
msg_new_map(void)
{
	/* Indefinite maps grow; the serializer always writes definite ones. */
	return cbor_new_indefinite_map();
}

cbor_item_t *
msg_new_array(void)
{
	return cbor_new_indefinite_array();
}

cbor_item_t *
msg_new_uint(uint64_t v)
{
	if (v <= UINT8_MAX)
		return cbor_build_uint8((uint8_t)v);
	if (v <= UINT16_MAX)
		return cbor_build_uint16((uint16_t)v);
	if (v <= UINT32_MAX)
		return cbor_build_uint32((uint32_t)v);
	return cbor_build_uint64(v);
}

cbor_item_t *
msg_new_int(int64_t v)
{
	uint64_t n;

	if (v >= 0)
		return msg_new_uint((uint64_t)v);
	n = (uint64_t)(-(v + 1));	/* CBOR stores -1 - value */
	if (n <= UINT8_MAX)
		return cbor_build_negint8((uint8_t)n);
	if (n <= UINT16_MAX)
		return cbor_build_negint16((uint16_t)n);
	if (n <= UINT32_MAX)
		return cbor_build_negint32((uint32_t)n);
	return cbor_build_negint64(n);
}

cbor_item_t *
msg_new_str(const char *s)
{
	if (s == NULL)
		return NULL;
	return cbor_build_stringn(s, strlen(s));
}

cbor_item_t *
msg_new_bytes(const unsigned char *p, size_t len)
{
	static const unsigned char none[1];

	/* libcbor memcpy()s from p even for an empty string. */
	return cbor_build_bytestring(len > 0 ? p : none, len);
}

cbor_item_t *
msg_new_bool(int v)
{
	return cbor_build_bool(v != 0);
}

cbor_item_t *
msg_new_null(void)
{
	return cbor_new_null();
}

/* ---- map and array insertion ------------------------------------------- */

static int
text_is(const cbor_item_t *it, const char *s, size_t n)
{
	return cbor_isa_string(it) && cbor_string_is_definite(it) &&
	    cbor_string_length(it) == n &&
	    (n == 0 || memcmp(cbor_string_handle(it), s, n) == 0);
}

static int
put_pair(cbor_item_t *map, const char *key, cbor_item_t *value, int check)
{
	cbor_item_t *k = NULL;
	int r = COFFER_OK;

	if (value == NULL)
		return COFFER_ERR_NOMEM;	/* a builder failed upstream */
	if (map == NULL || key == NULL || !cbor_isa_map(map)) {
		r = COFFER_ERR_INVALID;
		goto out;
	}
	if (check && msg_get(map, key) != NULL) {
		r = COFFER_ERR_CONFLICT;
		goto out;
	}
	if ((k = msg_new_str(key)) == NULL) {
		r = COFFER_ERR_NOMEM;
		goto out;
	}
	if (!cbor_map_add(map, (struct cbor_pair){ .key = k, .value = value }))
		r = COFFER_ERR_NOMEM;
out:
	if (k != NULL)
		cbor_decref(&k);
	cbor_decref(&value);
	return r;
}

int
msg_put(cbor_item_t *map, const char *key, cbor_item_t *value)
{
	return put_pair(map, key, value, 1);
}

int
msg_put_fresh(cbor_item_t *map, const char *key, cbor_item_t *value)
{
	return put_pair(map, key, value, 0);
}

int
msg_map_of(const char *key, cbor_item_t *value, cbor_item_t **out)
{
	cbor_item_t *m = msg_new_map();
	int r;

	*out = NULL;
	if (m == NULL) {
		if (value != NULL)
			cbor_decref(&value);
		return COFFER_ERR_NOMEM;
	}
	if ((r = msg_put(m, key, value)) != COFFER_OK) {
		cbor_decref(&m);
		return r;
	}
	*out = m;
	return COFFER_OK;
}

int
msg_put_str(cbor_item_t *map, const char *key, const char *s)
{
	return msg_put(map, key, msg_new_str(s));
}

int
msg_put_int(cbor_item_t *map, const char *key, int64_t v)
{
	return msg_put(map, key, msg_new_int(v));
}

int
msg_put_uint(cbor_item_t *map, const char *key, uint64_t v)
{
	return msg_put(map, key, msg_new_uint(v));
}

int
msg_put_bytes(cbor_item_t *map, const char *key, const unsigned char *p,
    size_t len)
{
	return msg_put(map, key, msg_new_bytes(p, len));
}

int
msg_put_bool(cbor_item_t *map, const char *key, int v)
{
	return msg_put(map, key, msg_new_bool(v));
}

int
msg_push(cbor_item_t *array, cbor_item_t *value)
{
	int r = COFFER_OK;

	if (value == NULL)
		return COFFER_ERR_NOMEM;
	if (array == NULL || !cbor_isa_array(array))
		r = COFFER_ERR_INVALID;
	else if (!cbor_array_push(array, value))
		r = COFFER_ERR_NOMEM;
	cbor_decref(&value);
	return r;
}

/* ---- lookup and typed getters ------------------------------------------ */

const cbor_item_t *
msg_get(const cbor_item_t *map, const char *key)
{
	struct cbor_pair *kv;
	size_t i, n, klen;

	if (map == NULL || key == NULL || !cbor_isa_map(map))
		return NULL;
	kv = cbor_map_handle(map);
	n = cbor_map_size(map);
	klen = strlen(key);
	for (i = 0; i < n; i++)
		if (text_is(kv[i].key, key, klen))
			return kv[i].value;
	return NULL;
}

int
msg_item_int(const cbor_item_t *item, int64_t *out)
{
	uint64_t v;

	if (item == NULL || !cbor_is_int(item))
		return COFFER_ERR_INVALID;
	v = cbor_get_int(item);
	if (v > (uint64_t)INT64_MAX)
		return COFFER_ERR_INVALID;
	*out = cbor_isa_uint(item) ? (int64_t)v : -1 - (int64_t)v;
	return COFFER_OK;
}

int
msg_item_str(const cbor_item_t *item, char *buf, size_t bufsz)
{
	size_t n;

	if (item == NULL || !cbor_isa_string(item) ||
	    !cbor_string_is_definite(item))
		return COFFER_ERR_INVALID;
	n = cbor_string_length(item);
	if (bufsz == 0 || n > bufsz - 1)
		return COFFER_ERR_TOO_BIG;
	if (n > 0 && memchr(cbor_string_handle(item), '\0', n) != NULL)
		return COFFER_ERR_INVALID;
	if (n > 0)
		memcpy(buf, cbor_string_handle(item), n);
	buf[n] = '\0';
	return COFFER_OK;
}

int
msg_get_str(const cbor_item_t *map, const char *key, char *buf,
    size_t bufsz)
{
	const cbor_item_t *v = msg_get(map, key);

	if (v == NULL)
		return COFFER_ERR_NOT_FOUND;
	return msg_item_str(v, buf, bufsz);
}

int
msg_get_int(const cbor_item_t *map, const char *key, int64_t *out)
{
	const cbor_item_t *v = msg_get(map, key);

	if (v == NULL)
		return COFFER_ERR_NOT_FOUND;
	return msg_item_int(v, out);
}

int
msg_get_uint(const cbor_item_t *map, const char *key, uint64_t *out)
{
	const cbor_item_t *v = msg_get(map, key);

	if (v == NULL)
		return COFFER_ERR_NOT_FOUND;
	if (!cbor_isa_uint(v))
		return COFFER_ERR_INVALID;
	*out = cbor_get_int(v);
	return COFFER_OK;
}

int
msg_get_bool(const cbor_item_t *map, const char *key, int *out)
{
	const cbor_item_t *v = msg_get(map, key);

	if (v == NULL)
		return COFFER_ERR_NOT_FOUND;
	if (!cbor_is_bool(v))
		return COFFER_ERR_INVALID;
	*out = cbor_get_bool(v) ? 1 : 0;
	return COFFER_OK;
}

int
msg_get_bytes(const cbor_item_t *map, const char *key,
    const unsigned char **p, size_t *len)
{
	const cbor_item_t *v = msg_get(map, key);

	if (v == NULL)
		return COFFER_ERR_NOT_FOUND;
	if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v))
		return COFFER_ERR_INVALID;
	*p = cbor_bytestring_handle(v);
	*len = cbor_bytestring_length(v);
	return COFFER_OK;
}
