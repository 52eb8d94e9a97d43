/*
 * coffer-leadcheck - parse a lead-list CSV with the import module (leads.h)
 * and print what an import would do: the columns, each rejected or excluded
 * row with its line and reason, the counts and the parse time.  A test and
 * measuring tool; never installed.  Touches no vault.
 *
 * usage: coffer-leadcheck [-e auto|utf-8|gb18030|gbk] [-v VAULT] [-d DNC]
 *                         FILE.csv
 * VAULT and DNC are files of normalised numbers, one a line.
 * Exit: 0 every row importable, 1 some rows rejected, 2 the file refused.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coffer/leads.h"

struct numbers {
	char **v;
	size_t n;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whole file into memory, at most LEADS_MAX_BYTES + 1 so the module sees
 * an oversized file as oversized. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f;
	unsigned char *buf;
	size_t cap = LEADS_MAX_BYTES + 1;

	if ((f = fopen(path, "rb")) == NULL)
		err(2, "%s", path);
	if ((buf = malloc(cap)) == NULL)
		err(2, "malloc");
	*len = fread(buf, 1, cap, f);
	if (ferror(f))
		err(2, "%s", path);
	fclose(f);
	return buf;
}

static void
load_numbers(const char *path, struct numbers *nb)
{
	FILE *f;
	char line[128];
	size_t cap = 0;

	if ((f = fopen(path, "r")) == NULL)
		err(2, "%s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (nb->n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nb->v = realloc(nb->v, cap * sizeof(*nb->v))) ==
			    NULL)
				err(2, "realloc");
		}
		if ((nb->v[nb->n++] = strdup(line)) == NULL)
			err(2, "strdup");
	}
	fclose(f);
	qsort(nb->v, nb->n, sizeof(*nb->v), cmp_str);
}

static void
free_numbers(struct numbers *nb)
{
	size_t i;

	for (i = 0; i < nb->n; i++)
		free(nb->v[i]);
	free(nb->v);
}

static void
report(const struct leads_result *r)
{
	static const enum leads_status all[] = { LEADS_OK, LEADS_EXCLUDED,
	    LEADS_INVALID, LEADS_DUP_FILE, LEADS_DUP_VAULT };
	size_t i;

	printf("encoding: %s%s\n", leads_encoding_name(r->encoding),
	    r->bom ? " (BOM)" : "");
	printf("header: line %lu\n", r->header_line);
	for (i = 0; i < r->ncolumns; i++)
		printf("column %u: %s -> %s\n", r->columns[i].index,
		    r->columns[i].name, r->columns[i].field < 0 ? "(unknown)" :
		    leads_field_name(r->columns[i].field));
	for (i = 0; i < r->nunknown; i++)
		printf("unknown column: %s\n", r->unknown[i]);
	for (i = 0; i < r->nrows; i++) {
		if (r->rows[i].status != LEADS_OK)
			printf("line %lu: %s: %s\n", r->rows[i].line,
			    leads_status_name(r->rows[i].status),
			    r->rows[i].reason);
	}
	printf("rows: %zu", r->nrows);
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		printf(", %s: %zu", leads_status_name(all[i]),
		    leads_count(r, all[i]));
	printf("\n");
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

int
main(int argc, char **argv)
{
	struct leads_options opt = { LEADS_ENC_AUTO, 0 };
	struct numbers vault = { NULL, 0 }, dnc = { NULL, 0 };
	struct leads_phone_set vs, ds;
	struct leads_result *r = NULL;
	struct coffer_errdetail d;
	struct timespec t0;
	unsigned char *buf;
	size_t len;
	int c, rc;

	while ((c = getopt(argc, argv, "e:v:d:")) != -1) {
		switch (c) {
		case 'e':
			if (leads_encoding_parse(optarg, &opt.encoding) !=
			    COFFER_OK)
				errx(2, "unknown encoding %s", optarg);
			break;
		case 'v': load_numbers(optarg, &vault); break;
		case 'd': load_numbers(optarg, &dnc); break;
		default: goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	buf = slurp(argv[optind], &len);
	memset(&d, 0, sizeof(d));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = leads_parse(buf, len, &opt, &r, &d);
	if (rc == COFFER_OK) {
		vs = (struct leads_phone_set){ (const char *const *)vault.v,
		    vault.n, NULL, NULL };
		ds = (struct leads_phone_set){ (const char *const *)dnc.v,
		    dnc.n, NULL, NULL };
		if ((rc = leads_mark_vault(r, &vs)) == COFFER_OK)
			rc = leads_mark_dnc(r, &ds);
	}
	fprintf(stderr, "parse: %.1f ms for %zu bytes\n", ms_since(&t0), len);
	free(buf);
	if (rc != COFFER_OK) {
		printf("%s: %s: %s\n", argv[optind], coffer_strerror(rc),
		    d.message);
		leads_free(r);
		return 2;
	}
	report(r);
	rc = leads_count(r, LEADS_OK) + leads_count(r, LEADS_EXCLUDED) ==
	    r->nrows ? 0 : 1;
	leads_free(r);
	free_numbers(&vault);
	free_numbers(&dnc);
	return rc;
usage:
	fprintf(stderr, "usage: coffer-leadcheck [-e auto|utf-8|gb18030|gbk] "
	    "[-v VAULT] [-d DNC] FILE.csv\n");
	return 2;
}
