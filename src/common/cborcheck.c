/*
 * cborcheck.c - bounded validator for untrusted deterministic CBOR.  It runs
 * before libcbor ever sees a byte, because libcbor 0.8 allocates whatever a
 * header declares; here every declared size is checked against the bytes
 * that remain and against the limits before it is believed.
 */
#include <stdint.h>
#include <string.h>

#include "coffer/cborcheck.h"
#include "coffer/err.h"
#include "coffer/utf8.h"

const struct cborcheck_limits cborcheck_wire_limits = {
	.max_depth = 16,
	.max_items = 65536,
	.max_string = 1024u * 1024u,
};

/*
 * Recursion is bounded by the caller's max_depth; this cap keeps a careless
 * caller's limits from turning hostile input into a stack overflow.
 */
#define CBORCHECK_DEPTH_CAP 64

enum {
	MT_UINT = 0, MT_NEGINT, MT_BYTES, MT_TEXT, MT_ARRAY, MT_MAP, MT_TAG,
	MT_SIMPLE
};

struct cc_state {
	const unsigned char *buf;
	size_t len;
	size_t pos;
	size_t items;
	const struct cborcheck_limits *lim;
	size_t fault;
};

struct cc_head {
	int major;
	int info;      /* additional information, low 5 bits */
	uint64_t arg;  /* the argument: value, length or count */
};

static int
cc_fail(struct cc_state *st, size_t at, int status)
{
	st->fault = at;
	return status;
}

static size_t
cc_remaining(const struct cc_state *st)
{
	return st->len - st->pos;
}

/*
 * Read one head; the argument must use the shortest form and indefinite
 * lengths and reserved values are refused.  Major type 7 is left to the
 * caller, whose rules are different.
 */
static int
cc_read_head(struct cc_state *st, struct cc_head *h)
{
	size_t start = st->pos, n, i;
	unsigned char ib;

	if (cc_remaining(st) < 1)
		return cc_fail(st, start, COFFER_ERR_PROTO);
	ib = st->buf[st->pos++];
	h->major = ib >> 5;
	h->info = ib & 0x1f;
	h->arg = 0;
	if (h->major == MT_SIMPLE)
		return COFFER_OK;
	if (h->info < 24) {
		h->arg = (uint64_t)h->info;
		return COFFER_OK;
	}
	if (h->info > 27)	/* 28-30 reserved, 31 indefinite */
		return cc_fail(st, start, COFFER_ERR_PROTO);
	n = (size_t)1 << (h->info - 24);
	if (cc_remaining(st) < n)
		return cc_fail(st, start, COFFER_ERR_PROTO);
	for (i = 0; i < n; i++)
		h->arg = (h->arg << 8) | st->buf[st->pos++];
	/* Shortest form: the value must need this many bytes. */
	if ((n == 1 && h->arg < 24) || (n == 2 && h->arg <= 0xff) ||
	    (n == 4 && h->arg <= 0xffff) || (n == 8 && h->arg <= 0xffffffffu))
		return cc_fail(st, start, COFFER_ERR_PROTO);
	return COFFER_OK;
}



static int
cc_string(struct cc_state *st, const struct cc_head *h, size_t start)
{
	size_t bad;

	/* Presence first: a declared length beyond the buffer is malformed. */
	if (h->arg > cc_remaining(st))
		return cc_fail(st, start, COFFER_ERR_PROTO);
	if (h->arg > st->lim->max_string)
		return cc_fail(st, start, COFFER_ERR_TOO_BIG);
	if (h->major == MT_TEXT) {
		bad = utf8_check(st->buf + st->pos, (size_t)h->arg);
		if (bad != (size_t)h->arg)
			return cc_fail(st, st->pos + bad, COFFER_ERR_PROTO);
	}
	st->pos += (size_t)h->arg;
	return COFFER_OK;
}

/* Account for n more items before any of them is looked at. */
static int
cc_reserve(struct cc_state *st, uint64_t n, size_t start)
{
	if (n > st->lim->max_items - st->items)
		return cc_fail(st, start, COFFER_ERR_TOO_BIG);
	st->items += (size_t)n;
	return COFFER_OK;
}

