/*
 * coffer-bench - the load generator behind `make bench`: N concurrent
 * authenticated sessions (real handshakes with the demo vault's agent keys)
 * run one workload for a fixed time; it reports throughput, a latency
 * histogram, and the daemon's CPU time and peak RSS read from /proc.
 * `--policy` instead times access_decide() in a loop.  Figures and how to
 * read them: docs/performance.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffer/access.h"
#include "coffer/err.h"
#include "coffer/keys.h"
#include "coffer/approval.h"
#include "coffer/msg.h"
#include "coffer/policy.h"
#include "coffer/schema.h"
#include "coffer/session.h"

#define AGENTS_MAX 10       /* the demo vault has agent01..agent10 */
#define PAGE 500            /* record.list maximum page */
#define LIST_LIMIT 50       /* the "list" workload's page */
#define LIST_SPAN 1000      /* list pages are drawn from the first 1000 */
#define REQ_MAX 512         /* encoded request buffer */

enum workload { W_GET, W_LIST, W_CREATE, W_MIX, W_REQUEST };
enum phase { PH_WARMUP, PH_MEASURE, PH_STOP };
/* OP_FILE and OP_APPROVE: the change-request flow's second and third
 * steps (its first is an OP_GET, for the record's version). */
enum opkind { OP_GET, OP_LIST, OP_CREATE, OP_FILE, OP_APPROVE, OP_KINDS };

static const char *const workload_names[] = { "get", "list", "create",
	"mix", "request" };
static const char *const op_names[OP_KINDS] = { "get", "list", "create",
	"request", "approve" };
#define MANAGERS 2          /* mgr-north (agent01-05), mgr-south (06-10) */

struct config {
	const char *vault, *socket, *label;
	unsigned clients, threads, agents, ids_per_agent;
	double duration, warmup;
	enum workload workload;
	long pid;
	uint64_t seed;
	int json;
	int policy;
	uint64_t policy_iters;
};

/* --- latency histogram: log-linear buckets in microseconds ------------ */

/*
 * Values below 64 us have their own bucket; above, each power of two is
 * cut into 32 sub-buckets, so a reported percentile is within ~3% of the
 * true value.  Fixed size: recording never allocates.
 */
#define H_LINEAR 64
#define H_SUB 32
#define H_SUB_BITS 5
#define H_EXP_MAX 40
#define H_BUCKETS (H_LINEAR + (H_EXP_MAX - 6 + 1) * H_SUB)

struct hist {
	uint64_t count[H_BUCKETS];
	uint64_t n, max, sum;
};

static size_t
hist_index(uint64_t us)
{
	int e;
	size_t i;

	if (us < H_LINEAR)
		return (size_t)us;
	e = 63 - __builtin_clzll(us);
	if (e > H_EXP_MAX)
		return H_BUCKETS - 1;
	i = H_LINEAR + (size_t)(e - 6) * H_SUB +
	    (size_t)((us >> (e - H_SUB_BITS)) & (H_SUB - 1));
	return i < H_BUCKETS ? i : H_BUCKETS - 1;
}

/* Upper bound (exclusive) of a bucket, in microseconds. */
static uint64_t
hist_upper(size_t i)
{
	size_t e, sub;

	if (i < H_LINEAR)
		return i + 1;
	e = (i - H_LINEAR) / H_SUB + 6;
	sub = (i - H_LINEAR) % H_SUB;
	return ((uint64_t)(H_SUB + sub + 1)) << (e - H_SUB_BITS);
}

static void
hist_add(struct hist *h, uint64_t us)
{
	h->count[hist_index(us)]++;
	h->n++;
	h->sum += us;
	if (us > h->max)
		h->max = us;
}

static void
hist_merge(struct hist *into, const struct hist *h)
{
	size_t i;

	for (i = 0; i < H_BUCKETS; i++)
		into->count[i] += h->count[i];
	into->n += h->n;
	into->sum += h->sum;
	if (h->max > into->max)
		into->max = h->max;
}

static uint64_t
hist_pct(const struct hist *h, double p)
{
	uint64_t want, seen = 0, up;
	size_t i;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(p * (double)h->n + 0.999999);
	if (want == 0)
		want = 1;
	for (i = 0; i < H_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= want) {
			up = hist_upper(i);
			return up < h->max ? up : h->max;
		}
	}
	return h->max;
}

/* --- small helpers ---------------------------------------------------- */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* xorshift64*: per-thread, no locking. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t
rnd_below(uint64_t *s, uint64_t n)
{
	return n == 0 ? 0 : rnd(s) % n;
}

static int
connect_unix(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* --- the daemon's figures from /proc ---------------------------------- */

struct proc_figs {
	double cpu_s;          /* utime + stime */
	long hwm_kib, rss_kib; /* VmHWM, VmRSS */
	long threads;
};

static int
proc_cpu(long pid, double *secs)
{
	char path[64], buf[2048], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and ')': fields follow the last. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* after ") ": state(3) ... utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
	    "%llu", &ut, &st) != 2)
		return -1;
	*secs = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

static int
proc_status(long pid, struct proc_figs *pf)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "VmHWM: %ld", &pf->hwm_kib);
		sscanf(line, "VmRSS: %ld", &pf->rss_kib);
		sscanf(line, "Threads: %ld", &pf->threads);
	}
	fclose(f);
	return 0;
}

/* --- requests: a tiny deterministic CBOR writer ----------------------- */

/*
 * Requests are written by hand rather than through libcbor so that the
 * load generator spends as little of the shared CPU as it can.  Map keys
 * are emitted in the order RFC 8949 §4.2.1 demands (shorter encodings
 * first); the daemon rejects anything else, so a mistake here shows up as
 * errors, never as a silently wrong figure.
 */
struct wr {
	unsigned char b[REQ_MAX];
	size_t n;
};

static void
cb_head(struct wr *w, unsigned major, uint64_t v)
{
	unsigned char m = (unsigned char)(major << 5);
	int bytes, i;

	if (v < 24) {
		w->b[w->n++] = m | (unsigned char)v;
		return;
	}
	if (v <= 0xff) {
		w->b[w->n++] = m | 24;
		bytes = 1;
	} else if (v <= 0xffff) {
		w->b[w->n++] = m | 25;
		bytes = 2;
	} else if (v <= 0xffffffffu) {
		w->b[w->n++] = m | 26;
		bytes = 4;
	} else {
		w->b[w->n++] = m | 27;
		bytes = 8;
	}
	for (i = bytes - 1; i >= 0; i--)
		w->b[w->n++] = (unsigned char)(v >> (8 * i));
}

