/*
 * h_records.c - record.get/list/create/update/delete for every kind in the
 * schema.  Each handler asks access_decide() for a row scope and hands it
 * to the store, which applies it in SQL; ownership fields that the daemon
 * controls (owner, agent, author) are filled or checked here.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coffer/args.h"
#include "coffer/dnc.h"
#include "coffer/handlers.h"
#include "coffer/msg.h"
#include "coffer/schema.h"
#include "coffer/store.h"

#define LIST_DEFAULT 50
#define FILTERS_MAX 8

static int
decide(struct request *r, enum access_action a, const struct kind_def *k,
    struct access_decision *dec, struct coffer_errdetail *d)
{
	if (access_decide(r->policy, &r->subject, a, k, dec) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "%s",
		    dec->pd.reason);
	return COFFER_OK;
}

/* Customer data: kinds owned through an agent (volume limits count them). */
static int
customer_data(const struct kind_def *k)
{
	return k->scope != SCOPE_SHARED;
}

/*
 * A customer record whose phone is on the do-not-call list counts as
 * flagged (docs/dnc.md): the list is effective at once, also for a
 * customer created after the number was listed.
 */
static int
listed_phone(struct request *r, const cbor_item_t *rec, int *listed)
{
	char raw[64], phone[DNC_PHONE_MAX];

	*listed = 0;
	if (msg_get_str(rec, "phone", raw, sizeof(raw)) != COFFER_OK ||
	    dnc_normalize(raw, phone, sizeof(phone)) != COFFER_OK)
		return COFFER_OK;
	return dnc_contains(r->st, phone, listed);
}

/*
 * The facts the policy checks a row against: a customer's own label,
 * do-not-call flag (or listed number, which only a reveal asks about:
 * with_list) and stage, or for a record of a customer, that customer's.
 * rec is the record as stored (or as it will be).
 */
static int
row_facts(struct request *r, const struct kind_def *k, const cbor_item_t *rec,
    int with_list, struct store_customer_facts *cf, struct policy_row *row)
{
	int64_t cid = 0;
	int rc, dnc = 0;

	memset(cf, 0, sizeof(*cf));
	memset(row, 0, sizeof(*row));
	if (strcmp(k->name, "customer") == 0) {
		(void)msg_get_str(rec, "label", cf->label, sizeof(cf->label));
		(void)msg_get_str(rec, "stage", cf->stage, sizeof(cf->stage));
		if (msg_get_bool(rec, "do_not_call", &dnc) == COFFER_OK)
			cf->do_not_call = dnc;
		if (!cf->do_not_call && with_list &&
		    (rc = listed_phone(r, rec, &cf->do_not_call)) != COFFER_OK)
			return rc;
	} else if (schema_field(k, "customer_id") != NULL &&
	    msg_get_int(rec, "customer_id", &cid) == COFFER_OK && cid > 0) {
		rc = store_customer_facts(r->st, cid, cf);
		if (rc != COFFER_OK && rc != COFFER_ERR_NOT_FOUND)
			return rc;
	}
	row->label = cf->label;
	row->do_not_call = cf->do_not_call;
	row->stage = cf->stage[0] ? cf->stage : NULL;
	return COFFER_OK;
}

/* No read-up (and for a reveal, the field's own rules) on one row. */
static int
check_row(struct request *r, struct access_decision *dec,
    const cbor_item_t *rec, const char *field, struct coffer_errdetail *d)
{
	struct store_customer_facts cf;
	struct policy_row row;
	int rc;

	if ((rc = row_facts(r, dec->kind, rec, field != NULL, &cf, &row)) !=
	    COFFER_OK)
		return rc;
	if (access_check_row(dec, &row, field) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, field != NULL ?
		    "field" : "id", "%s", dec->pd.reason);
	return COFFER_OK;
}

/*
 * Count n events against the user's volume limit of this kind.  Over the
 * limit, the request is refused and an alert.volume record, which the
 * compliance officer can search for, goes into the audit trail.
 */
