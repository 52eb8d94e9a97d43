/*
 * report_xlsx.c - `coffer report --xlsx FILE`: the report as an Excel
 * workbook (docs/reports.md §6), written with libxlsxwriter: a sheet of
 * agents, one of team sums and one of the team or company total, each
 * with a column per figure, and an "About" sheet with the period, the
 * zone, the generation time and what each column means.  Figures are
 * stored as numbers with a display format (yuan, h:mm:ss, percent),
 * never as text, so that a manager can sort, filter and sum them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "coffer/report.h"
#include "report_xlsx.h"

#define TEXT_MAX 260   /* a sanitized name or team (64 bytes, widened) */

/* How a cell is shown; the value stored is always a plain number. */
enum xfmt { XF_COUNT, XF_MONEY, XF_DURATION, XF_PCT, XF_DEC2, XF_N_ };
static const char *const xfmt_code[XF_N_] = { "#,##0", "#,##0.00",
	"[h]:mm:ss", "0.0%", "0.00" };

/* The derived values of docs/reports.md §2. */
enum xder { XD_NONE, XD_AVG_TALK, XD_CONVERSION, XD_AVG_SAT };

/* A figure column: a figure of the answer, or a value derived from two. */
struct xcol {
	const char *title;    /* the header cell */
	const char *name;     /* the wire name (derived: the CSV name) */
	int fig;              /* enum report_fig, or -1 for a derived value */
	enum xder der;
	enum xfmt fmt;
	double width;
	const char *def;      /* one line; docs/reports.md §2 has the rest */
};

/*
 * Derived values next to the figures they come from; one row of this
 * table is one column of every figure sheet and one line of "About".
 */
static const struct xcol figcols[] = {
	{ "Calls made", "calls", RF_CALLS, XD_NONE, XF_COUNT, 10,
	  "live calls of the agent started in the period, any outcome "
	  "(reports.md 2.1)" },
	{ "Connected", "connected", RF_CONNECTED, XD_NONE, XF_COUNT, 10,
	  "of those, outcome answered or refused" },
	{ "Talk time", "talk_seconds", RF_TALK_SECONDS, XD_NONE, XF_DURATION,
	  11, "sum of the durations of the connected calls (h:mm:ss)" },
	{ "Avg talk", "avg_talk_seconds", -1, XD_AVG_TALK, XF_DURATION, 10,
	  "talk time / connected, half up to whole seconds; blank when "
	  "nothing connected" },
	{ "First contacted", "first_contacted", RF_FIRST_CONTACTED, XD_NONE,
	  XF_COUNT, 10, "calls that are their customer's first live call "
	  "(reports.md 2.2)" },
	{ "Reached intent", "reached_intent", RF_REACHED_INTENT, XD_NONE,
	  XF_COUNT, 10, "calls that are their customer's first with intent "
	  "medium or high" },
	{ "Converted", "converted", RF_CONVERTED, XD_NONE, XF_COUNT, 10,
	  "distinct customers with a deal of the agent in the period, not "
	  "refunded (reports.md 2.3)" },
	{ "Conversion", "conversion_pct", -1, XD_CONVERSION, XF_PCT, 11,
	  "converted / first contacted, to a tenth of a percent, half up; "
	  "blank when nobody was first contacted; may exceed 100%" },
	{ "Deals", "deals", RF_DEALS, XD_NONE, XF_COUNT, 8,
	  "deals of the agent in the period, not refunded" },
	{ "Sales (yuan)", "sales_fen", RF_SALES_FEN, XD_NONE, XF_MONEY, 14,
	  "sum of those deals' amounts in yuan, customers within your "
	  "clearance only" },
	{ "Sales withheld", "sales_withheld", RF_SALES_WITHHELD, XD_NONE,
	  XF_COUNT, 10, "of those deals, how many were not summed: customer "
	  "labelled above your clearance" },
	{ "Satisfaction sum", "satisfaction_sum", RF_SATISFACTION_SUM,
	  XD_NONE, XF_COUNT, 12, "sum of the satisfaction scores (1-5) on all "
	  "the agent's deals of the period, refunded ones included" },
	{ "Satisfaction n", "satisfaction_n", RF_SATISFACTION_N, XD_NONE,
	  XF_COUNT, 12, "how many scores were given" },
	{ "Avg satisfaction", "avg_satisfaction", -1, XD_AVG_SAT, XF_DEC2, 12,
	  "satisfaction sum / n, two decimals, half up; blank when no score" },
	{ "Follow-ups due", "followups_due", RF_FOLLOWUPS_DUE, XD_NONE,
	  XF_COUNT, 10, "follow-ups of the agent due in the period, not "
	  "cancelled (reports.md 2.4)" },
	{ "On time", "followups_on_time", RF_FOLLOWUPS_ON_TIME, XD_NONE,
	  XF_COUNT, 8, "done at most a day after due" },
	{ "Late", "followups_late", RF_FOLLOWUPS_LATE, XD_NONE, XF_COUNT, 8,
	  "done more than a day after due" },
	{ "Overdue", "followups_overdue", RF_FOLLOWUPS_OVERDUE, XD_NONE,
	  XF_COUNT, 8, "still open, more than a day past due" },
	{ "Open", "followups_open", RF_FOLLOWUPS_OPEN, XD_NONE, XF_COUNT, 8,
	  "open, not yet a day past due" },
	{ "Corrected records", "corrected_records", RF_CORRECTED_RECORDS,
	  XD_NONE, XF_COUNT, 10, "records with an approved update request of "
	  "the agent decided in the period (reports.md 2.5)" },
	{ "Rejected requests", "rejected_requests", RF_REJECTED_REQUESTS,
	  XD_NONE, XF_COUNT, 10, "the agent's change requests rejected in "
	  "the period" },
};
#define NFIG (sizeof(figcols) / sizeof(figcols[0]))

