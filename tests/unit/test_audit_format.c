/*
 * test_audit_format.c - the audit record encoding, value hashes,
 * checkpoints and verifier keys against the vectors in
 * docs/audit-format.md (read from the document itself), and the strict
 * record parser's refusals.
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

#include "coffer/cborcheck.h"
#include "coffer/err.h"
#include "coffer/msg.h"
#include "../../src/audit/audit_int.h"
#include "../vectors/vectors.h"

#define ORIGIN "coffer.example/test"
#define FPR "SHA256:Hr6YvQ2C5Kp6sv0F6cIh6GdXfEqVvOW7tWjTnBq6Rqs"

static const uint64_t vec_ts[3] = {
	1700000000000000ULL, 1700000000250000ULL, 1700000000500000ULL
};

static unsigned char sess[16], pol[32], hkey[32];
static const char *ret[] = { "name", "phone" };
static const char *mask[] = { "iban" };

/* The three events of docs/audit-format.md section 10. */
static void
vec_event(int i, struct audit_event *e, struct audit_change *ch,
    cbor_item_t **oldv, cbor_item_t **newv)
{
	memset(e, 0, sizeof(*e));
	e->actor_id = 1;
	e->actor = "alice";
	e->actor_fpr = FPR;
	e->role = "agent";
	e->session_id = sess;
	e->peer = "uid=1000 pid=4242";
	e->decision = AUDIT_ALLOWED;
	if (i == 0) {
		e->op = "session.login";
		return;
	}
	e->kind = "customer";
	e->target_id = 1042;
	e->policy_hash = pol;
	if (i == 1) {
		e->op = "record.get";
		e->fields_returned = ret;
		e->nreturned = 2;
		e->fields_masked = mask;
		e->nmasked = 1;
		e->count = 1;
		return;
	}
	*oldv = msg_new_str("+49 30 1234567");
	*newv = msg_new_str("+49 30 7654321");
	ch->field = "phone";
	ch->old_value = *oldv;
	ch->new_value = *newv;
	e->op = "record.update";
	e->actor_id = 2;
	e->actor = "bob";
	e->actor_fpr = NULL;
	e->role = "supervisor";
	e->session_id = NULL;
	e->peer = "192.0.2.7:50123";
	e->changes = ch;
	e->nchanges = 1;
	e->decision = AUDIT_DENIED;
	e->reason = "needs approval";
	e->status = 9;
}

/* Record i encoded by the module, malloc'd. */
static unsigned char *
encode_vec(int i, const unsigned char prev[32], size_t *len)
{
	struct audit_event e;
	struct audit_change ch;
	cbor_item_t *o = NULL, *n = NULL;
	struct arec_pre p;
	unsigned char *buf;

	vec_event(i, &e, &ch, &o, &n);
	assert_int_equal(arec_prepare(&e, hkey, NULL, &p), COFFER_OK);
	*len = arec_size(&p, (uint64_t)i, vec_ts[i]);
	buf = malloc(*len);
	assert_non_null(buf);
	arec_assemble(&p, (uint64_t)i, vec_ts[i], prev, buf);
	arec_pre_free(&p);
	if (o != NULL)
		cbor_decref(&o);
	if (n != NULL)
		cbor_decref(&n);
	return buf;
}

static unsigned char *
need_vec(const char *name, size_t *len)
{
	unsigned char *v = vec_get(name, len);

	if (v == NULL)
		fail_msg("vector %s missing from docs/audit-format.md", name);
	return v;
}

/* A ```KIND NAME block's text, newline-terminated, malloc'd. */
static char *
need_text(const char *kind, const char *name)
{
	char open[128], *doc = vec_read_doc(), *p, *end, *out;

	assert_non_null(doc);
	snprintf(open, sizeof(open), "```%s %s\n", kind, name);
	p = strstr(doc, open);
	assert_non_null(p);
	p += strlen(open);
	end = strstr(p, "\n```");
	assert_non_null(end);
	out = strndup(p, (size_t)(end - p) + 1);
	free(doc);
	return out;
}

static void
test_pk(unsigned char pk[32], unsigned char sk[64])
{
	unsigned char seed[32];
	int i;

	for (i = 0; i < 32; i++)
		seed[i] = (unsigned char)i;
	crypto_sign_seed_keypair(pk, sk, seed);
}

