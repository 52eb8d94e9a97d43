/*
 * h_import.c - lead lists in (docs/import.md §6): the client parses the
 * CSV file (untrusted bytes stay out of the key-holding daemon) and sends
 * customer maps in batches; the daemon validates each again, stages them
 * on the session's own connection, checks them against the vault and
 * inserts them all in one audited transaction, or none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/dnc.h"
#include "coffer/handlers.h"
#include "coffer/msg.h"
#include "coffer/schema.h"
#include "coffer/staging.h"

#define IMPORT_BATCH_MAX 2000    /* rows per import.rows request */
#define IMPORT_REJECTS_MAX 1000  /* rejected rows listed in an answer */
#define IMPORT_IDS_MAX 4096      /* new ids listed (the audit record's) */

/*
 * Importing is creating customers for others: the create grant, with a
 * scope beyond one's own (managers, by the default policy).
 */
static int
may_import(struct request *r, struct access_decision *dec,
    struct coffer_errdetail *d)
{
	const struct kind_def *k = schema_kind("customer");

	if (access_decide(r->policy, &r->subject, ACT_CREATE, k, dec) !=
	    COFFER_OK)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "%s",
		    dec->pd.reason);
	if (dec->pd.scope.kind == SCOPE_OWN)
		return coffer_detail(d, COFFER_ERR_DENIED, "", "importing a "
		    "lead list needs create on customers for a team or for "
		    "all (managers); your role creates its own customers only");
	return COFFER_OK;
}

