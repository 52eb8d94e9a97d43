/*
 * client.h - what the coffer client's command files share (src/client/
 * client.c): the command context, failures and exit statuses, the one
 * request call, and printing records.  Each command group lives in its own
 * src/client/cmd_*.c; coffer.c holds the global options and the table.
 *
 * Contract: a command returns a status from err.h; on failure it calls
 * fail() first (or the daemon's error is in ctx), and main turns the
 * status into the message and exit code with report().  call() connects
 * on first use, takes ownership of args, and gives the caller *result.
 */
#ifndef COFFER_CLIENT_H
#define COFFER_CLIENT_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <cbor.h>

#include "coffer/approval.h"
#include "coffer/audit.h"
#include "coffer/cli.h"
#include "coffer/err.h"
#include "coffer/help.h"
#include "coffer/json.h"
#include "coffer/keys.h"
#include "coffer/knownhosts.h"
#include "coffer/msg.h"
#include "coffer/output.h"
#include "coffer/passphrase.h"
#include "coffer/rpc.h"
#include "coffer/schema.h"
#include "coffer/secfile.h"
#include "coffer/session.h"

#define CLIENT_IO_TIMEOUT_SEC 60
#define VALUE_MAX             4096   /* one printed value */

/* Exit statuses (coffer(1), help_global_tail). */
enum exit_code {
	EXIT_OK = 0, EXIT_DAEMON = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3,
	EXIT_AUTH = 4, EXIT_DENIED = 5, EXIT_NOT_FOUND = 6, EXIT_INVALID = 7,
	EXIT_CONFLICT = 8, EXIT_HOSTKEY = 9, EXIT_UNAVAILABLE = 10,
	EXIT_KEY = 11
};

struct ctx {
	/* Global options, after defaults. */
	const char *socket_path, *hostport, *user, *key, *known_hosts;
	const char *passfile;
	int json, quiet, kh_default;
	char userbuf[SESSION_USER_MAX + 1];
	char keybuf[PATH_MAX], khbuf[PATH_MAX];

	struct rpc *rpc;     /* opened on the first request */
	/*
	 * keep_sk: the connection keeps the user's secret key (sodium_malloc)
	 * in sk after the handshake, for signing an approval; the command
	 * wipes it right after signing, main on every other path.
	 */
	int keep_sk;
	unsigned char *sk;
	int64_t now;
	/* The failure being reported. */
	char msg[512];
	int remote;
	struct rpc_error rerr;
};

/* A command: its words ("user add") and its handler. */
struct command {
	const char *name;
	int (*run)(struct ctx *c, int argc, char **argv);
};

