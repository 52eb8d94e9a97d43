/*
 * cmd_import.c - `coffer import customers FILE`: a lead list in (docs/
 * import.md).  The CSV file is parsed and checked here, in the client, so
 * the daemon never parses the file's bytes; it validates every row again,
 * checks phones against the vault and inserts all rows in one transaction.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffer/client.h"
#include "coffer/leads.h"

#define IMPORT_BATCH_DEFAULT 1000

struct import_opts {
	const char *file, *list, *rejects;
	enum leads_encoding enc;
	int skip, check;
};

/* One rejected row, from the file check or the daemon's. */
struct reject {
	unsigned long line;
	char status[16];
	char reason[200];
};

struct rejects {
	struct reject *v;
	size_t n, cap;
};

static int
rejects_add(struct rejects *r, unsigned long line, const char *status,
    const char *reason)
{
	struct reject *nv;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;

		if ((nv = realloc(r->v, cap * sizeof(*nv))) == NULL)
			return COFFER_ERR_NOMEM;
		r->v = nv;
		r->cap = cap;
	}
	r->v[r->n].line = line;
	snprintf(r->v[r->n].status, sizeof(r->v[r->n].status), "%s", status);
	snprintf(r->v[r->n].reason, sizeof(r->v[r->n].reason), "%s", reason);
	r->n++;
	return COFFER_OK;
}

static int
by_line(const void *a, const void *b)
{
	const struct reject *x = a, *y = b;

	return (x->line > y->line) - (x->line < y->line);
}

static int
import_args(struct ctx *c, int argc, char **argv, struct import_opts *o)
{
	static const struct option lo[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "encoding", required_argument, NULL, 'e' },
		{ "skip-invalid", no_argument, NULL, 's' },
		{ "rejects", required_argument, NULL, 'r' },
		{ "check", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":l:e:sr:ch", lo, NULL)) != -1) {
		switch (opt) {
		case 'l': o->list = optarg; break;
		case 'e':
			if (leads_encoding_parse(optarg, &o->enc) != COFFER_OK)
				return fail(c, COFFER_ERR_USAGE, "import: "
				    "--encoding %.40s: expected auto, utf-8, "
				    "gb18030 or gbk", optarg);
			break;
		case 's': o->skip = 1; break;
		case 'r': o->rejects = optarg; break;
		case 'c': o->check = 1; break;
		case 'h': show_help("import"); return -1;
		default: return bad_option(c, "import", argv, opt);
		}
	}
	if (optind + 2 != argc || strcmp(argv[optind], "customers") != 0)
		return fail(c, COFFER_ERR_USAGE, "import: usage: coffer import "
		    "customers FILE.csv [--list NAME] (see 'coffer import "
		    "--help')");
	o->file = argv[optind + 1];
	if (o->rejects != NULL && !o->skip)
		return fail(c, COFFER_ERR_USAGE, "import: --rejects goes with "
		    "--skip-invalid");
	return COFFER_OK;
}

