/*
 * approval.h - the bytes a change request is identified by and the
 * statement an approver signs (docs/requests.md §4): shared by the client,
 * which signs with the user's Ed25519 key, and the daemon, which verifies
 * against the approver's registered public key.  Pure functions, no I/O.
 */
#ifndef COFFER_APPROVAL_H
#define COFFER_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#define APPROVAL_DOMAIN     "coffer/1 approval" /* + one NUL byte */
#define APPROVAL_DOMAIN_LEN 18                  /* with the NUL */
#define APPROVAL_HASH_BYTES 32
#define APPROVAL_SIG_BYTES  64
#define APPROVAL_COMMENT_MAX 500                /* bytes */

/* The immutable content of a change request (its canonical bytes). */
struct approval_request {
	const char *kind;          /* schema kind name, singular */
	int64_t record_id;
	int64_t base_version;      /* record version the request was made on */
	const char *op;            /* "update" or "delete" */
	const unsigned char *fields; /* det. CBOR {field: [old, new]} */
	size_t fields_len;
	const char *reason;
	int64_t requester_id;
	int64_t created, expires;  /* Unix seconds */
};

/*
 * hash = SHA-256 of the request's canonical bytes: the deterministic CBOR
 * map {base_version, created, expires, fields (byte string), kind, op,
 * reason, record_id, requester}.  COFFER_ERR_NOMEM / INVALID.
 */
int approval_request_hash(const struct approval_request *r,
    unsigned char hash[APPROVAL_HASH_BYTES]);

/*
 * The signed statement: "coffer/1 approval" NUL || deterministic CBOR of
 * {"approver": name, "comment": text, "decision": "approve" | "reject",
 * "hash": bstr 32, "request": id}.  *out is malloc'd, the caller frees.
 * COFFER_ERR_INVALID for a decision other than approve/reject or a comment
 * over APPROVAL_COMMENT_MAX.
 */
int approval_statement(uint64_t request_id,
    const unsigned char hash[APPROVAL_HASH_BYTES], const char *decision,
    const char *comment, const char *approver, unsigned char **out,
    size_t *outlen);

/* Detached Ed25519 signature of the statement with sk (64 bytes). */
int approval_sign(const unsigned char sk[64], uint64_t request_id,
    const unsigned char hash[APPROVAL_HASH_BYTES], const char *decision,
    const char *comment, const char *approver,
    unsigned char sig[APPROVAL_SIG_BYTES]);

/* COFFER_OK if sig is pk's signature of that statement, else CRYPTO. */
int approval_verify(const unsigned char pk[32], uint64_t request_id,
    const unsigned char hash[APPROVAL_HASH_BYTES], const char *decision,
    const char *comment, const char *approver,
    const unsigned char sig[APPROVAL_SIG_BYTES]);

#endif