static int
volume(struct request *r, enum policy_limit which, uint32_t n,
    struct coffer_errdetail *d)
{
	uint32_t max = policy_limit(r->policy, r->subject.role_name, which);
	char reason[128];
	int rc;

	if (max == POLICY_UNLIMITED || n == 0)
		return COFFER_OK;
	rc = limits_take(r->d->limits, r->subject.user_id, which, max, n,
	    time(NULL));
	if (rc == COFFER_OK)
		return COFFER_OK;
	if (rc == COFFER_ERR_BUSY)
		snprintf(reason, sizeof(reason), "%s limit cannot be counted: "
		    "too many active users", policy_limit_name(which));
	else
		snprintf(reason, sizeof(reason), "%s limit reached: %u per hour",
		    policy_limit_name(which), (unsigned)max);
	(void)dispatch_audit_event(r->d, "alert.volume", r,
	    COFFER_ERR_DENIED, reason);
	return coffer_detail(d, COFFER_ERR_DENIED, "", "%s", reason);
}

int
handler_volume(struct request *r, enum policy_limit which, uint32_t n,
    struct coffer_errdetail *d)
{
	return volume(r, which, n, d);
}

/* {"record": rec as the user may see it, "masked": [...], "omitted": [...]} */
static int
present_one(const struct access_decision *dec, const cbor_item_t *rec,
    cbor_item_t **result)
{
	struct access_seen seen;
	cbor_item_t *shown = NULL, *res = NULL;
	int rc;

	memset(&seen, 0, sizeof(seen));
	if ((rc = access_present(dec, rec, &shown, &seen)) != COFFER_OK)
		return rc;
	if ((res = msg_new_map()) == NULL) {
		cbor_decref(&shown);
		return COFFER_ERR_NOMEM;
	}
	if (msg_put(res, "record", shown) != COFFER_OK ||
	    access_put_seen(dec, &seen, res) != COFFER_OK) {
		cbor_decref(&res);
		return COFFER_ERR_NOMEM;
	}
	*result = res;
	return COFFER_OK;
}

/* A new map holding every pair of src plus key -> value (value taken). */
static int
map_with(const cbor_item_t *src, const char *key, cbor_item_t *value,
    cbor_item_t **out)
{
	cbor_item_t *m = msg_new_map();
	struct cbor_pair *p = cbor_map_handle(src);
	size_t i, n = cbor_map_size(src);
	char name[64];

	if (m == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if (msg_item_str(p[i].key, name, sizeof(name)) != COFFER_OK)
			continue; /* schema_validate rejects it later */
		if (strcmp(name, key) == 0)
			continue;
		if (msg_put(m, name, cbor_incref(p[i].value)) != COFFER_OK)
			goto fail;
	}
	if (msg_put(m, key, value) != COFFER_OK) {
		value = NULL;
		goto fail;
	}
	*out = m;
	return COFFER_OK;
fail:
	if (value != NULL)
		cbor_decref(&value);
	if (m != NULL)
		cbor_decref(&m);
	return COFFER_ERR_NOMEM;
}

/* The field that names the user a new record belongs to, if any. */
static const char *
owner_field(const struct kind_def *k)
{
	size_t i;

	for (i = 0; i < k->nfields; i++)
		if (k->fields[i].flags & FF_OWNER)
			return k->fields[i].name;
	if (schema_field(k, "agent_id") != NULL)
		return "agent_id";
	return NULL;
}

/*
 * An owner named in a new or updated record must be an active user the
 * requester may act for: themselves with an own scope; with a team scope,
 * a user the store then checks is within it.
 */
