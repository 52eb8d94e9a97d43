/*
 * session.h - the authenticated, encrypted session between coffer and
 * cofferd (docs/protocol.md, "Handshake").  A SIGMA-I style signed
 * Diffie-Hellman, laid out like TLS 1.3's mutual-auth handshake: ephemeral
 * X25519 (crypto_kx), both identities sent encrypted, each side signing the
 * transcript hash with its Ed25519 identity key.  After it, each direction
 * has its own key and a 64-bit counter nonce; a replayed, reordered,
 * altered or truncated frame ends the session.
 *
 * The server side never sees the daemon's secret key: it gets a signing
 * callback, which is the narrow interface a privilege-separated key holder
 * will later serve.
 */
#ifndef COFFER_SESSION_H
#define COFFER_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define SESSION_PUBKEY_BYTES 32  /* Ed25519 public key */
#define SESSION_SECKEY_BYTES 64  /* Ed25519 secret key (libsodium layout) */
#define SESSION_SIG_BYTES    64
#define SESSION_ID_BYTES     16
#define SESSION_USER_MAX     64  /* longest user name, bytes, without NUL */

struct session;

/* Signs msg with the daemon identity key; returns COFFER_OK or an error. */
typedef int (*session_sign_fn)(void *arg, unsigned char sig[SESSION_SIG_BYTES],
    const unsigned char *msg, size_t len);

/*
 * Looks up a user's registered public key by name.  COFFER_ERR_NOT_FOUND
 * for an unknown or disabled user; the session still runs a dummy
 * verification so that timing does not tell the two cases apart.
 */
typedef int (*session_lookup_fn)(void *arg, const char *user,
    unsigned char pk[SESSION_PUBKEY_BYTES]);

/*
 * Decides whether the daemon's identity key is acceptable (first-use
 * pinning).  Return COFFER_OK to go on, COFFER_ERR_HOSTKEY to refuse.
 */
typedef int (*session_pin_fn)(void *arg,
    const unsigned char server_pk[SESSION_PUBKEY_BYTES]);

/*
 * Client side of the handshake on a connected stream fd.  user_sk is the
 * user's Ed25519 secret key (read only; the caller keeps and wipes it).
 * On success *out is a new session the caller frees with session_free.
 * COFFER_ERR_AUTH if the daemon refused us, COFFER_ERR_HOSTKEY if pin
 * refused, COFFER_ERR_CRYPTO if the daemon's proof was bad.
 */
int session_client(int fd, const char *user,
    const unsigned char user_sk[SESSION_SECKEY_BYTES],
    session_pin_fn pin, void *pin_arg, struct session **out);

struct idrot;
/*
 * Like session_pin_fn, also given the daemon's identity rotation
 * statements (idrot.h) from HS2, oldest first (rot NULL when it sent
 * none); unverified: the callback checks them against its pinned key.
 */
typedef int (*session_pin_rot_fn)(void *arg,
    const unsigned char server_pk[SESSION_PUBKEY_BYTES],
    const struct idrot *rot, size_t nrot);

/* session_client with a pin callback that also sees rotation statements. */
int session_client_rot(int fd, const char *user,
    const unsigned char user_sk[SESSION_SECKEY_BYTES],
    session_pin_rot_fn pin, void *pin_arg, struct session **out);

/*
 * Server side.  server_pk is the daemon's identity public key; sign makes
 * signatures with the matching secret key.  On COFFER_ERR_AUTH a generic
 * refusal has already been sent to the client; the caller applies the
 * back-off and closes the connection.
 */
int session_server(int fd, const unsigned char server_pk[SESSION_PUBKEY_BYTES],
    session_sign_fn sign, void *sign_arg, session_lookup_fn lookup,
    void *lookup_arg, struct session **out);
/* session_server that also sends rot[0..nrot) (nrot <= IDROT_MAX, the
 * vault's identity rotation statements) in HS2; nrot 0 is session_server. */
int session_server_rot(int fd,
    const unsigned char server_pk[SESSION_PUBKEY_BYTES],
    session_sign_fn sign, void *sign_arg, session_lookup_fn lookup,
    void *lookup_arg, const struct idrot *rot, size_t nrot,
    struct session **out);

/* Encrypt and send one message (at most FRAME_MAX - overhead bytes). */
int session_send(struct session *s, const unsigned char *msg, size_t len);

/*
 * Encrypt one message into a whole wire frame (length prefix included),
 * malloc'd into *frame for the caller to write and free: for a sender that
 * must not block (the daemon's deferred answers, server.c).  Takes the
 * next send counter, so frames must go out in the order they were sealed,
 * and only one thread may seal or send at a time; receiving on another
 * thread meanwhile is safe.
 */
int session_seal(struct session *s, const unsigned char *msg, size_t len,
    unsigned char **frame, size_t *framelen);

/*
 * Receive and decrypt one message into a malloc'd buffer the caller frees.
 * COFFER_ERR_EOF on a clean close, COFFER_ERR_CRYPTO on any tampering,
 * replay or reordering (the session is then dead: every later call fails).
 */
int session_recv(struct session *s, unsigned char **msg, size_t *len);

/*
 * Decrypt one frame's body (ct, ctlen bytes, as read off the wire without
 * its length prefix) into a malloc'd message: session_recv for a caller
 * that reads frames itself (the daemon's event loop).  Same errors, same
 * death of the session on any failure.
 */
int session_open(struct session *s, const unsigned char *ct, size_t ctlen,
    unsigned char **msg, size_t *len);

/* Authenticated user name (server side) or our own name (client side). */
const char *session_user(const struct session *s);
/* Random per-session id, for the audit log. */
const unsigned char *session_id(const struct session *s);
/* The peer's identity public key (server: the user's; client: daemon's). */
const unsigned char *session_peer_key(const struct session *s);
int session_fd(const struct session *s);

/* Wipes the keys and frees; does not close the fd.  NULL is allowed. */
void session_free(struct session *s);

#endif
