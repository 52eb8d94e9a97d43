/*
 * coffer.c - the command-line client of the Coffer vault: global options,
 * defaults, the command table and main.  The commands are in cmd_*.c, what
 * they share in client.c; parsing of values, output formatting, known
 * hosts and the connection live in cli, output, json, knownhosts, rpc, help.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "coffer/client.h"

#ifndef COFFER_VERSION
#define COFFER_VERSION "0.1"
#endif

#define DEFAULT_SOCKET  "/run/coffer/cofferd.sock"

/* Words that only start a command: "user add", "audit search". */
static int
is_group(const char *word)
{
	return strcmp(word, "user") == 0 || strcmp(word, "audit") == 0 ||
	    strcmp(word, "request") == 0 || strcmp(word, "dnc") == 0;
}

static void
print_global_help(FILE *f)
{
	const struct help_entry *h;
	size_t n, i;

	fputs(help_global_head(), f);
	h = help_entries(&n);
	for (i = 0; i < n; i++)
		fprintf(f, "  %-16s %s\n", h[i].name, h[i].summary);
	fputs(help_global_tail(), f);
}

static int
cmd_help(struct ctx *c, int argc, char **argv)
{
	char name[64];
	const struct help_entry *h;

	if (argc < 2) {
		print_global_help(stdout);
		return COFFER_OK;
	}
	snprintf(name, sizeof(name), "%s%s%s", argv[1], argc > 2 ? " " : "",
	    argc > 2 ? argv[2] : "");
	if ((h = help_find(name)) == NULL && (h = help_find(argv[1])) == NULL) {
		if (is_group(argv[1])) {
			size_t n, i, len = strlen(argv[1]);

			h = help_entries(&n);
			for (i = 0; i < n; i++)
				if (strncmp(h[i].name, argv[1], len) == 0 &&
				    h[i].name[len] == ' ')
					printf("usage: coffer %s\n",
					    h[i].synopsis);
			return COFFER_OK;
		}
		return fail(c, COFFER_ERR_USAGE, "help: no such command "
		    "'%.40s'", name);
	}
	print_command_help(h);
	return COFFER_OK;
}

/* ---- main ---------------------------------------------------------- */

static const struct command commands[] = {
	{ "status", cmd_status },
	{ "whoami", cmd_whoami },
	{ "keygen", cmd_keygen },
	{ "list", cmd_list },
	{ "show", cmd_show },
	{ "create", cmd_create },
	{ "update", cmd_update },
	{ "delete", cmd_delete },
	{ "reveal", cmd_reveal },
	{ "fields", cmd_fields },
	{ "user list", cmd_user_list },
	{ "user add", cmd_user_add },
	{ "user update", cmd_user_update },
	{ "user disable", cmd_user_disable },
	{ "user enable", cmd_user_enable },
	{ "audit search", cmd_audit_search },
	{ "audit show", cmd_audit_show },
	{ "audit checkpoint", cmd_audit_checkpoint },
	{ "audit export", cmd_audit_export },
	{ "request update", cmd_request_update },
	{ "request delete", cmd_request_delete },
	{ "request purge", cmd_request_purge },
	{ "request show", cmd_request_show },
	{ "request withdraw", cmd_request_withdraw },
	{ "requests", cmd_requests },
	{ "approve", cmd_approve },
	{ "reject", cmd_reject },
	{ "history", cmd_history },
	{ "pin-reset", cmd_pin_reset },
	{ "backup", cmd_backup },
	{ "backup verify", cmd_backup_verify },
	{ "today", cmd_today },
	{ "screen", cmd_screen },
	{ "done", cmd_done },
	{ "assign", cmd_assign },
	{ "call", cmd_call },
	{ "import", cmd_import },
	{ "report", cmd_report },
	{ "dnc add", cmd_dnc_add },
	{ "dnc remove", cmd_dnc_remove },
	{ "dnc approve", cmd_dnc_approve },
	{ "dnc reject", cmd_dnc_reject },
	{ "dnc list", cmd_dnc_list },
	{ "dnc check", cmd_dnc_check },
	{ "help", cmd_help },
};

