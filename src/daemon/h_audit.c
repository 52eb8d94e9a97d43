/*
 * h_audit.c - the compliance officer's operations: audit.search,
 * audit.show (one record with its inclusion proof), audit.checkpoint and
 * audit.export (pages of JSON lines).  Only access_decide's ACT_AUDIT_READ
 * lets anyone in; the reads go through the audit module's reader, which
 * never holds the log's append lock, and each page is bounded so that the
 * answer fits one protocol frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/audit.h"
#include "coffer/handlers.h"
#include "coffer/msg.h"
#include "coffer/schema.h"

#define SEARCH_LIMIT_DEFAULT 100
#define SEARCH_LIMIT_MAX 1000
#define EXPORT_LIMIT_MAX 10000
/* Under FRAME_MAX (1 MiB) and the wire's 65536 items, with room to spare. */
#define PAGE_BYTES (768u * 1024u)
#define PAGE_ITEMS 60000u
#define ARG_TEXT_MAX 128

static int
decide_audit(struct request *r, struct coffer_errdetail *d)
{
	struct access_decision dec;

	if (access_decide(r->policy, &r->subject, ACT_AUDIT_READ, NULL, &dec)
	    != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "%s",
		    dec.pd.reason);
	return COFFER_OK;
}

/*
 * A misspelt filter must not silently widen a search an officer relies
 * on: every argument key must be one the operation knows.
 */
static int
known_args(const cbor_item_t *args, const char *const *names,
    struct coffer_errdetail *d)
{
	struct cbor_pair *p = cbor_map_handle(args);
	char key[ARG_TEXT_MAX];
	size_t i, j;

	for (i = 0; i < cbor_map_size(args); i++) {
		if (msg_item_str(p[i].key, key, sizeof(key)) != COFFER_OK)
			return coffer_detail(d, COFFER_ERR_INVALID, "",
			    "argument names must be short text");
		for (j = 0; names[j] != NULL; j++)
			if (strcmp(key, names[j]) == 0)
				break;
		if (names[j] == NULL)
			return coffer_detail(d, COFFER_ERR_INVALID, key,
			    "%s: not an argument of this operation", key);
	}
	return COFFER_OK;
}

/* Optional unsigned argument; absent leaves *v untouched. */
static int
opt_uint(const cbor_item_t *args, const char *key, uint64_t max,
    uint64_t *v, int *given, struct coffer_errdetail *d)
{
	int rc = msg_get_uint(args, key, v);

	if (given != NULL)
		*given = rc == COFFER_OK;
	if (rc == COFFER_ERR_NOT_FOUND)
		return COFFER_OK;
	if (rc != COFFER_OK || *v > max)
		return coffer_detail(d, COFFER_ERR_INVALID, key, "%s: must be "
		    "an unsigned integer of at most %llu", key,
		    (unsigned long long)max);
	return COFFER_OK;
}

static int
opt_text(const cbor_item_t *args, const char *key, char *buf, size_t bufsz,
    const char **out, struct coffer_errdetail *d)
{
	int rc = msg_get_str(args, key, buf, bufsz);

	if (rc == COFFER_ERR_NOT_FOUND)
		return COFFER_OK;
	if (rc != COFFER_OK || buf[0] == '\0')
		return coffer_detail(d, COFFER_ERR_INVALID, key, "%s: must be "
		    "non-empty text of at most %zu bytes", key, bufsz - 1);
	*out = buf;
	return COFFER_OK;
}

/* Text filters are copied here so the filter can point at them. */
struct filter_text {
	char actor[ARG_TEXT_MAX], kind[ARG_TEXT_MAX], op[ARG_TEXT_MAX];
	char decision[16];
};

static int
parse_decision(const char *s, int *out)
{
	static const char *const names[] = { "allowed", "denied", "pending",
	    "error" };
	static const int values[] = { AUDIT_ALLOWED, AUDIT_DENIED,
	    AUDIT_PENDING, AUDIT_ERROR };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = values[i];
			return COFFER_OK;
		}
	return COFFER_ERR_INVALID;
}

static int
filter_ids(const cbor_item_t *args, struct audit_filter *f,
    struct coffer_errdetail *d)
{
	uint64_t aid = 0, tid = 0, from = 0, to = 0, after = 0;
	int has_after = 0, rc;

	if ((rc = opt_uint(args, "actor_id", INT64_MAX, &aid, NULL, d)) !=
	    COFFER_OK ||
	    (rc = opt_uint(args, "id", INT64_MAX, &tid, NULL, d)) != COFFER_OK ||
	    (rc = opt_uint(args, "from", UINT64_MAX / 1000000u, &from, NULL,
	    d)) != COFFER_OK ||
	    (rc = opt_uint(args, "to", UINT64_MAX / 1000000u, &to, NULL, d)) !=
	    COFFER_OK ||
	    (rc = opt_uint(args, "after", UINT64_MAX - 1, &after, &has_after,
	    d)) != COFFER_OK)
		return rc;
	f->actor_id = (int64_t)aid;
	f->target_id = (int64_t)tid;
	f->from_us = from * 1000000u;
	f->to_us = to * 1000000u;
	f->start = has_after ? after + 1 : 0;
	return COFFER_OK;
}

