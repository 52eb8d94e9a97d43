/*
 * cmd_backup.c - `coffer backup`: an online backup taken by the daemon on
 * its own machine (docs/backup.md).
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

/* An online backup on the daemon's machine (docs/backup.md). */
int
cmd_backup(struct ctx *c, int argc, char **argv)
{
	cbor_item_t *args = NULL, *res = NULL;
	char path[1024], id[65];
	uint64_t ms = 0;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return fail(c, COFFER_ERR_USAGE, "backup: usage: coffer backup "
		    "DIR (a new directory, absolute path on the daemon's "
		    "machine)");
	if ((args = msg_new_map()) == NULL ||
	    msg_put_str(args, "path", argv[1]) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		return fail(c, COFFER_ERR_NOMEM, "backup: out of memory");
	}
	if ((rc = call(c, "backup.create", args, &res)) != COFFER_OK)
		return rc;
	if (c->json)
		rc = print_json(res);
	else if (msg_get_str(res, "path", path, sizeof(path)) != COFFER_OK ||
	    msg_get_str(res, "manifest", id, sizeof(id)) != COFFER_OK)
		rc = fail(c, COFFER_ERR_PROTO, "backup: malformed answer");
	else {
		(void)msg_get_uint(res, "ms", &ms);
		printf("backup written to %s on the daemon's machine\n"
		    "manifest sha256:%s\ntook %llu ms; check it with "
		    "'coffer-admin backup verify %s'\n", path, id,
		    (unsigned long long)ms, path);
	}
	cbor_decref(&res);
	return rc;
}