/* Commands that need no key and no daemon. */
static int
is_local(const char *name)
{
	return strcmp(name, "keygen") == 0 || strcmp(name, "fields") == 0 ||
	    strcmp(name, "pin-reset") == 0 || strcmp(name, "help") == 0 ||
	    strcmp(name, "backup verify") == 0;
}

/* Find the command in argv; *used gets the number of words it took. */
static const struct command *
find_command(int argc, char **argv, int *used)
{
	char two[64];
	size_t i;

	if (argc >= 2) {
		snprintf(two, sizeof(two), "%s %s", argv[0], argv[1]);
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(commands[i].name, two) == 0) {
				*used = 2;
				return &commands[i];
			}
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[0]) == 0) {
			*used = 1;
			return &commands[i];
		}
	return NULL;
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* Defaults for user, key and known_hosts (the socket's is static). */
static int
apply_defaults(struct ctx *c, int need_identity)
{
	const struct passwd *pw = getpwuid(getuid());
	const char *home = env("HOME");

	if (home == NULL && pw != NULL)
		home = pw->pw_dir;
	if (c->socket_path == NULL && (c->socket_path =
	    env("COFFER_SOCKET")) == NULL)
		c->socket_path = DEFAULT_SOCKET;
	if (c->user == NULL && (c->user = env("COFFER_USER")) == NULL &&
	    pw != NULL) {
		snprintf(c->userbuf, sizeof(c->userbuf), "%s", pw->pw_name);
		c->user = c->userbuf;
	}
	if (c->passfile == NULL)
		c->passfile = env("COFFER_PASSPHRASE_FILE");
	if (c->known_hosts == NULL &&
	    (c->known_hosts = env("COFFER_KNOWN_HOSTS")) == NULL) {
		if (home == NULL)
			return fail(c, COFFER_ERR_USAGE, "no home directory: "
			    "use --known-hosts");
		snprintf(c->khbuf, sizeof(c->khbuf),
		    "%s/.config/coffer/known_hosts", home);
		c->known_hosts = c->khbuf;
		c->kh_default = 1;
	}
	if (!need_identity)
		return COFFER_OK;
	if (c->user == NULL || *c->user == '\0')
		return fail(c, COFFER_ERR_USAGE, "no user name: use -u NAME");
	if (strlen(c->user) > SESSION_USER_MAX)
		return fail(c, COFFER_ERR_USAGE, "user name too long");
	if (c->key == NULL && (c->key = env("COFFER_KEY")) == NULL) {
		if (home == NULL)
			return fail(c, COFFER_ERR_USAGE, "no home directory: "
			    "use -k FILE");
		snprintf(c->keybuf, sizeof(c->keybuf),
		    "%s/.config/coffer/%s.key", home, c->user);
		c->key = c->keybuf;
	}
	return COFFER_OK;
}

enum { OPT_KNOWN_HOSTS = 256, OPT_PASSFILE, OPT_JSON, OPT_VERSION };

/* Global options; returns -1 when --help/--version was handled. */
static int
global_opts(struct ctx *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "host", required_argument, NULL, 'H' },
		{ "user", required_argument, NULL, 'u' },
		{ "key", required_argument, NULL, 'k' },
		{ "known-hosts", required_argument, NULL, OPT_KNOWN_HOSTS },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	opterr = 0;
	/* '+': stop at the command; its options are its own. */
	while ((opt = getopt_long(argc, argv, "+:S:H:u:k:qh", lo, NULL)) != -1) {
		switch (opt) {
		case 'S': c->socket_path = optarg; break;
		case 'H': c->hostport = optarg; break;
		case 'u': c->user = optarg; break;
		case 'k': c->key = optarg; break;
		case OPT_KNOWN_HOSTS: c->known_hosts = optarg; break;
		case OPT_PASSFILE: c->passfile = optarg; break;
		case OPT_JSON: c->json = 1; break;
		case 'q': c->quiet = 1; break;
		case 'h':
			print_global_help(stdout);
			return -1;
		case OPT_VERSION:
			printf("coffer %s\n", COFFER_VERSION);
			return -1;
		default:
			return bad_option(c, "coffer", argv, opt);
		}
	}
	return COFFER_OK;
}

