/*
 * cmd_records.c - the record commands: list, show, create, update, delete,
 * reveal, and `fields`, which describes each kind from the schema.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/client.h"

/* Columns shown by `list`, per kind; absent names are skipped. */
static const struct {
	const char *kind;
	const char *cols[7];
} list_columns[] = {
	{ "customer", { "id", "name", "phone", "stage", "intent", "owner_id" } },
	{ "call", { "id", "customer_id", "started", "duration", "outcome",
	    "agent_id" } },
	{ "followup", { "id", "customer_id", "due", "kind", "status",
	    "agent_id" } },
	{ "deal", { "id", "customer_id", "product_id", "amount",
	    "payment_status", "closed" } },
	{ "product", { "id", "name", "list_price" } },
	{ "note", { "id", "kind", "subject", "customer_id", "department" } },
};

/* Column fields for kind k: the table above, else id + required fields. */
static size_t
columns_for(const struct kind_def *k, const struct field_def **cols,
    size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < sizeof(list_columns) / sizeof(list_columns[0]); i++) {
		if (strcmp(list_columns[i].kind, k->name) != 0)
			continue;
		for (j = 0; j < 7 && list_columns[i].cols[j] != NULL && n < max;
		    j++)
			if ((cols[n] = schema_field(k, list_columns[i].cols[j]))
			    != NULL)
				n++;
		return n;
	}
	for (i = 0; i < k->nfields && n < max; i++)
		if (strcmp(k->fields[i].name, "id") == 0 ||
		    ((k->fields[i].flags & FF_REQUIRED) != 0 &&
		    k->fields[i].type != FT_TEXT))
			cols[n++] = &k->fields[i];
	return n;
}


static int
list_records(struct ctx *c, const struct kind_def *k, const cbor_item_t *res)
{
	const struct field_def *cols[7];
	const char *heads[7];
	const cbor_item_t *rows = msg_get(res, "records");
	uint64_t total = 0, offset = 0;
	size_t n, i;
	int rc;

	if (rows == NULL || !cbor_isa_array(rows))
		return fail(c, COFFER_ERR_PROTO, "list: the daemon's answer has "
		    "no records");
	n = columns_for(k, cols, 7);
	for (i = 0; i < n; i++)
		heads[i] = cols[i]->name;
	if ((rc = print_table(c, cols, n, heads, rows)) != COFFER_OK)
		return rc;
	(void)msg_get_uint(res, "total", &total);
	(void)msg_get_uint(res, "offset", &offset);
	if (!c->quiet && total == 0)
		printf("(no %s)\n", k->plural);
	else if (!c->quiet && total > cbor_array_size(rows))
		printf("(%zu of %llu %s, from offset %llu; use --limit/--offset "
		    "for more)\n", cbor_array_size(rows),
		    (unsigned long long)total, k->plural,
		    (unsigned long long)offset);
	return COFFER_OK;
}

/* KIND and --filter/--limit/--offset into the record.list args. */
static int
list_args(struct ctx *c, int argc, char **argv, const struct kind_def **k,
    cbor_item_t *args)
{
	static const struct option lo[] = {
		{ "filter", required_argument, NULL, 'f' },
		{ "limit", required_argument, NULL, 'n' },
		{ "offset", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *filters[64];
	size_t nf = 0;
	uint64_t v;
	cbor_item_t *fmap = NULL;
	int opt, rc;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":f:n:o:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (nf == sizeof(filters) / sizeof(filters[0]))
				return fail(c, COFFER_ERR_USAGE, "list: too "
				    "many filters");
			filters[nf++] = optarg;
			break;
		case 'n':
		case 'o':
			if (cli_parse_uint(optarg, &v) != COFFER_OK)
				return fail(c, COFFER_ERR_USAGE, "%s=%.40s: not "
				    "an unsigned integer", opt == 'n' ? "limit" :
				    "offset", optarg);
			if ((rc = msg_put_uint(args, opt == 'n' ? "limit" :
			    "offset", v)) != COFFER_OK)
				return rc;
			break;
		case 'h':
			show_help("list");
			return -1;
		default:
			return bad_option(c, "list", argv, opt);
		}
	}
	if ((rc = need_kind(c, "list", argv[optind], k)) != COFFER_OK)
		return rc;
	if (optind + 1 < argc)
		return fail(c, COFFER_ERR_USAGE, "list: unexpected '%.40s' "
		    "(filters are given with --filter FIELD=VALUE)",
		    argv[optind + 1]);
	if ((rc = msg_put_str(args, "kind", (*k)->name)) != COFFER_OK)
		return rc;
	if (nf == 0)
		return COFFER_OK;
	if ((rc = cli_fields(*k, filters, nf, CLI_FILTER, c->now, &fmap,
	    c->msg, sizeof(c->msg))) != COFFER_OK)
		return rc;
	return msg_put(args, "filters", fmap);
}

