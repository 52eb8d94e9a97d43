/*
 * scan.c - the one implementation of "is this log what was signed": it
 * re-hashes records, follows sequence numbers, prev links and times,
 * rebuilds the Merkle state and checks every checkpoint's signature and
 * root against it.  coffer-verify runs it over every segment; audit_open
 * over the newest ones.  It stops at the first fault and says what kind,
 * which record, which file and where.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffer/err.h"
#include "audit_int.h"

/* Frames searched past a sequence gap to tell "reordered" from "missing". */
#define LOOKAHEAD_FRAMES 100000

static int fault(struct av_ctx *c, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *
av_kind_name(int kind)
{
	static const char *const names[] = {
		"ok", "usage", "modified record", "missing record",
		"reordered records", "truncated log", "bad signature",
		"inconsistent checkpoint", "time went backwards",
		"unreadable log"
	};

	if (kind < 0 || kind > AV_IO)
		return "unknown";
	return names[kind];
}

void
av_init(struct av_ctx *c, const char *dir, const unsigned char pk[32],
    const char *keyname)
{
	memset(c, 0, sizeof(*c));
	c->dir = dir;
	c->pk = pk;
	c->keyname = keyname;
	if (pk != NULL) {
		memcpy(c->cur, pk, 32);
		memcpy(c->chain[0], pk, 32);
		c->cur_known = 1;
		c->nchain = 1;
	}
	merkle_cr_init(&c->st.cr);
}

void
av_set_candidates(struct av_ctx *c, const unsigned char (*cand)[32],
    size_t n)
{
	c->cand = cand;
	c->ncand = n;
	c->cur_known = 0;
	c->nchain = 0;
}

static void
chain_push(struct av_ctx *c, const unsigned char pk[32])
{
	memcpy(c->cur, pk, 32);
	c->cur_known = 1;
	if (c->nchain < AV_CHAIN_MAX)
		memcpy(c->chain[c->nchain++], pk, 32);
}

int
av_chain_open(const struct av_ctx *c, const char *text, size_t len,
    struct ckpt *ck)
{
	size_t i;
	int rc = COFFER_ERR_CRYPTO;

	for (i = 0; i < c->nchain && rc == COFFER_ERR_CRYPTO; i++)
		rc = ckpt_open(text, len, c->keyname, c->chain[i], ck);
	return rc;
}

/*
 * A checkpoint by the key in force; before that key is known (tail check)
 * the first candidate that signed it becomes the key in force.
 */
static int
ckpt_by_current(struct av_ctx *c, const char *text, size_t len,
    struct ckpt *ck)
{
	size_t i;
	int rc = COFFER_ERR_CRYPTO;

	if (c->cur_known)
		return ckpt_open(text, len, c->keyname, c->cur, ck);
	for (i = 0; i < c->ncand && rc == COFFER_ERR_CRYPTO; i++)
		if ((rc = ckpt_open(text, len, c->keyname, c->cand[i], ck)) ==
		    COFFER_OK)
			chain_push(c, c->cand[i]);
	return rc;
}

/* The record's text k is want (short): compared as its canonical bytes. */
static int
text_is(const struct arec_view *v, enum arec_key k, const char *want)
{
	size_t n = strlen(want);

	return n < 24 && v->val[k] != NULL && v->vlen[k] == n + 1 &&
	    v->val[k][0] == (0x60 | n) && memcmp(v->val[k] + 1, want, n) == 0;
}

/* Did this statement come from the key in force (or, unknown yet, from
 * one of the candidates)? */
static int
announcement_certified(struct av_ctx *c, const unsigned char *msg,
    size_t mlen, const unsigned char *sig)
{
	size_t i;

	if (c->cur_known)
		return crypto_sign_verify_detached(sig, msg, mlen, c->cur) == 0;
	for (i = 0; i < c->ncand; i++)
		if (crypto_sign_verify_detached(sig, msg, mlen, c->cand[i]) ==
		    0)
			return 1;
	return 0;
}

/*
 * An accepted record that announces a new audit key: its signature by the
 * key in force over (origin, seq, prev, new key) hands over to the new
 * key; every later checkpoint must be signed by it.
 */
static int
on_rotation(struct av_ctx *c, const struct av_rec *r, const char *name)
{
	unsigned char msg[AUDIT_ROTATE_MSG_MAX];
	const unsigned char *nk = r->v.val[AK_NKEY];
	const unsigned char *ns = r->v.val[AK_NSIG];
	size_t mlen;

	if (!text_is(&r->v, AK_OP, "key.rotate") ||
	    !text_is(&r->v, AK_KIND, "audit-key"))
		return AV_OK;
	if (nk == NULL || ns == NULL)
		return fault(c, AV_BADSIG, "record %" PRIu64 " (%s, byte %zu) "
		    "announces a new audit key without the key or the old "
		    "key's certification", r->v.seq, name, r->at);
	if (c->origin[0] == '\0')
		return fault(c, AV_BADSIG, "record %" PRIu64 " (%s, byte %zu) "
		    "announces a new audit key before any checkpoint named the "
		    "log", r->v.seq, name, r->at);
	/* bstr heads: 0x58 0x20 and 0x58 0x40 */
	mlen = audit_rotate_msg(c->origin, r->v.seq, r->v.prev, nk + 2, msg);
	if (!announcement_certified(c, msg, mlen, ns + 2))
		return fault(c, AV_BADSIG, "record %" PRIu64 " (%s, byte %zu) "
		    "announces a new audit key that is not certified by the "
		    "audit key in force: a forged key announcement", r->v.seq,
		    name, r->at);
	if (c->nchain >= AV_CHAIN_MAX)
		return fault(c, AV_USAGE, "more than %d audit key rotations: "
		    "beyond this verifier's limit", AV_CHAIN_MAX - 1);
	chain_push(c, nk + 2);
	c->rotations++;
	c->key_since = r->v.seq;
	return AV_OK;
}

__attribute__((format(printf, 3, 4)))
static int
fault(struct av_ctx *c, int kind, const char *fmt, ...)
{
	va_list ap;

	if (c->fault != AV_OK)
		return c->fault;
	c->fault = kind;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return kind;
}

/*
 * populate: the whole file is about to be read (av_segment), so its pages
 * are mapped in one go rather than by a fault every few pages.
 */
static int
map_file(const char *path, const unsigned char **p, size_t *len,
    int populate)
{
	struct stat sb;
	void *m;
	int fd, e;

	*p = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return COFFER_ERR_IO;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		e = errno;
		close(fd);
		errno = e ? e : EINVAL;
		return COFFER_ERR_IO;
	}
	if (sb.st_size > 0) {
		m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE |
		    (populate ? MAP_POPULATE : 0), fd, 0);
		if (m == MAP_FAILED) {
			e = errno;
			close(fd);
			errno = e;
			return COFFER_ERR_IO;
		}
		madvise(m, (size_t)sb.st_size, MADV_SEQUENTIAL);
		*p = m;
		*len = (size_t)sb.st_size;
	}
	close(fd);
	return COFFER_OK;
}

