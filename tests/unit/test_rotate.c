/*
 * test_rotate.c - key rotation: generation-numbered subkeys and the
 * keys.gen file, the audit key chain (announcements certified by the old
 * key, followed by the verification engine and by audit_open's tail
 * check; unannounced keys and forged announcements refused), identity
 * rotation statements and the client's pin replacement.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "coffer/audit.h"
#include "coffer/err.h"
#include "coffer/idrot.h"
#include "coffer/keys.h"
#include "coffer/knownhosts.h"
#include "coffer/rpc.h"
#include "coffer/secfile.h"

#include "helper.h"
#include "../../src/audit/audit_int.h"

#define ORIGIN "coffer.test/rot"
#define GOOD "coffer-keys-gen-v1\n2 4\n3 1\n"

struct fx {
	char dir[128];
	unsigned char pk[3][32], sk[3][64], hkey[32];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	unsigned char seed[32];
	int i;

	if (f == NULL || sodium_init() < 0 ||
	    test_tmpdir(f->dir, sizeof(f->dir), "rotate") != 0)
		return -1;
	for (i = 0; i < 3; i++) {
		memset(seed, 0x10 + i, sizeof(seed));
		crypto_sign_seed_keypair(f->pk[i], f->sk[i], seed);
	}
	memset(f->hkey, 0x42, sizeof(f->hkey));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	test_rm_tree(f->dir);
	free(f);
	return 0;
}

static void
path_in(const struct fx *f, const char *name, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/%s", f->dir, name);
}

/* ---- generations -------------------------------------------------------- */

static void
test_derive_generations(void **state)
{
	unsigned char master[32], a[32], b[32], want[32];

	(void)state;
	for (int i = 0; i < 32; i++)
		master[i] = (unsigned char)i;
	/* generation 0 is today's key, byte for byte */
	assert_int_equal(keys_derive(master, KEYS_SUB_AUDIT_SIGN, a, 32),
	    COFFER_OK);
	assert_int_equal(keys_derive_gen(master, KEYS_SUB_AUDIT_SIGN, 0, b, 32),
	    COFFER_OK);
	assert_memory_equal(a, b, 32);
	/* generation g of purpose p is subkey id p + (g << 16) */
	assert_int_equal(keys_derive_gen(master, KEYS_SUB_AUDIT_SIGN, 2, b, 32),
	    COFFER_OK);
	crypto_kdf_derive_from_key(want, 32, 3 + (2u << 16), "coffer01",
	    master);
	assert_memory_equal(b, want, 32);
	assert_memory_not_equal(a, b, 32);
	/* another purpose at the same generation differs */
	assert_int_equal(keys_derive_gen(master, KEYS_SUB_IDENTITY, 2, a, 32),
	    COFFER_OK);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(keys_derive_gen(master, KEYS_SUB_IDENTITY,
	    KEYS_GEN_MAX + 1, a, 32), COFFER_ERR_INVALID);
	assert_int_equal(keys_derive_gen(master, KEYS_SUB_IDENTITY,
	    KEYS_GEN_MAX, a, 32), COFFER_OK);
}

