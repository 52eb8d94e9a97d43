/*
 * h_requests.c - change requests (docs/requests.md): an update, deletion
 * or purge (erasure of a customer's personal data) asked for with a reason, approved by people the policy computes, each
 * approval signed by the approver's own key, applied only after the last
 * approval and only if the record is still the version the request was
 * made on.  Also record.history, the applied changes of one record.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "coffer/approval.h"
#include "coffer/args.h"
#include "coffer/audit.h"
#include "coffer/handlers.h"
#include "coffer/msg.h"
#include "coffer/policy.h"
#include "coffer/reqstore.h"
#include "coffer/schema.h"
#include "coffer/store.h"

#define APPROVALS_MAX 16   /* approvals kept per request (need <= 8) */
#define SWEEP_MAX 64       /* expired requests closed per request */

/* The audit trail of transitions ---------------------------------------- */

/*
 * One audit record for a transition that is not the request itself
 * (expire, apply, conflict): op, the request's record as target, and the
 * request id in the reason.  actor 0: the daemon did it.
 */
static int
transition(struct request *r, const char *op, enum audit_decision dec,
    int by_user, const struct store_request *q, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int
transition(struct request *r, const char *op, enum audit_decision dec,
    int by_user, const struct store_request *q, const char *fmt, ...)
{
	struct audit_event e;
	char reason[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	memset(&e, 0, sizeof(e));
	e.op = op;
	if (by_user) {
		e.actor_id = r->subject.user_id;
		e.actor = r->user;
		e.actor_fpr = r->fpr[0] ? r->fpr : NULL;
		e.role = r->role;
		e.session_id = r->session_id;
		e.peer = r->peer;
	}
	e.kind = q->kind;
	e.target_id = q->record_id;
	e.decision = dec;
	e.reason = reason;
	e.status = COFFER_OK;
	e.policy_hash = r->policy != NULL ? policy_hash(r->policy) : NULL;
	return audit_append(r->d->audit, &e, NULL) == COFFER_OK ? COFFER_OK :
	    COFFER_ERR_AUDIT;
}

/* The target and reason of the request's own audit record. */
static void
note(struct request *r, const struct store_request *q, int pending,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void
note(struct request *r, const struct store_request *q, int pending,
    const char *fmt, ...)
{
	va_list ap;

	snprintf(r->audit_kind, sizeof(r->audit_kind), "%s", q->kind);
	r->audit_target = q->record_id;
	r->audit_pending = pending;
	va_start(ap, fmt);
	vsnprintf(r->audit_reason, sizeof(r->audit_reason), fmt, ap);
	va_end(ap);
}

/*
 * Lazy expiry: every request operation first closes the pending requests
 * whose time is up, each with its own request.expire record, in the same
 * transaction as the operation.
 */
static int
sweep_expired(struct request *r)
{
	struct store_request q;
	int64_t ids[SWEEP_MAX], now = (int64_t)time(NULL);
	size_t i, n = 0;
	int rc;

	if ((rc = store_request_due(r->st, now, ids, SWEEP_MAX, &n)) !=
	    COFFER_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = store_request_get(r->st, ids[i], &q)) != COFFER_OK)
			return rc;
		rc = store_request_set_state(r->st, q.id, "pending", "expired",
		    0, now);
		if (rc == COFFER_OK)
			rc = transition(r, "request.expire", AUDIT_DENIED, 0, &q,
			    "request %lld expired unapproved",
			    (long long)q.id);
		store_request_clear(&q);
		if (rc != COFFER_OK)
			return rc;
	}
	return COFFER_OK;
}

/* Who may approve ------------------------------------------------------- */

/* Is role named in the comma-separated list? */
static int
role_listed(const char *list, const char *role)
{
	size_t n = strlen(role);
	const char *p = list;

	while (*p != '\0') {
		if (strncmp(p, role, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		if ((p = strchr(p, ',')) == NULL)
			break;
		p++;
	}
	return 0;
}

/*
 * May user u decide request q?  Never the requester; a role the rule
 * names (any, if it names none); a role with record grants, or any role
 * under the default rule, only from the requester's manager chain.  A role
 * without record grants (compliance) is a second pair of eyes from outside
 * the line.  why gets the refusal.
 */
static int
eligible(struct request *r, const struct store_request *q,
    const struct store_user *u, char *why, size_t whysz)
{
	const char *role = store_role_name(u->role);
	int in_chain = 0, rc;

	if (u->id == q->requester_id) {
		snprintf(why, whysz, "you cannot approve or reject your own "
		    "request");
		return COFFER_ERR_DENIED;
	}
	if (!u->active) {
		snprintf(why, whysz, "your account is disabled");
		return COFFER_ERR_DENIED;
	}
	if (q->roles[0] != '\0' && !role_listed(q->roles, role)) {
		snprintf(why, whysz, "your role (%s) does not approve this "
		    "request (it needs %s)", role, q->roles);
		return COFFER_ERR_DENIED;
	}
	if (q->roles[0] != '\0' && !policy_role_has_data(r->policy, role))
		return COFFER_OK;
	if ((rc = store_user_in_chain(r->st, q->requester_id, u->id,
	    &in_chain)) != COFFER_OK)
		return rc;
	if (!in_chain) {
		snprintf(why, whysz, "you are not in the requester's manager "
		    "chain");
		return COFFER_ERR_DENIED;
	}
	return COFFER_OK;
}

/* Has approver already decided q?  Fills the approvals list too. */
static int
decided_by(const struct store_approval *a, size_t n, int64_t user)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].approver_id == user)
			return 1;
	return 0;
}

