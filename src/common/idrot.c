/*
 * idrot.c - identity key rotation statements: signing, checking, the
 * vault file that keeps them, and following a chain of them from a
 * client's pinned key to the key the daemon now shows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/keys.h"
#include "coffer/err.h"
#include "coffer/idrot.h"
#include "coffer/secfile.h"

#define IDROT_CONTEXT "coffer-identity-rotate-v1" /* + NUL: 26 bytes */
#define IDROT_SIGNED 76          /* time, gen, old_pk, new_pk */
#define IDROT_LINE_PREFIX "coffer-idrot-v1 "
#define IDROT_B64 sodium_base64_ENCODED_LEN(IDROT_BYTES, \
    sodium_base64_VARIANT_ORIGINAL)   /* with the NUL */
#define IDROT_LINE (sizeof(IDROT_LINE_PREFIX) - 1 + IDROT_B64) /* with \n */

static void
put_be(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
}

static uint64_t
get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void
idrot_encode(const struct idrot *r, unsigned char out[IDROT_BYTES])
{
	put_be(out, r->time, 8);
	put_be(out + 8, r->gen, 4);
	memcpy(out + 12, r->old_pk, 32);
	memcpy(out + 44, r->new_pk, 32);
	memcpy(out + 76, r->sig, 64);
}

void
idrot_decode(const unsigned char in[IDROT_BYTES], struct idrot *r)
{
	r->time = get_be(in, 8);
	r->gen = (uint32_t)get_be(in + 8, 4);
	memcpy(r->old_pk, in + 12, 32);
	memcpy(r->new_pk, in + 44, 32);
	memcpy(r->sig, in + 76, 64);
}

/* context || time || gen || old_pk || new_pk */
static size_t
signed_msg(const struct idrot *r, unsigned char *m)
{
	unsigned char b[IDROT_BYTES];

	idrot_encode(r, b);
	memcpy(m, IDROT_CONTEXT, sizeof(IDROT_CONTEXT));
	memcpy(m + sizeof(IDROT_CONTEXT), b, IDROT_SIGNED);
	return sizeof(IDROT_CONTEXT) + IDROT_SIGNED;
}

int
idrot_sign(struct idrot *r, const unsigned char old_sk[64])
{
	unsigned char m[sizeof(IDROT_CONTEXT) + IDROT_SIGNED];
	size_t n;

	if (sodium_init() < 0)
		return COFFER_ERR_INTERNAL;
	if (sodium_memcmp(old_sk + 32, r->old_pk, 32) != 0)
		return COFFER_ERR_INVALID;
	n = signed_msg(r, m);
	return crypto_sign_detached(r->sig, NULL, m, n, old_sk) == 0 ?
	    COFFER_OK : COFFER_ERR_CRYPTO;
}

int
idrot_verify(const struct idrot *r)
{
	unsigned char m[sizeof(IDROT_CONTEXT) + IDROT_SIGNED];
	size_t n;

	if (sodium_init() < 0)
		return COFFER_ERR_INTERNAL;
	n = signed_msg(r, m);
	return crypto_sign_verify_detached(r->sig, m, n, r->old_pk) == 0 ?
	    COFFER_OK : COFFER_ERR_CRYPTO;
}

/* One line "coffer-idrot-v1 BASE64\n" at *p; advances *p. */
static int
parse_line(const char **p, const char *end, struct idrot *r)
{
	const size_t plen = sizeof(IDROT_LINE_PREFIX) - 1;
	const size_t blen = IDROT_B64 - 1;
	unsigned char b[IDROT_BYTES];
	size_t got = 0;
	const char *tail = NULL;

	if ((size_t)(end - *p) < plen + blen + 1 ||
	    memcmp(*p, IDROT_LINE_PREFIX, plen) != 0 ||
	    (*p)[plen + blen] != '\n' ||
	    !keys_b64_clean(*p + plen, blen) ||
	    sodium_base642bin(b, sizeof(b), *p + plen, blen, NULL, &got,
	    &tail, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != IDROT_BYTES || tail != *p + plen + blen)
		return COFFER_ERR_PROTO;
	idrot_decode(b, r);
	*p += plen + blen + 1;
	return COFFER_OK;
}

int
idrot_load(const char *path, struct idrot *out, size_t max, size_t *n)
{
	char *text = NULL;
	const char *p, *end;
	struct idrot r;
	size_t len = 0;
	int rc;

	*n = 0;
	if (max == 0)
		return COFFER_ERR_INVALID;
	rc = file_read_all(path, 1024 * IDROT_LINE, &text, &len);
	if (rc != COFFER_OK)
		return access(path, F_OK) != 0 && errno == ENOENT ? COFFER_OK :
		    rc == COFFER_ERR_TOO_BIG ? COFFER_ERR_PROTO : rc;
	for (p = text, end = text + len; p < end;) {
		if ((rc = parse_line(&p, end, &r)) != COFFER_OK) {
			*n = 0;
			break;
		}
		/* keep the newest max: shift the oldest out */
		if (*n == max) {
			memmove(out, out + 1, (max - 1) * sizeof(*out));
			(*n)--;
		}
		out[(*n)++] = r;
	}
	free(text);
	return rc;
}

int
idrot_append(const char *path, const struct idrot *r)
{
	const size_t plen = sizeof(IDROT_LINE_PREFIX) - 1;
	unsigned char b[IDROT_BYTES];
	char *text = NULL, *buf = NULL;
	size_t len = 0;
	int rc;

	rc = file_read_all(path, 1024 * IDROT_LINE, &text, &len);
	if (rc != COFFER_OK && !(access(path, F_OK) != 0 && errno == ENOENT))
		return rc;
	if (rc != COFFER_OK)
		len = 0;
	if ((buf = malloc(len + IDROT_LINE)) == NULL) {
		free(text);
		return COFFER_ERR_NOMEM;
	}
	if (len > 0)
		memcpy(buf, text, len);
	idrot_encode(r, b);
	memcpy(buf + len, IDROT_LINE_PREFIX, plen);
	sodium_bin2base64(buf + len + plen, IDROT_B64, b, sizeof(b),
	    sodium_base64_VARIANT_ORIGINAL);
	buf[len + IDROT_LINE - 1] = '\n';
	rc = file_write_atomic(path, buf, len + IDROT_LINE, 0644);
	free(text);
	free(buf);
	return rc;
}

int
idrot_follow(const struct idrot *r, size_t n,
    const unsigned char pinned[32], const unsigned char current[32],
    uint64_t *when, size_t *steps)
{
	unsigned char at[32];
	size_t i;

	*when = 0;
	*steps = 0;
	memcpy(at, pinned, 32);
	for (i = 0; i < n; i++) {
		if (memcmp(r[i].old_pk, at, 32) != 0 ||
		    idrot_verify(&r[i]) != COFFER_OK)
			continue;
		memcpy(at, r[i].new_pk, 32);
		*when = r[i].time;
		(*steps)++;
	}
	return *steps > 0 && memcmp(at, current, 32) == 0 ? COFFER_OK :
	    COFFER_ERR_HOSTKEY;
}
