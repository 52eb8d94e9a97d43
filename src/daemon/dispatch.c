/*
 * dispatch.c - turns one decrypted request into one response: decode the
 * envelope, look the operation up in the table, run its handler, encode
 * the answer.  Every request, good or bad, gets exactly one response.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffer/audit.h"
#include "coffer/daemon.h"
#include "coffer/handlers.h"
#include "coffer/log.h"
#include "coffer/msg.h"
#include "coffer/policy.h"
#include "coffer/schema.h"
#include "coffer/store.h"

#define OP_NAME_MAX 32
#define REFUSAL "the audit log is unavailable (cannot be written): " \
	"request refused and not carried out"

struct op {
	const char *name;
	handler_fn fn;
	int writes;   /* takes the database write lock */
	/*
	 * Answered even when its audit record cannot be written: status only,
	 * which returns no record data and is how an operator learns that
	 * the audit log is faulted.
	 */
	int health;
	/*
	 * May run long (scans, reports, imports, backups) or answer more than
	 * DISPATCH_DEFER_MAX: run on a thread of its own, not on one of the
	 * few event-loop workers every session shares (server.c).  A list
	 * that list_is_quick() stays on the worker.
	 */
	int runs_long;
};

static const struct op ops[] = {
	{ "status", handle_status, 0, 1, 0 },
	{ "whoami", handle_whoami, 0, 0, 0 },
	{ "record.get", handle_record_get, 0, 0, 0 },
	{ "record.list", handle_record_list, 0, 0, 1 },
	{ "record.create", handle_record_create, 1, 0, 0 },
	{ "record.update", handle_record_update, 1, 0, 0 },
	{ "record.delete", handle_record_delete, 1, 0, 0 },
	{ "record.reveal", handle_record_reveal, 0, 0, 0 },
	{ "user.list", handle_user_list, 0, 0, 1 },
	{ "user.add", handle_user_add, 1, 0, 0 },
	{ "user.update", handle_user_update, 1, 0, 0 },
	{ "audit.search", handle_audit_search, 0, 0, 1 },
	{ "audit.show", handle_audit_show, 0, 0, 1 },
	{ "audit.checkpoint", handle_audit_checkpoint, 0, 0, 1 },
	{ "audit.export", handle_audit_export, 0, 0, 1 },
	/* change requests (h_requests.c); all write: expiry is lazy */
	{ "request.create", handle_request_create, 1, 0, 0 },
	{ "request.list", handle_request_list, 1, 0, 1 },
	{ "request.show", handle_request_show, 1, 0, 0 },
	{ "request.approve", handle_request_approve, 1, 0, 0 },
	{ "request.reject", handle_request_reject, 1, 0, 0 },
	{ "request.withdraw", handle_request_withdraw, 1, 0, 0 },
	{ "record.history", handle_record_history, 0, 0, 1 },
	{ "backup.create", handle_backup_create, 0, 0, 1 }, /* h_backup.c */
	{ "import.begin", handle_import_begin, 0, 0, 1 },   /* h_import.c */
	{ "import.rows", handle_import_rows, 0, 0, 1 },
	{ "import.commit", handle_import_commit, 1, 0, 1 },
	{ "customer.screen", handle_customer_screen, 1, 0, 0 }, /* h_workflow.c */
	{ "followup.done", handle_followup_done, 1, 0, 0 },
	{ "customer.assign", handle_customer_assign, 1, 0, 0 },
	{ "customer.distribute", handle_customer_distribute, 1, 0, 1 },
	{ "customer.transfer", handle_customer_transfer, 1, 0, 1 },
	{ "workflow.today", handle_workflow_today, 0, 0, 1 },
	{ "report.kpi", handle_report_kpi, 0, 0, 1 },       /* h_report.c */
	{ "dnc.add", handle_dnc_add, 1, 0, 0 },             /* h_dnc.c */
	{ "dnc.remove", handle_dnc_remove, 1, 0, 0 },
	{ "dnc.approve", handle_dnc_approve, 1, 0, 0 },
	{ "dnc.reject", handle_dnc_reject, 1, 0, 0 },
	{ "dnc.list", handle_dnc_list, 0, 0, 1 },
	{ "dnc.check", handle_dnc_check, 0, 0, 0 },
};

