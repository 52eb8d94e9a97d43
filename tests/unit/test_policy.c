/*
 * test_policy.c - the policy loader refuses every kind of bad file with the
 * exact message and line, and the shipped default policy decides as
 * docs/policy.md says: a role x kind x action table, field treatments,
 * no read-up, reveal and do-not-call, writes, limits, hash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/err.h"
#include "coffer/policy.h"
#include "coffer/secfile.h"
#include "helper.h"

#define DEFAULT_POLICY "policy/default.yaml"

/* A minimal valid policy that error cases change one line of. */
#define HEAD "version: 1\nlevels: [public, internal, confidential, secret]\n"

/* Load YAML text; return the status and the first error. */
static int
load_text(const char *text, struct policy **p, struct policy_error *err)
{
	return policy_load_buffer("t.yaml", text, strlen(text), p, err);
}

/* Error cases -------------------------------------------------------- */

struct bad {
	const char *text;
	unsigned line;
	const char *message;
};

static const struct bad bad_policies[] = {
	/* structure */
	{ HEAD "roles: {a: {}}\nextra: 1\n", 4,
	  "unknown key 'extra' in the policy (expected version, levels, "
	  "above_clearance, fields, roles, do_not_call, approvals, "
	  "corrections, retention)" },
	{ HEAD "roles:\n  agent:\n    grant: []\n", 5,
	  "unknown key 'grant' in role agent (expected clearance, grants, "
	  "privileges, limits)" },
	{ HEAD "roles: {a: {}}\nroles: {b: {}}\n", 4,
	  "duplicate key 'roles' (first at line 3)" },
	{ HEAD "roles: &r {a: {}}\n", 3, "anchors are not allowed in a policy" },
	{ HEAD "x: &r 1\nroles: *r\n", 3, "anchors are not allowed in a policy" },
	{ HEAD "roles: *r\n", 3, "aliases are not allowed in a policy" },
	{ HEAD "roles: !!map {a: {}}\n", 3, "tags are not allowed in a policy" },
	{ HEAD "roles: {a: {}}\n---\nversion: 1\n", 4,
	  "only one YAML document is allowed in a policy" },
	{ HEAD "roles: {[a]: {}}\n", 3, "a key must be a plain name" },
	{ HEAD "roles: [a\n", 4, "syntax error: did not find expected ',' or "
	  "']' while parsing a flow sequence" },
	{ "levels: [public, internal, confidential, secret]\n"
	  "roles: {a: {}}\n", 1, "the policy: missing key 'version'" },
	{ "version: 2\nlevels: [public, internal, confidential, secret]\n"
	  "roles: {a: {}}\n", 1, "unsupported policy version '2' (expected 1)" },
	{ "version: 1\nroles: {a: {}}\n", 1, "the policy: missing key 'levels'" },
	{ HEAD, 1, "the policy: missing key 'roles'" },
	{ "- 1\n", 1, "the policy: expected a mapping" },
	/* levels */
	{ "version: 1\nlevels: [public, internal, public]\nroles: {a: {}}\n",
	  2, "level 'public' is listed twice" },
	{ "version: 1\nlevels: [public, Internal]\nroles: {a: {}}\n", 2,
	  "bad level name 'Internal' (lower-case letters, digits, _ and -, at "
	  "most 32)" },
	{ "version: 1\nlevels: [public, internal, confidential]\n"
	  "roles: {a: {}}\n", 2, "levels: 'secret' (a value of customers.label) "
	  "is not a level" },
	{ "version: 1\nlevels: [public, internal, confidential, secret]\n"
	  "fields:\n  product:\n    price_floor: {label: top}\n"
	  "roles: {a: {}}\n", 5, "undefined level 'top'" },
	{ HEAD "above_clearance: {top: mask}\nroles: {a: {}}\n", 3,
	  "undefined level 'top'" },
	{ HEAD "above_clearance: {secret: show}\nroles: {a: {}}\n", 3,
	  "bad treatment 'show' (expected mask or omit)" },
	/* fields */
	{ HEAD "fields:\n  widget: {}\nroles: {a: {}}\n", 4,
	  "unknown record kind 'widget'" },
	{ HEAD "fields:\n  customer:\n    phon: {label: secret}\n"
	  "roles: {a: {}}\n", 5, "unknown field 'phon' of customer" },
	{ HEAD "fields:\n  customer:\n    phone: {label: top}\n"
	  "roles: {a: {}}\n", 5, "undefined level 'top'" },
	{ HEAD "fields:\n  customer:\n    phone: {colour: red}\n"
	  "roles: {a: {}}\n", 5, "unknown key 'colour' in customers.phone "
	  "(expected label, above, format, read, list, reveal)" },
	{ HEAD "fields:\n  customer:\n    name: {format: phone}\n"
	  "roles: {a: {}}\n", 5,
	  "customers.name: format phone does not fit this field's type" },
	{ HEAD "fields:\n  customer:\n    name: {format: blur}\n"
	  "roles: {a: {}}\n", 5, "unknown mask format 'blur' (expected text, "
	  "phone, email, name or amount)" },
	{ HEAD "fields:\n  customer:\n    phone: {read: mask, list: show}\n"
	  "roles: {a: {}}\n", 5, "customers.phone: a list may not show more "
	  "than a read (list show, read mask)" },
	{ HEAD "fields:\n  customer:\n    id: {label: secret}\n"
	  "roles: {a: {}}\n", 5,
	  "customers.id: set by the server; it cannot be labelled or masked" },
	{ HEAD "fields:\n  customer:\n    phone: {reveal: yes}\n"
	  "roles: {a: {}}\n", 5, "expected true or false" },
	{ HEAD "fields:\n  customer: {}\n  customers: {}\nroles: {a: {}}\n", 5,
	  "kind customer is already described at line 4" },
	/* roles and grants */
	{ HEAD "roles:\n  agent:\n    clearance: top\n", 5,
	  "undefined level 'top'" },
	{ HEAD "roles:\n  agent:\n    grants:\n      - kinds: [customer]\n"
	  "        actions: [read]\n        scope: mine\n", 8,
	  "bad scope 'mine' (expected own, team or all)" },
	{ HEAD "roles:\n  agent:\n    grants:\n      - kinds: [customer]\n"
	  "        actions: [fly]\n        scope: own\n", 7,
	  "unknown action 'fly' (expected read, list, create, update, delete, "
	  "reveal, export, request, screen, report or complete)" },
	/* approvals (change requests) */
	{ HEAD "roles: {a: {}}\napprovals:\n  expiry: 0\n", 5,
	  "approvals.expiry: expected a duration from 1 second to 366 days "
	  "(e.g. 3600, 90s, 30m, 72h, 7d)" },
	{ HEAD "roles: {a: {}}\napprovals:\n  expiry: 5y\n", 5,
	  "approvals.expiry: expected a duration from 1 second to 366 days "
	  "(e.g. 3600, 90s, 30m, 72h, 7d)" },
	{ HEAD "roles: {a: {}}\napprovals:\n  rules:\n    - kinds: [customer]\n"
	  "      ops: [erase]\n", 7,
	  "unknown op 'erase' (expected update, delete or purge)" },
	{ HEAD "roles: {a: {}}\napprovals:\n  rules:\n    - kinds: [customer]\n"
	  "      ops: [delete]\n      roles: [boss]\n", 8,
	  "undefined role 'boss'" },
	{ HEAD "roles: {a: {}, b: {}}\napprovals:\n  rules:\n"
	  "    - kinds: [customer]\n      ops: [delete]\n      approvals: 1\n"
	  "      roles: [a, b]\n", 6, "approval rule: 2 roles must each "
	  "approve, but only 1 approvals are asked for" },
	{ HEAD "roles: {a: {}}\napprovals:\n  rules:\n    - kinds: [customer]\n"
	  "      ops: [update]\n      approvals: 9\n", 8,
	  "approvals: expected a number from 1 to 8" },
	{ HEAD "roles:\n  agent:\n    grants:\n      - kinds: [product]\n"
	  "        actions: [read]\n        scope: own\n", 8,
	  "products is shared, not owned: its scope must be all" },
	{ HEAD "roles:\n  agent:\n    grants:\n      - kinds: [widget]\n"
	  "        actions: [read]\n        scope: own\n", 6,
	  "unknown record kind 'widget'" },
	{ HEAD "roles:\n  agent:\n    grants:\n      - kinds: [customer]\n"
	  "        actions: [read]\n", 6,
	  "a grant of role agent: missing key 'scope'" },
	{ HEAD "roles:\n  agent:\n    grants:\n"
	  "      - {kinds: [customer-data], actions: [read], scope: own}\n"
	  "      - {kinds: [call], actions: [list, read], scope: team}\n", 7,
	  "role agent: read on calls is already granted at line 6" },
	{ HEAD "roles:\n  agent:\n    privileges: [fly]\n", 5,
	  "unknown privilege 'fly' (expected user_read, user_admin, "
	  "audit_read, key_admin or policy_admin)" },
	{ HEAD "roles:\n  agent:\n    privileges: [user_read, user_read]\n", 5,
	  "privilege user_read is listed twice" },
	{ HEAD "roles:\n  agent:\n    limits: {list: lots}\n", 5,
	  "limits.list: expected a number from 0 to 1000000000" },
	{ HEAD "roles:\n  agent:\n    limits: {list: -1}\n", 5,
	  "limits.list: expected a number from 0 to 1000000000" },
	{ HEAD "roles:\n  Agent: {}\n", 4, "bad role name 'Agent' (lower-case "
	  "letters, digits, _ and -, at most 32)" },
	{ HEAD "roles: {}\n", 3, "roles: at least one role" },
	/* separation of duties, reported at the later of the two lines */
	{ HEAD "roles:\n  ops:\n    grants:\n"
	  "      - {kinds: [customer], actions: [read], scope: all}\n"
	  "    privileges: [audit_read]\n", 7, "role ops: separation of "
	  "duties: record grants (line 6) and audit_read (line 7) cannot be "
	  "held by one role" },
	{ HEAD "roles:\n  ops:\n    privileges: [user_admin]\n"
	  "    grants:\n      - {kinds: [product], actions: [read], "
	  "scope: all}\n", 7, "role ops: separation of duties: record grants "
	  "(line 7) and user_admin (line 5) cannot be held by one role" },
	{ HEAD "roles:\n  ops:\n    privileges: [audit_read, key_admin]\n", 5,
	  "role ops: separation of duties: audit_read (line 5) and key_admin "
	  "(line 5) cannot be held by one role" },
	/* corrections (direct fixes within a window) */
	{ HEAD "roles: {a: {}}\ncorrections: {kinds: [call]}\n", 4,
	  "corrections: expected a list" },
	{ HEAD "roles: {a: {}}\ncorrections:\n  - {kinds: [call], "
	  "fields: [notes]}\n", 5, "a correction: missing key 'window'" },
	{ HEAD "roles: {a: {}}\ncorrections:\n  - {kinds: [call], "
	  "fields: [notes], window: 2d}\n", 5, "corrections.window: expected "
	  "a duration from 1 second to 1 day (e.g. 3600, 90s, 30m, 72h, 7d)" },
	{ HEAD "roles: {a: {}}\ncorrections:\n  - kinds: [call]\n"
	  "    window: 10m\n    fields: [notes, fax]\n", 7,
	  "kind call has no field 'fax'" },
	{ HEAD "roles: {a: {}}\ncorrections:\n  - kinds: [call]\n"
	  "    window: 10m\n    fields: [started, agent_id]\n", 7,
	  "call.agent_id cannot be corrected directly (set by the server, "
	  "immutable, the owner, or a shared kind)" },
	{ HEAD "roles: {a: {}}\ncorrections:\n  - kinds: [customer]\n"
	  "    window: 10m\n    fields: [owner_id]\n", 7,
	  "customer.owner_id cannot be corrected directly (set by the "
	  "server, immutable, the owner, or a shared kind)" },
	{ HEAD "roles: {a: {}}\ncorrections:\n  - {kinds: [product], "
	  "fields: [spec], window: 1m}\n", 5, "product.spec cannot be "
	  "corrected directly (set by the server, immutable, the owner, or a "
	  "shared kind)" },
	{ HEAD "roles: {a: {}}\ncorrections:\n  - {kinds: [call], "
	  "fields: [notes], window: 1m}\n  - {kinds: [call], fields: "
	  "[notes], window: 5m}\n", 6, "call.notes is named by two "
	  "corrections" },
	{ HEAD "roles: {a: {}}\ncorrections:\n  - {kinds: [call], "
	  "fields: [], window: 1m}\n", 5, "fields: name at least one field" },
	{ HEAD "roles: {a: {}}\ncorrections:\n  - {kinds: [call], "
	  "fields: [notes], window: 1m, roles: [a]}\n", 5, "unknown key "
	  "'roles' in a correction (expected kinds, fields, window)" },
	/* retention of tombstones */
	{ HEAD "roles: {a: {}}\nretention: {kinds: [call], keep: 1d}\n", 4,
	  "retention: expected a list" },
	{ HEAD "roles: {a: {}}\nretention:\n  - {kinds: [call]}\n", 5,
	  "a retention entry: missing key 'keep'" },
	{ HEAD "roles: {a: {}}\nretention:\n  - {kinds: [call], keep: "
	  "36501d}\n", 5, "retention.keep: expected a duration from 1 second "
	  "to 36500 days (e.g. 3600, 90s, 30m, 72h, 7d)" },
	{ HEAD "roles: {a: {}}\nretention:\n  - {kinds: [call], keep: 0}\n",
	  5, "retention.keep: expected a duration from 1 second to 36500 "
	  "days (e.g. 3600, 90s, 30m, 72h, 7d)" },
	{ HEAD "roles: {a: {}}\nretention:\n  - {kinds: [widget], keep: 1d}\n",
	  5, "unknown record kind 'widget'" },
	{ HEAD "roles: {a: {}}\nretention:\n  - {kinds: [customer-data], "
	  "keep: 1d}\n  - {kinds: [call], keep: 2d}\n", 6,
	  "kind call is named by two retention entries" },
	{ HEAD "roles: {a: {}}\nretention:\n  - {kinds: [call], keep: 1d, "
	  "erase: yes}\n", 5, "unknown key 'erase' in a retention entry "
	  "(expected kinds, keep)" },
	/* do-not-call */
	{ HEAD "roles: {agent: {}}\ndo_not_call: {fields: [phone], "
	  "roles: [nobody]}\n", 4, "undefined role 'nobody'" },
	{ HEAD "roles: {agent: {}}\ndo_not_call: {fields: [fax], "
	  "roles: [agent]}\n", 4, "unknown field 'fax' of customer" },
	{ HEAD "roles: {agent: {}}\ndo_not_call: {fields: [phone], "
	  "roles: [agent], stages: [gone]}\n", 4,
	  "unknown customer stage 'gone'" },
	{ HEAD "roles: {agent: {}}\ndo_not_call: {roles: [agent]}\n", 4,
	  "do_not_call: missing key 'fields'" },
};

