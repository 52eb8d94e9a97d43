/*
 * manifest.c - the backup manifest: a line-oriented text naming every file
 * of a backup with its size and SHA-256, signed with Ed25519 by the
 * daemon identity key.  Grammar and signing rule: docs/backup.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffer/backup.h"
#include "coffer/err.h"

#define B64_32 44   /* padded base64 of 32 bytes */
#define B64_64 88   /* of 64 bytes */

/* A growable output buffer; on allocation failure it keeps failing. */
struct obuf {
	char *p;
	size_t len, cap;
	int bad;
};

static void
ob_add(struct obuf *b, const char *s, size_t n)
{
	char *np;
	size_t ncap;

	if (b->bad)
		return;
	if (b->len + n > b->cap) {
		ncap = b->cap ? b->cap * 2 : 1024;
		while (ncap < b->len + n)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->bad = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
ob_str(struct obuf *b, const char *s)
{
	ob_add(b, s, strlen(s));
}

static void
ob_b64(struct obuf *b, const unsigned char *bin, size_t n)
{
	char text[B64_64 + 1];

	sodium_bin2base64(text, sizeof(text), bin, n,
	    sodium_base64_VARIANT_ORIGINAL);
	ob_str(b, text);
}

static void
ob_u64(struct obuf *b, uint64_t v)
{
	char text[24];

	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	ob_str(b, text);
}

/* Path rule: segments of [A-Za-z0-9._-], not starting with '.', by '/'. */
static int
path_ok(const char *p, size_t n)
{
	size_t i;
	int start = 1;

	if (n == 0 || n >= BACKUP_PATH_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '/') {
			if (start)
				return 0;
			start = 1;
			continue;
		}
		if (start && c == '.')
			return 0;
		start = 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return !start;
}

static int
files_ok(const struct backup_manifest *m)
{
	size_t i;

	if (m->nfiles > BACKUP_FILES_MAX)
		return 0;
	for (i = 0; i < m->nfiles; i++) {
		if (!path_ok(m->files[i].path, strlen(m->files[i].path)))
			return 0;
		if (i > 0 && strcmp(m->files[i - 1].path, m->files[i].path) >= 0)
			return 0; /* sorted and unique */
	}
	return 1;
}

/* The body: everything the signature covers. */
static int
encode_body(const struct backup_manifest *m, struct obuf *b)
{
	char hex[65];
	size_t i;

	if (!files_ok(m) || (m->seal != BACKUP_SEAL_PASSPHRASE &&
	    m->seal != BACKUP_SEAL_KEYFILE))
		return COFFER_ERR_INVALID;
	ob_str(b, BACKUP_MAGIC "\ncreated ");
	ob_u64(b, m->created);
	ob_str(b, "\nvault ");
	ob_b64(b, m->vault_pk, 32);
	ob_str(b, "\naudit-key ");
	ob_b64(b, m->audit_pk, 32);
	ob_str(b, "\naudit-size ");
	ob_u64(b, m->audit_size);
	ob_str(b, "\naudit-root ");
	ob_b64(b, m->audit_root, 32);
	ob_str(b, m->seal == BACKUP_SEAL_PASSPHRASE ? "\nseal passphrase\n" :
	    "\nseal keyfile\n");
	for (i = 0; i < m->nfiles; i++) {
		sodium_bin2hex(hex, sizeof(hex), m->files[i].sha256, 32);
		ob_str(b, "file ");
		ob_str(b, hex);
		ob_str(b, " ");
		ob_u64(b, m->files[i].size);
		ob_str(b, " ");
		ob_str(b, m->files[i].path);
		ob_str(b, "\n");
	}
	return b->bad ? COFFER_ERR_NOMEM : COFFER_OK;
}

/* The signer of backup_manifest_encode: a secret key in our memory. */
static int
sign_with_sk(void *arg, unsigned char sig[64], const unsigned char *m,
    size_t len)
{
	return crypto_sign_detached(sig, NULL, m, len, arg) == 0 ?
	    COFFER_OK : COFFER_ERR_CRYPTO;
}

int
backup_manifest_encode(const struct backup_manifest *m,
    const unsigned char sk[64], char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (sodium_memcmp(sk + 32, m->vault_pk, 32) != 0)
		return COFFER_ERR_INVALID; /* would never verify */
	return backup_manifest_encode_signed(m, sign_with_sk, (void *)sk, out,
	    len);
}

int
backup_manifest_encode_signed(const struct backup_manifest *m,
    backup_sign_fn sign, void *arg, char **out, size_t *len)
{
	unsigned char sig[crypto_sign_BYTES];
	struct obuf b = { NULL, 0, 0, 0 };
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = encode_body(m, &b)) != COFFER_OK)
		goto out;
	if ((rc = sign(arg, sig, (const unsigned char *)b.p, b.len)) !=
	    COFFER_OK)
		goto out;
	/* a signer holding another key would make a backup nobody can
	 * verify: refuse it here rather than at the first verify */
	if (crypto_sign_verify_detached(sig, (const unsigned char *)b.p, b.len,
	    m->vault_pk) != 0) {
		rc = COFFER_ERR_CRYPTO;
		goto out;
	}
	ob_str(&b, "sig ");
	ob_b64(&b, sig, sizeof(sig));
	ob_str(&b, "\n");
	if (b.bad) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	*out = b.p;
	*len = b.len;
	b.p = NULL; /* transferred */
out:
	free(b.p);
	return rc;
}

