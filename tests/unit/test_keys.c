/*
 * test_keys.c - master key sealing (both kinds), subkey derivation, user
 * key files and the public key text form, including every refusal; and
 * resealing a vault's master key (vault_reseal, key rotation).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/secfile.h"
#include "coffer/vault.h"

#include "helper.h"

struct fx {
	char dir[64];
	char sealed[PATH_MAX], keyfile[PATH_MAX];
	char sk[PATH_MAX], pk[PATH_MAX];
	unsigned char *master, *out;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || sodium_init() < 0)
		return -1;
	setenv("COFFER_PWHASH_FAST", "1", 1);
	snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-keys-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->sealed, sizeof(f->sealed), "%s/master.sealed", f->dir);
	snprintf(f->keyfile, sizeof(f->keyfile), "%s/master.key", f->dir);
	snprintf(f->sk, sizeof(f->sk), "%s/user.key", f->dir);
	snprintf(f->pk, sizeof(f->pk), "%s/user.pub", f->dir);
	f->master = sodium_malloc(KEYS_MASTER_BYTES);
	f->out = sodium_malloc(KEYS_MASTER_BYTES);
	if (f->master == NULL || f->out == NULL)
		return -1;
	keys_master_generate(f->master);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	test_rm_tree(f->dir);
	sodium_free(f->master);
	sodium_free(f->out);
	free(f);
	return 0;
}

/* Flip one byte of a file in place (keeps its mode). */
static void
flip_byte(const char *path, long off)
{
	unsigned char c;
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static long
file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (long)sb.st_size;
}

/* Master key: passphrase ------------------------------------------- */

