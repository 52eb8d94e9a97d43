/*
 * read.c - the compliance officer's view of the audit log: search records
 * by actor, target, operation, decision and time; one record with its
 * inclusion proof; checking such a proof.  Segment files are mapped and
 * read directly, only up to the records known to be durable, and the
 * append mutex is never held while scanning, so readers cannot slow the
 * daemon's writers (and never see a record that is not yet on disk).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/err.h"
#include "coffer/msg.h"
#include "audit_int.h"

static const char *const decision_names[] = {
	[AUDIT_ALLOWED] = "allowed", [AUDIT_DENIED] = "denied",
	[AUDIT_PENDING] = "pending", [AUDIT_ERROR] = "error"
};

void
audit_filter_init(struct audit_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->decision = -1;
}

/* Text value k equals want (or starts with it, for a trailing '*'). */
static int
text_matches(const struct arec_view *v, enum arec_key k, const char *want)
{
	const unsigned char *s;
	size_t n, wl = strlen(want);
	int prefix = wl > 0 && want[wl - 1] == '*';

	if (arec_text(v, k, &s, &n) != COFFER_OK)
		return 0;
	if (prefix)
		return n >= wl - 1 && memcmp(s, want, wl - 1) == 0;
	return n == wl && memcmp(s, want, n) == 0;
}

static int
int_matches(const struct arec_view *v, enum arec_key k, int64_t want)
{
	int64_t x;

	return arec_int(v, k, &x) == COFFER_OK && x == want;
}

static int
matches(const struct arec_view *v, const struct audit_filter *f)
{
	if (v->ts < f->from_us)
		return 0;
	if (f->actor != NULL && !text_matches(v, AK_ACTOR, f->actor))
		return 0;
	if (f->actor_id != 0 && !int_matches(v, AK_AID, f->actor_id))
		return 0;
	if (f->kind != NULL && !text_matches(v, AK_KIND, f->kind))
		return 0;
	if (f->target_id != 0 && !arec_has_target(v, f->target_id))
		return 0;
	if (f->op != NULL && !text_matches(v, AK_OP, f->op))
		return 0;
	if (f->decision >= 0 && (f->decision > AUDIT_ERROR ||
	    !text_matches(v, AK_DEC, decision_names[f->decision])))
		return 0;
	return 1;
}

/* One scan over the segments; raw: every record, unparsed (proofs). */
struct scan {
	const struct audit_filter *f;
	uint64_t end;
	int raw;
	audit_visit_fn fn;
	void *arg;
	size_t yielded;
	int more, done;
	uint64_t next;
};

/* A record frame at sequence number seq: filter it, hand it over. */
static int
on_frame(struct scan *s, uint64_t seq, const unsigned char *pl, size_t plen)
{
	struct arec_view v;
	int rc;

	if (!s->raw) {
		if (arec_parse(pl, plen, &v) != COFFER_OK || v.seq != seq)
			return COFFER_ERR_PROTO;
		if (s->f->to_us != 0 && v.ts >= s->f->to_us) {
			s->done = 1;	/* times never decrease */
			return COFFER_OK;
		}
		if (!matches(&v, s->f))
			return COFFER_OK;
	}
	/* Only now is it known that one more record matches. */
	if (s->f->limit != 0 && s->yielded == s->f->limit) {
		s->more = s->done = 1;
		return COFFER_OK;
	}
	rc = s->fn(s->arg, seq, pl, plen);
	if (rc == COFFER_ERR_TOO_BIG && s->yielded > 0) {
		s->more = s->done = 1;
		return COFFER_OK;
	}
	if (rc != COFFER_OK)
		return rc;
	s->yielded++;
	s->next = seq;
	return COFFER_OK;
}