/* The whole file, at most LEADS_MAX_BYTES. */
static int
read_file(struct ctx *c, const char *path, unsigned char **buf, size_t *len)
{
	struct stat sb;
	FILE *f = fopen(path, "rb");
	int rc = COFFER_OK;

	*buf = NULL;
	if (f == NULL)
		return fail(c, COFFER_ERR_USAGE, "%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = fail(c, COFFER_ERR_USAGE, "%s: not a regular file", path);
		goto out;
	}
	if ((size_t)sb.st_size > LEADS_MAX_BYTES) {
		rc = fail(c, COFFER_ERR_INVALID, "%s: %lld bytes; a lead list "
		    "holds at most %zu MiB (split it)", path,
		    (long long)sb.st_size, LEADS_MAX_BYTES >> 20);
		goto out;
	}
	if ((*buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	*len = fread(*buf, 1, (size_t)sb.st_size, f);
	if (ferror(f) || *len != (size_t)sb.st_size)
		rc = fail(c, COFFER_ERR_IO, "%s: read error", path);
out:
	fclose(f);
	if (rc != COFFER_OK) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

static void
progress(int tty, size_t done, size_t total)
{
	if (tty && total > 0)
		fprintf(stderr, "\rimport: sending %zu of %zu rows (%zu%%)", done,
		    total, done * 100 / total);
}

/* {rows: [{line, fields}, ...]} for rows [*next, ...), at most batch. */
static int
send_batch(struct ctx *c, const struct import_opts *o,
    const struct leads_result *lr, size_t *next, size_t batch, size_t *sent)
{
	cbor_item_t *args = msg_new_map(), *rows = msg_new_array();
	cbor_item_t *row = NULL, *fields = NULL, *res = NULL;
	size_t n = 0;
	int rc = COFFER_ERR_NOMEM;

	if (args == NULL || rows == NULL)
		goto out;
	for (; *next < lr->nrows && n < batch; (*next)++) {
		const struct leads_row *lrow = &lr->rows[*next];

		if (lrow->status != LEADS_OK && lrow->status != LEADS_EXCLUDED)
			continue;
		if ((rc = leads_row_fields(lrow, o->list, &fields)) != COFFER_OK)
			goto out;
		rc = COFFER_ERR_NOMEM;
		if ((row = msg_new_map()) == NULL ||
		    msg_put_uint(row, "line", lrow->line) != COFFER_OK ||
		    msg_put(row, "fields", fields) != COFFER_OK)
			goto out;
		fields = NULL;
		if (msg_push(rows, row) != COFFER_OK)
			goto out;
		row = NULL;
		n++;
	}
	if (n == 0) {
		rc = COFFER_OK;
		goto out;
	}
	if (msg_put(args, "rows", rows) != COFFER_OK)
		goto out;
	rows = NULL;
	rc = call(c, "import.rows", args, &res);
	args = NULL;
	if (rc == COFFER_OK)
		*sent += n;
out:
	if (res != NULL)
		cbor_decref(&res);
	if (fields != NULL)
		cbor_decref(&fields);
	if (row != NULL)
		cbor_decref(&row);
	if (rows != NULL)
		cbor_decref(&rows);
	if (args != NULL)
		cbor_decref(&args);
	return rc;
}

/* The daemon's rejected rows into rj. */
static int
merge_rejects(const cbor_item_t *res, struct rejects *rj)
{
	const cbor_item_t *a = msg_get(res, "rejected");
	char status[16], reason[200];
	int64_t line;
	size_t i;
	int rc;

	for (i = 0; a != NULL && cbor_isa_array(a) && i < cbor_array_size(a);
	    i++) {
		const cbor_item_t *e = cbor_array_handle(a)[i];

		if (msg_get_int(e, "line", &line) != COFFER_OK || line < 1 ||
		    msg_get_str(e, "status", status, sizeof(status)) !=
		    COFFER_OK ||
		    msg_get_str(e, "reason", reason, sizeof(reason)) != COFFER_OK)
			return COFFER_ERR_PROTO;
		if ((rc = rejects_add(rj, (unsigned long)line, status, reason)) !=
		    COFFER_OK)
			return rc;
	}
	return COFFER_OK;
}

static void
print_rejects(FILE *f, const struct rejects *rj, int csv)
{
	char clean[200];
	size_t i;

	if (csv)
		fprintf(f, "line,status,reason\n");
	for (i = 0; i < rj->n; i++) {
		out_sanitize(rj->v[i].reason, 0, clean, sizeof(clean));
		if (csv)
			fprintf(f, "%lu,%s,\"%s\"\n", rj->v[i].line,
			    rj->v[i].status, clean);
		else
			fprintf(f, "line %lu: %s: %s\n", rj->v[i].line,
			    rj->v[i].status, clean);
	}
}

static int
write_rejects(struct ctx *c, const char *path, const struct rejects *rj)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return fail(c, COFFER_ERR_IO, "%s: %s", path, strerror(errno));
	print_rejects(f, rj, 1);
	if (fclose(f) != 0)
		return fail(c, COFFER_ERR_IO, "%s: write error", path);
	return COFFER_OK;
}

/* The file's own verdicts: rows the daemon will never see. */
static int
local_rejects(const struct leads_result *lr, struct rejects *rj)
{
	size_t i;
	int rc;

	for (i = 0; i < lr->nrows; i++) {
		const struct leads_row *row = &lr->rows[i];

		if (row->status == LEADS_OK || row->status == LEADS_EXCLUDED)
			continue;
		if ((rc = rejects_add(rj, row->line,
		    leads_status_name(row->status), row->reason != NULL ?
		    row->reason : "rejected")) != COFFER_OK)
			return rc;
	}
	return COFFER_OK;
}

/* Stage every good row with the daemon; *sent gets how many. */
static int
stage_all(struct ctx *c, const struct import_opts *o,
    const struct leads_result *lr, size_t *sent)
{
	cbor_item_t *res = NULL;
	uint64_t batch = IMPORT_BATCH_DEFAULT;
	size_t next = 0, good = lr->nrows;
	int tty = isatty(STDERR_FILENO) && !c->quiet && !c->json, rc;

	*sent = 0;
	if ((rc = call(c, "import.begin", msg_new_map(), &res)) != COFFER_OK)
		return rc;
	(void)msg_get_uint(res, "batch", &batch);
	cbor_decref(&res);
	if (batch == 0 || batch > IMPORT_BATCH_DEFAULT)
		batch = IMPORT_BATCH_DEFAULT;
	while (next < lr->nrows) {
		if ((rc = send_batch(c, o, lr, &next, batch, sent)) != COFFER_OK)
			return rc;
		progress(tty, next, good);
	}
	if (tty)
		fputc('\n', stderr);
	return COFFER_OK;
}

/* import.commit; nlocal: rows the file check rejected, for the record */
static int
commit(struct ctx *c, int check, int skip, size_t nlocal, cbor_item_t **res)
{
	cbor_item_t *args = msg_new_map();

	if (args == NULL || msg_put_bool(args, check ? "check" :
	    "skip_invalid", check ? 1 : skip) != COFFER_OK ||
	    msg_put_uint(args, "file_rejected", nlocal) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	return call(c, "import.commit", args, res);
}

/* Rows imported as excluded: their number is on the do-not-call list. */
static void
print_excluded(const cbor_item_t *res)
{
	const cbor_item_t *ex = msg_get(res, "excluded");
	uint64_t n = 0;
	int64_t line = 0;
	size_t i;

	(void)msg_get_uint(res, "excluded_count", &n);
	if (n == 0)
		return;
	printf("%llu row%s imported as excluded: %s (line", (unsigned long
	    long)n, n == 1 ? "" : "s", "on the do-not-call list");
	for (i = 0; ex != NULL && cbor_isa_array(ex) &&
	    i < cbor_array_size(ex); i++)
		if (msg_get_int(cbor_array_handle(ex)[i], "line", &line) ==
		    COFFER_OK)
			printf("%s %lld", i ? "," : "", (long long)line);
	printf("%s)\n", ex != NULL && cbor_isa_array(ex) &&
	    cbor_array_size(ex) < n ? ", ..." : "");
}

static void
print_summary(struct ctx *c, const struct import_opts *o,
    const struct leads_result *lr, const cbor_item_t *res, size_t nrej,
    const char *rejfile)
{
	uint64_t n = 0;
	int64_t first = 0, last = 0;

	if (c->quiet)
		return;
	(void)msg_get_uint(res, "imported", &n);
	(void)msg_get_int(res, "first_id", &first);
	(void)msg_get_int(res, "last_id", &last);
	printf("imported %llu customer%s", (unsigned long long)n,
	    n == 1 ? "" : "s");
	if (n > 0)
		printf(" (ids %lld-%lld)", (long long)first, (long long)last);
	printf(" from %s (%s%s), list %s\n", o->file,
	    leads_encoding_name(lr->encoding), lr->bom ? ", BOM" : "",
	    o->list != NULL ? o->list : "(none)");
	print_excluded(res);
	if (nrej > 0)
		printf("%zu row%s rejected, written to %s\n", nrej,
		    nrej == 1 ? "" : "s", rejfile);
}

int
cmd_import(struct ctx *c, int argc, char **argv)
{
	struct import_opts o;
	struct leads_options lo = { LEADS_ENC_AUTO, 0 };
	struct coffer_errdetail d = { "", "" };
	struct leads_result *lr = NULL;
	struct rejects rj = { NULL, 0, 0 };
	cbor_item_t *res = NULL;
	unsigned char *buf = NULL;
	char rejfile[4096];
	size_t len = 0, sent = 0, nlocal = 0, i;
	int rc;

	if ((rc = import_args(c, argc, argv, &o)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	lo.encoding = o.enc;
	if ((rc = read_file(c, o.file, &buf, &len)) != COFFER_OK)
		goto out;
	if ((rc = leads_parse(buf, len, &lo, &lr, &d)) != COFFER_OK) {
		rc = fail(c, rc, "%s: %s%s%s", o.file, d.field[0] != '\0' &&
		    strcmp(d.field, "file") != 0 ? d.field : "",
		    d.field[0] != '\0' && strcmp(d.field, "file") != 0 ? ": " :
		    "", d.message);
		goto out;
	}
	for (i = 0; i < lr->nunknown && !c->quiet; i++)
		fprintf(stderr, "coffer: import: %s: column '%s' is not "
		    "imported (unknown; see docs/import.md)\n", o.file,
		    lr->unknown[i]);
	if ((rc = local_rejects(lr, &rj)) != COFFER_OK)
		goto out;
	nlocal = rj.n;
	if ((rc = stage_all(c, &o, lr, &sent)) != COFFER_OK ||
	    (rc = commit(c, 1, 0, nlocal, &res)) != COFFER_OK ||
	    (rc = merge_rejects(res, &rj)) != COFFER_OK)
		goto out;
	if (rj.n > 1)
		qsort(rj.v, rj.n, sizeof(*rj.v), by_line);
	if (o.check || (rj.n > 0 && !o.skip)) {
		if (c->json)
			rc = print_json(res);
		else
			print_rejects(stdout, &rj, 0);
		if (!o.check || rj.n > 0)
			rc = fail(c, COFFER_ERR_INVALID, "import: %zu of %zu rows "
			    "rejected; nothing was imported%s", rj.n, lr->nrows,
			    o.check ? " (--check)" : " (--skip-invalid imports "
			    "the others)");
		else if (!c->quiet && !c->json) {
			printf("all %zu rows can be imported (--check: nothing "
			    "was imported)\n", lr->nrows);
			print_excluded(res);
		}
		goto out;
	}
	cbor_decref(&res);
	if (rj.n > 0) {
		snprintf(rejfile, sizeof(rejfile), "%s", o.rejects != NULL ?
		    o.rejects : o.file);
		if (o.rejects == NULL)
			strncat(rejfile, ".rejects.csv", sizeof(rejfile) -
			    strlen(rejfile) - 1);
		if ((rc = write_rejects(c, rejfile, &rj)) != COFFER_OK)
			goto out;
	}
	if ((rc = commit(c, 0, o.skip, nlocal, &res)) != COFFER_OK)
		goto out;
	if (c->json)
		rc = print_json(res);
	else
		print_summary(c, &o, lr, res, rj.n, rejfile);
out:
	if (res != NULL)
		cbor_decref(&res);
	free(rj.v);
	leads_free(lr);
	free(buf);
	(void)sent;
	return rc;
}
