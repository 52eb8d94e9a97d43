/*
 * test_audit_merkle.c - SHA-256 (SHA-NI and libsodium paths against
 * libsodium), the RFC 6962 tree: compact range against a naive recursion
 * for every size up to 64, the Certificate Transparency reference roots,
 * and inclusion and consistency proofs that verify - and fail when
 * anything in them is changed.
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
#include "../../src/audit/audit_int.h"

#define MAXN 64

static unsigned char leaves[MAXN][32];

/* The definition, written out independently of merkle.c. */
static void
naive_root(const unsigned char (*l)[32], uint64_t n, unsigned char out[32])
{
	unsigned char buf[65];
	uint64_t k = 1;

	if (n == 0) {
		crypto_hash_sha256(out, (const unsigned char *)"", 0);
		return;
	}
	if (n == 1) {
		memcpy(out, l[0], 32);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	buf[0] = 0x01;
	naive_root(l, k, buf + 1);
	naive_root(l + k, n - k, buf + 33);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

static void
sha_both_paths(int portable)
{
	unsigned char buf[1100], a[32], b[32], c[32], d[32];
	unsigned char scratch[H256_X2_SCRATCH], pre[1101];
	size_t n, m;

	h256_force_portable(portable);
	if (portable)
		assert_false(h256_accelerated());
	for (n = 0; n < sizeof(buf); n++)
		buf[n] = (unsigned char)(n * 131 + 7);
	for (n = 0; n < sizeof(buf); n++) {
		h256(a, buf, n);
		crypto_hash_sha256(b, buf, n);
		assert_memory_equal(a, b, 32);
	}
	/* the two-at-once leaf hash, against the one-by-one one */
	for (n = 0; n < 300; n += 7) {
		for (m = 0; m < 300; m += 11) {
			h256_prefixed2(0x00, buf, n, a, buf + 1, m, b, scratch);
			pre[0] = 0x00;
			memcpy(pre + 1, buf, n);
			crypto_hash_sha256(c, pre, n + 1);
			memcpy(pre + 1, buf + 1, m);
			crypto_hash_sha256(d, pre, m + 1);
			assert_memory_equal(a, c, 32);
			assert_memory_equal(b, d, 32);
		}
	}
	h256_force_portable(0);
}

static void
t_sha256_accelerated(void **state)
{
	(void)state;
	if (!h256_accelerated())
		print_message("no SHA-NI on this CPU: libsodium path only\n");
	sha_both_paths(0);
}

static void
t_sha256_portable(void **state)
{
	(void)state;
	sha_both_paths(1);
}

static void
t_compact_range_vs_naive(void **state)
{
	struct merkle_cr cr;
	unsigned char a[32], b[32], c[32];
	uint64_t n;

	(void)state;
	merkle_cr_init(&cr);
	for (n = 0; n <= MAXN; n++) {
		merkle_cr_root(&cr, a);
		naive_root((const unsigned char (*)[32])leaves, n, b);
		merkle_root((const unsigned char (*)[32])leaves, n, c);
		assert_memory_equal(a, b, 32);
		assert_memory_equal(c, b, 32);
		assert_int_equal(cr.size, n);
		assert_int_equal(cr.n, __builtin_popcountll(n));
		if (n < MAXN)
			merkle_cr_push(&cr, leaves[n]);
	}
}

/* RFC 6962 reference data (certificate-transparency test vectors). */
static void
t_ct_reference_roots(void **state)
{
	static const char *const data[8] = {
		"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
		"606162636465666768696a6b6c6d6e6f"
	};
	static const char *const roots[8] = {
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
	};
	struct merkle_cr cr;
	unsigned char d[16], leaf[32], root[32], want[32];
	size_t dl, wl;
	int i;

	(void)state;
	merkle_cr_init(&cr);
	for (i = 0; i < 8; i++) {
		assert_int_equal(sodium_hex2bin(d, sizeof(d), data[i],
		    strlen(data[i]), NULL, &dl, NULL), 0);
		merkle_leaf(d, dl, leaf);
		merkle_cr_push(&cr, leaf);
		merkle_cr_root(&cr, root);
		assert_int_equal(sodium_hex2bin(want, 32, roots[i], 64, NULL,
		    &wl, NULL), 0);
		assert_memory_equal(root, want, 32);
	}
}

static void
t_inclusion_proofs(void **state)
{
	unsigned char proof[MERKLE_MAXPROOF][32], root[32], bad[32];
	uint64_t n, m;
	unsigned k, i;

	(void)state;
	for (n = 1; n <= MAXN; n++) {
		naive_root((const unsigned char (*)[32])leaves, n, root);
		for (m = 0; m < n; m++) {
			assert_int_equal(merkle_inclusion_proof(
			    (const unsigned char (*)[32])leaves, n, m, proof,
			    &k), COFFER_OK);
			assert_int_equal(merkle_inclusion_verify(leaves[m], m,
			    n, (const unsigned char (*)[32])proof, k, root),
			    COFFER_OK);
			/* another leaf, another index */
			assert_int_not_equal(merkle_inclusion_verify(
			    leaves[(m + 1) % MAXN], m, n,
			    (const unsigned char (*)[32])proof, k, root),
			    COFFER_OK);
			if (n > 1)
				assert_int_not_equal(merkle_inclusion_verify(
				    leaves[m], (m + 1) % n, n,
				    (const unsigned char (*)[32])proof, k,
				    root), COFFER_OK);
			/*
			 * The size is bound by the signed checkpoint, not by
			 * the proof (a proof for size 3 also has the shape of
			 * one for 4); an index outside the tree must fail.
			 */
			assert_int_not_equal(merkle_inclusion_verify(leaves[m],
			    m, m, (const unsigned char (*)[32])proof, k,
			    root), COFFER_OK);
			/* every proof hash, flipped; one hash short */
			for (i = 0; i < k; i++) {
				memcpy(bad, proof[i], 32);
				proof[i][i % 32] ^= 0x01;
				assert_int_not_equal(merkle_inclusion_verify(
				    leaves[m], m, n,
				    (const unsigned char (*)[32])proof, k,
				    root), COFFER_OK);
				memcpy(proof[i], bad, 32);
			}
			if (k > 0)
				assert_int_not_equal(merkle_inclusion_verify(
				    leaves[m], m, n,
				    (const unsigned char (*)[32])proof, k - 1,
				    root), COFFER_OK);
		}
	}
	assert_int_equal(merkle_inclusion_proof(
	    (const unsigned char (*)[32])leaves, 4, 4, proof, &k),
	    COFFER_ERR_INVALID);
}

static void
t_consistency_proofs(void **state)
{
	unsigned char proof[MERKLE_MAXPROOF][32], r1[32], r2[32], save[32];
	uint64_t n, m;
	unsigned k, i;

	(void)state;
	for (n = 1; n <= MAXN; n++) {
		naive_root((const unsigned char (*)[32])leaves, n, r2);
		for (m = 1; m <= n; m++) {
			naive_root((const unsigned char (*)[32])leaves, m, r1);
			assert_int_equal(merkle_consistency_proof(
			    (const unsigned char (*)[32])leaves, m, n, proof,
			    &k), COFFER_OK);
			assert_int_equal(merkle_consistency_verify(m, n, r1, r2,
			    (const unsigned char (*)[32])proof, k), COFFER_OK);
			if (m == n)
				continue;
			/* a forked old tree: another root at size m */
			r1[0] ^= 1;
			assert_int_not_equal(merkle_consistency_verify(m, n, r1,
			    r2, (const unsigned char (*)[32])proof, k),
			    COFFER_OK);
			r1[0] ^= 1;
			r2[31] ^= 1;
			assert_int_not_equal(merkle_consistency_verify(m, n, r1,
			    r2, (const unsigned char (*)[32])proof, k),
			    COFFER_OK);
			r2[31] ^= 1;
			for (i = 0; i < k; i++) {
				memcpy(save, proof[i], 32);
				proof[i][5] ^= 0x80;
				assert_int_not_equal(merkle_consistency_verify(
				    m, n, r1, r2,
				    (const unsigned char (*)[32])proof, k),
				    COFFER_OK);
				memcpy(proof[i], save, 32);
			}
			assert_int_not_equal(merkle_consistency_verify(m, n, r1,
			    r2, (const unsigned char (*)[32])proof, k - 1),
			    COFFER_OK);
			assert_int_not_equal(merkle_consistency_verify(n, m, r2,
			    r1, (const unsigned char (*)[32])proof, k),
			    COFFER_OK);
		}
	}
}

static int
setup(void **state)
{
	unsigned char b[8];
	int i;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (i = 0; i < MAXN; i++) {
		memset(b, i, sizeof(b));	/* all different */
		merkle_leaf(b, (size_t)i % sizeof(b) + 1, leaves[i]);
	}
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_sha256_accelerated),
		cmocka_unit_test(t_sha256_portable),
		cmocka_unit_test(t_compact_range_vs_naive),
		cmocka_unit_test(t_ct_reference_roots),
		cmocka_unit_test(t_inclusion_proofs),
		cmocka_unit_test(t_consistency_proofs),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
