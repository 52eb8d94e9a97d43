/*
 * merkle.c - the RFC 6962 / RFC 9162 Merkle tree over audit records:
 * leaf = SHA-256(0x00 || record), node = SHA-256(0x01 || left || right),
 * the root of n leaves splits at the largest power of two below n.  The
 * log keeps only the compact range (one subtree root per set bit of the
 * size); proofs are built from leaf hashes the caller supplies.
 */
#include <stdint.h>
#include <string.h>

#include "coffer/err.h"
#include "audit_int.h"

void
merkle_leaf(const unsigned char *rec, size_t len, unsigned char out[32])
{
	static const unsigned char zero = 0x00;
	struct h256 h;

	h256_init(&h);
	h256_update(&h, &zero, 1);
	h256_update(&h, rec, len);
	h256_final(&h, out);
}

void
merkle_node(const unsigned char l[32], const unsigned char r[32],
    unsigned char out[32])
{
	unsigned char in[65];

	in[0] = 0x01;
	memcpy(in + 1, l, 32);
	memcpy(in + 33, r, 32);
	h256(out, in, sizeof(in));
}

void
merkle_cr_init(struct merkle_cr *c)
{
	c->size = 0;
	c->n = 0;
}

/*
 * Appending leaf number `size` merges one subtree per trailing one bit of
 * size: those are the equal-sized neighbours the new leaf completes.
 */
void
merkle_cr_push(struct merkle_cr *c, const unsigned char leaf[32])
{
	uint64_t s = c->size;

	memcpy(c->h[c->n++], leaf, 32);
	for (; s & 1; s >>= 1) {
		merkle_node(c->h[c->n - 2], c->h[c->n - 1], c->h[c->n - 2]);
		c->n--;
	}
	c->size++;
}

/* Folding from the right gives the largest-power-of-two split. */
void
merkle_cr_root(const struct merkle_cr *c, unsigned char out[32])
{
	unsigned char r[32];
	unsigned i;

	if (c->n == 0) {
		h256(out, "", 0);
		return;
	}
	memcpy(r, c->h[c->n - 1], 32);
	for (i = c->n - 1; i > 0; i--)
		merkle_node(c->h[i - 1], r, r);
	memcpy(out, r, 32);
}

static uint64_t
split(uint64_t n)	/* largest power of two < n, n >= 2 */
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

void
merkle_root(const unsigned char (*leaves)[32], uint64_t n,
    unsigned char out[32])
{
	unsigned char l[32], r[32];
	uint64_t k;

	if (n == 0) {
		h256(out, "", 0);
		return;
	}
	if (n == 1) {
		memcpy(out, leaves[0], 32);
		return;
	}
	k = split(n);
	merkle_root(leaves, k, l);
	merkle_root(leaves + k, n - k, r);
	merkle_node(l, r, out);
}

/*
 * RFC 9162 2.1.3.1 PATH(m, D[a:b]) unrolled: each level contributes the
 * root of the half m is not in; the proof lists them leaf first.
 */
int
merkle_inclusion_ranges(uint64_t m, uint64_t n, struct merkle_range *r,
    unsigned *k)
{
	struct merkle_range top[MERKLE_MAXLEV];
	uint64_t a = 0, b = n, s;
	unsigned i, cnt = 0;

	*k = 0;
	if (m >= n)
		return COFFER_ERR_INVALID;
	while (b - a > 1) {
		s = a + split(b - a);
		if (cnt >= MERKLE_MAXLEV)
			return COFFER_ERR_INTERNAL;
		if (m < s) {
			top[cnt++] = (struct merkle_range){ s, b };
			b = s;
		} else {
			top[cnt++] = (struct merkle_range){ a, s };
			a = s;
		}
	}
	for (i = 0; i < cnt; i++)
		r[i] = top[cnt - 1 - i];
	*k = cnt;
	return COFFER_OK;
}

int
merkle_inclusion_proof(const unsigned char (*leaves)[32], uint64_t n,
    uint64_t m, unsigned char (*proof)[32], unsigned *k)
{
	struct merkle_range r[MERKLE_MAXLEV];
	unsigned i;
	int rc;

	if ((rc = merkle_inclusion_ranges(m, n, r, k)) != COFFER_OK)
		return rc;
	for (i = 0; i < *k; i++)
		merkle_root(leaves + r[i].a, r[i].b - r[i].a, proof[i]);
	return COFFER_OK;
}

