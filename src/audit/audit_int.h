/*
 * audit_int.h - the parts of the audit module shared between its files,
 * coffer-verify and the unit tests: SHA-256, RFC 6962 Merkle hashing,
 * record encoding and parsing, C2SP checkpoints, segment files and the
 * verification engine.  Formats: docs/audit-format.md.  Not a public
 * contract: only src/audit, tools/coffer-verify.c and tests use it.
 */
#ifndef COFFER_AUDIT_INT_H
#define COFFER_AUDIT_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#include "coffer/audit.h"

/* ---- sha256.c: SHA-256, SHA-NI when the CPU has it, else libsodium ---- */

struct h256 {
	uint32_t st[8];
	unsigned char buf[64];
	size_t n;          /* bytes in buf */
	uint64_t total;    /* bytes hashed */
	int portable;      /* fell back to libsodium */
	crypto_hash_sha256_state sod;
};
void h256_init(struct h256 *h);
void h256_update(struct h256 *h, const void *p, size_t n);
void h256_final(struct h256 *h, unsigned char out[32]);
void h256(unsigned char out[32], const void *p, size_t n);
/*
 * SHA-256(prefix || a) and SHA-256(prefix || b) together (twice as fast
 * with SHA-NI); scratch holds H256_X2_SCRATCH bytes (the first and last
 * blocks of each; the others are read in place).  Longer inputs are
 * hashed one by one.
 */
#define H256_X2_MAX 4096
#define H256_X2_BLOCKS ((H256_X2_MAX + 1 + 9 + 63) / 64)
#define H256_X2_SCRATCH (2 * 3 * 64)
void h256_prefixed2(unsigned char prefix, const unsigned char *a,
    size_t alen, unsigned char outa[32], const unsigned char *b, size_t blen,
    unsigned char outb[32], unsigned char *scratch);
/* 1 if SHA-NI is in use; tests may force the libsodium path. */
int h256_accelerated(void);
void h256_force_portable(int on);

/* ---- merkle.c: RFC 6962 / RFC 9162 tree hashing ---- */

#define MERKLE_MAXLEV 64   /* subtree roots in a compact range */
#define MERKLE_MAXPROOF 128

struct merkle_cr {         /* compact range of leaves [0, size) */
	uint64_t size;
	unsigned n;        /* = popcount(size) */
	unsigned char h[MERKLE_MAXLEV][32]; /* left to right, biggest first */
};
struct merkle_range {
	uint64_t a, b;     /* leaves [a, b) */
};

void merkle_leaf(const unsigned char *rec, size_t len, unsigned char out[32]);
void merkle_node(const unsigned char l[32], const unsigned char r[32],
    unsigned char out[32]);
void merkle_cr_init(struct merkle_cr *c);
void merkle_cr_push(struct merkle_cr *c, const unsigned char leaf[32]);
void merkle_cr_root(const struct merkle_cr *c, unsigned char out[32]);
/* Root of the tree over n leaf hashes (naive recursion, tests/proofs). */
void merkle_root(const unsigned char (*leaves)[32], uint64_t n,
    unsigned char out[32]);
/* The ranges whose roots make leaf m's inclusion proof in size n. */
int merkle_inclusion_ranges(uint64_t m, uint64_t n, struct merkle_range *r,
    unsigned *k);
int merkle_inclusion_proof(const unsigned char (*leaves)[32], uint64_t n,
    uint64_t m, unsigned char (*proof)[32], unsigned *k);
int merkle_inclusion_verify(const unsigned char leaf[32], uint64_t m,
    uint64_t n, const unsigned char (*proof)[32], unsigned k,
    const unsigned char root[32]);
int merkle_consistency_proof(const unsigned char (*leaves)[32], uint64_t m,
    uint64_t n, unsigned char (*proof)[32], unsigned *k);
int merkle_consistency_verify(uint64_t m, uint64_t n,
    const unsigned char root_m[32], const unsigned char root_n[32],
    const unsigned char (*proof)[32], unsigned k);

/* ---- record.c: one record, canonical CBOR ---- */

#define AREC_MAX 65536     /* largest record, bytes */
#define AREC_STR_MAX 1024  /* longest text value */
#define AREC_LIST_MAX 4096 /* longest list */

/* Keys in canonical order; the index is the key's slot in arec_view. */
enum arec_key {
	AK_N, AK_V, AK_OP, AK_ST, AK_TS, AK_AID, AK_CHG, AK_DEC, AK_POL,
	AK_RET, AK_SEQ, AK_TID, AK_WHY, AK_AFPR, AK_DOWN, AK_KIND, AK_MASK,
	AK_NKEY, AK_NSIG, AK_PEER, AK_PREV, AK_ROLE, AK_SESS, AK_TIDS,
	AK_ACTOR, AK_COUNT_
};
extern const char *const arec_key_names[AK_COUNT_];