int
av_map(const char *path, const unsigned char **p, size_t *len)
{
	return map_file(path, p, len, 0);
}

void
av_unmap(const unsigned char *p, size_t len)
{
	if (p != NULL)
		munmap((void *)(uintptr_t)p, len);
}

static int
seg_path(const struct av_ctx *c, uint64_t first, char *path, size_t sz,
    const char **name)
{
	char nm[SEG_NAME_LEN];
	int n;

	seg_name(nm, first);
	n = snprintf(path, sz, "%s/%s", c->dir, nm);
	if (n < 0 || (size_t)n >= sz)
		return COFFER_ERR_TOO_BIG;
	*name = path + n - (SEG_NAME_LEN - 1);
	return COFFER_OK;
}

/* After each record: does the log agree with the reference checkpoints? */
static int
check_refs(struct av_ctx *c)
{
	unsigned char root[32];
	unsigned i;

	for (i = 0; i < c->nrefs; i++) {
		if (c->refs[i].matched || c->refs[i].c.size != c->st.size)
			continue;
		merkle_cr_root(&c->st.cr, root);
		if (memcmp(root, c->refs[i].c.root, 32) != 0)
			return fault(c, AV_INCONSISTENT, "the log's first %" PRIu64
			    " records do not match %s (same size, different "
			    "root): history was rewritten", c->st.size,
			    c->refs[i].what);
		c->refs[i].matched = 1;
	}
	return AV_OK;
}