/* The filter arguments shared by audit.search and audit.export. */
static int
parse_filter(const cbor_item_t *args, uint64_t limit, size_t limit_max,
    struct audit_filter *f, struct filter_text *t,
    struct coffer_errdetail *d)
{
	const struct kind_def *k;
	const char *dec = NULL;
	int rc;

	audit_filter_init(f);
	if ((rc = opt_text(args, "actor", t->actor, sizeof(t->actor),
	    &f->actor, d)) != COFFER_OK ||
	    (rc = opt_text(args, "kind", t->kind, sizeof(t->kind), &f->kind,
	    d)) != COFFER_OK ||
	    (rc = opt_text(args, "op", t->op, sizeof(t->op), &f->op, d)) !=
	    COFFER_OK ||
	    (rc = opt_text(args, "decision", t->decision, sizeof(t->decision),
	    &dec, d)) != COFFER_OK ||
	    (rc = filter_ids(args, f, d)) != COFFER_OK ||
	    (rc = opt_uint(args, "limit", limit_max, &limit, NULL, d)) !=
	    COFFER_OK)
		return rc;
	if (limit == 0)
		return coffer_detail(d, COFFER_ERR_INVALID, "limit", "limit: "
		    "must be from 1 to %zu", limit_max);
	f->limit = (size_t)limit;
	if (dec != NULL && parse_decision(dec, &f->decision) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_INVALID, "decision",
		    "decision: must be allowed, denied, pending or error");
	if (f->kind != NULL) {
		/* Records name the singular kind; accept the plural too. */
		if ((k = schema_kind(f->kind)) == NULL)
			return coffer_detail(d, COFFER_ERR_INVALID, "kind",
			    "kind: no such record kind '%s'", f->kind);
		f->kind = k->name;
	}
	if (f->to_us != 0 && f->to_us <= f->from_us)
		return coffer_detail(d, COFFER_ERR_INVALID, "to", "to: must "
		    "be after from");
	return COFFER_OK;
}

/* ---- pages ------------------------------------------------------------- */

struct page {
	cbor_item_t *records;
	size_t bytes, items;
	int json;                 /* export: one JSON text per record */
};

static size_t
item_count(const cbor_item_t *it)
{
	size_t n = 1, i;

	if (cbor_isa_array(it))
		for (i = 0; i < cbor_array_size(it); i++)
			n += item_count(cbor_array_handle(it)[i]);
	else if (cbor_isa_map(it))
		for (i = 0; i < cbor_map_size(it); i++)
			n += item_count(cbor_map_handle(it)[i].key) +
			    item_count(cbor_map_handle(it)[i].value);
	return n;
}

static int
page_add(void *arg, uint64_t seq, const unsigned char *rec, size_t len)
{
	struct page *pg = arg;
	cbor_item_t *it = NULL;
	char *line = NULL;
	size_t size, n = 1;
	int rc;

	(void)seq;
	if (pg->json) {
		if ((rc = audit_record_json(rec, len, &line)) != COFFER_OK)
			return rc;
		size = strlen(line);
		it = size + pg->bytes <= PAGE_BYTES ? msg_new_str(line) : NULL;
		free(line);
		if (it == NULL)
			return size + pg->bytes > PAGE_BYTES ?
			    COFFER_ERR_TOO_BIG : COFFER_ERR_NOMEM;
	} else {
		if ((rc = audit_record_item(rec, len, &it)) != COFFER_OK)
			return rc;
		size = len;
		n = item_count(it);
		if (pg->bytes + size > PAGE_BYTES ||
		    pg->items + n > PAGE_ITEMS) {
			cbor_decref(&it);
			return COFFER_ERR_TOO_BIG;
		}
	}
	if ((rc = msg_push(pg->records, it)) != COFFER_OK)
		return rc;
	pg->bytes += size;
	pg->items += n;
	return COFFER_OK;
}

