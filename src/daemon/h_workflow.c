/*
 * h_workflow.c - the telesales working day (docs/workflow.md): screening
 * a fresh lead, marking a follow-up done, assigning customers to agents
 * (by id, from the pool in round-robin, or every customer of an agent who
 * leaves) and an agent's list of what to do today.  Decisions go through
 * access_decide(); the queries are the store's (workflow.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffer/args.h"
#include "coffer/handlers.h"
#include "coffer/msg.h"
#include "coffer/schema.h"
#include "coffer/store.h"
#include "coffer/workflow.h"

#define AGENTS_MAX 64          /* agents one distribute names */
#define TODAY_DEFAULT 50
#define REASON_MAX 500         /* customer.exclude_reason */

/* Customer fields a today line shows, masked as a list masks them. */
static const char *const today_fields[] = { "id", "name", "phone",
	"company", "stage", "intent", NULL };

static const struct kind_def *
customers(void)
{
	return schema_kind("customer");
}

/* access_decide, its refusal in detail with an optional prefix. */
static int
decide(struct request *r, enum access_action a, const struct kind_def *k,
    const char *what, struct access_decision *dec, struct coffer_errdetail *d)
{
	if (access_decide(r->policy, &r->subject, a, k, dec) == COFFER_OK)
		return COFFER_OK;
	return coffer_detail(d, COFFER_ERR_DENIED, "", "%s%s%s", what,
	    what[0] ? ": " : "", dec->pd.reason);
}

/* No read-up / no write-up on a customer row as stored. */
static int
row_ok(struct access_decision *dec, const cbor_item_t *rec, int64_t id,
    struct coffer_errdetail *d)
{
	struct policy_row row = { NULL, 0, NULL };
	char label[33] = "", stage[33] = "";
	int dnc = 0;

	(void)msg_get_str(rec, "label", label, sizeof(label));
	(void)msg_get_str(rec, "stage", stage, sizeof(stage));
	(void)msg_get_bool(rec, "do_not_call", &dnc);
	row.label = label;
	row.do_not_call = dnc;
	row.stage = stage[0] ? stage : NULL;
	if (access_check_row(dec, &row, NULL) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "id",
		    "customer %lld: %s", (long long)id, dec->pd.reason);
	return COFFER_OK;
}

/* The customer in the decision's scope, or a refusal naming it. */
static int
customer_in_scope(struct request *r, struct access_decision *dec,
    int64_t id, cbor_item_t **rec, struct coffer_errdetail *d)
{
	int rc = store_record_get(r->st, customers(), id, &dec->pd.scope, rec);

	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, rc, "id", "customer %lld: no such record",
		    (long long)id);
	if (rc == COFFER_ERR_DENIED)
		return coffer_detail(d, rc, "id", "customer %lld: not in your "
		    "scope", (long long)id);
	if (rc != COFFER_OK)
		return rc;
	if ((rc = row_ok(dec, *rec, id, d)) != COFFER_OK)
		cbor_decref(rec);
	return rc;
}

/* ---- screening ------------------------------------------------------ */

/*
 * What a move from stage `from` to `to` needs: ACT_SCREEN for screening a
 * fresh lead (new or screened -> screened or excluded), ACT_UPDATE for
 * taking a customer back out of excluded or back to new (a manager's
 * act).  COFFER_ERR_CONFLICT when screening does not apply.
 */
static int
screen_action(const char *from, const char *to, int64_t id,
    enum access_action *a, struct coffer_errdetail *d)
{
	int fresh = strcmp(from, "new") == 0 || strcmp(from, "screened") == 0;

	if (strcmp(from, to) == 0)
		return coffer_detail(d, COFFER_ERR_CONFLICT, "stage", "customer "
		    "%lld is already %s", (long long)id, to);
	if (!fresh && strcmp(from, "excluded") != 0)
		return coffer_detail(d, COFFER_ERR_CONFLICT, "stage", "customer "
		    "%lld is past screening (stage %s)", (long long)id, from);
	*a = fresh && strcmp(to, "new") != 0 ? ACT_SCREEN : ACT_UPDATE;
	return COFFER_OK;
}

static int
screen_args(const cbor_item_t *args, int64_t *id, char *to, size_t tosz,
    char *reason, size_t rsz, struct coffer_errdetail *d)
{
	int rc;

	if ((rc = args_id(args, "id", id, d)) != COFFER_OK ||
	    (rc = args_text(args, "stage", to, tosz, 1, d)) != COFFER_OK ||
	    (rc = args_text(args, "reason", reason, rsz, 0, d)) != COFFER_OK)
		return rc;
	if (strcmp(to, "new") != 0 && strcmp(to, "screened") != 0 &&
	    strcmp(to, "excluded") != 0)
		return coffer_detail(d, COFFER_ERR_INVALID, "stage", "stage: "
		    "one of new, screened, excluded");
	if (strcmp(to, "excluded") == 0 && reason[0] == '\0')
		return coffer_detail(d, COFFER_ERR_INVALID, "reason", "reason: "
		    "required to exclude a customer");
	if (strcmp(to, "excluded") != 0 && reason[0] != '\0')
		return coffer_detail(d, COFFER_ERR_INVALID, "reason", "reason: "
		    "only an exclusion takes a reason");
	return COFFER_OK;
}

