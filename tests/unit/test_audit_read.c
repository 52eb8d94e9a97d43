/*
 * test_audit_read.c - the audit log's reader: search filters (actor,
 * actor id, kind, target id in tid and tids, operation and prefix,
 * decision, time range), paging (limit, cursor, a full page), records as
 * CBOR and JSON, inclusion proofs and their check (and what must fail),
 * damaged records, and searching while another thread appends.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/audit.h"
#include "coffer/err.h"
#include "coffer/msg.h"

#include "helper.h"
#include "../../src/audit/audit_int.h"

#define ORIGIN "coffer.test/read"

struct fx {
	char dir[64];
	unsigned char pk[32], sk[64], hkey[32];
	struct audit_options o;
	struct audit_log *l;
};

/*
 * The fixture log, seq: actor, op, kind, target, decision
 *   0 alice record.get customer 10 allowed    4 bob   record.list customer [10,11,12]
 *   1 alice record.get customer 11 denied     5 carol audit.search -        allowed
 *   2 bob   record.update deal 7   error      6 alice record.get customer 12 pending
 *   3 bob   session.login          allowed    7.. filler (dave, session.login)
 */
struct ev {
	const char *actor, *op, *kind;
	int64_t aid, tid;
	enum audit_decision dec;
};

static const struct ev evs[] = {
	{ "alice", "record.get", "customer", 1, 10, AUDIT_ALLOWED },
	{ "alice", "record.get", "customer", 1, 11, AUDIT_DENIED },
	{ "bob", "record.update", "deal", 2, 7, AUDIT_ERROR },
	{ "bob", "session.login", NULL, 2, 0, AUDIT_ALLOWED },
	{ "bob", "record.list", "customer", 2, 0, AUDIT_ALLOWED },
	{ "carol", "audit.search", NULL, 3, 0, AUDIT_ALLOWED },
	{ "alice", "record.get", "customer", 1, 12, AUDIT_PENDING },
};
#define NEVS (sizeof(evs) / sizeof(evs[0]))
#define NFILL 40

static int
append_ev(struct audit_log *l, const struct ev *v, int with_tids)
{
	static const int64_t tids[] = { 10, 11, 12 };
	struct audit_event e;

	memset(&e, 0, sizeof(e));
	e.op = v->op;
	e.actor = v->actor;
	e.actor_id = v->aid;
	e.kind = v->kind;
	e.target_id = v->tid;
	e.decision = v->dec;
	e.reason = v->dec == AUDIT_DENIED ? "not your customer" : NULL;
	if (with_tids) {
		e.target_ids = tids;
		e.ntargets = 3;
	}
	return audit_append(l, &e, NULL);
}

static int
setup(void **state)
{
	struct coffer_errdetail d;
	struct fx *f = calloc(1, sizeof(*f));
	struct ev fill = { "dave", "session.login", NULL, 4, 0,
	    AUDIT_ALLOWED };
	unsigned char seed[32];
	size_t i;

	if (f == NULL || sodium_init() < 0)
		return -1;
	memset(seed, 9, sizeof(seed));
	crypto_sign_seed_keypair(f->pk, f->sk, seed);
	memset(f->hkey, 0x42, sizeof(f->hkey));
	if (test_tmpdir(f->dir, sizeof(f->dir), "audit-read") != 0)
		return -1;
	f->o.dir = f->dir;
	f->o.origin = ORIGIN;
	f->o.create = 1;
	f->o.segment_max_bytes = 2048;	/* several segments */
	memset(&d, 0, sizeof(d));
	if (audit_open(&f->o, f->sk, f->hkey, &d, &f->l) != COFFER_OK)
		return -1;
	for (i = 0; i < NEVS; i++)
		if (append_ev(f->l, &evs[i], i == 4) != COFFER_OK)
			return -1;
	for (i = 0; i < NFILL; i++)
		if (append_ev(f->l, &fill, 0) != COFFER_OK)
			return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	audit_close(f->l);
	test_rm_tree(f->dir);
	free(f);
	return 0;
}

/* Collects the sequence numbers yielded; full after cap of them. */
struct got {
	uint64_t seq[128];
	size_t n, cap;
	int fail_with;
};

