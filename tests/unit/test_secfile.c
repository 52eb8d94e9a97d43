/*
 * test_secfile.c - secret files are created exclusively at 0600 and refused
 * when loose, linked or oversized; the plain helpers read and replace.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffer/err.h"
#include "coffer/secfile.h"

#include "helper.h"

struct fx {
	char dir[64];
	char path[PATH_MAX];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-secfile-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/secret", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	test_rm_tree(f->dir);
	free(f);
	return 0;
}

static void
test_create_mode_and_read(void **state)
{
	struct fx *f = *state;
	char buf[64];
	size_t len = 99;
	struct stat sb;

	umask(022);
	assert_int_equal(secfile_create(f->path, "hello", 5), COFFER_OK);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(secfile_read(f->path, buf, sizeof(buf), &len),
	    COFFER_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "hello", 5);
}

static void
test_create_is_exclusive(void **state)
{
	struct fx *f = *state;
	char buf[16];
	size_t len = 0;

	assert_int_equal(secfile_create(f->path, "first", 5), COFFER_OK);
	assert_int_equal(secfile_create(f->path, "second", 6),
	    COFFER_ERR_CONFLICT);
	/* The refused create must not have touched the original. */
	assert_int_equal(secfile_read(f->path, buf, sizeof(buf), &len),
	    COFFER_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "first", 5);
}

static void
test_create_refuses_symlink(void **state)
{
	struct fx *f = *state;
	char target[PATH_MAX];
	struct stat sb;

	snprintf(target, sizeof(target), "%s/target", f->dir);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_not_equal(secfile_create(f->path, "x", 1), COFFER_OK);
	assert_int_not_equal(stat(target, &sb), 0); /* nothing written */
}

static void
test_read_loose_modes_refused(void **state)
{
	struct fx *f = *state;
	static const mode_t loose[] = { 0644, 0640, 0604, 0660, 0606, 0610 };
	char buf[16];
	size_t len = 0;

	assert_int_equal(secfile_create(f->path, "k", 1), COFFER_OK);
	for (size_t i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		assert_int_equal(chmod(f->path, loose[i]), 0);
		assert_int_equal(secfile_read(f->path, buf, sizeof(buf), &len),
		    COFFER_ERR_PERM);
	}
	assert_int_equal(chmod(f->path, 0400), 0);
	assert_int_equal(secfile_read(f->path, buf, sizeof(buf), &len),
	    COFFER_OK);
}

static void
test_read_symlink_and_dir_refused(void **state)
{
	struct fx *f = *state;
	char link[PATH_MAX];
	char buf[16];
	size_t len = 0;

	assert_int_equal(secfile_create(f->path, "k", 1), COFFER_OK);
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(secfile_read(link, buf, sizeof(buf), &len),
	    COFFER_ERR_PERM);
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(secfile_read(f->dir, buf, sizeof(buf), &len),
	    COFFER_ERR_PERM);
}

static void
test_read_too_big_and_missing(void **state)
{
	struct fx *f = *state;
	char buf[4], missing[PATH_MAX];
	size_t len = 0;

	assert_int_equal(secfile_create(f->path, "12345", 5), COFFER_OK);
	assert_int_equal(secfile_read(f->path, buf, 4, &len),
	    COFFER_ERR_TOO_BIG);
	snprintf(missing, sizeof(missing), "%s/none", f->dir);
	assert_int_equal(secfile_read(missing, buf, 4, &len), COFFER_ERR_IO);
}

static void
test_read_all_and_atomic_replace(void **state)
{
	struct fx *f = *state;
	char *text = NULL;
	size_t len = 0;
	struct stat sb;

	assert_int_equal(file_write_atomic(f->path, "one", 3, 0644),
	    COFFER_OK);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	assert_int_equal(file_write_atomic(f->path, "second", 6, 0640),
	    COFFER_OK);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	assert_int_equal(file_read_all(f->path, 100, &text, &len), COFFER_OK);
	assert_int_equal(len, 6);
	assert_string_equal(text, "second"); /* NUL-terminated */
	free(text);
	text = NULL;
	assert_int_equal(file_read_all(f->path, 5, &text, &len),
	    COFFER_ERR_TOO_BIG);
	assert_null(text);
	assert_int_equal(file_read_all(f->path, 6, &text, &len), COFFER_OK);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_mode_and_read,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_is_exclusive,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_refuses_symlink,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_loose_modes_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_read_symlink_and_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_too_big_and_missing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_read_all_and_atomic_replace, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
