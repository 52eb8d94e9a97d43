/*
 * dispatch.c - turns one decrypted request into one response: decode the
 * envelope, look the operation up in the table, run its handler, encode
 * the answer.  Every request, good or bad, gets exactly one response.
 */
#include <stdlib.h>
#include <string.h>

#include "coffer/daemon.h"
#include "coffer/handlers.h"
#include "coffer/log.h"
#include "coffer/msg.h"

#define OP_NAME_MAX 32

struct op {
	const char *name;
	handler_fn fn;
	int writes;   /* takes the database write lock */
};

static const struct op ops[] = {
	{ "status", handle_status, 0 },
	{ "whoami", handle_whoami, 0 },
	{ "record.get", handle_record_get, 0 },
	{ "record.list", handle_record_list, 0 },
	{ "record.create", handle_record_create, 1 },
	{ "record.update", handle_record_update, 1 },
	{ "record.delete", handle_record_delete, 1 },
	{ "user.list", handle_user_list, 0 },
	{ "user.add", handle_user_add, 1 },
	{ "user.update", handle_user_update, 1 },
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

static int
run_op(struct request *r, const struct op *op, const cbor_item_t *args,
    cbor_item_t **result, struct coffer_errdetail *d)
{
	cbor_item_t *empty = NULL;
	int rc;

	if (args == NULL) {
		if ((empty = msg_new_map()) == NULL)
			return COFFER_ERR_NOMEM;
		args = empty;
	}
	if (op->writes)
		pthread_mutex_lock(&r->d->write_lock);
	rc = op->fn(r, args, result, d);
	if (op->writes)
		pthread_mutex_unlock(&r->d->write_lock);
	if (empty != NULL)
		cbor_decref(&empty);
	return rc;
}

int
dispatch_request(struct request *r, const unsigned char *msg, size_t len,
    unsigned char **resp, size_t *resplen)
{
	struct coffer_errdetail d = { "", "" };
	cbor_item_t *item = NULL, *result = NULL;
	const cbor_item_t *args = NULL;
	const struct op *op = NULL;
	char opname[OP_NAME_MAX] = "";
	uint64_t id = 0;
	int status, rc;

	status = parse_envelope(msg, len, &item, &id, opname, &args, &d);
	if (status == COFFER_OK && (op = op_find(opname)) == NULL)
		status = coffer_detail(&d, COFFER_ERR_NOT_FOUND, "op",
		    "unknown operation '%s'", opname);
	if (status == COFFER_OK)
		status = run_op(r, op, args, &result, &d);
	if (status != COFFER_OK && status != COFFER_ERR_NOMEM)
		log_debug("%s: %s: %s", r->user, opname[0] ? opname : "?",
		    coffer_errname(status));
	atomic_fetch_add(&r->d->requests, 1);
	rc = encode_response(id, status, result, &d, resp, resplen);
	if (result != NULL)
		cbor_decref(&result);
	if (item != NULL)
		cbor_decref(&item);
	return rc;
}
