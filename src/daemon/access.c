/*
 * access.c - the daemon's adapter to the compiled policy: maps requests to
 * policy actions, adds the label allow-list lists push into SQL, and
 * applies a decision to the rows it lets through (no read-up, per-field
 * show / mask / omit, writable fields).  Deny by default.
 */
#include <stdio.h>
#include <string.h>

#include "coffer/access.h"
#include "coffer/err.h"
#include "coffer/mask.h"
#include "coffer/msg.h"

static const enum policy_action to_policy[] = {
	[ACT_READ] = POLICY_READ, [ACT_LIST] = POLICY_LIST,
	[ACT_CREATE] = POLICY_CREATE, [ACT_UPDATE] = POLICY_UPDATE,
	[ACT_DELETE] = POLICY_DELETE, [ACT_REVEAL] = POLICY_REVEAL,
	[ACT_EXPORT] = POLICY_EXPORT, [ACT_USER_READ] = POLICY_USER_READ,
	[ACT_USER_ADMIN] = POLICY_USER_ADMIN,
	[ACT_AUDIT_READ] = POLICY_AUDIT_READ, [ACT_REQUEST] = POLICY_REQUEST,
	[ACT_BACKUP] = POLICY_KEY_ADMIN, [ACT_SCREEN] = POLICY_SCREEN,
	[ACT_REPORT] = POLICY_REPORT, [ACT_COMPLETE] = POLICY_COMPLETE,
};

static const char *const action_names[] = {
	[ACT_READ] = "read", [ACT_LIST] = "list", [ACT_CREATE] = "create",
	[ACT_UPDATE] = "update", [ACT_DELETE] = "delete",
	[ACT_REVEAL] = "reveal", [ACT_EXPORT] = "export",
	[ACT_USER_READ] = "user-read", [ACT_USER_ADMIN] = "user-admin",
	[ACT_AUDIT_READ] = "audit-read", [ACT_REQUEST] = "request",
	[ACT_BACKUP] = "backup", [ACT_SCREEN] = "screen",
	[ACT_REPORT] = "report", [ACT_COMPLETE] = "complete",
};

#define NACTIONS (sizeof(action_names) / sizeof(action_names[0]))

const char *
access_action_name(enum access_action a)
{
	if ((size_t)a < NACTIONS && action_names[a] != NULL)
		return action_names[a];
	return "unknown";
}

unsigned
access_label_allow(const struct policy *p, int cl)
{
	const struct kind_def *ck = schema_kind("customer");
	const struct field_def *lf = ck != NULL ? schema_field(ck, "label") :
	    NULL;
	unsigned allow = 0;
	size_t i;
	int lv;

	if (lf == NULL || lf->enum_values == NULL)
		return 0;
	for (i = 0; lf->enum_values[i] != NULL && i < 32; i++) {
		lv = policy_level_find(p, lf->enum_values[i]);
		if (lv >= 0 && lv <= cl)
			allow |= 1u << i;
	}
	return allow;
}

/* Kinds whose rows carry a label of their own or of their customer. */
static int
labelled(const struct kind_def *k)
{
	return k != NULL && (schema_field(k, "label") != NULL ||
	    schema_field(k, "customer_id") != NULL);
}

int
access_decide(const struct policy *p, const struct access_subject *s,
    enum access_action action, const struct kind_def *k,
    struct access_decision *d)
{
	struct policy_subject ps;
	int rc;

	memset(d, 0, sizeof(*d));
	d->policy = p;
	d->kind = k;
	d->pd.scope.kind = SCOPE_NONE;
	d->pd.clearance = -1;
	if (p == NULL || (size_t)action >= NACTIONS) {
		snprintf(d->pd.reason, sizeof(d->pd.reason),
		    "no policy is in force");
		return COFFER_ERR_DENIED;
	}
	ps.role = s->role_name != NULL ? s->role_name :
	    store_role_name(s->role);
	ps.clearance = s->clearance;
	ps.user_id = s->user_id;
	ps.team = s->team;
	rc = policy_decide(p, &ps, to_policy[action], k, &d->pd);
	if (rc == COFFER_OK && (action == ACT_READ || action == ACT_LIST) &&
	    labelled(k)) {
		d->pd.scope.label_filter = 1;
		d->pd.scope.label_allow = access_label_allow(p,
		    d->pd.clearance);
	}
	return rc;
}

int
access_check_row(struct access_decision *d, const struct policy_row *row,
    const char *field)
{
	if (d->policy == NULL)
		return COFFER_ERR_DENIED;
	return policy_check_row(d->policy, &d->pd, row, field);
}

