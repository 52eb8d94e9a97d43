/*
 * cborcheck.h - a bounded validator run on every untrusted CBOR byte string
 * BEFORE libcbor sees it.  libcbor 0.8 allocates whatever a header declares,
 * so nothing reaches cbor_load() unless this accepted it first.
 *
 * Accepts exactly one data item that is deterministically encoded
 * (RFC 8949 section 4.2.1): definite lengths only, shortest-form heads,
 * map keys unique and in bytewise order of their encodings.  Only major types
 * 0-5 and the simple values false/true/null are allowed (no tags, no floats,
 * no undefined).  Text strings must be valid UTF-8.  Trailing bytes are an
 * error.  Every declared length is checked against the bytes that remain
 * and against the limits before anything is counted as present.
 */
#ifndef COFFER_CBORCHECK_H
#define COFFER_CBORCHECK_H

#include <stddef.h>

struct cborcheck_limits {
	size_t max_depth;  /* nesting of arrays/maps; top level is depth 1 */
	size_t max_items;  /* total data items, counting keys and values */
	size_t max_string; /* longest byte or text string */
};

/* The limits used for every wire message (docs/protocol.md). */
extern const struct cborcheck_limits cborcheck_wire_limits;

/*
 * Returns COFFER_OK, COFFER_ERR_TOO_BIG (a limit was exceeded) or
 * COFFER_ERR_PROTO (not well-formed, not deterministic, trailing bytes).
 * If where is not NULL it receives the byte offset of the first fault.
 */
int cborcheck_validate(const unsigned char *buf, size_t len,
    const struct cborcheck_limits *lim, size_t *where);

#endif
