/*
 * cmd_report.c - `coffer report` (docs/reports.md): turns a period in a
 * time zone into Unix seconds, asks the daemon for report.kpi and prints
 * the figures as a terminal table, CSV (RFC 4180), JSON, a
 * self-contained HTML page with SVG charts or an XLSX workbook.  Averages and rates are
 * derived here from the daemon's integer sums, by the formulas of
 * docs/reports.md §2.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "coffer/client.h"
#include "coffer/report.h"
#include "report_html.h"
#include "report_xlsx.h"

#define TZ_DEFAULT "Asia/Shanghai"
#define TZ_MAX 64
#define CELL 80

enum fmt { FMT_TABLE, FMT_CSV, FMT_JSON };

struct report_opts {
	const char *period, *date, *from, *to, *tz, *level, *agent;
	const char *html, *xlsx;
	enum fmt fmt;
};

/* ---- the period ----------------------------------------------------- */

/* A zone name from the tz database: checked, then put into TZ. */
static int
set_tz(struct ctx *c, const char *tz)
{
	char path[TZ_MAX + 32];
	struct stat sb;
	size_t i, n = strlen(tz);

	if (n == 0 || n > TZ_MAX || tz[0] == '/' || strstr(tz, "..") != NULL)
		goto bad;
	for (i = 0; i < n; i++)
		if (!((tz[i] >= 'A' && tz[i] <= 'Z') || (tz[i] >= 'a' &&
		    tz[i] <= 'z') || (tz[i] >= '0' && tz[i] <= '9') ||
		    strchr("_+-/", tz[i]) != NULL))
			goto bad;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	if (strcmp(tz, "UTC") != 0 && (stat(path, &sb) != 0 ||
	    !S_ISREG(sb.st_mode)))
		goto bad;
	if (setenv("TZ", tz, 1) != 0)
		return fail(c, COFFER_ERR_NOMEM, "report: cannot set TZ");
	tzset();
	return COFFER_OK;
bad:
	return fail(c, COFFER_ERR_USAGE, "report: --tz %.64s: not a time zone "
	    "of the tz database (e.g. Asia/Shanghai, UTC)", tz);
}

/* YYYY-MM-DD into tm (midnight, local); 0 on success. */
static int
parse_day(const char *s, struct tm *tm)
{
	int y, m, d, n = 0;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
	    n != 10 || y < 1970 || y > 2099 || m < 1 || m > 12 || d < 1 ||
	    d > 31)
		return -1;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = y - 1900;
	tm->tm_mon = m - 1;
	tm->tm_mday = d;
	tm->tm_isdst = -1;
	return 0;
}