static int
check_owner(struct request *r, const struct access_decision *dec,
    const char *field, int64_t owner, struct coffer_errdetail *d)
{
	struct store_user u;
	int rc;

	if (owner == r->subject.user_id)
		return COFFER_OK;
	if (dec->pd.scope.kind == SCOPE_OWN)
		return coffer_detail(d, COFFER_ERR_DENIED, field,
		    "%s: you may only record data as yourself", field);
	rc = store_user_get_id(r->st, owner, &u);
	if (rc == COFFER_ERR_NOT_FOUND || (rc == COFFER_OK && !u.active))
		return coffer_detail(d, COFFER_ERR_INVALID, field,
		    "%s: no such active user", field);
	/* Whether the user is in the manager's team subtree is the store's
	 * scope check, made in the same transaction as the write. */
	return rc;
}

int
handle_record_get(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	const struct kind_def *k;
	struct access_decision dec;
	cbor_item_t *rec = NULL;
	int64_t id = 0;
	int rc;

	if ((rc = args_kind(args, &k, d)) != COFFER_OK ||
	    (rc = args_id(args, "id", &id, d)) != COFFER_OK ||
	    (rc = decide(r, ACT_READ, k, &dec, d)) != COFFER_OK)
		return rc;
	rc = store_record_get(r->st, k, id, &dec.pd.scope, &rec);
	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, rc, "id", "%s %lld: no such record",
		    k->name, (long long)id);
	if (rc == COFFER_ERR_DENIED)
		return coffer_detail(d, rc, "id", "%s %lld: not in your scope",
		    k->name, (long long)id);
	if (rc != COFFER_OK)
		return rc;
	if ((rc = check_row(r, &dec, rec, NULL, d)) == COFFER_OK &&
	    (!customer_data(k) ||
	    (rc = volume(r, POLICY_LIMIT_READ, 1, d)) == COFFER_OK))
		rc = present_one(&dec, rec, result);
	cbor_decref(&rec);
	return rc;
}

/* args.filters -> store filters, each an FF_FILTER field of k. */
static int
parse_filters(const struct kind_def *k, const cbor_item_t *args,
    struct store_filter *f, size_t *nf, char names[][64],
    struct coffer_errdetail *d)
{
	const cbor_item_t *m = msg_get(args, "filters");
	struct cbor_pair *p;
	const struct field_def *fd;
	size_t i, n;

	*nf = 0;
	if (m == NULL)
		return COFFER_OK;
	if (!cbor_isa_map(m))
		return coffer_detail(d, COFFER_ERR_INVALID, "filters",
		    "filters: must be a map of field to value");
	n = cbor_map_size(m);
	if (n > FILTERS_MAX)
		return coffer_detail(d, COFFER_ERR_INVALID, "filters",
		    "filters: at most %d", FILTERS_MAX);
	p = cbor_map_handle(m);
	for (i = 0; i < n; i++) {
		if (msg_item_str(p[i].key, names[i], 64) != COFFER_OK ||
		    (fd = schema_field(k, names[i])) == NULL)
			return coffer_detail(d, COFFER_ERR_INVALID, "filters",
			    "filters: unknown field of %s", k->name);
		if (!(fd->flags & FF_FILTER))
			return coffer_detail(d, COFFER_ERR_INVALID, names[i],
			    "%s: cannot filter on this field", names[i]);
		f[i].field = fd->name;
		f[i].value = p[i].value;
	}
	*nf = n;
	return COFFER_OK;
}

static int
page_args(const cbor_item_t *args, size_t *limit, size_t *offset,
    struct coffer_errdetail *d)
{
	uint64_t v;
	int rc;

	*limit = LIST_DEFAULT;
	*offset = 0;
	rc = msg_get_uint(args, "limit", &v);
	if (rc == COFFER_OK) {
		if (v == 0 || v > STORE_LIST_MAX)
			return coffer_detail(d, COFFER_ERR_INVALID, "limit",
			    "limit: must be between 1 and %d", STORE_LIST_MAX);
		*limit = (size_t)v;
	} else if (rc != COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, "limit",
		    "limit: must be an unsigned integer");
	rc = msg_get_uint(args, "offset", &v);
	if (rc == COFFER_OK && v <= 100000000)
		*offset = (size_t)v;
	else if (rc != COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, "offset",
		    "offset: must be an unsigned integer up to 100000000");
	return COFFER_OK;
}

