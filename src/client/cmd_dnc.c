/*
 * cmd_dnc.c - the do-not-call list (docs/dnc.md): dnc add, remove,
 * approve, reject, list and check.  The daemon decides who may do what
 * and masks the numbers; this file only sends and prints.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/client.h"

enum { OPT_REASON = 500, OPT_COMMENT, OPT_PENDING, OPT_LIMIT, OPT_OFFSET };

struct dnc_opts {
	const char *reason, *comment;
	uint64_t limit, offset;
	int pending;
};

static int
dnc_opts(struct ctx *c, const char *cmd, int argc, char **argv,
    struct dnc_opts *o)
{
	static const struct option lo[] = {
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "comment", required_argument, NULL, OPT_COMMENT },
		{ "pending", no_argument, NULL, OPT_PENDING },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "offset", required_argument, NULL, OPT_OFFSET },
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
		case OPT_COMMENT: o->comment = optarg; break;
		case OPT_PENDING: o->pending = 1; break;
		case OPT_LIMIT:
		case OPT_OFFSET:
			if (cli_parse_uint(optarg, opt == OPT_LIMIT ? &o->limit :
			    &o->offset) != COFFER_OK)
				return fail(c, COFFER_ERR_USAGE, "%s: %s=%.40s: "
				    "not an unsigned integer", cmd, opt ==
				    OPT_LIMIT ? "limit" : "offset", optarg);
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

/* Exactly `want` positional words after the options. */
static int
positional(struct ctx *c, const char *cmd, int argc, char **argv, int want)
{
	if (argc - optind < want)
		return fail(c, COFFER_ERR_USAGE, "%s: missing PHONE (usage: "
		    "coffer %s)", cmd, help_find(cmd)->synopsis);
	if (argc - optind > want)
		return fail(c, COFFER_ERR_USAGE, "%s: unexpected '%.40s'", cmd,
		    argv[optind + want]);
	return COFFER_OK;
}

/*
 * Parse the command line of a one-PHONE command into {phone} plus, when
 * key is "reason" or "comment", that option's text (--reason required).
 * Returns -1 after printing help.
 */
static int
phone_args(struct ctx *c, const char *cmd, int argc, char **argv,
    const char *key, cbor_item_t **args)
{
	struct dnc_opts o;
	const char *text = NULL;
	int rc;

	*args = NULL;
	if ((rc = dnc_opts(c, cmd, argc, argv, &o)) != COFFER_OK ||
	    (rc = positional(c, cmd, argc, argv, 1)) != COFFER_OK)
		return rc;
	if (key != NULL)
		text = strcmp(key, "reason") == 0 ? o.reason : o.comment;
	if (key != NULL && strcmp(key, "reason") == 0 &&
	    (text == NULL || *text == '\0'))
		return fail(c, COFFER_ERR_USAGE, "%s: --reason TEXT is required",
		    cmd);
	if ((*args = msg_new_map()) == NULL ||
	    msg_put_str(*args, "phone", argv[optind]) != COFFER_OK ||
	    (text != NULL && msg_put_str(*args, key, text) != COFFER_OK)) {
		if (*args != NULL)
			cbor_decref(args);
		return COFFER_ERR_NOMEM;
	}
	return COFFER_OK;
}

/* The normalised number the daemon answered, sanitised for the terminal. */
static void
answered_phone(const cbor_item_t *res, char *out, size_t sz)
{
	char raw[64] = "";

	(void)msg_get_str(res, "phone", raw, sizeof(raw));
	out_sanitize(raw, 0, out, sz);
}

/* Send, then print the answer as JSON or as the line fmt makes of it. */
static int
send_and_print(struct ctx *c, const char *op, cbor_item_t *args,
    void (*line)(const cbor_item_t *res))
{
	cbor_item_t *res = NULL;
	int rc;

	if ((rc = call(c, op, args, &res)) != COFFER_OK)
		return rc;
	if (c->json)
		rc = print_json(res);
	else if (!c->quiet)
		line(res);
	cbor_decref(&res);
	return rc;
}

static void
added_line(const cbor_item_t *res)
{
	char phone[128];
	uint64_t n = 0;
	int already = 0;

	answered_phone(res, phone, sizeof(phone));
	(void)msg_get_uint(res, "flagged", &n);
	(void)msg_get_bool(res, "already", &already);
	printf("%s %s on the do-not-call list; %llu customer%s flagged "
	    "do-not-call\n", phone, already ? "was already" : "is now",
	    (unsigned long long)n, n == 1 ? "" : "s");
}