static const struct op *
op_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

/*
 * A page of customers near the start, without filters, is a walk of the
 * scope index for at most STORE_LIST_MAX rows (migration 9, docs/schema.md):
 * a millisecond or two, so it is served on a worker, whose warm page cache
 * makes it faster still.  Any other list may sort or count a large set
 * (an agent's calls at a million customers: most of a second).
 */
#define QUICK_LIST_OFFSET_MAX 1000u

static int
list_is_quick(const cbor_item_t *args)
{
	const cbor_item_t *f;
	uint64_t offset = 0;
	char kind[32];

	if (args == NULL || msg_get_str(args, "kind", kind, sizeof(kind)) !=
	    COFFER_OK || strcmp(kind, "customer") != 0)
		return 0;
	if ((f = msg_get(args, "filters")) != NULL &&
	    (!cbor_isa_map(f) || cbor_map_size(f) > 0))
		return 0;
	if (msg_get(args, "offset") != NULL &&
	    (msg_get_uint(args, "offset", &offset) != COFFER_OK ||
	    offset > QUICK_LIST_OFFSET_MAX))
		return 0;
	return 1;
}

/* Must this request leave the workers for a thread of its own? */
static int
runs_long(const struct op *op, const cbor_item_t *args)
{
	if (!op->runs_long)
		return 0;
	return !(op->fn == handle_record_list && list_is_quick(args));
}

/* { "code", "name", "message", ? "field" } */
static cbor_item_t *
error_map(int status, const struct coffer_errdetail *detail)
{
	cbor_item_t *e = msg_new_map();
	const char *text = detail->message[0] ? detail->message :
	    coffer_strerror(status);

	if (e == NULL)
		return NULL;
	if (msg_put_uint(e, "code", (uint64_t)status) != COFFER_OK ||
	    msg_put_str(e, "name", coffer_errname(status)) != COFFER_OK ||
	    msg_put_str(e, "message", text) != COFFER_OK ||
	    (detail->field[0] &&
	     msg_put_str(e, "field", detail->field) != COFFER_OK)) {
		cbor_decref(&e);
		return NULL;
	}
	return e;
}

static int
encode_response(uint64_t id, int status, cbor_item_t *result,
    const struct coffer_errdetail *detail, unsigned char **out, size_t *len)
{
	cbor_item_t *resp = msg_new_map();
	cbor_item_t *err = NULL;
	int rc = COFFER_ERR_NOMEM;

	if (resp == NULL)
		goto out;
	if (msg_put_uint(resp, "id", id) != COFFER_OK ||
	    msg_put_bool(resp, "ok", status == COFFER_OK) != COFFER_OK)
		goto out;
	if (status == COFFER_OK) {
		if (msg_put(resp, "result", result != NULL ? cbor_incref(result) :
		    msg_new_map()) != COFFER_OK)
			goto out;
	} else {
		if ((err = error_map(status, detail)) == NULL)
			goto out;
		if (msg_put(resp, "error", err) != COFFER_OK)
			goto out;
		err = NULL; /* transferred */
	}
	rc = msg_encode(resp, out, len);
out:
	if (err != NULL)
		cbor_decref(&err);
	if (resp != NULL)
		cbor_decref(&resp);
	return rc;
}

/* Decode the envelope; *op is NULL when the operation is unknown. */
static int
parse_envelope(const unsigned char *msg, size_t len, cbor_item_t **item,
    uint64_t *id, char *opname, const cbor_item_t **args,
    struct coffer_errdetail *d)
{
	int rc;

	*id = 0;
	if ((rc = msg_decode(msg, len, item)) != COFFER_OK)
		return coffer_detail(d, rc, "", "request is not valid "
		    "deterministic CBOR within the protocol limits");
	if (!cbor_isa_map(*item))
		return coffer_detail(d, COFFER_ERR_PROTO, "", "request is not a map");
	if (msg_get_uint(*item, "id", id) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_PROTO, "id",
		    "request id missing or not an unsigned integer");
	if (msg_get_str(*item, "op", opname, OP_NAME_MAX) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_PROTO, "op",
		    "operation missing or not a short text string");
	*args = msg_get(*item, "args");
	if (*args != NULL && !cbor_isa_map(*args))
		return coffer_detail(d, COFFER_ERR_PROTO, "args",
		    "args must be a map");
	return COFFER_OK;
}

