/*
 * cmd_keys.c - local key commands that need no daemon: keygen (a user key
 * pair) and pin-reset (forget a daemon's pinned key).
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

/* ---- keygen, pin-reset, help (local) ------------------------------- */

static int
keygen_args(struct ctx *c, int argc, char **argv, const char **out,
    const char **comment, int *nopass)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "comment", required_argument, NULL, 'c' },
		{ "no-passphrase", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":o:c:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'o': *out = optarg; break;
		case 'c': *comment = optarg; break;
		case 'N': *nopass = 1; break;
		case 'h':
			show_help("keygen");
			return -1;
		default:
			return bad_option(c, "keygen", argv, opt);
		}
	}
	if (optind < argc)
		return fail(c, COFFER_ERR_USAGE, "keygen: unexpected '%.40s'",
		    argv[optind]);
	if (*out == NULL)
		return fail(c, COFFER_ERR_USAGE, "keygen: -o FILE is required");
	return COFFER_OK;
}

static int
keygen_print(struct ctx *c, const char *secret, const char *pub)
{
	unsigned char pk[32];
	char line[USERKEY_PUBLIC_TEXT], fpr[USERKEY_FPR_TEXT];
	cbor_item_t *m = NULL;
	int rc;

	if ((rc = userkey_load_public(pub, pk)) != COFFER_OK)
		return fail(c, rc, "%s: %s", pub, coffer_strerror(rc));
	userkey_format_public(pk, NULL, line, sizeof(line));
	userkey_fingerprint(pk, fpr, sizeof(fpr));
	if (!c->json) {
		printf("%s\n%s\n", line, fpr);
		if (!c->quiet)
			fprintf(stderr, "coffer: wrote %s and %s; give %s to "
			    "your administrator\n", secret, pub, pub);
		return COFFER_OK;
	}
	if ((m = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = msg_put_str(m, "public", line)) == COFFER_OK &&
	    (rc = msg_put_str(m, "fingerprint", fpr)) == COFFER_OK &&
	    (rc = msg_put_str(m, "secret_file", secret)) == COFFER_OK &&
	    (rc = msg_put_str(m, "public_file", pub)) == COFFER_OK)
		rc = print_json(m);
	cbor_decref(&m);
	return rc;
}

int
cmd_keygen(struct ctx *c, int argc, char **argv)
{
	const char *out = NULL, *comment = NULL;
	char pub[PATH_MAX], *pass = NULL;
	size_t passlen = 0;
	int nopass = 0, rc;

	if ((rc = keygen_args(c, argc, argv, &out, &comment, &nopass)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", out) >= sizeof(pub))
		return fail(c, COFFER_ERR_USAGE, "keygen: path too long");
	if (!nopass) {
		if ((pass = sodium_malloc(PASSPHRASE_MAX)) == NULL)
			return COFFER_ERR_NOMEM;
		rc = passphrase_get(c->passfile, "New key passphrase: ", 1, pass,
		    PASSPHRASE_MAX, &passlen);
		if (rc != COFFER_OK) {
			sodium_free(pass);
			return fail(c, c->passfile != NULL ? COFFER_ERR_KEY :
			    COFFER_ERR_USAGE, "keygen: no passphrase: %s",
			    c->passfile != NULL ? coffer_strerror(rc) :
			    "empty, mismatched, or no terminal (use "
			    "--passphrase-file or --no-passphrase)");
		}
	}
	rc = userkey_generate(out, pub, pass, passlen, comment);
	if (pass != NULL)
		sodium_free(pass);
	if (rc != COFFER_OK)
		return fail(c, rc == COFFER_ERR_IO && errno == EEXIST ?
		    COFFER_ERR_USAGE : rc, "keygen: cannot write %s: %s", out,
		    errno == EEXIST ? "file exists (never overwritten)" :
		    coffer_strerror(rc));
	return keygen_print(c, out, pub);
}

int
cmd_pin_reset(struct ctx *c, int argc, char **argv)
{
	struct rpc_target t = { c->socket_path, c->hostport, c->known_hosts,
	    0 };
	char endpoint[KH_ENDPOINT_MAX];
	size_t removed = 0;
	int rc;

	if ((rc = record_opts(c, "pin-reset", argc, argv, 0, NULL)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if (optind < argc)
		return fail(c, COFFER_ERR_USAGE, "pin-reset: takes no arguments "
		    "(select the daemon with -S or -H)");
	if ((rc = rpc_endpoint(&t, endpoint, sizeof(endpoint))) != COFFER_OK)
		return fail(c, COFFER_ERR_USAGE, "bad daemon address");
	if ((rc = kh_remove(c->known_hosts, endpoint, &removed)) != COFFER_OK)
		return fail(c, rc == COFFER_ERR_PERM ? COFFER_ERR_HOSTKEY : rc,
		    "%s: %s", c->known_hosts, coffer_strerror(rc));
	if (c->json) {
		cbor_item_t *m = msg_new_map();

		if (m == NULL)
			return COFFER_ERR_NOMEM;
		if ((rc = msg_put_str(m, "endpoint", endpoint)) == COFFER_OK &&
		    (rc = msg_put_uint(m, "removed", removed)) == COFFER_OK)
			rc = print_json(m);
		cbor_decref(&m);
		return rc;
	}
	if (!c->quiet)
		printf("removed %zu pinned key%s for %s from %s\n", removed,
		    removed == 1 ? "" : "s", endpoint, c->known_hosts);
	return COFFER_OK;
}