static int
collect(void *arg, uint64_t seq, const unsigned char *rec, size_t len)
{
	struct got *g = arg;
	struct arec_view v;

	assert_int_equal(arec_parse(rec, len, &v), COFFER_OK);
	assert_int_equal(v.seq, seq);
	if (g->fail_with != 0)
		return g->fail_with;
	if (g->cap != 0 && g->n == g->cap)
		return COFFER_ERR_TOO_BIG;
	assert_true(g->n < 128);
	g->seq[g->n++] = seq;
	return COFFER_OK;
}

static size_t
search(struct fx *f, const struct audit_filter *flt, struct got *g,
    int *more, uint64_t *next)
{
	int m = 0;
	uint64_t nx = 0;

	assert_int_equal(audit_search(f->l, flt, collect, g, &m, &nx),
	    COFFER_OK);
	if (more != NULL)
		*more = m;
	if (next != NULL)
		*next = nx;
	return g->n;
}

static void
assert_seqs(const struct got *g, const uint64_t *want, size_t n)
{
	size_t i;

	assert_int_equal(g->n, n);
	for (i = 0; i < n; i++)
		assert_int_equal(g->seq[i], want[i]);
}

static void
t_filters(void **state)
{
	struct fx *f = *state;
	struct audit_filter flt;
	struct got g;
	static const uint64_t alice[] = { 0, 1, 6 }, bob[] = { 2, 3, 4 };
	static const uint64_t cust11[] = { 1, 4 }, gets[] = { 0, 1, 6 };
	static const uint64_t recs[] = { 0, 1, 2, 4, 6 }, denied[] = { 1 };
	static const uint64_t pending[] = { 6 }, deal[] = { 2 };

	audit_filter_init(&flt);
	flt.actor = "alice";
	memset(&g, 0, sizeof(g));
	search(f, &flt, &g, NULL, NULL);
	assert_seqs(&g, alice, 3);

	audit_filter_init(&flt);
	flt.actor_id = 2;
	memset(&g, 0, sizeof(g));
	search(f, &flt, &g, NULL, NULL);
	assert_seqs(&g, bob, 3);

	/* A customer's history: as the one target, or one of a list's. */
	audit_filter_init(&flt);
	flt.kind = "customer";
	flt.target_id = 11;
	memset(&g, 0, sizeof(g));
	search(f, &flt, &g, NULL, NULL);
	assert_seqs(&g, cust11, 2);

	audit_filter_init(&flt);
	flt.op = "record.get";
	memset(&g, 0, sizeof(g));
	search(f, &flt, &g, NULL, NULL);
	assert_seqs(&g, gets, 3);

	audit_filter_init(&flt);
	flt.op = "record.*";
	memset(&g, 0, sizeof(g));
	search(f, &flt, &g, NULL, NULL);
	assert_seqs(&g, recs, 5);

	/* "record.ge" is not a prefix match without the star. */
	audit_filter_init(&flt);
	flt.op = "record.ge";
	memset(&g, 0, sizeof(g));
	assert_int_equal(search(f, &flt, &g, NULL, NULL), 0);

	audit_filter_init(&flt);
	flt.decision = AUDIT_DENIED;
	memset(&g, 0, sizeof(g));
	search(f, &flt, &g, NULL, NULL);
	assert_seqs(&g, denied, 1);

	audit_filter_init(&flt);
	flt.decision = AUDIT_PENDING;
	memset(&g, 0, sizeof(g));
	search(f, &flt, &g, NULL, NULL);
	assert_seqs(&g, pending, 1);

	audit_filter_init(&flt);
	flt.kind = "deal";
	flt.actor = "bob";
	flt.decision = AUDIT_ERROR;
	memset(&g, 0, sizeof(g));
	search(f, &flt, &g, NULL, NULL);
	assert_seqs(&g, deal, 1);

	/* Filters that match nothing. */
	audit_filter_init(&flt);
	flt.actor = "alic";
	memset(&g, 0, sizeof(g));
	assert_int_equal(search(f, &flt, &g, NULL, NULL), 0);
	audit_filter_init(&flt);
	flt.actor = "alice";
	flt.decision = AUDIT_ERROR;
	memset(&g, 0, sizeof(g));
	assert_int_equal(search(f, &flt, &g, NULL, NULL), 0);
}

/* ts of record seq, read through the reader itself. */
static int
get_ts(void *arg, uint64_t seq, const unsigned char *rec, size_t len)
{
	struct arec_view v;

	(void)seq;
	assert_int_equal(arec_parse(rec, len, &v), COFFER_OK);
	*(uint64_t *)arg = v.ts;
	return COFFER_OK;
}

