/*
 * session.c - the coffer/1 handshake (SIGMA-I signed Diffie-Hellman, laid
 * out like TLS 1.3 mutual authentication) and the encrypted record channel
 * that follows it.  Every byte layout here is specified in docs/protocol.md,
 * "Handshake", "Key schedule" and "Record protection".
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffer/cborcheck.h"
#include "coffer/err.h"
#include "coffer/frame.h"
#include "coffer/idrot.h"
#include "coffer/msg.h"
#include "coffer/session.h"
#include "session_kdf.h"

#define HS_VERSION      "coffer/1"
#define HS_SERVER_PROOF "coffer/1 server proof"
#define HS_CLIENT_PROOF "coffer/1 client proof"
#define HS_OK           "ok"
#define HS_DENIED       "denied"
#define HS_PROOF_MAX    (sizeof(HS_SERVER_PROOF) + SKDF_HASH_BYTES + \
                         SESSION_PUBKEY_BYTES)

/*
 * Ed25519 public key of the seed BLAKE2b-256("coffer/1 dummy user key").
 * Unknown users are verified against it so that a refusal costs the same
 * time whether the name or the key was wrong.  It is a valid point:
 * libsodium rejects malformed keys early, which would show in the timing.
 */
static const unsigned char dummy_user_pk[SESSION_PUBKEY_BYTES] = {
	0x65, 0x45, 0xc6, 0xb8, 0x91, 0x17, 0x92, 0x80,
	0x2b, 0x4b, 0xb7, 0xae, 0xfb, 0x58, 0x31, 0xd1,
	0x58, 0x9b, 0x67, 0x34, 0x86, 0xb3, 0x13, 0xe8,
	0xce, 0xbc, 0x0e, 0x7e, 0x1b, 0xa2, 0x24, 0x7d,
};

struct session_keys {
	unsigned char tx[SKDF_KEY_BYTES];
	unsigned char rx[SKDF_KEY_BYTES];
};

struct session {
	int fd;
	/* any failure: every call refuses.  Atomic: the daemon's reader and
	 * a deferred sender (session_seal) may be on two threads. */
	atomic_int dead;
	uint64_t tx_ctr;
	uint64_t rx_ctr;
	struct session_keys *keys;    /* sodium_malloc */
	char user[SESSION_USER_MAX + 1];
	unsigned char id[SESSION_ID_BYTES];
	unsigned char peer_pk[SESSION_PUBKEY_BYTES];
};

/* Handshake secrets; sodium_malloc'd, so sodium_free wipes them. */
struct hs_secrets {
	unsigned char e_sk[SKDF_KX_BYTES];
	unsigned char c2s[SKDF_KEY_BYTES];
	unsigned char s2c[SKDF_KEY_BYTES];
	unsigned char hs_c2s[SKDF_KEY_BYTES];
	unsigned char hs_s2c[SKDF_KEY_BYTES];
};

/* Everything one side keeps during the handshake. */
struct hs_ctx {
	int fd;
	int is_client;
	struct hs_secrets *sec;
	unsigned char e_pk[SKDF_KX_BYTES];
	unsigned char peer_e[SKDF_KX_BYTES];
	unsigned char th2[SKDF_HASH_BYTES];
	unsigned char *msg[4];        /* HS1..HS4 frame bodies, for hashing */
	size_t msglen[4];
	cbor_item_t *outer;           /* the last decoded frame */
	cbor_item_t *inner;           /* the last decrypted plaintext */
};

/* ---- key schedule and record protection (session_kdf.h) ---------------- */

int
session_kdf_kx(int is_client, const unsigned char own_pk[SKDF_KX_BYTES],
    const unsigned char own_sk[SKDF_KX_BYTES],
    const unsigned char peer_pk[SKDF_KX_BYTES],
    unsigned char c2s[SKDF_KEY_BYTES], unsigned char s2c[SKDF_KEY_BYTES])
{
	int r;

	if (is_client)
		r = crypto_kx_client_session_keys(s2c, c2s, own_pk, own_sk,
		    peer_pk);
	else
		r = crypto_kx_server_session_keys(c2s, s2c, own_pk, own_sk,
		    peer_pk);
	return r == 0 ? COFFER_OK : COFFER_ERR_CRYPTO;
}

void
session_kdf_derive(unsigned char out[SKDF_KEY_BYTES],
    const unsigned char secret[SKDF_KEY_BYTES], const char *label,
    const unsigned char th[SKDF_HASH_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, secret, SKDF_KEY_BYTES, SKDF_KEY_BYTES);
	/* The label's NUL is the separator. */
	crypto_generichash_update(&st, (const unsigned char *)label,
	    strlen(label) + 1);
	crypto_generichash_update(&st, th, SKDF_HASH_BYTES);
	crypto_generichash_final(&st, out, SKDF_KEY_BYTES);
	sodium_memzero(&st, sizeof(st));
}

