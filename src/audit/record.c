/*
 * record.c - one audit record as canonical CBOR (RFC 8949 4.2.1): a map
 * with short text keys in bytewise order, shortest integer heads, definite
 * lengths.  The encoder writes the keys in that order directly, so no sort
 * is needed; the parser is a strict hand-written reader (no allocation)
 * because coffer-verify runs it on every record.  CDDL: docs/audit-format.md.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "coffer/err.h"
#include "coffer/msg.h"
#include "coffer/utf8.h"
#include "audit_int.h"

const char *const arec_key_names[AK_COUNT_] = {
	"n", "v", "op", "st", "ts", "aid", "chg", "dec", "pol", "ret", "seq",
	"tid", "why", "afpr", "down", "kind", "mask", "nkey", "nsig", "peer",
	"prev", "role", "sess", "tids", "actor"
};

static const char *const arec_decisions[] = {
	"allowed", "denied", "pending", "error"
};

enum { MT_UINT, MT_NEG, MT_BYTES, MT_TEXT, MT_ARRAY, MT_MAP, MT_TAG, MT_7 };

/* ---- encoding ---------------------------------------------------------- */

static int
pre_reserve(struct arec_pre *p, size_t n)
{
	unsigned char *nb;
	size_t cap;

	if (p->len + n <= p->cap)
		return COFFER_OK;
	if (p->len + n > AREC_MAX)
		return COFFER_ERR_INVALID;
	cap = p->cap ? p->cap : 512;
	while (cap < p->len + n)
		cap *= 2;
	if ((nb = realloc(p->buf, cap)) == NULL)
		return COFFER_ERR_NOMEM;
	p->buf = nb;
	p->cap = cap;
	return COFFER_OK;
}

static size_t
head_len(uint64_t v)
{
	return v < 24 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 :
	    v <= 0xffffffffu ? 5 : 9;
}

/* Shortest head; out must have head_len(v) bytes. */
static void
head_put(unsigned char *out, unsigned major, uint64_t v)
{
	size_t n = head_len(v) - 1, i;

	if (n == 0) {
		out[0] = (unsigned char)(major << 5 | v);
		return;
	}
	out[0] = (unsigned char)(major << 5 | (n == 1 ? 24 : n == 2 ? 25 :
	    n == 4 ? 26 : 27));
	for (i = 0; i < n; i++)
		out[1 + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
}

static int
put_head(struct arec_pre *p, unsigned major, uint64_t v)
{
	int rc;

	if ((rc = pre_reserve(p, 9)) != COFFER_OK)
		return rc;
	head_put(p->buf + p->len, major, v);
	p->len += head_len(v);
	return COFFER_OK;
}

static int
put_raw(struct arec_pre *p, const void *s, size_t n)
{
	int rc;

	if ((rc = pre_reserve(p, n)) != COFFER_OK)
		return rc;
	if (n > 0)
		memcpy(p->buf + p->len, s, n);
	p->len += n;
	return COFFER_OK;
}

static int
put_int(struct arec_pre *p, int64_t v)
{
	if (v >= 0)
		return put_head(p, MT_UINT, (uint64_t)v);
	return put_head(p, MT_NEG, (uint64_t)(-(v + 1)));
}

static int
put_bytes(struct arec_pre *p, const unsigned char *b, size_t n)
{
	int rc = put_head(p, MT_BYTES, n);

	return rc != COFFER_OK ? rc : put_raw(p, b, n);
}

static int
is_ascii(const unsigned char *s, size_t n)
{
	unsigned char any = 0;
	size_t i;

	for (i = 0; i < n; i++)	/* no early exit: the compiler widens it */
		any |= s[i];
	return any < 0x80;
}

/*
 * Text, cut at AREC_STR_MAX, bytes that are not UTF-8 become '?'.  Keys,
 * ops and field names are ASCII and are copied whole; decoding them a
 * character at a time cost an audited read about 2 us (docs/performance.md).
 */
static int
put_text(struct arec_pre *p, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k, at;
	int rc;

	if (n > AREC_STR_MAX)
		n = AREC_STR_MAX;
	if ((rc = put_head(p, MT_TEXT, n)) != COFFER_OK ||
	    (rc = pre_reserve(p, n)) != COFFER_OK)
		return rc;
	at = p->len;
	if (is_ascii(u, n)) {
		memcpy(p->buf + at, u, n);
		p->len = at + n;
		return COFFER_OK;
	}
	while (i < n) {
		k = utf8_decode(u + i, n - i, NULL);
		if (k == 0) {
			p->buf[at++] = '?';
			i++;
		} else {
			memcpy(p->buf + at, u + i, k);
			at += k;
			i += k;
		}
	}
	p->len = at;
	return COFFER_OK;
}

static int
put_key(struct arec_pre *p, enum arec_key k)
{
	p->nkeys++;
	return put_text(p, arec_key_names[k]);
}

static int
put_text_list(struct arec_pre *p, const char *const *v, size_t n)
{
	size_t i;
	int rc;

	if (n > AREC_LIST_MAX)
		return COFFER_ERR_INVALID;
	if ((rc = put_head(p, MT_ARRAY, n)) != COFFER_OK)
		return rc;
	for (i = 0; i < n && rc == COFFER_OK; i++)
		rc = v[i] == NULL ? COFFER_ERR_INVALID : put_text(p, v[i]);
	return rc;
}

static int
put_value_hash(struct arec_pre *p, const cbor_item_t *v,
    const unsigned char hkey[32])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	unsigned char *enc = NULL;
	size_t len;
	int rc;

	if (v == NULL)
		return put_head(p, MT_7, 22);	/* null */
	if ((rc = msg_encode(v, &enc, &len)) != COFFER_OK)
		return rc;
	crypto_auth_hmacsha256(mac, enc, len, hkey);
	sodium_memzero(enc, len);	/* a customer value */
	free(enc);
	return put_bytes(p, mac, sizeof(mac));
}