/* {stage, exclude_reason} for the update, validated by the schema. */
static int
screen_fields(const char *to, const char *reason, cbor_item_t **out,
    struct coffer_errdetail *d)
{
	cbor_item_t *f = msg_new_map();
	int rc;

	if (f == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = msg_put_str(f, "stage", to)) != COFFER_OK ||
	    (rc = msg_put(f, "exclude_reason", reason[0] ?
	    msg_new_str(reason) : msg_new_null())) != COFFER_OK ||
	    (rc = schema_validate(customers(), f, 0, d)) != COFFER_OK) {
		cbor_decref(&f);
		return rc;
	}
	*out = f;
	return COFFER_OK;
}

static int
screen_result(int64_t id, const char *from, const char *to, int64_t version,
    cbor_item_t **result)
{
	cbor_item_t *res = msg_new_map();

	if (res == NULL || msg_put_int(res, "id", id) != COFFER_OK ||
	    msg_put_str(res, "previous", from) != COFFER_OK ||
	    msg_put_str(res, "stage", to) != COFFER_OK ||
	    msg_put_int(res, "version", version) != COFFER_OK) {
		if (res != NULL)
			cbor_decref(&res);
		return COFFER_ERR_NOMEM;
	}
	*result = res;
	return COFFER_OK;
}

/* The decision a screening needs, with a refusal that says who may. */
static int
screen_decide(struct request *r, enum access_action a, int64_t id,
    const char *from, struct access_decision *dec, struct coffer_errdetail *d)
{
	if (access_decide(r->policy, &r->subject, a, customers(), dec) ==
	    COFFER_OK)
		return COFFER_OK;
	if (a == ACT_SCREEN)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "%s",
		    dec->pd.reason);
	return coffer_detail(d, COFFER_ERR_DENIED, "stage", "customer %lld is "
	    "%s: only a manager of its owner's team may re-screen it (%s)",
	    (long long)id, from, dec->pd.reason);
}

/*
 * The decision the first read is made under: screen, or failing that
 * update, which covers screening (whoever may set stage directly may
 * screen); the screen refusal if neither is granted.
 */
static int
screen_first(struct request *r, struct access_decision *dec,
    enum access_action *held, struct coffer_errdetail *d)
{
	char why[sizeof(dec->pd.reason)];

	*held = ACT_SCREEN;
	if (access_decide(r->policy, &r->subject, ACT_SCREEN, customers(),
	    dec) == COFFER_OK)
		return COFFER_OK;
	snprintf(why, sizeof(why), "%s", dec->pd.reason);
	*held = ACT_UPDATE;
	if (access_decide(r->policy, &r->subject, ACT_UPDATE, customers(),
	    dec) == COFFER_OK)
		return COFFER_OK;
	return coffer_detail(d, COFFER_ERR_DENIED, "", "%s", why);
}

/*
 * customer.screen {id, stage, ? reason, ? version} -> {id, previous,
 * stage, version}.  The row is read under the screen (or update)
 * decision's scope first, so an agent learns only about their own
 * customers; a move that needs update is decided, and the row read, again.
 */
int
handle_customer_screen(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct access_decision dec;
	enum access_action a = ACT_SCREEN, held = ACT_SCREEN;
	cbor_item_t *rec = NULL, *fields = NULL;
	char to[16], reason[REASON_MAX + 1], from[16] = "new";
	int64_t id = 0, version = 0, want = 0;
	int rc;

	if ((rc = screen_args(args, &id, to, sizeof(to), reason,
	    sizeof(reason), d)) != COFFER_OK)
		return rc;
	if (msg_get(args, "version") != NULL &&
	    (rc = args_id(args, "version", &want, d)) != COFFER_OK)
		return rc;
	snprintf(r->audit_kind, sizeof(r->audit_kind), "customer");
	r->audit_target = id;
	if ((rc = screen_first(r, &dec, &held, d)) != COFFER_OK ||
	    (rc = customer_in_scope(r, &dec, id, &rec, d)) != COFFER_OK)
		goto out;
	(void)msg_get_str(rec, "stage", from, sizeof(from));
	(void)msg_get_int(rec, "version", &version);
	if (want != 0 && want != version) {
		rc = coffer_detail(d, COFFER_ERR_CONFLICT, "version", "customer "
		    "%lld: changed since version %lld; fetch it again",
		    (long long)id, (long long)want);
		goto out;
	}
	if ((rc = screen_action(from, to, id, &a, d)) != COFFER_OK)
		goto out;
	if (a != held && a == ACT_UPDATE) {
		cbor_decref(&rec);
		if ((rc = screen_decide(r, a, id, from, &dec, d)) != COFFER_OK ||
		    (rc = customer_in_scope(r, &dec, id, &rec, d)) != COFFER_OK)
			goto out;
	}
	if ((rc = screen_fields(to, reason, &fields, d)) != COFFER_OK)
		goto out;
	if (access_check_write(&dec, fields) != COFFER_OK) {
		rc = coffer_detail(d, COFFER_ERR_DENIED, "stage", "%s",
		    dec.pd.reason);
		goto out;
	}
	if ((rc = handler_volume(r, POLICY_LIMIT_WRITE, 1, d)) != COFFER_OK ||
	    (rc = store_record_update(r->st, customers(), id, version, fields,
	    &dec.pd.scope, d)) != COFFER_OK)
		goto out;
	snprintf(r->audit_reason, sizeof(r->audit_reason), "screened: %s -> "
	    "%s", from, to);
	rc = screen_result(id, from, to, version + 1, result);
out:
	if (fields != NULL)
		cbor_decref(&fields);
	if (rec != NULL)
		cbor_decref(&rec);
	return rc;
}

