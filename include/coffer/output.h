/*
 * output.h - human-readable output of the coffer client: display width of
 * UTF-8 text (Chinese characters take two terminal columns), aligned tables,
 * and the formatting of money, times and other values for people.
 *
 * Everything that reaches the terminal from the daemon goes through
 * out_sanitize first: record text is customer-controlled, and control
 * characters or bidi overrides in it must not drive the user's terminal.
 * The width rule is fixed (East Asian Wide/Fullwidth = 2, combining marks
 * and zero-width characters = 0, everything else 1) and does not depend on
 * the locale, so tables line up the same way in every environment that
 * shows UTF-8.
 */
#ifndef COFFER_OUTPUT_H
#define COFFER_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cbor.h>
#include "coffer/schema.h"

/* Terminal columns of one code point: 0, 1 or 2. */
int out_cp_width(uint32_t cp);

/* Terminal columns of a UTF-8 string; an invalid byte counts as 1. */
size_t out_width(const char *s);

/*
 * Copy s into buf (NUL-terminated, cut at a character boundary) with
 * control characters (C0, DEL, C1), bidi controls and invalid UTF-8 each
 * replaced by '?'.  With max_cols > 0 the result is cut to that many columns,
 * ending in "..." when something was cut.  Returns COFFER_OK.
 */
int out_sanitize(const char *s, size_t max_cols, char *buf, size_t bufsz);

/* 123450 -> "1234.50"; negative amounts get a leading '-'. */
void out_money(int64_t fen, char *buf, size_t bufsz);

/* Unix seconds -> "2024-05-01T08:30:00Z". */
void out_time(int64_t t, char *buf, size_t bufsz);

/*
 * A value for people: f (may be NULL) gives its type; without it, a key
 * named "created"/"updated" is a time.  Integers, text, booleans
 * ("true"/"false"), money, times; byte strings as base64; arrays and maps
 * as compact JSON.  The result is sanitized.
 */
int out_value(const struct field_def *f, const char *key,
    const cbor_item_t *v, char *buf, size_t bufsz);

/* An aligned text table.  Cells are sanitized and cut to a column cap. */
struct out_table;

#define OUT_CELL_MAX_COLS 40   /* every column but the last */
#define OUT_LAST_MAX_COLS 200  /* the last column */

struct out_table *out_table_new(size_t ncols, const char *const *headers);
/* Copies the ncols cells.  COFFER_ERR_NOMEM. */
int out_table_add(struct out_table *t, const char *const *cells);
size_t out_table_rows(const struct out_table *t);
/*
 * Writes the table to f: header line, then rows, columns separated by two
 * spaces, each padded by display width; no trailing blanks.  header == 0
 * leaves the header line out.  COFFER_ERR_IO if writing failed.
 */
int out_table_print(const struct out_table *t, FILE *f, int header);
void out_table_free(struct out_table *t);

#endif