static void
test_gen_file(void **state)
{
	struct fx *f = *state;
	struct keys_gen g, h;
	char path[256];
	struct stat sb;

	path_in(f, "keys.gen", path, sizeof(path));
	memset(&g, 0xff, sizeof(g));
	assert_int_equal(keys_gen_load(path, &g), COFFER_OK); /* absent */
	for (int i = 0; i < KEYS_SUB_COUNT; i++)
		assert_int_equal(g.g[i], 0);
	g.g[KEYS_SUB_AUDIT_SIGN] = 3;
	g.g[KEYS_SUB_IDENTITY] = 1;
	assert_int_equal(keys_gen_save(path, &g), COFFER_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(keys_gen_load(path, &h), COFFER_OK);
	assert_memory_equal(&g, &h, sizeof(g));
	g.g[KEYS_SUB_BACKUP] = KEYS_GEN_MAX + 1;
	assert_int_equal(keys_gen_save(path, &g), COFFER_ERR_INVALID);
}

static void
test_gen_file_malformed(void **state)
{
	static const char *const bad[] = {
		"coffer-keys-gen-v2\n",
		"coffer-keys-gen-v1\n3 1\n2 1\n",  /* not ascending */
		"coffer-keys-gen-v1\n3 0\n",       /* zero is written as absent */
		"coffer-keys-gen-v1\n3 01\n",      /* leading zero */
		"coffer-keys-gen-v1\n6 1\n",       /* no such purpose */
		"coffer-keys-gen-v1\n3 65536\n",   /* beyond KEYS_GEN_MAX */
		"coffer-keys-gen-v1\n3 1",         /* no newline */
		"coffer-keys-gen-v1\n3  1\n",
	};
	struct fx *f = *state;
	struct keys_gen g;
	char path[256];

	path_in(f, "keys.gen", path, sizeof(path));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(file_write_atomic(path, bad[i], strlen(bad[i]),
		    0600), COFFER_OK);
		assert_int_equal(keys_gen_load(path, &g), COFFER_ERR_PROTO);
		assert_int_equal(g.g[KEYS_SUB_AUDIT_SIGN], 0);
	}
	assert_int_equal(file_write_atomic(path, GOOD, strlen(GOOD), 0600),
	    COFFER_OK);
	assert_int_equal(keys_gen_load(path, &g), COFFER_OK);
	assert_int_equal(g.g[KEYS_SUB_IDENTITY], 4);
	assert_int_equal(g.g[KEYS_SUB_AUDIT_SIGN], 1);
}

/* ---- the audit key chain ------------------------------------------------ */

/* Open the log in f->dir/log signing with key k, keys 0..k-1 before it. */
static int
log_open(struct fx *f, int k, struct audit_log **l)
{
	struct coffer_errdetail d;
	struct audit_options o;
	char dir[256];

	path_in(f, "log", dir, sizeof(dir));
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.origin = ORIGIN;
	o.create = 1;
	o.prev_pks = (const unsigned char (*)[32])f->pk;
	o.nprev_pks = (size_t)k;
	return audit_open(&o, f->sk[k], f->hkey, &d, l);
}

static void
append(struct audit_log *l, const char *op, int n)
{
	struct audit_event e;

	memset(&e, 0, sizeof(e));
	e.op = op;
	e.decision = AUDIT_ALLOWED;
	while (n-- > 0)
		assert_int_equal(audit_append(l, &e, NULL), COFFER_OK);
}

static void
rotate(struct audit_log *l, const unsigned char sk[64], const char *op)
{
	struct audit_event e;

	memset(&e, 0, sizeof(e));
	e.op = op;
	e.kind = "audit-key";
	e.decision = AUDIT_ALLOWED;
	assert_int_equal(audit_rotate_key(l, &e, sk, NULL), COFFER_OK);
}

/* The whole log through the engine from key pk: fault kind, message. */
static int
scan(struct fx *f, const unsigned char pk[32], struct av_ctx *c)
{
	uint64_t *firsts = NULL;
	size_t n = 0, i;
	char dir[256];

	path_in(f, "log", dir, sizeof(dir));
	assert_int_equal(seg_list(dir, &firsts, &n), COFFER_OK);
	av_init(c, strdup(dir), pk, ORIGIN);
	for (i = 0; i < n; i++)
		av_segment(c, firsts[i], 0, i == n - 1);
	av_finish(c);
	free(firsts);
	free((void *)(uintptr_t)c->dir);
	return c->fault;
}

/* A log with two rotations: keys 0 -> 1 -> 2. */
static void
make_rotated_log(struct fx *f)
{
	struct audit_log *l = NULL;

	assert_int_equal(log_open(f, 0, &l), COFFER_OK);
	append(l, "record.get", 5);
	rotate(l, f->sk[1], "key.rotate");
	append(l, "record.get", 3);
	rotate(l, f->sk[2], "key.rotate");
	append(l, "record.get", 2);
	audit_close(l);
}