static int
put_changes(struct arec_pre *p, const struct audit_change *c, size_t n,
    const unsigned char hkey[32])
{
	size_t i;
	int rc;

	if (n > AREC_LIST_MAX)
		return COFFER_ERR_INVALID;
	if ((rc = put_head(p, MT_ARRAY, n)) != COFFER_OK)
		return rc;
	for (i = 0; i < n && rc == COFFER_OK; i++) {
		if (c[i].field == NULL)
			return COFFER_ERR_INVALID;
		if ((rc = put_head(p, MT_MAP, 3)) != COFFER_OK ||
		    (rc = put_text(p, "f")) != COFFER_OK ||
		    (rc = put_text(p, c[i].field)) != COFFER_OK ||
		    (rc = put_text(p, "new")) != COFFER_OK ||
		    (rc = put_value_hash(p, c[i].new_value, hkey)) !=
		    COFFER_OK ||
		    (rc = put_text(p, "old")) != COFFER_OK)
			return rc;
		rc = put_value_hash(p, c[i].old_value, hkey);
	}
	return rc;
}

static int
has(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* Keys up to "ts" / "seq": n v op st | aid chg dec pol ret. */
static int
prep_first(const struct audit_event *e, const unsigned char hkey[32],
    struct arec_pre *p)
{
	int rc;

	if ((rc = put_key(p, AK_N)) || (rc = put_head(p, MT_UINT, e->count)) ||
	    (rc = put_key(p, AK_V)) || (rc = put_head(p, MT_UINT, 1)) ||
	    (rc = put_key(p, AK_OP)) || (rc = put_text(p, e->op)))
		return rc;
	if (e->status != 0 && ((rc = put_key(p, AK_ST)) ||
	    (rc = put_int(p, e->status))))
		return rc;
	p->off_ts = p->len;
	if (e->actor_id != 0 && ((rc = put_key(p, AK_AID)) ||
	    (rc = put_int(p, e->actor_id))))
		return rc;
	if (e->nchanges > 0 && ((rc = put_key(p, AK_CHG)) ||
	    (rc = put_changes(p, e->changes, e->nchanges, hkey))))
		return rc;
	if ((rc = put_key(p, AK_DEC)) ||
	    (rc = put_text(p, arec_decisions[e->decision])))
		return rc;
	if (e->policy_hash != NULL && ((rc = put_key(p, AK_POL)) ||
	    (rc = put_bytes(p, e->policy_hash, 32))))
		return rc;
	if (e->nreturned > 0 && ((rc = put_key(p, AK_RET)) ||
	    (rc = put_text_list(p, e->fields_returned, e->nreturned))))
		return rc;
	p->off_seq = p->len;
	return COFFER_OK;
}

/* Keys after "seq": tid why afpr down kind mask nkey nsig peer | role sess
 * tids actor */
static int
prep_rest(const struct audit_event *e, const uint64_t down[2],
    struct arec_pre *p)
{
	size_t i;
	int rc;

	if (e->target_id != 0 && ((rc = put_key(p, AK_TID)) ||
	    (rc = put_int(p, e->target_id))))
		return rc;
	if (has(e->reason) && ((rc = put_key(p, AK_WHY)) ||
	    (rc = put_text(p, e->reason))))
		return rc;
	if (has(e->actor_fpr) && ((rc = put_key(p, AK_AFPR)) ||
	    (rc = put_text(p, e->actor_fpr))))
		return rc;
	if (down != NULL && ((rc = put_key(p, AK_DOWN)) ||
	    (rc = put_head(p, MT_ARRAY, 2)) ||
	    (rc = put_head(p, MT_UINT, down[0])) ||
	    (rc = put_head(p, MT_UINT, down[1]))))
		return rc;
	if (has(e->kind) && ((rc = put_key(p, AK_KIND)) ||
	    (rc = put_text(p, e->kind))))
		return rc;
	if (e->nmasked > 0 && ((rc = put_key(p, AK_MASK)) ||
	    (rc = put_text_list(p, e->fields_masked, e->nmasked))))
		return rc;
	/* a key rotation: the new public key and its certification */
	if (e->new_key != NULL && ((rc = put_key(p, AK_NKEY)) ||
	    (rc = put_bytes(p, e->new_key, 32))))
		return rc;
	if (e->new_key_sig != NULL && ((rc = put_key(p, AK_NSIG)) ||
	    (rc = put_bytes(p, e->new_key_sig, 64))))
		return rc;
	if (has(e->peer) && ((rc = put_key(p, AK_PEER)) ||
	    (rc = put_text(p, e->peer))))
		return rc;
	p->off_prev = p->len;
	if (has(e->role) && ((rc = put_key(p, AK_ROLE)) ||
	    (rc = put_text(p, e->role))))
		return rc;
	if (e->session_id != NULL && ((rc = put_key(p, AK_SESS)) ||
	    (rc = put_bytes(p, e->session_id, 16))))
		return rc;
	if (e->ntargets > 0) {
		if (e->ntargets > AREC_LIST_MAX || e->target_ids == NULL)
			return COFFER_ERR_INVALID;
		if ((rc = put_key(p, AK_TIDS)) ||
		    (rc = put_head(p, MT_ARRAY, e->ntargets)))
			return rc;
		for (i = 0; i < e->ntargets; i++)
			if ((rc = put_int(p, e->target_ids[i])) != COFFER_OK)
				return rc;
	}
	if (has(e->actor) && ((rc = put_key(p, AK_ACTOR)) ||
	    (rc = put_text(p, e->actor))))
		return rc;
	return COFFER_OK;
}

int
arec_prepare(const struct audit_event *e, const unsigned char hkey[32],
    const uint64_t down[2], struct arec_pre *p)
{
	int rc;

	memset(p, 0, sizeof(*p));
	if (e == NULL || !has(e->op) || (unsigned)e->decision > AUDIT_ERROR ||
	    (e->nreturned > 0 && e->fields_returned == NULL) ||
	    (e->nmasked > 0 && e->fields_masked == NULL) ||
	    (e->nchanges > 0 && e->changes == NULL))
		return COFFER_ERR_INVALID;
	if ((rc = prep_first(e, hkey, p)) != COFFER_OK ||
	    (rc = prep_rest(e, down, p)) != COFFER_OK)
		goto fail;
	p->nkeys += 3;	/* ts, seq, prev */
	/* ts, seq and prev add at most 9 + 12 + 39 bytes, the head one. */
	if (p->len + 64 > AREC_MAX) {
		rc = COFFER_ERR_INVALID;
		goto fail;
	}
	return COFFER_OK;
fail:
	arec_pre_free(p);
	return rc;
}

void
arec_pre_free(struct arec_pre *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

size_t
arec_size(const struct arec_pre *p, uint64_t seq, uint64_t ts)
{
	return 1 + p->len + 3 + head_len(ts) + 4 + head_len(seq) + 5 + 2 + 32;
}

void
arec_assemble(const struct arec_pre *p, uint64_t seq, uint64_t ts,
    const unsigned char prev[32], unsigned char *out)
{
	size_t o = 0;

	out[o++] = (unsigned char)(0xa0 | p->nkeys);
	memcpy(out + o, p->buf, p->off_ts);
	o += p->off_ts;
	memcpy(out + o, "\x62ts", 3);
	o += 3;
	head_put(out + o, MT_UINT, ts);
	o += head_len(ts);
	memcpy(out + o, p->buf + p->off_ts, p->off_seq - p->off_ts);
	o += p->off_seq - p->off_ts;
	memcpy(out + o, "\x63seq", 4);
	o += 4;
	head_put(out + o, MT_UINT, seq);
	o += head_len(seq);
	memcpy(out + o, p->buf + p->off_seq, p->off_prev - p->off_seq);
	o += p->off_prev - p->off_seq;
	memcpy(out + o, "\x64prev\x58\x20", 7);
	o += 7;
	memcpy(out + o, prev, 32);
	o += 32;
	memcpy(out + o, p->buf + p->off_prev, p->len - p->off_prev);
}

/* ---- parsing ----------------------------------------------------------- */

/*
 * coffer-verify parses every record of the log, so the parser is written
 * for speed as well as strictness: it reads the record where it lies (no
 * copy, no allocation), each step takes a cursor and returns it advanced
 * past what the CDDL allows there or NULL, the small steps are inlined,
 * and text is decoded as UTF-8 only when a word-wide test finds a byte
 * above 0x7f (record text is nearly always ASCII).  What it accepts is
 * exactly the canonical form arec_assemble writes; test_audit_record.c
 * holds it against a plain byte-at-a-time reference parser.
 */
#if defined(__GNUC__) || defined(__clang__)
#define PARSE_STEP static inline __attribute__((always_inline))
#else
#define PARSE_STEP static inline
#endif

#define HIGH_BITS 0x8080808080808080ULL

/*
 * Words read straight from the record are compared with these, so they
 * are laid out in memory order: KB puts byte c at offset i of a word.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define KB(c, i) ((uint64_t)(unsigned char)(c) << (56 - 8 * (i)))
#else
#define KB(c, i) ((uint64_t)(unsigned char)(c) << (8 * (i)))
#endif
#define K1(a) (KB(0x61, 0) | KB(a, 1))
#define K2(a, b) (KB(0x62, 0) | KB(a, 1) | KB(b, 2))
#define K3(a, b, c) (KB(0x63, 0) | KB(a, 1) | KB(b, 2) | KB(c, 3))
#define K4(a, b, c, d) (KB(0x64, 0) | KB(a, 1) | KB(b, 2) | KB(c, 3) | \
    KB(d, 4))
#define K5(a, b, c, d, e) (KB(0x65, 0) | KB(a, 1) | KB(b, 2) | KB(c, 3) | \
    KB(d, 4) | KB(e, 5))

/* Each key's encoding (head byte and letters) as a zero-padded word. */
static const uint64_t arec_key_words[AK_COUNT_] = {
	K1('n'), K1('v'), K2('o', 'p'), K2('s', 't'), K2('t', 's'),
	K3('a', 'i', 'd'), K3('c', 'h', 'g'), K3('d', 'e', 'c'),
	K3('p', 'o', 'l'), K3('r', 'e', 't'), K3('s', 'e', 'q'),
	K3('t', 'i', 'd'), K3('w', 'h', 'y'), K4('a', 'f', 'p', 'r'),
	K4('d', 'o', 'w', 'n'), K4('k', 'i', 'n', 'd'),
	K4('m', 'a', 's', 'k'), K4('n', 'k', 'e', 'y'),
	K4('n', 's', 'i', 'g'), K4('p', 'e', 'e', 'r'),
	K4('p', 'r', 'e', 'v'), K4('r', 'o', 'l', 'e'),
	K4('s', 'e', 's', 's'), K4('t', 'i', 'd', 's'),
	K5('a', 'c', 't', 'o', 'r')
};

/* word_mask[k] keeps the first k bytes (in memory order) of a word. */
#define WM(k) (KB(0xff, 0) * ((k) > 0) | KB(0xff, 1) * ((k) > 1) | \
    KB(0xff, 2) * ((k) > 2) | KB(0xff, 3) * ((k) > 3) | \
    KB(0xff, 4) * ((k) > 4) | KB(0xff, 5) * ((k) > 5) | \
    KB(0xff, 6) * ((k) > 6) | KB(0xff, 7) * ((k) > 7))
static const uint64_t word_mask[9] = {
	WM(0), WM(1), WM(2), WM(3), WM(4), WM(5), WM(6), WM(7), WM(8)
};

static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_decode(s + i, n - i, NULL)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

/*
 * Are the n bytes at s UTF-8?  Whole words are OR-ed together and tested
 * for a byte above 0x7f at once.  A string of up to 16 bytes is read as
 * two words, the second ending where the string ends; when it is shorter
 * than a word and the record (which ends at end) has the bytes, the first
 * word reaches past it and its extra bytes are masked off.
 */
PARSE_STEP int
text_ok(const unsigned char *s, size_t n, const unsigned char *end)
{
	uint64_t w, x, any = 0;
	size_t i;

	if (n <= 16 && end - s >= 8) {
		memcpy(&w, s, 8);
		memcpy(&x, s + (n > 8 ? n - 8 : 0), 8);
		any = (w | x) & word_mask[n < 8 ? n : 8];
	} else if (n >= 8) {
		for (i = 0; n - i >= 8; i += 8) {
			memcpy(&w, s + i, 8);
			any |= w;
		}
		memcpy(&w, s + n - 8, 8);
		any |= w;
	} else {
		for (i = 0; i < n; i++)
			any |= s[i];
	}
	return (any & HIGH_BITS) == 0 || utf8_valid(s, n);
}

/* A head of major type `major` in shortest form; its argument in *v. */
PARSE_STEP const unsigned char *
ph_head(const unsigned char *p, const unsigned char *end, unsigned major,
    uint64_t *v)
{
	unsigned info;
	uint64_t x;
	int i;

	if (p == end || (unsigned)(*p >> 5) != major)
		return NULL;
	info = *p++ & 0x1f;
	if (info < 24) {
		*v = info;
		return p;
	}
	switch (info) {
	case 24:
		if (p == end || p[0] < 24)
			return NULL;
		*v = p[0];
		return p + 1;
	case 25:
		if (end - p < 2 || p[0] == 0)
			return NULL;
		*v = (uint64_t)p[0] << 8 | p[1];
		return p + 2;
	case 26:
		if (end - p < 4 || (p[0] | p[1]) == 0)
			return NULL;
		*v = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 |
		    (uint64_t)p[2] << 8 | p[3];
		return p + 4;
	case 27:
		if (end - p < 8 || (p[0] | p[1] | p[2] | p[3]) == 0)
			return NULL;
		for (x = 0, i = 0; i < 8; i++)
			x = x << 8 | p[i];
		*v = x;
		return p + 8;
	default:
		return NULL;
	}
}

/* A byte or text string (not checked as UTF-8) of at most AREC_STR_MAX. */
PARSE_STEP const unsigned char *
ph_str(const unsigned char *p, const unsigned char *end, unsigned major,
    const unsigned char **s, size_t *n)
{
	uint64_t v;

	if ((p = ph_head(p, end, major, &v)) == NULL || v > AREC_STR_MAX ||
	    v > (uint64_t)(end - p))
		return NULL;
	*s = p;
	*n = (size_t)v;
	return p + v;
}

PARSE_STEP const unsigned char *
ph_text(const unsigned char *p, const unsigned char *end,
    const unsigned char **s, size_t *n)
{
	if ((p = ph_str(p, end, MT_TEXT, s, n)) == NULL ||
	    !text_ok(*s, *n, end))
		return NULL;
	return p;
}

PARSE_STEP const unsigned char *
ph_any_text(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *s;
	size_t n;

	return ph_text(p, end, &s, &n);
}

/* Exactly want bytes (want < 256): its one shortest head, then the bytes. */
PARSE_STEP const unsigned char *
ph_bytes(const unsigned char *p, const unsigned char *end, size_t want)
{
	size_t h = want < 24 ? 1 : 2;

	if ((size_t)(end - p) < h + want)
		return NULL;
	if (want < 24 ? p[0] != (0x40 | want) :
	    p[0] != 0x58 || p[1] != want)
		return NULL;
	return p + h + want;
}

/* An int: unsigned, or negative down to INT64_MIN. */
PARSE_STEP const unsigned char *
ph_int(const unsigned char *p, const unsigned char *end)
{
	uint64_t v;

	if (p == end)
		return NULL;
	if ((*p >> 5) == MT_UINT)
		return ph_head(p, end, MT_UINT, &v);
	p = ph_head(p, end, MT_NEG, &v);
	return p == NULL || v > INT64_MAX ? NULL : p;
}

/* A definite, non-empty array of at most AREC_LIST_MAX; its count. */
PARSE_STEP const unsigned char *
ph_array(const unsigned char *p, const unsigned char *end, uint64_t *n)
{
	if ((p = ph_head(p, end, MT_ARRAY, n)) == NULL || *n == 0 ||
	    *n > AREC_LIST_MAX)
		return NULL;
	return p;
}

/* The exact bytes lit[0..n) (a key inside a value, in its only form). */
PARSE_STEP const unsigned char *
ph_lit(const unsigned char *p, const unsigned char *end, const char *lit,
    size_t n)
{
	if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
		return NULL;
	return p + n;
}

/* null or a 32-byte HMAC */
PARSE_STEP const unsigned char *
ph_hash_or_null(const unsigned char *p, const unsigned char *end)
{
	if (p != end && *p == 0xf6)
		return p + 1;
	return ph_bytes(p, end, 32);
}

/* [+ {"f": text, "new": hash/null, "old": hash/null}] */
static const unsigned char *
ph_changes(const unsigned char *p, const unsigned char *end)
{
	uint64_t n, i;

	if ((p = ph_array(p, end, &n)) == NULL)
		return NULL;
	for (i = 0; i < n && p != NULL; i++) {
		if ((p = ph_lit(p, end, "\xa3\x61" "f", 3)) == NULL ||
		    (p = ph_any_text(p, end)) == NULL ||
		    (p = ph_lit(p, end, "\x63new", 4)) == NULL ||
		    (p = ph_hash_or_null(p, end)) == NULL ||
		    (p = ph_lit(p, end, "\x63old", 4)) == NULL)
			return NULL;
		p = ph_hash_or_null(p, end);
	}
	return p;
}

static const unsigned char *
ph_text_list(const unsigned char *p, const unsigned char *end)
{
	uint64_t n, i;

	if ((p = ph_array(p, end, &n)) == NULL)
		return NULL;
	for (i = 0; i < n && p != NULL; i++)
		p = ph_any_text(p, end);
	return p;
}

static const unsigned char *
ph_int_list(const unsigned char *p, const unsigned char *end)
{
	uint64_t n, i;

	if ((p = ph_array(p, end, &n)) == NULL)
		return NULL;
	for (i = 0; i < n && p != NULL; i++)
		p = ph_int(p, end);
	return p;
}

PARSE_STEP const unsigned char *
ph_decision(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *s;
	size_t n, i;

	if ((p = ph_str(p, end, MT_TEXT, &s, &n)) == NULL)
		return NULL;
	for (i = 0; i < sizeof(arec_decisions) / sizeof(*arec_decisions); i++)
		if (n == strlen(arec_decisions[i]) &&
		    memcmp(s, arec_decisions[i], n) == 0)
			return p;
	return NULL;
}

/* [unavailable-since, unavailable-until], from <= to */
PARSE_STEP const unsigned char *
ph_down(const unsigned char *p, const unsigned char *end)
{
	uint64_t n, a, b;

	if ((p = ph_array(p, end, &n)) == NULL || n != 2 ||
	    (p = ph_head(p, end, MT_UINT, &a)) == NULL ||
	    (p = ph_head(p, end, MT_UINT, &b)) == NULL || a > b)
		return NULL;
	return p;
}

/* The value of key k, checked against the CDDL. */
PARSE_STEP const unsigned char *
ph_value(const unsigned char *p, const unsigned char *end, enum arec_key k,
    struct arec_view *v)
{
	const unsigned char *s;
	size_t n;

	switch (k) {
	case AK_N:
		return ph_head(p, end, MT_UINT, &v->n);
	case AK_V:
		return p != end && *p == 0x01 ? p + 1 : NULL;
	case AK_TS:
		return ph_head(p, end, MT_UINT, &v->ts);
	case AK_SEQ:
		return ph_head(p, end, MT_UINT, &v->seq);
	case AK_OP:
		p = ph_text(p, end, &s, &n);
		return n == 0 ? NULL : p;
	case AK_ST: case AK_AID: case AK_TID:
		return ph_int(p, end);
	case AK_WHY: case AK_AFPR: case AK_KIND: case AK_PEER: case AK_ROLE:
	case AK_ACTOR:
		return ph_any_text(p, end);
	case AK_CHG:
		return ph_changes(p, end);
	case AK_DEC:
		return ph_decision(p, end);
	case AK_POL: case AK_NKEY:
		return ph_bytes(p, end, 32);
	case AK_NSIG:
		return ph_bytes(p, end, 64);
	case AK_PREV:
		if ((p = ph_bytes(p, end, 32)) != NULL)
			v->prev = p - 32;
		return p;
	case AK_SESS:
		return ph_bytes(p, end, 16);
	case AK_RET: case AK_MASK:
		return ph_text_list(p, end);
	case AK_TIDS:
		return ph_int_list(p, end);
	case AK_DOWN:
		return ph_down(p, end);
	default:
		return NULL;
	}
}

/*
 * The next key: its head byte and letters read as one word, and *k moved
 * on to that key's slot (canonical order: only forward), the slots passed
 * over marked absent.
 */
PARSE_STEP const unsigned char *
ph_key(const unsigned char *p, const unsigned char *end, unsigned *k,
    struct arec_view *v)
{
	unsigned char b[8];
	uint64_t w;
	size_t n;
	unsigned i;

	if (p == end || (*p & 0xe0) != 0x60 || (n = *p & 0x1f) > 5 ||
	    (size_t)(end - p) - 1 < n)
		return NULL;
	if (end - p >= 8) {
		memcpy(&w, p, 8);
		w &= word_mask[n + 1];
	} else {
		memset(b, 0, sizeof(b));
		memcpy(b, p, n + 1);
		memcpy(&w, b, 8);
	}
	for (i = *k; i < AK_COUNT_ && arec_key_words[i] != w; i++)
		v->val[i] = NULL;
	*k = i;
	/* unknown, repeated or out of order */
	return i < AK_COUNT_ ? p + 1 + n : NULL;
}

#define AK_BIT(k) (1u << (k))
#define AK_REQUIRED (AK_BIT(AK_N) | AK_BIT(AK_V) | AK_BIT(AK_OP) | \
    AK_BIT(AK_TS) | AK_BIT(AK_DEC) | AK_BIT(AK_SEQ) | AK_BIT(AK_PREV))

