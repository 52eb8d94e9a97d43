/*
 * cmd_workflow.c - the working-day commands (docs/workflow.md): screen a
 * fresh lead, mark a follow-up done, assign customers (by id, from the
 * pool, or all of an agent who leaves), today's list of things to do, and
 * `call`, which logs a call and schedules the next follow-up in one line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffer/client.h"

#define AGENTS_MAX 64
#define IDS_MAX 500

/* "customer" or "customers" as the first word, as the brief syntax has. */
static int
need_customer(struct ctx *c, const char *cmd, const char *word)
{
	if (word == NULL || (strcmp(word, "customer") != 0 &&
	    strcmp(word, "customers") != 0))
		return fail(c, COFFER_ERR_USAGE, "%s: expected 'customer' (see "
		    "'coffer %s --help')", cmd, cmd);
	return COFFER_OK;
}

/* Send args (taken) as op; print JSON or call show(res). */
static int
run_op(struct ctx *c, const char *op, cbor_item_t *args,
    int (*show)(struct ctx *, const cbor_item_t *))
{
	cbor_item_t *res = NULL;
	int rc;

	if ((rc = call(c, op, args, &res)) != COFFER_OK)
		return rc;
	if (c->json)
		rc = print_json(res);
	else if (!c->quiet)
		rc = show(c, res);
	cbor_decref(&res);
	return rc;
}

/* ---- screen --------------------------------------------------------- */

static int
show_screen(struct ctx *c, const cbor_item_t *res)
{
	char from[16] = "?", to[16] = "?";
	uint64_t id = 0;

	(void)c;
	(void)msg_get_uint(res, "id", &id);
	(void)msg_get_str(res, "previous", from, sizeof(from));
	(void)msg_get_str(res, "stage", to, sizeof(to));
	printf("customer %llu: %s -> %s\n", (unsigned long long)id, from, to);
	return COFFER_OK;
}

/* screen customer ID --stage STAGE [--reason TEXT] */
int
cmd_screen(struct ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "stage", required_argument, NULL, 's' },
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *stage = NULL, *reason = NULL;
	cbor_item_t *args = NULL;
	uint64_t id = 0;
	int opt, rc;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":s:r:h", lo, NULL)) != -1) {
		switch (opt) {
		case 's': stage = optarg; break;
		case 'r': reason = optarg; break;
		case 'h':
			show_help("screen");
			return COFFER_OK;
		default:
			return bad_option(c, "screen", argv, opt);
		}
	}
	if ((rc = need_customer(c, "screen", optind < argc ? argv[optind] :
	    NULL)) != COFFER_OK)
		return rc;
	if (optind + 2 != argc)
		return fail(c, COFFER_ERR_USAGE, "screen: expected customer ID");
	if ((rc = parse_id(c, "id", argv[optind + 1], &id)) != COFFER_OK)
		return rc;
	if (stage == NULL)
		return fail(c, COFFER_ERR_USAGE, "screen: --stage is required "
		    "(screened, excluded or new)");
	if (strcmp(stage, "excluded") == 0 && (reason == NULL || !*reason))
		return fail(c, COFFER_ERR_USAGE, "screen: excluding a customer "
		    "needs --reason TEXT");
	if (!cli_utf8_valid(stage, strlen(stage)) || (reason != NULL &&
	    !cli_utf8_valid(reason, strlen(reason))))
		return fail(c, COFFER_ERR_USAGE, "screen: text must be UTF-8");
	if ((args = msg_new_map()) == NULL ||
	    msg_put_uint(args, "id", id) != COFFER_OK ||
	    msg_put_str(args, "stage", stage) != COFFER_OK ||
	    (reason != NULL && msg_put_str(args, "reason", reason) !=
	    COFFER_OK)) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	return run_op(c, "customer.screen", args, show_screen);
}

/* ---- done ----------------------------------------------------------- */

static int
show_done(struct ctx *c, const cbor_item_t *res)
{
	const cbor_item_t *fu = msg_get(res, "followup");
	int64_t id = 0, version = 0;

	(void)c;
	(void)msg_get_int(fu, "id", &id);
	(void)msg_get_int(fu, "version", &version);
	printf("followup %lld: open -> done (version %lld)\n", (long long)id,
	    (long long)version);
	return COFFER_OK;
}

