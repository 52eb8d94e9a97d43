/*
 * vectors.h - reads the hex test vectors out of docs/protocol.md, where
 * each is a fenced block opened by "```vector NAME".  The document is the
 * only copy, so the spec and the tests cannot drift apart.  Used by the unit
 * tests only; header-only because it is test scaffolding, not a module.
 */
#ifndef COFFER_TEST_VECTORS_H
#define COFFER_TEST_VECTORS_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The document, relative to this header (tests/vectors/../../docs), which
 * holds when the tests run from the top of the tree as make does;
 * COFFER_PROTOCOL_DOC overrides it.
 */
static inline char *
vec_read_doc(void)
{
	const char *env = getenv("COFFER_PROTOCOL_DOC");
	char path[4096];
	const char *slash = strrchr(__FILE__, '/');
	char *text = NULL;
	FILE *f = NULL;
	long n;

	if (env != NULL)
		snprintf(path, sizeof(path), "%s", env);
	else
		snprintf(path, sizeof(path), "%.*s../../docs/protocol.md",
		    slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	if ((text = malloc((size_t)n + 1)) == NULL)
		goto out;
	if (fread(text, 1, (size_t)n, f) != (size_t)n) {
		free(text);
		text = NULL;
		goto out;
	}
	text[n] = '\0';
out:
	fclose(f);
	return text;
}

static inline int
vec_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * The bytes of vector name, malloc'd; NULL if the document or the vector
 * is missing, the vector appears twice, or its hex is malformed (anything
 * but hex digit pairs and white space).
 */
static inline unsigned char *
vec_get(const char *name, size_t *len)
{
	char open[128];
	char *doc = vec_read_doc(), *p, *end;
	unsigned char *out = NULL;
	size_t n = 0;
	int hi = -1, v;

	*len = 0;
	if (doc == NULL)
		return NULL;
	snprintf(open, sizeof(open), "```vector %s\n", name);
	if ((p = strstr(doc, open)) == NULL || strstr(p + 1, open) != NULL)
		goto fail;
	p += strlen(open);
	if ((end = strstr(p, "```")) == NULL)
		goto fail;
	if ((out = malloc((size_t)(end - p) / 2 + 1)) == NULL)
		goto fail;
	for (; p < end; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if ((v = vec_hexval((unsigned char)*p)) < 0)
			goto fail;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0 || n == 0)
		goto fail;
	free(doc);
	*len = n;
	return out;
fail:
	free(doc);
	free(out);
	return NULL;
}

#endif
