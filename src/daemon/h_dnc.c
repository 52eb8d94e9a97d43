/*
 * h_dnc.c - the do-not-call list (docs/dnc.md): anyone who works with
 * customers lists a number at once, a removal is asked for by one person
 * and decided by a manager who is someone else; managers and compliance
 * see the list, masked as the policy masks customers.phone for them; any
 * user may ask whether one number is listed.  The store side is dnc.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coffer/args.h"
#include "coffer/dnc.h"
#include "coffer/handlers.h"
#include "coffer/mask.h"
#include "coffer/msg.h"
#include "coffer/schema.h"

#define DNC_LIST_DEFAULT 100
#define DNC_LIST_MAX 500
#define FLAG_IDS 8             /* customer ids named in an audit reason */
#define MASKED_MAX 40          /* a masked normalised number (<= 16 bytes) */

static const struct kind_def *
customers(void)
{
	return schema_kind("customer");
}

/* args.phone, normalised; the refusal never repeats the number. */
static int
phone_arg(const cbor_item_t *args, char *phone, size_t sz,
    struct coffer_errdetail *d)
{
	char raw[64];
	int rc;

	if ((rc = args_text(args, "phone", raw, sizeof(raw), 1, d)) !=
	    COFFER_OK)
		return rc;
	if (dnc_normalize(raw, phone, sz) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_INVALID, "phone", "phone: "
		    "not a valid phone number");
	return COFFER_OK;
}

/* The masked form of a normalised number, for audit reasons and logs. */
static void
masked(const char *phone, char *out, size_t sz)
{
	if (mask_phone(phone, strlen(phone), out, sz) != COFFER_OK)
		snprintf(out, sz, "***");
}

/*
 * Listing a number, or asking for its removal: any role holding customer
 * data (agents and managers by default).  Compliance and administration
 * hold other duties and no customer data (docs/policy.md §2.5).
 */
static int
may_list_number(struct request *r, struct coffer_errdetail *d)
{
	if (policy_role_has_data(r->policy, r->subject.role_name))
		return COFFER_OK;
	return coffer_detail(d, COFFER_ERR_DENIED, "", "your role (%s) holds "
	    "no customer data: the do-not-call list is kept by the people who "
	    "talk to customers", r->subject.role_name);
}

/* Deciding a removal: update on customers beyond one's own (managers). */
static int
may_decide(struct request *r, struct coffer_errdetail *d)
{
	struct access_decision dec;

	if (access_decide(r->policy, &r->subject, ACT_UPDATE, customers(),
	    &dec) != COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "%s",
		    dec.pd.reason);
	if (dec.pd.scope.kind == SCOPE_OWN)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "deciding a "
		    "do-not-call removal needs update on customers beyond your "
		    "own (managers)");
	return COFFER_OK;
}

/* "ids 4, 9, 12" (at most FLAG_IDS, then "...") */
static void
ids_text(const int64_t *ids, size_t n, uint64_t total, char *out, size_t sz)
{
	size_t i, len = 0;
	int w;

	out[0] = '\0';
	for (i = 0; i < n && len < sz; i++) {
		w = snprintf(out + len, sz - len, "%s%lld", i ? ", " : "ids ",
		    (long long)ids[i]);
		if (w < 0)
			return;
		len += (size_t)w;
	}
	if (total > n && len < sz)
		snprintf(out + len, sz - len, ", ...");
}

/*
 * dnc.add {phone, reason} -> {phone, already, flagged}: on the list at
 * once, and every live customer with the number flagged do_not_call in
 * the same transaction (a system consequence of the list, not an edit of
 * recorded data; docs/dnc.md).  The audit reason names the customers.
 */