static void
test_bad_policies(void **state)
{
	struct policy_error err;
	struct policy *p = NULL;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(bad_policies) / sizeof(bad_policies[0]); i++) {
		const struct bad *b = &bad_policies[i];

		rc = load_text(b->text, &p, &err);
		if (rc != COFFER_ERR_INVALID || p != NULL ||
		    err.line != b->line || strcmp(err.message, b->message) ||
		    strcmp(err.file, "t.yaml"))
			fail_msg("case %zu: got %d %s:%u: %s\nwant line %u: %s",
			    i, rc, err.file, err.line, err.message, b->line,
			    b->message);
	}
}

static void
test_empty_and_huge(void **state)
{
	struct policy_error err;
	struct policy *p = NULL;
	char *big;

	(void)state;
	assert_int_equal(load_text("", &p, &err), COFFER_ERR_INVALID);
	assert_null(p);
	assert_int_equal(err.line, 0);
	assert_string_equal(err.message, "empty policy");
	assert_int_equal(load_text("# only a comment\n\n", &p, &err),
	    COFFER_ERR_INVALID);
	assert_string_equal(err.message, "empty policy");
	assert_int_equal(load_text("---\n", &p, &err), COFFER_ERR_INVALID);
	assert_string_equal(err.message, "empty policy");
	big = malloc(POLICY_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, '#', POLICY_FILE_MAX + 1);
	assert_int_equal(policy_load_buffer("big.yaml", big,
	    POLICY_FILE_MAX + 1, &p, &err), COFFER_ERR_TOO_BIG);
	assert_null(p);
	assert_string_equal(err.message, "larger than 262144 bytes");
	free(big);
}

