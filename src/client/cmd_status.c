/*
 * cmd_status.c - `coffer status` and `coffer whoami`: the daemon's state
 * and the caller's identity as the daemon sees it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/client.h"

/*
 * Every field as print_fields shows it, except the scheduled backups'
 * "backup" map: a map of times and paths reads badly as one k=v line, so
 * cmd_backup.c prints it as lines of its own.
 */
static int
print_status(const cbor_item_t *res)
{
	struct cbor_pair *p = cbor_map_handle(res);
	cbor_item_t *rest = NULL;
	size_t i, n = cbor_map_size(res);
	int rc;

	if ((rest = cbor_new_definite_map(n)) == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if (cbor_isa_string(p[i].key) &&
		    cbor_string_length(p[i].key) == 6 &&
		    memcmp(cbor_string_handle(p[i].key), "backup", 6) == 0)
			continue;
		if (!cbor_map_add(rest, p[i])) {
			cbor_decref(&rest);
			return COFFER_ERR_NOMEM;
		}
	}
	rc = print_fields(NULL, rest);
	cbor_decref(&rest);
	if (rc == COFFER_OK)
		print_backup_status(res);
	return rc;
}

int
cmd_status(struct ctx *c, int argc, char **argv)
{
	cbor_item_t *res = NULL;
	int rc;

	(void)argv;
	if (argc > 1)
		return fail(c, COFFER_ERR_USAGE, "status: takes no arguments");
	if ((rc = call(c, "status", NULL, &res)) != COFFER_OK)
		return rc;
	rc = c->json ? print_json(res) : !cbor_isa_map(res) ?
	    fail(c, COFFER_ERR_PROTO, "status: malformed answer") :
	    print_status(res);
	cbor_decref(&res);
	return rc;
}

int
cmd_whoami(struct ctx *c, int argc, char **argv)
{
	(void)argv;
	return simple_call(c, argc, "whoami");
}