/* ---- completing a follow-up ------------------------------------------ */

#define OUTCOME_MAX 2000       /* followup.outcome */

static const struct kind_def *
followups(void)
{
	return schema_kind("followup");
}

/*
 * The live follow-up id if its agent, or its customer's owner, is within
 * the complete decision's scope (own: the caller; team: the manager's
 * subtree) - `coffer today` lists an agent's customers' follow-ups, also
 * those a manager scheduled - and its customer's label within the
 * caller's clearance; refused as record.get refuses it.
 */
static int
followup_in_scope(struct request *r, struct access_decision *dec, int64_t id,
    cbor_item_t **rec, struct coffer_errdetail *d)
{
	struct store_scope all = { SCOPE_ALL, 0, "", 0, 0 };
	cbor_item_t *cust = NULL;
	int64_t agent = 0, cid = 0, owner = 0;
	int rc, in = 0;

	rc = store_record_get(r->st, followups(), id, &all, rec);
	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, rc, "id", "followup %lld: no such "
		    "record", (long long)id);
	if (rc != COFFER_OK)
		return rc;
	(void)msg_get_int(*rec, "agent_id", &agent);
	(void)msg_get_int(*rec, "customer_id", &cid);
	if ((rc = store_record_get(r->st, customers(), cid, &all, &cust)) !=
	    COFFER_OK)
		goto out;
	(void)msg_get_int(cust, "owner_id", &owner);
	if ((rc = wf_user_in_scope(r->st, &dec->pd.scope, agent, &in)) !=
	    COFFER_OK || (!in && owner != 0 &&
	    (rc = wf_user_in_scope(r->st, &dec->pd.scope, owner, &in)) !=
	    COFFER_OK))
		goto out;
	if (!in) {
		rc = coffer_detail(d, COFFER_ERR_DENIED, "id", "followup %lld: "
		    "not in your scope", (long long)id);
		goto out;
	}
	rc = row_ok(dec, cust, cid, d);
out:
	if (cust != NULL)
		cbor_decref(&cust);
	if (rc != COFFER_OK)
		cbor_decref(rec);
	return rc;
}

/* {status: done, ? outcome}: what completing writes, schema-checked. */
static int
done_fields(const char *note, cbor_item_t **out, struct coffer_errdetail *d)
{
	cbor_item_t *f = msg_new_map();
	int rc;

	if (f == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = msg_put_str(f, "status", "done")) != COFFER_OK ||
	    (note[0] && (rc = msg_put_str(f, "outcome", note)) != COFFER_OK) ||
	    (rc = schema_validate(followups(), f, 0, d)) != COFFER_OK) {
		cbor_decref(&f);
		return rc;
	}
	*out = f;
	return COFFER_OK;
}

/*
 * {followup: the record after}, as the caller's read decision shows it;
 * without a read grant only its id, status and version.
 */
static int
done_result(struct request *r, int64_t id, cbor_item_t **result)
{
	struct store_scope all = { SCOPE_ALL, 0, "", 0, 0 };
	struct access_decision rd;
	cbor_item_t *rec = NULL, *shown = NULL;
	int64_t version = 0;
	int rc;

	if ((rc = store_record_get(r->st, followups(), id, &all, &rec)) !=
	    COFFER_OK)
		return rc;
	if (access_decide(r->policy, &r->subject, ACT_READ, followups(),
	    &rd) == COFFER_OK)
		rc = access_present(&rd, rec, &shown, NULL);
	else if ((shown = msg_new_map()) == NULL ||
	    msg_get_int(rec, "version", &version) != COFFER_OK ||
	    msg_put_int(shown, "id", id) != COFFER_OK ||
	    msg_put_str(shown, "status", "done") != COFFER_OK ||
	    msg_put_int(shown, "version", version) != COFFER_OK)
		rc = COFFER_ERR_NOMEM;
	if (rc == COFFER_OK)
		rc = msg_map_of("followup", shown, result);
	else if (shown != NULL)
		cbor_decref(&shown);
	cbor_decref(&rec);
	return rc;
}

