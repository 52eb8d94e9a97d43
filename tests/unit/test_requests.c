/*
 * test_requests.c - change requests in the store (reqstore.c: requests,
 * state moves and their events, approvals, history, expiry, manager
 * chains, immutability enforced by the database), tombstones, and the
 * approval statement's byte layout and signature (approval.c) against the
 * test vector in docs/requests.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "coffer/approval.h"
#include "coffer/err.h"
#include "coffer/msg.h"
#include "coffer/reqstore.h"
#include "coffer/schema.h"
#include "coffer/store.h"
#include "../../src/store/store_int.h"

#include "helper.h"
#include "helper_store.h"

struct fx {
	char dir[64];
	char path[PATH_MAX];
	unsigned char key[32];
	struct store *st;
	int64_t boss, mgr, agent, other, cust;
};

static const unsigned char diff_bytes[] = { /* {"intent": ["low", "high"]} */
	0xa1, 0x66, 'i', 'n', 't', 'e', 'n', 't', 0x82, 0x63, 'l', 'o', 'w',
	0x64, 'h', 'i', 'g', 'h'
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store_scope all = { SCOPE_ALL, 0, "", 0, 0 };
	struct coffer_errdetail d;
	cbor_item_t *c = msg_new_map();

	assert_non_null(f);
	assert_int_equal(test_store_new(f->dir, sizeof(f->dir), "req", f->path,
	    sizeof(f->path), f->key, &f->st), 0);
	f->boss = test_user_add(f->st, "boss", ROLE_MANAGER, "hq", 0);
	f->mgr = test_user_add(f->st, "mgr", ROLE_MANAGER, "east", f->boss);
	f->agent = test_user_add(f->st, "agent", ROLE_AGENT, "east", f->mgr);
	f->other = test_user_add(f->st, "other", ROLE_MANAGER, "west", 0);
	assert_int_equal(msg_put_str(c, "name", "Zhang"), COFFER_OK);
	assert_int_equal(msg_put_str(c, "phone", "13800000001"), COFFER_OK);
	assert_int_equal(msg_put_str(c, "intent", "low"), COFFER_OK);
	assert_int_equal(msg_put_int(c, "owner_id", f->agent), COFFER_OK);
	assert_int_equal(store_record_create(f->st, schema_kind("customer"), c,
	    &all, &f->cust, &d), COFFER_OK);
	cbor_decref(&c);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	test_rm_tree(f->dir);
	free(f);
	return 0;
}

/* A request of f->agent on f->cust, stored. */
static int64_t
add_request(struct fx *f, int64_t expires_in)
{
	struct store_request q;

	memset(&q, 0, sizeof(q));
	snprintf(q.kind, sizeof(q.kind), "customer");
	snprintf(q.op, sizeof(q.op), "update");
	snprintf(q.reason, sizeof(q.reason), "asked for a demo");
	snprintf(q.roles, sizeof(q.roles), "manager");
	q.record_id = f->cust;
	q.base_version = 1;
	q.fields = (unsigned char *)diff_bytes;
	q.fields_len = sizeof(diff_bytes);
	q.requester_id = f->agent;
	q.created = (int64_t)time(NULL);
	q.expires = q.created + expires_in;
	q.need = 1;
	memset(q.hash, 0x5a, sizeof(q.hash));
	assert_int_equal(store_request_add(f->st, &q), COFFER_OK);
	assert_true(q.id > 0);
	assert_string_equal(q.state, "pending");
	return q.id;
}