static void
t_records_match_vectors(void **state)
{
	unsigned char prev[32] = { 0 }, leaf[32], *got, *want, *wleaf;
	char name[64];
	size_t glen, wlen, llen;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		got = encode_vec(i, prev, &glen);
		snprintf(name, sizeof(name), "audit-record-%d", i);
		want = need_vec(name, &wlen);
		assert_int_equal(glen, wlen);
		assert_memory_equal(got, want, wlen);
		/* An independent check of determinism: the wire validator. */
		assert_int_equal(cborcheck_validate(want, wlen,
		    &cborcheck_wire_limits, NULL), COFFER_OK);
		merkle_leaf(got, glen, leaf);
		snprintf(name, sizeof(name), "audit-leaf-%d", i);
		wleaf = need_vec(name, &llen);
		assert_int_equal(llen, 32);
		assert_memory_equal(leaf, wleaf, 32);
		memcpy(prev, leaf, 32);
		free(got);
		free(want);
		free(wleaf);
	}
}

static void
t_value_hash_vector(void **state)
{
	cbor_item_t *v = msg_new_str("+49 30 1234567");
	unsigned char *enc, mac[32], *wcbor, *wmac;
	size_t len, wl, ml;

	(void)state;
	assert_int_equal(msg_encode(v, &enc, &len), COFFER_OK);
	wcbor = need_vec("audit-value-old-cbor", &wl);
	wmac = need_vec("audit-value-old-hmac", &ml);
	assert_int_equal(len, wl);
	assert_memory_equal(enc, wcbor, wl);
	crypto_auth_hmacsha256(mac, enc, len, hkey);
	assert_memory_equal(mac, wmac, 32);
	free(enc);
	free(wcbor);
	free(wmac);
	cbor_decref(&v);
}

static void
t_tree_vectors(void **state)
{
	unsigned char leaves[3][32], node[32], root[32], *w;
	char name[32];
	size_t n;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "audit-leaf-%d", i);
		w = need_vec(name, &n);
		memcpy(leaves[i], w, 32);
		free(w);
	}
	merkle_node(leaves[0], leaves[1], node);
	w = need_vec("audit-node-01", &n);
	assert_memory_equal(node, w, 32);
	free(w);
	merkle_root((const unsigned char (*)[32])leaves, 3, root);
	w = need_vec("audit-root-3", &n);
	assert_memory_equal(root, w, 32);
	free(w);
	merkle_root(NULL, 0, root);
	w = need_vec("audit-root-0", &n);
	assert_memory_equal(root, w, 32);
	free(w);
}

static void
t_checkpoint_vector(void **state)
{
	unsigned char pk[32], sk[64], id[4], *w, pk2[32];
	char *note = need_text("note", "audit-checkpoint"), out[CKPT_MAX + 1];
	char *vk = need_text("text", "audit-vkey"), vbuf[AUDIT_VKEY_TEXT];
	char kname[CKPT_NAME_MAX + 1];
	struct ckpt c = { .size = 3 }, got;
	size_t n, len;

	(void)state;
	test_pk(pk, sk);
	w = need_vec("audit-test-pk", &n);
	assert_memory_equal(pk, w, 32);
	free(w);
	ckpt_keyid(ORIGIN, pk, id);
	w = need_vec("audit-keyid", &n);
	assert_memory_equal(id, w, 4);
	free(w);
	w = need_vec("audit-root-3", &n);
	memcpy(c.root, w, 32);
	free(w);
	strcpy(c.origin, ORIGIN);
	assert_int_equal(ckpt_sign(&c, sk, pk, out, sizeof(out), &len),
	    COFFER_OK);
	assert_int_equal(len, strlen(note));
	assert_memory_equal(out, note, len);
	assert_int_equal(ckpt_open(note, strlen(note), ORIGIN, pk, &got),
	    COFFER_OK);
	assert_int_equal(got.size, 3);
	assert_memory_equal(got.root, c.root, 32);
	assert_string_equal(got.origin, ORIGIN);
	/* verifier key, both ways */
	assert_int_equal(audit_vkey_format(ORIGIN, pk, vbuf, sizeof(vbuf)),
	    COFFER_OK);
	assert_int_equal(strlen(vbuf) + 1, strlen(vk));
	assert_memory_equal(vbuf, vk, strlen(vbuf));
	assert_int_equal(audit_vkey_parse(vk, kname, sizeof(kname), pk2),
	    COFFER_OK);
	assert_string_equal(kname, ORIGIN);
	assert_memory_equal(pk2, pk, 32);
	free(note);
	free(vk);
}