/* Nesting and size bounds hold without crashing or allocating much. */
static void
test_bounds(void **state)
{
	struct policy_error err;
	struct policy *p = NULL;
	char deep[200];
	size_t i;

	(void)state;
	for (i = 0; i < 40; i++)
		deep[i] = '[';
	deep[40] = '\0';
	assert_int_equal(load_text(deep, &p, &err), COFFER_ERR_INVALID);
	assert_string_equal(err.message, "nested too deeply");
	assert_int_equal(load_text("version: \"1\\u0000\"\n", &p, &err),
	    COFFER_ERR_INVALID);
	assert_string_equal(err.message, "NUL character in value");
}

/* Several errors are all reported by the check, sorted by line. */
static void
test_check_prints_all(void **state)
{
	static const char text[] = HEAD "fields:\n  customer:\n"
	    "    phon: {}\nroles:\n  agent:\n    clearance: top\n"
	    "    grants:\n      - {kinds: [product], actions: [read], "
	    "scope: own}\n";
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(out);
	assert_int_equal(policy_check_buffer("t.yaml", text, strlen(text), out),
	    COFFER_ERR_INVALID);
	fclose(out);
	assert_string_equal(buf,
	    "t.yaml:5:5: unknown field 'phon' of customer\n"
	    "t.yaml:8:16: undefined level 'top'\n"
	    "t.yaml:10:52: products is shared, not owned: its scope must be "
	    "all\n");
	free(buf);
}

/* Files: permissions, size, existence ---------------------------------- */

static char *
read_default(size_t *len)
{
	char *text = NULL;

	assert_int_equal(file_read_all(DEFAULT_POLICY, POLICY_FILE_MAX, &text,
	    len), COFFER_OK);
	return text;
}