/* Enough approvals, and one from every role the rule names? */
static int
complete(const struct store_request *q, const struct store_approval *a,
    size_t n)
{
	char roles[REQ_ROLES_MAX + 1], *tok, *save = NULL;
	size_t i, yes = 0;
	int found;

	for (i = 0; i < n; i++)
		yes += strcmp(a[i].decision, "approve") == 0;
	if (yes < q->need)
		return 0;
	snprintf(roles, sizeof(roles), "%s", q->roles);
	for (tok = strtok_r(roles, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (i = 0, found = 0; i < n && !found; i++)
			found = strcmp(a[i].decision, "approve") == 0 &&
			    strcmp(a[i].role, tok) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

/* The current user, from the database (role, key, active). */
static int
me(struct request *r, struct store_user *u)
{
	return store_user_get_id(r->st, r->subject.user_id, u);
}

/* Presenting a diff ------------------------------------------------------ */

/*
 * The changes of a request or history entry as the viewer may see them:
 * [{field, old?, new?}], values masked or left out by the viewer's READ
 * treatment of the kind (dec), or every value left out (dec NULL: the
 * viewer may not read the kind, or the record is above them).
 */
static int
present_diff(const struct access_decision *dec, const struct kind_def *k,
    const unsigned char *blob, size_t len, cbor_item_t **out,
    struct access_seen *seen)
{
	cbor_item_t *diff = NULL, *oldm = NULL, *newm = NULL, *arr = NULL;
	cbor_item_t *po = NULL, *pn = NULL, *e = NULL;
	const struct field_def *f;
	struct cbor_pair *p;
	const cbor_item_t *v;
	char name[64];
	size_t i, n;
	int rc;

	if ((rc = msg_decode(blob, len, &diff)) != COFFER_OK)
		return COFFER_ERR_DB;
	rc = COFFER_ERR_NOMEM;
	if (!cbor_isa_map(diff) || (oldm = msg_new_map()) == NULL ||
	    (newm = msg_new_map()) == NULL || (arr = msg_new_array()) == NULL)
		goto out;
	p = cbor_map_handle(diff);
	n = cbor_map_size(diff);
	for (i = 0; i < n; i++) {
		if (msg_item_str(p[i].key, name, sizeof(name)) != COFFER_OK ||
		    !cbor_isa_array(p[i].value) ||
		    cbor_array_size(p[i].value) != 2)
			continue;
		if (msg_put(oldm, name, cbor_incref(cbor_array_handle(
		    p[i].value)[0])) != COFFER_OK ||
		    msg_put(newm, name, cbor_incref(cbor_array_handle(
		    p[i].value)[1])) != COFFER_OK)
			goto out;
	}
	if (dec != NULL) {
		if ((rc = access_present(dec, oldm, &po, seen)) != COFFER_OK ||
		    (rc = access_present(dec, newm, &pn, seen)) != COFFER_OK)
			goto out;
	}
	rc = COFFER_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if (msg_item_str(p[i].key, name, sizeof(name)) != COFFER_OK)
			continue;
		if ((e = msg_new_map()) == NULL ||
		    msg_put_str(e, "field", name) != COFFER_OK)
			goto out;
		if (dec == NULL && seen != NULL &&
		    (f = schema_field(k, name)) != NULL &&
		    (size_t)(f - k->fields) < POLICY_MAX_FIELDS)
			seen->omitted[f - k->fields] = 1;
		if (po != NULL && (v = msg_get(po, name)) != NULL &&
		    msg_put(e, "old", cbor_incref((cbor_item_t *)v)) !=
		    COFFER_OK)
			goto out;
		if (pn != NULL && (v = msg_get(pn, name)) != NULL &&
		    msg_put(e, "new", cbor_incref((cbor_item_t *)v)) !=
		    COFFER_OK)
			goto out;
		if (msg_push(arr, e) != COFFER_OK) {
			e = NULL;
			goto out;
		}
		e = NULL;
	}
	*out = arr;
	arr = NULL;
	rc = COFFER_OK;
out:
	if (e != NULL)
		cbor_decref(&e);
	if (po != NULL)
		cbor_decref(&po);
	if (pn != NULL)
		cbor_decref(&pn);
	if (arr != NULL)
		cbor_decref(&arr);
	if (oldm != NULL)
		cbor_decref(&oldm);
	if (newm != NULL)
		cbor_decref(&newm);
	if (diff != NULL)
		cbor_decref(&diff);
	return rc;
}

/*
 * The viewer's READ decision for a request's record, or NULL when the
 * viewer may not see its values: no READ grant (compliance), the record
 * gone (tombstoned), or labelled above the viewer's clearance.
 */
static const struct access_decision *
viewer_decision(struct request *r, const struct kind_def *k, int64_t id,
    struct access_decision *dec)
{
	struct store_scope all = { SCOPE_ALL, 0, "", 0, 0 };
	struct store_customer_facts cf;
	struct policy_row row;
	cbor_item_t *rec = NULL;
	int64_t cid = 0;
	int ok;

	if (access_decide(r->policy, &r->subject, ACT_READ, k, dec) !=
	    COFFER_OK)
		return NULL;
	if (store_record_get(r->st, k, id, &all, &rec) != COFFER_OK)
		return NULL;
	memset(&cf, 0, sizeof(cf));
	if (strcmp(k->name, "customer") == 0)
		(void)msg_get_str(rec, "label", cf.label, sizeof(cf.label));
	else if (msg_get_int(rec, "customer_id", &cid) == COFFER_OK &&
	    store_customer_facts(r->st, cid, &cf) != COFFER_OK)
		cf.label[0] = '\0';
	cbor_decref(&rec);
	row.label = cf.label;
	row.do_not_call = cf.do_not_call;
	row.stage = NULL;
	ok = access_check_row(dec, &row, NULL) == COFFER_OK;
	return ok ? dec : NULL;
}

/* Building a request ------------------------------------------------------ */

/* Fields a deletion lists: everything but what the server sets. */
static int
server_field(const char *name)
{
	return strcmp(name, "id") == 0 || strcmp(name, "version") == 0 ||
	    strcmp(name, "created") == 0 || strcmp(name, "updated") == 0;
}

/*
 * {field: [old, new]} in deterministic CBOR: for an update the fields
 * given with the record's current values, for a deletion every field of
 * the record with null as the new value.
 */
static int
make_diff(const cbor_item_t *cur, const cbor_item_t *fields,
    unsigned char **out, size_t *len)
{
	const cbor_item_t *src = fields != NULL ? fields : cur;
	struct cbor_pair *p = cbor_map_handle(src);
	cbor_item_t *m = msg_new_map(), *pair = NULL;
	const cbor_item_t *old;
	char name[64];
	size_t i;
	int rc = COFFER_ERR_NOMEM;

	if (m == NULL)
		return rc;
	for (i = 0; i < cbor_map_size(src); i++) {
		if (msg_item_str(p[i].key, name, sizeof(name)) != COFFER_OK ||
		    (fields == NULL && server_field(name)))
			continue;
		old = msg_get(cur, name);
		if ((pair = msg_new_array()) == NULL ||
		    msg_push(pair, old != NULL ? cbor_incref((cbor_item_t *)old)
		    : msg_new_null()) != COFFER_OK ||
		    msg_push(pair, fields != NULL ?
		    cbor_incref(p[i].value) : msg_new_null()) != COFFER_OK)
			goto out;
		rc = msg_put(m, name, pair);
		pair = NULL; /* taken */
		if (rc != COFFER_OK)
			goto out;
		rc = COFFER_ERR_NOMEM;
	}
	rc = msg_encode(m, out, len);
	if (rc == COFFER_OK && *len > REQ_FIELDS_MAX) {
		free(*out);
		*out = NULL;
		rc = COFFER_ERR_TOO_BIG;
	}
out:
	if (pair != NULL)
		cbor_decref(&pair);
	cbor_decref(&m);
	return rc;
}

/*
 * A purge's change set: {field: [null, null]} for each field it erases.
 * The request names what will go, never a value, so a rejected or
 * withdrawn purge leaves no extra copy of the data behind.
 */
static int
purge_diff(const struct kind_def *k, unsigned char **out, size_t *len)
{
	const char *names[POLICY_MAX_FIELDS];
	cbor_item_t *m = msg_new_map(), *pair = NULL;
	size_t i, n = schema_erasable_fields(k, names, POLICY_MAX_FIELDS);
	int rc = COFFER_ERR_NOMEM;

	if (m == NULL)
		return rc;
	for (i = 0; i < n; i++) {
		if ((pair = msg_new_array()) == NULL ||
		    msg_push(pair, msg_new_null()) != COFFER_OK ||
		    msg_push(pair, msg_new_null()) != COFFER_OK)
			goto out;
		rc = msg_put(m, names[i], pair);
		pair = NULL; /* taken */
		if (rc != COFFER_OK)
			goto out;
		rc = COFFER_ERR_NOMEM;
	}
	rc = msg_encode(m, out, len);
out:
	if (pair != NULL)
		cbor_decref(&pair);
	cbor_decref(&m);
	return rc;
}

/* The row facts for no read-up on the record a request is about. */
static int
check_record_row(struct request *r, struct access_decision *dec,
    const cbor_item_t *rec, struct coffer_errdetail *d)
{
	struct store_customer_facts cf;
	struct policy_row row;
	int64_t cid = 0;
	int rc;

	memset(&cf, 0, sizeof(cf));
	if (strcmp(dec->kind->name, "customer") == 0)
		(void)msg_get_str(rec, "label", cf.label, sizeof(cf.label));
	else if (msg_get_int(rec, "customer_id", &cid) == COFFER_OK &&
	    (rc = store_customer_facts(r->st, cid, &cf)) != COFFER_OK &&
	    rc != COFFER_ERR_NOT_FOUND)
		return rc;
	row.label = cf.label;
	row.do_not_call = cf.do_not_call;
	row.stage = NULL;
	if (access_check_row(dec, &row, NULL) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "id", "%s",
		    dec->pd.reason);
	return COFFER_OK;
}

/* The owner of a record may only be changed within the requester's scope. */
static int
check_owner_change(struct request *r, const struct access_decision *dec,
    const cbor_item_t *fields, struct coffer_errdetail *d)
{
	const struct kind_def *k = dec->kind;
	int64_t owner;
	size_t i;

	for (i = 0; i < k->nfields; i++) {
		const char *name = k->fields[i].name;

		if (!(k->fields[i].flags & FF_OWNER) &&
		    strcmp(name, "agent_id") != 0)
			continue;
		if (msg_get_int(fields, name, &owner) == COFFER_OK &&
		    owner != r->subject.user_id &&
		    dec->pd.scope.kind == SCOPE_OWN)
			return coffer_detail(d, COFFER_ERR_DENIED, name,
			    "%s: you may only record data as yourself", name);
	}
	return COFFER_OK;
}

/* The ops of a request, by the index policy_approval_rule takes. */
static const char *const req_ops[] = { "update", "delete", "purge" };
#define OP_UPDATE 0
#define OP_DELETE 1
#define OP_PURGE 2

/* What was asked: op (an OP_ index), fields (update only), reason. */
static int
create_args(const cbor_item_t *args, int *del, const cbor_item_t **fields,
    char *reason, size_t reasonsz, struct coffer_errdetail *d)
{
	char op[16];
	int rc;

	*del = -1;
	if (msg_get_str(args, "op", op, sizeof(op)) == COFFER_OK)
		for (*del = OP_PURGE; *del >= 0 &&
		    strcmp(op, req_ops[*del]) != 0; (*del)--)
			;
	if (*del < 0)
		return coffer_detail(d, COFFER_ERR_INVALID, "op",
		    "op: required, update, delete or purge");
	*fields = msg_get(args, "fields");
	if (*del && *fields != NULL)
		return coffer_detail(d, COFFER_ERR_INVALID, "fields",
		    "fields: a %s takes none", *del == OP_PURGE ? "purge" :
		    "deletion");
	if (!*del && (*fields == NULL || !cbor_isa_map(*fields) ||
	    cbor_map_size(*fields) == 0))
		return coffer_detail(d, COFFER_ERR_INVALID, "fields",
		    "fields: required, a map of field name to new value");
	if ((rc = args_text(args, "reason", reason, reasonsz, 1, d)) !=
	    COFFER_OK)
		return rc;
	return COFFER_OK;
}

/* The rule's roles as "a,b". */
static void
join_roles(const struct policy_approval *a, char *buf, size_t bufsz)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < a->nroles && off < bufsz; i++)
		off += (size_t)snprintf(buf + off, bufsz - off, "%s%s",
		    i ? "," : "", a->roles[i]);
}