/* Every row of recs as the user may see it, in place. */
static int
present_rows(const struct access_decision *dec, cbor_item_t *recs,
    struct access_seen *seen)
{
	cbor_item_t **rows = cbor_array_handle(recs);
	cbor_item_t *shown = NULL;
	size_t i;
	int rc;

	for (i = 0; i < cbor_array_size(recs); i++) {
		if ((rc = access_present(dec, rows[i], &shown, seen)) !=
		    COFFER_OK)
			return rc;
		if (!cbor_array_replace(recs, i, shown)) {
			cbor_decref(&shown);
			return COFFER_ERR_NOMEM;
		}
		cbor_decref(&shown);
	}
	return COFFER_OK;
}

int
handle_record_list(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	const struct kind_def *k;
	struct access_decision dec;
	struct access_seen seen;
	struct store_filter filters[FILTERS_MAX];
	char names[FILTERS_MAX][64];
	cbor_item_t *recs = NULL, *res = NULL;
	size_t nf, limit, offset;
	uint64_t total = 0;
	int rc;

	if ((rc = args_kind(args, &k, d)) != COFFER_OK ||
	    (rc = decide(r, ACT_LIST, k, &dec, d)) != COFFER_OK ||
	    (rc = parse_filters(k, args, filters, &nf, names, d)) != COFFER_OK ||
	    (rc = page_args(args, &limit, &offset, d)) != COFFER_OK)
		return rc;
	rc = store_record_list(r->st, k, filters, nf, &dec.pd.scope, limit,
	    offset, &recs, &total);
	if (rc != COFFER_OK)
		return rc == COFFER_ERR_INVALID ? coffer_detail(d, rc, "filters",
		    "filters: value has the wrong type") : rc;
	memset(&seen, 0, sizeof(seen));
	if ((customer_data(k) && (rc = volume(r, POLICY_LIMIT_LIST,
	    (uint32_t)cbor_array_size(recs), d)) != COFFER_OK) ||
	    (rc = present_rows(&dec, recs, &seen)) != COFFER_OK)
		goto out;
	rc = msg_map_of("records", recs, &res);
	recs = NULL; /* taken */
	if (rc != COFFER_OK)
		goto out;
	rc = COFFER_ERR_NOMEM;
	if (msg_put_uint(res, "total", total) != COFFER_OK ||
	    msg_put_uint(res, "offset", offset) != COFFER_OK ||
	    access_put_seen(&dec, &seen, res) != COFFER_OK)
		goto out;
	*result = res;
	res = NULL;
	rc = COFFER_OK;
out:
	if (recs != NULL)
		cbor_decref(&recs);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}

/* Fill in or check the owner of a new record; *fields may be replaced. */
static int
settle_owner(struct request *r, const struct access_decision *dec,
    const struct kind_def *k, cbor_item_t **fields,
    struct coffer_errdetail *d)
{
	const char *of = owner_field(k);
	cbor_item_t *nf = NULL;
	int64_t owner;
	int rc;

	if (of == NULL)
		return COFFER_OK;
	rc = msg_get_int(*fields, of, &owner);
	if (rc == COFFER_OK)
		return check_owner(r, dec, of, owner, d);
	if (rc != COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, of,
		    "%s: must be a user id", of);
	rc = map_with(*fields, of, msg_new_int(r->subject.user_id), &nf);
	if (rc != COFFER_OK)
		return rc;
	cbor_decref(fields);
	*fields = nf;
	return COFFER_OK;
}

/*
 * The record after a write, as the writer may read it (masked like a
 * record.get); a writer who may not read the kind gets id and version.
 */
