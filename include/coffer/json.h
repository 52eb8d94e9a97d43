/*
 * json.h - a small CBOR -> JSON writer for the client's --json output.
 * Text is passed through as UTF-8 with '"', '\\' and every control
 * character escaped (plus DEL and U+2028/U+2029, which break JavaScript and
 * terminals); invalid UTF-8 becomes U+FFFD.  Byte strings become base64
 * text (RFC 4648, with padding).  Integers are written exactly (all 64-bit
 * values); true/false/null as themselves; anything else (tags, floats,
 * undefined - which cborcheck never lets through) as null.  Map keys that
 * are not text are written as the JSON text of their value.
 */
#ifndef COFFER_JSON_H
#define COFFER_JSON_H

#include <stdio.h>
#include <cbor.h>

#define JSON_MAX_DEPTH 64

/*
 * Write item as one compact JSON value (no newline).  COFFER_ERR_TOO_BIG if
 * nested deeper than JSON_MAX_DEPTH, COFFER_ERR_INVALID for an indefinite
 * item, COFFER_ERR_IO if writing failed.
 */
int json_write(FILE *f, const cbor_item_t *item);

/* Write a NUL-terminated UTF-8 string as a JSON string (with quotes). */
int json_write_string(FILE *f, const char *s);

#endif
