/*
 * knownhosts.h - the client's pinned daemon keys (trust on first use, like
 * ssh's known_hosts).  One line per daemon endpoint:
 *
 *     ENDPOINT SP "coffer-ed25519" SP BASE64 LF
 *
 * ENDPOINT is "unix:" followed by the absolute socket path, or
 * "tcp:HOST:PORT" ("tcp:[v6addr]:PORT" for IPv6 literals); it may contain
 * spaces (unix paths) but no control characters, so a line is split at its
 * last two spaces.  BASE64 is the 32-byte Ed25519 public key of the daemon
 * (RFC 4648 with padding, 44 characters).  Blank lines and lines starting
 * with '#' are comments.  The file is created with mode 0600 and refused if
 * group or others may write it (anyone who can write it can redirect us).
 */
#ifndef COFFER_KNOWNHOSTS_H
#define COFFER_KNOWNHOSTS_H

#include <stddef.h>

#define KH_PUBKEY_BYTES 32
#define KH_ENDPOINT_MAX 512
#define KH_LINE_MAX     1024

/* "unix:/abs/path" for a socket path (made absolute against the cwd). */
int kh_endpoint_unix(const char *path, char *out, size_t outsz);
/* "tcp:HOST:PORT" from "HOST:PORT" (as given, host lowercased). */
int kh_endpoint_tcp(const char *hostport, char *out, size_t outsz);

/*
 * Look endpoint up in path.  COFFER_OK if it is pinned to pk;
 * COFFER_ERR_NOT_FOUND if the file does not exist or has no line for it;
 * COFFER_ERR_HOSTKEY if a line for it holds another key, or is malformed
 * (*line gets that 1-based line number); COFFER_ERR_PERM if the file is
 * writable by group/others or not a regular file; COFFER_ERR_IO otherwise.
 */
int kh_check(const char *path, const char *endpoint,
    const unsigned char pk[KH_PUBKEY_BYTES], size_t *line);

/*
 * The key the first line for endpoint pins, into pk.  COFFER_ERR_NOT_FOUND
 * (no file, no line), COFFER_ERR_HOSTKEY (that line is malformed),
 * COFFER_ERR_PERM / COFFER_ERR_IO as kh_check.
 */
int kh_lookup(const char *path, const char *endpoint,
    unsigned char pk[KH_PUBKEY_BYTES]);

/* Replace every line for endpoint by one pinning pk, atomically (0600). */
int kh_replace(const char *path, const char *endpoint,
    const unsigned char pk[KH_PUBKEY_BYTES]);

/* Append a line pinning endpoint to pk, creating the file 0600. */
int kh_add(const char *path, const char *endpoint,
    const unsigned char pk[KH_PUBKEY_BYTES]);

/*
 * Remove every line for endpoint (rewrites the file atomically, 0600).
 * *removed gets the count; a missing file removes nothing.
 */
int kh_remove(const char *path, const char *endpoint, size_t *removed);

/* The line for endpoint/pk, without the newline.  COFFER_ERR_TOO_BIG. */
int kh_format(const char *endpoint, const unsigned char pk[KH_PUBKEY_BYTES],
    char *buf, size_t bufsz);

#endif
