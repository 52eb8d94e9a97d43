/*
 * server.c - listeners, the accept loop and the per-connection threads.
 * Thread-per-connection (docs/architecture.md says why): each thread owns
 * its session and its database handle, so nothing on the request path is
 * shared but the write lock and a few counters.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

#include "coffer/daemon.h"
#include "coffer/hostport.h"
#include "coffer/keys.h"
#include "coffer/log.h"
#include "coffer/server.h"
#include "coffer/session.h"

#define PEER_TEXT (NI_MAXHOST + NI_MAXSERV + 8)
#define BACKOFF_MAX_MS 4000u

struct conn {
	struct server *srv;
	int fd;
	char peer[PEER_TEXT];
	struct conn *next;
};

struct server {
	struct daemon_ctx *d;
	struct server_config cfg;
	int unix_fd, tcp_fd;
	int wake[2];                /* self-pipe: server_stop writes here */
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
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
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

/*
 * A session's answer waiting for its audit record (dispatch.c): posted by
 * the session thread, which goes straight back to reading, and sent by
 * the thread that makes the record durable.  That keeps an audited read
 * at one sleep of the session thread - in read, as without an audit log -
 * instead of three more waiting on the group commit.
 */
struct reply_slot {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct session *sess;
	const char *peer;
	int busy;                /* posted and not yet sent */
	int waiting;             /* the session thread sleeps on cv */
	int broken;              /* it could not be sent: end the session */
	uint64_t id;
	unsigned char *resp;
	size_t len;
};

static void
reply_slot_init(struct reply_slot *s, struct session *sess, const char *peer)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->sess = sess;
	s->peer = peer;
}

void
reply_slot_post(struct reply_slot *s, uint64_t id, unsigned char *resp,
    size_t len)
{
	pthread_mutex_lock(&s->mu);
	s->busy = 1;
	s->id = id;
	s->resp = resp;
	s->len = len;
	pthread_mutex_unlock(&s->mu);
}

/*
 * Never blocks: this runs on the audit log's commit path.  The socket's
 * buffer is far larger than a deferred answer (DISPATCH_DEFER_MAX) and a
 * client has one request outstanding, so a send that would block means a
 * client that does not read its answers: its session is ended.
 */
