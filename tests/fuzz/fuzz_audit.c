/*
 * fuzz_audit.c - libFuzzer harness for the parsers coffer-verify runs on
 * files an attacker may have written: the audit record decoder (and its
 * JSON rendering), the signed checkpoint note, and the segment header.
 * The first input byte picks the parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "coffer/err.h"
#include "audit_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_record(const uint8_t *p, size_t n)
{
	struct arec_view v;
	char *json = NULL;

	if (arec_parse(p, n, &v) != COFFER_OK)
		return;
	if (arec_json(&v, &json) == COFFER_OK)
		free(json);
}

static void
fuzz_checkpoint(const uint8_t *p, size_t n)
{
	static const unsigned char pk[32] = { 1 };
	struct ckpt c;

	ckpt_open((const char *)p, n, NULL, pk, &c);
	ckpt_open((const char *)p, n, "coffer/test", pk, &c);
}

static void
fuzz_segment_header(const uint8_t *p, size_t n)
{
	struct seg_header h;
	size_t used;

	seg_header_parse(p, n, &h, &used);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0: fuzz_record(data + 1, size - 1); break;
	case 1: fuzz_checkpoint(data + 1, size - 1); break;
	default: fuzz_segment_header(data + 1, size - 1); break;
	}
	return 0;
}
