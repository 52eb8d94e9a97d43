/*
 * passphrase.h - getting a passphrase from a file (first line) or from the
 * terminal with echo off.  Shared by cofferd, coffer and coffer-admin so
 * that all three behave the same.  The buffer is the caller's (use
 * sodium_malloc) and is wiped by the caller.
 */
#ifndef COFFER_PASSPHRASE_H
#define COFFER_PASSPHRASE_H

#include <stddef.h>

#define PASSPHRASE_MAX 1024

/*
 * If file is not NULL, read its first line (the newline is dropped; the
 * file must be 0600 or stricter, COFFER_ERR_PERM otherwise).  Otherwise
 * prompt on /dev/tty with echo off; COFFER_ERR_USAGE if there is no
 * terminal.  With confirm != 0 the user types it twice and a mismatch is
 * COFFER_ERR_USAGE.  An empty passphrase is COFFER_ERR_USAGE.
 */
int passphrase_get(const char *file, const char *prompt, int confirm,
    char *buf, size_t bufsz, size_t *len);

#endif