static int
record_result(struct request *r, const struct kind_def *k, int64_t id,
    const struct store_scope *scope, cbor_item_t **result)
{
	struct access_decision rd;
	cbor_item_t *rec = NULL, *res = NULL, *brief = NULL;
	int64_t v = 0;
	int rc;

	if ((rc = store_record_get(r->st, k, id, scope, &rec)) != COFFER_OK)
		return rc;
	if (access_decide(r->policy, &r->subject, ACT_READ, k, &rd) ==
	    COFFER_OK) {
		rc = present_one(&rd, rec, result);
		cbor_decref(&rec);
		return rc;
	}
	(void)msg_get_int(rec, "version", &v);
	cbor_decref(&rec);
	rc = COFFER_ERR_NOMEM;
	if ((brief = msg_new_map()) == NULL ||
	    msg_put_int(brief, "id", id) != COFFER_OK ||
	    msg_put_int(brief, "version", v) != COFFER_OK ||
	    (res = msg_new_map()) == NULL)
		goto out;
	if (msg_put(res, "record", brief) == COFFER_OK) {
		brief = NULL;
		*result = res;
		return COFFER_OK;
	}
	brief = NULL;
out:
	if (brief != NULL)
		cbor_decref(&brief);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}

/* Writes: every field given writable, and the row (as it will be, or as
 * it is) not labelled above the writer's clearance. */
static int
check_write(struct request *r, struct access_decision *dec,
    const cbor_item_t *fields, const cbor_item_t *row,
    struct coffer_errdetail *d)
{
	int rc;

	if (fields != NULL && access_check_write(dec, fields) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "fields", "%s",
		    dec->pd.reason);
	if (row != NULL && (rc = check_row(r, dec, row, NULL, d)) !=
	    COFFER_OK)
		return rc;
	return volume(r, POLICY_LIMIT_WRITE, 1, d);
}

/* The stored row in scope, for the label check before changing it. */
static int
existing_row(struct request *r, struct access_decision *dec, int64_t id,
    cbor_item_t **rec, struct coffer_errdetail *d)
{
	int rc = store_record_get(r->st, dec->kind, id, &dec->pd.scope, rec);

	if (rc == COFFER_ERR_NOT_FOUND || rc == COFFER_ERR_DENIED)
		return coffer_detail(d, rc, "id", "%s %lld: %s", dec->kind->name,
		    (long long)id, rc == COFFER_ERR_DENIED ?
		    "not in your scope" : "no such record");
	return rc;
}

static int
fields_arg(const cbor_item_t *args, const cbor_item_t **fields,
    struct coffer_errdetail *d)
{
	*fields = msg_get(args, "fields");
	if (*fields == NULL || !cbor_isa_map(*fields))
		return coffer_detail(d, COFFER_ERR_INVALID, "fields",
		    "fields: required, a map of field name to value");
	return COFFER_OK;
}

/*
 * A call is never logged to a customer who must not be called: flagged
 * do_not_call, or whose number is on the do-not-call list (docs/dnc.md).
 * Only for a customer in the writer's scope (the call's create scope
 * reaches customers exactly as the customer kind's own does) and within
 * their clearance (check_write ran first), so the refusal tells nothing
 * about anyone else's customers; the store's own checks refuse the
 * others.  The refusal names the customer, never the
 * number, and leaves an alert.dnc record in the audit trail.
 */
static int
call_allowed(struct request *r, const struct access_decision *dec,
    const struct kind_def *k, const cbor_item_t *fields,
    struct coffer_errdetail *d)
{
	char why[128];
	cbor_item_t *cust = NULL;
	int64_t cid = 0;
	int rc, flag = 0, listed = 0;