static int request_summary(struct request *r, const struct store_request *q,
    int with_hash, cbor_item_t **out);
static int wrap_request(cbor_item_t *summary, cbor_item_t **out);

/* The record as it is now, in the requester's scope, at the version given. */
static int
current_record(struct request *r, struct access_decision *dec, int64_t id,
    int64_t version, int any, cbor_item_t **cur, struct coffer_errdetail *d)
{
	int64_t v = 0;
	int rc, deleted = 0;

	/* a purge also reaches a tombstoned customer (delete, then purge) */
	rc = any ? store_record_get_any(r->st, dec->kind, id, &dec->pd.scope,
	    cur, &deleted) :
	    store_record_get(r->st, dec->kind, id, &dec->pd.scope, cur);
	if (rc == COFFER_ERR_NOT_FOUND || rc == COFFER_ERR_DENIED)
		return coffer_detail(d, rc, "id", "%s %lld: %s", dec->kind->name,
		    (long long)id, rc == COFFER_ERR_DENIED ?
		    "not in your scope" : "no such record");
	if (rc != COFFER_OK)
		return rc;
	(void)msg_get_int(*cur, "version", &v);
	if (v != version) {
		cbor_decref(cur);
		return coffer_detail(d, COFFER_ERR_CONFLICT, "version", "%s "
		    "%lld: changed since version %lld; fetch it again",
		    dec->kind->name, (long long)id, (long long)version);
	}
	return COFFER_OK;
}

/*
 * request.create {kind, id, version, op, fields?, reason} -> {request}.
 * Validated like the update itself (schema, writable fields, no read-up,
 * scope), then stored with the approvers the policy asks for.
 */