/* done FOLLOWUP-ID [--note TEXT] */
int
cmd_done(struct ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "note", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *note = NULL;
	cbor_item_t *args = NULL;
	uint64_t id = 0;
	int opt, rc;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'n': note = optarg; break;
		case 'h':
			show_help("done");
			return COFFER_OK;
		default:
			return bad_option(c, "done", argv, opt);
		}
	}
	if (optind + 1 != argc)
		return fail(c, COFFER_ERR_USAGE, "done: expected FOLLOWUP-ID");
	if ((rc = parse_id(c, "id", argv[optind], &id)) != COFFER_OK)
		return rc;
	if (note != NULL && !cli_utf8_valid(note, strlen(note)))
		return fail(c, COFFER_ERR_USAGE, "done: text must be UTF-8");
	if ((args = msg_new_map()) == NULL ||
	    msg_put_uint(args, "id", id) != COFFER_OK ||
	    (note != NULL && *note && msg_put_str(args, "note", note) !=
	    COFFER_OK)) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	return run_op(c, "followup.done", args, show_done);
}

/* ---- assign --------------------------------------------------------- */

struct assign_opts {
	const char *to, *list, *rr, *transfer;
	int pool;
	uint64_t count;
};

static int
show_moved(struct ctx *c, const cbor_item_t *res)
{
	const cbor_item_t *a = msg_get(res, "agents");
	uint64_t moved = 0, fu = 0, n = 0;
	char name[65];
	size_t i;

	(void)c;
	(void)msg_get_uint(res, "moved", &moved);
	(void)msg_get_uint(res, "followups", &fu);
	printf("moved %llu customer%s, %llu open follow-up%s\n",
	    (unsigned long long)moved, moved == 1 ? "" : "s",
	    (unsigned long long)fu, fu == 1 ? "" : "s");
	for (i = 0; a != NULL && cbor_isa_array(a) && i < cbor_array_size(a);
	    i++) {
		const cbor_item_t *m = cbor_array_handle(a)[i];

		if (msg_get_str(m, "name", name, sizeof(name)) == COFFER_OK &&
		    msg_get_uint(m, "count", &n) == COFFER_OK) {
			char clean[80];

			out_sanitize(name, 0, clean, sizeof(clean));
			printf("  %-20s %llu\n", clean, (unsigned long long)n);
		}
	}
	return COFFER_OK;
}

static int
assign_parse(struct ctx *c, int argc, char **argv, struct assign_opts *o)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "from-pool", no_argument, NULL, 'p' },
		{ "list", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'n' },
		{ "round-robin", required_argument, NULL, 'r' },
		{ "transfer", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":t:pl:n:r:T:h", lo, NULL)) !=
	    -1) {
		switch (opt) {
		case 't': o->to = optarg; break;
		case 'p': o->pool = 1; break;
		case 'l': o->list = optarg; break;
		case 'r': o->rr = optarg; break;
		case 'T': o->transfer = optarg; break;
		case 'n':
			if (cli_parse_uint(optarg, &o->count) != COFFER_OK ||
			    o->count == 0)
				return fail(c, COFFER_ERR_USAGE, "assign: --count "
				    "%.40s: not a positive integer", optarg);
			break;
		case 'h':
			show_help("assign");
			return -1;
		default:
			return bad_option(c, "assign", argv, opt);
		}
	}
	return COFFER_OK;
}

/* "a,b,c" -> ["a", "b", "c"] */
static int
names_array(struct ctx *c, const char *csv, cbor_item_t **out)
{
	cbor_item_t *a = msg_new_array();
	char buf[64 * 66], *save = NULL, *tok;
	size_t n = 0;

	if (a == NULL)
		return COFFER_ERR_NOMEM;
	if (strlen(csv) >= sizeof(buf)) {
		cbor_decref(&a);
		return fail(c, COFFER_ERR_USAGE, "assign: --round-robin: too "
		    "long");
	}
	memcpy(buf, csv, strlen(csv) + 1);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (++n > AGENTS_MAX || msg_push(a, msg_new_str(tok)) !=
		    COFFER_OK) {
			cbor_decref(&a);
			return n > AGENTS_MAX ? fail(c, COFFER_ERR_USAGE, "assign: "
			    "at most %d agents", AGENTS_MAX) : COFFER_ERR_NOMEM;
		}
	}
	if (n == 0) {
		cbor_decref(&a);
		return fail(c, COFFER_ERR_USAGE, "assign: --round-robin needs "
		    "agent names, comma-separated");
	}
	*out = a;
	return COFFER_OK;
}