	if (strcmp(k->name, "call") != 0 ||
	    msg_get_int(fields, "customer_id", &cid) != COFFER_OK || cid <= 0 ||
	    store_record_get(r->st, schema_kind("customer"), cid,
	    &dec->pd.scope, &cust) != COFFER_OK)
		return COFFER_OK;
	(void)msg_get_bool(cust, "do_not_call", &flag);
	rc = flag ? COFFER_OK : listed_phone(r, cust, &listed);
	cbor_decref(&cust);
	if (rc != COFFER_OK || (!flag && !listed))
		return rc;
	snprintf(why, sizeof(why), "customer %lld must not be called (%s): "
	    "the call was not logged", (long long)cid, flag ?
	    "flagged do-not-call" : "the number is on the do-not-call list");
	(void)dispatch_audit_event(r->d, "alert.dnc", r, COFFER_ERR_DENIED,
	    why);
	return coffer_detail(d, COFFER_ERR_DENIED, "customer_id", "%s", why);
}

int
handle_record_create(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	const struct kind_def *k;
	const cbor_item_t *given;
	struct access_decision dec;
	cbor_item_t *fields = NULL;
	int64_t id = 0;
	int rc;

	if ((rc = args_kind(args, &k, d)) != COFFER_OK ||
	    (rc = decide(r, ACT_CREATE, k, &dec, d)) != COFFER_OK ||
	    (rc = fields_arg(args, &given, d)) != COFFER_OK)
		return rc;
	fields = cbor_incref((cbor_item_t *)given);
	if ((rc = settle_owner(r, &dec, k, &fields, d)) != COFFER_OK ||
	    (rc = schema_validate(k, fields, 1, d)) != COFFER_OK ||
	    (rc = check_write(r, &dec, given, fields, d)) != COFFER_OK ||
	    (rc = call_allowed(r, &dec, k, fields, d)) != COFFER_OK)
		goto out;
	if ((rc = store_record_create(r->st, k, fields, &dec.pd.scope, &id, d))
	    != COFFER_OK)
		goto out;
	rc = record_result(r, k, id, &dec.pd.scope, result);
out:
	cbor_decref(&fields);
	return rc;
}

/*
 * The shortest correction window the policy gives the fields of k being
 * changed (docs/policy.md §2.8), or 0 with *field naming the first field
 * it gives none.
 */
static int64_t
correction_window(const struct policy *p, const struct kind_def *k,
    const cbor_item_t *fields, char *field, size_t fieldsz)
{
	struct cbor_pair *pr = cbor_map_handle(fields);
	int64_t w, min = 0;
	size_t i;

	for (i = 0; i < cbor_map_size(fields); i++) {
		if (msg_item_str(pr[i].key, field, fieldsz) != COFFER_OK)
			return 0;
		if ((w = policy_correction_window(p, k, field)) == 0)
			return 0;
		if (min == 0 || w < min)
			min = w;
	}
	return min;
}

int
handler_create_checked(struct request *r, struct access_decision *dec,
    const struct kind_def *k, const cbor_item_t *given, int64_t *id,
    struct coffer_errdetail *d)
{
	cbor_item_t *fields = cbor_incref((cbor_item_t *)given);
	int rc;

	if ((rc = settle_owner(r, dec, k, &fields, d)) != COFFER_OK ||
	    (rc = schema_validate(k, fields, 1, d)) != COFFER_OK)
		goto out;
	if (access_check_write(dec, given) != COFFER_OK) {
		rc = coffer_detail(d, COFFER_ERR_DENIED, "fields", "%s",
		    dec->pd.reason);
		goto out;
	}
	if ((rc = check_row(r, dec, fields, NULL, d)) != COFFER_OK)
		goto out;
	rc = store_record_create(r->st, k, fields, &dec->pd.scope, id, d);
out:
	cbor_decref(&fields);
	return rc;
}

/*
 * A direct correction: without an update grant, the owner of a record
 * may change the fields the policy's corrections name for its kind, for
 * `window` seconds after creating it.  Scope and writable fields are
 * those of the owner's create grant; the record must name the caller as
 * its owner.  On success dec holds the create decision and the audit
 * reason says it was a correction; otherwise the refusal is dec's update
 * refusal, naming the first field that is not corrected directly.
 */
