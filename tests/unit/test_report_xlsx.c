/*
 * test_report_xlsx.c - `coffer report --xlsx` (src/client/report_xlsx.c):
 * a workbook with one sheet per level is written to a new 0600 file, an
 * existing file or a symbolic link is never written through, a malformed
 * answer leaves no file, and no temporary file is left behind.  The cell
 * contents are read back against the JSON in tests/e2e/t_report.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

/* Before cmocka.h: it defines a fail() macro, client.h declares fail(). */
#include "coffer/client.h"
#include "coffer/report.h"
#include "helper.h"
#include "../../src/client/report_xlsx.h"

#include <cmocka.h>

struct fx {
	char dir[128], tmpdir[160], path[192];
	struct ctx c;
	cbor_item_t *res;
};

/* One agent's figures: every figure = base + its index. */
static cbor_item_t *
figures(const char *name, const char *team, int64_t base)
{
	cbor_item_t *m = msg_new_map();
	size_t i;

	assert_non_null(m);
	if (name != NULL)
		assert_int_equal(msg_put_str(m, "name", name), COFFER_OK);
	if (team != NULL)
		assert_int_equal(msg_put_str(m, "team", team), COFFER_OK);
	assert_int_equal(msg_put_uint(m, "agents", 1), COFFER_OK);
	for (i = 0; i < RF_COUNT_; i++)
		assert_int_equal(msg_put_int(m, report_fig_name(
		    (enum report_fig)i), base + (int64_t)i), COFFER_OK);
	return m;
}

/* An answer of level: one agent, the total, and a team if teams. */
static cbor_item_t *
answer(const char *level, int teams_too)
{
	cbor_item_t *res = msg_new_map(), *agents = msg_new_array();
	cbor_item_t *teams = msg_new_array();

	assert_non_null(res);
	assert_int_equal(msg_put_str(res, "level", level), COFFER_OK);
	assert_int_equal(msg_put_int(res, "from", 1904313600), COFFER_OK);
	assert_int_equal(msg_put_int(res, "to", 1904400000), COFFER_OK);
	assert_int_equal(msg_push(agents, figures("agent01", "north", 1)),
	    COFFER_OK);
	assert_int_equal(msg_put(res, "agents", agents), COFFER_OK);
	if (teams_too) {
		assert_int_equal(msg_push(teams, figures(NULL, "north", 1)),
		    COFFER_OK);
		assert_int_equal(msg_put(res, "teams", teams), COFFER_OK);
	} else
		cbor_decref(&teams);
	assert_int_equal(msg_put(res, "total", figures(NULL, NULL, 1)),
	    COFFER_OK);
	return res;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(test_tmpdir(f->dir, sizeof(f->dir), "xlsx"), 0);
	snprintf(f->tmpdir, sizeof(f->tmpdir), "%s/tmp", f->dir);
	assert_int_equal(mkdir(f->tmpdir, 0700), 0);
	assert_int_equal(setenv("TMPDIR", f->tmpdir, 1), 0);
	assert_int_equal(setenv("TZ", "Asia/Shanghai", 1), 0);
	snprintf(f->path, sizeof(f->path), "%s/r.xlsx", f->dir);
	f->c.now = 1904320000;
	f->res = answer("company", 1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	cbor_decref(&f->res);
	test_rm_tree(f->dir);
	unsetenv("TMPDIR");
	free(f);
	return 0;
}

/* The whole file into a malloc'd buffer. */
static unsigned char *
slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL;
	long len;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	assert_true((len = ftell(fp)) > 0);
	rewind(fp);
	assert_non_null(buf = malloc((size_t)len));
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	*n = (size_t)len;
	return buf;
}

static int
has(const unsigned char *buf, size_t n, const char *s)
{
	size_t i, k = strlen(s);

	for (i = 0; i + k <= n; i++)
		if (memcmp(buf + i, s, k) == 0)
			return 1;
	return 0;
}