static void
cb_str(struct wr *w, const char *s)
{
	size_t len = strlen(s);

	cb_head(w, 3, len);
	memcpy(w->b + w->n, s, len);
	w->n += len;
}

/* {"id": id, "op": op, "args": <caller writes a map of nargs>} */
static void
req_start(struct wr *w, uint64_t id, const char *op, unsigned nargs)
{
	w->n = 0;
	cb_head(w, 5, 3);
	cb_str(w, "id");
	cb_head(w, 0, id);
	cb_str(w, "op");
	cb_str(w, op);
	cb_str(w, "args");
	cb_head(w, 5, nargs);
}

static void
req_get(struct wr *w, uint64_t id, int64_t cust)
{
	req_start(w, id, "record.get", 2);
	cb_str(w, "id");
	cb_head(w, 0, (uint64_t)cust);
	cb_str(w, "kind");
	cb_str(w, "customer");
}

static void
req_list(struct wr *w, uint64_t id, uint64_t limit, uint64_t offset)
{
	req_start(w, id, "record.list", 3);
	cb_str(w, "kind");
	cb_str(w, "customer");
	cb_str(w, "limit");
	cb_head(w, 0, limit);
	cb_str(w, "offset");
	cb_head(w, 0, offset);
}

/* A call record: keys sorted as "outcome" < "started" < "duration" <
 * "customer_id" (length first, then bytes). */
static void
req_create(struct wr *w, uint64_t id, int64_t cust, uint64_t started,
    uint64_t duration)
{
	req_start(w, id, "record.create", 2);
	cb_str(w, "kind");
	cb_str(w, "call");
	cb_str(w, "fields");
	cb_head(w, 5, 4);
	cb_str(w, "outcome");
	cb_str(w, "answered");
	cb_str(w, "started");
	cb_head(w, 0, started);
	cb_str(w, "duration");
	cb_head(w, 0, duration);
	cb_str(w, "customer_id");
	cb_head(w, 0, (uint64_t)cust);
}

static void
cb_bytes(struct wr *w, const unsigned char *p, size_t n)
{
	cb_head(w, 2, n);
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

/* request.create: an update of the customer's company, keys in the order
 * id < op < kind < fields < reason < version. */
static void
req_file(struct wr *w, uint64_t id, int64_t cust, uint64_t version,
    uint64_t n)
{
	char company[48];

	snprintf(company, sizeof(company), "Bench Trading %" PRIu64, n);
	req_start(w, id, "request.create", 6);
	cb_str(w, "id");
	cb_head(w, 0, (uint64_t)cust);
	cb_str(w, "op");
	cb_str(w, "update");
	cb_str(w, "kind");
	cb_str(w, "customer");
	cb_str(w, "fields");
	cb_head(w, 5, 1);
	cb_str(w, "company");
	cb_str(w, company);
	cb_str(w, "reason");
	cb_str(w, "coffer-bench: the customer's company changed");
	cb_str(w, "version");
	cb_head(w, 0, version);
}

/* request.approve, signed: keys id < comment < signature. */
static void
req_approve(struct wr *w, uint64_t id, uint64_t req_id,
    const unsigned char sig[APPROVAL_SIG_BYTES])
{
	req_start(w, id, "request.approve", 3);
	cb_str(w, "id");
	cb_head(w, 0, req_id);
	cb_str(w, "comment");
	cb_str(w, "");
	cb_str(w, "signature");
	cb_bytes(w, sig, APPROVAL_SIG_BYTES);
}

/* --- one session ------------------------------------------------------ */

struct agent {
	char name[16];
	unsigned char *sk;       /* 64 bytes, sodium_malloc'd */
	int64_t *ids;            /* customers this agent owns */
	size_t nids, cap;
	/* those of them a call may be logged for: not flagged do-not-call
	 * (the daemon refuses the others, docs/dnc.md) */
	int64_t *callable;
	size_t ncallable;
	uint64_t total;          /* all its customers */
};

struct bench {
	struct config cfg;
	char socket[PATH_MAX];
	unsigned char daemon_pk[32];
	struct agent agents[AGENTS_MAX];
	unsigned nagents;
	struct agent managers[MANAGERS]; /* the request workload's approvers */
	_Atomic int phase;
	pthread_barrier_t ready;
	pthread_mutex_t err_mu;
	char first_error[256];
};

struct conn {
	int fd;
	struct session *s;
	uint64_t next_id;
};

static int
pin_daemon(void *arg, const unsigned char pk[SESSION_PUBKEY_BYTES])
{
	const struct bench *b = arg;

	return sodium_memcmp(pk, b->daemon_pk, 32) == 0 ? COFFER_OK :
	    COFFER_ERR_HOSTKEY;
}

static int
conn_open(struct bench *b, const struct agent *a, struct conn *c)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->next_id = 1;
	if ((c->fd = connect_unix(b->socket)) < 0)
		return COFFER_ERR_IO;
	rc = session_client(c->fd, a->name, a->sk, pin_daemon, b, &c->s);
	if (rc != COFFER_OK) {
		close(c->fd);
		c->fd = -1;
	}
	return rc;
}

static void
conn_close(struct conn *c)
{
	session_free(c->s);
	c->s = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/*
 * Read one response, check the envelope (same id, "ok": true) and return
 * the result map as a new reference.  A daemon error comes back as its
 * status with the message in err.
 */
static int
conn_finish(struct conn *c, uint64_t id, cbor_item_t **result, char *err,
    size_t errsz)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	cbor_item_t *resp = NULL;
	const cbor_item_t *e, *res;
	uint64_t got = 0, code = 0;
	int ok = 0, rc;

	*result = NULL;
	if ((rc = session_recv(c->s, &buf, &len)) != COFFER_OK) {
		snprintf(err, errsz, "session: %s", coffer_strerror(rc));
		return rc;
	}
	rc = msg_decode(buf, len, &resp);
	free(buf);
	if (rc != COFFER_OK) {
		snprintf(err, errsz, "response does not decode");
		return COFFER_ERR_PROTO;
	}
	rc = COFFER_ERR_PROTO;
	if (!cbor_isa_map(resp) || msg_get_uint(resp, "id", &got) != COFFER_OK ||
	    got != id || msg_get_bool(resp, "ok", &ok) != COFFER_OK) {
		snprintf(err, errsz, "malformed response envelope");
		goto out;
	}
	if (!ok) {
		char name[32] = "?", message[160] = "";

		e = msg_get(resp, "error");
		if (e != NULL && msg_get_uint(e, "code", &code) == COFFER_OK &&
		    code > 0 && code < 1000)
			rc = (int)code;
		if (e != NULL) {
			msg_get_str(e, "name", name, sizeof(name));
			msg_get_str(e, "message", message, sizeof(message));
		}
		snprintf(err, errsz, "daemon: %s: %s", name, message);
		goto out;
	}
	if ((res = msg_get(resp, "result")) == NULL || !cbor_isa_map(res)) {
		snprintf(err, errsz, "response without a result map");
		goto out;
	}
	*result = cbor_incref((cbor_item_t *)res);
	rc = COFFER_OK;
out:
	cbor_decref(&resp);
	return rc;
}

