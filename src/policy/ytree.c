/*
 * ytree.c - a strict, bounded YAML reader for the policy file: libyaml's
 * event parser builds a small tree of scalars, sequences and mappings with
 * line/column marks.  Anchors, aliases, tags, several documents, complex
 * keys and duplicate keys are refused: a policy must mean what it says.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "coffer/err.h"
#include "policy_int.h"

void
perr_add(struct perrs *e, unsigned line, unsigned col, const char *fmt, ...)
{
	struct policy_error *pe;
	va_list ap;

	e->total++;
	if (e->status == COFFER_OK)
		e->status = COFFER_ERR_INVALID;
	if (e->n >= POLICY_MAX_ERRORS)
		return;
	pe = &e->list[e->n++];
	/* Same-sized arrays; memcpy, since pe points into *e (snprintf
	 * would trip -Wrestrict). */
	memcpy(pe->file, e->file, sizeof(pe->file));
	pe->file[sizeof(pe->file) - 1] = '\0';
	pe->line = line;
	pe->column = col;
	va_start(ap, fmt);
	vsnprintf(pe->message, sizeof(pe->message), fmt, ap);
	va_end(ap);
}

/* Insertion sort: few errors, and equal positions keep their order. */
void
perr_sort(struct perrs *e)
{
	struct policy_error tmp;
	size_t i, j;

	for (i = 1; i < e->n; i++) {
		tmp = e->list[i];
		for (j = i; j > 0 && (e->list[j - 1].line > tmp.line ||
		    (e->list[j - 1].line == tmp.line &&
		    e->list[j - 1].column > tmp.column)); j--)
			e->list[j] = e->list[j - 1];
		e->list[j] = tmp;
	}
}

struct yp {
	yaml_parser_t parser;
	struct perrs *e;
	size_t nodes;
};

void
ytree_free(struct ynode *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		ytree_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

static int
next_event(struct yp *y, yaml_event_t *ev)
{
	if (yaml_parser_parse(&y->parser, ev))
		return COFFER_OK;
	if (y->parser.error == YAML_MEMORY_ERROR)
		return COFFER_ERR_NOMEM;
	perr_add(y->e, (unsigned)y->parser.problem_mark.line + 1,
	    (unsigned)y->parser.problem_mark.column + 1, "syntax error: %s%s%s",
	    y->parser.problem != NULL ? y->parser.problem : "invalid YAML",
	    y->parser.context != NULL ? " " : "",
	    y->parser.context != NULL ? y->parser.context : "");
	return COFFER_ERR_INVALID;
}

static int
fail_at(struct yp *y, const yaml_mark_t *m, const char *msg)
{
	perr_add(y->e, (unsigned)m->line + 1, (unsigned)m->column + 1, "%s",
	    msg);
	return COFFER_ERR_INVALID;
}

static int
new_node(struct yp *y, const yaml_event_t *ev, enum ynode_type t,
    struct ynode **out)
{
	struct ynode *n;

	if (++y->nodes > YT_MAX_NODES)
		return fail_at(y, &ev->start_mark,
		    "too many entries (the policy is far too big)");
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return COFFER_ERR_NOMEM;
	n->type = t;
	n->line = (unsigned)ev->start_mark.line + 1;
	n->col = (unsigned)ev->start_mark.column + 1;
	*out = n;
	return COFFER_OK;
}

static int
add_kid(struct yp *y, struct ynode *parent, struct ynode *kid)
{
	struct ynode **k;

	if (parent->nkids >= 2 * YT_MAX_ITEMS) {
		perr_add(y->e, kid->line, kid->col,
		    "too many entries in one list or mapping (at most %d)",
		    YT_MAX_ITEMS);
		ytree_free(kid);
		return COFFER_ERR_INVALID;
	}
	k = realloc(parent->kids, (parent->nkids + 1) * sizeof(*k));
	if (k == NULL) {
		ytree_free(kid);
		return COFFER_ERR_NOMEM;
	}
	parent->kids = k;
	parent->kids[parent->nkids++] = kid;
	return COFFER_OK;
}

static int
scalar_node(struct yp *y, const yaml_event_t *ev, struct ynode **out)
{
	size_t len = ev->data.scalar.length;
	struct ynode *n = NULL;
	int rc;

	if (len > YT_MAX_SCALAR)
		return fail_at(y, &ev->start_mark, "value too long");
	if (memchr(ev->data.scalar.value, '\0', len) != NULL)
		return fail_at(y, &ev->start_mark, "NUL character in value");
	if ((rc = new_node(y, ev, YN_SCALAR, &n)) != COFFER_OK)
		return rc;
	n->str = malloc(len + 1);
	if (n->str == NULL) {
		free(n);
		return COFFER_ERR_NOMEM;
	}
	memcpy(n->str, ev->data.scalar.value, len);
	n->str[len] = '\0';
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	*out = n;
	return COFFER_OK;
}

static int parse_node(struct yp *y, yaml_event_t *ev, int depth,
    struct ynode **out);

/* Parse the next node (fetching its first event) into *out. */
static int
parse_next(struct yp *y, int depth, struct ynode **out)
{
	yaml_event_t ev;
	int rc;

	if ((rc = next_event(y, &ev)) != COFFER_OK)
		return rc;
	rc = parse_node(y, &ev, depth, out);
	yaml_event_delete(&ev);
	return rc;
}

/* A key already present in map (keys at even positions). */
static const struct ynode *
find_key(const struct ynode *map, const char *key)
{
	size_t i;

	for (i = 0; i + 1 < map->nkids; i += 2)
		if (strcmp(map->kids[i]->str, key) == 0)
			return map->kids[i];
	return NULL;
}

/* Read items until the collection's end event; maps alternate key, value. */
static int
parse_items(struct yp *y, struct ynode *n, yaml_event_type_t end, int depth)
{
	const struct ynode *dup;
	struct ynode *kid = NULL;
	yaml_event_t ev;
	int rc, is_key;

	for (;;) {
		if ((rc = next_event(y, &ev)) != COFFER_OK)
			return rc;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return COFFER_OK;
		}
		is_key = n->type == YN_MAP && n->nkids % 2 == 0;
		rc = parse_node(y, &ev, depth + 1, &kid);
		yaml_event_delete(&ev);
		if (rc != COFFER_OK)
			return rc;
		if (is_key && kid->type != YN_SCALAR) {
			perr_add(y->e, kid->line, kid->col,
			    "a key must be a plain name");
			ytree_free(kid);
			return COFFER_ERR_INVALID;
		}
		if (is_key && (dup = find_key(n, kid->str)) != NULL) {
			perr_add(y->e, kid->line, kid->col,
			    "duplicate key '%s' (first at line %u)", kid->str,
			    dup->line);
			ytree_free(kid);
			return COFFER_ERR_INVALID;
		}
		if ((rc = add_kid(y, n, kid)) != COFFER_OK)
			return rc;
	}
}