static int
tmpdir_empty(const struct fx *f)
{
	DIR *d = opendir(f->tmpdir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n == 0;
}

/* Agents, Teams, Company and About: four sheets, zip member names. */
static void
writes_a_workbook(void **state)
{
	struct fx *f = *state;
	unsigned char *buf;
	struct stat sb;
	size_t n;

	assert_int_equal(report_xlsx_write(&f->c, f->path, "Asia/Shanghai",
	    f->res), COFFER_OK);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	buf = slurp(f->path, &n);
	assert_memory_equal(buf, "PK\x03\x04", 4);
	assert_true(has(buf, n, "xl/worksheets/sheet4.xml"));
	assert_false(has(buf, n, "xl/worksheets/sheet5.xml"));
	assert_true(has(buf, n, "xl/sharedStrings.xml"));
	free(buf);
	assert_true(tmpdir_empty(f));
}

/* Level agent: the agents sheet and About only. */
static void
agent_level_has_two_sheets(void **state)
{
	struct fx *f = *state;
	unsigned char *buf;
	size_t n;

	cbor_decref(&f->res);
	f->res = answer("agent", 0);
	assert_int_equal(report_xlsx_write(&f->c, f->path, "UTC", f->res),
	    COFFER_OK);
	buf = slurp(f->path, &n);
	assert_true(has(buf, n, "xl/worksheets/sheet2.xml"));
	assert_false(has(buf, n, "xl/worksheets/sheet3.xml"));
	free(buf);
}

static void
never_overwrites(void **state)
{
	struct fx *f = *state;
	char link[256];
	unsigned char *buf;
	FILE *fp;
	size_t n;

	assert_non_null(fp = fopen(f->path, "w"));
	fputs("keep me", fp);
	fclose(fp);
	assert_int_equal(report_xlsx_write(&f->c, f->path, "UTC", f->res),
	    COFFER_ERR_CONFLICT);
	assert_non_null(strstr(f->c.msg, "never overwritten"));
	buf = slurp(f->path, &n);
	assert_int_equal(n, 7);
	assert_memory_equal(buf, "keep me", 7);
	free(buf);
	/* A dangling link: O_EXCL refuses it, nothing is created behind it. */
	snprintf(link, sizeof(link), "%s/link.xlsx", f->dir);
	assert_int_equal(symlink("target.xlsx", link), 0);
	assert_int_equal(report_xlsx_write(&f->c, link, "UTC", f->res),
	    COFFER_ERR_CONFLICT);
	snprintf(link, sizeof(link), "%s/target.xlsx", f->dir);
	assert_int_equal(access(link, F_OK), -1);
	assert_true(tmpdir_empty(f));
}

/* An answer without agents is not a report: no file stays. */
static void
malformed_answer_leaves_nothing(void **state)
{
	struct fx *f = *state;
	cbor_item_t *res = msg_new_map();

	assert_int_equal(msg_put_str(res, "level", "team"), COFFER_OK);
	assert_int_equal(msg_put(res, "total", figures(NULL, NULL, 0)),
	    COFFER_OK);
	assert_int_equal(report_xlsx_write(&f->c, f->path, "UTC", res),
	    COFFER_ERR_PROTO);
	assert_non_null(strstr(f->c.msg, "not written"));
	assert_int_equal(access(f->path, F_OK), -1);
	assert_true(tmpdir_empty(f));
	cbor_decref(&res);
}

static void
missing_directory_is_io(void **state)
{
	struct fx *f = *state;
	char path[256];

	snprintf(path, sizeof(path), "%s/no/such/r.xlsx", f->dir);
	assert_int_equal(report_xlsx_write(&f->c, path, "UTC", f->res),
	    COFFER_ERR_IO);
	assert_non_null(strstr(f->c.msg, "--xlsx"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(writes_a_workbook, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(agent_level_has_two_sheets,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(never_overwrites, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(malformed_answer_leaves_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(missing_directory_is_io, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
