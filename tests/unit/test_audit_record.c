/*
 * test_audit_record.c - the audit record parser (arec_parse), which reads
 * records in words and skips work for ASCII text, held against a plain
 * byte-at-a-time reference parser written from the CDDL in
 * docs/audit-format.md: both must accept and refuse the same bytes and
 * point at the same values, on records of every shape and on many
 * damaged copies of them.  Each buffer is allocated to the record's exact
 * size, so the sanitizer build catches a read past a record's end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffer/err.h"
#include "coffer/msg.h"
#include "coffer/utf8.h"
#include "../../src/audit/audit_int.h"

/* ---- the reference parser ---------------------------------------------- */

struct ref {
	const unsigned char *p;
	size_t len, pos;
};

/* One head, shortest form; major 7 only with a one-byte argument. */
static int
ref_head(struct ref *r, unsigned *mt, uint64_t *v)
{
	unsigned info, n, i;

	if (r->pos >= r->len)
		return -1;
	*mt = r->p[r->pos] >> 5;
	info = r->p[r->pos++] & 0x1f;
	if (info < 24) {
		*v = info;
		return 0;
	}
	if (info > 27 || *mt == 7)
		return -1;
	n = 1u << (info - 24);
	if (r->len - r->pos < n)
		return -1;
	for (*v = 0, i = 0; i < n; i++)
		*v = *v << 8 | r->p[r->pos++];
	if ((n == 1 && *v < 24) || (n == 2 && *v <= 0xff) ||
	    (n == 4 && *v <= 0xffff) || (n == 8 && *v <= 0xffffffffu))
		return -1;
	return 0;
}

static int
ref_uint(struct ref *r, uint64_t *v)
{
	unsigned mt;

	return ref_head(r, &mt, v) != 0 || mt != 0 ? -1 : 0;
}

static int
ref_int(struct ref *r)
{
	unsigned mt;
	uint64_t v;

	if (ref_head(r, &mt, &v) != 0 || mt > 1)
		return -1;
	return mt == 0 || v <= INT64_MAX ? 0 : -1;
}

static int
ref_str(struct ref *r, unsigned want, const unsigned char **s, size_t *n)
{
	unsigned mt;
	uint64_t v;

	if (ref_head(r, &mt, &v) != 0 || mt != want || v > AREC_STR_MAX ||
	    v > r->len - r->pos)
		return -1;
	*s = r->p + r->pos;
	*n = (size_t)v;
	r->pos += (size_t)v;
	if (want == 3 && utf8_check(*s, *n) != *n)
		return -1;
	return 0;
}

static int
ref_text(struct ref *r)
{
	const unsigned char *s;
	size_t n;

	return ref_str(r, 3, &s, &n);
}

static int
ref_bytes(struct ref *r, size_t want)
{
	const unsigned char *s;
	size_t n;

	return ref_str(r, 2, &s, &n) != 0 || n != want ? -1 : 0;
}

static int
ref_array(struct ref *r, uint64_t *n)
{
	unsigned mt;

	if (ref_head(r, &mt, n) != 0 || mt != 4 || *n == 0 ||
	    *n > AREC_LIST_MAX)
		return -1;
	return 0;
}

static int
ref_word(struct ref *r, const char *w)
{
	const unsigned char *s;
	size_t n;

	if (ref_str(r, 3, &s, &n) != 0 || n != strlen(w) ||
	    memcmp(s, w, n) != 0)
		return -1;
	return 0;
}

static int
ref_hash_or_null(struct ref *r)
{
	if (r->pos < r->len && r->p[r->pos] == 0xf6) {
		r->pos++;
		return 0;
	}
	return ref_bytes(r, 32);
}

