/*
 * session_kdf.h - internal to session.c: the key schedule and the record
 * protection of docs/protocol.md as pure functions of their inputs, so the
 * unit tests can check them against the document's test vectors.  Not an
 * API for other modules: use session.h.
 */
#ifndef COFFER_SESSION_KDF_H
#define COFFER_SESSION_KDF_H

#include <stddef.h>
#include <stdint.h>

#define SKDF_KEY_BYTES   32 /* every traffic secret and AEAD key */
#define SKDF_HASH_BYTES  32 /* transcript hashes, BLAKE2b-256 */
#define SKDF_NONCE_BYTES 12 /* ChaCha20-Poly1305-IETF */
#define SKDF_TAG_BYTES   16
#define SKDF_KX_BYTES    32 /* X25519 public and secret keys */

/* Labels of the key schedule; see docs/protocol.md, "Key schedule". */
#define SKDF_LABEL_HS_C2S  "coffer/1 hs c2s"
#define SKDF_LABEL_HS_S2C  "coffer/1 hs s2c"
#define SKDF_LABEL_APP_C2S "coffer/1 app c2s"
#define SKDF_LABEL_APP_S2C "coffer/1 app s2c"

/*
 * The two crypto_kx traffic secrets, named by direction rather than by
 * rx/tx so both sides hold the same bytes under the same names:
 * c2s = client tx = server rx, s2c = client rx = server tx.
 * COFFER_ERR_CRYPTO if the peer's key is a low-order point.
 */
int session_kdf_kx(int is_client, const unsigned char own_pk[SKDF_KX_BYTES],
    const unsigned char own_sk[SKDF_KX_BYTES],
    const unsigned char peer_pk[SKDF_KX_BYTES],
    unsigned char c2s[SKDF_KEY_BYTES], unsigned char s2c[SKDF_KEY_BYTES]);

/* out = BLAKE2b-256(key = secret, label || 0x00 || th). */
void session_kdf_derive(unsigned char out[SKDF_KEY_BYTES],
    const unsigned char secret[SKDF_KEY_BYTES], const char *label,
    const unsigned char th[SKDF_HASH_BYTES]);

/* nonce = 4 zero bytes || ctr as 64-bit big-endian. */
void session_kdf_nonce(unsigned char nonce[SKDF_NONCE_BYTES], uint64_t ctr);

/*
 * ChaCha20-Poly1305-IETF with the nonce above.  seal writes ptlen + 16
 * bytes to out; open writes ctlen - 16 bytes and returns COFFER_ERR_CRYPTO
 * (out zeroed) on a bad tag or a ct shorter than the tag.
 */
int session_kdf_seal(unsigned char *out, const unsigned char *pt,
    size_t ptlen, const unsigned char *ad, size_t adlen,
    const unsigned char key[SKDF_KEY_BYTES], uint64_t ctr);
int session_kdf_open(unsigned char *out, const unsigned char *ct,
    size_t ctlen, const unsigned char *ad, size_t adlen,
    const unsigned char key[SKDF_KEY_BYTES], uint64_t ctr);

/*
 * An application record: AD is the 4-byte big-endian frame length, that is
 * ptlen + 16.  out receives the ciphertext (the frame body, without the
 * length prefix).
 */
int session_kdf_record_seal(unsigned char *out, const unsigned char *pt,
    size_t ptlen, const unsigned char key[SKDF_KEY_BYTES], uint64_t ctr);
int session_kdf_record_open(unsigned char *out, const unsigned char *ct,
    size_t ctlen, const unsigned char key[SKDF_KEY_BYTES], uint64_t ctr);

#endif
