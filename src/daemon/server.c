/*
 * server.c - listeners, the accept loop, logins and the event loop.  A
 * connection logs in on a thread of its own, then its requests are served
 * by a small pool of workers waiting on one epoll set (docs/architecture.md
 * says why): each session keeps its own database handle, and exactly one
 * thread owns it at a time, so nothing on the request path is shared but
 * the write lock and a few counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

#include "coffer/daemon.h"
#include "coffer/frame.h"
#include "coffer/hostport.h"
#include "coffer/keys.h"
#include "coffer/log.h"
#include "coffer/server.h"
#include "coffer/session.h"

#define PEER_TEXT (NI_MAXHOST + NI_MAXSERV + 8)
#define BACKOFF_MAX_MS 4000u

struct conn;

/* An event-loop thread, with the database connection its requests use. */
struct worker {
	struct server *s;
	pthread_t tid;
	struct store *st;        /* its own database connection */
};

/*
 * A session's answer waiting for its audit record (dispatch.c): posted by
 * the worker that served the request, which goes on to other sessions,
 * and sent by the thread that makes the record durable.
 */
struct reply_slot {
	struct conn *c;
	uint64_t id;
	unsigned char *resp;
	size_t len;
	atomic_int broken;       /* it could not be sent: end the session */
};

struct conn {
	struct server *srv;
	int fd;
	char peer[PEER_TEXT];
	struct conn *next;       /* registry */
	/* From the login on: */
	struct session *sess;
	struct store *st;        /* the session's own connection, opened by
	                          * its first long request (conn_own_store);
	                          * set under srv->lock (drain interrupts it) */
	struct request r;
	struct frame_reader in;  /* the request being read */
	struct reply_slot slot;
	atomic_int refs;         /* holders of a deferred turn (conn_release) */
	atomic_int armed;        /* waiting in epoll for its next request */
	_Atomic int64_t last_request; /* CLOCK_MONOTONIC seconds */
};

struct server {
	struct daemon_ctx *d;
	struct server_config cfg;
	int unix_fd, tcp_fd;
	int wake[2];                /* self-pipe: server_stop writes here */
	int ep;                     /* the sessions' epoll set */
	int stop_ev;                /* eventfd: tells the workers to stop */
	struct worker *workers;
	unsigned nworkers;
	pthread_mutex_t lock;       /* guards conns, nconns */
	pthread_cond_t idle;        /* signalled when nconns drops */
	struct conn *conns;
	unsigned nconns;
	atomic_uint recent_failures; /* drives the login back-off */
};

/* --- listeners ------------------------------------------------------- */

static int
listen_unix(const char *path, int *out)
{
	struct sockaddr_un sa;
	struct stat sb;
	int fd, probe;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return COFFER_ERR_IO;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* Never remove anything at the path but a socket. */
	if (lstat(path, &sb) == 0 && !S_ISSOCK(sb.st_mode)) {
		errno = EEXIST;
		return COFFER_ERR_IO;
	}
	/* A socket file that still answers belongs to a live daemon. */
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		int live = connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;

		close(probe);
		if (live)
			return COFFER_ERR_BUSY;
	}
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return COFFER_ERR_IO;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 || listen(fd, 128) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return COFFER_ERR_IO;
	}
	*out = fd;
	return COFFER_OK;
}


static int
listen_tcp(const char *spec, int *out)
{
	struct addrinfo hints, *res = NULL;
	char host[HOSTPORT_HOST_MAX], port[HOSTPORT_PORT_MAX];
	int fd = -1, one = 1, rc;

	if (hostport_split(spec, host, port) != COFFER_OK)
		return COFFER_ERR_USAGE;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
		return COFFER_ERR_USAGE;
	rc = COFFER_ERR_IO;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0)
		goto out;
	*out = fd;
	fd = -1;
	rc = COFFER_OK;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