/* Failures, usage and help. */
int fail(struct ctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int report(struct ctx *c, int rc);
int bad_option(struct ctx *c, const char *cmd, char **argv, int opt);
void print_command_help(const struct help_entry *h);
int show_help(const char *name);
int parse_id(struct ctx *c, const char *what, const char *s, uint64_t *out);
int need_kind(struct ctx *c, const char *cmd, const char *name,
    const struct kind_def **k);

/*
 * Shared parsing: record_opts reads --version (when with_version) and
 * --help, returning -1 after printing help; kind_and_id reads KIND ID at
 * optind.  kind_id_args builds {"kind", "id"} (NULL on no memory);
 * current_version asks the daemon for a record's version.
 */
int record_opts(struct ctx *c, const char *cmd, int argc, char **argv,
    int with_version, uint64_t *version);
int kind_and_id(struct ctx *c, const char *cmd, int argc, char **argv,
    const struct kind_def **k, uint64_t *id);
cbor_item_t *kind_id_args(const struct kind_def *k, uint64_t id);
int current_version(struct ctx *c, const struct kind_def *k, uint64_t id,
    uint64_t *version);

/* One request to the daemon (connecting first if need be). */
int call(struct ctx *c, const char *op, cbor_item_t *args,
    cbor_item_t **result);
int simple_call(struct ctx *c, int argc, const char *op);

/* Output. */
int print_json(const cbor_item_t *item);
int print_fields(const struct kind_def *k, const cbor_item_t *map);
/* A table with one column per head; cols (may be NULL) format values. */
int print_table(struct ctx *c, const struct field_def **cols, size_t ncols,
    const char *const *heads, const cbor_item_t *rows);
void print_hidden(const cbor_item_t *res, const char *key, const char *word);
int print_record_result(struct ctx *c, const struct kind_def *k,
    const cbor_item_t *res);

/* The commands, one group per file. */
int cmd_status(struct ctx *c, int argc, char **argv);      /* cmd_status.c */
int cmd_whoami(struct ctx *c, int argc, char **argv);
int cmd_backup(struct ctx *c, int argc, char **argv);      /* cmd_backup.c */
int cmd_backup_verify(struct ctx *c, int argc, char **argv);
/* The "backup" map of a status reply (scheduled backups) as lines. */
void print_backup_status(const cbor_item_t *status);
int cmd_list(struct ctx *c, int argc, char **argv);        /* cmd_records.c */
int cmd_show(struct ctx *c, int argc, char **argv);
int cmd_create(struct ctx *c, int argc, char **argv);
int cmd_update(struct ctx *c, int argc, char **argv);
int cmd_delete(struct ctx *c, int argc, char **argv);
int cmd_reveal(struct ctx *c, int argc, char **argv);
int cmd_fields(struct ctx *c, int argc, char **argv);
int cmd_user_list(struct ctx *c, int argc, char **argv);   /* cmd_users.c */
int cmd_user_add(struct ctx *c, int argc, char **argv);
int cmd_user_update(struct ctx *c, int argc, char **argv);
int cmd_user_disable(struct ctx *c, int argc, char **argv);
int cmd_user_enable(struct ctx *c, int argc, char **argv);
int cmd_audit_search(struct ctx *c, int argc, char **argv); /* cmd_audit.c */
int cmd_audit_show(struct ctx *c, int argc, char **argv);
int cmd_audit_checkpoint(struct ctx *c, int argc, char **argv);
int cmd_audit_export(struct ctx *c, int argc, char **argv);
int cmd_keygen(struct ctx *c, int argc, char **argv);      /* cmd_keys.c */
int cmd_pin_reset(struct ctx *c, int argc, char **argv);
int cmd_request_update(struct ctx *c, int argc, char **argv); /* cmd_requests.c */
int cmd_request_delete(struct ctx *c, int argc, char **argv);
int cmd_request_purge(struct ctx *c, int argc, char **argv);
int cmd_request_show(struct ctx *c, int argc, char **argv);
int cmd_request_withdraw(struct ctx *c, int argc, char **argv);
int cmd_requests(struct ctx *c, int argc, char **argv);
int cmd_approve(struct ctx *c, int argc, char **argv);
int cmd_reject(struct ctx *c, int argc, char **argv);
int cmd_history(struct ctx *c, int argc, char **argv);
int cmd_screen(struct ctx *c, int argc, char **argv);    /* cmd_workflow.c */
int cmd_done(struct ctx *c, int argc, char **argv);      /* cmd_workflow.c */
int cmd_assign(struct ctx *c, int argc, char **argv);
int cmd_today(struct ctx *c, int argc, char **argv);
int cmd_call(struct ctx *c, int argc, char **argv);
int cmd_import(struct ctx *c, int argc, char **argv);      /* cmd_import.c */
int cmd_report(struct ctx *c, int argc, char **argv);      /* cmd_report.c */
int cmd_dnc_add(struct ctx *c, int argc, char **argv);     /* cmd_dnc.c */
int cmd_dnc_remove(struct ctx *c, int argc, char **argv);
int cmd_dnc_approve(struct ctx *c, int argc, char **argv);
int cmd_dnc_reject(struct ctx *c, int argc, char **argv);
int cmd_dnc_list(struct ctx *c, int argc, char **argv);
int cmd_dnc_check(struct ctx *c, int argc, char **argv);

#endif