/* RFC 9162 2.1.3.2, step by step. */
int
merkle_inclusion_verify(const unsigned char leaf[32], uint64_t m,
    uint64_t n, const unsigned char (*proof)[32], unsigned k,
    const unsigned char root[32])
{
	unsigned char r[32];
	uint64_t fn = m, sn;
	unsigned i;

	if (m >= n)
		return COFFER_ERR_CRYPTO;
	sn = n - 1;
	memcpy(r, leaf, 32);
	for (i = 0; i < k; i++) {
		if (sn == 0)
			return COFFER_ERR_CRYPTO;
		if ((fn & 1) || fn == sn) {
			merkle_node(proof[i], r, r);
			if (!(fn & 1))
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			merkle_node(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(r, root, 32) != 0)
		return COFFER_ERR_CRYPTO;
	return COFFER_OK;
}

/* RFC 9162 2.1.4.1 SUBPROOF(m, D[a:b], b0), collected root first. */
static int
subproof(const unsigned char (*leaves)[32], uint64_t m, uint64_t a,
    uint64_t b, int whole, unsigned char (*proof)[32], unsigned *k)
{
	uint64_t n = b - a, s;
	int rc;

	if (m == n) {
		if (whole)
			return COFFER_OK;
		if (*k >= MERKLE_MAXPROOF)
			return COFFER_ERR_INTERNAL;
		merkle_root(leaves + a, n, proof[(*k)++]);
		return COFFER_OK;
	}
	s = split(n);
	if (m <= s)
		rc = subproof(leaves, m, a, a + s, whole, proof, k);
	else
		rc = subproof(leaves, m - s, a + s, b, 0, proof, k);
	if (rc != COFFER_OK)
		return rc;
	if (*k >= MERKLE_MAXPROOF)
		return COFFER_ERR_INTERNAL;
	if (m <= s)
		merkle_root(leaves + a + s, n - s, proof[(*k)++]);
	else
		merkle_root(leaves + a, s, proof[(*k)++]);
	return COFFER_OK;
}

int
merkle_consistency_proof(const unsigned char (*leaves)[32], uint64_t m,
    uint64_t n, unsigned char (*proof)[32], unsigned *k)
{
	*k = 0;
	if (m > n)
		return COFFER_ERR_INVALID;
	if (m == 0 || m == n)
		return COFFER_OK;
	return subproof(leaves, m, 0, n, 1, proof, k);
}

/* RFC 9162 2.1.4.2; sizes 0 and equal sizes need an empty proof. */
int
merkle_consistency_verify(uint64_t m, uint64_t n,
    const unsigned char root_m[32], const unsigned char root_n[32],
    const unsigned char (*proof)[32], unsigned k)
{
	unsigned char fr[32], sr[32];
	uint64_t fn, sn;
	unsigned i = 0;

	if (m > n)
		return COFFER_ERR_CRYPTO;
	if (m == n)
		return k == 0 && memcmp(root_m, root_n, 32) == 0 ?
		    COFFER_OK : COFFER_ERR_CRYPTO;
	if (m == 0)
		return k == 0 ? COFFER_OK : COFFER_ERR_CRYPTO;
	if (k == 0)
		return COFFER_ERR_CRYPTO;
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	if ((m & (m - 1)) == 0) {	/* first_hash is the path's start */
		memcpy(fr, root_m, 32);
	} else {
		memcpy(fr, proof[0], 32);
		i = 1;
	}
	memcpy(sr, fr, 32);
	for (; i < k; i++) {
		if (sn == 0)
			return COFFER_ERR_CRYPTO;
		if ((fn & 1) || fn == sn) {
			merkle_node(proof[i], fr, fr);
			merkle_node(proof[i], sr, sr);
			if (!(fn & 1))
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			merkle_node(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(fr, root_m, 32) != 0 ||
	    memcmp(sr, root_n, 32) != 0)
		return COFFER_ERR_CRYPTO;
	return COFFER_OK;
}