/* Send one encoded request and wait for its response (conn_finish). */
static int
conn_call(struct conn *c, const struct wr *w, uint64_t id,
    cbor_item_t **result, char *err, size_t errsz)
{
	int rc;

	*result = NULL;
	if ((rc = session_send(c->s, w->b, w->n)) != COFFER_OK) {
		snprintf(err, errsz, "session: %s", coffer_strerror(rc));
		return rc;
	}
	return conn_finish(c, id, result, err, errsz);
}

/*
 * A filed request must be pending with its id and hash; an approval must
 * have applied it (one approval is all the shipped policy asks of a
 * manager for a customer's data).
 */
static int
check_flow(enum opkind k, const cbor_item_t *res, char *err, size_t errsz)
{
	const cbor_item_t *q = k == OP_FILE ? msg_get(res, "request") : res;
	const unsigned char *h = NULL;
	char state[16] = "";
	uint64_t rid = 0;
	size_t hlen = 0;

	if (q == NULL || !cbor_isa_map(q) ||
	    msg_get_uint(q, "id", &rid) != COFFER_OK || rid == 0 ||
	    msg_get_str(q, "state", state, sizeof(state)) != COFFER_OK ||
	    (k == OP_FILE && (msg_get_bytes(q, "hash", &h, &hlen) !=
	    COFFER_OK || hlen != APPROVAL_HASH_BYTES))) {
		snprintf(err, errsz, "%s: unexpected result", op_names[k]);
		return COFFER_ERR_PROTO;
	}
	if (strcmp(state, k == OP_FILE ? "pending" : "applied") != 0) {
		snprintf(err, errsz, "%s: request %" PRIu64 " is %s", op_names[k],
		    rid, state);
		return COFFER_ERR_CONFLICT;
	}
	return COFFER_OK;
}

/* The check each workload applies to what came back. */
static int
check_result(enum opkind k, const cbor_item_t *res, int64_t want_id,
    char *err, size_t errsz)
{
	const cbor_item_t *rec, *recs;
	int64_t id = 0;

	switch (k) {
	case OP_GET:
	case OP_CREATE:
		rec = msg_get(res, "record");
		if (rec == NULL || !cbor_isa_map(rec) ||
		    msg_get_int(rec, "id", &id) != COFFER_OK ||
		    (k == OP_GET && id != want_id)) {
			snprintf(err, errsz, "%s: wrong or missing record",
			    k == OP_GET ? "get" : "create");
			return COFFER_ERR_PROTO;
		}
		return COFFER_OK;
	case OP_LIST:
		recs = msg_get(res, "records");
		if (recs == NULL || !cbor_isa_array(recs) ||
		    cbor_array_size(recs) > LIST_LIMIT) {
			snprintf(err, errsz, "list: no records array");
			return COFFER_ERR_PROTO;
		}
		return COFFER_OK;
	case OP_FILE:
	case OP_APPROVE:
		return check_flow(k, res, err, errsz);
	case OP_KINDS:
		break;
	}
	return COFFER_ERR_INTERNAL;
}

/* --- setup: the customer ids each agent may read ---------------------- */

static int
list_page(struct conn *c, uint64_t limit, uint64_t offset, struct agent *a,
    char *err, size_t errsz)
{
	struct wr w;
	cbor_item_t *res = NULL;
	const cbor_item_t *recs;
	uint64_t id = c->next_id++, total = 0;
	size_t i, n;
	int rc;

	req_list(&w, id, limit, offset);
	if ((rc = conn_call(c, &w, id, &res, err, errsz)) != COFFER_OK)
		return rc;
	recs = msg_get(res, "records");
	if (recs == NULL || !cbor_isa_array(recs) ||
	    msg_get_uint(res, "total", &total) != COFFER_OK) {
		snprintf(err, errsz, "record.list: unexpected result");
		rc = COFFER_ERR_PROTO;
		goto out;
	}
	a->total = total;
	n = cbor_array_size(recs);
	for (i = 0; i < n; i++) {
		const cbor_item_t *rec = cbor_array_handle(recs)[i];
		int64_t rid;
		int dnc = 1;

		if (a->nids >= a->cap || msg_get_int(rec, "id", &rid) !=
		    COFFER_OK)
			continue;
		a->ids[a->nids++] = rid;
		if (msg_get_bool(rec, "do_not_call", &dnc) == COFFER_OK && !dnc)
			a->callable[a->ncallable++] = rid;
	}
out:
	cbor_decref(&res);
	return rc;
}

/*
 * One session per agent lists its customers: the first page tells the
 * total, further pages at random offsets fill the pool, so point reads
 * hit rows spread over the whole table, not just its first pages.
 */
static int
collect_ids(struct bench *b, struct agent *a, uint64_t *rs, char *err,
    size_t errsz)
{
	struct conn c;
	size_t want = b->cfg.ids_per_agent;
	int rc;

	if ((a->ids = calloc(want + PAGE, sizeof(*a->ids))) == NULL ||
	    (a->callable = calloc(want + PAGE, sizeof(*a->callable))) == NULL)
		return COFFER_ERR_NOMEM;
	a->cap = want + PAGE;
	if ((rc = conn_open(b, a, &c)) != COFFER_OK) {
		snprintf(err, errsz, "%s: handshake: %s", a->name,
		    coffer_strerror(rc));
		return rc;
	}
	rc = list_page(&c, PAGE, 0, a, err, errsz);
	while (rc == COFFER_OK && a->nids < want && a->total > a->nids) {
		uint64_t span = a->total > PAGE ? a->total - PAGE : 0;
		size_t before = a->nids;

		rc = list_page(&c, PAGE, rnd_below(rs, span + 1), a, err,
		    errsz);
		if (a->nids == before)
			break;
	}
	conn_close(&c);
	if (rc == COFFER_OK && (a->nids == 0 || a->ncallable == 0)) {
		snprintf(err, errsz, "%s owns no customers%s", a->name,
		    a->nids ? " that may be called" : "");
		rc = COFFER_ERR_NOT_FOUND;
	}
	return rc;
}

