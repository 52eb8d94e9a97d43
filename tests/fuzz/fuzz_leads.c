/*
 * fuzz_leads.c - libFuzzer harness for the lead-list parser (encoding
 * detection, libcsv, header mapping, row validation).  Beyond "no crash":
 * the first byte picks the encoding option, a result must be internally
 * consistent (valid rows have a normalised phone and no reason, rejected
 * rows have a reason, lines never go backwards) and every importable row
 * must give a customer map.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/leads.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_row(const struct leads_row *row, unsigned long prev_line)
{
	cbor_item_t *m = NULL;
	int importable = row->status == LEADS_OK ||
	    row->status == LEADS_EXCLUDED;

	if (row->line < prev_line || row->line == 0)
		abort();
	if ((row->status == LEADS_OK) != (row->reason == NULL))
		abort();
	if (importable && (row->v[LEADS_F_NAME] == NULL ||
	    row->v[LEADS_F_PHONE] == NULL))
		abort();
	if (row->status == LEADS_DUP_FILE && row->dup_line >= row->line)
		abort();
	if (leads_row_fields(row, "fuzz", &m) != (importable ? COFFER_OK :
	    COFFER_ERR_INVALID))
		abort();
	if (m != NULL)
		cbor_decref(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dnc[] = { "010-12345678", "13800000000" };
	struct leads_phone_set ds = { dnc, 2, NULL, NULL };
	struct leads_options opt = { LEADS_ENC_AUTO, 1000 };
	struct leads_result *r = NULL;
	struct coffer_errdetail d;
	unsigned long prev = 0;
	size_t i;
	int rc;

	if (size < 1)
		return 0;
	opt.encoding = (enum leads_encoding)(data[0] % 3);
	rc = leads_parse(data + 1, size - 1, &opt, &r, &d);
	if ((rc == COFFER_OK) != (r != NULL))
		abort();
	if (r == NULL)
		return 0;
	if (leads_mark_dnc(r, &ds) != COFFER_OK)
		abort();
	for (i = 0; i < r->nrows; i++) {
		check_row(&r->rows[i], prev);
		if (r->rows[i].line <= r->header_line)
			abort();
		prev = r->rows[i].line;
	}
	leads_free(r);
	return 0;
}