/* --- the audit record of a request ------------------------------------ */

#define FACT_MAX 40
#define FACT_NAME 48

/* What dispatch learns about a request for its audit record. */
struct audit_facts {
	char kind[32];
	int64_t target_id;
	uint64_t count;
	char names[FACT_MAX][FACT_NAME];   /* field names, never values */
	const char *fields[FACT_MAX];
	size_t nfields;
	char mnames[FACT_MAX][FACT_NAME];  /* fields sent masked */
	const char *masked[FACT_MAX];
	size_t nmasked;
	char cnames[FACT_MAX][FACT_NAME];
	struct audit_change changes[FACT_MAX];
	size_t nchanges;
	cbor_item_t *before;               /* record before update/delete */
	int64_t *tids;                     /* ids of the records listed */
	size_t ntids;
};

static const cbor_item_t *
result_record(const cbor_item_t *result, uint64_t *count)
{
	const cbor_item_t *rec, *recs;

	*count = 0;
	if (result == NULL)
		return NULL;
	if ((rec = msg_get(result, "record")) != NULL && cbor_isa_map(rec)) {
		*count = 1;
		return rec;
	}
	/* followup.done answers with the follow-up it closed */
	if ((rec = msg_get(result, "followup")) != NULL && cbor_isa_map(rec)) {
		*count = 1;
		return rec;
	}
	recs = msg_get(result, "records");
	if (recs != NULL && cbor_isa_array(recs)) {
		*count = cbor_array_size(recs);
		if (*count > 0)
			return cbor_array_handle(recs)[0];
	}
	return NULL;
}

static void
collect_fields(struct audit_facts *f, const cbor_item_t *rec)
{
	struct cbor_pair *p;
	size_t i, n;

	if (rec == NULL || !cbor_isa_map(rec))
		return;
	p = cbor_map_handle(rec);
	n = cbor_map_size(rec);
	for (i = 0; i < n && f->nfields < FACT_MAX; i++)
		if (msg_item_str(p[i].key, f->names[f->nfields], FACT_NAME) ==
		    COFFER_OK) {
			f->fields[f->nfields] = f->names[f->nfields];
			f->nfields++;
		}
}

/*
 * The fields the answer masked (its "masked" list), and for a reveal the
 * one field whose value it returned.
 */
static void
collect_masked(struct audit_facts *f, const cbor_item_t *result)
{
	const cbor_item_t *m = msg_get(result, "masked");
	const cbor_item_t *rv = msg_get(result, "field");
	size_t i;

	for (i = 0; m != NULL && cbor_isa_array(m) &&
	    i < cbor_array_size(m) && f->nmasked < FACT_MAX; i++)
		if (msg_item_str(cbor_array_handle(m)[i],
		    f->mnames[f->nmasked], FACT_NAME) == COFFER_OK) {
			f->masked[f->nmasked] = f->mnames[f->nmasked];
			f->nmasked++;
		}
	if (rv != NULL && f->nfields == 0 &&
	    msg_item_str(rv, f->names[0], FACT_NAME) == COFFER_OK) {
		f->fields[0] = f->names[0];
		f->nfields = 1;
		f->count = 1;
	}
}

/* A list answer: every record id it returned, so a search finds them. */
#define TIDS_MAX 4096   /* the audit record's list limit */
static void
collect_ids(struct audit_facts *f, const cbor_item_t *result)
{
	const cbor_item_t *recs = msg_get(result, "records");
	size_t i, n;

	if (recs == NULL || !cbor_isa_array(recs) ||
	    (n = cbor_array_size(recs)) == 0)
		return;
	if (n > TIDS_MAX)
		n = TIDS_MAX;
	if ((f->tids = calloc(n, sizeof(*f->tids))) == NULL)
		return;
	for (i = 0; i < n; i++)
		if (msg_get_int(cbor_array_handle(recs)[i], "id",
		    &f->tids[f->ntids]) == COFFER_OK)
			f->ntids++;
}