int
arec_parse(const unsigned char *p, size_t len, struct arec_view *v)
{
	const unsigned char *end = p + len, *q, *at;
	unsigned seen = 0, k = 0;
	uint64_t nk, i;

	if (len > AREC_MAX || (q = ph_head(p, end, MT_MAP, &nk)) == NULL ||
	    nk > AK_COUNT_)
		goto bad;
	for (i = 0; i < nk; i++) {
		if ((q = ph_key(q, end, &k, v)) == NULL)
			goto bad;
		at = q;
		if ((q = ph_value(q, end, (enum arec_key)k, v)) == NULL)
			goto bad;
		v->val[k] = at;
		v->vlen[k] = (size_t)(q - at);
		seen |= AK_BIT(k);
		k++;
	}
	if (q != end || (seen & AK_REQUIRED) != AK_REQUIRED)
		goto bad;
	for (; k < AK_COUNT_; k++)
		v->val[k] = NULL;
	return COFFER_OK;
bad:
	memset(v->val, 0, sizeof(v->val));
	return COFFER_ERR_PROTO;
}

/* ---- values for search filters ----------------------------------------- */

/* A cursor over one value that arec_parse has already checked. */
struct rd {
	const unsigned char *p;
	size_t len, pos;
};

/* One head in shortest form; major 7 only as a simple value. */
static int
rd_head(struct rd *r, unsigned *major, uint64_t *v)
{
	unsigned ib, info;
	size_t n, i;

	if (r->pos >= r->len)
		return COFFER_ERR_PROTO;
	ib = r->p[r->pos++];
	*major = ib >> 5;
	info = ib & 0x1f;
	if (info < 24) {
		*v = info;
		return COFFER_OK;
	}
	if (info > 27 || *major == MT_7)
		return COFFER_ERR_PROTO;
	n = (size_t)1 << (info - 24);
	if (r->len - r->pos < n)
		return COFFER_ERR_PROTO;
	*v = 0;
	for (i = 0; i < n; i++)
		*v = *v << 8 | r->p[r->pos++];
	if (head_len(*v) != n + 1)	/* not the shortest form */
		return COFFER_ERR_PROTO;
	return COFFER_OK;
}