/* An event encoded except for ts, seq and prev (done off the lock). */
struct arec_pre {
	unsigned char *buf;
	size_t len, cap;
	size_t off_ts, off_seq, off_prev; /* where those entries go */
	unsigned nkeys;
};
int arec_prepare(const struct audit_event *e, const unsigned char hkey[32],
    const uint64_t down[2], struct arec_pre *p);
void arec_pre_free(struct arec_pre *p);
/* Bytes arec_assemble will write for these values. */
size_t arec_size(const struct arec_pre *p, uint64_t seq, uint64_t ts);
void arec_assemble(const struct arec_pre *p, uint64_t seq, uint64_t ts,
    const unsigned char prev[32], unsigned char *out);

/* A parsed record: pointers into the bytes it was parsed from. */
struct arec_view {
	uint64_t seq, ts, n;
	const unsigned char *prev;     /* 32 bytes */
	const unsigned char *val[AK_COUNT_]; /* encoded value, NULL absent */
	size_t vlen[AK_COUNT_];
};
/* Full validation: canonical, known keys, types.  COFFER_ERR_PROTO. */
int arec_parse(const unsigned char *p, size_t len, struct arec_view *v);
/* The record as one JSON object line (no newline), malloc'd. */
int arec_json(const struct arec_view *v, char **out);
/*
 * Values of a record arec_parse accepted, for search filters (not checked
 * again).  COFFER_ERR_NOT_FOUND: the key is absent.  arec_text points
 * into the record (not NUL-ended).
 */
int arec_text(const struct arec_view *v, enum arec_key k,
    const unsigned char **s, size_t *n);
int arec_int(const struct arec_view *v, enum arec_key k, int64_t *out);
/* 1 if the record's tid, or one of its tids, is id. */
int arec_has_target(const struct arec_view *v, int64_t id);

/* ---- checkpoint.c: C2SP tlog-checkpoint in a signed note ---- */

#define CKPT_MAX 2048      /* longest signed note we read */
#define CKPT_NAME_MAX 128

struct ckpt {
	char origin[CKPT_NAME_MAX + 1];
	uint64_t size;
	unsigned char root[32];
};
void ckpt_keyid(const char *name, const unsigned char pk[32],
    unsigned char id[4]);
int ckpt_name_ok(const char *name);
/* Signed note for (origin, size, root), signed as key `origin`. */
int ckpt_sign(const struct ckpt *c, const unsigned char sk[64],
    const unsigned char pk[32], char *out, size_t outsz, size_t *len);
/*
 * Parse a signed note and check one signature by pk: named `name`, or
 * under any name when name is NULL.  COFFER_ERR_PROTO: malformed;
 * COFFER_ERR_CRYPTO: no valid signature by that key.
 */
int ckpt_open(const char *text, size_t len, const char *name,
    const unsigned char pk[32], struct ckpt *c);
/* The body only, no signature checked (the reader has no key). */
int ckpt_peek(const char *text, size_t len, struct ckpt *c);

/* ---- segment.c: segment files ---- */

#define SEG_MAGIC "coffer-audit-1\n" /* 15 bytes + NUL = 16 on disk */
#define SEG_MAGIC_LEN 16
#define SEG_HDR_MAX (SEG_MAGIC_LEN + 8 + 8 + 32 + 1 + MERKLE_MAXLEV * 32)
#define SEG_NAME_LEN 29    /* "seg-" 20 digits ".log" NUL */
#define FRAME_HDR 4
#define FRAME_RECORD 0x52  /* 'R' */
#define FRAME_CHECKPOINT 0x43 /* 'C' */

struct seg_header {
	uint64_t first;            /* seq of the first record */
	uint64_t last_ts;          /* ts of record first-1, 0 if none */
	unsigned char prev[32];    /* leaf hash of record first-1 */
	struct merkle_cr cr;       /* compact range of [0, first) */
};
size_t seg_header_encode(const struct seg_header *h, unsigned char *out);
int seg_header_parse(const unsigned char *p, size_t len,
    struct seg_header *h, size_t *used);
void seg_name(char out[SEG_NAME_LEN], uint64_t first);
/* Sorted first sequence numbers of dir's segment files (malloc'd). */
int seg_list(const char *dir, uint64_t **firsts, size_t *n);

/* FR_PAD: zero bytes from here to the end (preallocated, never written) */
enum frame_res { FR_OK, FR_END, FR_PAD, FR_TORN, FR_BAD };
/* The frame at *pos; advances *pos. */
enum frame_res frame_next(const unsigned char *p, size_t len, size_t *pos,
    int *type, const unsigned char **payload, size_t *plen);
void frame_header(unsigned char out[FRAME_HDR], int type, size_t len);

/* ---- audit.c, for read.c: what a reader needs of an open log ---- */

struct audit_view {
	const char *dir;           /* immutable while the log is open */
	const char *origin;
	const unsigned char *pk;   /* 32 bytes */
	uint64_t durable;          /* records on disk now */
};
void audit_view_get(struct audit_log *l, struct audit_view *v);

/* ---- scan.c: the verification engine (coffer-verify and audit_open) ---- */

