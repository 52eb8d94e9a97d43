/*
 * err.h - the one list of status codes used by every Coffer module and on
 * the wire.  Functions return COFFER_OK (0) or a negative-free positive code
 * from this list; the caller owns the message.  The numbers are part of the
 * protocol (docs/protocol.md, "Error codes") and must never be renumbered.
 */
#ifndef COFFER_ERR_H
#define COFFER_ERR_H

enum coffer_status {
	COFFER_OK = 0,
	COFFER_ERR_INTERNAL = 1,   /* a bug or an unexpected library failure */
	COFFER_ERR_NOMEM = 2,      /* allocation failed */
	COFFER_ERR_IO = 3,         /* read/write/open failed; errno is kept */
	COFFER_ERR_EOF = 4,        /* peer closed the connection cleanly */
	COFFER_ERR_PROTO = 5,      /* malformed frame or message */
	COFFER_ERR_TOO_BIG = 6,    /* frame or item over a fixed limit */
	COFFER_ERR_CRYPTO = 7,     /* decryption/verification failed */
	COFFER_ERR_AUTH = 8,       /* authentication failed (never says why) */
	COFFER_ERR_DENIED = 9,     /* authenticated but not permitted */
	COFFER_ERR_NOT_FOUND = 10, /* no such record / user / operation */
	COFFER_ERR_INVALID = 11,   /* a field value failed validation */
	COFFER_ERR_CONFLICT = 12,  /* version mismatch or duplicate */
	COFFER_ERR_DB = 13,        /* the database refused the operation */
	COFFER_ERR_BUSY = 14,      /* resource locked (e.g. vault in use) */
	COFFER_ERR_AUDIT = 15,     /* audit log cannot be written: fail closed */
	COFFER_ERR_KEY = 16,       /* wrong key/passphrase or bad key file */
	COFFER_ERR_PERM = 17,      /* unsafe file permissions */
	COFFER_ERR_USAGE = 18,     /* bad arguments from a local caller */
	COFFER_ERR_HOSTKEY = 19,   /* daemon key differs from the pinned one */
	COFFER_ERR_UNAVAILABLE = 20, /* daemon shutting down / overloaded */
	COFFER_ERR_MAX_ = 21
};

/*
 * Details that go with a status when the user must know which input was at
 * fault ("phone: not a valid number").  Filled by the callee, printed by the
 * caller; both strings are always NUL-terminated (possibly empty).
 */
struct coffer_errdetail {
	char field[64];
	char message[192];
};

/* Set a detail; a NULL d is allowed and ignored.  Returns status. */
int coffer_detail(struct coffer_errdetail *d, int status, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Short, stable, human-readable text for a status code; never NULL. */
const char *coffer_strerror(int status);

/* Stable machine name for a status code ("denied", "not_found", ...). */
const char *coffer_errname(int status);

#endif
