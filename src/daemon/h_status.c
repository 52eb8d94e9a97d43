/*
 * h_status.c - the daemon's health report (`coffer status`): version,
 * uptime, open sessions, requests served, failed logins, schema version,
 * record counts and the scheduled backups' state.  Any authenticated user
 * may ask; counts reveal no rows.
 */
#include <time.h>

#include "coffer/audit.h"
#include "coffer/handlers.h"
#include "coffer/msg.h"
#include "coffer/schedule.h"

/* "audit": { ok, fault, records, checkpoint, syncs, refused } */
static int
put_audit_health(cbor_item_t *res, struct daemon_ctx *d)
{
	struct audit_health h;
	cbor_item_t *a = msg_new_map();

	if (a == NULL)
		return COFFER_ERR_NOMEM;
	audit_health(d->audit, &h);
	if (msg_put_bool(a, "ok", h.ok) != COFFER_OK ||
	    msg_put_str(a, "fault", h.fault) != COFFER_OK ||
	    msg_put_uint(a, "records", h.size) != COFFER_OK ||
	    msg_put_uint(a, "checkpoint", h.last_checkpoint_size) !=
	    COFFER_OK ||
	    msg_put_uint(a, "syncs", h.syncs) != COFFER_OK ||
	    msg_put_uint(a, "refused", h.refused) != COFFER_OK) {
		cbor_decref(&a);
		return COFFER_ERR_NOMEM;
	}
	return msg_put(res, "audit", a);
}

/* The schedule's times and outcome; only what has happened is put. */
static int
put_schedule_times(cbor_item_t *b, const struct schedule_status *st)
{
	if (msg_put_uint(b, "next", (uint64_t)st->next) != COFFER_OK ||
	    msg_put_uint(b, "taken", st->taken) != COFFER_OK ||
	    msg_put_uint(b, "failed", st->failed) != COFFER_OK)
		return COFFER_ERR_NOMEM;
	if (st->last_ok != 0 &&
	    (msg_put_uint(b, "last_ok", (uint64_t)st->last_ok) != COFFER_OK ||
	    msg_put_str(b, "last_ok_path", st->last_ok_path) != COFFER_OK ||
	    msg_put_str(b, "last_ok_manifest", st->last_ok_manifest) !=
	    COFFER_OK))
		return COFFER_ERR_NOMEM;
	if (st->last_fail != 0 &&
	    (msg_put_uint(b, "last_fail", (uint64_t)st->last_fail) !=
	    COFFER_OK ||
	    msg_put_str(b, "last_error", st->last_error) != COFFER_OK))
		return COFFER_ERR_NOMEM;
	return COFFER_OK;
}

/* "backup": { scheduled, dir, every_ms, keep, running, next, ... } */
static int
put_backup_schedule(cbor_item_t *res, struct daemon_ctx *d)
{
	struct schedule_status st;
	cbor_item_t *b = msg_new_map();

	if (b == NULL)
		return COFFER_ERR_NOMEM;
	schedule_get_status(d->schedule, &st);
	if (msg_put_bool(b, "scheduled", st.enabled) != COFFER_OK ||
	    (st.enabled &&
	    (msg_put_str(b, "dir", st.dir) != COFFER_OK ||
	    msg_put_uint(b, "every_ms", st.every_ms) != COFFER_OK ||
	    msg_put_uint(b, "keep", st.keep) != COFFER_OK ||
	    msg_put_bool(b, "running", st.running) != COFFER_OK ||
	    put_schedule_times(b, &st) != COFFER_OK))) {
		cbor_decref(&b);
		return COFFER_ERR_NOMEM;
	}
	return msg_put(res, "backup", b);
}

int
handle_status(struct request *r, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	cbor_item_t *res = NULL, *counts = NULL;
	time_t now = time(NULL);
	int rc;

	(void)args;
	(void)d;
	if ((rc = store_stats(r->st, &counts)) != COFFER_OK)
		return rc;
	rc = COFFER_ERR_NOMEM;
	if ((res = msg_new_map()) == NULL)
		goto out;
	if (msg_put_str(res, "version", COFFER_VERSION) != COFFER_OK ||
	    msg_put_uint(res, "uptime", (uint64_t)(now - r->d->started)) !=
	    COFFER_OK ||
	    msg_put_uint(res, "schema", STORE_SCHEMA_VERSION) != COFFER_OK ||
	    msg_put_uint(res, "connections",
	    atomic_load(&r->d->connections)) != COFFER_OK ||
	    msg_put_uint(res, "requests", atomic_load(&r->d->requests)) !=
	    COFFER_OK ||
	    msg_put_uint(res, "auth_failures",
	    atomic_load(&r->d->auth_failures)) != COFFER_OK)
		goto out;
	if ((rc = put_audit_health(res, r->d)) != COFFER_OK ||
	    (rc = put_backup_schedule(res, r->d)) != COFFER_OK)
		goto out;
	rc = msg_put(res, "counts", counts);
	counts = NULL; /* transferred */
	if (rc != COFFER_OK)
		goto out;
	*result = res;
	res = NULL;
out:
	if (counts != NULL)
		cbor_decref(&counts);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}