int
handle_dnc_add(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	char phone[DNC_PHONE_MAX], reason[DNC_REASON_MAX + 1], m[MASKED_MAX];
	char ids[96];
	int64_t flagged[FLAG_IDS], now = (int64_t)time(NULL);
	uint64_t total = 0;
	size_t n = 0;
	int rc, already = 0;

	if ((rc = may_list_number(r, d)) != COFFER_OK ||
	    (rc = phone_arg(args, phone, sizeof(phone), d)) != COFFER_OK ||
	    (rc = args_text(args, "reason", reason, sizeof(reason), 1, d)) !=
	    COFFER_OK ||
	    (rc = handler_volume(r, POLICY_LIMIT_WRITE, 1, d)) != COFFER_OK)
		return rc;
	if ((rc = dnc_add(r->st, phone, reason, r->subject.user_id, now,
	    &already)) != COFFER_OK ||
	    (rc = dnc_flag_customers(r->st, phone, now, flagged, FLAG_IDS, &n,
	    &total)) != COFFER_OK)
		return rc;
	masked(phone, m, sizeof(m));
	ids_text(flagged, n, total, ids, sizeof(ids));
	if (total > 0)
		snprintf(r->audit_kind, sizeof(r->audit_kind), "customer");
	snprintf(r->audit_reason, sizeof(r->audit_reason), "%s %s; %llu "
	    "customer%s flagged do-not-call%s%s%s", m, already ? "was already "
	    "listed" : "listed", (unsigned long long)total, total == 1 ? "" :
	    "s", total ? " (" : "", ids, total ? ")" : "");
	if ((*result = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = msg_put_str(*result, "phone", phone)) != COFFER_OK ||
	    (rc = msg_put_bool(*result, "already", already)) != COFFER_OK)
		return rc;
	return msg_put_uint(*result, "flagged", total);
}

/*
 * dnc.remove {phone, reason} -> {phone, pending: true}: a request a
 * manager decides; the number stays listed meanwhile.  Audited as
 * "pending".
 */
int
handle_dnc_remove(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	char phone[DNC_PHONE_MAX], reason[DNC_REASON_MAX + 1], m[MASKED_MAX];
	int rc;

	if ((rc = may_list_number(r, d)) != COFFER_OK ||
	    (rc = phone_arg(args, phone, sizeof(phone), d)) != COFFER_OK ||
	    (rc = args_text(args, "reason", reason, sizeof(reason), 1, d)) !=
	    COFFER_OK ||
	    (rc = handler_volume(r, POLICY_LIMIT_WRITE, 1, d)) != COFFER_OK)
		return rc;
	masked(phone, m, sizeof(m));
	rc = dnc_request_removal(r->st, phone, reason, r->subject.user_id,
	    (int64_t)time(NULL));
	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, rc, "phone", "%s is not on the "
		    "do-not-call list", m);
	if (rc == COFFER_ERR_CONFLICT)
		return coffer_detail(d, rc, "phone", "a removal of %s is "
		    "already waiting for approval", m);
	if (rc != COFFER_OK)
		return rc;
	r->audit_pending = 1;
	snprintf(r->audit_reason, sizeof(r->audit_reason), "removal of %s "
	    "asked for; a manager decides", m);
	if ((*result = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = msg_put_str(*result, "phone", phone)) != COFFER_OK)
		return rc;
	return msg_put_bool(*result, "pending", 1);
}

/* approve / reject share everything but the verdict. */
static int
decide_removal(struct request *r, const cbor_item_t *args, int approve,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	char phone[DNC_PHONE_MAX], comment[DNC_REASON_MAX + 1], m[MASKED_MAX];
	int rc;

	if ((rc = phone_arg(args, phone, sizeof(phone), d)) != COFFER_OK ||
	    (rc = args_text(args, "comment", comment, sizeof(comment), 0, d)) !=
	    COFFER_OK || (rc = may_decide(r, d)) != COFFER_OK)
		return rc;
	masked(phone, m, sizeof(m));
	rc = dnc_decide_removal(r->st, phone, approve, comment,
	    r->subject.user_id, (int64_t)time(NULL));
	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, rc, "phone", "%s is not on the "
		    "do-not-call list", m);
	if (rc == COFFER_ERR_CONFLICT)
		return coffer_detail(d, rc, "phone", "no removal of %s is "
		    "waiting for approval", m);
	if (rc == COFFER_ERR_DENIED)
		return coffer_detail(d, rc, "phone", "you asked for the removal "
		    "of %s: someone else must decide it", m);
	if (rc != COFFER_OK)
		return rc;
	snprintf(r->audit_reason, sizeof(r->audit_reason), "removal of %s %s",
	    m, approve ? "approved: the number is no longer listed" :
	    "rejected: the number stays listed");
	if ((*result = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = msg_put_str(*result, "phone", phone)) != COFFER_OK)
		return rc;
	return msg_put_bool(*result, "removed", approve);
}