/* ---- parsing ------------------------------------------------------------ */

struct cursor {
	const char *p;
	size_t len, pos;
	size_t line;
};

/* The next line without its '\n' (which must be there). */
static int
next_line(struct cursor *c, const char **s, size_t *n)
{
	const char *nl;

	if (c->pos >= c->len)
		return 0;
	nl = memchr(c->p + c->pos, '\n', c->len - c->pos);
	if (nl == NULL)
		return 0;
	*s = c->p + c->pos;
	*n = (size_t)(nl - *s);
	c->pos += *n + 1;
	c->line++;
	return 1;
}

/* "key value" with exactly this key; the value goes to v, vn. */
static int
keyword(const char *s, size_t n, const char *key, const char **v,
    size_t *vn)
{
	size_t k = strlen(key);

	if (n <= k + 1 || memcmp(s, key, k) != 0 || s[k] != ' ')
		return 0;
	*v = s + k + 1;
	*vn = n - k - 1;
	return 1;
}

/* Canonical decimal: "0" or no leading zero, fits in 64 bits. */
static int
parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*out = v;
	return 1;
}

/*
 * Padded base64 of exactly outlen bytes, in its one spelling: it must
 * re-encode to the same characters.  The body's re-encode check does not
 * cover the sig line, and libsodium 1.0.18's decoder takes any byte
 * >= 0x80 for '/' (found by fuzz_manifest): without this, many files
 * with different manifest ids would carry the same valid signature.
 */
