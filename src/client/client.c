/*
 * client.c - what every coffer command shares: failures and exit statuses,
 * the key and the connection to the daemon, the request call and printing
 * records as fields.  The contract is include/coffer/client.h.
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

#include <pwd.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "coffer/client.h"

/* Record the message that goes with status rc; returns rc. */
int
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
int
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

int
bad_option(struct ctx *c, const char *cmd, char **argv, int opt)
{
	if (opt == ':')
		return fail(c, COFFER_ERR_USAGE, "%s: option '%s' needs a value "
		    "(see 'coffer %s --help')", cmd, argv[optind - 1], cmd);
	return fail(c, COFFER_ERR_USAGE, "%s: unknown option '%s' (see 'coffer "
	    "%s --help')", cmd, argv[optind - 1], cmd);
}

/* Print a command's help; used for CMD --help and help CMD. */
void
print_command_help(const struct help_entry *h)
{
	printf("usage: coffer %s\n\n%s.\n\n%s", h->synopsis, h->summary,
	    h->text);
}

int
show_help(const char *name)
{
	const struct help_entry *h = help_find(name);

	if (h != NULL)
		print_command_help(h);
	return COFFER_OK;
}

int
parse_id(struct ctx *c, const char *what, const char *s, uint64_t *out)
{
	if (cli_parse_uint(s, out) != COFFER_OK || *out == 0)
		return fail(c, COFFER_ERR_USAGE, "%s=%.40s: not a positive "
		    "integer", what, s);
	return COFFER_OK;
}

int
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
	char fpr[USERKEY_FPR_TEXT], note[256];

	userkey_fingerprint(pin->key, fpr, sizeof(fpr));
	/* RPC_PIN_ROTATED: a rotation certified by the pinned key */
	if (rpc_pin_notice(pin, note, sizeof(note)))
		fprintf(stderr, "%s\n", note);
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
	    CLIENT_IO_TIMEOUT_SEC };
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
int
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

int
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
int
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
void
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
int
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
int
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

int
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

/*
 * Options of show/create/update/delete: -h, and --version N where allowed.
 * Leaves the positional words in argv[optind..argc).  Returns -1 after
 * printing help.
 */
int
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
int
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
cbor_item_t *
kind_id_args(const struct kind_def *k, uint64_t id)
{
	cbor_item_t *a = msg_new_map();

	if (a != NULL && (msg_put_str(a, "kind", k->name) != COFFER_OK ||
	    msg_put_uint(a, "id", id) != COFFER_OK))
		cbor_decref(&a);
	return a;
}

/* The record's current version, for update/delete without --version. */
int
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
