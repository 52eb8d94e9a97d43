/*
 * approval.c - canonical bytes of a change request and the approval
 * statement signed by an approver's own key (approval.h,
 * docs/requests.md §4).  Encoding goes through msg.c's deterministic CBOR.
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "coffer/approval.h"
#include "coffer/err.h"
#include "coffer/msg.h"

int
approval_request_hash(const struct approval_request *r,
    unsigned char hash[APPROVAL_HASH_BYTES])
{
	cbor_item_t *m = msg_new_map();
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = COFFER_ERR_NOMEM;

	if (r->kind == NULL || r->op == NULL || r->reason == NULL ||
	    r->fields == NULL) {
		rc = COFFER_ERR_INVALID;
		goto out;
	}
	if (m == NULL ||
	    msg_put_int(m, "base_version", r->base_version) != COFFER_OK ||
	    msg_put_int(m, "created", r->created) != COFFER_OK ||
	    msg_put_int(m, "expires", r->expires) != COFFER_OK ||
	    msg_put_bytes(m, "fields", r->fields, r->fields_len) != COFFER_OK ||
	    msg_put_str(m, "kind", r->kind) != COFFER_OK ||
	    msg_put_str(m, "op", r->op) != COFFER_OK ||
	    msg_put_str(m, "reason", r->reason) != COFFER_OK ||
	    msg_put_int(m, "record_id", r->record_id) != COFFER_OK ||
	    msg_put_int(m, "requester", r->requester_id) != COFFER_OK)
		goto out;
	if ((rc = msg_encode(m, &buf, &len)) != COFFER_OK)
		goto out;
	crypto_hash_sha256(hash, buf, len);
out:
	free(buf);
	if (m != NULL)
		cbor_decref(&m);
	return rc;
}

int
approval_statement(uint64_t request_id,
    const unsigned char hash[APPROVAL_HASH_BYTES], const char *decision,
    const char *comment, const char *approver, unsigned char **out,
    size_t *outlen)
{
	cbor_item_t *m = NULL;
	unsigned char *body = NULL, *st = NULL;
	size_t blen = 0;
	int rc = COFFER_ERR_INVALID;

	*out = NULL;
	*outlen = 0;
	if (decision == NULL || (strcmp(decision, "approve") != 0 &&
	    strcmp(decision, "reject") != 0) || comment == NULL ||
	    strlen(comment) > APPROVAL_COMMENT_MAX || approver == NULL)
		return rc;
	rc = COFFER_ERR_NOMEM;
	if ((m = msg_new_map()) == NULL ||
	    msg_put_str(m, "approver", approver) != COFFER_OK ||
	    msg_put_str(m, "comment", comment) != COFFER_OK ||
	    msg_put_str(m, "decision", decision) != COFFER_OK ||
	    msg_put_bytes(m, "hash", hash, APPROVAL_HASH_BYTES) != COFFER_OK ||
	    msg_put_uint(m, "request", request_id) != COFFER_OK)
		goto out;
	if ((rc = msg_encode(m, &body, &blen)) != COFFER_OK)
		goto out;
	rc = COFFER_ERR_NOMEM;
	if ((st = malloc(APPROVAL_DOMAIN_LEN + blen)) == NULL)
		goto out;
	/* the domain string with its terminating NUL, then the map */
	memcpy(st, APPROVAL_DOMAIN, APPROVAL_DOMAIN_LEN);
	memcpy(st + APPROVAL_DOMAIN_LEN, body, blen);
	*out = st;
	*outlen = APPROVAL_DOMAIN_LEN + blen;
	rc = COFFER_OK;
out:
	free(body);
	if (m != NULL)
		cbor_decref(&m);
	return rc;
}

int
approval_sign(const unsigned char sk[64], uint64_t request_id,
    const unsigned char hash[APPROVAL_HASH_BYTES], const char *decision,
    const char *comment, const char *approver,
    unsigned char sig[APPROVAL_SIG_BYTES])
{
	unsigned char *st = NULL;
	size_t len = 0;
	int rc;

	if ((rc = approval_statement(request_id, hash, decision, comment,
	    approver, &st, &len)) != COFFER_OK)
		return rc;
	if (crypto_sign_ed25519_detached(sig, NULL, st, len, sk) != 0)
		rc = COFFER_ERR_CRYPTO;
	free(st);
	return rc;
}

int
approval_verify(const unsigned char pk[32], uint64_t request_id,
    const unsigned char hash[APPROVAL_HASH_BYTES], const char *decision,
    const char *comment, const char *approver,
    const unsigned char sig[APPROVAL_SIG_BYTES])
{
	unsigned char *st = NULL;
	size_t len = 0;
	int rc;

	if ((rc = approval_statement(request_id, hash, decision, comment,
	    approver, &st, &len)) != COFFER_OK)
		return rc == COFFER_ERR_INVALID ? COFFER_ERR_CRYPTO : rc;
	rc = crypto_sign_ed25519_verify_detached(sig, st, len, pk) == 0 ?
	    COFFER_OK : COFFER_ERR_CRYPTO;
	free(st);
	return rc;
}
