/*
 * sha256.c - SHA-256 for the audit log's Merkle tree.  libsodium 1.0.18
 * has only a portable SHA-256 (about 0.3 us per 64-byte block here), which
 * caps the verifier near 450,000 records/s; the x86 SHA extensions do the
 * same block in a fraction of that, so they are used when the CPU has
 * them and libsodium otherwise.  Both paths are checked against each other
 * in tests/unit/test_audit_merkle.c.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "audit_int.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define H256_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t h256_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
};

static void h256_out(const uint32_t st[8], unsigned char out[32]);

static int h256_mode = -1;  /* -1 unknown, 0 libsodium, 1 SHA-NI */
static int h256_forced;

#ifdef H256_SHANI
static const uint32_t h256_k[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b,
	0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
	0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
	0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152,
	0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
	0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
	0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
	0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

/*
 * The state lives in two registers as (A,B,E,F) and (C,D,G,H), the order
 * the sha256rnds2 instruction wants; each loop turn does four rounds and,
 * from the fifth on, extends the message schedule four words at a time.
 */
__attribute__((target("sha,sse4.1,ssse3")))
static void
h256_blocks_shani(uint32_t st[8], const unsigned char *p, size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL,
	    0x0405060700010203ULL);
	__m128i s0, s1, t, abef, cdgh, m[4];
	unsigned i;

	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[0]),
	    0xB1);
	s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[4]),
	    0x1B);
	s0 = _mm_alignr_epi8(t, s1, 8);
	s1 = _mm_blend_epi16(s1, t, 0xF0);
	for (; nblocks > 0; nblocks--, p += 64) {
		abef = s0;
		cdgh = s1;
		/* Unrolled, the i < 4 test and the ring indices vanish. */
#if defined(__clang__)
#pragma unroll
#else
#pragma GCC unroll 16
#endif
		for (i = 0; i < 16; i++) {
			if (i < 4) {
				m[i] = _mm_shuffle_epi8(_mm_loadu_si128(
				    (const __m128i *)(p + 16 * i)), bswap);
			} else {
				t = _mm_sha256msg1_epu32(m[i & 3],
				    m[(i + 1) & 3]);
				t = _mm_add_epi32(t, _mm_alignr_epi8(
				    m[(i + 3) & 3], m[(i + 2) & 3], 4));
				m[i & 3] = _mm_sha256msg2_epu32(t,
				    m[(i + 3) & 3]);
			}
			t = _mm_add_epi32(m[i & 3], _mm_load_si128(
			    (const __m128i *)&h256_k[4 * i]));
			s1 = _mm_sha256rnds2_epu32(s1, s0, t);
			t = _mm_shuffle_epi32(t, 0x0E);
			s0 = _mm_sha256rnds2_epu32(s0, s1, t);
		}
		s0 = _mm_add_epi32(s0, abef);
		s1 = _mm_add_epi32(s1, cdgh);
	}
	t = _mm_shuffle_epi32(s0, 0x1B);
	s1 = _mm_shuffle_epi32(s1, 0xB1);
	s0 = _mm_blend_epi16(t, s1, 0xF0);
	s1 = _mm_alignr_epi8(s1, t, 8);
	_mm_storeu_si128((__m128i *)&st[0], s0);
	_mm_storeu_si128((__m128i *)&st[4], s1);
}

/*
 * Two independent messages at once: one sha256rnds2 chain leaves the SHA
 * unit idle between dependent instructions, two chains fill the gaps.
 * Leaf hashes of consecutive records are independent, so the verifier
 * hashes them in pairs.  The blocks are given as lists of pointers, so
 * that most of them are read where the caller has them.
 */
