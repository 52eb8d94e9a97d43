/*
 * keys.c - sealing the vault master key (passphrase or key file), deriving
 * per-purpose subkeys from it, and the users' Ed25519 key files.
 * Every byte layout here is specified in docs/keys.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/secfile.h"

/* Sealed master file ("COFFERMK"). */
#define MK_MAGIC "COFFERMK"
#define MK_VERSION 1
#define MK_KIND_PASSPHRASE 1
#define MK_KIND_KEYFILE 2

/* User secret key file ("COFFERSK"). */
#define SK_MAGIC "COFFERSK"
#define SK_VERSION 1
#define SK_KIND_NONE 0
#define SK_KIND_PASSPHRASE 1

#define MAGIC_LEN 8
#define PREFIX_LEN (MAGIC_LEN + 2) /* magic, version, kind */
#define SALT_LEN crypto_pwhash_SALTBYTES                      /* 16 */
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES /* 24 */
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES      /* 16 */
#define KDF_PARAMS_LEN (SALT_LEN + 8 + 8)
#define WRAP_KEY_LEN crypto_aead_xchacha20poly1305_ietf_KEYBYTES /* 32 */

#define MK_HDR_PASS (PREFIX_LEN + KDF_PARAMS_LEN + NONCE_LEN) /* 66 */
#define MK_HDR_FILE (PREFIX_LEN + NONCE_LEN)                  /* 34 */
#define MK_SEALED_MAX (MK_HDR_PASS + KEYS_MASTER_BYTES + TAG_LEN)

#define SK_HDR_NONE (PREFIX_LEN + 32)                          /* 42 */
#define SK_HDR_PASS (SK_HDR_NONE + KDF_PARAMS_LEN + NONCE_LEN) /* 98 */
#define SK_FILE_MAX (SK_HDR_PASS + 64 + TAG_LEN)               /* 178 */

/* Wrapping key file: one text line, the key in padded standard base64. */
#define WK_PREFIX "coffer-wrapkey-v1 "
#define WK_B64_LEN 44
#define WK_FILE_MAX 128

#define PUB_PREFIX "coffer-ed25519 "
#define PUB_B64_LEN 44
#define PUB_LINE_MAX 1024

#define KDF_CONTEXT "coffer01"

#define KEYS_GEN_MAGIC "coffer-keys-gen-v1\n"
#define KEYS_GEN_TEXT_MAX 256

/*
 * Argon2id cost accepted from a file.  The header is authenticated only
 * after the key is derived, so a tampered header must not be able to make
 * us spend unbounded time or memory first.
 */
#define OPSLIMIT_CEIL 32ULL
#define MEMLIMIT_CEIL ((unsigned long long)crypto_pwhash_MEMLIMIT_SENSITIVE)

struct kdf_params {
	unsigned char salt[SALT_LEN];
	unsigned long long ops;
	size_t mem;
};

static int
sodium_ready(void)
{
	return sodium_init() < 0 ? COFFER_ERR_INTERNAL : COFFER_OK;
}

static void
put_u64le(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_u64le(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* COFFER_PWHASH_FAST=1 (tests only) trades strength for speed. */
static void
kdf_params_new(struct kdf_params *kp)
{
	const char *fast = getenv("COFFER_PWHASH_FAST");

	randombytes_buf(kp->salt, sizeof(kp->salt));
	if (fast != NULL && strcmp(fast, "1") == 0) {
		kp->ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		kp->mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	} else {
		kp->ops = crypto_pwhash_OPSLIMIT_MODERATE;
		kp->mem = crypto_pwhash_MEMLIMIT_MODERATE;
	}
}

static void
kdf_params_put(const struct kdf_params *kp, unsigned char *p)
{
	memcpy(p, kp->salt, SALT_LEN);
	put_u64le(p + SALT_LEN, kp->ops);
	put_u64le(p + SALT_LEN + 8, (uint64_t)kp->mem);
}

static int
kdf_params_get(const unsigned char *p, struct kdf_params *kp)
{
	uint64_t ops = get_u64le(p + SALT_LEN);
	uint64_t mem = get_u64le(p + SALT_LEN + 8);

	if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > OPSLIMIT_CEIL ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > MEMLIMIT_CEIL)
		return COFFER_ERR_PROTO;
	memcpy(kp->salt, p, SALT_LEN);
	kp->ops = (unsigned long long)ops;
	kp->mem = (size_t)mem;
	return COFFER_OK;
}

/* Argon2id(pass) -> key; the only failure libsodium reports is memory. */
static int
kdf_run(const struct kdf_params *kp, const char *pass, size_t passlen,
    unsigned char key[WRAP_KEY_LEN])
{
	if (crypto_pwhash(key, WRAP_KEY_LEN, pass, passlen, kp->salt, kp->ops,
	    kp->mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_memzero(key, WRAP_KEY_LEN);
		return COFFER_ERR_NOMEM;
	}
	return COFFER_OK;
}

/* Encrypt plain into out (len + TAG_LEN bytes) with AD = the header. */
static void
aead_seal(const unsigned char *plain, size_t len, const unsigned char *hdr,
    size_t hdrlen, const unsigned char *nonce,
    const unsigned char key[WRAP_KEY_LEN], unsigned char *out)
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, plain, len,
	    hdr, hdrlen, NULL, nonce, key);
}

