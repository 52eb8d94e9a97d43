/*
 * coffer.c - the command-line client of the Coffer vault: global options,
 * one handler per command, error reporting and exit statuses.  Parsing of
 * values, output formatting, known hosts and the connection live in the
 * client modules (cli, output, json, knownhosts, rpc, help).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/approval.h"
#include "coffer/audit.h"
#include "coffer/cli.h"
#include "coffer/err.h"
#include "coffer/help.h"
#include "coffer/json.h"
#include "coffer/keys.h"
#include "coffer/knownhosts.h"
#include "coffer/msg.h"
#include "coffer/output.h"
#include "coffer/passphrase.h"
#include "coffer/rpc.h"
#include "coffer/schema.h"
#include "coffer/secfile.h"

#ifndef COFFER_VERSION
#define COFFER_VERSION "0.1"
#endif

#define DEFAULT_SOCKET  "/run/coffer/cofferd.sock"
#define IO_TIMEOUT_SEC  60
#define VALUE_MAX       4096

enum exit_code {
	EXIT_OK = 0, EXIT_DAEMON = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3,
	EXIT_AUTH = 4, EXIT_DENIED = 5, EXIT_NOT_FOUND = 6, EXIT_INVALID = 7,
	EXIT_CONFLICT = 8, EXIT_HOSTKEY = 9, EXIT_UNAVAILABLE = 10,
	EXIT_KEY = 11
};

struct ctx {
	/* Global options, after defaults. */
	const char *socket_path, *hostport, *user, *key, *known_hosts;
	const char *passfile;
	int json, quiet, kh_default;
	char userbuf[SESSION_USER_MAX + 1];
	char keybuf[PATH_MAX], khbuf[PATH_MAX];

	struct rpc *rpc;     /* opened on the first request */
	/*
	 * keep_sk: connect_daemon keeps the user's secret key (sodium_malloc)
	 * in sk after the handshake, for signing an approval; the command
	 * wipes it right after signing, main on every other path.
	 */
	int keep_sk;
	unsigned char *sk;
	int64_t now;
	/* The failure being reported. */
	char msg[512];
	int remote;
	struct rpc_error rerr;
};

struct command {
	const char *name;
	int (*run)(struct ctx *c, int argc, char **argv);
};

static int
fail(struct ctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the message that goes with status rc; returns rc. */
static int
fail(struct ctx *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return rc;
}

/* Exit status for a status code (see help_global_tail and coffer(1)). */
static int
exit_code(int rc, int remote)
{
	switch (rc) {
	case COFFER_OK:              return EXIT_OK;
	case COFFER_ERR_USAGE:       return remote ? EXIT_DAEMON : EXIT_USAGE;
	case COFFER_ERR_IO:
	case COFFER_ERR_EOF:
	case COFFER_ERR_PROTO:
	case COFFER_ERR_TOO_BIG:
	case COFFER_ERR_CRYPTO:      return EXIT_CONNECT;
	case COFFER_ERR_AUTH:        return EXIT_AUTH;
	case COFFER_ERR_DENIED:      return EXIT_DENIED;
	case COFFER_ERR_NOT_FOUND:   return EXIT_NOT_FOUND;
	case COFFER_ERR_INVALID:     return EXIT_INVALID;
	case COFFER_ERR_CONFLICT:    return EXIT_CONFLICT;
	case COFFER_ERR_HOSTKEY:     return EXIT_HOSTKEY;
	case COFFER_ERR_UNAVAILABLE:
	case COFFER_ERR_AUDIT:
	case COFFER_ERR_BUSY:        return EXIT_UNAVAILABLE;
	case COFFER_ERR_KEY:
	case COFFER_ERR_PERM:        return remote ? EXIT_DAEMON : EXIT_KEY;
	default:                     return EXIT_DAEMON;
	}
}

/* {"error": {...}} on stdout for --json. */
static void
print_json_error(const struct ctx *c, int rc, const char *text, int code)
{
	cbor_item_t *e = msg_new_map(), *top = msg_new_map();

	if (e == NULL || top == NULL ||
	    msg_put_uint(e, "code", (uint64_t)rc) != COFFER_OK ||
	    msg_put_str(e, "name", c->remote && c->rerr.name[0] != '\0' ?
	    c->rerr.name : coffer_errname(rc)) != COFFER_OK ||
	    msg_put_str(e, "message", text) != COFFER_OK ||
	    (c->remote && c->rerr.field[0] != '\0' &&
	    msg_put_str(e, "field", c->rerr.field) != COFFER_OK) ||
	    msg_put_str(e, "source", c->remote ? "daemon" : "local") !=
	    COFFER_OK ||
	    msg_put_uint(e, "exit", (uint64_t)code) != COFFER_OK) {
		if (e != NULL)
			cbor_decref(&e);
		goto out;
	}
	if (msg_put(top, "error", e) == COFFER_OK && json_write(stdout, top) ==
	    COFFER_OK)
		putchar('\n');
out:
	if (top != NULL)
		cbor_decref(&top);
}

/* Print the failure on stderr (and stdout with --json); exit status. */
static int
report(struct ctx *c, int rc)
{
	char text[600], clean[600];
	int code = exit_code(rc, c->remote);

	if (rc == COFFER_OK)
		return EXIT_OK;
	if (c->remote) {
		const char *m = c->rerr.message[0] != '\0' ? c->rerr.message :
		    coffer_strerror(rc);

		/* The daemon's words may echo record data: sanitize them. */
		if (c->rerr.field[0] != '\0' && strncmp(m, c->rerr.field,
		    strlen(c->rerr.field)) != 0)
			snprintf(text, sizeof(text), "%s: %s", c->rerr.field, m);
		else
			snprintf(text, sizeof(text), "%s", m);
		out_sanitize(text, 0, clean, sizeof(clean));
		fprintf(stderr, "coffer: %s (%s)\n", clean, coffer_errname(rc));
	} else {
		out_sanitize(c->msg[0] != '\0' ? c->msg : coffer_strerror(rc), 0,
		    clean, sizeof(clean));
		fprintf(stderr, "coffer: %s\n", clean);
	}
	if (c->json)
		print_json_error(c, rc, clean, code);
	return code;
}

/* ---- getopt for commands ------------------------------------------- */

static int
bad_option(struct ctx *c, const char *cmd, char **argv, int opt)
{
	if (opt == ':')
		return fail(c, COFFER_ERR_USAGE, "%s: option '%s' needs a value "
		    "(see 'coffer %s --help')", cmd, argv[optind - 1], cmd);
	return fail(c, COFFER_ERR_USAGE, "%s: unknown option '%s' (see 'coffer "
	    "%s --help')", cmd, argv[optind - 1], cmd);
}

/* Print a command's help; used for CMD --help and help CMD. */
static void
print_command_help(const struct help_entry *h)
{
	printf("usage: coffer %s\n\n%s.\n\n%s", h->synopsis, h->summary,
	    h->text);
}

static int
show_help(const char *name)
{
	const struct help_entry *h = help_find(name);

	if (h != NULL)
		print_command_help(h);
	return COFFER_OK;
}

static int
parse_id(struct ctx *c, const char *what, const char *s, uint64_t *out)
{
	if (cli_parse_uint(s, out) != COFFER_OK || *out == 0)
		return fail(c, COFFER_ERR_USAGE, "%s=%.40s: not a positive "
		    "integer", what, s);
	return COFFER_OK;
}

static int
need_kind(struct ctx *c, const char *cmd, const char *name,
    const struct kind_def **k)
{
	if (name == NULL)
		return fail(c, COFFER_ERR_USAGE, "%s: missing KIND (see 'coffer "
		    "fields')", cmd);
	if ((*k = schema_kind(name)) == NULL)
		return fail(c, COFFER_ERR_USAGE, "%.40s: no such kind (kinds: "
		    "customer, call, followup, deal, product, note)", name);
	return COFFER_OK;
}

/* ---- key, passphrase, connection ----------------------------------- */

static int
load_key(struct ctx *c, unsigned char *sk)
{
	char *pass = NULL, prompt[PATH_MAX + 32];
	size_t passlen = 0;
	int need, rc;

	need = userkey_needs_passphrase(c->key);
	if (need < 0) {
		rc = -need;
		if (rc == COFFER_ERR_IO && errno == ENOENT)
			return fail(c, COFFER_ERR_KEY, "key file %s: not found "
			    "(use -k FILE, or make one with 'coffer keygen')",
			    c->key);
		return fail(c, rc == COFFER_ERR_NOMEM ? rc : COFFER_ERR_KEY,
		    "key file %s: %s", c->key, coffer_strerror(rc));
	}
	if (need) {
		if ((pass = sodium_malloc(PASSPHRASE_MAX)) == NULL)
			return COFFER_ERR_NOMEM;
		snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", c->key);
		rc = passphrase_get(c->passfile, prompt, 0, pass,
		    PASSPHRASE_MAX, &passlen);
		if (rc != COFFER_OK) {
			sodium_free(pass);
			if (c->passfile != NULL)
				return fail(c, COFFER_ERR_KEY, "passphrase file "
				    "%s: %s", c->passfile, coffer_strerror(rc));
			return fail(c, COFFER_ERR_KEY, "key file %s needs a "
			    "passphrase and none was typed (no terminal? use "
			    "--passphrase-file)", c->key);
		}
	}
	rc = userkey_load_secret(c->key, pass, passlen, sk);
	if (pass != NULL)
		sodium_free(pass); /* wipes */
	if (rc != COFFER_OK)
		return fail(c, rc == COFFER_ERR_NOMEM ? rc : COFFER_ERR_KEY,
		    "key file %s: %s", c->key, need ? "wrong passphrase or "
		    "damaged key file" : coffer_strerror(rc));
	return COFFER_OK;
}

/* ~/.config/coffer for the default known_hosts, created 0700. */
static void
make_config_dir(const struct ctx *c)
{
	char dir[PATH_MAX];
	char *slash;

	if (!c->kh_default)
		return;
	snprintf(dir, sizeof(dir), "%s", c->known_hosts);
	if ((slash = strrchr(dir, '/')) == NULL)
		return;
	*slash = '\0';
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		(void)mkdir(dir, 0700);  /* ~/.config */
		*slash = '/';
	}
	(void)mkdir(dir, 0700);
}

static void
pin_warnings(const struct ctx *c, const struct rpc_pin *pin)
{
	char fpr[USERKEY_FPR_TEXT];

	userkey_fingerprint(pin->key, fpr, sizeof(fpr));
	if (pin->state == RPC_PIN_NEW || pin->state == RPC_PIN_NEW_UNSAVED) {
		fprintf(stderr,
		    "coffer: warning: first connection to %s\n"
		    "coffer: warning: the daemon's key is %s\n", pin->endpoint,
		    fpr);
		if (pin->state == RPC_PIN_NEW)
			fprintf(stderr, "coffer: warning: pinned it in %s\n",
			    c->known_hosts);
		else
			fprintf(stderr, "coffer: warning: could not save it in "
			    "%s: %s\n", c->known_hosts,
			    coffer_strerror(pin->save_rc));
		fprintf(stderr, "coffer: warning: check this fingerprint with "
		    "your administrator ('coffer-admin pubkey DIR')\n");
	} else if (pin->state == RPC_PIN_MISMATCH) {
		fprintf(stderr,
		    "coffer: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
		    "coffer: @   WARNING: THE DAEMON'S IDENTITY KEY HAS CHANGED   @\n"
		    "coffer: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
		    "coffer: Someone may be impersonating the vault at %s,\n"
		    "coffer: or the vault was re-created.  Your user name and\n"
		    "coffer: signature were not sent.\n"
		    "coffer: The daemon presented key %s;\n"
		    "coffer: %s line %zu pins a different key.\n"
		    "coffer: Ask your administrator for the daemon's fingerprint\n"
		    "coffer: ('coffer-admin pubkey DIR' on the vault host).  Only if\n"
		    "coffer: it matches, forget the old key with\n"
		    "coffer:     coffer %s%s pin-reset\n"
		    "coffer: and connect again.\n", pin->endpoint, fpr,
		    c->known_hosts, pin->line, c->hostport != NULL ? "-H " :
		    "-S ", c->hostport != NULL ? c->hostport : c->socket_path);
	}
}

static int
open_error(struct ctx *c, int rc, const struct rpc_pin *pin)
{
	switch (rc) {
	case COFFER_ERR_IO:
		if (pin->state == RPC_PIN_BADFILE)
			return fail(c, rc, "cannot read %s: %s", c->known_hosts,
			    strerror(errno));
		return fail(c, rc, "cannot connect to %s: %s", pin->endpoint,
		    strerror(errno));
	case COFFER_ERR_PERM:
		return fail(c, COFFER_ERR_HOSTKEY, "%s: refused: not a regular "
		    "file of yours, or writable by group or others (chmod 600)",
		    c->known_hosts);
	case COFFER_ERR_USAGE:
		return fail(c, rc, "bad daemon address '%s'", c->hostport != NULL
		    ? c->hostport : c->socket_path);
	case COFFER_ERR_AUTH:
		return fail(c, rc, "authentication failed: the daemon does not "
		    "accept user '%s' with key %s", c->user, c->key);
	case COFFER_ERR_HOSTKEY:
		return fail(c, rc, "refusing to talk to %s: daemon key mismatch",
		    pin->endpoint);
	case COFFER_ERR_EOF:
		return fail(c, rc, "%s closed the connection during the "
		    "handshake", pin->endpoint);
	default:
		return fail(c, rc, "handshake with %s failed: %s", pin->endpoint,
		    coffer_strerror(rc));
	}
}