static void
t_time_range(void **state)
{
	struct fx *f = *state;
	struct audit_filter flt;
	struct got g;
	uint64_t ts2 = 0, ts6 = 0, next;
	int more;

	audit_filter_init(&flt);
	flt.start = 2;
	flt.limit = 1;
	assert_int_equal(audit_search(f->l, &flt, get_ts, &ts2, &more, &next),
	    COFFER_OK);
	flt.start = 6;
	assert_int_equal(audit_search(f->l, &flt, get_ts, &ts6, &more, &next),
	    COFFER_OK);
	assert_true(ts2 > 0 && ts6 >= ts2);

	/* [ts2, ts6]: everything from record 2 on, up to ts6 inclusive. */
	audit_filter_init(&flt);
	flt.from_us = ts2;
	flt.to_us = ts6 + 1;
	memset(&g, 0, sizeof(g));
	search(f, &flt, &g, &more, NULL);
	assert_true(g.n >= 5);
	assert_true(g.seq[0] <= 2);
	assert_int_equal(more, 0);

	/* A range before the log began is empty. */
	audit_filter_init(&flt);
	flt.from_us = 1;
	flt.to_us = 2;
	memset(&g, 0, sizeof(g));
	assert_int_equal(search(f, &flt, &g, &more, NULL), 0);
	assert_int_equal(more, 0);
}

static void
t_paging(void **state)
{
	struct fx *f = *state;
	struct audit_filter flt;
	struct got g;
	uint64_t next = 0, all[NEVS + NFILL];
	size_t total = 0, i;
	int more = 1, pages = 0;

	/* Pages of 7 with the cursor walk the whole log exactly once. */
	audit_filter_init(&flt);
	flt.limit = 7;
	while (more) {
		memset(&g, 0, sizeof(g));
		search(f, &flt, &g, &more, &next);
		assert_true(g.n <= 7);
		for (i = 0; i < g.n; i++) {
			assert_true(total < NEVS + NFILL);
			all[total++] = g.seq[i];
		}
		if (more) {
			assert_int_equal(g.n, 7);
			assert_int_equal(next, g.seq[g.n - 1]);
		}
		flt.start = next + 1;
		pages++;
	}
	assert_int_equal(total, NEVS + NFILL);
	for (i = 0; i < total; i++)
		assert_int_equal(all[i], i);
	assert_int_equal(pages, (NEVS + NFILL + 6) / 7);

	/* A limit that ends exactly at the last match: no more. */
	audit_filter_init(&flt);
	flt.actor = "alice";
	flt.limit = 3;
	memset(&g, 0, sizeof(g));
	search(f, &flt, &g, &more, &next);
	assert_int_equal(g.n, 3);
	assert_int_equal(more, 0);

	/* The visitor's page is full after 2: more, cursor at the 2nd. */
	audit_filter_init(&flt);
	memset(&g, 0, sizeof(g));
	g.cap = 2;
	search(f, &flt, &g, &more, &next);
	assert_int_equal(g.n, 2);
	assert_int_equal(more, 1);
	assert_int_equal(next, 1);

	/* A visitor error aborts the scan and is returned. */
	memset(&g, 0, sizeof(g));
	g.fail_with = COFFER_ERR_NOMEM;
	assert_int_equal(audit_search(f->l, &flt, collect, &g, &more, &next),
	    COFFER_ERR_NOMEM);
	assert_int_equal(more, 0);

	/* A cursor past the end yields nothing. */
	flt.start = 1000000;
	memset(&g, 0, sizeof(g));
	assert_int_equal(search(f, &flt, &g, &more, NULL), 0);
}

/* Record 0 as CBOR and JSON. */
struct rec_copy {
	unsigned char buf[AREC_MAX];
	size_t len;
};

static int
copy_rec(void *arg, uint64_t seq, const unsigned char *rec, size_t len)
{
	struct rec_copy *c = arg;

	(void)seq;
	memcpy(c->buf, rec, len);
	c->len = len;
	return COFFER_OK;
}