int
server_open(struct daemon_ctx *d, const struct server_config *c,
    struct server **out)
{
	struct server *s;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return COFFER_ERR_NOMEM;
	s->d = d;
	s->cfg = *c;
	s->unix_fd = s->tcp_fd = s->wake[0] = s->wake[1] = -1;
	s->ep = s->stop_ev = -1;
	if (s->cfg.workers == 0)
		s->cfg.workers = 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s->stop_ev = eventfd(0, EFD_CLOEXEC)) < 0) {
		rc = COFFER_ERR_IO;
		goto fail;
	}
	if ((rc = listen_unix(c->socket_path, &s->unix_fd)) != COFFER_OK)
		goto fail;
	if (c->tcp_listen != NULL &&
	    (rc = listen_tcp(c->tcp_listen, &s->tcp_fd)) != COFFER_OK)
		goto fail;
	*out = s;
	return COFFER_OK;
fail:
	server_close(s);
	return rc;
}

void
server_close(struct server *s)
{
	if (s == NULL)
		return;
	if (s->unix_fd >= 0) {
		close(s->unix_fd);
		unlink(s->cfg.socket_path);
	}
	if (s->tcp_fd >= 0)
		close(s->tcp_fd);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	if (s->ep >= 0)
		close(s->ep);
	if (s->stop_ev >= 0)
		close(s->stop_ev);
	free(s->workers);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->idle);
	free(s);
}

/* Async-signal-safe: one byte into the self-pipe says what to do. */
static void
wake(struct server *s, char what)
{
	ssize_t n;
	int saved = errno;

	n = write(s->wake[1], &what, 1);
	(void)n;
	errno = saved;
}

void
server_stop(struct server *s)
{
	wake(s, 's');
}

void
server_reload(struct server *s)
{
	wake(s, 'h');
}

enum wake_reason { WAKE_NONE, WAKE_RELOAD, WAKE_STOP };

/* Drain the self-pipe; a reload request runs the daemon's reload hook
 * here, in the accept thread, never in the signal handler. */