static int
connect_daemon(struct ctx *c)
{
	struct rpc_target t = { c->socket_path, c->hostport, c->known_hosts,
	    IO_TIMEOUT_SEC };
	struct rpc_pin pin;
	unsigned char *sk = NULL;
	int rc;

	if ((sk = sodium_malloc(SESSION_SECKEY_BYTES)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = load_key(c, sk)) != COFFER_OK)
		goto out;
	make_config_dir(c);
	rc = rpc_open(&t, c->user, sk, &pin, &c->rpc);
	if (c->keep_sk && rc == COFFER_OK) {
		c->sk = sk;   /* for one approval signature, then wiped */
	} else {
		sodium_free(sk);  /* wiped: the session has its own keys now */
	}
	sk = NULL;
	pin_warnings(c, &pin);
	if (rc != COFFER_OK)
		rc = open_error(c, rc, &pin);
out:
	if (sk != NULL)
		sodium_free(sk);
	return rc;
}

/* One request; args is taken.  *result is the caller's. */
static int
call(struct ctx *c, const char *op, cbor_item_t *args, cbor_item_t **result)
{
	int rc;

	*result = NULL;
	if (c->rpc == NULL && (rc = connect_daemon(c)) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		return rc;
	}
	rc = rpc_call(c->rpc, op, args, result, &c->rerr, &c->remote);
	if (rc != COFFER_OK && !c->remote) {
		if (rc == COFFER_ERR_EOF)
			return fail(c, rc, "the daemon closed the connection");
		return fail(c, rc, "%s: %s", op, coffer_strerror(rc));
	}
	return rc;
}

/* ---- output helpers ------------------------------------------------ */

static int
print_json(const cbor_item_t *item)
{
	int rc = json_write(stdout, item);

	if (rc == COFFER_OK && putchar('\n') == EOF)
		rc = COFFER_ERR_IO;
	return rc;
}

/* Keys of status and user maps, in the order people read them. */
static const char *const preferred_order[] = {
	"id", "name", "display", "role", "team", "manager", "clearance",
	"active", "fingerprint", "version", "uptime", "schema", "connections",
	"requests", "auth_failures", "counts", "created", "updated", NULL
};

/* Longest key, for aligning "key: value" lines. */
static size_t
key_width(const cbor_item_t *map)
{
	struct cbor_pair *p = cbor_map_handle(map);
	size_t i, w = 0;

	for (i = 0; i < cbor_map_size(map); i++)
		if (cbor_isa_string(p[i].key) && cbor_string_length(p[i].key) > w)
			w = cbor_string_length(p[i].key);
	return w;
}

/* A flat map ({"call": 3, ...}) as "call=3 customer=5". */
static void
flat_map(const cbor_item_t *v, char *buf, size_t bufsz)
{
	struct cbor_pair *p = cbor_map_handle(v);
	char raw[64], key[64], val[64];
	size_t i, used = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < cbor_map_size(v); i++) {
		if (msg_item_str(p[i].key, raw, sizeof(raw)) != COFFER_OK ||
		    out_value(NULL, raw, p[i].value, val, sizeof(val)) !=
		    COFFER_OK)
			continue;
		out_sanitize(raw, 0, key, sizeof(key));
		n = snprintf(buf + used, bufsz - used, "%s%s=%s",
		    used > 0 ? " " : "", key, val);
		if (n < 0 || (size_t)n >= bufsz - used)
			break;
		used += (size_t)n;
	}
}

static void
print_line(const char *key, size_t width, const struct field_def *f,
    const cbor_item_t *v)
{
	char *buf = malloc(VALUE_MAX), name[80];

	if (buf == NULL)
		return;
	out_sanitize(key, 0, name, sizeof(name));
	if (cbor_isa_map(v))
		flat_map(v, buf, VALUE_MAX);
	else if (out_value(f, key, v, buf, VALUE_MAX) != COFFER_OK)
		snprintf(buf, VALUE_MAX, "?");
	/* No trailing blank after an empty value. */
	printf("%s:%*s%s%s\n", name, (int)(width - strlen(name)), "",
	    buf[0] != '\0' ? " " : "", buf);
	free(buf);
}

static int
in_list(const char *const *list, const char *key)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return 1;
	return 0;
}

/*
 * "key: value" lines: the fields of kind k in schema order (or, without a
 * kind, the preferred order above), then any other keys in map order.
 */
static int
print_fields(const struct kind_def *k, const cbor_item_t *map)
{
	const char *const *order = k == NULL ? preferred_order : NULL;
	struct cbor_pair *p;
	const cbor_item_t *v;
	size_t i, w;
	char key[80];

	if (map == NULL || !cbor_isa_map(map))
		return COFFER_ERR_PROTO;
	w = key_width(map);
	for (i = 0; k != NULL && i < k->nfields; i++)
		if ((v = msg_get(map, k->fields[i].name)) != NULL &&
		    !cbor_is_null(v))
			print_line(k->fields[i].name, w, &k->fields[i], v);
	for (i = 0; order != NULL && order[i] != NULL; i++)
		if ((v = msg_get(map, order[i])) != NULL && !cbor_is_null(v))
			print_line(order[i], w, NULL, v);
	p = cbor_map_handle(map);
	for (i = 0; i < cbor_map_size(map); i++) {
		if (msg_item_str(p[i].key, key, sizeof(key)) != COFFER_OK ||
		    (k != NULL && schema_field(k, key) != NULL) ||
		    in_list(order, key))
			continue;
		print_line(key, w, NULL, p[i].value);
	}
	return COFFER_OK;
}

/* "(masked: phone, email)": names in the answer's list KEY, if any. */
static void
print_hidden(const cbor_item_t *res, const char *key, const char *word)
{
	const cbor_item_t *a = msg_get(res, key);
	char name[64], clean[64];
	size_t i, n;

	if (a == NULL || !cbor_isa_array(a) || (n = cbor_array_size(a)) == 0)
		return;
	printf("(%s:", word);
	for (i = 0; i < n; i++)
		if (msg_item_str(cbor_array_handle(a)[i], name, sizeof(name)) ==
		    COFFER_OK) {
			out_sanitize(name, 0, clean, sizeof(clean));
			printf("%s %s", i ? "," : "", clean);
		}
	printf(")\n");
}

/*
 * Result {"record": {...}} as field lines, or JSON.  The daemon masks
 * fields by policy; say which, so a masked value is not taken for data.
 */
static int
print_record_result(struct ctx *c, const struct kind_def *k,
    const cbor_item_t *res)
{
	int rc;

	if (c->json)
		return print_json(res);
	rc = print_fields(k, msg_get(res, "record"));
	if (rc == COFFER_OK && !c->quiet) {
		print_hidden(res, "masked", "masked, see 'coffer reveal'");
		print_hidden(res, "omitted", "not shown at your clearance");
	}
	return rc;
}

/* ---- commands ------------------------------------------------------ */

/* An operation without arguments whose result is printed as fields. */
static int
simple_call(struct ctx *c, int argc, const char *op)
{
	cbor_item_t *res = NULL;
	int rc;

	if (argc > 1)
		return fail(c, COFFER_ERR_USAGE, "%s: takes no arguments", op);
	if ((rc = call(c, op, NULL, &res)) != COFFER_OK)
		return rc;
	rc = c->json ? print_json(res) : print_fields(NULL, res);
	cbor_decref(&res);
	return rc;
}

static int
cmd_status(struct ctx *c, int argc, char **argv)
{
	(void)argv;
	return simple_call(c, argc, "status");
}

static int
cmd_whoami(struct ctx *c, int argc, char **argv)
{
	(void)argv;
	return simple_call(c, argc, "whoami");
}

/* An online backup on the daemon's machine (docs/backup.md). */
static int
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

/* Columns shown by `list`, per kind; absent names are skipped. */
static const struct {
	const char *kind;
	const char *cols[7];
} list_columns[] = {
	{ "customer", { "id", "name", "phone", "stage", "intent", "owner_id" } },
	{ "call", { "id", "customer_id", "started", "duration", "outcome",
	    "agent_id" } },
	{ "followup", { "id", "customer_id", "due", "kind", "status",
	    "agent_id" } },
	{ "deal", { "id", "customer_id", "product_id", "amount",
	    "payment_status", "closed" } },
	{ "product", { "id", "name", "list_price" } },
	{ "note", { "id", "kind", "subject", "customer_id", "department" } },
};

/* Column fields for kind k: the table above, else id + required fields. */
static size_t
columns_for(const struct kind_def *k, const struct field_def **cols,
    size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < sizeof(list_columns) / sizeof(list_columns[0]); i++) {
		if (strcmp(list_columns[i].kind, k->name) != 0)
			continue;
		for (j = 0; j < 7 && list_columns[i].cols[j] != NULL && n < max;
		    j++)
			if ((cols[n] = schema_field(k, list_columns[i].cols[j]))
			    != NULL)
				n++;
		return n;
	}
	for (i = 0; i < k->nfields && n < max; i++)
		if (strcmp(k->fields[i].name, "id") == 0 ||
		    ((k->fields[i].flags & FF_REQUIRED) != 0 &&
		    k->fields[i].type != FT_TEXT))
			cols[n++] = &k->fields[i];
	return n;
}

static int
print_table(struct ctx *c, const struct field_def **cols, size_t ncols,
    const char *const *heads, const cbor_item_t *rows)
{
	struct out_table *t = NULL;
	char *cells[8] = { NULL };
	size_t i, j;
	int rc = COFFER_ERR_NOMEM;

	if ((t = out_table_new(ncols, heads)) == NULL)
		return COFFER_ERR_NOMEM;
	for (j = 0; j < ncols; j++)
		if ((cells[j] = malloc(VALUE_MAX)) == NULL)
			goto out;
	for (i = 0; i < cbor_array_size(rows); i++) {
		const cbor_item_t *row = cbor_array_handle(rows)[i];

		for (j = 0; j < ncols; j++) {
			const cbor_item_t *v = msg_get(row, heads[j]);

			cells[j][0] = '\0';
			if (v != NULL && !cbor_is_null(v))
				out_value(cols != NULL ? cols[j] : NULL, heads[j],
				    v, cells[j], VALUE_MAX);
		}
		if ((rc = out_table_add(t, (const char *const *)cells)) !=
		    COFFER_OK)
			goto out;
	}
	rc = out_table_print(t, stdout, !c->quiet);
out:
	for (j = 0; j < ncols; j++)
		free(cells[j]);
	out_table_free(t);
	return rc;
}

static int
list_records(struct ctx *c, const struct kind_def *k, const cbor_item_t *res)
{
	const struct field_def *cols[7];
	const char *heads[7];
	const cbor_item_t *rows = msg_get(res, "records");
	uint64_t total = 0, offset = 0;
	size_t n, i;
	int rc;

	if (rows == NULL || !cbor_isa_array(rows))
		return fail(c, COFFER_ERR_PROTO, "list: the daemon's answer has "
		    "no records");
	n = columns_for(k, cols, 7);
	for (i = 0; i < n; i++)
		heads[i] = cols[i]->name;
	if ((rc = print_table(c, cols, n, heads, rows)) != COFFER_OK)
		return rc;
	(void)msg_get_uint(res, "total", &total);
	(void)msg_get_uint(res, "offset", &offset);
	if (!c->quiet && total == 0)
		printf("(no %s)\n", k->plural);
	else if (!c->quiet && total > cbor_array_size(rows))
		printf("(%zu of %llu %s, from offset %llu; use --limit/--offset "
		    "for more)\n", cbor_array_size(rows),
		    (unsigned long long)total, k->plural,
		    (unsigned long long)offset);
	return COFFER_OK;
}