int
handle_request_create(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	const struct kind_def *k;
	const cbor_item_t *fields = NULL;
	struct access_decision dec;
	struct policy_approval rule;
	struct store_request q;
	struct approval_request ar;
	cbor_item_t *cur = NULL, *sum = NULL;
	int64_t id = 0, version = 0;
	int rc, del = 0;

	memset(&q, 0, sizeof(q));
	if ((rc = sweep_expired(r)) != COFFER_OK ||
	    (rc = args_kind(args, &k, d)) != COFFER_OK ||
	    (rc = args_id(args, "id", &id, d)) != COFFER_OK ||
	    (rc = args_id(args, "version", &version, d)) != COFFER_OK ||
	    (rc = create_args(args, &del, &fields, q.reason, sizeof(q.reason),
	    d)) != COFFER_OK)
		return rc;
	if (access_decide(r->policy, &r->subject, ACT_REQUEST, k, &dec) !=
	    COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "%s",
		    dec.pd.reason);
	if (!del && ((rc = schema_validate(k, fields, 0, d)) != COFFER_OK ||
	    (rc = check_owner_change(r, &dec, fields, d)) != COFFER_OK))
		return rc;
	if (!del && access_check_write(&dec, fields) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "fields", "%s",
		    dec.pd.reason);
	if (del == OP_PURGE && strcmp(k->name, "customer") != 0)
		return coffer_detail(d, COFFER_ERR_INVALID, "op", "op: only "
		    "customers are purged (their personal data)");
	policy_approval_rule(r->policy, k, del, &rule);
	if (rule.approvals == 0)
		return coffer_detail(d, COFFER_ERR_DENIED, "op", "the policy "
		    "names no approval rule for purging %ss: no purge may be "
		    "asked for", k->name);
	if ((rc = current_record(r, &dec, id, version, del == OP_PURGE, &cur,
	    d)) != COFFER_OK)
		return rc;
	if ((rc = check_record_row(r, &dec, cur, d)) != COFFER_OK ||
	    (rc = handler_volume(r, POLICY_LIMIT_WRITE, 1, d)) != COFFER_OK)
		goto out;
	if (del == OP_PURGE)
		rc = purge_diff(k, &q.fields, &q.fields_len);
	else
		rc = make_diff(cur, del ? NULL : fields, &q.fields,
		    &q.fields_len);
	if (rc != COFFER_OK)
		goto out;
	snprintf(q.kind, sizeof(q.kind), "%s", k->name);
	snprintf(q.op, sizeof(q.op), "%s", req_ops[del]);
	q.record_id = id;
	q.base_version = version;
	q.requester_id = r->subject.user_id;
	q.created = (int64_t)time(NULL);
	q.expires = q.created + rule.expiry;
	q.need = rule.approvals;
	join_roles(&rule, q.roles, sizeof(q.roles));
	ar = (struct approval_request){ q.kind, q.record_id, q.base_version,
	    q.op, q.fields, q.fields_len, q.reason, q.requester_id, q.created,
	    q.expires };
	if ((rc = approval_request_hash(&ar, q.hash)) != COFFER_OK ||
	    (rc = store_request_add(r->st, &q)) != COFFER_OK)
		goto out;
	note(r, &q, 1, "request %lld: %s awaits %u approval%s%s%s",
	    (long long)q.id, q.op, q.need, q.need == 1 ? "" : "s",
	    q.roles[0] ? " from " : "", q.roles);
	if ((rc = request_summary(r, &q, 1, &sum)) == COFFER_OK)
		rc = wrap_request(sum, result);
out:
	if (cur != NULL)
		cbor_decref(&cur);
	store_request_clear(&q);
	return rc;
}

/* Reading requests ---------------------------------------------------------- */

static int
user_name(struct request *r, int64_t id, char *buf, size_t bufsz)
{
	struct store_user u;

	if (store_user_get_id(r->st, id, &u) != COFFER_OK) {
		snprintf(buf, bufsz, "#%lld", (long long)id);
		return COFFER_OK;
	}
	snprintf(buf, bufsz, "%s", u.name);
	return COFFER_OK;
}

/* Field names of a request's diff, as an array. */
static cbor_item_t *
field_names(const struct store_request *q)
{
	cbor_item_t *diff = NULL, *a = msg_new_array();
	char name[64];
	size_t i;

	if (a == NULL || msg_decode(q->fields, q->fields_len, &diff) !=
	    COFFER_OK || !cbor_isa_map(diff))
		goto out;
	for (i = 0; i < cbor_map_size(diff); i++)
		if (msg_item_str(cbor_map_handle(diff)[i].key, name,
		    sizeof(name)) == COFFER_OK &&
		    msg_push(a, msg_new_str(name)) != COFFER_OK) {
			cbor_decref(&a);
			break;
		}
out:
	if (diff != NULL)
		cbor_decref(&diff);
	return a;
}

static cbor_item_t *
approvals_array(const struct store_approval *a, size_t n)
{
	cbor_item_t *arr = msg_new_array(), *m;
	size_t i;

	for (i = 0; arr != NULL && i < n; i++) {
		if ((m = msg_new_map()) == NULL ||
		    msg_put_str(m, "approver", a[i].approver) != COFFER_OK ||
		    msg_put_str(m, "role", a[i].role) != COFFER_OK ||
		    msg_put_str(m, "decision", a[i].decision) != COFFER_OK ||
		    msg_put_str(m, "comment", a[i].comment) != COFFER_OK ||
		    msg_put_int(m, "time", a[i].time) != COFFER_OK ||
		    msg_put_bytes(m, "signature", a[i].signature, 64) !=
		    COFFER_OK) {
			if (m != NULL)
				cbor_decref(&m);
			cbor_decref(&arr);
			return NULL;
		}
		if (msg_push(arr, m) != COFFER_OK)
			cbor_decref(&arr);
	}
	return arr;
}

/* May the viewer decide q now (pending, eligible, not yet decided)? */
static int
can_decide(struct request *r, const struct store_request *q,
    const struct store_approval *a, size_t n)
{
	struct store_user u;
	char why[320];

	if (strcmp(q->state, "pending") != 0 || me(r, &u) != COFFER_OK ||
	    decided_by(a, n, u.id))
		return 0;
	return eligible(r, q, &u, why, sizeof(why)) == COFFER_OK;
}

/* {request: {...}}: everything about q but the values. */
static int
request_summary(struct request *r, const struct store_request *q,
    int with_hash, cbor_item_t **out)
{
	struct store_approval a[APPROVALS_MAX];
	cbor_item_t *m = msg_new_map(), *names = NULL, *apps = NULL;
	char requester[65];
	size_t n = 0;
	int rc;

	if (m == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = store_approval_list(r->st, q->id, a, APPROVALS_MAX, &n)) !=
	    COFFER_OK)
		goto out;
	user_name(r, q->requester_id, requester, sizeof(requester));
	rc = COFFER_ERR_NOMEM;
	if (msg_put_int(m, "id", q->id) != COFFER_OK ||
	    msg_put_str(m, "kind", q->kind) != COFFER_OK ||
	    msg_put_int(m, "record_id", q->record_id) != COFFER_OK ||
	    msg_put_int(m, "base_version", q->base_version) != COFFER_OK ||
	    msg_put_str(m, "op", q->op) != COFFER_OK ||
	    msg_put_str(m, "state", q->state) != COFFER_OK ||
	    msg_put_str(m, "reason", q->reason) != COFFER_OK ||
	    msg_put_str(m, "requester", requester) != COFFER_OK ||
	    msg_put_int(m, "created", q->created) != COFFER_OK ||
	    msg_put_int(m, "expires", q->expires) != COFFER_OK ||
	    msg_put_int(m, "updated", q->updated) != COFFER_OK ||
	    msg_put_uint(m, "need", q->need) != COFFER_OK ||
	    msg_put_str(m, "roles", q->roles) != COFFER_OK ||
	    msg_put_bool(m, "can_decide", can_decide(r, q, a, n)) !=
	    COFFER_OK)
		goto out;
	if ((names = field_names(q)) == NULL ||
	    msg_put(m, "fields", names) != COFFER_OK)
		goto out;
	if ((apps = approvals_array(a, n)) == NULL ||
	    msg_put(m, "approvals", apps) != COFFER_OK)
		goto out;
	if (with_hash && msg_put_bytes(m, "hash", q->hash, 32) != COFFER_OK)
		goto out;
	*out = m;
	return COFFER_OK;