/* A label column before the figures: text, or a whole number. */
struct lead {
	const char *title, *key;
	int text;
	double width;
};

static const struct lead agent_lead[] = { { "Agent", "name", 1, 14 },
	{ "Name", "display", 1, 18 }, { "Team", "team", 1, 12 } };
static const struct lead team_lead[] = { { "Team", "team", 1, 14 },
	{ "Agents", "agents", 0, 8 } };
static const struct lead total_lead[] = { { "Agents", "agents", 0, 8 } };

/* The workbook being written and what every sheet shares. */
struct book {
	lxw_workbook *wb;
	lxw_format *fmt[XF_N_], *head, *bold, *wrap;
	int shown[NFIG];          /* column present: its group was granted */
	lxw_error err;            /* the first libxlsxwriter error */
};

static void
chk(struct book *b, lxw_error e)
{
	if (b->err == LXW_NO_ERROR)
		b->err = e;
}

static int
has_fig(const cbor_item_t *m, int fig)
{
	return msg_get(m, report_fig_name((enum report_fig)fig)) != NULL;
}

/* A column is shown when the total has its figure (or both inputs). */
static void
choose_columns(struct book *b, const cbor_item_t *tot)
{
	static const int in[][2] = { [XD_AVG_TALK] = { RF_TALK_SECONDS,
		RF_CONNECTED }, [XD_CONVERSION] = { RF_CONVERTED,
		RF_FIRST_CONTACTED }, [XD_AVG_SAT] = { RF_SATISFACTION_SUM,
		RF_SATISFACTION_N } };
	size_t i;

	for (i = 0; i < NFIG; i++) {
		const struct xcol *k = &figcols[i];

		b->shown[i] = k->der == XD_NONE ? has_fig(tot, k->fig) :
		    has_fig(tot, in[k->der][0]) && has_fig(tot, in[k->der][1]);
	}
}