/*
 * followup.done {id, ? note} -> {followup}.  Workflow state the agent
 * records, like screening: the follow-up must be live, its agent in the
 * complete decision's scope, and open; the note becomes its outcome.
 */
int
handle_followup_done(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct access_decision dec;
	cbor_item_t *rec = NULL, *fields = NULL;
	char note[OUTCOME_MAX + 1], was[16] = "";
	int64_t id = 0;
	int rc;

	if ((rc = args_id(args, "id", &id, d)) != COFFER_OK ||
	    (rc = args_text(args, "note", note, sizeof(note), 0, d)) !=
	    COFFER_OK)
		return rc;
	snprintf(r->audit_kind, sizeof(r->audit_kind), "followup");
	r->audit_target = id;
	if ((rc = decide(r, ACT_COMPLETE, followups(), "", &dec, d)) !=
	    COFFER_OK ||
	    (rc = followup_in_scope(r, &dec, id, &rec, d)) != COFFER_OK ||
	    (rc = done_fields(note, &fields, d)) != COFFER_OK)
		goto out;
	if (access_check_write(&dec, fields) != COFFER_OK) {
		rc = coffer_detail(d, COFFER_ERR_DENIED, "status", "%s",
		    dec.pd.reason);
		goto out;
	}
	if ((rc = handler_volume(r, POLICY_LIMIT_WRITE, 1, d)) != COFFER_OK)
		goto out;
	rc = wf_followup_done(r->st, id, note[0] ? note : NULL, was,
	    sizeof(was));
	if (rc == COFFER_ERR_CONFLICT) {
		rc = coffer_detail(d, rc, "id", "followup %lld is %s: only an "
		    "open follow-up can be marked done", (long long)id, was);
		goto out;
	}
	if (rc == COFFER_ERR_NOT_FOUND) {
		rc = coffer_detail(d, rc, "id", "followup %lld: no such record",
		    (long long)id);
		goto out;
	}
	if (rc != COFFER_OK)
		goto out;
	snprintf(r->audit_reason, sizeof(r->audit_reason), "followup done: "
	    "%s -> done", was);
	rc = done_result(r, id, result);
out:
	if (fields != NULL)
		cbor_decref(&fields);
	if (rec != NULL)
		cbor_decref(&rec);
	return rc;
}

/* ---- assignment ----------------------------------------------------- */

/*
 * Assignment is an update of customers' owner_id: the update grant, with
 * owner_id writable, decides it, and its scope bounds both the customers
 * and the users they may go to.
 */
static int
assign_decide(struct request *r, struct access_decision *dec,
    struct coffer_errdetail *d)
{
	cbor_item_t *f = msg_new_map();
	int rc;

	if (f == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = decide(r, ACT_UPDATE, customers(), "assigning customers",
	    dec, d)) == COFFER_OK && (rc = msg_put_int(f, "owner_id",
	    r->subject.user_id)) == COFFER_OK &&
	    access_check_write(dec, f) != COFFER_OK)
		rc = coffer_detail(d, COFFER_ERR_DENIED, "", "assigning "
		    "customers: %s", dec->pd.reason);
	cbor_decref(&f);
	return rc;
}

/*
 * The user called name, who must be within the decision's scope; with
 * owner set, also active and of a role that holds customer data.
 */
static int
scoped_user(struct request *r, const struct access_decision *dec,
    const char *key, const char *name, int owner, struct store_user *u,
    struct coffer_errdetail *d)
{
	int rc, in = 0;

	rc = store_user_get(r->st, name, u);
	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, rc, key, "%s: no such user '%s'", key,
		    name);
	if (rc != COFFER_OK)
		return rc;
	if ((rc = wf_user_in_scope(r->st, &dec->pd.scope, u->id, &in)) !=
	    COFFER_OK)
		return rc;
	if (!in)
		return coffer_detail(d, COFFER_ERR_DENIED, key, "%s is not in "
		    "your %s", name, dec->pd.scope.kind == SCOPE_OWN ?
		    "scope (only yourself)" : "team");
	if (owner && !u->active)
		return coffer_detail(d, COFFER_ERR_INVALID, key, "%s is disabled",
		    name);
	if (owner && !policy_role_has_data(r->policy, store_role_name(u->role)))
		return coffer_detail(d, COFFER_ERR_INVALID, key, "%s cannot own "
		    "customers (role %s holds no customer data)", name,
		    store_role_name(u->role));
	return COFFER_OK;
}

static int
user_arg(struct request *r, const cbor_item_t *args,
    const struct access_decision *dec, const char *key, int owner,
    struct store_user *u, struct coffer_errdetail *d)
{
	char name[65];
	int rc;

	if ((rc = args_text(args, key, name, sizeof(name), 1, d)) != COFFER_OK)
		return rc;
	return scoped_user(r, dec, key, name, owner, u, d);
}

/* args.ids: 1..WF_ASSIGN_MAX distinct customer ids. */
static int
ids_arg(const cbor_item_t *args, int64_t *ids, size_t *n,
    struct coffer_errdetail *d)
{
	const cbor_item_t *a = msg_get(args, "ids");
	size_t i, j, m;