static void
test_chain_followed(void **state)
{
	struct fx *f = *state;
	struct av_ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	make_rotated_log(f);
	assert_int_equal(scan(f, f->pk[0], c), AV_OK);
	assert_int_equal(c->rotations, 2);
	assert_memory_equal(c->cur, f->pk[2], 32);
	assert_int_equal(c->key_since, 9);   /* 5 + rotation + 3 */
	assert_int_equal(c->records, 12);
	/* the later keys cannot vouch for the start */
	assert_int_equal(scan(f, f->pk[1], c), AV_BADSIG);
	assert_int_equal(scan(f, f->pk[2], c), AV_BADSIG);
	free(c);
}

static void
test_chain_reopen(void **state)
{
	struct fx *f = *state;
	struct audit_log *l = NULL;
	struct av_ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	make_rotated_log(f);
	/* the tail check follows the chain and continues with key 2 */
	assert_int_equal(log_open(f, 2, &l), COFFER_OK);
	append(l, "record.put", 1);
	audit_close(l);
	/* a retired key may not continue the log: it would sign after the
	 * announcement that retired it */
	assert_int_equal(log_open(f, 1, &l), COFFER_ERR_AUDIT);
	assert_null(l);
	assert_int_equal(log_open(f, 0, &l), COFFER_ERR_AUDIT);
	assert_int_equal(scan(f, f->pk[0], c), AV_OK);
	assert_int_equal(c->records, 13);
	free(c);
}

static void
test_unannounced_key(void **state)
{
	struct fx *f = *state;
	struct audit_log *l = NULL;
	struct av_ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(log_open(f, 0, &l), COFFER_OK);
	append(l, "record.get", 2);
	/* the key changes behind a record that is no key.rotate */
	rotate(l, f->sk[1], "record.get");
	append(l, "record.get", 1);
	audit_close(l);
	assert_int_equal(scan(f, f->pk[0], c), AV_BADSIG);
	assert_non_null(strstr(c->msg, "no valid signature by the audit key"));
	free(c);
}

/* Change one byte of the first certification in the log's segment. */
static void
tamper_nsig(struct fx *f)
{
	char path[300];
	const unsigned char *p = NULL;
	unsigned char *copy;
	size_t len = 0, i;

	path_in(f, "log/seg-00000000000000000000.log", path, sizeof(path));
	assert_int_equal(av_map(path, &p, &len), COFFER_OK);
	assert_non_null(copy = malloc(len));
	memcpy(copy, p, len);
	av_unmap(p, len);
	for (i = 0; i + 4 < len; i++)
		if (memcmp(copy + i, "nsig", 4) == 0)
			break;
	assert_true(i + 30 < len);
	copy[i + 4 + 2 + 10] ^= 0x01;
	assert_int_equal(file_write_atomic(path, copy, len, 0600), COFFER_OK);
	free(copy);
}

static void
test_forged_announcement(void **state)
{
	struct fx *f = *state;
	struct av_ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	make_rotated_log(f);
	tamper_nsig(f);
	assert_int_equal(scan(f, f->pk[0], c), AV_BADSIG);
	assert_non_null(strstr(c->msg, "forged key announcement"));
	assert_non_null(strstr(c->msg, "record 5"));
	free(c);
}

/* ---- identity statements ------------------------------------------------ */

static void
statement(struct fx *f, int from, int to, uint64_t t, struct idrot *r)
{
	memset(r, 0, sizeof(*r));
	r->time = t;
	r->gen = (uint32_t)to;
	memcpy(r->old_pk, f->pk[from], 32);
	memcpy(r->new_pk, f->pk[to], 32);
	assert_int_equal(idrot_sign(r, f->sk[from]), COFFER_OK);
}

/* Field by field (the struct has padding). */
static int
same(const struct idrot *a, const struct idrot *b)
{
	unsigned char x[IDROT_BYTES], y[IDROT_BYTES];

	idrot_encode(a, x);
	idrot_encode(b, y);
	return memcmp(x, y, sizeof(x)) == 0;
}

