/*
 * report_html.c - `coffer report --html FILE`: the report as one
 * self-contained HTML page (docs/reports.md §6): a weekly trend of calls
 * and sales, a ranking of agents and the conversion funnel, drawn as
 * inline SVG paths, and the figures table.  No script, no style sheet or
 * font from the network: it opens in any browser, offline.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coffer/report.h"
#include "report_html.h"

#define W 640          /* chart width */
#define H 200          /* chart height */
#define PAD 40
#define BAR 22         /* ranking bar height */
#define RANK_MAX 30    /* agents in the ranking */

/* Text into HTML: & < > " ' escaped, control characters dropped. */
static void
esc(FILE *f, const char *s)
{
	char clean[512];
	const char *p;

	out_sanitize(s, 0, clean, sizeof(clean));
	for (p = clean; *p != '\0'; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*p, f); break;
		}
	}
}

static int64_t
get(const cbor_item_t *m, const char *k)
{
	int64_t v = 0;

	(void)msg_get_int(m, k, &v);
	return v;
}

static void
day(int64_t t, char *buf, size_t sz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sz, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, sz, "%lld", (long long)t);
}

/* A line chart of one series of the weeks, as one path. */
static void
trend_chart(FILE *f, const cbor_item_t *weeks, const char *key,
    const char *title, int money)
{
	size_t i, n = cbor_array_size(weeks);
	int64_t max = 1, v;
	double x, y, step;
	char d[16];

	for (i = 0; i < n; i++)
		if ((v = get(cbor_array_handle(weeks)[i], key)) > max)
			max = v;
	step = n > 1 ? (double)(W - 2 * PAD) / (double)(n - 1) : 0;
	fprintf(f, "<h2>%s</h2>\n<svg class=\"chart trend\" "
	    "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	    "viewBox=\"0 0 %d %d\">\n<path class=\"axis\" d=\"M%d %d H%d\" "
	    "stroke=\"#888\"/>\n<path class=\"series\" fill=\"none\" "
	    "stroke=\"#1f6fb2\" stroke-width=\"2\" d=\"", title, W, H, W, H,
	    PAD, H - PAD, W - PAD);
	for (i = 0; i < n; i++) {
		v = get(cbor_array_handle(weeks)[i], key);
		x = PAD + step * (double)i;
		y = (double)(H - PAD) - (double)(H - 2 * PAD) * (double)v /
		    (double)max;
		fprintf(f, "%s%.1f %.1f", i == 0 ? "M" : " L", x, y);
		if (n == 1)
			fprintf(f, " L%.1f %.1f", x + 1, y);
	}
	fputs("\"/>\n", f);
	for (i = 0; i < n; i++) {
		const cbor_item_t *w = cbor_array_handle(weeks)[i];

		v = get(w, key);
		day(get(w, "start"), d, sizeof(d));
		x = PAD + step * (double)i;
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" "
		    "text-anchor=\"middle\">%s</text>", x, H - PAD + 14, d);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" "
		    "text-anchor=\"middle\">", x, (double)(H - PAD) -
		    (double)(H - 2 * PAD) * (double)v / (double)max - 4);
		if (money)
			fprintf(f, "%lld", (long long)(v / 100));
		else
			fprintf(f, "%lld", (long long)v);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
}

struct rank { const cbor_item_t *m; int64_t v; };

static int
by_value(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	return (x->v < y->v) - (x->v > y->v);
}

/* Agents ranked by sales (or by calls when sales are not shown). */
static int
ranking(FILE *f, const cbor_item_t *agents, const char *key)
{
	size_t i, n = cbor_array_size(agents);
	struct rank *r = NULL;
	int64_t max = 1;
	char name[80];
	double w;

	if (n > RANK_MAX)
		n = RANK_MAX;
	if (n > 0 && (r = calloc(cbor_array_size(agents), sizeof(*r))) == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < cbor_array_size(agents); i++) {
		r[i].m = cbor_array_handle(agents)[i];
		r[i].v = get(r[i].m, key);
	}
	if (n > 0)
		qsort(r, cbor_array_size(agents), sizeof(*r), by_value);
	if (n > 0 && r[0].v > max)
		max = r[0].v;
	fprintf(f, "<h2>Agents by %s</h2>\n<svg class=\"chart ranking\" "
	    "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\">"
	    "\n", strcmp(key, "sales_fen") == 0 ? "sales (yuan)" : "calls", W,
	    n * (BAR + 4) + 4);
	for (i = 0; i < n; i++) {
		w = (double)(W - 260) * (double)r[i].v / (double)max;
		name[0] = '\0';
		(void)msg_get_str(r[i].m, "name", name, sizeof(name));
		fprintf(f, "<text x=\"4\" y=\"%zu\" font-size=\"12\">",
		    i * (BAR + 4) + 18);
		esc(f, name);
		fprintf(f, "</text><path class=\"bar\" fill=\"#2e8b57\" "
		    "d=\"M120 %zu h%.1f v%d h%.1f Z\"/><text x=\"%.1f\" y=\"%zu\" "
		    "font-size=\"12\">%lld</text>\n", i * (BAR + 4) + 4,
		    w < 1 ? 1.0 : w, BAR, w < 1 ? -1.0 : -w, 126 + w,
		    i * (BAR + 4) + 18, (long long)(strcmp(key, "sales_fen") ==
		    0 ? r[i].v / 100 : r[i].v));
	}
	fputs("</svg>\n", f);
	free(r);
	return COFFER_OK;
}