static void
write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_files(void **state)
{
	char dir[64], path[PATH_MAX], *text, *buf = NULL;
	struct policy_error err;
	struct policy *p = NULL;
	size_t len, blen = 0;
	FILE *out;

	(void)state;
	assert_int_equal(test_tmpdir(dir, sizeof(dir), "policy"), 0);
	snprintf(path, sizeof(path), "%s/policy.yaml", dir);
	text = read_default(&len);

	write_file(path, text, len, 0644);
	assert_int_equal(policy_load(path, &p, &err), COFFER_OK);
	assert_non_null(p);
	policy_free(p);

	write_file(path, text, len, 0664);
	assert_int_equal(policy_load(path, &p, &err), COFFER_ERR_PERM);
	assert_null(p);
	assert_string_equal(err.file, path);
	assert_int_equal(err.line, 0);
	assert_string_equal(err.message, "writable by group or others "
	    "(mode 0664): refused; run chmod go-w on it");
	write_file(path, text, len, 0646);
	assert_int_equal(policy_load(path, &p, &err), COFFER_ERR_PERM);
	assert_string_equal(err.message, "writable by group or others "
	    "(mode 0646): refused; run chmod go-w on it");

	/* The check prints the same, and "policy OK" for a good file. */
	out = open_memstream(&buf, &blen);
	assert_int_equal(policy_check_file(path, out), COFFER_ERR_PERM);
	fclose(out);
	assert_non_null(strstr(buf, ": writable by group or others"));
	assert_int_equal(strncmp(buf, path, strlen(path)), 0);
	free(buf);
	write_file(path, text, len, 0600);
	out = open_memstream(&buf, &blen);
	assert_int_equal(policy_check_file(path, out), COFFER_OK);
	fclose(out);
	assert_string_equal(buf, "policy OK\n");
	free(buf);

	write_file(path, "", 0, 0600);
	assert_int_equal(policy_load(path, &p, &err), COFFER_ERR_INVALID);
	assert_string_equal(err.message, "empty policy");

	assert_int_equal(truncate(path, POLICY_FILE_MAX + 1), 0);
	assert_int_equal(policy_load(path, &p, &err), COFFER_ERR_TOO_BIG);
	assert_string_equal(err.message, "larger than 262144 bytes");

	assert_int_equal(policy_load(dir, &p, &err), COFFER_ERR_IO);
	snprintf(path, sizeof(path), "%s/missing.yaml", dir);
	assert_int_equal(policy_load(path, &p, &err), COFFER_ERR_IO);
	assert_null(p);
	free(text);
	test_rm_tree(dir);
}

/* The default policy --------------------------------------------------- */

static struct policy *
load_default(void)
{
	struct policy_error err;
	struct policy *p = NULL;
	size_t len;
	char *text = read_default(&len);

	if (policy_load_buffer(DEFAULT_POLICY, text, len, &p, &err) != COFFER_OK)
		fail_msg("%s:%u: %s", err.file, err.line, err.message);
	free(text);
	return p;
}

/*
 * The access matrix of the default policy.  One row per role and kind;
 * the columns are read, list, create, update, delete, reveal, export,
 * request, screen, report, complete:
 * O own rows, T team subtree, A all rows, - denied.
 */
static const struct {
	const char *role, *kind, *actions;
} matrix[] = {
	{ "agent",      "customer", "OOO--O-OOO-" },
	{ "agent",      "call",     "OOO--O-O-O-" },
	{ "agent",      "followup", "OOO--O-O-OO" },
	{ "agent",      "deal",     "OOO--O-O-O-" },
	{ "agent",      "note",     "OOO--O-O-O-" },
	{ "agent",      "product",  "AA---------" },
	{ "manager",    "customer", "TTTTTT-TTT-" },
	{ "manager",    "call",     "TTTTTT-T-T-" },
	{ "manager",    "followup", "TTTTTT-T-TT" },
	{ "manager",    "deal",     "TTTTTT-T-T-" },
	{ "manager",    "note",     "TTTTTT-T-T-" },
	{ "manager",    "product",  "AAAA-------" },
	{ "compliance", "customer", "-----------" },
	{ "compliance", "deal",     "-----------" },
	{ "compliance", "product",  "-----------" },
	{ "admin",      "customer", "-----------" },
	{ "admin",      "note",     "-----------" },
	{ "admin",      "product",  "-----------" },
};

/* Privileges: user_read, user_admin, audit_read, key_admin, policy_admin. */
static const struct {
	const char *role, *privs;
} priv_matrix[] = {
	{ "agent",      "-----" },
	{ "manager",    "Y----" },
	{ "compliance", "Y-Y--" },
	{ "admin",      "YY-YY" },
};

static struct policy_subject
subject(const char *role, const char *clearance)
{
	struct policy_subject s = { role, clearance, 7, "east" };

	return s;
}

/* The approvals section of the default policy, and the fall-back. */
static void
test_approval_rules(void **state)
{
	struct policy *p = load_default();
	struct policy_approval a;
	struct policy_error err;

	(void)state;
	policy_approval_rule(p, schema_kind("customer"), 1, &a);
	assert_int_equal(a.approvals, 2);
	assert_int_equal(a.nroles, 2);
	assert_string_equal(a.roles[0], "manager");
	assert_string_equal(a.roles[1], "compliance");
	assert_int_equal(a.expiry, 72 * 3600);
	policy_approval_rule(p, schema_kind("customer"), 0, &a);
	assert_int_equal(a.approvals, 1);
	assert_int_equal(a.nroles, 1);
	assert_string_equal(a.roles[0], "manager");
	policy_approval_rule(p, schema_kind("call"), 1, &a);
	assert_int_equal(a.approvals, 1);
	/* purge: its own rule, a manager and a compliance officer */
	policy_approval_rule(p, schema_kind("customer"), 2, &a);
	assert_int_equal(a.approvals, 2);
	assert_int_equal(a.nroles, 2);
	assert_string_equal(a.roles[0], "manager");
	assert_string_equal(a.roles[1], "compliance");
	/* no rule names purging calls: none may be requested */
	policy_approval_rule(p, schema_kind("call"), 2, &a);
	assert_int_equal(a.approvals, 0);
	/* products: no rule matches, the default applies */
	policy_approval_rule(p, schema_kind("product"), 0, &a);
	assert_int_equal(a.approvals, 1);
	assert_int_equal(a.nroles, 0);
	assert_true(policy_role_has_data(p, "manager"));
	assert_false(policy_role_has_data(p, "compliance"));
	assert_false(policy_role_has_data(p, "nobody"));
	policy_free(p);
	p = NULL;
	assert_int_equal(load_text(HEAD "roles: {a: {}}\napprovals:\n"
	    "  expiry: 90s\n", &p, &err), COFFER_OK);
	policy_approval_rule(p, schema_kind("deal"), 0, &a);
	assert_int_equal(a.expiry, 90);
	assert_int_equal(a.approvals, 1);
	policy_free(p);
}

