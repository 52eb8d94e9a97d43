/*
 * idrot.h - daemon identity key rotation statements: "the daemon's key
 * OLD was replaced by NEW at TIME", signed by OLD, kept in the vault
 * (DIR/identity.rot) and sent in the handshake so that a client that
 * pinned OLD can follow the chain to the key it is shown.  Formats:
 * docs/keys.md ("Identity rotation statements") and docs/protocol.md.
 */
#ifndef COFFER_IDROT_H
#define COFFER_IDROT_H

#include <stddef.h>
#include <stdint.h>

#define IDROT_FILE "identity.rot"  /* in the vault directory */
#define IDROT_BYTES 140            /* one statement, binary */
#define IDROT_MAX 16               /* statements kept and sent */

struct idrot {
	uint64_t time;                 /* unix seconds of the rotation */
	uint32_t gen;                  /* key generation of new_pk */
	unsigned char old_pk[32];
	unsigned char new_pk[32];
	unsigned char sig[64];         /* by old_pk, see idrot_sign */
};

/* Fill r->sig: Ed25519 by old_sk (whose public half must be r->old_pk). */
int idrot_sign(struct idrot *r, const unsigned char old_sk[64]);
/* COFFER_OK if r->sig is old_pk's signature, else COFFER_ERR_CRYPTO. */
int idrot_verify(const struct idrot *r);

/* The 140-byte form (docs/keys.md) and back (no signature check). */
void idrot_encode(const struct idrot *r, unsigned char out[IDROT_BYTES]);
void idrot_decode(const unsigned char in[IDROT_BYTES], struct idrot *r);

/*
 * The statements in path, oldest first, at most max (the newest max are
 * kept when there are more).  A missing file is none.  COFFER_ERR_PROTO
 * for a malformed file.  Signatures are not checked here.
 */
int idrot_load(const char *path, struct idrot *out, size_t max, size_t *n);
/* Add r at the end of path (rewritten atomically, 0644). */
int idrot_append(const char *path, const struct idrot *r);

/*
 * Follow the chain from pinned: each statement in r[0..n), in order, that
 * starts at the key reached so far and carries a valid signature moves on
 * to its new key.  COFFER_OK if current is reached (*when gets the time of
 * the last step, *steps their number), COFFER_ERR_HOSTKEY otherwise.
 */
int idrot_follow(const struct idrot *r, size_t n,
    const unsigned char pinned[32], const unsigned char current[32],
    uint64_t *when, size_t *steps);

#endif