/* {"records": [...], "next": seq | null} */
static int
run_page(struct request *r, const cbor_item_t *args, uint64_t limit,
    size_t limit_max, int json, cbor_item_t **result, struct coffer_errdetail *d)
{
	static const char *const names[] = { "actor", "actor_id", "kind",
	    "id", "op", "decision", "from", "to", "after", "limit", NULL };
	struct audit_filter f;
	struct filter_text t;
	struct page pg = { NULL, 0, 0, json };
	cbor_item_t *res = NULL;
	uint64_t next = 0;
	int more = 0, rc;

	if ((rc = decide_audit(r, d)) != COFFER_OK ||
	    (rc = known_args(args, names, d)) != COFFER_OK ||
	    (rc = parse_filter(args, limit, limit_max, &f, &t, d)) != COFFER_OK)
		return rc;
	if ((pg.records = msg_new_array()) == NULL)
		return COFFER_ERR_NOMEM;
	rc = audit_search(r->d->audit, &f, page_add, &pg, &more, &next);
	if (rc == COFFER_ERR_PROTO)
		rc = coffer_detail(d, COFFER_ERR_INTERNAL, "", "the audit log "
		    "holds a damaged record: run coffer-verify");
	if (rc != COFFER_OK)
		goto out;
	rc = COFFER_ERR_NOMEM;
	if ((res = msg_new_map()) == NULL)
		goto out;
	rc = msg_put(res, "records", pg.records);
	pg.records = NULL; /* transferred */
	if (rc != COFFER_OK || (rc = msg_put(res, "next", more ?
	    msg_new_uint(next) : msg_new_null())) != COFFER_OK)
		goto out;
	*result = res;
	res = NULL;
out:
	if (pg.records != NULL)
		cbor_decref(&pg.records);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}

int
handle_audit_search(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	return run_page(r, args, SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX, 0,
	    result, d);
}

int
handle_audit_export(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	return run_page(r, args, EXPORT_LIMIT_MAX, EXPORT_LIMIT_MAX, 1,
	    result, d);
}

/* ---- one record with its proof ---------------------------------------- */

/* {"tree_size", "leaf_index", "hashes": [bstr]} */
static cbor_item_t *
proof_map(const struct audit_proof *p)
{
	cbor_item_t *m = msg_new_map(), *h = msg_new_array();
	unsigned i;
	int rc;

	if (m == NULL || h == NULL)
		goto fail;
	for (i = 0; i < p->nhashes; i++)
		if (msg_push(h, msg_new_bytes(p->hashes[i], 32)) != COFFER_OK)
			goto fail;
	if (msg_put_uint(m, "tree_size", p->tree_size) != COFFER_OK ||
	    msg_put_uint(m, "leaf_index", p->seq) != COFFER_OK)
		goto fail;
	rc = msg_put(m, "hashes", h);
	h = NULL; /* taken */
	if (rc != COFFER_OK)
		goto fail;
	return m;
fail:
	if (h != NULL)
		cbor_decref(&h);
	if (m != NULL)
		cbor_decref(&m);
	return NULL;
}

int
handle_audit_show(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	static const char *const names[] = { "seq", NULL };
	struct audit_proof p;
	cbor_item_t *res = NULL, *rec = NULL;
	uint64_t seq;
	int rc;

	memset(&p, 0, sizeof(p));
	if ((rc = decide_audit(r, d)) != COFFER_OK ||
	    (rc = known_args(args, names, d)) != COFFER_OK)
		return rc;
	if (msg_get_uint(args, "seq", &seq) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_INVALID, "seq", "seq: "
		    "required, an unsigned integer");
	rc = audit_prove(r->d->audit, seq, &p);
	if (rc == COFFER_ERR_NOT_FOUND)
		rc = coffer_detail(d, rc, "seq", "seq: no audit record %llu",
		    (unsigned long long)seq);
	if (rc != COFFER_OK || (rc = audit_record_item(p.rec, p.len, &rec)) !=
	    COFFER_OK)
		goto out;
	rc = COFFER_ERR_NOMEM;
	if ((res = msg_new_map()) == NULL)
		goto out;
	rc = msg_put(res, "record", rec);
	rec = NULL; /* transferred */
	if (rc != COFFER_OK ||
	    (rc = msg_put_bytes(res, "leaf_hash", p.leaf, 32)) != COFFER_OK ||
	    (rc = msg_put(res, "proof", proof_map(&p))) != COFFER_OK ||
	    (rc = msg_put_str(res, "checkpoint", p.checkpoint)) != COFFER_OK)
		goto out;
	*result = res;
	res = NULL;
out:
	audit_proof_free(&p);
	if (rec != NULL)
		cbor_decref(&rec);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}

int
handle_audit_checkpoint(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	static const char *const names[] = { NULL };
	cbor_item_t *res = NULL;
	char *text = NULL;
	int rc;

	if ((rc = decide_audit(r, d)) != COFFER_OK ||
	    (rc = known_args(args, names, d)) != COFFER_OK)
		return rc;
	/*
	 * The officer keeps this as evidence: make it cover every record
	 * durable now (one signature per officer request, not per record).
	 */
	if ((rc = audit_checkpoint_now(r->d->audit)) != COFFER_OK ||
	    (rc = audit_latest_checkpoint(r->d->audit, &text)) != COFFER_OK)
		return rc;
	rc = COFFER_ERR_NOMEM;
	if ((res = msg_new_map()) != NULL &&
	    (rc = msg_put_str(res, "checkpoint", text)) == COFFER_OK) {
		*result = res;
		res = NULL;
	}
	free(text);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}