/* The corrections section: windows per kind and field. */
static void
test_corrections(void **state)
{
	struct policy *p = load_default();
	struct policy_error err;

	(void)state;
	assert_int_equal(policy_correction_window(p, schema_kind("call"),
	    "notes"), 600);
	assert_int_equal(policy_correction_window(p, schema_kind("call"),
	    "outcome"), 600);
	assert_int_equal(policy_correction_window(p, schema_kind("call"),
	    "duration"), 0);
	assert_int_equal(policy_correction_window(p, schema_kind("customer"),
	    "name"), 0);
	assert_int_equal(policy_correction_window(p, schema_kind("call"),
	    "nosuch"), 0);
	policy_free(p);
	p = NULL;
	assert_int_equal(load_text(HEAD "roles: {a: {}}\ncorrections:\n"
	    "  - {kinds: [customer-data], fields: [agent_id], window: 1m}\n",
	    &p, &err), COFFER_ERR_INVALID);
	assert_null(p);
	/* a group names every kind in it: each must have the field */
	assert_int_equal(load_text(HEAD "roles: {a: {}}\ncorrections:\n"
	    "  - {kinds: [followup, call], fields: [outcome], window: 90s}\n"
	    "  - {kinds: [deal], fields: [satisfaction], window: 2}\n",
	    &p, &err), COFFER_OK);
	assert_int_equal(policy_correction_window(p, schema_kind("followup"),
	    "outcome"), 90);
	assert_int_equal(policy_correction_window(p, schema_kind("call"),
	    "outcome"), 90);
	assert_int_equal(policy_correction_window(p, schema_kind("call"),
	    "notes"), 0);
	assert_int_equal(policy_correction_window(p, schema_kind("deal"),
	    "satisfaction"), 2);
	policy_free(p);
}

/* Retention of tombstones (docs/policy.md §2.9). */
static void
test_retention(void **state)
{
	struct policy *p = load_default();
	struct policy_error err;
	size_t i, n;
	const struct kind_def *kinds = schema_kinds(&n);

	(void)state;
	/* the default keeps every kind's tombstones for a year */
	for (i = 0; i < n; i++)
		assert_int_equal(policy_retention(p, &kinds[i]),
		    365LL * 86400);
	policy_free(p);
	p = NULL;
	/* a kind no entry names is kept for ever */
	assert_int_equal(load_text(HEAD "roles: {a: {}}\nretention:\n"
	    "  - {kinds: [customer], keep: 30d}\n  - {kinds: [call, note], "
	    "keep: 90s}\n", &p, &err), COFFER_OK);
	assert_int_equal(policy_retention(p, schema_kind("customer")),
	    30 * 86400);
	assert_int_equal(policy_retention(p, schema_kind("call")), 90);
	assert_int_equal(policy_retention(p, schema_kind("note")), 90);
	assert_int_equal(policy_retention(p, schema_kind("deal")), 0);
	assert_int_equal(policy_retention(p, schema_kind("product")), 0);
	policy_free(p);
}

static void
test_default_matrix(void **state)
{
	struct policy *p = load_default();
	struct policy_decision d;
	struct policy_subject s;
	size_t i, a;
	int rc, want;

	(void)state;
	for (i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
		s = subject(matrix[i].role, "secret");
		for (a = 0; a < POLICY_RECORD_ACTIONS; a++) {
			char c = matrix[i].actions[a];

			want = c == 'O' ? SCOPE_OWN : c == 'T' ? SCOPE_TEAM :
			    c == 'A' ? SCOPE_ALL : SCOPE_NONE;
			rc = policy_decide(p, &s, (enum policy_action)a,
			    schema_kind(matrix[i].kind), &d);
			if ((int)d.scope.kind != want || d.allowed !=
			    (want != SCOPE_NONE) || (rc == COFFER_OK) !=
			    d.allowed)
				fail_msg("%s %s %s: got %d/%d (%s), want %c",
				    matrix[i].role, policy_action_name(
				    (enum policy_action)a), matrix[i].kind,
				    d.allowed, (int)d.scope.kind, d.reason, c);
			if (d.allowed && d.scope.kind == SCOPE_OWN)
				assert_int_equal(d.scope.user_id, 7);
			if (d.allowed && d.scope.kind == SCOPE_TEAM)
				assert_string_equal(d.scope.team, "east");
		}
	}
	for (i = 0; i < sizeof(priv_matrix) / sizeof(priv_matrix[0]); i++) {
		s = subject(priv_matrix[i].role, "internal");
		for (a = 0; a < 5; a++) {
			rc = policy_decide(p, &s,
			    (enum policy_action)(POLICY_USER_READ + a), NULL, &d);
			if (d.allowed != (priv_matrix[i].privs[a] == 'Y') ||
			    (rc == COFFER_OK) != d.allowed)
				fail_msg("%s %s: got %d", priv_matrix[i].role,
				    policy_action_name((enum policy_action)
				    (POLICY_USER_READ + a)), d.allowed);
		}
	}
	policy_free(p);
}