void
session_kdf_nonce(unsigned char nonce[SKDF_NONCE_BYTES], uint64_t ctr)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (unsigned char)(ctr >> (8 * (7 - i)));
}

int
session_kdf_seal(unsigned char *out, const unsigned char *pt, size_t ptlen,
    const unsigned char *ad, size_t adlen,
    const unsigned char key[SKDF_KEY_BYTES], uint64_t ctr)
{
	unsigned char nonce[SKDF_NONCE_BYTES];

	session_kdf_nonce(nonce, ctr);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, ptlen, ad,
	    adlen, NULL, nonce, key);
	return COFFER_OK;
}

int
session_kdf_open(unsigned char *out, const unsigned char *ct, size_t ctlen,
    const unsigned char *ad, size_t adlen,
    const unsigned char key[SKDF_KEY_BYTES], uint64_t ctr)
{
	unsigned char nonce[SKDF_NONCE_BYTES];

	if (ctlen < SKDF_TAG_BYTES)
		return COFFER_ERR_CRYPTO;
	session_kdf_nonce(nonce, ctr);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct,
	    ctlen, ad, adlen, nonce, key) != 0) {
		sodium_memzero(out, ctlen - SKDF_TAG_BYTES);
		return COFFER_ERR_CRYPTO;
	}
	return COFFER_OK;
}

static void
record_ad(unsigned char ad[4], size_t ctlen)
{
	ad[0] = (unsigned char)(ctlen >> 24);
	ad[1] = (unsigned char)(ctlen >> 16);
	ad[2] = (unsigned char)(ctlen >> 8);
	ad[3] = (unsigned char)ctlen;
}

int
session_kdf_record_seal(unsigned char *out, const unsigned char *pt,
    size_t ptlen, const unsigned char key[SKDF_KEY_BYTES], uint64_t ctr)
{
	unsigned char ad[4];

	if (ptlen > FRAME_MAX - SKDF_TAG_BYTES)
		return COFFER_ERR_TOO_BIG;
	record_ad(ad, ptlen + SKDF_TAG_BYTES);
	return session_kdf_seal(out, pt, ptlen, ad, sizeof(ad), key, ctr);
}

int
session_kdf_record_open(unsigned char *out, const unsigned char *ct,
    size_t ctlen, const unsigned char key[SKDF_KEY_BYTES], uint64_t ctr)
{
	unsigned char ad[4];

	if (ctlen < SKDF_TAG_BYTES || ctlen > FRAME_MAX)
		return COFFER_ERR_CRYPTO;
	record_ad(ad, ctlen);
	return session_kdf_open(out, ct, ctlen, ad, sizeof(ad), key, ctr);
}

/* ---- handshake plumbing ------------------------------------------------- */

static int
hs_ctx_init(struct hs_ctx *c, int fd, int is_client)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->is_client = is_client;
	if (sodium_init() < 0)
		return COFFER_ERR_INTERNAL;
	if ((c->sec = sodium_malloc(sizeof(*c->sec))) == NULL)
		return COFFER_ERR_NOMEM;
	crypto_kx_keypair(c->e_pk, c->sec->e_sk);
	return COFFER_OK;
}

static void
hs_drop_items(struct hs_ctx *c)
{
	if (c->outer != NULL)
		cbor_decref(&c->outer);
	if (c->inner != NULL)
		cbor_decref(&c->inner);
}

static void
hs_ctx_free(struct hs_ctx *c)
{
	size_t i;

	hs_drop_items(c);
	for (i = 0; i < 4; i++)
		free(c->msg[i]);
	if (c->sec != NULL)
		sodium_free(c->sec);
	sodium_memzero(c, sizeof(*c));
}

/* Encode item, send it as handshake message idx and keep its bytes. */
static int
hs_send(struct hs_ctx *c, size_t idx, cbor_item_t *item)
{
	int r;

	if (item == NULL)
		return COFFER_ERR_NOMEM;
	r = msg_encode(item, &c->msg[idx], &c->msglen[idx]);
	cbor_decref(&item);
	if (r != COFFER_OK)
		return r;
	return frame_write(c->fd, c->msg[idx], c->msglen[idx]);
}

/* Receive handshake message idx, keep its bytes and decode it. */
static int
hs_recv(struct hs_ctx *c, size_t idx)
{
	int r;

	hs_drop_items(c);
	r = frame_read(c->fd, FRAME_HANDSHAKE_MAX, &c->msg[idx],
	    &c->msglen[idx]);
	if (r != COFFER_OK)
		return r;
	return msg_decode(c->msg[idx], c->msglen[idx], &c->outer);
}