static void
test_request_roundtrip(void **state)
{
	struct fx *f = *state;
	struct store_request q;
	int64_t id = add_request(f, 3600), ids[8];
	size_t n = 0;

	assert_int_equal(store_request_get(f->st, id, &q), COFFER_OK);
	assert_string_equal(q.kind, "customer");
	assert_string_equal(q.op, "update");
	assert_string_equal(q.state, "pending");
	assert_string_equal(q.roles, "manager");
	assert_int_equal(q.requester_id, f->agent);
	assert_int_equal(q.fields_len, sizeof(diff_bytes));
	assert_memory_equal(q.fields, diff_bytes, sizeof(diff_bytes));
	assert_int_equal(q.hash[31], 0x5a);
	store_request_clear(&q);
	assert_int_equal(store_request_get(f->st, id + 100, &q),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(store_request_ids(f->st, "pending", f->agent, ids, 8,
	    &n), COFFER_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], id);
	assert_int_equal(store_request_ids(f->st, "applied", 0, ids, 8, &n),
	    COFFER_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_request_ids(f->st, NULL, f->mgr, ids, 8, &n),
	    COFFER_OK);
	assert_int_equal(n, 0);
}

static void
test_state_moves(void **state)
{
	struct fx *f = *state;
	struct store_request q;
	int64_t id = add_request(f, 3600);

	assert_int_equal(store_request_set_state(f->st, id, "pending",
	    "rejected", f->mgr, 100), COFFER_OK);
	/* no longer pending: a second decision finds nothing to move */
	assert_int_equal(store_request_set_state(f->st, id, "pending",
	    "applied", f->mgr, 101), COFFER_ERR_CONFLICT);
	/* and the database itself refuses moving a closed request */
	assert_int_not_equal(store_request_set_state(f->st, id, "rejected",
	    "pending", f->mgr, 102), COFFER_OK);
	assert_int_equal(store_request_get(f->st, id, &q), COFFER_OK);
	assert_string_equal(q.state, "rejected");
	assert_int_equal(q.updated, 100);
	store_request_clear(&q);
}

static int
sql_ok(struct fx *f, const char *sql)
{
	return sqlite3_exec(store_sqlite(f->st), sql, NULL, NULL, NULL) ==
	    SQLITE_OK;
}

static void
test_immutable_rows(void **state)
{
	struct fx *f = *state;
	struct store_history h;
	struct store_approval a;
	int64_t id = add_request(f, 3600);

	memset(&a, 0, sizeof(a));
	a.request_id = id;
	a.approver_id = f->mgr;
	snprintf(a.role, sizeof(a.role), "manager");
	snprintf(a.decision, sizeof(a.decision), "approve");
	assert_int_equal(store_approval_add(f->st, &a), COFFER_OK);
	memset(&h, 0, sizeof(h));
	snprintf(h.kind, sizeof(h.kind), "customer");
	snprintf(h.op, sizeof(h.op), "update");
	h.record_id = f->cust;
	h.version = 2;
	h.request_id = id;
	h.requester_id = f->agent;
	h.fields = (unsigned char *)diff_bytes;
	h.fields_len = sizeof(diff_bytes);
	assert_int_equal(store_history_add(f->st, &h), COFFER_OK);
	assert_false(sql_ok(f, "UPDATE change_requests SET reason = 'x'"));
	assert_false(sql_ok(f, "UPDATE change_requests SET base_version = 9"));
	assert_false(sql_ok(f, "DELETE FROM change_requests"));
	assert_false(sql_ok(f, "UPDATE approvals SET decision = 'reject'"));
	assert_false(sql_ok(f, "DELETE FROM approvals"));
	assert_false(sql_ok(f, "UPDATE record_history SET approvers = 'me'"));
	assert_false(sql_ok(f, "DELETE FROM record_history"));
	assert_false(sql_ok(f, "DELETE FROM request_events"));
	/* the state column may move, once, out of pending */
	assert_true(sql_ok(f, "UPDATE change_requests SET state = 'withdrawn'"));
	assert_false(sql_ok(f, "UPDATE change_requests SET state = 'pending'"));
}

