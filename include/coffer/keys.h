/*
 * keys.h - the vault master key and everything derived from it, and the
 * users' Ed25519 key files.
 *
 * The 256-bit master key exists on disk only sealed (XChaCha20-Poly1305):
 * under a key derived from an administrator passphrase with Argon2id
 * (crypto_pwhash), or under a random wrapping key kept in a separate key
 * file that must be mode 0600.  Subkeys for each use are derived with
 * crypto_kdf (context "coffer01"), so no key serves two purposes.
 * Every buffer that receives key material here must be sodium_malloc'd by
 * the caller and is wiped by the caller with sodium_free/sodium_memzero.
 * File formats: docs/keys.md.
 */
#ifndef COFFER_KEYS_H
#define COFFER_KEYS_H

#include <stddef.h>

#define KEYS_MASTER_BYTES 32

enum keys_subkey {
	KEYS_SUB_DATABASE = 1,     /* SQLCipher raw key, 32 bytes */
	KEYS_SUB_IDENTITY = 2,     /* daemon Ed25519 seed, 32 bytes */
	KEYS_SUB_AUDIT_SIGN = 3,   /* audit checkpoint Ed25519 seed */
	KEYS_SUB_AUDIT_HASH = 4,   /* keyed hashes of values in the log */
	KEYS_SUB_BACKUP = 5        /* backup encryption */
};
#define KEYS_SUB_COUNT 6           /* ids 1..5; index 0 unused */

/*
 * Key generations (rotation, docs/keys.md "Key generations"): generation
 * g of purpose id is derived with subkey id  id + (g << 16);  generation 0
 * is the bare id, so vaults that never rotated keep their keys.
 */
#define KEYS_GEN_MAX 0xffffu
#define KEYS_GEN_FILE "keys.gen"   /* current generation of each purpose */

/* The current generation of each purpose; g[id], g[0] unused. */
struct keys_gen {
	unsigned g[KEYS_SUB_COUNT];
};

/* Fill master with 32 random bytes. */
void keys_master_generate(unsigned char master[KEYS_MASTER_BYTES]);

/* Seal master under a passphrase into a new file sealed_path (O_EXCL). */
int keys_seal_passphrase(const unsigned char master[KEYS_MASTER_BYTES],
    const char *pass, size_t passlen, const char *sealed_path);

/*
 * Seal master under a fresh random wrapping key written to keyfile_path
 * (0600, O_EXCL); the sealed blob goes to sealed_path.
 */
int keys_seal_keyfile(const unsigned char master[KEYS_MASTER_BYTES],
    const char *keyfile_path, const char *sealed_path);

/*
 * Open sealed_path.  If it was sealed with a key file, keyfile_path names it
 * (pass is ignored); otherwise pass/passlen is the passphrase.
 * COFFER_ERR_KEY for a wrong passphrase/key file, COFFER_ERR_PERM for a key
 * file readable by others, COFFER_ERR_PROTO for a damaged sealed file.
 */
int keys_unseal(const char *sealed_path, const char *keyfile_path,
    const char *pass, size_t passlen,
    unsigned char master[KEYS_MASTER_BYTES]);

/* 1 if sealed_path is sealed under a passphrase, 0 if key file, <0 error */
int keys_sealed_with_passphrase(const char *sealed_path);

/* Derive subkey id (len 16..64 bytes) from master: generation 0. */
int keys_derive(const unsigned char master[KEYS_MASTER_BYTES],
    enum keys_subkey id, unsigned char *out, size_t len);
/* Generation gen (0..KEYS_GEN_MAX) of purpose id. */
int keys_derive_gen(const unsigned char master[KEYS_MASTER_BYTES],
    enum keys_subkey id, unsigned gen, unsigned char *out, size_t len);

/*
 * Read / write the generations file (format: docs/keys.md).  A missing
 * file is all zero (COFFER_OK); a damaged one COFFER_ERR_PROTO.  Saving
 * writes a temporary file, fsyncs it, renames it over path (mode 0600)
 * and fsyncs the directory.
 */
int keys_gen_load(const char *path, struct keys_gen *out);
int keys_gen_save(const char *path, const struct keys_gen *g);

/*
 * User key files.  The secret key file holds the Ed25519 secret key, sealed
 * under a passphrase (Argon2id + XChaCha20-Poly1305) or, with pass == NULL,
 * stored plainly (mode 0600 still enforced; for demo vaults and tests).
 * The public key file is one text line "coffer-ed25519 BASE64 COMMENT".
 */
int userkey_generate(const char *secret_path, const char *public_path,
    const char *pass, size_t passlen, const char *comment);
/* 1 if the secret key file needs a passphrase, 0 if not, <0 error. */
int userkey_needs_passphrase(const char *secret_path);
int userkey_load_secret(const char *secret_path, const char *pass,
    size_t passlen, unsigned char sk[64]);
int userkey_load_public(const char *public_path, unsigned char pk[32]);
/* Parse / format the public key text line (buf >= USERKEY_PUBLIC_TEXT). */
#define USERKEY_PUBLIC_TEXT 128
int userkey_parse_public(const char *line, unsigned char pk[32]);
void userkey_format_public(const unsigned char pk[32], const char *comment,
    char *buf, size_t bufsz);
/* Short fingerprint "SHA256:base64" of a public key, for logs and audit. */
#define USERKEY_FPR_TEXT 56
void userkey_fingerprint(const unsigned char pk[32], char *buf, size_t bufsz);

/*
 * 1 if s[0..n) holds only base64 characters (A-Z a-z 0-9 + / =).  Call it
 * before sodium_base642bin: libsodium 1.0.18 decodes any byte >= 0x80 as
 * '/', so without it two different texts would decode to one key or
 * signature (found by fuzzing the backup manifest).
 */
int keys_b64_clean(const char *s, size_t n);

#endif