/*
 * The fields a write touched, with old and new values for the audit
 * module to hash under the audit-hash key: for an update the fields given,
 * for a create the new record, for a delete the old one.
 */
static void
collect_changes(struct audit_facts *f, const cbor_item_t *given,
    const cbor_item_t *after)
{
	const cbor_item_t *src = given != NULL ? given :
	    after != NULL ? after : f->before;
	struct cbor_pair *p;
	size_t i, n;

	if (src == NULL || !cbor_isa_map(src))
		return;
	p = cbor_map_handle(src);
	n = cbor_map_size(src);
	for (i = 0; i < n && f->nchanges < FACT_MAX; i++) {
		struct audit_change *c = &f->changes[f->nchanges];
		char *name = f->cnames[f->nchanges];

		if (msg_item_str(p[i].key, name, FACT_NAME) != COFFER_OK)
			continue;
		c->field = name;
		c->old_value = f->before != NULL ? msg_get(f->before, name) :
		    NULL;
		c->new_value = given != NULL ? p[i].value :
		    after != NULL ? msg_get(after, name) : NULL;
		f->nchanges++;
	}
}

/* Two field values equal as encoded; absent and null are the same. */
static int
same_value(const cbor_item_t *a, const cbor_item_t *b)
{
	unsigned char *ea = NULL, *eb = NULL;
	size_t la = 0, lb = 0;
	int same;

	if (a != NULL && cbor_is_null(a))
		a = NULL;
	if (b != NULL && cbor_is_null(b))
		b = NULL;
	if (a == NULL || b == NULL)
		return a == b;
	if (msg_encode(a, &ea, &la) != COFFER_OK ||
	    msg_encode(b, &eb, &lb) != COFFER_OK)
		same = 0;	/* unknown: record it as changed */
	else
		same = la == lb && memcmp(ea, eb, la) == 0;
	/* the encodings are customer values: wiped like a response */
	if (ea != NULL)
		sodium_memzero(ea, la);
	if (eb != NULL)
		sodium_memzero(eb, lb);
	free(ea);
	free(eb);
	return same;
}

/*
 * A workflow write that names no fields (followup.done): of the fields it
 * may write, those whose value differs between the record before and the
 * answer.  Only these: the answer is presented to the caller (a site
 * policy may mask other fields), so a masked field must not read as a
 * change.
 */
static void
collect_diff(struct audit_facts *f, const cbor_item_t *after)
{
	static const char *const written[] = { "status", "outcome" };
	size_t i;

	if (after == NULL || f->before == NULL || !cbor_isa_map(after))
		return;
	for (i = 0; i < sizeof(written) / sizeof(written[0]) &&
	    f->nchanges < FACT_MAX; i++) {
		struct audit_change *c = &f->changes[f->nchanges];
		const cbor_item_t *old = msg_get(f->before, written[i]);
		const cbor_item_t *now = msg_get(after, written[i]);

		if (same_value(old, now))
			continue;
		snprintf(f->cnames[f->nchanges], FACT_NAME, "%s", written[i]);
		c->field = f->cnames[f->nchanges];
		c->old_value = old;
		c->new_value = now;
		f->nchanges++;
	}
}

/* Before an update or delete: the record as it was (only hashed). */
static void
fetch_before(struct request *r, const char *opname, const cbor_item_t *args,
    struct audit_facts *f)
{
	struct store_scope all = { SCOPE_ALL, 0, "", 0, 0 };
	const struct kind_def *k = schema_kind(f->kind);
	uint64_t id;

	if (strcmp(opname, "followup.done") == 0)
		k = schema_kind("followup");	/* its args name no kind */
	else if (strcmp(opname, "record.update") != 0 &&
	    strcmp(opname, "record.delete") != 0 &&
	    strcmp(opname, "request.create") != 0)
		return;
	if (k == NULL)
		return;
	if (msg_get_uint(args, "id", &id) != COFFER_OK || id > INT64_MAX)
		return;
	if (store_record_get(r->st, k, (int64_t)id, &all, &f->before) !=
	    COFFER_OK)
		f->before = NULL;
}