/* Is there a record with sequence number want later in this segment? */
static int
seq_later(const unsigned char *p, size_t len, size_t pos, uint64_t want)
{
	const unsigned char *pl;
	struct arec_view v;
	size_t plen;
	int type, i;

	for (i = 0; i < LOOKAHEAD_FRAMES; i++) {
		if (frame_next(p, len, &pos, &type, &pl, &plen) != FR_OK)
			return 0;
		if (type == FRAME_RECORD && arec_parse(pl, plen, &v) ==
		    COFFER_OK && v.seq == want)
			return 1;
	}
	return 0;
}

static int
seq_fault(struct av_ctx *c, const struct arec_view *v, const char *name,
    size_t at, const unsigned char *p, size_t len, size_t next)
{
	uint64_t s = c->st.size;

	if (memcmp(v->prev, c->st.last, 32) == 0)
		return fault(c, AV_MODIFIED, "record %" PRIu64 " (%s, byte %zu)"
		    " carries sequence number %" PRIu64 " although it links to "
		    "record %" PRIu64 ": it was altered", s, name, at, v->seq,
		    s - 1);
	if (v->seq > s && seq_later(p, len, next, s))
		return fault(c, AV_REORDERED, "record %" PRIu64 " (%s, byte "
		    "%zu) comes before record %" PRIu64 ": records were "
		    "reordered", v->seq, name, at, s);
	if (v->seq > s)
		return fault(c, AV_MISSING, "records %" PRIu64 " to %" PRIu64
		    " are missing (%s, byte %zu holds record %" PRIu64 ")", s,
		    v->seq - 1, name, at, v->seq);
	return fault(c, AV_REORDERED, "record %" PRIu64 " (%s, byte %zu) "
	    "appears again or out of order where record %" PRIu64 " should "
	    "be", v->seq, name, at, s);
}

/*
 * merkle_cr_push for the batch's next leaf, taking each node that merges
 * subtrees wholly inside the batch from c->tree instead of hashing it.
 */
static void
push_leaf(struct av_ctx *c, const unsigned char leaf[32])
{
	struct merkle_cr *cr = &c->st.cr;
	uint64_t s = cr->size, a;
	unsigned h;

	memcpy(cr->h[cr->n++], leaf, 32);
	for (h = 1; s & 1; s >>= 1, h++) {
		/* the merged node covers leaves [a, cr->size + 1) */
		a = cr->size + 1 - ((uint64_t)1 << h);
		if (h <= AV_BATCH_LOG && a >= c->tree_first)
			memcpy(cr->h[cr->n - 2],
			    c->tree[h][(a - c->tree_first) >> h], 32);
		else
			merkle_node(cr->h[cr->n - 2], cr->h[cr->n - 1],
			    cr->h[cr->n - 2]);
		cr->n--;
	}
	cr->size++;
}