static int
assign_pool(struct ctx *c, const struct assign_opts *o, int rest)
{
	cbor_item_t *args = NULL, *agents = NULL;
	int rc;

	if (rest != 0 || o->count == 0 || (o->rr == NULL) == (o->to == NULL))
		return fail(c, COFFER_ERR_USAGE, "assign --from-pool: needs "
		    "--count N and --round-robin A,B,... (or --to AGENT), no "
		    "customer ids");
	if ((rc = names_array(c, o->rr != NULL ? o->rr : o->to, &agents)) !=
	    COFFER_OK)
		return rc;
	if ((args = msg_new_map()) == NULL) {
		cbor_decref(&agents);
		return COFFER_ERR_NOMEM;
	}
	if (msg_put(args, "agents", agents) != COFFER_OK ||
	    msg_put_uint(args, "count", o->count) != COFFER_OK ||
	    (o->list != NULL && msg_put_str(args, "list", o->list) !=
	    COFFER_OK)) {
		cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	return run_op(c, "customer.distribute", args, show_moved);
}

static int
assign_transfer(struct ctx *c, const struct assign_opts *o, int rest)
{
	cbor_item_t *args = NULL;

	if (rest != 0 || o->to == NULL || o->pool || o->list != NULL ||
	    o->rr != NULL || o->count != 0)
		return fail(c, COFFER_ERR_USAGE, "assign --transfer FROM: needs "
		    "--to AGENT and nothing else");
	if ((args = msg_new_map()) == NULL ||
	    msg_put_str(args, "from", o->transfer) != COFFER_OK ||
	    msg_put_str(args, "to", o->to) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	return run_op(c, "customer.transfer", args, show_moved);
}

static int
assign_ids(struct ctx *c, const struct assign_opts *o, int argc,
    char **argv)
{
	cbor_item_t *args = NULL, *ids = NULL;
	uint64_t id;
	int i, rc;

	if ((rc = need_customer(c, "assign", optind < argc ? argv[optind] :
	    NULL)) != COFFER_OK)
		return rc;
	if (o->to == NULL || optind + 1 >= argc || o->list != NULL ||
	    o->rr != NULL || o->count != 0)
		return fail(c, COFFER_ERR_USAGE, "assign customer ID... --to "
		    "AGENT (see 'coffer assign --help')");
	if (argc - optind - 1 > IDS_MAX)
		return fail(c, COFFER_ERR_USAGE, "assign: at most %d ids",
		    IDS_MAX);
	if ((ids = msg_new_array()) == NULL)
		return COFFER_ERR_NOMEM;
	for (i = optind + 1; i < argc; i++) {
		if ((rc = parse_id(c, "id", argv[i], &id)) != COFFER_OK ||
		    (rc = msg_push(ids, msg_new_uint(id))) != COFFER_OK) {
			cbor_decref(&ids);
			return rc;
		}
	}
	if ((args = msg_new_map()) == NULL) {
		cbor_decref(&ids);
		return COFFER_ERR_NOMEM;
	}
	if (msg_put(args, "ids", ids) != COFFER_OK ||
	    msg_put_str(args, "to", o->to) != COFFER_OK) {
		cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	return run_op(c, "customer.assign", args, show_moved);
}

/*
 * assign customer ID... --to AGENT
 * assign --from-pool [--list NAME] --count N --round-robin A,B,...
 * assign --transfer FROM --to TO
 */
int
cmd_assign(struct ctx *c, int argc, char **argv)
{
	struct assign_opts o;
	int rc;

	if ((rc = assign_parse(c, argc, argv, &o)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if (o.pool && o.transfer != NULL)
		return fail(c, COFFER_ERR_USAGE, "assign: --from-pool and "
		    "--transfer exclude each other");
	if (o.pool)
		return assign_pool(c, &o, argc - optind);
	if (o.transfer != NULL)
		return assign_transfer(c, &o, argc - optind);
	return assign_ids(c, &o, argc, argv);
}

/* ---- today ---------------------------------------------------------- */

/* The end of the local day of t (23:59:59), for "due today". */
static int64_t
end_of_day(int64_t t)
{
	time_t tt = (time_t)t, e;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return t;
	tm.tm_hour = 23;
	tm.tm_min = 59;
	tm.tm_sec = 59;
	tm.tm_isdst = -1;
	e = mktime(&tm);
	return e == (time_t)-1 ? t : (int64_t)e;
}

/* What to do, and why now, for one line. */
static void
task_words(const cbor_item_t *item, int64_t now, char *todo, size_t tsz,
    char *why, size_t wsz)
{
	char task[16] = "", what[16] = "", when[40];
	int64_t due = 0, fid = 0;

	(void)msg_get_str(item, "task", task, sizeof(task));
	(void)msg_get_str(item, "what", what, sizeof(what));
	if (strcmp(task, "lead") == 0) {
		snprintf(todo, tsz, "%s", strcmp(what, "new") == 0 ?
		    "screen, then call" : "call");
		snprintf(why, wsz, "fresh %s lead, never called", what);
		return;
	}
	(void)msg_get_int(item, "due", &due);
	(void)msg_get_int(item, "followup", &fid);
	out_time(due, when, sizeof(when));
	snprintf(todo, tsz, "%s", strcmp(what, "callback") == 0 ?
	    "call back" : strcmp(what, "after_sales") == 0 ?
	    "after-sales revisit" : strcmp(what, "revisit") == 0 ?
	    "revisit" : what);
	snprintf(why, wsz, "%s %s (follow-up %lld)", due < now ?
	    "overdue since" : "due", when, (long long)fid);
}

static int
today_row(struct out_table *t, const cbor_item_t *item, size_t n,
    int64_t now)
{
	static const char *const keys[] = { "name", "phone", "stage" };
	const cbor_item_t *cust = msg_get(item, "customer"), *v;
	char cells[7][128];
	const char *cp[7];
	int64_t id = 0;
	size_t i;

	snprintf(cells[0], sizeof(cells[0]), "%zu", n);
	(void)msg_get_int(item, "id", &id);
	snprintf(cells[1], sizeof(cells[1]), "%lld", (long long)id);
	for (i = 0; i < 3; i++) {
		cells[2 + i][0] = '\0';
		if (cust != NULL && (v = msg_get(cust, keys[i])) != NULL)
			out_value(NULL, keys[i], v, cells[2 + i],
			    sizeof(cells[2 + i]));
	}
	task_words(item, now, cells[5], sizeof(cells[5]), cells[6],
	    sizeof(cells[6]));
	for (i = 0; i < 7; i++)
		cp[i] = cells[i];
	return out_table_add(t, cp);
}

static void
today_footer(const cbor_item_t *res, size_t shown)
{
	uint64_t nf = 0, nl = 0, total = 0;
	char agent[65] = "", clean[80];

	(void)msg_get_uint(res, "followups", &nf);
	(void)msg_get_uint(res, "leads", &nl);
	(void)msg_get_uint(res, "total", &total);
	(void)msg_get_str(res, "agent", agent, sizeof(agent));
	out_sanitize(agent, 0, clean, sizeof(clean));
	printf("%s: %llu follow-up%s due, %llu fresh lead%s", clean,
	    (unsigned long long)nf, nf == 1 ? "" : "s",
	    (unsigned long long)nl, nl == 1 ? "" : "s");
	if (total > shown)
		printf(" (%zu shown; --limit N for more)", shown);
	printf("\n");
	print_hidden(res, "masked", "masked");
	printf("\n"
	    "  dial:          coffer reveal customer ID phone\n"
	    "  log the call:  coffer call ID --outcome answered --intent high "
	    "[--next +3d]\n"
	    "  record a sale: coffer create deal customer_id=ID product_id=P "
	    "amount=YUAN closed=now\n"
	    "  screen a lead: coffer screen customer ID --stage screened | "
	    "--stage excluded --reason TEXT\n"
	    "  follow-up done: coffer done ID [--note TEXT] (ID: the "
	    "follow-up N under WHY)\n");
}

static int
show_today(struct ctx *c, const cbor_item_t *res)
{
	static const char *const heads[] = { "#", "CUSTOMER", "NAME", "PHONE",
		"STAGE", "TO DO", "WHY" };
	const cbor_item_t *arr = msg_get(res, "records");
	struct out_table *t;
	int64_t now = c->now;
	size_t i, n;
	int rc = COFFER_OK;

	if (arr == NULL || !cbor_isa_array(arr))
		return fail(c, COFFER_ERR_PROTO, "today: the daemon's answer has "
		    "no records");
	(void)msg_get_int(res, "now", &now);
	n = cbor_array_size(arr);
	if (n == 0) {
		printf("nothing to do: no follow-up due and no fresh lead\n");
		return COFFER_OK;
	}
	if ((t = out_table_new(7, heads)) == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < n && rc == COFFER_OK; i++)
		rc = today_row(t, cbor_array_handle(arr)[i], i + 1, now);
	if (rc == COFFER_OK)
		rc = out_table_print(t, stdout, 1);
	out_table_free(t);
	if (rc == COFFER_OK)
		today_footer(res, n);
	return rc;
}

/* today [--agent NAME] [--limit N] [--until TIME] */
int
cmd_today(struct ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "limit", required_argument, NULL, 'n' },
		{ "until", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *agent = NULL;
	cbor_item_t *args = NULL;
	uint64_t limit = 0;
	int64_t until = end_of_day(c->now);
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":a:n:u:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'a': agent = optarg; break;
		case 'n':
			if (cli_parse_uint(optarg, &limit) != COFFER_OK ||
			    limit == 0)
				return fail(c, COFFER_ERR_USAGE, "today: --limit "
				    "%.40s: not a positive integer", optarg);
			break;
		case 'u':
			if (cli_parse_time(optarg, c->now, &until) != COFFER_OK ||
			    until < 0)
				return fail(c, COFFER_ERR_USAGE, "today: --until "
				    "%.40s: not a time", optarg);
			break;
		case 'h':
			show_help("today");
			return COFFER_OK;
		default:
			return bad_option(c, "today", argv, opt);
		}
	}
	if (optind < argc)
		return fail(c, COFFER_ERR_USAGE, "today: unexpected '%.40s'",
		    argv[optind]);
	if ((args = msg_new_map()) == NULL ||
	    msg_put_uint(args, "until", (uint64_t)until) != COFFER_OK ||
	    (limit != 0 && msg_put_uint(args, "limit", limit) != COFFER_OK) ||
	    (agent != NULL && msg_put_str(args, "agent", agent) !=
	    COFFER_OK)) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	return run_op(c, "workflow.today", args, show_today);
}

/* ---- call ----------------------------------------------------------- */

struct call_opts {
	const char *outcome, *intent, *duration, *notes, *next, *next_kind;
};

/* record.create of kind with "f=v" words; *id gets the new id. */
static int
create_words(struct ctx *c, const char *kind, char **words, size_t n,
    uint64_t *id)
{
	const struct kind_def *k = schema_kind(kind);
	cbor_item_t *fields = NULL, *args = NULL, *res = NULL;
	const cbor_item_t *rec;
	int rc;

	if ((rc = cli_fields(k, words, n, CLI_CREATE, c->now, &fields, c->msg,
	    sizeof(c->msg))) != COFFER_OK)
		return rc;
	if ((args = msg_new_map()) == NULL ||
	    msg_put_str(args, "kind", k->name) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		cbor_decref(&fields);
		return COFFER_ERR_NOMEM;
	}
	if (msg_put(args, "fields", fields) != COFFER_OK) {
		cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	if ((rc = call(c, "record.create", args, &res)) != COFFER_OK)
		return rc;
	rec = msg_get(res, "record");
	*id = 0;
	if (rec != NULL)
		(void)msg_get_uint(rec, "id", id);
	if (c->json)
		rc = print_json(res);
	cbor_decref(&res);
	return rc;
}

/* Up to 8 "field=value" words in storage of 8 x 4200 bytes. */
struct words {
	char buf[8][VALUE_MAX + 104];
	char *w[8];
	size_t n;
};

static int
word_add(struct ctx *c, struct words *w, const char *f, const char *v)
{
	int len;

	if (v == NULL)
		return COFFER_OK;
	len = snprintf(w->buf[w->n], sizeof(w->buf[w->n]), "%s=%s", f, v);
	if (len < 0 || (size_t)len >= sizeof(w->buf[w->n]))
		return fail(c, COFFER_ERR_USAGE, "call: %s: too long", f);
	w->w[w->n] = w->buf[w->n];
	w->n++;
	return COFFER_OK;
}

static int
call_parse(struct ctx *c, int argc, char **argv, struct call_opts *o)
{
	static const struct option lo[] = {
		{ "outcome", required_argument, NULL, 'o' },
		{ "intent", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "notes", required_argument, NULL, 'm' },
		{ "next", required_argument, NULL, 'N' },
		{ "next-kind", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":o:i:d:m:N:K:h", lo, NULL)) !=
	    -1) {
		switch (opt) {
		case 'o': o->outcome = optarg; break;
		case 'i': o->intent = optarg; break;
		case 'd': o->duration = optarg; break;
		case 'm': o->notes = optarg; break;
		case 'N': o->next = optarg; break;
		case 'K': o->next_kind = optarg; break;
		case 'h':
			show_help("call");
			return -1;
		default:
			return bad_option(c, "call", argv, opt);
		}
	}
	if (optind + 1 != argc || o->outcome == NULL)
		return fail(c, COFFER_ERR_USAGE, "call: expected CUSTOMER-ID "
		    "--outcome OUTCOME (see 'coffer call --help')");
	if (o->next_kind != NULL && o->next == NULL)
		return fail(c, COFFER_ERR_USAGE, "call: --next-kind needs "
		    "--next TIME");
	return COFFER_OK;
}

/*
 * call CUSTOMER --outcome O [--intent I] [--duration S] [--notes T]
 *     [--next TIME [--next-kind KIND]]: record.create of a call started
 * now, then (with --next) of an open follow-up.  Two requests, each
 * audited; if the second fails the call stays logged and says so.
 */
int
cmd_call(struct ctx *c, int argc, char **argv)
{
	struct call_opts o;
	struct words *w = NULL;
	uint64_t cid = 0, call_id = 0, fu_id = 0;
	int rc;

	if ((rc = call_parse(c, argc, argv, &o)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = parse_id(c, "customer", argv[optind], &cid)) != COFFER_OK)
		return rc;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = word_add(c, w, "customer_id", argv[optind])) != COFFER_OK ||
	    (rc = word_add(c, w, "started", "now")) != COFFER_OK ||
	    (rc = word_add(c, w, "duration", o.duration != NULL ? o.duration :
	    "0")) != COFFER_OK ||
	    (rc = word_add(c, w, "outcome", o.outcome)) != COFFER_OK ||
	    (rc = word_add(c, w, "intent", o.intent)) != COFFER_OK ||
	    (rc = word_add(c, w, "notes", o.notes)) != COFFER_OK ||
	    (rc = create_words(c, "call", w->w, w->n, &call_id)) != COFFER_OK)
		goto out;
	if (!c->json)
		printf(c->quiet ? "%llu\n" : "logged call %llu\n",
		    (unsigned long long)call_id);
	if (o.next == NULL)
		goto out;
	w->n = 0;
	if ((rc = word_add(c, w, "customer_id", argv[optind])) != COFFER_OK ||
	    (rc = word_add(c, w, "due", o.next)) != COFFER_OK ||
	    (rc = word_add(c, w, "kind", o.next_kind != NULL ? o.next_kind :
	    "callback")) != COFFER_OK)
		goto out;
	if ((rc = create_words(c, "followup", w->w, w->n, &fu_id)) !=
	    COFFER_OK) {
		fprintf(stderr, "coffer: call %llu is logged; the follow-up "
		    "was not scheduled\n", (unsigned long long)call_id);
		goto out;
	}
	if (!c->json)
		printf(c->quiet ? "%llu\n" : "scheduled follow-up %llu\n",
		    (unsigned long long)fu_id);
out:
	free(w);
	return rc;
}