out:
	cbor_decref(&m);
	return rc;
}

/* {"request": summary} (summary taken). */
static int
wrap_request(cbor_item_t *summary, cbor_item_t **out)
{
	cbor_item_t *m = msg_new_map();

	if (m == NULL) {
		cbor_decref(&summary);
		return COFFER_ERR_NOMEM;
	}
	if (msg_put(m, "request", summary) != COFFER_OK) {
		cbor_decref(&m);
		return COFFER_ERR_NOMEM;
	}
	*out = m;
	return COFFER_OK;
}

/*
 * Who sees a request: its requester, whoever may decide it (or could
 * have), and whoever already did.
 */
static int
visible(struct request *r, const struct store_request *q, int *yes)
{
	struct store_approval a[APPROVALS_MAX];
	struct store_user u;
	char why[320];
	size_t n = 0;
	int rc;

	*yes = 0;
	if (q->requester_id == r->subject.user_id) {
		*yes = 1;
		return COFFER_OK;
	}
	if ((rc = store_approval_list(r->st, q->id, a, APPROVALS_MAX, &n)) !=
	    COFFER_OK || (rc = me(r, &u)) != COFFER_OK)
		return rc;
	if (decided_by(a, n, u.id)) {
		*yes = 1;
		return COFFER_OK;
	}
	rc = eligible(r, q, &u, why, sizeof(why));
	if (rc == COFFER_OK)
		*yes = 1;
	return rc == COFFER_ERR_DENIED ? COFFER_OK : rc;
}

/* The request named by args.id, if the caller may see it. */
static int
load_visible(struct request *r, const cbor_item_t *args,
    struct store_request *q, struct coffer_errdetail *d)
{
	int64_t id = 0;
	int rc, yes = 0;

	if ((rc = args_id(args, "id", &id, d)) != COFFER_OK)
		return rc;
	rc = store_request_get(r->st, id, q);
	if (rc == COFFER_OK && (rc = visible(r, q, &yes)) == COFFER_OK &&
	    !yes) {
		store_request_clear(q);
		rc = COFFER_ERR_NOT_FOUND;
	}
	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, rc, "id", "request %lld: no such "
		    "request, or not one of yours to see", (long long)id);
	return rc;
}

static int
state_name(const char *s)
{
	static const char *const states[] = { "pending", "rejected",
		"withdrawn", "expired", "conflicted", "applied", NULL };
	size_t i;

	for (i = 0; states[i] != NULL; i++)
		if (strcmp(s, states[i]) == 0)
			return 1;
	return 0;
}

/* request.list {state?, mine?} -> {requests: [...]}, newest first. */
int
handle_request_list(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	int64_t *idv = NULL;
	struct store_request q;
	cbor_item_t *arr = NULL, *one = NULL;
	char state[16];
	size_t i, n = 0;
	int rc, mine = 0, yes;

	if ((rc = sweep_expired(r)) != COFFER_OK ||
	    (rc = args_text(args, "state", state, sizeof(state), 0, d)) !=
	    COFFER_OK)
		return rc;
	if (state[0] != '\0' && !state_name(state))
		return coffer_detail(d, COFFER_ERR_INVALID, "state", "state: "
		    "pending, rejected, withdrawn, expired, conflicted or "
		    "applied");
	if (msg_get(args, "mine") != NULL &&
	    msg_get_bool(args, "mine", &mine) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_INVALID, "mine",
		    "mine: a boolean");
	if ((idv = calloc(REQ_LIST_MAX, sizeof(*idv))) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = store_request_ids(r->st, state[0] ? state : NULL,
	    mine ? r->subject.user_id : 0, idv, REQ_LIST_MAX, &n)) !=
	    COFFER_OK)
		goto out;
	rc = COFFER_ERR_NOMEM;
	if ((arr = msg_new_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = store_request_get(r->st, idv[i], &q)) != COFFER_OK)
			goto out;
		if ((rc = visible(r, &q, &yes)) == COFFER_OK && yes &&
		    (rc = request_summary(r, &q, 0, &one)) == COFFER_OK)
			rc = msg_push(arr, one); /* takes one */
		store_request_clear(&q);
		if (rc != COFFER_OK)
			goto out;
	}
	rc = msg_map_of("requests", arr, result);
	arr = NULL;	/* taken */
out:
	free(idv);
	if (arr != NULL)
		cbor_decref(&arr);
	return rc;
}

/* request.show {id} -> {request, changes, masked, omitted}. */
int
handle_request_show(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	const struct kind_def *k;
	const struct access_decision *view;
	struct access_decision dec;
	struct access_seen seen;
	struct store_request q;
	cbor_item_t *res = NULL, *changes = NULL, *sum = NULL;
	int rc;

	if ((rc = sweep_expired(r)) != COFFER_OK ||
	    (rc = load_visible(r, args, &q, d)) != COFFER_OK)
		return rc;
	memset(&seen, 0, sizeof(seen));
	rc = COFFER_ERR_DB;
	if ((k = schema_kind(q.kind)) == NULL)
		goto out;
	view = viewer_decision(r, k, q.record_id, &dec);
	if ((rc = request_summary(r, &q, 1, &sum)) != COFFER_OK ||
	    (rc = wrap_request(sum, &res)) != COFFER_OK ||
	    (rc = present_diff(view, k, q.fields, q.fields_len, &changes,
	    &seen)) != COFFER_OK)
		goto out;
	rc = COFFER_ERR_NOMEM;
	dec.kind = k;
	if (msg_put(res, "changes", changes) != COFFER_OK) {
		changes = NULL;
		goto out;
	}
	changes = NULL;
	if (access_put_seen(&dec, &seen, res) != COFFER_OK)
		goto out;
	note(r, &q, 0, "request %lld shown", (long long)q.id);
	*result = res;
	res = NULL;
	rc = COFFER_OK;
out:
	if (changes != NULL)
		cbor_decref(&changes);
	if (res != NULL)
		cbor_decref(&res);
	store_request_clear(&q);
	return rc;
}

/* Deciding -------------------------------------------------------------------- */

/* "name,name" of those who approved. */
static void
approver_names(const struct store_approval *a, size_t n, char *buf,
    size_t bufsz)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < n && off < bufsz; i++)
		if (strcmp(a[i].decision, "approve") == 0)
			off += (size_t)snprintf(buf + off, bufsz - off, "%s%s",
			    off ? "," : "", a[i].approver);
}