static int
parse_node(struct yp *y, yaml_event_t *ev, int depth, struct ynode **out)
{
	struct ynode *n = NULL;
	yaml_char_t *anchor = NULL, *tag = NULL;
	int rc;

	*out = NULL;
	if (ev->type == YAML_ALIAS_EVENT)
		return fail_at(y, &ev->start_mark,
		    "aliases are not allowed in a policy");
	if (ev->type == YAML_SCALAR_EVENT) {
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	} else if (ev->type == YAML_MAPPING_START_EVENT) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	} else {
		return fail_at(y, &ev->start_mark, "unexpected YAML event");
	}
	if (anchor != NULL)
		return fail_at(y, &ev->start_mark,
		    "anchors are not allowed in a policy");
	if (tag != NULL)
		return fail_at(y, &ev->start_mark,
		    "tags are not allowed in a policy");
	if (ev->type == YAML_SCALAR_EVENT)
		return scalar_node(y, ev, out);
	if (depth >= YT_MAX_DEPTH)
		return fail_at(y, &ev->start_mark, "nested too deeply");
	rc = new_node(y, ev, ev->type == YAML_MAPPING_START_EVENT ? YN_MAP :
	    YN_SEQ, &n);
	if (rc != COFFER_OK)
		return rc;
	rc = parse_items(y, n, ev->type == YAML_MAPPING_START_EVENT ?
	    YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT, depth);
	if (rc != COFFER_OK) {
		ytree_free(n);
		return rc;
	}
	*out = n;
	return COFFER_OK;
}

/* Expect an event of type t; anything else is "unexpected". */
static int
expect(struct yp *y, yaml_event_type_t t, const char *msg)
{
	yaml_event_t ev;
	int rc;

	if ((rc = next_event(y, &ev)) != COFFER_OK)
		return rc;
	if (ev.type != t)
		rc = fail_at(y, &ev.start_mark, msg);
	yaml_event_delete(&ev);
	return rc;
}

static int
parse_stream(struct yp *y, struct ynode **out)
{
	yaml_event_t ev;
	int rc;

	if ((rc = expect(y, YAML_STREAM_START_EVENT, "not YAML")) != COFFER_OK)
		return rc;
	if ((rc = next_event(y, &ev)) != COFFER_OK)
		return rc;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return COFFER_OK; /* empty: *out stays NULL */
	}
	yaml_event_delete(&ev);
	if ((rc = parse_next(y, 0, out)) != COFFER_OK)
		return rc;
	if ((rc = expect(y, YAML_DOCUMENT_END_EVENT, "unexpected content"))
	    != COFFER_OK)
		return rc;
	return expect(y, YAML_STREAM_END_EVENT,
	    "only one YAML document is allowed in a policy");
}

int
ytree_parse(const unsigned char *data, size_t len, struct perrs *e,
    struct ynode **out)
{
	struct yp y;
	int rc;

	*out = NULL;
	memset(&y, 0, sizeof(y));
	y.e = e;
	if (!yaml_parser_initialize(&y.parser))
		return COFFER_ERR_NOMEM;
	yaml_parser_set_input_string(&y.parser, data, len);
	rc = parse_stream(&y, out);
	yaml_parser_delete(&y.parser);
	if (rc != COFFER_OK) {
		ytree_free(*out);
		*out = NULL;
	}
	return rc;
}
