/*
 * helper.h - small file-system helpers shared by the unit tests (linked
 * into every test program by the Makefile's helper_*.c rule).
 */
#ifndef COFFER_TEST_HELPER_H
#define COFFER_TEST_HELPER_H

#include <stddef.h>

/* mkdtemp "/tmp/coffer-TAG-XXXXXX" into buf; 0 on success, -1 on error. */
int test_tmpdir(char *buf, size_t bufsz, const char *tag);

/* Remove path and everything below it (making directories writable). */
void test_rm_tree(const char *path);

#endif