static int
correction(struct request *r, const struct kind_def *k, int64_t id,
    const cbor_item_t *args, struct access_decision *dec,
    struct coffer_errdetail *d)
{
	const cbor_item_t *fields = msg_get(args, "fields");
	cbor_item_t *cur = NULL;
	const char *of = owner_field(k);
	char field[64] = "", denied[sizeof(dec->pd.reason)];
	int64_t w = 0, owner = 0, created = 0, now = (int64_t)time(NULL);
	int rc;

	/* fields are validated after this, by the caller, as for any update */
	snprintf(denied, sizeof(denied), "%s", dec->pd.reason);
	if (fields != NULL && cbor_isa_map(fields))
		w = correction_window(r->policy, k, fields, field,
		    sizeof(field));
	if (w == 0 || of == NULL || access_decide(r->policy, &r->subject,
	    ACT_CREATE, k, dec) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "%s%s%s%s",
		    denied, w == 0 && field[0] ? "; " : "",
		    w == 0 && field[0] ? field : "",
		    w == 0 && field[0] ? " is not corrected directly: ask "
		    "with a change request" : "");
	if ((rc = existing_row(r, dec, id, &cur, d)) != COFFER_OK)
		return rc;
	(void)msg_get_int(cur, of, &owner);
	(void)msg_get_int(cur, "created", &created);
	cbor_decref(&cur);
	if (owner != r->subject.user_id)
		return coffer_detail(d, COFFER_ERR_DENIED, "id", "%s %lld: "
		    "only its owner may correct it directly; ask with a change "
		    "request", k->name, (long long)id);
	if (now - created >= w)
		return coffer_detail(d, COFFER_ERR_DENIED, "id", "%s %lld: the "
		    "%llds correction window has closed; ask with a change "
		    "request", k->name, (long long)id, (long long)w);
	snprintf(r->audit_reason, sizeof(r->audit_reason), "correction by "
	    "the owner within the %llds window", (long long)w);
	return COFFER_OK;
}

int
handle_record_update(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	const struct kind_def *k;
	const cbor_item_t *fields;
	struct access_decision dec;
	cbor_item_t *cur = NULL;
	const char *of;
	int64_t id = 0, version = 0, owner = 0;
	int rc;

	if ((rc = args_kind(args, &k, d)) != COFFER_OK ||
	    (rc = args_id(args, "id", &id, d)) != COFFER_OK ||
	    (rc = args_id(args, "version", &version, d)) != COFFER_OK)
		return rc;
	if (access_decide(r->policy, &r->subject, ACT_UPDATE, k, &dec) !=
	    COFFER_OK && (rc = correction(r, k, id, args, &dec, d)) !=
	    COFFER_OK)
		return rc;
	if ((rc = fields_arg(args, &fields, d)) != COFFER_OK ||
	    (rc = schema_validate(k, fields, 0, d)) != COFFER_OK)
		return rc;
	of = owner_field(k);
	if (of != NULL && msg_get_int(fields, of, &owner) == COFFER_OK &&
	    (rc = check_owner(r, &dec, of, owner, d)) != COFFER_OK)
		return rc;
	if ((rc = existing_row(r, &dec, id, &cur, d)) != COFFER_OK)
		return rc;
	rc = check_write(r, &dec, fields, cur, d);
	cbor_decref(&cur);
	if (rc != COFFER_OK)
		return rc;
	rc = store_record_update(r->st, k, id, version, fields, &dec.pd.scope,
	    d);
	if (rc == COFFER_ERR_CONFLICT && d->message[0] == '\0')
		return coffer_detail(d, rc, "version", "%s %lld: changed since "
		    "version %lld; fetch it again", k->name, (long long)id,
		    (long long)version);
	if (rc == COFFER_ERR_NOT_FOUND || rc == COFFER_ERR_DENIED)
		return coffer_detail(d, rc, "id", "%s %lld: %s", k->name,
		    (long long)id, rc == COFFER_ERR_DENIED ?
		    "not in your scope" : "no such record");
	if (rc != COFFER_OK)
		return rc;
	return record_result(r, k, id, &dec.pd.scope, result);
}