static void
test_approvals(void **state)
{
	struct fx *f = *state;
	struct store_approval a, out[4];
	int64_t id = add_request(f, 3600);
	size_t n = 0;

	memset(&a, 0, sizeof(a));
	a.request_id = id;
	a.approver_id = f->mgr;
	snprintf(a.role, sizeof(a.role), "manager");
	snprintf(a.decision, sizeof(a.decision), "approve");
	snprintf(a.comment, sizeof(a.comment), "checked");
	a.time = 1234;
	memset(a.signature, 0xab, sizeof(a.signature));
	memset(a.statement_hash, 0xcd, sizeof(a.statement_hash));
	assert_int_equal(store_approval_add(f->st, &a), COFFER_OK);
	/* one decision per approver and request */
	snprintf(a.decision, sizeof(a.decision), "reject");
	assert_int_equal(store_approval_add(f->st, &a), COFFER_ERR_CONFLICT);
	snprintf(a.decision, sizeof(a.decision), "maybe");
	a.approver_id = f->boss;
	assert_int_equal(store_approval_add(f->st, &a), COFFER_ERR_INVALID);
	assert_int_equal(store_approval_list(f->st, id, out, 4, &n), COFFER_OK);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].approver, "mgr");
	assert_string_equal(out[0].decision, "approve");
	assert_string_equal(out[0].comment, "checked");
	assert_int_equal(out[0].signature[63], 0xab);
	assert_int_equal(out[0].statement_hash[0], 0xcd);
}

static void
test_history(void **state)
{
	struct fx *f = *state;
	struct store_history h, *list = NULL;
	int64_t id = add_request(f, 3600);
	size_t n = 0;

	memset(&h, 0, sizeof(h));
	snprintf(h.kind, sizeof(h.kind), "customer");
	snprintf(h.op, sizeof(h.op), "update");
	snprintf(h.approvers, sizeof(h.approvers), "mgr,boss");
	h.record_id = f->cust;
	h.version = 2;
	h.request_id = id;
	h.requester_id = f->agent;
	h.time = 99;
	h.fields = (unsigned char *)diff_bytes;
	h.fields_len = sizeof(diff_bytes);
	assert_int_equal(store_history_add(f->st, &h), COFFER_OK);
	assert_int_equal(store_history_list(f->st, "customer", f->cust, &list,
	    &n), COFFER_OK);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].version, 2);
	assert_int_equal(list[0].request_id, id);
	assert_string_equal(list[0].approvers, "mgr,boss");
	assert_memory_equal(list[0].fields, diff_bytes, sizeof(diff_bytes));
	store_history_free(list, n);
	assert_int_equal(store_history_list(f->st, "call", f->cust, &list, &n),
	    COFFER_OK);
	assert_int_equal(n, 0);
	store_history_free(list, n);
}

static void
test_due(void **state)
{
	struct fx *f = *state;
	int64_t early = add_request(f, 1), late = add_request(f, 3600), ids[8];
	size_t n = 0;

	(void)late;
	assert_int_equal(store_request_due(f->st, (int64_t)time(NULL) + 10,
	    ids, 8, &n), COFFER_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], early);
	assert_int_equal(store_request_due(f->st, (int64_t)time(NULL) - 10,
	    ids, 8, &n), COFFER_OK);
	assert_int_equal(n, 0);
}

static void
test_chain(void **state)
{
	struct fx *f = *state;
	int yes = -1;

	assert_int_equal(store_user_in_chain(f->st, f->agent, f->mgr, &yes),
	    COFFER_OK);
	assert_true(yes);
	assert_int_equal(store_user_in_chain(f->st, f->agent, f->boss, &yes),
	    COFFER_OK);
	assert_true(yes);
	assert_int_equal(store_user_in_chain(f->st, f->agent, f->other, &yes),
	    COFFER_OK);
	assert_false(yes);
	assert_int_equal(store_user_in_chain(f->st, f->agent, f->agent, &yes),
	    COFFER_OK);
	assert_false(yes);
	assert_int_equal(store_user_in_chain(f->st, f->mgr, f->agent, &yes),
	    COFFER_OK);
	assert_false(yes);
}