static enum audit_decision
decision_of(int status)
{
	if (status == COFFER_OK)
		return AUDIT_ALLOWED;
	return status == COFFER_ERR_DENIED ? AUDIT_DENIED : AUDIT_ERROR;
}

static void
request_event(const struct request *r, const char *opname, int status,
    const struct coffer_errdetail *d, const struct audit_facts *f,
    struct audit_event *e)
{
	memset(e, 0, sizeof(*e));
	e->op = opname[0] ? opname : "invalid";
	e->actor_id = r->subject.user_id;
	e->actor = r->user;
	e->actor_fpr = r->fpr;
	e->role = r->role;
	e->session_id = r->session_id;
	e->peer = r->peer;
	e->kind = f->kind[0] ? f->kind : NULL;
	e->target_id = f->target_id;
	e->target_ids = f->ntids ? f->tids : NULL;
	e->ntargets = f->ntids;
	e->fields_returned = f->nfields ? f->fields : NULL;
	e->nreturned = f->nfields;
	e->fields_masked = f->nmasked ? f->masked : NULL;
	e->nmasked = f->nmasked;
	e->decision = status == COFFER_OK && r->audit_pending ?
	    AUDIT_PENDING : decision_of(status);
	e->reason = status == COFFER_OK ? (r->audit_reason[0] ?
	    r->audit_reason : NULL) :
	    d->message[0] ? d->message : coffer_strerror(status);
	e->status = status;
	e->count = f->count;
	e->changes = f->nchanges ? f->changes : NULL;
	e->nchanges = f->nchanges;
	e->policy_hash = r->policy != NULL ? policy_hash(r->policy) : NULL;
}

/*
 * Benchmark-only build (make BENCH_AUDIT_OFF=1, docs/performance.md):
 * measures what auditing costs.  The Makefile cannot install it and
 * cofferd warns at start; there is no run-time switch.
 */
#ifdef COFFER_BENCH_NO_AUDIT
#define AUDIT_OFF 1
#else
#define AUDIT_OFF 0
#endif

/* The request's record, durable before this returns. */
static int
audit_request(struct request *r, const char *opname, int status,
    const struct coffer_errdetail *d, const struct audit_facts *f)
{
	struct audit_event e;

	if (AUDIT_OFF)
		return COFFER_OK;
	request_event(r, opname, status, d, f, &e);
	return audit_append(r->d->audit, &e, NULL);
}

int
dispatch_audit_event(struct daemon_ctx *d, const char *op,
    const struct request *r, int status, const char *reason)
{
	struct audit_event e;
	int locked = 0, rc;

	memset(&e, 0, sizeof(e));
	e.op = op;
	if (r != NULL && r->policy != NULL)
		e.policy_hash = policy_hash(r->policy);
	else {
		/* Outside a request: the policy in force, held still. */
		pthread_rwlock_rdlock(&d->policy_lock);
		locked = 1;
		if (d->policy != NULL)
			e.policy_hash = policy_hash(d->policy);
	}
	if (r != NULL) {
		e.actor_id = r->subject.user_id;
		e.actor = r->user;
		e.actor_fpr = r->fpr[0] ? r->fpr : NULL;
		e.role = r->role;
		e.session_id = r->session_id;
		e.peer = r->peer;
	}
	e.decision = decision_of(status);
	e.reason = reason;
	e.status = status;
	rc = audit_append(d->audit, &e, NULL);
	if (locked)
		pthread_rwlock_unlock(&d->policy_lock);
	return rc;
}

/*
 * Run the handler.  A write runs inside one transaction that is committed
 * only after its audit record is durable, so no change reaches the
 * database unrecorded; if the log cannot be written the change is rolled
 * back and the request refused (fail closed).  A read's answer is
 * withheld the same way.
 */
static int
run_audited(struct request *r, const struct op *op, const char *opname,
    const cbor_item_t *args, cbor_item_t **result,
    struct coffer_errdetail *d, struct audit_facts *f, int defer)
{
	int status, arc = COFFER_OK;