int
handle_import_begin(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct access_decision dec;
	int rc;

	(void)args;
	if ((rc = may_import(r, &dec, d)) != COFFER_OK)
		return rc;
	if ((rc = staging_reset(r->st)) != COFFER_OK)
		return rc;
	snprintf(r->audit_kind, sizeof(r->audit_kind), "customer");
	snprintf(r->audit_reason, sizeof(r->audit_reason), "a new import");
	if ((*result = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	return msg_put_uint(*result, "batch", IMPORT_BATCH_MAX);
}

/* Validate one {line, fields} row and stage it, good or rejected. */
static int
stage_row(struct request *r, const struct kind_def *k, const cbor_item_t *row,
    size_t *rejected, struct coffer_errdetail *d)
{
	const cbor_item_t *fields = msg_get(row, "fields");
	struct coffer_errdetail why = { "", "" };
	unsigned char *enc = NULL;
	char raw[64], phone[64] = "";
	const char *reason = NULL;
	size_t len = 0;
	int64_t line;
	int rc;

	if (msg_get_int(row, "line", &line) != COFFER_OK || line < 1 ||
	    fields == NULL || !cbor_isa_map(fields))
		return coffer_detail(d, COFFER_ERR_INVALID, "rows", "rows: each "
		    "row is {line: positive integer, fields: map}");
	if (schema_validate(k, fields, 1, &why) != COFFER_OK)
		reason = why.message[0] != '\0' ? why.message : "invalid";
	else if (msg_get_str(fields, "phone", raw, sizeof(raw)) != COFFER_OK ||
	    schema_normalize_phone(raw, phone, sizeof(phone)) != COFFER_OK)
		reason = "phone: not a valid phone number";
	if ((rc = msg_encode(fields, &enc, &len)) != COFFER_OK)
		return rc;
	rc = staging_add(r->st, line, reason == NULL ? phone : "", enc, len,
	    reason);
	free(enc);
	if (rc == COFFER_ERR_INVALID)
		return coffer_detail(d, rc, "rows", "line %lld was sent twice",
		    (long long)line);
	if (reason != NULL)
		(*rejected)++;
	return rc;
}

int
handle_import_rows(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	const struct kind_def *k = schema_kind("customer");
	const cbor_item_t *rows = msg_get(args, "rows");
	struct access_decision dec;
	size_t i, n, rejected = 0, total, good, bad;
	int rc;

	if ((rc = may_import(r, &dec, d)) != COFFER_OK)
		return rc;
	if (rows == NULL || !cbor_isa_array(rows) ||
	    (n = cbor_array_size(rows)) == 0 || n > IMPORT_BATCH_MAX)
		return coffer_detail(d, COFFER_ERR_INVALID, "rows", "rows: an "
		    "array of 1 to %d rows", IMPORT_BATCH_MAX);
	if ((rc = staging_reset_if_absent(r->st)) != COFFER_OK ||
	    (rc = staging_counts(r->st, &total, &good, &bad)) != COFFER_OK)
		return rc;
	if (total + n > STAGING_MAX_ROWS)
		return coffer_detail(d, COFFER_ERR_TOO_BIG, "rows", "an import "
		    "holds at most %d rows", STAGING_MAX_ROWS);
	for (i = 0; i < n; i++)
		if ((rc = stage_row(r, k, cbor_array_handle(rows)[i], &rejected,
		    d)) != COFFER_OK)
			return rc;
	snprintf(r->audit_kind, sizeof(r->audit_kind), "customer");
	snprintf(r->audit_reason, sizeof(r->audit_reason), "staged %zu rows, "
	    "%zu rejected", n, rejected);
	if ((*result = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = msg_put_uint(*result, "staged", n)) != COFFER_OK)
		return rc;
	return msg_put_uint(*result, "rejected", rejected);
}

/* {line, status, reason} into the answer's "rejected" array. */
static int
add_reject(void *arg, int64_t line, const char *status, const char *reason)
{
	cbor_item_t *m = msg_new_map();
	int rc = COFFER_ERR_NOMEM;

	if (m != NULL && (rc = msg_put_int(m, "line", line)) == COFFER_OK &&
	    (rc = msg_put_str(m, "status", status)) == COFFER_OK &&
	    (rc = msg_put_str(m, "reason", reason)) == COFFER_OK)
		return msg_push(arg, m);
	if (m != NULL)
		cbor_decref(&m);
	return rc;
}

struct inserter {
	struct request *r;
	struct access_decision *dec;
	const struct kind_def *k;
	cbor_item_t *ids;          /* the first IMPORT_IDS_MAX, as {id} */
	size_t done;
	int64_t first, last;
	struct coffer_errdetail *d;
	/* the do-not-call list, consulted inside the commit's transaction */
	struct dnc_lookup *dnc;
	cbor_item_t *excluded;     /* the first IMPORT_REJECTS_MAX lines */
	size_t nexcluded;
	int dry;                   /* check only: nothing is inserted */
};

/*
 * A row whose number is on the do-not-call list comes in excluded
 * (docs/dnc.md): a copy of fields with stage "excluded", do_not_call
 * true and the reason, the client's values for those three replaced.
 */
static int
excluded_fields(const cbor_item_t *fields, cbor_item_t **out)
{
	struct cbor_pair *p = cbor_map_handle(fields);
	size_t i, n = cbor_map_size(fields);
	cbor_item_t *m = msg_new_map();
	char name[64];
	int rc = COFFER_ERR_NOMEM;

	if (m == NULL)
		return rc;
	for (i = 0; i < n; i++) {
		if (msg_item_str(p[i].key, name, sizeof(name)) != COFFER_OK ||
		    strcmp(name, "stage") == 0 ||
		    strcmp(name, "do_not_call") == 0 ||
		    strcmp(name, "exclude_reason") == 0)
			continue;
		if ((rc = msg_put(m, name, cbor_incref(p[i].value))) !=
		    COFFER_OK)
			goto fail;
	}
	if ((rc = msg_put_str(m, "stage", "excluded")) != COFFER_OK ||
	    (rc = msg_put_bool(m, "do_not_call", 1)) != COFFER_OK ||
	    (rc = msg_put_str(m, "exclude_reason", DNC_EXCLUDE_REASON)) !=
	    COFFER_OK)
		goto fail;
	*out = m;
	return COFFER_OK;
fail:
	cbor_decref(&m);
	return rc;
}

/* Is the row's number listed?  If so *fields becomes the excluded copy. */
static int
apply_dnc(struct inserter *in, int64_t line, cbor_item_t **fields)
{
	char raw[64], phone[DNC_PHONE_MAX];
	cbor_item_t *ex = NULL;
	int rc, listed = 0;

	if (msg_get_str(*fields, "phone", raw, sizeof(raw)) != COFFER_OK ||
	    dnc_normalize(raw, phone, sizeof(phone)) != COFFER_OK)
		return COFFER_OK; /* staged rows were validated: not reached */
	if ((rc = dnc_lookup_has(in->dnc, phone, &listed)) != COFFER_OK ||
	    !listed)
		return rc;
	if (++in->nexcluded <= IMPORT_REJECTS_MAX &&
	    (rc = add_reject(in->excluded, line, "excluded",
	    DNC_EXCLUDE_REASON)) != COFFER_OK)
		return rc;
	if ((rc = excluded_fields(*fields, &ex)) != COFFER_OK)
		return rc;
	cbor_decref(fields);
	*fields = ex;
	return COFFER_OK;
}

static int
insert_one(void *arg, int64_t line, const unsigned char *map, size_t len)
{
	struct inserter *in = arg;
	cbor_item_t *fields = NULL, *rec = NULL;
	int64_t id = 0;
	int rc;

	if ((rc = msg_decode(map, len, &fields)) != COFFER_OK)
		return rc;
	if ((rc = apply_dnc(in, line, &fields)) != COFFER_OK || in->dry) {
		cbor_decref(&fields);
		return rc;
	}
	rc = handler_create_checked(in->r, in->dec, in->k, fields, &id, in->d);
	cbor_decref(&fields);
	if (rc != COFFER_OK) {
		char msg[sizeof(in->d->message)];

		/* a store failure without words of its own (the daemon
		 * stopping, a full disk) is named by its status */
		snprintf(msg, sizeof(msg), "%s", in->d->message[0] != '\0' ?
		    in->d->message : coffer_strerror(rc));
		return coffer_detail(in->d, rc, in->d->field, "line %lld: %s; "
		    "nothing was imported", (long long)line, msg);
	}
	if (in->first == 0)
		in->first = id;
	in->last = id;
	in->done++;
	if (in->done <= IMPORT_IDS_MAX) {
		if ((rec = msg_new_map()) == NULL ||
		    msg_put_int(rec, "id", id) != COFFER_OK) {
			if (rec != NULL)
				cbor_decref(&rec);
			return COFFER_ERR_NOMEM;
		}
		return msg_push(in->ids, rec);
	}
	return COFFER_OK;
}

static int
rejects_answer(struct request *r, size_t total, size_t good, size_t bad,
    cbor_item_t **result)
{
	cbor_item_t *rej = msg_new_array();
	int rc = COFFER_ERR_NOMEM;

	if ((*result = msg_new_map()) == NULL || rej == NULL)
		goto fail;
	if ((rc = staging_each_reject(r->st, IMPORT_REJECTS_MAX, add_reject,
	    rej)) != COFFER_OK ||
	    (rc = msg_put_uint(*result, "total", total)) != COFFER_OK ||
	    (rc = msg_put_uint(*result, "good", good)) != COFFER_OK ||
	    (rc = msg_put_uint(*result, "rejected_count", bad)) != COFFER_OK)
		goto fail;
	return msg_put(*result, "rejected", rej);
fail:
	if (rej != NULL)
		cbor_decref(&rej);
	return rc;
}

/*
 * {check: true}: the rows rejected so far, after the vault check, and
 * nothing written.  Otherwise insert every good row in this transaction;
 * with rejected rows and no skip_invalid nothing is imported (INVALID).
 */
int
handle_import_commit(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	struct access_decision dec;
	struct inserter in;
	char excl[48];
	size_t total, good, bad, invault;
	uint64_t file_bad = 0;
	int check = 0, skip = 0, rc;

	/* rows the client's file check rejected: reported, not verified */
	(void)msg_get_uint(args, "file_rejected", &file_bad);
	(void)msg_get_bool(args, "check", &check);
	(void)msg_get_bool(args, "skip_invalid", &skip);
	if ((rc = may_import(r, &dec, d)) != COFFER_OK)
		return rc;
	if ((rc = staging_reset_if_absent(r->st)) != COFFER_OK ||
	    (rc = staging_mark_vault(r->st, &invault)) != COFFER_OK ||
	    (rc = staging_counts(r->st, &total, &good, &bad)) != COFFER_OK)
		return rc;
	snprintf(r->audit_kind, sizeof(r->audit_kind), "customer");
	if (!check && total == 0)
		return coffer_detail(d, COFFER_ERR_INVALID, "", "nothing staged "
		    "to import (import.begin and import.rows first)");
	if (!check && bad > 0 && !skip)
		return coffer_detail(d, COFFER_ERR_INVALID, "", "%zu of %zu rows "
		    "are rejected; nothing was imported (skip them with "
		    "skip_invalid)", bad, total);
	if (!check && (rc = handler_volume(r, POLICY_LIMIT_WRITE, 1, d)) !=
	    COFFER_OK)
		return rc;
	memset(&in, 0, sizeof(in));
	in.r = r;
	in.dec = &dec;
	in.k = schema_kind("customer");
	in.d = d;
	in.dry = check;
	if ((in.ids = msg_new_array()) == NULL ||
	    (in.excluded = msg_new_array()) == NULL) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	if ((rc = dnc_lookup_open(r->st, &in.dnc)) != COFFER_OK ||
	    (rc = staging_each_good(r->st, insert_one, &in)) != COFFER_OK)
		goto out;
	snprintf(excl, sizeof(excl), in.nexcluded == 0 ? "" : "; %zu %s "
	    "(do-not-call)", in.nexcluded, check ? "to be excluded" :
	    "excluded");
	if (check)
		snprintf(r->audit_reason, sizeof(r->audit_reason), "check: %zu "
		    "rows staged, %zu good, %zu rejected here, %llu in the "
		    "client's file check%s", total, good, bad,
		    (unsigned long long)file_bad, excl);
	else
		snprintf(r->audit_reason, sizeof(r->audit_reason), "imported "
		    "%zu customers (ids %lld..%lld); rejected: %zu here, %llu "
		    "in the client's file check%s", in.done, (long long)in.first,
		    (long long)in.last, bad, (unsigned long long)file_bad,
		    excl);
	if ((rc = rejects_answer(r, total, good, bad, result)) != COFFER_OK ||
	    (rc = msg_put_uint(*result, "excluded_count", in.nexcluded)) !=
	    COFFER_OK)
		goto out;
	rc = msg_put(*result, "excluded", in.excluded);
	in.excluded = NULL;
	if (rc != COFFER_OK || check)
		goto out;
	if ((rc = msg_put_uint(*result, "imported", in.done)) != COFFER_OK ||
	    (rc = msg_put_int(*result, "first_id", in.first)) != COFFER_OK ||
	    (rc = msg_put_int(*result, "last_id", in.last)) != COFFER_OK)
		goto out;
	/* the audit record lists the new ids from "records" */
	rc = msg_put(*result, "records", in.ids);
	in.ids = NULL;
out:
	dnc_lookup_close(in.dnc);
	if (in.excluded != NULL)
		cbor_decref(&in.excluded);
	if (in.ids != NULL)
		cbor_decref(&in.ids);
	return rc;
}