static int
parse_b64(const char *s, size_t n, unsigned char *out, size_t outlen)
{
	char again[sodium_base64_ENCODED_LEN(64,
	    sodium_base64_VARIANT_ORIGINAL)];
	size_t got = 0;
	const char *end = NULL;

	if (outlen > 64 || n != sodium_base64_ENCODED_LEN(outlen,
	    sodium_base64_VARIANT_ORIGINAL) - 1)
		return 0;
	if (sodium_base642bin(out, outlen, s, n, NULL, &got, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || got != outlen ||
	    end != s + n)
		return 0;
	sodium_bin2base64(again, sizeof(again), out, outlen,
	    sodium_base64_VARIANT_ORIGINAL);
	return memcmp(again, s, n) == 0;
}

static int
parse_hex32(const char *s, size_t n, unsigned char out[32])
{
	size_t i, got = 0;

	if (n != 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0; /* lowercase only: one spelling */
	return sodium_hex2bin(out, 32, s, n, NULL, &got, NULL) == 0 &&
	    got == 32;
}

/* "file HEX SIZE PATH" */
static int
parse_file(const char *v, size_t n, struct backup_file *f)
{
	const char *sp1, *sp2;

	if (n < 66 || v[64] != ' ')
		return 0;
	if (!parse_hex32(v, 64, f->sha256))
		return 0;
	sp1 = v + 64;
	sp2 = memchr(sp1 + 1, ' ', n - 65);
	if (sp2 == NULL || !parse_u64(sp1 + 1, (size_t)(sp2 - sp1 - 1),
	    &f->size))
		return 0;
	n -= (size_t)(sp2 + 1 - v);
	if (!path_ok(sp2 + 1, n))
		return 0;
	memcpy(f->path, sp2 + 1, n);
	f->path[n] = '\0';
	return 1;
}

static int
bad(struct coffer_errdetail *d, const struct cursor *c, const char *what)
{
	return coffer_detail(d, COFFER_ERR_PROTO, BACKUP_MANIFEST_FILE,
	    "line %zu: %s", c->line, what);
}

/* The fixed header lines, in order. */
static int
parse_head(struct cursor *c, struct backup_manifest *m,
    struct coffer_errdetail *d)
{
	const char *s, *v;
	size_t n, vn;

	if (!next_line(c, &s, &n) || n != strlen(BACKUP_MAGIC) ||
	    memcmp(s, BACKUP_MAGIC, n) != 0)
		return bad(d, c, "not a coffer-backup-v1 manifest");
	if (!next_line(c, &s, &n) || !keyword(s, n, "created", &v, &vn) ||
	    !parse_u64(v, vn, &m->created))
		return bad(d, c, "expected \"created SECONDS\"");
	if (!next_line(c, &s, &n) || !keyword(s, n, "vault", &v, &vn) ||
	    !parse_b64(v, vn, m->vault_pk, 32))
		return bad(d, c, "expected \"vault BASE64\"");
	if (!next_line(c, &s, &n) || !keyword(s, n, "audit-key", &v, &vn) ||
	    !parse_b64(v, vn, m->audit_pk, 32))
		return bad(d, c, "expected \"audit-key BASE64\"");
	if (!next_line(c, &s, &n) || !keyword(s, n, "audit-size", &v, &vn) ||
	    !parse_u64(v, vn, &m->audit_size))
		return bad(d, c, "expected \"audit-size N\"");
	if (!next_line(c, &s, &n) || !keyword(s, n, "audit-root", &v, &vn) ||
	    !parse_b64(v, vn, m->audit_root, 32))
		return bad(d, c, "expected \"audit-root BASE64\"");
	if (!next_line(c, &s, &n) || !keyword(s, n, "seal", &v, &vn))
		return bad(d, c, "expected \"seal passphrase|keyfile\"");
	if (vn == 10 && memcmp(v, "passphrase", 10) == 0)
		m->seal = BACKUP_SEAL_PASSPHRASE;
	else if (vn == 7 && memcmp(v, "keyfile", 7) == 0)
		m->seal = BACKUP_SEAL_KEYFILE;
	else
		return bad(d, c, "expected \"seal passphrase|keyfile\"");
	return COFFER_OK;
}

/* File lines up to the signature line; *body_end = where "sig " starts. */
static int
parse_files(struct cursor *c, struct backup_manifest *m,
    unsigned char sig[64], size_t *body_end, struct coffer_errdetail *d)
{
	const char *s, *v;
	size_t n, vn, at;

	if ((m->files = calloc(BACKUP_FILES_MAX, sizeof(*m->files))) == NULL)
		return COFFER_ERR_NOMEM;
	for (;;) {
		at = c->pos;
		if (!next_line(c, &s, &n))
			return bad(d, c, "no signature line");
		if (keyword(s, n, "sig", &v, &vn)) {
			if (!parse_b64(v, vn, sig, 64))
				return bad(d, c, "malformed signature");
			*body_end = at;
			break;
		}
		if (!keyword(s, n, "file", &v, &vn))
			return bad(d, c, "expected \"file HEX SIZE PATH\"");
		if (m->nfiles >= BACKUP_FILES_MAX)
			return bad(d, c, "too many files");
		if (!parse_file(v, vn, &m->files[m->nfiles]))
			return bad(d, c, "malformed file line");
		m->nfiles++;
	}
	if (c->pos != c->len)
		return bad(d, c, "data after the signature");
	if (!files_ok(m))
		return bad(d, c, "file lines not sorted by path or repeated");
	return COFFER_OK;
}

int
backup_manifest_parse(const char *text, size_t len,
    const unsigned char *pin, struct backup_manifest *m,
    struct coffer_errdetail *d)
{
	struct backup_manifest t;
	struct cursor c = { text, len, 0, 0 };
	struct obuf b = { NULL, 0, 0, 0 };
	unsigned char sig[64];
	size_t body_end = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	memset(&t, 0, sizeof(t));
	if (len > BACKUP_MANIFEST_MAX) {
		rc = coffer_detail(d, COFFER_ERR_TOO_BIG, BACKUP_MANIFEST_FILE,
		    "larger than %d bytes", BACKUP_MANIFEST_MAX);
		goto out;
	}
	if ((rc = parse_head(&c, &t, d)) != COFFER_OK ||
	    (rc = parse_files(&c, &t, sig, &body_end, d)) != COFFER_OK)
		goto out;
	/* One spelling only: what was signed is exactly what we understood. */
	if ((rc = encode_body(&t, &b)) != COFFER_OK)
		goto out;
	if (b.len != body_end || memcmp(b.p, text, body_end) != 0) {
		rc = coffer_detail(d, COFFER_ERR_PROTO, BACKUP_MANIFEST_FILE,
		    "not in canonical form");
		goto out;
	}
	if (crypto_sign_verify_detached(sig, (const unsigned char *)text,
	    body_end, t.vault_pk) != 0) {
		rc = coffer_detail(d, COFFER_ERR_CRYPTO, BACKUP_MANIFEST_FILE,
		    "the signature does not verify with the vault key it "
		    "names");
		goto out;
	}
	if (pin != NULL && sodium_memcmp(pin, t.vault_pk, 32) != 0) {
		rc = coffer_detail(d, COFFER_ERR_HOSTKEY, BACKUP_MANIFEST_FILE,
		    "signed by another vault key than the one expected");
		goto out;
	}
	*m = t;
	t.files = NULL; /* transferred */
out:
	free(b.p);
	free(t.files);
	return rc;
}

void
backup_manifest_free(struct backup_manifest *m)
{
	if (m == NULL)
		return;
	free(m->files);
	m->files = NULL;
	m->nfiles = 0;
}

void
backup_manifest_id(const char *text, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)text, len);
	sodium_bin2hex(out, 65, h, sizeof(h));
}