static int
scan_segment(const char *dir, uint64_t first, struct scan *s)
{
	char name[SEG_NAME_LEN], path[PATH_MAX];
	const unsigned char *m = NULL, *pl;
	struct seg_header h;
	enum frame_res fr;
	uint64_t seq;
	size_t len = 0, pos, plen;
	int type, rc = COFFER_OK;

	seg_name(name, first);
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return COFFER_ERR_INVALID;
	if (av_map(path, &m, &len) != COFFER_OK)
		return COFFER_ERR_IO;
	if (seg_header_parse(m, len, &h, &pos) != COFFER_OK ||
	    h.first != first) {
		rc = COFFER_ERR_PROTO;
		goto out;
	}
	/*
	 * Stop as soon as seq reaches end, before looking at another frame:
	 * bytes past the durable records may be being written or cut.
	 */
	for (seq = first; seq < s->end && !s->done && rc == COFFER_OK;) {
		fr = frame_next(m, len, &pos, &type, &pl, &plen);
		if (fr == FR_END || fr == FR_PAD || fr == FR_TORN)
			break;	/* a later segment, padding, a crash's tail */
		if (fr != FR_OK) {
			rc = COFFER_ERR_PROTO;
			break;
		}
		if (type != FRAME_RECORD)
			continue;
		if (seq >= s->f->start)
			rc = on_frame(s, seq, pl, plen);
		seq++;
	}
out:
	av_unmap(m, len);
	return rc;
}

static int
scan(const char *dir, struct scan *s)
{
	uint64_t *firsts = NULL;
	size_t n = 0, i = 0;
	int rc;

	if ((rc = seg_list(dir, &firsts, &n)) != COFFER_OK)
		return rc;
	if (n == 0)
		rc = COFFER_ERR_NOT_FOUND;
	/* The segment holding record start: the last one beginning before. */
	while (i + 1 < n && firsts[i + 1] <= s->f->start)
		i++;
	for (; rc == COFFER_OK && i < n && !s->done && firsts[i] < s->end;
	    i++)
		rc = scan_segment(dir, firsts[i], s);
	free(firsts);
	return rc;
}

int
audit_scan_dir(const char *dir, uint64_t end, const struct audit_filter *f,
    audit_visit_fn fn, void *arg, int *more, uint64_t *next)
{
	struct scan s = { f, end, 0, fn, arg, 0, 0, 0, 0 };
	int rc = scan(dir, &s);

	*more = rc == COFFER_OK && s.more;
	*next = *more ? s.next : 0;
	return rc;
}

int
audit_search(struct audit_log *l, const struct audit_filter *f,
    audit_visit_fn fn, void *arg, int *more, uint64_t *next)
{
	struct audit_view v;

	audit_view_get(l, &v);
	return audit_scan_dir(v.dir, v.durable, f, fn, arg, more, next);
}

int
audit_record_item(const unsigned char *rec, size_t len, cbor_item_t **out)
{
	struct arec_view v;

	*out = NULL;
	if (arec_parse(rec, len, &v) != COFFER_OK)
		return COFFER_ERR_PROTO;
	return msg_decode(rec, len, out);
}

int
audit_record_json(const unsigned char *rec, size_t len, char **out)
{
	struct arec_view v;

	*out = NULL;
	if (arec_parse(rec, len, &v) != COFFER_OK)
		return COFFER_ERR_PROTO;
	return arec_json(&v, out);
}

/* ---- inclusion proofs -------------------------------------------------- */

struct prover {
	struct audit_proof *p;
	struct merkle_range r[AUDIT_PROOF_MAX];
	struct merkle_cr acc[AUDIT_PROOF_MAX];  /* one per range */
	unsigned k;
};

/* Every leaf of the tree goes into the range it belongs to. */
static int
prove_leaf(void *arg, uint64_t seq, const unsigned char *rec, size_t len)
{
	struct prover *pv = arg;
	unsigned char leaf[32];
	unsigned i;

	merkle_leaf(rec, len, leaf);
	if (seq == pv->p->seq) {
		memcpy(pv->p->leaf, leaf, 32);
		if ((pv->p->rec = malloc(len)) == NULL)
			return COFFER_ERR_NOMEM;
		memcpy(pv->p->rec, rec, len);
		pv->p->len = len;
		return COFFER_OK;
	}
	for (i = 0; i < pv->k; i++)
		if (seq >= pv->r[i].a && seq < pv->r[i].b) {
			merkle_cr_push(&pv->acc[i], leaf);
			break;
		}
	return COFFER_OK;
}