/* One parsed record whose leaf hash is known: sequence, link, time. */
static int
on_record(struct av_ctx *c, const struct av_rec *r,
    const unsigned char leaf[32], const char *name, const unsigned char *p,
    size_t len)
{
	uint64_t s = c->st.size;

	if (r->v.seq != s)
		return seq_fault(c, &r->v, name, r->at, p, len, r->next);
	if (memcmp(r->v.prev, c->st.last, 32) != 0 && s == 0)
		return fault(c, AV_MODIFIED, "record 0 (%s, byte %zu) does not "
		    "start the chain: it was altered", name, r->at);
	if (memcmp(r->v.prev, c->st.last, 32) != 0)
		return fault(c, AV_MODIFIED, "record %" PRIu64 " (%s, byte %zu)"
		    " does not link to record %" PRIu64 ": one of the two was "
		    "altered", s, name, r->at, s - 1);
	if (c->pending_time != 0)
		return fault(c, AV_TIME, "record %" PRIu64 " is dated before "
		    "record %" PRIu64 ": time went backwards",
		    c->pending_time - 1, c->pending_time - 2);
	/* Judged once the next link or checkpoint vouches for the bytes. */
	if (s > 0 && r->v.ts < c->st.last_ts)
		c->pending_time = s + 1;
	push_leaf(c, leaf);
	memcpy(c->st.last, leaf, 32);
	c->st.last_ts = r->v.ts;
	c->st.size++;
	if (c->records++ == 0)
		c->first_ts = r->v.ts;
	c->valid_end = r->next;
	if (on_rotation(c, r, name) != AV_OK)
		return c->fault;
	return c->nrefs ? check_refs(c) : AV_OK;
}

/*
 * The nodes of level h wholly inside the batch of n leaves, from level
 * h - 1, two at a time.  A node's two children lie side by side: 64 bytes.
 */
static void
hash_level(struct av_ctx *c, unsigned h, unsigned n)
{
	uint64_t first = c->tree_first, size = (uint64_t)1 << h, a;
	unsigned char (*kid)[32] = c->tree[h - 1], (*out)[32] = c->tree[h];
	const unsigned char *in[AV_BATCH];
	unsigned char *to[AV_BATCH];
	size_t m = 0, i;

	for (a = (first + size - 1) & ~(size - 1); a + size <= first + n;
	    a += size) {
		in[m] = kid[(a - first) >> (h - 1)];
		to[m++] = out[(a - first) >> h];
	}
	for (i = 0; i + 1 < m; i += 2)
		h256_prefixed2(0x01, in[i], 64, to[i], in[i + 1], 64,
		    to[i + 1], c->scratch);
	if (i < m)
		merkle_node(in[i], in[i] + 32, to[i]);
}

/*
 * Hash the queued records' leaves, and the nodes among them, two at a
 * time (independent hashes keep the SHA unit busy), then check the
 * records in order.
 */
static int
flush(struct av_ctx *c, unsigned n, const char *name,
    const unsigned char *p, size_t len)
{
	struct av_rec *b = c->batch;
	unsigned char (*leaf)[32] = c->tree[0];
	unsigned i;

	for (i = 0; i + 1 < n; i += 2)
		h256_prefixed2(0x00, b[i].pl, b[i].plen, leaf[i],
		    b[i + 1].pl, b[i + 1].plen, leaf[i + 1], c->scratch);
	if (i < n)
		merkle_leaf(b[i].pl, b[i].plen, leaf[i]);
	c->tree_first = c->st.cr.size;
	for (i = 1; i <= AV_BATCH_LOG; i++)
		hash_level(c, i, n);
	for (i = 0; i < n; i++)
		if (on_record(c, &b[i], leaf[i], name, p, len) != AV_OK)
			return c->fault;
	return AV_OK;
}