/* Local midnight of tm plus days (mktime normalises across months). */
static int64_t
midnight(const struct tm *base, int days, int months)
{
	struct tm tm = *base;

	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday += days;
	tm.tm_mon += months;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/* The Monday (local midnight) of the week holding t. */
static int64_t
monday_of(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return t;
	return midnight(&tm, -((tm.tm_wday + 6) % 7), 0);
}

static int
day_arg(struct ctx *c, const char *opt, const char *s, struct tm *tm)
{
	if (parse_day(s, tm) != 0)
		return fail(c, COFFER_ERR_USAGE, "report: --%s %.40s: not a date "
		    "(YYYY-MM-DD)", opt, s);
	return COFFER_OK;
}

static int
period_of(struct ctx *c, const struct report_opts *o, int64_t *from,
    int64_t *to)
{
	time_t now = (time_t)c->now;
	struct tm tm, tm2;
	int rc;

	if (o->from != NULL || o->to != NULL) {
		if (o->from == NULL || o->to == NULL || o->period != NULL ||
		    o->date != NULL)
			return fail(c, COFFER_ERR_USAGE, "report: --from and --to "
			    "go together, without --period or --date");
		if ((rc = day_arg(c, "from", o->from, &tm)) != COFFER_OK ||
		    (rc = day_arg(c, "to", o->to, &tm2)) != COFFER_OK)
			return rc;
		*from = midnight(&tm, 0, 0);
		*to = midnight(&tm2, 1, 0);
	} else {
		if (o->date != NULL) {
			if ((rc = day_arg(c, "date", o->date, &tm)) != COFFER_OK)
				return rc;
		} else if (localtime_r(&now, &tm) == NULL)
			return fail(c, COFFER_ERR_INTERNAL, "report: no local time");
		if (o->period == NULL || strcmp(o->period, "month") == 0) {
			tm.tm_mday = 1;
			*from = midnight(&tm, 0, 0);
			*to = midnight(&tm, 0, 1);
		} else if (strcmp(o->period, "week") == 0) {
			*from = monday_of(midnight(&tm, 0, 0));
			*to = *from + 8 * 86400;   /* then back to midnight */
			*to = monday_of(*to);
		} else if (strcmp(o->period, "day") == 0) {
			*from = midnight(&tm, 0, 0);
			*to = midnight(&tm, 1, 0);
		} else
			return fail(c, COFFER_ERR_USAGE, "report: --period "
			    "%.20s: expected day, week or month", o->period);
	}
	if (*from < 0 || *to <= *from)
		return fail(c, COFFER_ERR_USAGE, "report: the period is empty "
		    "(--to is before --from)");
	if (*to - *from > REPORT_PERIOD_MAX)
		return fail(c, COFFER_ERR_USAGE, "report: the period is longer "
		    "than %d days", REPORT_PERIOD_MAX / 86400);
	return COFFER_OK;
}

/* ---- figures and derived values --------------------------------------- */

static int
fig(const cbor_item_t *m, enum report_fig f, int64_t *v)
{
	return msg_get_int(m, report_fig_name(f), v) == COFFER_OK;
}

/* a / b rounded half up to `dec` decimals, as text; "" when b is 0. */
static void
ratio(int64_t a, int64_t b, int64_t scale, int dec, char *buf, size_t sz)
{
	int64_t q, p = 1;
	int i;

	buf[0] = '\0';
	if (b <= 0 || a < 0)
		return;
	for (i = 0; i < dec; i++)
		p *= 10;
	q = (2 * a * scale * p + b) / (2 * b);
	if (dec == 0)
		snprintf(buf, sz, "%lld", (long long)q);
	else
		snprintf(buf, sz, "%lld.%0*lld", (long long)(q / p), dec,
		    (long long)(q % p));
}

enum derived { D_AVG_TALK, D_CONVERSION, D_AVG_SATISFACTION, D_COUNT_ };
static const char *const derived_names[D_COUNT_] = { "avg_talk_seconds",
	"conversion_pct", "avg_satisfaction" };

static void
derive(const cbor_item_t *m, enum derived d, char *buf, size_t sz)
{
	int64_t a = 0, b = 0;

	buf[0] = '\0';
	switch (d) {
	case D_AVG_TALK:
		if (fig(m, RF_TALK_SECONDS, &a) && fig(m, RF_CONNECTED, &b))
			ratio(a, b, 1, 0, buf, sz);
		break;
	case D_CONVERSION:
		if (fig(m, RF_CONVERTED, &a) && fig(m, RF_FIRST_CONTACTED, &b))
			ratio(a, b, 100, 1, buf, sz);
		break;
	default:
		if (fig(m, RF_SATISFACTION_SUM, &a) &&
		    fig(m, RF_SATISFACTION_N, &b))
			ratio(a, b, 1, 2, buf, sz);
		break;
	}
}

/* One line of output: an agent, a team or the total. */
struct line {
	const char *kind;     /* "agent", "team", "total" */
	char name[65], team[65];
	const cbor_item_t *m;
};

/* The lines of a result, agents first, then teams, then the total. */
static int
collect_lines(const cbor_item_t *res, struct line **out, size_t *n)
{
	const char *const keys[] = { "agents", "teams" };
	const cbor_item_t *a, *tot = msg_get(res, "total");
	struct line *l = NULL;
	size_t i, k, cap = 1, used = 0;

	for (k = 0; k < 2; k++)
		if ((a = msg_get(res, keys[k])) != NULL && cbor_isa_array(a))
			cap += cbor_array_size(a);
	if ((l = calloc(cap, sizeof(*l))) == NULL)
		return COFFER_ERR_NOMEM;
	for (k = 0; k < 2; k++) {
		a = msg_get(res, keys[k]);
		for (i = 0; a != NULL && cbor_isa_array(a) &&
		    i < cbor_array_size(a); i++, used++) {
			l[used].kind = k == 0 ? "agent" : "team";
			l[used].m = cbor_array_handle(a)[i];
			(void)msg_get_str(l[used].m, "name", l[used].name,
			    sizeof(l[used].name));
			(void)msg_get_str(l[used].m, "team", l[used].team,
			    sizeof(l[used].team));
		}
	}
	if (tot != NULL && cbor_isa_map(tot)) {
		l[used].kind = "total";
		l[used].m = tot;
		used++;
	}
	*out = l;
	*n = used;
	return COFFER_OK;
}

/* ---- CSV ------------------------------------------------------------ */

static void
csv_field(const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* RFC 4180, CRLF line ends; absent figures are empty fields. */
static int
print_csv(const struct line *l, size_t n)
{
	char cell[CELL], clean[2 * CELL];
	size_t i, f;
	int64_t v;

	fputs("row,name,team", stdout);
	for (f = 0; f < RF_COUNT_; f++)
		printf(",%s", report_fig_name((enum report_fig)f));
	for (f = 0; f < D_COUNT_; f++)
		printf(",%s", derived_names[f]);
	fputs("\r\n", stdout);
	for (i = 0; i < n; i++) {
		fputs(l[i].kind, stdout);
		putchar(',');
		out_sanitize(l[i].name, 0, clean, sizeof(clean));
		csv_field(clean);
		putchar(',');
		out_sanitize(l[i].team, 0, clean, sizeof(clean));
		csv_field(clean);
		for (f = 0; f < RF_COUNT_; f++) {
			putchar(',');
			if (fig(l[i].m, (enum report_fig)f, &v))
				printf("%lld", (long long)v);
		}
		for (f = 0; f < D_COUNT_; f++) {
			derive(l[i].m, (enum derived)f, cell, sizeof(cell));
			printf(",%s", cell);
		}
		fputs("\r\n", stdout);
	}
	return ferror(stdout) ? COFFER_ERR_IO : COFFER_OK;
}

/* ---- the terminal table --------------------------------------------- */

/* Column: a figure, a derived value, or a formatted figure. */
struct col {
	const char *head;
	int fig;          /* enum report_fig, or -1 */
	int der;          /* enum derived, or -1 */
	int style;        /* 0 plain, 1 duration h:mm:ss, 2 money */
};

static const struct col cols[] = {
	{ "calls", RF_CALLS, -1, 0 },
	{ "conn", RF_CONNECTED, -1, 0 },
	{ "talk", RF_TALK_SECONDS, -1, 1 },
	{ "avg", -1, D_AVG_TALK, 1 },
	{ "1st", RF_FIRST_CONTACTED, -1, 0 },
	{ "intent", RF_REACHED_INTENT, -1, 0 },
	{ "won", RF_CONVERTED, -1, 0 },
	{ "conv%", -1, D_CONVERSION, 0 },
	{ "deals", RF_DEALS, -1, 0 },
	{ "sales", RF_SALES_FEN, -1, 2 },
	{ "sat", -1, D_AVG_SATISFACTION, 0 },
	{ "fu due", RF_FOLLOWUPS_DUE, -1, 0 },
	{ "ontime", RF_FOLLOWUPS_ON_TIME, -1, 0 },
	{ "late", RF_FOLLOWUPS_LATE, -1, 0 },
	{ "overdue", RF_FOLLOWUPS_OVERDUE, -1, 0 },
	{ "fixed", RF_CORRECTED_RECORDS, -1, 0 },
	{ "rejected", RF_REJECTED_REQUESTS, -1, 0 },
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static void
duration(int64_t s, char *buf, size_t sz)
{
	snprintf(buf, sz, "%lld:%02lld:%02lld", (long long)(s / 3600),
	    (long long)(s / 60 % 60), (long long)(s % 60));
}

static void
cell_of(const cbor_item_t *m, const struct col *k, char *buf, size_t sz)
{
	int64_t v = 0;

	snprintf(buf, sz, "-");
	if (k->der >= 0) {
		derive(m, (enum derived)k->der, buf, sz);
		if (buf[0] == '\0')
			snprintf(buf, sz, "-");
		else if (k->style == 1 && cli_parse_int(buf, &v) == COFFER_OK)
			duration(v, buf, sz);
		return;
	}
	if (!fig(m, (enum report_fig)k->fig, &v))
		return;
	if (k->style == 1)
		duration(v, buf, sz);
	else if (k->style == 2)
		out_money(v, buf, sz);
	else
		snprintf(buf, sz, "%lld", (long long)v);
}

static int
print_report_table(const struct line *l, size_t n)
{
	const char *heads[NCOLS + 2];
	char *cells[NCOLS + 2] = { NULL };
	struct out_table *t = NULL;
	size_t i, j;
	int rc = COFFER_ERR_NOMEM;

	heads[0] = "who";
	heads[1] = "team";
	for (j = 0; j < NCOLS; j++)
		heads[j + 2] = cols[j].head;
	if ((t = out_table_new(NCOLS + 2, heads)) == NULL)
		return COFFER_ERR_NOMEM;
	for (j = 0; j < NCOLS + 2; j++)
		if ((cells[j] = malloc(CELL)) == NULL)
			goto out;
	for (i = 0; i < n; i++) {
		snprintf(cells[0], CELL, "%s", strcmp(l[i].kind, "agent") ==
		    0 ? l[i].name : strcmp(l[i].kind, "team") == 0 ? "= team" :
		    "= total");
		snprintf(cells[1], CELL, "%s", strcmp(l[i].kind, "total") == 0 ?
		    "" : l[i].team);
		for (j = 0; j < NCOLS; j++)
			cell_of(l[i].m, &cols[j], cells[j + 2], CELL);
		if ((rc = out_table_add(t, (const char *const *)cells)) !=
		    COFFER_OK)
			goto out;
	}
	rc = out_table_print(t, stdout, 1);
out:
	for (j = 0; j < NCOLS + 2; j++)
		free(cells[j]);
	out_table_free(t);
	return rc;
}

static void
local_day(int64_t t, char *buf, size_t sz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL || strftime(buf, sz, "%Y-%m-%d",
	    &tm) == 0)
		snprintf(buf, sz, "%lld", (long long)t);
}

/* The heading and the notes on what is not shown. */
static void
print_heading(const cbor_item_t *res, const char *tz)
{
	const cbor_item_t *om = msg_get(res, "omitted"), *tot;
	char level[16] = "?", a[32], b[32], g[32];
	int64_t from = 0, to = 0, w = 0;
	size_t i;

	(void)msg_get_str(res, "level", level, sizeof(level));
	(void)msg_get_int(res, "from", &from);
	(void)msg_get_int(res, "to", &to);
	local_day(from, a, sizeof(a));
	local_day(to - 1, b, sizeof(b));
	printf("KPI report (%s): %s to %s (both included), %s\n", level, a,
	    b, tz);
	for (i = 0; om != NULL && cbor_isa_array(om) &&
	    i < cbor_array_size(om); i++)
		if (msg_item_str(cbor_array_handle(om)[i], g, sizeof(g)) ==
		    COFFER_OK)
			printf("not shown: %s (not granted, or above your "
			    "clearance)\n", g);
	tot = msg_get(res, "total");
	if (tot != NULL && fig(tot, RF_SALES_WITHHELD, &w) && w > 0)
		printf("sales: %lld deals of customers labelled above your "
		    "clearance are counted but not summed\n", (long long)w);
	putchar('\n');
}

/* ---- the command ---------------------------------------------------- */

static int
report_parse(struct ctx *c, int argc, char **argv, struct report_opts *o)
{
	static const struct option lo[] = {
		{ "period", required_argument, NULL, 'p' },
		{ "date", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "tz", required_argument, NULL, 'z' },
		{ "level", required_argument, NULL, 'l' },
		{ "team", no_argument, NULL, 'T' },
		{ "company", no_argument, NULL, 'C' },
		{ "agent", required_argument, NULL, 'a' },
		{ "csv", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "html", required_argument, NULL, 'H' },
		{ "xlsx", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	memset(o, 0, sizeof(*o));
	o->tz = TZ_DEFAULT;
	o->fmt = c->json ? FMT_JSON : FMT_TABLE;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":p:d:f:t:z:l:TCa:cjH:x:h", lo,
	    NULL)) != -1) {
		switch (opt) {
		case 'p': o->period = optarg; break;
		case 'd': o->date = optarg; break;
		case 'f': o->from = optarg; break;
		case 't': o->to = optarg; break;
		case 'z': o->tz = optarg; break;
		case 'l': o->level = optarg; break;
		case 'T': o->level = "team"; break;
		case 'C': o->level = "company"; break;
		case 'a': o->agent = optarg; break;
		case 'c': o->fmt = FMT_CSV; break;
		case 'j': o->fmt = FMT_JSON; break;
		case 'H': o->html = optarg; break;
		case 'x': o->xlsx = optarg; break;
		case 'h':
			show_help("report");
			return -1;
		default:
			return bad_option(c, "report", argv, opt);
		}
	}
	if (optind < argc)
		return fail(c, COFFER_ERR_USAGE, "report: unexpected '%.40s'",
		    argv[optind]);
	if (o->level != NULL && strcmp(o->level, "agent") != 0 &&
	    strcmp(o->level, "team") != 0 && strcmp(o->level, "company") != 0)
		return fail(c, COFFER_ERR_USAGE, "report: --level %.20s: "
		    "expected agent, team or company", o->level);
	return COFFER_OK;
}

static cbor_item_t *
report_args(const struct report_opts *o, int64_t from, int64_t to)
{
	cbor_item_t *a = msg_new_map();

	if (a == NULL || msg_put_uint(a, "from", (uint64_t)from) != COFFER_OK ||
	    msg_put_uint(a, "to", (uint64_t)to) != COFFER_OK ||
	    (o->level != NULL && msg_put_str(a, "level", o->level) !=
	    COFFER_OK) ||
	    (o->agent != NULL && msg_put_str(a, "agent", o->agent) !=
	    COFFER_OK) ||
	    (o->html != NULL && (msg_put_bool(a, "trend", 1) != COFFER_OK ||
	    msg_put_uint(a, "week0", (uint64_t)monday_of(from)) !=
	    COFFER_OK))) {
		if (a != NULL)
			cbor_decref(&a);
		return NULL;
	}
	return a;
}

static int
show_report(struct ctx *c, const struct report_opts *o,
    const cbor_item_t *res)
{
	struct line *l = NULL;
	size_t n = 0;
	int rc;

	if (o->html != NULL && (rc = report_html_write(c, o->html, o->tz,
	    res)) != COFFER_OK)
		return rc;
	if (o->xlsx != NULL && (rc = report_xlsx_write(c, o->xlsx, o->tz,
	    res)) != COFFER_OK)
		return rc;
	if (o->fmt == FMT_JSON)
		return print_json(res);
	if (c->quiet)
		return COFFER_OK;
	if ((rc = collect_lines(res, &l, &n)) != COFFER_OK)
		return rc;
	if (o->fmt == FMT_CSV)
		rc = print_csv(l, n);
	else {
		print_heading(res, o->tz);
		rc = print_report_table(l, n);
	}
	free(l);
	return rc;
}

/* report [--period P [--date D] | --from D --to D] [--tz Z] [...] */
int
cmd_report(struct ctx *c, int argc, char **argv)
{
	struct report_opts o;
	cbor_item_t *args = NULL, *res = NULL;
	int64_t from = 0, to = 0;
	int rc;

	if ((rc = report_parse(c, argc, argv, &o)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = set_tz(c, o.tz)) != COFFER_OK ||
	    (rc = period_of(c, &o, &from, &to)) != COFFER_OK)
		return rc;
	if ((args = report_args(&o, from, to)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = call(c, "report.kpi", args, &res)) != COFFER_OK)
		return rc;
	rc = show_report(c, &o, res);
	cbor_decref(&res);
	return rc;
}