static void
t_record_forms(void **state)
{
	struct fx *f = *state;
	struct audit_filter flt;
	struct rec_copy *c = calloc(1, sizeof(*c));
	cbor_item_t *item = NULL;
	unsigned char *enc = NULL;
	char *json = NULL, actor[16];
	uint64_t seq = 99, next;
	size_t enclen = 0;
	int more;

	assert_non_null(c);
	audit_filter_init(&flt);
	flt.start = 1;
	flt.limit = 1;
	assert_int_equal(audit_search(f->l, &flt, copy_rec, c, &more, &next),
	    COFFER_OK);
	assert_int_equal(audit_record_item(c->buf, c->len, &item), COFFER_OK);
	assert_int_equal(msg_get_uint(item, "seq", &seq), COFFER_OK);
	assert_int_equal(seq, 1);
	assert_int_equal(msg_get_str(item, "actor", actor, sizeof(actor)),
	    COFFER_OK);
	assert_string_equal(actor, "alice");
	/* Re-encoded deterministically, the map is the record's bytes. */
	assert_int_equal(msg_encode(item, &enc, &enclen), COFFER_OK);
	assert_int_equal(enclen, c->len);
	assert_memory_equal(enc, c->buf, enclen);
	assert_int_equal(audit_record_json(c->buf, c->len, &json), COFFER_OK);
	assert_non_null(strstr(json, "\"seq\":1"));
	assert_non_null(strstr(json, "\"reason\":\"not your customer\""));
	assert_non_null(strstr(json, "\"decision\":\"denied\""));
	/* Not a record: refused by both. */
	c->buf[0] = 0x01;
	cbor_decref(&item);
	assert_int_equal(audit_record_item(c->buf, c->len, &item),
	    COFFER_ERR_PROTO);
	assert_null(item);
	free(json);
	assert_int_equal(audit_record_json(c->buf, c->len, &json),
	    COFFER_ERR_PROTO);
	assert_null(json);
	free(enc);
	free(c);
}

static void
t_prove(void **state)
{
	struct fx *f = *state;
	struct audit_proof p;
	struct audit_health h;
	unsigned char other_pk[32], other_sk[64];
	uint64_t seqs[] = { 0, 3, 6, 17, NEVS + NFILL - 1 };
	size_t i;

	crypto_sign_keypair(other_pk, other_sk);
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		assert_int_equal(audit_prove(f->l, seqs[i], &p), COFFER_OK);
		assert_int_equal(p.seq, seqs[i]);
		assert_true(p.tree_size > seqs[i]);
		assert_non_null(p.rec);
		assert_non_null(p.checkpoint);
		assert_int_equal(audit_proof_check(p.rec, p.len, p.seq,
		    p.tree_size, (const unsigned char (*)[32])p.hashes,
		    p.nhashes, p.checkpoint, f->pk, ORIGIN), COFFER_OK);
		assert_int_equal(audit_proof_check(p.rec, p.len, p.seq,
		    p.tree_size, (const unsigned char (*)[32])p.hashes,
		    p.nhashes, p.checkpoint, NULL, NULL), COFFER_OK);
		/* Another key, index, hash or record byte: refused. */
		assert_int_equal(audit_proof_check(p.rec, p.len, p.seq,
		    p.tree_size, (const unsigned char (*)[32])p.hashes,
		    p.nhashes, p.checkpoint, other_pk, NULL), COFFER_ERR_CRYPTO);
		assert_int_equal(audit_proof_check(p.rec, p.len, p.seq + 1,
		    p.tree_size, (const unsigned char (*)[32])p.hashes,
		    p.nhashes, p.checkpoint, NULL, NULL), COFFER_ERR_CRYPTO);
		assert_int_equal(audit_proof_check(p.rec, p.len, p.seq,
		    p.tree_size + 1, (const unsigned char (*)[32])p.hashes,
		    p.nhashes, p.checkpoint, NULL, NULL), COFFER_ERR_CRYPTO);
		assert_true(p.nhashes > 0);
		p.hashes[p.nhashes - 1][5] ^= 1;
		assert_int_equal(audit_proof_check(p.rec, p.len, p.seq,
		    p.tree_size, (const unsigned char (*)[32])p.hashes,
		    p.nhashes, p.checkpoint, NULL, NULL), COFFER_ERR_CRYPTO);
		p.hashes[p.nhashes - 1][5] ^= 1;
		p.rec[p.len - 1] ^= 1;	/* last byte of the actor name */
		assert_int_not_equal(audit_proof_check(p.rec, p.len, p.seq,
		    p.tree_size, (const unsigned char (*)[32])p.hashes,
		    p.nhashes, p.checkpoint, NULL, NULL), COFFER_OK);
		audit_proof_free(&p);
	}
	/* The newest record needed a checkpoint signed for it. */
	audit_health(f->l, &h);
	assert_int_equal(h.last_checkpoint_size, h.size);
	assert_int_equal(audit_prove(f->l, h.size, &p), COFFER_ERR_NOT_FOUND);
	audit_proof_free(&p);
	assert_int_equal(audit_proof_check((const unsigned char *)"x", 1, 0, 1,
	    NULL, 0, "not a checkpoint", NULL, NULL), COFFER_ERR_PROTO);
}