	if (a == NULL || !cbor_isa_array(a) || (m = cbor_array_size(a)) == 0 ||
	    m > WF_ASSIGN_MAX)
		return coffer_detail(d, COFFER_ERR_INVALID, "ids", "ids: "
		    "required, 1 to %d customer ids", WF_ASSIGN_MAX);
	for (i = 0; i < m; i++) {
		if (msg_item_int(cbor_array_handle(a)[i], &ids[i]) !=
		    COFFER_OK || ids[i] <= 0)
			return coffer_detail(d, COFFER_ERR_INVALID, "ids", "ids: "
			    "each a positive integer");
		for (j = 0; j < i; j++)
			if (ids[j] == ids[i])
				return coffer_detail(d, COFFER_ERR_INVALID,
				    "ids", "ids: customer %lld is named twice",
				    (long long)ids[i]);
	}
	*n = m;
	return COFFER_OK;
}

/*
 * {"records": [{id, owner_id}...], "moved": n, ...}: the records list is
 * what the dispatcher puts into the audit record as the targets (cut at
 * WF_IDS_MAX; "moved" is the whole count).
 */
static int
moved_result(const int64_t *ids, const int64_t *owners, size_t n,
    uint64_t moved, uint64_t followups, cbor_item_t **result)
{
	cbor_item_t *res = msg_new_map(), *recs = msg_new_array(), *m;
	size_t i;
	int rc = COFFER_ERR_NOMEM;

	if (res == NULL || recs == NULL)
		goto out;
	for (i = 0; i < n && i < WF_IDS_MAX; i++) {
		if ((m = msg_new_map()) == NULL ||
		    msg_put_int(m, "id", ids[i]) != COFFER_OK ||
		    msg_put_int(m, "owner_id", owners[i]) != COFFER_OK) {
			if (m != NULL)
				cbor_decref(&m);
			goto out;
		}
		if (msg_push(recs, m) != COFFER_OK)
			goto out;
	}
	rc = msg_put(res, "records", recs);
	recs = NULL; /* taken */
	if (rc != COFFER_OK || (rc = msg_put_uint(res, "moved", moved)) !=
	    COFFER_OK || (rc = msg_put_uint(res, "followups", followups)) !=
	    COFFER_OK)
		goto out;
	*result = res;
	res = NULL;
out:
	if (recs != NULL)
		cbor_decref(&recs);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}

static int
owners_of(size_t n, int64_t owner, int64_t **out)
{
	size_t i;

	if ((*out = calloc(n ? n : 1, sizeof(**out))) == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < n; i++)
		(*out)[i] = owner;
	return COFFER_OK;
}

/* Every named customer exists, is in scope and within clearance. */
static int
check_customers(struct request *r, struct access_decision *dec,
    const int64_t *ids, size_t n, struct coffer_errdetail *d)
{
	cbor_item_t *rec = NULL;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if ((rc = customer_in_scope(r, dec, ids[i], &rec, d)) !=
		    COFFER_OK)
			return rc;
		cbor_decref(&rec);
	}
	return COFFER_OK;
}

/* customer.assign {ids, to} -> moved-result */
int
handle_customer_assign(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct access_decision dec;
	struct store_user to;
	int64_t ids[WF_ASSIGN_MAX], *owners = NULL;
	size_t n = 0, moved = 0, fu = 0;
	int rc;

	snprintf(r->audit_kind, sizeof(r->audit_kind), "customer");
	if ((rc = assign_decide(r, &dec, d)) != COFFER_OK ||
	    (rc = ids_arg(args, ids, &n, d)) != COFFER_OK ||
	    (rc = user_arg(r, args, &dec, "to", 1, &to, d)) != COFFER_OK ||
	    (rc = check_customers(r, &dec, ids, n, d)) != COFFER_OK ||
	    (rc = handler_volume(r, POLICY_LIMIT_WRITE, 1, d)) != COFFER_OK ||
	    (rc = wf_move(r->st, ids, n, to.id, &moved, &fu)) != COFFER_OK ||
	    (rc = owners_of(n, to.id, &owners)) != COFFER_OK)
		goto out;
	snprintf(r->audit_reason, sizeof(r->audit_reason), "assigned %zu "
	    "customers to %.32s (%zu already theirs); %zu follow-ups moved",
	    moved, to.name, n - moved, fu);
	rc = moved_result(ids, owners, n, moved, fu, result);
out:
	free(owners);
	return rc;
}

/* args.agents: 1..AGENTS_MAX distinct names of owners in scope. */
static int
agents_arg(struct request *r, const cbor_item_t *args,
    const struct access_decision *dec, struct store_user *u, size_t *n,
    struct coffer_errdetail *d)
{
	const cbor_item_t *a = msg_get(args, "agents");
	char name[65];
	size_t i, j, m;
	int rc;

