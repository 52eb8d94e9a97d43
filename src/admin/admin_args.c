/*
 * admin_args.c - coffer-admin's command lines.  Every command parses its
 * words with admin_parse_args, so a bad option, a missing value or a
 * missing argument is told in the same words by every command.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

static const char **
opt_slot(struct args *a, int id)
{
	switch (id) {
	case O_KEYFILE: return &a->key_file;
	case O_PASSFILE: return &a->pass_file;
	case O_ADMIN: return &a->admin;
	case O_ADMIN_PUBKEY: return &a->admin_pubkey;
	case O_ROLE: return &a->role;
	case O_CLEARANCE: return &a->clearance;
	case O_TEAM: return &a->team;
	case O_MANAGER: return &a->manager;
	case O_DISPLAY: return &a->display;
	case O_PUBKEY: return &a->pubkey;
	case O_CUSTOMERS: return &a->customers;
	case O_CALLS: return &a->calls;
	case O_SEED: return &a->seed;
	case O_KEYS_DIR: return &a->keys_dir;
	case O_PIN_KEY: return &a->pin_key;
	case O_VAULT: return &a->vault;
	case O_NO_DB: return &a->no_db;
	case O_NEW_PASSFILE: return &a->new_pass_file;
	case O_NEW_KEYFILE: return &a->new_key_file;
	default: return NULL;
	}
}

/*
 * Parse argv (argv[0] is the command word) with the given long options;
 * every option not in the list is a usage error naming it.  Positional
 * words are collected in order, at most maxpos of them.  --help prints
 * help and nothing else is checked.
 */
int
admin_parse_args(const char *cmd, int argc, char **argv,
    const struct option *opts, int maxpos, const char *help, struct args *a)
{
	int c, li = -1;

	memset(a, 0, sizeof(*a));
	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:p:h", opts, &li)) != -1) {
		const char **slot = opt_slot(a, c);
		char name[40];

		/* the option as given: argv[optind - 1] may be its value */
		if (li >= 0)
			snprintf(name, sizeof(name), "--%s", opts[li].name);
		else
			snprintf(name, sizeof(name), "-%c", c);
		li = -1;

		if (c == O_HELP) {
			a->help = 1;
		} else if (c == ':') {
			fprintf(stderr, PROG " %s: option '%s' needs a value\n",
			    cmd, argv[optind - 1]);
			return EX_USAGE;
		} else if (slot == NULL) {
			fprintf(stderr, PROG " %s: unknown option '%s'\n", cmd,
			    argv[optind - 1]);
			return EX_USAGE;
		} else if (*slot != NULL) {
			fprintf(stderr, PROG " %s: option '%s' given twice\n",
			    cmd, name);
			return EX_USAGE;
		} else {
			*slot = optarg != NULL ? optarg : ""; /* "": a flag */
		}
	}
	if (a->help) {
		fputs(help, stdout);
		return EX_OK;
	}
	for (; optind < argc; optind++) {
		if (a->npos >= maxpos) {
			fprintf(stderr, PROG " %s: unexpected argument '%s'\n",
			    cmd, argv[optind]);
			return EX_USAGE;
		}
		a->pos[a->npos++] = argv[optind];
	}
	if (a->key_file != NULL && a->pass_file != NULL) {
		fprintf(stderr, PROG " %s: give --key-file or "
		    "--passphrase-file, not both\n", cmd);
		return EX_USAGE;
	}
	return EX_OK;
}

/* Positional words required: complain naming what is missing. */
int
admin_need_pos(const char *cmd, const struct args *a, int n, const char *what)
{
	if (a->npos >= n)
		return EX_OK;
	fprintf(stderr, PROG " %s: missing %s\nTry '" PROG " %s --help'.\n",
	    cmd, what, cmd);
	return EX_USAGE;
}

int
admin_need_opt(const char *cmd, const char *val, const char *name)
{
	if (val != NULL)
		return EX_OK;
	fprintf(stderr, PROG " %s: %s is required\nTry '" PROG " %s --help'.\n",
	    cmd, name, cmd);
	return EX_USAGE;
}

int
admin_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

/* "add or list", "a, b or c": the subcommands' names, for a message. */
static void
sub_names(const struct admin_sub *subs, size_t n, char *buf, size_t bufsz)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n && len < bufsz; i++)
		len += (size_t)snprintf(buf + len, bufsz - len, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", subs[i].name);
}

int
admin_run_sub(const char *cmd, int argc, char **argv,
    const struct admin_sub *subs, size_t n, const struct admin_sub *fallback)
{
	char names[128];
	size_t i;

	for (i = 0; argc >= 2 && i < n; i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		if (fallback != NULL)
			fputs(fallback->help, stdout);
		for (i = 0; i < n; i++) {
			if (fallback != NULL || i > 0)
				fputs("\n", stdout);
			fputs(subs[i].help, stdout);
		}
		return EX_OK;
	}
	if (fallback != NULL)
		return fallback->run(argc, argv);
	sub_names(subs, n, names, sizeof(names));
	if (argc >= 2)
		fprintf(stderr, PROG " %s: unknown subcommand '%s'\n", cmd,
		    argv[1]);
	else
		fprintf(stderr, PROG " %s: missing subcommand (%s)\n", cmd,
		    names);
	fprintf(stderr, "Try '" PROG " %s --help'.\n", cmd);
	return EX_USAGE;
}
