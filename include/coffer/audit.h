/*
 * audit.h - the audit trail: one record per request, durable (fdatasync)
 * before the request is answered, chained and Merkle-hashed, with signed
 * C2SP checkpoints, verifiable offline by coffer-verify.  On-disk format,
 * record CDDL and test vectors: docs/audit-format.md.
 *
 * Thread safety: every function taking a struct audit_log may be called
 * from any number of threads at once, except audit_close.
 * Fail closed: once a write, fdatasync or file-identity check fails the log
 * is "faulted"; audit_append returns COFFER_ERR_AUDIT to every caller until
 * a later append finds the fault cleared, and the first record written then
 * (op "audit.recovered") states when the log was unavailable.  No record
 * is ever skipped: sequence numbers stay gap-free across a fault.
 */
#ifndef COFFER_AUDIT_H
#define COFFER_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <cbor.h>

#include "coffer/err.h"

#define AUDIT_VKEY_FILE "audit.vkey"     /* verifier key, C2SP text form */
#define AUDIT_CHECKPOINT_FILE "checkpoint" /* latest signed checkpoint */
#define AUDIT_VKEY_TEXT 192      /* buffer size for a verifier key line */

struct audit_log;

struct audit_options {
	const char *dir;          /* log directory (made 0700 if create) */
	/*
	 * Checkpoint origin line and signing key name, e.g.
	 * "coffer.local/<vault id>": printable ASCII, no space, no '+',
	 * at most 128 bytes.
	 */
	const char *origin;
	int create;               /* 1: start a new log if dir holds none */
	size_t segment_max_bytes; /* rotate after this; 0: 64 MiB */
	unsigned checkpoint_every_records; /* 0: 4096 */
	unsigned checkpoint_every_ms;      /* 0: 1000 */
	/*
	 * Audit key rotation: the log's earlier signing public keys, oldest
	 * first (NULL/0 if the key never changed).  The tail check at open
	 * accepts a checkpoint by one of them only where the log's key.rotate
	 * records say it was in force, and the log must end signed by this
	 * open's key; otherwise COFFER_ERR_AUDIT.
	 */
	const unsigned char (*prev_pks)[32];
	size_t nprev_pks;
};

/*
 * Open the log in o->dir, or start one there if o->create and it has no
 * segment.  An existing log's tail is verified first: the newest segments
 * back to the last signed checkpoint are re-hashed, chain links and
 * sequence numbers checked, the checkpoint's signature and root checked
 * against the recomputation, and the "checkpoint" file must not claim more
 * than the log holds.  Anything wrong is COFFER_ERR_AUDIT with the reason
 * (which file, which record) in detail->message; the log is NOT continued.
 * A torn last frame left by a crash (never answered to a client) is cut.
 * Writes dir/audit.vkey.  The keys are copied (into sodium_malloc'd
 * memory); sign_sk is the Ed25519 secret key (64 bytes, libsodium form),
 * hash_key the 32-byte key for audit_change value hashes.
 * COFFER_ERR_NOT_FOUND: no log and !o->create.  COFFER_ERR_INVALID: bad
 * options.
 */
int audit_open(const struct audit_options *o, const unsigned char sign_sk[64],
    const unsigned char hash_key[32], struct coffer_errdetail *detail,
    struct audit_log **out);

enum audit_decision {
	AUDIT_ALLOWED = 0,
	AUDIT_DENIED = 1,
	AUDIT_PENDING = 2,        /* waits for an approval */
	AUDIT_ERROR = 3           /* failed while being carried out */
};

/*
 * One edited field.  The values are never stored: the record holds
 * HMAC-SHA-256(hash_key, deterministic CBOR encoding of the value), so an
 * officer holding the audit-hash key can confirm a suspected value.
 * NULL old_value: the field was created; NULL new_value: deleted.
 */
struct audit_change {
	const char *field;
	const cbor_item_t *old_value;
	const cbor_item_t *new_value;
};

/*
 * What happened.  Strings are copied; NULL/0/empty means "not recorded"
 * (ids are recorded when non-zero).  Text that is not valid UTF-8 is
 * recorded with '?' in place of the bad bytes; each string is cut at
 * 1024 bytes.  Never pass customer values here - only names and ids.
 */
