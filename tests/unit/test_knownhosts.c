/*
 * test_knownhosts.c - the client's pinned daemon keys: first use (not
 * found), save with mode 0600, match, mismatch, malformed lines for our
 * endpoint, other endpoints and comments, unsafe permissions, removal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "coffer/err.h"
#include "coffer/knownhosts.h"

struct fixture {
	char dir[64];
	char path[128];
	unsigned char k1[KH_PUBKEY_BYTES], k2[KH_PUBKEY_BYTES];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || sodium_init() < 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-kh-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/known_hosts", f->dir);
	memset(f->k1, 0x11, sizeof(f->k1));
	memset(f->k2, 0x22, sizeof(f->k2));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char tmp[160];

	unlink(f->path);
	snprintf(tmp, sizeof(tmp), "%s/other", f->dir);
	unlink(tmp);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp;

	unlink(path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
endpoints(void **state)
{
	char ep[KH_ENDPOINT_MAX];

	(void)state;
	assert_int_equal(kh_endpoint_unix("/run/coffer/cofferd.sock", ep,
	    sizeof(ep)), COFFER_OK);
	assert_string_equal(ep, "unix:/run/coffer/cofferd.sock");
	assert_int_equal(kh_endpoint_unix("rel.sock", ep, sizeof(ep)),
	    COFFER_OK);
	assert_int_equal(strncmp(ep, "unix:/", 6), 0);
	assert_non_null(strstr(ep, "/rel.sock"));
	assert_int_equal(kh_endpoint_tcp("Vault.Example.CN:7443", ep,
	    sizeof(ep)), COFFER_OK);
	assert_string_equal(ep, "tcp:vault.example.cn:7443");
	assert_int_equal(kh_endpoint_tcp("[::1]:7443", ep, sizeof(ep)),
	    COFFER_OK);
	assert_string_equal(ep, "tcp:[::1]:7443");
	assert_int_equal(kh_endpoint_tcp("host", ep, sizeof(ep)),
	    COFFER_ERR_USAGE);
	assert_int_equal(kh_endpoint_tcp("host:", ep, sizeof(ep)),
	    COFFER_ERR_USAGE);
	assert_int_equal(kh_endpoint_tcp("host:80x", ep, sizeof(ep)),
	    COFFER_ERR_USAGE);
	assert_int_equal(kh_endpoint_unix("/a\nb", ep, sizeof(ep)),
	    COFFER_ERR_USAGE);
}

static void
first_use_save_match(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	size_t line = 99;

	/* No file yet: unknown endpoint. */
	assert_int_equal(kh_check(f->path, "unix:/s", f->k1, &line),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(kh_add(f->path, "unix:/s", f->k1), COFFER_OK);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(kh_check(f->path, "unix:/s", f->k1, &line), COFFER_OK);
	/* Same endpoint, another key: refused, and the line is named. */
	assert_int_equal(kh_check(f->path, "unix:/s", f->k2, &line),
	    COFFER_ERR_HOSTKEY);
	assert_int_equal(line, 1);
	/* A different endpoint is still unknown. */
	assert_int_equal(kh_check(f->path, "unix:/t", f->k2, &line),
	    COFFER_ERR_NOT_FOUND);
	/* Prefix of a pinned endpoint is a different endpoint. */
	assert_int_equal(kh_check(f->path, "unix:/", f->k2, &line),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(kh_add(f->path, "tcp:h:1", f->k2), COFFER_OK);
	assert_int_equal(kh_check(f->path, "tcp:h:1", f->k2, &line),
	    COFFER_OK);
	assert_int_equal(kh_check(f->path, "tcp:h:1", f->k1, &line),
	    COFFER_ERR_HOSTKEY);
	assert_int_equal(line, 2);
}

static void
file_format(void **state)
{
	struct fixture *f = *state;
	char buf[256], line[KH_LINE_MAX];
	FILE *fp;

	assert_int_equal(kh_add(f->path, "unix:/a b/s", f->k1), COFFER_OK);
	assert_int_equal(kh_format("unix:/a b/s", f->k1, line, sizeof(line)),
	    COFFER_OK);
	assert_string_equal(line, "unix:/a b/s coffer-ed25519 "
	    "ERERERERERERERERERERERERERERERERERERERERERE=");
	fp = fopen(f->path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_int_equal(strncmp(buf, line, strlen(line)), 0);
	assert_string_equal(buf + strlen(line), "\n");
	/* An endpoint with a space still matches itself. */
	assert_int_equal(kh_check(f->path, "unix:/a b/s", f->k1, NULL),
	    COFFER_OK);
	assert_int_equal(kh_check(f->path, "unix:/a", f->k1, NULL),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(kh_format("unix:/x\ny", f->k1, line, sizeof(line)),
	    COFFER_ERR_USAGE);
}

static void
malformed_lines(void **state)
{
	struct fixture *f = *state;
	char text[1024], good[200];
	size_t line = 0;

	assert_int_equal(kh_format("unix:/s", f->k1, good, sizeof(good)),
	    COFFER_OK);
	/* Comments, blanks, junk and other endpoints are skipped. */
	snprintf(text, sizeof(text), "# pinned keys\n\nrandom junk\n"
	    "tcp:x:1 coffer-ed25519 !!!\n%s\n", good);
	write_file(f->path, text, 0600);
	assert_int_equal(kh_check(f->path, "unix:/s", f->k1, &line), COFFER_OK);
	/* A damaged line for our endpoint is a mismatch, not a new host. */
	write_file(f->path, "unix:/s coffer-ed25519 AAAA\n", 0600);
	assert_int_equal(kh_check(f->path, "unix:/s", f->k1, &line),
	    COFFER_ERR_HOSTKEY);
	assert_int_equal(line, 1);
	write_file(f->path, "# c\nunix:/s ssh-ed25519 "
	    "ERERERERERERERERERERERERERERERERERERERERERE=\n", 0600);
	assert_int_equal(kh_check(f->path, "unix:/s", f->k1, &line),
	    COFFER_ERR_HOSTKEY);
	assert_int_equal(line, 2);
	write_file(f->path, "unix:/s\n", 0600);
	assert_int_equal(kh_check(f->path, "unix:/s", f->k1, &line),
	    COFFER_ERR_HOSTKEY);
	/* Trailing garbage after the key. */
	snprintf(text, sizeof(text), "%s x\n", good);
	write_file(f->path, text, 0600);
	assert_int_equal(kh_check(f->path, "unix:/s", f->k1, &line),
	    COFFER_ERR_HOSTKEY);
	/* A good line then a conflicting one: refused. */
	snprintf(text, sizeof(text), "%s\nunix:/s coffer-ed25519 "
	    "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=\n", good);
	write_file(f->path, text, 0600);
	assert_int_equal(kh_check(f->path, "unix:/s", f->k1, &line),
	    COFFER_ERR_HOSTKEY);
	assert_int_equal(line, 2);
	/* CRLF line endings are tolerated. */
	snprintf(text, sizeof(text), "%s\r\n", good);
	write_file(f->path, text, 0600);
	assert_int_equal(kh_check(f->path, "unix:/s", f->k1, &line), COFFER_OK);
}

static void
unsafe_permissions(void **state)
{
	struct fixture *f = *state;
	char good[200], text[256], other[160];

	assert_int_equal(kh_format("unix:/s", f->k1, good, sizeof(good)),
	    COFFER_OK);
	snprintf(text, sizeof(text), "%s\n", good);
	write_file(f->path, text, 0602);
	assert_int_equal(kh_check(f->path, "unix:/s", f->k1, NULL),
	    COFFER_ERR_PERM);
	assert_int_equal(kh_add(f->path, "unix:/t", f->k1), COFFER_ERR_PERM);
	write_file(f->path, text, 0620);
	assert_int_equal(kh_check(f->path, "unix:/s", f->k1, NULL),
	    COFFER_ERR_PERM);
	/* Readable by others is fine: the keys are public. */
	write_file(f->path, text, 0644);
	assert_int_equal(kh_check(f->path, "unix:/s", f->k1, NULL), COFFER_OK);
	/* kh_add does not follow a symlink planted at the path. */
	snprintf(other, sizeof(other), "%s/other", f->dir);
	write_file(other, "", 0600);
	unlink(f->path);
	assert_int_equal(symlink(other, f->path), 0);
	assert_int_equal(kh_add(f->path, "unix:/t", f->k1), COFFER_ERR_PERM);
	/* A directory is not a known-hosts file. */
	unlink(f->path);
	assert_int_equal(kh_check(f->dir, "unix:/s", f->k1, NULL),
	    COFFER_ERR_PERM);
}

static void
removal(void **state)
{
	struct fixture *f = *state;
	char buf[512];
	size_t removed = 9;
	struct stat st;
	FILE *fp;
	size_t n;

	assert_int_equal(kh_remove(f->path, "unix:/s", &removed), COFFER_OK);
	assert_int_equal(removed, 0); /* no file */
	write_file(f->path, "# keep me\nunix:/s coffer-ed25519 AAAA\n"
	    "tcp:h:1 coffer-ed25519 "
	    "ERERERERERERERERERERERERERERERERERERERERERE=\n"
	    "unix:/s coffer-ed25519 "
	    "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=\n"
	    "unix:/s2 coffer-ed25519 "
	    "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=\n", 0600);
	assert_int_equal(kh_remove(f->path, "unix:/s", &removed), COFFER_OK);
	assert_int_equal(removed, 2);
	fp = fopen(f->path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_string_equal(buf, "# keep me\ntcp:h:1 coffer-ed25519 "
	    "ERERERERERERERERERERERERERERERERERERERERERE=\n"
	    "unix:/s2 coffer-ed25519 "
	    "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=\n");
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* After removal the endpoint is new again and can be re-pinned. */
	assert_int_equal(kh_check(f->path, "unix:/s", f->k2, NULL),
	    COFFER_ERR_NOT_FOUND);
	assert_int_equal(kh_add(f->path, "unix:/s", f->k2), COFFER_OK);
	assert_int_equal(kh_check(f->path, "unix:/s", f->k2, NULL), COFFER_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(endpoints),
		cmocka_unit_test_setup_teardown(first_use_save_match, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(file_format, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_lines, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(unsafe_permissions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(removal, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