static void
test_idrot_chain(void **state)
{
	struct fx *f = *state;
	struct idrot r[2], back[IDROT_MAX];
	unsigned char other[32];
	uint64_t when;
	size_t steps, n;
	char path[256];

	statement(f, 0, 1, 1000, &r[0]);
	statement(f, 1, 2, 2000, &r[1]);
	assert_int_equal(idrot_verify(&r[0]), COFFER_OK);
	/* a statement not signed by its old key is refused */
	assert_int_equal(idrot_sign(&r[0], f->sk[2]), COFFER_ERR_INVALID);
	assert_int_equal(idrot_follow(r, 2, f->pk[0], f->pk[2], &when, &steps),
	    COFFER_OK);
	assert_int_equal(when, 2000);
	assert_int_equal(steps, 2);
	assert_int_equal(idrot_follow(r, 2, f->pk[1], f->pk[2], &when, &steps),
	    COFFER_OK);
	assert_int_equal(steps, 1);
	/* an unrelated pin, or a chain that does not reach the key shown */
	memset(other, 9, sizeof(other));
	assert_int_equal(idrot_follow(r, 2, other, f->pk[2], &when, &steps),
	    COFFER_ERR_HOSTKEY);
	assert_int_equal(idrot_follow(r, 1, f->pk[0], f->pk[2], &when, &steps),
	    COFFER_ERR_HOSTKEY);
	/* a changed time breaks the signature, and the chain */
	r[1].time++;
	assert_int_equal(idrot_verify(&r[1]), COFFER_ERR_CRYPTO);
	assert_int_equal(idrot_follow(r, 2, f->pk[0], f->pk[2], &when, &steps),
	    COFFER_ERR_HOSTKEY);
	r[1].time--;
	/* the vault file keeps them in order */
	path_in(f, IDROT_FILE, path, sizeof(path));
	assert_int_equal(idrot_load(path, back, IDROT_MAX, &n), COFFER_OK);
	assert_int_equal(n, 0);
	assert_int_equal(idrot_append(path, &r[0]), COFFER_OK);
	assert_int_equal(idrot_append(path, &r[1]), COFFER_OK);
	assert_int_equal(idrot_load(path, back, IDROT_MAX, &n), COFFER_OK);
	assert_int_equal(n, 2);
	assert_true(same(&back[0], &r[0]));
	assert_true(same(&back[1], &r[1]));
	assert_int_equal(idrot_load(path, back, 1, &n), COFFER_OK);
	assert_int_equal(n, 1);            /* the newest kept */
	assert_true(same(&back[0], &r[1]));
	assert_int_equal(file_write_atomic(path, "coffer-idrot-v1 xx\n", 19,
	    0644), COFFER_OK);
	assert_int_equal(idrot_load(path, back, IDROT_MAX, &n),
	    COFFER_ERR_PROTO);
}

static void
test_pin_replace(void **state)
{
	struct fx *f = *state;
	unsigned char pk[32];
	struct rpc_pin pin;
	char path[256], buf[256];
	size_t line;

	path_in(f, "known_hosts", path, sizeof(path));
	assert_int_equal(kh_lookup(path, "unix:/a", pk), COFFER_ERR_NOT_FOUND);
	assert_int_equal(kh_add(path, "unix:/b", f->pk[2]), COFFER_OK);
	assert_int_equal(kh_add(path, "unix:/a", f->pk[0]), COFFER_OK);
	assert_int_equal(kh_lookup(path, "unix:/a", pk), COFFER_OK);
	assert_memory_equal(pk, f->pk[0], 32);
	assert_int_equal(kh_replace(path, "unix:/a", f->pk[1]), COFFER_OK);
	assert_int_equal(kh_check(path, "unix:/a", f->pk[1], &line), COFFER_OK);
	assert_int_equal(kh_check(path, "unix:/a", f->pk[0], &line),
	    COFFER_ERR_HOSTKEY);
	assert_int_equal(kh_check(path, "unix:/b", f->pk[2], &line), COFFER_OK);

	memset(&pin, 0, sizeof(pin));
	assert_int_equal(rpc_pin_notice(&pin, buf, sizeof(buf)), 0);
	pin.state = RPC_PIN_ROTATED;
	pin.rotated_at = 86400;
	pin.rotations = 1;
	assert_int_equal(rpc_pin_notice(&pin, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "coffer: the daemon's key was rotated on "
	    "1970-01-02 00:00:00 UTC (certified by the key you pinned); pin "
	    "updated");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_generations),
		cmocka_unit_test_setup_teardown(test_gen_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_file_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chain_followed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chain_reopen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unannounced_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_forged_announcement, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_idrot_chain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pin_replace, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