static enum wake_reason
wake_reason(struct server *s)
{
	enum wake_reason r = WAKE_NONE;
	char buf[16];
	ssize_t n, i;

	while ((n = read(s->wake[0], buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++) {
			if (buf[i] == 's')
				r = WAKE_STOP;
			else if (r == WAKE_NONE)
				r = WAKE_RELOAD;
		}
	if (r == WAKE_RELOAD) {
		if (s->cfg.reload != NULL)
			s->cfg.reload(s->d);
		else
			log_info("SIGHUP: nothing to reload");
	}
	return r;
}

/* --- connection registry --------------------------------------------- */

static int
conn_register(struct server *s, struct conn *c)
{
	int ok;

	pthread_mutex_lock(&s->lock);
	ok = s->nconns < s->cfg.max_clients;
	if (ok) {
		c->next = s->conns;
		s->conns = c;
		s->nconns++;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void
conn_unregister(struct server *s, struct conn *c)
{
	struct conn **pp;

	pthread_mutex_lock(&s->lock);
	for (pp = &s->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	s->nconns--;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

/* --- one connection -------------------------------------------------- */

static void
describe_peer(int fd, int is_unix, char *buf, size_t bufsz)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (is_unix) {
		struct ucred cr;
		socklen_t cl = sizeof(cr);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0)
			snprintf(buf, bufsz, "unix:uid=%u,pid=%d",
			    (unsigned)cr.uid, (int)cr.pid);
		else
			snprintf(buf, bufsz, "unix:?");
		return;
	}
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(buf, bufsz, "tcp:%s:%s", host, port);
	else
		snprintf(buf, bufsz, "tcp:?");
}

static void
set_timeout(int fd, unsigned seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
lookup_user(void *arg, const char *name, unsigned char pk[32])
{
	struct request *r = arg;
	struct store_user u;
	int rc;

	if ((rc = store_user_get(r->st, name, &u)) != COFFER_OK)
		return rc;
	if (!u.active)
		return COFFER_ERR_NOT_FOUND;
	memcpy(pk, u.pubkey, 32);
	return COFFER_OK;
}

/*
 * A failed login costs the caller time: 250 ms doubling with each failure
 * in the recent past, up to 4 s, so guessing is slow while one typo is
 * not punished.  Successful logins decay the count.
 */
static void
login_backoff(struct server *s)
{
	unsigned f = atomic_fetch_add(&s->recent_failures, 1);
	unsigned ms = 250u << (f > 4 ? 4 : f);
	struct timespec ts;

	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

static int
load_subject(struct request *r, const char *name)
{
	struct store_user u;
	int rc;

	if ((rc = store_user_get(r->st, name, &u)) != COFFER_OK)
		return rc;
	r->subject.user_id = u.id;
	r->subject.role = u.role;
	r->subject.role_name = store_role_name(u.role);
	memcpy(r->subject.team, u.team, sizeof(r->subject.team));
	memcpy(r->subject.clearance, u.clearance,
	    sizeof(r->subject.clearance));
	return COFFER_OK;
}

/* --- deferred answers ------------------------------------------------ */

static void conn_release(struct conn *c);

void
reply_slot_post(struct reply_slot *s, uint64_t id, unsigned char *resp,
    size_t len)
{
	s->id = id;
	s->resp = resp;
	s->len = len;
	/* Two must let go before the next request is read: the thread in
	 * dispatch_request and the one that sends this answer. */
	atomic_store(&s->c->refs, 2);
}

/*
 * Never blocks: this runs on the audit log's commit path or on a worker
 * every session shares.  The socket's buffer is far larger than an answer
 * sent this way (DISPATCH_DEFER_MAX) and a client has one request
 * outstanding, so a send that would block means a client that does not
 * read its answers: its session is ended.
 */
static int
send_now(struct conn *c, const unsigned char *resp, size_t len)
{
	unsigned char *frame = NULL;
	size_t flen = 0;
	ssize_t n = -1;
	int rc;

	if ((rc = session_seal(c->sess, resp, len, &frame, &flen)) !=
	    COFFER_OK)
		return rc;
	do
		n = send(c->fd, frame, flen, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	free(frame);
	if (n == (ssize_t)flen)
		return COFFER_OK;
	if (n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK)
		log_warn("%s: the client does not read its answers: session "
		    "ended", c->peer);
	shutdown(c->fd, SHUT_RDWR);
	return COFFER_ERR_IO;
}

void
reply_slot_done(void *arg, int status)
{
	struct reply_slot *s = arg;
	unsigned char *resp = s->resp;
	size_t len = s->len;
	int rc;

	s->resp = NULL;
	if (status != COFFER_OK) {	/* the record is not on disk */
		sodium_memzero(resp, len);
		free(resp);
		resp = NULL;
		rc = dispatch_refusal(s->id, &resp, &len);
	} else
		rc = resp != NULL ? COFFER_OK : COFFER_ERR_INTERNAL;
	if (rc == COFFER_OK)
		rc = send_now(s->c, resp, len);
	if (resp != NULL) {
		sodium_memzero(resp, len);
		free(resp);
	}
	if (rc != COFFER_OK)
		atomic_store(&s->broken, 1);
	conn_release(s->c);
}

/* --- the event loop --------------------------------------------------- */

static int64_t
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/*
 * Give the connection back to the event loop: the next request wakes one
 * worker.  One-shot, so exactly one thread owns a session at any time.
 * After this call another thread may already own (and free) c: nothing
 * here touches it after epoll_ctl.
 */
static void
conn_arm(struct conn *c)
{
	struct epoll_event ev;
	int ep = c->srv->ep, fd = c->fd;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
	ev.data.ptr = c;
	atomic_store(&c->armed, 1);
	if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0)
		log_err("epoll_ctl: %s: a session is stuck", strerror(errno));
}

/* A deferred answer's two parties let go; the last one arms.  A session
 * whose answer could not be sent is shut, so its worker sees the end. */
static void
conn_release(struct conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	if (atomic_load(&c->slot.broken))
		shutdown(c->fd, SHUT_RDWR);
	conn_arm(c);
}

/* Set c->st, returning the old one: under the registry lock, because drain
 * may interrupt a query on it from another thread. */
static struct store *
conn_swap_store(struct conn *c, struct store *st)
{
	struct store *old;

	pthread_mutex_lock(&c->srv->lock);
	old = c->st;
	c->st = st;
	pthread_mutex_unlock(&c->srv->lock);
	return old;
}

static void
conn_free(struct conn *c)
{
	struct server *s = c->srv;

	frame_reader_reset(&c->in);
	session_free(c->sess);
	store_close(conn_swap_store(c, NULL));
	/* Out of the registry before the fd number can be reused. */
	conn_unregister(s, c);
	close(c->fd);
	free(c);
}

/* The session is over: record the logout and free it.  Only its owner
 * (a worker or its own thread) calls this, never the audit committer. */
static void
conn_end(struct conn *c, int rc)
{
	struct daemon_ctx *d = c->srv->d;

	if (rc != COFFER_OK && rc != COFFER_ERR_EOF)
		log_warn("session %s (%s) ended: %s", c->r.user, c->peer,
		    coffer_strerror(rc));
	epoll_ctl(c->srv->ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (!c->r.login_unrecorded)
		dispatch_audit_event(d, "session.logout", &c->r, COFFER_OK,
		    NULL);
	atomic_fetch_sub(&d->connections, 1);
	log_info("%s: %s logged out", c->peer, c->r.user);
	conn_free(c);
}

static void conn_turn(struct conn *c, unsigned char *msg, size_t len,
    struct store *worker_st);

/* Work that leaves the workers: a long request, or a big answer that may
 * block in send. */
struct long_job {
	struct conn *c;
	unsigned char *msg, *resp;
	size_t len, resplen;
};

static void *
long_main(void *arg)
{
	struct long_job *j = arg;
	struct conn *c = j->c;
	int rc;

	if (j->msg != NULL) {
		conn_turn(c, j->msg, j->len, NULL);
		free(j);
		return NULL;
	}
	rc = session_send(c->sess, j->resp, j->resplen);
	sodium_memzero(j->resp, j->resplen);
	free(j->resp);
	free(j);
	if (rc != COFFER_OK)
		conn_end(c, rc);
	else
		conn_arm(c);
	return NULL;
}

/* Hand the job to a new thread, or, if none can start, do it here. */
static void
conn_run_long(struct conn *c, unsigned char *msg, size_t len,
    unsigned char *resp, size_t resplen)
{
	struct long_job *j = calloc(1, sizeof(*j));
	pthread_attr_t attr;
	pthread_t tid;
	int started = 0;

	if (j != NULL) {
		*j = (struct long_job){ c, msg, resp, len, resplen };
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		started = pthread_create(&tid, &attr, long_main, j) == 0;
		pthread_attr_destroy(&attr);
		if (started)
			return;
		free(j);
	}
	log_warn("%s: cannot start a thread: served on a worker", c->peer);
	if (msg != NULL) {
		conn_turn(c, msg, len, NULL);
		return;
	}
	if (session_send(c->sess, resp, resplen) != COFFER_OK) {
		sodium_memzero(resp, resplen);
		free(resp);
		conn_end(c, COFFER_ERR_IO);
		return;
	}
	sodium_memzero(resp, resplen);
	free(resp);
	conn_arm(c);
}

/*
 * The session's own database connection, for its long requests: opened by
 * the first, then kept (an import's staging table lives on it).  Most
 * sessions never need one, and an idle one costs memory.
 */
static int
conn_own_store(struct conn *c)
{
	struct daemon_ctx *d = c->srv->d;
	struct store *st = NULL;
	int rc;

	if (c->st != NULL)
		return COFFER_OK;
	rc = store_open(d->keys.db_path, d->keys.db_key, 0, &st);
	if (rc != COFFER_OK)
		log_err("%s: cannot open the database: %s", c->peer,
		    coffer_strerror(rc));
	else
		conn_swap_store(c, st);
	return rc;
}

/*
 * One request, start to answer, on a worker (with the worker's database
 * connection) or, worker_st NULL, on a thread of its own (with the
 * session's).  Takes msg.  Ends with the connection armed, handed on (a
 * deferred answer, a long request) or ended.
 */
static void
conn_turn(struct conn *c, unsigned char *msg, size_t len,
    struct store *worker_st)
{
	unsigned char *resp = NULL;
	size_t resplen = 0;
	int rc, own_thread = worker_st == NULL;

	if (own_thread && (rc = conn_own_store(c)) != COFFER_OK) {
		sodium_memzero(msg, len);
		free(msg);
		conn_end(c, rc);
		return;
	}
	c->r.on_own_thread = own_thread;
	c->r.st = own_thread ? c->st : worker_st;
	rc = dispatch_request(&c->r, msg, len, &resp, &resplen);
	c->r.on_own_thread = 0;
	c->r.st = c->st;
	if (rc == DISPATCH_LONG) {
		conn_run_long(c, msg, len, NULL, 0);
		return;
	}
	sodium_memzero(msg, len);
	free(msg);
	if (rc != COFFER_OK) {
		conn_end(c, rc);
		return;
	}
	if (resp == NULL) {	/* deferred: sent by the audit commit */
		conn_release(c);
		return;
	}
	if (!own_thread && resplen > DISPATCH_DEFER_MAX) {
		conn_run_long(c, NULL, 0, resp, resplen);
		return;
	}
	rc = own_thread ? session_send(c->sess, resp, resplen) :
	    send_now(c, resp, resplen);
	sodium_memzero(resp, resplen);
	free(resp);
	if (rc != COFFER_OK)
		conn_end(c, rc);
	else
		conn_arm(c);
}

/* A worker got c from epoll: read what came; a whole frame is a request. */
static void
conn_serve(struct conn *c, struct store *worker_st)
{
	unsigned char *ct = NULL, *msg = NULL;
	size_t ctlen = 0, len = 0;
	int rc, whole = 0;

	atomic_store(&c->armed, 0);
	rc = frame_reader_fill(&c->in, c->fd, FRAME_MAX, &whole);
	if (rc == COFFER_OK && !whole) {
		conn_arm(c);
		return;
	}
	if (rc == COFFER_OK) {
		frame_reader_take(&c->in, &ct, &ctlen);
		rc = session_open(c->sess, ct, ctlen, &msg, &len);
		free(ct);
	}
	if (rc != COFFER_OK) {
		conn_end(c, rc);
		return;
	}
	atomic_store(&c->last_request, now_seconds());
	conn_turn(c, msg, len, worker_st);
}

/*
 * A worker reads and writes through a database connection of its own,
 * whichever session it serves: a few connections with large, warm page
 * caches rather than one per session with a sliver of the memory budget
 * each (a point read then rarely decrypts a page).  Long requests use the
 * session's own connection (an import's staging table lives there).
 */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct server *s = w->s;
	struct epoll_event ev;
	int n;

	for (;;) {
		n = epoll_wait(s->ep, &ev, 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("epoll_wait: %s", strerror(errno));
			break;
		}
		if (n == 0)
			continue;
		if (ev.data.ptr == NULL)	/* server_run is done */
			break;
		conn_serve(ev.data.ptr, w->st);
	}
	return NULL;
}

static int
workers_start(struct server *s)
{
	struct daemon_ctx *d = s->d;
	struct epoll_event ev;
	struct worker *w;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;	/* level: every worker sees it */
	ev.data.ptr = NULL;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->stop_ev, &ev) < 0)
		return COFFER_ERR_IO;
	if ((s->workers = calloc(s->cfg.workers, sizeof(*s->workers))) == NULL)
		return COFFER_ERR_NOMEM;
	for (s->nworkers = 0; s->nworkers < s->cfg.workers; s->nworkers++) {
		w = &s->workers[s->nworkers];
		w->s = s;
		if ((rc = store_open(d->keys.db_path, d->keys.db_key, 0,
		    &w->st)) != COFFER_OK)
			return rc;
		if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
			store_close(w->st);
			w->st = NULL;
			return COFFER_ERR_INTERNAL;
		}
	}
	return COFFER_OK;
}

static void
workers_stop(struct server *s)
{
	uint64_t one = 1;
	unsigned i;

	if (write(s->stop_ev, &one, sizeof(one)) != sizeof(one))
		log_err("cannot stop the workers: %s", strerror(errno));
	for (i = 0; i < s->nworkers; i++) {
		pthread_join(s->workers[i].tid, NULL);
		store_close(s->workers[i].st);
	}
	s->nworkers = 0;
}

/* Close sessions idle for cfg.idle_timeout; their workers see the end. */
static void
sweep_idle(struct server *s)
{
	int64_t now = now_seconds();
	struct conn *c;

	pthread_mutex_lock(&s->lock);
	for (c = s->conns; c != NULL; c = c->next)
		if (atomic_load(&c->armed) &&
		    now - atomic_load(&c->last_request) >=
		    (int64_t)s->cfg.idle_timeout &&
		    atomic_exchange(&c->armed, 0)) {
			log_info("%s: idle for %u s: session closed", c->peer,
			    s->cfg.idle_timeout);
			shutdown(c->fd, SHUT_RDWR);
		}
	pthread_mutex_unlock(&s->lock);
}

/* --- one connection's login ------------------------------------------ */

/*
 * The login runs on a thread of the connection's own (it blocks, and a
 * failed one sleeps in the back-off); once the session is up it joins the
 * event loop and the thread ends.
 */
static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct server *s = c->srv;
	struct daemon_ctx *d = s->d;
	struct request *r = &c->r;
	struct epoll_event ev;
	struct store *st = NULL;
	int rc;

	r->d = d;
	set_timeout(c->fd, s->cfg.handshake_timeout);
	if ((rc = store_open(d->keys.db_path, d->keys.db_key, 0, &st)) !=
	    COFFER_OK) {
		log_err("%s: cannot open the database: %s", c->peer,
		    coffer_strerror(rc));
		goto fail;
	}
	conn_swap_store(c, st);
	r->st = c->st;
	r->peer = c->peer;
	rc = session_server_rot(c->fd, d->keys.identity_pk, d->keys.sign,
	    d->keys.sign_arg, lookup_user, r, d->keys.idrot, d->keys.nidrot,
	    &c->sess);
	if (rc != COFFER_OK) {
		atomic_fetch_add(&d->auth_failures, 1);
		log_warn("%s: login failed: %s", c->peer, coffer_strerror(rc));
		dispatch_audit_event(d, "session.login", r, rc,
		    "handshake failed");
		if (rc == COFFER_ERR_AUTH)
			login_backoff(s);
		goto fail;
	}
	if (atomic_load(&s->recent_failures) > 0)
		atomic_fetch_sub(&s->recent_failures, 1);
	r->user = session_user(c->sess);
	r->session_id = session_id(c->sess);
	userkey_fingerprint(session_peer_key(c->sess), r->fpr, sizeof(r->fpr));
	if ((rc = load_subject(r, r->user)) != COFFER_OK)
		goto fail;
	r->role = store_role_name(r->subject.role);
	/*
	 * An unrecorded login is not served, but the session stays open so
	 * the client is told why (and may still ask for status): dispatch
	 * retries the login record before each request.
	 */
	if (dispatch_audit_event(d, "session.login", r, COFFER_OK, NULL) !=
	    COFFER_OK) {
		log_err("%s: %s: the audit log cannot be written; requests "
		    "refused until the login is recorded", c->peer, r->user);
		r->login_unrecorded = 1;
	}
	atomic_fetch_add(&d->connections, 1);
	log_info("%s: %s logged in", c->peer, r->user);
	/* Workers serve its requests through their own connections; a long
	 * request opens the session's again (conn_own_store). */
	store_close(conn_swap_store(c, NULL));
	r->st = NULL;
	/* The receive timeout is the sweep's job now; sends on a long
	 * request's thread still block at most this long. */
	set_timeout(c->fd, s->cfg.idle_timeout);
	c->slot.c = c;
	r->reply = &c->slot;
	atomic_store(&c->last_request, now_seconds());
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
	ev.data.ptr = c;
	atomic_store(&c->armed, 1);
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, c->fd, &ev) == 0)
		return NULL;	/* the event loop owns it now */
	log_err("%s: epoll_ctl: %s", c->peer, strerror(errno));
	atomic_store(&c->armed, 0);
	conn_end(c, COFFER_ERR_IO);
	return NULL;
fail:
	conn_free(c);
	return NULL;
}