static void
test_seal_passphrase_roundtrip(void **state)
{
	struct fx *f = *state;
	struct stat sb;

	assert_int_equal(keys_seal_passphrase(f->master, "correct horse", 13,
	    f->sealed), COFFER_OK);
	assert_int_equal(stat(f->sealed, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(file_size(f->sealed), 114);
	assert_int_equal(keys_sealed_with_passphrase(f->sealed), 1);
	assert_int_equal(keys_unseal(f->sealed, NULL, "correct horse", 13,
	    f->out), COFFER_OK);
	assert_memory_equal(f->out, f->master, KEYS_MASTER_BYTES);
	/* Sealing twice to the same path is refused (O_EXCL). */
	assert_int_equal(keys_seal_passphrase(f->master, "x", 1, f->sealed),
	    COFFER_ERR_CONFLICT);
}

static void
test_seal_passphrase_wrong(void **state)
{
	struct fx *f = *state;
	unsigned char zero[KEYS_MASTER_BYTES] = { 0 };

	assert_int_equal(keys_seal_passphrase(f->master, "correct horse", 13,
	    f->sealed), COFFER_OK);
	memset(f->out, 0xAA, KEYS_MASTER_BYTES);
	assert_int_equal(keys_unseal(f->sealed, NULL, "correct horsf", 13,
	    f->out), COFFER_ERR_KEY);
	assert_memory_equal(f->out, zero, sizeof(zero)); /* no half result */
	assert_int_equal(keys_unseal(f->sealed, NULL, "correct hors", 12,
	    f->out), COFFER_ERR_KEY);
	assert_int_equal(keys_unseal(f->sealed, NULL, NULL, 0, f->out),
	    COFFER_ERR_USAGE);
	assert_int_equal(keys_seal_passphrase(f->master, "", 0, f->keyfile),
	    COFFER_ERR_INVALID);
}

/* Every header byte is bound by the AEAD or rejected by the parser. */
static void
test_seal_passphrase_header_tamper(void **state)
{
	struct fx *f = *state;
	/* version, kind, salt, opslimit low byte, nonce, ciphertext */
	static const long offs[] = { 8, 9, 10, 26, 42, 50, 70, 113 };

	assert_int_equal(keys_seal_passphrase(f->master, "pw", 2, f->sealed),
	    COFFER_OK);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		flip_byte(f->sealed, offs[i]);
		assert_int_not_equal(keys_unseal(f->sealed, NULL, "pw", 2,
		    f->out), COFFER_OK);
		flip_byte(f->sealed, offs[i]);
	}
	assert_int_equal(keys_unseal(f->sealed, NULL, "pw", 2, f->out),
	    COFFER_OK);
	/* A damaged magic is a damaged file, not a wrong passphrase. */
	flip_byte(f->sealed, 0);
	assert_int_equal(keys_unseal(f->sealed, NULL, "pw", 2, f->out),
	    COFFER_ERR_PROTO);
}

/* A header asking for absurd Argon2 cost is refused before hashing. */
static void
test_seal_passphrase_cost_bounded(void **state)
{
	struct fx *f = *state;
	unsigned char buf[114];
	size_t len = 0;

	assert_int_equal(keys_seal_passphrase(f->master, "pw", 2, f->sealed),
	    COFFER_OK);
	assert_int_equal(secfile_read(f->sealed, buf, sizeof(buf), &len),
	    COFFER_OK);
	buf[26 + 7] = 0x7f; /* opslimit enormous */
	unlink(f->sealed);
	assert_int_equal(secfile_create(f->sealed, buf, len), COFFER_OK);
	assert_int_equal(keys_unseal(f->sealed, NULL, "pw", 2, f->out),
	    COFFER_ERR_PROTO);
}

/* Master key: key file ---------------------------------------------- */

static void
test_seal_keyfile_roundtrip(void **state)
{
	struct fx *f = *state;
	struct stat sb;

	assert_int_equal(keys_seal_keyfile(f->master, f->keyfile, f->sealed),
	    COFFER_OK);
	assert_int_equal(stat(f->keyfile, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(file_size(f->keyfile), 63);
	assert_int_equal(file_size(f->sealed), 82);
	assert_int_equal(keys_sealed_with_passphrase(f->sealed), 0);
	/* pass is ignored for a key-file vault */
	assert_int_equal(keys_unseal(f->sealed, f->keyfile, "junk", 4,
	    f->out), COFFER_OK);
	assert_memory_equal(f->out, f->master, KEYS_MASTER_BYTES);
	assert_int_equal(keys_unseal(f->sealed, NULL, NULL, 0, f->out),
	    COFFER_ERR_USAGE);
}

static void
test_seal_keyfile_loose_mode(void **state)
{
	struct fx *f = *state;

	assert_int_equal(keys_seal_keyfile(f->master, f->keyfile, f->sealed),
	    COFFER_OK);
	assert_int_equal(chmod(f->keyfile, 0644), 0);
	assert_int_equal(keys_unseal(f->sealed, f->keyfile, NULL, 0, f->out),
	    COFFER_ERR_PERM);
	assert_int_equal(chmod(f->keyfile, 0600), 0);
	assert_int_equal(keys_unseal(f->sealed, f->keyfile, NULL, 0, f->out),
	    COFFER_OK);
}

static void
test_seal_keyfile_wrong_or_damaged(void **state)
{
	struct fx *f = *state;
	char other_sealed[PATH_MAX], other_key[PATH_MAX];

	snprintf(other_sealed, sizeof(other_sealed), "%s/o.sealed", f->dir);
	snprintf(other_key, sizeof(other_key), "%s/o.key", f->dir);
	assert_int_equal(keys_seal_keyfile(f->master, f->keyfile, f->sealed),
	    COFFER_OK);
	assert_int_equal(keys_seal_keyfile(f->master, other_key,
	    other_sealed), COFFER_OK);
	assert_int_equal(keys_unseal(f->sealed, other_key, NULL, 0, f->out),
	    COFFER_ERR_KEY);
	/* Header byte (kind stays, nonce changes) -> authentication fails. */
	flip_byte(f->sealed, 20);
	assert_int_equal(keys_unseal(f->sealed, f->keyfile, NULL, 0, f->out),
	    COFFER_ERR_KEY);
	flip_byte(f->sealed, 20);
	/* Kind byte changed -> the length no longer fits the kind. */
	flip_byte(f->sealed, 9);
	assert_int_not_equal(keys_unseal(f->sealed, f->keyfile, NULL, 0,
	    f->out), COFFER_OK);
	flip_byte(f->sealed, 9);
	/* A garbled key file is a bad key, not a crash. */
	flip_byte(f->keyfile, 0);
	assert_int_equal(keys_unseal(f->sealed, f->keyfile, NULL, 0, f->out),
	    COFFER_ERR_KEY);
	flip_byte(f->keyfile, 0);
	flip_byte(f->keyfile, 30);
	assert_int_not_equal(keys_unseal(f->sealed, f->keyfile, NULL, 0,
	    f->out), COFFER_OK);
}

/*
 * Reimplement opening from docs/keys.md alone: if these pass, the
 * documented layout (offsets, AD = header, key file text) is the real one.
 */
static void
test_sealed_keyfile_layout_per_doc(void **state)
{
	struct fx *f = *state;
	unsigned char file[82], key[32], m[32];
	char text[64];
	size_t len = 0, bin = 0;

	assert_int_equal(keys_seal_keyfile(f->master, f->keyfile, f->sealed),
	    COFFER_OK);
	assert_int_equal(secfile_read(f->sealed, file, sizeof(file), &len),
	    COFFER_OK);
	assert_int_equal(len, 82);
	assert_memory_equal(file, "COFFERMK\x01\x02", 10);
	assert_int_equal(secfile_read(f->keyfile, text, sizeof(text), &len),
	    COFFER_OK);
	assert_int_equal(len, 63);
	assert_memory_equal(text, "coffer-wrapkey-v1 ", 18);
	assert_int_equal(text[62], '\n');
	assert_int_equal(sodium_base642bin(key, sizeof(key), text + 18, 44,
	    NULL, &bin, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(bin, 32);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(m, NULL,
	    NULL, file + 34, 48, file, 34, file + 10, key), 0);
	assert_memory_equal(m, f->master, 32);
	/* without the header as AD it must not open */
	assert_int_not_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(m,
	    NULL, NULL, file + 34, 48, NULL, 0, file + 10, key), 0);
}

static void
test_sealed_passphrase_layout_per_doc(void **state)
{
	struct fx *f = *state;
	unsigned char file[114], key[32], m[32];
	unsigned long long ops = 0, mem = 0;
	size_t len = 0;

	assert_int_equal(keys_seal_passphrase(f->master, "pw", 2, f->sealed),
	    COFFER_OK);
	assert_int_equal(secfile_read(f->sealed, file, sizeof(file), &len),
	    COFFER_OK);
	assert_int_equal(len, 114);
	assert_memory_equal(file, "COFFERMK\x01\x01", 10);
	for (int i = 7; i >= 0; i--) {
		ops = (ops << 8) | file[26 + i];
		mem = (mem << 8) | file[34 + i];
	}
	/* COFFER_PWHASH_FAST=1 selects the INTERACTIVE limits */
	assert_int_equal(ops, crypto_pwhash_OPSLIMIT_INTERACTIVE);
	assert_int_equal(mem, crypto_pwhash_MEMLIMIT_INTERACTIVE);
	assert_int_equal(crypto_pwhash(key, 32, "pw", 2, file + 10, ops,
	    (size_t)mem, crypto_pwhash_ALG_ARGON2ID13), 0);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(m, NULL,
	    NULL, file + 66, 48, file, 66, file + 42, key), 0);
	assert_memory_equal(m, f->master, 32);
	assert_int_not_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(m,
	    NULL, NULL, file + 66, 48, NULL, 0, file + 42, key), 0);
}

static void
test_userkey_layout_per_doc(void **state)
{
	struct fx *f = *state;
	unsigned char file[178], key[32], sk[64];
	unsigned long long ops = 0, mem = 0;
	size_t len = 0;

	assert_int_equal(userkey_generate(f->sk, f->pk, "pw", 2, NULL),
	    COFFER_OK);
	assert_int_equal(secfile_read(f->sk, file, sizeof(file), &len),
	    COFFER_OK);
	assert_int_equal(len, 178);
	assert_memory_equal(file, "COFFERSK\x01\x01", 10);
	for (int i = 7; i >= 0; i--) {
		ops = (ops << 8) | file[58 + i];
		mem = (mem << 8) | file[66 + i];
	}
	assert_int_equal(crypto_pwhash(key, 32, "pw", 2, file + 42, ops,
	    (size_t)mem, crypto_pwhash_ALG_ARGON2ID13), 0);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(sk, NULL,
	    NULL, file + 98, 80, file, 98, file + 74, key), 0);
	assert_memory_equal(sk + 32, file + 10, 32);
}