	if (op != NULL && op->writes) {
		pthread_mutex_lock(&r->d->write_lock);
		if ((status = store_begin(r->st)) != COFFER_OK) {
			arc = audit_request(r, opname, status, d, f);
			goto unlock;
		}
		fetch_before(r, opname, args, f);
	}
	status = op != NULL ? op->fn(r, args, result, d) : COFFER_ERR_NOT_FOUND;
	if (r->audit_kind[0] != '\0') {
		/* the handler named its own target (a change request's record) */
		snprintf(f->kind, sizeof(f->kind), "%s", r->audit_kind);
		f->target_id = r->audit_target;
	}
	if (status == COFFER_OK) {
		const cbor_item_t *rec = result_record(*result, &f->count);

		collect_fields(f, rec);
		collect_masked(f, *result);
		collect_ids(f, *result);
		if (f->target_id == 0 && f->ntids == 0 && rec != NULL)
			msg_get_int(rec, "id", &f->target_id);
		if (op->writes && strcmp(opname, "followup.done") == 0)
			collect_diff(f, rec);
		else if (op->writes)
			collect_changes(f, msg_get(args, "fields"), rec);
	}
	if (defer)	/* the caller records it with the answer */
		return status;
	arc = audit_request(r, opname, status, d, f);
	if (op == NULL || !op->writes)
		goto out;
	if (arc == COFFER_OK && status == COFFER_OK) {
		if ((status = store_commit(r->st)) != COFFER_OK) {
			store_rollback(r->st);
			audit_request(r, opname, status, d, f);
		}
	} else
		store_rollback(r->st);
unlock:
	pthread_mutex_unlock(&r->d->write_lock);
out:
	if (arc != COFFER_OK && status != COFFER_ERR_AUDIT &&
	    !(op != NULL && op->health)) {
		if (*result != NULL)
			cbor_decref(result);
		*result = NULL;
		memset(d, 0, sizeof(*d));
		status = coffer_detail(d, COFFER_ERR_AUDIT, "", REFUSAL);
	}
	return status;
}

static void
note_target(const cbor_item_t *args, struct audit_facts *f)
{
	uint64_t id;

	if (args == NULL)
		return;
	if (msg_get_str(args, "kind", f->kind, sizeof(f->kind)) != COFFER_OK)
		f->kind[0] = '\0';
	if (msg_get_uint(args, "id", &id) == COFFER_OK && id <= INT64_MAX)
		f->target_id = (int64_t)id;
}

/*
 * A session whose login could not be recorded (the log was faulted) is
 * served only once that record is written, late; until then every request
 * but status is refused.  Returns 1 when the request is refused.
 */
static int
login_unrecorded(struct request *r, const struct op *op,
    struct coffer_errdetail *d)
{
	if (dispatch_audit_event(r->d, "session.login", r, COFFER_OK,
	    "recorded late: the audit log was unavailable at login") ==
	    COFFER_OK) {
		r->login_unrecorded = 0;
		return 0;
	}
	if (op->health)
		return 0;
	coffer_detail(d, COFFER_ERR_AUDIT, "", REFUSAL);
	return 1;
}

int
dispatch_refusal(uint64_t id, unsigned char **resp, size_t *len)
{
	struct coffer_errdetail d = { "", "" };

	coffer_detail(&d, COFFER_ERR_AUDIT, "", REFUSAL);
	return encode_response(id, COFFER_ERR_AUDIT, NULL, &d, resp, len);
}

/*
 * A read whose answer can wait for its record without holding the session
 * thread: everything but writes (their commit follows the record), status
 * (answered even when the log is faulted) and a session whose login is
 * still unrecorded.
 */
static int
may_defer(const struct request *r, const struct op *op)
{
	return !AUDIT_OFF && r->reply != NULL && op != NULL && !op->writes &&
	    !op->health && !r->login_unrecorded;
}

/*
 * Record a deferred request and hand its answer to the session's reply
 * slot, which sends it once the record is durable.  An answer too large
 * to be sure to leave without blocking is recorded and returned as usual.
 */