/* Decrypt ct (len + TAG_LEN) into plain; COFFER_ERR_KEY on any failure. */
static int
aead_open(unsigned char *plain, const unsigned char *ct, size_t len,
    const unsigned char *hdr, size_t hdrlen, const unsigned char *nonce,
    const unsigned char key[WRAP_KEY_LEN])
{
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, ct,
	    len + TAG_LEN, hdr, hdrlen, nonce, key) != 0) {
		sodium_memzero(plain, len);
		return COFFER_ERR_KEY;
	}
	return COFFER_OK;
}

static int
check_prefix(const unsigned char *buf, size_t len, const char *magic,
    int version)
{
	if (len < PREFIX_LEN || memcmp(buf, magic, MAGIC_LEN) != 0 ||
	    buf[MAGIC_LEN] != version)
		return COFFER_ERR_PROTO;
	return COFFER_OK;
}

/* Master key ---------------------------------------------------------- */

void
keys_master_generate(unsigned char master[KEYS_MASTER_BYTES])
{
	/* randombytes initialises itself; sodium_init only picks fast paths */
	if (sodium_init() < 0) {
		/* still safe: fall through to the self-initialising RNG */
	}
	randombytes_buf(master, KEYS_MASTER_BYTES);
}

/*
 * Write the sealed file: header (already filled up to hdrlen), then the
 * master encrypted under key with the header as associated data.
 */
static int
mk_write(const unsigned char master[KEYS_MASTER_BYTES], unsigned char *buf,
    size_t hdrlen, const unsigned char key[WRAP_KEY_LEN],
    const char *sealed_path)
{
	unsigned char *nonce = buf + hdrlen - NONCE_LEN;

	randombytes_buf(nonce, NONCE_LEN);
	aead_seal(master, KEYS_MASTER_BYTES, buf, hdrlen, nonce, key,
	    buf + hdrlen);
	return secfile_create(sealed_path, buf,
	    hdrlen + KEYS_MASTER_BYTES + TAG_LEN);
}

int
keys_seal_passphrase(const unsigned char master[KEYS_MASTER_BYTES],
    const char *pass, size_t passlen, const char *sealed_path)
{
	unsigned char buf[MK_SEALED_MAX];
	unsigned char *key = NULL;
	struct kdf_params kp;
	int rc;

	if (pass == NULL || passlen == 0)
		return COFFER_ERR_INVALID;
	if ((rc = sodium_ready()) != COFFER_OK)
		return rc;
	if ((key = sodium_malloc(WRAP_KEY_LEN)) == NULL)
		return COFFER_ERR_NOMEM;
	memcpy(buf, MK_MAGIC, MAGIC_LEN);
	buf[MAGIC_LEN] = MK_VERSION;
	buf[MAGIC_LEN + 1] = MK_KIND_PASSPHRASE;
	kdf_params_new(&kp);
	kdf_params_put(&kp, buf + PREFIX_LEN);
	if ((rc = kdf_run(&kp, pass, passlen, key)) != COFFER_OK)
		goto out;
	rc = mk_write(master, buf, MK_HDR_PASS, key, sealed_path);
out:
	sodium_free(key);
	return rc;
}