static int
ref_changes(struct ref *r)
{
	uint64_t n, i, m;
	unsigned mt;

	if (ref_array(r, &n) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (ref_head(r, &mt, &m) != 0 || mt != 5 || m != 3 ||
		    ref_word(r, "f") != 0 || ref_text(r) != 0 ||
		    ref_word(r, "new") != 0 || ref_hash_or_null(r) != 0 ||
		    ref_word(r, "old") != 0 || ref_hash_or_null(r) != 0)
			return -1;
	return 0;
}

static int
ref_list(struct ref *r, int text)
{
	uint64_t n, i;

	if (ref_array(r, &n) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if ((text ? ref_text(r) : ref_int(r)) != 0)
			return -1;
	return 0;
}

static int
ref_value(struct ref *r, int k, struct arec_view *v)
{
	static const char *const dec[] = {
		"allowed", "denied", "pending", "error"
	};
	const unsigned char *s;
	uint64_t a, b;
	size_t n, i;

	switch (k) {
	case AK_N:
		return ref_uint(r, &v->n);
	case AK_V:
		return ref_uint(r, &a) != 0 || a != 1 ? -1 : 0;
	case AK_TS:
		return ref_uint(r, &v->ts);
	case AK_SEQ:
		return ref_uint(r, &v->seq);
	case AK_OP:
		return ref_str(r, 3, &s, &n) != 0 || n == 0 ? -1 : 0;
	case AK_ST: case AK_AID: case AK_TID:
		return ref_int(r);
	case AK_CHG:
		return ref_changes(r);
	case AK_DEC:
		if (ref_str(r, 3, &s, &n) != 0)
			return -1;
		for (i = 0; i < 4; i++)
			if (n == strlen(dec[i]) && memcmp(s, dec[i], n) == 0)
				return 0;
		return -1;
	case AK_POL: case AK_NKEY:
		return ref_bytes(r, 32);
	case AK_NSIG:
		return ref_bytes(r, 64);
	case AK_SESS:
		return ref_bytes(r, 16);
	case AK_PREV:
		if (ref_bytes(r, 32) != 0)
			return -1;
		v->prev = r->p + r->pos - 32;
		return 0;
	case AK_RET: case AK_MASK:
		return ref_list(r, 1);
	case AK_TIDS:
		return ref_list(r, 0);
	case AK_DOWN:
		return ref_array(r, &a) != 0 || a != 2 ||
		    ref_uint(r, &a) != 0 || ref_uint(r, &b) != 0 || a > b ?
		    -1 : 0;
	default:
		return ref_text(r);	/* why afpr kind peer role actor */
	}
}

#define REQUIRED (1u << AK_N | 1u << AK_V | 1u << AK_OP | 1u << AK_TS | \
    1u << AK_DEC | 1u << AK_SEQ | 1u << AK_PREV)

static int
ref_parse(const unsigned char *p, size_t len, struct arec_view *v)
{
	struct ref r = { p, len, 0 };
	const unsigned char *s;
	unsigned mt, seen = 0;
	uint64_t nk, i;
	size_t n, at;
	int k, last = -1;

	memset(v, 0, sizeof(*v));
	if (len > AREC_MAX || ref_head(&r, &mt, &nk) != 0 || mt != 5 ||
	    nk > AK_COUNT_)
		return -1;
	for (i = 0; i < nk; i++) {
		/* a key: canonical order means only later names may follow */
		if (ref_str(&r, 3, &s, &n) != 0)
			return -1;
		for (k = last + 1; k < AK_COUNT_; k++)
			if (strlen(arec_key_names[k]) == n &&
			    memcmp(arec_key_names[k], s, n) == 0)
				break;
		if (k == AK_COUNT_ || s[-1] != (0x60 | n))
			return -1;
		at = r.pos;
		if (ref_value(&r, k, v) != 0)
			return -1;
		v->val[k] = p + at;
		v->vlen[k] = r.pos - at;
		seen |= 1u << k;
		last = k;
	}
	if (r.pos != len || (seen & REQUIRED) != REQUIRED)
		return -1;
	return 0;
}

/* ---- records of every shape -------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned
rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* Text of lengths around every boundary the parser has, some not ASCII. */
static const char *
some_text(char *buf, size_t sz)
{
	static const size_t lens[] = {
		1, 2, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 63, 64, 127, 128,
		255, 256, 300, 1023, 1024, 1500
	};
	static const char *const odd[] = {
		"M\xc3\xbcller", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80",
		"caf\xc3\xa9 cr\xc3\xa8me", "a\xffz", "x\xc3", "\xed\xa0\x80"
	};
	size_t n = lens[rn(sizeof(lens) / sizeof(*lens))], i;

	if (n >= sz)
		n = sz - 1;
	for (i = 0; i < n; i++)
		buf[i] = (char)('a' + rn(26));
	buf[n] = '\0';
	if (rn(4) == 0) {
		/* a multi-byte or broken sequence somewhere in it */
		const char *o = odd[rn(sizeof(odd) / sizeof(*odd))];
		size_t at = rn((unsigned)n + 1), ol = strlen(o);

		if (at + ol < sz) {
			memcpy(buf + at, o, ol);
			if (at + ol > n)
				buf[at + ol] = '\0';
		}
	}
	return buf;
}

static int64_t
some_int(void)
{
	static const int64_t v[] = {
		1, 23, 24, 255, 256, 65535, 65536, 4294967295LL,
		4294967296LL, INT64_MAX, -1, -24, -25, -256, -257, -65537,
		INT64_MIN
	};

	return v[rn(sizeof(v) / sizeof(*v))];
}

struct texts {
	char t[12][1600];
	const char *ret[5], *mask[3];
	int64_t tids[4];
	unsigned char k32[32], sig[64], pol[32], sess[16];
	struct audit_change ch[3];
	cbor_item_t *vals[6];
};

/* A random event: each optional part present or not. */
static void
some_event(struct audit_event *e, struct texts *t)
{
	static const char *const ops[] = {
		"record.get", "key.rotate", "x", "session.login"
	};
	size_t i, nv = 0;

	memset(e, 0, sizeof(*e));
	memset(t->vals, 0, sizeof(t->vals));
	e->op = rn(3) ? ops[rn(4)] : some_text(t->t[0], sizeof(t->t[0]));
	e->decision = (enum audit_decision)rn(4);
	e->count = rn(2) ? (uint64_t)some_int() : 0;
	e->status = rn(3) == 0 ? (int)rn(40) - 20 : 0;
	e->actor_id = rn(2) ? some_int() : 0;
	e->target_id = rn(2) ? some_int() : 0;
	e->actor = rn(2) ? some_text(t->t[1], sizeof(t->t[1])) : NULL;
	e->actor_fpr = rn(2) ? some_text(t->t[2], sizeof(t->t[2])) : NULL;
	e->role = rn(2) ? some_text(t->t[3], sizeof(t->t[3])) : NULL;
	e->peer = rn(2) ? some_text(t->t[4], sizeof(t->t[4])) : NULL;
	e->kind = rn(2) ? some_text(t->t[5], sizeof(t->t[5])) : NULL;
	e->reason = rn(3) == 0 ? some_text(t->t[6], sizeof(t->t[6])) : NULL;
	for (i = 0; i < 32; i++)
		t->k32[i] = t->pol[i] = (unsigned char)rnd();
	for (i = 0; i < 64; i++)
		t->sig[i] = (unsigned char)rnd();
	for (i = 0; i < 16; i++)
		t->sess[i] = (unsigned char)rnd();
	e->session_id = rn(2) ? t->sess : NULL;
	e->policy_hash = rn(2) ? t->pol : NULL;
	if (rn(4) == 0) {
		e->new_key = t->k32;
		e->new_key_sig = t->sig;
	}
	e->nreturned = rn(5);
	for (i = 0; i < e->nreturned; i++)
		t->ret[i] = i < 2 ? some_text(t->t[7 + i], sizeof(t->t[7])) :
		    "phone";
	e->fields_returned = t->ret;
	e->nmasked = rn(3);
	for (i = 0; i < e->nmasked; i++)
		t->mask[i] = i == 0 ? some_text(t->t[9], sizeof(t->t[9])) :
		    "iban";
	e->fields_masked = t->mask;
	e->ntargets = rn(4);
	for (i = 0; i < e->ntargets; i++)
		t->tids[i] = some_int();
	e->target_ids = t->tids;
	e->nchanges = rn(3);
	for (i = 0; i < e->nchanges; i++) {
		t->ch[i].field = some_text(t->t[10 + (i & 1)],
		    sizeof(t->t[10]));
		t->ch[i].old_value = rn(3) ? (t->vals[nv++] =
		    msg_new_str("+49 30 1234567")) : NULL;
		t->ch[i].new_value = rn(3) ? (t->vals[nv++] =
		    msg_new_int(some_int())) : NULL;
	}
	e->changes = t->ch;
}

static void
free_vals(struct texts *t)
{
	size_t i;

	for (i = 0; i < sizeof(t->vals) / sizeof(*t->vals); i++)
		if (t->vals[i] != NULL)
			cbor_decref(&t->vals[i]);
}

/* A record for a random event, in a buffer of exactly its size. */
static unsigned char *
some_record(size_t *len)
{
	static const unsigned char hkey[32] = { 7 };
	static struct texts t;
	static const uint64_t big[] = {
		0, 1, 23, 24, 255, 256, 65535, 65536, 4294967295ULL,
		4294967296ULL, UINT64_MAX
	};
	unsigned char prev[32], *buf = NULL;
	uint64_t down[2], seq, ts;
	struct audit_event e;
	struct arec_pre p;
	size_t i;
	int rc;

	for (i = 0; i < 32; i++)
		prev[i] = (unsigned char)rnd();
	seq = big[rn(sizeof(big) / sizeof(*big))];
	ts = big[rn(sizeof(big) / sizeof(*big))];
	down[0] = rn(1000);
	down[1] = down[0] + rn(1000);
	do {
		some_event(&e, &t);
		rc = arec_prepare(&e, hkey, rn(4) == 0 ? down : NULL, &p);
		free_vals(&t);
	} while (rc != COFFER_OK);	/* too big: another one */
	*len = arec_size(&p, seq, ts);
	buf = malloc(*len);
	assert_non_null(buf);
	arec_assemble(&p, seq, ts, prev, buf);
	arec_pre_free(&p);
	return buf;
}

/* ---- the comparison ------------------------------------------------------ */

static size_t n_ok, n_refused;

/*
 * Both parsers on a copy of exactly len bytes: same verdict, same view.
 * Returns arec_parse's verdict.
 */
static int
agree(const unsigned char *rec, size_t len)
{
	unsigned char *c = malloc(len ? len : 1);
	struct arec_view a, b;
	int ra, rb, k;

	assert_non_null(c);
	if (len > 0)
		memcpy(c, rec, len);
	memset(&a, 0xa5, sizeof(a));
	ra = arec_parse(c, len, &a);
	rb = ref_parse(c, len, &b);
	if ((ra == COFFER_OK) != (rb == 0)) {
		fprintf(stderr, "parsers disagree (%d vs %d) on %zu bytes:",
		    ra, rb, len);
		for (k = 0; k < (int)len && k < 600; k++)
			fprintf(stderr, " %02x", c[k]);
		fprintf(stderr, "\n");
		fail();
	}
	if (ra != COFFER_OK) {
		assert_int_equal(ra, COFFER_ERR_PROTO);
		n_refused++;
		free(c);
		return ra;
	}
	n_ok++;
	assert_int_equal(a.seq, b.seq);
	assert_int_equal(a.ts, b.ts);
	assert_int_equal(a.n, b.n);
	assert_ptr_equal(a.prev, b.prev);
	for (k = 0; k < AK_COUNT_; k++) {
		assert_ptr_equal(a.val[k], b.val[k]);
		if (a.val[k] != NULL)
			assert_int_equal(a.vlen[k], b.vlen[k]);
	}
	free(c);
	return ra;
}

/* One damage: a bit, a byte set to a telling value, a cut, a splice. */
static size_t
damage(unsigned char *t, const unsigned char *r, size_t n)
{
	static const unsigned char telling[] = {
		0x00, 0x01, 0x02, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f,
		0x20, 0x37, 0x38, 0x3b, 0x40, 0x50, 0x57, 0x58, 0x59, 0x5f,
		0x60, 0x61, 0x62, 0x65, 0x66, 0x77, 0x78, 0x79, 0x7a, 0x7f,
		0x80, 0x81, 0x82, 0x9f, 0xa0, 0xa3, 0xb7, 0xb8, 0xb9, 0xbf,
		0xc0, 0xc1, 0xc2, 0xc3, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4,
		0xf5, 0xf6, 0xf7, 0xf8, 0xff
	};
	static const char *const seqs[] = {
		"\xc3\xa9", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xe2\x82", "\xf0\x9f\x98\x80", "\x80\x80", "\xef\xbf\xbd"
	};
	size_t at = n ? rn((unsigned)n) : 0, l;
	const char *s;

	memcpy(t, r, n);
	switch (rn(5)) {
	case 0:
		t[at] ^= (unsigned char)(1u << rn(8));
		return n;
	case 1:
	case 2:
		t[at] = telling[rn(sizeof(telling))];
		return n;
	case 3:
		return at;
	default:
		s = seqs[rn(sizeof(seqs) / sizeof(*seqs))];
		l = strlen(s);
		if (at + l <= n)
			memcpy(t + at, s, l);
		return n;
	}
}

/* Untouched records of every shape parse, and both parsers agree. */
static void
t_shapes_agree(void **state)
{
	unsigned char *r;
	size_t n, i, cut;

	(void)state;
	for (i = 0; i < 1500; i++) {
		r = some_record(&n);
		/* every record the encoder writes is valid */
		assert_int_equal(agree(r, n), COFFER_OK);
		if (i < 40)	/* and no prefix of one is */
			for (cut = 0; cut < n; cut++)
				assert_int_equal(agree(r, cut),
				    COFFER_ERR_PROTO);
		free(r);
	}
}

/* Damaged copies: the same verdicts, byte for byte. */
static void
t_damage_agrees(void **state)
{
	unsigned char *r, *t;
	size_t n, m, i, j;

	(void)state;
	n_ok = n_refused = 0;
	for (i = 0; i < 400; i++) {
		r = some_record(&n);
		t = malloc(n);
		assert_non_null(t);
		for (j = 0; j < 250; j++) {
			m = damage(t, r, n);
			agree(t, m);
			if (rn(8) == 0) {	/* and a second damage */
				m = damage(t, t, m);
				agree(t, m);
			}
		}
		free(t);
		free(r);
	}
	/* the damage was varied enough to reach both verdicts often */
	assert_true(n_ok > 10000);
	assert_true(n_refused > 10000);
}

/* "n": 0, "v": 1, "op": "x", "ts": 0, "dec": "error", "seq" (no value) */
#define HEAD_KEYS "\x61n\x00\x61v\x01\x62op\x61x\x62ts\x00" \
    "\x63" "dec\x65" "error\x63seq"

static size_t
put(unsigned char *r, size_t n, const char *s, size_t len)
{
	memcpy(r + n, s, len);
	return n + len;
}

/* Hand-made cases at the edges of the word-wide reads. */
static void
t_edges(void **state)
{
	/* HEAD_KEYS 0, "prev": h32, "actor": TEXT: the text ends the record */
	unsigned char r[128], *t;
	struct arec_view v;
	const unsigned char *s;
	size_t n, base, tl, i;
	static const char *const texts[] = {
		"", "a", "abcdefg", "abcdefgh", "abcdefghi", "M\xc3\xbcller",
		"abcdefghijklmno\xc3", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
		"0123456789abcdef", "0123456789abcdef0", "\xff", "abc\x80"
	};

	(void)state;
	n = 0;
	r[n++] = 0xa8;
	n = put(r, n, HEAD_KEYS, sizeof(HEAD_KEYS) - 1);
	n = put(r, n, "\x00\x64prev\x58\x20", 8);
	memset(r + n, 0xee, 32);
	n += 32;
	n = put(r, n, "\x65" "actor", 6);
	base = n;
	for (i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		tl = strlen(texts[i]);
		n = base;
		r[n++] = (unsigned char)(0x60 | tl);
		memcpy(r + n, texts[i], tl);
		n += tl;
		t = malloc(n);
		memcpy(t, r, n);
		agree(t, n);
		if (utf8_check((const unsigned char *)texts[i], tl) == tl) {
			assert_int_equal(arec_parse(t, n, &v), COFFER_OK);
			assert_int_equal(arec_text(&v, AK_ACTOR, &s, &tl),
			    COFFER_OK);
			assert_memory_equal(s, texts[i], tl);
		} else {
			assert_int_equal(arec_parse(t, n, &v),
			    COFFER_ERR_PROTO);
		}
		free(t);
	}
	/* a key whose letters reach the end: "actor" cut to "act" */
	t = malloc(base - 2);
	memcpy(t, r, base - 2);
	assert_int_equal(arec_parse(t, base - 2, &v), COFFER_ERR_PROTO);
	agree(t, base - 2);
	free(t);
}

/* Values the writer never produces but a forger might. */
static void
t_forgeries(void **state)
{
	static const struct {
		const char *hex_value;	/* replaces "seq": 0 */
		int ok;
	} seqs[] = {
		{ "17", 1 }, { "1818", 1 }, { "1817", 0 }, { "190100", 1 },
		{ "1900ff", 0 }, { "1a00010000", 1 }, { "1a0000ffff", 0 },
		{ "1b0000000100000000", 1 }, { "1b00000000ffffffff", 0 },
		{ "1c", 0 }, { "1f", 0 }, { "20", 0 }, { "f6", 0 }, { "f4", 0 },
		{ "40", 0 }, { "60", 0 }
	};
	unsigned char r[128], *t;
	struct arec_view v;
	size_t n, i, j, hl;
	unsigned x;

	(void)state;
	for (i = 0; i < sizeof(seqs) / sizeof(*seqs); i++) {
		n = 0;
		r[n++] = 0xa7;
		n = put(r, n, HEAD_KEYS, sizeof(HEAD_KEYS) - 1);
		hl = strlen(seqs[i].hex_value) / 2;
		for (j = 0; j < hl; j++) {
			sscanf(seqs[i].hex_value + 2 * j, "%2x", &x);
			r[n++] = (unsigned char)x;
		}
		n = put(r, n, "\x64prev\x58\x20", 7);
		memset(r + n, 0, 32);
		n += 32;
		t = malloc(n);
		memcpy(t, r, n);
		agree(t, n);
		assert_int_equal(arec_parse(t, n, &v),
		    seqs[i].ok ? COFFER_OK : COFFER_ERR_PROTO);
		/* prev as a 32-byte string with a two-byte length */
		if (seqs[i].ok) {
			t = realloc(t, n + 1);
			memmove(t + n - 32, t + n - 33, 33);
			t[n - 34] = 0x59;
			t[n - 33] = 0x00;
			t[n - 32] = 0x20;
			agree(t, n + 1);
			assert_int_equal(arec_parse(t, n + 1, &v),
			    COFFER_ERR_PROTO);
		}
		free(t);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_shapes_agree),
		cmocka_unit_test(t_damage_agrees),
		cmocka_unit_test(t_edges),
		cmocka_unit_test(t_forgeries),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