static int
reply_send_now(struct reply_slot *s, const unsigned char *resp, size_t len)
{
	unsigned char *frame = NULL;
	size_t flen = 0;
	ssize_t n = -1;
	int rc;

	if ((rc = session_seal(s->sess, resp, len, &frame, &flen)) !=
	    COFFER_OK)
		return rc;
	do
		n = send(session_fd(s->sess), frame, flen,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	free(frame);
	if (n == (ssize_t)flen)
		return COFFER_OK;
	if (n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK)
		log_warn("%s: the client does not read its answers: session "
		    "ended", s->peer);
	shutdown(session_fd(s->sess), SHUT_RDWR);
	return COFFER_ERR_IO;
}

void
reply_slot_done(void *arg, int status)
{
	struct reply_slot *s = arg;
	unsigned char *resp;
	size_t len;
	int rc;

	pthread_mutex_lock(&s->mu);
	resp = s->resp;
	len = s->len;
	s->resp = NULL;
	pthread_mutex_unlock(&s->mu);
	if (status != COFFER_OK) {	/* the record is not on disk */
		sodium_memzero(resp, len);
		free(resp);
		resp = NULL;
		rc = dispatch_refusal(s->id, &resp, &len);
	} else
		rc = resp != NULL ? COFFER_OK : COFFER_ERR_INTERNAL;
	if (rc == COFFER_OK)
		rc = reply_send_now(s, resp, len);
	if (resp != NULL) {
		sodium_memzero(resp, len);
		free(resp);
	}
	pthread_mutex_lock(&s->mu);
	s->busy = 0;
	s->broken |= rc != COFFER_OK;
	if (s->waiting)
		pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/*
 * Wait until the answer in the slot, if any, has left: nothing else may
 * be sent on the session before it, and the slot must be empty before the
 * session goes away.  Normally it left long ago (the client only asks
 * again once it has its answer).  COFFER_ERR_IO if it could not be sent.
 */
static int
reply_slot_settle(struct reply_slot *s)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	while (s->busy) {
		s->waiting = 1;
		pthread_cond_wait(&s->cv, &s->mu);
		s->waiting = 0;
	}
	rc = s->broken ? COFFER_ERR_IO : COFFER_OK;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void
reply_slot_destroy(struct reply_slot *s)
{
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
}

/* Requests until the client leaves, the session breaks or we stop. */
static void
serve_session(struct conn *c, struct request *r, struct session *sess)
{
	unsigned char *msg = NULL, *resp = NULL;
	size_t len, resplen;
	int rc;

	set_timeout(c->fd, c->srv->cfg.idle_timeout);
	for (;;) {
		rc = session_recv(sess, &msg, &len);
		if (reply_slot_settle(r->reply) != COFFER_OK)
			rc = COFFER_ERR_IO;
		if (rc != COFFER_OK) {
			if (rc != COFFER_ERR_EOF)
				log_warn("session %s (%s) ended: %s", r->user,
				    c->peer, coffer_strerror(rc));
			break;
		}
		rc = dispatch_request(r, msg, len, &resp, &resplen);
		sodium_memzero(msg, len);
		free(msg);
		msg = NULL;
		if (rc != COFFER_OK)
			break;
		if (resp == NULL)	/* deferred: sent by the audit commit */
			continue;
		rc = session_send(sess, resp, resplen);
		sodium_memzero(resp, resplen);
		free(resp);
		resp = NULL;
		if (rc != COFFER_OK)
			break;
	}
	free(msg);
	reply_slot_settle(r->reply);
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct server *s = c->srv;
	struct daemon_ctx *d = s->d;
	struct session *sess = NULL;
	struct reply_slot slot;
	struct request r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.d = d;
	set_timeout(c->fd, s->cfg.handshake_timeout);
	if ((rc = store_open(d->keys.db_path, d->keys.db_key, 0, &r.st)) !=
	    COFFER_OK) {
		log_err("%s: cannot open the database: %s", c->peer,
		    coffer_strerror(rc));
		goto out;
	}
	r.peer = c->peer;
	rc = session_server_rot(c->fd, d->keys.identity_pk, d->keys.sign,
	    d->keys.sign_arg, lookup_user, &r, d->keys.idrot, d->keys.nidrot,
	    &sess);
	if (rc != COFFER_OK) {
		atomic_fetch_add(&d->auth_failures, 1);
		log_warn("%s: login failed: %s", c->peer, coffer_strerror(rc));
		dispatch_audit_event(d, "session.login", &r, rc,
		    "handshake failed");
		if (rc == COFFER_ERR_AUTH)
			login_backoff(s);
		goto out;
	}
	if (atomic_load(&s->recent_failures) > 0)
		atomic_fetch_sub(&s->recent_failures, 1);
	r.user = session_user(sess);
	r.session_id = session_id(sess);
	userkey_fingerprint(session_peer_key(sess), r.fpr, sizeof(r.fpr));
	if ((rc = load_subject(&r, r.user)) != COFFER_OK)
		goto out;
	r.role = store_role_name(r.subject.role);
	/*
	 * An unrecorded login is not served, but the session stays open so
	 * the client is told why (and may still ask for status): dispatch
	 * retries the login record before each request.
	 */
	if (dispatch_audit_event(d, "session.login", &r, COFFER_OK, NULL) !=
	    COFFER_OK) {
		log_err("%s: %s: the audit log cannot be written; requests "
		    "refused until the login is recorded", c->peer, r.user);
		r.login_unrecorded = 1;
	}
	atomic_fetch_add(&d->connections, 1);
	log_info("%s: %s logged in", c->peer, r.user);
	reply_slot_init(&slot, sess, c->peer);
	r.reply = &slot;
	serve_session(c, &r, sess);
	r.reply = NULL;
	reply_slot_destroy(&slot);
	if (!r.login_unrecorded)
		dispatch_audit_event(d, "session.logout", &r, COFFER_OK, NULL);
	atomic_fetch_sub(&d->connections, 1);
	log_info("%s: %s logged out", c->peer, r.user);
out:
	session_free(sess);
	store_close(r.st);
	close(c->fd);
	conn_unregister(s, c);
	free(c);
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
	/* Room for a deferred answer without blocking (reply_send_now). */
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
		close(fd);
		conn_unregister(s, c);
		free(c);
	}
	pthread_attr_destroy(&attr);
}

/* Shut every open connection for reading, then wait for them to end. */
static void
drain(struct server *s)
{
	struct timespec deadline;
	struct conn *c;

	pthread_mutex_lock(&s->lock);
	for (c = s->conns; c != NULL; c = c->next)
		shutdown(c->fd, SHUT_RD);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	while (s->nconns > 0)
		if (pthread_cond_timedwait(&s->idle, &s->lock, &deadline) != 0)
			break;
	if (s->nconns > 0)
		log_warn("%u sessions still open at shutdown", s->nconns);
	pthread_mutex_unlock(&s->lock);
}

int
server_run(struct server *s)
{
	struct pollfd pfd[3];
	nfds_t n = 0, i;

	pfd[n++] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = s->unix_fd, .events = POLLIN };
	if (s->tcp_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = s->tcp_fd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
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
	return COFFER_OK;
}