int
handle_record_delete(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	const struct kind_def *k;
	struct access_decision dec;
	cbor_item_t *res, *cur = NULL;
	int64_t id = 0, version = 0;
	int rc;

	if ((rc = args_kind(args, &k, d)) != COFFER_OK ||
	    (rc = args_id(args, "id", &id, d)) != COFFER_OK ||
	    (rc = args_id(args, "version", &version, d)) != COFFER_OK ||
	    (rc = decide(r, ACT_DELETE, k, &dec, d)) != COFFER_OK ||
	    (rc = existing_row(r, &dec, id, &cur, d)) != COFFER_OK)
		return rc;
	rc = check_write(r, &dec, NULL, cur, d);
	cbor_decref(&cur);
	if (rc != COFFER_OK)
		return rc;
	rc = store_record_delete(r->st, k, id, version, &dec.pd.scope);
	if (rc == COFFER_ERR_CONFLICT)
		return coffer_detail(d, rc, "version", "%s %lld: changed since "
		    "version %lld, or other records still refer to it",
		    k->name, (long long)id, (long long)version);
	if (rc == COFFER_ERR_NOT_FOUND || rc == COFFER_ERR_DENIED)
		return coffer_detail(d, rc, "id", "%s %lld: %s", k->name,
		    (long long)id, rc == COFFER_ERR_DENIED ?
		    "not in your scope" : "no such record");
	if (rc != COFFER_OK)
		return rc;
	if ((res = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	if (msg_put_int(res, "id", id) != COFFER_OK) {
		cbor_decref(&res);
		return COFFER_ERR_NOMEM;
	}
	*result = res;
	return COFFER_OK;
}

/*
 * record.reveal {kind, id, field} -> {field, value}: the full value of one
 * field of one record, for a user the policy lets reveal it (grant, field
 * marked revealable, within clearance, do-not-call).  Counted against the
 * reveal limit; audited as a reveal of that field.
 */
int
handle_record_reveal(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	const struct kind_def *k;
	const struct field_def *f;
	const cbor_item_t *v;
	struct access_decision dec;
	cbor_item_t *rec = NULL, *res = NULL;
	char field[64];
	int64_t id = 0;
	int rc;

	if ((rc = args_kind(args, &k, d)) != COFFER_OK ||
	    (rc = args_id(args, "id", &id, d)) != COFFER_OK)
		return rc;
	if (msg_get_str(args, "field", field, sizeof(field)) != COFFER_OK ||
	    (f = schema_field(k, field)) == NULL)
		return coffer_detail(d, COFFER_ERR_INVALID, "field",
		    "field: required, a field of %s", k->name);
	if ((rc = decide(r, ACT_REVEAL, k, &dec, d)) != COFFER_OK ||
	    (rc = existing_row(r, &dec, id, &rec, d)) != COFFER_OK)
		return rc;
	if ((rc = check_row(r, &dec, rec, f->name, d)) != COFFER_OK ||
	    (rc = volume(r, POLICY_LIMIT_REVEAL, 1, d)) != COFFER_OK)
		goto out;
	v = msg_get(rec, f->name);
	rc = COFFER_ERR_NOMEM;
	if ((res = msg_new_map()) == NULL ||
	    msg_put_str(res, "field", f->name) != COFFER_OK ||
	    msg_put(res, "value", v != NULL ? cbor_incref((cbor_item_t *)v) :
	    cbor_new_null()) != COFFER_OK)
		goto out;
	*result = res;
	res = NULL;
	rc = COFFER_OK;
out:
	if (res != NULL)
		cbor_decref(&res);
	cbor_decref(&rec);
	return rc;
}