/* KIND and --filter/--limit/--offset into the record.list args. */
static int
list_args(struct ctx *c, int argc, char **argv, const struct kind_def **k,
    cbor_item_t *args)
{
	static const struct option lo[] = {
		{ "filter", required_argument, NULL, 'f' },
		{ "limit", required_argument, NULL, 'n' },
		{ "offset", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *filters[64];
	size_t nf = 0;
	uint64_t v;
	cbor_item_t *fmap = NULL;
	int opt, rc;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":f:n:o:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (nf == sizeof(filters) / sizeof(filters[0]))
				return fail(c, COFFER_ERR_USAGE, "list: too "
				    "many filters");
			filters[nf++] = optarg;
			break;
		case 'n':
		case 'o':
			if (cli_parse_uint(optarg, &v) != COFFER_OK)
				return fail(c, COFFER_ERR_USAGE, "%s=%.40s: not "
				    "an unsigned integer", opt == 'n' ? "limit" :
				    "offset", optarg);
			if ((rc = msg_put_uint(args, opt == 'n' ? "limit" :
			    "offset", v)) != COFFER_OK)
				return rc;
			break;
		case 'h':
			show_help("list");
			return -1;
		default:
			return bad_option(c, "list", argv, opt);
		}
	}
	if ((rc = need_kind(c, "list", argv[optind], k)) != COFFER_OK)
		return rc;
	if (optind + 1 < argc)
		return fail(c, COFFER_ERR_USAGE, "list: unexpected '%.40s' "
		    "(filters are given with --filter FIELD=VALUE)",
		    argv[optind + 1]);
	if ((rc = msg_put_str(args, "kind", (*k)->name)) != COFFER_OK)
		return rc;
	if (nf == 0)
		return COFFER_OK;
	if ((rc = cli_fields(*k, filters, nf, CLI_FILTER, c->now, &fmap,
	    c->msg, sizeof(c->msg))) != COFFER_OK)
		return rc;
	return msg_put(args, "filters", fmap);
}

static int
cmd_list(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	cbor_item_t *args = msg_new_map(), *res = NULL;
	int rc;

	if (args == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = list_args(c, argc, argv, &k, args)) != COFFER_OK) {
		cbor_decref(&args);
		return rc < 0 ? COFFER_OK : rc;
	}
	if ((rc = call(c, "record.list", args, &res)) != COFFER_OK)
		return rc;
	rc = c->json ? print_json(res) : list_records(c, k, res);
	cbor_decref(&res);
	return rc;
}

/*
 * Options of show/create/update/delete: -h, and --version N where allowed.
 * Leaves the positional words in argv[optind..argc).  Returns -1 after
 * printing help.
 */
static int
record_opts(struct ctx *c, const char *cmd, int argc, char **argv,
    int with_version, uint64_t *version)
{
	static const struct option lo[] = {
		{ "version", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, with_version ? ":V:h" : ":h", lo,
	    NULL)) != -1) {
		if (opt == 'h') {
			show_help(cmd);
			return -1;
		}
		if (opt == 'V' && with_version) {
			if (cli_parse_uint(optarg, version) != COFFER_OK ||
			    *version == 0)
				return fail(c, COFFER_ERR_USAGE, "version=%.40s: "
				    "not a positive integer", optarg);
			continue;
		}
		return bad_option(c, cmd, argv, opt);
	}
	return COFFER_OK;
}

/* KIND ID from argv[optind], argv[optind + 1]. */
static int
kind_and_id(struct ctx *c, const char *cmd, int argc, char **argv,
    const struct kind_def **k, uint64_t *id)
{
	int rc;

	if ((rc = need_kind(c, cmd, optind < argc ? argv[optind] : NULL, k)) !=
	    COFFER_OK)
		return rc;
	if (optind + 1 >= argc)
		return fail(c, COFFER_ERR_USAGE, "%s: missing record ID (usage: "
		    "coffer %s)", cmd, help_find(cmd)->synopsis);
	return parse_id(c, "id", argv[optind + 1], id);
}

/* {"kind": k, "id": id} */
static cbor_item_t *
kind_id_args(const struct kind_def *k, uint64_t id)
{
	cbor_item_t *a = msg_new_map();

	if (a != NULL && (msg_put_str(a, "kind", k->name) != COFFER_OK ||
	    msg_put_uint(a, "id", id) != COFFER_OK))
		cbor_decref(&a);
	return a;
}

/* The record's current version, for update/delete without --version. */
static int
current_version(struct ctx *c, const struct kind_def *k, uint64_t id,
    uint64_t *version)
{
	cbor_item_t *res = NULL, *args = kind_id_args(k, id);
	const cbor_item_t *rec;
	int rc;

	if (args == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = call(c, "record.get", args, &res)) != COFFER_OK)
		return rc;
	rec = msg_get(res, "record");
	if (rec == NULL || msg_get_uint(rec, "version", version) != COFFER_OK)
		rc = fail(c, COFFER_ERR_PROTO, "the daemon's record has no "
		    "version");
	cbor_decref(&res);
	return rc;
}

static int
cmd_show(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	cbor_item_t *args = NULL, *res = NULL;
	uint64_t id = 0;
	int rc;

	if ((rc = record_opts(c, "show", argc, argv, 0, NULL)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = kind_and_id(c, "show", argc, argv, &k, &id)) != COFFER_OK)
		return rc;
	if (optind + 2 < argc)
		return fail(c, COFFER_ERR_USAGE, "show: unexpected '%.40s'",
		    argv[optind + 2]);
	if ((args = kind_id_args(k, id)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = call(c, "record.get", args, &res)) != COFFER_OK)
		return rc;
	rc = print_record_result(c, k, res);
	cbor_decref(&res);
	return rc;
}

static int
cmd_create(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	cbor_item_t *args = NULL, *fields = NULL, *res = NULL;
	const cbor_item_t *rec;
	uint64_t id = 0;
	int rc;

	if ((rc = record_opts(c, "create", argc, argv, 0, NULL)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = need_kind(c, "create", optind < argc ? argv[optind] : NULL,
	    &k)) != COFFER_OK)
		return rc;
	if ((rc = cli_fields(k, argv + optind + 1, (size_t)(argc - optind - 1),
	    CLI_CREATE, c->now, &fields, c->msg, sizeof(c->msg))) != COFFER_OK)
		return rc;
	if ((args = msg_new_map()) == NULL ||
	    msg_put_str(args, "kind", k->name) != COFFER_OK) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	rc = msg_put(args, "fields", fields);
	fields = NULL; /* taken */
	if (rc != COFFER_OK)
		goto out;
	rc = call(c, "record.create", args, &res);
	args = NULL; /* taken */
	if (rc != COFFER_OK)
		goto out;
	if (c->quiet && !c->json) {
		rec = msg_get(res, "record");
		if (rec != NULL && msg_get_uint(rec, "id", &id) == COFFER_OK)
			printf("%llu\n", (unsigned long long)id);
	} else {
		rc = print_record_result(c, k, res);
	}
out:
	if (fields != NULL)
		cbor_decref(&fields);
	if (args != NULL)
		cbor_decref(&args);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}

static int
cmd_update(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	cbor_item_t *args = NULL, *fields = NULL, *res = NULL;
	uint64_t id = 0, version = 0;
	int rc;

	if ((rc = record_opts(c, "update", argc, argv, 1, &version)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = kind_and_id(c, "update", argc, argv, &k, &id)) != COFFER_OK)
		return rc;
	if ((rc = cli_fields(k, argv + optind + 2, (size_t)(argc - optind - 2),
	    CLI_UPDATE, c->now, &fields, c->msg, sizeof(c->msg))) != COFFER_OK)
		return rc;
	if (version == 0 &&
	    (rc = current_version(c, k, id, &version)) != COFFER_OK)
		goto out;
	if ((args = kind_id_args(k, id)) == NULL ||
	    msg_put_uint(args, "version", version) != COFFER_OK) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	rc = msg_put(args, "fields", fields);
	fields = NULL; /* taken */
	if (rc != COFFER_OK)
		goto out;
	rc = call(c, "record.update", args, &res);
	args = NULL; /* taken */
	if (rc == COFFER_OK && (!c->quiet || c->json))
		rc = print_record_result(c, k, res);
out:
	if (fields != NULL)
		cbor_decref(&fields);
	if (args != NULL)
		cbor_decref(&args);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}

