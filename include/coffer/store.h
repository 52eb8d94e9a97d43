/*
 * store.h - the encrypted database (SQLCipher 4, raw 32-byte key, WAL,
 * foreign keys on).  One struct store is one connection and is used by one
 * thread at a time; the daemon gives each worker its own connection and
 * serialises writers itself.  Records travel as CBOR maps (field name ->
 * value) described by schema.h.  Tables and migrations: docs/schema.md.
 */
#ifndef COFFER_STORE_H
#define COFFER_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <cbor.h>
#include "coffer/err.h"
#include "coffer/schema.h"

#define STORE_SCHEMA_VERSION 9
#define STORE_LIST_MAX 500 /* largest page a list returns */

struct store;

/*
 * Open (and with create != 0, create) the database at path with the raw
 * key.  Runs migrations up to STORE_SCHEMA_VERSION.  COFFER_ERR_KEY if the
 * key does not open the file, COFFER_ERR_NOT_FOUND if it does not exist and
 * create is 0, COFFER_ERR_DB otherwise (also for a file that is not an
 * initialised vault when create is 0, or one from a newer schema).  A new
 * file is created mode 0600.
 */
int store_open(const char *path, const unsigned char key[32], int create,
    struct store **out);
void store_close(struct store *st);
/*
 * Gather the query planner's statistics (sqlite_stat1) for every table
 * whose statistics are missing or stale (PRAGMA optimize=0x10002, each
 * index sampled up to STORE_ANALYSIS_LIMIT rows): about 2 s on a vault of
 * a million customers never analysed, milliseconds once it has been.  The
 * list queries need them: without, an agent's follow-ups took 2.0-2.6 s
 * instead of 0.5 at a million customers (docs/performance.md §6).  It
 * writes, so the caller holds the daemon's write mutex or is alone.
 */
int store_optimize(struct store *st);
/*
 * From any thread: make the statement st's connection is running (if any)
 * stop with COFFER_ERR_UNAVAILABLE, for a stop that cannot wait for a long
 * query.  The caller keeps st open for the duration of the call.
 */
void store_interrupt(struct store *st);

/*
 * Process-wide: past this many bytes of SQLite memory, every connection's
 * page cache recycles its own least recently used pages instead of
 * growing (sqlite3_soft_heap_limit64), so a daemon with hundreds of
 * sessions, each with its own connection, stays near the budget.  0: no
 * limit.  Nothing fails for it; only caching is bounded.
 */
void store_memory_limit(int64_t bytes);

/* Transactions for multi-step writes (BEGIN IMMEDIATE). */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* Users ------------------------------------------------------------- */

enum user_role { ROLE_AGENT = 1, ROLE_MANAGER, ROLE_COMPLIANCE, ROLE_ADMIN };

struct store_user {
	int64_t id;
	char name[65];
	char display[129];
	enum user_role role;
	char team[65];        /* empty if none */
	int64_t manager_id;   /* 0 if none */
	char clearance[33];   /* level name: public/internal/confidential/secret */
	unsigned char pubkey[32];
	int active;           /* 0 = disabled, cannot log in */
	int64_t version, created, updated;
};

const char *store_role_name(enum user_role r);
int store_role_parse(const char *s, enum user_role *out);

/* COFFER_ERR_NOT_FOUND if absent. */
int store_user_get(struct store *st, const char *name, struct store_user *u);
int store_user_get_id(struct store *st, int64_t id, struct store_user *u);
/* Validates and inserts; sets u->id, version, times.  CONFLICT if name
 * exists; INVALID (with detail) for a bad field. */
int store_user_add(struct store *st, struct store_user *u,
    struct coffer_errdetail *detail);
/* Set active / role / team / manager / clearance / pubkey; by u->id. */
int store_user_update(struct store *st, const struct store_user *u,
    struct coffer_errdetail *detail);
/* Array of user maps (no key material beyond the public key). */
int store_user_list(struct store *st, cbor_item_t **out);
/* Map of one user (for the wire). */
cbor_item_t *store_user_to_map(const struct store_user *u);

/* Records ----------------------------------------------------------- */

/* Row scope for a request, pushed into SQL. */
enum scope_kind { SCOPE_NONE = 0, SCOPE_OWN, SCOPE_TEAM, SCOPE_ALL };
struct store_scope {
	enum scope_kind kind;
	int64_t user_id;     /* SCOPE_OWN: rows owned by this user */
	char team[65];       /* SCOPE_TEAM: rows owned by users of this team */
	/*
	 * No read-up in lists: with label_filter set, record.list returns
	 * only rows whose label (for kinds reached through a customer: the
	 * customer's) is NULL or enum value i of the customer kind's "label"
	 * field for each bit i set in label_allow.  The SQL literals come from
	 * schema.c's table, never from here.  Zero: no label filter.
	 */
	int label_filter;
	unsigned label_allow;
};

/* What the policy needs of a customer: label, do-not-call, stage. */
struct store_customer_facts {
	char label[33];      /* "" if none */
	int do_not_call;
	char stage[33];      /* "" if none */
};

/* The facts of customer id (any scope: the caller has already decided);
 * do_not_call is also 1 when the customer's phone is on the do-not-call
 * list (dnc.h).  COFFER_ERR_NOT_FOUND if there is no such customer. */
int store_customer_facts(struct store *st, int64_t id,
    struct store_customer_facts *out);

