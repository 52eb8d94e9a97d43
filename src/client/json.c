/*
 * json.c - CBOR to JSON for the coffer client's --json output (one compact
 * document per command, safe to feed to jq and to print on a terminal).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "coffer/err.h"
#include "coffer/json.h"
#include "coffer/utf8.h"

static int write_item(FILE *f, const cbor_item_t *item, int depth);

static int
put(FILE *f, const char *s)
{
	return fputs(s, f) == EOF ? COFFER_ERR_IO : COFFER_OK;
}


/* The escape for an ASCII byte, or NULL if it goes out as it is. */
static const char *
short_escape(unsigned char c)
{
	switch (c) {
	case '"':  return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	default:   return NULL;
	}
}

static int
write_text(FILE *f, const unsigned char *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;
	const char *esc;

	if (fputc('"', f) == EOF)
		return COFFER_ERR_IO;
	while (i < len) {
		n = utf8_decode(s + i, len - i, &cp);
		if (n == 0) {
			if (put(f, "\\ufffd") != COFFER_OK)
				return COFFER_ERR_IO;
			i++;
			continue;
		}
		if ((esc = n == 1 ? short_escape(s[i]) : NULL) != NULL) {
			if (put(f, esc) != COFFER_OK)
				return COFFER_ERR_IO;
		} else if (cp < 0x20 || cp == 0x7f || cp == 0x2028 ||
		    cp == 0x2029 || (cp >= 0x80 && cp <= 0x9f)) {
			if (fprintf(f, "\\u%04x", (unsigned)cp) < 0)
				return COFFER_ERR_IO;
		} else if (fwrite(s + i, 1, n, f) != n) {
			return COFFER_ERR_IO;
		}
		i += n;
	}
	return fputc('"', f) == EOF ? COFFER_ERR_IO : COFFER_OK;
}

int
json_write_string(FILE *f, const char *s)
{
	return write_text(f, (const unsigned char *)s, strlen(s));
}

static int
write_bytes(FILE *f, const cbor_item_t *item)
{
	size_t len = cbor_bytestring_length(item);
	size_t b64len = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_ORIGINAL);
	char *b64 = NULL;
	int rc;

	if ((b64 = malloc(b64len)) == NULL)
		return COFFER_ERR_NOMEM;
	sodium_bin2base64(b64, b64len, cbor_bytestring_handle(item), len,
	    sodium_base64_VARIANT_ORIGINAL);
	rc = json_write_string(f, b64);
	free(b64);
	return rc;
}

static int
write_int(FILE *f, const cbor_item_t *item)
{
	uint64_t u = cbor_get_int(item);

	if (cbor_isa_negint(item)) {
		/* -1 - u, written without overflowing for u up to 2^64-1. */
		if (u == UINT64_MAX)
			return put(f, "-18446744073709551616");
		return fprintf(f, "-%" PRIu64, u + 1) < 0 ? COFFER_ERR_IO :
		    COFFER_OK;
	}
	return fprintf(f, "%" PRIu64, u) < 0 ? COFFER_ERR_IO : COFFER_OK;
}

static int
write_array(FILE *f, const cbor_item_t *item, int depth)
{
	cbor_item_t **v = cbor_array_handle(item);
	size_t i, n = cbor_array_size(item);
	int rc;

	if (fputc('[', f) == EOF)
		return COFFER_ERR_IO;
	for (i = 0; i < n; i++) {
		if (i > 0 && fputc(',', f) == EOF)
			return COFFER_ERR_IO;
		if ((rc = write_item(f, v[i], depth + 1)) != COFFER_OK)
			return rc;
	}
	return fputc(']', f) == EOF ? COFFER_ERR_IO : COFFER_OK;
}

/* A map key: text as it is, anything else as its JSON text in a string. */
static int
write_key(FILE *f, const cbor_item_t *key, int depth)
{
	char *mem = NULL;
	size_t memlen = 0;
	FILE *m;
	int rc;

	if (cbor_isa_string(key))
		return write_item(f, key, depth);
	if ((m = open_memstream(&mem, &memlen)) == NULL)
		return COFFER_ERR_NOMEM;
	rc = write_item(m, key, depth);
	if (fclose(m) != 0 && rc == COFFER_OK)
		rc = COFFER_ERR_NOMEM;
	if (rc == COFFER_OK)
		rc = write_text(f, (const unsigned char *)mem, memlen);
	free(mem);
	return rc;
}

static int
write_map(FILE *f, const cbor_item_t *item, int depth)
{
	struct cbor_pair *p = cbor_map_handle(item);
	size_t i, n = cbor_map_size(item);
	int rc;

	if (fputc('{', f) == EOF)
		return COFFER_ERR_IO;
	for (i = 0; i < n; i++) {
		if (i > 0 && fputc(',', f) == EOF)
			return COFFER_ERR_IO;
		if ((rc = write_key(f, p[i].key, depth + 1)) != COFFER_OK)
			return rc;
		if (fputc(':', f) == EOF)
			return COFFER_ERR_IO;
		if ((rc = write_item(f, p[i].value, depth + 1)) != COFFER_OK)
			return rc;
	}
	return fputc('}', f) == EOF ? COFFER_ERR_IO : COFFER_OK;
}

static int
write_simple(FILE *f, const cbor_item_t *item)
{
	if (cbor_is_bool(item))
		return put(f, cbor_get_bool(item) ? "true" : "false");
	return put(f, "null");
}

static int
write_item(FILE *f, const cbor_item_t *item, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return COFFER_ERR_TOO_BIG;
	switch (cbor_typeof(item)) {
	case CBOR_TYPE_UINT:
	case CBOR_TYPE_NEGINT:
		return write_int(f, item);
	case CBOR_TYPE_BYTESTRING:
		if (!cbor_bytestring_is_definite(item))
			return COFFER_ERR_INVALID;
		return write_bytes(f, item);
	case CBOR_TYPE_STRING:
		if (!cbor_string_is_definite(item))
			return COFFER_ERR_INVALID;
		return write_text(f, cbor_string_handle(item),
		    cbor_string_length(item));
	case CBOR_TYPE_ARRAY:
		return write_array(f, item, depth);
	case CBOR_TYPE_MAP:
		return write_map(f, item, depth);
	case CBOR_TYPE_FLOAT_CTRL:
		return write_simple(f, item);
	default:
		return put(f, "null");
	}
}

int
json_write(FILE *f, const cbor_item_t *item)
{
	return write_item(f, item, 1);
}