int
handle_dnc_approve(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	return decide_removal(r, args, 1, result, d);
}

int
handle_dnc_reject(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	return decide_removal(r, args, 0, result, d);
}

/* How the caller sees the numbers of the list. */
struct lister {
	struct access_decision dec;
	int by_policy;       /* 1: dec (LIST of customers) masks phone */
	cbor_item_t *arr;
};

/* 1 if the caller's LIST decision shows customers.phone in full. */
static int
phone_full(const struct lister *ls)
{
	const struct field_def *f = schema_field(customers(), "phone");

	return ls->by_policy && f != NULL &&
	    ls->dec.pd.fields[f - customers()->fields] == POLICY_SHOW;
}

/* The number as the caller's LIST decision shows customers.phone. */
static int
shown_phone(const struct lister *ls, const char *phone, cbor_item_t *entry)
{
	char out[MASK_OUT_MAX];
	cbor_item_t *in = NULL, *shown = NULL;
	const cbor_item_t *v;
	int rc, full = 0;

	if (ls->by_policy) {
		if ((in = msg_new_map()) == NULL)
			return COFFER_ERR_NOMEM;
		if ((rc = msg_put_str(in, "phone", phone)) != COFFER_OK ||
		    (rc = access_present(&ls->dec, in, &shown, NULL)) !=
		    COFFER_OK)
			goto out;
		full = phone_full(ls);
		v = msg_get(shown, "phone");
		if (v == NULL || !cbor_isa_string(v) ||
		    msg_item_str(v, out, sizeof(out)) != COFFER_OK)
			mask_text(out, sizeof(out)); /* omitted: still hidden */
	} else
		masked(phone, out, sizeof(out));
	if ((rc = msg_put_str(entry, "phone", out)) == COFFER_OK)
		rc = msg_put_bool(entry, "masked", !full);
out:
	if (in != NULL)
		cbor_decref(&in);
	if (shown != NULL)
		cbor_decref(&shown);
	return rc;
}

static int
add_entry(void *arg, const struct dnc_entry *e)
{
	struct lister *ls = arg;
	cbor_item_t *m = msg_new_map();
	int rc;

	if (m == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = shown_phone(ls, e->phone, m)) != COFFER_OK ||
	    (rc = msg_put_str(m, "reason", e->reason)) != COFFER_OK ||
	    (rc = msg_put_str(m, "added_by", e->added_by_name)) != COFFER_OK ||
	    (rc = msg_put_int(m, "added", e->added)) != COFFER_OK)
		goto fail;
	if (e->pending &&
	    ((rc = msg_put_str(m, "remove_by", e->remove_by_name)) != COFFER_OK ||
	    (rc = msg_put_str(m, "remove_reason", e->remove_reason)) !=
	    COFFER_OK ||
	    (rc = msg_put_int(m, "remove_asked", e->remove_asked)) != COFFER_OK))
		goto fail;
	return msg_push(ls->arr, m);
fail:
	cbor_decref(&m);
	return rc;
}

/*
 * Who sees the list: a role that lists customers beyond its own (a
 * manager: numbers as its LIST decision shows customers.phone), or one
 * that reads the audit trail (compliance: always masked, it holds no
 * customer data).  Agents ask about one number with dnc.check.
 */
