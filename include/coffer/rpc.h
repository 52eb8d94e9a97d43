/*
 * rpc.h - the client end of a Coffer connection: connect to the daemon's
 * Unix socket or TCP port, run the handshake with first-use pinning of the
 * daemon key (knownhosts.h), then send requests and read their responses
 * (docs/protocol-ops.md, request/response envelope).
 *
 * Nothing here prints: what happened with the pin, and the daemon's error
 * details, are handed back to the caller to word.
 */
#ifndef COFFER_RPC_H
#define COFFER_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <cbor.h>
#include "coffer/knownhosts.h"
#include "coffer/session.h"

struct rpc;

struct rpc_target {
	const char *socket_path;  /* used when hostport is NULL */
	const char *hostport;     /* "HOST:PORT", "[v6]:PORT" */
	const char *known_hosts;  /* pin file */
	int timeout_sec;          /* send/receive timeout; 0 = none */
};

/* What happened to the daemon key during the handshake. */
enum rpc_pin_state {
	RPC_PIN_NONE,      /* handshake did not get that far */
	RPC_PIN_KNOWN,     /* matched a pinned key */
	RPC_PIN_NEW,       /* first use: accepted and saved */
	RPC_PIN_NEW_UNSAVED, /* first use: accepted, saving failed (save_rc) */
	RPC_PIN_MISMATCH,  /* pinned to another key (or damaged line): refused */
	RPC_PIN_BADFILE,   /* pin file unreadable/unsafe (save_rc): refused */
	/* pinned to an earlier key of the daemon whose rotation statements
	 * lead to the key shown: accepted, pin replaced (save_rc says if the
	 * file could be rewritten); rotated_at, rotations say when, how many */
	RPC_PIN_ROTATED
};

struct rpc_pin {
	enum rpc_pin_state state;
	char endpoint[KH_ENDPOINT_MAX];
	unsigned char key[SESSION_PUBKEY_BYTES];  /* the daemon's key */
	size_t line;        /* RPC_PIN_MISMATCH: line in the pin file */
	int save_rc;        /* status of the failed file operation */
	uint64_t rotated_at; /* RPC_PIN_ROTATED: unix time of the last step */
	size_t rotations;    /* RPC_PIN_ROTATED: steps from the old pin */
};

/*
 * The one-line notice for the user after RPC_PIN_ROTATED ("coffer: the
 * daemon's key was rotated on DATE (certified by the key you pinned); pin
 * updated"), without newline; 0 (and "") for any other state.
 */
int rpc_pin_notice(const struct rpc_pin *pin, char *buf, size_t bufsz);

/* A daemon-reported error ("ok": false). */
struct rpc_error {
	int code;           /* err.h status */
	char name[32];
	char message[256];
	char field[64];
};

/* Endpoint name of a target ("unix:/abs/path", "tcp:host:port"). */
int rpc_endpoint(const struct rpc_target *t, char *out, size_t outsz);

/*
 * Connect, authenticate as user with user_sk (read only; the caller wipes
 * it right after this returns) and pin the daemon key.  pin is always
 * filled.  COFFER_ERR_IO (cannot connect), COFFER_ERR_USAGE (bad target),
 * COFFER_ERR_AUTH, COFFER_ERR_HOSTKEY, COFFER_ERR_PERM (unsafe pin file),
 * COFFER_ERR_CRYPTO/PROTO/EOF from the handshake.
 */
int rpc_open(const struct rpc_target *t, const char *user,
    const unsigned char user_sk[SESSION_SECKEY_BYTES], struct rpc_pin *pin,
    struct rpc **out);

/*
 * One request.  args is taken (released here in all cases; NULL means an
 * empty map).  On success *result is a new reference the caller releases.
 * If the daemon answered "ok": false, the code is returned, *remote is set
 * to 1 and err holds the details; local failures leave *remote at 0.
 */
int rpc_call(struct rpc *r, const char *op, cbor_item_t *args,
    cbor_item_t **result, struct rpc_error *err, int *remote);

/* Close the connection and wipe the session; NULL is allowed. */
void rpc_close(struct rpc *r);

#endif