static int
cmd_delete(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	cbor_item_t *args = NULL, *res = NULL;
	uint64_t id = 0, version = 0;
	int rc;

	if ((rc = record_opts(c, "delete", argc, argv, 1, &version)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = kind_and_id(c, "delete", argc, argv, &k, &id)) != COFFER_OK)
		return rc;
	if (optind + 2 < argc)
		return fail(c, COFFER_ERR_USAGE, "delete: unexpected '%.40s'",
		    argv[optind + 2]);
	if (version == 0 &&
	    (rc = current_version(c, k, id, &version)) != COFFER_OK)
		return rc;
	if ((args = kind_id_args(k, id)) == NULL ||
	    msg_put_uint(args, "version", version) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	if ((rc = call(c, "record.delete", args, &res)) != COFFER_OK)
		return rc;
	if (c->json)
		rc = print_json(res);
	else if (!c->quiet)
		printf("deleted %s %llu\n", k->name, (unsigned long long)id);
	cbor_decref(&res);
	return rc;
}

/* reveal KIND ID FIELD: one field's full value, audited and counted. */
static int
cmd_reveal(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	const struct field_def *f;
	const cbor_item_t *v;
	cbor_item_t *args = NULL, *res = NULL;
	uint64_t id = 0;
	char *buf = NULL;
	int rc;

	if ((rc = record_opts(c, "reveal", argc, argv, 0, NULL)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = kind_and_id(c, "reveal", argc, argv, &k, &id)) != COFFER_OK)
		return rc;
	if (optind + 2 >= argc)
		return fail(c, COFFER_ERR_USAGE, "reveal: missing FIELD (usage: "
		    "coffer %s)", help_find("reveal")->synopsis);
	if (optind + 3 < argc)
		return fail(c, COFFER_ERR_USAGE, "reveal: unexpected '%.40s'",
		    argv[optind + 3]);
	if ((f = schema_field(k, argv[optind + 2])) == NULL)
		return fail(c, COFFER_ERR_USAGE, "reveal: %s has no field "
		    "'%.40s' (see 'coffer fields %s')", k->name,
		    argv[optind + 2], k->name);
	if ((args = kind_id_args(k, id)) == NULL ||
	    msg_put_str(args, "field", f->name) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	if ((rc = call(c, "record.reveal", args, &res)) != COFFER_OK)
		return rc;
	if (c->json)
		rc = print_json(res);
	else if ((v = msg_get(res, "value")) == NULL)
		rc = fail(c, COFFER_ERR_PROTO, "the daemon's answer has no value");
	else if (!cbor_is_null(v)) {
		if ((buf = malloc(VALUE_MAX)) == NULL)
			rc = COFFER_ERR_NOMEM;
		else if (out_value(f, f->name, v, buf, VALUE_MAX) == COFFER_OK)
			printf("%s\n", buf);
		free(buf);
	}
	cbor_decref(&res);
	return rc;
}

/* ---- fields (local) ------------------------------------------------ */

static void
flag_text(const struct field_def *f, char *buf, size_t bufsz)
{
	buf[0] = '\0';
	if (f->flags & FF_SERVER)
		strncat(buf, "daemon ", bufsz - strlen(buf) - 1);
	if (f->flags & FF_REQUIRED)
		strncat(buf, "required ", bufsz - strlen(buf) - 1);
	if (f->flags & FF_IMMUTABLE)
		strncat(buf, "immutable ", bufsz - strlen(buf) - 1);
	if (f->flags & FF_FILTER)
		strncat(buf, "filter ", bufsz - strlen(buf) - 1);
	if (buf[0] != '\0')
		buf[strlen(buf) - 1] = '\0';
}

static const char *
type_word(const struct field_def *f)
{
	static const char *const words[] = { "text", "integer", "money",
	    "enum", "phone", "email", "time", "bool", "ref" };

	if (f->type == FT_INT && f->ref_kind != NULL)
		return "ref";
	return (size_t)f->type < sizeof(words) / sizeof(words[0]) ?
	    words[f->type] : "?";
}

static int
fields_json(const struct kind_def *k)
{
	cbor_item_t *arr = msg_new_array(), *top = msg_new_map(), *f;
	char flags[64];
	size_t i;
	int rc = COFFER_ERR_NOMEM;

	if (arr == NULL || top == NULL)
		goto out;
	for (i = 0; i < k->nfields; i++) {
		if ((f = msg_new_map()) == NULL)
			goto out;
		flag_text(&k->fields[i], flags, sizeof(flags));
		if (msg_put_str(f, "name", k->fields[i].name) != COFFER_OK ||
		    msg_put_str(f, "type", type_word(&k->fields[i])) !=
		    COFFER_OK || msg_put_str(f, "flags", flags) != COFFER_OK ||
		    msg_put_str(f, "help", k->fields[i].help != NULL ?
		    k->fields[i].help : "") != COFFER_OK) {
			cbor_decref(&f);
			goto out;
		}
		if (msg_push(arr, f) != COFFER_OK)
			goto out;
	}
	if (msg_put_str(top, "kind", k->name) != COFFER_OK)
		goto out;
	rc = msg_put(top, "fields", arr);
	arr = NULL; /* taken */
	if (rc == COFFER_OK)
		rc = print_json(top);
out:
	if (arr != NULL)
		cbor_decref(&arr);
	if (top != NULL)
		cbor_decref(&top);
	return rc;
}

static int
fields_table(struct ctx *c, const struct kind_def *k)
{
	static const char *const heads[] = { "FIELD", "TYPE", "FLAGS",
	    "MEANING" };
	struct out_table *t = out_table_new(4, heads);
	char flags[64], type[64];
	size_t i;
	int rc = COFFER_OK;

	if (t == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < k->nfields && rc == COFFER_OK; i++) {
		const struct field_def *f = &k->fields[i];
		const char *cells[4];

		flag_text(f, flags, sizeof(flags));
		if (f->ref_kind != NULL)
			snprintf(type, sizeof(type), "ref:%s", f->ref_kind);
		else
			snprintf(type, sizeof(type), "%s", type_word(f));
		cells[0] = f->name;
		cells[1] = type;
		cells[2] = flags;
		cells[3] = f->help != NULL ? f->help : "";
		rc = out_table_add(t, cells);
	}
	if (rc == COFFER_OK)
		rc = out_table_print(t, stdout, !c->quiet);
	out_table_free(t);
	return rc;
}

static int
list_kinds(struct ctx *c)
{
	static const char *const heads[] = { "KIND", "PLURAL", "WHAT" };
	const struct kind_def *ks;
	struct out_table *t = out_table_new(3, heads);
	size_t n, i;
	int rc = COFFER_OK;

	if (t == NULL)
		return COFFER_ERR_NOMEM;
	ks = schema_kinds(&n);
	for (i = 0; i < n && rc == COFFER_OK; i++) {
		const char *cells[3] = { ks[i].name, ks[i].plural,
		    ks[i].help != NULL ? ks[i].help : "" };

		rc = out_table_add(t, cells);
	}
	if (rc == COFFER_OK)
		rc = out_table_print(t, stdout, !c->quiet);
	out_table_free(t);
	return rc;
}

static int
cmd_fields(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	int rc;

	if ((rc = record_opts(c, "fields", argc, argv, 0, NULL)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if (optind >= argc)
		return list_kinds(c);
	if ((rc = need_kind(c, "fields", argv[optind], &k)) != COFFER_OK)
		return rc;
	return c->json ? fields_json(k) : fields_table(c, k);
}

/* ---- user administration ------------------------------------------- */

static int
print_user_result(struct ctx *c, const cbor_item_t *res)
{
	if (c->json)
		return print_json(res);
	if (c->quiet)
		return COFFER_OK;
	return print_fields(NULL, msg_get(res, "user"));
}

static int
cmd_user_list(struct ctx *c, int argc, char **argv)
{
	static const char *const heads[] = { "name", "display", "role", "team",
	    "manager", "clearance", "active", "fingerprint" };
	const cbor_item_t *users;
	cbor_item_t *res = NULL;
	int rc;

	if ((rc = record_opts(c, "user list", argc, argv, 0, NULL)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if (optind < argc)
		return fail(c, COFFER_ERR_USAGE, "user list: takes no "
		    "arguments");
	if ((rc = call(c, "user.list", NULL, &res)) != COFFER_OK)
		return rc;
	users = msg_get(res, "users");
	if (c->json)
		rc = print_json(res);
	else if (users == NULL || !cbor_isa_array(users))
		rc = fail(c, COFFER_ERR_PROTO, "user list: the daemon's answer "
		    "has no users");
	else
		rc = print_table(c, NULL, 8, heads, users);
	cbor_decref(&res);
	return rc;
}

/* --pubkey FILE -> "pubkey": 32 bytes. */
static int
put_pubkey(struct ctx *c, cbor_item_t *args, const char *file)
{
	unsigned char pk[32];
	char fpr[USERKEY_FPR_TEXT];
	int rc;

	if ((rc = userkey_load_public(file, pk)) != COFFER_OK)
		return fail(c, COFFER_ERR_USAGE, "pubkey=%s: %s", file,
		    rc == COFFER_ERR_INVALID ? "not a coffer public key file "
		    "(made by 'coffer keygen')" : coffer_strerror(rc));
	if (!c->quiet && !c->json) {
		userkey_fingerprint(pk, fpr, sizeof(fpr));
		fprintf(stderr, "coffer: registering key %s\n", fpr);
	}
	return msg_put_bytes(args, "pubkey", pk, sizeof(pk));
}

/*
 * Options of user add/update into args.  required lists the options that
 * must be present (add); *nset counts those given.
 */
static int
user_opts(struct ctx *c, const char *cmd, int argc, char **argv,
    cbor_item_t *args, int is_add, int *nset)
{
	static const struct option lo[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "clearance", required_argument, NULL, 'c' },
		{ "pubkey", required_argument, NULL, 'p' },
		{ "team", required_argument, NULL, 't' },
		{ "manager", required_argument, NULL, 'm' },
		{ "display", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *key;
	int opt, rc;

	optind = 0;
	opterr = 0;
	*nset = 0;
	while ((opt = getopt_long(argc, argv, is_add ? ":r:c:p:t:m:d:h" :
	    ":r:c:p:t:m:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'h':
			show_help(cmd);
			return -1;
		case 'p':
			if ((rc = put_pubkey(c, args, optarg)) != COFFER_OK)
				return rc;
			(*nset)++;
			continue;
		case 'r': key = "role"; break;
		case 'c': key = "clearance"; break;
		case 't': key = "team"; break;
		case 'm': key = "manager"; break;
		case 'd':
			if (!is_add)
				return bad_option(c, cmd, argv, '?');
			key = "display";
			break;
		default:
			return bad_option(c, cmd, argv, opt);
		}
		if (msg_get(args, key) != NULL)
			return fail(c, COFFER_ERR_USAGE, "%s: --%s given twice",
			    cmd, key);
		if (!cli_utf8_valid(optarg, strlen(optarg)))
			return fail(c, COFFER_ERR_USAGE, "%s: not valid UTF-8",
			    key);
		if ((rc = msg_put_str(args, key, optarg)) != COFFER_OK)
			return rc;
		(*nset)++;
	}
	return COFFER_OK;
}

/* The NAME operand: exactly one word after the options. */
static int
user_name(struct ctx *c, const char *cmd, int argc, char **argv,
    cbor_item_t *args)
{
	if (optind >= argc)
		return fail(c, COFFER_ERR_USAGE, "%s: missing user NAME (usage: "
		    "coffer %s)", cmd, help_find(cmd)->synopsis);
	if (optind + 1 < argc)
		return fail(c, COFFER_ERR_USAGE, "%s: unexpected '%.40s'", cmd,
		    argv[optind + 1]);
	if (strlen(argv[optind]) > SESSION_USER_MAX ||
	    !cli_utf8_valid(argv[optind], strlen(argv[optind])))
		return fail(c, COFFER_ERR_USAGE, "%s: bad user name", cmd);
	return msg_put_str(args, "name", argv[optind]);
}

static int
cmd_user_add(struct ctx *c, int argc, char **argv)
{
	static const char *const need[] = { "role", "clearance", "pubkey" };
	cbor_item_t *args = msg_new_map(), *res = NULL;
	size_t i;
	int n = 0, rc;

	if (args == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = user_opts(c, "user add", argc, argv, args, 1, &n)) !=
	    COFFER_OK || (rc = user_name(c, "user add", argc, argv, args)) !=
	    COFFER_OK)
		goto out;
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (msg_get(args, need[i]) == NULL) {
			rc = fail(c, COFFER_ERR_USAGE, "user add: --%s is "
			    "required", need[i]);
			goto out;
		}
	rc = call(c, "user.add", args, &res);
	args = NULL; /* taken */
	if (rc == COFFER_OK)
		rc = print_user_result(c, res);
out:
	if (args != NULL)
		cbor_decref(&args);
	if (res != NULL)
		cbor_decref(&res);
	return rc < 0 ? COFFER_OK : rc;
}

static int
cmd_user_update(struct ctx *c, int argc, char **argv)
{
	cbor_item_t *args = msg_new_map(), *res = NULL;
	int n = 0, rc;

	if (args == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = user_opts(c, "user update", argc, argv, args, 0, &n)) !=
	    COFFER_OK || (rc = user_name(c, "user update", argc, argv, args)) !=
	    COFFER_OK)
		goto out;
	if (n == 0) {
		rc = fail(c, COFFER_ERR_USAGE, "user update: nothing to change "
		    "(give --role, --clearance, --team, --manager or --pubkey)");
		goto out;
	}
	rc = call(c, "user.update", args, &res);
	args = NULL; /* taken */
	if (rc == COFFER_OK)
		rc = print_user_result(c, res);
out:
	if (args != NULL)
		cbor_decref(&args);
	if (res != NULL)
		cbor_decref(&res);
	return rc < 0 ? COFFER_OK : rc;
}

static int
user_set_active(struct ctx *c, const char *cmd, int argc, char **argv,
    int active)
{
	cbor_item_t *args = NULL, *res = NULL;
	int rc;

	if ((rc = record_opts(c, cmd, argc, argv, 0, NULL)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((args = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = user_name(c, cmd, argc, argv, args)) != COFFER_OK ||
	    (rc = msg_put_bool(args, "active", active)) != COFFER_OK) {
		cbor_decref(&args);
		return rc;
	}
	if ((rc = call(c, "user.update", args, &res)) != COFFER_OK)
		return rc;
	rc = print_user_result(c, res);
	cbor_decref(&res);
	return rc;
}

static int
cmd_user_disable(struct ctx *c, int argc, char **argv)
{
	return user_set_active(c, "user disable", argc, argv, 0);
}

static int
cmd_user_enable(struct ctx *c, int argc, char **argv)
{
	return user_set_active(c, "user enable", argc, argv, 1);
}

/* ---- audit trail (compliance officer) ------------------------------ */

/* The filters of audit search/export, as given on the command line. */
struct audit_args {
	const char *actor, *kind, *op, *decision;
	uint64_t actor_id, id, after, limit;
	int64_t since, until;
	int has_after, has_since, has_until;
};

enum {
	OPT_ACTOR = 300, OPT_ACTOR_ID, OPT_KIND, OPT_ID, OPT_OP, OPT_DECISION,
	OPT_SINCE, OPT_UNTIL, OPT_LIMIT, OPT_AFTER, OPT_KEY
};

static int
audit_number(struct ctx *c, const char *what, const char *s, uint64_t *v)
{
	if (cli_parse_uint(s, v) != COFFER_OK || *v > INT64_MAX)
		return fail(c, COFFER_ERR_USAGE, "%s=%.40s: not an unsigned "
		    "integer", what, s);
	return COFFER_OK;
}

static int
audit_time(struct ctx *c, const char *what, const char *s, int64_t *t)
{
	if (cli_parse_time(s, c->now, t) != COFFER_OK || *t < 0)
		return fail(c, COFFER_ERR_USAGE, "%s=%.40s: not a time (e.g. "
		    "2024-05-01, 2024-05-01T14:30, -2h, now)", what, s);
	return COFFER_OK;
}

/* One option of audit search/export into a; opt is getopt's answer. */
static int
audit_opt(struct ctx *c, int opt, const char *arg, struct audit_args *a)
{
	static const char *const decisions[] = { "allowed", "denied", "error",
	    "pending", NULL };
	const struct kind_def *k;
	size_t i;

	switch (opt) {
	case OPT_ACTOR: a->actor = arg; return COFFER_OK;
	case OPT_OP: a->op = arg; return COFFER_OK;
	case OPT_ACTOR_ID: return audit_number(c, "actor-id", arg, &a->actor_id);
	case OPT_ID: return audit_number(c, "id", arg, &a->id);
	case OPT_LIMIT: return audit_number(c, "limit", arg, &a->limit);
	case OPT_AFTER:
		a->has_after = 1;
		return audit_number(c, "after", arg, &a->after);
	case OPT_SINCE:
		a->has_since = 1;
		return audit_time(c, "since", arg, &a->since);
	case OPT_UNTIL:
		a->has_until = 1;
		return audit_time(c, "until", arg, &a->until);
	case OPT_KIND:
		if ((k = schema_kind(arg)) == NULL)
			return fail(c, COFFER_ERR_USAGE, "kind=%.40s: no such "
			    "kind (kinds: customer, call, followup, deal, "
			    "product, note)", arg);
		a->kind = k->name;
		return COFFER_OK;
	case OPT_DECISION:
		for (i = 0; decisions[i] != NULL; i++)
			if (strcmp(arg, decisions[i]) == 0) {
				a->decision = decisions[i];
				return COFFER_OK;
			}
		return fail(c, COFFER_ERR_USAGE, "decision=%.40s: must be "
		    "allowed, denied, error or pending", arg);
	default:
		return COFFER_ERR_USAGE;
	}
}

static int
audit_filter_opts(struct ctx *c, const char *cmd, int argc, char **argv,
    struct audit_args *a)
{
	static const struct option lo[] = {
		{ "actor", required_argument, NULL, OPT_ACTOR },
		{ "actor-id", required_argument, NULL, OPT_ACTOR_ID },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "id", required_argument, NULL, OPT_ID },
		{ "op", required_argument, NULL, OPT_OP },
		{ "decision", required_argument, NULL, OPT_DECISION },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "after", required_argument, NULL, OPT_AFTER },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt, rc;

	memset(a, 0, sizeof(*a));
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (opt == 'h') {
			show_help(cmd);
			return -1;
		}
		if (opt == ':' || opt == '?')
			return bad_option(c, cmd, argv, opt);
		if ((rc = audit_opt(c, opt, optarg, a)) != COFFER_OK)
			return rc;
	}
	if (optind < argc)
		return fail(c, COFFER_ERR_USAGE, "%s: unexpected '%.40s' (see "
		    "'coffer %s --help')", cmd, argv[optind], cmd);
	if (a->has_since && a->has_until && a->until <= a->since)
		return fail(c, COFFER_ERR_USAGE, "%s: --until must be later than "
		    "--since", cmd);
	return COFFER_OK;
}

/* One optional argument; a no-op once rc is an error or v is unset. */
static void
put_opt_str(cbor_item_t *m, const char *key, const char *v, int *rc)
{
	if (*rc == COFFER_OK && v != NULL)
		*rc = msg_put_str(m, key, v);
}

static void
put_opt_uint(cbor_item_t *m, const char *key, int set, uint64_t v, int *rc)
{
	if (*rc == COFFER_OK && set)
		*rc = msg_put_uint(m, key, v);
}

/* The request args for one page; limit 0 leaves the daemon's default. */
static cbor_item_t *
audit_args_map(const struct audit_args *a, uint64_t limit)
{
	cbor_item_t *m = msg_new_map();
	int rc = COFFER_OK;

	if (m == NULL)
		return NULL;
	put_opt_str(m, "actor", a->actor, &rc);
	put_opt_str(m, "kind", a->kind, &rc);
	put_opt_str(m, "op", a->op, &rc);
	put_opt_str(m, "decision", a->decision, &rc);
	put_opt_uint(m, "actor_id", a->actor_id != 0, a->actor_id, &rc);
	put_opt_uint(m, "id", a->id != 0, a->id, &rc);
	put_opt_uint(m, "from", a->has_since, (uint64_t)a->since, &rc);
	put_opt_uint(m, "to", a->has_until, (uint64_t)a->until, &rc);
	put_opt_uint(m, "after", a->has_after, a->after, &rc);
	put_opt_uint(m, "limit", limit != 0, limit, &rc);
	if (rc != COFFER_OK)
		cbor_decref(&m);
	return m;
}

/* "customer 12", "customer 3,4,5", "12" or "" for a record's target. */
static void
audit_target(const cbor_item_t *rec, char *buf, size_t bufsz)
{
	const cbor_item_t *tids = msg_get(rec, "tids");
	char kind[64] = "", ids[256] = "";
	int64_t id;
	size_t i, used = 0;
	int n;

	(void)msg_get_str(rec, "kind", kind, sizeof(kind));
	if (msg_get_int(rec, "tid", &id) == COFFER_OK)
		snprintf(ids, sizeof(ids), "%lld", (long long)id);
	for (i = 0; tids != NULL && cbor_isa_array(tids) &&
	    i < cbor_array_size(tids); i++) {
		if (msg_item_int(cbor_array_handle(tids)[i], &id) != COFFER_OK)
			continue;
		n = snprintf(ids + used, sizeof(ids) - used, "%s%lld",
		    used > 0 ? "," : "", (long long)id);
		if (n < 0 || (size_t)n >= sizeof(ids) - used)
			break;
		used += (size_t)n;
	}
	snprintf(buf, bufsz, "%s%s%s", kind, kind[0] && ids[0] ? " " : "",
	    ids);
}

/* Record time: microseconds since 1970 -> "2024-05-01T08:30:00Z". */
static void
audit_when(const cbor_item_t *rec, char *buf, size_t bufsz)
{
	uint64_t us = 0;

	buf[0] = '\0';
	if (msg_get_uint(rec, "ts", &us) == COFFER_OK)
		out_time((int64_t)(us / 1000000u), buf, bufsz);
}

static int
audit_table(struct ctx *c, const cbor_item_t *rows)
{
	static const char *const heads[] = { "seq", "time", "actor", "role",
	    "op", "target", "decision", "reason" };
	static const char *const keys[] = { "seq", NULL, "actor", "role",
	    "op", NULL, "dec", "why" };
	struct out_table *t = out_table_new(8, heads);
	char cells[8][256];
	const char *cp[8];
	size_t i, j;
	int rc = COFFER_OK;

	if (t == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < cbor_array_size(rows) && rc == COFFER_OK; i++) {
		const cbor_item_t *rec = cbor_array_handle(rows)[i], *v;

		for (j = 0; j < 8; j++) {
			cells[j][0] = '\0';
			cp[j] = cells[j];
			if (keys[j] != NULL && (v = msg_get(rec, keys[j])) !=
			    NULL)
				out_value(NULL, keys[j], v, cells[j],
				    sizeof(cells[j]));
		}
		audit_when(rec, cells[1], sizeof(cells[1]));
		audit_target(rec, cells[5], sizeof(cells[5]));
		rc = out_table_add(t, cp);
	}
	if (rc == COFFER_OK)
		rc = out_table_print(t, stdout, !c->quiet);
	out_table_free(t);
	return rc;
}

static int
cmd_audit_search(struct ctx *c, int argc, char **argv)
{
	struct audit_args a;
	cbor_item_t *args, *res = NULL;
	const cbor_item_t *rows;
	uint64_t next;
	int rc;

	if ((rc = audit_filter_opts(c, "audit search", argc, argv, &a)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((args = audit_args_map(&a, a.limit)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = call(c, "audit.search", args, &res)) != COFFER_OK)
		return rc;
	rows = msg_get(res, "records");
	if (c->json)
		rc = print_json(res);
	else if (rows == NULL || !cbor_isa_array(rows))
		rc = fail(c, COFFER_ERR_PROTO, "audit search: the daemon's "
		    "answer has no records");
	else if ((rc = audit_table(c, rows)) == COFFER_OK && !c->quiet) {
		if (cbor_array_size(rows) == 0)
			printf("(no matching audit records)\n");
		else if (msg_get_uint(res, "next", &next) == COFFER_OK)
			printf("(more records match: add --after %llu for the "
			    "next page)\n", (unsigned long long)next);
	}
	cbor_decref(&res);
	return rc;
}

/* --key FILE: the log's audit.vkey, or the vault's audit.pub line. */
static int
audit_load_vkey(struct ctx *c, const char *file, unsigned char pk[32],
    char *name, size_t namesz, int *named)
{
	char *text = NULL;
	size_t len;
	int rc;

	if (file_read_all(file, 4096, &text, &len) != COFFER_OK)
		return fail(c, COFFER_ERR_USAGE, "key=%s: cannot read: %s",
		    file, strerror(errno));
	*named = audit_vkey_parse(text, name, namesz, pk) == COFFER_OK;
	rc = *named || userkey_parse_public(text, pk) == COFFER_OK ?
	    COFFER_OK : fail(c, COFFER_ERR_USAGE, "key=%s: not an audit "
	    "verifier key (audit.vkey) or audit.pub", file);
	free(text);
	return rc;
}

/* The proof's hashes into a flat array; *n of them. */
static int
audit_hashes(const cbor_item_t *proof, unsigned char (*h)[32], unsigned *n)
{
	const cbor_item_t *arr = msg_get(proof, "hashes");
	size_t i;

	*n = 0;
	if (arr == NULL || !cbor_isa_array(arr) ||
	    cbor_array_size(arr) > AUDIT_PROOF_MAX)
		return COFFER_ERR_PROTO;
	for (i = 0; i < cbor_array_size(arr); i++) {
		const cbor_item_t *b = cbor_array_handle(arr)[i];

		if (!cbor_isa_bytestring(b) || !cbor_bytestring_is_definite(b) ||
		    cbor_bytestring_length(b) != 32)
			return COFFER_ERR_PROTO;
		memcpy(h[i], cbor_bytestring_handle(b), 32);
	}
	*n = (unsigned)i;
	return COFFER_OK;
}

/*
 * Check the daemon's proof here rather than trusting it: the record is
 * re-encoded (it is canonical CBOR, so this gives its exact bytes) and
 * re-hashed, and the proof must lead to the checkpoint's root.
 */
static int
audit_check_proof(struct ctx *c, const cbor_item_t *res,
    const unsigned char *pk, const char *keyname)
{
	unsigned char (*h)[32] = NULL, *rec = NULL;
	const cbor_item_t *proof = msg_get(res, "proof");
	char cp[4096];
	uint64_t size = 0, index = 0;
	size_t len = 0;
	unsigned n = 0;
	int rc;

	if ((h = calloc(AUDIT_PROOF_MAX, 32)) == NULL)
		return COFFER_ERR_NOMEM;
	if (proof == NULL || audit_hashes(proof, h, &n) != COFFER_OK ||
	    msg_get_uint(proof, "tree_size", &size) != COFFER_OK ||
	    msg_get_uint(proof, "leaf_index", &index) != COFFER_OK ||
	    msg_get_str(res, "checkpoint", cp, sizeof(cp)) != COFFER_OK ||
	    msg_get(res, "record") == NULL ||
	    msg_encode(msg_get(res, "record"), &rec, &len) != COFFER_OK) {
		rc = fail(c, COFFER_ERR_PROTO, "audit show: the daemon's answer "
		    "is incomplete");
		goto out;
	}
	rc = audit_proof_check(rec, len, index, size,
	    (const unsigned char (*)[32])h, n, cp, pk, keyname);
	if (rc != COFFER_OK)
		rc = fail(c, COFFER_ERR_CRYPTO, "audit show: the inclusion proof "
		    "does NOT verify%s", rc == COFFER_ERR_CRYPTO && pk != NULL ?
		    " (or the checkpoint is not signed by that key)" : "");
out:
	free(rec);
	free(h);
	return rc;
}

static void
audit_hex(const unsigned char *p, size_t n, char *buf, size_t bufsz)
{
	sodium_bin2hex(buf, bufsz, p, n);
}

/* Record keys in reading order, with the names of the JSON export. */
static const struct {
	const char *key, *label;
} audit_labels[] = {
	{ "seq", "seq" }, { "ts", "time" }, { "op", "op" },
	{ "actor", "actor" }, { "aid", "actor_id" }, { "afpr", "actor_fpr" },
	{ "role", "role" }, { "sess", "session" }, { "peer", "peer" },
	{ "kind", "kind" }, { "tid", "target_id" }, { "tids", "target_ids" },
	{ "ret", "returned" }, { "mask", "masked" }, { "dec", "decision" },
	{ "why", "reason" }, { "st", "status" }, { "n", "count" },
	{ "chg", "changes" }, { "down", "unavailable" }, { "pol", "policy" },
	{ "prev", "prev" },
};

static void
audit_print_record(const cbor_item_t *rec)
{
	char val[VALUE_MAX];
	const cbor_item_t *v;
	uint64_t us;
	size_t i;

	for (i = 0; i < sizeof(audit_labels) / sizeof(audit_labels[0]); i++) {
		if ((v = msg_get(rec, audit_labels[i].key)) == NULL)
			continue;
		if (strcmp(audit_labels[i].key, "ts") == 0 &&
		    msg_get_uint(rec, "ts", &us) == COFFER_OK) {
			out_time((int64_t)(us / 1000000u), val, sizeof(val));
			printf("%-11s %s (+%06llu us)\n", "time", val,
			    (unsigned long long)(us % 1000000u));
			continue;
		}
		if (cbor_isa_bytestring(v) && cbor_bytestring_length(v) <= 64)
			audit_hex(cbor_bytestring_handle(v),
			    cbor_bytestring_length(v), val, sizeof(val));
		else if (out_value(NULL, audit_labels[i].key, v, val,
		    sizeof(val)) != COFFER_OK)
			snprintf(val, sizeof(val), "?");
		printf("%-11s %s\n", audit_labels[i].label, val);
	}
}

/*
 * A signed note from the daemon, line by line through out_sanitize; with
 * exact, a line that sanitizing would change is refused instead, so what
 * is printed is byte for byte what was signed.
 */
static int
audit_print_note(struct ctx *c, const char *text, int exact)
{
	char line[1024], clean[1024];
	const char *nl;
	size_t n;

	for (; *text != '\0'; text = nl + 1) {
		if ((nl = strchr(text, '\n')) == NULL)
			nl = text + strlen(text) - 1;	/* last, unended */
		n = (size_t)(nl - text) + (*nl != '\n');
		if (n >= sizeof(line))
			return fail(c, COFFER_ERR_PROTO, "checkpoint line too "
			    "long");
		memcpy(line, text, n);
		line[n] = '\0';
		out_sanitize(line, 0, clean, sizeof(clean));
		if (exact && strcmp(line, clean) != 0)
			return fail(c, COFFER_ERR_PROTO, "the daemon's "
			    "checkpoint holds control characters; not printed");
		printf("%s%s", clean, *nl == '\n' ? "\n" : "");
	}
	return COFFER_OK;
}

static int
audit_print_show(struct ctx *c, const cbor_item_t *res, int sig_checked)
{
	const cbor_item_t *proof = msg_get(res, "proof");
	const cbor_item_t *hs = msg_get(proof, "hashes");
	const unsigned char *leaf = NULL;
	char hex[65], cp[4096];
	uint64_t size = 0;
	size_t i, len = 0;

	audit_print_record(msg_get(res, "record"));
	(void)msg_get_uint(proof, "tree_size", &size);
	if (msg_get_bytes(res, "leaf_hash", &leaf, &len) == COFFER_OK &&
	    len == 32) {
		audit_hex(leaf, 32, hex, sizeof(hex));
		printf("%-11s %s\n", "leaf_hash", hex);
	}
	printf("%-11s %llu\n", "tree_size", (unsigned long long)size);
	printf("inclusion proof (%zu hashes, leaf level first):\n",
	    hs != NULL ? cbor_array_size(hs) : 0);
	for (i = 0; hs != NULL && i < cbor_array_size(hs); i++) {
		audit_hex(cbor_bytestring_handle(cbor_array_handle(hs)[i]), 32,
		    hex, sizeof(hex));
		printf("  %s\n", hex);
	}
	printf("proof       verified here: the record's hash leads to the "
	    "checkpoint's root%s\n", sig_checked ? "; the checkpoint's "
	    "signature checked with --key" : " (signature not checked: give "
	    "--key audit.vkey)");
	if (msg_get_str(res, "checkpoint", cp, sizeof(cp)) != COFFER_OK)
		return COFFER_OK;
	printf("signed checkpoint:\n");
	return audit_print_note(c, cp, 0);
}

static int
audit_show_args(struct ctx *c, int argc, char **argv, uint64_t *seq,
    const char **key)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, OPT_KEY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (opt == 'h') {
			show_help("audit show");
			return -1;
		}
		if (opt != OPT_KEY)
			return bad_option(c, "audit show", argv, opt);
		*key = optarg;
	}
	if (optind >= argc)
		return fail(c, COFFER_ERR_USAGE, "audit show: missing SEQ "
		    "(usage: coffer audit show SEQ [--key FILE])");
	if (optind + 1 < argc)
		return fail(c, COFFER_ERR_USAGE, "audit show: unexpected "
		    "'%.40s'", argv[optind + 1]);
	if (cli_parse_uint(argv[optind], seq) != COFFER_OK)
		return fail(c, COFFER_ERR_USAGE, "seq=%.40s: not an unsigned "
		    "integer", argv[optind]);
	return COFFER_OK;
}

static int
cmd_audit_show(struct ctx *c, int argc, char **argv)
{
	unsigned char pk[32];
	char name[160];
	const char *key = NULL;
	cbor_item_t *args = NULL, *res = NULL;
	uint64_t seq = 0;
	int rc, named = 0;

	if ((rc = audit_show_args(c, argc, argv, &seq, &key)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if (key != NULL && (rc = audit_load_vkey(c, key, pk, name,
	    sizeof(name), &named)) != COFFER_OK)
		return rc;
	if ((args = msg_new_map()) == NULL ||
	    msg_put_uint(args, "seq", seq) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	if ((rc = call(c, "audit.show", args, &res)) != COFFER_OK)
		return rc;
	rc = audit_check_proof(c, res, key != NULL ? pk : NULL,
	    named ? name : NULL);
	if (rc == COFFER_OK && c->json)
		rc = print_json(res);
	else if (rc == COFFER_OK)
		rc = audit_print_show(c, res, key != NULL);
	cbor_decref(&res);
	return rc;
}

static int
cmd_audit_checkpoint(struct ctx *c, int argc, char **argv)
{
	cbor_item_t *res = NULL;
	char text[4096];
	int rc;

	if ((rc = record_opts(c, "audit checkpoint", argc, argv, 0, NULL)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if (optind < argc)
		return fail(c, COFFER_ERR_USAGE, "audit checkpoint: takes no "
		    "arguments");
	if ((rc = call(c, "audit.checkpoint", NULL, &res)) != COFFER_OK)
		return rc;
	if (c->json)
		rc = print_json(res);
	else if (msg_get_str(res, "checkpoint", text, sizeof(text)) !=
	    COFFER_OK)
		rc = fail(c, COFFER_ERR_PROTO, "audit checkpoint: the daemon's "
		    "answer has no checkpoint");
	else
		rc = audit_print_note(c, text, 1);	/* exactly: it is signed */
	cbor_decref(&res);
	return rc;
}

/* One page of export lines to stdout; *n lines written. */
static int
audit_write_lines(struct ctx *c, const cbor_item_t *rows, uint64_t *n)
{
	size_t i;

	for (i = 0; i < cbor_array_size(rows); i++) {
		const cbor_item_t *s = cbor_array_handle(rows)[i];

		if (!cbor_isa_string(s) || !cbor_string_is_definite(s))
			return fail(c, COFFER_ERR_PROTO, "audit export: the "
			    "daemon sent a record that is not a JSON line");
		if (fwrite(cbor_string_handle(s), 1, cbor_string_length(s),
		    stdout) != cbor_string_length(s) || putchar('\n') == EOF)
			return fail(c, COFFER_ERR_IO, "cannot write output: %s",
			    strerror(errno));
		(*n)++;
	}
	return COFFER_OK;
}

#define AUDIT_EXPORT_PAGE 10000

static int
cmd_audit_export(struct ctx *c, int argc, char **argv)
{
	struct audit_args a;
	cbor_item_t *args, *res = NULL;
	const cbor_item_t *rows;
	uint64_t total = 0, want, next;
	int rc, tty = isatty(STDERR_FILENO) && !c->quiet;

	if ((rc = audit_filter_opts(c, "audit export", argc, argv, &a)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	for (;;) {
		want = a.limit != 0 && a.limit - total < AUDIT_EXPORT_PAGE ?
		    a.limit - total : AUDIT_EXPORT_PAGE;
		if ((args = audit_args_map(&a, want)) == NULL)
			return COFFER_ERR_NOMEM;
		if ((rc = call(c, "audit.export", args, &res)) != COFFER_OK)
			break;
		rows = msg_get(res, "records");
		if (rows == NULL || !cbor_isa_array(rows))
			rc = fail(c, COFFER_ERR_PROTO, "audit export: the "
			    "daemon's answer has no records");
		else
			rc = audit_write_lines(c, rows, &total);
		if (rc == COFFER_OK && tty)
			fprintf(stderr, "\rcoffer: %llu records exported",
			    (unsigned long long)total);
		if (rc != COFFER_OK || (a.limit != 0 && total >= a.limit) ||
		    msg_get_uint(res, "next", &next) != COFFER_OK)
			break;
		a.after = next;
		a.has_after = 1;
		cbor_decref(&res);
	}
	if (res != NULL)
		cbor_decref(&res);
	if (tty)
		fputc('\n', stderr);
	return rc;
}

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

static int
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

static int
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

/* ---- change requests (docs/requests.md) ---------------------------- */

enum { OPT_REASON = 400, OPT_MINE, OPT_STATE, OPT_WATCH, OPT_COMMENT,
	OPT_SIGN_ONLY, OPT_SIGNATURE, OPT_RVERSION };

/* Options of request/approve/requests commands. */
struct req_opts {
	const char *reason, *state, *comment, *signature;
	uint64_t version;
	int mine, watch, sign_only;
};

static int
req_opts(struct ctx *c, const char *cmd, int argc, char **argv,
    struct req_opts *o)
{
	static const struct option lo[] = {
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "version", required_argument, NULL, OPT_RVERSION },
		{ "mine", no_argument, NULL, OPT_MINE },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "watch", no_argument, NULL, OPT_WATCH },
		{ "comment", required_argument, NULL, OPT_COMMENT },
		{ "sign-only", no_argument, NULL, OPT_SIGN_ONLY },
		{ "signature", required_argument, NULL, OPT_SIGNATURE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (opt) {
		case OPT_REASON: o->reason = optarg; break;
		case OPT_STATE: o->state = optarg; break;
		case OPT_COMMENT: o->comment = optarg; break;
		case OPT_SIGNATURE: o->signature = optarg; break;
		case OPT_MINE: o->mine = 1; break;
		case OPT_WATCH: o->watch = 1; break;
		case OPT_SIGN_ONLY: o->sign_only = 1; break;
		case OPT_RVERSION:
			if (cli_parse_uint(optarg, &o->version) != COFFER_OK ||
			    o->version == 0)
				return fail(c, COFFER_ERR_USAGE, "version=%.40s: "
				    "not a positive integer", optarg);
			break;
		case 'h':
			show_help(cmd);
			return -1;
		default:
			return bad_option(c, cmd, argv, opt);
		}
	}
	return COFFER_OK;
}

/* The one request ID argument of show/withdraw/approve/reject. */
static int
request_id_arg(struct ctx *c, const char *cmd, int argc, char **argv,
    uint64_t *id)
{
	if (optind >= argc)
		return fail(c, COFFER_ERR_USAGE, "%s: missing request ID "
		    "(usage: coffer %s)", cmd, help_find(cmd)->synopsis);
	if (optind + 1 < argc)
		return fail(c, COFFER_ERR_USAGE, "%s: unexpected '%.40s'", cmd,
		    argv[optind + 1]);
	return parse_id(c, "id", argv[optind], id);
}

static void
print_text(const char *label, const char *s)
{
	char buf[1024];

	out_sanitize(s, 0, buf, sizeof(buf));
	printf("%-13s %s\n", label, buf);
}

/* request.create and its answer: "request N: ..." or the id (-q). */
static int
create_request(struct ctx *c, cbor_item_t *args)
{
	cbor_item_t *res = NULL;
	const cbor_item_t *q;
	uint64_t id = 0, need = 0;
	char roles[256] = "";
	int rc;

	if ((rc = call(c, "request.create", args, &res)) != COFFER_OK)
		return rc;
	q = msg_get(res, "request");
	if (q == NULL)
		q = res;
	if (c->json)
		rc = print_json(res);
	else {
		(void)msg_get_uint(q, "id", &id);
		(void)msg_get_uint(q, "need", &need);
		(void)msg_get_str(q, "roles", roles, sizeof(roles));
		if (c->quiet)
			printf("%llu\n", (unsigned long long)id);
		else
			printf("request %llu created: it needs %llu approval%s%s"
			    "%s\n", (unsigned long long)id,
			    (unsigned long long)need, need == 1 ? "" : "s",
			    roles[0] ? " from " : "", roles);
	}
	cbor_decref(&res);
	return rc;
}

/* Shared by request update / delete / purge (del 0 / 1 / 2). */
static int
request_change(struct ctx *c, const char *cmd, int del, int argc,
    char **argv)
{
	const struct kind_def *k = NULL;
	cbor_item_t *args = NULL, *fields = NULL;
	struct req_opts o;
	uint64_t id = 0;
	int rc;

	if ((rc = req_opts(c, cmd, argc, argv, &o)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = kind_and_id(c, cmd, argc, argv, &k, &id)) != COFFER_OK)
		return rc;
	if (o.reason == NULL || o.reason[0] == '\0')
		return fail(c, COFFER_ERR_USAGE, "%s: --reason TEXT is required",
		    cmd);
	if (del && optind + 2 < argc)
		return fail(c, COFFER_ERR_USAGE, "%s: unexpected '%.40s'", cmd,
		    argv[optind + 2]);
	if (!del && optind + 2 >= argc)
		return fail(c, COFFER_ERR_USAGE, "%s: give at least one "
		    "FIELD=VALUE", cmd);
	if (!del && (rc = cli_fields(k, argv + optind + 2, (size_t)(argc -
	    optind - 2), CLI_UPDATE, c->now, &fields, c->msg,
	    sizeof(c->msg))) != COFFER_OK)
		return rc;
	if (o.version == 0 &&
	    (rc = current_version(c, k, id, &o.version)) != COFFER_OK)
		goto out;
	rc = COFFER_ERR_NOMEM;
	if ((args = kind_id_args(k, id)) == NULL ||
	    msg_put_uint(args, "version", o.version) != COFFER_OK ||
	    msg_put_str(args, "op", del == 2 ? "purge" : del ? "delete" :
	    "update") != COFFER_OK ||
	    msg_put_str(args, "reason", o.reason) != COFFER_OK)
		goto out;
	if (fields != NULL) {
		rc = msg_put(args, "fields", fields);
		fields = NULL; /* taken */
		if (rc != COFFER_OK)
			goto out;
	}
	rc = create_request(c, args);
	args = NULL; /* taken */
out:
	if (fields != NULL)
		cbor_decref(&fields);
	if (args != NULL)
		cbor_decref(&args);
	return rc;
}

static int
cmd_request_update(struct ctx *c, int argc, char **argv)
{
	return request_change(c, "request update", 0, argc, argv);
}

static int
cmd_request_delete(struct ctx *c, int argc, char **argv)
{
	return request_change(c, "request delete", 1, argc, argv);
}

static int
cmd_request_purge(struct ctx *c, int argc, char **argv)
{
	return request_change(c, "request purge", 2, argc, argv);
}

/* One row of the requests table. */
static int
request_row(struct out_table *t, const cbor_item_t *q)
{
	static const char *const keys[] = { "id", "state", "op", "kind",
		"record_id", "requester", NULL };
	char cells[9][128];
	const char *cp[9];
	const cbor_item_t *v;
	uint64_t need = 0;
	int64_t exp = 0;
	int can = 0;
	size_t i;

	for (i = 0; keys[i] != NULL; i++) {
		cells[i][0] = '\0';
		if ((v = msg_get(q, keys[i])) != NULL)
			out_value(NULL, keys[i], v, cells[i], sizeof(cells[i]));
	}
	v = msg_get(q, "approvals");
	(void)msg_get_uint(q, "need", &need);
	snprintf(cells[6], sizeof(cells[6]), "%zu/%llu", v != NULL &&
	    cbor_isa_array(v) ? cbor_array_size(v) : 0,
	    (unsigned long long)need);
	(void)msg_get_int(q, "expires", &exp);
	out_time(exp, cells[7], sizeof(cells[7]));
	(void)msg_get_bool(q, "can_decide", &can);
	snprintf(cells[8], sizeof(cells[8]), "%s", can ? "yes" : "-");
	for (i = 0; i < 9; i++)
		cp[i] = cells[i];
	return out_table_add(t, cp);
}

static int
print_requests(struct ctx *c, const cbor_item_t *res)
{
	static const char *const heads[] = { "ID", "STATE", "OP", "KIND",
		"RECORD", "REQUESTER", "APPROVALS", "EXPIRES", "YOURS" };
	const cbor_item_t *arr = msg_get(res, "requests");
	struct out_table *t;
	size_t i;
	int rc = COFFER_OK;

	if (c->json)
		return print_json(res);
	if (arr == NULL || !cbor_isa_array(arr))
		return fail(c, COFFER_ERR_PROTO, "the daemon sent no requests");
	if ((t = out_table_new(9, heads)) == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < cbor_array_size(arr) && rc == COFFER_OK; i++)
		rc = request_row(t, cbor_array_handle(arr)[i]);
	if (rc == COFFER_OK)
		rc = out_table_print(t, stdout, !c->quiet);
	if (rc == COFFER_OK && !c->quiet)
		printf("%zu request%s\n", cbor_array_size(arr),
		    cbor_array_size(arr) == 1 ? "" : "s");
	out_table_free(t);
	return rc;
}

/* The encoded list, to tell whether the queue changed while watching. */
static int
same_answer(const cbor_item_t *res, unsigned char **last, size_t *lastlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int same;

	if (msg_encode(res, &buf, &len) != COFFER_OK)
		return 0;
	same = *last != NULL && len == *lastlen && memcmp(buf, *last, len) == 0;
	free(*last);
	*last = buf;
	*lastlen = len;
	return same;
}

#define WATCH_SECONDS 3

/*
 * requests [--mine] [--state S] [--watch]: the caller's queue.  --watch
 * polls every few seconds and prints the queue again when it changed,
 * until interrupted.
 */
static int
cmd_requests(struct ctx *c, int argc, char **argv)
{
	cbor_item_t *args = NULL, *res = NULL;
	unsigned char *last = NULL;
	size_t lastlen = 0;
	struct req_opts o;
	char now[32];
	int rc;

	if ((rc = req_opts(c, "requests", argc, argv, &o)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if (optind < argc)
		return fail(c, COFFER_ERR_USAGE, "requests: unexpected '%.40s'",
		    argv[optind]);
	for (;;) {
		if ((args = msg_new_map()) == NULL ||
		    (o.state != NULL && msg_put_str(args, "state", o.state) !=
		    COFFER_OK) ||
		    (o.mine && msg_put_bool(args, "mine", 1) != COFFER_OK)) {
			rc = COFFER_ERR_NOMEM;
			break;
		}
		rc = call(c, "request.list", args, &res);
		args = NULL; /* taken */
		if (rc != COFFER_OK)
			break;
		if (!o.watch || !same_answer(res, &last, &lastlen)) {
			if (o.watch && !c->json) {
				out_time((int64_t)time(NULL), now, sizeof(now));
				printf("-- %s\n", now);
			}
			rc = print_requests(c, res);
			fflush(stdout);
		}
		cbor_decref(&res);
		if (!o.watch || rc != COFFER_OK)
			break;
		sleep(WATCH_SECONDS);
	}
	if (args != NULL)
		cbor_decref(&args);
	free(last);
	return rc;
}

static int
show_request_call(struct ctx *c, uint64_t id, cbor_item_t **res)
{
	cbor_item_t *args = msg_new_map();

	if (args == NULL || msg_put_uint(args, "id", id) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	return call(c, "request.show", args, res);
}

/* FIELD  OLD  NEW, masked as the daemon sent them ("(hidden)" if left out). */
static int
print_changes(const struct kind_def *k, const cbor_item_t *changes)
{
	static const char *const heads[] = { "FIELD", "OLD", "NEW" };
	char cells[3][256];
	const char *cp[3] = { cells[0], cells[1], cells[2] };
	const cbor_item_t *e, *v;
	struct out_table *t;
	size_t i, j;
	int rc = COFFER_OK;

	if (changes == NULL || !cbor_isa_array(changes))
		return COFFER_OK;
	if ((t = out_table_new(3, heads)) == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < cbor_array_size(changes) && rc == COFFER_OK; i++) {
		e = cbor_array_handle(changes)[i];
		(void)msg_get_str(e, "field", cells[0], sizeof(cells[0]));
		for (j = 1; j < 3; j++) {
			v = msg_get(e, j == 1 ? "old" : "new");
			if (v == NULL)
				snprintf(cells[j], sizeof(cells[j]), "(hidden)");
			else if (cbor_is_null(v))
				snprintf(cells[j], sizeof(cells[j]), "-");
			else
				out_value(k != NULL ? schema_field(k, cells[0]) :
				    NULL, cells[0], v, cells[j],
				    sizeof(cells[j]));
		}
		rc = out_table_add(t, cp);
	}
	if (rc == COFFER_OK)
		rc = out_table_print(t, stdout, 1);
	out_table_free(t);
	return rc;
}

static void
print_approvals(const cbor_item_t *apps)
{
	char who[80], role[40], dec[16], comment[512], when[32];
	const cbor_item_t *a;
	int64_t t = 0;
	size_t i;

	for (i = 0; apps != NULL && cbor_isa_array(apps) &&
	    i < cbor_array_size(apps); i++) {
		a = cbor_array_handle(apps)[i];
		who[0] = role[0] = dec[0] = comment[0] = '\0';
		(void)msg_get_str(a, "approver", who, sizeof(who));
		(void)msg_get_str(a, "role", role, sizeof(role));
		(void)msg_get_str(a, "decision", dec, sizeof(dec));
		(void)msg_get_str(a, "comment", comment, sizeof(comment));
		(void)msg_get_int(a, "time", &t);
		out_time(t, when, sizeof(when));
		printf("  %s %s (%s) at %s, signed: ", dec, who, role, when);
		print_text("", comment);
	}
}

static int
cmd_request_show(struct ctx *c, int argc, char **argv)
{
	static const char *const keys[] = { "id", "state", "op", "kind",
		"record_id", "base_version", "requester", "reason", "roles",
		"need", "created", "expires", NULL };
	cbor_item_t *res = NULL;
	const cbor_item_t *q, *v;
	struct req_opts o;
	char kind[32] = "", buf[1024];
	uint64_t id = 0;
	size_t i;
	int rc;

	if ((rc = req_opts(c, "request show", argc, argv, &o)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = request_id_arg(c, "request show", argc, argv, &id)) !=
	    COFFER_OK || (rc = show_request_call(c, id, &res)) != COFFER_OK)
		return rc;
	if (c->json) {
		rc = print_json(res);
		goto out;
	}
	q = msg_get(res, "request");
	(void)msg_get_str(q, "kind", kind, sizeof(kind));
	for (i = 0; keys[i] != NULL; i++)
		if ((v = msg_get(q, keys[i])) != NULL) {
			out_value(NULL, strcmp(keys[i], "expires") == 0 ?
			    "created" : keys[i], v, buf, sizeof(buf));
			printf("%-13s %s\n", keys[i], buf);
		}
	printf("changes:\n");
	rc = print_changes(schema_kind(kind), msg_get(res, "changes"));
	printf("decisions:\n");
	print_approvals(msg_get(q, "approvals"));
	print_hidden(res, "masked", "masked");
	print_hidden(res, "omitted", "hidden");
out:
	cbor_decref(&res);
	return rc;
}

static int
cmd_request_withdraw(struct ctx *c, int argc, char **argv)
{
	cbor_item_t *args = NULL, *res = NULL;
	struct req_opts o;
	uint64_t id = 0;
	int rc;

	if ((rc = req_opts(c, "request withdraw", argc, argv, &o)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = request_id_arg(c, "request withdraw", argc, argv, &id)) !=
	    COFFER_OK)
		return rc;
	if ((args = msg_new_map()) == NULL ||
	    msg_put_uint(args, "id", id) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	if ((rc = call(c, "request.withdraw", args, &res)) != COFFER_OK)
		return rc;
	if (c->json)
		rc = print_json(res);
	else if (!c->quiet)
		printf("request %llu withdrawn\n", (unsigned long long)id);
	cbor_decref(&res);
	return rc;
}

/* 128 hex digits -> 64 bytes. */
static int
parse_signature(struct ctx *c, const char *hex, unsigned char sig[64])
{
	size_t len = 0;

	if (strlen(hex) != 128 || sodium_hex2bin(sig, 64, hex, 128, NULL,
	    &len, NULL) != 0 || len != 64)
		return fail(c, COFFER_ERR_USAGE, "--signature: expected 128 "
		    "hex digits");
	return COFFER_OK;
}

/*
 * The signature of this decision: given (--signature), or made now with
 * the user's key, which connect_daemon kept for this (c->sk) and which is
 * wiped as soon as it has signed.
 */
static int
decision_signature(struct ctx *c, uint64_t id, const cbor_item_t *q,
    const char *decision, const char *comment, const char *sighex,
    unsigned char sig[64])
{
	const unsigned char *hash = NULL;
	size_t hlen = 0;
	int rc;

	if (sighex != NULL)
		return parse_signature(c, sighex, sig);
	if (msg_get_bytes(q, "hash", &hash, &hlen) != COFFER_OK ||
	    hlen != APPROVAL_HASH_BYTES)
		return fail(c, COFFER_ERR_PROTO, "the daemon sent no request "
		    "hash");
	if (c->sk == NULL)
		return fail(c, COFFER_ERR_INTERNAL, "no key to sign with");
	rc = approval_sign(c->sk, id, hash, decision, comment, c->user, sig);
	sodium_free(c->sk); /* wipes */
	c->sk = NULL;
	if (rc != COFFER_OK)
		return fail(c, rc, "cannot sign the decision: %s",
		    coffer_strerror(rc));
	return COFFER_OK;
}

static int
decide_command(struct ctx *c, const char *cmd, const char *decision,
    int argc, char **argv)
{
	cbor_item_t *res = NULL, *args = NULL;
	struct req_opts o;
	unsigned char sig[64];
	char hex[129], state[16] = "";
	uint64_t id = 0, n = 0, need = 0;
	int rc;

	if ((rc = req_opts(c, cmd, argc, argv, &o)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = request_id_arg(c, cmd, argc, argv, &id)) != COFFER_OK)
		return rc;
	if (o.comment == NULL)
		o.comment = "";
	if (decision[0] == 'r' && o.comment[0] == '\0')
		return fail(c, COFFER_ERR_USAGE, "%s: --comment TEXT is required",
		    cmd);
	if (strlen(o.comment) > APPROVAL_COMMENT_MAX)
		return fail(c, COFFER_ERR_USAGE, "--comment: at most %d bytes",
		    APPROVAL_COMMENT_MAX);
	c->keep_sk = o.signature == NULL;
	if ((rc = show_request_call(c, id, &res)) != COFFER_OK ||
	    (rc = decision_signature(c, id, msg_get(res, "request"), decision,
	    o.comment, o.signature, sig)) != COFFER_OK)
		goto out;
	if (o.sign_only) {
		sodium_bin2hex(hex, sizeof(hex), sig, sizeof(sig));
		printf("%s\n", hex);
		goto out;
	}
	cbor_decref(&res);
	rc = COFFER_ERR_NOMEM;
	if ((args = msg_new_map()) == NULL ||
	    msg_put_uint(args, "id", id) != COFFER_OK ||
	    msg_put_str(args, "comment", o.comment) != COFFER_OK ||
	    msg_put_bytes(args, "signature", sig, sizeof(sig)) != COFFER_OK)
		goto out;
	rc = call(c, decision[0] == 'r' ? "request.reject" : "request.approve",
	    args, &res);
	args = NULL; /* taken */
	if (rc != COFFER_OK)
		goto out;
	if (c->json)
		rc = print_json(res);
	else if (!c->quiet) {
		(void)msg_get_str(res, "state", state, sizeof(state));
		(void)msg_get_uint(res, "approvals", &n);
		(void)msg_get_uint(res, "need", &need);
		printf("request %llu: %s (%llu of %llu decisions); now %s\n",
		    (unsigned long long)id, decision[0] == 'r' ? "rejected" :
		    "approved", (unsigned long long)n, (unsigned long long)need,
		    state);
	}
out:
	sodium_memzero(sig, sizeof(sig));
	if (args != NULL)
		cbor_decref(&args);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}

static int
cmd_approve(struct ctx *c, int argc, char **argv)
{
	return decide_command(c, "approve", "approve", argc, argv);
}

static int
cmd_reject(struct ctx *c, int argc, char **argv)
{
	return decide_command(c, "reject", "reject", argc, argv);
}

/* history KIND ID: the applied changes, masked to the caller. */
static int
cmd_history(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	cbor_item_t *res = NULL, *args;
	const cbor_item_t *h, *e;
	struct req_opts o;
	char when[32], who[80], apps[640], op[16];
	int64_t t = 0, v = 0, rq = 0;
	uint64_t id = 0;
	size_t i;
	int rc, deleted = 0;

	if ((rc = req_opts(c, "history", argc, argv, &o)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = kind_and_id(c, "history", argc, argv, &k, &id)) != COFFER_OK)
		return rc;
	if ((args = kind_id_args(k, id)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = call(c, "record.history", args, &res)) != COFFER_OK)
		return rc;
	if (c->json) {
		rc = print_json(res);
		goto out;
	}
	h = msg_get(res, "history");
	for (i = 0; h != NULL && cbor_isa_array(h) &&
	    i < cbor_array_size(h); i++) {
		e = cbor_array_handle(h)[i];
		who[0] = apps[0] = op[0] = '\0';
		(void)msg_get_int(e, "version", &v);
		(void)msg_get_int(e, "request", &rq);
		(void)msg_get_int(e, "time", &t);
		(void)msg_get_str(e, "requester", who, sizeof(who));
		(void)msg_get_str(e, "approvers", apps, sizeof(apps));
		(void)msg_get_str(e, "op", op, sizeof(op));
		out_time(t, when, sizeof(when));
		printf("version %lld  %s  %s by %s (request %lld), approved by "
		    "%s\n", (long long)v, when, op, who, (long long)rq, apps);
		if ((rc = print_changes(k, msg_get(e, "changes"))) !=
		    COFFER_OK)
			goto out;
	}
	if (!c->quiet)
		printf("%zu change%s%s\n", h != NULL && cbor_isa_array(h) ?
		    cbor_array_size(h) : 0, h != NULL && cbor_isa_array(h) &&
		    cbor_array_size(h) == 1 ? "" : "s",
		    msg_get_bool(res, "deleted", &deleted) == COFFER_OK &&
		    deleted ? "; the record is deleted (tombstone)" : "");
	print_hidden(res, "masked", "masked");
	print_hidden(res, "omitted", "hidden");
out:
	cbor_decref(&res);
	return rc;
}

/* Words that only start a command: "user add", "audit search". */
static int
is_group(const char *word)
{
	return strcmp(word, "user") == 0 || strcmp(word, "audit") == 0 ||
	    strcmp(word, "request") == 0;
}

static void
print_global_help(FILE *f)
{
	const struct help_entry *h;
	size_t n, i;

	fputs(help_global_head(), f);
	h = help_entries(&n);
	for (i = 0; i < n; i++)
		fprintf(f, "  %-16s %s\n", h[i].name, h[i].summary);
	fputs(help_global_tail(), f);
}

static int
cmd_help(struct ctx *c, int argc, char **argv)
{
	char name[64];
	const struct help_entry *h;

	if (argc < 2) {
		print_global_help(stdout);
		return COFFER_OK;
	}
	snprintf(name, sizeof(name), "%s%s%s", argv[1], argc > 2 ? " " : "",
	    argc > 2 ? argv[2] : "");
	if ((h = help_find(name)) == NULL && (h = help_find(argv[1])) == NULL) {
		if (is_group(argv[1])) {
			size_t n, i, len = strlen(argv[1]);

			h = help_entries(&n);
			for (i = 0; i < n; i++)
				if (strncmp(h[i].name, argv[1], len) == 0 &&
				    h[i].name[len] == ' ')
					printf("usage: coffer %s\n",
					    h[i].synopsis);
			return COFFER_OK;
		}
		return fail(c, COFFER_ERR_USAGE, "help: no such command "
		    "'%.40s'", name);
	}
	print_command_help(h);
	return COFFER_OK;
}

/* ---- main ---------------------------------------------------------- */

static const struct command commands[] = {
	{ "status", cmd_status },
	{ "whoami", cmd_whoami },
	{ "keygen", cmd_keygen },
	{ "list", cmd_list },
	{ "show", cmd_show },
	{ "create", cmd_create },
	{ "update", cmd_update },
	{ "delete", cmd_delete },
	{ "reveal", cmd_reveal },
	{ "fields", cmd_fields },
	{ "user list", cmd_user_list },
	{ "user add", cmd_user_add },
	{ "user update", cmd_user_update },
	{ "user disable", cmd_user_disable },
	{ "user enable", cmd_user_enable },
	{ "audit search", cmd_audit_search },
	{ "audit show", cmd_audit_show },
	{ "audit checkpoint", cmd_audit_checkpoint },
	{ "audit export", cmd_audit_export },
	{ "request update", cmd_request_update },
	{ "request delete", cmd_request_delete },
	{ "request purge", cmd_request_purge },
	{ "request show", cmd_request_show },
	{ "request withdraw", cmd_request_withdraw },
	{ "requests", cmd_requests },
	{ "approve", cmd_approve },
	{ "reject", cmd_reject },
	{ "history", cmd_history },
	{ "pin-reset", cmd_pin_reset },
	{ "backup", cmd_backup },
	{ "help", cmd_help },
};

/* Commands that need no key and no daemon. */
static int
is_local(const char *name)
{
	return strcmp(name, "keygen") == 0 || strcmp(name, "fields") == 0 ||
	    strcmp(name, "pin-reset") == 0 || strcmp(name, "help") == 0;
}

/* Find the command in argv; *used gets the number of words it took. */
static const struct command *
find_command(int argc, char **argv, int *used)
{
	char two[64];
	size_t i;

	if (argc >= 2) {
		snprintf(two, sizeof(two), "%s %s", argv[0], argv[1]);
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(commands[i].name, two) == 0) {
				*used = 2;
				return &commands[i];
			}
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[0]) == 0) {
			*used = 1;
			return &commands[i];
		}
	return NULL;
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* Defaults for user, key and known_hosts (the socket's is static). */
static int
apply_defaults(struct ctx *c, int need_identity)
{
	const struct passwd *pw = getpwuid(getuid());
	const char *home = env("HOME");

	if (home == NULL && pw != NULL)
		home = pw->pw_dir;
	if (c->socket_path == NULL && (c->socket_path =
	    env("COFFER_SOCKET")) == NULL)
		c->socket_path = DEFAULT_SOCKET;
	if (c->user == NULL && (c->user = env("COFFER_USER")) == NULL &&
	    pw != NULL) {
		snprintf(c->userbuf, sizeof(c->userbuf), "%s", pw->pw_name);
		c->user = c->userbuf;
	}
	if (c->passfile == NULL)
		c->passfile = env("COFFER_PASSPHRASE_FILE");
	if (c->known_hosts == NULL &&
	    (c->known_hosts = env("COFFER_KNOWN_HOSTS")) == NULL) {
		if (home == NULL)
			return fail(c, COFFER_ERR_USAGE, "no home directory: "
			    "use --known-hosts");
		snprintf(c->khbuf, sizeof(c->khbuf),
		    "%s/.config/coffer/known_hosts", home);
		c->known_hosts = c->khbuf;
		c->kh_default = 1;
	}
	if (!need_identity)
		return COFFER_OK;
	if (c->user == NULL || *c->user == '\0')
		return fail(c, COFFER_ERR_USAGE, "no user name: use -u NAME");
	if (strlen(c->user) > SESSION_USER_MAX)
		return fail(c, COFFER_ERR_USAGE, "user name too long");
	if (c->key == NULL && (c->key = env("COFFER_KEY")) == NULL) {
		if (home == NULL)
			return fail(c, COFFER_ERR_USAGE, "no home directory: "
			    "use -k FILE");
		snprintf(c->keybuf, sizeof(c->keybuf),
		    "%s/.config/coffer/%s.key", home, c->user);
		c->key = c->keybuf;
	}
	return COFFER_OK;
}

enum { OPT_KNOWN_HOSTS = 256, OPT_PASSFILE, OPT_JSON, OPT_VERSION };

/* Global options; returns -1 when --help/--version was handled. */
static int
global_opts(struct ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "host", required_argument, NULL, 'H' },
		{ "user", required_argument, NULL, 'u' },
		{ "key", required_argument, NULL, 'k' },
		{ "known-hosts", required_argument, NULL, OPT_KNOWN_HOSTS },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	opterr = 0;
	/* '+': stop at the command; its options are its own. */
	while ((opt = getopt_long(argc, argv, "+:S:H:u:k:qh", lo, NULL)) != -1) {
		switch (opt) {
		case 'S': c->socket_path = optarg; break;
		case 'H': c->hostport = optarg; break;
		case 'u': c->user = optarg; break;
		case 'k': c->key = optarg; break;
		case OPT_KNOWN_HOSTS: c->known_hosts = optarg; break;
		case OPT_PASSFILE: c->passfile = optarg; break;
		case OPT_JSON: c->json = 1; break;
		case 'q': c->quiet = 1; break;
		case 'h':
			print_global_help(stdout);
			return -1;
		case OPT_VERSION:
			printf("coffer %s\n", COFFER_VERSION);
			return -1;
		default:
			return bad_option(c, "coffer", argv, opt);
		}
	}
	return COFFER_OK;
}

/*
 * --json, -q and --quiet are accepted after the command too ("coffer list
 * customers --json"); they are taken out of the command's words here.
 */
static int
late_globals(struct ctx *c, int argc, char **argv)
{
	int i, out = 1, end = 0;

	for (i = 1; i < argc; i++) {
		if (!end && strcmp(argv[i], "--") == 0)
			end = 1;
		if (!end && strcmp(argv[i], "--json") == 0) {
			c->json = 1;
			continue;
		}
		if (!end && (strcmp(argv[i], "-q") == 0 ||
		    strcmp(argv[i], "--quiet") == 0)) {
			c->quiet = 1;
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

/* Does a command's argument list ask for help? (before "--") */
static int
wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

static int
run(struct ctx *c, int argc, char **argv)
{
	const struct command *cmd;
	int rc, used = 0;

	if ((rc = global_opts(c, argc, argv)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		print_global_help(stderr);
		return fail(c, COFFER_ERR_USAGE, "no command given");
	}
	if ((cmd = find_command(argc, argv, &used)) == NULL) {
		if (is_group(argv[0]) && wants_help(argc, argv)) {
			char *words[] = { "help", argv[0], NULL };

			return cmd_help(c, 2, words);
		}
		if (strcmp(argv[0], "user") == 0)
			return fail(c, COFFER_ERR_USAGE, "user: needs one of list, "
			    "add, update, disable, enable (see 'coffer help "
			    "user')");
		if (strcmp(argv[0], "request") == 0)
			return fail(c, COFFER_ERR_USAGE, "request: needs one of "
			    "update, delete, show, withdraw (see 'coffer help "
			    "request')");
		if (strcmp(argv[0], "audit") == 0)
			return fail(c, COFFER_ERR_USAGE, "audit: needs one of "
			    "search, show, checkpoint, export (see 'coffer help "
			    "audit')");
		return fail(c, COFFER_ERR_USAGE, "unknown command '%.40s' (see "
		    "'coffer --help')", argv[0]);
	}
	if (strcmp(cmd->name, "help") != 0 && wants_help(argc - used + 1,
	    argv + used - 1))
		return show_help(cmd->name);
	if ((rc = apply_defaults(c, !is_local(cmd->name))) != COFFER_OK)
		return rc;
	/* Handlers see argv[0] = the (last) command word. */
	argv += used - 1;
	argc = late_globals(c, argc - used + 1, argv);
	return cmd->run(c, argc, argv);
}

int
main(int argc, char **argv)
{
	struct ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	/* A closed socket must be an error return, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "coffer: libsodium failed to initialise\n");
		return EXIT_DAEMON;
	}
	c.now = (int64_t)time(NULL);
	rc = run(&c, argc, argv);
	if (c.sk != NULL)
		sodium_free(c.sk);  /* wipes a key kept but never used */
	rpc_close(c.rpc);
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc == COFFER_OK)
		rc = fail(&c, COFFER_ERR_IO, "cannot write output: %s",
		    strerror(errno));
	return report(&c, rc);
}
