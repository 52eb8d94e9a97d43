/*
 * cmd_audit.c - the compliance officer's commands: audit search, show (with
 * an inclusion proof checked against a signed checkpoint), checkpoint and
 * export.
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

int
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

int
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

int
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

int
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