	if (a == NULL || !cbor_isa_array(a) || (m = cbor_array_size(a)) == 0 ||
	    m > AGENTS_MAX)
		return coffer_detail(d, COFFER_ERR_INVALID, "agents", "agents: "
		    "required, 1 to %d user names", AGENTS_MAX);
	for (i = 0; i < m; i++) {
		if (msg_item_str(cbor_array_handle(a)[i], name, sizeof(name)) !=
		    COFFER_OK || name[0] == '\0')
			return coffer_detail(d, COFFER_ERR_INVALID, "agents",
			    "agents: each a user name");
		if ((rc = scoped_user(r, dec, "agents", name, 1, &u[i], d)) !=
		    COFFER_OK)
			return rc;
		for (j = 0; j < i; j++)
			if (u[j].id == u[i].id)
				return coffer_detail(d, COFFER_ERR_INVALID,
				    "agents", "agents: %s is named twice", name);
	}
	*n = m;
	return COFFER_OK;
}

static int
count_arg(const cbor_item_t *args, size_t *count, struct coffer_errdetail *d)
{
	uint64_t v;

	if (msg_get_uint(args, "count", &v) != COFFER_OK || v == 0 ||
	    v > WF_POOL_MAX)
		return coffer_detail(d, COFFER_ERR_INVALID, "count", "count: "
		    "required, 1 to %d", WF_POOL_MAX);
	*count = (size_t)v;
	return COFFER_OK;
}

/*
 * Deal the pool out in turn: ids[i] goes to agent i mod nagents.  Each
 * agent's share is moved with one wf_move over a strided copy.
 */
static int
deal_round_robin(struct request *r, const int64_t *ids, size_t n,
    const struct store_user *agents, size_t nagents, int64_t *owners,
    size_t *per, size_t *fu)
{
	int64_t *share = NULL;
	size_t a, i, k, moved, f;
	int rc = COFFER_OK;

	*fu = 0;
	if (n == 0)
		return COFFER_OK;
	if ((share = calloc(n, sizeof(*share))) == NULL)
		return COFFER_ERR_NOMEM;
	for (a = 0; a < nagents && rc == COFFER_OK; a++) {
		for (i = a, k = 0; i < n; i += nagents) {
			share[k++] = ids[i];
			owners[i] = agents[a].id;
		}
		rc = wf_move(r->st, share, k, agents[a].id, &moved, &f);
		per[a] = moved;
		*fu += f;
	}
	free(share);
	return rc;
}

/* "agents": [{name, count}] into res. */
static int
put_shares(cbor_item_t *res, const struct store_user *agents,
    const size_t *per, size_t nagents)
{
	cbor_item_t *arr = msg_new_array(), *m;
	size_t i;

	if (arr == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < nagents; i++) {
		if ((m = msg_new_map()) == NULL)
			goto fail;
		if (msg_put_str(m, "name", agents[i].name) != COFFER_OK ||
		    msg_put_uint(m, "count", per[i]) != COFFER_OK) {
			cbor_decref(&m);
			goto fail;
		}
		if (msg_push(arr, m) != COFFER_OK)	/* takes m */
			goto fail;
	}
	return msg_put(res, "agents", arr);
fail:
	cbor_decref(&arr);
	return COFFER_ERR_NOMEM;
}

/* customer.distribute {agents, count, ? list} -> moved-result + agents */
int
handle_customer_distribute(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct access_decision dec;
	struct store_user *agents = NULL;
	int64_t *ids = NULL, *owners = NULL;
	size_t nagents = 0, count = 0, n = 0, fu = 0, moved = 0, i;
	size_t per[AGENTS_MAX];
	char list[101];
	int rc, have_list;

	snprintf(r->audit_kind, sizeof(r->audit_kind), "customer");
	have_list = msg_get(args, "list") != NULL;
	if ((rc = assign_decide(r, &dec, d)) != COFFER_OK ||
	    (rc = count_arg(args, &count, d)) != COFFER_OK ||
	    (rc = args_text(args, "list", list, sizeof(list), have_list, d)) !=
	    COFFER_OK)
		return rc;
	rc = COFFER_ERR_NOMEM;
	if ((agents = calloc(AGENTS_MAX, sizeof(*agents))) == NULL ||
	    (ids = calloc(count, sizeof(*ids))) == NULL ||
	    (owners = calloc(count, sizeof(*owners))) == NULL)
		goto out;
	memset(per, 0, sizeof(per));
	if ((rc = agents_arg(r, args, &dec, agents, &nagents, d)) !=
	    COFFER_OK ||
	    (rc = handler_volume(r, POLICY_LIMIT_WRITE, 1, d)) != COFFER_OK ||
	    (rc = wf_pool(r->st, r->subject.user_id, dec.pd.scope.kind ==
	    SCOPE_ALL, have_list ? list : NULL, access_label_allow(r->policy,
	    dec.pd.clearance), ids, count, &n)) != COFFER_OK ||
	    (rc = deal_round_robin(r, ids, n, agents, nagents, owners, per,
	    &fu)) != COFFER_OK)
		goto out;
	for (i = 0; i < nagents; i++)
		moved += per[i];
	snprintf(r->audit_reason, sizeof(r->audit_reason), "distributed %zu "
	    "pool customers round-robin to %zu agents (%zu asked); %zu "
	    "follow-ups moved", moved, nagents, count, fu);
	if ((rc = moved_result(ids, owners, n, moved, fu, result)) ==
	    COFFER_OK && (rc = put_shares(*result, agents, per, nagents)) !=
	    COFFER_OK) {
		cbor_decref(result);
		*result = NULL;
	}
out:
	free(agents);
	free(ids);
	free(owners);
	return rc;
}