/* The text arec_parse checked (as UTF-8 too): no second check here. */
int
arec_text(const struct arec_view *v, enum arec_key k,
    const unsigned char **s, size_t *n)
{
	struct rd r;
	unsigned mt;
	uint64_t x;

	if ((unsigned)k >= AK_COUNT_ || v->val[k] == NULL)
		return COFFER_ERR_NOT_FOUND;
	r = (struct rd){ v->val[k], v->vlen[k], 0 };
	if (rd_head(&r, &mt, &x) != COFFER_OK || mt != MT_TEXT ||
	    x != r.len - r.pos)
		return COFFER_ERR_PROTO;
	*s = r.p + r.pos;
	*n = (size_t)x;
	return COFFER_OK;
}

/* The int at r (major 0 or 1, within int64: arec_parse checked). */
static int
rd_int_value(struct rd *r, int64_t *out)
{
	unsigned mt;
	uint64_t x;

	if (rd_head(r, &mt, &x) != COFFER_OK || mt > MT_NEG ||
	    x > INT64_MAX)
		return COFFER_ERR_PROTO;
	*out = mt == MT_UINT ? (int64_t)x : -1 - (int64_t)x;
	return COFFER_OK;
}

int
arec_int(const struct arec_view *v, enum arec_key k, int64_t *out)
{
	struct rd r;

	if ((unsigned)k >= AK_COUNT_ || v->val[k] == NULL)
		return COFFER_ERR_NOT_FOUND;
	r = (struct rd){ v->val[k], v->vlen[k], 0 };
	return rd_int_value(&r, out);
}

