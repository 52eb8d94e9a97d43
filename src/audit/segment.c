/*
 * segment.c - the audit log's files: "seg-<first seq, 20 digits>.log",
 * each a header (the Merkle state at its first record, so the daemon can
 * resume from the newest segment without re-reading older ones) followed by
 * frames: type byte, 24-bit big-endian length, payload.  Nothing in a
 * header is trusted by coffer-verify; it recomputes and compares.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/err.h"
#include "audit_int.h"

static void
be64_put(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
be64_get(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static unsigned
popcount64(uint64_t v)
{
	unsigned n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

size_t
seg_header_encode(const struct seg_header *h, unsigned char *out)
{
	size_t o = 0;
	unsigned i;

	memcpy(out, SEG_MAGIC, SEG_MAGIC_LEN);	/* includes the NUL */
	o += SEG_MAGIC_LEN;
	be64_put(out + o, h->first);
	o += 8;
	be64_put(out + o, h->last_ts);
	o += 8;
	memcpy(out + o, h->prev, 32);
	o += 32;
	out[o++] = (unsigned char)h->cr.n;
	for (i = 0; i < h->cr.n; i++, o += 32)
		memcpy(out + o, h->cr.h[i], 32);
	return o;
}

int
seg_header_parse(const unsigned char *p, size_t len, struct seg_header *h,
    size_t *used)
{
	size_t need = SEG_MAGIC_LEN + 8 + 8 + 32 + 1;
	unsigned i, k;

	if (len < need || memcmp(p, SEG_MAGIC, SEG_MAGIC_LEN) != 0)
		return COFFER_ERR_PROTO;
	h->first = be64_get(p + SEG_MAGIC_LEN);
	h->last_ts = be64_get(p + SEG_MAGIC_LEN + 8);
	memcpy(h->prev, p + SEG_MAGIC_LEN + 16, 32);
	k = p[need - 1];
	if (k != popcount64(h->first) || len - need < (size_t)k * 32)
		return COFFER_ERR_PROTO;
	h->cr.size = h->first;
	h->cr.n = k;
	for (i = 0; i < k; i++)
		memcpy(h->cr.h[i], p + need + (size_t)i * 32, 32);
	*used = need + (size_t)k * 32;
	return COFFER_OK;
}

void
seg_name(char out[SEG_NAME_LEN], uint64_t first)
{
	snprintf(out, SEG_NAME_LEN, "seg-%020" PRIu64 ".log", first);
}

/* "seg-" + exactly 20 digits + ".log", and the name round-trips. */
static int
seg_name_parse(const char *name, uint64_t *first)
{
	char again[SEG_NAME_LEN];
	uint64_t v = 0;
	int i;

	if (strlen(name) != SEG_NAME_LEN - 1 || strncmp(name, "seg-", 4) != 0 ||
	    strcmp(name + 24, ".log") != 0)
		return 0;
	for (i = 4; i < 24; i++) {
		if (name[i] < '0' || name[i] > '9' ||
		    v > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	seg_name(again, v);
	if (strcmp(again, name) != 0)
		return 0;
	*first = v;
	return 1;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int
seg_list(const char *dir, uint64_t **firsts, size_t *n)
{
	uint64_t *v = NULL, *nv, f;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d = NULL;
	int rc = COFFER_OK;

	*firsts = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? COFFER_ERR_NOT_FOUND : COFFER_ERR_IO;
	while ((de = readdir(d)) != NULL) {
		if (!seg_name_parse(de->d_name, &f))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = COFFER_ERR_NOMEM;
				goto out;
			}
			v = nv;
		}
		v[cnt++] = f;
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cmp_u64);
	*firsts = v;
	*n = cnt;
	v = NULL;	/* transferred */
out:
	free(v);
	closedir(d);
	return rc;
}

void
frame_header(unsigned char out[FRAME_HDR], int type, size_t len)
{
	out[0] = (unsigned char)type;
	out[1] = (unsigned char)(len >> 16);
	out[2] = (unsigned char)(len >> 8);
	out[3] = (unsigned char)len;
}

/*
 * A frame cut short by the end of the file is "torn" (a crash during a
 * write, or truncation - the caller decides which).  A run of zero bytes
 * to the end is padding: the writer fills the open segment with zeros
 * ahead of its appends (and some file systems show zeros after a crash);
 * no frame begins with a zero byte.
 */
enum frame_res
frame_next(const unsigned char *p, size_t len, size_t *pos, int *type,
    const unsigned char **payload, size_t *plen)
{
	size_t at = *pos, n, i;

	if (at >= len)
		return FR_END;
	if (p[at] == 0) {
		for (i = at; i < len && p[i] == 0; i++)
			;
		return i == len ? FR_PAD : FR_BAD;
	}
	if (len - at < FRAME_HDR)
		return FR_TORN;
	if (p[at] != FRAME_RECORD && p[at] != FRAME_CHECKPOINT)
		return FR_BAD;
	n = (size_t)p[at + 1] << 16 | (size_t)p[at + 2] << 8 | p[at + 3];
	if (n == 0 || (p[at] == FRAME_RECORD && n > AREC_MAX) ||
	    (p[at] == FRAME_CHECKPOINT && n > CKPT_MAX))
		return FR_BAD;
	if (len - at - FRAME_HDR < n)
		return FR_TORN;
	*type = p[at];
	*payload = p + at + FRAME_HDR;
	*plen = n;
	*pos = at + FRAME_HDR + n;
	return FR_OK;
}
