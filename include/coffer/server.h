/*
 * server.h - listening sockets and connections.  One thread accepts on the
 * Unix socket (and, if asked, one TCP address); each connection runs its
 * handshake on a thread of its own and keeps its own database connection
 * and session.  After the login, a pool of workers waiting on one epoll
 * set serves every session's requests (decrypt -> dispatch -> encrypt);
 * requests that may run long get a thread of their own.  See
 * docs/architecture.md.
 */
#ifndef COFFER_SERVER_H
#define COFFER_SERVER_H

#include "coffer/daemon.h"

struct server_config {
	const char *socket_path;  /* Unix socket; required */
	const char *tcp_listen;   /* "HOST:PORT" or NULL */
	unsigned max_clients;     /* sessions at once; more are refused */
	unsigned handshake_timeout; /* seconds */
	unsigned idle_timeout;    /* seconds without a request; 0 = none */
	unsigned workers;         /* event-loop threads serving requests */
	/* Called in the accept thread after server_reload (SIGHUP); may be
	 * NULL. */
	void (*reload)(struct daemon_ctx *d);
};

struct server;

/* Create the listeners (the socket file gets mode 0660).  Errors:
 * COFFER_ERR_IO (with errno), COFFER_ERR_BUSY if the socket is live. */
int server_open(struct daemon_ctx *d, const struct server_config *c,
    struct server **out);

/* Serve until server_stop; then let sessions finish and return. */
int server_run(struct server *s);

/* Ask server_run to return; async-signal-safe. */
void server_stop(struct server *s);

/* Ask server_run to call cfg.reload; async-signal-safe. */
void server_reload(struct server *s);

/* Close listeners, unlink the socket file, free.  NULL is allowed. */
void server_close(struct server *s);

#endif