/* A user's secret key from the vault's keys/ into sodium_malloc'd memory. */
static int
load_key(const struct bench *b, struct agent *a)
{
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/keys/%s.key", b->cfg.vault, a->name);
	if ((a->sk = sodium_malloc(64)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = userkey_load_secret(path, NULL, 0, a->sk)) != COFFER_OK)
		fprintf(stderr, "coffer-bench: %s: %s\n", path,
		    coffer_strerror(rc));
	return rc;
}

static int
load_agents(struct bench *b)
{
	char path[PATH_MAX], err[256] = "";
	uint64_t rs = b->cfg.seed * 2654435761u + 1;
	unsigned i;
	int rc;

	snprintf(path, sizeof(path), "%s/daemon.pub", b->cfg.vault);
	if ((rc = userkey_load_public(path, b->daemon_pk)) != COFFER_OK) {
		fprintf(stderr, "coffer-bench: %s: %s\n", path,
		    coffer_strerror(rc));
		return rc;
	}
	b->nagents = b->cfg.agents;
	for (i = 0; i < b->nagents; i++) {
		struct agent *a = &b->agents[i];

		snprintf(a->name, sizeof(a->name), "agent%02u", i + 1);
		if ((rc = load_key(b, a)) != COFFER_OK)
			return rc;
		if ((rc = collect_ids(b, a, &rs, err, sizeof(err))) !=
		    COFFER_OK) {
			fprintf(stderr, "coffer-bench: setup: %s\n", err);
			return rc;
		}
	}
	if (b->cfg.workload != W_REQUEST)
		return COFFER_OK;
	for (i = 0; i < MANAGERS; i++) {
		snprintf(b->managers[i].name, sizeof(b->managers[i].name),
		    "%s", i == 0 ? "mgr-north" : "mgr-south");
		if ((rc = load_key(b, &b->managers[i])) != COFFER_OK)
			return rc;
	}
	return COFFER_OK;
}

static void
free_agents(struct bench *b)
{
	unsigned i;

	for (i = 0; i < MANAGERS; i++)
		if (b->managers[i].sk != NULL)
			sodium_free(b->managers[i].sk);
	for (i = 0; i < AGENTS_MAX; i++) {
		if (b->agents[i].sk != NULL)
			sodium_free(b->agents[i].sk);
		free(b->agents[i].ids);
		free(b->agents[i].callable);
	}
}

/* --- the workers ------------------------------------------------------ */

/*
 * Each worker thread drives its share of the sessions, like pgbench -j:
 * every session has one request outstanding; poll() says whose response
 * has arrived, which is read, checked and followed at once by that
 * session's next request.  Two threads on a 2-core machine leave the
 * daemon the CPU a thread per session would spend switching.
 */
struct slot {
	struct agent *a;
	struct conn c;
	int connected;
	int outstanding;         /* a request is out, its answer unread */
	enum opkind k;
	int64_t cust;
	uint64_t id, t0, hs_ns;
	/* The request workload: the agent's session files a change to this
	 * slot's own customer (no other slot touches it, so no conflicts),
	 * its manager's session approves it. */
	struct agent *mgr;
	struct conn mc;
	struct conn *cur;        /* where the outstanding request went */
	int64_t own;             /* the slot's customer */
	uint64_t version, req_id, nfiled;
	unsigned char hash[APPROVAL_HASH_BYTES];
};

struct worker {
	struct bench *b;
	pthread_t tid;
	struct slot *slots;
	unsigned nslots;
	uint64_t rs;
	struct hist h;
	uint64_t ok, errors, by_op[OP_KINDS];
};

static enum opkind
pick_op(struct worker *w)
{
	uint64_t r;

	switch (w->b->cfg.workload) {
	case W_GET: return OP_GET;
	case W_LIST: return OP_LIST;
	case W_CREATE: return OP_CREATE;
	case W_REQUEST: return OP_GET;	/* not used: see issue_flow */
	case W_MIX:
		break;
	}
	r = rnd_below(&w->rs, 100);   /* 80% reads, 15% creates, 5% lists */
	return r < 80 ? OP_GET : r < 95 ? OP_CREATE : OP_LIST;
}

/*
 * The change-request flow's next step: read the customer (for its
 * version), file an update of it, approve that as the agent's manager,
 * with the manager's signature over the request's hash.
 */
static int
build_flow(struct slot *sl, struct wr *req)
{
	unsigned char sig[APPROVAL_SIG_BYTES];

	sl->cur = sl->k == OP_APPROVE ? &sl->mc : &sl->c;
	sl->id = sl->cur->next_id++;
	sl->cust = sl->own;
	switch (sl->k) {
	case OP_GET:
		req_get(req, sl->id, sl->own);
		return COFFER_OK;
	case OP_FILE:
		req_file(req, sl->id, sl->own, sl->version, ++sl->nfiled);
		return COFFER_OK;
	case OP_APPROVE:
		if (approval_sign(sl->mgr->sk, sl->req_id, sl->hash, "approve",
		    "", sl->mgr->name, sig) != COFFER_OK)
			return COFFER_ERR_CRYPTO;
		req_approve(req, sl->id, sl->req_id, sig);
		return COFFER_OK;
	default:
		return COFFER_ERR_INTERNAL;
	}
}

/* What the flow's next step needs from this step's result. */
static int
take_flow(struct slot *sl, const cbor_item_t *res)
{
	const cbor_item_t *q;
	const unsigned char *h = NULL;
	size_t hlen = 0;
	int64_t v = 0;

	switch (sl->k) {
	case OP_GET:
		if (msg_get_int(msg_get(res, "record"), "version", &v) !=
		    COFFER_OK || v < 1)
			return COFFER_ERR_PROTO;
		sl->version = (uint64_t)v;
		sl->k = OP_FILE;
		return COFFER_OK;
	case OP_FILE:
		q = msg_get(res, "request");
		if (msg_get_uint(q, "id", &sl->req_id) != COFFER_OK ||
		    msg_get_bytes(q, "hash", &h, &hlen) != COFFER_OK ||
		    hlen != sizeof(sl->hash))
			return COFFER_ERR_PROTO;
		memcpy(sl->hash, h, hlen);
		sl->k = OP_APPROVE;
		return COFFER_OK;
	default:
		sl->k = OP_GET;
		return COFFER_OK;
	}
}