int
cmd_list(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	cbor_item_t *args = msg_new_map(), *res = NULL;
	int rc;

	if (args == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = list_args(c, argc, argv, &k, args)) != COFFER_OK) {
		cbor_decref(&args);
		return rc < 0 ? COFFER_OK : rc;
	}
	if ((rc = call(c, "record.list", args, &res)) != COFFER_OK)
		return rc;
	rc = c->json ? print_json(res) : list_records(c, k, res);
	cbor_decref(&res);
	return rc;
}





int
cmd_show(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	cbor_item_t *args = NULL, *res = NULL;
	uint64_t id = 0;
	int rc;

	if ((rc = record_opts(c, "show", argc, argv, 0, NULL)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = kind_and_id(c, "show", argc, argv, &k, &id)) != COFFER_OK)
		return rc;
	if (optind + 2 < argc)
		return fail(c, COFFER_ERR_USAGE, "show: unexpected '%.40s'",
		    argv[optind + 2]);
	if ((args = kind_id_args(k, id)) == NULL)
		return COFFER_ERR_NOMEM;
	if ((rc = call(c, "record.get", args, &res)) != COFFER_OK)
		return rc;
	rc = print_record_result(c, k, res);
	cbor_decref(&res);
	return rc;
}

int
cmd_create(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	cbor_item_t *args = NULL, *fields = NULL, *res = NULL;
	const cbor_item_t *rec;
	uint64_t id = 0;
	int rc;

	if ((rc = record_opts(c, "create", argc, argv, 0, NULL)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = need_kind(c, "create", optind < argc ? argv[optind] : NULL,
	    &k)) != COFFER_OK)
		return rc;
	if ((rc = cli_fields(k, argv + optind + 1, (size_t)(argc - optind - 1),
	    CLI_CREATE, c->now, &fields, c->msg, sizeof(c->msg))) != COFFER_OK)
		return rc;
	if ((args = msg_new_map()) == NULL ||
	    msg_put_str(args, "kind", k->name) != COFFER_OK) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	rc = msg_put(args, "fields", fields);
	fields = NULL; /* taken */
	if (rc != COFFER_OK)
		goto out;
	rc = call(c, "record.create", args, &res);
	args = NULL; /* taken */
	if (rc != COFFER_OK)
		goto out;
	if (c->quiet && !c->json) {
		rec = msg_get(res, "record");
		if (rec != NULL && msg_get_uint(rec, "id", &id) == COFFER_OK)
			printf("%llu\n", (unsigned long long)id);
	} else {
		rc = print_record_result(c, k, res);
	}
out:
	if (fields != NULL)
		cbor_decref(&fields);
	if (args != NULL)
		cbor_decref(&args);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}

int
cmd_update(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	cbor_item_t *args = NULL, *fields = NULL, *res = NULL;
	uint64_t id = 0, version = 0;
	int rc;

	if ((rc = record_opts(c, "update", argc, argv, 1, &version)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = kind_and_id(c, "update", argc, argv, &k, &id)) != COFFER_OK)
		return rc;
	if ((rc = cli_fields(k, argv + optind + 2, (size_t)(argc - optind - 2),
	    CLI_UPDATE, c->now, &fields, c->msg, sizeof(c->msg))) != COFFER_OK)
		return rc;
	if (version == 0 &&
	    (rc = current_version(c, k, id, &version)) != COFFER_OK)
		goto out;
	if ((args = kind_id_args(k, id)) == NULL ||
	    msg_put_uint(args, "version", version) != COFFER_OK) {
		rc = COFFER_ERR_NOMEM;
		goto out;
	}
	rc = msg_put(args, "fields", fields);
	fields = NULL; /* taken */
	if (rc != COFFER_OK)
		goto out;
	rc = call(c, "record.update", args, &res);
	args = NULL; /* taken */
	if (rc == COFFER_OK && (!c->quiet || c->json))
		rc = print_record_result(c, k, res);
out:
	if (fields != NULL)
		cbor_decref(&fields);
	if (args != NULL)
		cbor_decref(&args);
	if (res != NULL)
		cbor_decref(&res);
	return rc;
}