/*
 * A derived value, rounded half up in integers exactly as the CSV and
 * the table do (docs/reports.md §2), then put in the unit the cell's
 * format expects: days for a duration, a fraction for a percentage.
 */
static int
derive_value(const cbor_item_t *m, enum xder d, double *out)
{
	static const struct { enum report_fig a, b; int64_t scale;
		double unit; } t[] = {
		[XD_AVG_TALK] = { RF_TALK_SECONDS, RF_CONNECTED, 1, 86400 },
		[XD_CONVERSION] = { RF_CONVERTED, RF_FIRST_CONTACTED, 1000,
		    1000 },
		[XD_AVG_SAT] = { RF_SATISFACTION_SUM, RF_SATISFACTION_N, 100,
		    100 },
	};
	int64_t a = 0, b = 0;

	if (msg_get_int(m, report_fig_name(t[d].a), &a) != COFFER_OK ||
	    msg_get_int(m, report_fig_name(t[d].b), &b) != COFFER_OK ||
	    a < 0 || b <= 0)
		return 0;
	*out = (double)((2 * a * t[d].scale + b) / (2 * b)) / t[d].unit;
	return 1;
}

/* The value of a figure column in its cell's unit; 0 when there is none. */
static int
cell_value(const cbor_item_t *m, const struct xcol *k, double *out)
{
	int64_t v = 0;

	if (k->der != XD_NONE)
		return derive_value(m, k->der, out);
	if (msg_get_int(m, k->name, &v) != COFFER_OK)
		return 0;
	if (k->fmt == XF_MONEY)
		*out = (double)v / 100;        /* fen to yuan */
	else if (k->fmt == XF_DURATION)
		*out = (double)v / 86400;      /* seconds to days */
	else
		*out = (double)v;
	return 1;
}

static void
write_text(struct book *b, lxw_worksheet *ws, lxw_row_t r, lxw_col_t col,
    const char *s, lxw_format *f)
{
	char clean[TEXT_MAX];

	out_sanitize(s, 0, clean, sizeof(clean));
	chk(b, worksheet_write_string(ws, r, col, clean, f));
}

/* Header row (bold, frozen, filterable) and the column widths. */
static lxw_col_t
write_header(struct book *b, lxw_worksheet *ws, const struct lead *lead,
    size_t nlead)
{
	lxw_col_t col = 0;
	size_t i;

	for (i = 0; i < nlead; i++, col++) {
		chk(b, worksheet_set_column(ws, col, col, lead[i].width, NULL));
		chk(b, worksheet_write_string(ws, 0, col, lead[i].title,
		    b->head));
	}
	for (i = 0; i < NFIG; i++) {
		if (!b->shown[i])
			continue;
		chk(b, worksheet_set_column(ws, col, col, figcols[i].width,
		    b->fmt[figcols[i].fmt]));
		chk(b, worksheet_write_string(ws, 0, col, figcols[i].title,
		    b->head));
		col++;
	}
	worksheet_freeze_panes(ws, 1, 1);
	return col;
}

static void
write_row(struct book *b, lxw_worksheet *ws, lxw_row_t r,
    const struct lead *lead, size_t nlead, const cbor_item_t *m)
{
	char text[TEXT_MAX];
	lxw_col_t col = 0;
	int64_t v;
	double d;
	size_t i;

	for (i = 0; i < nlead; i++, col++) {
		if (lead[i].text) {
			text[0] = '\0';
			(void)msg_get_str(m, lead[i].key, text, sizeof(text));
			write_text(b, ws, r, col, text, NULL);
		} else if (msg_get_int(m, lead[i].key, &v) == COFFER_OK)
			chk(b, worksheet_write_number(ws, r, col, (double)v,
			    b->fmt[XF_COUNT]));
	}
	for (i = 0; i < NFIG; i++) {
		if (!b->shown[i])
			continue;
		if (cell_value(m, &figcols[i], &d))
			chk(b, worksheet_write_number(ws, r, col, d,
			    b->fmt[figcols[i].fmt]));
		col++;
	}
}