static void
start_conn(struct server *s, int fd, int is_unix)
{
	struct conn *c = calloc(1, sizeof(*c));
	pthread_attr_t attr;
	pthread_t tid;
	int one = 1, sndbuf = 4 * DISPATCH_DEFER_MAX;

	if (c == NULL) {
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	describe_peer(fd, is_unix, c->peer, sizeof(c->peer));
	if (!is_unix)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Room for a deferred answer without blocking (send_now). */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (!conn_register(s, c)) {
		log_warn("%s: refused: %u sessions already open", c->peer,
		    s->cfg.max_clients);
		close(fd);
		free(c);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, conn_main, c) != 0) {
		log_err("%s: cannot start a thread", c->peer);
		conn_free(c);
	}
	pthread_attr_destroy(&attr);
}

/* Shut every open connection with how, under the registry lock. */
static void
shut_all(struct server *s, int how)
{
	struct conn *c;

	for (c = s->conns; c != NULL; c = c->next)
		shutdown(c->fd, how);
}

/* Stop the query of every session running one on its own connection,
 * under the registry lock (which keeps those connections open). */
static void
interrupt_all(struct server *s)
{
	struct conn *c;

	for (c = s->conns; c != NULL; c = c->next)
		store_interrupt(c->st);
}

static void
deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