static void
test_tombstone(void **state)
{
	struct fx *f = *state;
	const struct kind_def *k = schema_kind("customer");
	struct store_scope all = { SCOPE_ALL, 0, "", 0, 0 };
	struct store_scope own;
	cbor_item_t *rec = NULL, *list = NULL;
	uint64_t total = 9;
	int64_t v = 0;
	int deleted = 0;

	assert_int_equal(store_record_tombstone(f->st, k, f->cust, 7),
	    COFFER_ERR_CONFLICT);
	assert_int_equal(store_record_tombstone(f->st, k, f->cust, 1),
	    COFFER_OK);
	assert_int_equal(store_record_get(f->st, k, f->cust, &all, &rec),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(store_record_list(f->st, k, NULL, 0, &all, 10, 0,
	    &list, &total), COFFER_OK);
	assert_int_equal(total, 0);
	assert_int_equal(cbor_array_size(list), 0);
	cbor_decref(&list);
	/* a second tombstone finds nothing at that version */
	assert_int_equal(store_record_tombstone(f->st, k, f->cust, 2),
	    COFFER_ERR_CONFLICT);
	/* its history outlives it: found, flagged, in scope only */
	own = all;
	own.kind = SCOPE_OWN;
	own.user_id = f->agent;
	assert_int_equal(store_record_get_any(f->st, k, f->cust, &own, &rec,
	    &deleted), COFFER_OK);
	assert_true(deleted);
	assert_int_equal(msg_get_int(rec, "version", &v), COFFER_OK);
	assert_int_equal(v, 2);
	cbor_decref(&rec);
	own.user_id = f->mgr;
	assert_int_equal(store_record_get_any(f->st, k, f->cust, &own, &rec,
	    &deleted), COFFER_ERR_DENIED);
	assert_int_equal(store_record_get_any(f->st, k, f->cust + 99, &all,
	    &rec, &deleted), COFFER_ERR_NOT_FOUND);
}

/* The one integer a query returns (-1 on error). */
static int64_t
sql_int(struct fx *f, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(store_sqlite(f->st), sql, -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* A history row of f->cust carrying diff_bytes, for request id. */
static void
add_history(struct fx *f, int64_t id, const char *op)
{
	struct store_history h;

	memset(&h, 0, sizeof(h));
	snprintf(h.kind, sizeof(h.kind), "customer");
	snprintf(h.op, sizeof(h.op), "%s", op);
	h.record_id = f->cust;
	h.version = 2;
	h.request_id = id;
	h.requester_id = f->agent;
	h.fields = (unsigned char *)diff_bytes;
	h.fields_len = sizeof(diff_bytes);
	assert_int_equal(store_history_add(f->st, &h), COFFER_OK);
}

/*
 * Purge (migration 3): the values go from the record, its history and its
 * closed requests; the database allows exactly that erasure, only after
 * the customer is purged, and nothing else.
 */
static void
test_purge(void **state)
{
	static const char *const names[] = { "name", "phone", "intent" };
	static const char *const bad[] = { "owner_id" };
	struct fx *f = *state;
	const struct kind_def *k = schema_kind("customer");
	struct store_scope all = { SCOPE_ALL, 0, "", 0, 0 };
	struct store_history *list = NULL;
	struct store_request q;
	cbor_item_t *rec = NULL;
	char buf[32];
	int64_t closed = add_request(f, 3600), open = add_request(f, 3600);
	size_t nh = 9, nr = 9, n = 0;
	int deleted = 0;

	add_history(f, closed, "update");
	assert_int_equal(store_request_set_state(f->st, closed, "pending",
	    "applied", f->mgr, 1), COFFER_OK);
	/* before the purge: no erasure at all */
	assert_false(sql_ok(f, "UPDATE record_history SET fields = X'A0'"));
	assert_false(sql_ok(f, "UPDATE change_requests SET fields = X'A0'"));
	assert_int_not_equal(store_purge_erase(f->st, "customer", f->cust, &nh,
	    &nr), COFFER_OK);
	/* the record itself */
	assert_int_equal(store_record_erase(f->st, k, f->cust, 7, names, 3),
	    COFFER_ERR_CONFLICT);
	assert_int_equal(store_record_erase(f->st, k, f->cust, 1, bad, 1),
	    COFFER_ERR_INVALID);
	assert_int_equal(store_record_erase(f->st, k, f->cust, 1, names, 3),
	    COFFER_OK);
	assert_int_equal(store_record_get(f->st, k, f->cust, &all, &rec),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(store_record_get_any(f->st, k, f->cust, &all, &rec,
	    &deleted), COFFER_OK);
	assert_true(deleted);
	assert_int_equal(msg_get_str(rec, "name", buf, sizeof(buf)),
	    COFFER_OK);
	assert_string_equal(buf, STORE_PURGED_TEXT);
	assert_int_equal(msg_get_str(rec, "phone", buf, sizeof(buf)),
	    COFFER_OK);
	assert_string_equal(buf, STORE_PURGED_PHONE);
	assert_int_not_equal(msg_get_str(rec, "intent", buf, sizeof(buf)),
	    COFFER_OK);
	cbor_decref(&rec);
	/* still only the marker, and only the fields column */
	assert_false(sql_ok(f, "UPDATE record_history SET fields = X'A1'"));
	assert_false(sql_ok(f, "UPDATE record_history SET fields = X'A0', "
	    "approvers = 'me'"));
	assert_false(sql_ok(f, "UPDATE change_requests SET fields = X'A0', "
	    "reason = 'x'"));
	/* history and closed requests erased; the pending one is not */
	assert_int_equal(store_purge_erase(f->st, "customer", f->cust, &nh,
	    &nr), COFFER_OK);
	assert_int_equal(nh, 1);
	assert_int_equal(nr, 1);
	assert_int_equal(store_history_list(f->st, "customer", f->cust, &list,
	    &n), COFFER_OK);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].fields_len, 1);
	assert_memory_equal(list[0].fields, REQ_PURGED, 1);
	store_history_free(list, n);
	assert_int_equal(store_request_get(f->st, open, &q), COFFER_OK);
	assert_memory_equal(q.fields, diff_bytes, sizeof(diff_bytes));
	store_request_clear(&q);
	assert_false(sql_ok(f, "UPDATE change_requests SET fields = X'A0' "
	    "WHERE state = 'pending'"));
	assert_int_equal(store_request_set_state(f->st, open, "pending",
	    "conflicted", 0, 2), COFFER_OK);
	assert_int_equal(store_purge_erase(f->st, "customer", f->cust, &nh,
	    &nr), COFFER_OK);
	assert_int_equal(nh, 0);
	assert_int_equal(nr, 1);
	/* no value left anywhere in the tables that held them */
	assert_int_equal(sql_int(f, "SELECT count(*) FROM record_history "
	    "WHERE instr(fields, 'high') > 0 OR instr(fields, 'low') > 0"), 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM change_requests "
	    "WHERE instr(fields, 'high') > 0 OR instr(fields, 'low') > 0"), 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM customers WHERE "
	    "name = 'Zhang' OR phone = '13800000001'"), 0);
	/* a purge is an op of requests and history now; others are not */
	add_history(f, closed, "purge");
	assert_false(sql_ok(f, "UPDATE record_history SET op = 'erase'"));
}