static int
answer_deferred(struct request *r, uint64_t id, const char *opname,
    int status, cbor_item_t **result, struct coffer_errdetail *d,
    const struct audit_facts *f, unsigned char **resp, size_t *resplen)
{
	struct audit_event e;
	int rc;

	if ((rc = encode_response(id, status, *result, d, resp, resplen)) !=
	    COFFER_OK)
		return rc;
	if (*resplen > DISPATCH_DEFER_MAX) {
		if (audit_request(r, opname, status, d, f) == COFFER_OK)
			return COFFER_OK;
		sodium_memzero(*resp, *resplen);
		free(*resp);
		*resp = NULL;
		return dispatch_refusal(id, resp, resplen);
	}
	reply_slot_post(r->reply, id, *resp, *resplen);
	*resp = NULL;
	*resplen = 0;
	request_event(r, opname, status, d, f, &e);
	if (audit_append_async(r->d->audit, &e, reply_slot_done, r->reply) !=
	    COFFER_OK)
		reply_slot_done(r->reply, COFFER_ERR_AUDIT);
	return COFFER_OK;
}

int
dispatch_request(struct request *r, const unsigned char *msg, size_t len,
    unsigned char **resp, size_t *resplen)
{
	struct coffer_errdetail d = { "", "" };
	/* On the stack: a heap block this size per request made glibc
	 * consolidate its free lists on every request (docs/performance.md). */
	struct audit_facts facts, *f = &facts;
	cbor_item_t *item = NULL, *result = NULL, *empty = NULL;
	const cbor_item_t *args = NULL;
	const struct op *op = NULL;
	char opname[OP_NAME_MAX] = "";
	uint64_t id = 0;
	int status, rc = COFFER_OK, defer = 0;

	*resp = NULL;
	*resplen = 0;
	memset(f, 0, sizeof(*f));
	/* One policy decides the whole request, its audit record included. */
	pthread_rwlock_rdlock(&r->d->policy_lock);
	r->policy = r->d->policy;
	r->audit_pending = 0;
	r->audit_kind[0] = r->audit_reason[0] = '\0';
	r->audit_target = 0;
	status = parse_envelope(msg, len, &item, &id, opname, &args, &d);
	if (status == COFFER_OK && (op = op_find(opname)) == NULL)
		status = coffer_detail(&d, COFFER_ERR_NOT_FOUND, "op",
		    "unknown operation '%s'", opname);
	if (status == COFFER_OK && !r->on_own_thread && runs_long(op, args)) {
		rc = DISPATCH_LONG;	/* nothing done yet: run it there */
		goto unlock;
	}
	if (status == COFFER_OK && args == NULL &&
	    (args = empty = msg_new_map()) == NULL)
		status = COFFER_ERR_NOMEM;
	note_target(args, f);
	if (status == COFFER_OK && r->login_unrecorded &&
	    login_unrecorded(r, op, &d))
		status = COFFER_ERR_AUDIT;	/* nothing can be recorded */
	else if (status == COFFER_OK)
		status = run_audited(r, op, opname, args, &result, &d, f,
		    defer = may_defer(r, op));
	else if (audit_request(r, opname, status, &d, f) != COFFER_OK) {
		memset(&d, 0, sizeof(d));
		status = COFFER_ERR_AUDIT;
	}
	if (status != COFFER_OK && status != COFFER_ERR_NOMEM)
		log_debug("%s: %s: %s", r->user, opname[0] ? opname : "?",
		    coffer_errname(status));
	atomic_fetch_add(&r->d->requests, 1);
	if (defer)	/* still under the policy that decided it */
		rc = answer_deferred(r, id, opname, status, &result, &d, f,
		    resp, resplen);
unlock:
	r->policy = NULL;
	pthread_rwlock_unlock(&r->d->policy_lock);
	if (!defer && rc != DISPATCH_LONG)
		rc = encode_response(id, status, result, &d, resp, resplen);
	if (f->before != NULL)
		cbor_decref(&f->before);
	free(f->tids);
	if (result != NULL)
		cbor_decref(&result);
	if (empty != NULL)
		cbor_decref(&empty);
	if (item != NULL)
		cbor_decref(&item);
	return rc;
}