/* Calls, connected, first contacted, reached intent, converted. */
static void
funnel(FILE *f, const cbor_item_t *tot)
{
	static const char *const keys[] = { "calls", "connected",
		"first_contacted", "reached_intent", "converted" };
	static const char *const words[] = { "calls made", "calls connected",
		"leads first contacted", "leads that reached intent",
		"customers converted" };
	size_t i, n = sizeof(keys) / sizeof(keys[0]);
	int64_t max = get(tot, "calls");
	double w;

	if (max < 1)
		max = 1;
	fprintf(f, "<h2>Conversion funnel</h2>\n<svg class=\"chart funnel\" "
	    "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\">"
	    "\n", W, n * 34 + 4);
	for (i = 0; i < n; i++) {
		w = (double)(W - 40) * (double)get(tot, keys[i]) / (double)max;
		if (w < 2)
			w = 2;
		fprintf(f, "<path class=\"stage\" fill=\"#c7663b\" "
		    "d=\"M%.1f %zu h%.1f v28 h%.1f Z\"/><text x=\"%d\" y=\"%zu\" "
		    "font-size=\"12\" text-anchor=\"middle\">%s: %lld</text>\n",
		    (W - w) / 2, i * 34 + 4, w, -w, W / 2, i * 34 + 22,
		    words[i], (long long)get(tot, keys[i]));
	}
	fputs("</svg>\n", f);
}

static void
figures_table(FILE *f, const cbor_item_t *agents, const cbor_item_t *tot)
{
	size_t i, k;
	int64_t v;
	char name[80];

	fputs("<h2>Figures</h2>\n<table>\n<tr><th>agent</th>", f);
	for (k = 0; k < RF_COUNT_; k++)
		fprintf(f, "<th>%s</th>", report_fig_name((enum report_fig)k));
	fputs("</tr>\n", f);
	for (i = 0; i <= cbor_array_size(agents); i++) {
		const cbor_item_t *m = i < cbor_array_size(agents) ?
		    cbor_array_handle(agents)[i] : tot;

		snprintf(name, sizeof(name), "total");
		if (m != tot)
			(void)msg_get_str(m, "name", name, sizeof(name));
		fputs("<tr><td>", f);
		esc(f, name);
		fputs("</td>", f);
		for (k = 0; k < RF_COUNT_; k++) {
			if (msg_get_int(m, report_fig_name((enum report_fig)k),
			    &v) == COFFER_OK)
				fprintf(f, "<td>%lld</td>", (long long)v);
			else
				fputs("<td>-</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

static int
write_page(FILE *f, const char *tz, const cbor_item_t *res)
{
	const cbor_item_t *weeks = msg_get(res, "weeks");
	const cbor_item_t *agents = msg_get(res, "agents");
	const cbor_item_t *tot = msg_get(res, "total");
	char level[16] = "", a[16], b[16];
	int sales;

	if (weeks == NULL || !cbor_isa_array(weeks) || agents == NULL ||
	    !cbor_isa_array(agents) || tot == NULL || !cbor_isa_map(tot))
		return COFFER_ERR_PROTO;
	sales = msg_get(tot, "sales_fen") != NULL;
	(void)msg_get_str(res, "level", level, sizeof(level));
	day(get(res, "from"), a, sizeof(a));
	day(get(res, "to") - 1, b, sizeof(b));
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<title>Coffer KPI report</title><style>body{font-family:sans-serif;"
	    "margin:2em}table{border-collapse:collapse;font-size:12px}"
	    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
	    "</style></head><body>\n<h1>KPI report: ", f);
	esc(f, level);
	fprintf(f, ", %s to %s (", a, b);
	esc(f, tz);
	fputs(")</h1>\n", f);
	trend_chart(f, weeks, "calls", "Calls per week", 0);
	if (sales)
		trend_chart(f, weeks, "sales_fen", "Sales per week (yuan)", 1);
	if (ranking(f, agents, sales ? "sales_fen" : "calls") != COFFER_OK)
		return COFFER_ERR_NOMEM;
	funnel(f, tot);
	figures_table(f, agents, tot);
	fputs("</body></html>\n", f);
	return COFFER_OK;
}

int
report_html_write(struct ctx *c, const char *path, const char *tz,
    const cbor_item_t *res)
{
	FILE *f = NULL;
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return fail(c, errno == EEXIST ? COFFER_ERR_CONFLICT :
		    COFFER_ERR_IO, "report: --html %.200s: %s%s", path,
		    strerror(errno), errno == EEXIST ? " (never overwritten)" :
		    "");
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return fail(c, COFFER_ERR_IO, "report: --html: %s",
		    strerror(errno));
	}
	rc = write_page(f, tz, res);
	if (fclose(f) != 0 && rc == COFFER_OK)
		rc = COFFER_ERR_IO;
	if (rc != COFFER_OK) {
		(void)unlink(path);
		return fail(c, rc, "report: --html %.200s: not written (%s)",
		    path, coffer_strerror(rc));
	}
	return COFFER_OK;
}