/* docs/requests.md §4: the statement and the request hash, byte for byte. */
static const char statement_hex[] =
    "636f666665722f3120617070726f76616c00a5646861736858200001020304050607"
    "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f67636f6d6d656e74626f"
    "6b67726571756573740c68617070726f766572696d67722d6e6f7274686864656369"
    "73696f6e67617070726f7665";
static const char request_hash_hex[] =
    "9309ea520c248622f1a91a4f91415e31668784159c90d3001c0f60b371da5c64";
static const char sig_hex[] =
    "159b0bced1356c11051be732fd075f48c6230686d497c2f5e19cb0d6f97c5a71"
    "6ec7c4ae27270733d4ba70c3741dac16522723b2f5c3ded2c45b1185db430304";

static void
test_statement_vector(void **state)
{
	unsigned char h[32], rh[32], *st = NULL, seed[32], pk[32], sk[64];
	unsigned char sig[64], want[64];
	char hex[2 * sizeof(statement_hex)];
	struct approval_request r = { "customer", 31, 1, "update", diff_bytes,
	    sizeof(diff_bytes), "the customer asked for a demo", 5,
	    1767225600, 1767484800 };
	size_t len = 0, i;

	(void)state;
	for (i = 0; i < 32; i++)
		h[i] = (unsigned char)i;
	assert_int_equal(approval_statement(12, h, "approve", "ok",
	    "mgr-north", &st, &len), COFFER_OK);
	sodium_bin2hex(hex, sizeof(hex), st, len);
	assert_string_equal(hex, statement_hex);
	free(st);
	assert_int_equal(approval_request_hash(&r, rh), COFFER_OK);
	sodium_bin2hex(hex, sizeof(hex), rh, 32);
	assert_string_equal(hex, request_hash_hex);
	/* Ed25519 with the seed 0x42 x 32 is deterministic */
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	assert_int_equal(approval_sign(sk, 12, h, "approve", "ok", "mgr-north",
	    sig), COFFER_OK);
	assert_int_equal(sodium_hex2bin(want, 64, sig_hex, 128, NULL, NULL,
	    NULL), 0);
	assert_memory_equal(sig, want, 64);
	sodium_memzero(sk, sizeof(sk));
	assert_int_equal(approval_verify(pk, 12, h, "approve", "ok",
	    "mgr-north", sig), COFFER_OK);
}