/* Wrapping key file: "coffer-wrapkey-v1 " BASE64(32) "\n", mode 0600. */
static int
wrapkey_create(const char *path, const unsigned char key[WRAP_KEY_LEN])
{
	const size_t plen = sizeof(WK_PREFIX) - 1;
	char *text = NULL;
	int rc;

	if ((text = sodium_malloc(WK_FILE_MAX)) == NULL)
		return COFFER_ERR_NOMEM;
	memcpy(text, WK_PREFIX, plen);
	sodium_bin2base64(text + plen, WK_FILE_MAX - plen, key, WRAP_KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	text[plen + WK_B64_LEN] = '\n';
	rc = secfile_create(path, text, plen + WK_B64_LEN + 1);
	sodium_free(text);
	return rc;
}

static int
wrapkey_load(const char *path, unsigned char key[WRAP_KEY_LEN])
{
	const size_t plen = sizeof(WK_PREFIX) - 1;
	char *text = NULL;
	size_t len = 0, bin = 0;
	const char *end = NULL;
	int rc;

	if ((text = sodium_malloc(WK_FILE_MAX)) == NULL)
		return COFFER_ERR_NOMEM;
	rc = secfile_read(path, text, WK_FILE_MAX, &len);
	if (rc == COFFER_ERR_TOO_BIG)
		rc = COFFER_ERR_KEY;
	if (rc != COFFER_OK)
		goto out;
	if (len > 0 && text[len - 1] == '\n')
		len--;
	rc = COFFER_ERR_KEY;
	if (len != plen + WK_B64_LEN || memcmp(text, WK_PREFIX, plen) != 0)
		goto out;
	if (!keys_b64_clean(text + plen, WK_B64_LEN) ||
	    sodium_base642bin(key, WRAP_KEY_LEN, text + plen, WK_B64_LEN,
	    NULL, &bin, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin != WRAP_KEY_LEN || end != text + len) {
		sodium_memzero(key, WRAP_KEY_LEN);
		goto out;
	}
	rc = COFFER_OK;
out:
	sodium_free(text);
	return rc;
}

int
keys_seal_keyfile(const unsigned char master[KEYS_MASTER_BYTES],
    const char *keyfile_path, const char *sealed_path)
{
	unsigned char buf[MK_SEALED_MAX];
	unsigned char *key = NULL;
	int rc;

	if ((rc = sodium_ready()) != COFFER_OK)
		return rc;
	if ((key = sodium_malloc(WRAP_KEY_LEN)) == NULL)
		return COFFER_ERR_NOMEM;
	crypto_aead_xchacha20poly1305_ietf_keygen(key);
	memcpy(buf, MK_MAGIC, MAGIC_LEN);
	buf[MAGIC_LEN] = MK_VERSION;
	buf[MAGIC_LEN + 1] = MK_KIND_KEYFILE;
	if ((rc = wrapkey_create(keyfile_path, key)) != COFFER_OK)
		goto out;
	if ((rc = mk_write(master, buf, MK_HDR_FILE, key, sealed_path)) !=
	    COFFER_OK)
		unlink(keyfile_path); /* a key that seals nothing is clutter */
out:
	sodium_free(key);
	return rc;
}

/* Read and frame-check a sealed master file; returns its kind in *kind. */
static int
mk_read(const char *sealed_path, unsigned char buf[MK_SEALED_MAX],
    size_t *len, int *kind)
{
	int rc;

	rc = secfile_read(sealed_path, buf, MK_SEALED_MAX, len);
	if (rc == COFFER_ERR_TOO_BIG)
		return COFFER_ERR_PROTO;
	if (rc != COFFER_OK)
		return rc;
	if ((rc = check_prefix(buf, *len, MK_MAGIC, MK_VERSION)) != COFFER_OK)
		return rc;
	*kind = buf[MAGIC_LEN + 1];
	if (*kind == MK_KIND_PASSPHRASE &&
	    *len == MK_HDR_PASS + KEYS_MASTER_BYTES + TAG_LEN)
		return COFFER_OK;
	if (*kind == MK_KIND_KEYFILE &&
	    *len == MK_HDR_FILE + KEYS_MASTER_BYTES + TAG_LEN)
		return COFFER_OK;
	return COFFER_ERR_PROTO;
}

int
keys_sealed_with_passphrase(const char *sealed_path)
{
	unsigned char buf[MK_SEALED_MAX];
	size_t len = 0;
	int kind = 0, rc;

	if ((rc = mk_read(sealed_path, buf, &len, &kind)) != COFFER_OK)
		return -rc;
	return kind == MK_KIND_PASSPHRASE;
}

/* Derive the wrapping key the sealed file's kind calls for. */
static int
mk_wrapping_key(const unsigned char *buf, int kind, const char *keyfile_path,
    const char *pass, size_t passlen, unsigned char key[WRAP_KEY_LEN])
{
	struct kdf_params kp;
	int rc;

	if (kind == MK_KIND_KEYFILE) {
		if (keyfile_path == NULL)
			return COFFER_ERR_USAGE;
		return wrapkey_load(keyfile_path, key);
	}
	if (pass == NULL)
		return COFFER_ERR_USAGE;
	if ((rc = kdf_params_get(buf + PREFIX_LEN, &kp)) != COFFER_OK)
		return rc;
	return kdf_run(&kp, pass, passlen, key);
}

int
keys_unseal(const char *sealed_path, const char *keyfile_path,
    const char *pass, size_t passlen,
    unsigned char master[KEYS_MASTER_BYTES])
{
	unsigned char buf[MK_SEALED_MAX];
	unsigned char *key = NULL, *plain = NULL;
	size_t len = 0, hdrlen;
	int kind = 0, rc;

	sodium_memzero(master, KEYS_MASTER_BYTES);
	if ((rc = sodium_ready()) != COFFER_OK)
		return rc;
	if ((rc = mk_read(sealed_path, buf, &len, &kind)) != COFFER_OK)
		return rc;
	key = sodium_malloc(WRAP_KEY_LEN);
	plain = sodium_malloc(KEYS_MASTER_BYTES);
	if (key == NULL || plain == NULL) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	rc = mk_wrapping_key(buf, kind, keyfile_path, pass, passlen, key);
	if (rc != COFFER_OK)
		goto out;
	hdrlen = kind == MK_KIND_PASSPHRASE ? MK_HDR_PASS : MK_HDR_FILE;
	rc = aead_open(plain, buf + hdrlen, KEYS_MASTER_BYTES, buf, hdrlen,
	    buf + hdrlen - NONCE_LEN, key);
	if (rc == COFFER_OK)
		memcpy(master, plain, KEYS_MASTER_BYTES);
out:
	sodium_free(key);
	sodium_free(plain);
	return rc;
}

int
keys_derive_gen(const unsigned char master[KEYS_MASTER_BYTES],
    enum keys_subkey id, unsigned gen, unsigned char *out, size_t len)
{
	if (id < KEYS_SUB_DATABASE || id > KEYS_SUB_BACKUP ||
	    gen > KEYS_GEN_MAX ||
	    len < crypto_kdf_BYTES_MIN || len > crypto_kdf_BYTES_MAX)
		return COFFER_ERR_INVALID;
	if (sodium_ready() != COFFER_OK)
		return COFFER_ERR_INTERNAL;
	/* ids of one purpose never collide with another's: id < 2^16 */
	if (crypto_kdf_derive_from_key(out, len, (uint64_t)id +
	    ((uint64_t)gen << 16), KDF_CONTEXT, master) != 0)
		return COFFER_ERR_INTERNAL;
	return COFFER_OK;
}

int
keys_derive(const unsigned char master[KEYS_MASTER_BYTES],
    enum keys_subkey id, unsigned char *out, size_t len)
{
	return keys_derive_gen(master, id, 0, out, len);
}

/* Generations file ------------------------------------------------------ */

/* "ID GEN\n": two decimals without leading zeros; advances *p. */
static int
gen_line(const char **p, const char *end, unsigned *id, unsigned *gen)
{
	unsigned long v[2];
	const char *s = *p;
	int i;

	for (i = 0; i < 2; i++) {
		const char *d = s;

		v[i] = 0;
		while (s < end && *s >= '0' && *s <= '9' && s - d < 6)
			v[i] = v[i] * 10 + (unsigned long)(*s++ - '0');
		if (s == d || (s - d > 1 && *d == '0') || s >= end ||
		    *s != (i == 0 ? ' ' : '\n'))
			return COFFER_ERR_PROTO;
		s++;
	}
	if (v[0] < KEYS_SUB_DATABASE || v[0] >= KEYS_SUB_COUNT ||
	    v[1] == 0 || v[1] > KEYS_GEN_MAX)
		return COFFER_ERR_PROTO;
	*id = (unsigned)v[0];
	*gen = (unsigned)v[1];
	*p = s;
	return COFFER_OK;
}

int
keys_gen_load(const char *path, struct keys_gen *out)
{
	char *text = NULL;
	const char *p, *end;
	size_t len = 0, hl = sizeof(KEYS_GEN_MAGIC) - 1;
	unsigned id, gen, last = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = file_read_all(path, KEYS_GEN_TEXT_MAX, &text, &len);
	if (rc != COFFER_OK)
		return access(path, F_OK) != 0 && errno == ENOENT ? COFFER_OK :
		    rc == COFFER_ERR_TOO_BIG ? COFFER_ERR_PROTO : rc;
	rc = COFFER_ERR_PROTO;
	if (len < hl || memcmp(text, KEYS_GEN_MAGIC, hl) != 0)
		goto out;
	end = text + len;
	for (p = text + hl; p < end; last = id) {
		/* ascending ids: one line per purpose, one encoding per file */
		if (gen_line(&p, end, &id, &gen) != COFFER_OK || id <= last)
			goto out;
		out->g[id] = gen;
	}
	rc = COFFER_OK;
out:
	if (rc != COFFER_OK)
		memset(out, 0, sizeof(*out));
	free(text);
	return rc;
}

int
keys_gen_save(const char *path, const struct keys_gen *g)
{
	char text[KEYS_GEN_TEXT_MAX];
	size_t len = sizeof(KEYS_GEN_MAGIC) - 1;
	unsigned id;
	int n;

	memcpy(text, KEYS_GEN_MAGIC, len);
	for (id = KEYS_SUB_DATABASE; id < KEYS_SUB_COUNT; id++) {
		if (g->g[id] > KEYS_GEN_MAX)
			return COFFER_ERR_INVALID;
		if (g->g[id] == 0)
			continue;
		n = snprintf(text + len, sizeof(text) - len, "%u %u\n", id,
		    g->g[id]);
		if (n < 0 || (size_t)n >= sizeof(text) - len)
			return COFFER_ERR_INTERNAL;
		len += (size_t)n;
	}
	/* written, renamed and its directory synced: durable */
	return file_write_atomic(path, text, len, 0600);
}

/* User keys ------------------------------------------------------------ */

/* Build the secret key file image in buf; returns its length in *len. */
static int
sk_build(const unsigned char pk[32], const unsigned char sk[64],
    const char *pass, size_t passlen, unsigned char buf[SK_FILE_MAX],
    size_t *len)
{
	unsigned char *key = NULL;
	struct kdf_params kp;
	int rc;

	memcpy(buf, SK_MAGIC, MAGIC_LEN);
	buf[MAGIC_LEN] = SK_VERSION;
	memcpy(buf + PREFIX_LEN, pk, 32);
	if (pass == NULL) {
		buf[MAGIC_LEN + 1] = SK_KIND_NONE;
		memcpy(buf + SK_HDR_NONE, sk, 64);
		*len = SK_HDR_NONE + 64;
		return COFFER_OK;
	}
	buf[MAGIC_LEN + 1] = SK_KIND_PASSPHRASE;
	kdf_params_new(&kp);
	kdf_params_put(&kp, buf + SK_HDR_NONE);
	randombytes_buf(buf + SK_HDR_PASS - NONCE_LEN, NONCE_LEN);
	if ((key = sodium_malloc(WRAP_KEY_LEN)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = kdf_run(&kp, pass, passlen, key)) == COFFER_OK) {
		aead_seal(sk, 64, buf, SK_HDR_PASS, buf + SK_HDR_PASS -
		    NONCE_LEN, key, buf + SK_HDR_PASS);
		*len = SK_HDR_PASS + 64 + TAG_LEN;
	}
	sodium_free(key);
	return rc;
}

int
userkey_generate(const char *secret_path, const char *public_path,
    const char *pass, size_t passlen, const char *comment)
{
	unsigned char pk[32];
	unsigned char *sk = NULL, *file = NULL;
	char line[USERKEY_PUBLIC_TEXT + 1];
	size_t len = 0;
	int rc;

	if (pass != NULL && passlen == 0)
		return COFFER_ERR_INVALID;
	if ((rc = sodium_ready()) != COFFER_OK)
		return rc;
	sk = sodium_malloc(64);
	file = sodium_malloc(SK_FILE_MAX);
	if (sk == NULL || file == NULL) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	crypto_sign_keypair(pk, sk);
	if ((rc = sk_build(pk, sk, pass, passlen, file, &len)) != COFFER_OK)
		goto out;
	if ((rc = secfile_create(secret_path, file, len)) != COFFER_OK)
		goto out;
	userkey_format_public(pk, comment, line, sizeof(line) - 1);
	len = strlen(line);
	line[len++] = '\n';
	if ((rc = file_write_atomic(public_path, line, len, 0644)) !=
	    COFFER_OK)
		unlink(secret_path); /* a secret without its public half */
out:
	sodium_free(sk);
	sodium_free(file);
	return rc;
}

static int
sk_read(const char *secret_path, unsigned char buf[SK_FILE_MAX], size_t *len,
    int *kind)
{
	int rc;

	rc = secfile_read(secret_path, buf, SK_FILE_MAX, len);
	if (rc == COFFER_ERR_TOO_BIG)
		return COFFER_ERR_KEY;
	if (rc != COFFER_OK)
		return rc;
	if (check_prefix(buf, *len, SK_MAGIC, SK_VERSION) != COFFER_OK)
		return COFFER_ERR_KEY;
	*kind = buf[MAGIC_LEN + 1];
	if (*kind == SK_KIND_NONE && *len == SK_HDR_NONE + 64)
		return COFFER_OK;
	if (*kind == SK_KIND_PASSPHRASE && *len == SK_HDR_PASS + 64 + TAG_LEN)
		return COFFER_OK;
	return COFFER_ERR_KEY;
}

int
userkey_needs_passphrase(const char *secret_path)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int kind = 0, rc;

	if ((buf = sodium_malloc(SK_FILE_MAX)) == NULL)
		return -COFFER_ERR_NOMEM;
	rc = sk_read(secret_path, buf, &len, &kind);
	sodium_free(buf);
	if (rc != COFFER_OK)
		return -rc;
	return kind == SK_KIND_PASSPHRASE;
}

/*
 * The stored secret must regenerate both itself (from its seed half) and
 * the stored public key; otherwise the file is damaged or spliced.
 */
static int
sk_consistent(const unsigned char *file, const unsigned char sk[64])
{
	unsigned char pk[32];
	unsigned char *again = NULL;
	int ok;

	if ((again = sodium_malloc(64)) == NULL)
		return COFFER_ERR_NOMEM;
	crypto_sign_seed_keypair(pk, again, sk);
	ok = sodium_memcmp(again, sk, 64) == 0 &&
	    memcmp(pk, file + PREFIX_LEN, 32) == 0;
	sodium_free(again);
	return ok ? COFFER_OK : COFFER_ERR_KEY;
}

int
userkey_load_secret(const char *secret_path, const char *pass,
    size_t passlen, unsigned char sk[64])
{
	unsigned char *buf = NULL, *key = NULL;
	struct kdf_params kp;
	size_t len = 0;
	int kind = 0, rc;

	sodium_memzero(sk, 64);
	if ((rc = sodium_ready()) != COFFER_OK)
		return rc;
	buf = sodium_malloc(SK_FILE_MAX);
	key = sodium_malloc(WRAP_KEY_LEN);
	if (buf == NULL || key == NULL) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	if ((rc = sk_read(secret_path, buf, &len, &kind)) != COFFER_OK)
		goto out;
	if (kind == SK_KIND_NONE) {
		memcpy(sk, buf + SK_HDR_NONE, 64);
	} else {
		rc = COFFER_ERR_USAGE;
		if (pass == NULL)
			goto out;
		if ((rc = kdf_params_get(buf + SK_HDR_NONE, &kp)) != COFFER_OK ||
		    (rc = kdf_run(&kp, pass, passlen, key)) != COFFER_OK ||
		    (rc = aead_open(sk, buf + SK_HDR_PASS, 64, buf, SK_HDR_PASS,
		    buf + SK_HDR_PASS - NONCE_LEN, key)) != COFFER_OK)
			goto out;
	}
	rc = sk_consistent(buf, sk);
out:
	if (rc != COFFER_OK)
		sodium_memzero(sk, 64);
	sodium_free(buf);
	sodium_free(key);
	return rc == COFFER_ERR_PROTO ? COFFER_ERR_KEY : rc;
}

int
userkey_load_public(const char *public_path, unsigned char pk[32])
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = file_read_all(public_path, PUB_LINE_MAX, &text, &len);
	if (rc == COFFER_ERR_TOO_BIG)
		rc = COFFER_ERR_INVALID;
	if (rc != COFFER_OK)
		return rc;
	if (strlen(text) != len)
		rc = COFFER_ERR_INVALID; /* embedded NUL */
	else
		rc = userkey_parse_public(text, pk);
	free(text);
	return rc;
}

