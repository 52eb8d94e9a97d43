/*
 * admin.h - what coffer-admin's files share: the parsed command line, the
 * exit codes, the helpers every command uses, and one entry point per
 * command (main in coffer-admin.c dispatches to them).  Not a public
 * contract: only src/admin uses it.
 */
#ifndef COFFER_ADMIN_H
#define COFFER_ADMIN_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "coffer/audit.h"
#include "coffer/store.h"
#include "coffer/vault.h"

#define PROG "coffer-admin"

enum exit_code { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2 };

/* A parsed command line: positional words and the options seen. */
struct args {
	const char *pos[4];
	int npos;
	const char *key_file, *pass_file;
	const char *admin, *admin_pubkey;
	const char *role, *clearance, *team, *manager, *display, *pubkey;
	const char *customers, *seed, *keys_dir, *calls;
	const char *pin_key, *vault, *no_db; /* backup verify, restore */
	const char *new_pass_file, *new_key_file; /* passphrase */
	int help;
};

/* ---- admin_args.c: the command line ---- */

/* What getopt_long returns: a short option's letter, or from 256. */
enum opt_id {
	O_KEYFILE = 'k', O_PASSFILE = 'p', O_HELP = 'h',
	O_ADMIN = 256, O_ADMIN_PUBKEY, O_ROLE, O_CLEARANCE, O_TEAM,
	O_MANAGER, O_DISPLAY, O_PUBKEY, O_CUSTOMERS, O_SEED, O_KEYS_DIR, O_CALLS,
	O_PIN_KEY, O_VAULT, O_NO_DB, O_NEW_PASSFILE, O_NEW_KEYFILE
};

/* In every command's long options: how to unlock the vault, and the end. */
#define ADMIN_OPTS_UNLOCK \
	{ "key-file", required_argument, NULL, O_KEYFILE }, \
	{ "passphrase-file", required_argument, NULL, O_PASSFILE }
#define ADMIN_OPTS_END \
	{ "help", no_argument, NULL, O_HELP }, \
	{ NULL, 0, NULL, 0 }

/*
 * admin_parse_args and admin_need_* return an enum exit_code, a usage
 * error told on stderr; admin_parse_u64 returns 0 or -1 and tells nothing.
 * With --help, admin_parse_args prints help to stdout and sets a->help:
 * the command is done.
 */
int admin_parse_args(const char *cmd, int argc, char **argv,
    const struct option *opts, int maxpos, const char *help, struct args *a);
/*
 * A command of subcommands: argv[1] names one of subs, which runs with
 * argv from there.  --help or -h prints the fallback's help, then each
 * sub's.  Any other word runs fallback with argv whole or, without a
 * fallback, is a usage error naming the word.
 */
struct admin_sub {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};
int admin_run_sub(const char *cmd, int argc, char **argv,
    const struct admin_sub *subs, size_t n, const struct admin_sub *fallback);
int admin_need_pos(const char *cmd, const struct args *a, int n,
    const char *what);
int admin_need_opt(const char *cmd, const char *val, const char *name);
int admin_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* ---- admin_common.c: steps the commands share ---- */

/* Those returning int return an enum exit_code, the failure told on stderr. */
void admin_report(const char *what, const char *subject, int rc);
int admin_load_pubkey(const char *path, unsigned char pk[32]);
/*
 * e zeroed and made this tool's record of op: actor PROG, peer
 * "offline:uid=N" written into the caller's peer buffer, which must
 * outlive e (ADMIN_PEER_MAX bytes is enough).
 */
#define ADMIN_PEER_MAX 48
void admin_event(struct audit_event *e, const char *op, char *peer,
    size_t peersz);
/* PASSPHRASE_MAX bytes of sodium_malloc'd memory (the caller
 * sodium_free()s it), or NULL with the failure told on stderr. */
char *admin_passphrase_buffer(void);
/*
 * The passphrase a vault is to be sealed with: none (*pass NULL) when
 * keyfile is given, else from passfile or asked twice on the terminal.
 * Failures are told: missing when nothing usable was typed, else the
 * file's error as file_what.  *pass is the caller's to sodium_free.
 */
int admin_new_passphrase(const char *keyfile, const char *passfile,
    const char *missing, const char *file_what, char **pass,
    size_t *passlen);
void admin_report_open(const char *dir, const char *keyfile, int rc);
void admin_report_rekey_recovery(const struct vault *v, const char *dir);
int admin_open_vault(const struct args *a, const char *dir, int lock,
    struct vault **out);
int admin_open_db(struct vault *v, int create, struct store **st);
void admin_print_fingerprint(const char *label, const unsigned char pk[32]);
void admin_report_create(const char *dir, int rc);
int admin_write_policy(const char *dir);
double admin_now_seconds(void);
int admin_audit(struct vault *v, const char *op, enum audit_decision dec,
    int status, const char *reason);

/* ---- admin_user.c: adding a user, also for init and demo ---- */

int admin_user_from_args(const char *name, const char *role,
    const char *clearance, const char *team, const char *display,
    const unsigned char pk[32], struct store_user *u);
int admin_set_manager(struct store *st, const char *manager,
    struct store_user *u);
int admin_add_user_audited(struct vault *v, struct store *st,
    struct store_user *u);

/*
 * The commands, one per word main dispatches: argv[0] is that word ("user"
 * for user add); each returns an enum exit_code.
 */
int admin_cmd_init(int argc, char **argv);
int admin_cmd_user(int argc, char **argv);
int admin_cmd_demo(int argc, char **argv);
int admin_cmd_pubkey(int argc, char **argv);
int admin_cmd_backup(int argc, char **argv);
int admin_cmd_restore(int argc, char **argv);
int admin_cmd_passphrase(int argc, char **argv);
int admin_cmd_rotate(int argc, char **argv);

#endif