/* The newest checkpoint, signed over at least seq + 1 records. */
static int
checkpoint_covering(struct audit_log *l, const struct audit_view *v,
    uint64_t seq, struct audit_proof *p, struct ckpt *c)
{
	int rc, tries;

	for (tries = 0; tries < 2; tries++) {
		free(p->checkpoint);
		p->checkpoint = NULL;
		if ((rc = audit_latest_checkpoint(l, &p->checkpoint)) !=
		    COFFER_OK)
			return rc;
		if (ckpt_open(p->checkpoint, strlen(p->checkpoint), v->origin,
		    v->pk, c) != COFFER_OK)
			return COFFER_ERR_INTERNAL;
		if (c->size > seq)
			return COFFER_OK;
		if ((rc = audit_checkpoint_now(l)) != COFFER_OK)
			return rc;
	}
	return COFFER_ERR_INTERNAL;
}

int
audit_prove(struct audit_log *l, uint64_t seq, struct audit_proof *p)
{
	struct audit_filter all;
	struct audit_view v;
	struct prover *pv = NULL;
	struct ckpt c;
	struct scan s;
	unsigned i;
	int rc;

	memset(p, 0, sizeof(*p));
	p->seq = seq;
	audit_view_get(l, &v);
	if (seq >= v.durable)
		return COFFER_ERR_NOT_FOUND;
	if ((rc = checkpoint_covering(l, &v, seq, p, &c)) != COFFER_OK)
		return rc;
	p->tree_size = c.size;
	memcpy(p->root, c.root, 32);
	if ((pv = calloc(1, sizeof(*pv))) == NULL)
		return COFFER_ERR_NOMEM;
	pv->p = p;
	if ((rc = merkle_inclusion_ranges(seq, c.size, pv->r, &pv->k)) !=
	    COFFER_OK || pv->k > AUDIT_PROOF_MAX)
		goto out;
	for (i = 0; i < pv->k; i++)
		merkle_cr_init(&pv->acc[i]);
	audit_filter_init(&all);
	s = (struct scan){ &all, c.size, 1, prove_leaf, pv, 0, 0, 0, 0 };
	if ((rc = scan(v.dir, &s)) != COFFER_OK)
		goto out;
	for (i = 0; i < pv->k; i++)
		merkle_cr_root(&pv->acc[i], p->hashes[i]);
	p->nhashes = pv->k;
	/* Never hand out a proof that does not hold. */
	if (p->rec == NULL || merkle_inclusion_verify(p->leaf, seq, c.size,
	    (const unsigned char (*)[32])p->hashes, p->nhashes, c.root) !=
	    COFFER_OK)
		rc = COFFER_ERR_INTERNAL;
out:
	free(pv);
	return rc;
}

void
audit_proof_free(struct audit_proof *p)
{
	free(p->rec);
	free(p->checkpoint);
	p->rec = NULL;
	p->checkpoint = NULL;
}

int
audit_proof_check(const unsigned char *rec, size_t len, uint64_t index,
    uint64_t tree_size, const unsigned char (*hashes)[32], unsigned n,
    const char *checkpoint, const unsigned char *pk, const char *keyname)
{
	struct arec_view v;
	unsigned char leaf[32];
	struct ckpt c;
	int rc;

	rc = pk != NULL ? ckpt_open(checkpoint, strlen(checkpoint), keyname,
	    pk, &c) : ckpt_peek(checkpoint, strlen(checkpoint), &c);
	if (rc != COFFER_OK)
		return rc;
	if (arec_parse(rec, len, &v) != COFFER_OK)
		return COFFER_ERR_PROTO;
	if (v.seq != index || c.size != tree_size)
		return COFFER_ERR_CRYPTO;
	merkle_leaf(rec, len, leaf);
	return merkle_inclusion_verify(leaf, index, tree_size, hashes, n,
	    c.root);
}