/*
 * "coffer-ed25519 " BASE64(pk) [" " COMMENT] ["\n"], nothing after the
 * newline.  The comment is free text without control characters.
 */
static int
pub_tail_ok(const char *p)
{
	if (*p == ' ')
		for (p++; *p != '\0' && *p != '\n'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return 0;
	if (*p == '\n')
		p++;
	return *p == '\0';
}

int
userkey_parse_public(const char *line, unsigned char pk[32])
{
	const size_t plen = sizeof(PUB_PREFIX) - 1;
	unsigned char tmp[32];
	const char *end = NULL;
	size_t bin = 0;

	memset(pk, 0, 32);
	if (line == NULL || strnlen(line, PUB_LINE_MAX + 1) > PUB_LINE_MAX ||
	    strncmp(line, PUB_PREFIX, plen) != 0 ||
	    strnlen(line + plen, PUB_B64_LEN) != PUB_B64_LEN)
		return COFFER_ERR_INVALID;
	if (sodium_init() < 0)
		return COFFER_ERR_INTERNAL;
	if (!keys_b64_clean(line + plen, PUB_B64_LEN) ||
	    sodium_base642bin(tmp, sizeof(tmp), line + plen, PUB_B64_LEN, NULL,
	    &bin, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin != sizeof(tmp) || end != line + plen + PUB_B64_LEN ||
	    !pub_tail_ok(end))
		return COFFER_ERR_INVALID;
	/* Refuse small-order and non-canonical points outright. */
	if (!crypto_core_ed25519_is_valid_point(tmp))
		return COFFER_ERR_INVALID;
	memcpy(pk, tmp, sizeof(tmp));
	return COFFER_OK;
}

void
userkey_format_public(const unsigned char pk[32], const char *comment,
    char *buf, size_t bufsz)
{
	const size_t plen = sizeof(PUB_PREFIX) - 1;
	size_t n, i;

	if (bufsz == 0)
		return;
	buf[0] = '\0';
	if (bufsz < plen + PUB_B64_LEN + 1)
		return;
	memcpy(buf, PUB_PREFIX, plen);
	sodium_bin2base64(buf + plen, bufsz - plen, pk, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	n = plen + PUB_B64_LEN;
	if (comment != NULL && comment[0] != '\0' && n + 2 < bufsz) {
		buf[n++] = ' ';
		/* Keep the line one line: control characters become '?'. */
		for (i = 0; comment[i] != '\0' && n + 1 < bufsz; i++) {
			unsigned char c = (unsigned char)comment[i];

			buf[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
		}
	}
	buf[n] = '\0';
}

void
userkey_fingerprint(const unsigned char pk[32], char *buf, size_t bufsz)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];

	if (bufsz == 0)
		return;
	if (sodium_init() < 0) {
		buf[0] = '\0';
		return;
	}
	crypto_hash_sha256(h, pk, 32);
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	snprintf(buf, bufsz, "SHA256:%s", b64);
}

int
keys_b64_clean(const char *s, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '='))
			return 0;
	}
	return 1;
}