int
access_check_write(struct access_decision *d, const cbor_item_t *fields)
{
	struct cbor_pair *p;
	struct policy_row row = { NULL, 0, NULL };
	char name[64], label[33];
	size_t i;
	int rc;

	if (d->policy == NULL || fields == NULL || !cbor_isa_map(fields))
		return COFFER_ERR_DENIED;
	p = cbor_map_handle(fields);
	for (i = 0; i < cbor_map_size(fields); i++) {
		if (msg_item_str(p[i].key, name, sizeof(name)) != COFFER_OK)
			continue; /* schema_validate refuses it */
		if ((rc = policy_check_write(d->policy, &d->pd, name)) !=
		    COFFER_OK)
			return rc;
	}
	/* A user cannot label a record above their clearance. */
	if (msg_get_str(fields, "label", label, sizeof(label)) == COFFER_OK) {
		row.label = label;
		return policy_check_row(d->policy, &d->pd, &row, NULL);
	}
	return COFFER_OK;
}

/* The masked form of value v of field f, as a new text item. */
static cbor_item_t *
masked_value(const struct field_def *f, enum mask_format fmt,
    const cbor_item_t *v)
{
	char out[MASK_OUT_MAX];
	int64_t n;
	size_t len;

	if (fmt == MASK_AMOUNT && msg_item_int(v, &n) == COFFER_OK)
		mask_amount(n, out, sizeof(out));
	else if (cbor_isa_string(v) && cbor_string_is_definite(v) &&
	    (f->type == FT_TEXT || f->type == FT_PHONE ||
	    f->type == FT_EMAIL)) {
		len = cbor_string_length(v);
		mask_string(fmt, (const char *)cbor_string_handle(v), len, out,
		    sizeof(out));
	} else
		mask_text(out, sizeof(out));
	return msg_new_str(out);
}

/*
 * schema_field, looking from *next on: a stored record's keys come in
 * field order (row_to_map), so each is found at the first step instead of
 * after a scan from the start.
 */
static const struct field_def *
field_from(const struct kind_def *k, const char *name, size_t *next)
{
	size_t i, j;

	for (j = 0; j < k->nfields; j++) {
		i = (*next + j) % k->nfields;
		if (strcmp(k->fields[i].name, name) == 0) {
			*next = i + 1;
			return &k->fields[i];
		}
	}
	return NULL;
}

int
access_present(const struct access_decision *d, const cbor_item_t *rec,
    cbor_item_t **out, struct access_seen *seen)
{
	const struct kind_def *k = d->kind;
	const struct field_def *f;
	struct cbor_pair *p;
	cbor_item_t *m = NULL, *v;
	char name[64];
	size_t i, fi, next = 0;

	if (k == NULL || k->nfields == 0 || d->pd.fields == NULL || d->pd.formats == NULL ||
	    !cbor_isa_map(rec))
		return COFFER_ERR_INTERNAL;
	if ((m = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	p = cbor_map_handle(rec);
	for (i = 0; i < cbor_map_size(rec); i++) {
		if (msg_item_str(p[i].key, name, sizeof(name)) != COFFER_OK)
			continue;
		f = field_from(k, name, &next);
		fi = f != NULL ? (size_t)(f - k->fields) : 0;
		if (f == NULL || fi >= d->pd.nfields || fi >= POLICY_MAX_FIELDS)
			continue; /* not the schema's: never shown */
		if (cbor_is_null(p[i].value) ||
		    d->pd.fields[fi] == POLICY_SHOW)
			v = cbor_incref(p[i].value);
		else if (d->pd.fields[fi] == POLICY_OMIT) {
			if (seen != NULL)
				seen->omitted[fi] = 1;
			continue;
		} else {
			if (seen != NULL)
				seen->masked[fi] = 1;
			v = masked_value(f, (enum mask_format)d->pd.formats[fi],
			    p[i].value);
		}
		/* rec's own key item, shared: its keys are unique already,
		 * and a copy per field cost two allocations of each answer. */
		if (v == NULL || !cbor_map_add(m,
		    (struct cbor_pair){ .key = p[i].key, .value = v })) {
			if (v != NULL)
				cbor_decref(&v);
			cbor_decref(&m);
			return COFFER_ERR_NOMEM;
		}
		cbor_decref(&v);
	}
	*out = m;
	return COFFER_OK;
}

static cbor_item_t *
names_of(const struct kind_def *k, const unsigned char *flags)
{
	cbor_item_t *a = msg_new_array();
	size_t i;

	for (i = 0; a != NULL && i < k->nfields && i < POLICY_MAX_FIELDS; i++)
		if (flags[i] && msg_push(a, msg_new_str(
		    k->fields[i].name)) != COFFER_OK)
			cbor_decref(&a);
	return a;
}

int
access_put_seen(const struct access_decision *d,
    const struct access_seen *seen, cbor_item_t *res)
{
	cbor_item_t *m, *o;

	if (d->kind == NULL)
		return COFFER_ERR_INTERNAL;
	if ((m = names_of(d->kind, seen->masked)) == NULL)
		return COFFER_ERR_NOMEM;
	if (msg_put(res, "masked", m) != COFFER_OK)
		return COFFER_ERR_NOMEM;
	if ((o = names_of(d->kind, seen->omitted)) == NULL)
		return COFFER_ERR_NOMEM;
	if (msg_put(res, "omitted", o) != COFFER_OK)
		return COFFER_ERR_NOMEM;
	return COFFER_OK;
}
