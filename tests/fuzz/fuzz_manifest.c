/*
 * fuzz_manifest.c - libFuzzer harness for the backup MANIFEST parser
 * (src/backup/manifest.c).  Each input is parsed twice: as it is, and as
 * the unsigned body of a manifest that the harness signs with a fixed key,
 * so the fuzzer reaches what comes after the signature check too.  Beyond
 * "no crash": whatever parses is canonical (it re-encodes to the same
 * bytes), its files are sorted and within the limits, and a pin of another
 * key is refused.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "coffer/backup.h"
#include "coffer/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seed corpus (tests/fuzz/corpus/fuzz_manifest) is signed by the key
 * of this seed: 32 bytes of 0x42. */
static unsigned char g_pk[32], g_sk[64];

static void
keys_once(void)
{
	static int done;
	unsigned char seed[32];

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(g_pk, g_sk, seed);
	done = 1;
}

static int
path_chars_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n >= BACKUP_PATH_MAX || p[0] == '/' || p[n - 1] == '/')
		return 0;
	return strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-/") == n;
}

/* What any successfully parsed manifest must satisfy. */
static void
check_parsed(const struct backup_manifest *m, const char *text, size_t len,
    const unsigned char *sk)
{
	unsigned char other[32];
	struct backup_manifest again;
	char *enc = NULL, id[65];
	size_t i, elen = 0;

	if (m->nfiles > BACKUP_FILES_MAX || (m->nfiles > 0 && m->files == NULL))
		abort();
	if (m->seal != BACKUP_SEAL_PASSPHRASE && m->seal != BACKUP_SEAL_KEYFILE)
		abort();
	for (i = 0; i < m->nfiles; i++) {
		if (!path_chars_ok(m->files[i].path))
			abort();
		if (i > 0 && strcmp(m->files[i - 1].path, m->files[i].path) >= 0)
			abort();
	}
	backup_manifest_id(text, len, id);
	if (strlen(id) != 64)
		abort();
	/* signed by our key: it must re-encode to exactly the input */
	if (sk != NULL) {
		if (backup_manifest_encode(m, sk, &enc, &elen) != COFFER_OK ||
		    elen != len || memcmp(enc, text, len) != 0)
			abort();
		free(enc);
	}
	/* pinned to another key: refused */
	memcpy(other, m->vault_pk, 32);
	other[0] ^= 1;
	if (backup_manifest_parse(text, len, other, &again, NULL) !=
	    COFFER_ERR_HOSTKEY || again.files != NULL)
		abort();
}

static void
parse_one(const char *text, size_t len, const unsigned char *pin)
{
	struct coffer_errdetail d;
	struct backup_manifest m;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = backup_manifest_parse(text, len, pin, &m, &d);
	if (rc == COFFER_OK)
		check_parsed(&m, text, len,
		    sodium_memcmp(m.vault_pk, g_pk, 32) == 0 ? g_sk : NULL);
	else if (m.files != NULL || m.nfiles != 0 || d.message[0] == '\0' ||
	    memchr(d.message, '\0', sizeof(d.message)) == NULL)
		abort(); /* a failure fills nothing and always says why */
	backup_manifest_free(&m);
}

/* data as the body before the "sig" line, signed here with g_sk. */
static void
parse_signed(const uint8_t *data, size_t size)
{
	unsigned char sig[64];
	char b64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
	char *text;
	size_t len;

	if (size > BACKUP_MANIFEST_MAX)
		return;
	crypto_sign_detached(sig, NULL, data, size, g_sk);
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig),
	    sodium_base64_VARIANT_ORIGINAL);
	len = size + 4 + strlen(b64) + 1;
	if ((text = malloc(len)) == NULL)
		return;
	memcpy(text, data, size);
	memcpy(text + size, "sig ", 4);
	memcpy(text + size + 4, b64, strlen(b64));
	text[len - 1] = '\n';
	parse_one(text, len, g_pk);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	keys_once();
	parse_one((const char *)data, size, NULL);
	parse_signed(data, size);
	return 0;
}