int
arec_has_target(const struct arec_view *v, int64_t id)
{
	struct rd r;
	unsigned mt;
	uint64_t n, i;
	int64_t x;

	if (arec_int(v, AK_TID, &x) == COFFER_OK && x == id)
		return 1;
	if (v->val[AK_TIDS] == NULL)
		return 0;
	r = (struct rd){ v->val[AK_TIDS], v->vlen[AK_TIDS], 0 };
	if (rd_head(&r, &mt, &n) != COFFER_OK || mt != MT_ARRAY)
		return 0;
	for (i = 0; i < n; i++) {
		if (rd_int_value(&r, &x) != COFFER_OK)
			return 0;
		if (x == id)
			return 1;
	}
	return 0;
}

/* ---- JSON -------------------------------------------------------------- */

static const char *const arec_json_names[AK_COUNT_] = {
	"count", "v", "op", "status", "time", "actor_id", "changes",
	"decision", "policy", "returned", "seq", "target_id", "reason",
	"actor_fpr", "unavailable", "kind", "masked", "new_key",
	"new_key_sig", "peer", "prev", "role", "session", "target_ids", "actor"
};

struct jbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void
jput(struct jbuf *j, const char *s, size_t n)
{
	char *np;
	size_t cap;

	if (j->err)
		return;
	if (j->len + n + 1 > j->cap) {
		cap = j->cap ? j->cap * 2 : 1024;
		while (cap < j->len + n + 1)
			cap *= 2;
		if ((np = realloc(j->p, cap)) == NULL) {
			j->err = COFFER_ERR_NOMEM;
			return;
		}
		j->p = np;
		j->cap = cap;
	}
	memcpy(j->p + j->len, s, n);
	j->len += n;
	j->p[j->len] = '\0';
}