/* Element i of an array that must have exactly n elements, else NULL. */
static const cbor_item_t *
arr_at(const cbor_item_t *a, size_t n, size_t i)
{
	if (a == NULL || !cbor_isa_array(a) || cbor_array_size(a) != n)
		return NULL;
	return cbor_array_handle(a)[i];
}

/* Contents of a byte string of exactly want bytes (any if want is 0). */
static const unsigned char *
bstr_of(const cbor_item_t *it, size_t want, size_t *len)
{
	if (it == NULL || !cbor_isa_bytestring(it) ||
	    !cbor_bytestring_is_definite(it))
		return NULL;
	if (want != 0 && cbor_bytestring_length(it) != want)
		return NULL;
	if (len != NULL)
		*len = cbor_bytestring_length(it);
	return cbor_bytestring_handle(it);
}

/* A two-element array [a, b]; takes both references. */
static cbor_item_t *
arr2(cbor_item_t *a, cbor_item_t *b)
{
	cbor_item_t *arr = msg_new_array();

	if (arr == NULL)
		goto fail;
	if (msg_push(arr, a) != COFFER_OK) {
		a = NULL;	/* msg_push released it */
		goto fail;
	}
	a = NULL;
	if (msg_push(arr, b) != COFFER_OK) {
		b = NULL;
		goto fail;
	}
	return arr;
fail:
	if (a != NULL)
		cbor_decref(&a);
	if (b != NULL)
		cbor_decref(&b);
	if (arr != NULL)
		cbor_decref(&arr);
	return NULL;
}

/* A one-element array [a]; takes the reference. */
static cbor_item_t *
arr1(cbor_item_t *a)
{
	cbor_item_t *arr = msg_new_array();

	if (arr == NULL) {
		if (a != NULL)
			cbor_decref(&a);
		return NULL;
	}
	if (msg_push(arr, a) != COFFER_OK)
		cbor_decref(&arr);
	return arr;
}

/* Seal the encoding of item (reference taken) under key with nonce ctr. */
static cbor_item_t *
hs_sealed_bstr(cbor_item_t *item, const unsigned char *key, uint64_t ctr)
{
	unsigned char *pt = NULL, *ct = NULL;
	cbor_item_t *res = NULL;
	size_t ptlen = 0;

	if (item == NULL)
		return NULL;
	if (msg_encode(item, &pt, &ptlen) != COFFER_OK)
		goto out;
	if ((ct = malloc(ptlen + SKDF_TAG_BYTES)) == NULL)
		goto out;
	session_kdf_seal(ct, pt, ptlen, NULL, 0, key, ctr);
	res = msg_new_bytes(ct, ptlen + SKDF_TAG_BYTES);
out:
	if (pt != NULL)
		sodium_memzero(pt, ptlen);
	free(pt);
	free(ct);
	cbor_decref(&item);
	return res;
}

/* Open a sealed byte string item into c->inner. */
static int
hs_open_bstr(struct hs_ctx *c, const cbor_item_t *it,
    const unsigned char *key, uint64_t ctr)
{
	const unsigned char *ct;
	unsigned char *pt = NULL;
	size_t ctlen = 0;
	int r;

	if ((ct = bstr_of(it, 0, &ctlen)) == NULL)
		return COFFER_ERR_PROTO;
	if (ctlen < SKDF_TAG_BYTES)
		return COFFER_ERR_CRYPTO;
	if ((pt = malloc(ctlen - SKDF_TAG_BYTES + 1)) == NULL)
		return COFFER_ERR_NOMEM;
	r = session_kdf_open(pt, ct, ctlen, NULL, 0, key, ctr);
	if (r == COFFER_OK)
		r = msg_decode(pt, ctlen - SKDF_TAG_BYTES, &c->inner);
	sodium_memzero(pt, ctlen - SKDF_TAG_BYTES);
	free(pt);
	return r;
}

/* BLAKE2b-256 over the concatenation of n byte strings. */
static void
hs_hash(unsigned char out[SKDF_HASH_BYTES], const unsigned char *const *p,
    const size_t *len, size_t n)
{
	crypto_generichash_state st;
	size_t i;

	crypto_generichash_init(&st, NULL, 0, SKDF_HASH_BYTES);
	for (i = 0; i < n; i++)
		crypto_generichash_update(&st, p[i], len[i]);
	crypto_generichash_final(&st, out, SKDF_HASH_BYTES);
}

/*
 * After both ephemerals are known: the kx secrets, TH2 = H(HS1 || e_s)
 * and the two handshake keys.
 */
