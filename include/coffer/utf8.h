/*
 * utf8.h - the one strict UTF-8 decoder (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), used wherever text from outside is
 * checked or measured: the CBOR validator, the schema, the audit records
 * and the client's output.
 */
#ifndef COFFER_UTF8_H
#define COFFER_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Length (1 to 4) of the valid sequence at s, which has len bytes left,
 * with its code point in *cp (cp may be NULL); 0 if the bytes at s are not
 * a valid sequence or it is cut short.
 */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* Offset of the first invalid byte of s[0..len), or len if all is valid. */
size_t utf8_check(const unsigned char *s, size_t len);

#endif
