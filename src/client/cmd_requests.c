/*
 * cmd_requests.c - change requests (docs/requests.md): request update,
 * delete and purge, requests (the queue, --watch), request show and
 * withdraw, approve and reject (signed by the approver's key), history.
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

int
cmd_request_update(struct ctx *c, int argc, char **argv)
{
	return request_change(c, "request update", 0, argc, argv);
}

int
cmd_request_delete(struct ctx *c, int argc, char **argv)
{
	return request_change(c, "request delete", 1, argc, argv);
}

int
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
int
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
	if (cbor_array_size(changes) == 0) {
		/* the purge marker: a purge or the end of retention erased it */
		printf("  (values erased)\n");
		return COFFER_OK;
	}
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

int
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

int
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

int
cmd_approve(struct ctx *c, int argc, char **argv)
{
	return decide_command(c, "approve", "approve", argc, argv);
}

int
cmd_reject(struct ctx *c, int argc, char **argv)
{
	return decide_command(c, "reject", "reject", argc, argv);
}

/* history KIND ID: the applied changes, masked to the caller. */
int
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