static void
test_deny_reasons(void **state)
{
	struct policy *p = load_default();
	const struct kind_def *cust = schema_kind("customer");
	struct policy_decision d;
	struct policy_subject s = subject("agent", "confidential");

	(void)state;
	assert_int_equal(policy_decide(p, &s, POLICY_DELETE, cust, &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "your role (agent) may not delete "
	    "customers");
	assert_null(d.fields);
	assert_int_equal(policy_decide(p, &s, POLICY_USER_ADMIN, NULL, &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "your role (agent) may not manage users");
	s = subject("admin", "internal");
	assert_int_equal(policy_decide(p, &s, POLICY_READ, cust, &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "your role (admin) may not read "
	    "customers");
	s = subject("intern", "internal");
	assert_int_equal(policy_decide(p, &s, POLICY_READ, cust, &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "your role 'intern' is not defined in "
	    "the policy");
	s = subject("agent", "topsecret");
	assert_int_equal(policy_decide(p, &s, POLICY_READ, cust, &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "your clearance 'topsecret' is not a "
	    "level of the policy");
	s = subject("manager", "secret");
	s.team = "";
	assert_int_equal(policy_decide(p, &s, POLICY_LIST, cust, &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "you belong to no team");
	assert_int_equal(d.scope.kind, SCOPE_NONE);
	/* A record action without a kind, a privilege with one. */
	s = subject("manager", "secret");
	assert_int_equal(policy_decide(p, &s, POLICY_READ, NULL, &d),
	    COFFER_ERR_DENIED);
	assert_int_equal(policy_decide(p, &s, POLICY_USER_READ, cust, &d),
	    COFFER_ERR_DENIED);
	assert_int_equal(policy_decide(p, &s, POLICY_ACTION_COUNT_, cust, &d),
	    COFFER_ERR_DENIED);
	policy_free(p);
}

/* Treatment of every customer field named in docs/policy.md, section 7. */
static void
expect_fields(const struct policy_decision *d, const struct kind_def *k,
    const char *const *names, const char *want)
{
	size_t i;

	assert_int_equal(d->allowed, 1);
	assert_non_null(d->fields);
	assert_int_equal(d->nfields, k->nfields);
	for (i = 0; names[i] != NULL; i++) {
		const struct field_def *f = schema_field(k, names[i]);
		int t;

		assert_non_null(f);
		t = d->fields[f - k->fields];
		if ("smo"[t] != want[i])
			fail_msg("%s.%s: %s, want %c", k->name, names[i],
			    policy_treat_name((enum policy_treat)t), want[i]);
	}
}

static void
test_default_treatments(void **state)
{
	static const char *const cf[] = { "id", "name", "phone", "email",
		"address", "needs", "intent", "stage", "owner_id", NULL };
	static const char *const pf[] = { "name", "list_price", "price_floor",
		"marketing_strategy", NULL };
	static const char *const df[] = { "amount", "payment_status", NULL };
	struct policy *p = load_default();
	const struct kind_def *cust = schema_kind("customer");
	const struct kind_def *prod = schema_kind("product");
	const struct kind_def *deal = schema_kind("deal");
	struct policy_decision d;
	struct policy_subject s = subject("agent", "confidential");

	(void)state;
	/* s show, m mask, o omit */
	policy_decide(p, &s, POLICY_READ, cust, &d);
	expect_fields(&d, cust, cf, "ssmmmssss");
	assert_int_equal(d.formats[schema_field(cust, "phone") - cust->fields],
	    MASK_PHONE);
	assert_int_equal(d.formats[schema_field(cust, "name") - cust->fields],
	    MASK_NAME);
	policy_decide(p, &s, POLICY_LIST, cust, &d);
	expect_fields(&d, cust, cf, "smmmoosss");
	/* An agent cleared only internal: confidential fields are masked. */
	s = subject("agent", "internal");
	assert_int_equal(policy_decide(p, &s, POLICY_READ, cust, &d),
	    COFFER_OK);
	assert_int_equal(d.clearance, policy_level_find(p, "internal"));
	expect_fields(&d, cust, cf, "smmmmmmss");
	policy_decide(p, &s, POLICY_READ, deal, &d);
	expect_fields(&d, deal, df, "ms");
	assert_int_equal(d.formats[schema_field(deal, "amount") - deal->fields],
	    MASK_AMOUNT);
	/* Secrets are omitted below secret; the role caps agents at
	 * confidential even if the user record says secret. */
	s = subject("agent", "secret");
	policy_decide(p, &s, POLICY_READ, prod, &d);
	assert_int_equal(d.clearance, policy_level_find(p, "confidential"));
	expect_fields(&d, prod, pf, "ssoo");
	s = subject("manager", "secret");
	policy_decide(p, &s, POLICY_READ, prod, &d);
	expect_fields(&d, prod, pf, "ssss");
	/* Managers see lists masked too: reveal, not browse. */
	policy_decide(p, &s, POLICY_LIST, cust, &d);
	expect_fields(&d, cust, cf, "smmmoosss");
	policy_free(p);
}

static void
test_no_read_up(void **state)
{
	struct policy *p = load_default();
	const struct kind_def *cust = schema_kind("customer");
	struct policy_decision d;
	struct policy_subject s = subject("agent", "confidential");
	struct policy_row row = { "secret", 0, "new" };

	(void)state;
	assert_int_equal(policy_decide(p, &s, POLICY_READ, cust, &d),
	    COFFER_OK);
	assert_int_equal(policy_check_row(p, &d, &row, NULL),
	    COFFER_ERR_DENIED);
	assert_int_equal(d.allowed, 0);
	assert_string_equal(d.reason, "this record is secret; your clearance "
	    "is confidential");
	policy_decide(p, &s, POLICY_READ, cust, &d);
	row.label = "confidential";
	assert_int_equal(policy_check_row(p, &d, &row, NULL), COFFER_OK);
	row.label = "";
	assert_int_equal(policy_check_row(p, &d, &row, NULL), COFFER_OK);
	assert_int_equal(policy_check_row(p, &d, NULL, NULL), COFFER_OK);
	row.label = "cosmic";
	assert_int_equal(policy_check_row(p, &d, &row, NULL),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "this record's label 'cosmic' is not a "
	    "level of the policy");
	/* A denied decision stays denied, with its reason. */
	row.label = NULL;
	assert_int_equal(policy_check_row(p, &d, &row, NULL),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "this record's label 'cosmic' is not a "
	    "level of the policy");
	s = subject("manager", "secret");
	policy_decide(p, &s, POLICY_READ, cust, &d);
	row.label = "secret";
	assert_int_equal(policy_check_row(p, &d, &row, NULL), COFFER_OK);
	/* Record labels raise fields; they never lower them. */
	assert_int_equal(policy_field_level(p, cust, "stage", 3), 3);
	assert_int_equal(policy_field_level(p, cust, "phone", 0), 2);
	assert_int_equal(policy_field_level(p, cust, "phone", -1), 2);
	assert_int_equal(policy_field_level(p, cust, "fax", 0), -1);
	policy_free(p);
}

static int
reveal(const struct policy *p, const char *role, const char *clearance,
    const char *field, const struct policy_row *row,
    struct policy_decision *d)
{
	struct policy_subject s = subject(role, clearance);
	int rc = policy_decide(p, &s, POLICY_REVEAL, schema_kind("customer"),
	    d);

	if (rc != COFFER_OK)
		return rc;
	return policy_check_row(p, d, row, field);
}

static void
test_reveal_and_do_not_call(void **state)
{
	struct policy *p = load_default();
	struct policy_decision d;
	struct policy_row row = { NULL, 0, "contacted" };

	(void)state;
	assert_int_equal(reveal(p, "agent", "confidential", "phone", &row, &d),
	    COFFER_OK);
	assert_int_equal(d.scope.kind, SCOPE_OWN);
	assert_int_equal(reveal(p, "agent", "confidential", "email", &row, &d),
	    COFFER_OK);
	assert_int_equal(reveal(p, "agent", "confidential", "needs", &row, &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "customers.needs cannot be revealed");
	assert_int_equal(reveal(p, "agent", "confidential", "fax", &row, &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "customer has no field 'fax'");
	assert_int_equal(reveal(p, "agent", "internal", "phone", &row, &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "customers.phone is confidential; your "
	    "clearance is internal");
	/* Do-not-call: by flag or by the excluded stage, for agents only. */
	row.do_not_call = 1;
	assert_int_equal(reveal(p, "agent", "confidential", "phone", &row, &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "this customer must not be called: "
	    "customers.phone is never revealed to your role");
	assert_int_equal(reveal(p, "agent", "confidential", "email", &row, &d),
	    COFFER_OK);
	assert_int_equal(reveal(p, "manager", "secret", "phone", &row, &d),
	    COFFER_OK);
	row.do_not_call = 0;
	row.stage = "excluded";
	assert_int_equal(reveal(p, "agent", "confidential", "phone", &row, &d),
	    COFFER_ERR_DENIED);
	row.stage = NULL;
	assert_int_equal(reveal(p, "agent", "confidential", "phone", &row, &d),
	    COFFER_OK);
	assert_int_equal(reveal(p, "compliance", "secret", "phone", &row, &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "your role (compliance) may not reveal "
	    "fields of customers");
	policy_free(p);
}

static void
test_writes(void **state)
{
	struct policy *p = load_default();
	const struct kind_def *cust = schema_kind("customer");
	struct policy_decision d;
	struct policy_subject s = subject("agent", "internal");
	struct policy_row row = { "confidential", 0, NULL };

	(void)state;
	assert_int_equal(policy_decide(p, &s, POLICY_CREATE, cust, &d),
	    COFFER_OK);
	assert_non_null(d.fields);
	assert_int_equal(policy_check_write(p, &d, "stage"), COFFER_OK);
	assert_int_equal(d.fields[schema_field(cust, "phone") - cust->fields],
	    POLICY_OMIT);
	assert_int_equal(policy_check_write(p, &d, "phone"),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, "customers.phone is confidential; your "
	    "clearance is internal");
	/* Labelling a new record above one's clearance is refused. */
	policy_decide(p, &s, POLICY_CREATE, cust, &d);
	assert_int_equal(policy_check_row(p, &d, &row, NULL),
	    COFFER_ERR_DENIED);
	s = subject("agent", "confidential");
	policy_decide(p, &s, POLICY_CREATE, cust, &d);
	assert_int_equal(policy_check_write(p, &d, "phone"), COFFER_OK);
	assert_int_equal(policy_check_row(p, &d, &row, NULL), COFFER_OK);
	/* check_write only for writes */
	policy_decide(p, &s, POLICY_READ, cust, &d);
	assert_int_equal(policy_check_write(p, &d, "stage"),
	    COFFER_ERR_DENIED);
	policy_free(p);
}

/*
 * A workflow action (screen, complete) is a record action, never a
 * privilege, and its decision carries the write vector: with field of kind
 * labelled above the caller's clearance, the write check refuses it.
 */
static void
check_workflow_action(enum policy_action a, const char *kind,
    const char *field)
{
	const char *name = policy_action_name(a);
	struct policy_subject s = subject("a", "confidential");
	struct policy_decision d;
	struct policy_error e;
	struct policy *q = NULL;
	char yaml[512];

	snprintf(yaml, sizeof(yaml), HEAD "roles:\n  a:\n    privileges: "
	    "[%s]\n", name);
	assert_int_equal(load_text(yaml, &q, &e), COFFER_ERR_INVALID);
	assert_null(q);
	snprintf(yaml, sizeof(yaml), HEAD "fields:\n  %s:\n    %s: "
	    "{label: secret}\nroles:\n  a:\n    clearance: confidential\n"
	    "    grants:\n      - kinds: [%s]\n        actions: [%s]\n"
	    "        scope: own\n", kind, field, kind, name);
	assert_int_equal(load_text(yaml, &q, &e), COFFER_OK);
	assert_int_equal(policy_decide(q, &s, a, schema_kind(kind), &d),
	    COFFER_OK);
	assert_int_equal(policy_check_write(q, &d, field), COFFER_ERR_DENIED);
	policy_free(q);
}

/*
 * A workflow action of the default policy, as an agent sees it: granted
 * on kind, own scope, with a write vector in which both fields are
 * writable; refused on other_kind in words; not an update; refused to the
 * compliance officer.
 */
static void
check_agent_action(const struct policy *p, enum policy_action a,
    const char *kind, const char *f1, const char *f2,
    const char *other_kind, const char *reason)
{
	struct policy_subject s = subject("agent", "confidential");
	struct policy_decision d;

	assert_int_equal(policy_decide(p, &s, a, schema_kind(kind), &d),
	    COFFER_OK);
	assert_int_equal(d.scope.kind, SCOPE_OWN);
	assert_non_null(d.fields);
	assert_int_equal(policy_check_write(p, &d, f1), COFFER_OK);
	assert_int_equal(policy_check_write(p, &d, f2), COFFER_OK);
	assert_int_equal(policy_decide(p, &s, a, schema_kind(other_kind), &d),
	    COFFER_ERR_DENIED);
	assert_string_equal(d.reason, reason);
	assert_int_equal(policy_decide(p, &s, POLICY_UPDATE, schema_kind(kind),
	    &d), COFFER_ERR_DENIED);
	s = subject("compliance", "secret");
	assert_int_equal(policy_decide(p, &s, a, schema_kind(kind), &d),
	    COFFER_ERR_DENIED);
	check_workflow_action(a, kind, f1);
}

/*
 * The complete action (docs/workflow.md, followup.done): granted on
 * follow-ups only, own for an agent and team for a manager; its decision
 * carries the write vector (status and outcome), and it is not an update.
 */
static void
test_complete(void **state)
{
	struct policy *p = load_default();
	struct policy_decision d;
	struct policy_subject s = subject("manager", "secret");

	(void)state;
	check_agent_action(p, POLICY_COMPLETE, "followup", "status",
	    "outcome", "customer",
	    "your role (agent) may not complete customers");
	assert_int_equal(policy_decide(p, &s, POLICY_COMPLETE,
	    schema_kind("followup"), &d), COFFER_OK);
	assert_int_equal(d.scope.kind, SCOPE_TEAM);
	assert_string_equal(policy_action_name(POLICY_COMPLETE), "complete");
	policy_free(p);
}

/*
 * The screen action (docs/workflow.md): granted on customers only, its
 * decision carries the write vector (stage and exclude_reason must be
 * writable), and it is not an update.
 */
static void
test_screen(void **state)
{
	struct policy *p = load_default();

	(void)state;
	check_agent_action(p, POLICY_SCREEN, "customer", "stage",
	    "exclude_reason", "call", "your role (agent) may not screen calls");
	assert_string_equal(policy_action_name(POLICY_SCREEN), "screen");
	policy_free(p);
}

/*
 * The report action (docs/reports.md): aggregated figures only, so its
 * decision carries no field vectors; a role without it is refused in
 * words, and it is a record action, never a privilege.
 */
static void
test_report_action(void **state)
{
	struct policy *p = load_default();
	struct policy_decision d;
	struct policy_subject s = subject("manager", "secret");
	struct policy *q = NULL;
	struct policy_error e;

	(void)state;
	assert_int_equal(policy_decide(p, &s, POLICY_REPORT,
	    schema_kind("deal"), &d), COFFER_OK);
	assert_int_equal(d.scope.kind, SCOPE_TEAM);
	assert_null(d.fields);
	assert_int_equal(policy_decide(p, &s, POLICY_REPORT,
	    schema_kind("product"), &d), COFFER_ERR_DENIED);
	s = subject("compliance", "secret");
	assert_int_equal(policy_decide(p, &s, POLICY_REPORT,
	    schema_kind("call"), &d), COFFER_ERR_DENIED);
	assert_string_equal(d.reason,
	    "your role (compliance) may not see the figures of calls");
	assert_string_equal(policy_action_name(POLICY_REPORT), "report");
	assert_int_equal(load_text(HEAD "roles:\n  a:\n    privileges: "
	    "[report]\n", &q, &e), COFFER_ERR_INVALID);
	assert_null(q);
	policy_free(p);
}

static void
test_limits_and_names(void **state)
{
	struct policy *p = load_default();

	(void)state;
	assert_int_equal(policy_limit(p, "agent", POLICY_LIMIT_LIST), 500);
	assert_int_equal(policy_limit(p, "agent", POLICY_LIMIT_REVEAL), 60);
	assert_int_equal(policy_limit(p, "agent", POLICY_LIMIT_READ), 1000);
	assert_int_equal(policy_limit(p, "manager", POLICY_LIMIT_REVEAL), 30);
	assert_int_equal(policy_limit(p, "compliance", POLICY_LIMIT_READ),
	    POLICY_UNLIMITED);
	assert_int_equal(policy_limit(p, "nobody", POLICY_LIMIT_READ),
	    POLICY_UNLIMITED);
	assert_int_equal(policy_level_count(p), 4);
	assert_int_equal(policy_level_find(p, "public"), 0);
	assert_int_equal(policy_level_find(p, "secret"), 3);
	assert_int_equal(policy_level_find(p, "Secret"), -1);
	assert_string_equal(policy_level_name(p, 2), "confidential");
	assert_null(policy_level_name(p, 4));
	assert_null(policy_level_name(p, -1));
	assert_int_equal(policy_role_count(p), 4);
	assert_int_equal(policy_role_find(p, "compliance"), 2);
	assert_string_equal(policy_role_name(p, 0), "agent");
	assert_null(policy_role_name(p, 4));
	assert_string_equal(policy_action_name(POLICY_REVEAL), "reveal");
	assert_string_equal(policy_action_name(POLICY_POLICY_ADMIN),
	    "policy_admin");
	assert_string_equal(policy_limit_name(POLICY_LIMIT_WRITE), "write");
	policy_free(p);
}

static void
test_hash(void **state)
{
	unsigned char want[32];
	struct policy *p = NULL, *q = NULL;
	size_t len;
	char *text = read_default(&len);

	(void)state;
	assert_int_equal(policy_load_buffer("a", text, len, &p, NULL),
	    COFFER_OK);
	crypto_hash_sha256(want, (const unsigned char *)text, len);
	assert_memory_equal(policy_hash(p), want, 32);
	/* A comment changes the bytes, so the hash. */
	text[0] = '#';
	text[1] = '#';
	assert_int_equal(policy_load_buffer("b", text, len, &q, NULL),
	    COFFER_OK);
	assert_memory_not_equal(policy_hash(p), policy_hash(q), 32);
	policy_free(p);
	policy_free(q);
	free(text);
}

/* A site policy: its own role, a per-field override, a level above. */
static void
test_site_policy(void **state)
{
	static const char text[] =
	    "version: 1\n"
	    "levels: [public, internal, confidential, secret, board]\n"
	    "above_clearance: {confidential: omit}\n"
	    "fields:\n"
	    "  customers:\n"
	    "    phone: {above: mask}\n"
	    "  deals:\n"
	    "    amount: {label: board}\n"
	    "roles:\n"
	    "  quality:\n"
	    "    clearance: internal\n"
	    "    grants:\n"
	    "      - {kinds: [customer, call], actions: [read, list], "
	    "scope: all}\n"
	    "    limits: {read: 0}\n";
	static const char *const cf[] = { "name", "phone", "stage", NULL };
	struct policy *p = NULL;
	struct policy_error err;
	struct policy_decision d;
	struct policy_subject s = subject("quality", "board");
	const struct kind_def *cust = schema_kind("customer");

	(void)state;
	if (load_text(text, &p, &err) != COFFER_OK)
		fail_msg("%u: %s", err.line, err.message);
	assert_int_equal(policy_decide(p, &s, POLICY_LIST, cust, &d),
	    COFFER_OK);
	assert_int_equal(d.scope.kind, SCOPE_ALL);
	assert_int_equal(d.clearance, 1);
	expect_fields(&d, cust, cf, "oms");
	assert_int_equal(policy_decide(p, &s, POLICY_READ,
	    schema_kind("deal"), &d), COFFER_ERR_DENIED);
	assert_int_equal(policy_limit(p, "quality", POLICY_LIMIT_READ), 0);
	assert_int_equal(policy_limit(p, "quality", POLICY_LIMIT_LIST),
	    POLICY_UNLIMITED);
	s = subject("agent", "secret");
	assert_int_equal(policy_decide(p, &s, POLICY_READ, cust, &d),
	    COFFER_ERR_DENIED);
	policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_policies),
		cmocka_unit_test(test_empty_and_huge),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_check_prints_all),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_default_matrix),
		cmocka_unit_test(test_deny_reasons),
		cmocka_unit_test(test_default_treatments),
		cmocka_unit_test(test_no_read_up),
		cmocka_unit_test(test_reveal_and_do_not_call),
		cmocka_unit_test(test_writes),
		cmocka_unit_test(test_screen),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_report_action),
		cmocka_unit_test(test_limits_and_names),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_approval_rules),
		cmocka_unit_test(test_corrections),
		cmocka_unit_test(test_site_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