/* Every way a checkpoint can be wrong is refused, with the right code. */
static void
t_checkpoint_refusals(void **state)
{
	unsigned char pk[32], sk[64], opk[32], osk[64];
	char *note = need_text("note", "audit-checkpoint"), *t;
	struct ckpt got;
	size_t n = strlen(note);

	(void)state;
	test_pk(pk, sk);
	crypto_sign_keypair(opk, osk);
	assert_int_equal(ckpt_open(note, n, NULL, pk, &got), COFFER_OK);
	assert_int_equal(ckpt_open(note, n, ORIGIN, opk, &got),
	    COFFER_ERR_CRYPTO);
	assert_int_equal(ckpt_open(note, n, "other.example/x", pk, &got),
	    COFFER_ERR_CRYPTO);
	t = strdup(note);
	t[strlen(ORIGIN) + 1] = '4';	/* tree size 3 -> 4 */
	assert_int_equal(ckpt_open(t, n, ORIGIN, pk, &got), COFFER_ERR_CRYPTO);
	strcpy(t, note);
	t[n - 10] ^= 1;			/* the signature */
	assert_int_not_equal(ckpt_open(t, n, ORIGIN, pk, &got), COFFER_OK);
	strcpy(t, note);
	t[n - 1] = 'x';			/* no final newline */
	assert_int_equal(ckpt_open(t, n, ORIGIN, pk, &got), COFFER_ERR_PROTO);
	assert_int_equal(ckpt_open(note, strlen(ORIGIN) + 3, ORIGIN, pk, &got),
	    COFFER_ERR_PROTO);
	free(t);
	t = strdup("o\n03\nAAAA\n\n\xe2\x80\x94 o x\n");
	assert_int_equal(ckpt_open(t, strlen(t), NULL, pk, &got),
	    COFFER_ERR_PROTO);
	free(t);
	free(note);
	/* a verifier key whose id does not match its key */
	assert_int_equal(audit_vkey_parse("coffer.example/test+80a0c9ee+AQOhB7/"
	    "zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4", (char[130]){ 0 }, 130,
	    opk), COFFER_ERR_INVALID);
	assert_int_equal(audit_vkey_format("bad name", pk, (char[200]){ 0 },
	    200), COFFER_ERR_INVALID);
	assert_int_equal(audit_vkey_format("a+b", pk, (char[200]){ 0 }, 200),
	    COFFER_ERR_INVALID);
}

static void
t_parse_vectors(void **state)
{
	struct arec_view v;
	unsigned char *r;
	char *json = NULL;
	size_t n;

	(void)state;
	r = need_vec("audit-record-2", &n);
	assert_int_equal(arec_parse(r, n, &v), COFFER_OK);
	assert_int_equal(v.seq, 2);
	assert_int_equal(v.ts, vec_ts[2]);
	assert_non_null(v.val[AK_CHG]);
	assert_null(v.val[AK_SESS]);
	assert_int_equal(arec_json(&v, &json), COFFER_OK);
	assert_non_null(strstr(json, "\"op\":\"record.update\""));
	assert_non_null(strstr(json, "\"decision\":\"denied\""));
	assert_non_null(strstr(json, "\"time\":\"2023-11-14T22:13:20.500000Z\""));
	assert_non_null(strstr(json, "\"old\":\"76447d21"));
	/* no value in clear anywhere in the record */
	assert_null(memmem(r, n, "1234567", 7));
	assert_null(memmem(r, n, "7654321", 7));
	free(json);
	free(r);
}