__attribute__((target("sha,sse4.1,ssse3")))
static void
h256_blocks_shani_x2(uint32_t sta[8], const unsigned char *const *bla,
    uint32_t stb[8], const unsigned char *const *blb, size_t nblocks)
{
	const unsigned char *pa, *pb;
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL,
	    0x0405060700010203ULL);
	__m128i a0, a1, b0, b1, ta, tb, k, sa0, sa1, sb0, sb1, ma[4], mb[4];
	unsigned i;

	ta = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&sta[0]),
	    0xB1);
	a1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&sta[4]),
	    0x1B);
	a0 = _mm_alignr_epi8(ta, a1, 8);
	a1 = _mm_blend_epi16(a1, ta, 0xF0);
	tb = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&stb[0]),
	    0xB1);
	b1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&stb[4]),
	    0x1B);
	b0 = _mm_alignr_epi8(tb, b1, 8);
	b1 = _mm_blend_epi16(b1, tb, 0xF0);
	for (; nblocks > 0; nblocks--) {
		pa = *bla++;
		pb = *blb++;
		sa0 = a0;
		sa1 = a1;
		sb0 = b0;
		sb1 = b1;
#if defined(__clang__)
#pragma unroll
#else
#pragma GCC unroll 16
#endif
		for (i = 0; i < 16; i++) {
			if (i < 4) {
				ma[i] = _mm_shuffle_epi8(_mm_loadu_si128(
				    (const __m128i *)(pa + 16 * i)), bswap);
				mb[i] = _mm_shuffle_epi8(_mm_loadu_si128(
				    (const __m128i *)(pb + 16 * i)), bswap);
			} else {
				ta = _mm_sha256msg1_epu32(ma[i & 3],
				    ma[(i + 1) & 3]);
				tb = _mm_sha256msg1_epu32(mb[i & 3],
				    mb[(i + 1) & 3]);
				ta = _mm_add_epi32(ta, _mm_alignr_epi8(
				    ma[(i + 3) & 3], ma[(i + 2) & 3], 4));
				tb = _mm_add_epi32(tb, _mm_alignr_epi8(
				    mb[(i + 3) & 3], mb[(i + 2) & 3], 4));
				ma[i & 3] = _mm_sha256msg2_epu32(ta,
				    ma[(i + 3) & 3]);
				mb[i & 3] = _mm_sha256msg2_epu32(tb,
				    mb[(i + 3) & 3]);
			}
			k = _mm_load_si128((const __m128i *)&h256_k[4 * i]);
			ta = _mm_add_epi32(ma[i & 3], k);
			tb = _mm_add_epi32(mb[i & 3], k);
			a1 = _mm_sha256rnds2_epu32(a1, a0, ta);
			b1 = _mm_sha256rnds2_epu32(b1, b0, tb);
			ta = _mm_shuffle_epi32(ta, 0x0E);
			tb = _mm_shuffle_epi32(tb, 0x0E);
			a0 = _mm_sha256rnds2_epu32(a0, a1, ta);
			b0 = _mm_sha256rnds2_epu32(b0, b1, tb);
		}
		a0 = _mm_add_epi32(a0, sa0);
		a1 = _mm_add_epi32(a1, sa1);
		b0 = _mm_add_epi32(b0, sb0);
		b1 = _mm_add_epi32(b1, sb1);
	}
	ta = _mm_shuffle_epi32(a0, 0x1B);
	a1 = _mm_shuffle_epi32(a1, 0xB1);
	_mm_storeu_si128((__m128i *)&sta[0], _mm_blend_epi16(ta, a1, 0xF0));
	_mm_storeu_si128((__m128i *)&sta[4], _mm_alignr_epi8(a1, ta, 8));
	tb = _mm_shuffle_epi32(b0, 0x1B);
	b1 = _mm_shuffle_epi32(b1, 0xB1);
	_mm_storeu_si128((__m128i *)&stb[0], _mm_blend_epi16(tb, b1, 0xF0));
	_mm_storeu_si128((__m128i *)&stb[4], _mm_alignr_epi8(b1, tb, 8));
}

static int
h256_cpu_has_shani(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & (1u << 9)) || !(c & (1u << 19)))	/* SSSE3, SSE4.1 */
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & (1u << 29)) != 0;			/* SHA */
}
#else
static void
h256_blocks_shani(uint32_t st[8], const unsigned char *p, size_t nblocks)
{
	(void)st;
	(void)p;
	(void)nblocks;
}

static void
h256_blocks_shani_x2(uint32_t sta[8], const unsigned char *const *bla,
    uint32_t stb[8], const unsigned char *const *blb, size_t nblocks)
{
	(void)sta;
	(void)bla;
	(void)stb;
	(void)blb;
	(void)nblocks;
}

static int
h256_cpu_has_shani(void)
{
	return 0;
}
#endif

int
h256_accelerated(void)
{
	/* A benign race: every thread computes the same answer. */
	if (h256_mode < 0)
		h256_mode = h256_cpu_has_shani();
	return h256_mode == 1 && !h256_forced;
}

void
h256_force_portable(int on)
{
	h256_forced = on != 0;
}

void
h256_init(struct h256 *h)
{
	h->portable = !h256_accelerated();
	h->n = 0;
	h->total = 0;
	if (h->portable)
		crypto_hash_sha256_init(&h->sod);
	else
		memcpy(h->st, h256_iv, sizeof(h->st));
}

void
h256_update(struct h256 *h, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t take;

	if (h->portable) {
		crypto_hash_sha256_update(&h->sod, p, n);
		return;
	}
	h->total += n;
	if (h->n > 0) {
		take = 64 - h->n < n ? 64 - h->n : n;
		memcpy(h->buf + h->n, p, take);
		h->n += take;
		p += take;
		n -= take;
		if (h->n < 64)
			return;
		h256_blocks_shani(h->st, h->buf, 1);
		h->n = 0;
	}
	if (n >= 64) {
		h256_blocks_shani(h->st, p, n / 64);
		p += n & ~(size_t)63;
		n &= 63;
	}
	if (n > 0)
		memcpy(h->buf, p, n);
	h->n = n;
}

