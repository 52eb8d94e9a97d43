/*
 * schema.h - the record kinds of a telesales vault, described once as data.
 * Validation, SQL, the client's tables and (later) labels and masking all
 * read these descriptors, so adding a field is one table row.
 * Field meanings: docs/schema.md.
 */
#ifndef COFFER_SCHEMA_H
#define COFFER_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include <cbor.h>
#include "coffer/err.h"

enum field_type {
	FT_TEXT,   /* UTF-8, length bounds in min/max (bytes) */
	FT_INT,    /* integer, range min..max */
	FT_MONEY,  /* integer minor units (fen), >= 0 */
	FT_ENUM,   /* one of enum_values */
	FT_PHONE,  /* mainland mobile/landline or E.164; stored normalised */
	FT_EMAIL,
	FT_TIME,   /* Unix seconds (UTC) */
	FT_BOOL,
	FT_REF     /* id of a record of kind ref_kind */
};

enum field_flags {
	FF_REQUIRED = 1u << 0,  /* must be given on create */
	FF_SERVER = 1u << 1,    /* set by the daemon only (id, version, times) */
	FF_IMMUTABLE = 1u << 2, /* may be set on create, never updated */
	FF_FILTER = 1u << 3,    /* usable as a list filter */
	FF_OWNER = 1u << 4      /* the owning agent (row scope) */
};

struct field_def {
	const char *name;            /* wire and client name == SQL column */
	enum field_type type;
	unsigned flags;
	int64_t min, max;            /* text: byte length; int: value range */
	const char *const *enum_values; /* NULL-terminated, FT_ENUM only */
	const char *ref_kind;        /* FT_REF: kind; FT_INT: "user" if the
	                                value is a user id, else NULL */
	const char *label;           /* default confidentiality label */
	const char *help;            /* one line for --help and docs */
};

/* How a row's owning agent is found (row scope). */
enum scope_path {
	SCOPE_VIA_OWNER_FIELD,     /* the kind's own FF_OWNER field */
	SCOPE_VIA_CUSTOMER,        /* customer_id -> customers.owner_id */
	SCOPE_SHARED               /* not owned by an agent (products) */
};

struct kind_def {
	const char *name;      /* "customer" */
	const char *plural;    /* "customers" */
	const char *table;     /* SQL table */
	const struct field_def *fields;
	size_t nfields;
	enum scope_path scope;
	const char *help;
};

/* All kinds (customer, call, followup, deal, product, note). */
const struct kind_def *schema_kinds(size_t *n);
/* By singular or plural name; NULL if unknown. */
const struct kind_def *schema_kind(const char *name);
const struct field_def *schema_field(const struct kind_def *k,
    const char *name);

/*
 * The fields erasing a record wipes (a purge, or the end of a tombstone's
 * retention; docs/requests.md §7): every field that holds or may hold
 * personal data - labelled above internal, or free text that is not a
 * list filter - except ids, times, the owner, references, and required
 * fields whose type has no neutral value (a deal's amount stays).  At
 * most max names (schema order) into names; returns how many.
 */
size_t schema_erasable_fields(const struct kind_def *k, const char **names,
    size_t max);

/*
 * Validate a map of field name -> value for create (is_create != 0: all
 * FF_REQUIRED present, no FF_SERVER) or update (no FF_SERVER or
 * FF_IMMUTABLE, at least one field).  Unknown fields are errors.  On error
 * detail names the field and the rule ("phone: not a valid number").
 * Values are checked for type, range, enum membership and format; FT_REF
 * existence is the store's job.
 */
int schema_validate(const struct kind_def *k, const cbor_item_t *fields,
    int is_create, struct coffer_errdetail *detail);

/*
 * Check one value against its field's type, range, enum and format rules
 * (the per-value part of schema_validate; also used for list filters).
 * A null value is not accepted here.
 */
int schema_validate_value(const struct field_def *f, const cbor_item_t *v,
    struct coffer_errdetail *detail);

/*
 * Normalise a phone number to its stored form: mainland mobile
 * "13812345678", landline "010-12345678", other E.164 "+4420...".  Accepts
 * spaces, dashes, dots, parentheses and a +86/0086 prefix.
 * COFFER_ERR_INVALID if it is not a plausible number.
 */
int schema_normalize_phone(const char *in, char *out, size_t outsz);

#endif