/* Build and send the slot's next request. */
static int
issue(struct worker *w, struct slot *sl, char *err, size_t errsz)
{
	struct agent *a = sl->a;
	uint64_t span;
	struct wr req;
	int rc;

	if (w->b->cfg.workload == W_REQUEST) {
		if ((rc = build_flow(sl, &req)) != COFFER_OK) {
			snprintf(err, errsz, "%s: cannot sign the approval",
			    sl->mgr->name);
			return rc;
		}
		goto send;
	}
	sl->cur = &sl->c;
	sl->k = pick_op(w);
	sl->cust = a->ids[rnd_below(&w->rs, a->nids)];
	sl->id = sl->c.next_id++;
	switch (sl->k) {
	case OP_GET:
		req_get(&req, sl->id, sl->cust);
		break;
	case OP_LIST:
		span = a->total < LIST_SPAN ? a->total : LIST_SPAN;
		req_list(&req, sl->id, LIST_LIMIT, span > LIST_LIMIT ?
		    rnd_below(&w->rs, span - LIST_LIMIT + 1) : 0);
		break;
	case OP_CREATE:
		sl->cust = a->callable[rnd_below(&w->rs, a->ncallable)];
		req_create(&req, sl->id, sl->cust, (uint64_t)time(NULL) -
		    rnd_below(&w->rs, 86400), 30 + rnd_below(&w->rs, 600));
		break;
	default:
		return COFFER_ERR_INTERNAL;
	}
send:
	sl->t0 = now_ns();
	if ((rc = session_send(sl->cur->s, req.b, req.n)) != COFFER_OK)
		snprintf(err, errsz, "session: %s", coffer_strerror(rc));
	sl->outstanding = rc == COFFER_OK;
	return rc;
}

/* Read and check the slot's response; *k gets what it answered. */
static int
complete(struct slot *sl, enum opkind *k, char *err, size_t errsz)
{
	cbor_item_t *res = NULL;
	int rc;

	sl->outstanding = 0;
	*k = sl->k;
	if ((rc = conn_finish(sl->cur, sl->id, &res, err, errsz)) == COFFER_OK)
		rc = check_result(sl->k, res, sl->cust, err, errsz);
	if (rc == COFFER_OK && sl->mgr != NULL &&
	    (rc = take_flow(sl, res)) != COFFER_OK)
		snprintf(err, errsz, "%s: unexpected result", op_names[*k]);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}

static void
slot_close(struct slot *sl)
{
	conn_close(&sl->c);
	if (sl->mgr != NULL)
		conn_close(&sl->mc);
	sl->connected = 0;
}

static void
note_error(struct bench *b, const char *msg)
{
	pthread_mutex_lock(&b->err_mu);
	if (b->first_error[0] == '\0')
		snprintf(b->first_error, sizeof(b->first_error), "%s", msg);
	pthread_mutex_unlock(&b->err_mu);
}

static void
slot_failed(struct worker *w, struct slot *sl, int rc, const char *err)
{
	w->errors++;
	note_error(w->b, err);
	if (rc == COFFER_ERR_IO || rc == COFFER_ERR_EOF ||
	    rc == COFFER_ERR_CRYPTO || rc == COFFER_ERR_PROTO ||
	    sl->mgr != NULL)	/* a broken flow cannot go on */
		slot_close(sl);
}

static void
open_slots(struct worker *w)
{
	char err[256];
	unsigned i;
	uint64_t t0;
	int rc;

	for (i = 0; i < w->nslots; i++) {
		struct slot *sl = &w->slots[i];

		t0 = now_ns();
		rc = conn_open(w->b, sl->a, &sl->c);
		sl->hs_ns = now_ns() - t0;
		sl->cur = &sl->c;
		if (rc == COFFER_OK && sl->mgr != NULL &&
		    (rc = conn_open(w->b, sl->mgr, &sl->mc)) != COFFER_OK)
			conn_close(&sl->c);
		sl->connected = rc == COFFER_OK;
		if (!sl->connected) {
			w->errors++;
			snprintf(err, sizeof(err), "%s: handshake: %s",
			    sl->a->name, coffer_strerror(rc));
			note_error(w->b, err);
		}
	}
}

/* One response arrived on sl: record it and send the next request. */
static void
turn(struct worker *w, struct slot *sl)
{
	char err[256];
	enum opkind k;
	uint64_t t1;
	int rc;

	rc = complete(sl, &k, err, sizeof(err));
	t1 = now_ns();
	if (rc != COFFER_OK) {
		slot_failed(w, sl, rc, err);
	} else if (atomic_load(&w->b->phase) == PH_MEASURE) {
		hist_add(&w->h, (t1 - sl->t0 + 500) / 1000);
		w->ok++;
		w->by_op[k]++;
	}
	if (sl->connected && atomic_load(&w->b->phase) != PH_STOP &&
	    (rc = issue(w, sl, err, sizeof(err))) != COFFER_OK)
		slot_failed(w, sl, rc, err);
}

/*
 * Handshakes, wait for every session to be up, then keep each session
 * busy until told to stop.  Only requests that complete while the phase
 * is "measure" enter the histogram; errors count in every phase, since a
 * run with any error is invalid.  A session-level failure ends the session.
 */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct pollfd *pf = calloc(w->nslots, sizeof(*pf));
	struct slot **who = calloc(w->nslots, sizeof(*who));
	char err[256];
	unsigned i;
	nfds_t n;
	int rc;

	open_slots(w);
	pthread_barrier_wait(&w->b->ready);
	if (pf == NULL || who == NULL)
		goto out;
	for (i = 0; i < w->nslots; i++)
		if (w->slots[i].connected &&
		    (rc = issue(w, &w->slots[i], err, sizeof(err))) != COFFER_OK)
			slot_failed(w, &w->slots[i], rc, err);
	while (atomic_load(&w->b->phase) != PH_STOP) {
		for (i = 0, n = 0; i < w->nslots; i++)
			if (w->slots[i].connected) {
				pf[n] = (struct pollfd){
				    .fd = w->slots[i].cur->fd,
				    .events = POLLIN };
				who[n++] = &w->slots[i];
			}
		if (n == 0)
			break;
		if (poll(pf, n, 100) < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
			if (pf[i].revents != 0)
				turn(w, who[i]);
	}
	/* The requests still out: their answers are read, not counted. */
	for (i = 0; i < w->nslots; i++) {
		enum opkind k;

		if (w->slots[i].connected && w->slots[i].outstanding &&
		    complete(&w->slots[i], &k, err, sizeof(err)) != COFFER_OK) {
			w->errors++;
			note_error(w->b, err);
		}
	}
out:
	for (i = 0; i < w->nslots; i++)
		if (w->slots[i].connected)
			slot_close(&w->slots[i]);
	free(pf);
	free(who);
	return NULL;
}