/* Bytewise order of two complete encodings; neither is a prefix. */
static int
cc_key_cmp(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

static int cc_item(struct cc_state *st, size_t depth);

static int
cc_array(struct cc_state *st, uint64_t n, size_t depth, size_t start)
{
	uint64_t i;
	int r;

	/* Each element needs at least one byte. */
	if (n > cc_remaining(st))
		return cc_fail(st, start, COFFER_ERR_PROTO);
	if ((r = cc_reserve(st, n, start)) != COFFER_OK)
		return r;
	for (i = 0; i < n; i++)
		if ((r = cc_item(st, depth + 1)) != COFFER_OK)
			return r;
	return COFFER_OK;
}

static int
cc_map(struct cc_state *st, uint64_t n, size_t depth, size_t start)
{
	size_t prev = 0, prevlen = 0, kstart;
	uint64_t i;
	int r;

	/* Each pair needs at least two bytes; n * 2 cannot overflow here. */
	if (n > cc_remaining(st) / 2)
		return cc_fail(st, start, COFFER_ERR_PROTO);
	if ((r = cc_reserve(st, n * 2, start)) != COFFER_OK)
		return r;
	for (i = 0; i < n; i++) {
		kstart = st->pos;
		if ((r = cc_item(st, depth + 1)) != COFFER_OK)
			return r;
		if (i > 0 && cc_key_cmp(st->buf + prev, prevlen,
		    st->buf + kstart, st->pos - kstart) >= 0)
			return cc_fail(st, kstart, COFFER_ERR_PROTO);
		prev = kstart;
		prevlen = st->pos - kstart;
		if ((r = cc_item(st, depth + 1)) != COFFER_OK)
			return r;
	}
	return COFFER_OK;
}

/* Only false (0xf4), true (0xf5) and null (0xf6) are accepted. */
static int
cc_simple(struct cc_state *st, const struct cc_head *h, size_t start)
{
	if (h->info >= 20 && h->info <= 22)
		return COFFER_OK;
	return cc_fail(st, start, COFFER_ERR_PROTO);
}

/* One data item at nesting depth (1 for the top level). */
static int
cc_item(struct cc_state *st, size_t depth)
{
	struct cc_head h;
	size_t start = st->pos;
	int r;

	if ((r = cc_read_head(st, &h)) != COFFER_OK)
		return r;
	switch (h.major) {
	case MT_UINT:
	case MT_NEGINT:
		return COFFER_OK;
	case MT_BYTES:
	case MT_TEXT:
		return cc_string(st, &h, start);
	case MT_ARRAY:
	case MT_MAP:
		if (depth > st->lim->max_depth || depth > CBORCHECK_DEPTH_CAP)
			return cc_fail(st, start, COFFER_ERR_TOO_BIG);
		if (h.major == MT_ARRAY)
			return cc_array(st, h.arg, depth, start);
		return cc_map(st, h.arg, depth, start);
	case MT_SIMPLE:
		return cc_simple(st, &h, start);
	default:	/* tags: none are part of the protocol */
		return cc_fail(st, start, COFFER_ERR_PROTO);
	}
}

int
cborcheck_validate(const unsigned char *buf, size_t len,
    const struct cborcheck_limits *lim, size_t *where)
{
	struct cc_state st = { buf, len, 0, 0, lim, 0 };
	int r;

	if (buf == NULL || lim == NULL) {
		r = cc_fail(&st, 0, COFFER_ERR_PROTO);
		goto out;
	}
	if ((r = cc_reserve(&st, 1, 0)) != COFFER_OK)
		goto out;
	if ((r = cc_item(&st, 1)) != COFFER_OK)
		goto out;
	if (st.pos != len)
		r = cc_fail(&st, st.pos, COFFER_ERR_PROTO);
out:
	if (where != NULL)
		*where = r == COFFER_OK ? len : st.fault;
	return r;
}