/* Subkeys ------------------------------------------------------------ */

static void
test_derive(void **state)
{
	struct fx *f = *state;
	unsigned char a[5][32], b[32], wide[64];

	for (int id = KEYS_SUB_DATABASE; id <= KEYS_SUB_BACKUP; id++)
		assert_int_equal(keys_derive(f->master, (enum keys_subkey)id,
		    a[id - 1], 32), COFFER_OK);
	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			assert_memory_not_equal(a[i], a[j], 32);
	assert_int_equal(keys_derive(f->master, KEYS_SUB_AUDIT_HASH, b, 32),
	    COFFER_OK);
	assert_memory_equal(a[KEYS_SUB_AUDIT_HASH - 1], b, 32);
	assert_int_equal(keys_derive(f->master, KEYS_SUB_BACKUP, wide, 64),
	    COFFER_OK);
	assert_int_equal(keys_derive(f->master, KEYS_SUB_BACKUP, b, 15),
	    COFFER_ERR_INVALID);
	assert_int_equal(keys_derive(f->master, KEYS_SUB_BACKUP, wide, 65),
	    COFFER_ERR_INVALID);
	assert_int_equal(keys_derive(f->master, (enum keys_subkey)0, b, 32),
	    COFFER_ERR_INVALID);
	assert_int_equal(keys_derive(f->master, (enum keys_subkey)6, b, 32),
	    COFFER_ERR_INVALID);
}