/* How long requests in progress get to finish at a stop: 10 s.  Test
 * builds take COFFER_DRAIN_GRACE_MS, so the cut-off can be tested. */
static long
drain_grace_ms(void)
{
#ifdef COFFER_TEST_HOOKS
	const char *v = getenv("COFFER_DRAIN_GRACE_MS");

	if (v != NULL && atol(v) > 0)
		return atol(v);
#endif
	return 10000;
}

/*
 * Shut every open connection for reading, so the requests in progress
 * finish and are answered, and wait for the sessions to end.  Past the
 * grace period the rest are cut off for writing too (their answers are
 * lost, their records are not), the queries they are running are
 * interrupted (they end with "unavailable", which their records say), and
 * they are waited for without a deadline: a long request still running
 * on its own thread uses the server and the daemon's context, which the
 * caller frees once this returns.  The interrupt is repeated every second
 * for a request that goes on to another query.
 */
static void
drain(struct server *s)
{
	struct timespec deadline;
	long grace = drain_grace_ms();

	pthread_mutex_lock(&s->lock);
	shut_all(s, SHUT_RD);
	deadline_in(&deadline, grace);
	while (s->nconns > 0)
		if (pthread_cond_timedwait(&s->idle, &s->lock, &deadline) != 0)
			break;
	if (s->nconns > 0) {
		log_warn("%u sessions still busy %ld ms after the stop: cut "
		    "off, their queries interrupted; waiting for their "
		    "requests to end", s->nconns, grace);
		shut_all(s, SHUT_RDWR);
	}
	while (s->nconns > 0) {
		interrupt_all(s);
		deadline_in(&deadline, 1000);
		(void)pthread_cond_timedwait(&s->idle, &s->lock, &deadline);
	}
	pthread_mutex_unlock(&s->lock);
}

int
server_run(struct server *s)
{
	struct pollfd pfd[3];
	nfds_t n = 0, i;
	/* Often enough that a session outlives its idle time by < 1 s. */
	int tick = s->cfg.idle_timeout > 0 ? 250 : -1, rc;

	if ((rc = workers_start(s)) != COFFER_OK) {
		log_err("cannot start the workers: %s", coffer_strerror(rc));
		workers_stop(s);
		return rc;
	}
	pfd[n++] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = s->unix_fd, .events = POLLIN };
	if (s->tcp_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = s->tcp_fd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, n, tick) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
		if (tick > 0)
			sweep_idle(s);
		if (pfd[0].revents && wake_reason(s) == WAKE_STOP)
			break;
		for (i = 1; i < n; i++) {
			int fd;

			if (!(pfd[i].revents & POLLIN))
				continue;
			fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0) {
				if (errno != EINTR && errno != EAGAIN &&
				    errno != ECONNABORTED)
					log_warn("accept: %s", strerror(errno));
				continue;
			}
			start_conn(s, fd, pfd[i].fd == s->unix_fd);
		}
	}
	drain(s);
	workers_stop(s);
	return COFFER_OK;
}