/* One sheet: a header and a row per map of rows (an array, or one map). */
static void
figure_sheet(struct book *b, const char *title, const struct lead *lead,
    size_t nlead, const cbor_item_t *rows)
{
	lxw_worksheet *ws = workbook_add_worksheet(b->wb, title);
	size_t i, n = cbor_isa_array(rows) ? cbor_array_size(rows) : 1;
	lxw_col_t ncol;

	if (ws == NULL) {
		chk(b, LXW_ERROR_MEMORY_MALLOC_FAILED);
		return;
	}
	ncol = write_header(b, ws, lead, nlead);
	for (i = 0; i < n; i++)
		write_row(b, ws, (lxw_row_t)(i + 1), lead, nlead,
		    cbor_isa_array(rows) ? cbor_array_handle(rows)[i] : rows);
	if (n > 0 && ncol > 0)
		chk(b, worksheet_autofilter(ws, 0, 0, (lxw_row_t)n, ncol - 1));
}

/* t in the zone of TZ: the day, or (clock) the day and time with offset. */
static void
local_time(int64_t t, int clock, char *buf, size_t sz)
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n = 0;

	if (localtime_r(&tt, &tm) != NULL)
		n = clock ? strftime(buf, sz, "%Y-%m-%d %H:%M:%S %z", &tm) :
		    strftime(buf, sz, "%Y-%m-%d", &tm);
	if (n == 0)
		snprintf(buf, sz, "%lld", (long long)t);
}

static void
about_pair(struct book *b, lxw_worksheet *ws, lxw_row_t r, const char *k,
    const char *v)
{
	chk(b, worksheet_write_string(ws, r, 0, k, b->bold));
	write_text(b, ws, r, 1, v, b->wrap);
}

/* The groups not shown, as "sales, accuracy"; "" when all are. */
static void
omitted_list(const cbor_item_t *res, char *buf, size_t sz)
{
	const cbor_item_t *om = msg_get(res, "omitted");
	char g[32];
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; om != NULL && cbor_isa_array(om) &&
	    i < cbor_array_size(om); i++) {
		if (msg_item_str(cbor_array_handle(om)[i], g, sizeof(g)) !=
		    COFFER_OK || used + strlen(g) + 3 > sz)
			continue;
		used += (size_t)snprintf(buf + used, sz - used, "%s%s",
		    used > 0 ? ", " : "", g);
	}
}