static int
hs_handshake_keys(struct hs_ctx *c)
{
	const unsigned char *e_s = c->is_client ? c->peer_e : c->e_pk;
	const unsigned char *parts[2] = { c->msg[0], e_s };
	size_t lens[2] = { c->msglen[0], SKDF_KX_BYTES };
	int r;

	r = session_kdf_kx(c->is_client, c->e_pk, c->sec->e_sk, c->peer_e,
	    c->sec->c2s, c->sec->s2c);
	sodium_memzero(c->sec->e_sk, sizeof(c->sec->e_sk));
	if (r != COFFER_OK)
		return r;
	hs_hash(c->th2, parts, lens, 2);
	session_kdf_derive(c->sec->hs_c2s, c->sec->c2s, SKDF_LABEL_HS_C2S,
	    c->th2);
	session_kdf_derive(c->sec->hs_s2c, c->sec->s2c, SKDF_LABEL_HS_S2C,
	    c->th2);
	return COFFER_OK;
}

/* The CBOR text string encoding of a user name (at most 64 bytes). */
static size_t
user_tstr(unsigned char *buf, const char *user, size_t n)
{
	size_t h = 0;

	if (n < 24) {
		buf[h++] = (unsigned char)(0x60 | n);
	} else {
		buf[h++] = 0x78;
		buf[h++] = (unsigned char)n;
	}
	memcpy(buf + h, user, n);
	return h + n;
}

/* TH3 = H(HS1 || HS2 || tstr(user)). */
static void
hs_th3(const struct hs_ctx *c, const char *user, size_t ulen,
    unsigned char th3[SKDF_HASH_BYTES])
{
	unsigned char ut[2 + SESSION_USER_MAX];
	const unsigned char *parts[3] = { c->msg[0], c->msg[1], ut };
	size_t lens[3] = { c->msglen[0], c->msglen[1], 0 };

	lens[2] = user_tstr(ut, user, ulen);
	hs_hash(th3, parts, lens, 3);
}

/* proof = context || 0x00 || th || identity key. */
static size_t
hs_proof(unsigned char buf[HS_PROOF_MAX], const char *context,
    const unsigned char th[SKDF_HASH_BYTES],
    const unsigned char pk[SESSION_PUBKEY_BYTES])
{
	size_t n = strlen(context) + 1;

	memcpy(buf, context, n);
	memcpy(buf + n, th, SKDF_HASH_BYTES);
	memcpy(buf + n + SKDF_HASH_BYTES, pk, SESSION_PUBKEY_BYTES);
	return n + SKDF_HASH_BYTES + SESSION_PUBKEY_BYTES;
}

/* TH4 over all four messages, then one application key per direction. */
static void
hs_app_keys(const struct hs_ctx *c, struct session_keys *k)
{
	unsigned char th4[SKDF_HASH_BYTES];
	const unsigned char *parts[4] = { c->msg[0], c->msg[1], c->msg[2],
	    c->msg[3] };

	hs_hash(th4, parts, c->msglen, 4);
	session_kdf_derive(c->is_client ? k->tx : k->rx, c->sec->c2s,
	    SKDF_LABEL_APP_C2S, th4);
	session_kdf_derive(c->is_client ? k->rx : k->tx, c->sec->s2c,
	    SKDF_LABEL_APP_S2C, th4);
}

/* 1..64 bytes of UTF-8 without NUL, so the daemon's validator takes it. */
static int
user_name_ok(const char *user, size_t n)
{
	unsigned char ut[2 + SESSION_USER_MAX];

	if (n == 0 || n > SESSION_USER_MAX || memchr(user, '\0', n) != NULL)
		return 0;
	return cborcheck_validate(ut, user_tstr(ut, user, n),
	    &cborcheck_wire_limits, NULL) == COFFER_OK;
}

static int
session_new(int fd, struct session **out)
{
	struct session *s = NULL;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return COFFER_ERR_NOMEM;
	if ((s->keys = sodium_malloc(sizeof(*s->keys))) == NULL) {
		free(s);
		return COFFER_ERR_NOMEM;
	}
	s->fd = fd;
	*out = s;
	return COFFER_OK;
}

/* ---- client ------------------------------------------------------------- */

/* HS1: ["coffer/1", e_c]. */
static int
cli_send_hs1(struct hs_ctx *c)
{
	return hs_send(c, 0, arr2(msg_new_str(HS_VERSION),
	    msg_new_bytes(c->e_pk, SKDF_KX_BYTES)));
}

