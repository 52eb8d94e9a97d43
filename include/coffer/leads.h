/*
 * leads.h - lead lists in: a company's CSV list of prospective customers
 * (UTF-8 or GB18030/GBK, Chinese or English headers) turned into validated
 * customer rows, de-duplicated and screened against the do-not-call list,
 * ready to be inserted in one transaction.  No database access here: the
 * vault's numbers and the do-not-call list are passed in.  Format, header
 * table, phone rule and limits: docs/import.md.
 */
#ifndef COFFER_LEADS_H
#define COFFER_LEADS_H

#include <stddef.h>
#include <cbor.h>
#include "coffer/err.h"

#define LEADS_MAX_BYTES ((size_t)64 << 20) /* largest file accepted */
#define LEADS_MAX_ROWS ((size_t)1000000)   /* most data rows accepted */
#define LEADS_MAX_COLUMNS 256              /* most header columns */

enum leads_encoding {
	LEADS_ENC_AUTO = 0,  /* valid UTF-8 (BOM or not), else GB18030 */
	LEADS_ENC_UTF8,
	LEADS_ENC_GB18030    /* also what "gbk" selects: GB18030 is its superset */
};

/* The customer fields a list can fill, in this order (docs/import.md). */
enum leads_field {
	LEADS_F_NAME = 0,
	LEADS_F_PHONE,
	LEADS_F_EMAIL,
	LEADS_F_COMPANY,
	LEADS_F_ADDRESS,
	LEADS_F_NEEDS,
	LEADS_F_INTENT,
	LEADS_NFIELDS
};

enum leads_status {
	LEADS_OK = 0,      /* to be imported as a new lead (stage "new") */
	LEADS_EXCLUDED,    /* to be imported as excluded: do-not-call */
	LEADS_INVALID,     /* rejected: a value failed validation */
	LEADS_DUP_FILE,    /* rejected: same phone as an earlier row */
	LEADS_DUP_VAULT    /* rejected: phone already in the vault */
};

struct leads_row {
	unsigned long line;      /* physical line (1-based) the record starts on */
	enum leads_status status;
	/* Why rejected or excluded; NULL for LEADS_OK.  Never quotes a value
	 * from the file, so it may be logged and audited. */
	const char *reason;
	unsigned long dup_line;  /* LEADS_DUP_FILE: line of the first row */
	/* UTF-8, trimmed, validated; NULL if absent.  phone is normalised
	 * (schema_normalize_phone form).  Fields of a LEADS_INVALID row are
	 * those that passed, for display only. */
	const char *v[LEADS_NFIELDS];
};

struct leads_column {
	unsigned index;          /* 1-based column number in the file */
	const char *name;        /* header text, trimmed, UTF-8 */
	int field;               /* enum leads_field, or -1 if unknown */
};

struct leads_result {
	enum leads_encoding encoding; /* what the file was read as */
	int bom;                      /* 1 if it began with a UTF-8 BOM */
	unsigned long header_line;
	struct leads_column *columns; /* every header column, in order */
	size_t ncolumns;
	const char **unknown;         /* names of the unmapped columns */
	size_t nunknown;
	struct leads_row *rows;       /* data rows in file order */
	size_t nrows;
	void *priv_;                  /* storage; owned by the result */
};

struct leads_options {
	enum leads_encoding encoding;
	size_t max_rows;   /* 0 or above LEADS_MAX_ROWS: LEADS_MAX_ROWS */
};

/* "auto", "utf-8"/"utf8", "gb18030", "gbk" (any case); COFFER_ERR_USAGE. */
int leads_encoding_parse(const char *s, enum leads_encoding *out);
const char *leads_encoding_name(enum leads_encoding e);

/* The customer field name ("phone") of f; NULL if out of range. */
const char *leads_field_name(int f);
/* "ok", "excluded", "invalid", "duplicate", "in_vault". */
const char *leads_status_name(enum leads_status s);

/*
 * Parse a whole lead-list file held in memory (buf need not be
 * NUL-terminated; opt may be NULL for defaults).  On COFFER_OK *out holds
 * the result, which the caller releases with leads_free(); every data row
 * is there, valid or not, with its status.  A header with no data rows is
 * COFFER_OK with nrows 0.  Whole-file failures leave *out NULL and fill
 * detail (field "file", "header" or the missing column's field name):
 *   COFFER_ERR_TOO_BIG  over LEADS_MAX_BYTES, LEADS_MAX_COLUMNS header
 *                       columns or the row limit;
 *   COFFER_ERR_INVALID  empty file, UTF-16, bytes that are neither UTF-8
 *                       nor GB18030 (or not the forced encoding),
 *                       malformed CSV (with its line), a missing name or
 *                       phone column, two columns mapped to one field;
 *   COFFER_ERR_NOMEM, COFFER_ERR_INTERNAL (iconv unavailable).
 */
int leads_parse(const unsigned char *buf, size_t len,
    const struct leads_options *opt, struct leads_result **out,
    struct coffer_errdetail *detail);

/* Release a result and everything it points to; NULL is allowed. */
void leads_free(struct leads_result *r);

/* Rows with status s. */
size_t leads_count(const struct leads_result *r, enum leads_status s);

/*
 * A set of normalised phone numbers owned by the caller: either a sorted
 * array (strcmp order, no NULLs) or, when contains is set, a callback that
 * sets *found and returns a status (anything but COFFER_OK stops the scan
 * and is returned).
 */
struct leads_phone_set {
	const char *const *sorted;
	size_t n;
	int (*contains)(void *ctx, const char *phone, int *found);
	void *ctx;
};

/*
 * Mark LEADS_OK and LEADS_EXCLUDED rows whose phone is in the vault as
 * LEADS_DUP_VAULT.  COFFER_ERR_INVALID if the array is not sorted.
 */
int leads_mark_vault(struct leads_result *r, const struct leads_phone_set *s);

/*
 * Mark LEADS_OK rows whose phone is on the do-not-call list as
 * LEADS_EXCLUDED with reason "on the do-not-call list".  Either order of
 * the two calls gives the same statuses.
 */
int leads_mark_dnc(struct leads_result *r, const struct leads_phone_set *s);

/*
 * The fields map for store_record_create of a customer from a LEADS_OK or
 * LEADS_EXCLUDED row: the row's fields, source_list (if not NULL or
 * empty), stage "new", or for an excluded row stage "excluded",
 * do_not_call true and exclude_reason.  A new reference the caller
 * releases with cbor_decref.  COFFER_ERR_INVALID for any other status.
 */
int leads_row_fields(const struct leads_row *row, const char *source_list,
    cbor_item_t **out);

#endif
