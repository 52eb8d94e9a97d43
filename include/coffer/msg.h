/*
 * msg.h - building and reading the CBOR messages of the wire protocol and
 * the audit log on top of libcbor.  Decoding always runs cborcheck first;
 * encoding always produces deterministic CBOR (shortest heads, map keys
 * sorted bytewise), so that what we send is what cborcheck accepts and what
 * the test vectors in docs/ show byte for byte.
 *
 * Ownership: msg_decode and the msg_new_* builders return a new reference
 * the caller releases with cbor_decref().  msg_get returns a borrowed
 * pointer valid while the map lives.  msg_put* take the value they are
 * given (the caller does not decref it afterwards).
 */
#ifndef COFFER_MSG_H
#define COFFER_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <cbor.h>

/* cborcheck (wire limits) + cbor_load; COFFER_ERR_PROTO/TOO_BIG/NOMEM. */
int msg_decode(const unsigned char *buf, size_t len, cbor_item_t **out);

/* Deterministic encoding into a malloc'd buffer the caller frees. */
int msg_encode(const cbor_item_t *item, unsigned char **out, size_t *outlen);

/* Builders; NULL on allocation failure.  Integers get the shortest width. */
cbor_item_t *msg_new_map(void);
cbor_item_t *msg_new_array(void);
cbor_item_t *msg_new_uint(uint64_t v);
cbor_item_t *msg_new_int(int64_t v);
cbor_item_t *msg_new_str(const char *s);
cbor_item_t *msg_new_bytes(const unsigned char *p, size_t len);
cbor_item_t *msg_new_bool(int v);
cbor_item_t *msg_new_null(void);

/* Add key -> value to a map (value reference is taken).  COFFER_ERR_NOMEM,
 * COFFER_ERR_CONFLICT if the key is there already. */
int msg_put(cbor_item_t *map, const char *key, cbor_item_t *value);
/* msg_put for a key the caller knows is new (a schema's distinct field
 * names, in one pass): no lookup first, which makes an n-entry map cost
 * n steps instead of n squared. */
int msg_put_fresh(cbor_item_t *map, const char *key, cbor_item_t *value);
/* A new map {key: value} in *out; value is taken, also on failure (a
 * handler's result, in one step).  COFFER_ERR_NOMEM. */
int msg_map_of(const char *key, cbor_item_t *value, cbor_item_t **out);
int msg_put_str(cbor_item_t *map, const char *key, const char *s);
int msg_put_int(cbor_item_t *map, const char *key, int64_t v);
int msg_put_uint(cbor_item_t *map, const char *key, uint64_t v);
int msg_put_bytes(cbor_item_t *map, const char *key, const unsigned char *p,
    size_t len);
int msg_put_bool(cbor_item_t *map, const char *key, int v);
/* Append to an array (value reference is taken). */
int msg_push(cbor_item_t *array, cbor_item_t *value);

/* Lookup of a text key in a map; NULL if absent or not a map. */
const cbor_item_t *msg_get(const cbor_item_t *map, const char *key);

/*
 * Typed getters.  COFFER_ERR_NOT_FOUND if the key is absent,
 * COFFER_ERR_INVALID if present with the wrong type or out of range.
 * msg_get_str copies into buf (NUL-terminated) and fails with
 * COFFER_ERR_TOO_BIG if it does not fit or COFFER_ERR_INVALID if the
 * string contains a NUL byte.
 */
int msg_get_str(const cbor_item_t *map, const char *key, char *buf,
    size_t bufsz);
int msg_get_int(const cbor_item_t *map, const char *key, int64_t *out);
int msg_get_uint(const cbor_item_t *map, const char *key, uint64_t *out);
int msg_get_bool(const cbor_item_t *map, const char *key, int *out);
/* Borrowed pointer into the item. */
int msg_get_bytes(const cbor_item_t *map, const char *key,
    const unsigned char **p, size_t *len);

/* Integer value of any CBOR int item (major 0 or 1); COFFER_ERR_INVALID. */
int msg_item_int(const cbor_item_t *item, int64_t *out);

/* Copy of a text string item into buf (NUL-terminated), as msg_get_str. */
int msg_item_str(const cbor_item_t *item, char *buf, size_t bufsz);

#endif
