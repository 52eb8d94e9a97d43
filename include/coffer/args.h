/*
 * args.h - reading a request's arguments in the daemon's handlers, with
 * errors that name the argument ("id: required, a positive integer"), so
 * every operation words the same mistake the same way.
 */
#ifndef COFFER_ARGS_H
#define COFFER_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <cbor.h>

#include "coffer/err.h"
#include "coffer/schema.h"

/* args.kind: a record kind of the schema; COFFER_ERR_INVALID otherwise. */
int args_kind(const cbor_item_t *args, const struct kind_def **k,
    struct coffer_errdetail *d);

/* args.KEY: a positive integer that fits int64_t. */
int args_id(const cbor_item_t *args, const char *key, int64_t *id,
    struct coffer_errdetail *d);

/*
 * args.KEY: text of at most bufsz - 1 bytes, non-empty if required; an
 * absent optional argument gives "".
 */
int args_text(const cbor_item_t *args, const char *key, char *buf,
    size_t bufsz, int required, struct coffer_errdetail *d);

#endif