/* HS2's optional third element: [1*16 bstr .size 140], statements. */
static int
hs_rotations(const cbor_item_t *a, struct idrot *rot, size_t *n)
{
	const unsigned char *b;
	size_t i, k;

	*n = 0;
	if (a == NULL || !cbor_isa_array(a) || !cbor_array_is_definite(a) ||
	    (k = cbor_array_size(a)) == 0 || k > IDROT_MAX)
		return COFFER_ERR_PROTO;
	for (i = 0; i < k; i++) {
		if ((b = bstr_of(cbor_array_handle(a)[i], IDROT_BYTES, NULL)) ==
		    NULL)
			return COFFER_ERR_PROTO;
		idrot_decode(b, &rot[i]);
	}
	*n = k;
	return COFFER_OK;
}

/* HS2: [e_s, enc_s]; checks the daemon's proof and asks the pin. */
static int
cli_recv_hs2(struct hs_ctx *c, unsigned char server_pk[SESSION_PUBKEY_BYTES],
    session_pin_rot_fn pin, void *pin_arg)
{
	unsigned char proof[HS_PROOF_MAX];
	const unsigned char *e_s, *pk, *sig;
	struct idrot rot[IDROT_MAX];
	size_t plen, n = 2, nrot = 0;
	int r;

	if ((r = hs_recv(c, 1)) != COFFER_OK)
		return r;
	if ((e_s = bstr_of(arr_at(c->outer, 2, 0), SKDF_KX_BYTES, NULL)) ==
	    NULL)
		return COFFER_ERR_PROTO;
	memcpy(c->peer_e, e_s, SKDF_KX_BYTES);
	if ((r = hs_handshake_keys(c)) != COFFER_OK)
		return r;
	r = hs_open_bstr(c, arr_at(c->outer, 2, 1), c->sec->hs_s2c, 0);
	if (r != COFFER_OK)
		return r;
	/* [server_pk, sig_s] or, after identity rotations, [.., rotations] */
	if (c->inner != NULL && cbor_isa_array(c->inner) &&
	    cbor_array_size(c->inner) == 3)
		n = 3;
	pk = bstr_of(arr_at(c->inner, n, 0), SESSION_PUBKEY_BYTES, NULL);
	sig = bstr_of(arr_at(c->inner, n, 1), SESSION_SIG_BYTES, NULL);
	if (pk == NULL || sig == NULL || (n == 3 &&
	    hs_rotations(arr_at(c->inner, n, 2), rot, &nrot) != COFFER_OK))
		return COFFER_ERR_PROTO;
	plen = hs_proof(proof, HS_SERVER_PROOF, c->th2, pk);
	if (crypto_sign_verify_detached(sig, proof, plen, pk) != 0)
		return COFFER_ERR_CRYPTO;
	memcpy(server_pk, pk, SESSION_PUBKEY_BYTES);
	/* Only a daemon that proved it holds the key is shown to the pin. */
	return pin(pin_arg, server_pk, nrot ? rot : NULL, nrot);
}

/* HS3: [enc_c], enc_c sealing [user, sig_c]. */
static int
cli_send_hs3(struct hs_ctx *c, const char *user,
    const unsigned char user_sk[SESSION_SECKEY_BYTES])
{
	unsigned char th3[SKDF_HASH_BYTES], proof[HS_PROOF_MAX];
	unsigned char sig[SESSION_SIG_BYTES];
	size_t plen;

	hs_th3(c, user, strlen(user), th3);
	/* libsodium's secret key is seed || public key. */
	plen = hs_proof(proof, HS_CLIENT_PROOF, th3, user_sk + 32);
	crypto_sign_detached(sig, NULL, proof, plen, user_sk);
	return hs_send(c, 2, arr1(hs_sealed_bstr(arr2(msg_new_str(user),
	    msg_new_bytes(sig, sizeof(sig))), c->sec->hs_c2s, 0)));
}

/* HS4: [enc_f], enc_f sealing ["ok", session_id] or ["denied"]. */
static int
cli_recv_hs4(struct hs_ctx *c, unsigned char id[SESSION_ID_BYTES])
{
	const cbor_item_t *word;
	const unsigned char *sid;
	char w[8];
	int r;

	if ((r = hs_recv(c, 3)) != COFFER_OK)
		return r;
	if ((r = hs_open_bstr(c, arr_at(c->outer, 1, 0), c->sec->hs_s2c, 1)) !=
	    COFFER_OK)
		return r;
	if (!cbor_isa_array(c->inner) || cbor_array_size(c->inner) < 1)
		return COFFER_ERR_PROTO;
	word = cbor_array_handle(c->inner)[0];
	if (msg_item_str(word, w, sizeof(w)) != COFFER_OK)
		return COFFER_ERR_PROTO;
	if (strcmp(w, HS_DENIED) == 0 && cbor_array_size(c->inner) == 1)
		return COFFER_ERR_AUTH;
	if (strcmp(w, HS_OK) != 0)
		return COFFER_ERR_PROTO;
	sid = bstr_of(arr_at(c->inner, 2, 1), SESSION_ID_BYTES, NULL);
	if (sid == NULL)
		return COFFER_ERR_PROTO;
	memcpy(id, sid, SESSION_ID_BYTES);
	return COFFER_OK;
}