int
cmd_dnc_add(struct ctx *c, int argc, char **argv)
{
	cbor_item_t *args = NULL;
	int rc;

	if ((rc = phone_args(c, "dnc add", argc, argv, "reason", &args)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	return send_and_print(c, "dnc.add", args, added_line);
}

static void
remove_line(const cbor_item_t *res)
{
	char phone[128];

	answered_phone(res, phone, sizeof(phone));
	printf("removal of %s asked for: it stays on the list until a manager "
	    "approves ('coffer dnc approve')\n", phone);
}

int
cmd_dnc_remove(struct ctx *c, int argc, char **argv)
{
	cbor_item_t *args = NULL;
	int rc;

	if ((rc = phone_args(c, "dnc remove", argc, argv, "reason", &args)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	return send_and_print(c, "dnc.remove", args, remove_line);
}

static void
decided_line(const cbor_item_t *res)
{
	char phone[128];
	int removed = 0;

	answered_phone(res, phone, sizeof(phone));
	(void)msg_get_bool(res, "removed", &removed);
	if (removed)
		printf("%s is no longer on the do-not-call list (customers "
		    "flagged do-not-call stay flagged)\n", phone);
	else
		printf("removal of %s rejected: it stays on the do-not-call "
		    "list\n", phone);
}

static int
decide(struct ctx *c, const char *cmd, const char *op, int argc, char **argv)
{
	cbor_item_t *args = NULL;
	int rc;

	if ((rc = phone_args(c, cmd, argc, argv, "comment", &args)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	return send_and_print(c, op, args, decided_line);
}

int
cmd_dnc_approve(struct ctx *c, int argc, char **argv)
{
	return decide(c, "dnc approve", "dnc.approve", argc, argv);
}

int
cmd_dnc_reject(struct ctx *c, int argc, char **argv)
{
	return decide(c, "dnc reject", "dnc.reject", argc, argv);
}

static void
check_line(const cbor_item_t *res)
{
	int listed = 0;

	(void)msg_get_bool(res, "listed", &listed);
	printf("%s\n", listed ? "on the do-not-call list: do not call" :
	    "not on the do-not-call list");
}

int
cmd_dnc_check(struct ctx *c, int argc, char **argv)
{
	cbor_item_t *args = NULL, *res = NULL;
	int rc, listed = 0;

	if ((rc = phone_args(c, "dnc check", argc, argv, NULL, &args)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = call(c, "dnc.check", args, &res)) != COFFER_OK)
		return rc;
	(void)msg_get_bool(res, "listed", &listed);
	if (c->json)
		rc = print_json(res);
	else if (c->quiet)
		printf("%s\n", listed ? "yes" : "no");
	else
		check_line(res);
	cbor_decref(&res);
	return rc;
}

/* One entry as table cells (each VALUE_MAX bytes). */
static void
entry_cells(const cbor_item_t *e, int pending, char **cells)
{
	static const char *const keys[] = { "phone", "added_by", "reason",
		"remove_by", "remove_reason" };
	char raw[1024];
	int64_t t = 0;
	size_t i, j = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (i == 1) {
			(void)msg_get_int(e, "added", &t);
			out_time(t, cells[j++], VALUE_MAX);
		}
		if (i == 3 && !pending)
			break;
		if (i == 3) {
			t = 0;
			(void)msg_get_int(e, "remove_asked", &t);
			if (t > 0)
				out_time(t, cells[j], VALUE_MAX);
			else
				cells[j][0] = '\0';
			j++;
		}
		raw[0] = '\0';
		(void)msg_get_str(e, keys[i], raw, sizeof(raw));
		out_sanitize(raw, 0, cells[j++], VALUE_MAX);
	}
}

static int
print_entries(struct ctx *c, const cbor_item_t *res, int pending)
{
	static const char *const heads[] = { "PHONE", "ADDED", "BY", "REASON",
		"REMOVAL ASKED", "ASKED BY", "WHY" };
	const cbor_item_t *arr = msg_get(res, "entries");
	size_t ncols = pending ? 7 : 4, i;
	struct out_table *t = NULL;
	char *cells[7] = { NULL };
	uint64_t total = 0;
	int rc = COFFER_ERR_NOMEM;

	if (arr == NULL || !cbor_isa_array(arr))
		return fail(c, COFFER_ERR_PROTO, "dnc list: malformed answer");
	if ((t = out_table_new(ncols, heads)) == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < ncols; i++)
		if ((cells[i] = malloc(VALUE_MAX)) == NULL)
			goto out;
	for (i = 0; i < cbor_array_size(arr); i++) {
		entry_cells(cbor_array_handle(arr)[i], pending, cells);
		if ((rc = out_table_add(t, (const char *const *)cells)) !=
		    COFFER_OK)
			goto out;
	}
	rc = out_table_print(t, stdout, !c->quiet);
	(void)msg_get_uint(res, "total", &total);
	if (rc == COFFER_OK && !c->quiet)
		printf("%zu of %llu number%s%s\n", cbor_array_size(arr),
		    (unsigned long long)total, total == 1 ? "" : "s",
		    pending ? " with a removal waiting for approval" : "");
out:
	for (i = 0; i < ncols; i++)
		free(cells[i]);
	out_table_free(t);
	return rc;
}

int
cmd_dnc_list(struct ctx *c, int argc, char **argv)
{
	struct dnc_opts o;
	cbor_item_t *args = NULL, *res = NULL;
	int rc;

	if ((rc = dnc_opts(c, "dnc list", argc, argv, &o)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = positional(c, "dnc list", argc, argv, 0)) != COFFER_OK)
		return rc;
	if ((args = msg_new_map()) == NULL ||
	    (o.pending && msg_put_bool(args, "pending", 1) != COFFER_OK) ||
	    (o.limit && msg_put_uint(args, "limit", o.limit) != COFFER_OK) ||
	    (o.offset && msg_put_uint(args, "offset", o.offset) != COFFER_OK)) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	if ((rc = call(c, "dnc.list", args, &res)) != COFFER_OK)
		return rc;
	rc = c->json ? print_json(res) : print_entries(c, res, o.pending);
	cbor_decref(&res);
	return rc;
}