/* customer.transfer {from, to} -> moved-result */
int
handle_customer_transfer(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct access_decision dec;
	struct store_user from, to;
	int64_t *ids = NULL, *owners = NULL;
	uint64_t total = 0, above = 0, moved = 0, fu = 0;
	size_t nids = 0;
	int rc;

	snprintf(r->audit_kind, sizeof(r->audit_kind), "customer");
	if ((rc = assign_decide(r, &dec, d)) != COFFER_OK ||
	    (rc = user_arg(r, args, &dec, "from", 0, &from, d)) != COFFER_OK ||
	    (rc = user_arg(r, args, &dec, "to", 1, &to, d)) != COFFER_OK)
		return rc;
	if (from.id == to.id)
		return coffer_detail(d, COFFER_ERR_INVALID, "to", "to: the same "
		    "user as from");
	if ((rc = wf_owned_count(r->st, from.id, access_label_allow(r->policy,
	    dec.pd.clearance), &total, &above)) != COFFER_OK)
		return rc;
	if (above > 0)
		return coffer_detail(d, COFFER_ERR_DENIED, "from", "%llu of %s's "
		    "customers are labelled above your clearance",
		    (unsigned long long)above, from.name);
	rc = COFFER_ERR_NOMEM;
	if ((ids = calloc(WF_IDS_MAX, sizeof(*ids))) == NULL)
		goto out;
	if ((rc = handler_volume(r, POLICY_LIMIT_WRITE, 1, d)) != COFFER_OK ||
	    (rc = wf_transfer(r->st, from.id, to.id, ids, WF_IDS_MAX, &nids,
	    &moved, &fu)) != COFFER_OK ||
	    (rc = owners_of(nids, to.id, &owners)) != COFFER_OK)
		goto out;
	snprintf(r->audit_reason, sizeof(r->audit_reason), "transferred %llu "
	    "customers from %.32s to %.32s (%zu ids listed); %llu follow-ups moved",
	    (unsigned long long)moved, from.name, to.name, nids,
	    (unsigned long long)fu);
	rc = moved_result(ids, owners, nids, moved, fu, result);
out:
	free(ids);
	free(owners);
	return rc;
}

/* ---- the agent's day ------------------------------------------------ */

/* The customer's today fields as the list decision shows them. */
static int
present_customer(struct request *r, struct access_decision *dec,
    int64_t id, struct access_seen *seen, cbor_item_t **out)
{
	cbor_item_t *rec = NULL, *brief = NULL;
	const cbor_item_t *v;
	struct coffer_errdetail ignore;
	size_t i;
	int rc;

	if ((rc = customer_in_scope(r, dec, id, &rec, &ignore)) != COFFER_OK)
		return rc;
	rc = COFFER_ERR_NOMEM;
	if ((brief = msg_new_map()) == NULL)
		goto out;
	for (i = 0; today_fields[i] != NULL; i++)
		if ((v = msg_get(rec, today_fields[i])) != NULL &&
		    msg_put(brief, today_fields[i],
		    cbor_incref((cbor_item_t *)v)) != COFFER_OK)
			goto out;
	rc = access_present(dec, brief, out, seen);
out:
	if (brief != NULL)
		cbor_decref(&brief);
	cbor_decref(&rec);
	return rc;
}

/* {id, customer, task, what, ? followup, ? due} */
static int
task_item(const struct wf_task *t, cbor_item_t *cust, cbor_item_t **out)
{
	cbor_item_t *m = msg_new_map();

	if (m == NULL) {
		cbor_decref(&cust);
		return COFFER_ERR_NOMEM;
	}
	if (msg_put(m, "customer", cust) != COFFER_OK ||
	    msg_put_int(m, "id", t->customer_id) != COFFER_OK ||
	    msg_put_str(m, "task", t->kind == WF_TASK_FOLLOWUP ? "followup" :
	    "lead") != COFFER_OK ||
	    msg_put_str(m, "what", t->what) != COFFER_OK ||
	    (t->kind == WF_TASK_FOLLOWUP &&
	    (msg_put_int(m, "followup", t->followup_id) != COFFER_OK ||
	    msg_put_int(m, "due", t->due) != COFFER_OK))) {
		cbor_decref(&m);
		return COFFER_ERR_NOMEM;
	}
	*out = m;
	return COFFER_OK;
}