struct store_filter {
	const char *field;   /* an FF_FILTER field of the kind */
	const cbor_item_t *value; /* equality */
};

/*
 * One record as a map of all its fields (including id, version, created,
 * updated).  COFFER_ERR_NOT_FOUND if it does not exist, COFFER_ERR_DENIED
 * if it exists but is outside scope.
 */
int store_record_get(struct store *st, const struct kind_def *k, int64_t id,
    const struct store_scope *scope, cbor_item_t **out);

/*
 * A page of records in scope matching all filters, ordered by id, as an
 * array of maps; *total gets the number matching (for paging).  limit is
 * capped at STORE_LIST_MAX (0 means STORE_LIST_MAX).  A filter value of
 * null matches rows where the field is absent.  COFFER_ERR_INVALID for a
 * field that is not FF_FILTER or a value of the wrong type; DENIED for
 * SCOPE_NONE.
 */
int store_record_list(struct store *st, const struct kind_def *k,
    const struct store_filter *filters, size_t nfilters,
    const struct store_scope *scope, size_t limit, size_t offset,
    cbor_item_t **out, uint64_t *total);

/*
 * Insert a validated record (schema_validate first; the store validates
 * again).  Referenced records (FT_REF) must exist and be in scope, or
 * COFFER_ERR_INVALID / DENIED with detail naming the field; user-id fields
 * must name a user.  With SCOPE_OWN/TEAM an absent owner field (FF_OWNER)
 * is set to scope->user_id, and a given owner must be in scope (DENIED).
 * A null value means absent.  *id gets the new id.
 */
int store_record_create(struct store *st, const struct kind_def *k,
    const cbor_item_t *fields, const struct store_scope *scope,
    int64_t *id, struct coffer_errdetail *detail);

/*
 * Update fields of a record in scope whose version is expected_version
 * (COFFER_ERR_CONFLICT otherwise, detail left empty); bumps version and
 * updated.  A null value clears an optional field.  NOT_FOUND / DENIED as
 * for store_record_get; a new owner must keep the row in scope.
 */
int store_record_update(struct store *st, const struct kind_def *k,
    int64_t id, int64_t expected_version, const cbor_item_t *fields,
    const struct store_scope *scope, struct coffer_errdetail *detail);

/*
 * Delete a record in scope at expected_version (tombstone later).
 * COFFER_ERR_CONFLICT for another version or when other records still
 * refer to it (a customer with calls).
 */
int store_record_delete(struct store *st, const struct kind_def *k,
    int64_t id, int64_t expected_version, const struct store_scope *scope);

/*
 * Tombstone a record at expected_version (change requests, docs/
 * requests.md): it keeps its row and history but no read or list returns
 * it again.  Bumps the version.  CONFLICT if the version differs or it is
 * already deleted.  No scope: the caller has decided.
 */
int store_record_tombstone(struct store *st, const struct kind_def *k,
    int64_t id, int64_t expected_version);

/*
 * Erase a record at expected_version (a purge, docs/requests.md §7, or
 * the end of a tombstone's retention, §6): the fields named (from
 * schema_erasable_fields; never the id, times or owner) are overwritten,
 * a required one with STORE_PURGED_TEXT / STORE_PURGED_PHONE, any other
 * with NULL; the row is tombstoned (also if it already was), marked
 * erased and its version bumped.  CONFLICT if the version differs,
 * INVALID for a name that may not be erased.  No scope: the caller has
 * decided.
 */
#define STORE_PURGED_TEXT "[purged]"
#define STORE_PURGED_PHONE "000000000"
int store_record_erase(struct store *st, const struct kind_def *k,
    int64_t id, int64_t expected_version, const char *const *names,
    size_t n);

/*
 * Up to max tombstones of kind k deleted at or before deleted_before and
 * not yet erased, oldest first, with their versions; a tombstone with a
 * pending or approved request on it is left for later.
 */
int store_tombstones_due(struct store *st, const struct kind_def *k,
    int64_t deleted_before, int64_t *ids, int64_t *versions, size_t max,
    size_t *n);

/*
 * As store_record_get, but a tombstoned record is found too (*deleted 1):
 * for its history, which outlives it.
 */
int store_record_get_any(struct store *st, const struct kind_def *k,
    int64_t id, const struct store_scope *scope, cbor_item_t **out,
    int *deleted);

/* Map of kind name -> number of records, for status. */
int store_stats(struct store *st, cbor_item_t **out);

/*
 * Bulk loading (demo data, imports).  One prepared INSERT of the named
 * fields of kind k (any but id and version; created/updated default to
 * now), run once per row: set the values by position in fields, then
 * store_bulk_insert.  There is NO validation, scope or reference checking
 * beyond the table's own constraints: the caller must produce values that
 * are valid by construction (phones already normalised).  Unset values are
 * NULL; values are cleared after each row.  Wrap batches of rows in
 * store_begin/store_commit for speed.  Close before store_close.
 */
struct store_bulk;
int store_bulk_open(struct store *st, const struct kind_def *k,
    const char *const *fields, size_t nfields, struct store_bulk **out);
int store_bulk_int(struct store_bulk *b, size_t i, int64_t v);
/* s is copied; NULL leaves the value unset (NULL). */
int store_bulk_text(struct store_bulk *b, size_t i, const char *s);
/* Insert the row; *id (may be NULL) gets its id. */
int store_bulk_insert(struct store_bulk *b, int64_t *id);
void store_bulk_close(struct store_bulk *b);

#endif