struct audit_event {
	const char *op;           /* required: "record.get", "login", ... */
	int64_t actor_id;         /* user id */
	const char *actor;        /* user name */
	const char *actor_fpr;    /* key fingerprint (userkey_fingerprint) */
	const char *role;
	const unsigned char *session_id; /* 16 bytes or NULL */
	const char *peer;         /* "uid=1000 pid=42" or "192.0.2.1:5000" */
	const char *kind;         /* target record kind */
	int64_t target_id;
	const int64_t *target_ids; /* several targets (lists, bulk) */
	size_t ntargets;
	const char *const *fields_returned;
	size_t nreturned;
	const char *const *fields_masked;
	size_t nmasked;
	enum audit_decision decision;
	const char *reason;       /* why denied / failed / pending */
	int status;               /* COFFER_* status of the answer */
	uint64_t count;           /* records returned */
	const struct audit_change *changes;
	size_t nchanges;
	const unsigned char *policy_hash; /* 32 bytes or NULL */
	/* key.rotate records: the new public key (32 bytes) and the old
	 * key's signature certifying it (64 bytes); see audit_rotate_key */
	const unsigned char *new_key;
	const unsigned char *new_key_sig;
};

/*
 * Append one record and return once it is durable (fdatasync'd); *seq (may
 * be NULL) gets its sequence number.  Concurrent callers share one sync
 * (group commit).  COFFER_ERR_AUDIT: the record was not written - refuse
 * the request.  COFFER_ERR_INVALID: e is malformed (no op, too large).
 */
int audit_append(struct audit_log *l, const struct audit_event *e,
    uint64_t *seq);

/*
 * Append one record without waiting for it: the log's committer thread
 * (or a waiting audit_append caller) makes it durable with the next batch
 * and then calls done(arg, COFFER_OK), or done(arg, COFFER_ERR_AUDIT) if
 * the batch could not be written: exactly once, from whichever thread
 * settled it, sometimes with the log's lock held, so done must be quick
 * and must not call into the log.  A request answered this way sends its
 * answer from done, so the caller's thread never sleeps on the disk.
 * Returns COFFER_OK when queued; any other status (COFFER_ERR_AUDIT: the
 * log is faulted) means done will not be called.
 */
typedef void (*audit_done_fn)(void *arg, int status);
int audit_append_async(struct audit_log *l, const struct audit_event *e,
    audit_done_fn done, void *arg);

/*
 * Rotate the checkpoint signing key (docs/audit-format.md, "Key
 * rotation"): append e (op "key.rotate", kind "audit-key") with new_key =
 * new_sk's public key and new_key_sig = the current key's signature over
 * the rotation statement for the record's position, then sign every later
 * checkpoint - starting with one right away - with new_sk, rewrite
 * audit.vkey and wipe the old secret key.  Fields new_key/new_key_sig of
 * e are ignored.  *seq (may be NULL) gets the record's sequence number.
 * COFFER_ERR_AUDIT if the record could not be written (the old key then
 * stays in force only if the record is not on disk: the caller must not
 * use the log further).
 */
int audit_rotate_key(struct audit_log *l, const struct audit_event *e,
    const unsigned char new_sk[64], uint64_t *seq);

/*
 * The message an audit-key announcement's signature covers:
 * "coffer-audit-key-rotate-v1" 0x00 origin 0x00 seq(u64 BE) prev(32)
 * new_pk(32).  Returns its length (at most AUDIT_ROTATE_MSG_MAX).
 */
#define AUDIT_ROTATE_MSG_MAX (27 + 129 + 8 + 32 + 32)
size_t audit_rotate_msg(const char *origin, uint64_t seq,
    const unsigned char prev[32], const unsigned char new_pk[32],
    unsigned char *out);

/*
 * Sign and write a checkpoint for everything durable now, unless the
 * newest checkpoint already covers it.  Checkpoints are otherwise made
 * every checkpoint_every_records records, every checkpoint_every_ms while
 * records arrive (a background thread), at rotation and at close.
 */
int audit_checkpoint_now(struct audit_log *l);

/* The newest signed checkpoint (C2SP signed note), malloc'd, NUL-ended. */
int audit_latest_checkpoint(struct audit_log *l, char **text);

struct audit_health {
	int ok;                   /* 0 while faulted */
	char fault[160];          /* what failed and since when; "" if ok */
	uint64_t size;            /* durable records */
	uint64_t last_checkpoint_size;
	uint64_t syncs;           /* fdatasync calls since open */
	uint64_t refused;         /* appends refused since open */
};
void audit_health(struct audit_log *l, struct audit_health *h);

/* Checkpoint if needed, stop the background thread, close, wipe keys. */
void audit_close(struct audit_log *l);

/*
 * The C2SP verifier key "name+keyid+base64" for an Ed25519 public key
 * (what dir/audit.vkey holds, without the newline).  COFFER_ERR_INVALID
 * for a bad name, COFFER_ERR_TOO_BIG if bufsz < AUDIT_VKEY_TEXT.
 */
int audit_vkey_format(const char *name, const unsigned char pk[32],
    char *buf, size_t bufsz);
/* Parse one; name gets the key name (namesz >= 129). */
int audit_vkey_parse(const char *text, char *name, size_t namesz,
    unsigned char pk[32]);