int
cmd_delete(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	cbor_item_t *args = NULL, *res = NULL;
	uint64_t id = 0, version = 0;
	int rc;

	if ((rc = record_opts(c, "delete", argc, argv, 1, &version)) !=
	    COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = kind_and_id(c, "delete", argc, argv, &k, &id)) != COFFER_OK)
		return rc;
	if (optind + 2 < argc)
		return fail(c, COFFER_ERR_USAGE, "delete: unexpected '%.40s'",
		    argv[optind + 2]);
	if (version == 0 &&
	    (rc = current_version(c, k, id, &version)) != COFFER_OK)
		return rc;
	if ((args = kind_id_args(k, id)) == NULL ||
	    msg_put_uint(args, "version", version) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	if ((rc = call(c, "record.delete", args, &res)) != COFFER_OK)
		return rc;
	if (c->json)
		rc = print_json(res);
	else if (!c->quiet)
		printf("deleted %s %llu\n", k->name, (unsigned long long)id);
	cbor_decref(&res);
	return rc;
}

/* reveal KIND ID FIELD: one field's full value, audited and counted. */
int
cmd_reveal(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	const struct field_def *f;
	const cbor_item_t *v;
	cbor_item_t *args = NULL, *res = NULL;
	uint64_t id = 0;
	char *buf = NULL;
	int rc;

	if ((rc = record_opts(c, "reveal", argc, argv, 0, NULL)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if ((rc = kind_and_id(c, "reveal", argc, argv, &k, &id)) != COFFER_OK)
		return rc;
	if (optind + 2 >= argc)
		return fail(c, COFFER_ERR_USAGE, "reveal: missing FIELD (usage: "
		    "coffer %s)", help_find("reveal")->synopsis);
	if (optind + 3 < argc)
		return fail(c, COFFER_ERR_USAGE, "reveal: unexpected '%.40s'",
		    argv[optind + 3]);
	if ((f = schema_field(k, argv[optind + 2])) == NULL)
		return fail(c, COFFER_ERR_USAGE, "reveal: %s has no field "
		    "'%.40s' (see 'coffer fields %s')", k->name,
		    argv[optind + 2], k->name);
	if ((args = kind_id_args(k, id)) == NULL ||
	    msg_put_str(args, "field", f->name) != COFFER_OK) {
		if (args != NULL)
			cbor_decref(&args);
		return COFFER_ERR_NOMEM;
	}
	if ((rc = call(c, "record.reveal", args, &res)) != COFFER_OK)
		return rc;
	if (c->json)
		rc = print_json(res);
	else if ((v = msg_get(res, "value")) == NULL)
		rc = fail(c, COFFER_ERR_PROTO, "the daemon's answer has no value");
	else if (!cbor_is_null(v)) {
		if ((buf = malloc(VALUE_MAX)) == NULL)
			rc = COFFER_ERR_NOMEM;
		else if (out_value(f, f->name, v, buf, VALUE_MAX) == COFFER_OK)
			printf("%s\n", buf);
		free(buf);
	}
	cbor_decref(&res);
	return rc;
}

/* ---- fields (local) ------------------------------------------------ */

static void
flag_text(const struct field_def *f, char *buf, size_t bufsz)
{
	buf[0] = '\0';
	if (f->flags & FF_SERVER)
		strncat(buf, "daemon ", bufsz - strlen(buf) - 1);
	if (f->flags & FF_REQUIRED)
		strncat(buf, "required ", bufsz - strlen(buf) - 1);
	if (f->flags & FF_IMMUTABLE)
		strncat(buf, "immutable ", bufsz - strlen(buf) - 1);
	if (f->flags & FF_FILTER)
		strncat(buf, "filter ", bufsz - strlen(buf) - 1);
	if (buf[0] != '\0')
		buf[strlen(buf) - 1] = '\0';
}

static const char *
type_word(const struct field_def *f)
{
	static const char *const words[] = { "text", "integer", "money",
	    "enum", "phone", "email", "time", "bool", "ref" };

	if (f->type == FT_INT && f->ref_kind != NULL)
		return "ref";
	return (size_t)f->type < sizeof(words) / sizeof(words[0]) ?
	    words[f->type] : "?";
}

static int
fields_json(const struct kind_def *k)
{
	cbor_item_t *arr = msg_new_array(), *top = msg_new_map(), *f;
	char flags[64];
	size_t i;
	int rc = COFFER_ERR_NOMEM;

	if (arr == NULL || top == NULL)
		goto out;
	for (i = 0; i < k->nfields; i++) {
		if ((f = msg_new_map()) == NULL)
			goto out;
		flag_text(&k->fields[i], flags, sizeof(flags));
		if (msg_put_str(f, "name", k->fields[i].name) != COFFER_OK ||
		    msg_put_str(f, "type", type_word(&k->fields[i])) !=
		    COFFER_OK || msg_put_str(f, "flags", flags) != COFFER_OK ||
		    msg_put_str(f, "help", k->fields[i].help != NULL ?
		    k->fields[i].help : "") != COFFER_OK) {
			cbor_decref(&f);
			goto out;
		}
		if (msg_push(arr, f) != COFFER_OK)
			goto out;
	}
	if (msg_put_str(top, "kind", k->name) != COFFER_OK)
		goto out;
	rc = msg_put(top, "fields", arr);
	arr = NULL; /* taken */
	if (rc == COFFER_OK)
		rc = print_json(top);
out:
	if (arr != NULL)
		cbor_decref(&arr);
	if (top != NULL)
		cbor_decref(&top);
	return rc;
}

static int
fields_table(struct ctx *c, const struct kind_def *k)
{
	static const char *const heads[] = { "FIELD", "TYPE", "FLAGS",
	    "MEANING" };
	struct out_table *t = out_table_new(4, heads);
	char flags[64], type[64];
	size_t i;
	int rc = COFFER_OK;

	if (t == NULL)
		return COFFER_ERR_NOMEM;
	for (i = 0; i < k->nfields && rc == COFFER_OK; i++) {
		const struct field_def *f = &k->fields[i];
		const char *cells[4];

		flag_text(f, flags, sizeof(flags));
		if (f->ref_kind != NULL)
			snprintf(type, sizeof(type), "ref:%s", f->ref_kind);
		else
			snprintf(type, sizeof(type), "%s", type_word(f));
		cells[0] = f->name;
		cells[1] = type;
		cells[2] = flags;
		cells[3] = f->help != NULL ? f->help : "";
		rc = out_table_add(t, cells);
	}
	if (rc == COFFER_OK)
		rc = out_table_print(t, stdout, !c->quiet);
	out_table_free(t);
	return rc;
}

static int
list_kinds(struct ctx *c)
{
	static const char *const heads[] = { "KIND", "PLURAL", "WHAT" };
	const struct kind_def *ks;
	struct out_table *t = out_table_new(3, heads);
	size_t n, i;
	int rc = COFFER_OK;

	if (t == NULL)
		return COFFER_ERR_NOMEM;
	ks = schema_kinds(&n);
	for (i = 0; i < n && rc == COFFER_OK; i++) {
		const char *cells[3] = { ks[i].name, ks[i].plural,
		    ks[i].help != NULL ? ks[i].help : "" };

		rc = out_table_add(t, cells);
	}
	if (rc == COFFER_OK)
		rc = out_table_print(t, stdout, !c->quiet);
	out_table_free(t);
	return rc;
}

int
cmd_fields(struct ctx *c, int argc, char **argv)
{
	const struct kind_def *k = NULL;
	int rc;

	if ((rc = record_opts(c, "fields", argc, argv, 0, NULL)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	if (optind >= argc)
		return list_kinds(c);
	if ((rc = need_kind(c, "fields", argv[optind], &k)) != COFFER_OK)
		return rc;
	return c->json ? fields_json(k) : fields_table(c, k);
}
