/*
 * args.c - typed access to request arguments for the handlers, one wording
 * for each kind of mistake.
 */
#include "coffer/args.h"
#include "coffer/msg.h"

int
args_kind(const cbor_item_t *args, const struct kind_def **k,
    struct coffer_errdetail *d)
{
	char name[32];
	int rc;

	rc = msg_get_str(args, "kind", name, sizeof(name));
	if (rc == COFFER_ERR_NOT_FOUND)
		return coffer_detail(d, COFFER_ERR_INVALID, "kind",
		    "kind: required");
	if (rc != COFFER_OK || (*k = schema_kind(name)) == NULL)
		return coffer_detail(d, COFFER_ERR_INVALID, "kind",
		    "kind: unknown record kind");
	return COFFER_OK;
}

int
args_id(const cbor_item_t *args, const char *key, int64_t *id,
    struct coffer_errdetail *d)
{
	uint64_t v;

	if (msg_get_uint(args, key, &v) != COFFER_OK || v == 0 ||
	    v > INT64_MAX)
		return coffer_detail(d, COFFER_ERR_INVALID, key,
		    "%s: required, a positive integer", key);
	*id = (int64_t)v;
	return COFFER_OK;
}

int
args_text(const cbor_item_t *args, const char *key, char *buf, size_t bufsz,
    int required, struct coffer_errdetail *d)
{
	int rc = msg_get_str(args, key, buf, bufsz);

	if (rc == COFFER_ERR_NOT_FOUND && !required) {
		buf[0] = '\0';
		return COFFER_OK;
	}
	if (rc != COFFER_OK || (required && buf[0] == '\0'))
		return coffer_detail(d, COFFER_ERR_INVALID, key, "%s: %stext "
		    "of at most %zu bytes", key, required ? "required, " : "",
		    bufsz - 1);
	return COFFER_OK;
}