/* A record frame's payload offset in the first segment, by index. */
static size_t
record_offset(struct fx *f, unsigned want)
{
	const unsigned char *p, *pl;
	char path[PATH_MAX], name[SEG_NAME_LEN];
	struct seg_header h;
	size_t len, pos, plen, at = 0;
	unsigned n = 0;
	int type;

	seg_name(name, 0);
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(av_map(path, &p, &len), COFFER_OK);
	assert_int_equal(seg_header_parse(p, len, &h, &pos), COFFER_OK);
	while (frame_next(p, len, &pos, &type, &pl, &plen) == FR_OK)
		if (type == FRAME_RECORD && n++ == want) {
			at = (size_t)(pl - p);
			break;
		}
	av_unmap(p, len);
	assert_true(at > 0);
	return at;
}

static void
t_damaged(void **state)
{
	struct fx *f = *state;
	struct audit_filter flt;
	struct got g;
	char path[PATH_MAX], name[SEG_NAME_LEN];
	size_t at = record_offset(f, 2);
	uint64_t next;
	FILE *fp;
	int more;

	audit_close(f->l);
	f->l = NULL;
	seg_name(name, 0);
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_non_null(fp = fopen(path, "r+b"));
	assert_int_equal(fseek(fp, (long)at, SEEK_SET), 0);
	assert_int_equal(fputc(0x01, fp), 0x01);	/* not a map */
	fclose(fp);
	audit_filter_init(&flt);
	memset(&g, 0, sizeof(g));
	assert_int_equal(audit_scan_dir(f->dir, UINT64_MAX, &flt, collect, &g,
	    &more, &next), COFFER_ERR_PROTO);
	assert_int_equal(g.n, 2);	/* records 0 and 1 came first */
	/* Past the damage, a cursor still reaches later segments. */
	flt.start = NEVS + NFILL - 1;
	memset(&g, 0, sizeof(g));
	assert_int_equal(audit_scan_dir(f->dir, UINT64_MAX, &flt, collect, &g,
	    &more, &next), COFFER_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(audit_scan_dir("/nonexistent/coffer", UINT64_MAX,
	    &flt, collect, &g, &more, &next), COFFER_ERR_NOT_FOUND);
}

/* Readers and a writer at once: every page is whole and in order. */
struct writer {
	struct audit_log *l;
	int n;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct ev e = { "erin", "record.get", "call", 5, 1, AUDIT_ALLOWED };
	int i;

	for (i = 0; i < w->n; i++) {
		e.tid = i + 1;
		assert_int_equal(append_ev(w->l, &e, 0), COFFER_OK);
	}
	return NULL;
}

static void
t_concurrent(void **state)
{
	struct fx *f = *state;
	struct writer w = { f->l, 600 };
	struct audit_filter flt;
	struct audit_health h;
	struct got g;
	pthread_t t;
	uint64_t next;
	size_t i, rounds = 0;
	int more;

	assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
	for (;;) {
		audit_health(f->l, &h);
		audit_filter_init(&flt);
		flt.actor = "erin";
		flt.start = h.size > 100 ? h.size - 100 : 0;
		memset(&g, 0, sizeof(g));
		assert_int_equal(audit_search(f->l, &flt, collect, &g, &more,
		    &next), COFFER_OK);
		for (i = 1; i < g.n; i++)
			assert_int_equal(g.seq[i], g.seq[i - 1] + 1);
		rounds++;
		if (h.size >= NEVS + NFILL + (uint64_t)w.n)
			break;
	}
	pthread_join(t, NULL);
	audit_filter_init(&flt);
	flt.actor = "erin";
	flt.start = NEVS + NFILL + 500;
	memset(&g, 0, sizeof(g));
	assert_int_equal(search(f, &flt, &g, &more, NULL), 100);
	assert_true(rounds > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(t_time_range, setup, teardown),
		cmocka_unit_test_setup_teardown(t_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(t_record_forms, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_prove, setup, teardown),
		cmocka_unit_test_setup_teardown(t_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(t_concurrent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
