/*
 * fuzz_wire.c - libFuzzer harness for the untrusted-input path of every
 * wire message: cborcheck, then msg_decode (cborcheck + libcbor).  Beyond
 * "no crash", it checks that the validator and the decoder agree and that
 * whatever is accepted re-encodes to exactly the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/cborcheck.h"
#include "coffer/err.h"
#include "coffer/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cbor_item_t *item = NULL;
	unsigned char *out = NULL;
	size_t outlen = 0;
	int v, d;

	v = cborcheck_validate(data, size, &cborcheck_wire_limits, NULL);
	d = msg_decode(data, size, &item);
	/* msg_decode must accept exactly what the validator accepts. */
	if ((v == COFFER_OK) != (d == COFFER_OK) && d != COFFER_ERR_NOMEM)
		abort();
	if (d != COFFER_OK)
		return 0;
	/* Deterministic input must survive a decode/encode round trip. */
	if (msg_encode(item, &out, &outlen) != COFFER_OK)
		abort();
	if (outlen != size || memcmp(out, data, size) != 0)
		abort();
	free(out);
	cbor_decref(&item);
	return 0;
}
