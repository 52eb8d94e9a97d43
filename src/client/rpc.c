/*
 * rpc.c - the coffer client's connection to cofferd: connect, handshake
 * with first-use pinning of the daemon key, request/response round trips.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "coffer/err.h"
#include "coffer/hostport.h"
#include "coffer/idrot.h"
#include "coffer/msg.h"
#include "coffer/rpc.h"

struct rpc {
	int fd;
	struct session *s;
	uint64_t next_id;
};

/* Passed to the session's pin callback. */
struct pin_ctx {
	const char *known_hosts;
	struct rpc_pin *pin;
};

int
rpc_endpoint(const struct rpc_target *t, char *out, size_t outsz)
{
	if (t->hostport != NULL)
		return kh_endpoint_tcp(t->hostport, out, outsz);
	return kh_endpoint_unix(t->socket_path, out, outsz);
}

static void
set_timeouts(int fd, int secs)
{
	struct timeval tv;

	if (secs <= 0)
		return;
	tv.tv_sec = secs;
	tv.tv_usec = 0;
	/* Best effort: without them a hung daemon only makes us wait. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
connect_unix(const char *path, int *out)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path == NULL || strlen(path) >= sizeof(sun.sun_path))
		return COFFER_ERR_USAGE;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return COFFER_ERR_IO;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return COFFER_ERR_IO;
	}
	*out = fd;
	return COFFER_OK;
}

static int
connect_tcp(const char *hostport, int *out)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[HOSTPORT_HOST_MAX], port[HOSTPORT_PORT_MAX];
	int fd = -1, rc, saved = ECONNREFUSED;

	if ((rc = hostport_split(hostport, host, port)) != COFFER_OK)
		return rc;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return COFFER_ERR_IO;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = saved;
		return COFFER_ERR_IO;
	}
	*out = fd;
	return COFFER_OK;
}

/*
 * The pinned key is not the one shown: acceptable only if the daemon's
 * rotation statements, each signed by the key before, lead from the pin
 * to it.  A pin to an unrelated key stays a mismatch.
 */
static int
pin_rotated(struct pin_ctx *c, const unsigned char pk[SESSION_PUBKEY_BYTES],
    const struct idrot *rot, size_t nrot)
{
	unsigned char pinned[KH_PUBKEY_BYTES];
	struct rpc_pin *pin = c->pin;

	if (rot == NULL || nrot == 0 ||
	    kh_lookup(c->known_hosts, pin->endpoint, pinned) != COFFER_OK ||
	    idrot_follow(rot, nrot, pinned, pk, &pin->rotated_at,
	    &pin->rotations) != COFFER_OK)
		return 0;
	pin->state = RPC_PIN_ROTATED;
	return 1;
}

int
rpc_pin_notice(const struct rpc_pin *pin, char *buf, size_t bufsz)
{
	char when[32] = "?";
	time_t t;
	struct tm tm;

	if (bufsz == 0)
		return 0;
	buf[0] = '\0';
	if (pin->state != RPC_PIN_ROTATED)
		return 0;
	t = (time_t)pin->rotated_at;
	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	snprintf(buf, bufsz, "coffer: the daemon's key was rotated on %s "
	    "(certified by the key you pinned%s); %s", when,
	    pin->rotations > 1 ? ", over several rotations" : "",
	    pin->save_rc == COFFER_OK ? "pin updated" :
	    "could not update the pin");
	return 1;
}

/* Session callback: the daemon presented key pk. */
static int
pin_check(void *arg, const unsigned char pk[SESSION_PUBKEY_BYTES],
    const struct idrot *rot, size_t nrot)
{
	struct pin_ctx *c = arg;
	struct rpc_pin *pin = c->pin;
	int rc;

	memcpy(pin->key, pk, SESSION_PUBKEY_BYTES);
	rc = kh_check(c->known_hosts, pin->endpoint, pk, &pin->line);
	switch (rc) {
	case COFFER_OK:
		pin->state = RPC_PIN_KNOWN;
		return COFFER_OK;
	case COFFER_ERR_NOT_FOUND:
		/* Saved only once the daemon has proved it holds the key. */
		pin->state = RPC_PIN_NEW;
		return COFFER_OK;
	case COFFER_ERR_HOSTKEY:
		if (pin_rotated(c, pk, rot, nrot))
			return COFFER_OK; /* pin replaced after the handshake */
		pin->state = RPC_PIN_MISMATCH;
		return COFFER_ERR_HOSTKEY;
	default:
		pin->state = RPC_PIN_BADFILE;
		pin->save_rc = rc;
		return COFFER_ERR_HOSTKEY;
	}
}

int
rpc_open(const struct rpc_target *t, const char *user,
    const unsigned char user_sk[SESSION_SECKEY_BYTES], struct rpc_pin *pin,
    struct rpc **out)
{
	struct pin_ctx ctx = { t->known_hosts, pin };
	struct rpc *r = NULL;
	int fd = -1, rc;

	*out = NULL;
	memset(pin, 0, sizeof(*pin));
	if ((rc = rpc_endpoint(t, pin->endpoint, sizeof(pin->endpoint))) !=
	    COFFER_OK)
		return rc;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return COFFER_ERR_NOMEM;
	r->fd = -1;
	r->next_id = 1;
	rc = t->hostport != NULL ? connect_tcp(t->hostport, &fd) :
	    connect_unix(t->socket_path, &fd);
	if (rc != COFFER_OK)
		goto out;
	set_timeouts(fd, t->timeout_sec);
	r->fd = fd;
	rc = session_client_rot(fd, user, user_sk, pin_check, &ctx, &r->s);
	if (rc == COFFER_ERR_HOSTKEY && pin->state == RPC_PIN_BADFILE)
		rc = pin->save_rc == COFFER_ERR_PERM ? COFFER_ERR_PERM :
		    COFFER_ERR_IO;
	if (rc != COFFER_OK)
		goto out;
	if (pin->state == RPC_PIN_NEW &&
	    (pin->save_rc = kh_add(t->known_hosts, pin->endpoint,
	    pin->key)) != COFFER_OK)
		pin->state = RPC_PIN_NEW_UNSAVED;
	if (pin->state == RPC_PIN_ROTATED)
		pin->save_rc = kh_replace(t->known_hosts, pin->endpoint,
		    pin->key);
	*out = r;
	r = NULL; /* transferred */
out:
	rpc_close(r);
	return rc;
}

static int
send_request(struct rpc *r, uint64_t id, const char *op, cbor_item_t *args)
{
	cbor_item_t *req = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = COFFER_ERR_NOMEM;

	if (args == NULL && (args = msg_new_map()) == NULL)
		return COFFER_ERR_NOMEM;
	if ((req = msg_new_map()) == NULL) {
		cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	if (msg_put_uint(req, "id", id) != COFFER_OK ||
	    msg_put_str(req, "op", op) != COFFER_OK) {
		cbor_decref(&args);
		goto out;
	}
	if (msg_put(req, "args", args) != COFFER_OK)
		goto out;
	if ((rc = msg_encode(req, &buf, &len)) != COFFER_OK)
		goto out;
	rc = session_send(r->s, buf, len);
out:
	free(buf);
	cbor_decref(&req);
	return rc;
}

/* Copy a text value, cut to fit; absent or non-text leaves "". */
static void
copy_text(const cbor_item_t *map, const char *key, char *buf, size_t bufsz)
{
	const cbor_item_t *v = msg_get(map, key);
	size_t len;

	buf[0] = '\0';
	if (v == NULL || !cbor_isa_string(v) || !cbor_string_is_definite(v))
		return;
	len = cbor_string_length(v);
	if (len >= bufsz)
		len = bufsz - 1;
	memcpy(buf, cbor_string_handle(v), len);
	buf[len] = '\0';

}

static int
read_error(const cbor_item_t *resp, struct rpc_error *err)
{
	const cbor_item_t *e = msg_get(resp, "error");
	uint64_t code = 0;

	if (e == NULL || !cbor_isa_map(e) ||
	    msg_get_uint(e, "code", &code) != COFFER_OK || code == 0 ||
	    code > 0xffff)
		return COFFER_ERR_PROTO;
	err->code = (int)code;
	copy_text(e, "name", err->name, sizeof(err->name));
	copy_text(e, "message", err->message, sizeof(err->message));
	copy_text(e, "field", err->field, sizeof(err->field));
	return (int)code;
}

static int
read_response(struct rpc *r, uint64_t id, cbor_item_t **result,
    struct rpc_error *err, int *remote)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	cbor_item_t *resp = NULL;
	const cbor_item_t *res;
	uint64_t got = 0;
	int ok = 0, rc;

	if ((rc = session_recv(r->s, &buf, &len)) != COFFER_OK)
		return rc;
	rc = msg_decode(buf, len, &resp);
	free(buf);
	if (rc != COFFER_OK)
		return COFFER_ERR_PROTO;
	rc = COFFER_ERR_PROTO;
	if (!cbor_isa_map(resp) || msg_get_uint(resp, "id", &got) != COFFER_OK ||
	    got != id || msg_get_bool(resp, "ok", &ok) != COFFER_OK)
		goto out;
	if (!ok) {
		if ((rc = read_error(resp, err)) != COFFER_ERR_PROTO)
			*remote = 1;
		goto out;
	}
	res = msg_get(resp, "result");
	*result = res != NULL ? cbor_incref((cbor_item_t *)res) :
	    msg_new_null();
	rc = *result != NULL ? COFFER_OK : COFFER_ERR_NOMEM;
out:
	cbor_decref(&resp);
	return rc;
}

int
rpc_call(struct rpc *r, const char *op, cbor_item_t *args,
    cbor_item_t **result, struct rpc_error *err, int *remote)
{
	uint64_t id = r->next_id++;
	int rc;

	*result = NULL;
	*remote = 0;
	memset(err, 0, sizeof(*err));
	if ((rc = send_request(r, id, op, args)) != COFFER_OK)
		return rc;
	return read_response(r, id, result, err, remote);
}

void
rpc_close(struct rpc *r)
{
	if (r == NULL)
		return;
	session_free(r->s);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}
