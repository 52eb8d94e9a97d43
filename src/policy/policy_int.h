/*
 * policy_int.h - what the policy module's files share: the strict YAML tree
 * (ytree.c), the error list, and the compiled policy (policy.c builds it,
 * decide.c reads it).  Not a public interface.
 */
#ifndef COFFER_POLICY_INT_H
#define COFFER_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>
#include "coffer/policy.h"

/* Parser bounds: far above what a real policy needs, small enough that a
 * hostile file cannot make load slow or big. */
#define YT_MAX_DEPTH 16
#define YT_MAX_NODES 20000
#define YT_MAX_ITEMS 256      /* entries of one mapping or sequence */
#define YT_MAX_SCALAR 1024
#define POLICY_MAX_KINDS 8
#define POLICY_MAX_STAGES 8
#define POLICY_NAME_MAX 32

/* Errors collected while loading, in the order found. */
struct perrs {
	char file[256];
	struct policy_error list[POLICY_MAX_ERRORS];
	size_t n;      /* stored */
	size_t total;  /* found, including those not stored */
	int status;    /* first status other than INVALID, or INVALID */
};

void perr_add(struct perrs *e, unsigned line, unsigned col,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sort stored errors by position (stable). */
void perr_sort(struct perrs *e);

enum ynode_type { YN_SCALAR, YN_SEQ, YN_MAP };

struct ynode {
	enum ynode_type type;
	unsigned line, col;     /* 1-based */
	char *str;              /* YN_SCALAR: NUL-terminated, no inner NUL */
	int plain;              /* YN_SCALAR: unquoted */
	struct ynode **kids;    /* YN_SEQ: items; YN_MAP: key, value, ... */
	size_t nkids;
};

/*
 * Parse one YAML document into a tree, strictly: no anchors, aliases or
 * tags, one document, scalar keys only, no duplicate keys, bounded as
 * above.  On error adds to e and returns COFFER_ERR_INVALID (or NOMEM);
 * *out is NULL for an empty stream (the caller reports it).
 */
int ytree_parse(const unsigned char *data, size_t len, struct perrs *e,
    struct ynode **out);
void ytree_free(struct ynode *n);

/* Compiled form ----------------------------------------------------- */

enum { CTX_READ = 0, CTX_LIST = 1 };

struct pfield {
	int level;                 /* effective label, level index */
	unsigned char read, list;  /* enum policy_treat within clearance */
	unsigned char above;       /* enum policy_treat above clearance */
	unsigned char format;      /* enum mask_format */
	unsigned char reveal;      /* may be revealed */
	unsigned char dnc;         /* held back by the do-not-call rule */
	unsigned line;             /* where described, 0 = schema default */
	unsigned char above_set;   /* above given for this field */
};

struct prole {
	char name[POLICY_NAME_MAX + 1];
	unsigned line;
	int max_clearance;         /* level index */
	/* enum scope_kind per kind and record action; SCOPE_NONE = denied */
	unsigned char grant[POLICY_MAX_KINDS][POLICY_RECORD_ACTIONS];
	unsigned grant_line[POLICY_MAX_KINDS][POLICY_RECORD_ACTIONS];
	unsigned first_grant_line; /* 0: no record grants */
	unsigned privs;            /* bit (1u << action) per privilege */
	unsigned priv_line[POLICY_ACTION_COUNT_];
	uint32_t limits[POLICY_LIMIT_COUNT_];
	int dnc;                   /* the do-not-call rule applies */
};

/* One rule of the approvals section (docs/policy.md §2.7). */
#define POLICY_MAX_APPROVAL_RULES 16
struct papproval {
	unsigned char kinds[POLICY_MAX_KINDS]; /* 1: the rule covers kind i */
	unsigned char ops;                     /* bit 0 update, 1 delete, 2 purge */
	unsigned approvals;
	size_t nroles;
	int roles[POLICY_APPROVAL_ROLES];      /* role indexes */
};

struct policy {
	unsigned char hash[32];
	int64_t approval_expiry;               /* seconds */
	size_t napprovals;
	struct papproval approval_rules[POLICY_MAX_APPROVAL_RULES];
	/* corrections (docs/policy.md §2.8): seconds an owner may correct
	 * field f of kind k directly after creating the record; 0: never */
	int64_t correct[POLICY_MAX_KINDS][POLICY_MAX_FIELDS];
	/* retention (docs/policy.md §2.9): seconds a tombstone of kind k is
	 * kept before its values are erased; 0: kept for ever */
	int64_t retain[POLICY_MAX_KINDS];
	size_t nlevels;
	char levels[POLICY_MAX_LEVELS][POLICY_NAME_MAX + 1];
	unsigned char above_level[POLICY_MAX_LEVELS]; /* enum policy_treat */
	size_t nroles;
	struct prole roles[POLICY_MAX_ROLES];
	const struct kind_def *kinds;
	size_t nkinds;
	struct pfield fields[POLICY_MAX_KINDS][POLICY_MAX_FIELDS];
	size_t nstages;
	char stages[POLICY_MAX_STAGES][POLICY_NAME_MAX + 1];
	/* per effective clearance, kind, context, field */
	unsigned char treat[POLICY_MAX_LEVELS][POLICY_MAX_KINDS][2]
	    [POLICY_MAX_FIELDS];
	unsigned char write[POLICY_MAX_LEVELS][POLICY_MAX_KINDS]
	    [POLICY_MAX_FIELDS];
	unsigned char formats[POLICY_MAX_KINDS][POLICY_MAX_FIELDS];
};

/* Index of k in schema_kinds(), or -1. */
int policy_kind_index(const struct policy *p, const struct kind_def *k);

#endif