/*
 * --json, -q and --quiet are accepted after the command too ("coffer list
 * customers --json"); they are taken out of the command's words here.
 */
static int
late_globals(struct ctx *c, int argc, char **argv)
{
	int i, out = 1, end = 0;

	for (i = 1; i < argc; i++) {
		if (!end && strcmp(argv[i], "--") == 0)
			end = 1;
		if (!end && strcmp(argv[i], "--json") == 0) {
			c->json = 1;
			continue;
		}
		if (!end && (strcmp(argv[i], "-q") == 0 ||
		    strcmp(argv[i], "--quiet") == 0)) {
			c->quiet = 1;
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

/* Does a command's argument list ask for help? (before "--") */
static int
wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

static int
run(struct ctx *c, int argc, char **argv)
{
	const struct command *cmd;
	int rc, used = 0;

	if ((rc = global_opts(c, argc, argv)) != COFFER_OK)
		return rc < 0 ? COFFER_OK : rc;
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		print_global_help(stderr);
		return fail(c, COFFER_ERR_USAGE, "no command given");
	}
	if ((cmd = find_command(argc, argv, &used)) == NULL) {
		if (is_group(argv[0]) && wants_help(argc, argv)) {
			char *words[] = { "help", argv[0], NULL };

			return cmd_help(c, 2, words);
		}
		if (strcmp(argv[0], "user") == 0)
			return fail(c, COFFER_ERR_USAGE, "user: needs one of list, "
			    "add, update, disable, enable (see 'coffer help "
			    "user')");
		if (strcmp(argv[0], "request") == 0)
			return fail(c, COFFER_ERR_USAGE, "request: needs one of "
			    "update, delete, show, withdraw (see 'coffer help "
			    "request')");
		if (strcmp(argv[0], "dnc") == 0)
			return fail(c, COFFER_ERR_USAGE, "dnc: needs one of add, "
			    "remove, approve, reject, list, check (see 'coffer "
			    "help dnc')");
		if (strcmp(argv[0], "audit") == 0)
			return fail(c, COFFER_ERR_USAGE, "audit: needs one of "
			    "search, show, checkpoint, export (see 'coffer help "
			    "audit')");
		return fail(c, COFFER_ERR_USAGE, "unknown command '%.40s' (see "
		    "'coffer --help')", argv[0]);
	}
	if (strcmp(cmd->name, "help") != 0 && wants_help(argc - used + 1,
	    argv + used - 1))
		return show_help(cmd->name);
	if ((rc = apply_defaults(c, !is_local(cmd->name))) != COFFER_OK)
		return rc;
	/* Handlers see argv[0] = the (last) command word. */
	argv += used - 1;
	argc = late_globals(c, argc - used + 1, argv);
	return cmd->run(c, argc, argv);
}

int
main(int argc, char **argv)
{
	struct ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	/* A closed socket must be an error return, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "coffer: libsodium failed to initialise\n");
		return EXIT_DAEMON;
	}
	c.now = (int64_t)time(NULL);
	rc = run(&c, argc, argv);
	if (c.sk != NULL)
		sodium_free(c.sk);  /* wipes a key kept but never used */
	rpc_close(c.rpc);
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc == COFFER_OK)
		rc = fail(&c, COFFER_ERR_IO, "cannot write output: %s",
		    strerror(errno));
	return report(&c, rc);
}