/* Each task with its customer presented; a row gone since is skipped. */
static int
today_items(struct request *r, struct access_decision *dec,
    const struct wf_task *t, size_t n, struct access_seen *seen,
    cbor_item_t *recs)
{
	cbor_item_t *cust = NULL, *item = NULL;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = present_customer(r, dec, t[i].customer_id, seen, &cust);
		if (rc == COFFER_ERR_NOT_FOUND || rc == COFFER_ERR_DENIED)
			continue;
		if (rc != COFFER_OK ||
		    (rc = task_item(&t[i], cust, &item)) != COFFER_OK ||
		    (rc = msg_push(recs, item)) != COFFER_OK)
			return rc;
	}
	return COFFER_OK;
}

static int
today_args(const cbor_item_t *args, size_t *limit, int64_t *until,
    int64_t now, struct coffer_errdetail *d)
{
	uint64_t v;
	int rc;

	*limit = TODAY_DEFAULT;
	*until = now;
	rc = msg_get_uint(args, "limit", &v);
	if (rc == COFFER_OK && v >= 1 && v <= WF_TODAY_MAX)
		*limit = (size_t)v;
	else if (rc != COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, "limit", "limit: "
		    "between 1 and %d", WF_TODAY_MAX);
	rc = msg_get_uint(args, "until", &v);
	if (rc == COFFER_OK && v <= (uint64_t)INT64_MAX)
		*until = (int64_t)v;
	else if (rc != COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, "until", "until: "
		    "Unix seconds");
	return COFFER_OK;
}

/* Whose day: the caller's, or args.agent's if within the list scope. */
static int
today_agent(struct request *r, const cbor_item_t *args,
    const struct access_decision *dec, struct store_user *u,
    struct coffer_errdetail *d)
{
	int rc;

	if (msg_get(args, "agent") != NULL)
		return user_arg(r, args, dec, "agent", 0, u, d);
	rc = store_user_get_id(r->st, r->subject.user_id, u);
	return rc == COFFER_ERR_NOT_FOUND ? COFFER_ERR_DENIED : rc;
}

static int
today_result(cbor_item_t *recs, const struct access_decision *dec,
    const struct access_seen *seen, const char *agent, uint64_t nf,
    uint64_t nl, int64_t now, int64_t until, cbor_item_t **result)
{
	cbor_item_t *res = msg_new_map();

	if (res == NULL) {
		cbor_decref(&recs);
		return COFFER_ERR_NOMEM;
	}
	if (msg_put(res, "records", recs) != COFFER_OK ||
	    msg_put_str(res, "agent", agent) != COFFER_OK ||
	    msg_put_uint(res, "followups", nf) != COFFER_OK ||
	    msg_put_uint(res, "leads", nl) != COFFER_OK ||
	    msg_put_uint(res, "total", nf + nl) != COFFER_OK ||
	    msg_put_int(res, "now", now) != COFFER_OK ||
	    msg_put_int(res, "until", until) != COFFER_OK ||
	    access_put_seen(dec, seen, res) != COFFER_OK) {
		cbor_decref(&res);
		return COFFER_ERR_NOMEM;
	}
	*result = res;
	return COFFER_OK;
}

/*
 * workflow.today {? agent, ? limit, ? until} -> {records, agent,
 * followups, leads, total, now, until, treated}.  Needs list on customers
 * and on follow-ups; counted against the list limit like a list.
 */
int
handle_workflow_today(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct access_decision dec, fdec;
	struct access_seen seen;
	struct store_user agent;
	struct wf_task *tasks = NULL;
	cbor_item_t *recs = NULL;
	int64_t now = (int64_t)time(NULL), until = 0;
	uint64_t nf = 0, nl = 0;
	size_t limit = 0, n = 0;
	int rc;

	snprintf(r->audit_kind, sizeof(r->audit_kind), "customer");
	memset(&seen, 0, sizeof(seen));
	if ((rc = today_args(args, &limit, &until, now, d)) != COFFER_OK ||
	    (rc = decide(r, ACT_LIST, customers(), "", &dec, d)) != COFFER_OK ||
	    (rc = decide(r, ACT_LIST, schema_kind("followup"), "", &fdec, d)) !=
	    COFFER_OK ||
	    (rc = today_agent(r, args, &dec, &agent, d)) != COFFER_OK)
		return rc;
	rc = COFFER_ERR_NOMEM;
	if ((tasks = calloc(limit, sizeof(*tasks))) == NULL ||
	    (recs = msg_new_array()) == NULL)
		goto out;
	if ((rc = wf_today(r->st, agent.id, until, dec.pd.scope.label_allow,
	    tasks, limit, &n, &nf, &nl)) != COFFER_OK ||
	    (rc = handler_volume(r, POLICY_LIMIT_LIST, (uint32_t)n, d)) !=
	    COFFER_OK ||
	    (rc = today_items(r, &dec, tasks, n, &seen, recs)) != COFFER_OK)
		goto out;
	rc = today_result(recs, &dec, &seen, agent.name, nf, nl, now, until,
	    result);
	recs = NULL; /* taken */
out:
	if (recs != NULL)
		cbor_decref(&recs);
	free(tasks);
	return rc;
}