static int
on_checkpoint(struct av_ctx *c, const unsigned char *pl, size_t plen,
    const char *name, size_t at)
{
	unsigned char root[32];
	struct ckpt ck;
	int rc;

	rc = ckpt_by_current(c, (const char *)pl, plen, &ck);
	if (rc == COFFER_ERR_CRYPTO && c->rotations > 0)
		return fault(c, AV_BADSIG, "checkpoint (%s, byte %zu, tree size "
		    "%" PRIu64 ") has no valid signature by the audit key in "
		    "force (announced by record %" PRIu64 "): signed by a key "
		    "not properly announced in the log", name, at, ck.size,
		    c->key_since);
	if (rc == COFFER_ERR_CRYPTO)
		return fault(c, AV_BADSIG, "checkpoint (%s, byte %zu, tree size "
		    "%" PRIu64 ") has no valid signature by the audit key",
		    name, at, ck.size);
	if (rc != COFFER_OK)
		return fault(c, AV_MODIFIED, "checkpoint (%s, byte %zu) is "
		    "damaged", name, at);
	if (c->origin[0] == '\0')
		memcpy(c->origin, ck.origin, sizeof(c->origin));
	else if (strcmp(c->origin, ck.origin) != 0)
		return fault(c, AV_INCONSISTENT, "checkpoint (%s, byte %zu) is "
		    "for log \"%s\", not \"%s\"", name, at, ck.origin,
		    c->origin);
	if (ck.size != c->st.size)
		return fault(c, AV_INCONSISTENT, "checkpoint (%s, byte %zu) "
		    "claims %" PRIu64 " records where %" PRIu64 " precede it",
		    name, at, ck.size, c->st.size);
	merkle_cr_root(&c->st.cr, root);
	if (memcmp(root, ck.root, 32) != 0)
		return fault(c, AV_MODIFIED, "the %" PRIu64 " records before the"
		    " checkpoint at %s byte %zu do not hash to its signed root: "
		    "a record was altered", ck.size, name, at);
	if (c->pending_time != 0)
		return fault(c, AV_TIME, "record %" PRIu64 " is dated before "
		    "record %" PRIu64 ": time went backwards",
		    c->pending_time - 1, c->pending_time - 2);
	c->checkpoints++;
	c->last_ckpt = ck;
	memcpy(c->last_ckpt_text, pl, plen);
	c->last_ckpt_text[plen] = '\0';
	c->have_ckpt = 1;
	return AV_OK;
}

static int
header_matches(const struct av_ctx *c, const struct seg_header *h)
{
	unsigned i;

	if (h->last_ts != c->st.last_ts || h->cr.n != c->st.cr.n ||
	    memcmp(h->prev, c->st.last, 32) != 0)
		return 0;
	for (i = 0; i < h->cr.n; i++)
		if (memcmp(h->cr.h[i], c->st.cr.h[i], 32) != 0)
			return 0;
	return 1;
}

static int
start_segment(struct av_ctx *c, const struct seg_header *h, uint64_t first,
    int trust_header, const char *name)
{
	if (h->first != first)
		return fault(c, AV_MODIFIED, "%s: its header says it starts at "
		    "record %" PRIu64, name, h->first);
	if (trust_header) {
		c->st.size = h->first;
		c->st.last_ts = h->last_ts;
		memcpy(c->st.last, h->prev, 32);
		c->st.cr = h->cr;
		c->started = 1;
		return AV_OK;
	}
	if (first > c->st.size)
		return fault(c, AV_MISSING, "records %" PRIu64 " to %" PRIu64
		    " are missing: %s starts at record %" PRIu64
		    " (a segment was removed?)", c->st.size, first - 1, name,
		    first);
	if (first < c->st.size)
		return fault(c, AV_REORDERED, "%s starts at record %" PRIu64
		    " but the segments before it end at %" PRIu64, name, first,
		    c->st.size);
	if (!header_matches(c, h))
		return fault(c, AV_MODIFIED, "%s: its header does not match the"
		    " records before it", name);
	return AV_OK;
}

static int
walk_frames(struct av_ctx *c, const unsigned char *p, size_t len, size_t pos,
    int last, const char *name)
{
	const unsigned char *pl;
	enum frame_res fr;
	struct av_rec *r;
	size_t plen, at;
	unsigned n = 0;
	int type;

	c->valid_end = pos;
	for (;;) {
		at = pos;
		fr = frame_next(p, len, &pos, &type, &pl, &plen);
		if (fr == FR_OK && type == FRAME_RECORD) {
			r = &c->batch[n];
			if (arec_parse(pl, plen, &r->v) == COFFER_OK) {
				r->pl = pl;
				r->plen = plen;
				r->at = at;
				r->next = pos;
				/* batches end on multiples of AV_BATCH, so
				 * they hold whole subtrees */
				if (++n < AV_BATCH &&
				    ((c->st.size + n) & (AV_BATCH - 1)) != 0)
					continue;
				if (flush(c, n, name, p, len) != AV_OK)
					return c->fault;
				n = 0;
				continue;
			}
		}
		if (n > 0 && flush(c, n, name, p, len) != AV_OK)
			return c->fault;
		n = 0;
		if (fr == FR_END)
			return AV_OK;
		if (fr == FR_TORN && last) {
			c->torn = len - at;
			return AV_OK;
		}
		if (fr == FR_PAD && last) {
			c->padding = len - at;
			return AV_OK;
		}
		if (fr != FR_OK)
			return fault(c, AV_MODIFIED, "%s: damaged frame at byte "
			    "%zu (after record %" PRIu64 ")", name, at,
			    c->st.size ? c->st.size - 1 : 0);
		if (type == FRAME_RECORD)
			return fault(c, AV_MODIFIED, "record %" PRIu64 " (%s, "
			    "byte %zu) is not a valid record: it was altered",
			    c->st.size, name, at);
		if (on_checkpoint(c, pl, plen, name, at) != AV_OK)
			return c->fault;
		c->valid_end = pos;
	}
}