/* The period, the zone, when, what was left out, and the definitions. */
static void
about_sheet(struct book *b, const char *tz, int64_t now,
    const cbor_item_t *res)
{
	lxw_worksheet *ws = workbook_add_worksheet(b->wb, "About");
	const cbor_item_t *tot = msg_get(res, "total");
	char level[16] = "", a[40], z[40], buf[256];
	int64_t from = 0, to = 0, w = 0;
	lxw_row_t r = 0;
	size_t i;

	if (ws == NULL) {
		chk(b, LXW_ERROR_MEMORY_MALLOC_FAILED);
		return;
	}
	(void)msg_get_str(res, "level", level, sizeof(level));
	(void)msg_get_int(res, "from", &from);
	(void)msg_get_int(res, "to", &to);
	chk(b, worksheet_set_column(ws, 0, 0, 22, NULL));
	chk(b, worksheet_set_column(ws, 1, 1, 24, NULL));
	chk(b, worksheet_set_column(ws, 2, 2, 90, NULL));
	chk(b, worksheet_write_string(ws, r++, 0, "Coffer KPI report",
	    b->head));
	about_pair(b, ws, r++, "Level", level);
	local_time(from, 0, a, sizeof(a));
	local_time(to - 1, 0, z, sizeof(z));
	snprintf(buf, sizeof(buf), "%s to %s (both days included)", a, z);
	about_pair(b, ws, r++, "Period", buf);
	about_pair(b, ws, r++, "Time zone", tz);
	chk(b, worksheet_write_string(ws, r, 0, "From (Unix seconds)", b->bold));
	chk(b, worksheet_write_number(ws, r++, 1, (double)from, NULL));
	chk(b, worksheet_write_string(ws, r, 0, "To (Unix seconds, excluded)",
	    b->bold));
	chk(b, worksheet_write_number(ws, r++, 1, (double)to, NULL));
	local_time(now, 1, a, sizeof(a));
	about_pair(b, ws, r++, "Generated", a);
	omitted_list(res, buf, sizeof(buf));
	if (buf[0] != '\0')
		about_pair(b, ws, r++, "Not shown", buf);
	if (tot != NULL && msg_get_int(tot, "sales_withheld", &w) ==
	    COFFER_OK && w > 0) {
		snprintf(buf, sizeof(buf), "%lld deals of customers labelled "
		    "above your clearance are counted but not summed",
		    (long long)w);
		about_pair(b, ws, r++, "Sales", buf);
	}
	r++;
	chk(b, worksheet_write_string(ws, r, 0, "Column", b->head));
	chk(b, worksheet_write_string(ws, r, 1, "Figure", b->head));
	chk(b, worksheet_write_string(ws, r++, 2, "Definition", b->head));
	for (i = 0; i < NFIG; i++) {
		if (!b->shown[i])
			continue;
		chk(b, worksheet_write_string(ws, r, 0, figcols[i].title, NULL));
		chk(b, worksheet_write_string(ws, r, 1, figcols[i].name, NULL));
		chk(b, worksheet_write_string(ws, r++, 2, figcols[i].def,
		    b->wrap));
	}
	r++;
	chk(b, worksheet_write_string(ws, r, 0, "Definitions in full: "
	    "docs/reports.md (1: period and attribution; 2: the figures; "
	    "3: agents, teams, total; 4: what you may see)", NULL));
}

static int
add_formats(struct book *b)
{
	size_t i;

	for (i = 0; i < XF_N_; i++) {
		if ((b->fmt[i] = workbook_add_format(b->wb)) == NULL)
			return COFFER_ERR_NOMEM;
		format_set_num_format(b->fmt[i], xfmt_code[i]);
	}
	if ((b->head = workbook_add_format(b->wb)) == NULL ||
	    (b->bold = workbook_add_format(b->wb)) == NULL ||
	    (b->wrap = workbook_add_format(b->wb)) == NULL)
		return COFFER_ERR_NOMEM;
	format_set_bold(b->head);
	format_set_bottom(b->head, LXW_BORDER_THIN);
	format_set_text_wrap(b->head);
	format_set_bold(b->bold);
	format_set_text_wrap(b->wrap);
	return COFFER_OK;
}

/*
 * The whole workbook into file (libxlsxwriter's own temporary files go
 * to dir).  *why gets the reason of a failure.
 */
