/*
 * helper_store.h - users for the unit tests that need a vault with
 * people in it (test_dnc, test_report, test_requests, test_store, test_workflow).
 */
#ifndef COFFER_TEST_HELPER_STORE_H
#define COFFER_TEST_HELPER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "coffer/store.h"

/*
 * Add an active user with clearance "confidential", a random key, display
 * name "User NAME", the team and manager given (0: none); fails the test
 * if the store refuses.  Returns the new id.
 */
int64_t test_user_add(struct store *st, const char *name,
    enum user_role role, const char *team, int64_t manager);

/*
 * A new vault database DIR/vault.db under a random key, DIR a fresh
 * /tmp/coffer-TAG-XXXXXX (dir gets it).  path and key (may be NULL) get the
 * file and the key, for tests that reopen it.  0, or -1 on any failure.
 */
int test_store_new(char *dir, size_t dirsz, const char *tag, char *path,
    size_t pathsz, unsigned char key[32], struct store **st);

#endif