/* Known answer: crypto_kdf with context "coffer01", master = 0..31. */
static void
test_derive_known_answer(void **state)
{
	unsigned char m[32], got[32], want[32];

	(void)state;
	for (int i = 0; i < 32; i++)
		m[i] = (unsigned char)i;
	assert_int_equal(keys_derive(m, KEYS_SUB_DATABASE, got, 32),
	    COFFER_OK);
	/* Independent computation: BLAKE2b(key=m, salt=id, personal=ctx). */
	{
		unsigned char salt[16] = { 1 }, personal[16] = { 0 };

		memcpy(personal, "coffer01", 8);
		assert_int_equal(crypto_generichash_blake2b_salt_personal(want,
		    32, NULL, 0, m, 32, salt, personal), 0);
	}
	assert_memory_equal(got, want, 32);
}

/* User keys ------------------------------------------------------------ */

static void
check_keypair_matches(const char *pk_path, const unsigned char *sk)
{
	unsigned char pk[32], sig[64];

	assert_int_equal(userkey_load_public(pk_path, pk), COFFER_OK);
	assert_int_equal(crypto_sign_detached(sig, NULL,
	    (const unsigned char *)"m", 1, sk), 0);
	assert_int_equal(crypto_sign_verify_detached(sig,
	    (const unsigned char *)"m", 1, pk), 0);
}

