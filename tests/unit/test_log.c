/*
 * test_log.c - the foreground log line format, level filtering and the
 * defusing of control characters (no forged lines).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coffer/log.h"

/* Run fn with stderr sent to a temporary file; return what it wrote. */
static char *
capture(void (*fn)(void))
{
	char path[] = "/tmp/coffer-log-XXXXXX";
	static char buf[4096];
	int fd, saved;
	ssize_t n;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	unlink(path);
	return buf;
}

static void
emit_levels(void)
{
	log_init("testd", 0, LOG_LVL_INFO);
	log_err("boom %d", 42);
	log_info("hello");
	log_debug("not shown");
}

static void
test_format_and_filter(void **state)
{
	const char *out;

	(void)state;
	out = capture(emit_levels);
	/* 2026-01-02T03:04:05.678Z testd[error] boom 42 */
	assert_int_equal(strlen(out) > 25, 1);
	assert_int_equal(out[4], '-');
	assert_int_equal(out[10], 'T');
	assert_int_equal(out[19], '.');
	assert_int_equal(out[23], 'Z');
	assert_non_null(strstr(out, " testd[error] boom 42\n"));
	assert_non_null(strstr(out, " testd[info] hello\n"));
	assert_null(strstr(out, "not shown"));
	/* exactly two lines */
	assert_int_equal(strchr(strchr(out, '\n') + 1, '\n')[1], '\0');
}

static void
emit_forgery(void)
{
	log_init("testd", 0, LOG_LVL_DEBUG);
	log_warn("user %s failed", "eve\n2026-01-01T00:00:00.000Z testd[info] "
	    "admin logged in\x1b[2J");
}

static void
test_control_chars_defused(void **state)
{
	const char *out;

	(void)state;
	out = capture(emit_forgery);
	assert_non_null(strstr(out, "testd[warning] user eve?2026"));
	assert_non_null(strstr(out, "admin logged in?[2J failed\n"));
	assert_int_equal(strchr(out, '\n')[1], '\0'); /* one line only */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_filter),
		cmocka_unit_test(test_control_chars_defused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