struct pin_plain {
	session_pin_fn pin;
	void *arg;
};

/* A caller that does not follow rotations sees only the key. */
static int
pin_plain(void *arg, const unsigned char server_pk[SESSION_PUBKEY_BYTES],
    const struct idrot *rot, size_t nrot)
{
	const struct pin_plain *p = arg;

	(void)rot;
	(void)nrot;
	return p->pin(p->arg, server_pk);
}

int
session_client(int fd, const char *user,
    const unsigned char user_sk[SESSION_SECKEY_BYTES],
    session_pin_fn pin, void *pin_arg, struct session **out)
{
	struct pin_plain p = { pin, pin_arg };

	if (pin == NULL) {
		*out = NULL;
		return COFFER_ERR_USAGE;
	}
	return session_client_rot(fd, user, user_sk, pin_plain, &p, out);
}

int
session_client_rot(int fd, const char *user,
    const unsigned char user_sk[SESSION_SECKEY_BYTES],
    session_pin_rot_fn pin, void *pin_arg, struct session **out)
{
	struct hs_ctx c;
	struct session *s = NULL;
	int r;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	if (user == NULL || user_sk == NULL || pin == NULL ||
	    !user_name_ok(user, strlen(user)))
		return COFFER_ERR_USAGE;
	if ((r = hs_ctx_init(&c, fd, 1)) != COFFER_OK)
		goto out;
	if ((r = session_new(fd, &s)) != COFFER_OK)
		goto out;
	if ((r = cli_send_hs1(&c)) != COFFER_OK ||
	    (r = cli_recv_hs2(&c, s->peer_pk, pin, pin_arg)) != COFFER_OK ||
	    (r = cli_send_hs3(&c, user, user_sk)) != COFFER_OK ||
	    (r = cli_recv_hs4(&c, s->id)) != COFFER_OK)
		goto out;
	hs_app_keys(&c, s->keys);
	memcpy(s->user, user, strlen(user) + 1);
	*out = s;
	s = NULL;	/* transferred */
out:
	hs_ctx_free(&c);
	session_free(s);
	return r;
}

/* ---- server ------------------------------------------------------------- */

/* HS1: ["coffer/1", e_c]; anything else is not our protocol. */
static int
srv_recv_hs1(struct hs_ctx *c)
{
	const unsigned char *e_c;
	char ver[16];
	int r;

	if ((r = hs_recv(c, 0)) != COFFER_OK)
		return r;
	if (msg_item_str(arr_at(c->outer, 2, 0), ver, sizeof(ver)) !=
	    COFFER_OK || strcmp(ver, HS_VERSION) != 0)
		return COFFER_ERR_PROTO;
	if ((e_c = bstr_of(arr_at(c->outer, 2, 1), SKDF_KX_BYTES, NULL)) ==
	    NULL)
		return COFFER_ERR_PROTO;
	memcpy(c->peer_e, e_c, SKDF_KX_BYTES);
	return hs_handshake_keys(c);
}

/* [1*16 bstr .size 140]: the statements, oldest first; NULL on failure. */
static cbor_item_t *
rotations_item(const struct idrot *rot, size_t nrot)
{
	unsigned char b[IDROT_BYTES];
	cbor_item_t *a = msg_new_array();
	size_t i;

	for (i = 0; a != NULL && i < nrot; i++) {
		idrot_encode(&rot[i], b);
		if (msg_push(a, msg_new_bytes(b, sizeof(b))) != COFFER_OK)
			cbor_decref(&a);
	}
	return a;
}

/* HS2: [e_s, enc_s], enc_s sealing [server_pk, sig_s] or, after identity
 * rotations, [server_pk, sig_s, rotations]. */
