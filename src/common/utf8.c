/*
 * utf8.c - strict UTF-8 decoding, shared so that every part of Coffer
 * accepts and refuses exactly the same text.
 */
#include "coffer/utf8.h"

size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n, k;
	uint32_t v, min;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		n = 1; v = s[0]; min = 0;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2; v = s[0] & 0x1f; min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3; v = s[0] & 0x0f; min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4; v = s[0] & 0x07; min = 0x10000;
	} else {
		return 0;   /* continuation byte, lead c0/c1, or above f4 */
	}
	if (len < n)
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	if (cp != NULL)
		*cp = v;
	return n;
}

size_t
utf8_check(const unsigned char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if (s[i] < 0x80) {   /* ASCII runs are the common case */
			i++;
			continue;
		}
		if ((n = utf8_decode(s + i, len - i, NULL)) == 0)
			return i;
		i += n;
	}
	return len;
}