/* Every part of the statement is bound: change one, the check fails. */
static void
test_forgeries_fail(void **state)
{
	unsigned char h[32], h2[32], seed[32], pk[32], sk[64], sig[64];
	unsigned char pk2[32], sk2[64];

	(void)state;
	memset(h, 1, sizeof(h));
	memcpy(h2, h, sizeof(h2));
	h2[31] ^= 1;
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	crypto_sign_keypair(pk2, sk2);
	assert_int_equal(approval_sign(sk, 7, h, "approve", "fine", "mgr",
	    sig), COFFER_OK);
	assert_int_equal(approval_verify(pk, 7, h, "approve", "fine", "mgr",
	    sig), COFFER_OK);
	assert_int_equal(approval_verify(pk, 8, h, "approve", "fine", "mgr",
	    sig), COFFER_ERR_CRYPTO);
	assert_int_equal(approval_verify(pk, 7, h2, "approve", "fine", "mgr",
	    sig), COFFER_ERR_CRYPTO);
	assert_int_equal(approval_verify(pk, 7, h, "reject", "fine", "mgr",
	    sig), COFFER_ERR_CRYPTO);
	assert_int_equal(approval_verify(pk, 7, h, "approve", "fine!", "mgr",
	    sig), COFFER_ERR_CRYPTO);
	assert_int_equal(approval_verify(pk, 7, h, "approve", "fine", "mgr2",
	    sig), COFFER_ERR_CRYPTO);
	assert_int_equal(approval_verify(pk2, 7, h, "approve", "fine", "mgr",
	    sig), COFFER_ERR_CRYPTO);
	assert_int_equal(approval_verify(pk, 7, h, "maybe", "fine", "mgr",
	    sig), COFFER_ERR_CRYPTO);
	sig[0] ^= 1;
	assert_int_equal(approval_verify(pk, 7, h, "approve", "fine", "mgr",
	    sig), COFFER_ERR_CRYPTO);
	assert_int_equal(approval_sign(sk, 7, h, "maybe", "fine", "mgr", sig),
	    COFFER_ERR_INVALID);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sk2, sizeof(sk2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_request_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_state_moves, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_immutable_rows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_approvals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tombstone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
		cmocka_unit_test(test_statement_vector),
		cmocka_unit_test(test_forgeries_fail),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