static void
test_userkey_plain(void **state)
{
	struct fx *f = *state;
	unsigned char *sk = sodium_malloc(64);
	struct stat sb;

	assert_non_null(sk);
	assert_int_equal(userkey_generate(f->sk, f->pk, NULL, 0, "alice"),
	    COFFER_OK);
	assert_int_equal(stat(f->sk, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(file_size(f->sk), 106);
	assert_int_equal(userkey_needs_passphrase(f->sk), 0);
	assert_int_equal(userkey_load_secret(f->sk, NULL, 0, sk), COFFER_OK);
	check_keypair_matches(f->pk, sk);
	/* A damaged secret no longer regenerates its public half. */
	flip_byte(f->sk, 50);
	assert_int_equal(userkey_load_secret(f->sk, NULL, 0, sk),
	    COFFER_ERR_KEY);
	flip_byte(f->sk, 50);
	assert_int_equal(chmod(f->sk, 0640), 0);
	assert_int_equal(userkey_load_secret(f->sk, NULL, 0, sk),
	    COFFER_ERR_PERM);
	assert_int_equal(userkey_generate(f->sk, f->pk, NULL, 0, "again"),
	    COFFER_ERR_CONFLICT);
	sodium_free(sk);
}

static void
test_userkey_passphrase(void **state)
{
	struct fx *f = *state;
	unsigned char *sk = sodium_malloc(64);

	assert_non_null(sk);
	assert_int_equal(userkey_generate(f->sk, f->pk, "s3cret", 6, "bob"),
	    COFFER_OK);
	assert_int_equal(file_size(f->sk), 178);
	assert_int_equal(userkey_needs_passphrase(f->sk), 1);
	assert_int_equal(userkey_load_secret(f->sk, "s3cret", 6, sk),
	    COFFER_OK);
	check_keypair_matches(f->pk, sk);
	assert_int_equal(userkey_load_secret(f->sk, "s3creT", 6, sk),
	    COFFER_ERR_KEY);
	assert_int_equal(sodium_is_zero(sk, 64), 1);
	assert_int_equal(userkey_load_secret(f->sk, NULL, 0, sk),
	    COFFER_ERR_USAGE);
	/* The clear public key is bound into the AEAD header. */
	flip_byte(f->sk, 12);
	assert_int_equal(userkey_load_secret(f->sk, "s3cret", 6, sk),
	    COFFER_ERR_KEY);
	sodium_free(sk);
}

static void
test_public_roundtrip(void **state)
{
	unsigned char pk[32], sk[64], back[32];
	char line[USERKEY_PUBLIC_TEXT], longc[300];

	(void)state;
	crypto_sign_keypair(pk, sk);
	userkey_format_public(pk, "alice@example", line, sizeof(line));
	assert_int_equal(strncmp(line, "coffer-ed25519 ", 15), 0);
	assert_int_equal(strlen(line), 15 + 44 + 1 + 13);
	assert_string_equal(line + 60, "alice@example");
	assert_int_equal(userkey_parse_public(line, back), COFFER_OK);
	assert_memory_equal(pk, back, 32);
	/* no comment: no trailing space */
	userkey_format_public(pk, NULL, line, sizeof(line));
	assert_int_equal(strlen(line), 59);
	assert_int_equal(userkey_parse_public(line, back), COFFER_OK);
	/* a long comment is cut, a newline in it defused */
	memset(longc, 'c', sizeof(longc) - 1);
	longc[sizeof(longc) - 1] = '\0';
	longc[3] = '\n';
	userkey_format_public(pk, longc, line, sizeof(line));
	assert_int_equal(strlen(line), USERKEY_PUBLIC_TEXT - 1);
	assert_null(strchr(line, '\n'));
	assert_int_equal(userkey_parse_public(line, back), COFFER_OK);
	/* too small a buffer gives an empty string, not a partial key */
	userkey_format_public(pk, "x", line, 40);
	assert_string_equal(line, "");
}

static void
test_public_malformed(void **state)
{
	unsigned char pk[32], sk[64], back[32];
	char good[USERKEY_PUBLIC_TEXT], bad[USERKEY_PUBLIC_TEXT + 64];
	const char *const fixed[] = {
		"",
		"coffer-ed25519",
		"coffer-ed25519 ",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGy7 x",
		"coffer-ed25519 AAAA",
		/* 44 chars but only 31 bytes + wrong padding */
		"coffer-ed25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
		/* the identity point: small order, refused */
		"coffer-ed25519 AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	};

	(void)state;
	crypto_sign_keypair(pk, sk);
	userkey_format_public(pk, NULL, good, sizeof(good));
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		assert_int_equal(userkey_parse_public(fixed[i], back),
		    COFFER_ERR_INVALID);
	/* accepted variants */
	snprintf(bad, sizeof(bad), "%s\n", good);
	assert_int_equal(userkey_parse_public(bad, back), COFFER_OK);
	snprintf(bad, sizeof(bad), "%s with spaces\n", good);
	assert_int_equal(userkey_parse_public(bad, back), COFFER_OK);
	/* refused variants */
	snprintf(bad, sizeof(bad), "%s\nsecond line", good);
	assert_int_equal(userkey_parse_public(bad, back), COFFER_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%sx", good); /* glued to the base64 */
	assert_int_equal(userkey_parse_public(bad, back), COFFER_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%s a\tb", good);
	assert_int_equal(userkey_parse_public(bad, back), COFFER_ERR_INVALID);
	snprintf(bad, sizeof(bad), " %s", good);
	assert_int_equal(userkey_parse_public(bad, back), COFFER_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%s", good);
	bad[20] = '-'; /* URL-safe alphabet is not ours */
	assert_int_equal(userkey_parse_public(bad, back), COFFER_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%s", good);
	bad[15 + 43] = 'A'; /* drop the padding */
	assert_int_equal(userkey_parse_public(bad, back), COFFER_ERR_INVALID);
	/*
	 * libsodium 1.0.18 decodes a byte >= 0x80 as '/': a second spelling
	 * of the same key must still be refused (keys_b64_clean).
	 */
	{
		char *slash = NULL;
		int tries;

		/* a key whose text has a '/' (about half of them do) */
		for (tries = 0; tries < 200 && slash == NULL; tries++) {
			crypto_sign_keypair(pk, sk);
			userkey_format_public(pk, NULL, bad, sizeof(bad));
			slash = memchr(bad + 15, '/', 43);
		}
		assert_non_null(slash);
		assert_int_equal(userkey_parse_public(bad, back), COFFER_OK);
		*slash = (char)0xff;
		assert_int_equal(userkey_parse_public(bad, back),
		    COFFER_ERR_INVALID);
	}
	assert_true(keys_b64_clean("AAA/", 4));
	assert_false(keys_b64_clean("AAA\xff", 4));
	assert_false(keys_b64_clean("AA\nA", 4));
}

static void
test_fingerprint(void **state)
{
	unsigned char pk[32], h[32];
	char fpr[USERKEY_FPR_TEXT], want[USERKEY_FPR_TEXT];

	(void)state;
	memset(pk, 0, sizeof(pk));
	pk[0] = 0x42;
	userkey_fingerprint(pk, fpr, sizeof(fpr));
	assert_int_equal(strncmp(fpr, "SHA256:", 7), 0);
	assert_int_equal(strlen(fpr), 7 + 43); /* unpadded */
	assert_null(strchr(fpr, '='));
	crypto_hash_sha256(h, pk, 32);
	memcpy(want, "SHA256:", 7);
	sodium_bin2base64(want + 7, sizeof(want) - 7, h, 32,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	assert_string_equal(fpr, want);
	pk[31] = 1;
	userkey_fingerprint(pk, want, sizeof(want));
	assert_string_not_equal(fpr, want);
}

/* ---- reseal (vault_reseal): the sealing changes, the master key not -- */

static void
test_vault_reseal(void **state)
{
	struct fx *f = *state;
	struct vault *v = NULL, *w = NULL;
	char vdir[PATH_MAX], wrap[PATH_MAX], wrap2[PATH_MAX], tmp[PATH_MAX];
	unsigned char id[32];
	struct stat sb;

	snprintf(vdir, sizeof(vdir), "%s/v", f->dir);
	snprintf(wrap, sizeof(wrap), "%s/new.key", f->dir);
	snprintf(wrap2, sizeof(wrap2), "%s/v/master.sealed", f->dir);
	snprintf(tmp, sizeof(tmp), "%s/v/" VAULT_SEALED_NEW, f->dir);
	assert_int_equal(vault_create(vdir, NULL, "old pass", 8, &v),
	    COFFER_OK);
	memcpy(id, vault_identity_pk(v), 32);
	/* without the lock: refused */
	assert_int_equal(vault_reseal(v, NULL, "old pass", 8, NULL, "new pass",
	    8), COFFER_ERR_BUSY);
	assert_int_equal(vault_lock(v), COFFER_OK);
	/* wrong current passphrase: refused, nothing changed */
	assert_int_equal(vault_reseal(v, NULL, "bad pass", 8, NULL, "new pass",
	    8), COFFER_ERR_KEY);
	assert_int_not_equal(stat(tmp, &sb), 0);
	/* a stale temporary file from a crashed reseal is replaced */
	assert_int_equal(secfile_create(tmp, "junk", 4), COFFER_OK);
	assert_int_equal(vault_reseal(v, NULL, "old pass", 8, NULL, "new pass",
	    8), COFFER_OK);
	assert_int_not_equal(stat(tmp, &sb), 0);
	vault_close(v);
	v = NULL;
	assert_int_equal(vault_open(vdir, NULL, "old pass", 8, &w),
	    COFFER_ERR_KEY);
	assert_int_equal(vault_open(vdir, NULL, "new pass", 8, &w), COFFER_OK);
	assert_memory_equal(vault_identity_pk(w), id, 32);
	/* to a key file: the passphrase stops working, the file opens it */
	assert_int_equal(vault_lock(w), COFFER_OK);
	assert_int_equal(vault_reseal(w, NULL, "new pass", 8, wrap, NULL, 0),
	    COFFER_OK);
	assert_int_equal(keys_sealed_with_passphrase(wrap2), 0);
	assert_int_equal(stat(wrap, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* an existing new key file is refused and left alone */
	assert_int_equal(vault_reseal(w, wrap, NULL, 0, wrap, NULL, 0),
	    COFFER_ERR_CONFLICT);
	assert_int_equal(stat(wrap, &sb), 0);
	vault_close(w);
	/* a key-file vault ignores a passphrase: DIR/master.key is missing */
	assert_int_not_equal(vault_open(vdir, NULL, "new pass", 8, &w),
	    COFFER_OK);
	assert_int_equal(vault_open(vdir, wrap, NULL, 0, &w), COFFER_OK);
	assert_memory_equal(vault_identity_pk(w), id, 32);
	vault_close(w);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_seal_passphrase_roundtrip),
		T(test_seal_passphrase_wrong),
		T(test_seal_passphrase_header_tamper),
		T(test_seal_passphrase_cost_bounded),
		T(test_seal_keyfile_roundtrip),
		T(test_seal_keyfile_loose_mode),
		T(test_seal_keyfile_wrong_or_damaged),
		T(test_sealed_keyfile_layout_per_doc),
		T(test_sealed_passphrase_layout_per_doc),
		T(test_userkey_layout_per_doc),
		T(test_derive),
		T(test_derive_known_answer),
		T(test_userkey_plain),
		T(test_userkey_passphrase),
		T(test_public_roundtrip),
		T(test_public_malformed),
		T(test_fingerprint),
		T(test_vault_reseal),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
