/*
 * cli.h - turning the words of a coffer command line ("amount=1234.50",
 * "due=+3d") into typed CBOR values, driven by the schema's field types, so
 * that a bad value or an unknown field is refused locally with a message
 * that names the argument, before anything is sent to the daemon.
 *
 * Error texts are written to err (always NUL-terminated) in the form
 * "ARG: reason" - the caller prefixes "coffer: ".  All functions return
 * COFFER_OK or COFFER_ERR_USAGE (COFFER_ERR_NOMEM when CBOR building fails).
 */
#ifndef COFFER_CLI_H
#define COFFER_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <cbor.h>
#include "coffer/schema.h"

#define CLI_ERR_MAX 512

/* Strict decimal integers: optional sign (int only), digits, nothing else. */
int cli_parse_int(const char *s, int64_t *out);
int cli_parse_uint(const char *s, uint64_t *out);

/*
 * Money in yuan -> fen: "1234", "1234.5", "1234.50".  At most two decimals,
 * no sign, no separators, no exponent.
 */
int cli_parse_money(const char *s, int64_t *fen);

/* true/false, yes/no, on/off, 1/0 (case-insensitive). */
int cli_parse_bool(const char *s, int *out);

/*
 * Times, all in UTC, to Unix seconds:
 *   "1714550400"              Unix seconds
 *   "2024-05-01"              midnight UTC of that day
 *   "2024-05-01T08:30[:15]"   also with a space instead of T, optional "Z"
 *   "now"                     the value of now
 *   "+3d" "-2h" "+30m" "+1w" "+45s"   now plus/minus a duration
 * Years 1970..9999; day-of-month is checked against the month.
 */
int cli_parse_time(const char *s, int64_t now, int64_t *out);

/* 1 if s is well-formed UTF-8 without NUL, overlongs or surrogates. */
int cli_utf8_valid(const char *s, size_t len);

/*
 * One field's value as the CBOR type the wire expects (docs/protocol-ops.md
 * "Record map").  *out is a new reference the caller owns.  Enum values are
 * checked against the schema; ranges, phone/email formats and references
 * are left to the daemon.
 */
int cli_value(const struct field_def *f, const char *text, int64_t now,
    cbor_item_t **out, char *err, size_t errsz);

enum cli_mode {
	CLI_CREATE,  /* FF_REQUIRED must be present; FF_SERVER refused */
	CLI_UPDATE,  /* at least one; FF_SERVER and FF_IMMUTABLE refused */
	CLI_FILTER   /* only FF_FILTER fields */
};

/*
 * Build the {field: value} map from "FIELD=VALUE" words.  Unknown fields,
 * fields not allowed in this mode, a field given twice, a word without '='
 * and bad values are refused.  *out is a new map the caller releases.
 */
int cli_fields(const struct kind_def *k, char *const *words, size_t n,
    enum cli_mode mode, int64_t now, cbor_item_t **out, char *err,
    size_t errsz);

/* Human name of a field type ("integer", "money (yuan)", ...). */
const char *cli_type_name(enum field_type t);

#endif