static int
may_see_list(struct request *r, struct lister *ls, struct coffer_errdetail *d)
{
	struct access_decision au;

	if (access_decide(r->policy, &r->subject, ACT_LIST, customers(),
	    &ls->dec) == COFFER_OK && ls->dec.pd.scope.kind != SCOPE_OWN &&
	    ls->dec.pd.fields != NULL && ls->dec.pd.formats != NULL) {
		ls->by_policy = 1;
		return COFFER_OK;
	}
	if (access_decide(r->policy, &r->subject, ACT_AUDIT_READ, NULL, &au) ==
	    COFFER_OK)
		return COFFER_OK;
	return coffer_detail(d, COFFER_ERR_DENIED, "", "the do-not-call list "
	    "is for managers and compliance; 'coffer dnc check PHONE' tells "
	    "whether one number is on it");
}

static int
list_page(const cbor_item_t *args, size_t *limit, size_t *offset,
    struct coffer_errdetail *d)
{
	uint64_t v;
	int rc;

	*limit = DNC_LIST_DEFAULT;
	*offset = 0;
	if ((rc = msg_get_uint(args, "limit", &v)) == COFFER_OK) {
		if (v == 0 || v > DNC_LIST_MAX)
			return coffer_detail(d, COFFER_ERR_INVALID, "limit",
			    "limit: must be between 1 and %d", DNC_LIST_MAX);
		*limit = (size_t)v;
	} else if (rc != COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, "limit",
		    "limit: must be an unsigned integer");
	if ((rc = msg_get_uint(args, "offset", &v)) == COFFER_OK &&
	    v <= 100000000)
		*offset = (size_t)v;
	else if (rc != COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, "offset",
		    "offset: must be an unsigned integer up to 100000000");
	return COFFER_OK;
}

/*
 * dnc.list {? pending, ? limit, ? offset} -> {entries, total, offset}.
 * The entries count against the caller's list limit: they are phone
 * numbers, personal data like a customer list.
 */
int
handle_dnc_list(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct lister ls;
	size_t limit, offset;
	uint64_t total = 0;
	int rc, pending = 0;

	memset(&ls, 0, sizeof(ls));
	(void)msg_get_bool(args, "pending", &pending);
	if ((rc = may_see_list(r, &ls, d)) != COFFER_OK ||
	    (rc = list_page(args, &limit, &offset, d)) != COFFER_OK)
		return rc;
	if ((ls.arr = msg_new_array()) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = dnc_list(r->st, pending, limit, offset, add_entry, &ls,
	    &total)) != COFFER_OK ||
	    (rc = handler_volume(r, POLICY_LIMIT_LIST,
	    (uint32_t)cbor_array_size(ls.arr), d)) != COFFER_OK)
		goto fail;
	snprintf(r->audit_reason, sizeof(r->audit_reason), "%zu of %llu "
	    "%snumbers, %s", cbor_array_size(ls.arr),
	    (unsigned long long)total, pending ? "pending " : "",
	    phone_full(&ls) ? "in full" : "masked");
	if ((*result = msg_new_map()) == NULL) {
		rc = COFFER_ERR_NOMEM;
		goto fail;
	}
	if ((rc = msg_put(*result, "entries", ls.arr)) != COFFER_OK) {
		ls.arr = NULL;
		return rc;
	}
	if ((rc = msg_put_uint(*result, "total", total)) != COFFER_OK)
		return rc;
	return msg_put_uint(*result, "offset", offset);
fail:
	if (ls.arr != NULL)
		cbor_decref(&ls.arr);
	return rc;
}

/*
 * dnc.check {phone} -> {listed}: any user, nothing but yes or no.  One
 * count against the read limit, so the list cannot be read out number by
 * number faster than records can.
 */
int
handle_dnc_check(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	char phone[DNC_PHONE_MAX], m[MASKED_MAX];
	int rc, listed = 0;

	if ((rc = phone_arg(args, phone, sizeof(phone), d)) != COFFER_OK ||
	    (rc = handler_volume(r, POLICY_LIMIT_READ, 1, d)) != COFFER_OK ||
	    (rc = dnc_contains(r->st, phone, &listed)) != COFFER_OK)
		return rc;
	masked(phone, m, sizeof(m));
	snprintf(r->audit_reason, sizeof(r->audit_reason), "%s: %s", m,
	    listed ? "listed" : "not listed");
	if ((*result = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	return msg_put_bool(*result, "listed", listed);
}