/* ---- reading: the compliance officer's view (read.c) -------------------
 *
 * Readers map the segment files themselves and never take the log's append
 * mutex while scanning: they only look briefly at how many records are
 * durable, and read no further than that, so a slow reader never delays a
 * request and never sees a record that is not yet on disk.
 */

/* Which records a search yields; zero / NULL fields match everything. */
struct audit_filter {
	const char *actor;        /* user name, exact */
	int64_t actor_id;         /* user id; 0: any */
	const char *kind;         /* target record kind, exact */
	int64_t target_id;        /* the record's "tid" or one of its "tids" */
	const char *op;           /* exact, or a prefix when it ends in '*' */
	int decision;             /* enum audit_decision; -1: any */
	uint64_t from_us, to_us;  /* ts in [from, to); to 0: no upper bound */
	uint64_t start;           /* first sequence number looked at */
	size_t limit;             /* most records yielded; 0: no limit */
};

/* Everything matches; start at record 0. */
void audit_filter_init(struct audit_filter *f);

/*
 * Called for each matching record, in sequence order, with its canonical
 * CBOR bytes (valid only during the call).  Return COFFER_OK to go on,
 * COFFER_ERR_TOO_BIG to stop before this record (the caller's page is
 * full: the record is not counted as yielded), anything else to abort.
 */
typedef int (*audit_visit_fn)(void *arg, uint64_t seq,
    const unsigned char *rec, size_t len);

/*
 * The records of the log directory dir with sequence numbers below end
 * (UINT64_MAX: all, up to a torn tail) that match f, in order.  *more is
 * set to 1 when the scan stopped early (limit reached or the visitor's
 * page was full) and *next to the sequence number of the last record
 * yielded, the cursor for the next page; otherwise *more is 0.
 * COFFER_ERR_NOT_FOUND: no log in dir; COFFER_ERR_IO: a segment cannot be
 * read; COFFER_ERR_PROTO: a damaged record (run coffer-verify).
 */
int audit_scan_dir(const char *dir, uint64_t end,
    const struct audit_filter *f, audit_visit_fn fn, void *arg,
    int *more, uint64_t *next);

/* audit_scan_dir over l's directory, up to what is durable now. */
int audit_search(struct audit_log *l, const struct audit_filter *f,
    audit_visit_fn fn, void *arg, int *more, uint64_t *next);

/*
 * A record as a CBOR map (a new reference), exactly the record's keys and
 * values (docs/audit-format.md section 3.2), or as one line of JSON
 * (malloc'd, no newline; the names of coffer-verify --prove).
 * COFFER_ERR_PROTO if rec is not a valid record.
 */
int audit_record_item(const unsigned char *rec, size_t len,
    cbor_item_t **out);
int audit_record_json(const unsigned char *rec, size_t len, char **out);

#define AUDIT_PROOF_MAX 64

/* One record and its RFC 9162 inclusion proof against a signed checkpoint. */
struct audit_proof {
	uint64_t seq;             /* = leaf index */
	uint64_t tree_size;       /* of the checkpoint */
	unsigned char leaf[32];   /* SHA-256(0x00 || rec) */
	unsigned char root[32];   /* the checkpoint's root */
	unsigned char hashes[AUDIT_PROOF_MAX][32]; /* leaf level first */
	unsigned nhashes;
	unsigned char *rec;       /* the record bytes, malloc'd */
	size_t len;
	char *checkpoint;         /* the signed note, malloc'd, NUL-ended */
};

/*
 * Record seq with its inclusion proof against the newest checkpoint; a
 * record newer than that checkpoint gets a checkpoint signed first.  The
 * proof is checked before it is returned.  COFFER_ERR_NOT_FOUND: no such
 * record (yet).  Free with audit_proof_free (also after a failure).
 */
int audit_prove(struct audit_log *l, uint64_t seq, struct audit_proof *p);
void audit_proof_free(struct audit_proof *p);

/*
 * Check a proof as an officer would, from the record bytes: leaf hash,
 * inclusion in the tree of the checkpoint, and, when pk is not NULL, the
 * checkpoint's signature by that audit key (named keyname, or any name if
 * NULL).  COFFER_OK; COFFER_ERR_CRYPTO: does not verify; COFFER_ERR_PROTO:
 * malformed checkpoint or record.
 */
int audit_proof_check(const unsigned char *rec, size_t len, uint64_t index,
    uint64_t tree_size, const unsigned char (*hashes)[32], unsigned n,
    const char *checkpoint, const unsigned char *pk, const char *keyname);

/*
 * Tests only: make the next n record writes fail as if the disk were full
 * (the reserve still works).  Also read at open from the environment:
 * COFFER_AUDIT_FAIL_AFTER=K (start once K records are durable) and
 * COFFER_AUDIT_FAIL_TIMES=n (default 3), for the daemon's e2e tests.
 */
void audit_test_fail_writes(struct audit_log *l, unsigned n);

#endif