int
av_segment(struct av_ctx *c, uint64_t first, int trust_header, int last)
{
	char path[PATH_MAX];
	const unsigned char *p = NULL;
	const char *name = NULL;
	struct seg_header h;
	size_t len = 0, used;

	if (c->fault != AV_OK)
		return c->fault;
	c->torn = 0;
	c->padding = 0;
	if (seg_path(c, first, path, sizeof(path), &name) != COFFER_OK)
		return fault(c, AV_IO, "path too long: %s", c->dir);
	if (map_file(path, &p, &len, 1) != COFFER_OK)
		return fault(c, AV_IO, "cannot read %s: %s", path,
		    strerror(errno));
	if (seg_header_parse(p, len, &h, &used) != COFFER_OK)
		fault(c, AV_MODIFIED, "%s: damaged segment header", name);
	else if (start_segment(c, &h, first, trust_header, name) == AV_OK)
		walk_frames(c, p, len, used, last, name);
	c->segments++;
	av_unmap(p, len);
	return c->fault;
}

int
av_finish(struct av_ctx *c)
{
	unsigned char root[32];
	unsigned i;

	if (c->pending_time != 0)
		return fault(c, AV_TIME, "record %" PRIu64 " is dated before "
		    "record %" PRIu64 ": time went backwards",
		    c->pending_time - 1, c->pending_time - 2);
	for (i = 0; i < c->nrefs && c->fault == AV_OK; i++) {
		if (c->refs[i].matched)
			continue;
		if (c->refs[i].c.size > c->st.size)
			return fault(c, AV_TRUNCATED, "the log holds %" PRIu64
			    " records but %s was signed over %" PRIu64 ": "
			    "records were cut off the end", c->st.size,
			    c->refs[i].what, c->refs[i].c.size);
		if (c->refs[i].c.size == 0) {
			merkle_cr_root(&(struct merkle_cr){ .size = 0 }, root);
			if (memcmp(root, c->refs[i].c.root, 32) != 0)
				return fault(c, AV_INCONSISTENT, "%s has a bad "
				    "root for an empty log", c->refs[i].what);
			c->refs[i].matched = 1;
		}
	}
	return c->fault;
}

int
av_has_checkpoint(const char *dir, uint64_t first)
{
	struct av_ctx c;
	char path[PATH_MAX];
	const unsigned char *p = NULL, *pl;
	const char *name;
	struct seg_header h;
	size_t len = 0, used, pos, plen;
	enum frame_res fr;
	int type, found = 0;

	av_init(&c, dir, NULL, NULL);
	if (seg_path(&c, first, path, sizeof(path), &name) != COFFER_OK ||
	    av_map(path, &p, &len) != COFFER_OK)
		return -1;
	/* A damaged segment counts as "has one": av_segment reports it. */
	if (seg_header_parse(p, len, &h, &used) != COFFER_OK) {
		found = 1;
		goto out;
	}
	for (pos = used; !found;) {
		fr = frame_next(p, len, &pos, &type, &pl, &plen);
		if (fr == FR_BAD)
			found = 1;
		if (fr != FR_OK)
			break;
		found = type == FRAME_CHECKPOINT;
	}
out:
	av_unmap(p, len);
	return found;
}