static int
srv_send_hs2(struct hs_ctx *c, const unsigned char *server_pk,
    session_sign_fn sign, void *sign_arg, const struct idrot *rot,
    size_t nrot)
{
	unsigned char proof[HS_PROOF_MAX], sig[SESSION_SIG_BYTES];
	cbor_item_t *inner;
	size_t plen;
	int r;

	plen = hs_proof(proof, HS_SERVER_PROOF, c->th2, server_pk);
	if ((r = sign(sign_arg, sig, proof, plen)) != COFFER_OK)
		return r;
	inner = arr2(msg_new_bytes(server_pk, SESSION_PUBKEY_BYTES),
	    msg_new_bytes(sig, sizeof(sig)));
	if (inner != NULL && nrot > 0 &&
	    msg_push(inner, rotations_item(rot, nrot)) != COFFER_OK)
		cbor_decref(&inner);
	return hs_send(c, 1, arr2(msg_new_bytes(c->e_pk, SKDF_KX_BYTES),
	    hs_sealed_bstr(inner, c->sec->hs_s2c, 0)));
}

/*
 * HS3: open it and check the user's proof.  *ok is set only when the user
 * exists and the signature verifies; an unknown user takes the same path
 * against the dummy key.
 */
static int
srv_recv_hs3(struct hs_ctx *c, session_lookup_fn lookup, void *lookup_arg,
    struct session *s, int *ok)
{
	unsigned char th3[SKDF_HASH_BYTES], proof[HS_PROOF_MAX];
	unsigned char pk[SESSION_PUBKEY_BYTES];
	const unsigned char *sig;
	size_t plen;
	int r, known;

	*ok = 0;
	if ((r = hs_recv(c, 2)) != COFFER_OK)
		return r;
	if ((r = hs_open_bstr(c, arr_at(c->outer, 1, 0), c->sec->hs_c2s, 0)) !=
	    COFFER_OK)
		return r;
	if (msg_item_str(arr_at(c->inner, 2, 0), s->user, sizeof(s->user)) !=
	    COFFER_OK || !user_name_ok(s->user, strlen(s->user)))
		return COFFER_ERR_PROTO;
	if ((sig = bstr_of(arr_at(c->inner, 2, 1), SESSION_SIG_BYTES, NULL)) ==
	    NULL)
		return COFFER_ERR_PROTO;
	r = lookup(lookup_arg, s->user, pk);
	if (r != COFFER_OK && r != COFFER_ERR_NOT_FOUND)
		return r;
	known = r == COFFER_OK;
	if (!known)
		memcpy(pk, dummy_user_pk, sizeof(pk));
	hs_th3(c, s->user, strlen(s->user), th3);
	plen = hs_proof(proof, HS_CLIENT_PROOF, th3, pk);
	if (crypto_sign_verify_detached(sig, proof, plen, pk) == 0 && known)
		*ok = 1;
	memcpy(s->peer_pk, pk, sizeof(pk));
	return COFFER_OK;
}

/* HS4: [enc_f]; the refusal is the same whatever was wrong. */
static int
srv_send_hs4(struct hs_ctx *c, int ok, struct session *s)
{
	cbor_item_t *inner;

	if (ok) {
		randombytes_buf(s->id, sizeof(s->id));
		inner = arr2(msg_new_str(HS_OK),
		    msg_new_bytes(s->id, sizeof(s->id)));
	} else {
		inner = arr1(msg_new_str(HS_DENIED));
	}
	return hs_send(c, 3, arr1(hs_sealed_bstr(inner, c->sec->hs_s2c, 1)));
}

int
session_server(int fd, const unsigned char server_pk[SESSION_PUBKEY_BYTES],
    session_sign_fn sign, void *sign_arg, session_lookup_fn lookup,
    void *lookup_arg, struct session **out)
{
	return session_server_rot(fd, server_pk, sign, sign_arg, lookup,
	    lookup_arg, NULL, 0, out);
}

int
session_server_rot(int fd,
    const unsigned char server_pk[SESSION_PUBKEY_BYTES],
    session_sign_fn sign, void *sign_arg, session_lookup_fn lookup,
    void *lookup_arg, const struct idrot *rot, size_t nrot,
    struct session **out)
{
	struct hs_ctx c;
	struct session *s = NULL;
	int r, ok = 0;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	if (server_pk == NULL || sign == NULL || lookup == NULL ||
	    nrot > IDROT_MAX || (nrot > 0 && rot == NULL))
		return COFFER_ERR_USAGE;
	if ((r = hs_ctx_init(&c, fd, 0)) != COFFER_OK)
		goto out;
	if ((r = session_new(fd, &s)) != COFFER_OK)
		goto out;
	if ((r = srv_recv_hs1(&c)) != COFFER_OK ||
	    (r = srv_send_hs2(&c, server_pk, sign, sign_arg, rot, nrot)) !=
	    COFFER_OK ||
	    (r = srv_recv_hs3(&c, lookup, lookup_arg, s, &ok)) != COFFER_OK ||
	    (r = srv_send_hs4(&c, ok, s)) != COFFER_OK)
		goto out;
	if (!ok) {
		r = COFFER_ERR_AUTH;
		goto out;
	}
	hs_app_keys(&c, s->keys);
	*out = s;
	s = NULL;	/* transferred */
out:
	hs_ctx_free(&c);
	session_free(s);
	return r;
}