/* Canonical or nothing: each non-canonical variant is refused. */
static void
t_parse_refusals(void **state)
{
	struct arec_view v;
	unsigned char *r, *t;
	size_t n, i, ok = 0;

	(void)state;
	r = need_vec("audit-record-0", &n);
	t = malloc(n + 2);
	memcpy(t, r, n);
	t[n] = 0x00;
	assert_int_equal(arec_parse(t, n + 1, &v), COFFER_ERR_PROTO);
	for (i = 0; i < n; i++)		/* every truncation */
		assert_int_equal(arec_parse(r, i, &v), COFFER_ERR_PROTO);
	/* "n": 0 as a one-byte-argument head (0x18 0x00) is not shortest */
	t[0] = r[0];
	t[1] = r[1];
	t[2] = r[2];
	t[3] = 0x18;
	t[4] = 0x00;
	memcpy(t + 5, r + 4, n - 4);
	assert_int_equal(arec_parse(t, n + 1, &v), COFFER_ERR_PROTO);
	/* "v" before "n": keys out of order */
	memcpy(t, r, n);
	memcpy(t + 1, r + 4, 3);
	memcpy(t + 4, r + 1, 3);
	assert_int_equal(arec_parse(t, n, &v), COFFER_ERR_PROTO);
	/* an unknown key of the same length: "n" -> "x" */
	memcpy(t, r, n);
	t[2] = 'x';
	assert_int_equal(arec_parse(t, n, &v), COFFER_ERR_PROTO);
	/* "v": 2 */
	memcpy(t, r, n);
	t[6] = 0x02;
	assert_int_equal(arec_parse(t, n, &v), COFFER_ERR_PROTO);
	/* one entry fewer: "actor" is optional, but then bytes trail */
	memcpy(t, r, n);
	t[0] = (unsigned char)(r[0] - 1);
	assert_int_equal(arec_parse(t, n, &v), COFFER_ERR_PROTO);
	/*
	 * Every single-bit flip: never a crash (the sanitizer build checks
	 * that); a flip inside a string or hash can still parse - the leaf
	 * hash catches those - but one in the structure cannot: the map
	 * head and the first key.
	 */
	for (i = 0; i < n * 8; i++) {
		memcpy(t, r, n);
		t[i / 8] ^= (unsigned char)(1u << (i % 8));
		if (arec_parse(t, n, &v) == COFFER_OK) {
			assert_true(i >= 3 * 8);
			ok++;
		}
	}
	assert_true(ok < n * 8);
	free(t);
	free(r);
}

static void
t_prepare_sanitizes(void **state)
{
	char longs[3000];
	struct audit_event e = { .op = "x", .peer = "a\xff" "b\xc3(",
	    .reason = "caf\xc3\xa9 \xe2\x80\x94 ok", .decision = AUDIT_ALLOWED };
	struct arec_pre p;
	struct arec_view v;
	unsigned char prev[32] = { 0 }, *buf;
	size_t n;

	(void)state;
	memset(longs, 'z', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	e.actor = longs;
	assert_int_equal(arec_prepare(&e, hkey, NULL, &p), COFFER_OK);
	n = arec_size(&p, 5, 7);
	buf = malloc(n);
	arec_assemble(&p, 5, 7, prev, buf);
	assert_int_equal(arec_parse(buf, n, &v), COFFER_OK);
	assert_int_equal(v.vlen[AK_PEER], 1 + 5);
	assert_memory_equal(v.val[AK_PEER] + 1, "a?b?(", 5);
	/* valid UTF-8 beyond ASCII is kept as it is */
	assert_int_equal(v.vlen[AK_WHY], 1 + 12);
	assert_memory_equal(v.val[AK_WHY] + 1, "caf\xc3\xa9 \xe2\x80\x94 ok", 12);
	assert_int_equal(v.vlen[AK_ACTOR], 3 + AREC_STR_MAX);
	free(buf);
	arec_pre_free(&p);
	/* refusals: no op, bad decision, a NULL list entry */
	e.op = NULL;
	assert_int_equal(arec_prepare(&e, hkey, NULL, &p), COFFER_ERR_INVALID);
	e.op = "x";
	e.decision = (enum audit_decision)7;
	assert_int_equal(arec_prepare(&e, hkey, NULL, &p), COFFER_ERR_INVALID);
	e.decision = AUDIT_ALLOWED;
	e.fields_returned = (const char *const[]){ "a", NULL };
	e.nreturned = 2;
	assert_int_equal(arec_prepare(&e, hkey, NULL, &p), COFFER_ERR_INVALID);
}

static int
setup(void **state)
{
	static char doc[4096];
	const char *slash = strrchr(__FILE__, '/');

	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(doc, sizeof(doc), "%.*s../../docs/audit-format.md",
	    slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
	setenv("COFFER_PROTOCOL_DOC", doc, 1);
	for (int i = 0; i < 16; i++)
		sess[i] = (unsigned char)i;
	memset(pol, 0xaa, sizeof(pol));
	memset(hkey, 0x42, sizeof(hkey));
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_records_match_vectors),
		cmocka_unit_test(t_value_hash_vector),
		cmocka_unit_test(t_tree_vectors),
		cmocka_unit_test(t_checkpoint_vector),
		cmocka_unit_test(t_checkpoint_refusals),
		cmocka_unit_test(t_parse_vectors),
		cmocka_unit_test(t_parse_refusals),
		cmocka_unit_test(t_prepare_sanitizes),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
