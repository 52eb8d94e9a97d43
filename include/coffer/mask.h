/*
 * mask.h - the masking formats the daemon applies to a field a user may see
 * only partly (phone 138****5678, e-mail z***@example.com, name 张*, amounts
 * as ranges).  Pure functions on bounded input; the rules are in
 * docs/policy.md, section "Masking formats".
 */
#ifndef COFFER_MASK_H
#define COFFER_MASK_H

#include <stddef.h>
#include <stdint.h>

/* Largest masked value including the NUL: "x***@" + a 254-byte domain. */
#define MASK_OUT_MAX 272
/* Longest input a mask function looks at; longer input masks to "***". */
#define MASK_IN_MAX 512

enum mask_format {
	MASK_TEXT = 0, /* "***" whatever the value (any field type) */
	MASK_PHONE,    /* keep prefix/area/country code and the last 4 digits */
	MASK_EMAIL,    /* first character of the local part + "***@domain" */
	MASK_NAME,     /* 张* / 欧阳** / J*** */
	MASK_AMOUNT,   /* money in fen -> "10,000-50,000" (yuan) */
	MASK_FORMAT_COUNT_
};

/*
 * Every function below writes a NUL-terminated masked form of the input to
 * out and returns COFFER_OK, or COFFER_ERR_TOO_BIG (out set to "" when
 * outsz > 0) if outsz is too small; MASK_OUT_MAX is always enough.  Input
 * is (pointer, length): embedded NULs are allowed and make the value mask
 * to "***".  Input that does not have the expected shape masks to "***":
 * a mask never falls back to showing the value.
 */
int mask_phone(const char *in, size_t len, char *out, size_t outsz);
int mask_email(const char *in, size_t len, char *out, size_t outsz);
int mask_name(const char *in, size_t len, char *out, size_t outsz);
int mask_amount(int64_t fen, char *out, size_t outsz);
int mask_text(char *out, size_t outsz);

/* Dispatch on a text format (MASK_AMOUNT here masks to "***"). */
int mask_string(enum mask_format f, const char *in, size_t len, char *out,
    size_t outsz);

/* "text", "phone", "email", "name", "amount"; "unknown" otherwise. */
const char *mask_format_name(enum mask_format f);
/* COFFER_ERR_INVALID for an unknown name. */
int mask_format_parse(const char *s, enum mask_format *out);

#endif