void
h256_final(struct h256 *h, unsigned char out[32])
{
	uint64_t bits;
	unsigned i;

	if (h->portable) {
		crypto_hash_sha256_final(&h->sod, out);
		return;
	}
	bits = h->total * 8;
	h->buf[h->n++] = 0x80;
	if (h->n > 56) {
		memset(h->buf + h->n, 0, 64 - h->n);
		h256_blocks_shani(h->st, h->buf, 1);
		h->n = 0;
	}
	memset(h->buf + h->n, 0, 56 - h->n);
	for (i = 0; i < 8; i++)
		h->buf[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
	h256_blocks_shani(h->st, h->buf, 1);
	h256_out(h->st, out);
}

void
h256(unsigned char out[32], const void *p, size_t n)
{
	struct h256 h;

	h256_init(&h);
	h256_update(&h, p, n);
	h256_final(&h, out);
}

/*
 * The 64-byte blocks of prefix || data, padded, as a list of pointers:
 * the blocks wholly inside data are read where they lie (the prefix
 * shifts them: block k starts at data + 64k - 1); the first block, which
 * holds the prefix, and the padded tail are built in buf (H256_MSG_BUF
 * bytes).  Returns the number of blocks.
 */
#define H256_MSG_BUF (3 * 64)

static size_t
h256_msg_blocks(unsigned char prefix, const unsigned char *data, size_t len,
    unsigned char *buf, const unsigned char **blk)
{
	uint64_t bits = ((uint64_t)len + 1) * 8;
	size_t full = (len + 1) / 64, nb = 0, k, rest, total, i;
	unsigned char *t = buf;

	if (full > 0) {
		buf[0] = prefix;
		memcpy(buf + 1, data, 63);
		blk[nb++] = buf;
		for (k = 1; k < full; k++)
			blk[nb++] = data + 64 * k - 1;
		t = buf + 64;
		rest = len + 1 - 64 * full;
		if (rest > 0)
			memcpy(t, data + 64 * full - 1, rest);
	} else {
		t[0] = prefix;
		if (len > 0)
			memcpy(t + 1, data, len);
		rest = len + 1;
	}
	t[rest] = 0x80;
	total = rest + 9 <= 64 ? 64 : 128;
	memset(t + rest + 1, 0, total - 8 - (rest + 1));
	for (i = 0; i < 8; i++)
		t[total - 8 + i] = (unsigned char)(bits >> (56 - 8 * i));
	blk[nb++] = t;
	if (total == 128)
		blk[nb++] = t + 64;
	return nb;
}

/* The state as the big-endian digest (a byte swap per word here). */
static void
h256_out(const uint32_t st[8], unsigned char out[32])
{
	unsigned i;

	for (i = 0; i < 8; i++) {
#if (defined(__GNUC__) || defined(__clang__)) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		uint32_t w = __builtin_bswap32(st[i]);

		memcpy(out + 4 * i, &w, 4);
#else
		out[4 * i] = (unsigned char)(st[i] >> 24);
		out[4 * i + 1] = (unsigned char)(st[i] >> 16);
		out[4 * i + 2] = (unsigned char)(st[i] >> 8);
		out[4 * i + 3] = (unsigned char)st[i];
#endif
	}
}

void
h256_prefixed2(unsigned char prefix, const unsigned char *a, size_t alen,
    unsigned char outa[32], const unsigned char *b, size_t blen,
    unsigned char outb[32], unsigned char *scratch)
{
	const unsigned char *bla[H256_X2_BLOCKS], *blb[H256_X2_BLOCKS];
	uint32_t sa[8], sb[8];
	size_t na, nb, both, k;
	struct h256 h;

	if (!h256_accelerated() || alen > H256_X2_MAX || blen > H256_X2_MAX) {
		h256_init(&h);
		h256_update(&h, &prefix, 1);
		h256_update(&h, a, alen);
		h256_final(&h, outa);
		h256_init(&h);
		h256_update(&h, &prefix, 1);
		h256_update(&h, b, blen);
		h256_final(&h, outb);
		return;
	}
	na = h256_msg_blocks(prefix, a, alen, scratch, bla);
	nb = h256_msg_blocks(prefix, b, blen, scratch + H256_MSG_BUF, blb);
	memcpy(sa, h256_iv, sizeof(sa));
	memcpy(sb, h256_iv, sizeof(sb));
	both = na < nb ? na : nb;
	h256_blocks_shani_x2(sa, bla, sb, blb, both);
	for (k = both; k < na; k++)
		h256_blocks_shani(sa, bla[k], 1);
	for (k = both; k < nb; k++)
		h256_blocks_shani(sb, blb[k], 1);
	h256_out(sa, outa);
	h256_out(sb, outb);
}