static void
jputs(struct jbuf *j, const char *s)
{
	jput(j, s, strlen(s));
}

static void
jtime(struct jbuf *j, uint64_t us)
{
	char b[64];
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		j->err = COFFER_ERR_INVALID;
		return;
	}
	snprintf(b, sizeof(b), "\"%04d-%02d-%02dT%02d:%02d:%02d.%06uZ\"",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (unsigned)(us % 1000000));
	jputs(j, b);
}

static void
jstring(struct jbuf *j, const unsigned char *s, size_t n)
{
	char e[8];
	size_t i;

	jput(j, "\"", 1);
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			e[0] = '\\';
			e[1] = (char)s[i];
			jput(j, e, 2);
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(e, sizeof(e), "\\u%04x", s[i]);
			jputs(j, e);
		} else {
			jput(j, (const char *)s + i, 1);
		}
	}
	jput(j, "\"", 1);
}

/* Any value of a parsed record: bytes as hex, ints as numbers. */
static void
jvalue(struct jbuf *j, struct rd *r, int as_time)
{
	char b[80];
	unsigned mt;
	uint64_t v, i;

	if (r->pos < r->len && r->p[r->pos] == 0xf6) {
		r->pos++;
		jputs(j, "null");
		return;
	}
	if (rd_head(r, &mt, &v) != COFFER_OK) {
		j->err = COFFER_ERR_PROTO;
		return;
	}
	switch (mt) {
	case MT_UINT:
		if (as_time) {
			jtime(j, v);
			return;
		}
		snprintf(b, sizeof(b), "%" PRIu64, v);
		jputs(j, b);
		return;
	case MT_NEG:
		snprintf(b, sizeof(b), "-%" PRIu64, v + 1);
		jputs(j, b);
		return;
	case MT_BYTES:
		jput(j, "\"", 1);
		for (i = 0; i < v; i++) {
			snprintf(b, sizeof(b), "%02x", r->p[r->pos + i]);
			jput(j, b, 2);
		}
		jput(j, "\"", 1);
		r->pos += (size_t)v;
		return;
	case MT_TEXT:
		jstring(j, r->p + r->pos, (size_t)v);
		r->pos += (size_t)v;
		return;
	case MT_ARRAY:
		jput(j, "[", 1);
		for (i = 0; i < v; i++) {
			if (i > 0)
				jput(j, ",", 1);
			jvalue(j, r, as_time);
		}
		jput(j, "]", 1);
		return;
	case MT_MAP:
		jput(j, "{", 1);
		for (i = 0; i < v; i++) {
			if (i > 0)
				jput(j, ",", 1);
			jvalue(j, r, 0);
			jput(j, ":", 1);
			jvalue(j, r, 0);
		}
		jput(j, "}", 1);
		return;
	default:
		j->err = COFFER_ERR_PROTO;
	}
}

int
arec_json(const struct arec_view *v, char **out)
{
	struct jbuf j = { NULL, 0, 0, 0 };
	struct rd r;
	int k, first = 1;

	*out = NULL;
	jput(&j, "{", 1);
	for (k = 0; k < AK_COUNT_; k++) {
		if (v->val[k] == NULL || k == AK_V)
			continue;
		if (!first)
			jput(&j, ",", 1);
		first = 0;
		jstring(&j, (const unsigned char *)arec_json_names[k],
		    strlen(arec_json_names[k]));
		jput(&j, ":", 1);
		r = (struct rd){ v->val[k], v->vlen[k], 0 };
		jvalue(&j, &r, k == AK_TS || k == AK_DOWN);
	}
	jput(&j, "}", 1);
	if (j.err) {
		free(j.p);
		return j.err;
	}
	*out = j.p;
	return COFFER_OK;
}