/* The new values of an update, as a map {field: new}. */
static int
new_values(const struct store_request *q, cbor_item_t **out)
{
	cbor_item_t *diff = NULL, *m = NULL;
	struct cbor_pair *p;
	char name[64];
	size_t i;
	int rc;

	if ((rc = msg_decode(q->fields, q->fields_len, &diff)) != COFFER_OK)
		return COFFER_ERR_DB;
	rc = COFFER_ERR_NOMEM;
	if (!cbor_isa_map(diff) || (m = msg_new_map()) == NULL)
		goto out;
	p = cbor_map_handle(diff);
	for (i = 0; i < cbor_map_size(diff); i++)
		if (msg_item_str(p[i].key, name, sizeof(name)) == COFFER_OK &&
		    cbor_isa_array(p[i].value) &&
		    cbor_array_size(p[i].value) == 2 &&
		    msg_put(m, name, cbor_incref(cbor_array_handle(
		    p[i].value)[1])) != COFFER_OK)
			goto out;
	*out = m;
	m = NULL;
	rc = COFFER_OK;
out:
	if (m != NULL)
		cbor_decref(&m);
	cbor_decref(&diff);
	return rc;
}

/* The requester as a subject, for the policy check at apply time. */
static int
requester_subject(struct request *r, const struct store_request *q,
    struct access_subject *s, int *active)
{
	struct store_user u;
	int rc;

	if ((rc = store_user_get_id(r->st, q->requester_id, &u)) != COFFER_OK)
		return rc;
	memset(s, 0, sizeof(*s));
	s->user_id = u.id;
	s->role = u.role;
	s->role_name = store_role_name(u.role);
	snprintf(s->team, sizeof(s->team), "%s", u.team);
	snprintf(s->clearance, sizeof(s->clearance), "%s", u.clearance);
	*active = u.active;
	return COFFER_OK;
}

/* Mark q conflicted, with its audit record; the approval stays. */
static int
conflicted(struct request *r, const struct store_request *q, int64_t now,
    const char *why)
{
	int rc = store_request_set_state(r->st, q->id, "pending",
	    "conflicted", 0, now);

	if (rc == COFFER_OK)
		rc = transition(r, "request.conflict", AUDIT_DENIED, 1, q,
		    "request %lld not applied: %s", (long long)q->id, why);
	return rc;
}

/* Close the other pending requests on q's record: it is being purged. */
static int
close_others(struct request *r, const struct store_request *q, int64_t now)
{
	struct store_request o;
	int64_t ids[SWEEP_MAX];
	size_t i, n = 0;
	int rc;

	if ((rc = store_request_pending_on(r->st, q->kind, q->record_id, ids,
	    SWEEP_MAX, &n)) != COFFER_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (ids[i] == q->id)
			continue;
		if ((rc = store_request_get(r->st, ids[i], &o)) != COFFER_OK)
			return rc;
		rc = conflicted(r, &o, now, "the record was purged");
		store_request_clear(&o);
		if (rc != COFFER_OK)
			return rc;
	}
	return COFFER_OK;
}

/* The field names of q's change set, "a,b,c" (no values). */
static void
field_list(const struct store_request *q, char *buf, size_t bufsz)
{
	cbor_item_t *diff = NULL;
	char name[64];
	size_t i, off = 0;

	buf[0] = '\0';
	if (msg_decode(q->fields, q->fields_len, &diff) != COFFER_OK)
		return;
	for (i = 0; cbor_isa_map(diff) && i < cbor_map_size(diff) &&
	    off < bufsz; i++)
		if (msg_item_str(cbor_map_handle(diff)[i].key, name,
		    sizeof(name)) == COFFER_OK)
			off += (size_t)snprintf(buf + off, bufsz - off, "%s%s",
			    off ? "," : "", name);
	cbor_decref(&diff);
}

/*
 * The applied change's own history row (who asked, who approved, when,
 * the request's change set) and the request's move to applied: the last
 * step of every apply, purge or not.
 */
static int
mark_applied(struct request *r, const struct store_request *q,
    const struct store_approval *a, size_t n, int64_t now)
{
	struct store_history h;
	int rc;

	memset(&h, 0, sizeof(h));
	snprintf(h.kind, sizeof(h.kind), "%s", q->kind);
	snprintf(h.op, sizeof(h.op), "%s", q->op);
	h.record_id = q->record_id;
	h.version = q->base_version + 1;
	h.request_id = q->id;
	h.requester_id = q->requester_id;
	approver_names(a, n, h.approvers, sizeof(h.approvers));
	h.time = now;
	h.fields = q->fields;
	h.fields_len = q->fields_len;
	if ((rc = store_history_add(r->st, &h)) != COFFER_OK)
		return rc;
	return store_request_set_state(r->st, q->id, "pending", "applied", 0,
	    now);
}

/*
 * Apply an approved purge (the record is q's version, checked by apply):
 * close the other pending requests on the customer, overwrite its
 * personal fields and tombstone it, erase the change sets of its history
 * and closed requests, then write the purge's own history row (field
 * names only) and a request.purge audit record naming what was erased.
 * One transaction: all of it or none.
 */
static int
apply_purge(struct request *r, const struct store_request *q,
    const struct store_approval *a, size_t n, const char **state)
{
	const struct kind_def *k = schema_kind(q->kind);
	const char *names[POLICY_MAX_FIELDS];
	char erased[200];
	int64_t now = (int64_t)time(NULL);
	size_t nf, nh = 0, nr = 0;
	int rc;

	if (k == NULL)
		return COFFER_ERR_DB;
	nf = schema_erasable_fields(k, names, POLICY_MAX_FIELDS);
	if ((rc = close_others(r, q, now)) != COFFER_OK)
		return rc;
	rc = store_record_erase(r->st, k, q->record_id, q->base_version,
	    names, nf);
	if (rc == COFFER_ERR_CONFLICT)
		return conflicted(r, q, now, "the record changed since the "
		    "request was made");
	if (rc != COFFER_OK ||
	    (rc = store_purge_erase(r->st, q->kind, q->record_id, &nh, &nr)) !=
	    COFFER_OK)
		return rc;
	if ((rc = mark_applied(r, q, a, n, now)) != COFFER_OK)
		return rc;
	*state = "applied";
	field_list(q, erased, sizeof(erased));
	if ((rc = transition(r, "request.purge", AUDIT_ALLOWED, 1, q,
	    "request %lld purged %s %lld: erased %s; %zu history and %zu "
	    "request change sets", (long long)q->id, q->kind,
	    (long long)q->record_id, erased, nh, nr)) != COFFER_OK)
		return rc;
	return transition(r, "request.apply", AUDIT_ALLOWED, 1, q, "request "
	    "%lld applied: purge %s %lld now at version %lld",
	    (long long)q->id, q->kind, (long long)q->record_id,
	    (long long)(q->base_version + 1));
}

