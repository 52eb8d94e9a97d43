/*
 * checkpoint.c - checkpoints in the C2SP formats, so any tool that speaks
 * them can check ours: the tlog-checkpoint body (origin, tree size, base64
 * root hash) inside a signed note with Ed25519 signature lines, and the
 * "name+keyid+base64" verifier key.  Byte layouts: docs/audit-format.md.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "coffer/keys.h"
#include "coffer/err.h"
#include "audit_int.h"

#define EMDASH "\xe2\x80\x94"
#define ROOT_B64_LEN 44     /* base64 of 32 bytes, padded */
#define SIG_B64_LEN 92      /* base64 of key id (4) + signature (64) */
#define MAX_SIG_LINES 100

int
ckpt_name_ok(const char *name)
{
	size_t i, n;

	if (name == NULL || (n = strlen(name)) == 0 || n > CKPT_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == '+')
			return 0;
	return 1;
}

/* C2SP signed-note: SHA-256(name || 0x0A || 0x01 || pk)[:4] */
void
ckpt_keyid(const char *name, const unsigned char pk[32], unsigned char id[4])
{
	static const unsigned char mid[2] = { 0x0a, 0x01 };
	unsigned char h[32];
	struct h256 s;

	h256_init(&s);
	h256_update(&s, name, strlen(name));
	h256_update(&s, mid, 2);
	h256_update(&s, pk, 32);
	h256_final(&s, h);
	memcpy(id, h, 4);
}

static int
body_format(const struct ckpt *c, char *out, size_t outsz, size_t *len)
{
	char b64[ROOT_B64_LEN + 1];
	int n;

	sodium_bin2base64(b64, sizeof(b64), c->root, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(out, outsz, "%s\n%" PRIu64 "\n%s\n", c->origin, c->size,
	    b64);
	if (n < 0 || (size_t)n >= outsz)
		return COFFER_ERR_TOO_BIG;
	*len = (size_t)n;
	return COFFER_OK;
}

int
ckpt_sign(const struct ckpt *c, const unsigned char sk[64],
    const unsigned char pk[32], char *out, size_t outsz, size_t *len)
{
	unsigned char blob[4 + crypto_sign_BYTES];
	char b64[SIG_B64_LEN + 1];
	size_t blen;
	int rc, n;

	if (!ckpt_name_ok(c->origin))
		return COFFER_ERR_INVALID;
	if ((rc = body_format(c, out, outsz, &blen)) != COFFER_OK)
		return rc;
	ckpt_keyid(c->origin, pk, blob);
	crypto_sign_detached(blob + 4, NULL, (const unsigned char *)out, blen,
	    sk);
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob),
	    sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(out + blen, outsz - blen, "\n" EMDASH " %s %s\n",
	    c->origin, b64);
	if (n < 0 || (size_t)n >= outsz - blen)
		return COFFER_ERR_TOO_BIG;
	*len = blen + (size_t)n;
	return COFFER_OK;
}