/* ---- records ------------------------------------------------------------ */

/*
 * A failure leaves the stream in an unknown state: refuse from now on, and
 * wipe the key of the direction that failed.  The other direction's key
 * stays until session_free, because a sender on another thread may be
 * using it right now; it checks dead before its next use.
 */
static int
session_kill(struct session *s, int status, unsigned char *key)
{
	atomic_store(&s->dead, 1);
	sodium_memzero(key, SKDF_KEY_BYTES);
	return status;
}

int
session_seal(struct session *s, const unsigned char *msg, size_t len,
    unsigned char **frame, size_t *framelen)
{
	unsigned char *f = NULL;
	int r;

	*frame = NULL;
	*framelen = 0;
	if (s == NULL || atomic_load(&s->dead))
		return COFFER_ERR_CRYPTO;
	/* Too big is the caller's mistake and seals nothing: not fatal. */
	if (len > FRAME_MAX - SKDF_TAG_BYTES)
		return COFFER_ERR_TOO_BIG;
	if (msg == NULL && len > 0)
		return COFFER_ERR_USAGE;
	if (s->tx_ctr == UINT64_MAX)
		return session_kill(s, COFFER_ERR_CRYPTO, s->keys->tx);
	if ((f = malloc(FRAME_HEADER_BYTES + len + SKDF_TAG_BYTES)) == NULL)
		return COFFER_ERR_NOMEM;
	frame_header_put(f, len + SKDF_TAG_BYTES);
	r = session_kdf_record_seal(f + FRAME_HEADER_BYTES, msg, len,
	    s->keys->tx, s->tx_ctr++);
	if (r != COFFER_OK) {
		free(f);
		return session_kill(s, r, s->keys->tx);
	}
	*frame = f;
	*framelen = FRAME_HEADER_BYTES + len + SKDF_TAG_BYTES;
	return COFFER_OK;
}

int
session_send(struct session *s, const unsigned char *msg, size_t len)
{
	unsigned char *f = NULL;
	size_t flen = 0;
	int r;

	if ((r = session_seal(s, msg, len, &f, &flen)) != COFFER_OK)
		return r;
	/* One write for header and body: the peer wakes once. */
	r = frame_write_raw(s->fd, f, flen);
	free(f);
	return r == COFFER_OK ? r : session_kill(s, r, s->keys->tx);
}

int
session_open(struct session *s, const unsigned char *ct, size_t ctlen,
    unsigned char **msg, size_t *len)
{
	unsigned char *pt = NULL;
	int r;

	*msg = NULL;
	*len = 0;
	if (s == NULL || atomic_load(&s->dead))
		return COFFER_ERR_CRYPTO;
	r = COFFER_ERR_CRYPTO;
	if (s->rx_ctr == UINT64_MAX || ctlen < SKDF_TAG_BYTES)
		goto out;
	r = COFFER_ERR_NOMEM;
	if ((pt = malloc(ctlen - SKDF_TAG_BYTES + 1)) == NULL)
		goto out;
	r = session_kdf_record_open(pt, ct, ctlen, s->keys->rx, s->rx_ctr++);
	if (r != COFFER_OK)
		goto out;
	*msg = pt;
	*len = ctlen - SKDF_TAG_BYTES;
	pt = NULL;	/* transferred */
out:
	free(pt);
	return r == COFFER_OK ? r : session_kill(s, r, s->keys->rx);
}

int
session_recv(struct session *s, unsigned char **msg, size_t *len)
{
	unsigned char *ct = NULL;
	size_t ctlen = 0;
	int r;

	*msg = NULL;
	*len = 0;
	if (s == NULL || atomic_load(&s->dead))
		return COFFER_ERR_CRYPTO;
	if ((r = frame_read(s->fd, FRAME_MAX, &ct, &ctlen)) != COFFER_OK)
		return session_kill(s, r, s->keys->rx);
	r = session_open(s, ct, ctlen, msg, len);
	free(ct);
	return r;
}

const char *
session_user(const struct session *s)
{
	return s->user;
}

const unsigned char *
session_id(const struct session *s)
{
	return s->id;
}

const unsigned char *
session_peer_key(const struct session *s)
{
	return s->peer_pk;
}

int
session_fd(const struct session *s)
{
	return s->fd;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	if (s->keys != NULL)
		sodium_free(s->keys);
	sodium_memzero(s, sizeof(*s));
	free(s);
}