static int
build(const char *file, char *dir, const char *tz, int64_t now,
    const cbor_item_t *res, const char **why)
{
	lxw_workbook_options opt = { .constant_memory = LXW_FALSE,
		.tmpdir = dir };
	char title[] = "Coffer KPI report", comments[] =
	    "Figures defined in docs/reports.md";
	lxw_doc_properties props = { .title = title, .comments = comments,
		.created = (time_t)now };
	const cbor_item_t *agents = msg_get(res, "agents");
	const cbor_item_t *teams = msg_get(res, "teams");
	const cbor_item_t *tot = msg_get(res, "total");
	char level[16] = "";
	struct book b;
	int rc;

	*why = NULL;
	if (agents == NULL || !cbor_isa_array(agents) || tot == NULL ||
	    !cbor_isa_map(tot) || (teams != NULL && !cbor_isa_array(teams)))
		return COFFER_ERR_PROTO;
	memset(&b, 0, sizeof(b));
	if ((b.wb = workbook_new_opt(file, &opt)) == NULL) {
		*why = "libxlsxwriter cannot start a workbook";
		return COFFER_ERR_IO;
	}
	if ((rc = add_formats(&b)) != COFFER_OK) {
		lxw_workbook_free(b.wb);
		return rc;
	}
	chk(&b, workbook_set_properties(b.wb, &props));
	choose_columns(&b, tot);
	(void)msg_get_str(res, "level", level, sizeof(level));
	figure_sheet(&b, "Agents", agent_lead, 3, agents);
	if (teams != NULL)
		figure_sheet(&b, "Teams", team_lead, 2, teams);
	if (strcmp(level, "agent") != 0)
		figure_sheet(&b, strcmp(level, "company") == 0 ? "Company" :
		    "Team total", total_lead, 1, tot);
	about_sheet(&b, tz, now, res);
	if (b.err != LXW_NO_ERROR) {
		*why = lxw_strerror(b.err);
		lxw_workbook_free(b.wb);
		return COFFER_ERR_IO;
	}
	if ((b.err = workbook_close(b.wb)) != LXW_NO_ERROR) {
		*why = lxw_strerror(b.err);
		return COFFER_ERR_IO;
	}
	return COFFER_OK;
}

/* The finished workbook's bytes into the file reserved for it. */
static int
copy_into(int fd, const char *src)
{
	char buf[16384];
	ssize_t n, w;
	size_t off;
	int in, rc = COFFER_OK;

	if ((in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return COFFER_ERR_IO;
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = COFFER_ERR_IO;
			break;
		}
		for (off = 0; off < (size_t)n;) {
			w = write(fd, buf + off, (size_t)n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = COFFER_ERR_IO;
				goto out;
			}
			off += (size_t)w;
		}
	}
out:
	close(in);
	return rc;
}

/* A private directory (0700) for the workbook while it is written. */
static int
make_workdir(char *dir, size_t sz)
{
	const char *t = getenv("TMPDIR");

	if (t == NULL || t[0] != '/' || strlen(t) + 32 > sz)
		t = "/tmp";
	snprintf(dir, sz, "%s/coffer-xlsx.XXXXXX", t);
	return mkdtemp(dir) != NULL ? COFFER_OK : COFFER_ERR_IO;
}

/*
 * libxlsxwriter only writes to a file name, with fopen(name, "wb"),
 * which would follow a symbolic link and truncate whatever is there.
 * So the name is reserved first with O_EXCL (the refusal --html gives
 * too), the workbook is written in a private 0700 directory, and its
 * bytes are copied into the reserved file.
 */
int
report_xlsx_write(struct ctx *c, const char *path, const char *tz,
    const cbor_item_t *res)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 16];
	const char *why = NULL;
	int fd, rc, have_dir = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return fail(c, errno == EEXIST ? COFFER_ERR_CONFLICT :
		    COFFER_ERR_IO, "report: --xlsx %.200s: %s%s", path,
		    strerror(errno), errno == EEXIST ? " (never overwritten)" :
		    "");
	if ((rc = make_workdir(dir, sizeof(dir))) != COFFER_OK) {
		why = "cannot make a temporary directory";
		goto out;
	}
	have_dir = 1;
	snprintf(tmp, sizeof(tmp), "%s/report.xlsx", dir);
	if ((rc = build(tmp, dir, tz, c->now, res, &why)) == COFFER_OK)
		rc = copy_into(fd, tmp);
out:
	if (close(fd) != 0 && rc == COFFER_OK)
		rc = COFFER_ERR_IO;
	if (have_dir) {
		(void)unlink(tmp);
		(void)rmdir(dir);
	}
	if (rc != COFFER_OK) {
		(void)unlink(path);
		return fail(c, rc, "report: --xlsx %.200s: not written (%s)",
		    path, why != NULL ? why : coffer_strerror(rc));
	}
	return COFFER_OK;
}