enum av_kind {
	AV_OK = 0, AV_USAGE = 1, AV_MODIFIED = 2, AV_MISSING = 3,
	AV_REORDERED = 4, AV_TRUNCATED = 5, AV_BADSIG = 6,
	AV_INCONSISTENT = 7, AV_TIME = 8, AV_IO = 9
};
const char *av_kind_name(int kind);

struct av_state {
	uint64_t size;            /* records so far = next seq */
	uint64_t last_ts;
	unsigned char last[32];   /* leaf hash of record size-1 */
	struct merkle_cr cr;
};

struct av_ref {                   /* a checkpoint the log must agree with */
	struct ckpt c;
	const char *what;         /* "--checkpoint FILE", ... */
	int matched;
};

/* Records hashed together: a power of two, AV_BATCH = 1 << AV_BATCH_LOG. */
#define AV_BATCH_LOG 4
#define AV_BATCH (1 << AV_BATCH_LOG)

struct av_rec {                   /* a parsed record waiting for its hash */
	const unsigned char *pl;
	size_t plen, at, next;    /* bytes, frame offset, next frame */
	struct arec_view v;
};

/* Audit keys a scan follows (the first one and every announced one). */
#define AV_CHAIN_MAX 256

struct av_ctx {
	/* inputs */
	const char *dir;
	const unsigned char *pk;  /* the first trusted key */
	const char *keyname;      /* NULL: any name with pk's key id */
	const unsigned char (*cand)[32]; /* av_set_candidates */
	size_t ncand;
	/* the key chain: checkpoints must be signed by cur */
	unsigned char cur[32];
	int cur_known;            /* 0: cur is one of cand, found at first use */
	unsigned char chain[AV_CHAIN_MAX][32]; /* every key in force so far */
	size_t nchain;
	uint64_t rotations;       /* audit-key announcements followed */
	uint64_t key_since;       /* seq of the record announcing cur */
	struct av_ref refs[2];
	unsigned nrefs;
	/* state */
	struct av_state st;
	int started;              /* st set from a header or record 0 */
	uint64_t pending_time;    /* seq+1 of a record whose time went back */
	char origin[CKPT_NAME_MAX + 1];
	/* results */
	uint64_t records, checkpoints, segments, first_ts;
	struct ckpt last_ckpt;
	char last_ckpt_text[CKPT_MAX + 1];
	int have_ckpt;
	size_t valid_end;         /* end of the last good frame, last seg */
	size_t torn;              /* bytes of torn tail in the last segment */
	size_t padding;           /* zero bytes after it, last segment */
	int fault;                /* enum av_kind */
	char msg[512];
	/* working space, so the scan allocates nothing per record */
	struct av_rec batch[AV_BATCH];
	/*
	 * The batch's leaf hashes (level 0) and the Merkle nodes over them
	 * (level h: subtrees of 2^h leaves, aligned as in the tree, wholly
	 * inside the batch), hashed two at a time before the records are
	 * checked in order.  The node over leaves [a, a + 2^h) is at
	 * tree[h][(a - first) >> h], first being the batch's first leaf.
	 */
	unsigned char tree[AV_BATCH_LOG + 1][AV_BATCH][32];
	uint64_t tree_first;
	unsigned char scratch[H256_X2_SCRATCH];
};

void av_init(struct av_ctx *c, const char *dir, const unsigned char pk[32],
    const char *keyname);
/*
 * For a scan that starts in the middle of the log (audit_open's tail
 * check): the key in force there is one of cand[0..n) (the vault's own
 * audit keys, oldest first), found by the first checkpoint or key
 * announcement; from there on the chain is followed as usual.  cand is
 * borrowed for the scan.
 */
void av_set_candidates(struct av_ctx *c, const unsigned char (*cand)[32],
    size_t n);
/*
 * Check a signed checkpoint against every key the scan has seen in force
 * (after a rotation, a saved checkpoint may be signed by any of them).
 * COFFER_OK, COFFER_ERR_CRYPTO, or COFFER_ERR_PROTO if malformed.
 */
int av_chain_open(const struct av_ctx *c, const char *text, size_t len,
    struct ckpt *ck);
/*
 * Check one segment file.  trust_header: take the starting state from its
 * header (audit_open's tail check) instead of checking the header against
 * the state.  last: a torn final frame is a crash, not a fault.
 * Returns the fault kind (AV_OK when fine); c->msg says what and where.
 */
int av_segment(struct av_ctx *c, uint64_t first, int trust_header,
    int last);
/* After the last segment: references beyond the log, pending faults. */
int av_finish(struct av_ctx *c);
/* 1 if the segment file holds a checkpoint frame (-1: unreadable). */
int av_has_checkpoint(const char *dir, uint64_t first);

/* Map a whole file read-only; *len 0 gives p NULL.  COFFER_ERR_IO. */
int av_map(const char *path, const unsigned char **p, size_t *len);
void av_unmap(const unsigned char *p, size_t len);

#endif