/*
 * The last approval is in: check again, in this same write transaction,
 * that the requester may still ask for it and that the record is the
 * version the request was made on; then apply it, write its history and
 * mark the request applied.  Otherwise the request is conflicted.
 */
static int
apply(struct request *r, const struct store_request *q,
    const struct store_approval *a, size_t n, const char **state,
    struct coffer_errdetail *d)
{
	const struct kind_def *k = schema_kind(q->kind);
	struct access_subject s;
	struct access_decision dec;
	cbor_item_t *cur = NULL, *nv = NULL;
	int64_t now = (int64_t)time(NULL), v = 0;
	int rc, active = 0, del = strcmp(q->op, "delete") == 0;
	int purge = strcmp(q->op, "purge") == 0, deleted = 0;

	*state = "conflicted";
	if (k == NULL)
		return COFFER_ERR_DB;
	if ((rc = requester_subject(r, q, &s, &active)) != COFFER_OK)
		return rc;
	if (!active || access_decide(r->policy, &s, ACT_REQUEST, k, &dec) !=
	    COFFER_OK)
		return conflicted(r, q, now, "the policy no longer lets the "
		    "requester ask for it");
	rc = purge ? store_record_get_any(r->st, k, q->record_id,
	    &dec.pd.scope, &cur, &deleted) :
	    store_record_get(r->st, k, q->record_id, &dec.pd.scope, &cur);
	if (rc == COFFER_ERR_NOT_FOUND || rc == COFFER_ERR_DENIED)
		return conflicted(r, q, now, "the record is gone or out of the "
		    "requester's scope");
	if (rc != COFFER_OK)
		return rc;
	(void)msg_get_int(cur, "version", &v);
	cbor_decref(&cur);
	if (v != q->base_version)
		return conflicted(r, q, now, "the record changed since the "
		    "request was made");
	if (purge)
		return apply_purge(r, q, a, n, state);
	if (del)
		rc = store_record_tombstone(r->st, k, q->record_id,
		    q->base_version);
	else if ((rc = new_values(q, &nv)) == COFFER_OK) {
		rc = store_record_update(r->st, k, q->record_id,
		    q->base_version, nv, &dec.pd.scope, d);
		cbor_decref(&nv);
	}
	if (rc == COFFER_ERR_CONFLICT)
		return conflicted(r, q, now, "the record changed since the "
		    "request was made");
	if (rc != COFFER_OK)
		return rc;
	if ((rc = mark_applied(r, q, a, n, now)) != COFFER_OK)
		return rc;
	*state = "applied";
	return transition(r, "request.apply", AUDIT_ALLOWED, 1, q, "request "
	    "%lld applied: %s %s %lld now at version %lld", (long long)q->id,
	    q->op, q->kind, (long long)q->record_id,
	    (long long)(q->base_version + 1));
}

/* The signature argument: exactly 64 bytes. */
static int
arg_signature(const cbor_item_t *args, unsigned char sig[64],
    struct coffer_errdetail *d)
{
	const unsigned char *p = NULL;
	size_t len = 0;

	if (msg_get_bytes(args, "signature", &p, &len) != COFFER_OK ||
	    len != APPROVAL_SIG_BYTES)
		return coffer_detail(d, COFFER_ERR_INVALID, "signature",
		    "signature: required, 64 bytes (Ed25519 over the approval "
		    "statement)");
	memcpy(sig, p, APPROVAL_SIG_BYTES);
	return COFFER_OK;
}

/*
 * Verify and keep one decision.  sigref gets the reference the audit
 * record carries: hex of the first 16 bytes of SHA-256(signature).
 */
static int
record_decision(struct request *r, const struct store_request *q,
    const struct store_user *u, const char *decision, const char *comment,
    const unsigned char sig[64], char sigref[33], struct coffer_errdetail *d)
{
	unsigned char sh[crypto_hash_sha256_BYTES];

	struct store_approval a;
	unsigned char *st = NULL;
	size_t len = 0;
	int rc;

	if (approval_verify(u->pubkey, (uint64_t)q->id, q->hash, decision,
	    comment, u->name, sig) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "signature", "the "
		    "signature is not yours over this decision on request "
		    "%lld: refused", (long long)q->id);
	if ((rc = approval_statement((uint64_t)q->id, q->hash, decision,
	    comment, u->name, &st, &len)) != COFFER_OK)
		return rc;
	memset(&a, 0, sizeof(a));
	a.request_id = q->id;
	a.approver_id = u->id;
	snprintf(a.role, sizeof(a.role), "%s", store_role_name(u->role));
	snprintf(a.decision, sizeof(a.decision), "%s", decision);
	snprintf(a.comment, sizeof(a.comment), "%s", comment);
	a.time = (int64_t)time(NULL);
	memcpy(a.signature, sig, 64);
	crypto_hash_sha256(a.statement_hash, st, len);
	free(st);
	crypto_hash_sha256(sh, sig, 64);
	sodium_bin2hex(sigref, 33, sh, 16);
	return store_approval_add(r->st, &a);
}

/* A request still open: pending, else CONFLICT naming its state. */
static int
still_pending(const struct store_request *q, struct coffer_errdetail *d)
{
	if (strcmp(q->state, "pending") == 0)
		return COFFER_OK;
	return coffer_detail(d, COFFER_ERR_CONFLICT, "id", "request %lld is "
	    "%s, no longer pending", (long long)q->id, q->state);
}

/* {id, state, approvals, need} */
static int
decision_result(const struct store_request *q, const char *state,
    size_t napprovals, cbor_item_t **result)
{
	cbor_item_t *m = msg_new_map();

	if (m == NULL || msg_put_int(m, "id", q->id) != COFFER_OK ||
	    msg_put_str(m, "state", state) != COFFER_OK ||
	    msg_put_uint(m, "approvals", napprovals) != COFFER_OK ||
	    msg_put_uint(m, "need", q->need) != COFFER_OK) {
		if (m != NULL)
			cbor_decref(&m);
		return COFFER_ERR_NOMEM;
	}
	*result = m;
	return COFFER_OK;
}

/*
 * request.approve / request.reject {id, comment, signature}: the caller
 * must be an approver the policy computed, not the requester, not one who
 * already decided; the signature must be theirs over exactly this
 * decision on exactly this request.  One rejection closes the request;
 * the last approval applies it.
 */