/* --- a run ------------------------------------------------------------ */

struct outcome {
	struct hist h;
	uint64_t ok, errors, by_op[OP_KINDS];
	double secs, client_cpu_s;
	double hs_mean_ms, hs_max_ms;
	unsigned sessions;
	int have_daemon;
	double daemon_cpu_s;
	struct proc_figs daemon;
};

static double
rusage_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
collect(struct worker *ws, unsigned n, struct slot *slots, unsigned nslots,
    struct outcome *o)
{
	double hs_sum = 0;
	unsigned i;
	int k;

	for (i = 0; i < n; i++) {
		hist_merge(&o->h, &ws[i].h);
		o->ok += ws[i].ok;
		o->errors += ws[i].errors;
		for (k = 0; k < OP_KINDS; k++)
			o->by_op[k] += ws[i].by_op[k];
	}
	for (i = 0; i < nslots; i++) {
		hs_sum += (double)slots[i].hs_ns / 1e6;
		if ((double)slots[i].hs_ns / 1e6 > o->hs_max_ms)
			o->hs_max_ms = (double)slots[i].hs_ns / 1e6;
	}
	o->hs_mean_ms = nslots ? hs_sum / nslots : 0;
}

static int
run_load(struct bench *b, struct outcome *o)
{
	struct worker *ws = NULL;
	struct slot *slots = NULL;
	unsigned nt = b->cfg.threads < b->cfg.clients ? b->cfg.threads :
	    b->cfg.clients;
	double cpu0 = 0, cpu1 = 0, ccpu0;
	uint64_t t0;
	unsigned i, started = 0;

	if ((ws = calloc(nt, sizeof(*ws))) == NULL ||
	    (slots = calloc(b->cfg.clients, sizeof(*slots))) == NULL) {
		free(ws);
		return COFFER_ERR_NOMEM;
	}
	for (i = 0; i < b->cfg.clients; i++) {
		struct agent *a = &b->agents[i % b->nagents];

		slots[i].a = a;
		if (b->cfg.workload != W_REQUEST)
			continue;
		/* agents 1-5 are mgr-north's, 6-10 mgr-south's; a slot's
		 * customer is the agent's (i / nagents)-th, its own */
		slots[i].mgr = &b->managers[(i % b->nagents) < 5 ? 0 : 1];
		slots[i].own = a->ids[(i / b->nagents) % a->nids];
		slots[i].k = OP_GET;
	}
	pthread_barrier_init(&b->ready, NULL, nt + 1);
	atomic_store(&b->phase, PH_WARMUP);
	for (i = 0; i < nt; i++) {
		/* sessions dealt out in contiguous runs, as evenly as may be */
		unsigned from = (unsigned)((uint64_t)b->cfg.clients * i / nt);
		unsigned to = (unsigned)((uint64_t)b->cfg.clients * (i + 1) /
		    nt);

		ws[i].b = b;
		ws[i].slots = &slots[from];
		ws[i].nslots = to - from;
		ws[i].rs = (b->cfg.seed + 1) * 0x9e3779b97f4a7c15ULL + i * 7919u +
		    1;
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0)
			break;
		started++;
	}
	if (started < nt) {
		/* The barrier can never fill: say so and stop here. */
		fprintf(stderr, "coffer-bench: cannot start %u threads\n", nt);
		exit(1);
	}
	pthread_barrier_wait(&b->ready);
	for (i = 0; i < b->cfg.clients; i++)
		o->sessions += (unsigned)slots[i].connected;
	sleep_s(b->cfg.warmup);
	if (b->cfg.pid > 0 && proc_cpu(b->cfg.pid, &cpu0) == 0)
		o->have_daemon = 1;
	ccpu0 = rusage_cpu();
	t0 = now_ns();
	atomic_store(&b->phase, PH_MEASURE);
	sleep_s(b->cfg.duration);
	atomic_store(&b->phase, PH_STOP);
	o->secs = (double)(now_ns() - t0) / 1e9;
	if (o->have_daemon && proc_cpu(b->cfg.pid, &cpu1) == 0)
		o->daemon_cpu_s = cpu1 - cpu0;
	o->client_cpu_s = rusage_cpu() - ccpu0;
	for (i = 0; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	if (o->have_daemon)
		proc_status(b->cfg.pid, &o->daemon);
	collect(ws, started, slots, b->cfg.clients, o);
	pthread_barrier_destroy(&b->ready);
	free(slots);
	free(ws);
	return COFFER_OK;
}

/* --- output ----------------------------------------------------------- */

