/*
 * err.c - names and messages for the status codes of err.h, and the
 * helper that fills a coffer_errdetail.  The machine names are part of the
 * wire protocol (docs/protocol.md, "Error codes") and never change.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "coffer/err.h"

struct err_entry {
	const char *name;
	const char *text;
};

/* Indexed by status; the order is the numbering of err.h. */
static const struct err_entry err_table[COFFER_ERR_MAX_] = {
	[COFFER_OK] = { "ok", "success" },
	[COFFER_ERR_INTERNAL] = { "internal", "internal error" },
	[COFFER_ERR_NOMEM] = { "nomem", "out of memory" },
	[COFFER_ERR_IO] = { "io", "input/output error" },
	[COFFER_ERR_EOF] = { "eof", "connection closed by peer" },
	[COFFER_ERR_PROTO] = { "proto", "malformed message" },
	[COFFER_ERR_TOO_BIG] = { "too_big", "message or item too large" },
	[COFFER_ERR_CRYPTO] = { "crypto", "decryption or verification failed" },
	[COFFER_ERR_AUTH] = { "auth", "authentication failed" },
	[COFFER_ERR_DENIED] = { "denied", "permission denied" },
	[COFFER_ERR_NOT_FOUND] = { "not_found", "not found" },
	[COFFER_ERR_INVALID] = { "invalid", "invalid value" },
	[COFFER_ERR_CONFLICT] = { "conflict", "conflict" },
	[COFFER_ERR_DB] = { "db", "database error" },
	[COFFER_ERR_BUSY] = { "busy", "resource busy" },
	[COFFER_ERR_AUDIT] = { "audit", "audit log unavailable" },
	[COFFER_ERR_KEY] = { "key", "wrong key or passphrase" },
	[COFFER_ERR_PERM] = { "perm", "unsafe file permissions" },
	[COFFER_ERR_USAGE] = { "usage", "bad arguments" },
	[COFFER_ERR_HOSTKEY] = { "hostkey",
	    "daemon key does not match the pinned key" },
	[COFFER_ERR_UNAVAILABLE] = { "unavailable", "service unavailable" },
};

static const struct err_entry *
err_lookup(int status)
{
	if (status < 0 || status >= COFFER_ERR_MAX_)
		return NULL;
	return &err_table[status];
}

const char *
coffer_strerror(int status)
{
	const struct err_entry *e = err_lookup(status);

	return e != NULL ? e->text : "unknown error";
}

const char *
coffer_errname(int status)
{
	const struct err_entry *e = err_lookup(status);

	return e != NULL ? e->name : "unknown";
}

int
coffer_detail(struct coffer_errdetail *d, int status, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	if (d == NULL)
		return status;
	/* snprintf truncates and always terminates; a long field is cut. */
	snprintf(d->field, sizeof(d->field), "%s", field != NULL ? field : "");
	d->message[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(d->message, sizeof(d->message), fmt, ap);
		va_end(ap);
	}
	return status;
}