static int
decide_request(struct request *r, const cbor_item_t *args,
    const char *decision, cbor_item_t **result, struct coffer_errdetail *d)
{
	struct store_approval a[APPROVALS_MAX];
	struct store_request q;
	struct store_user u;
	unsigned char sig[APPROVAL_SIG_BYTES];
	char comment[APPROVAL_COMMENT_MAX + 1], why[320], sigref[33] = "";
	const char *state = "pending";
	size_t n = 0;
	int rc, rej = decision[0] == 'r';

	memset(&q, 0, sizeof(q));
	if ((rc = sweep_expired(r)) != COFFER_OK ||
	    (rc = args_text(args, "comment", comment, sizeof(comment), rej, d))
	    != COFFER_OK || (rc = arg_signature(args, sig, d)) != COFFER_OK ||
	    (rc = load_visible(r, args, &q, d)) != COFFER_OK)
		return rc;
	note(r, &q, 0, "request %lld %s", (long long)q.id, rej ?
	    "rejected" : "approved");
	if ((rc = still_pending(&q, d)) != COFFER_OK ||
	    (rc = me(r, &u)) != COFFER_OK ||
	    (rc = store_approval_list(r->st, q.id, a, APPROVALS_MAX, &n)) !=
	    COFFER_OK)
		goto out;
	if (decided_by(a, n, u.id)) {
		rc = coffer_detail(d, COFFER_ERR_CONFLICT, "id", "you have "
		    "already decided request %lld", (long long)q.id);
		goto out;
	}
	if ((rc = eligible(r, &q, &u, why, sizeof(why))) != COFFER_OK) {
		if (rc == COFFER_ERR_DENIED)
			coffer_detail(d, rc, "id", "request %lld: %s",
			    (long long)q.id, why);
		goto out;
	}
	if ((rc = record_decision(r, &q, &u, decision, comment, sig, sigref,
	    d)) != COFFER_OK ||
	    (rc = store_approval_list(r->st, q.id, a, APPROVALS_MAX, &n)) !=
	    COFFER_OK)
		goto out;
	if (rej) {
		state = "rejected";
		rc = store_request_set_state(r->st, q.id, "pending", state,
		    u.id, (int64_t)time(NULL));
	} else if (complete(&q, a, n))
		rc = apply(r, &q, a, n, &state, d);
	if (rc != COFFER_OK)
		goto out;
	note(r, &q, 0, "request %lld %s by %s (%zu of %u)%s%s; sig:%s",
	    (long long)q.id, rej ? "rejected" : "approved", u.name, n, q.need,
	    strcmp(state, "pending") ? ": " : "",
	    strcmp(state, "pending") ? state : "", sigref);
	rc = decision_result(&q, state, n, result);
out:
	sodium_memzero(sig, sizeof(sig));
	store_request_clear(&q);
	return rc;
}

int
handle_request_approve(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	return decide_request(r, args, "approve", result, d);
}

int
handle_request_reject(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	return decide_request(r, args, "reject", result, d);
}

/* request.withdraw {id}: only the requester, only while pending. */
int
handle_request_withdraw(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct store_request q;
	int rc;

	if ((rc = sweep_expired(r)) != COFFER_OK ||
	    (rc = load_visible(r, args, &q, d)) != COFFER_OK)
		return rc;
	note(r, &q, 0, "request %lld withdrawn", (long long)q.id);
	if (q.requester_id != r->subject.user_id)
		rc = coffer_detail(d, COFFER_ERR_DENIED, "id", "request %lld: "
		    "only its requester may withdraw it", (long long)q.id);
	else if ((rc = still_pending(&q, d)) == COFFER_OK &&
	    (rc = store_request_set_state(r->st, q.id, "pending", "withdrawn",
	    r->subject.user_id, (int64_t)time(NULL))) == COFFER_OK)
		rc = decision_result(&q, "withdrawn", 0, result);
	store_request_clear(&q);
	return rc;
}

/* History ------------------------------------------------------------------- */

static int
history_entry(struct request *r, const struct access_decision *dec,
    const struct store_history *h, struct access_seen *seen,
    cbor_item_t **out)
{
	cbor_item_t *m = msg_new_map(), *changes = NULL;
	char requester[65];
	int rc;

	if (m == NULL)
		return COFFER_ERR_NOMEM;
	user_name(r, h->requester_id, requester, sizeof(requester));
	if ((rc = present_diff(dec, dec->kind, h->fields, h->fields_len,
	    &changes, seen)) != COFFER_OK)
		goto out;
	rc = COFFER_ERR_NOMEM;
	if (msg_put_int(m, "version", h->version) != COFFER_OK ||
	    msg_put_int(m, "request", h->request_id) != COFFER_OK ||
	    msg_put_str(m, "op", h->op) != COFFER_OK ||
	    msg_put_str(m, "requester", requester) != COFFER_OK ||
	    msg_put_str(m, "approvers", h->approvers) != COFFER_OK ||
	    msg_put_int(m, "time", h->time) != COFFER_OK)
		goto out;
	rc = msg_put(m, "changes", changes);
	changes = NULL;
	if (rc != COFFER_OK)
		goto out;
	*out = m;
	return COFFER_OK;
out:
	if (changes != NULL)
		cbor_decref(&changes);
	cbor_decref(&m);
	return rc;
}

/*
 * record.history {kind, id} -> {history: [...], deleted, masked,
 * omitted}: the applied changes of a record the caller may read (also
 * once it is tombstoned), values masked by the caller's READ treatment.
 */
int
handle_record_history(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	const struct kind_def *k;
	struct access_decision dec;
	struct access_seen seen;
	struct store_history *h = NULL;
	cbor_item_t *rec = NULL, *arr = NULL, *res = NULL, *e = NULL;
	int64_t id = 0;
	size_t i, n = 0;
	int rc, deleted = 0;

	if ((rc = args_kind(args, &k, d)) != COFFER_OK ||
	    (rc = args_id(args, "id", &id, d)) != COFFER_OK)
		return rc;
	if (access_decide(r->policy, &r->subject, ACT_READ, k, &dec) !=
	    COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "%s",
		    dec.pd.reason);
	rc = store_record_get_any(r->st, k, id, &dec.pd.scope, &rec,
	    &deleted);
	if (rc == COFFER_ERR_NOT_FOUND || rc == COFFER_ERR_DENIED)
		return coffer_detail(d, rc, "id", "%s %lld: %s", k->name,
		    (long long)id, rc == COFFER_ERR_DENIED ?
		    "not in your scope" : "no such record");
	if (rc != COFFER_OK)
		return rc;
	rc = check_record_row(r, &dec, rec, d);
	cbor_decref(&rec);
	if (rc != COFFER_OK ||
	    (rc = store_history_list(r->st, k->name, id, &h, &n)) != COFFER_OK)
		return rc;
	memset(&seen, 0, sizeof(seen));
	rc = COFFER_ERR_NOMEM;
	if ((arr = msg_new_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = history_entry(r, &dec, &h[i], &seen, &e)) !=
		    COFFER_OK)
			goto out;
		if ((rc = msg_push(arr, e)) != COFFER_OK)
			goto out;
	}
	rc = msg_map_of("history", arr, &res);
	arr = NULL;	/* taken */
	if (rc != COFFER_OK)
		goto out;
	rc = COFFER_ERR_NOMEM;
	if (msg_put_bool(res, "deleted", deleted) != COFFER_OK ||
	    access_put_seen(&dec, &seen, res) != COFFER_OK)
		goto out;
	*result = res;
	res = NULL;
	rc = COFFER_OK;
out:
	store_history_free(h, n);
	if (arr != NULL)
		cbor_decref(&arr);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}
