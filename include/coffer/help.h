/*
 * help.h - the text of `coffer --help` and `coffer COMMAND --help`, kept
 * in one table so that the program, `coffer help` and the man page
 * (docs/man/coffer.1) say the same thing.  Strings only; the caller prints.
 */
#ifndef COFFER_HELP_H
#define COFFER_HELP_H

#include <stddef.h>

struct help_entry {
	const char *name;      /* "list", "user add" */
	const char *synopsis;  /* one line without "coffer " */
	const char *summary;   /* one line for the command list */
	const char *text;      /* description, options, examples */
};

/* The whole program: usage, global options, commands, values, exit codes. */
const char *help_global_head(void);
const char *help_global_tail(void);

/* All commands in display order. */
const struct help_entry *help_entries(size_t *n);

/* By name ("user add"); NULL if unknown. */
const struct help_entry *help_find(const char *name);

#endif
