/*
 * coffer-admin.c - the administrator's offline tool: create a vault, add
 * and list users for bootstrap and recovery, build a demo vault, print the
 * daemon key.  It opens the vault directly; cofferd must not be running.
 * This file is main and the dispatch of the command word; each command
 * group is in its own admin_*.c, and admin.h is what they share.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "admin.h"

/* Help texts ------------------------------------------------------------ */

static const char help_main[] =
"usage: coffer-admin COMMAND [ARGS] [--help]\n"
"\n"
"The administrator's offline tool for Coffer vaults.  It opens the vault\n"
"directory itself, so cofferd must not be running on the same vault while\n"
"it changes anything (the vault lock enforces this).\n"
"\n"
"commands:\n"
"  init DIR ...          create a new vault and its first administrator\n"
"  user add DIR NAME ... register a user (bootstrap and recovery)\n"
"  user list DIR         list the users\n"
"  demo DIR ...          create a complete demo vault with users and data\n"
"  pubkey DIR            print the daemon's public key and fingerprint\n"
"  backup DIR OUT        write a signed, encrypted backup of the vault\n"
"  backup verify OUT     check a backup without restoring it\n"
"  restore OUT NEWDIR    restore a verified backup into a new vault\n"
"  passphrase DIR        change the passphrase (or key file) sealing the\n"
"                        master key\n"
"  rotate audit-key|identity-key|database-key DIR\n"
"                        move a key to its next generation\n"
"\n"
"Run 'coffer-admin COMMAND --help' for the options of a command.\n"
"\n"
"exit status: 0 success, 1 failure, 2 usage error.\n"
"files and key formats: docs/keys.md.\n";

/* main ------------------------------------------------------------------ */

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "init", admin_cmd_init },
	{ "user", admin_cmd_user },
	{ "demo", admin_cmd_demo },
	{ "pubkey", admin_cmd_pubkey },
	{ "backup", admin_cmd_backup },
	{ "restore", admin_cmd_restore },
	{ "passphrase", admin_cmd_passphrase },
	{ "rotate", admin_cmd_rotate },
};

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(help_main, stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(help_main, stdout);
		return EX_OK;
	}
	umask(077); /* nothing this tool writes is for others but *.pub */
	if (sodium_init() < 0) {
		fputs(PROG ": libsodium failed to initialise\n", stderr);
		return EX_FAIL;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, PROG ": unknown command '%s'\nTry '" PROG " --help'.\n",
	    argv[1]);
	return EX_USAGE;
}