static void
json_text(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void
print_json(const struct bench *b, const struct outcome *o)
{
	const struct config *c = &b->cfg;
	double tps = o->secs > 0 ? (double)o->ok / o->secs : 0;

	printf("{\"tool\":\"coffer-bench\",\"label\":");
	json_text(c->label != NULL ? c->label : "");
	printf(",\"workload\":\"%s\",\"clients\":%u,\"threads\":%u,"
	    "\"sessions\":%u,"
	    "\"seconds\":%.3f,\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
	    ",\"valid\":%s,\"tps\":%.1f,", workload_names[c->workload],
	    c->clients, c->threads, o->sessions, o->secs, o->ok, o->errors,
	    o->errors == 0 && o->ok > 0 ? "true" : "false", tps);
	printf("\"ops\":{\"get\":%" PRIu64 ",\"list\":%" PRIu64 ",\"create\":%"
	    PRIu64 ",\"request\":%" PRIu64 ",\"approve\":%" PRIu64 "},",
	    o->by_op[OP_GET], o->by_op[OP_LIST], o->by_op[OP_CREATE],
	    o->by_op[OP_FILE], o->by_op[OP_APPROVE]);
	printf("\"latency_us\":{\"mean\":%.1f,\"p50\":%" PRIu64 ",\"p90\":%"
	    PRIu64 ",\"p99\":%" PRIu64 ",\"max\":%" PRIu64 "},",
	    o->h.n ? (double)o->h.sum / (double)o->h.n : 0.0,
	    hist_pct(&o->h, 0.50), hist_pct(&o->h, 0.90),
	    hist_pct(&o->h, 0.99), o->h.max);
	printf("\"handshake_ms\":{\"mean\":%.2f,\"max\":%.2f},"
	    "\"client_cpu_s\":%.3f,", o->hs_mean_ms, o->hs_max_ms,
	    o->client_cpu_s);
	if (o->have_daemon)
		printf("\"daemon\":{\"pid\":%ld,\"cpu_s\":%.3f,"
		    "\"cpu_us_per_req\":%.1f,\"vmhwm_kib\":%ld,\"vmrss_kib\":%ld,"
		    "\"threads\":%ld},", c->pid, o->daemon_cpu_s,
		    o->ok ? o->daemon_cpu_s * 1e6 / (double)o->ok : 0.0,
		    o->daemon.hwm_kib, o->daemon.rss_kib, o->daemon.threads);
	printf("\"first_error\":");
	json_text(b->first_error);
	printf("}\n");
}

static void
print_text(const struct bench *b, const struct outcome *o)
{
	const struct config *c = &b->cfg;

	printf("coffer-bench%s%s%s: %s, %u clients (%u sessions up), %.1f s\n",
	    c->label ? " [" : "", c->label ? c->label : "", c->label ? "]" : "",
	    workload_names[c->workload], c->clients, o->sessions, o->secs);
	printf("  throughput  %.0f requests/s (%" PRIu64 " requests; get %"
	    PRIu64 ", list %" PRIu64 ", create %" PRIu64 ", request %" PRIu64
	    ", approve %" PRIu64 ")\n",
	    o->secs > 0 ? (double)o->ok / o->secs : 0, o->ok,
	    o->by_op[OP_GET], o->by_op[OP_LIST], o->by_op[OP_CREATE],
	    o->by_op[OP_FILE], o->by_op[OP_APPROVE]);
	if (c->workload == W_REQUEST)
		printf("  flows       %.0f change requests filed and applied/s "
		    "(read, file, approve)\n", o->secs > 0 ?
		    (double)o->by_op[OP_APPROVE] / o->secs : 0);
	printf("  latency     p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max "
	    "%.2f ms  (mean %.2f ms)\n", hist_pct(&o->h, 0.5) / 1e3,
	    hist_pct(&o->h, 0.9) / 1e3, hist_pct(&o->h, 0.99) / 1e3,
	    (double)o->h.max / 1e3,
	    o->h.n ? (double)o->h.sum / (double)o->h.n / 1e3 : 0.0);
	printf("  handshake   mean %.1f ms, max %.1f ms (all at once)\n",
	    o->hs_mean_ms, o->hs_max_ms);
	printf("  client CPU  %.2f s\n", o->client_cpu_s);
	if (o->have_daemon)
		printf("  daemon      CPU %.2f s (%.1f us/request), peak RSS "
		    "%.1f MiB, RSS now %.1f MiB, %ld threads\n",
		    o->daemon_cpu_s, o->ok ? o->daemon_cpu_s * 1e6 /
		    (double)o->ok : 0.0, o->daemon.hwm_kib / 1024.0,
		    o->daemon.rss_kib / 1024.0, o->daemon.threads);
	printf("  errors      %" PRIu64 "%s%s%s\n", o->errors,
	    o->errors ? "  -> RUN INVALID (first: " : "",
	    o->errors ? b->first_error : "", o->errors ? ")" : "");
}

/* --- the policy micro-benchmark --------------------------------------- */

/*
 * access_decide under the compiled-in default policy, over a rotating set
 * of subjects, actions and kinds (the common allow path of an agent reading
 * a customer dominates, as in real traffic).  It lives in libcoffer.a, so
 * the compiler cannot fold it away.
 */
static int
run_policy(const struct config *c)
{
	static const enum user_role roles[] = { ROLE_AGENT, ROLE_AGENT,
		ROLE_AGENT, ROLE_MANAGER, ROLE_COMPLIANCE, ROLE_ADMIN };
	static const enum access_action acts[] = { ACT_READ, ACT_READ,
		ACT_LIST, ACT_CREATE, ACT_UPDATE, ACT_USER_READ };
	static const char *const kinds[] = { "customer", "customer", "call",
		"product", "deal", "note" };
	struct access_subject subj[6];
	const struct kind_def *k[6];
	struct access_decision d;
	struct policy *pol = NULL;
	struct policy_error perr;
	volatile unsigned long sink = 0;
	uint64_t i, t0, ns, allowed = 0;

	memset(&perr, 0, sizeof(perr));
	if (policy_load_buffer("default", access_default_policy,
	    access_default_policy_len, &pol, &perr) != COFFER_OK) {
		fprintf(stderr, "coffer-bench: default policy: line %u: %s\n",
		    perr.line, perr.message);
		return 1;
	}
	memset(subj, 0, sizeof(subj));
	for (i = 0; i < 6; i++) {
		subj[i].user_id = (int64_t)i + 5;
		subj[i].role = roles[i];
		subj[i].role_name = store_role_name(roles[i]);
		snprintf(subj[i].team, sizeof(subj[i].team), "north");
		snprintf(subj[i].clearance, sizeof(subj[i].clearance),
		    "confidential");
		if ((k[i] = schema_kind(kinds[i])) == NULL) {
			policy_free(pol);
			return 1;
		}
	}
	t0 = now_ns();
	for (i = 0; i < c->policy_iters; i++) {
		size_t s = i % 6, a = (i / 6) % 6;

		if (access_decide(pol, &subj[s], acts[a], acts[a] ==
		    ACT_USER_READ ? NULL : k[(i / 36) % 6], &d) == COFFER_OK)
			allowed++;
		sink += (unsigned long)d.pd.scope.kind;
	}
	ns = now_ns() - t0;
	policy_free(pol);
	if (c->json)
		printf("{\"tool\":\"coffer-bench\",\"label\":\"policy\","
		    "\"decisions\":%" PRIu64 ",\"allowed\":%" PRIu64 ","
		    "\"seconds\":%.3f,\"ns_per_decision\":%.1f}\n",
		    c->policy_iters, allowed, (double)ns / 1e9,
		    (double)ns / (double)c->policy_iters);
	else
		printf("access_decide: %" PRIu64 " decisions (%" PRIu64
		    " allowed) in %.3f s: %.1f ns/decision\n", c->policy_iters,
		    allowed, (double)ns / 1e9,
		    (double)ns / (double)c->policy_iters);
	(void)sink;
	return 0;
}

/* --- command line ----------------------------------------------------- */

static const char usage_text[] =
"usage: coffer-bench -d VAULT [-s SOCKET] [-w get|list|create|mix|request]\n"
"                    [-c CLIENTS] [-j THREADS] [-t SECONDS]\n"
"                    [--warmup SECONDS]\n"
"                    [--pid DAEMON_PID] [--agents N] [--ids N] [--seed S]\n"
"                    [--label TEXT] [--json]\n"
"       coffer-bench --policy [-n DECISIONS] [--json]\n"
"\n"
"Drive a running cofferd serving a demo vault (coffer-admin demo) with\n"
"CLIENTS concurrent sessions, each a real handshake as one of the demo\n"
"agents agent01..agentN (round robin), for SECONDS after a warm-up,\n"
"driven by THREADS threads (default 2, as pgbench -j 2 in make bench),\n"
"each keeping one request outstanding on each of its sessions.  Each\n"
"agent first lists its own customers to collect --ids customer ids (an\n"
"agent may only read its own), then the workload runs:\n"
"  get     record.get of a random own customer (the headline)\n"
"  list    record.list of 50 own customers at a random offset < 1000\n"
"  create  record.create of a call on an own customer\n"
"  mix     80% get, 15% create, 5% list\n"
"  request the change-request flow, three requests in turn: the agent\n"
"          reads a customer of its own (one per session), files an\n"
"          update of its company, and its manager (mgr-north for agent01-\n"
"          05, mgr-south for agent06-10, on a second session) approves it\n"
"          with a signature, which applies it\n"
"Every response is checked; a run with any error is reported INVALID and\n"
"exits 3.  --pid: report that process's CPU time over the measured\n"
"window and its peak RSS (VmHWM).  --policy: time access_decide() alone.\n"
"\n"
"exit status: 0 valid run, 1 failure, 2 usage, 3 run with errors.\n";

static int
parse_workload(const char *s, enum workload *w)
{
	size_t i;

	for (i = 0; i < sizeof(workload_names) / sizeof(workload_names[0]);
	    i++)
		if (strcmp(s, workload_names[i]) == 0) {
			*w = (enum workload)i;
			return 0;
		}
	return -1;
}

static int
parse_num(const char *s, double min, double max, double *out)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_options(int argc, char **argv, struct config *c)
{
	static const struct option lo[] = {
		{ "vault", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "workload", required_argument, NULL, 'w' },
		{ "clients", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 'j' },
		{ "duration", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "pid", required_argument, NULL, 'P' },
		{ "agents", required_argument, NULL, 'A' },
		{ "ids", required_argument, NULL, 'I' },
		{ "seed", required_argument, NULL, 'S' },
		{ "label", required_argument, NULL, 'L' },
		{ "json", no_argument, NULL, 'J' },
		{ "policy", no_argument, NULL, 'Y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	double v;
	int ch;

	memset(c, 0, sizeof(*c));
	c->clients = 64;
	c->threads = 2;
	c->agents = AGENTS_MAX;
	c->ids_per_agent = 2000;
	c->duration = 10;
	c->warmup = 2;
	c->seed = 1;
	c->policy_iters = 20000000;
	while ((ch = getopt_long(argc, argv, "d:s:w:c:j:t:n:h", lo, NULL)) !=
	    -1) {
		v = 0;
		switch (ch) {
		case 'd': c->vault = optarg; break;
		case 's': c->socket = optarg; break;
		case 'L': c->label = optarg; break;
		case 'J': c->json = 1; break;
		case 'Y': c->policy = 1; break;
		case 'h': fputs(usage_text, stdout); return -1;
		case 'w':
			if (parse_workload(optarg, &c->workload) != 0)
				goto bad;
			break;
		case 'c':
			if (parse_num(optarg, 1, 4096, &v) != 0)
				goto bad;
			c->clients = (unsigned)v;
			break;
		case 'j':
			if (parse_num(optarg, 1, 256, &v) != 0)
				goto bad;
			c->threads = (unsigned)v;
			break;
		case 't':
			if (parse_num(optarg, 0.1, 3600, &c->duration) != 0)
				goto bad;
			break;
		case 'W':
			if (parse_num(optarg, 0, 600, &c->warmup) != 0)
				goto bad;
			break;
		case 'P':
			if (parse_num(optarg, 1, 4194304, &v) != 0)
				goto bad;
			c->pid = (long)v;
			break;
		case 'A':
			if (parse_num(optarg, 1, AGENTS_MAX, &v) != 0)
				goto bad;
			c->agents = (unsigned)v;
			break;
		case 'I':
			if (parse_num(optarg, 1, 1000000, &v) != 0)
				goto bad;
			c->ids_per_agent = (unsigned)v;
			break;
		case 'S':
			if (parse_num(optarg, 0, 1e15, &v) != 0)
				goto bad;
			c->seed = (uint64_t)v;
			break;
		case 'n':
			if (parse_num(optarg, 1, 1e12, &v) != 0)
				goto bad;
			c->policy_iters = (uint64_t)v;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || (!c->policy && c->vault == NULL))
		goto usage;
	return 0;
bad:
	fprintf(stderr, "coffer-bench: bad option value '%s'\n", optarg);
usage:
	fputs("Try 'coffer-bench --help'.\n", stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	static struct bench b;
	static struct outcome o;
	int rc;

	if ((rc = parse_options(argc, argv, &b.cfg)) != 0)
		return rc < 0 ? 0 : rc;
	if (sodium_init() < 0) {
		fputs("coffer-bench: libsodium failed to initialise\n", stderr);
		return 1;
	}
	if (b.cfg.policy)
		return run_policy(&b.cfg);
	if (b.cfg.socket != NULL)
		snprintf(b.socket, sizeof(b.socket), "%s", b.cfg.socket);
	else
		snprintf(b.socket, sizeof(b.socket), "%s/cofferd.sock",
		    b.cfg.vault);
	pthread_mutex_init(&b.err_mu, NULL);
	if (load_agents(&b) != COFFER_OK) {
		free_agents(&b);
		return 1;
	}
	rc = run_load(&b, &o);
	free_agents(&b);
	if (rc != COFFER_OK) {
		fprintf(stderr, "coffer-bench: %s\n", coffer_strerror(rc));
		return 1;
	}
	if (o.ok == 0 && b.first_error[0] == '\0')
		snprintf(b.first_error, sizeof(b.first_error), "no request "
		    "completed within the measured window");
	if (b.cfg.json)
		print_json(&b, &o);
	else
		print_text(&b, &o);
	return o.errors == 0 && o.ok > 0 ? 0 : 3;
}