/* Base64 (padded) of exactly want bytes, canonical. */
static int
b64_exact(const char *s, size_t n, unsigned char *out, size_t want)
{
	size_t got;

	if (!keys_b64_clean(s, n) ||
	    sodium_base642bin(out, want, s, n, NULL, &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || got != want)
		return COFFER_ERR_PROTO;
	return COFFER_OK;
}

/* Decimal without leading zeros, no overflow. */
static int
parse_size(const char *s, size_t n, uint64_t *v)
{
	size_t i;

	*v = 0;
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return COFFER_ERR_PROTO;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    *v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return COFFER_ERR_PROTO;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return COFFER_OK;
}

/* Body lines: origin, size, root, then extension lines we ignore. */
static int
body_parse(const char *t, size_t n, struct ckpt *c)
{
	const char *nl1, *nl2, *nl3;
	size_t olen;

	if ((nl1 = memchr(t, '\n', n)) == NULL ||
	    (nl2 = memchr(nl1 + 1, '\n', n - (size_t)(nl1 + 1 - t))) == NULL ||
	    (nl3 = memchr(nl2 + 1, '\n', n - (size_t)(nl2 + 1 - t))) == NULL)
		return COFFER_ERR_PROTO;
	olen = (size_t)(nl1 - t);
	if (olen == 0 || olen > CKPT_NAME_MAX)
		return COFFER_ERR_PROTO;
	memcpy(c->origin, t, olen);
	c->origin[olen] = '\0';
	if (!ckpt_name_ok(c->origin) ||
	    parse_size(nl1 + 1, (size_t)(nl2 - nl1 - 1), &c->size) !=
	    COFFER_OK || (size_t)(nl3 - nl2 - 1) != ROOT_B64_LEN ||
	    b64_exact(nl2 + 1, ROOT_B64_LEN, c->root, 32) != COFFER_OK)
		return COFFER_ERR_PROTO;
	return COFFER_OK;
}

/*
 * One signature line "— name base64\n" (line excludes the newline):
 * 1 if it is a good signature by pk over body, 0 if not ours or bad,
 * COFFER_ERR_PROTO (negated) if malformed.
 */
static int
sig_line(const char *line, size_t n, const char *name,
    const unsigned char pk[32], const char *body, size_t blen)
{
	char lname[CKPT_NAME_MAX + 1];
	unsigned char blob[4 + crypto_sign_BYTES], id[4];
	const char *sp;
	size_t nlen;

	if (n < 4 || memcmp(line, EMDASH " ", 4) != 0)
		return -COFFER_ERR_PROTO;
	line += 4;
	n -= 4;
	if ((sp = memchr(line, ' ', n)) == NULL)
		return -COFFER_ERR_PROTO;
	nlen = (size_t)(sp - line);
	if (nlen == 0 || nlen > CKPT_NAME_MAX)
		return -COFFER_ERR_PROTO;
	memcpy(lname, line, nlen);
	lname[nlen] = '\0';
	if (n - nlen - 1 != SIG_B64_LEN ||
	    b64_exact(sp + 1, SIG_B64_LEN, blob, sizeof(blob)) != COFFER_OK)
		return 0;	/* another algorithm's signature: not ours */
	if (name != NULL && strcmp(name, lname) != 0)
		return 0;
	ckpt_keyid(lname, pk, id);
	if (memcmp(id, blob, 4) != 0)
		return 0;
	return crypto_sign_verify_detached(blob + 4,
	    (const unsigned char *)body, blen, pk) == 0;
}

int
ckpt_open(const char *text, size_t len, const char *name,
    const unsigned char pk[32], struct ckpt *c)
{
	const char *sep, *p, *nl, *end = text + len;
	size_t blen;
	int good = 0, r, lines = 0;

	memset(c, 0, sizeof(*c));
	if (len == 0 || len > CKPT_MAX || text[len - 1] != '\n' ||
	    memchr(text, '\0', len) != NULL)
		return COFFER_ERR_PROTO;
	if ((sep = memmem(text, len, "\n\n", 2)) == NULL)
		return COFFER_ERR_PROTO;
	blen = (size_t)(sep + 1 - text);
	if (body_parse(text, blen, c) != COFFER_OK)
		return COFFER_ERR_PROTO;
	for (p = sep + 2; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (++lines > MAX_SIG_LINES)
			return COFFER_ERR_PROTO;
		r = sig_line(p, (size_t)(nl - p), name, pk, text, blen);
		if (r < 0)
			return -r;
		good |= r;
	}
	if (lines == 0)
		return COFFER_ERR_PROTO;
	return good ? COFFER_OK : COFFER_ERR_CRYPTO;
}

int
ckpt_peek(const char *text, size_t len, struct ckpt *c)
{
	const char *sep;

	memset(c, 0, sizeof(*c));
	if (len == 0 || len > CKPT_MAX || text[len - 1] != '\n' ||
	    memchr(text, '\0', len) != NULL ||
	    (sep = memmem(text, len, "\n\n", 2)) == NULL)
		return COFFER_ERR_PROTO;
	return body_parse(text, (size_t)(sep + 1 - text), c);
}

/* ---- verifier keys ----------------------------------------------------- */

int
audit_vkey_format(const char *name, const unsigned char pk[32], char *buf,
    size_t bufsz)
{
	unsigned char id[4], kb[33];
	char b64[sodium_base64_ENCODED_LEN(33, sodium_base64_VARIANT_ORIGINAL)];
	int n;

	if (!ckpt_name_ok(name))
		return COFFER_ERR_INVALID;
	if (bufsz < AUDIT_VKEY_TEXT)
		return COFFER_ERR_TOO_BIG;
	ckpt_keyid(name, pk, id);
	kb[0] = 0x01;	/* signature type: Ed25519 */
	memcpy(kb + 1, pk, 32);
	sodium_bin2base64(b64, sizeof(b64), kb, sizeof(kb),
	    sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(buf, bufsz, "%s+%02x%02x%02x%02x+%s", name, id[0], id[1],
	    id[2], id[3], b64);
	return n < 0 || (size_t)n >= bufsz ? COFFER_ERR_TOO_BIG : COFFER_OK;
}

int
audit_vkey_parse(const char *text, char *name, size_t namesz,
    unsigned char pk[32])
{
	unsigned char id[4], want[4], kb[33];
	const char *p1, *p2;
	size_t nlen, tlen, got;
	char hex[9];

	tlen = strcspn(text, "\r\n");
	if ((p1 = memchr(text, '+', tlen)) == NULL ||
	    (p2 = memchr(p1 + 1, '+', tlen - (size_t)(p1 + 1 - text))) == NULL)
		return COFFER_ERR_INVALID;
	nlen = (size_t)(p1 - text);
	if (nlen == 0 || nlen > CKPT_NAME_MAX || nlen >= namesz ||
	    p2 - p1 - 1 != 8)
		return COFFER_ERR_INVALID;
	memcpy(name, text, nlen);
	name[nlen] = '\0';
	memcpy(hex, p1 + 1, 8);
	hex[8] = '\0';
	if (!ckpt_name_ok(name) ||
	    sodium_hex2bin(id, 4, hex, 8, NULL, &got, NULL) != 0 || got != 4 ||
	    !keys_b64_clean(p2 + 1, tlen - (size_t)(p2 + 1 - text)) ||
	    sodium_base642bin(kb, sizeof(kb), p2 + 1,
	    tlen - (size_t)(p2 + 1 - text), NULL, &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || got != 33 || kb[0] != 0x01)
		return COFFER_ERR_INVALID;
	memcpy(pk, kb + 1, 32);
	ckpt_keyid(name, pk, want);
	return memcmp(id, want, 4) == 0 ? COFFER_OK : COFFER_ERR_INVALID;
}

/* ---- key rotation statement -------------------------------------------- */

#define ROTATE_CONTEXT "coffer-audit-key-rotate-v1"

size_t
audit_rotate_msg(const char *origin, uint64_t seq,
    const unsigned char prev[32], const unsigned char new_pk[32],
    unsigned char *out)
{
	size_t n = sizeof(ROTATE_CONTEXT), olen = strnlen(origin,
	    CKPT_NAME_MAX);
	int i;

	memcpy(out, ROTATE_CONTEXT, n);	/* with its NUL */
	memcpy(out + n, origin, olen);
	n += olen;
	out[n++] = 0;
	for (i = 7; i >= 0; i--)
		out[n++] = (unsigned char)(seq >> (8 * i));
	memcpy(out + n, prev, 32);
	memcpy(out + n + 32, new_pk, 32);
	return n + 64;
}
